#!/usr/bin/env bash
# The real veil-hub binary on SQLite: config, --create-admin-token, the API over loopback,
# node registration and sync, /sub, SIGTERM graceful stop, and a restart on the same database
# (migrations are idempotent, data survives).
set -euo pipefail

BIN=${VEIL_BIN:?VEIL_BIN not set}
HUB=$BIN/veil-hub
[[ -x $HUB ]] || { echo "missing $HUB"; exit 1; }
TMP=$(mktemp -d /tmp/veil-hubd.XXXXXX)
PID=
cleanup() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(python3 "$(dirname "$0")/support/free_port.py")
BOOT=boot-admin-token-$RANDOM$RANDOM$RANDOM
cat >"$TMP/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$TMP/hub.db",
 "admin_token": "$BOOT", "log_level": "info",
 "subscription": {"title": "Test", "update_interval_hours": 6, "public_url": "https://vpn.test"},
 "scheduler": {"enabled": true, "interval": 1}}
JSON

fail() { echo "FAIL: $*"; [[ -f $TMP/log ]] && tail -n 20 "$TMP/log"; exit 1; }

start() {
    "$HUB" -c "$TMP/hub.json" 2>>"$TMP/log" &
    PID=$!
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    fail "hub did not come up"
}

stop() {
    kill -TERM "$PID"
    local rc=0
    wait "$PID" || rc=$?
    PID=
    [[ $rc -eq 0 ]] || fail "exit status $rc after SIGTERM"
    grep -q '"event.action":"stopped"' "$TMP/log" || fail "no stopped log line"
}

# call METHOD PATH TOKEN [BODY] -> prints "status body"
call() {
    local args=(-sS -o "$TMP/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$PORT$2")
    [[ -n $3 ]] && args+=(-H "Authorization: Bearer $3")
    [[ $# -ge 4 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    local code
    code=$(curl "${args[@]}")
    echo "$code $(cat "$TMP/body")"
}
jget() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval('d'+sys.argv[2]))" "$1" "$2"; }

# A token made from the command line before the daemon runs.
CLI_TOKEN=$("$HUB" -c "$TMP/hub.json" --create-admin-token --role support --name ci 2>>"$TMP/log")
[[ $CLI_TOKEN == va_* ]] || fail "bad token from --create-admin-token: $CLI_TOKEN"
"$HUB" -c "$TMP/hub.json" --bogus 2>/dev/null && fail "unknown option accepted"

start
r=$(call POST /api/v1/users "$BOOT" '{"username":"alice"}'); [[ $r == 201* ]] || fail "create user: $r"
USER_ID=$(jget "${r#* }" "['id']")
TOKEN=$(jget "${r#* }" "['sub_token']")
r=$(call POST /api/v1/plans "$BOOT" '{"name":"Month","duration_days":30,"prices":{"RUB":29900}}'); [[ $r == 201* ]] || fail "plan: $r"
PLAN_ID=$(jget "${r#* }" "['id']")
r=$(call POST /api/v1/subscriptions "$BOOT" "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID}"); [[ $r == 201* ]] || fail "grant: $r"
r=$(call POST /api/v1/nodes "$BOOT" '{"name":"n1","address":"n1.vpn.test","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw","short_ids":["ab12"]}')
[[ $r == 201* ]] || fail "node: $r"
NODE_TOKEN=$(jget "${r#* }" "['token']")
r=$(call GET "/api/v1/node/users?since=0" "$NODE_TOKEN"); [[ $r == 200* ]] || fail "node users: $r"
[[ $(jget "${r#* }" "['users'][0]['id']") == "$USER_ID" ]] || fail "user not in sync: $r"
r=$(call POST /api/v1/node/usage "$NODE_TOKEN" "{\"v\":1,\"push_id\":\"n1-000000001\",\"usage\":[{\"id\":$USER_ID,\"up\":10,\"down\":20}],\"health\":{\"connections\":1,\"uptime\":1,\"revision\":1,\"version\":\"t\"}}")
[[ $r == 200* ]] || fail "usage: $r"
r=$(call GET "/sub/$TOKEN" ""); [[ $r == 200* ]] || fail "sub: $r"
hdr=$(curl -sS -D - -o /dev/null -A 'v2rayNG/1.8.5' "http://127.0.0.1:$PORT/sub/$TOKEN")
grep -qi '^subscription-userinfo: upload=10; download=20;' <<<"$hdr" || fail "subscription-userinfo missing: $hdr"
r=$(call GET /api/v1/stats "$CLI_TOKEN"); [[ $r == 200* ]] || fail "support stats: $r"
r=$(call POST /api/v1/users "$CLI_TOKEN" '{"username":"bob"}'); [[ $r == 403* ]] || fail "support wrote: $r"
r=$(call GET /api/v1/users ""); [[ $r == 401* ]] || fail "no auth: $r"
grep -q "$BOOT" "$TMP/log" && fail "bootstrap token leaked into the log"
grep -q "$NODE_TOKEN" "$TMP/log" && fail "node token leaked into the log"
stop

# Restart on the same file: schema already current, data still there.
start
r=$(call GET "/api/v1/users/$USER_ID" "$BOOT"); [[ $r == 200* ]] || fail "after restart: $r"
[[ $(jget "${r#* }" "['subscription']['used_down']") == 20 ]] || fail "usage lost across restart: $r"
stop

# A database from a newer hub is refused.
python3 - "$TMP/hub.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE schema_version SET version = 99"); c.commit()
PY
if "$HUB" -c "$TMP/hub.json" --migrate 2>>"$TMP/log"; then fail "newer schema accepted"; fi
echo "PASS: veil-hub daemon"
