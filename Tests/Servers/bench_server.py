#!/usr/bin/env python3
"""Loopback load server for `pb-bench transport`: as little Python work per request as possible.

  GET /small                 tiny keep-alive response (HTTP requests/s)
  GET /sse?n=N               N SSE events written in large batches, then close (SSE chunks/s)
  WS  /blast?n=N&size=S      N pre-encoded S-byte text frames, then close 1000 (WS receive msgs/s)
  WS  /sink?n=N              counts N client frames, replies "done N", closes (WS send msgs/s)
Prints READY once listening. Usage: bench_server.py --port N
"""
import argparse, asyncio, base64, hashlib, struct
from urllib.parse import urlsplit, parse_qs

import lifeline

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SMALL = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"tok "}}]}\n\n'


def frame(opcode, payload):
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


class Conn(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""
        self.ws = None  # ("sink", remaining)

    def data_received(self, data):
        if self.ws is not None:
            return self.sink(data)
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            target = lines[0].split(b" ")[1].decode()
            headers = {}
            for l in lines[1:]:
                k, _, v = l.partition(b":")
                headers[k.strip().lower()] = v.strip()
            url = urlsplit(target)
            q = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
            if b"sec-websocket-key" in headers:
                accept = base64.b64encode(hashlib.sha1(headers[b"sec-websocket-key"] + GUID).digest())
                self.t.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
                if url.path == "/blast":
                    asyncio.get_running_loop().create_task(self.blast(q.get("n", 1000), q.get("size", 1024)))
                else:
                    self.ws = q.get("n", 1000)
                    self.seen = 0
                    rest, self.buf = self.buf, b""
                    if rest:
                        self.sink(rest)
                return
            if url.path == "/sse":
                asyncio.get_running_loop().create_task(self.sse(q.get("n", 1000)))
                return
            self.t.write(SMALL)

    async def sse(self, n):
        self.t.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        batch = EVENT * 500
        sent = 0
        while sent < n:
            k = min(500, n - sent)
            self.t.write(batch if k == 500 else EVENT * k)
            sent += k
            await asyncio.sleep(0)
            while self.t.get_write_buffer_size() > 1 << 20:
                await asyncio.sleep(0.001)
        self.t.close()

    async def blast(self, n, size):
        one = frame(0x1, b"x" * size)
        batch = one * 256
        sent = 0
        while sent < n:
            k = min(256, n - sent)
            self.t.write(batch if k == 256 else one * k)
            sent += k
            while self.t.get_write_buffer_size() > 1 << 20:
                await asyncio.sleep(0.0005)
        self.t.write(frame(0x8, struct.pack("!H", 1000) + b"done"))

    def sink(self, data):
        self.buf += data
        b = self.buf
        i = 0
        while True:
            if len(b) - i < 2:
                break
            n = b[i + 1] & 0x7F
            off = 2
            if n == 126:
                if len(b) - i < 4:
                    break
                n = struct.unpack_from("!H", b, i + 2)[0]; off = 4
            elif n == 127:
                if len(b) - i < 10:
                    break
                n = struct.unpack_from("!Q", b, i + 2)[0]; off = 10
            off += 4 if b[i + 1] & 0x80 else 0
            if len(b) - i < off + n:
                break
            opcode = b[i] & 0x0F
            i += off + n
            if opcode in (0x1, 0x2):
                self.seen += 1
                if self.seen == self.ws:
                    self.t.write(frame(0x1, b"done %d" % self.seen))
            elif opcode == 0x8:
                self.t.write(frame(0x8, struct.pack("!H", 1000)))
                self.t.close()
        self.buf = b[i:]


async def main():
    lifeline.exit_with_parent()
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    server = await asyncio.get_running_loop().create_server(Conn, "127.0.0.1", args.port, backlog=1024)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
