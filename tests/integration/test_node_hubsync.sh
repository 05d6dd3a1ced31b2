#!/usr/bin/env bash
# The node's hub sync client (tests/tools/hubsync_probe.c runs node/hubsync.c) against the real
# veil-hub (SQLite, loopback): it pulls the users of active subscriptions, persists the table,
# and pushes usage that the hub books; a wrong token installs nothing.
set -euo pipefail
BIN=${VEIL_BIN:?VEIL_BIN not set}
HUB=$BIN/veil-hub
PROBE=$BIN/hubsync_probe
[[ -x $HUB && -x $PROBE ]] || { echo "missing $HUB or $PROBE"; exit 1; }
TMP=$(mktemp -d /tmp/veil-nodehub.XXXXXX)
PID=
cleanup() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f $TMP/log ]] && tail -n 20 "$TMP/log"; exit 1; }

PORT=$(python3 "$(dirname "$0")/support/free_port.py")
BOOT=boot-admin-token-$RANDOM$RANDOM$RANDOM
cat >"$TMP/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$TMP/hub.db",
 "admin_token": "$BOOT", "log_level": "info",
 "subscription": {"title": "Test", "update_interval_hours": 6, "public_url": "https://vpn.test"},
 "scheduler": {"enabled": false, "interval": 60}}
JSON
"$HUB" -c "$TMP/hub.json" 2>>"$TMP/log" &
PID=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.05
done

call() {
    local args=(-sS -o "$TMP/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$PORT$2")
    [[ -n $3 ]] && args+=(-H "Authorization: Bearer $3")
    [[ $# -ge 4 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    local code
    code=$(curl "${args[@]}")
    echo "$code $(cat "$TMP/body")"
}
jget() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval('d'+sys.argv[2]))" "$1" "$2"; }

r=$(call POST /api/v1/users "$BOOT" '{"username":"alice"}'); [[ $r == 201* ]] || fail "create user: $r"
USER_ID=$(jget "${r#* }" "['id']")
r=$(call POST /api/v1/plans "$BOOT" '{"name":"Month","duration_days":30,"prices":{"RUB":29900}}'); [[ $r == 201* ]] || fail "plan: $r"
PLAN_ID=$(jget "${r#* }" "['id']")
r=$(call POST /api/v1/subscriptions "$BOOT" "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID}"); [[ $r == 201* ]] || fail "grant: $r"
r=$(call POST /api/v1/nodes "$BOOT" '{"name":"n1","address":"n1.vpn.test","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw","short_ids":["ab12"]}')
[[ $r == 201* ]] || fail "node: $r"
NODE_TOKEN=$(jget "${r#* }" "['token']")
r=$(call GET "/api/v1/node/users?since=0" "$NODE_TOKEN"); [[ $r == 200* ]] || fail "node users: $r"
HUB_ID=$(jget "${r#* }" "['users'][0]['id']")
UUID=$(jget "${r#* }" "['users'][0]['uuid']")

# pull + push through the node's client
out=$("$PROBE" "http://127.0.0.1:$PORT" "$NODE_TOKEN" "$TMP/hub-users.json" "$HUB_ID" 1000 5000) || fail "probe: $out"
grep -q "^user $HUB_ID $UUID " <<<"$out" || fail "user not installed: $out"
[[ -s $TMP/hub-users.json ]] || fail "table not persisted"
python3 - "$TMP/hub-users.json" "$UUID" <<'PY' || fail "persisted table"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["v"] == 1 and d["full"] is True and d["users"][0]["uuid"] == sys.argv[2], d
PY
r=$(call GET "/api/v1/users/$USER_ID" "$BOOT"); [[ $r == 200* ]] || fail "user: $r"
[[ $(jget "${r#* }" "['subscription']['used_down']") == 5000 ]] || fail "usage not booked: $r"
[[ $(jget "${r#* }" "['subscription']['used_up']") == 1000 ]] || fail "usage not booked: $r"

# a wrong token installs nothing
if "$PROBE" "http://127.0.0.1:$PORT" "wrong-token-0123456789" "$TMP/other.json" >/dev/null 2>&1; then
    fail "wrong token accepted"
fi
grep -q "$NODE_TOKEN" "$TMP/log" && fail "node token leaked into the hub log"
kill -TERM "$PID"; wait "$PID" || true; PID=
echo "PASS: node hub sync against veil-hub"
