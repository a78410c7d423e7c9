"""Fake proxy bot (PluralKit/Tupperbox style) and fake PluralKit API for discord_server.py. Python stdlib only.

PROXY BOT. A human message injected through POST /_control/inject/message whose content carries a configured
member's tags is, after "delay_ms", reposted through a webhook under the member's name (MESSAGE_CREATE with
webhook_id, author.bot = true, author.username = member name, the text without the tags) and the original is
deleted (MESSAGE_DELETE), in the order "order" says ("copy_first", as PluralKit does, or "delete_first"). The
mapping is kept for the API below. Webhook and bot messages are never proxied.
  POST /_control/proxy {"members": [{"user_id", "prefix", "suffix", "name", "member_id", "system_id"}],
                        "delay_ms": 100, "order": "copy_first"|"delete_first", "copy_delay_ms": 0 (between the
                        deletion and the copy, delete_first only: a slow proxy), "webhook_id"}   merges, returns it
  GET  /_control/proxy                  {"config", "proxied": [{id, original, sender, channel, member}], "counters"}

PLURALKIT API, on the same port under /pk (base URL http://127.0.0.1:N/pk):
  GET /pk/v2/messages/{id}   id = the proxied or the original message id → 200 {"id", "original", "sender",
      "channel", "guild", "timestamp", "system": {...}, "member": {"id", "name", "display_name", ...}};
      404 {"message": "Message not found.", "code": 20006} otherwise (and for other paths).
  Rate limit: 2 requests per rolling second per client (everyone shares one here); beyond it 429 with
      "Retry-After" (whole seconds, rounded up) and {"message": "429: too many requests", "retry_after": ms, "code": 0}.
      Counters pk_requests, pk_200, pk_404, pk_429 in GET /_control/proxy.
"""
import asyncio
import collections
import math
import time

PK_RATE = 2
PK_WINDOW_S = 1.0


class ProxyState:
    def __init__(self):
        self.config = {"members": [], "delay_ms": 100, "order": "copy_first", "copy_delay_ms": 0,
                       "webhook_id": "900000000000000777"}
        self.proxied = {}        # proxied id -> record
        self.by_original = {}    # original id -> proxied id
        self.pk_times = collections.deque()
        self.counters = collections.defaultdict(int)
        self.tasks = set()


def state(srv):
    if getattr(srv, "proxy", None) is None:
        srv.proxy = ProxyState()
    return srv.proxy


def configure(srv, body):
    st = state(srv)
    for key in ("members", "delay_ms", "order", "copy_delay_ms", "webhook_id"):
        if key in body:
            st.config[key] = body[key]
    if st.config["order"] not in ("copy_first", "delete_first"):
        raise ValueError("order must be copy_first or delete_first")
    return st.config


def snapshot(srv):
    st = state(srv)
    return {"config": st.config, "proxied": list(st.proxied.values()), "counters": dict(st.counters)}


def match(st, msg):
    """The member whose tags the message carries, and the text without them."""
    author = msg.get("author") or {}
    if msg.get("webhook_id") or author.get("bot"):
        return None, None
    content = msg.get("content", "")
    for member in st.config["members"]:
        if member.get("user_id") and member["user_id"] != author.get("id"):
            continue
        prefix, suffix = member.get("prefix", ""), member.get("suffix", "")
        if not prefix and not suffix:
            continue
        if content.startswith(prefix) and content.endswith(suffix) and len(content) > len(prefix) + len(suffix):
            return member, content[len(prefix):len(content) - len(suffix)].strip()
    return None, None


def after_inject(srv, msg, inject, delete):
    """Called by discord_server after an injected message was dispatched; starts the repost when it is tagged."""
    st = state(srv)
    member, text = match(st, msg)
    if member is None:
        return
    task = asyncio.get_running_loop().create_task(repost(srv, st, msg, member, text, inject, delete))
    st.tasks.add(task)
    task.add_done_callback(st.tasks.discard)


async def repost(srv, st, msg, member, text, inject, delete):
    await asyncio.sleep(float(st.config["delay_ms"]) / 1000)
    if srv.messages.get(msg["id"], {}).get("_deleted"):
        return
    if st.config["order"] == "delete_first":
        delete(srv, {"id": msg["id"]})
        await asyncio.sleep(float(st.config.get("copy_delay_ms", 0)) / 1000)
    author = {"id": st.config["webhook_id"], "username": member["name"], "global_name": None, "avatar": None,
              "discriminator": "0000", "bot": True}
    copy = inject(srv, {"channel_id": msg["channel_id"], "content": text, "author": author,
                        "webhook_id": st.config["webhook_id"]})["message"]
    if st.config["order"] == "copy_first":
        delete(srv, {"id": msg["id"]})
    record = {"id": copy["id"], "original": msg["id"], "sender": msg["author"]["id"], "channel": msg["channel_id"],
              "guild": msg.get("guild_id"), "member": member}
    st.proxied[copy["id"]] = record
    st.by_original[msg["id"]] = copy["id"]
    st.counters["proxied"] += 1


def handle_pk(srv, method, path):
    """GET /pk/v2/messages/{id}: (status, body, headers)."""
    st = state(srv)
    st.counters["pk_requests"] += 1
    now = time.monotonic()
    while st.pk_times and now - st.pk_times[0] >= PK_WINDOW_S:
        st.pk_times.popleft()
    if len(st.pk_times) >= PK_RATE:
        wait = PK_WINDOW_S - (now - st.pk_times[0])
        st.counters["pk_429"] += 1
        return 429, {"message": "429: too many requests", "retry_after": int(math.ceil(wait * 1000)), "code": 0}, \
            {"Retry-After": str(max(1, int(math.ceil(wait))))}
    st.pk_times.append(now)
    parts = path.split("/")
    record = None
    if method == "GET" and len(parts) == 5 and parts[2] == "v2" and parts[3] == "messages":
        mid = parts[4]
        record = st.proxied.get(mid) or st.proxied.get(st.by_original.get(mid, ""))
    if record is None:
        st.counters["pk_404"] += 1
        return 404, {"message": "Message not found.", "code": 20006}, {}
    st.counters["pk_200"] += 1
    member = record["member"]
    return 200, {
        "timestamp": None, "id": record["id"], "original": record["original"], "sender": record["sender"],
        "channel": record["channel"], "guild": record["guild"],
        "system": {"id": member.get("system_id", "exmpl"), "name": None},
        "member": {"id": member.get("member_id", "abcde"), "name": member["name"], "display_name": member.get("display_name")},
    }, {}
