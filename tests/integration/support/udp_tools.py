#!/usr/bin/env python3
"""UDP helpers for integration tests (loopback only).

  udp_tools.py echo PORT [PREFIX]      UDP echo on 127.0.0.1 (echo6: on ::1): answers "<sender port>|<payload>", or
                                       PREFIX + payload (the transcripts' "echo29001:")
  udp_tools.py dns PORT IP             DNS responder: A queries for *.loop.test get 127.0.0.1,
                                       nx.* names NXDOMAIN, AAAA no answer, others IP (TTL 60)
  udp_tools.py socks SOCKSPORT STEP... one SOCKS5 UDP association, steps in order:
      send HOST PORT TEXT      datagram to HOST:PORT (HOST: IPv4 literal or a name)
      expect TEXT              next reply's payload must contain TEXT (5 s)
      from HOST PORT           ... and the last reply's SOCKS source must be HOST:PORT
      port NAME                remember the sender port the echo server saw as NAME
      differ A B / same A B    remembered ports must differ / be equal
      noreply SECONDS          no datagram may arrive for that long
      dns HOST PORT NAME IP    A query for NAME via HOST:PORT, answer must contain IP
      sleep SECONDS
      reconnect                a new association (new control connection), same local socket
Exit status 0 when every step passed; the first failure is printed."""
import socket
import struct
import sys
import time


def echo(port, prefix=None, v6=False):
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("::1" if v6 else "127.0.0.1", port))
    while True:
        data, addr = s.recvfrom(65535)
        head = prefix.encode() if prefix is not None else b"%d|" % addr[1]
        s.sendto(head + data, addr)


def dns_name(data, off):
    labels = []
    while data[off]:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode())
        off += 1 + n
    return ".".join(labels), off + 1


def dns(port, ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        q, addr = s.recvfrom(65535)
        if len(q) < 12:
            continue
        qid = q[:2]
        name, end = dns_name(q, 12)
        qtype = struct.unpack(">H", q[end:end + 2])[0]
        question = q[12:end + 4]
        if name.startswith("nx."):
            s.sendto(qid + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + question, addr)
            continue
        if qtype != 1:
            s.sendto(qid + struct.pack(">HHHHH", 0x8180, 1, 0, 0, 0) + question, addr)
            continue
        a = "127.0.0.1" if name.endswith(".loop.test") else ip
        ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(a)
        hdr = qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
        s.sendto(hdr + question + ans, addr)


def socks_header(host, port):
    if ":" in host:
        return b"\x00\x00\x00\x04" + socket.inet_pton(socket.AF_INET6, host) + struct.pack(">H", port)
    try:
        return b"\x00\x00\x00\x01" + socket.inet_aton(host) + struct.pack(">H", port)
    except OSError:
        h = host.encode()
        return b"\x00\x00\x00\x03" + bytes([len(h)]) + h + struct.pack(">H", port)


def parse_socks(d):
    if d[3] == 1:
        return socket.inet_ntoa(d[4:8]), struct.unpack(">H", d[8:10])[0], d[10:]
    if d[3] == 3:
        n = d[4]
        return d[5:5 + n].decode(), struct.unpack(">H", d[5 + n:7 + n])[0], d[7 + n:]
    if d[3] == 4:
        return socket.inet_ntop(socket.AF_INET6, d[4:20]), struct.unpack(">H", d[20:22])[0], d[22:]
    raise ValueError("bad atyp")


def dns_query(name):
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00\x00\x01\x00\x01"


def associate(sport):
    ctl = socket.create_connection(("127.0.0.1", sport), timeout=10)
    ctl.sendall(b"\x05\x01\x00")
    assert ctl.recv(2) == b"\x05\x00", "method"
    ctl.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
    rep = ctl.recv(64)
    assert rep[:2] == b"\x05\x00", "UDP ASSOCIATE refused: %r" % rep
    return ctl, (socket.inet_ntoa(rep[4:8]), struct.unpack(">H", rep[8:10])[0])


def socks(sport, steps):
    ctl, relay = associate(sport)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    ports = {}
    last = None
    i = 0

    def recv(timeout):
        u.settimeout(timeout)
        d, _ = u.recvfrom(65535)
        return parse_socks(d)

    while i < len(steps):
        op = steps[i]
        if op == "send":
            u.sendto(socks_header(steps[i + 1], int(steps[i + 2])) + steps[i + 3].encode(), relay)
            i += 4
        elif op == "expect":
            try:
                last = recv(5)
            except socket.timeout:
                sys.exit("FAIL: no reply (wanted %r)" % steps[i + 1])
            if steps[i + 1].encode() not in last[2]:
                sys.exit("FAIL: reply %r lacks %r" % (last[2], steps[i + 1]))
            print("got %r from %s:%d" % (last[2], last[0], last[1]))
            i += 2
        elif op == "from":
            if (last[0], last[1]) != (steps[i + 1], int(steps[i + 2])):
                sys.exit("FAIL: reply from %s:%d, wanted %s:%s" % (last[0], last[1], steps[i + 1], steps[i + 2]))
            i += 3
        elif op == "port":
            ports[steps[i + 1]] = last[2].split(b"|")[0]
            i += 2
        elif op in ("differ", "same"):
            a, b = ports[steps[i + 1]], ports[steps[i + 2]]
            if (a == b) != (op == "same"):
                sys.exit("FAIL: ports %s %s: %s %s" % (a, b, op, steps[i + 1:i + 3]))
            i += 3
        elif op == "noreply":
            try:
                got = recv(float(steps[i + 1]))
                sys.exit("FAIL: unexpected reply %r" % (got,))
            except socket.timeout:
                pass
            i += 2
        elif op == "dns":
            host, port, name, ip = steps[i + 1:i + 5]
            u.sendto(socks_header(host, int(port)) + dns_query(name), relay)
            try:
                last = recv(5)
            except socket.timeout:
                sys.exit("FAIL: no DNS answer for %s" % name)
            if socket.inet_aton(ip) not in last[2] or last[2][:2] != b"\x12\x34":
                sys.exit("FAIL: DNS answer %r lacks %s" % (last[2], ip))
            print("dns %s -> %s" % (name, ip))
            i += 5
        elif op == "reconnect":
            ctl.close()
            time.sleep(0.3)
            ctl, relay = associate(sport)
            i += 1
        elif op == "sleep":
            time.sleep(float(steps[i + 1]))
            i += 2
        else:
            sys.exit("bad step %r" % op)
    ctl.close()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "echo":
        echo(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "echo6":
        echo(int(sys.argv[2]), None, True)
    elif cmd == "dns":
        dns(int(sys.argv[2]), sys.argv[3])
    elif cmd == "socks":
        socks(int(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit(__doc__)
