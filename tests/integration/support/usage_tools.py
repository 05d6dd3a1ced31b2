#!/usr/bin/env python3
"""Byte-exact traffic and /metrics checks for integration tests (loopback only).

  usage_tools.py origin PORT COUNTFILE [tls CERT KEY]
      TCP origin. Per connection (inside TLS with "tls"): reads a 24-byte header
      (up, down, pace_ms: big-endian u64), then `up` bytes, sends `down` bytes in 64 KiB chunks
      (sleeping pace_ms between chunks), half-closes and reads to EOF. Then appends
      "<raw bytes received> <raw bytes sent>" to COUNTFILE: the exact TCP payload each way,
      TLS records included, which is what the node must count for the tunnel.
  usage_tools.py client SOCKSPORT PORT UP DOWN [PACE_MS] [tls]
      SOCKS5 CONNECT to 127.0.0.1:PORT, runs the exchange above, checks the byte counts.
  usage_tools.py hello-spray NODEPORT N SNI
      Sends N TLS 1.3 ClientHellos (one per connection) that fail REALITY authentication.
  usage_tools.py hello-hold NODEPORT N SNI SECONDS RESULTFILE
      Opens N connections that each send a failing ClientHello and then sit idle without reading
      (fallback relays the node must not keep forever), writes their count to RESULTFILE.open
      once they are open, holds them SECONDS, then writes "<connected> <closed by the node>" to
      RESULTFILE.
  usage_tools.py fakehub PORT PUSHLOG ID UUID EMAIL
      A minimal veil-hub sync endpoint (docs/sync-protocol.md): GET /api/v1/node/users answers a
      full table with one user; every POST /api/v1/node/usage body is appended to PUSHLOG (one
      JSON document a line) and accepted.
  usage_tools.py metrics URL
      Fetches and strictly parses a Prometheus text page (version 0.0.4); prints JSON
      {"family": {"type": T, "samples": [[name, {labels}, value], ...]}}. Exit 1 on any
      syntax error, a sample without a TYPE, or a duplicate series.
"""
import json
import math
import re
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.request

HEADER = struct.Struct(">QQQ")
CHUNK = 65536


class Raw:
    """A blocking stream over a socket, optionally TLS through memory BIOs, counting raw bytes."""

    def __init__(self, sock, ctx=None, server=False):
        self.sock, self.rx, self.tx = sock, 0, 0
        self.tls = None
        if ctx is not None:
            self.inb, self.outb = ssl.MemoryBIO(), ssl.MemoryBIO()
            self.tls = ctx.wrap_bio(self.inb, self.outb, server_side=server)
            self._io(self.tls.do_handshake)

    def _flush(self):
        data = self.outb.read()
        if data:
            self.sock.sendall(data)
            self.tx += len(data)

    def _fill(self):
        data = self.sock.recv(CHUNK)
        self.rx += len(data)
        if data:
            self.inb.write(data)
        else:
            self.inb.write_eof()
        return bool(data)

    def _io(self, fn, *a):
        while True:
            try:
                r = fn(*a)
                self._flush()
                return r
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()

    def send(self, data):
        if self.tls is None:
            self.sock.sendall(data)
            self.tx += len(data)
        else:
            self._io(self.tls.write, data)

    def recv(self, n):
        if self.tls is None:
            data = self.sock.recv(n)
            self.rx += len(data)
            return data
        try:
            return self._io(self.tls.read, n)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""

    def recv_exact(self, n):
        out = bytearray()
        while len(out) < n:
            data = self.recv(min(CHUNK, n - len(out)))
            if not data:
                raise EOFError("short read: %d of %d" % (len(out), n))
            out += data
        return bytes(out)

    def shutdown_write(self):
        if self.tls is not None:
            try:
                self.tls.unwrap()
            except ssl.SSLWantReadError:
                pass
            self._flush()
        self.sock.shutdown(socket.SHUT_WR)

    def drain(self):
        """Reads (and counts) everything up to the peer's EOF."""
        if self.tls is None:
            while self.recv(CHUNK):
                pass
            return
        while True:
            data = self.sock.recv(CHUNK)
            self.rx += len(data)
            if not data:
                return


def serve_one(conn, ctx, countfile, lock):
    try:
        s = Raw(conn, ctx, server=True)
        up, down, pace = HEADER.unpack(s.recv_exact(HEADER.size))
        s.recv_exact(up)
        block = b"d" * CHUNK
        left = down
        while left:
            n = min(CHUNK, left)
            s.send(block[:n])
            left -= n
            if pace and left:
                time.sleep(pace / 1000)
        s.shutdown_write()
        s.drain()
        with lock, open(countfile, "a") as f:
            f.write("%d %d\n" % (s.rx, s.tx))
    except Exception as e:  # the test sees a missing count line
        sys.stderr.write("origin: %r\n" % (e,))
    finally:
        conn.close()


def origin(port, countfile, tls=None):
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(tls[0], tls[1])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    lock = threading.Lock()
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve_one, args=(conn, ctx, countfile, lock), daemon=True).start()


def socks_connect(sport, port):
    s = socket.create_connection(("127.0.0.1", sport), timeout=30)
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        raise RuntimeError("SOCKS greeting refused")
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", port))
    rep = b""
    while len(rep) < 10:
        d = s.recv(10 - len(rep))
        if not d:
            raise RuntimeError("SOCKS connect: closed")
        rep += d
    if rep[1] != 0:
        raise RuntimeError("SOCKS connect refused: %d" % rep[1])
    return s


def client(sport, port, up, down, pace=0, tls=False):
    sock = socks_connect(sport, port)
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    s = Raw(sock, ctx)
    s.send(HEADER.pack(up, down, pace))
    block = b"u" * CHUNK
    left = up
    while left:
        n = min(CHUNK, left)
        s.send(block[:n])
        left -= n
    got = 0
    while True:
        data = s.recv(CHUNK)
        if not data:
            break
        got += len(data)
    if got != down:
        raise RuntimeError("downloaded %d of %d" % (got, down))
    s.shutdown_write() if tls else sock.shutdown(socket.SHUT_WR)
    sock.close()


def failing_hello(sni):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inb, outb, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outb.read()  # random session id: REALITY authentication fails


def hello_hold(port, n, sni, seconds, result):
    import select
    import time
    hello = failing_hello(sni)
    socks = []
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(hello)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            pass
    end = time.monotonic() + seconds
    with open(result + ".open", "w") as f:  # the flood is in place: the test may measure now
        f.write("%d\n" % len(socks))
    closed = set()
    p = select.poll()
    by_fd = {s.fileno(): s for s in socks}
    for s in socks:  # peer shutdown shows even with the target's bytes left unread
        p.register(s, select.POLLRDHUP)
    while time.monotonic() < end:
        for fd, ev in p.poll(200):
            if ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
                closed.add(fd)
                p.unregister(fd)
    with open(result, "w") as f:
        f.write("%d %d\n" % (len(by_fd), len(closed)))
    for s in socks:
        s.close()


def hello_spray(port, n, sni):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inb, outb, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outb.read()  # random session id: REALITY authentication fails
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(hello)
        s.close()


# ---- Prometheus text format 0.0.4 ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
SAMPLE = re.compile(r"^(" + NAME + r")(\{(.*)\})? (\S+)( -?[0-9]+)?$")
LABEL_PAIR = re.compile(r"(" + LABEL + r')="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)')


def parse_value(v):
    if v in ("+Inf", "-Inf", "NaN"):
        return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}[v]
    return float(v)  # raises on garbage


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL_PAIR.match(text, pos)
        if not m:
            raise ValueError("bad labels: %r" % text)
        if m.group(1) in labels:
            raise ValueError("repeated label %s" % m.group(1))
        labels[m.group(1)] = m.group(2).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        pos = m.end()
        if m.group(3) == "" and pos != len(text):
            raise ValueError("bad labels: %r" % text)
    return labels


def parse_metrics(text):
    fams, seen = {}, set()
    if text and not text.endswith("\n"):
        raise ValueError("no final newline")
    for ln, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name = line[7:].split(" ", 1)[0]
            if not re.fullmatch(NAME, name):
                raise ValueError("line %d: bad HELP name" % ln)
            continue
        if line.startswith("# TYPE "):
            parts = line[7:].split(" ")
            if len(parts) != 2 or not re.fullmatch(NAME, parts[0]) or parts[1] not in (
                    "counter", "gauge", "histogram", "summary", "untyped"):
                raise ValueError("line %d: bad TYPE: %r" % (ln, line))
            if parts[0] in fams:
                raise ValueError("line %d: second TYPE for %s" % (ln, parts[0]))
            fams[parts[0]] = {"type": parts[1], "samples": []}
            continue
        if line.startswith("#") or line == "":
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("line %d: bad sample: %r" % (ln, line))
        name, labels, value = m.group(1), parse_labels(m.group(3) or ""), parse_value(m.group(4))
        fam = name
        if fam not in fams:
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and name[:-len(suffix)] in fams:
                    fam = name[:-len(suffix)]
        if fam not in fams:
            raise ValueError("line %d: sample %s without TYPE" % (ln, name))
        if fams[fam]["type"] == "counter" and (value < 0 or math.isnan(value)):
            raise ValueError("line %d: negative counter" % ln)
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ValueError("line %d: duplicate series %r" % (ln, key))
        seen.add(key)
        fams[fam]["samples"].append([name, labels, value])
    return fams


def fakehub(port, pushlog, uid, uuid, email):
    import http.server

    class H(http.server.BaseHTTPRequestHandler):
        def reply(self, doc):
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.reply({"v": 1, "revision": 1, "full": True, "removed": [],
                        "users": [{"id": uid, "uuid": uuid, "email": email, "flow": ""}]})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with open(pushlog, "a") as f:
                f.write(json.dumps(json.loads(body)) + "\n")
            self.reply({"v": 1, "duplicate": False, "revision": 1})

        def log_message(self, *a):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


def main(argv):
    cmd = argv[1]
    if cmd == "origin":
        origin(int(argv[2]), argv[3], (argv[5], argv[6]) if len(argv) > 4 and argv[4] == "tls" else None)
    elif cmd == "client":
        rest = argv[6:]
        tls = "tls" in rest
        nums = [a for a in rest if a != "tls"]
        client(int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5]), int(nums[0]) if nums else 0, tls)
    elif cmd == "hello-hold":
        hello_hold(int(argv[2]), int(argv[3]), argv[4], float(argv[5]), argv[6])
    elif cmd == "hello-spray":
        hello_spray(int(argv[2]), int(argv[3]), argv[4])
    elif cmd == "fakehub":
        fakehub(int(argv[2]), argv[3], int(argv[4]), argv[5], argv[6])
    elif cmd == "metrics":
        text = urllib.request.urlopen(argv[2], timeout=10).read().decode()
        try:
            fams = parse_metrics(text)
        except ValueError as e:
            print("metrics: %s" % e, file=sys.stderr)
            return 1
        print(json.dumps(fams))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
