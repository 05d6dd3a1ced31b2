#!/usr/bin/env python3
"""Test HTTP origin for the tunnel tests (loopback only).

GET  /bytes/N    N pseudo-random bytes (seeded by N), X-Sha256 header with their digest
POST /sink       reads the body, answers its length and SHA-256 as "LEN HEX"
GET  /hello      "hello through the tunnel"
Usage: http_sink.py PORT [--tls CERT KEY]
"""
import hashlib
import http.server
import random
import socketserver
import ssl
import sys


def payload(n):
    rnd = random.Random(n)
    return rnd.randbytes(n)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/hello":
            body = b"hello through the tunnel\n"
        elif self.path.startswith("/bytes/"):
            body = payload(int(self.path[7:]))
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Sha256", hashlib.sha256(body).hexdigest())
        self.end_headers()
        view = memoryview(body)
        for i in range(0, len(body), 1 << 20):
            self.wfile.write(view[i:i + (1 << 20)])

    def do_POST(self):
        left = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        total = 0
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            total += len(chunk)
            left -= len(chunk)
        body = f"{total} {h.hexdigest()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    port = int(sys.argv[1])
    srv = Server(("127.0.0.1", port), Handler)
    if len(sys.argv) == 5 and sys.argv[2] == "--tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
