"""REST half of discord_server.py: routes, auth, validation, rate limits, messages, webhooks, interactions.

See discord_server.py's docstring for the contract.
"""

import base64
import copy
import hashlib
import json
import math
import re
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import discord_gateway as G
import discord_world as W

USER_AGENT = re.compile(r"^DiscordBot \(\S+, \S+\)")
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
WEBHOOK_NAME_FORBIDDEN = ("discord", "clyde")
MESSAGE_FLAGS_ALLOWED = (1 << 2) | (1 << 12)          # SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS
EPHEMERAL = 1 << 6


class Fail(Exception):
    """A Discord-style error response."""

    def __init__(self, status, code, message, errors=None):
        super().__init__(message)
        self.status = status
        self.body = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


def form_error(field, code, message):
    return Fail(400, 50035, "Invalid Form Body", {field: {"_errors": [{"code": code, "message": message}]}})


def bucket_hash(route):
    return hashlib.md5(route.encode()).hexdigest()


# (methods, pattern, handler name, rate-limit route, major group index or None, auth)
# auth: "bot" = needs Authorization: Bot <token>; "token" = webhook/interaction token in the path; "none".
ROUTES = [
    ("GET", r"/gateway", "gateway", "default", None, "none"),
    ("GET", r"/gateway/bot", "gateway_bot", "gateway", None, "bot"),
    ("GET", r"/users/@me", "me", "default", None, "bot"),
    ("GET", r"/(?:oauth2/)?applications/@me", "app_me", "default", None, "bot"),
    ("GET", r"/channels/(\d+)", "get_channel", "default", 1, "bot"),
    ("PATCH", r"/channels/(\d+)", "modify_channel", "default", 1, "bot"),
    ("POST", r"/channels/(\d+)/threads", "start_thread", "default", 1, "bot"),
    ("GET", r"/channels/(\d+)/messages", "list_messages", "messages_get", 1, "bot"),
    ("POST", r"/channels/(\d+)/messages", "create_message", "messages", 1, "bot"),
    ("GET", r"/channels/(\d+)/messages/(\d+)", "get_message", "messages_get", 1, "bot"),
    ("PATCH", r"/channels/(\d+)/messages/(\d+)", "edit_message", "messages", 1, "bot"),
    ("DELETE", r"/channels/(\d+)/messages/(\d+)", "delete_message", "messages_delete", 1, "bot"),
    ("POST", r"/channels/(\d+)/typing", "typing", "typing", 1, "bot"),
    ("POST", r"/channels/(\d+)/webhooks", "create_webhook", "webhooks_manage", 1, "bot"),
    ("GET", r"/channels/(\d+)/webhooks", "list_webhooks", "webhooks_manage", 1, "bot"),
    ("POST", r"/webhooks/(\d+)/([^/]+)", "execute_webhook", "webhook_exec", 0, "token"),
    ("GET", r"/webhooks/(\d+)/([^/]+)/messages/(\d+|@original)", "get_webhook_message", "webhook_exec", 0, "token"),
    ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/(\d+|@original)", "edit_webhook_message", "webhook_exec", 0,
     "token"),
    ("DELETE", r"/webhooks/(\d+)/([^/]+)/messages/(\d+|@original)", "delete_webhook_message", "webhook_exec", 0,
     "token"),
    ("POST", r"/interactions/(\d+)/([^/]+)/callback", "interaction_callback", "interaction", 1, "token"),
    ("GET|PUT|POST", r"/applications/(\d+)/commands", "commands", "commands", 1, "bot"),
    ("GET|PUT|POST", r"/applications/(\d+)/guilds/(\d+)/commands", "commands", "commands", 2, "bot"),
    ("GET", r"/guilds/(\d+)", "get_guild", "default", 1, "bot"),
    ("GET", r"/guilds/(\d+)/channels", "guild_channels", "default", 1, "bot"),
    ("GET", r"/guilds/(\d+)/roles", "guild_roles", "default", 1, "bot"),
    ("GET", r"/guilds/(\d+)/members/(\d+)", "guild_member", "default", 1, "bot"),
]
COMPILED = [(m.split("|"), re.compile("^" + p + "$"), h, rl, major, auth) for m, p, h, rl, major, auth in ROUTES]


def handle(srv, method, target, headers, raw):
    """Serves one API request; returns (status, body or None, headers) and records it."""
    url = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    files = None
    ctype = headers.get("content-type", "")
    if ctype.startswith("multipart/form-data") and raw:
        body, files = parse_multipart(ctype, raw)
    else:
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
    rec = {"id": len(srv.requests) + 1, "time": time.time(), "monotonic": time.monotonic(), "method": method,
           "path": target, "route": url.path[len(srv.cfg["api_prefix"]):], "query": query, "headers": headers,
           "body": body, "raw_body": raw.decode("utf-8", "replace")[:100000], "status": None, "response": None,
           "bucket": None, "major": None, "ratelimit": None, "files": files}
    srv.requests.append(rec)
    out_headers = {}
    now = time.monotonic()
    while srv.invalid_times and srv.invalid_times[0] < now - srv.cfg["ban_window_s"]:
        srv.invalid_times.popleft()
    try:
        if srv.cfg["ban_threshold"] and len(srv.invalid_times) >= srv.cfg["ban_threshold"]:
            srv.counters["banned_requests"] += 1
            status, obj = 429, b"<html><body>error code: 1015 (fake: banned for too many invalid requests)</body></html>"
        else:
            status, obj = serve(srv, method, url.path, query, headers, raw, body, rec, out_headers)
    except Fail as fail:
        status, obj = fail.status, fail.body
    rec["status"] = status
    rec["response"] = obj.decode() if isinstance(obj, bytes) else obj
    srv.counters["rest_requests"] += 1
    srv.counters["rest_by_status"][str(status)] = srv.counters["rest_by_status"].get(str(status), 0) + 1
    if status in (401, 403, 429) and out_headers.get("X-RateLimit-Scope") != "shared":
        srv.counters["invalid_requests"] += 1
        srv.invalid_times.append(now)
    if status == 429:
        srv.counters["rate_limited"] += 1
    return status, obj, out_headers


def serve(srv, method, path, query, headers, raw, body, rec, out_headers):
    cfg = srv.cfg
    prefix = cfg["api_prefix"]
    if not path.startswith(prefix + "/"):
        raise Fail(404, 0, "404: Not Found")
    route = path[len(prefix):]
    match = None
    allowed = False
    for methods, pattern, handler, rl_route, major_group, auth in COMPILED:
        m = pattern.match(route)
        if m:
            allowed = True
            if method in methods:
                match = (m, handler, rl_route, major_group, auth)
                break
    if match is None:
        raise Fail(405, 0, "405: Method Not Allowed") if allowed else Fail(404, 0, "404: Not Found")
    m, handler, rl_route, major_group, auth = match
    groups = m.groups()
    if cfg["require_user_agent"] and not USER_AGENT.match(headers.get("user-agent", "")):
        raise Fail(400, 0, "User-Agent must be 'DiscordBot ($url, $versionNumber)'")
    authorization = headers.get("authorization")
    good_auth = authorization == "Bot " + cfg["token"]
    if auth == "bot" and not good_auth:
        raise Fail(401, 0, "401: Unauthorized")
    if auth == "token" and authorization is not None and not good_auth:
        raise Fail(401, 0, "401: Unauthorized")
    # Interaction tokens on /webhooks/{application_id}/{token}: the interaction routes and bucket.
    interaction = None
    if handler.endswith("webhook_message") or handler == "execute_webhook":
        interaction = srv.interactions_by_token.get(groups[1]) if groups[0] == W.BOT_ID else None
        if interaction is not None:
            rl_route = "interaction"
    major = None
    if major_group is not None:
        major = groups[major_group - 1] if major_group else groups[0] + "/" + groups[1]
        if rl_route == "interaction":
            major = interaction["id"] if interaction else groups[0]
    rec["bucket"] = rl_route
    rec["major"] = major
    forced = srv.take_forced(method, route)
    if forced is not None:
        return forced_response(srv, forced, rl_route, out_headers)
    if cfg["ratelimits_enabled"]:
        if auth == "bot" and rl_route != "interaction":
            retry = srv.take_global()
            if retry is not None:
                out_headers.update({"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global",
                                    "Retry-After": str(max(1, math.ceil(retry)))})
                return 429, {"message": "You are being rate limited.", "retry_after": math.ceil(retry * 1000) / 1000,
                             "global": True, "code": 0}
        state = srv.take_bucket(rl_route, major)
        out_headers.update(state["headers"])
        rec["ratelimit"] = state["headers"]
        if state["limited"]:
            out_headers.update({"X-RateLimit-Scope": "user", "Retry-After": str(max(1, math.ceil(state["retry"])))})
            return 429, {"message": "You are being rate limited.", "retry_after": math.ceil(state["retry"] * 1000) / 1000,
                         "global": False, "code": 0}
    if method in ("POST", "PATCH", "PUT") and raw:
        ctype = headers.get("content-type", "")
        multipart = ctype.startswith("multipart/form-data")
        if multipart and handler not in MULTIPART_HANDLERS:
            raise Fail(400, 50035, "Invalid Form Body (fake: this route takes JSON only)")
        if not multipart and not ctype.startswith("application/json"):
            raise Fail(400, 50035, "Invalid Form Body (fake accepts Content-Type: application/json only)")
        if body is None:
            raise Fail(400, 50109, "The request body contains invalid JSON.")
        if multipart:
            body = attach_files(body, rec.get("files") or [])
    fn = globals()["h_" + handler]
    return fn(srv, method, groups, query, body, interaction)


def forced_response(srv, forced, rl_route, out_headers):
    status = int(forced.get("status", 429))
    if status == 429:
        retry = float(forced.get("retry_after", 1.0))
        is_global = bool(forced.get("global", False))
        scope = forced.get("scope", "global" if is_global else "user")
        out_headers.update({"X-RateLimit-Scope": scope, "Retry-After": str(max(1, math.ceil(retry)))})
        if is_global:
            out_headers["X-RateLimit-Global"] = "true"
        else:
            spec = srv.route_spec(rl_route)
            out_headers.update({"X-RateLimit-Limit": str(spec["limit"]), "X-RateLimit-Remaining": "0",
                                "X-RateLimit-Reset": f"{time.time() + retry:.3f}",
                                "X-RateLimit-Reset-After": f"{retry:.3f}", "X-RateLimit-Bucket": bucket_hash(rl_route)})
        return 429, forced.get("body", {"message": "You are being rate limited.", "retry_after": retry,
                                        "global": is_global, "code": 0})
    return status, forced.get("body", {"message": f"{status}: fake failure", "code": 0})


# -- helpers -----------------------------------------------------------------------------------------------------

def channel_or_404(srv, channel_id):
    guild, channel = W.find_channel(srv.guilds, channel_id)
    if channel is None and channel_id in srv.dm_channels:
        return None, srv.dm_channels[channel_id]
    if channel is None:
        raise Fail(404, 10003, "Unknown Channel")
    return guild, channel


def require_perms(srv, guild, channel, bits, code=50013, message="Missing Permissions"):
    perms = W.channel_permissions(guild, channel, W.BOT_ID)
    if not perms & W.VIEW_CHANNEL:
        raise Fail(403, 50001, "Missing Access")
    if perms & bits != bits:
        raise Fail(403, code, message)


# Routes Discord accepts multipart/form-data on (payload_json + files[n]).
MULTIPART_HANDLERS = {"create_message", "execute_webhook", "edit_webhook_message", "interaction_callback"}


def parse_multipart(ctype, raw):
    """multipart/form-data → (payload_json parsed or None, [files]); each file {"field", "filename",
    "content_type", "size", "text"}. Malformed bodies give (None, None)."""
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not m:
        return None, None
    boundary = b"--" + m.group(1).encode()
    payload, files = None, []
    for part in raw.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        part = part[2:] if part.startswith(b"\r\n") else part
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            return None, None
        data = data[:-2] if data.endswith(b"\r\n") else data
        fields = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        disp = fields.get("content-disposition", "")
        fname = re.search(r'name="([^"]*)"', disp)
        filename = re.search(r'filename="([^"]*)"', disp)
        if fname and fname.group(1) == "payload_json":
            try:
                payload = json.loads(data.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return None, None
        elif fname and filename:
            files.append({"field": fname.group(1), "filename": filename.group(1),
                          "content_type": fields.get("content-type"), "size": len(data),
                          "text": data.decode("utf-8", "replace")})
    return payload, files


def attach_files(body, files):
    """Checks each files[n] against the payload's attachments (Discord: ids match the n) and returns the body with
    "_files" (the uploads, for the message's attachments)."""
    if not isinstance(body, dict):
        return body
    target = body.get("data") if isinstance(body.get("data"), dict) and "type" in body else body
    declared = {str(a.get("id")): a for a in (target.get("attachments") or []) if isinstance(a, dict)}
    for f in files:
        m = re.fullmatch(r"files\[(\d+)\]", f["field"])
        if not m:
            raise form_error("files", "FAKE_FIELD", f"unexpected multipart field {f['field']}")
        if declared and m.group(1) not in declared:
            raise form_error("attachments", "ATTACHMENT_NOT_FOUND", f"files[{m.group(1)}] is not in attachments")
    target["_files"] = files
    return body


def message_attachments(srv, files):
    return [{"id": srv.ids.next(), "filename": f["filename"], "size": f["size"],
             "content_type": f.get("content_type"), "url": "https://cdn.fake/" + f["filename"], "_text": f["text"]}
            for f in files]


COMPONENT_STYLES = (1, 2, 3, 4)


def validate_components(components):
    """Action rows (type 1) of at most 5 buttons (type 2, custom_id 1..100 unique, label ≤ 80, style 1–4)."""
    if not isinstance(components, list) or len(components) > 5:
        raise form_error("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    seen = set()
    for i, row in enumerate(components):
        if not isinstance(row, dict) or row.get("type") != 1:
            raise form_error(f"components.{i}.type", "BASE_TYPE_CHOICES", "Value must be one of (1,).")
        buttons = row.get("components")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 5:
            raise form_error(f"components.{i}.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
        for j, b in enumerate(buttons):
            where = f"components.{i}.components.{j}"
            if not isinstance(b, dict) or b.get("type") != 2 or b.get("style") not in COMPONENT_STYLES:
                raise form_error(where, "COMPONENT_INVALID", "Invalid button (fake: type 2, style 1-4)")
            cid = b.get("custom_id")
            if not isinstance(cid, str) or not 1 <= len(cid) <= 100 or cid in seen:
                raise form_error(where + ".custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "custom_id missing, too long or repeated")
            seen.add(cid)
            if not (b.get("label") or b.get("emoji")) or len(b.get("label") or "") > 80:
                raise form_error(where + ".label", "BASE_TYPE_MAX_LENGTH", "A button needs a label ≤ 80 or an emoji")


def validate_allowed_mentions(srv, body):
    am = body.get("allowed_mentions")
    if am is None:
        if srv.cfg["require_allowed_mentions"]:
            raise form_error("allowed_mentions", "FAKE_REQUIRED", "allowed_mentions is required by this fake")
        return
    if not isinstance(am, dict):
        raise form_error("allowed_mentions", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
    parse = am.get("parse", [])
    if not isinstance(parse, list) or any(p not in ("users", "roles", "everyone") for p in parse):
        raise form_error("allowed_mentions.parse", "BASE_TYPE_CHOICES", "Value must be one of users, roles, everyone.")
    for kind in ("users", "roles"):
        if kind in parse and am.get(kind):
            raise form_error("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                             f"parse:[\"{kind}\"] and {kind}: [ids] are mutually exclusive.")
    if "replied_user" in am and not isinstance(am["replied_user"], bool):
        raise form_error("allowed_mentions.replied_user", "BASE_TYPE_BOOLEAN", "Must be either true or false.")


def validate_content(body, require_something=True):
    if not isinstance(body, dict):
        raise Fail(400, 50109, "The request body contains invalid JSON.")
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        raise form_error("content", "BASE_TYPE_STRING", "Must be a string.")
    if content is not None and len(content) > 2000:
        raise form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds")
    if embeds is not None and (not isinstance(embeds, list) or len(embeds) > 10):
        raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    if require_something and not (content or embeds or body.get("sticker_ids") or body.get("components")
                                  or body.get("poll")):
        raise Fail(400, 50006, "Cannot send an empty message")
    flags = body.get("flags")
    if flags is not None and (not isinstance(flags, int) or flags & ~(MESSAGE_FLAGS_ALLOWED | EPHEMERAL)):
        raise form_error("flags", "BASE_TYPE_CHOICES", "Invalid message flags.")


def new_message(srv, channel_id, guild_id, author, body, **extra):
    mid = srv.ids.next()
    pinged = W.pings(body.get("content"), body.get("allowed_mentions"))
    msg = {"id": mid, "channel_id": channel_id, "author": author, "content": body.get("content") or "",
           "timestamp": W.iso(), "edited_timestamp": None, "tts": bool(body.get("tts", False)),
           "mention_everyone": pinged["everyone"],
           "mentions": [srv.users.get(u, W.user(u, "user" + u[-4:])) for u in pinged["users"]],
           "mention_roles": pinged["roles"], "attachments": [], "embeds": body.get("embeds") or [],
           "pinned": False, "type": 0, "flags": body.get("flags") or 0, "components": body.get("components") or []}
    if body.get("components"):
        validate_components(body["components"])
    if body.get("_files"):
        msg["attachments"] = message_attachments(srv, body["_files"])
    if guild_id:
        msg["guild_id"] = guild_id
    if body.get("nonce") is not None:
        msg["nonce"] = body["nonce"]
    msg.update(extra)
    srv.store_message(msg, body)
    return msg


def bot_author(srv):
    return dict(srv.users[W.BOT_ID])


def public(msg):
    """The message object as the API returns it (without the fake's bookkeeping)."""
    return {k: v for k, v in msg.items() if not k.startswith("_")}


def echo(srv, t, msg):
    if srv.cfg["echo_own_messages"] and not msg["flags"] & EPHEMERAL:
        d = public(msg)
        if d.get("guild_id") and d["author"]["id"] == W.BOT_ID:
            d["member"] = {"roles": [W.BOT_ROLE_ID], "joined_at": W.iso(0), "deaf": False, "mute": False}
        G.broadcast(srv, t, d, d.get("guild_id"))


def edit(srv, msg, body):
    validate_content(body, require_something=False)
    validate_allowed_mentions(srv, body)
    if "content" in body:
        msg["content"] = body["content"] or ""
    if "embeds" in body:
        msg["embeds"] = body["embeds"] or []
    if "components" in body:
        validate_components(body["components"] or [])
        msg["components"] = body["components"] or []
        msg.setdefault("_components_history", []).append(msg["components"])
    if body.get("_files"):
        msg["attachments"] = message_attachments(srv, body["_files"])
    msg["flags"] &= ~(1 << 7)  # an edit ends a deferred response's LOADING state
    pinged = W.pings(msg["content"], body.get("allowed_mentions"))
    msg.update({"edited_timestamp": W.iso(), "mention_everyone": pinged["everyone"], "mention_roles": pinged["roles"],
                "mentions": [srv.users.get(u, W.user(u, "user" + u[-4:])) for u in pinged["users"]]})
    msg["_history"].append(msg["content"])
    msg["_pings"].append(pinged)
    msg["_allowed_mentions"].append(body.get("allowed_mentions"))
    msg["_edits"] += 1
    echo(srv, "MESSAGE_UPDATE", msg)
    return 200, public(msg)


# -- handlers ----------------------------------------------------------------------------------------------------

def h_gateway(srv, method, groups, query, body, interaction):
    return 200, {"url": srv.gateway_url()}


def h_gateway_bot(srv, method, groups, query, body, interaction):
    total = srv.cfg["session_start_total"]
    return 200, {"url": srv.gateway_url(), "shards": srv.cfg["shards"],
                 "session_start_limit": {"total": total, "remaining": max(0, total - srv.session_starts_used),
                                         "reset_after": 86_400_000, "max_concurrency": srv.cfg["max_concurrency"]}}


def h_me(srv, method, groups, query, body, interaction):
    return 200, dict(srv.users[W.BOT_ID], verified=True, mfa_enabled=False, flags=0)


def h_app_me(srv, method, groups, query, body, interaction):
    return 200, {"id": W.BOT_ID, "name": "PersonaBridge", "bot_public": False, "flags": srv.cfg["application_flags"],
                 "bot": srv.users[W.BOT_ID], "owner": srv.users[W.OWNER_ID], "description": "", "icon": None}


def h_get_channel(srv, method, groups, query, body, interaction):
    guild, channel = channel_or_404(srv, groups[0])
    if guild is not None and not W.channel_permissions(guild, channel, W.BOT_ID) & W.VIEW_CHANNEL:
        raise Fail(403, 50001, "Missing Access")
    return 200, channel


def h_list_messages(srv, method, groups, query, body, interaction):
    guild, channel = channel_or_404(srv, groups[0])
    require_perms(srv, guild, channel, W.READ_MESSAGE_HISTORY)
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        raise form_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.")
    if not 1 <= limit <= 100:
        raise form_error("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
    msgs = sorted((m for m in srv.messages.values() if m["channel_id"] == groups[0] and not m["_deleted"]
                   and not m["flags"] & EPHEMERAL), key=lambda m: int(m["id"]))
    if "after" in query:
        after = int(query["after"])
        picked = [m for m in msgs if int(m["id"]) > after][:limit]
    elif "before" in query:
        before = int(query["before"])
        picked = [m for m in msgs if int(m["id"]) < before][-limit:]
    else:
        picked = msgs[-limit:]
    return 200, [public(m) for m in reversed(picked)]  # newest first, as Discord does


def h_get_message(srv, method, groups, query, body, interaction):
    channel_or_404(srv, groups[0])
    msg = srv.messages.get(groups[1])
    if msg is None or msg["channel_id"] != groups[0] or msg["_deleted"]:
        raise Fail(404, 10008, "Unknown Message")
    return 200, public(msg)


THREAD_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)


def require_open_thread(srv, guild, channel):
    """Posting into an archived thread: a locked one refuses (unless MANAGE_THREADS), else it is unarchived."""
    meta = channel.get("thread_metadata") or {}
    if channel.get("type") not in W.THREAD_TYPES or not meta.get("archived"):
        return
    if meta.get("locked") and not W.channel_permissions(guild, channel, W.BOT_ID) & W.MANAGE_THREADS:
        raise Fail(400, 50083, "Thread is archived")
    meta["archived"] = False
    G.broadcast(srv, "THREAD_UPDATE", copy.deepcopy(channel), guild["id"])


def h_start_thread(srv, method, groups, query, body, interaction):
    """POST /channels/{c}/threads without a message: name 1..100, type 10 (announcement parent) / 11 / 12 (text
    parent) required, auto_archive_duration one of 60/1440/4320/10080; CREATE_PUBLIC_THREADS (11, 10) or
    CREATE_PRIVATE_THREADS (12) in the parent; no thread in a thread or a DM."""
    guild, parent = channel_or_404(srv, groups[0])
    if guild is None or parent.get("type") not in (0, 5):
        raise Fail(400, 50024, "Cannot execute action on this channel type")
    if not isinstance(body, dict):
        raise Fail(400, 50109, "The request body contains invalid JSON.")
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    kind = body.get("type")
    if kind not in W.THREAD_TYPES:
        raise form_error("type", "BASE_TYPE_CHOICES", "Value must be one of (10, 11, 12).")
    if (kind == 10) != (parent.get("type") == 5):
        raise Fail(400, 50024, "Cannot execute action on this channel type")
    duration = body.get("auto_archive_duration", 4320)
    if duration not in THREAD_ARCHIVE_DURATIONS:
        raise form_error("auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of (60, 1440, 4320, 10080).")
    require_perms(srv, guild, parent, W.CREATE_PRIVATE_THREADS if kind == 12 else W.CREATE_PUBLIC_THREADS)
    thread = {"id": srv.ids.next(), "type": kind, "guild_id": guild["id"], "name": name, "parent_id": parent["id"],
              "owner_id": W.BOT_ID, "last_message_id": None, "rate_limit_per_user": 0, "message_count": 0,
              "member_count": 1, "flags": 0, "total_message_sent": 0,
              "thread_metadata": {"archived": False, "auto_archive_duration": duration, "archive_timestamp": W.iso(),
                                  "locked": False, "create_timestamp": W.iso()}}
    if kind == 12:
        thread["thread_metadata"]["invitable"] = bool(body.get("invitable", True))
    guild["threads"].append(thread)
    G.broadcast(srv, "THREAD_CREATE", dict(copy.deepcopy(thread), newly_created=True), guild["id"])
    return 201, thread


def h_modify_channel(srv, method, groups, query, body, interaction):
    """PATCH /channels/{thread}: name, archived, locked, auto_archive_duration. Archiving or locking needs
    MANAGE_THREADS, except that the thread's owner may archive it unlocked; an archived thread only takes
    archived: false. Channels other than threads are refused (the bridge never edits them)."""
    guild, channel = channel_or_404(srv, groups[0])
    if guild is None or channel.get("type") not in W.THREAD_TYPES:
        raise Fail(403, 50013, "Missing Permissions (the fake only modifies threads)")
    if not isinstance(body, dict) or not body:
        raise Fail(400, 50035, "Invalid Form Body")
    unknown = set(body) - {"name", "archived", "locked", "auto_archive_duration", "invitable", "rate_limit_per_user"}
    if unknown:
        raise form_error(sorted(unknown)[0], "UNKNOWN_FIELD", "Not a thread field.")
    for key in ("archived", "locked", "invitable"):
        if key in body and not isinstance(body[key], bool):
            raise form_error(key, "BASE_TYPE_BAD_TYPE", "Must be a boolean.")
    if "name" in body and (not isinstance(body["name"], str) or not 1 <= len(body["name"]) <= 100):
        raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if "auto_archive_duration" in body and body["auto_archive_duration"] not in THREAD_ARCHIVE_DURATIONS:
        raise form_error("auto_archive_duration", "BASE_TYPE_CHOICES", "Value must be one of (60, 1440, 4320, 10080).")
    perms = W.channel_permissions(guild, channel, W.BOT_ID)
    if not perms & W.VIEW_CHANNEL:
        raise Fail(403, 50001, "Missing Access")
    meta = channel.setdefault("thread_metadata", {"archived": False, "locked": False, "auto_archive_duration": 1440})
    if meta.get("archived") and body.get("archived") is not False:
        raise Fail(400, 50083, "Thread is archived")
    owner = channel.get("owner_id") == W.BOT_ID
    if body.get("locked") is not None or (body.get("archived") and not owner):
        if not perms & W.MANAGE_THREADS:
            raise Fail(403, 50013, "Missing Permissions")
    for key in ("archived", "locked", "auto_archive_duration", "invitable"):
        if key in body:
            meta[key] = body[key]
    if "archived" in body:
        meta["archive_timestamp"] = W.iso()
    for key in ("name", "rate_limit_per_user"):
        if key in body:
            channel[key] = body[key]
    G.broadcast(srv, "THREAD_UPDATE", copy.deepcopy(channel), guild["id"])
    return 200, channel


def h_create_message(srv, method, groups, query, body, interaction):
    channel_id = groups[0]
    guild, channel = channel_or_404(srv, channel_id)
    need = W.SEND_MESSAGES_IN_THREADS if channel.get("type") in (10, 11, 12) else W.SEND_MESSAGES
    require_perms(srv, guild, channel, need)
    require_open_thread(srv, guild, channel)
    validate_content(body)
    validate_allowed_mentions(srv, body)
    extra = {}
    ref = body.get("message_reference")
    if ref is not None:
        if not isinstance(ref, dict) or not isinstance(ref.get("message_id"), str):
            raise form_error("message_reference", "MODEL_TYPE_REQUIRED", "message_reference.message_id is required")
        target = srv.messages.get(ref["message_id"])
        exists = target is not None and target["channel_id"] == channel_id and not target["_deleted"]
        if not exists and ref.get("fail_if_not_exists", True):
            raise form_error("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
        if exists:
            extra = {"type": 19, "message_reference": {"type": 0, "message_id": target["id"],
                                                       "channel_id": channel_id, "guild_id": guild and guild["id"]},
                     "referenced_message": public(target)}
    msg = new_message(srv, channel_id, guild and guild["id"], bot_author(srv), body, **extra)
    echo(srv, "MESSAGE_CREATE", msg)
    return 200, public(msg)


def h_edit_message(srv, method, groups, query, body, interaction):
    channel_or_404(srv, groups[0])
    msg = srv.messages.get(groups[1])
    if msg is None or msg["channel_id"] != groups[0] or msg["_deleted"]:
        raise Fail(404, 10008, "Unknown Message")
    if msg["author"]["id"] != W.BOT_ID or msg.get("webhook_id"):
        raise Fail(403, 50005, "Cannot edit a message authored by another user")
    return edit(srv, msg, body)


def h_delete_message(srv, method, groups, query, body, interaction):
    guild, channel = channel_or_404(srv, groups[0])
    msg = srv.messages.get(groups[1])
    if msg is None or msg["channel_id"] != groups[0] or msg["_deleted"]:
        raise Fail(404, 10008, "Unknown Message")
    if msg["author"]["id"] != W.BOT_ID:
        require_perms(srv, guild, channel, W.MANAGE_MESSAGES)
    msg["_deleted"] = True
    d = {"id": msg["id"], "channel_id": msg["channel_id"]}
    if guild:
        d["guild_id"] = guild["id"]
    G.broadcast(srv, "MESSAGE_DELETE", d, d.get("guild_id"))
    return 204, None


def h_typing(srv, method, groups, query, body, interaction):
    guild, channel = channel_or_404(srv, groups[0])
    require_perms(srv, guild, channel, W.SEND_MESSAGES)
    srv.counters["typing"] += 1
    return 204, None


def webhook_object(srv, hook, with_token=True):
    obj = {k: v for k, v in hook.items() if with_token or k != "token"}
    obj["user"] = srv.users[W.BOT_ID]
    return obj


def h_create_webhook(srv, method, groups, query, body, interaction):
    guild, channel = channel_or_404(srv, groups[0])
    if guild is None or channel.get("type") in (10, 11, 12):
        raise Fail(400, 50024, "Cannot execute action on this channel type")
    require_perms(srv, guild, channel, W.MANAGE_WEBHOOKS)
    if not isinstance(body, dict):
        raise Fail(400, 50109, "The request body contains invalid JSON.")
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
    if any(word in name.lower() for word in WEBHOOK_NAME_FORBIDDEN):
        raise form_error("name", "WEBHOOK_INVALID_USERNAME", f"Username cannot contain \"{name}\"")
    avatar = body.get("avatar")
    if avatar is not None:
        # Image data: a data URI of a PNG, JPEG or GIF; the webhook keeps a hash of it.
        match = re.fullmatch(r"data:image/(png|jpeg|gif);base64,([A-Za-z0-9+/=]+)", avatar) if isinstance(avatar, str) else None
        try:
            data = base64.b64decode(match.group(2), validate=True) if match else None
        except ValueError:
            data = None
        if not data:
            raise form_error("avatar", "IMAGE_INVALID", "Invalid image data")
        avatar = hashlib.md5(data).hexdigest()
    existing = [h for h in srv.webhooks.values() if h["channel_id"] == groups[0]]
    if len(existing) >= srv.cfg["max_webhooks_per_channel"]:
        raise Fail(400, 30007, "Maximum number of webhooks reached (15)")
    hook = {"id": srv.ids.next(), "type": 1, "guild_id": guild["id"], "channel_id": groups[0], "name": name,
            "avatar": avatar, "token": secrets.token_urlsafe(48), "application_id": W.BOT_ID}
    srv.webhooks[hook["id"]] = hook
    return 200, webhook_object(srv, hook)


def h_list_webhooks(srv, method, groups, query, body, interaction):
    guild, channel = channel_or_404(srv, groups[0])
    require_perms(srv, guild, channel, W.MANAGE_WEBHOOKS)
    return 200, [webhook_object(srv, h) for h in srv.webhooks.values() if h["channel_id"] == groups[0]]


def hook_or_404(srv, hook_id, token):
    hook = srv.webhooks.get(hook_id)
    if hook is None or hook["token"] != token:
        raise Fail(404, 10015, "Unknown Webhook")
    return hook


def interaction_alive(srv, inter, need_ack=True):
    if time.monotonic() - inter["_created_mono"] > srv.cfg["followup_timeout_s"]:
        raise Fail(401, 50027, "Invalid Webhook Token")
    if need_ack and inter["_callback"] is None:
        raise Fail(404, 10015, "Unknown Webhook")


def h_execute_webhook(srv, method, groups, query, body, interaction):
    if interaction is not None:  # interaction follow-up
        interaction_alive(srv, interaction)
        validate_content(body)
        validate_allowed_mentions(srv, body)
        msg = new_message(srv, interaction["channel_id"], interaction.get("guild_id"), bot_author(srv), body,
                          webhook_id=W.BOT_ID, application_id=W.BOT_ID,
                          _interaction=interaction["id"], _followup=True)
        interaction["_followups"].append(msg["id"])
        echo(srv, "MESSAGE_CREATE", msg)
        return 200, public(msg)
    hook = hook_or_404(srv, groups[0], groups[1])
    validate_content(body)
    validate_allowed_mentions(srv, body)
    username = body.get("username")
    if username is not None:
        if not isinstance(username, str) or not 1 <= len(username) <= 80:
            raise form_error("username", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")
        if any(word in username.lower() for word in WEBHOOK_NAME_FORBIDDEN):
            raise form_error("username", "WEBHOOK_INVALID_USERNAME", f"Username cannot contain \"{username}\"")
    if "message_reference" in body:
        raise form_error("message_reference", "WEBHOOK_CANNOT_REPLY", "Webhook messages cannot be replies (fake)")
    channel_id = hook["channel_id"]
    if query.get("thread_id"):
        guild, thread = W.find_channel(srv.guilds, query["thread_id"])
        if thread is None or thread.get("parent_id") != hook["channel_id"]:
            raise Fail(400, 10003, "Unknown Channel")
        require_open_thread(srv, guild, thread)
        channel_id = thread["id"]
    author = {"id": hook["id"], "username": username or hook["name"], "avatar": None, "discriminator": "0000",
              "bot": True, "global_name": None, "public_flags": 0}
    msg = new_message(srv, channel_id, hook["guild_id"], author, body, webhook_id=hook["id"],
                      _avatar_url=body.get("avatar_url"))
    echo(srv, "MESSAGE_CREATE", msg)
    if query.get("wait", "false").lower() not in ("true", "1"):
        return 204, None
    return 200, public(msg)


def webhook_target(srv, groups, interaction):
    if interaction is not None:
        interaction_alive(srv, interaction)
        mid = interaction["_original"] if groups[2] == "@original" else groups[2]
        msg = srv.messages.get(mid) if mid else None
        if msg is None or msg.get("_interaction") != interaction["id"] or msg["_deleted"]:
            raise Fail(404, 10008, "Unknown Message")
        return msg
    hook = hook_or_404(srv, groups[0], groups[1])
    msg = srv.messages.get(groups[2])
    if msg is None or msg.get("webhook_id") != hook["id"] or msg["_deleted"]:
        raise Fail(404, 10008, "Unknown Message")
    return msg


def h_get_webhook_message(srv, method, groups, query, body, interaction):
    return 200, public(webhook_target(srv, groups, interaction))


def h_edit_webhook_message(srv, method, groups, query, body, interaction):
    msg = webhook_target(srv, groups, interaction)
    if not isinstance(body, dict):
        raise Fail(400, 50109, "The request body contains invalid JSON.")
    return edit(srv, msg, body)


def h_delete_webhook_message(srv, method, groups, query, body, interaction):
    msg = webhook_target(srv, groups, interaction)
    msg["_deleted"] = True
    d = {"id": msg["id"], "channel_id": msg["channel_id"]}
    if msg.get("guild_id"):
        d["guild_id"] = msg["guild_id"]
    G.broadcast(srv, "MESSAGE_DELETE", d, d.get("guild_id"))
    return 204, None


def h_interaction_callback(srv, method, groups, query, body, interaction):
    inter = srv.interactions.get(groups[0])
    if inter is None or inter["token"] != groups[1]:
        raise Fail(404, 10062, "Unknown interaction")
    elapsed = time.monotonic() - inter["_created_mono"]
    if elapsed > srv.cfg["interaction_timeout_s"]:
        inter["_late_callbacks"] += 1
        raise Fail(404, 10062, "Unknown interaction")
    if inter["_callback"] is not None:
        raise Fail(400, 40060, "Interaction has already been acknowledged.")
    if not isinstance(body, dict) or body.get("type") not in (1, 4, 5, 6, 7, 8, 9, 10, 12):
        raise form_error("type", "BASE_TYPE_CHOICES", "Value must be one of (1, 4, 5, 6, 7, 8, 9, 10, 12).")
    kind = body["type"]
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise form_error("data", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
    if kind in (6, 7) and inter["type"] != 3:
        raise Fail(400, 40043, "Interaction response type not valid for this interaction type (fake)")
    if kind == 4:
        validate_content(data)
        validate_allowed_mentions(srv, data)
    inter["_callback"] = {"type": kind, "data": data, "elapsed_s": round(elapsed, 4)}
    if kind in (4, 5):
        msg = new_message(srv, inter["channel_id"], inter.get("guild_id"), bot_author(srv),
                          dict(data, content=data.get("content") if kind == 4 else ""),
                          webhook_id=W.BOT_ID, application_id=W.BOT_ID, type=20,
                          interaction_metadata={"id": inter["id"], "type": inter["type"],
                                                "user": inter["_user"]}, _interaction=inter["id"],
                          _deferred=kind == 5)
        msg["flags"] = (data.get("flags") or 0) | ((1 << 7) if kind == 5 else 0)  # LOADING for deferred
        inter["_original"] = msg["id"]
        echo(srv, "MESSAGE_CREATE", msg)
    if query.get("with_response", "false").lower() in ("true", "1"):
        resp = {"interaction": {"id": inter["id"], "type": inter["type"], "response_message_id": inter["_original"]},
                "resource": {"type": kind}}
        if inter["_original"]:
            resp["resource"]["message"] = public(srv.messages[inter["_original"]])
        return 200, resp
    return 204, None


def validate_commands(cmds):
    if not isinstance(cmds, list):
        raise Fail(400, 50035, "Invalid Form Body", {"_errors": [{"code": "BASE_TYPE_ARRAY", "message": "Must be an array"}]})
    if len(cmds) > 100:
        raise Fail(400, 30032, "Maximum number of application commands reached (100)")
    seen = set()
    for i, cmd in enumerate(cmds):
        if not isinstance(cmd, dict):
            raise form_error(str(i), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        validate_command(cmd, str(i), top=True)
        key = (cmd.get("type", 1), cmd["name"])
        if key in seen:
            raise form_error(str(i) + ".name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
        seen.add(key)


def validate_command(cmd, where, top):
    name = cmd.get("name")
    kind = cmd.get("type", 1)
    if not isinstance(name, str) or not COMMAND_NAME.match(name) or (kind in (1,) and name != name.lower()):
        raise form_error(where + ".name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if (top and kind == 1) or not top:
        desc = cmd.get("description")
        if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
            raise form_error(where + ".description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if not top and cmd.get("type") not in range(1, 12):
        raise form_error(where + ".type", "BASE_TYPE_CHOICES", "Value must be one of 1..11.")
    options = cmd.get("options") or []
    if not isinstance(options, list) or len(options) > 25:
        raise form_error(where + ".options", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    names = set()
    for j, opt in enumerate(options):
        if not isinstance(opt, dict):
            raise form_error(f"{where}.options.{j}", "MODEL_TYPE_CONVERT", "Only dictionaries may be used")
        validate_command(opt, f"{where}.options.{j}", top=False)
        if opt["name"] in names:
            raise form_error(f"{where}.options.{j}.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                             "Option names must be unique")
        names.add(opt["name"])
        choices = opt.get("choices")
        if choices is not None and (not isinstance(choices, list) or len(choices) > 25):
            raise form_error(f"{where}.options.{j}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")


def h_commands(srv, method, groups, query, body, interaction):
    app = groups[0]
    if app != W.BOT_ID:
        raise Fail(403, 50001, "Missing Access")
    scope = groups[1] if len(groups) > 1 else "global"
    if scope != "global" and scope not in srv.guilds:
        raise Fail(404, 10004, "Unknown Guild")
    if method == "GET":
        return 200, srv.commands.get(scope, [])
    items = body if method == "PUT" else [body]
    validate_commands(items)
    existing = {c["name"]: c for c in srv.commands.get(scope, [])}
    out = []
    for cmd in items:
        old = existing.get(cmd["name"])
        stored = dict(cmd, id=old["id"] if old else srv.ids.next(), application_id=W.BOT_ID,
                      version=srv.ids.next(), type=cmd.get("type", 1),
                      default_member_permissions=cmd.get("default_member_permissions"))
        if scope != "global":
            stored["guild_id"] = scope
        out.append(stored)
    if method == "PUT":
        srv.commands[scope] = out
        srv.counters["command_puts"] += 1
        return 200, out
    srv.commands[scope] = [c for c in srv.commands.get(scope, []) if c["name"] != out[0]["name"]] + out
    return (200 if cmd["name"] in existing else 201), out[0]


def guild_or_404(srv, gid):
    guild = srv.guilds.get(gid)
    if guild is None:
        raise Fail(404, 10004, "Unknown Guild")
    return guild


def h_get_guild(srv, method, groups, query, body, interaction):
    g = W.guild_create_payload(guild_or_404(srv, groups[0]), srv.users, False)
    for key in ("channels", "threads", "members", "voice_states", "presences", "stage_instances",
                "guild_scheduled_events", "soundboard_sounds", "joined_at", "large", "member_count", "unavailable"):
        g.pop(key, None)
    return 200, g


def h_guild_channels(srv, method, groups, query, body, interaction):
    return 200, guild_or_404(srv, groups[0])["channels"]


def h_guild_roles(srv, method, groups, query, body, interaction):
    return 200, guild_or_404(srv, groups[0])["roles"]


def h_guild_member(srv, method, groups, query, body, interaction):
    guild = guild_or_404(srv, groups[0])
    member = W.find_member(guild, groups[1])
    if member is None:
        raise Fail(404, 10007, "Unknown Member")
    return 200, W.member_object(member, srv.users)
