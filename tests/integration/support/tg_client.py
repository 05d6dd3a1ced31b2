#!/usr/bin/env python3
"""Drives tests/fakes/fake_telegram.py from a test script.
  tg_client.py PORT inject JSON                     -> prints the update_id
  tg_client.py PORT next                            -> index of the next recorded call
  tg_client.py PORT wait METHOD SINCE [TEXT] [SECS] -> params (JSON) of the first call of METHOD at
                                                       index >= SINCE answered 200 whose params
                                                       contain TEXT; exit 1 after SECS (10)
  tg_client.py PORT count METHOD SINCE [TEXT]       -> how many such calls
  tg_client.py PORT attempts METHOD SINCE           -> "status t" per call, failed ones too
  tg_client.py PORT fail JSON | state"""
import json
import sys
import time
import urllib.request


def get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path), timeout=10) as r:
        return json.loads(r.read())


def post(port, path, body):
    req = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path), data=body.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def matches(port, method, since, text, ok_only=True):
    calls = get(port, "/control/calls?since=%d" % since)["calls"]
    return [c for c in calls if c["method"] == method and (c["status"] == 200 or not ok_only)
            and text in json.dumps(c["params"], ensure_ascii=False)]


def main():
    port, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "inject":
        print(post(port, "/control/inject", args[0])["update_id"])
    elif cmd == "next":
        print(get(port, "/control/calls?since=0")["next"])
    elif cmd == "fail":
        post(port, "/control/fail", args[0])
    elif cmd == "state":
        print(json.dumps(get(port, "/control/state")))
    elif cmd == "count":
        print(len(matches(port, args[0], int(args[1]), args[2] if len(args) > 2 else "")))
    elif cmd == "attempts":
        for c in matches(port, args[0], int(args[1]), "", ok_only=False):
            print(c["status"], "%.3f" % c["t"])
    elif cmd == "wait":
        text = args[2] if len(args) > 2 else ""
        deadline = time.time() + (float(args[3]) if len(args) > 3 else 10)
        while time.time() < deadline:
            m = matches(port, args[0], int(args[1]), text)
            if m:
                print(json.dumps(m[0]["params"], ensure_ascii=False))
                return 0
            time.sleep(0.05)
        sys.stderr.write("no %s call containing %r since %s\n" % (args[0], text, args[1]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
