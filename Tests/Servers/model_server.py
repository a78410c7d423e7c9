#!/usr/bin/env python3
"""Fake M2-her chat-completions server for tests (stdlib asyncio only, loopback only).

Usage: model_server.py --port N [--reject-roles group,user_system] [--style openrouter]
Prints READY once it listens on 127.0.0.1:N.

Completion endpoints (any prefix, so base URLs like http://127.0.0.1:N/api/v1 work):
  POST .../chat/completions          OpenAI-compatible; style "openrouter" unless scripted otherwise
  POST .../text/chatcompletion_v2    MiniMax native style ("minimax-native": base_resp, sensitive flags, no [DONE])
Requests with "stream": true get text/event-stream (chunked); "stream": false get one JSON body.

How a reply is chosen, first match wins:
  1. role rejection: if a message role is in the reject list (--reject-roles or /_control/config),
     HTTP 400 {"error": {"message": "Invalid role: group. Allowed roles are system, user, assistant.", "code": 400}}
     (the queue is left untouched, so a scripted reply waits for the folded retry)
  2. a marker in the last user message:  <<fake {"tokens": ["a", "b"], ...}>>   (a JSON reply spec)
  3. the next queued spec from POST /_control/script
  4. the default: an echo "You said: <last user text>" streamed word by word.

Reply spec (every field optional):
  status            HTTP status (default 200); non-2xx sends `body` (JSON or text) and `headers`
  headers           extra response headers, e.g. {"Retry-After": "1"}
  body              error body for non-2xx (default {"error": {"message": "...", "code": status}})
  style             "openrouter" | "minimax" | "minimax-native" (default: from the path / --style)
  tokens            list of text deltas; or
  text              a string split into word tokens (keeping spaces)
  finish_reason     default "stop"; null sends no finish reason
  usage             true (default, computed), false, or {"prompt_tokens", "completion_tokens", "cached_tokens"}
  done              send "data: [DONE]" (default true, false for minimax-native)
  first_token_delay seconds before the first token (default 0)
  token_interval    seconds between tokens (default 0)
  keepalives        keep-alive comment lines (": OPENROUTER PROCESSING") before the first token (default 1
                    for openrouter); while waiting first_token_delay, one is also sent every keepalive_interval s
  keepalive_interval seconds (default 0 = only the initial ones)
  error_after       after this many tokens send an in-stream error chunk (HTTP status stays 200) and stop
  error             that error object, default {"code": 500, "message": "Internal provider error"}
  base_resp_after   minimax-native: after this many tokens send base_resp `base_resp` and stop
  base_resp         {"status_code": 1002, "status_msg": "rate limit"} (a non-zero code is an error)
  drop_after        after this many tokens close the connection abruptly (no final chunk)
  output_sensitive  minimax-native: flag the output as sensitive (the reply text is then empty)
  crlf              use CRLF line ends in the event stream
  split_bytes       write the stream in pieces of this many bytes (tests chunk boundaries)
  hold_after_done   seconds to keep the response open after the last event before ending the body

Control API (JSON over HTTP):
  POST /_control/script    {"replies": [spec, ...]} or a single spec: queued for the next requests (FIFO)
  POST /_control/config    {"reject_roles": ["group"], "style": "openrouter"}: change server-wide settings
  POST /_control/reset     clears the queue, the recorded requests and the config set via /_control/config
  GET  /_control/requests  every completion request so far, oldest first:
        {"id", "time" (epoch s), "monotonic", "method", "path", "headers" (lower-case names),
         "body" (parsed JSON or null), "raw_body", "status", "tokens_sent", "client_closed" (bool: the
         client closed the connection before the reply ended), "dropped" (the server dropped it, drop_after),
         "finished" (bool: the whole reply was written), "end_time"}
  GET  /_control/health    {"ok": true}
"""

import argparse
import asyncio
import json
import re
import sys
import time
import lifeline
import portfile

MARKER = re.compile(r"<<fake\s+(\{.*\})\s*>>", re.S)


class State:
    def __init__(self, reject_roles, style):
        self.default_reject = list(reject_roles)
        self.default_style = style
        self.reset()

    def reset(self):
        self.queue = []
        self.requests = []
        self.reject_roles = list(self.default_reject)
        self.style = self.default_style
        self.counter = 0


STATE = None


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


async def read_request(reader):
    """Reads one HTTP/1.1 request; returns (method, path, headers, body) or None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method, path, headers


async def read_body(reader, writer, headers):
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    length = int(headers.get("content-length", "0") or 0)
    return await reader.readexactly(length) if length else b""


def simple_response(writer, status, obj, extra_headers=None, content_type="application/json"):
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
              404: "Not Found", 408: "Request Timeout", 429: "Too Many Requests", 500: "Internal Server Error",
              502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Status")
    body = obj if isinstance(obj, bytes) else (obj.encode() if isinstance(obj, str) else json_bytes(obj))
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    for name, value in (extra_headers or {}).items():
        head += f"{name}: {value}\r\n"
    writer.write(head.encode() + b"\r\n" + body)


def tokens_of(spec, messages):
    if "tokens" in spec:
        return [str(t) for t in spec["tokens"]]
    text = spec.get("text")
    if text is None:
        last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        text = "You said: " + MARKER.sub("", last).strip()
    return re.findall(r"\S+\s*|\s+", text) or [""]


def choose_spec(body, path):
    messages = body.get("messages") or [] if isinstance(body, dict) else []
    roles = [m.get("role") for m in messages if isinstance(m, dict)]
    rejected = [r for r in roles if r in STATE.reject_roles]
    if rejected:
        role = rejected[0]
        return {"status": 400, "body": {"error": {
            "message": f"Invalid role: {role}. Allowed roles are system, user, assistant.",
            "code": 400, "metadata": {"provider_name": "fake"}}}}
    last_user = next((m.get("content", "") for m in reversed(messages)
                      if isinstance(m, dict) and m.get("role") == "user"), "")
    match = MARKER.search(last_user or "")
    if match:
        return json.loads(match.group(1))
    if STATE.queue:
        return STATE.queue.pop(0)
    return {}


class ClientGone(Exception):
    pass


async def drop(writer, record):
    """Closes the connection mid-reply, after the bytes already written have left."""
    record["dropped"] = True
    while writer.transport.get_write_buffer_size() > 0:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    writer.transport.abort()
    raise ClientGone()


async def stream_reply(writer, record, spec, body, path, closed):
    style = spec.get("style") or ("minimax-native" if path.endswith("chatcompletion_v2") else STATE.style)
    messages = body.get("messages") or []
    tokens = tokens_of(spec, messages)
    eol = "\r\n" if spec.get("crlf") else "\n"
    split = int(spec.get("split_bytes") or 0)
    model = body.get("model", "fake-model")
    STATE.counter += 1
    gen_id = f"gen-{STATE.counter}"
    created = int(time.time())

    writer.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode())

    async def send(text):
        if closed.is_set():
            raise ClientGone()
        data = text.encode()
        pieces = [data[i:i + split] for i in range(0, len(data), split)] if split else [data]
        for piece in pieces:
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            try:
                await writer.drain()
            except ConnectionError:
                raise ClientGone()

    async def end():
        writer.write(b"0\r\n\r\n")
        try:
            await writer.drain()
        except ConnectionError:
            raise ClientGone()

    async def event(obj):
        await send("data: " + (obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)) + eol + eol)

    async def wait(seconds):
        # Plain sleeps in short steps are much cheaper than wait_for when a thousand streams run at once.
        while seconds > 0:
            step = min(seconds, 0.25)
            await asyncio.sleep(step)
            seconds -= step
            if closed.is_set():
                raise ClientGone()

    def chunk(delta=None, finish=None, extra=None):
        obj = {"id": gen_id, "object": "chat.completion.chunk", "created": created, "model": model,
               "choices": [{"index": 0, "delta": delta if delta is not None else {}, "finish_reason": finish}]}
        if style == "minimax-native":
            obj["input_sensitive"] = False
            obj["output_sensitive"] = False
        if extra:
            obj.update(extra)
        return obj

    def usage_obj():
        usage = spec.get("usage", True)
        if usage is False:
            return None
        prompt = sum(len(str(m.get("content", ""))) for m in messages) // 4 + 1
        if usage is True:
            usage = {"prompt_tokens": prompt, "completion_tokens": len(tokens)}
        result = {"prompt_tokens": usage.get("prompt_tokens", prompt),
                  "completion_tokens": usage.get("completion_tokens", len(tokens))}
        result["total_tokens"] = result["prompt_tokens"] + result["completion_tokens"]
        if usage.get("cached_tokens") is not None:
            result["prompt_tokens_details"] = {"cached_tokens": usage["cached_tokens"]}
        return result

    keepalives = spec.get("keepalives", 1 if style == "openrouter" else 0)
    for _ in range(int(keepalives)):
        await send(": OPENROUTER PROCESSING" + eol + eol)
    delay = float(spec.get("first_token_delay", 0))
    interval = float(spec.get("keepalive_interval", 0))
    while delay > 0:
        step = min(delay, interval) if interval > 0 else delay
        await wait(step)
        delay -= step
        if interval > 0 and delay > 0:
            await send(": OPENROUTER PROCESSING" + eol + eol)

    sensitive = bool(spec.get("output_sensitive"))
    sent_text = ""
    for index, token in enumerate(tokens):
        if index > 0:
            await wait(float(spec.get("token_interval", 0)))
        if spec.get("drop_after") is not None and index >= int(spec["drop_after"]):
            await drop(writer, record)
        if spec.get("error_after") is not None and index >= int(spec["error_after"]):
            error = spec.get("error") or {"code": 500, "message": "Internal provider error"}
            await event(chunk({"content": ""}, "error", {"error": error}))
            await end()
            return
        if spec.get("base_resp_after") is not None and index >= int(spec["base_resp_after"]):
            base = spec.get("base_resp") or {"status_code": 1000, "status_msg": "unknown error"}
            await event({"id": gen_id, "choices": [], "base_resp": base})
            await end()
            return
        if sensitive:
            continue
        await event(chunk({"role": "assistant", "content": token} if index == 0 else {"content": token}))
        sent_text += token
        record["tokens_sent"] = index + 1

    if spec.get("drop_after") is not None and int(spec["drop_after"]) >= len(tokens):
        await drop(writer, record)
    finish = spec.get("finish_reason", "stop")
    usage = usage_obj()
    if style == "minimax-native":
        final = {"id": gen_id, "object": "chat.completion", "created": created, "model": model,
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "" if sensitive else sent_text}}],
                 "input_sensitive": False, "output_sensitive": sensitive,
                 "base_resp": spec.get("base_resp") or {"status_code": 0, "status_msg": ""}}
        if finish is not None:
            final["choices"][0]["finish_reason"] = finish
        if usage:
            final["usage"] = usage
        await event(final)
    elif style == "minimax":
        extra = {"usage": usage} if usage else None
        await event(chunk({"content": ""}, finish, extra) if finish is not None or extra else chunk({}))
    else:
        if finish is not None:
            await event(chunk({"content": ""}, finish))
        if usage:
            await event({"id": gen_id, "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [], "usage": usage})
    if spec.get("done", style != "minimax-native"):
        await event("[DONE]")
    await wait(float(spec.get("hold_after_done", 0)))
    await end()


def whole_reply(spec, body, path):
    style = spec.get("style") or ("minimax-native" if path.endswith("chatcompletion_v2") else STATE.style)
    messages = body.get("messages") or []
    tokens = tokens_of(spec, messages)
    sensitive = bool(spec.get("output_sensitive"))
    text = "" if sensitive else "".join(tokens)
    prompt = sum(len(str(m.get("content", ""))) for m in messages) // 4 + 1
    obj = {"id": "gen-whole", "object": "chat.completion", "model": body.get("model"),
           "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                        "finish_reason": spec.get("finish_reason", "stop")}]}
    if spec.get("usage", True) is not False:
        usage = spec.get("usage") if isinstance(spec.get("usage"), dict) else {}
        obj["usage"] = {"prompt_tokens": usage.get("prompt_tokens", prompt),
                        "completion_tokens": usage.get("completion_tokens", len(tokens))}
        obj["usage"]["total_tokens"] = obj["usage"]["prompt_tokens"] + obj["usage"]["completion_tokens"]
        if usage.get("cached_tokens") is not None:
            obj["usage"]["prompt_tokens_details"] = {"cached_tokens": usage["cached_tokens"]}
    if style == "minimax-native":
        obj["input_sensitive"] = False
        obj["output_sensitive"] = sensitive
        obj["base_resp"] = spec.get("base_resp") or {"status_code": 0, "status_msg": "success"}
    return obj


async def handle(reader, writer):
    try:
        request = await read_request(reader)
        if request is None:
            return
        method, path, headers = request
        raw = await read_body(reader, writer, headers)
        route = path.split("?")[0]
        if route.startswith("/_control/"):
            await control(writer, method, route, raw)
            return
        if method != "POST" or not (route.endswith("/chat/completions") or route.endswith("/text/chatcompletion_v2")):
            simple_response(writer, 404, {"error": {"message": f"no route {method} {route}", "code": 404}})
            return
        try:
            body = json.loads(raw.decode() or "null")
        except ValueError:
            body = None
        record = {"id": len(STATE.requests) + 1, "time": time.time(), "monotonic": time.monotonic(),
                  "method": method, "path": route, "headers": headers, "body": body,
                  "raw_body": raw.decode("utf-8", "replace"), "status": None, "tokens_sent": 0,
                  "client_closed": False, "dropped": False, "finished": False, "end_time": None}
        STATE.requests.append(record)
        if not isinstance(body, dict):
            record["status"] = 400
            simple_response(writer, 400, {"error": {"message": "request body is not a JSON object", "code": 400}})
            record["finished"] = True
            return
        spec = choose_spec(body, route)
        status = int(spec.get("status", 200))
        record["status"] = status
        if status != 200:
            err = spec.get("body", {"error": {"message": f"fake error {status}", "code": status}})
            simple_response(writer, status, err, spec.get("headers"),
                            "application/json" if not isinstance(err, str) else "text/plain")
            record["finished"] = True
            return
        if body.get("stream") is False:
            simple_response(writer, 200, whole_reply(spec, body, route), spec.get("headers"))
            record["finished"] = True
            return
        closed = asyncio.Event()

        async def watch():
            # Any read returning EOF means the client went away (it sends nothing more after the body).
            try:
                while True:
                    data = await reader.read(1024)
                    if not data:
                        break
            except (ConnectionError, asyncio.CancelledError):
                pass
            closed.set()

        watcher = asyncio.create_task(watch())
        try:
            await stream_reply(writer, record, spec, body, route, closed)
            await writer.drain()
            record["finished"] = True
        except ClientGone:
            if not record.get("dropped"):
                record["client_closed"] = True
        finally:
            record["end_time"] = time.time()
            # Give a client that closes right after the reply a moment to be noticed.
            if record["finished"]:
                watcher.cancel()
    except Exception as error:  # keep serving; report on stderr for the test log
        print(f"model_server: handler error: {error!r}", file=sys.stderr, flush=True)
    finally:
        try:
            await writer.drain()
        except Exception:
            pass
        try:
            writer.close()
        except Exception:
            pass


async def control(writer, method, route, raw):
    try:
        payload = json.loads(raw.decode() or "null")
    except ValueError:
        simple_response(writer, 400, {"error": "control body is not JSON"})
        return
    if route == "/_control/requests" and method == "GET":
        simple_response(writer, 200, STATE.requests)
    elif route == "/_control/health":
        simple_response(writer, 200, {"ok": True})
    elif route == "/_control/script" and method == "POST":
        replies = payload.get("replies") if isinstance(payload, dict) and "replies" in payload else [payload]
        STATE.queue.extend(r for r in replies if isinstance(r, dict))
        simple_response(writer, 200, {"queued": len(STATE.queue)})
    elif route == "/_control/config" and method == "POST":
        if "reject_roles" in payload:
            STATE.reject_roles = list(payload["reject_roles"] or [])
        if "style" in payload:
            STATE.style = payload["style"]
        simple_response(writer, 200, {"reject_roles": STATE.reject_roles, "style": STATE.style})
    elif route == "/_control/reset" and method == "POST":
        STATE.reset()
        simple_response(writer, 200, {"ok": True})
    else:
        simple_response(writer, 404, {"error": f"unknown control route {method} {route}"})
    await writer.drain()


async def main():
    lifeline.exit_with_parent()
    global STATE
    parser = argparse.ArgumentParser(description="fake M2-her server")
    parser.add_argument("--port", type=int, required=True)
    portfile.add_argument(parser)
    parser.add_argument("--reject-roles", default="", help="comma-separated roles answered with HTTP 400")
    parser.add_argument("--style", default="openrouter", choices=["openrouter", "minimax", "minimax-native"])
    args = parser.parse_args()
    STATE = State([r for r in args.reject_roles.split(",") if r], args.style)
    server = await asyncio.start_server(handle, "127.0.0.1", args.port, backlog=1024)
    args.port = portfile.bound_port(server.sockets)
    portfile.report(args.port_file, args.port)
    print(f"READY model_server on 127.0.0.1:{args.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
