#!/usr/bin/env python3
"""Fake Discord (gateway v10 + REST v10 + control API) for tests. Python stdlib only, loopback only.

Usage: discord_server.py --port N [--token T] [--heartbeat-ms MS] [--api-prefix /api/v10] [--config JSON]
  ONE port serves everything: REST under the API prefix, the gateway (any other path with a websocket upgrade),
  and the control API under /_control/. Once listening it prints one line:
    READY discord_server rest=http://127.0.0.1:N/api/v10 gateway=ws://127.0.0.1:N control=http://127.0.0.1:N/_control
  (PBTestSupport.startPythonServer("discord_server.py", arguments: [...]) waits for "READY" and passes --port.)
  --config takes a JSON object (or @file.json) of config keys (see POST /_control/config), applied at start
  and again on every reset.

DEFAULT WORLD (fixed ids, see discord_world.py)
  bot user = application id 900000000000000001 ("personabridge"); token "fake-bot-token".
  guild 900000000000000100 "Fake Guild" (owner 900000000000000401); @everyone role id = guild id.
  text channels 900000000000000301..305 (general, roleplay, tavern, library, garden); public thread
  900000000000000351 ("side-quest", parent 301).
  roles: Moderator 900000000000000201 (MANAGE_CHANNELS|MANAGE_MESSAGES), PersonaBridge 900000000000000202
  (bot's role: MANAGE_WEBHOOKS|MANAGE_MESSAGES), Admin 900000000000000203 (ADMINISTRATOR); @everyone: view,
  send, history, reactions, embeds, files, app commands, send-in-threads.
  users/members: owner ...401, moderator ...402 (Moderator role), alice ...403, bob ...404, admin ...405
  (Admin role), bot ...001 (PersonaBridge role).

REST (prefix cfg api_prefix, default /api/v10). Every API request needs User-Agent "DiscordBot (url, version)"
(else 400) and, except webhook-token/interaction routes, "Authorization: Bot <token>" (else 401
{"message": "401: Unauthorized", "code": 0}). POST/PATCH/PUT bodies must be Content-Type application/json
(invalid JSON → 400 code 50109). Errors are Discord-shaped: {"message", "code"[, "errors"]}.
  GET    /gateway, /gateway/bot      url = ws://127.0.0.1:N (no query; append ?v=10&encoding=json[&compress=zlib-stream]),
                                     shards (cfg shards), session_start_limit {total, remaining, reset_after, max_concurrency}
  GET    /users/@me, /applications/@me, /oauth2/applications/@me   the bot user; the application with "flags" =
         cfg application_flags (default GATEWAY_MESSAGE_CONTENT_LIMITED 1<<19; without 1<<18 or 1<<19 an
         IDENTIFY asking for MESSAGE_CONTENT is closed 4014, as Discord does when the portal switch is off)
  GET    /channels/{c}                                   404 code 10003 for unknown channels; 403 50001 when the bot
         lacks VIEW_CHANNEL there; threads carry parent_id, channels permission_overwrites
  POST   /channels/{c}/threads {name, type, auto_archive_duration}   a thread without a starter message: name 1..100,
         type 11/12 (text parent) or 10 (announcement parent) required, duration 60/1440/4320/10080 (default 4320);
         no threads in threads or DMs (400 50024); CREATE_PUBLIC_THREADS (12: CREATE_PRIVATE_THREADS) else 403 50013.
         201 with the thread (owner = bot, thread_metadata), THREAD_CREATE (newly_created) dispatched.
  PATCH  /channels/{thread} {name, archived, locked, auto_archive_duration, invitable, rate_limit_per_user}  threads
         only (else 403); locking, or archiving a thread the bot does not own, needs MANAGE_THREADS; an archived thread
         takes only archived: false (else 400 50083); THREAD_UPDATE dispatched. Messages (and webhook executes with
         thread_id) into an archived thread unarchive it, or get 400 50083 when it is locked and the bot lacks
         MANAGE_THREADS.
  GET    /channels/{c}/messages?after=&before=&limit=    1..100 (default 50), newest first (like Discord)
  POST   /channels/{c}/messages                          content ≤ 2000 characters, counted as Unicode code points
         (else 400 code 50035 errors.content),
         empty → 400 50006; allowed_mentions validated (parse ⊆ users/roles/everyone, exclusive with lists);
         message_reference {message_id, fail_if_not_exists}: unknown target with fail_if_not_exists true (the
         default) → 400 50035; the bot needs VIEW_CHANNEL (else 403 50001) and SEND_MESSAGES (threads:
         SEND_MESSAGES_IN_THREADS) from roles+overwrites (else 403 50013). Returns a full message (snowflake id,
         type 0, or 19 with message_reference + referenced_message for replies).
  GET/PATCH/DELETE /channels/{c}/messages/{m}            PATCH only the bot's own non-webhook messages (else 403 50005)
  POST   /channels/{c}/typing                            204
  POST   /channels/{c}/webhooks {name}                   needs MANAGE_WEBHOOKS (else 403 50013); name 1..80 without
         "discord"/"clyde"; max 15 per channel (400 30007); returns {id, token, channel_id, ...}
  GET    /channels/{c}/webhooks                          needs MANAGE_WEBHOOKS
  POST   /webhooks/{id}/{token}[?wait=true][&thread_id=] username 1..80 (no discord/clyde), avatar_url;
         message_reference refused (400); wait=true → 200 message (author.id = webhook id, webhook_id), else 204
  GET/PATCH/DELETE /webhooks/{id}/{token}/messages/{m}   only that webhook's messages
  POST   /interactions/{id}/{token}/callback             {type 1|4|5|6|7|8|9|10|12, data}; within cfg
         interaction_timeout_s (3 s) of the injection, else 404 10062; twice → 400 40060; type 4 data is
         validated like a message; 204 (or 200 with ?with_response=true). Type 4/5 create the @original.
  GET/PATCH/DELETE /webhooks/{app}/{itoken}/messages/@original|{m}   original / follow-ups (404 before a callback)
  POST   /webhooks/{app}/{itoken}                        follow-up message (flags 64 = ephemeral kept)
  Message creates/edits, webhook executes/edits and interaction callbacks also take multipart/form-data:
         payload_json + files[n] (n must be an id in the payload's attachments); the request record keeps
         "files" [{field, filename, content_type, size, text}], the message its "attachments". "components"
         are validated (action rows of ≤ 5 buttons, unique custom_id) and kept on the message.
  GET/PUT/POST /applications/{app}/commands, /applications/{app}/guilds/{g}/commands
         validated (names ^[-_\\w]{1,32}$ lowercase, descriptions 1..100, ≤25 options, ≤100 commands, unique)
  GET    /guilds/{g}, /guilds/{g}/channels, /guilds/{g}/roles, /guilds/{g}/members/{u}
  The bot's own creates/edits/deletes are echoed on the gateway as MESSAGE_CREATE/UPDATE/DELETE (cfg
  echo_own_messages), webhook messages with webhook_id; ephemeral messages are not.

RATE LIMITS (cfg ratelimits_enabled). Bucketed routes send on EVERY response (incl. errors):
  X-RateLimit-Limit, -Remaining, -Reset (epoch s, 3 decimals), -Reset-After (s, float), -Bucket (hash);
  Reset and Reset-After are rounded UP to the millisecond, so a client that waits them out never gets a 429.
  A bucket is (route, major parameter) with a fixed window opened by its first request. Routes (cfg routes):
    messages        POST+PATCH channel messages share ONE bucket hash, major = channel id: 5 per 5 s
    messages_delete DELETE channel message, per channel: 5 per 1 s
    messages_get    GET messages, per channel: 50 per 1 s
    typing          per channel: 5 per 5 s
    webhooks_manage create/list webhooks, per channel: 5 per 5 s
    webhook_exec    execute/get/edit/delete webhook messages, major = webhook id/token: 5 per 5 s
    interaction     callback/@original/follow-ups, major = interaction id: 50 per 1 s (not global-limited)
    commands        per application / guild: 10 per 20 s
    gateway         GET /gateway/bot: 50 per 1 s;  default: everything else, per major: 50 per 1 s
  Global: cfg global_limit (50) bot-authenticated requests per cfg global_window_s (1.0) sliding window.
  429 body {"message": "You are being rate limited.", "retry_after": float s, "global": bool, "code": 0},
  headers Retry-After (int s), X-RateLimit-Scope ("user" for buckets, "global"), X-RateLimit-Global: true
  for global. Requests refused with 429 do not consume. Counters count 429s and invalid requests (401/403/429).

GATEWAY (websocket on any path outside the API prefix and /_control/, e.g. "/", "/?v=10...", "/resume?...").
  Query: v=10 required (else close 4012), encoding=json (else 4002), compress absent (plain text frames) or
  zlib-stream (binary frames from ONE zlib deflate context per connection, each message Z_SYNC_FLUSHed so
  it ends with 00 00 ff ff). permessage-deflate is never negotiated.
  → op 10 HELLO {heartbeat_interval: cfg heartbeat_interval_ms}.
  Client payloads: JSON objects with int "op", ≤ cfg max_payload_bytes (4096) (else close 4002); more than
  cfg send_limit (120) frames per cfg send_window_s (60) → close 4008; unknown op → 4001; op 3/4/8 before
  identify → 4003; identify/resume twice → 4005.
  Heartbeat: op 1 (any d) → op 11 ACK unless ACKs are stopped for that connection. No heartbeat for longer
  than heartbeat_interval_ms + heartbeat_grace_ms (grace default = max(interval, 2000 ms), for loaded
  machines; set it to test 4009 quickly) since HELLO or the last
  heartbeat → close 4009 (session invalidated).
  IDENTIFY op 2 {token (bare, == cfg token, else 4004), properties {os, browser, device} (else 4002),
  intents int (missing/unknown bits → 4013; any bit of cfg disallowed_intents, default GUILD_MEMBERS|
  GUILD_PRESENCES = 258, or MESSAGE_CONTENT without its application flag → 4014), shard [id, count] optional (0 ≤ id < count else 4010; count < cfg
  required_shards → 4011)}. Identify faster than cfg identify_interval_s (0 = off) per shard_id %
  max_concurrency bucket → op 9 d=false. Then dispatch READY {v, user, guilds (unavailable), session_id,
  resume_gateway_url (cfg resume_url, default ws://127.0.0.1:N/resume), shard, application} and one
  GUILD_CREATE per guild of the shard ((guild_id >> 22) % count) with roles, channels (with
  permission_overwrites), threads, members (only the bot's member unless GUILD_MEMBERS intent).
  Dispatches carry s = the session's sequence (1, 2, ...). Events respect intents (GUILD_MESSAGES /
  DIRECT_MESSAGES / GUILDS) and shards (DMs on shard 0); without MESSAGE_CONTENT guild messages have empty
  content unless they mention the bot or are the bot's own.
  RESUME op 6 {token, session_id, seq}: unknown/invalidated/expired (cfg resume_timeout_s) session or seq
  ahead of the session → op 9 d=false (connection stays open; identify may follow). Otherwise every event
  with s > seq is replayed (same s), then RESUMED is dispatched. Events raised while a session has no
  connection are queued on it (and replayed). A client close with 1000/1001 ends the session (resume then
  fails); other codes or a dropped TCP keep it resumable. Server closes 4004, 4007, 4009..4014 invalidate
  the session; 4000..4003, 4005, 4008 do not.

CONTROL API (HTTP JSON on the same port; no auth; never recorded; bodies optional unless stated).
  Gateway targets: bodies may carry {"connection": id} or {"session_id": s}; default = every open connection.
  GET  /_control/health                 {"ok": true}
  POST /_control/reset                  back to the start state (world, config, messages, sessions, recordings,
                                        rate-limit state; --config/--token/... options are applied again);
                                        aborts every gateway connection
  POST /_control/clear                  clears only recordings and counters (requests, frames, stats)
  GET  /_control/config                 current config;  POST /_control/config {key: value...} merges, returns it.
        keys: token, api_prefix, heartbeat_interval_ms, heartbeat_grace_ms (null = max(interval, 2000)), ack_heartbeats
        (default for NEW connections), disallowed_intents, application_flags, send_limit, send_window_s, max_payload_bytes,
        shards, max_concurrency, session_start_total, identify_interval_s, required_shards, resume_timeout_s,
        gateway_url, resume_url, interaction_timeout_s, followup_timeout_s, require_allowed_mentions (400 when
        absent), require_user_agent, echo_own_messages, max_webhooks_per_channel, split_frames (n > 1: every
        gateway message is written as n websocket messages (zlib) / n fragments (plain)), ban_threshold (10000)
        and ban_window_s (600): that many invalid requests (401/403/429, not scope "shared") in the window and
        every API request gets 429 with an HTML body and no rate-limit headers (Cloudflare ban), ratelimits_enabled,
        global_limit, global_window_s, routes {name: {"limit", "per"}} (merged per route)
  POST /_control/ratelimits {"routes": {"messages": {"limit": 2, "per": 5}}, "global_limit", "global_window_s",
        "enabled", "reset_buckets": true}   shorthand for config + clearing bucket state
  POST /_control/rest/fail {"count": 1, "status": 429|500|502|..., "path_contains": "/messages", "method":
        "PATCH", "retry_after": 0.5, "global": false, "scope": "shared", "body": {...}}   the next `count`
        matching API requests get that response (429s carry real headers); queued FIFO
  POST /_control/permissions {"manage_webhooks": bool, "send_messages": bool}   toggles the bot role's bits
        (and the @everyone SEND_MESSAGES bit); with "dispatch": true sends GUILD_ROLE_UPDATE
  POST /_control/guild {"guild_id" (default the default guild; a new id creates a guild), "name", "owner_id",
        "roles": [role...] (upsert by id; permissions int or string), "remove_roles": [id...],
        "channels": [channel...] (upsert by id, e.g. permission_overwrites [{id, type 0 role|1 member,
        allow, deny}]), "threads": [thread...], "members": [{"user_id", "roles", "nick", "username"}]
        (upsert), "users": [user...], "dispatch": true}  dispatch sends GUILD_CREATE (new guild),
        GUILD_ROLE_CREATE/UPDATE/DELETE, CHANNEL_CREATE/UPDATE, THREAD_CREATE/UPDATE, GUILD_UPDATE
  GET  /_control/state                  {"guilds", "users", "webhooks", "commands", "dm_channels", "bot_id"}
  POST /_control/inject/message {"channel_id" (default general), "content", "author_id" (default alice) or
        "author" {...}, "mention_bot": bool (prepends "<@bot> " and mentions it), "mentions": [user ids],
        "mention_roles": [...], "mention_everyone", "reply_to": message id, "bot": bool, "webhook_id",
        "age_s": seconds in the past (id and timestamp), "id", "type", "dm": bool (channel_id becomes a DM
        channel, no guild), "dispatch": true (false = only stored, e.g. for catch-up)}
        → {"message": {...}, "seqs": {session_id: s}}  (MESSAGE_CREATE, stored, visible to GET messages)
  POST /_control/attachments {"filename", "content_b64", "content_type"}  → an attachment object ({"id", "filename",
        "size", "url", "proxy_url", "content_type"}) to pass in inject/message "attachments"; its url is served by
        GET /attachments/{channel}/{id}/{filename}?ex=&is=&hm= on this port like Discord's CDN: the signed query must
        match (403 otherwise) and a request carrying an Authorization header is refused (400: the bot token must
        not go to the CDN). Counter cdn_downloads.
  POST /_control/inject/message_update {"id", "content", ...fields}  → edits the stored message, MESSAGE_UPDATE
  POST /_control/inject/message_delete {"id"}                        → MESSAGE_DELETE
  POST/GET /_control/proxy              the fake proxy bot (PluralKit/Tupperbox) and the fake PluralKit API under
        /pk/v2/messages/{id} (2 requests/s, 429 + Retry-After): see discord_proxy.py
  POST /_control/inject/interaction {"name" (command), "options": [...], "user_id" (default alice),
        "channel_id" (default general), "guild_id", "dm": bool, "type": 2, "data": {... overrides},
        "member": {... overrides}} → {"interaction": d, "id", "token", "seqs"}; member.permissions is computed
        from roles + overwrites of that channel; app_permissions likewise for the bot. A button press is
        "type": 3 with "message_id" and "custom_id" (the message must carry that button; d.message is it).
  POST /_control/inject/event {"t", "d", "guild_id"}  any dispatch (sequenced, replayable), e.g. CHANNEL_UPDATE,
        GUILD_ROLE_DELETE or an unknown type
  POST /_control/gateway/raw {"frames": [{"text": "..."} | {"json": {...}} | {"binary_b64": "..."} (written
        as-is, no compression), each optionally "split": n (zlib: the compressed bytes over n websocket
        messages; plain: n fragments), "repeat": n]}  unsequenced, through the connection's zlib context
  POST /_control/gateway/garbage {"count": 10000, "kinds": [...], "huge_bytes": 200000}   kinds from bad_json,
        not_object, unknown_op, unknown_event, missing_fields, wrong_types, unknown_enum, huge (default all;
        huge is at most 1 in 1000); unsequenced; → {"sent": n, "by_kind": {...}}
  POST /_control/gateway/blast {"count": 10000, "channel_id" or "channel_ids": [..] (round-robin), "content", "author_id", "store": false,
        "guild_id": guild for channel ids the world does not list}
        with "prepare": true the frames are only compressed and kept (untimed); {"send_prepared": true} then writes
        them at once (any other frame sent in between goes after them, so the zlib stream stays in order)
        `count` SEQUENCED MESSAGE_CREATEs to each identified target, as fast as possible (benchmark feed);
        with store false they are not kept for replay → {"sent", "seconds"}
  POST /_control/gateway/close {"code": 4000, "reason": "", "invalidate": false}   server close frame
  POST /_control/gateway/drop                      TCP abort, no close frame (session stays resumable)
  POST /_control/gateway/reconnect                 op 7 (d null)
  POST /_control/gateway/invalid_session {"resumable": false}   op 9 d=resumable; false invalidates the session
        (the connection may then identify again). Both take "close_after_ms" (+ "close_code", default 4000):
        if the connection is still open then, the fake closes it, as Discord does.
  POST /_control/gateway/heartbeat_request         op 1 (d = session seq)
  POST /_control/gateway/acks {"enabled": false, "future": false}   stop/resume op 11 ACKs on the targeted
        open connections (and for new ones too when "future": true; enabled true always restores the default)
  GET  /_control/gateway                {"connections": [{id, path, query, compress, open, session_id,
        heartbeats, acks, sent, received, server_close [code, reason], client_close (code, null or "eof"),
        opened_at, closed_at, ready_at, resumed_at (epoch s), replayed}], "sessions": [{session_id, shard,
        intents, seq, valid, connected, connection, resumes, events}]}
  GET  /_control/frames[?since=id&dir=in|out]   gateway frames: {"id", "time", "monotonic", "dir", "connection",
        "op", "t", "s", "d" (in: parsed payload; out: null), "opcode", "size"}; closes appear as
        {"d": {"close": code, "reason"}}. Garbage/raw sends are one summary entry each call.
  GET  /_control/requests[?since=id]    every API request, oldest first: {"id", "time", "monotonic", "method",
        "path" (with query), "route" (without prefix/query), "query", "headers" (lower-case), "body" (JSON or
        null), "raw_body", "status", "response", "bucket" (route name), "major", "ratelimit" (headers sent)}
  GET  /_control/messages[?channel_id=]  stored messages (incl. deleted/ephemeral), oldest first
  GET  /_control/messages/{id}          one message (404 if unknown) + "_history" (content after create and each edit),
        "_pings" (per create/edit: users/roles/everyone it would ping), "_allowed_mentions" (as sent each
        time), "_edits", "_deleted"
  GET  /_control/interactions           injected interactions + "_callback" {type, data, elapsed_s},
        "_original", "_followups", "_late_callbacks"
  GET  /_control/buckets                per (route, major): {"route", "major", "bucket", "limit", "per",
        "accepted", "rejected", "windows" (windows opened), "in_last_window", "first", "last" (epoch s),
        "utilization" = accepted / (limit * windows), "full_windows_utilization" (same without the last,
        possibly partial, window; null with one window)}   cleared by /_control/clear
  GET  /_control/stats                  counters: rest_requests, rest_by_status, rate_limited (429s),
        invalid_requests (401/403/429 except scope "shared"), banned_requests, typing, command_puts, connections, identifies, identify_rate_limited,
        resume_attempts, resumes, resume_failed, replayed, heartbeats, heartbeat_timeouts, server_closes
        {code: n}, garbage_sent
"""

import argparse
import asyncio
import base64
import collections
import copy
import json
import math
import sys
import time
from urllib.parse import parse_qs

import discord_gateway as G
import discord_proxy as P
import lifeline
import portfile
import discord_rest as R
import discord_world as W
from model_server import read_body, read_request


def default_config():
    return {
        "token": "fake-bot-token", "api_prefix": "/api/v10",
        "heartbeat_interval_ms": 1000, "heartbeat_grace_ms": None, "ack_heartbeats": True,
        "disallowed_intents": W.GUILD_MEMBERS | W.GUILD_PRESENCES,
        "application_flags": W.GATEWAY_MESSAGE_CONTENT_LIMITED,
        "send_limit": 120, "send_window_s": 60.0, "max_payload_bytes": 4096,
        "shards": 1, "max_concurrency": 1, "session_start_total": 1000, "identify_interval_s": 0.0,
        "required_shards": 0, "resume_timeout_s": 600.0, "gateway_url": None, "resume_url": None,
        "interaction_timeout_s": 3.0, "followup_timeout_s": 900.0,
        "require_allowed_mentions": False, "require_user_agent": True, "echo_own_messages": True,
        "max_webhooks_per_channel": 15, "split_frames": 1, "ban_threshold": 10000, "ban_window_s": 600.0,
        "ratelimits_enabled": True, "global_limit": 50, "global_window_s": 1.0,
        "routes": {
            "messages": {"limit": 5, "per": 5.0}, "messages_delete": {"limit": 5, "per": 1.0},
            "messages_get": {"limit": 50, "per": 1.0}, "typing": {"limit": 5, "per": 5.0},
            "webhooks_manage": {"limit": 5, "per": 5.0}, "webhook_exec": {"limit": 5, "per": 5.0},
            "interaction": {"limit": 50, "per": 1.0}, "commands": {"limit": 10, "per": 20.0},
            "gateway": {"limit": 50, "per": 1.0}, "default": {"limit": 50, "per": 1.0},
        },
    }


def merge_config(cfg, patch):
    for key, value in patch.items():
        if key == "routes" and isinstance(value, dict):
            for name, spec in value.items():
                cfg["routes"].setdefault(name, {"limit": 50, "per": 1.0}).update(spec)
        elif key in cfg:
            cfg[key] = value
        else:
            raise KeyError(key)


class Server:
    def __init__(self, port, overrides):
        self.port = port
        self.overrides = overrides
        self.conns = []
        self.reset()

    def reset(self):
        for conn in getattr(self, "conns", []):
            conn.abort()
        self.cfg = default_config()
        merge_config(self.cfg, self.overrides)
        self.users, self.guilds = W.default_world()
        self.dm_channels = {}
        self.ids = W.Snowflakes()
        self.messages = {}
        self.webhooks = {}
        self.commands = {}
        self.interactions = {}
        self.attachments = {}   # id -> {"bytes", "content_type", "filename", "hm"}
        self.interactions_by_token = {}
        self.sessions = {}
        self.conns = []
        self.conn_counter = 0
        self.identify_times = {}
        self.session_starts_used = 0
        self.buckets = {}
        self.bucket_stats = {}
        self.global_times = collections.deque()
        self.invalid_times = collections.deque()
        self.forced = []
        self.proxy = None   # discord_proxy.ProxyState, made on first use
        self.clear()

    def clear(self):
        self.requests = []
        self.frames = []
        self.bucket_stats = {}
        self.counters = collections.defaultdict(int)
        self.counters["rest_by_status"] = {}
        self.counters["server_closes"] = {}

    # -- urls / config helpers --------------------------------------------------------------------------------
    def gateway_url(self):
        return self.cfg["gateway_url"] or f"ws://127.0.0.1:{self.port}"

    def resume_url(self):
        return self.cfg["resume_url"] or f"ws://127.0.0.1:{self.port}/resume"

    def grace_ms(self):
        grace = self.cfg["heartbeat_grace_ms"]
        return max(self.cfg["heartbeat_interval_ms"], 2000) if grace is None else grace

    def route_spec(self, route):
        return self.cfg["routes"].get(route) or self.cfg["routes"]["default"]

    # -- rate limits ------------------------------------------------------------------------------------------
    def take_global(self):
        now = time.monotonic()
        window = float(self.cfg["global_window_s"])
        while self.global_times and self.global_times[0] <= now - window:
            self.global_times.popleft()
        if len(self.global_times) >= int(self.cfg["global_limit"]):
            return max(0.001, self.global_times[0] + window - now)
        self.global_times.append(now)
        return None

    def take_bucket(self, route, major):
        spec = self.route_spec(route)
        limit, per = int(spec["limit"]), float(spec["per"])
        now = time.monotonic()
        key = (route, major)
        b = self.buckets.get(key)
        if b is None or now >= b["reset"]:
            b = {"count": 0, "reset": now + per, "reset_epoch": time.time() + per}
            self.buckets[key] = b
        stats = self.bucket_stats.setdefault(key, {"route": route, "major": major, "accepted": 0, "rejected": 0,
                                                    "windows": 1 if b["count"] else 0, "in_last_window": 0,
                                                    "first": None, "last": None})
        if b["count"] == 0:
            stats["windows"] += 1
            stats["in_last_window"] = 0
        limited = b["count"] >= limit
        if limited:
            stats["rejected"] += 1
        else:
            b["count"] += 1
            stats["accepted"] += 1
            stats["in_last_window"] += 1
            stats["first"] = stats["first"] or time.time()
            stats["last"] = time.time()
        after = max(0.0, b["reset"] - now)
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, limit - b["count"])),
                   "X-RateLimit-Reset": f"{math.ceil(b['reset_epoch'] * 1000) / 1000:.3f}",
                   "X-RateLimit-Reset-After": f"{math.ceil(after * 1000) / 1000:.3f}",
                   "X-RateLimit-Bucket": R.bucket_hash(route)}
        return {"limited": limited, "retry": max(0.001, after), "headers": headers}

    def take_forced(self, method, route):
        for i, f in enumerate(self.forced):
            if f.get("method") and f["method"].upper() != method:
                continue
            if f.get("path_contains") and f["path_contains"] not in route:
                continue
            f["count"] = int(f.get("count", 1)) - 1
            if f["count"] <= 0:
                del self.forced[i]
            return f
        return None

    # -- storage / recording ----------------------------------------------------------------------------------
    def store_message(self, msg, body):
        msg["_history"] = [msg["content"]]
        msg["_pings"] = [W.pings(msg["content"], body.get("allowed_mentions") if isinstance(body, dict) else None)]
        msg["_allowed_mentions"] = [body.get("allowed_mentions") if isinstance(body, dict) else None]
        msg["_edits"] = 0
        msg["_deleted"] = False
        self.messages[msg["id"]] = msg
        _, channel = W.find_channel(self.guilds, msg["channel_id"])
        if channel is not None:
            channel["last_message_id"] = msg["id"]

    def record_frame(self, direction, conn, obj, opcode=None, size=None):
        entry = {"id": len(self.frames) + 1, "time": time.time(), "monotonic": time.monotonic(), "dir": direction,
                 "connection": conn.id, "opcode": opcode, "size": size}
        if isinstance(obj, dict) and "op" in obj:
            entry.update({"op": obj.get("op"), "t": obj.get("t"), "s": obj.get("s"),
                          "d": obj.get("d") if direction == "in" else None})
            # Dispatched messages keep their id, so a test can time a reply from the moment its trigger was sent.
            if direction == "out" and obj.get("t") == "MESSAGE_CREATE" and isinstance(obj.get("d"), dict):
                entry["message_id"] = obj["d"].get("id")
        else:
            entry.update({"op": None, "t": None, "s": None, "d": obj})
        self.frames.append(entry)


SRV = None


# -- control API -------------------------------------------------------------------------------------------------

class ControlError(Exception):
    pass


def ctl_inject_message(srv, body):
    channel_id = body.get("channel_id", W.CHANNEL_IDS[0])
    guild, channel = W.find_channel(srv.guilds, channel_id)
    if body.get("dm"):
        guild = None
        srv.dm_channels.setdefault(channel_id, {"id": channel_id, "type": 1, "last_message_id": None,
                                                "recipients": [srv.users.get(body.get("author_id", W.ALICE_ID))]})
    elif channel is None:
        raise ControlError(f"unknown channel {channel_id} (use dm: true or POST /_control/guild)")
    author = body.get("author")
    if author is None:
        uid = body.get("author_id", W.ALICE_ID)
        author = dict(srv.users.get(uid) or W.user(uid, "user" + uid[-4:]), bot=bool(body.get("bot", False)))
    content = body.get("content", "")
    mention_ids = list(body.get("mentions", []))
    if body.get("mention_bot"):
        content = f"<@{W.BOT_ID}> " + content
        mention_ids.append(W.BOT_ID)
    mention_ids += [u for u in W.MENTION_USER.findall(content) if u not in mention_ids]
    at = time.time() - float(body["age_s"]) if body.get("age_s") else None
    mid = body.get("id") or srv.ids.next(at)
    mentions = []
    for uid in dict.fromkeys(mention_ids):
        u = dict(srv.users.get(uid) or W.user(uid, "user" + uid[-4:]))
        if guild is not None and W.find_member(guild, uid):
            u["member"] = {k: v for k, v in W.member_object(W.find_member(guild, uid), srv.users).items() if k != "user"}
        mentions.append(u)
    msg = {"id": mid, "channel_id": channel_id, "author": author, "content": content,
           "timestamp": W.iso(at), "edited_timestamp": None, "tts": False,
           "mention_everyone": bool(body.get("mention_everyone", False)), "mentions": mentions,
           "mention_roles": list(body.get("mention_roles", W.MENTION_ROLE.findall(content))), "attachments": [],
           "embeds": [], "pinned": False, "type": body.get("type", 0), "flags": 0, "components": []}
    if guild is not None:
        msg["guild_id"] = guild["id"]
        member = W.find_member(guild, author["id"])
        if member is not None and not body.get("webhook_id"):
            msg["member"] = {k: v for k, v in W.member_object(member, srv.users).items() if k != "user"}
    if body.get("webhook_id"):
        msg["webhook_id"] = body["webhook_id"]
    if body.get("reply_to"):
        target = srv.messages.get(body["reply_to"])
        msg["type"] = 19
        msg["message_reference"] = {"type": 0, "message_id": body["reply_to"], "channel_id": channel_id,
                                    "guild_id": msg.get("guild_id")}
        msg["referenced_message"] = R.public(target) if target else None
    for key in ("nonce", "attachments", "embeds", "sticker_items"):
        if key in body:
            msg[key] = body[key]
    srv.store_message(msg, {"allowed_mentions": None})
    seqs = G.broadcast(srv, "MESSAGE_CREATE", R.public(msg), msg.get("guild_id")) if body.get("dispatch", True) else {}
    P.after_inject(srv, msg, ctl_inject_message, ctl_message_delete)  # the proxy bot (discord_proxy.py)
    return {"message": R.public(msg), "seqs": seqs}


def ctl_attachment(srv, body):
    import base64
    import hashlib
    data = base64.b64decode(body.get("content_b64", ""), validate=True)
    filename = str(body.get("filename", "file.bin"))
    aid = srv.ids.next()
    expires = format(int(time.time()) + 86400, "x")
    issued = format(int(time.time()), "x")
    hm = hashlib.sha256(f"{aid}:{expires}:{issued}".encode()).hexdigest()
    ctype = body.get("content_type", "application/octet-stream")
    srv.attachments[aid] = {"bytes": data, "content_type": ctype, "filename": filename, "hm": hm}
    port = srv.port
    url = f"http://127.0.0.1:{port}/attachments/{body.get('channel_id', W.CHANNEL_IDS[0])}/{aid}/{filename}?ex={expires}&is={issued}&hm={hm}"
    return {"id": aid, "filename": filename, "size": len(data), "url": url, "proxy_url": url, "content_type": ctype}


def serve_attachment(srv, target, headers):
    """GET /attachments/{channel}/{id}/{filename}: Discord's CDN, signed URLs only, never with a bot token."""
    path, _, query = target.partition("?")
    parts = path.split("/")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    if "authorization" in headers:
        return 400, {"error": "fake CDN: the bot token must not be sent to the CDN"}
    entry = srv.attachments.get(parts[3]) if len(parts) >= 5 else None
    if entry is None or parts[4] != entry["filename"]:
        return 404, {"error": "fake CDN: unknown attachment"}
    if params.get("hm") != entry["hm"] or not params.get("ex") or not params.get("is"):
        return 403, {"error": "fake CDN: the URL signature (ex, is, hm) is missing or wrong"}
    srv.counters["cdn_downloads"] += 1
    return 200, entry


def stored_message(srv, body):
    msg = srv.messages.get(str(body.get("id")))
    if msg is None:
        raise ControlError("unknown message id")
    return msg


def ctl_message_update(srv, body):
    msg = stored_message(srv, body)
    for key, value in body.items():
        if key not in ("id", "dispatch"):
            msg[key] = value
    msg["edited_timestamp"] = W.iso()
    msg["_history"].append(msg["content"])
    msg["_edits"] += 1
    seqs = G.broadcast(srv, "MESSAGE_UPDATE", R.public(msg), msg.get("guild_id")) if body.get("dispatch", True) else {}
    return {"message": R.public(msg), "seqs": seqs}


def ctl_message_delete(srv, body):
    msg = stored_message(srv, body)
    msg["_deleted"] = True
    d = {"id": msg["id"], "channel_id": msg["channel_id"]}
    if msg.get("guild_id"):
        d["guild_id"] = msg["guild_id"]
    return {"seqs": G.broadcast(srv, "MESSAGE_DELETE", d, d.get("guild_id")) if body.get("dispatch", True) else {}}


def ctl_inject_interaction(srv, body):
    channel_id = body.get("channel_id", W.CHANNEL_IDS[0])
    uid = body.get("user_id", W.ALICE_ID)
    usr = dict(srv.users.get(uid) or W.user(uid, "user" + uid[-4:]))
    guild, channel = (None, None) if body.get("dm") else W.find_channel(srv.guilds, channel_id)
    if channel is None and not body.get("dm"):
        raise ControlError(f"unknown channel {channel_id}")
    name = body.get("name", "persona")
    cmd_id = next((c["id"] for scope in ([guild["id"]] if guild else []) + ["global"]
                   for c in srv.commands.get(scope, []) if c["name"] == name), None) or srv.ids.next()
    iid = srv.ids.next()
    token = "itoken-" + iid + "-" + base64.urlsafe_b64encode(bytes(str(time.time()), "ascii")).decode().rstrip("=")
    data = {"id": cmd_id, "name": name, "type": 1, "options": body.get("options", [])}
    if guild:
        data["guild_id"] = guild["id"]
    message = None
    if body.get("type") == 3:
        # A button press: only on a stored message that carries a button with this custom_id.
        message = srv.messages.get(str(body.get("message_id")))
        if message is None or message["_deleted"]:
            raise ControlError(f"unknown message {body.get('message_id')}")
        ids = [b.get("custom_id") for row in message.get("components") or [] for b in row.get("components") or []]
        if body.get("custom_id") not in ids:
            raise ControlError(f"message {message['id']} has no button {body.get('custom_id')!r} (it has {ids})")
        data = {"custom_id": body["custom_id"], "component_type": 2}
    data.update(body.get("data", {}))
    d = {"id": iid, "application_id": W.BOT_ID, "type": body.get("type", 2), "data": data, "token": token,
         "version": 1, "channel_id": channel_id, "locale": "en-US", "entitlements": [],
         "authorizing_integration_owners": {"0": guild["id"]} if guild else {"1": uid},
         "context": 0 if guild else 1, "attachment_size_limit": 10485760,
         "app_permissions": str(W.channel_permissions(guild, channel, W.BOT_ID))}
    if channel is not None:
        d["channel"] = {k: v for k, v in channel.items() if k != "permission_overwrites"}
    if message is not None:
        d["message"] = {k: v for k, v in message.items() if not k.startswith("_")}
    if guild:
        d["guild_id"] = guild["id"]
        d["guild"] = {"id": guild["id"], "locale": "en-US", "features": []}
        d["guild_locale"] = "en-US"
        member = W.find_member(guild, uid) or {"user_id": uid, "roles": []}
        m = W.member_object(member, srv.users)
        m["permissions"] = str(W.channel_permissions(guild, channel, uid))
        m.update(body.get("member", {}))
        d["member"] = m
    else:
        d["user"] = usr
    inter = copy.deepcopy(d)
    inter.update({"_created_mono": time.monotonic(), "_created": time.time(), "_callback": None, "_original": None,
                  "_followups": [], "_late_callbacks": 0, "_user": usr})
    srv.interactions[iid] = inter
    srv.interactions_by_token[token] = inter
    seqs = G.broadcast(srv, "INTERACTION_CREATE", d, guild["id"] if guild else None)
    return {"interaction": d, "id": iid, "token": token, "seqs": seqs}


def upsert(items, new_items):
    by_id = {i["id"]: i for i in items}
    created, updated = [], []
    for item in new_items:
        item = dict(item)
        if "permissions" in item:
            item["permissions"] = str(item["permissions"])
        for o in item.get("permission_overwrites", []):
            o["allow"], o["deny"] = str(o.get("allow", 0)), str(o.get("deny", 0))
            o.setdefault("type", 0)
        if item["id"] in by_id:
            by_id[item["id"]].update(item)
            updated.append(by_id[item["id"]])
        else:
            items.append(item)
            created.append(item)
    return created, updated


def ctl_guild(srv, body):
    gid = body.get("guild_id", W.GUILD_ID)
    guild = srv.guilds.get(gid)
    new_guild = guild is None
    if new_guild:
        guild = {"id": gid, "name": body.get("name", "Guild " + gid[-4:]), "owner_id": body.get("owner_id", W.OWNER_ID),
                 "roles": [{"id": gid, "name": "@everyone", "permissions": str(W.EVERYONE_PERMS), "position": 0,
                            "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}],
                 "channels": [], "threads": [], "members": [{"user_id": W.BOT_ID, "roles": []}]}
        srv.guilds[gid] = guild
    for key in ("name", "owner_id"):
        if key in body:
            guild[key] = body[key]
    for u in body.get("users", []):
        srv.users[u["id"]] = dict(W.user(u["id"], u.get("username", "user")), **u)
    events = []
    created, updated = upsert(guild["roles"], body.get("roles", []))
    events += [("GUILD_ROLE_CREATE", {"guild_id": gid, "role": r}) for r in created]
    events += [("GUILD_ROLE_UPDATE", {"guild_id": gid, "role": r}) for r in updated]
    for rid in body.get("remove_roles", []):
        guild["roles"] = [r for r in guild["roles"] if r["id"] != rid]
        for m in guild["members"]:
            m["roles"] = [x for x in m.get("roles", []) if x != rid]
        events.append(("GUILD_ROLE_DELETE", {"guild_id": gid, "role_id": rid}))
    for c in body.get("channels", []):
        c.setdefault("guild_id", gid)
        c.setdefault("type", 0)
        c.setdefault("permission_overwrites", [])
    created, updated = upsert(guild["channels"], body.get("channels", []))
    events += [("CHANNEL_CREATE", c) for c in created] + [("CHANNEL_UPDATE", c) for c in updated]
    for t in body.get("threads", []):
        t.setdefault("guild_id", gid)
        t.setdefault("type", 11)
    created, updated = upsert(guild["threads"], body.get("threads", []))
    events += [("THREAD_CREATE", t) for t in created] + [("THREAD_UPDATE", t) for t in updated]
    for m in body.get("members", []):
        uid = m["user_id"]
        if uid not in srv.users:
            srv.users[uid] = W.user(uid, m.get("username", "user" + uid[-4:]))
        existing = W.find_member(guild, uid)
        entry = {"user_id": uid, "roles": list(m.get("roles", [])), "nick": m.get("nick")}
        if existing:
            existing.update(entry)
        else:
            guild["members"].append(entry)
        if uid == W.BOT_ID:
            events.append(("GUILD_MEMBER_UPDATE", dict(W.member_object(entry, srv.users), guild_id=gid)))
    if ("name" in body or "owner_id" in body) and not new_guild:
        events.append(("GUILD_UPDATE", {"id": gid, "name": guild["name"], "owner_id": guild["owner_id"],
                                        "roles": guild["roles"]}))
    seqs = []
    if body.get("dispatch", True):
        if new_guild:
            for session in srv.sessions.values():
                if session.valid and session.wants("GUILD_CREATE", gid):
                    session.dispatch("GUILD_CREATE", W.guild_create_payload(
                        guild, srv.users, bool(session.intents & W.GUILD_MEMBERS)))
        else:
            for t, d in events:
                seqs.append(G.broadcast(srv, t, copy.deepcopy(d), gid))
    return {"guild": guild, "events": [t for t, _ in events], "seqs": seqs}


def ctl_permissions(srv, body):
    guild = srv.guilds[body.get("guild_id", W.GUILD_ID)]
    roles = {r["id"]: r for r in guild["roles"]}
    bot_member = W.find_member(guild, W.BOT_ID)
    bot_role = roles.get(W.BOT_ROLE_ID) or (roles.get(bot_member["roles"][0]) if bot_member and bot_member["roles"] else None)
    changed = []
    if "manage_webhooks" in body and bot_role is not None:
        perms = W.as_int(bot_role["permissions"])
        perms = perms | W.MANAGE_WEBHOOKS if body["manage_webhooks"] else perms & ~W.MANAGE_WEBHOOKS
        bot_role["permissions"] = str(perms)
        changed.append(bot_role)
    if "send_messages" in body:
        everyone = roles[guild["id"]]
        perms = W.as_int(everyone["permissions"])
        perms = perms | W.SEND_MESSAGES if body["send_messages"] else perms & ~W.SEND_MESSAGES
        everyone["permissions"] = str(perms)
        changed.append(everyone)
    if body.get("dispatch"):
        for r in changed:
            G.broadcast(srv, "GUILD_ROLE_UPDATE", {"guild_id": guild["id"], "role": dict(r)}, guild["id"])
    return {"roles": changed,
            "bot_permissions": str(W.channel_permissions(guild, guild["channels"][0] if guild["channels"] else None,
                                                         W.BOT_ID))}


def ctl_raw(srv, body):
    conns = G.targets(srv, body)
    n = 0
    for spec in body.get("frames", []):
        for _ in range(int(spec.get("repeat", 1))):
            for conn in conns:
                if "binary_b64" in spec:
                    conn.write_raw(G.frame(2, base64.b64decode(spec["binary_b64"])))
                elif "json" in spec:
                    conn.send_text(G.dumps(spec["json"]), split=int(spec.get("split", 1)))
                else:
                    conn.send_text(spec.get("text", ""), split=int(spec.get("split", 1)))
                n += 1
    for conn in conns:
        srv.record_frame("out", conn, {"raw_frames": n})
    return {"sent": n, "connections": [c.id for c in conns]}


def ctl_garbage(srv, body):
    conns = G.targets(srv, body)
    count = int(body.get("count", 1000))
    kinds = body.get("kinds") or G.GARBAGE_KINDS
    huge_bytes = int(body.get("huge_bytes", 200_000))
    by_kind = collections.Counter()
    others = [k for k in kinds if k != "huge"] or ["huge"]
    for i in range(count):
        kind = "huge" if "huge" in kinds and (i % 1000 == 999 or not others or others == ["huge"]) else others[i % len(others)]
        text = G.garbage_frame(kind, i, huge_bytes)
        by_kind[kind] += 1
        for conn in conns:
            conn.send_text(text)
    srv.counters["garbage_sent"] += count * len(conns)
    for conn in conns:
        srv.record_frame("out", conn, {"garbage_frames": count})
    return {"sent": count, "by_kind": dict(by_kind), "connections": [c.id for c in conns]}


def ctl_buckets(srv):
    out = []
    for (route, major), st in srv.bucket_stats.items():
        spec = srv.route_spec(route)
        limit = int(spec["limit"])
        full = st["windows"] - 1
        out.append(dict(st, limit=limit, per=float(spec["per"]), bucket=R.bucket_hash(route),
                        utilization=round(st["accepted"] / (limit * st["windows"]), 4) if st["windows"] else None,
                        full_windows_utilization=round((st["accepted"] - st["in_last_window"]) / (limit * full), 4)
                        if full > 0 else None))
    return out


async def ctl_blast(srv, body):
    """Sends `count` sequenced MESSAGE_CREATE dispatches as fast as possible (benchmark feed); with
    "channel_ids": [...] the messages go round-robin into those channels, else into "channel_id"."""
    conns = [c for c in G.targets(srv, body) if c.session is not None]
    count = int(body.get("count", 10000))
    channel_ids = body.get("channel_ids") or [body.get("channel_id", W.CHANNEL_IDS[0])]
    author = srv.users.get(body.get("author_id", W.ALICE_ID))
    templates = []
    for channel_id in channel_ids:
        guild, _ = W.find_channel(srv.guilds, channel_id)
        if guild is None and body.get("guild_id"):
            # Channels the world does not list (a benchmark's many channels) still come as guild messages.
            guild = srv.guilds.get(body["guild_id"])
        template = {"id": "0", "channel_id": channel_id, "author": author, "content": body.get("content", "blast message"),
                    "timestamp": W.iso(), "edited_timestamp": None, "tts": False, "mention_everyone": False,
                    "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "type": 0,
                    "flags": 0, "components": []}
        if guild:
            template["guild_id"] = guild["id"]
            template["member"] = {"roles": [], "joined_at": W.iso(0), "deaf": False, "mute": False, "flags": 0}
        templates.append(template)
    store = bool(body.get("store", False))
    # Each channel's `d` is serialized once around an id placeholder; the loop only splices in the id and seq,
    # so the fake can feed a client faster than the client under test reads.
    marker = "\u0000blast-id\u0000"
    pieces = []
    for template in templates:
        template["id"] = marker
        before, after = G.dumps(template).split(G.dumps(marker)[1:-1])
        pieces.append((before, after))
    if body.get("prepare"):
        # Benchmark feed: compress every frame now (untimed) and keep the bytes on the connection; the next
        # {"send_prepared": true} call writes them in one go, so the fake's Python zlib and framing (about 30k
        # messages/s) are not what the client under test is measured against.
        started = time.monotonic()
        for conn in conns:
            chunks = []
            session = conn.session
            for i in range(count):
                before, after = pieces[i % len(pieces)]
                session.seq += 1
                text = '{"op":0,"t":"MESSAGE_CREATE","s":' + str(session.seq) + ',"d":' + before + srv.ids.next() + after + "}"
                if store:
                    session.events.append(json.loads(text))
                chunks.append(conn.encode_frame(text))
            conn.prepared.append(b"".join(chunks))
        return {"prepared": count, "bytes": sum(len(p) for c in conns for p in c.prepared),
                "seconds": round(time.monotonic() - started, 4), "connections": [c.id for c in conns]}
    if body.get("send_prepared"):
        started = time.monotonic()
        total = 0
        for conn in conns:
            total += conn.flush_prepared()
        for conn in conns:
            await conn.drain()
            srv.record_frame("out", conn, {"blast_bytes": total})
        return {"sent_bytes": total, "seconds": round(time.monotonic() - started, 4), "connections": [c.id for c in conns]}
    started = time.monotonic()
    for i in range(count):
        before, after = pieces[i % len(pieces)]
        message_id = srv.ids.next()
        for conn in conns:
            session = conn.session
            session.seq += 1
            text = '{"op":0,"t":"MESSAGE_CREATE","s":' + str(session.seq) + ',"d":' + before + message_id + after + "}"
            if store:
                session.events.append(json.loads(text))
            conn.send_text(text)
        if i % 256 == 255:
            for conn in conns:
                await conn.drain()
    for conn in conns:
        await conn.drain()
        srv.record_frame("out", conn, {"blast_frames": count})
    return {"sent": count, "seconds": round(time.monotonic() - started, 4), "connections": [c.id for c in conns]}


def ctl_gateway_info(srv):
    return {"connections": [c.info() for c in srv.conns], "sessions": [s.info() for s in srv.sessions.values()]}


async def control(srv, method, route, query, raw):
    try:
        body = json.loads(raw.decode() or "{}")
    except ValueError:
        return 400, {"error": "control body is not JSON"}
    if not isinstance(body, dict):
        return 400, {"error": "control body must be a JSON object"}
    since = int(query.get("since", "0") or 0)
    try:
        if route == "/_control/health":
            return 200, {"ok": True}
        if method == "POST" and route == "/_control/reset":
            srv.reset()
            return 200, {"ok": True}
        if method == "POST" and route == "/_control/clear":
            srv.clear()
            return 200, {"ok": True}
        if route == "/_control/config":
            if method == "POST":
                merge_config(srv.cfg, body)
            return 200, srv.cfg
        if method == "POST" and route == "/_control/ratelimits":
            patch = {k: body[k] for k in ("routes", "global_limit", "global_window_s") if k in body}
            if "enabled" in body:
                patch["ratelimits_enabled"] = bool(body["enabled"])
            merge_config(srv.cfg, patch)
            if body.get("reset_buckets", True):
                srv.buckets.clear()
                srv.global_times.clear()
            return 200, {"routes": srv.cfg["routes"], "global_limit": srv.cfg["global_limit"],
                         "global_window_s": srv.cfg["global_window_s"], "enabled": srv.cfg["ratelimits_enabled"]}
        if method == "POST" and route == "/_control/rest/fail":
            srv.forced.append(dict(body, count=int(body.get("count", 1))))
            return 200, {"queued": len(srv.forced)}
        if method == "POST" and route == "/_control/permissions":
            return 200, ctl_permissions(srv, body)
        if method == "POST" and route == "/_control/guild":
            return 200, ctl_guild(srv, body)
        # -- proxy bot and PluralKit API (discord_proxy.py) --
        if route == "/_control/proxy":
            return 200, (P.configure(srv, body) if method == "POST" else P.snapshot(srv))
        if route == "/_control/state":
            return 200, {"guilds": srv.guilds, "users": srv.users, "webhooks": srv.webhooks,
                         "commands": srv.commands, "dm_channels": srv.dm_channels, "bot_id": W.BOT_ID}
        if method == "POST" and route == "/_control/attachments":
            return 200, ctl_attachment(srv, body)
        if method == "POST" and route == "/_control/inject/message":
            return 200, ctl_inject_message(srv, body)
        if method == "POST" and route == "/_control/inject/message_update":
            return 200, ctl_message_update(srv, body)
        if method == "POST" and route == "/_control/inject/message_delete":
            return 200, ctl_message_delete(srv, body)
        if method == "POST" and route == "/_control/inject/interaction":
            return 200, ctl_inject_interaction(srv, body)
        if method == "POST" and route == "/_control/inject/event":
            if not isinstance(body.get("t"), str):
                raise ControlError("t (event name) is required")
            return 200, {"seqs": G.broadcast(srv, body["t"], body.get("d"), body.get("guild_id"))}
        if method == "POST" and route == "/_control/gateway/raw":
            return 200, ctl_raw(srv, body)
        if method == "POST" and route == "/_control/gateway/garbage":
            return 200, ctl_garbage(srv, body)
        if method == "POST" and route == "/_control/gateway/blast":
            return 200, await ctl_blast(srv, body)
        if method == "POST" and route.startswith("/_control/gateway/"):
            return 200, ctl_gateway_action(srv, route.rsplit("/", 1)[1], body)
        if route == "/_control/gateway":
            return 200, ctl_gateway_info(srv)
        if route == "/_control/frames":
            frames = [f for f in srv.frames if f["id"] > since and (not query.get("dir") or f["dir"] == query["dir"])]
            return 200, frames
        if route == "/_control/requests":
            return 200, [r for r in srv.requests if r["id"] > since]
        if route == "/_control/messages":
            cid = query.get("channel_id")
            return 200, sorted((m for m in srv.messages.values() if not cid or m["channel_id"] == cid),
                               key=lambda m: int(m["id"]))
        if route.startswith("/_control/messages/"):
            msg = srv.messages.get(route.rsplit("/", 1)[1])
            return (200, msg) if msg else (404, {"error": "unknown message"})
        if route == "/_control/interactions":
            return 200, list(srv.interactions.values())
        if route == "/_control/buckets":
            return 200, ctl_buckets(srv)
        if route == "/_control/stats":
            return 200, dict(srv.counters)
    except (ControlError, KeyError, ValueError, TypeError) as error:
        return 400, {"error": f"{type(error).__name__}: {error}"}
    return 404, {"error": f"unknown control route {method} {route}"}


def close_later(conn, body):
    """Like Discord, close a connection the client keeps using after op 7 / op 9 (if asked to)."""
    if body.get("close_after_ms") is not None:
        code = int(body.get("close_code", 4000))
        asyncio.get_running_loop().call_later(float(body["close_after_ms"]) / 1000.0,
                                              lambda: conn.close(code, "fake: closed after op 7/9"))


def ctl_gateway_action(srv, action, body):
    conns = G.targets(srv, body)
    if action == "close":
        code = int(body.get("code", 4000))
        for conn in conns:
            if body.get("invalidate") and conn.session:
                conn.session.valid = False
            conn.close(code, body.get("reason", ""))
    elif action == "drop":
        for conn in conns:
            conn.abort()
    elif action == "reconnect":
        for conn in conns:
            conn.send({"op": 7, "d": None, "s": None, "t": None})
            close_later(conn, body)
    elif action == "invalid_session":
        resumable = bool(body.get("resumable", False))
        for conn in conns:
            conn.send({"op": 9, "d": resumable, "s": None, "t": None})
            if not resumable and conn.session:
                conn.session.valid = False
                conn.detach()
                conn.session = None
            close_later(conn, body)
    elif action == "heartbeat_request":
        for conn in conns:
            conn.send({"op": 1, "d": conn.session.seq if conn.session else None, "s": None, "t": None})
    elif action == "acks":
        enabled = bool(body.get("enabled", True))
        for conn in conns:
            conn.acks = enabled
        if enabled:
            srv.cfg["ack_heartbeats"] = True
        elif body.get("future"):
            srv.cfg["ack_heartbeats"] = False
    else:
        raise ControlError(f"unknown gateway action {action}")
    return {"connections": [c.id for c in conns]}


# -- HTTP plumbing -----------------------------------------------------------------------------------------------

REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def write_response(writer, status, obj, headers, keep_alive, content_type="text/html"):
    if isinstance(obj, bytes):
        body, ctype = obj, content_type
    else:
        body = b"" if status == 204 or obj is None else json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        ctype = "application/json"
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n"
    if status != 204:
        head += f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
    head += "Connection: keep-alive\r\n" if keep_alive else "Connection: close\r\n"
    for name, value in headers.items():
        head += f"{name}: {value}\r\n"
    writer.write(head.encode() + b"\r\n" + body)


async def handle_client(reader, writer):
    srv = SRV
    try:
        while True:
            request = await read_request(reader)
            if request is None:
                return
            method, target, headers = request
            path = target.split("?", 1)[0]
            if headers.get("upgrade", "").lower() == "websocket" and not path.startswith(srv.cfg["api_prefix"]) \
                    and not path.startswith("/_control"):
                await G.serve(srv, reader, writer, target, headers)
                return
            raw = await read_body(reader, writer, headers)
            keep_alive = headers.get("connection", "").lower() != "close"
            if path.startswith("/_control/"):
                query = {k: v[0] for k, v in parse_qs(target.partition("?")[2]).items()}
                status, obj = await control(srv, method, path, query, raw)
                write_response(writer, status, obj, {}, keep_alive)
            elif path.startswith("/pk/"):
                status, obj, extra = P.handle_pk(srv, method, path)
                write_response(writer, status, obj, extra, keep_alive)
            elif method == "GET" and path.startswith("/attachments/"):
                status, obj = serve_attachment(srv, target, headers)
                if status == 200:
                    write_response(writer, 200, obj["bytes"], {}, keep_alive, content_type=obj["content_type"])
                else:
                    write_response(writer, status, obj, {}, keep_alive)
            else:
                status, obj, extra = R.handle(srv, method, target, headers, raw)
                write_response(writer, status, obj, extra, keep_alive)
            await writer.drain()
            if not keep_alive:
                return
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    except Exception as error:  # keep serving; report for the test log
        import traceback
        print(f"discord_server: handler error: {error!r}", file=sys.stderr, flush=True)
        traceback.print_exc()
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def ticker():
    while True:
        await asyncio.sleep(0.05)
        try:
            G.heartbeat_check(SRV)
        except Exception as error:
            print(f"discord_server: ticker error: {error!r}", file=sys.stderr, flush=True)


async def main():
    lifeline.exit_with_parent()
    global SRV
    parser = argparse.ArgumentParser(description="fake Discord gateway + REST")
    parser.add_argument("--port", type=int, required=True)
    portfile.add_argument(parser)
    parser.add_argument("--token")
    parser.add_argument("--heartbeat-ms", type=int)
    parser.add_argument("--api-prefix")
    parser.add_argument("--config", help="JSON object of config keys, or @path to a JSON file")
    args = parser.parse_args()
    overrides = {}
    if args.config:
        text = open(args.config[1:]).read() if args.config.startswith("@") else args.config
        overrides.update(json.loads(text))
    if args.token:
        overrides["token"] = args.token
    if args.heartbeat_ms:
        overrides["heartbeat_interval_ms"] = args.heartbeat_ms
    if args.api_prefix:
        overrides["api_prefix"] = args.api_prefix.rstrip("/")
    SRV = Server(args.port, overrides)
    server = await asyncio.start_server(handle_client, "127.0.0.1", args.port, backlog=1024, limit=1 << 22)
    args.port = SRV.port = portfile.bound_port(server.sockets)
    portfile.report(args.port_file, args.port)
    tick = asyncio.create_task(ticker())  # noqa: F841 (kept referenced for the server's lifetime)
    prefix = SRV.cfg["api_prefix"]
    print(f"READY discord_server rest=http://127.0.0.1:{args.port}{prefix} gateway=ws://127.0.0.1:{args.port} "
          f"control=http://127.0.0.1:{args.port}/_control", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
