#!/usr/bin/env python3
"""BitTorrent-blocking helpers for integration tests (loopback only).

  bt_tools.py sink TCPPORT UDPPORT LOG   TCP and UDP listeners on 127.0.0.1: every TCP
                                         connection's data and every datagram is echoed back and
                                         logged as "tcp HEX" / "udp HEX" (first 64 bytes), one line each
  bt_tools.py tcp SOCKSPORT PORT NAME    SOCKS5 CONNECT to 127.0.0.1:PORT, send sample NAME, print
                                         "echo" when it comes back within 3 s, else "refused"
  bt_tools.py udp SOCKSPORT PORT NAME    SOCKS5 UDP ASSOCIATE, send sample NAME to 127.0.0.1:PORT,
                                         print "echo" or "refused" (1.5 s)
  bt_tools.py hex NAME                   print sample NAME as hex

Samples are built from the BEPs: handshake (BEP 3), announce (BEP 3 HTTP tracker), dht (BEP 5
ping), utp (BEP 29 SYN), udptracker (BEP 15 connect); and what must pass: tls (a ClientHello
record header and body), http (GET /), quic (a QUIC v1 Initial), dns, plain."""
import os
import socket
import struct
import sys
import threading


def sample(name):
    if name == "handshake":
        return b"\x13BitTorrent protocol" + bytes(8) + bytes(range(20)) + b"-qB4650-abcdefghijkl"
    if name == "announce":
        return (b"GET /announce?info_hash=%12%34%56%78%9a%bc%de%f1%23%45%67%89%ab%cd%ef%12%34%56%78%9a"
                b"&peer_id=-TR2940-k8hj0wgej6ch&port=51413&uploaded=0&downloaded=0&left=1 HTTP/1.1\r\n"
                b"Host: tracker.example\r\n\r\n")
    if name == "dht":
        return b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"
    if name == "utp":
        return struct.pack(">BBHIIIHH", 0x41, 0, 0x5a17, 0x0badcafe, 0, 1048576, 0x1234, 0)
    if name == "udptracker":
        return struct.pack(">QII", 0x41727101980, 0, 0xdeadbeef)
    if name == "tls":
        body = b"\x03\x03" + os.urandom(32) + b"\x00\x00\x02\x13\x01\x01\x00\x00\x00"
        hs = b"\x01" + len(body).to_bytes(3, "big") + body
        return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs
    if name == "http":
        return b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"
    if name == "quic":
        return b"\xc3\x00\x00\x00\x01\x08" + os.urandom(8) + b"\x00\x00\x44\xd0" + os.urandom(1182)
    if name == "dns":
        return b"\x41\x00\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
    if name == "plain":
        return b"hello, not a torrent"
    raise SystemExit("unknown sample " + name)


def sink(tport, uport, log):
    lock = threading.Lock()

    def note(kind, data):
        with lock, open(log, "a") as f:
            f.write("%s %s\n" % (kind, data[:64].hex()))

    def serve(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                note("tcp", d)
                c.sendall(d)

    def tcp():
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", tport))
        s.listen(64)
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=tcp, daemon=True).start()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", uport))
    while True:
        d, a = u.recvfrom(65535)
        note("udp", d)
        u.sendto(d, a)


def socks_hello(c):
    c.sendall(b"\x05\x01\x00")
    if c.recv(2) != b"\x05\x00":
        raise SystemExit("socks: no auth refused")


def socks_reply(c):
    r = b""
    while len(r) < 10:
        d = c.recv(10 - len(r))
        if not d:
            raise SystemExit("socks: closed")
        r += d
    return r


def tcp(sport, port, name):
    data = sample(name)
    c = socket.create_connection(("127.0.0.1", sport), timeout=5)
    socks_hello(c)
    c.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", port))
    socks_reply(c)
    c.sendall(data)
    c.settimeout(3)
    got = b""
    try:
        while len(got) < len(data):
            d = c.recv(65536)
            if not d:
                break
            got += d
    except (socket.timeout, ConnectionError):
        pass
    print("echo" if got == data else "refused")


def udp(sport, port, name):
    data = sample(name)
    c = socket.create_connection(("127.0.0.1", sport), timeout=5)
    socks_hello(c)
    c.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
    r = socks_reply(c)
    relay = (socket.inet_ntoa(r[4:8]), struct.unpack(">H", r[8:10])[0])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(1.5)
    u.sendto(b"\x00\x00\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", port) + data, relay)
    try:
        d, _ = u.recvfrom(65535)
        print("echo" if d[10:] == data else "refused")
    except socket.timeout:
        print("refused")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "sink":
        sink(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "tcp":
        tcp(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "udp":
        udp(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    elif cmd == "hex":
        print(sample(sys.argv[2]).hex())
    else:
        raise SystemExit(__doc__)
