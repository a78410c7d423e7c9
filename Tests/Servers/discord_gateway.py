"""Gateway half of discord_server.py: websocket connections, sessions, identify/resume, heartbeats (stdlib only).

Frames and handshake reuse ws_server.py's helpers. See discord_server.py's docstring for the behaviour.
"""

import asyncio
import base64
import collections
import copy
import hashlib
import json
import random
import secrets
import struct
import time
import zlib
from urllib.parse import parse_qs, urlsplit

import discord_world as W
from ws_server import GUID, frame, read_frame

RESUMABLE_CLOSES = {4000, 4001, 4002, 4003, 4005, 4008}
INVALIDATING_CLOSES = {4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class Session:
    """A gateway session: survives its connection so RESUME can replay what was missed."""

    def __init__(self, sid, shard, intents, identify):
        self.id = sid
        self.shard = shard          # [id, count]
        self.intents = intents
        self.identify = identify
        self.seq = 0
        self.events = []            # every sequenced payload sent or queued, for replay
        self.conn = None
        self.valid = True
        self.detached_at = None
        self.resumes = 0
        self.created = time.time()

    def dispatch(self, t, d):
        self.seq += 1
        payload = {"op": 0, "t": t, "s": self.seq, "d": d}
        self.events.append(payload)
        if self.conn is not None and self.conn.open:
            self.conn.send(payload)
        return self.seq

    def wants(self, t, guild_id):
        """Whether this session receives event t (shard and intents filters)."""
        count = self.shard[1]
        if guild_id is not None:
            if (int(guild_id) >> 22) % count != self.shard[0]:
                return False
        elif self.shard[0] != 0 and t.startswith(("MESSAGE_", "CHANNEL_PINS", "INTERACTION_")):
            return False  # DMs arrive on shard 0 only
        if t.startswith("MESSAGE_") and t != "MESSAGE_POLL_VOTE_ADD":
            need = W.GUILD_MESSAGES if guild_id is not None else W.DIRECT_MESSAGES
            return bool(self.intents & need)
        if t.startswith(("GUILD_", "CHANNEL_", "THREAD_")) and t not in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE"):
            return bool(self.intents & W.GUILDS)
        return True

    def info(self):
        return {"session_id": self.id, "shard": self.shard, "intents": self.intents, "seq": self.seq,
                "valid": self.valid, "connected": self.conn is not None and self.conn.open,
                "connection": self.conn.id if self.conn else None, "resumes": self.resumes,
                "events": len(self.events)}


class Conn:
    """One websocket connection; with zlib-stream, ONE deflate context flushed with Z_SYNC_FLUSH per message."""

    def __init__(self, srv, cid, reader, writer, path, query):
        self.srv = srv
        self.id = cid
        self.reader = reader
        self.writer = writer
        self.path = path
        self.query = query
        self.compress = query.get("compress") == "zlib-stream"
        self.zctx = zlib.compressobj() if self.compress else None
        self.session = None
        self.open = True
        self.acks = srv.cfg["ack_heartbeats"]
        self.opened = time.monotonic()
        self.last_heartbeat = self.opened
        self.heartbeats = 0
        self.recv_times = collections.deque()
        self.server_close = None    # (code, reason) we sent
        self.client_close = None    # code the client sent, or "eof"
        self.sent = 0
        self.received = 0
        self.opened_at = time.time()
        self.closed_at = None
        self.ready_at = None        # epoch s of READY on this connection
        self.resumed_at = None      # epoch s of RESUMED on this connection
        self.replayed = 0
        self.prepared = []          # blast frames compressed ahead of time, written before anything else

    # -- sending --------------------------------------------------------------------------------------------
    def encode_frame(self, text):
        """One unsplit websocket message as bytes, through this connection's zlib context when compressing."""
        data = text.encode() if isinstance(text, str) else text
        self.sent += 1
        if self.compress:
            return frame(2, self.zctx.compress(data) + self.zctx.flush(zlib.Z_SYNC_FLUSH))
        return frame(1, data)

    def flush_prepared(self):
        """Writes frames prepared by a blast (already through the zlib context); returns the byte count."""
        total = 0
        while self.prepared:
            data = self.prepared.pop(0)
            total += len(data)
            self.write_raw(data)
        return total

    def send_text(self, text, split=1):
        if not self.open:
            return
        # Frames a blast prepared came out of the zlib context first, so they must reach the wire first.
        self.flush_prepared()
        data = text.encode() if isinstance(text, str) else text
        if self.compress:
            data = self.zctx.compress(data) + self.zctx.flush(zlib.Z_SYNC_FLUSH)
            self.write_split(2, data, split)
        else:
            self.write_split(1, data, split)
        self.sent += 1

    def write_split(self, opcode, data, split):
        """Writes one websocket message; split > 1 sends it as that many separate binary messages (zlib only)
        or as continuation fragments (plain)."""
        if split <= 1 or len(data) < 2:
            self.write_raw(frame(opcode, data))
            return
        step = max(1, -(-len(data) // split))
        parts = [data[i:i + step] for i in range(0, len(data), step)]
        if self.compress:
            for part in parts:
                self.write_raw(frame(2, part))
        else:
            for i, part in enumerate(parts):
                self.write_raw(frame(opcode if i == 0 else 0, part, fin=(i == len(parts) - 1)))

    def write_raw(self, data):
        try:
            self.writer.write(data)
        except Exception:
            pass

    def send(self, obj, record=True):
        self.send_text(dumps(obj), split=int(self.srv.cfg["split_frames"]))
        if record:
            self.srv.record_frame("out", self, obj)

    async def drain(self):
        try:
            await self.writer.drain()
        except Exception:
            pass

    def close(self, code, reason="", abort_after=2.0):
        """Sends a close frame and ends the connection (at once if the client never answers)."""
        if not self.open:
            return
        self.open = False
        self.closed_at = time.time()
        self.server_close = (code, reason)
        self.srv.counters["server_closes"][str(code)] = self.srv.counters["server_closes"].get(str(code), 0) + 1
        self.srv.record_frame("out", self, {"close": code, "reason": reason})
        self.write_raw(frame(8, struct.pack("!H", code) + reason.encode()[:120]))
        if self.session is not None:
            if code in INVALIDATING_CLOSES:
                self.session.valid = False
            self.detach()
        asyncio.get_running_loop().call_later(abort_after, self.abort)

    def abort(self):
        """Drops the TCP connection without a close frame."""
        if self.open:
            self.closed_at = time.time()
        self.open = False
        if self.session is not None:
            self.detach()
        try:
            self.writer.transport.abort()
        except Exception:
            pass

    def detach(self):
        if self.session is not None and self.session.conn is self:
            self.session.conn = None
            self.session.detached_at = time.monotonic()

    def info(self):
        return {"id": self.id, "path": self.path, "query": self.query, "compress": self.compress, "open": self.open,
                "session_id": self.session.id if self.session else None, "heartbeats": self.heartbeats,
                "acks": self.acks, "sent": self.sent, "received": self.received,
                "server_close": list(self.server_close) if self.server_close else None,
                "client_close": self.client_close, "opened_at": self.opened_at, "closed_at": self.closed_at,
                "ready_at": self.ready_at, "resumed_at": self.resumed_at, "replayed": self.replayed}


def handshake(writer, headers):
    key = headers.get("sec-websocket-key", "")
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())


async def serve(srv, reader, writer, target, headers):
    """Runs one gateway connection until it ends."""
    url = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    srv.conn_counter += 1
    handshake(writer, headers)
    conn = Conn(srv, srv.conn_counter, reader, writer, url.path, query)
    srv.conns.append(conn)
    srv.counters["connections"] += 1
    if query.get("v") != "10":
        conn.close(4012, "Invalid API version")
    elif query.get("encoding", "json") != "json":
        conn.close(4002, "fake supports encoding=json only")
    elif query.get("compress") not in (None, "zlib-stream"):
        conn.close(4002, "fake supports compress=zlib-stream only")
    else:
        conn.send({"op": 10, "d": {"heartbeat_interval": srv.cfg["heartbeat_interval_ms"],
                                   "_trace": ["fake-discord-gateway"]}, "s": None, "t": None})
    await conn.drain()
    fragments = []
    first_op = None
    try:
        while True:
            fin, op, payload = await read_frame(reader)
            if op == 9:
                conn.write_raw(frame(10, payload))
                continue
            if op == 10:
                continue
            if op == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                conn.client_close = code
                conn.closed_at = conn.closed_at or time.time()
                srv.record_frame("in", conn, {"close": code, "reason": payload[2:].decode("utf-8", "replace")})
                if conn.open:
                    conn.open = False
                    if conn.session is not None:
                        if code in (1000, 1001):
                            conn.session.valid = False  # a normal close ends the session
                        conn.detach()
                    conn.write_raw(frame(8, payload[:2]))
                    await conn.drain()
                break
            if op != 0:
                first_op = op
                fragments = []
            fragments.append(payload)
            if not fin:
                continue
            data = b"".join(fragments)
            fragments = []
            if conn.open:
                handle_message(srv, conn, first_op, data)
                await conn.drain()
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        if conn.client_close is None:
            conn.client_close = "eof"
    finally:
        if conn.open:
            conn.closed_at = time.time()
        conn.open = False
        conn.detach()
        try:
            writer.close()
        except Exception:
            pass


def handle_message(srv, conn, opcode, data):
    cfg = srv.cfg
    now = time.monotonic()
    conn.received += 1
    conn.recv_times.append(now)
    while conn.recv_times and conn.recv_times[0] < now - cfg["send_window_s"]:
        conn.recv_times.popleft()
    try:
        obj = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        obj = None
    srv.record_frame("in", conn, obj if obj is not None else {"raw": data[:500].decode("utf-8", "replace")},
                     opcode=opcode, size=len(data))
    if len(conn.recv_times) > cfg["send_limit"]:
        conn.close(4008, "Rate limited.")
        return
    if len(data) > cfg["max_payload_bytes"]:
        conn.close(4002, "Error while decoding payload (payload too large).")
        return
    if not isinstance(obj, dict) or not isinstance(obj.get("op"), int) or isinstance(obj.get("op"), bool):
        conn.close(4002, "Error while decoding payload.")
        return
    op = obj["op"]
    d = obj.get("d")
    if op == 1:
        conn.last_heartbeat = now
        conn.heartbeats += 1
        srv.counters["heartbeats"] += 1
        if conn.acks:
            conn.send({"op": 11, "d": None, "s": None, "t": None})
        return
    if op == 2:
        identify(srv, conn, d)
        return
    if op == 6:
        resume(srv, conn, d)
        return
    if op in (3, 4, 8, 31, 36, 37):
        if conn.session is None:
            conn.close(4003, "Not authenticated.")
        return
    conn.close(4001, "Unknown opcode.")


def identify(srv, conn, d):
    cfg = srv.cfg
    srv.counters["identifies"] += 1
    if conn.session is not None:
        conn.close(4005, "Already authenticated.")
        return
    if not isinstance(d, dict) or not isinstance(d.get("token"), str):
        conn.close(4002, "Error while decoding payload (identify without token).")
        return
    if d["token"] != cfg["token"]:
        conn.close(4004, "Authentication failed.")
        return
    props = d.get("properties")
    if not isinstance(props, dict) or not all(isinstance(props.get(k), str) for k in ("os", "browser", "device")):
        conn.close(4002, "Error while decoding payload (identify.properties needs os, browser, device).")
        return
    intents = d.get("intents")
    if not isinstance(intents, int) or isinstance(intents, bool) or intents < 0 or intents & ~W.VALID_INTENTS:
        conn.close(4013, "Invalid intent(s).")
        return
    if intents & cfg["disallowed_intents"]:
        conn.close(4014, "Disallowed intent(s).")
        return
    if intents & W.MESSAGE_CONTENT and not cfg["application_flags"] & W.APP_FLAGS_MESSAGE_CONTENT:
        # Discord refuses the privileged intent unless the Developer Portal switch (an application flag) is on.
        conn.close(4014, "Disallowed intent(s).")
        return
    shard = d.get("shard", [0, 1])
    if (not isinstance(shard, list) or len(shard) != 2 or not all(isinstance(x, int) for x in shard)
            or shard[1] < 1 or not 0 <= shard[0] < shard[1]):
        conn.close(4010, "Invalid shard.")
        return
    if cfg["required_shards"] and shard[1] < cfg["required_shards"]:
        conn.close(4011, "Sharding required.")
        return
    now = time.monotonic()
    bucket = shard[0] % max(1, cfg["max_concurrency"])
    last = srv.identify_times.get(bucket)
    if cfg["identify_interval_s"] and last is not None and now - last < cfg["identify_interval_s"]:
        srv.counters["identify_rate_limited"] += 1
        conn.send({"op": 9, "d": False, "s": None, "t": None})
        return
    srv.identify_times[bucket] = now
    srv.session_starts_used += 1
    session = Session(secrets.token_hex(16), shard, intents, d)
    srv.sessions[session.id] = session
    session.conn = conn
    conn.session = session
    guilds = [g for g in srv.guilds.values() if (int(g["id"]) >> 22) % shard[1] == shard[0]]
    ready = {"v": 10, "user": dict(srv.users[W.BOT_ID], verified=True, mfa_enabled=False, flags=0),
             "guilds": [{"id": g["id"], "unavailable": True} for g in guilds], "session_id": session.id,
             "session_type": "normal", "resume_gateway_url": srv.resume_url(), "shard": shard,
             "application": {"id": W.BOT_ID, "flags": 0}, "private_channels": [], "relationships": [],
             "presences": [], "guild_join_requests": [], "geo_ordered_rtc_regions": [], "user_settings": {},
             "_trace": ["fake-discord-gateway"]}
    conn.ready_at = time.time()
    session.dispatch("READY", ready)
    for g in guilds:
        session.dispatch("GUILD_CREATE", W.guild_create_payload(g, srv.users, bool(intents & W.GUILD_MEMBERS)))


def resume(srv, conn, d):
    srv.counters["resume_attempts"] += 1
    if conn.session is not None:
        conn.close(4005, "Already authenticated.")
        return
    if not isinstance(d, dict) or not isinstance(d.get("token"), str) or not isinstance(d.get("session_id"), str):
        conn.close(4002, "Error while decoding payload (resume needs token, session_id, seq).")
        return
    if d["token"] != srv.cfg["token"]:
        conn.close(4004, "Authentication failed.")
        return
    session = srv.sessions.get(d["session_id"])
    seq = d.get("seq")
    expired = (session is not None and session.conn is None and session.detached_at is not None
               and time.monotonic() - session.detached_at > srv.cfg["resume_timeout_s"])
    if session is None or not session.valid or expired or not isinstance(seq, int) or seq > session.seq:
        srv.counters["resume_failed"] += 1
        if session is not None:
            session.valid = False
        conn.send({"op": 9, "d": False, "s": None, "t": None})
        return
    if session.conn is not None and session.conn is not conn and session.conn.open:
        session.conn.close(4000, "Session resumed on another connection.")
    session.conn = conn
    conn.session = session
    session.resumes += 1
    srv.counters["resumes"] += 1
    replay = [e for e in session.events if e["s"] > seq]
    srv.counters["replayed"] += len(replay)
    for payload in replay:
        conn.send(payload)
    conn.resumed_at = time.time()
    conn.replayed = len(replay)
    session.dispatch("RESUMED", {"_trace": ["fake-discord-gateway"], "replayed": len(replay)})


def broadcast(srv, t, d, guild_id=None):
    """Sequences event t on every valid session that wants it; returns {session_id: seq}."""
    out = {}
    for session in list(srv.sessions.values()):
        if not session.valid or not session.wants(t, guild_id):
            continue
        payload = copy.deepcopy(d)
        if t in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and guild_id is not None \
                and not session.intents & W.MESSAGE_CONTENT:
            author = (payload.get("author") or {}).get("id")
            mentioned = any(m.get("id") == W.BOT_ID for m in payload.get("mentions", []))
            if author != W.BOT_ID and not mentioned:
                payload.update({"content": "", "embeds": [], "attachments": [], "components": []})
        out[session.id] = session.dispatch(t, payload)
    return out


def targets(srv, body):
    """Open connections selected by a control body: {"connection": id} or {"session_id": s}, default all open."""
    conns = [c for c in srv.conns if c.open]
    if isinstance(body, dict) and body.get("connection") is not None:
        conns = [c for c in conns if c.id == int(body["connection"])]
    if isinstance(body, dict) and body.get("session_id"):
        conns = [c for c in conns if c.session and c.session.id == body["session_id"]]
    return conns


def heartbeat_check(srv):
    """Closes 4009 any connection whose heartbeats stopped for longer than interval + grace."""
    cfg = srv.cfg
    limit = (cfg["heartbeat_interval_ms"] + srv.grace_ms()) / 1000.0
    now = time.monotonic()
    for conn in srv.conns:
        if conn.open and now - conn.last_heartbeat > limit:
            srv.counters["heartbeat_timeouts"] += 1
            conn.close(4009, "Session timed out.")
    # forget finished connections, keep the last 200 for inspection
    if len(srv.conns) > 400:
        srv.conns[:] = [c for c in srv.conns if c.open] + [c for c in srv.conns if not c.open][-200:]


GARBAGE_KINDS = ["bad_json", "not_object", "unknown_op", "unknown_event", "missing_fields", "wrong_types",
                 "unknown_enum", "huge"]


def garbage_frame(kind, i, huge_bytes):
    """One malformed or unknown payload (text) of the given kind."""
    if kind == "bad_json":
        return random.choice(['{"op": 0, "t": "MESSAGE_CREATE", "s": ', "not json at all", "{]", "",
                              '{"op":0,"t":"MESSAGE_CREATE","d":{"content":"\\ud800 broken \\x"}}'])
    if kind == "not_object":
        return random.choice(["[1,2,3]", '"string"', "null", "42", "true"])
    if kind == "unknown_op":
        return dumps({"op": random.choice([5, 12, 13, 42, 99, 1000, -1]), "d": {"i": i}, "s": None, "t": None})
    if kind == "unknown_event":
        return dumps({"op": 0, "t": random.choice(["FUTURE_EVENT", "GUILD_SOUNDBOARD_SOUNDS_UPDATE", "X"]),
                      "s": None, "d": {"i": i, "nested": {"a": [1, {"b": None}]}}})
    if kind == "missing_fields":
        return random.choice([dumps({"op": 0}), dumps({"op": 0, "t": "MESSAGE_CREATE"}),
                              dumps({"t": "MESSAGE_CREATE", "d": {}}),
                              dumps({"op": 0, "t": "MESSAGE_CREATE", "s": None, "d": {"id": str(i)}}),
                              dumps({"op": 0, "t": "GUILD_CREATE", "s": None, "d": {"id": W.GUILD_ID}}),
                              dumps({"op": 0, "t": "INTERACTION_CREATE", "s": None, "d": {"id": str(i)}})])
    if kind == "wrong_types":
        return random.choice([dumps({"op": "0", "t": "MESSAGE_CREATE", "s": None, "d": {}}),
                              dumps({"op": 0, "t": 7, "s": "x", "d": []}),
                              dumps({"op": 0, "t": "MESSAGE_CREATE", "s": None,
                                     "d": {"id": 123, "channel_id": None, "content": 5, "author": "x"}}),
                              dumps({"op": 0, "t": "MESSAGE_DELETE", "s": None, "d": "gone"})])
    if kind == "unknown_enum":
        return random.choice([
            dumps({"op": 0, "t": "MESSAGE_CREATE", "s": None,
                   "d": {"id": "1", "channel_id": "2", "type": 999, "content": "x", "flags": 1 << 40,
                         "author": {"id": "3", "username": "ghost"}, "timestamp": W.iso(), "mentions": []}}),
            dumps({"op": 0, "t": "CHANNEL_UPDATE", "s": None,
                   "d": {"id": "4", "type": 99, "guild_id": "5", "name": "future-channel"}}),
            dumps({"op": 0, "t": "INTERACTION_CREATE", "s": None,
                   "d": {"id": "6", "type": 77, "application_id": W.BOT_ID, "token": "t", "version": 1}})])
    if kind == "huge":
        return dumps({"op": 0, "t": "HUGE_UNKNOWN_EVENT", "s": None, "d": {"blob": "x" * huge_bytes}})
    raise ValueError(f"unknown garbage kind {kind}")
