#!/usr/bin/env python3
"""Loopback WebSocket test server (stdlib only) for SocketTransportTests.

Usage: ws_server.py --port N [--tls]

Paths (query parameters in brackets):
  /echo                      echo every message with its opcode
  /fragment?parts=N          echo every message split into N fragments, with a ping between fragments
  /close?code=C&reason=R     after the first message, send close C/R, wait for the reply, then close TCP
  /drop                      after the first message, drop the TCP connection without a close frame
  /headers                   send one text message: the request line and headers, then echo
  /blast?n=N&size=S          send N pre-encoded binary frames of S bytes as fast as possible, then close 1000
"""
import argparse
import asyncio
import base64
import hashlib
import os
import ssl
import struct
import sys
from urllib.parse import parse_qs, urlsplit
import lifeline
import portfile

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def unmask(mask, data):
    if not data:
        return data
    reps = (len(data) + 3) // 4
    key = int.from_bytes((mask * reps)[: len(data)], "big")
    return (int.from_bytes(data, "big") ^ key).to_bytes(len(data), "big")


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    fin = bool(b0 & 0x80)
    opcode = b0 & 0x0F
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4) if b1 & 0x80 else None
    payload = await reader.readexactly(n)
    if mask:
        payload = unmask(mask, payload)
    return fin, opcode, payload


async def read_message(reader, writer):
    """Returns (opcode, payload) of a complete data message, or (8, payload) for close."""
    opcode = None
    parts = []
    while True:
        fin, op, payload = await read_frame(reader)
        if op == 9:  # ping
            writer.write(frame(10, payload))
            continue
        if op == 10:
            continue
        if op == 8:
            return 8, payload
        if op != 0:
            opcode = op
        parts.append(payload)
        if fin:
            return opcode, b"".join(parts)


async def handle(reader, writer):
    try:
        request = await reader.readuntil(b"\r\n\r\n")
    except Exception:
        writer.close()
        return
    lines = request.decode("latin-1").split("\r\n")
    target = lines[0].split(" ")[1]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    key = headers.get("sec-websocket-key", "")
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    writer.write(
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
        ).encode()
    )
    url = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    path = url.path
    try:
        if path == "/blast":
            n = int(query.get("n", "100000"))
            size = int(query.get("size", "1024"))
            one = frame(2, os.urandom(size))
            batch = one * 256
            sent = 0
            while sent + 256 <= n:
                writer.write(batch)
                sent += 256
                await writer.drain()
            writer.write(one * (n - sent))
            writer.write(frame(8, struct.pack("!H", 1000) + b"done"))
            await writer.drain()
            await asyncio.wait_for(read_message(reader, writer), 10)
            return
        if path == "/headers":
            text = lines[0] + "\n" + "\n".join(f"{k}: {v}" for k, v in sorted(headers.items()))
            writer.write(frame(1, text.encode()))
        while True:
            opcode, payload = await read_message(reader, writer)
            if opcode == 8:
                writer.write(frame(8, payload[:2] if len(payload) >= 2 else b""))
                await writer.drain()
                return
            if path == "/close":
                code = int(query.get("code", "1000"))
                reason = query.get("reason", "").encode()
                writer.write(frame(8, struct.pack("!H", code) + reason))
                await writer.drain()
                try:
                    await asyncio.wait_for(read_message(reader, writer), 5)
                except Exception:
                    pass
                return
            if path == "/drop":
                writer.transport.abort()
                return
            if path == "/fragment":
                parts = max(1, int(query.get("parts", "4")))
                step = max(1, -(-len(payload) // parts))
                chunks = [payload[i : i + step] for i in range(0, len(payload), step)] or [b""]
                for i, chunk in enumerate(chunks):
                    writer.write(frame(opcode if i == 0 else 0, chunk, fin=(i == len(chunks) - 1)))
                    if i < len(chunks) - 1:
                        writer.write(frame(9, b"ping"))
                    await writer.drain()
                continue
            writer.write(frame(opcode, payload))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    lifeline.exit_with_parent()
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    portfile.add_argument(parser)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args()
    context = None
    if args.tls:
        certs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "certs")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.path.join(certs, "server.pem"), os.path.join(certs, "server.key"))
    server = await asyncio.start_server(handle, "127.0.0.1", args.port, ssl=context, backlog=1024, limit=1 << 22)
    portfile.report(args.port_file, portfile.bound_port(server.sockets))
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
