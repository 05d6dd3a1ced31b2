#!/usr/bin/env python3
"""Steady load for the fleet failover test; one JSON line per finished attempt in OUT.

tunnels SOCKS_PORT[,SOCKS_PORT...] DEST_PORT RATE OUT STOPFILE
    RATE new tunnels per second through SOCKS5 clients (veil client; in turn when several):
    each fetches /hello from the HTTP sink at 127.0.0.1:DEST_PORT.
hold SOCKS_PORT ECHO_PORT COUNT OUT STOPFILE
    COUNT long tunnels to an echo server, each a round trip every 0.1 s until STOPFILE exists;
    a "hold-up" line when one is established, "hold" (ok when no round trip failed) at the end.
echo PORT
    the echo server for "hold".
http BASE_URL CAFILE TOKEN SUB_TOKEN RATE OUT STOPFILE
    RATE HTTPS requests per second, in turn GET /sub/SUB_TOKEN, POST /api/v1/users (a new
    username each; "user" in the line) and GET /api/v1/stats.
Runs until STOPFILE exists; lines: {"kind", "start", "end", "ok", "err"?, "user"?}.
"""
import http.client
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

lock = threading.Lock()


def record(out, line):
    with lock:
        out.write(json.dumps(line) + "\n")
        out.flush()


def socks_connect(socks_port, dest_port, timeout):
    s = socket.create_connection(("127.0.0.1", socks_port), timeout=timeout)
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        raise OSError("socks: no-auth refused")
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", dest_port))
    rep = b""
    while len(rep) < 10:
        chunk = s.recv(10 - len(rep))
        if not chunk:
            raise OSError("socks: closed during reply")
        rep += chunk
    if rep[1] != 0:
        raise OSError("socks: reply %d" % rep[1])
    return s


def read_all(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def one_tunnel(out, socks_port, dest_port):
    start = time.time()
    line = {"kind": "tunnel", "start": start}
    try:
        s = socks_connect(socks_port, dest_port, 10)
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: sink\r\nConnection: close\r\n\r\n")
        body = read_all(s)
        s.close()
        line["ok"] = b"hello through the tunnel" in body
        if not line["ok"]:
            line["err"] = "bad answer: %r" % body[:80]
    except OSError as e:
        line["ok"] = False
        line["err"] = str(e)
    line["end"] = time.time()
    record(out, line)


def one_hold(out, socks_port, dest_port, stopfile):
    start = time.time()
    line = {"kind": "hold", "start": start}
    n = 0
    try:
        s = socks_connect(socks_port, dest_port, 10)
        s.settimeout(10)
        f = s.makefile("rb")
        while True:
            stop = os.path.exists(stopfile)
            msg = b"ping %d\n" % n
            s.sendall(msg)
            if f.readline() != msg:
                raise OSError("echo lost after %d round trips" % n)
            if n == 0:
                record(out, {"kind": "hold-up", "start": start, "end": time.time(), "ok": True})
            n += 1
            if stop:
                break
            time.sleep(0.1)
        s.close()
        line["ok"] = True
    except OSError as e:
        line["ok"] = False
        line["err"] = str(e)
    line["end"] = time.time()
    line["round_trips"] = n
    record(out, line)


def echo_server(port):
    srv = socket.create_server(("127.0.0.1", port))

    def serve(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def one_http(out, base, ctx, token, sub_token, n):
    u = urllib.parse.urlsplit(base)
    start = time.time()
    kind = ("sub", "create", "stats")[n % 3]
    line = {"kind": kind, "start": start}
    try:
        c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
        auth = {"Authorization": "Bearer " + token}
        if kind == "sub":
            c.request("GET", "/sub/" + sub_token)
            want = 200
        elif kind == "create":
            line["user"] = "load-%d-%d" % (os.getpid(), n)
            c.request("POST", "/api/v1/users", body=json.dumps({"username": line["user"]}),
                      headers=dict(auth, **{"Content-Type": "application/json"}))
            want = 201
        else:
            c.request("GET", "/api/v1/stats", headers=auth)
            want = 200
        r = c.getresponse()
        r.read()
        c.close()
        line["ok"] = r.status == want
        line["status"] = r.status
        if not line["ok"]:
            line["err"] = "status %d" % r.status
    except (OSError, http.client.HTTPException) as e:
        line["ok"] = False
        line["err"] = "%s: %s" % (type(e).__name__, e)
    line["end"] = time.time()
    record(out, line)


def paced(rate, stopfile, start_one):
    """Starts start_one(n) every 1/rate seconds on its own thread until stopfile exists."""
    n = 0
    t0 = time.time()
    threads = []
    while not os.path.exists(stopfile):
        th = threading.Thread(target=start_one, args=(n,), daemon=True)
        th.start()
        threads.append(th)
        n += 1
        delay = t0 + n / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        threads = [t for t in threads if t.is_alive()]
    for th in threads:
        th.join(15)


def main():
    mode = sys.argv[1]
    if mode == "tunnels":
        socks_ports = [int(p) for p in sys.argv[2].split(",")]
        dest_port, rate = int(sys.argv[3]), float(sys.argv[4])
        out, stopfile = open(sys.argv[5], "a"), sys.argv[6]
        paced(rate, stopfile, lambda n: one_tunnel(out, socks_ports[n % len(socks_ports)], dest_port))
    elif mode == "hold":
        socks_port, dest_port, count = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        out, stopfile = open(sys.argv[5], "a"), sys.argv[6]
        threads = [threading.Thread(target=one_hold, args=(out, socks_port, dest_port, stopfile))
                   for _ in range(count)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    elif mode == "echo":
        echo_server(int(sys.argv[2]))
    elif mode == "http":
        base, cafile, token, sub_token, rate = sys.argv[2:7]
        out, stopfile = open(sys.argv[7], "a"), sys.argv[8]
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False
        paced(float(rate), stopfile, lambda n: one_http(out, base, ctx, token, sub_token, n))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
