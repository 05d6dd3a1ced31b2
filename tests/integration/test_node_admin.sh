#!/usr/bin/env bash
# veil-node's loopback services end to end: /metrics, the admin API (add a user, fetch its link,
# remove a user), persistence in stateDir across SIGHUP and a restart, and the bearer token.
set -euo pipefail
NODE="$VEIL_BIN/veil-node"
TMP=$(mktemp -d /tmp/veil-nodeadm.XXXXXX)
PID=
cleanup() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f $TMP/log ]] && tail -n 20 "$TMP/log"; exit 1; }
port() { python3 "$(dirname "$0")/support/free_port.py"; }
P=$(port); A=$(port); M=$(port)
TOKEN=admin-token-0123456789
cat >"$TMP/node.json" <<JSON
{"inbounds": [{"listen": "127.0.0.1", "port": $P, "protocol": "vless",
  "settings": {"clients": [{"id": "alice", "email": "alice@x", "flow": "xtls-rprx-vision"}], "decryption": "none"},
  "streamSettings": {"security": "reality", "realitySettings": {"target": "127.0.0.1:9",
    "serverNames": ["www.example.com"], "privateKey": "EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8",
    "shortIds": ["0123456789abcdef"]}}}],
 "veil": {"workers": 1, "stateDir": "$TMP/state", "adminListen": "127.0.0.1:$A",
          "metricsListen": "127.0.0.1:$M", "adminToken": "$TOKEN"}}
JSON
start() {
    "$NODE" -c "$TMP/node.json" 2>>"$TMP/log" &
    PID=$!
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$A/healthz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    fail "admin endpoint did not come up"
}
api() { curl -sS -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$@"; }
users() { curl -fsS "http://127.0.0.1:$M/metrics" | awk '$1 == "veil_node_users" {print $2}'; }

start
grep -q '^veil_node_users 1$' <<<"$(curl -fsS "http://127.0.0.1:$M/metrics")" || fail "metrics"
[[ $(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A/api/v1/users") == 401 ]] || fail "no token accepted"
[[ $(api -X POST -d '{"id":"carol","email":"carol@x","flow":"xtls-rprx-vision"}' "http://127.0.0.1:$A/api/v1/users") == 201 ]] \
    || fail "add: $(cat "$TMP/body")"
[[ $(api "http://127.0.0.1:$A/api/v1/users/carol%40x/link?address=203.0.113.10") == 200 ]] || fail "link"
grep -q "vless://carol@203.0.113.10:$P?encryption=none&flow=xtls-rprx-vision&security=reality" "$TMP/body" \
    || fail "link body: $(cat "$TMP/body")"
[[ $(api -X DELETE "http://127.0.0.1:$A/api/v1/users/alice%40x") == 204 ]] || fail "delete"
grep -q '^veil_node_users 1$' <<<"$(curl -fsS "http://127.0.0.1:$M/metrics")" || fail "metrics after changes"
[[ -s $TMP/state/users.json ]] || fail "state not saved"
# the CLI sees the same users
"$VEIL_BIN/veil" link -c "$TMP/node.json" -u carol@x --address 203.0.113.10 | grep -q '^vless://carol@' || fail "veil link"
# SIGHUP keeps the overlay. The file gains dave, so veil_node_users 2 shows the reload is done.
sed -i 's|"clients": \[|&{"id": "dave", "email": "dave@x", "flow": ""}, |' "$TMP/node.json"
kill -HUP "$PID"
for _ in $(seq 1 200); do
    [[ $(users) == 2 ]] && break
    sleep 0.05
done
[[ $(users) == 2 ]] || fail "reload not applied: veil_node_users $(users), want 2 (carol, dave)"
[[ $(api "http://127.0.0.1:$A/api/v1/users") == 200 ]] || fail "list"
grep -q carol "$TMP/body" && ! grep -q alice "$TMP/body" || fail "after SIGHUP: $(cat "$TMP/body")"
# restart keeps it too
kill -TERM "$PID"; wait "$PID" || true; PID=
start
[[ $(api "http://127.0.0.1:$A/api/v1/users") == 200 ]] || fail "list after restart"
grep -q carol "$TMP/body" && ! grep -q alice "$TMP/body" || fail "after restart: $(cat "$TMP/body")"
grep -q "$TOKEN" "$TMP/log" && fail "admin token in the log"
kill -TERM "$PID"; wait "$PID" || true; PID=
echo "PASS: node admin API and metrics"
