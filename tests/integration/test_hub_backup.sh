#!/usr/bin/env bash
# SQLite online backups (issue 14 item 1) with the real hub: the "backup" section makes the hub copy
# its database every second while a client keeps creating users; copies appear as
# backups/hub-<UTC>.db, mode 0600, the newest `keep` (2) stay, veil_hub_backup_last_success_timestamp_seconds
# follows; `veil-hub --backup-now PATH` copies while the hub runs; a copy put back in place of the
# database (hub stopped) brings back exactly its rows: the users made after it are gone.
source "$(dirname "$0")/support/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed"

PORT=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM$RANDOM
cat >"$WORK/hub.json" <<EOF2
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$ADMIN", "scheduler": {"enabled": true, "interval": 1},
 "backup": {"dir": "$WORK/backups", "interval_sec": 1, "keep": 2}}
EOF2
start_hub() { bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"; HUB=$LASTPID; wait_port "$PORT"; }
api() { curl -fsS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
users() { api GET "/api/v1/users?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }
copies() { find "$WORK/backups" -maxdepth 1 -name 'hub-*.db' | wc -l; }
start_hub
in_copy() { python3 -c "import sqlite3,sys; sys.exit(0 if sqlite3.connect(sys.argv[1]).execute('select count(*) from users where username = ?', (sys.argv[2],)).fetchone()[0] == 1 else 1)" "$1" "$2"; }

# Another process opening the database (--migrate, --backup-now) must not lose the hub's later
# commits: the store's open/close of the file used to drop the hub's SQLite locks, after which
# other processes stopped seeing new rows and a copy missed them.
"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --migrate 2>/dev/null || fail "--migrate beside the hub"
api POST /api/v1/users '{"username": "probe"}' >/dev/null
"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --backup-now "$WORK/probe.db" >/dev/null 2>&1 || fail "--backup-now"
in_copy "$WORK/probe.db" probe || fail "a user committed after another process opened the database is not in the copy"
ok "a copy taken by another process has the hub's latest commit"

# A writer that keeps creating users while the copies are taken.
writer() { local i=0; while :; do i=$((i + 1)); api POST /api/v1/users "{\"username\": \"w$i\"}" >/dev/null || true; done; }
writer & WRITER=$!; PIDS+=("$WRITER")

wait_for '[ "$(grep -c "\"backup_done\"" "$WORK/hub.log")" -ge 4 ]' 30 "four scheduled backups"
wait_for '[ "$(copies)" -eq 2 ]' 10 "retention down to keep = 2"
for f in "$WORK"/backups/hub-*.db; do
  [[ $(basename "$f") =~ ^hub-[0-9]{8}T[0-9]{6}Z\.db$ ]] || fail "copy name $f"
  [ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f")"
done
[ "$(stat -c %a "$WORK/backups")" = 700 ] || fail "backups dir mode $(stat -c %a "$WORK/backups")"
grep -q '"backup_done".*"pruned":1' "$WORK/hub.log" || fail "no backup_done line that pruned a copy"
ok "scheduled copies while writing: $(grep -c '"backup_done"' "$WORK/hub.log") taken, $(copies) kept, all 0600"

metric() { curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT/metrics" |
             awk '$1 == "veil_hub_backup_last_success_timestamp_seconds" {print $2}'; }
M=$(metric); NOW=$(date +%s)
[ -n "$M" ] && [ "$M" -le "$NOW" ] && [ "$M" -ge $((NOW - 5)) ] || fail "metric $M, now $NOW"
ok "veil_hub_backup_last_success_timestamp_seconds $M (now $NOW)"

"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --backup-now "$WORK/manual.db" >"$WORK/manual.out" 2>"$WORK/manual.log" ||
  fail "--backup-now while writing: $(cat "$WORK/manual.log")"
[ "$(stat -c %a "$WORK/manual.db")" = 600 ] || fail "--backup-now mode"
"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --backup-now "$WORK/manual.db" >/dev/null 2>&1 && fail "--backup-now overwrote a file"
ok "--backup-now while writing; refuses an existing file"

kill "$WRITER"; wait "$WRITER" 2>/dev/null || true
BEFORE=$(users)
"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --backup-now "$WORK/final.db" >/dev/null 2>"$WORK/final.log" || fail "final copy"
api POST /api/v1/users '{"username": "after-the-copy"}' >/dev/null
[ "$(users)" -eq $((BEFORE + 1)) ] || fail "user after the copy not made"
in_copy "$WORK/final.db" after-the-copy && fail "the copy has a later user"
kill -TERM "$HUB"; wait "$HUB" 2>/dev/null || true

# Restore: the hub stopped, the copy replaces the file, the old WAL goes with it.
rm -f "$WORK/hub.db-wal" "$WORK/hub.db-shm"
cp "$WORK/final.db" "$WORK/hub.db"
start_hub
[ "$(users)" -eq "$BEFORE" ] || fail "restored $(users) users, the copy had $BEFORE"
api GET "/api/v1/users?q=after-the-copy" | grep -q after-the-copy && fail "a user made after the copy came back"
api GET "/api/v1/users?q=w1" | grep -q '"w1"' || fail "user w1 is not in the restored database"
ok "restore by copying the file back: $BEFORE users, the later one gone"
