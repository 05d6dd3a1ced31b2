#!/usr/bin/env bash
# veil-hub start-up as an operator meets it (issue 10 #6, #12): a config error exits 2 like
# veil-node; a database in a missing folder names that folder; the SQLite database and its
# WAL/SHM are created 0600 even under umask 022, and an existing world-readable one is tightened.
set -euo pipefail
source "$(dirname "$0")/support/lib.sh"
HUB=$VEIL_BIN/veil-hub
[[ -x $HUB ]] || fail "missing $HUB"
umask 022

# 1. Config errors: exit status 2 and the reason on stderr.
echo '{"database": "sqlite:/tmp/x.db", "prot": 1}' >"$WORK/bad.json"
rc=0
"$HUB" -c "$WORK/bad.json" 2>"$WORK/bad.err" || rc=$?
[[ $rc -eq 2 ]] || fail "config error exit status $rc, want 2"
grep -q "error: $WORK/bad.json: prot: unknown field" "$WORK/bad.err" ||
    fail "config error reason missing: $(cat "$WORK/bad.err")"
rc=0
"$HUB" -c "$WORK/absent.json" 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "unreadable config exit status $rc, want 2"
ok "config errors exit 2"

# 1b. --check reports every mistake of a file, each with its path and reason (issue 11 #6: the
# old reader stopped at the first), and "config OK" for a good one without opening the database.
cat >"$WORK/three.json" <<EOF
{"database": "sqlite:$WORK/never.db", "port": 70000, "cache": {"redis_pool": 0},
 "subscription": {"titel": "x"}}
EOF
rc=0
"$HUB" -c "$WORK/three.json" --check >"$WORK/three.out" 2>"$WORK/three.err" || rc=$?
[[ $rc -eq 2 ]] || fail "--check on a bad file exit status $rc, want 2"
for want in "port: must be between 0 and 65535" "cache.redis_pool: must be between 1 and 64" \
    "subscription.titel: unknown field"; do
    grep -qF "error: $WORK/three.json: $want" "$WORK/three.err" || fail "missing '$want' in: $(cat "$WORK/three.err")"
done
[[ $(grep -c '^error: ' "$WORK/three.err") -eq 3 ]] || fail "want 3 errors: $(cat "$WORK/three.err")"
echo "{\"database\": \"sqlite:$WORK/never.db\"}" >"$WORK/good.json"
out=$("$HUB" -c "$WORK/good.json" --check 2>&1) || fail "--check on a good file: $out"
[[ $out == "config OK" ]] || fail "--check said: $out"
[[ ! -e $WORK/never.db ]] || fail "--check opened the database"
ok "--check reports all three mistakes"

# 2. A database path in a folder that does not exist: the log names the folder.
echo "{\"database\": \"sqlite:$WORK/no/such/dir/hub.db\"}" >"$WORK/nodir.json"
rc=0
"$HUB" -c "$WORK/nodir.json" --migrate 2>"$WORK/nodir.log" || rc=$?
[[ $rc -ne 0 ]] || fail "missing folder accepted"
grep -q "\"folder\":\"$WORK/no/such/dir\"" "$WORK/nodir.log" || fail "folder not named: $(cat "$WORK/nodir.log")"
grep -q 'input/output error' "$WORK/nodir.log" && fail "still reported as an I/O error"
ok "missing database folder named"

# 3. File modes while the hub runs (WAL and SHM exist only while the database is open).
mode() { stat -c %a "$1"; }
PORT=$(free_port)
mkdir "$WORK/state"
cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/state/hub.db",
 "admin_token": "startup-test-admin-token-0123", "scheduler": {"enabled": false}}
JSON
bg hub "$HUB" -c "$WORK/hub.json"
HUBPID=$LASTPID
wait_port "$PORT" 10
curl -fsS -X POST -H 'Authorization: Bearer startup-test-admin-token-0123' -H 'Content-Type: application/json' \
    --data '{"username":"modes"}' "http://127.0.0.1:$PORT/api/v1/users" >/dev/null || fail "user create"
for f in hub.db hub.db-wal hub.db-shm; do
    [[ -e $WORK/state/$f ]] || fail "$f not created"
    [[ $(mode "$WORK/state/$f") == 600 ]] || fail "$f has mode $(mode "$WORK/state/$f"), want 600"
done
ok "hub.db, -wal and -shm are 0600 under umask 022"
kill "$HUBPID"; wait "$HUBPID" 2>/dev/null || true

# 4. A database left world-readable by an older version is tightened at start.
chmod 0644 "$WORK/state/hub.db"
"$HUB" -c "$WORK/hub.json" --migrate 2>"$WORK/migrate.log" || fail "migrate failed"
[[ $(mode "$WORK/state/hub.db") == 600 ]] || fail "existing hub.db left at $(mode "$WORK/state/hub.db")"
grep -q database_mode_tightened "$WORK/migrate.log" || fail "tightening not logged"
ok "existing world-readable hub.db tightened to 0600"

# 5. The shipped unit keeps the state folder private.
UNIT=${VEIL_SOURCE_DIR:-$(dirname "$0")/../..}/deploy/hub/veil-hub.service
grep -qx 'UMask=0077' "$UNIT" || fail "unit lacks UMask=0077"
grep -qx 'StateDirectoryMode=0700' "$UNIT" || fail "unit lacks StateDirectoryMode=0700"
ok "systemd unit: UMask=0077, StateDirectoryMode=0700"
