#!/usr/bin/env python3
"""Active-probing client for the probing-guard tests (loopback only).

  probe_tools.py burst SRC_IP NODE_PORT SNI COUNT
      COUNT connections from SRC_IP, one after another, each a plain TLS 1.3 handshake with SNI
      and no REALITY authentication (what a censor's prober sends). Prints "answered refused":
      answered = handshakes completed with the target's certificate (the node mirrored the
      target), refused = connections closed or reset before a handshake completed."""
import socket
import ssl
import sys


def burst(src, port, sni, count):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    answered = refused = 0
    for _ in range(count):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            t = ctx.wrap_socket(s, server_hostname=sni)
            if t.getpeercert(binary_form=True):
                answered += 1
            t.close()
        except (OSError, ssl.SSLError):
            refused += 1
            s.close()
    print(answered, refused)


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "burst":
        raise SystemExit(__doc__)
    burst(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
