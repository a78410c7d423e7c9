#!/usr/bin/env python3
"""Loopback TCP/TLS line test server (stdlib only) for SocketTransportTests.

Usage: line_server.py --port N [--tls]

Each LF-terminated line from the client is a command:
  SPLIT   reply "hello world\\r\\n" and "second line\\n" in pieces, with pauses so they arrive in several reads
  BATCH   reply "one\\r\\ntwo\\nthree\\r\\n\\r\\n" in one write (four lines, the last empty)
  BINARY  reply a line holding bytes that are not UTF-8: 63 61 66 E9 20 FF FE 00 C3 28
  LONG N  reply one line of N 'a' bytes
  QUIT    close the connection
anything else is echoed back as it came (terminator included).
"""
import argparse
import asyncio
import os
import ssl
import lifeline
import portfile


async def handle(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            command = line.rstrip(b"\r\n")
            if command == b"SPLIT":
                for piece in (b"hel", b"lo wor", b"ld\r", b"\nsecond", b" line", b"\n"):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.03)
            elif command == b"BATCH":
                writer.write(b"one\r\ntwo\nthree\r\n\r\n")
            elif command == b"BINARY":
                writer.write(b"caf\xe9 \xff\xfe\x00\xc3\x28\r\n")
            elif command.startswith(b"LONG "):
                writer.write(b"a" * int(command[5:]) + b"\r\n")
            elif command == b"QUIT":
                break
            else:
                writer.write(line)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


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
    server = await asyncio.start_server(handle, "127.0.0.1", args.port, ssl=context, limit=1 << 20)
    portfile.report(args.port_file, portfile.bound_port(server.sockets))
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
