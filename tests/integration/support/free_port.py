#!/usr/bin/env python3
"""Prints a TCP+UDP port that is free on every address right now.

Ports are picked at random below the kernel's ephemeral range: a port from bind(0) lies inside
that range, where the test's own outgoing connections (clients, Redis, PostgreSQL) may take it
before the server that was given it binds, which made tests fail with "Address already in use"
on a busy machine."""
import random
import socket
import sys


def ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET6, kind)
        try:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # covers 0.0.0.0 too
            s.bind(("::", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def main():
    high = min(ephemeral_low(), 65536) - 1
    low = 10000 if high > 12000 else 1024
    for _ in range(500):
        port = random.randint(low, high)
        if bindable(port):
            print(port)
            return 0
    print("free_port: no free port found", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
