#!/usr/bin/env bash
# Dead and unreachable nodes leave subscriptions by themselves (issue 15 item 4), with the real
# veil-hub and two real veil-nodes checking in (pull every $POLL s, push every $PUSH s), plus one
# node registered but never started:
#  - the never-started node is never in a /sub answer (it has never checked in);
#  - a node that checks in but whose public address does not answer TLS (registered on a port
#    nothing listens on, as if blocked) is taken out by the hub's probe (measured), and comes back
#    once it answers (its port corrected through the API);
#  - kill -9 a running node: it is gone from /sub within fleet.dead_after (measured);
#  - restart it: back in /sub at its first check-in (measured).
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/fleet.sh"

T_PORT=$(free_port) N1_PORT=$(free_port) N2_PORT=$(free_port) N3_PORT=$(free_port)
CLOSED_PORT=$(free_port) # nothing listens here: n2's public address while it is "blocked"
PROBE=1 PROBE_FAILS=2
DEAD=${DEAD:-20}

# The /sub cache is on (in memory) so the test also proves cached answers expire in time.
fleet_hub <<JSON
 "sync_interval": $PUSH, "subscription": {"title": "T", "update_interval_hours": 1},
 "cache": {"sub_ttl_ms": 5000}, "fleet": {"dead_after": $DEAD, "probe_interval": $PROBE,
   "probe_failures": $PROBE_FAILS, "probe_timeout_ms": 1000},
 "scheduler": {"enabled": true, "interval": 60}
JSON
fleet_target t "$T_PORT"

T1=$(fleet_register n1 "$N1_PORT" t.example.com | jget "['token']") &&
  T2=$(fleet_register n2 "$CLOSED_PORT" t.example.com | jget "['token']") &&
  fleet_register n3 "$N3_PORT" t.example.com >/dev/null || fail "node registration"
fleet_node_config n1 "$N1_PORT" "$T1" "127.0.0.1:$T_PORT" t.example.com
fleet_node_config n2 "$N2_PORT" "$T2" "127.0.0.1:$T_PORT" t.example.com

SUB=$(fleet_customer '{"username": "dora"}' | jget "['sub_token']")
# Registered, none started: nobody is served (before this change all three were).
[ -z "$(sub_servers)" ] || fail "nodes served before they ever checked in: $(sub_servers)"
ok "registered nodes that never checked in are not served"

bg n1 "$VEIL_BIN/veil-node" -c "$WORK/n1.json"
N1_PID=$LASTPID
bg n2 "$VEIL_BIN/veil-node" -c "$WORK/n2.json"
wait_port "$N1_PORT"
wait_port "$N2_PORT"

# The never-started node must not appear in any answer along the way.
servers_never() { case " $1 " in *" n3 "*) echo "n3 served: '$1'" >&2; return 1 ;; esac; }

# n1 is served once it checked in. n2 checks in too, but its public address does not answer: the
# probe takes it out ($PROBE_FAILS failures, one every ${PROBE}s) and it stays out.
t=$(wait_servers "n1" $((PUSH * 3 + 5))) || fail "n1 not served alone"
ok "the running node is served ${t}s after it started; the never-started one is not"
t0=$(date +%s.%N)
api GET /api/v1/nodes | python3 -c '
import json, sys
h = {n["name"]: (n["health"], n["last_seen"]) for n in json.load(sys.stdin)["nodes"]}
assert h["n3"] == ("unknown", 0), h
assert h["n2"][0] == "up" and h["n2"][1] > 0, h' || fail "stored node states"
for _ in $(seq 1 $((PROBE * PROBE_FAILS * 3 + 5))); do
  [ "$(sub_servers)" = "n1" ] || fail "unreachable n2 served: $(sub_servers)"
  sleep 0.5
done
grep -q '"event.action":"node_unreachable".*"name":"n2"' "$WORK/hub.log" || fail "no node_unreachable for n2 in the hub log"
ok "a node that checks in but does not answer TLS on its public address is not served (probe every ${PROBE}s, ${PROBE_FAILS} failures)"
api PATCH "/api/v1/nodes/$(api GET /api/v1/nodes | python3 -c 'import json,sys; print([n["id"] for n in json.load(sys.stdin)["nodes"] if n["name"] == "n2"][0])')" \
  "{\"port\": $N2_PORT}" >/dev/null || fail "patch n2"
t=$(wait_servers "n1 n2" $((PROBE * 3 + 5))) || fail "n2 not back once it answers"
ok "n2 back in /sub ${t}s after its address answers TLS"

# kill -9: no goodbye, the hub learns it only from the silence.
kill -9 "$N1_PID"
wait "$N1_PID" 2>/dev/null || true
t=$(wait_servers "n2" $((DEAD + 3))) || fail "killed node still served $((DEAD + 3)) s after kill -9"
ok "killed node out of /sub ${t}s after kill -9 (probe every ${PROBE}s x ${PROBE_FAILS}; silence backstop fleet.dead_after ${DEAD}s, pulls every ${POLL}s)"
python3 -c "import sys; sys.exit(0 if $t <= $DEAD + 1 else 1)" || fail "took ${t}s, deadline ${DEAD}s"

bg n1b "$VEIL_BIN/veil-node" -c "$WORK/n1.json"
t=$(wait_servers "n1 n2" $((DEAD + 3))) || fail "restarted node not back in /sub"
ok "restarted node back in /sub ${t}s after its restart (its first pull, at start, is a check-in)"
python3 -c "import sys; sys.exit(0 if $t <= $DEAD else 1)" || fail "took ${t}s, deadline ${DEAD}s"

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports"
fi
echo "hub node health: all checks passed"
