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

HUB_PORT=$(free_port) T_PORT=$(free_port) N1_PORT=$(free_port) N2_PORT=$(free_port) N3_PORT=$(free_port)
CLOSED_PORT=$(free_port) # nothing listens here: n2's public address while it is "blocked"
PROBE=1 PROBE_FAILS=2
ADMIN=admin-$RANDOM$RANDOM$RANDOM
POLL=5 PUSH=10 DEAD=${DEAD:-20}

# The /sub cache is on (in memory) so the test also proves cached answers expire in time.
cat >"$WORK/hub.json" <<EOF
{"listen": "127.0.0.1", "port": $HUB_PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$ADMIN", "log_level": "info", "sync_interval": $PUSH,
 "subscription": {"title": "T", "update_interval_hours": 1},
 "cache": {"sub_ttl_ms": 5000}, "fleet": {"dead_after": $DEAD, "probe_interval": $PROBE,
   "probe_failures": $PROBE_FAILS, "probe_timeout_ms": 1000},
 "scheduler": {"enabled": true, "interval": 60}}
EOF
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$HUB_PORT"
api() { curl -fsS -X "$1" "http://127.0.0.1:$HUB_PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
wait_port "$T_PORT"

SID=a1b2c3d4e5f60718
# register NAME PORT: a node in the hub at 127.0.0.1:PORT with fresh keys; prints its token, keeps
# the private key.
register() {
  local keys pub
  keys=$("$VEIL_BIN/veil" x25519)
  sed -n 's/^PrivateKey: //p' <<<"$keys" >"$WORK/$1.priv"
  pub=$(sed -n 's/^Password (PublicKey): //p' <<<"$keys")
  api POST /api/v1/nodes "{\"name\": \"$1\", \"address\": \"127.0.0.1\", \"port\": $2,
    \"public_key\": \"$pub\", \"short_ids\": [\"$SID\"], \"server_names\": [\"example.com\"]}" | jget "['token']"
}
# node_config NAME PORT TOKEN: a veil-node syncing with the hub every $PUSH s.
node_config() {
  mkdir -p "$WORK/$1-state"
  printf '%s\n' "{\"log\": {\"loglevel\": \"info\"},
 \"inbounds\": [{\"listen\": \"127.0.0.1\", \"port\": $2, \"protocol\": \"vless\",
   \"settings\": {\"clients\": [], \"decryption\": \"none\"},
   \"streamSettings\": {\"network\": \"raw\", \"security\": \"reality\",
     \"realitySettings\": {\"target\": \"127.0.0.1:$T_PORT\", \"serverNames\": [\"example.com\"],
       \"privateKey\": \"$(cat "$WORK/$1.priv")\", \"shortIds\": [\"$SID\"]}}}],
 \"outbounds\": [{\"protocol\": \"freedom\"}],
 \"veil\": {\"workers\": 1, \"stateDir\": \"$WORK/$1-state\",
          \"hub\": {\"url\": \"http://127.0.0.1:$HUB_PORT\", \"token\": \"$3\", \"pollSec\": $POLL, \"pushSec\": $PUSH}}}" \
    >"$WORK/$1.json"
}
T1=$(register n1 "$N1_PORT") && T2=$(register n2 "$CLOSED_PORT") && register n3 "$N3_PORT" >/dev/null ||
  fail "node registration"
node_config n1 "$N1_PORT" "$T1"
node_config n2 "$N2_PORT" "$T2"

PLAN=$(api POST /api/v1/plans '{"name": "M", "duration_days": 30, "prices": {"RUB": 10000}}' | jget "['id']")
U=$(api POST /api/v1/users '{"username": "dora"}')
TOKEN=$(jget "['sub_token']" <<<"$U")
api POST /api/v1/subscriptions "{\"user_id\": $(jget "['id']" <<<"$U"), \"plan_id\": $PLAN}" >/dev/null ||
  fail "subscription"
# The names (link remarks) of the servers in the answer a v2rayNG client gets, sorted.
servers() {
  curl -fsS -A 'v2rayNG/1.9.30' "http://127.0.0.1:$HUB_PORT/sub/$TOKEN" | base64 -d |
    sed -n 's/^vless:\/\/.*#\(.*\)$/\1/p' | sort | tr '\n' ' ' | sed 's/ $//'
}
# Registered, none started: nobody is served (before this change all three were).
[ -z "$(servers)" ] || fail "nodes served before they ever checked in: $(servers)"
ok "registered nodes that never checked in are not served"

bg n1 "$VEIL_BIN/veil-node" -c "$WORK/n1.json"
N1_PID=$LASTPID
bg n2 "$VEIL_BIN/veil-node" -c "$WORK/n2.json"
wait_port "$N1_PORT"
wait_port "$N2_PORT"

# wait_servers WANT SECONDS: polls /sub until it lists exactly WANT; prints the seconds it took.
wait_servers() {
  local t0 now got
  t0=$(date +%s.%N)
  while :; do
    got=$(servers)
    now=$(date +%s.%N)
    # The never-started node must not appear in any answer along the way.
    case " $got " in *" n3 "*) echo "n3 served: '$got'" >&2; return 1 ;; esac
    [ "$got" = "$1" ] && { python3 -c "print(f'{$now - $t0:.1f}')"; return 0; }
    python3 -c "import sys; sys.exit(0 if $now - $t0 < $2 else 1)" || { echo "got '$got'" >&2; return 1; }
    sleep 0.2
  done
}

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
  [ "$(servers)" = "n1" ] || fail "unreachable n2 served: $(servers)"
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
