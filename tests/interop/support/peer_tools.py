#!/usr/bin/env python3
"""Configs for the genuine Xray-core and sing-box clients, and traffic through their proxies.

  peer_tools.py xray-server OUT PORT TARGETPORT PRIV SID SNI UUID,FLOW...
      Xray-core as the REALITY server (the reference the node is compared with).
  peer_tools.py xray-matrix OUT NODEPORT PBK SID SNI CASE...
  peer_tools.py singbox-matrix OUT NODEPORT PBK SID SNI CASE...
      One client process for many cases: CASE is TAG,UUID,FLOW,FINGERPRINT,LOCALPORT[,SERVERPORT]
      (FLOW "-" for none; SERVERPORT: another server than the node, e.g. Xray-core's own). Each case gets its own local proxy (Xray: socks with UDP; sing-box: mixed) on
      127.0.0.1:LOCALPORT whose traffic goes to its own VLESS + REALITY outbound, so one process
      covers every fingerprint and flow.
  peer_tools.py link-to-xray OUT LINK LOCALPORT
      An Xray client config for one vless:// link, as v2rayN/v2rayNG build it from the link.
  peer_tools.py sub-xray OUT SUBFILE ADDRESS LOCALPORT
  peer_tools.py sub-singbox OUT SUBFILE LOCALPORT
      The subscription's own config for the node at ADDRESS, changed only where a test machine
      needs it (see the functions): local port, no TUN, geoip:private as explicit CIDRs.
  peer_tools.py clash-check SUBFILE EXPECT_JSON
      Loads a mihomo YAML subscription and checks its proxy against EXPECT_JSON (no Clash
      binary is available to run it).
  peer_tools.py origin PORT COUNTFILE [tls CERT KEY]
      TCP origin (inside TLS with "tls"): reads a 24-byte header (up, down, case id: big-endian
      u64), `up` bytes, sends `down` bytes, half-closes, reads to EOF, then appends
      "<case id> <raw bytes received> <raw bytes sent>" to COUNTFILE: the exact TCP payload each
      way (TLS records included), which the node must book for the case's user. The id lets cases
      run at the same time.
  peer_tools.py transfer LOCALPORT HOST PORT UP DOWN ID [tls]
      SOCKS5 CONNECT to HOST:PORT (a name is sent as a name) and the exchange above: UP bytes
      up, DOWN bytes down (checked), labelled ID.
  peer_tools.py target PORT CERT KEY
      The REALITY target: TLS 1.3 on 127.0.0.1:PORT, one thread per connection, answering any
      request with a small page. (openssl s_server serves one connection at a time, so one
      client that never speaks would stall the node's handshakes with the target.)
  peer_tools.py sum COUNTFILE ID
      "<count> <up> <down>": the connections of case ID and their bytes as the origin saw them.
"""
import json
import os
import socket
import struct
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../integration/support"))
import usage_tools  # noqa: E402  (the origin's protocol and its byte-counting stream)

# Xray-core's geoip:private, written out: the genuine client reads it from geoip.dat, which the
# peers folder does not have.
PRIVATE_CIDRS = ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                 "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
                 "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3", "::/127", "fc00::/7", "fe80::/10", "ff00::/8"]


def parse_cases(args):
    cases = []
    for a in args:
        f = a.split(",")
        cases.append({"tag": f[0], "uuid": f[1], "flow": "" if f[2] == "-" else f[2], "fp": f[3], "port": int(f[4]),
                      "server_port": int(f[5]) if len(f) > 5 else None})
    return cases


def xray_outbound(tag, address, port, uuid, flow, fp, sni, pbk, sid, spider="/"):
    return {"tag": tag, "protocol": "vless",
            "settings": {"vnext": [{"address": address, "port": port,
                                    "users": [{"id": uuid, "encryption": "none", "flow": flow}]}]},
            "streamSettings": {"network": "raw", "security": "reality",
                               "realitySettings": {"serverName": sni, "fingerprint": fp, "publicKey": pbk,
                                                   "shortId": sid, "spiderX": spider}}}


def xray_socks(tag, port):
    return {"tag": tag, "listen": "127.0.0.1", "port": port, "protocol": "socks",
            "settings": {"auth": "noauth", "udp": True, "ip": "127.0.0.1"}}


def xray_matrix(out, node_port, pbk, sid, sni, cases):
    cfg = {"log": {"loglevel": "warning"}, "inbounds": [], "outbounds": [],
           "routing": {"domainStrategy": "AsIs", "rules": []}}
    for c in cases:
        cfg["inbounds"].append(xray_socks("in-" + c["tag"], c["port"]))
        cfg["outbounds"].append(xray_outbound("out-" + c["tag"], "127.0.0.1", c["server_port"] or node_port,
                                              c["uuid"], c["flow"],
                                              c["fp"], sni, pbk, sid))
        cfg["routing"]["rules"].append({"type": "field", "inboundTag": ["in-" + c["tag"]],
                                        "outboundTag": "out-" + c["tag"]})
    write(out, cfg)


def xray_server(out, port, target_port, priv, sid, sni, users):
    clients = [{"id": u.split(",")[0], "flow": "" if u.split(",")[1] == "-" else u.split(",")[1]} for u in users]
    write(out, {"log": {"loglevel": "warning"},
                "inbounds": [{"listen": "127.0.0.1", "port": port, "protocol": "vless",
                              "settings": {"clients": clients, "decryption": "none"},
                              "streamSettings": {"network": "raw", "security": "reality",
                                                 "realitySettings": {"target": "127.0.0.1:%d" % target_port,
                                                                     "serverNames": [sni], "privateKey": priv,
                                                                     "shortIds": [sid]}}}],
                "outbounds": [{"protocol": "freedom"}]})


def singbox_matrix(out, node_port, pbk, sid, sni, cases):
    cfg = {"log": {"level": "warn"}, "inbounds": [], "outbounds": [], "route": {"rules": []}}
    for c in cases:
        cfg["inbounds"].append({"type": "mixed", "tag": "in-" + c["tag"], "listen": "127.0.0.1",
                                "listen_port": c["port"]})
        cfg["outbounds"].append({"type": "vless", "tag": "out-" + c["tag"], "server": "127.0.0.1",
                                 "server_port": c["server_port"] or node_port, "uuid": c["uuid"], "flow": c["flow"],
                                 "packet_encoding": "xudp",
                                 "tls": {"enabled": True, "server_name": sni,
                                         "utls": {"enabled": True, "fingerprint": c["fp"]},
                                         "reality": {"enabled": True, "public_key": pbk, "short_id": sid}}})
        cfg["route"]["rules"].append({"inbound": ["in-" + c["tag"]], "outbound": "out-" + c["tag"]})
    write(out, cfg)


def link_to_xray(out, link, port):
    """What v2rayN/v2rayNG make of a vless:// link: one VLESS + REALITY outbound behind a socks
    inbound. Every parameter the link carries is used; one it does not explain is refused."""
    u = urllib.parse.urlsplit(link)
    if u.scheme != "vless":
        raise SystemExit("not a vless:// link: %s" % link)
    q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    known = {"encryption", "flow", "security", "sni", "fp", "pbk", "sid", "spx", "type", "headerType"}
    if set(q) - known:
        raise SystemExit("link parameters not understood: %s" % sorted(set(q) - known))
    if q.get("security") != "reality" or q.get("type", "tcp") not in ("tcp", "raw") or q.get("encryption") != "none":
        raise SystemExit("not a VLESS + REALITY + raw TCP link: %s" % link)
    host = u.hostname
    cfg = {"log": {"loglevel": "warning"}, "inbounds": [xray_socks("socks", port)],
           "outbounds": [xray_outbound("proxy", host, u.port, urllib.parse.unquote(u.username), q.get("flow", ""),
                                       q.get("fp", "chrome"), q.get("sni", host), q["pbk"], q.get("sid", ""),
                                       q.get("spx", "/"))]}
    write(out, cfg)


def sub_xray(out, subfile, address, port):
    """The Xray JSON subscription is a list of complete client configs, one per node; v2rayN runs
    the one picked. Changed here: the local ports (10808/10809 may be taken on a test machine)
    and geoip:private, which needs geoip.dat, as the same ranges written out."""
    configs = json.load(open(subfile))
    picked = [c for c in configs
              if any(v.get("address") == address for o in c["outbounds"] if o.get("protocol") == "vless"
                     for v in o["settings"]["vnext"])]
    if len(picked) != 1:
        raise SystemExit("want one config for %s, got %d" % (address, len(picked)))
    cfg = picked[0]
    for i, inb in enumerate(cfg["inbounds"]):
        inb["port"] = port if inb["protocol"] == "socks" else 0
    cfg["inbounds"] = [i for i in cfg["inbounds"] if i["port"]]
    for r in cfg.get("routing", {}).get("rules", []):
        if "ip" in r:
            r["ip"] = sum((PRIVATE_CIDRS if x == "geoip:private" else [x] for x in r["ip"]), [])
    write(out, cfg)


def sub_singbox(out, subfile, port):
    """sing-box JSON as served, minus the TUN inbound (no TUN device on a test machine), with
    the mixed inbound on a free port and without route.auto_detect_interface (it binds outbound
    sockets to the default interface, from which loopback cannot be reached)."""
    cfg = json.load(open(subfile))
    cfg.get("route", {}).pop("auto_detect_interface", None)
    cfg["inbounds"] = [i for i in cfg["inbounds"] if i["type"] != "tun"]
    mixed = [i for i in cfg["inbounds"] if i["type"] == "mixed"]
    if len(mixed) != 1:
        raise SystemExit("want one mixed inbound: %s" % cfg["inbounds"])
    mixed[0]["listen_port"] = port
    write(out, cfg)


def clash_check(subfile, expect):
    import yaml
    doc = yaml.safe_load(open(subfile, "rb").read().decode("utf-8"))
    want = json.loads(expect)
    proxies = [p for p in doc["proxies"] if p.get("server") == want["server"] and p.get("port") == want["port"]]
    if len(proxies) != 1:
        raise SystemExit("want one proxy for %s:%s in %s" % (want["server"], want["port"], doc["proxies"]))
    p = proxies[0]
    got = {"type": p.get("type"), "uuid": p.get("uuid"), "flow": p.get("flow", ""), "tls": p.get("tls"),
           "udp": p.get("udp"), "network": p.get("network"), "servername": p.get("servername"),
           "client-fingerprint": p.get("client-fingerprint"), "reality-opts": p.get("reality-opts")}
    exp = {"type": "vless", "uuid": want["uuid"], "flow": want["flow"], "tls": True, "udp": True,
           "network": "tcp", "servername": want["sni"], "client-fingerprint": want["fp"],
           "reality-opts": {"public-key": want["pbk"], "short-id": want["sid"]}}
    if got != exp:
        raise SystemExit("clash proxy differs:\n got  %s\n want %s" % (got, exp))
    groups = {g["name"]: g for g in doc["proxy-groups"]}
    if not any(p["name"] in g["proxies"] for g in groups.values()):
        raise SystemExit("the proxy is in no group")
    if doc["rules"][-1] != "MATCH,Proxy" or "Proxy" not in groups:
        raise SystemExit("traffic does not end at the Proxy group: %s" % doc["rules"][-1:])


def socks_connect(local_port, host, port):
    s = socket.create_connection(("127.0.0.1", local_port), timeout=30)
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        raise RuntimeError("SOCKS greeting refused")
    try:
        addr = b"\x01" + socket.inet_aton(host)
    except OSError:
        addr = b"\x03" + bytes([len(host)]) + host.encode()
    s.sendall(b"\x05\x01\x00" + addr + struct.pack(">H", port))
    rep = s.recv(4)
    if len(rep) < 4 or rep[1] != 0:
        raise RuntimeError("SOCKS connect refused: %r" % rep)
    left = {1: 6, 4: 18}.get(rep[3])
    if left is None:
        left = s.recv(1)[0] + 2
    while left:
        d = s.recv(left)
        if not d:
            raise RuntimeError("SOCKS reply cut")
        left -= len(d)
    return s


def serve_one(conn, ctx, countfile, lock):
    try:
        s = usage_tools.Raw(conn, ctx, server=True)
        up, down, case = usage_tools.HEADER.unpack(s.recv_exact(usage_tools.HEADER.size))
        s.recv_exact(up)
        block = b"d" * usage_tools.CHUNK
        left = down
        while left:
            n = min(usage_tools.CHUNK, left)
            s.send(block[:n])
            left -= n
        s.shutdown_write()
        s.drain()
        with lock, open(countfile, "a") as f:
            f.write("%d %d %d\n" % (case, s.rx, s.tx))
    except Exception as e:  # the test sees a missing count line
        sys.stderr.write("origin: %r\n" % (e,))
    finally:
        conn.close()


def origin(port, countfile, tls=None):
    ctx = None
    if tls:
        ctx = usage_tools.ssl.SSLContext(usage_tools.ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = usage_tools.ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(tls[0], tls[1])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    lock = usage_tools.threading.Lock()
    while True:
        conn, _ = ls.accept()
        usage_tools.threading.Thread(target=serve_one, args=(conn, ctx, countfile, lock), daemon=True).start()


def target_one(conn, ctx):
    try:
        conn.settimeout(30)
        with ctx.wrap_socket(conn, server_side=True) as t:
            if t.recv(4096):
                t.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<p>example</p>\n")
    except (OSError, usage_tools.ssl.SSLError):
        pass  # probes and REALITY clients end their connections in many ways
    finally:
        conn.close()


def target(port, cert, key):
    ctx = usage_tools.ssl.SSLContext(usage_tools.ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = usage_tools.ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(128)
    while True:
        conn, _ = ls.accept()
        usage_tools.threading.Thread(target=target_one, args=(conn, ctx), daemon=True).start()


def count_sum(countfile, case):
    n = up = down = 0
    for line in open(countfile):
        c, rx, tx = map(int, line.split())
        if c == case:
            n, up, down = n + 1, up + rx, down + tx
    print(n, up, down)


def transfer(local_port, host, port, up, down, case, tls=False):
    sock = socks_connect(local_port, host, port)
    ctx = None
    if tls:
        ctx = usage_tools.ssl.SSLContext(usage_tools.ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = usage_tools.ssl.CERT_NONE
        ctx.minimum_version = usage_tools.ssl.TLSVersion.TLSv1_3
    s = usage_tools.Raw(sock, ctx)
    s.send(usage_tools.HEADER.pack(up, down, case))
    block = b"u" * usage_tools.CHUNK
    left = up
    while left:
        n = min(usage_tools.CHUNK, left)
        s.send(block[:n])
        left -= n
    got = 0
    while True:
        data = s.recv(usage_tools.CHUNK)
        if not data:
            break
        got += len(data)
    if got != down:
        raise SystemExit("downloaded %d of %d" % (got, down))
    try:
        s.shutdown_write() if tls else sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # sing-box closes the whole connection once the far end has: the exchange is complete
    sock.close()


def write(path, cfg):
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1, ensure_ascii=False)


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "xray-matrix":
        xray_matrix(a[0], int(a[1]), a[2], a[3], a[4], parse_cases(a[5:]))
    elif cmd == "xray-server":
        xray_server(a[0], int(a[1]), int(a[2]), a[3], a[4], a[5], a[6:])
    elif cmd == "singbox-matrix":
        singbox_matrix(a[0], int(a[1]), a[2], a[3], a[4], parse_cases(a[5:]))
    elif cmd == "link-to-xray":
        link_to_xray(a[0], a[1], int(a[2]))
    elif cmd == "sub-xray":
        sub_xray(a[0], a[1], a[2], int(a[3]))
    elif cmd == "sub-singbox":
        sub_singbox(a[0], a[1], int(a[2]))
    elif cmd == "clash-check":
        clash_check(a[0], a[1])
    elif cmd == "origin":
        origin(int(a[0]), a[1], a[3:5] if len(a) > 2 and a[2] == "tls" else None)
    elif cmd == "transfer":
        transfer(int(a[0]), a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]), len(a) > 6 and a[6] == "tls")
    elif cmd == "target":
        target(int(a[0]), a[1], a[2])
    elif cmd == "sum":
        count_sum(a[0], int(a[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
