#!/usr/bin/env python3
"""A stream of balance top-ups through the hub's admin API, for failover tests.

Each top-up has its own amount (worker w, sequence i -> a distinct number of minor units), so
afterwards every acknowledged one can be found in the ledger by amount. Runs WORKERS threads
until STOP_FILE exists; writes one line per request to OUT: start end status amount
(status is the HTTP code, or 0 when no answer came).
"""
import argparse
import http.client
import json
import os
import threading
import time


def worker(args, w, lines, lock):
    i = 0
    while not os.path.exists(args.stop_file):
        i += 1
        amount = 1000 * (w * 100000 + i) + args.tag  # distinct per request and run, never 0
        body = json.dumps({"delta": amount})
        t0 = time.time()
        status = 0
        try:
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
            conn.request("POST", "/api/v1/users/%d/balance" % args.user, body,
                         {"Authorization": "Bearer " + args.token, "Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            status = resp.status
            conn.close()
        except (OSError, http.client.HTTPException):
            status = 0
        t1 = time.time()
        with lock:
            lines.append("%.3f %.3f %d %d" % (t0, t1, status, amount))
        time.sleep(args.pause)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--user", type=int, required=True)
    p.add_argument("--tag", type=int, default=7, help="1..999, distinct per run sharing a ledger")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--pause", type=float, default=0.02)
    p.add_argument("--timeout", type=float, default=15)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    lines, lock = [], threading.Lock()
    threads = [threading.Thread(target=worker, args=(args, w + 1, lines, lock)) for w in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(args.out + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
