#!/usr/bin/env python3
"""Self-test of discord_server.py (stdlib only): starts the fake on a free loopback port and drives it
with a small websocket/HTTP client. Prints "N passed, N failed"; exits 1 on any failure.

Usage: discord_server_selftest.py [-k substring]
"""

import argparse
import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "fake-bot-token"
UA = "DiscordBot (https://example.invalid/personabridge, 0.1)"
GENERAL = "900000000000000301"
ROLEPLAY = "900000000000000302"
BOT_ID = "900000000000000001"
INTENTS = (1 << 0) | (1 << 9) | (1 << 12) | (1 << 15)
PORT = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, path, body=None, headers=None, auth=True, ua=True, raw=None):
    """Returns (status, parsed JSON or None, headers dict)."""
    h = {}
    if ua:
        h["User-Agent"] = UA
    if auth:
        h["Authorization"] = "Bot " + TOKEN
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read()
            return resp.status, json.loads(text) if text else None, {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as err:
        text = err.read()
        return err.code, json.loads(text) if text else None, {k.lower(): v for k, v in err.headers.items()}


def api(method, route, body=None, **kw):
    return http(method, "/api/v10" + route, body, **kw)


def ctl(route, body=None, method=None):
    status, obj, _ = http(method or ("POST" if body is not None else "GET"), "/_control/" + route, body,
                          auth=False, ua=False)
    assert status == 200, f"control {route} -> {status} {obj}"
    return obj


class WS:
    """Minimal websocket client with zlib-stream support."""

    async def connect(self, query="?v=10&encoding=json", path="/"):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", PORT, limit=1 << 24)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET {path}{query} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.compress = "zlib-stream" in query
        self.inflate = zlib.decompressobj()
        self.buffer = b""
        self.binary_frames = 0
        self.close_code = None
        return self

    def send_raw(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(head + mask + masked)

    def send(self, obj):
        self.send_raw(1, json.dumps(obj).encode())

    async def frame(self):
        b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
        assert not b1 & 0x80, "server frames must not be masked"
        return b0 & 0x80, b0 & 0x0F, await self.reader.readexactly(n)

    async def recv_text(self, timeout=3.0):
        """Next complete payload as text, or ("close", code)."""
        async def inner():
            parts = []
            while True:
                fin, op, payload = await self.frame()
                if op == 8:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    return ("close", self.close_code)
                if op in (9, 10):
                    continue
                if self.compress:
                    assert op in (0, 2), f"zlib-stream frames must be binary, got opcode {op}"
                    self.binary_frames += 1
                    self.buffer += payload
                    if not self.buffer.endswith(b"\x00\x00\xff\xff"):
                        continue
                    text = self.inflate.decompress(self.buffer)
                    self.buffer = b""
                    return text.decode("utf-8", "replace")
                parts.append(payload)
                if fin:
                    return b"".join(parts).decode("utf-8", "replace")
        return await asyncio.wait_for(inner(), timeout)

    async def recv(self, timeout=3.0):
        text = await self.recv_text(timeout)
        if isinstance(text, tuple):
            return text
        return json.loads(text)

    async def until(self, pred, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            msg = await self.recv(max(0.01, deadline - time.monotonic()))
            if isinstance(msg, tuple) or pred(msg):
                return msg

    async def until_close(self, timeout=3.0):
        msg = await self.until(lambda m: False, timeout)
        assert isinstance(msg, tuple), msg
        return msg[1]

    async def identify(self, intents=INTENTS, token=TOKEN, shard=None):
        hello = await self.recv()
        assert hello["op"] == 10, hello
        d = {"token": token, "intents": intents, "properties": {"os": "linux", "browser": "pb", "device": "pb"}}
        if shard is not None:
            d["shard"] = shard
        self.send({"op": 2, "d": d})
        return hello

    def close(self):
        try:
            self.writer.close()
        except Exception:
            pass


async def ready_client(query="?v=10&encoding=json"):
    ws = await WS().connect(query)
    await ws.identify()
    ready = await ws.recv()
    assert ready["t"] == "READY" and ready["s"] == 1, ready
    guild = await ws.recv()
    assert guild["t"] == "GUILD_CREATE" and guild["s"] == 2, guild
    return ws, ready["d"], guild["d"]


# -- tests ---------------------------------------------------------------------------------------------------------

async def test_rest_auth_and_user_agent():
    assert api("GET", "/users/@me", auth=False)[0] == 401
    assert api("GET", "/users/@me", headers={"Authorization": "Bot wrong"})[0] == 401
    status, body, _ = api("GET", "/users/@me", ua=False)
    assert status == 400 and "User-Agent" in body["message"], body
    status, me, _ = api("GET", "/users/@me")
    assert status == 200 and me["id"] == BOT_ID and me["bot"], me
    status, gw, _ = api("GET", "/gateway/bot")
    assert gw["url"] == f"ws://127.0.0.1:{PORT}" and gw["shards"] == 1, gw
    assert gw["session_start_limit"]["max_concurrency"] == 1, gw
    assert ctl("stats")["invalid_requests"] == 2


async def test_identify_ready_guild_create_heartbeat_plain():
    ws, ready, guild = await ready_client()
    assert ready["user"]["id"] == BOT_ID and ready["session_id"] and ready["resume_gateway_url"].endswith("/resume")
    assert ready["guilds"][0]["unavailable"] is True
    assert len(guild["channels"]) == 5 and guild["threads"] and len(guild["roles"]) == 4
    assert [m["user"]["id"] for m in guild["members"]] == [BOT_ID]  # no GUILD_MEMBERS intent
    ws.send({"op": 1, "d": 2})
    ack = await ws.recv()
    assert ack["op"] == 11, ack
    frames = ctl("frames?dir=in")
    assert frames[-1]["op"] == 1 and frames[-1]["d"] == 2 and frames[-2]["op"] == 2
    ws.close()


async def test_zlib_stream_one_context_sync_flush():
    ws, ready, guild = await ready_client("?v=10&encoding=json&compress=zlib-stream")
    assert ws.binary_frames == 3
    for i in range(5):
        ctl("inject/message", {"content": f"hello {i}" * 50})
    for i in range(5):
        msg = await ws.recv()
        assert msg["t"] == "MESSAGE_CREATE" and msg["d"]["content"].startswith(f"hello {i}"), msg
    ctl("config", {"split_frames": 4})
    ctl("inject/message", {"content": "split " * 100})
    assert (await ws.recv())["d"]["content"].startswith("split") and ws.binary_frames == 3 + 5 + 4
    ctl("config", {"split_frames": 1})
    # a fresh inflater cannot decode a later message on its own: one shared context per connection
    ctl("gateway/raw", {"frames": [{"json": {"op": 0, "t": "X", "s": None, "d": {"a": "hello 0" * 50}}, "split": 3}]})
    msg = await ws.recv()
    assert msg["t"] == "X" and ws.binary_frames == 3 + 5 + 4 + 3
    ws.close()


async def test_fatal_identify_closes():
    for kwargs, code in [({"token": "bad"}, 4004), ({"intents": INTENTS | (1 << 1)}, 4014),
                         ({"intents": 1 << 40}, 4013), ({"shard": [2, 2]}, 4010)]:
        ws = await WS().connect()
        await ws.identify(**kwargs)
        got = await ws.until_close()
        assert got == code, (kwargs, got)
        ws.close()
    ws = await WS().connect("?v=9&encoding=json")
    assert await ws.until_close() == 4012
    ws.close()


async def test_heartbeat_timeout_4009():
    ctl("config", {"heartbeat_interval_ms": 200, "heartbeat_grace_ms": 100})
    ws = await WS().connect()
    hello = await ws.recv()
    assert hello["d"]["heartbeat_interval"] == 200
    started = time.monotonic()
    assert await ws.until_close(3) == 4009
    assert 0.25 < time.monotonic() - started < 2.0
    ws.close()


async def test_dispatch_sequence_and_mentions():
    ws, ready, _ = await ready_client()
    out = ctl("inject/message", {"content": "hi there", "mention_bot": True, "channel_id": ROLEPLAY})
    msg = await ws.recv()
    assert msg["t"] == "MESSAGE_CREATE" and msg["s"] == 3 and out["seqs"][ready["session_id"]] == 3
    assert msg["d"]["content"] == f"<@{BOT_ID}> hi there" and msg["d"]["mentions"][0]["id"] == BOT_ID
    assert msg["d"]["guild_id"] and msg["d"]["member"]["roles"] == []
    ctl("inject/message_update", {"id": msg["d"]["id"], "content": "edited"})
    upd = await ws.recv()
    assert upd["t"] == "MESSAGE_UPDATE" and upd["s"] == 4 and upd["d"]["content"] == "edited"
    ctl("inject/event", {"t": "SOMETHING_NEW", "d": {"x": 1}})
    assert (await ws.recv())["s"] == 5
    ws.close()


async def test_message_content_intent_filter():
    ws = await WS().connect()
    await ws.identify(intents=(1 << 0) | (1 << 9))
    await ws.recv(), await ws.recv()
    ctl("inject/message", {"content": "secret"})
    ctl("inject/message", {"content": "ping", "mention_bot": True})
    a, b = await ws.recv(), await ws.recv()
    assert a["d"]["content"] == "" and b["d"]["content"].endswith("ping"), (a, b)
    ws.close()


async def test_resume_replays_missed_events():
    ws, ready, _ = await ready_client("?v=10&encoding=json&compress=zlib-stream")
    sid = ready["session_id"]
    ctl("inject/message", {"content": "one"})
    first = await ws.recv()
    ctl("gateway/close", {"code": 4000})
    assert await ws.until_close() == 4000
    ws.close()
    ctl("inject/message", {"content": "two"})
    ctl("inject/message", {"content": "three"})
    ws2 = await WS().connect("?v=10&encoding=json&compress=zlib-stream", path="/resume")
    assert (await ws2.recv())["op"] == 10
    ws2.send({"op": 6, "d": {"token": TOKEN, "session_id": sid, "seq": first["s"]}})
    got = [await ws2.recv() for _ in range(3)]
    assert [g["t"] for g in got] == ["MESSAGE_CREATE", "MESSAGE_CREATE", "RESUMED"], got
    assert [g["d"].get("content") for g in got[:2]] == ["two", "three"]
    assert [g["s"] for g in got] == [first["s"] + 1, first["s"] + 2, first["s"] + 3]
    ctl("inject/message", {"content": "four"})
    assert (await ws2.recv())["d"]["content"] == "four"
    info = ctl("gateway")
    assert any(s["session_id"] == sid and s["resumes"] == 1 for s in info["sessions"])
    ws2.close()
    # unknown session -> op 9 d=false
    ws3 = await WS().connect()
    await ws3.recv()
    ws3.send({"op": 6, "d": {"token": TOKEN, "session_id": "nope", "seq": 1}})
    inv = await ws3.recv()
    assert inv["op"] == 9 and inv["d"] is False
    ws3.close()


async def test_normal_close_ends_session():
    ws, ready, _ = await ready_client()
    ws.send_raw(8, struct.pack("!H", 1000))
    await ws.until_close()
    ws.close()
    ws2 = await WS().connect()
    await ws2.recv()
    ws2.send({"op": 6, "d": {"token": TOKEN, "session_id": ready["session_id"], "seq": 2}})
    assert (await ws2.recv()) == {"op": 9, "d": False, "s": None, "t": None}
    ws2.close()


async def test_control_ops_and_acks():
    ws, ready, _ = await ready_client()
    ctl("gateway/heartbeat_request", {})
    m = await ws.recv()
    assert m["op"] == 1 and m["d"] == 2
    ctl("gateway/reconnect", {})
    assert (await ws.recv())["op"] == 7
    ctl("gateway/invalid_session", {"resumable": True})
    assert (await ws.recv()) == {"op": 9, "d": True, "s": None, "t": None}
    ctl("gateway/acks", {"enabled": False})
    ws.send({"op": 1, "d": 2})
    try:
        extra = await ws.recv(0.4)
        raise AssertionError(f"unexpected frame while ACKs are stopped: {extra}")
    except asyncio.TimeoutError:
        pass
    ctl("gateway/acks", {"enabled": True})
    ws.send({"op": 1, "d": 2})
    assert (await ws.recv())["op"] == 11
    ctl("gateway/invalid_session", {"resumable": False})
    assert (await ws.recv())["d"] is False
    assert not [s for s in ctl("gateway")["sessions"] if s["session_id"] == ready["session_id"]][0]["valid"]
    ws.close()


async def test_gateway_send_limit_4008_and_unknown_op():
    ctl("config", {"send_limit": 5})
    ws = await WS().connect()
    await ws.recv()
    for _ in range(6):
        ws.send({"op": 1, "d": None})
    assert await ws.until_close() == 4008
    ws.close()
    ws = await WS().connect()
    await ws.recv()
    ws.send({"op": 77, "d": None})
    assert await ws.until_close() == 4001
    ws.close()


async def test_garbage_frames_plain_and_zlib():
    for query in ("?v=10&encoding=json", "?v=10&encoding=json&compress=zlib-stream"):
        ws, _, _ = await ready_client(query)
        out = ctl("gateway/garbage", {"count": 10000, "huge_bytes": 100000})
        assert out["sent"] == 10000 and out["by_kind"]["huge"] == 10
        bad = 0
        for _ in range(10000):
            text = await ws.recv_text()
            assert isinstance(text, str), text
            try:
                json.loads(text)
            except ValueError:
                bad += 1
        assert bad > 500
        ctl("inject/message", {"content": "still alive"})
        msg = await ws.recv()
        assert msg["d"]["content"] == "still alive" and msg["s"] == 3
        ws.close()


async def test_rest_messages_edit_and_validation():
    st, msg, h = api("POST", f"/channels/{GENERAL}/messages",
                     {"content": "hello @everyone <@900000000000000403>", "allowed_mentions": {"parse": []}})
    assert st == 200 and msg["content"].startswith("hello") and int(msg["id"]) > 0 and msg["author"]["id"] == BOT_ID
    assert h["x-ratelimit-limit"] == "5" and h["x-ratelimit-remaining"] == "4" and h["x-ratelimit-bucket"]
    st, edited, h2 = api("PATCH", f"/channels/{GENERAL}/messages/{msg['id']}", {"content": "final text"})
    assert st == 200 and edited["edited_timestamp"] and h2["x-ratelimit-bucket"] == h["x-ratelimit-bucket"]
    assert h2["x-ratelimit-remaining"] == "3"
    view = ctl("messages/" + msg["id"])
    assert view["content"] == "final text" and view["_history"] == [msg["content"], "final text"]
    assert view["_pings"][0] == {"users": [], "roles": [], "everyone": False}
    assert view["_pings"][1] == {"users": [], "roles": [], "everyone": False}  # "final text" has no mentions
    assert view["_allowed_mentions"] == [{"parse": []}, None]
    assert api("POST", f"/channels/{GENERAL}/messages", {"content": "x" * 2001})[0] == 400
    assert api("POST", f"/channels/{GENERAL}/messages", {"content": ""})[1]["code"] == 50006
    assert api("POST", f"/channels/{GENERAL}/messages", raw=b"{nope")[1]["code"] == 50109
    assert api("POST", "/channels/1/messages", {"content": "x"})[1]["code"] == 10003
    st, reply, _ = api("POST", f"/channels/{ROLEPLAY}/messages",
                       {"content": "r", "message_reference": {"message_id": "123", "fail_if_not_exists": False}})
    assert st == 200 and reply["type"] == 0
    assert api("POST", f"/channels/{ROLEPLAY}/messages",
               {"content": "r", "message_reference": {"message_id": "123"}})[0] == 400
    inj = ctl("inject/message", {"content": "question", "channel_id": ROLEPLAY})["message"]
    st, reply, _ = api("POST", f"/channels/{ROLEPLAY}/messages",
                       {"content": "answer", "message_reference": {"message_id": inj["id"], "fail_if_not_exists": False}})
    assert reply["type"] == 19 and reply["referenced_message"]["id"] == inj["id"]
    st, listing, _ = api("GET", f"/channels/{ROLEPLAY}/messages?after={inj['id']}&limit=10")
    assert [m["id"] for m in listing] == [reply["id"]]
    assert api("POST", f"/channels/{ROLEPLAY}/typing")[0] == 204


async def test_rate_limit_429_with_headers():
    codes = []
    for i in range(6):
        st, body, h = api("POST", f"/channels/{GENERAL}/messages", {"content": f"m{i}"})
        codes.append(st)
    assert codes == [200] * 5 + [429], codes
    assert body["global"] is False and 0 < body["retry_after"] <= 5.0, body
    assert h["x-ratelimit-scope"] == "user" and h["x-ratelimit-remaining"] == "0" and "retry-after" in h
    # another channel has its own bucket (major parameter)
    assert api("POST", f"/channels/{ROLEPLAY}/messages", {"content": "ok"})[0] == 200
    ctl("ratelimits", {"routes": {"messages": {"limit": 2, "per": 0.3}}})
    for _ in range(2):
        assert api("POST", f"/channels/{GENERAL}/messages", {"content": "x"})[0] == 200
    assert api("POST", f"/channels/{GENERAL}/messages", {"content": "x"})[0] == 429
    time.sleep(0.35)
    assert api("POST", f"/channels/{GENERAL}/messages", {"content": "x"})[0] == 200
    ctl("ratelimits", {"global_limit": 3})
    codes = [api("GET", "/users/@me") for _ in range(4)]
    assert [c[0] for c in codes] == [200, 200, 200, 429], [c[0] for c in codes]
    assert codes[3][1]["global"] is True and codes[3][2]["x-ratelimit-global"] == "true"
    stats = ctl("stats")
    assert stats["rate_limited"] == 3 and stats["invalid_requests"] == 3
    ctl("ratelimits", {"global_limit": 50})
    ctl("rest/fail", {"count": 1, "status": 429, "retry_after": 0.25, "scope": "shared", "path_contains": "/messages"})
    st, body, h = api("POST", f"/channels/{ROLEPLAY}/messages", {"content": "x"})
    assert st == 429 and h["x-ratelimit-scope"] == "shared" and body["retry_after"] == 0.25
    ctl("rest/fail", {"count": 1, "status": 502})
    assert api("GET", "/users/@me")[0] == 502


async def test_webhooks_and_permissions():
    st, hook, _ = api("POST", f"/channels/{GENERAL}/webhooks", {"name": "PersonaBridge personas"})
    assert st == 200 and hook["token"], hook
    assert api("POST", f"/channels/{GENERAL}/webhooks", {"name": "my discord hook"})[0] == 400
    st, msg, _ = http("POST", f"/api/v10/webhooks/{hook['id']}/{hook['token']}?wait=true",
                      {"content": "as persona", "username": "Aria", "avatar_url": "https://x/a.png",
                       "allowed_mentions": {"parse": []}}, auth=False)
    assert st == 200 and msg["author"]["username"] == "Aria" and msg["webhook_id"] == hook["id"], msg
    st, ed, _ = http("PATCH", f"/api/v10/webhooks/{hook['id']}/{hook['token']}/messages/{msg['id']}",
                     {"content": "as persona, edited"}, auth=False)
    assert st == 200 and ctl("messages/" + msg["id"])["content"] == "as persona, edited"
    assert http("POST", f"/api/v10/webhooks/{hook['id']}/wrong?wait=true", {"content": "x"}, auth=False)[0] == 404
    assert len(api("GET", f"/channels/{GENERAL}/webhooks")[1]) == 1
    ctl("permissions", {"manage_webhooks": False})
    st, body, _ = api("POST", f"/channels/{ROLEPLAY}/webhooks", {"name": "x"})
    assert st == 403 and body["code"] == 50013
    ctl("guild", {"channels": [{"id": ROLEPLAY, "permission_overwrites": [
        {"id": "900000000000000100", "type": 0, "allow": 0, "deny": 1 << 11}]}]})
    assert api("POST", f"/channels/{ROLEPLAY}/messages", {"content": "x"})[0] == 403


async def test_interactions_and_commands():
    cmds = [{"name": "persona", "description": "Manage personas", "options": [
        {"type": 1, "name": "set", "description": "Set persona",
         "options": [{"type": 3, "name": "name", "description": "Persona", "required": True}]}]},
        {"name": "reset", "description": "Reset history"}]
    st, out, _ = api("PUT", f"/applications/{BOT_ID}/guilds/900000000000000100/commands", cmds)
    assert st == 200 and len(out) == 2 and out[0]["id"], out
    assert api("PUT", f"/applications/{BOT_ID}/commands", [{"name": "Bad Name", "description": "x"}])[0] == 400
    ws, _, _ = await ready_client()
    inj = ctl("inject/interaction", {"name": "persona", "user_id": "900000000000000402",
                                     "options": [{"type": 1, "name": "set",
                                                  "options": [{"type": 3, "name": "name", "value": "aria"}]}]})
    ev = await ws.recv()
    assert ev["t"] == "INTERACTION_CREATE" and ev["d"]["data"]["id"] == out[0]["id"]
    perms = int(ev["d"]["member"]["permissions"])
    assert perms & (1 << 4), "moderator has MANAGE_CHANNELS"
    base = f"/api/v10/interactions/{inj['id']}/{inj['token']}/callback"
    assert http("POST", base, {"type": 5, "data": {"flags": 64}}, auth=False)[0] == 204
    assert http("POST", base, {"type": 4, "data": {"content": "x"}}, auth=False)[1]["code"] == 40060
    st, orig, _ = http("PATCH", f"/api/v10/webhooks/{BOT_ID}/{inj['token']}/messages/@original",
                       {"content": "Persona set to aria", "allowed_mentions": {"parse": []}}, auth=False)
    assert st == 200 and orig["content"] == "Persona set to aria" and orig["flags"] & 64
    st, fu, _ = http("POST", f"/api/v10/webhooks/{BOT_ID}/{inj['token']}", {"content": "follow-up"}, auth=False)
    assert st == 200
    rec = [i for i in ctl("interactions") if i["id"] == inj["id"]][0]
    assert rec["_callback"]["type"] == 5 and rec["_followups"] == [fu["id"]]
    ctl("config", {"interaction_timeout_s": 0.1})
    late = ctl("inject/interaction", {"name": "reset"})
    time.sleep(0.2)
    st, body, _ = http("POST", f"/api/v10/interactions/{late['id']}/{late['token']}/callback",
                       {"type": 4, "data": {"content": "too late"}}, auth=False)
    assert st == 404 and body["code"] == 10062
    ws.close()


async def test_requests_recorded():
    api("POST", f"/channels/{GENERAL}/messages", {"content": "rec", "allowed_mentions": {"parse": []}})
    reqs = ctl("requests")
    last = reqs[-1]
    assert last["method"] == "POST" and last["route"] == f"/channels/{GENERAL}/messages"
    assert last["body"]["allowed_mentions"] == {"parse": []} and last["status"] == 200
    assert last["headers"]["authorization"] == "Bot " + TOKEN and last["bucket"] == "messages"
    assert last["major"] == GENERAL and last["ratelimit"]["X-RateLimit-Limit"] == "5"
    assert ctl("requests?since=" + str(last["id"])) == []


async def test_bucket_stats_and_blast():
    for i in range(7):
        api("PATCH" if i else "POST", f"/channels/{GENERAL}/messages" + (f"/{first}" if i else ""), {"content": f"v{i}"})
        if i == 0:
            first = ctl("messages")[-1]["id"]
    b = [x for x in ctl("buckets") if x["route"] == "messages" and x["major"] == GENERAL][0]
    assert b["accepted"] == 5 and b["rejected"] == 2 and b["windows"] == 1 and b["utilization"] == 1.0, b
    ws, _, _ = await ready_client("?v=10&encoding=json&compress=zlib-stream")
    out = ctl("gateway/blast", {"count": 2000})
    assert out["sent"] == 2000
    last = None
    for _ in range(2000):
        last = await ws.recv()
    assert last["t"] == "MESSAGE_CREATE" and last["s"] == 2002, last
    ws.close()


async def test_interaction_shard_routing():
    ws0 = await WS().connect()
    await ws0.identify(shard=[0, 2])
    r0 = await ws0.recv()
    ws1 = await WS().connect()
    await ws1.identify(shard=[1, 2])
    r1 = await ws1.recv()
    guild_shard = (int("900000000000000100") >> 22) % 2
    mine, other = (ws0, ws1) if guild_shard == 0 else (ws1, ws0)
    assert len((r0 if guild_shard == 0 else r1)["d"]["guilds"]) == 1
    assert (await mine.recv())["t"] == "GUILD_CREATE"
    ctl("inject/interaction", {"name": "status"})
    assert (await mine.recv())["t"] == "INTERACTION_CREATE"
    try:
        extra = await other.recv(0.3)
        raise AssertionError(f"other shard got {extra}")
    except asyncio.TimeoutError:
        pass
    ws0.close()
    ws1.close()


async def test_invalid_request_ban_and_conn_times():
    ctl("config", {"ban_threshold": 3})
    for _ in range(3):
        assert api("GET", "/users/@me", auth=False)[0] == 401
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/api/v10/users/@me",
                                 headers={"User-Agent": UA, "Authorization": "Bot " + TOKEN})
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("expected the fake ban")
    except urllib.error.HTTPError as err:
        assert err.code == 429 and b"1015" in err.read() and "x-ratelimit-limit" not in {k.lower() for k in err.headers}
    assert ctl("stats")["banned_requests"] == 1
    ws, _, _ = await ready_client()
    ctl("gateway/reconnect", {"close_after_ms": 100, "close_code": 4000})
    assert (await ws.recv())["op"] == 7
    assert await ws.until_close() == 4000
    conn = ctl("gateway")["connections"][-1]
    assert conn["ready_at"] >= conn["opened_at"] and conn["closed_at"] >= conn["ready_at"], conn
    ws.close()


async def test_guild_control_dispatches_and_dm():
    ws, _, _ = await ready_client()
    out = ctl("guild", {"roles": [{"id": "900000000000000299", "name": "Helpers", "permissions": 1 << 5}],
                        "channels": [{"id": ROLEPLAY, "permission_overwrites": [
                            {"id": "900000000000000299", "type": 0, "allow": 1 << 4, "deny": 0}]}],
                        "members": [{"user_id": "900000000000000404", "roles": ["900000000000000299"]}]})
    assert out["events"] == ["GUILD_ROLE_CREATE", "CHANNEL_UPDATE"], out["events"]
    a, b = await ws.recv(), await ws.recv()
    assert a["t"] == "GUILD_ROLE_CREATE" and a["d"]["role"]["permissions"] == str(1 << 5)
    assert b["t"] == "CHANNEL_UPDATE" and b["d"]["permission_overwrites"][0]["allow"] == str(1 << 4)
    inj = ctl("inject/interaction", {"name": "status", "user_id": "900000000000000404", "channel_id": ROLEPLAY})
    perms = int(inj["interaction"]["member"]["permissions"])
    assert perms & (1 << 4) and perms & (1 << 5)
    assert (await ws.recv())["t"] == "INTERACTION_CREATE"
    ctl("guild", {"guild_id": "900000000000009999", "name": "Second", "channels": [{"id": "900000000000009901"}]})
    g = await ws.recv()
    assert g["t"] == "GUILD_CREATE" and g["d"]["channels"][0]["id"] == "900000000000009901"
    ctl("inject/message", {"channel_id": "900000000000008888", "dm": True, "content": "psst"})
    dm = await ws.recv()
    assert dm["t"] == "MESSAGE_CREATE" and "guild_id" not in dm["d"] and dm["d"]["content"] == "psst"
    st, sent, _ = api("POST", "/channels/900000000000008888/messages", {"content": "hi back"})
    assert st == 200 and "guild_id" not in sent
    ws.close()


async def test_threads_start_archive_lock_rules():
    ws, _, _ = await ready_client()
    body = {"name": "The midnight heist", "type": 11, "auto_archive_duration": 1440}
    # @everyone and the bot's role lack CREATE_PUBLIC_THREADS in the default world.
    st, err, _ = api("POST", f"/channels/{GENERAL}/threads", body)
    assert st == 403 and err["code"] == 50013, (st, err)
    ctl("guild", {"roles": [{"id": "900000000000000202", "permissions": (1 << 29) | (1 << 13) | (1 << 35)}]})
    await ws.recv()  # GUILD_ROLE_UPDATE
    assert api("POST", f"/channels/{GENERAL}/threads", dict(body, name=""))[0] == 400
    assert api("POST", f"/channels/{GENERAL}/threads", dict(body, name="x" * 101))[0] == 400
    assert api("POST", f"/channels/{GENERAL}/threads", {"name": "no type"})[0] == 400
    assert api("POST", f"/channels/{GENERAL}/threads", dict(body, type=10))[0] == 400  # not an announcement channel
    assert api("POST", f"/channels/{GENERAL}/threads", dict(body, auto_archive_duration=5))[0] == 400
    assert api("POST", "/channels/900000000000000351/threads", body)[0] == 400  # no thread in a thread
    st, thread, _ = api("POST", f"/channels/{GENERAL}/threads", body)
    assert st == 201 and thread["type"] == 11 and thread["parent_id"] == GENERAL and thread["name"] == body["name"], thread
    created = await ws.recv()
    assert created["t"] == "THREAD_CREATE" and created["d"]["id"] == thread["id"] and created["d"]["newly_created"], created
    assert api("POST", f"/channels/{thread['id']}/messages", {"content": "in the thread"})[0] == 200
    assert (await ws.recv())["t"] == "MESSAGE_CREATE"
    # Locking needs MANAGE_THREADS; unknown fields and non-threads are refused.
    st, err, _ = api("PATCH", f"/channels/{thread['id']}", {"archived": True, "locked": True})
    assert st == 403 and err["code"] == 50013, (st, err)
    assert api("PATCH", f"/channels/{thread['id']}", {"archived": "yes"})[0] == 400
    assert api("PATCH", f"/channels/{thread['id']}", {"topic": "x"})[0] == 400
    assert api("PATCH", f"/channels/{GENERAL}", {"archived": True})[0] == 403
    ctl("guild", {"roles": [{"id": "900000000000000202", "permissions": (1 << 29) | (1 << 13) | (1 << 35) | (1 << 34)}]})
    await ws.recv()  # GUILD_ROLE_UPDATE
    st, closed, _ = api("PATCH", f"/channels/{thread['id']}", {"archived": True, "locked": True})
    meta = closed["thread_metadata"]
    assert st == 200 and meta["archived"] and meta["locked"], closed
    updated = await ws.recv()
    assert updated["t"] == "THREAD_UPDATE" and updated["d"]["thread_metadata"]["locked"], updated
    # An archived thread takes only archived: false; a locked one takes messages from MANAGE_THREADS only.
    assert api("PATCH", f"/channels/{thread['id']}", {"name": "renamed"})[0] == 400
    ctl("guild", {"roles": [{"id": "900000000000000202", "permissions": (1 << 29) | (1 << 13)}]})
    await ws.recv()
    st, err, _ = api("POST", f"/channels/{thread['id']}/messages", {"content": "after the end"})
    assert st == 400 and err["code"] == 50083, (st, err)
    ws.close()


async def test_onboarding_reads_application_flags_and_channel_access():
    status, app, _ = api("GET", "/oauth2/applications/@me")
    assert status == 200 and app["id"] == BOT_ID and app["flags"] == 1 << 19, app
    assert api("GET", "/oauth2/applications/@me", headers={"Authorization": "Bot wrong"})[0] == 401
    # The portal's Message Content switch off: the flag is gone and IDENTIFY with MESSAGE_CONTENT is refused.
    ctl("config", {"application_flags": 0})
    assert api("GET", "/oauth2/applications/@me")[1]["flags"] == 0
    ws = await WS().connect()
    await ws.identify(intents=INTENTS | (1 << 15))
    assert await ws.until_close() == 4014
    ws.close()
    ctl("config", {"application_flags": 1 << 18})
    ws, _, _ = await ready_client()
    ws.close()
    status, channel, _ = api("GET", f"/channels/{ROLEPLAY}")
    assert status == 200 and channel["guild_id"] and "permission_overwrites" in channel, channel
    guild_id = channel["guild_id"]
    ctl("guild", {"channels": [{"id": ROLEPLAY, "permission_overwrites": [
        {"id": guild_id, "type": 0, "allow": 0, "deny": 1 << 10}]}]})
    status, body, _ = api("GET", f"/channels/{ROLEPLAY}")
    assert status == 403 and body["code"] == 50001, body
    status, member, _ = api("GET", f"/guilds/{guild_id}/members/{BOT_ID}")
    assert status == 200 and member["roles"], member
    status, g, _ = api("GET", f"/guilds/{guild_id}")
    assert status == 200 and g["owner_id"] and len(g["roles"]) == 4, g


async def test_catch_up_after_downtime():
    old = ctl("inject/message", {"content": "old", "age_s": 3600, "dispatch": False})["message"]
    seen = ctl("inject/message", {"content": "seen"})["message"]
    missed = [ctl("inject/message", {"content": f"missed {i}", "dispatch": False})["message"] for i in range(3)]
    assert int(old["id"]) < int(seen["id"]) < int(missed[0]["id"])
    st, got, _ = api("GET", f"/channels/{GENERAL}/messages?after={seen['id']}&limit=100")
    assert [m["content"] for m in got] == ["missed 2", "missed 1", "missed 0"], got
    st, got, _ = api("GET", f"/channels/{GENERAL}/messages?limit=2")
    assert [m["content"] for m in got] == ["missed 2", "missed 1"]
    assert api("GET", f"/channels/{GENERAL}/messages?limit=101")[0] == 400


async def test_header_obeying_client_gets_no_429_and_full_budget():
    import threading
    ctl("ratelimits", {"routes": {"messages": {"limit": 5, "per": 1.0}}})
    channels = ["900000000000000303", "900000000000000304", "900000000000000305"]
    statuses = []

    def stream(channel):
        mid = None
        for i in range(12):
            if mid is None:
                st, body, h = api("POST", f"/channels/{channel}/messages", {"content": "piece 0"})
                mid = body["id"]
            else:
                st, body, h = api("PATCH", f"/channels/{channel}/messages/{mid}", {"content": f"piece {i}"})
            statuses.append(st)
            if h.get("x-ratelimit-remaining") == "0":
                time.sleep(float(h["x-ratelimit-reset-after"]))

    threads = [threading.Thread(target=stream, args=(c,)) for c in channels]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(429) == 0 and len(statuses) == 36, statuses
    for b in ctl("buckets"):
        if b["route"] == "messages":
            assert b["accepted"] == 12 and b["windows"] == 3 and b["full_windows_utilization"] == 1.0, b


TESTS = [(name, fn) for name, fn in list(globals().items()) if name.startswith("test_")]


def main():
    global PORT
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", default="")
    args = parser.parse_args()
    PORT = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "discord_server.py"), "--port", str(PORT)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    passed = failed = 0
    started = time.monotonic()
    try:
        line = proc.stdout.readline()
        if "READY" not in line:
            print("discord_server did not start: " + line + proc.stdout.read())
            return 1
        for name, fn in TESTS:
            if args.k not in name:
                continue
            ctl("reset", {})
            t0 = time.monotonic()
            try:
                asyncio.run(asyncio.wait_for(fn(), 30))
                passed += 1
                print(f"PASS {name} ({time.monotonic() - t0:.2f}s)")
            except Exception:
                failed += 1
                print(f"FAIL {name}")
                traceback.print_exc()
    finally:
        proc.kill()
        out = proc.stdout.read()
        if "Traceback" in out or "error" in out:
            print("server output:\n" + out)
            failed += 1 if "Traceback" in out else 0
    print(f"{passed} passed, {failed} failed ({time.monotonic() - started:.1f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
