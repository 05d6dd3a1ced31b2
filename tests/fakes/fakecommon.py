"""Shared plumbing of the local provider fakes: a threaded HTTP server on loopback that writes
its port to a file, JSON helpers, and webhook delivery to the hub from a chosen source address
(so a test can send from 127.0.0.2, outside a trusted network). Standard library only."""
import http.client
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes = {}  # (method, path) -> fn(handler, query, body) -> (status, content_type, bytes)

    def log_message(self, fmt, *args):
        sys.stderr.write("fake: " + (fmt % args) + "\n")

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        fn = self.routes.get((method, url.path))
        if fn is None:
            for (m, prefix), f in self.routes.items():
                if m == method and prefix.endswith("/") and url.path.startswith(prefix):
                    fn = f
                    break
        if fn is None:
            status, ctype, out = 404, "application/json", b'{"error":"not found"}'
        else:
            status, ctype, out = fn(self, url.path, query, body)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")


def jresp(status, obj):
    return status, "application/json; charset=utf-8", json.dumps(obj).encode()


def serve(routes, port_file):
    cls = type("H", (Handler,), {"routes": routes})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), cls)
    srv.daemon_threads = True
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.replace(port_file + ".tmp", port_file)
    srv.serve_forever()


def post(url, body, headers, source="127.0.0.1", method="POST"):
    """One HTTP request to the hub from `source`; returns (status, body text)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15, source_address=(source, 0))
    path = u.path + ("?" + u.query if u.query else "")
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def deliver(url, body, headers, times=1, concurrent=1, source="127.0.0.1"):
    """Delivers the same notification `times` times, `concurrent` of them at once first."""
    results = []
    lock = threading.Lock()

    def one():
        try:
            r = post(url, body, headers, source)
        except OSError as e:
            r = (0, str(e))
        with lock:
            results.append(r)

    threads = [threading.Thread(target=one) for _ in range(min(concurrent, times))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(times - len(threads)):
        one()
    return [{"status": s, "body": b} for s, b in results]
