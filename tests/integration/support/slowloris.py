#!/usr/bin/env python3
"""Slow-client attack on loopback, with a checker: keeps `--conns` partial HTTP requests open
from --attacker (a header line every --line-every seconds, reopened when the server closes them)
for --seconds, while another address polls /healthz and the node sync endpoint with a
--deadline timeout. Prints one JSON summary line. Bounded: loopback only, fixed count and time."""
import argparse, http.client, json, selectors, socket, threading, time


def checker(args, stop, out):
    ok = fail = 0
    worst = 0.0
    errors = []
    while not stop.is_set():
        for path, tok in (("/healthz", None), ("/api/v1/node/users?since=0", args.node_token)):
            t0 = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.deadline,
                                               source_address=(args.checker, 0))
                c.request("GET", path, headers={"Authorization": "Bearer " + tok} if tok else {})
                r = c.getresponse()
                r.read()
                c.close()
                dt = time.monotonic() - t0
                worst = max(worst, dt)
                if r.status == 200 and dt <= args.deadline:
                    ok += 1
                else:
                    fail += 1
                    errors.append("%s: %d in %.2fs" % (path, r.status, dt))
            except Exception as e:  # a timeout or a refused connection is what we measure
                fail += 1
                errors.append("%s: %s after %.2fs" % (path, type(e).__name__, time.monotonic() - t0))
        stop.wait(args.check_every)
    out.update(check_ok=ok, check_failed=fail, check_worst_s=round(worst, 3), check_errors=errors[:5])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--attacker", default="127.0.0.1")
    ap.add_argument("--checker", default="127.0.0.2")
    ap.add_argument("--conns", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=12)
    ap.add_argument("--line-every", type=float, default=1.0)
    ap.add_argument("--deadline", type=float, default=2.0)
    ap.add_argument("--check-every", type=float, default=0.3)
    ap.add_argument("--node-token", required=True)
    ap.add_argument("--no-reopen", action="store_true", help="open --conns once, do not replace closed ones")
    ap.add_argument("--reopen-rate", type=float, default=200, help="at most this many new connections a second")
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    live = {}  # socket -> [opened_at, next_line_at]
    lifetimes, refused_at_once = [], 0
    start = time.monotonic()
    end = start + args.seconds

    def open_one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((args.attacker, 0))
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", args.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            s.close()
            return False
        s.setblocking(False)
        now = time.monotonic()
        live[s] = [now, now + args.line_every]
        sel.register(s, selectors.EVENT_READ)
        return True

    def drop(s, now):
        opened = live.pop(s)[0]
        sel.unregister(s)
        s.close()
        lifetimes.append(now - opened)

    stop = threading.Event()
    result = {}
    for _ in range(args.conns):
        open_one()
    opened_first = len(live)
    time.sleep(0.5)  # let the server settle its accept decisions, then count who is still there
    for key, _ in sel.select(timeout=0):
        try:
            data = key.fileobj.recv(4096)
        except OSError:
            data = b""
        if not data:
            refused_at_once += 1
            drop(key.fileobj, time.monotonic())
    held_after_accept = len(live)
    th = threading.Thread(target=checker, args=(args, stop, result))
    th.start()
    while time.monotonic() < end:
        now = time.monotonic()
        for key, _ in sel.select(timeout=0):
            drop(key.fileobj, now)  # readable: closed, or answered (408/400): the slot is gone
        for s, st in list(live.items()):
            if now >= st[1]:
                try:
                    s.send(b"X-Slow: %d\r\n" % int(now * 1000))
                    st[1] = now + args.line_every
                except OSError:
                    drop(s, now)
        if not args.no_reopen:
            budget = int(args.reopen_rate * 0.1) or 1  # per pass of about 0.1 s
            while budget > 0 and len(live) < args.conns and time.monotonic() < end and open_one():
                budget -= 1
            time.sleep(max(0.0, 0.1 - (time.monotonic() - now)))
    stop.set()
    th.join()
    closed = list(lifetimes)  # closed by the server (refusals at accept included)
    survivors = [time.monotonic() - st[0] for st in live.values()]
    for s in list(live):
        drop(s, time.monotonic())
    result.update(opened_first=opened_first, held_after_accept=held_after_accept, refused_at_once=refused_at_once,
                  closed_by_server=len(closed), still_open_at_end=len(survivors),
                  longest_survivor_s=round(max(survivors, default=0.0), 2),
                  longest_closed_lifetime_s=round(max(closed, default=0.0), 2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
