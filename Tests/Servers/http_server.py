#!/usr/bin/env python3
"""Loopback HTTP(S) test server for HTTPTransportTests (stdlib only).

Endpoints:
  /echo                 any method: JSON {method, path, headers, body}
  /sse?name=X&count=N   SSE: first event, then waits for /gate?name=X before the rest
  /gate?name=X          opens gate X; /sse-state?name=X reports waiting|finished|unknown
  /drip?count=N&ms=M&tag=T  N SSE events M ms apart, chunked
  /stall                headers, one chunk, then silence
  /stream?id=X          endless chunks until the client goes; /stream-state?id=X: open|closed|unknown
  /ratelimited          429 with Retry-After
  /bytes?n=N            N bytes of 'x'
  /big?id=X&mb=N        N MiB of 'y'; /stream-state?id=X: sending|finished|closed
  /redirect             302 to /echo
  /early                103 Early Hints block, then 201
--blackhole also listens on a second port whose accept queue is full, so connects there hang;
it prints "BLACKHOLE <port>" before READY.
"""
import argparse
import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
import lifeline
import portfile

lock = threading.Lock()
gates = {}        # name -> threading.Event
sse_state = {}    # name -> "waiting" | "finished"
stream_state = {} # id -> "open" | "closed"


def gate(name):
    with lock:
        return gates.setdefault(name, threading.Event())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else header and body writes meet delayed ACKs: 40 ms per request

    def log_message(self, fmt, *args):
        pass

    def query(self):
        parsed = urlparse(self.path)
        return parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}

    def send_body(self, status, body, content_type="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def start_chunked(self, content_type="text/event-stream"):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.flush()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def handle_any(self):
        path, q = self.query()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path == "/echo":
            out = {
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": body.decode("latin-1"),
            }
            self.send_body(200, json.dumps(out).encode())
        elif path == "/early":
            # An interim 103 block whose fields must not leak into the final response.
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            self.wfile.flush()
            self.send_body(201, b"final", "text/plain", [("X-Final", "yes")])
        elif path == "/redirect":
            self.send_body(302, b"moved", "text/plain", [("Location", "/echo?redirected=1")])
        elif path == "/ratelimited":
            self.send_body(429, b'{"error":"slow down"}', extra=[("Retry-After", "7")])
        elif path == "/bytes":
            self.send_body(200, b"x" * int(q.get("n", "0")), "application/octet-stream")
        elif path == "/gate":
            gate(q["name"]).set()
            self.send_body(200, b"opened", "text/plain")
        elif path == "/sse-state":
            with lock:
                state = sse_state.get(q["name"], "unknown")
            self.send_body(200, state.encode(), "text/plain")
        elif path == "/stream-state":
            with lock:
                state = stream_state.get(q["id"], "unknown")
            self.send_body(200, state.encode(), "text/plain")
        elif path == "/sse":
            name, count = q["name"], int(q.get("count", "3"))
            with lock:
                sse_state[name] = "waiting"
            self.start_chunked()
            self.chunk(b"data: event-0\n\n")
            gate(name).wait(30)
            for i in range(1, count):
                self.chunk(b"data: event-%d\n\n" % i)
            self.end_chunked()
            with lock:
                sse_state[name] = "finished"
        elif path == "/drip":
            count, ms, tag = int(q.get("count", "5")), int(q.get("ms", "10")), q.get("tag", "t")
            self.start_chunked()
            for i in range(count):
                self.chunk(b"data: %s-%d\n\n" % (tag.encode(), i))
                time.sleep(ms / 1000)
            self.end_chunked()
        elif path == "/cutoff":
            # Declares more than it sends, then closes: the client must still get every byte sent.
            n = int(q.get("n", "100000"))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n * 2))
            self.end_headers()
            self.wfile.write(b"z" * n)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif path == "/stall":
            self.start_chunked()
            self.chunk(b"data: first\n\n")
            time.sleep(120)
        elif path == "/big":
            ident, mb = q["id"], int(q.get("mb", "64"))
            with lock:
                stream_state[ident] = "sending"
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(mb << 20))
            self.end_headers()
            block = b"y" * 65536
            try:
                for _ in range(mb * 16):
                    self.wfile.write(block)
                final = "finished"
            except OSError:
                final = "closed"
            with lock:
                stream_state[ident] = final
        elif path == "/stream":
            ident = q["id"]
            with lock:
                stream_state[ident] = "open"
            self.start_chunked()
            try:
                for i in range(3000):
                    self.chunk(b"data: %d\n\n" % i)
                    time.sleep(0.02)
                self.end_chunked()
                final = "ended"
            except OSError:
                final = "closed"
            with lock:
                stream_state[ident] = final
            print("STREAM %s %s" % (ident, final), flush=True)
            self.close_connection = True
        else:
            self.send_body(404, b"not found", "text/plain")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def main():
    lifeline.exit_with_parent()
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    portfile.add_argument(parser)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--blackhole", action="store_true")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    if args.tls:
        certs = __file__.rsplit("/", 1)[0] + "/certs/"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs + "server.pem", certs + "server.key")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    keep = []
    if args.blackhole:
        # A listener that never accepts, with backlog 0, whose queue is then filled:
        # the kernel drops further SYNs, so a connect there hangs until the client gives up.
        hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hole.bind(("127.0.0.1", 0))
        hole.listen(0)
        keep.append(hole)
        for _ in range(3):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            try:
                filler.connect(hole.getsockname())
            except BlockingIOError:
                pass
            keep.append(filler)
        time.sleep(0.2)
        print("BLACKHOLE %d" % hole.getsockname()[1], flush=True)
    portfile.report(args.port_file, server.server_address[1])
    print("READY", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
