#!/usr/bin/env python3
"""A REALITY target on loopback that answers every HTTP request with a redirect.

  redirect_target.py PORT CERT KEY LOCATION   TLS 1.3 (X25519, ALPN http/1.1), and to any request
                                              "HTTP/1.1 301 Moved Permanently" with Location: LOCATION"""
import socket
import ssl
import sys
import threading


def serve(conn, ctx, location):
    try:
        conn.settimeout(10)
        with ctx.wrap_socket(conn, server_side=True) as t:
            if t.recv(4096):
                t.sendall(b"HTTP/1.1 301 Moved Permanently\r\nServer: nginx\r\nLocation: " + location.encode() +
                          b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except (OSError, ssl.SSLError):
        pass  # probes and REALITY clients end their connections in many ways
    finally:
        conn.close()


def main():
    port, cert, key, location = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, ctx, location), daemon=True).start()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main()
