#!/usr/bin/env bash
# Column encryption at rest end to end (issue 16 item 2): a hub without a master key warns and
# reports veil_hub_encryption_enabled 0; given master_key_file it seals the rows written so far
# at start, the metric says 1, and the database (the sqlite3 CLI's .dump, and a
# --backup-now copy) holds no Telegram id or username in plaintext while the API still finds the
# users by Telegram id and the bot's lookups keep working; `--rotate-key` re-encrypts every row
# while the hub serves; a wrong key, a readable key file and a missing key are refused at start
# with a clear message.
source "$(dirname "$0")/support/lib.sh"

PORT=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM$RANDOM
write_cfg() { # $1: extra top-level JSON members
  cat >"$WORK/hub.json" <<EOF
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$ADMIN" $1}
EOF
}
api() { curl -fsS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
metric() { curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
stop_hub() { kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; }
# The whole database as SQL text (the sqlite3 CLI's .dump: every row of every table).
dump() { sqlite3 "$1" .dump; }
TG=7731234567

# 1. No key: plaintext, a warning, metric 0.
write_cfg ""
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$PORT"
api POST /api/v1/users "{\"username\": \"tg$TG\", \"telegram_id\": $TG}" >/dev/null
for i in 1 2 3; do api POST /api/v1/users "{\"username\": \"plain$i\", \"telegram_id\": $((TG + i))}" >/dev/null; done
[ "$(metric veil_hub_encryption_enabled)" = 0 ] || fail "veil_hub_encryption_enabled is not 0 without a key"
grep -q '"encryption_disabled"' "$WORK/hub.log" || fail "no encryption_disabled warning"
dump "$WORK/hub.db" >"$WORK/plain.txt"
grep -q "$TG" "$WORK/plain.txt" || fail "the plaintext check is blind: no Telegram id in a plaintext database"
stop_hub
ok "without master_key_file: plaintext, a warning at start, veil_hub_encryption_enabled 0"

# 2. A key file group may read is refused.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/master.key"
chmod 640 "$WORK/master.key"
write_cfg ", \"master_key_file\": \"$WORK/master.key\""
rc=0; "$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --migrate 2>"$WORK/perm.err" || rc=$?
[ $rc -eq 2 ] && grep -q "group or others may access it (mode 0640)" "$WORK/perm.err" ||
  fail "a readable key file was not refused (exit $rc): $(cat "$WORK/perm.err")"
ok "a master key file with mode 0640 is refused: $(head -1 "$WORK/perm.err")"
chmod 600 "$WORK/master.key"

# 3. With the key: rows sealed at start, metric 1, nothing in plaintext, lookups work.
bg hub2 "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$PORT"
wait_for "grep -q '\"encryption_enabled\".*\"sealed_rows\":4' '$WORK/hub2.log'" 10 "encryption_enabled with 4 sealed rows"
[ "$(metric veil_hub_encryption_enabled)" = 1 ] || fail "veil_hub_encryption_enabled is not 1"
api POST /api/v1/users "{\"username\": \"tg$((TG + 50))\", \"telegram_id\": $((TG + 50))}" >/dev/null
dump "$WORK/hub.db" >"$WORK/dump.txt"
grep -q -- "$((TG + 50))" "$WORK/dump.txt" && fail "the database holds $((TG + 50)) in plaintext: $(grep -- "$((TG + 50))" "$WORK/dump.txt" | head -2)"
# Rows written before the key was set are sealed, except the audit log's (a hash chain: its old
# rows cannot be rewritten; docs/security.md says so).
grep -v "^INSERT INTO audit_log " "$WORK/dump.txt" >"$WORK/dump-noaudit.txt"
for v in "$TG" "$((TG + 1))" plain1 plain3; do
  grep -q -- "$v" "$WORK/dump-noaudit.txt" && fail "the database holds $v in plaintext: $(grep -- "$v" "$WORK/dump-noaudit.txt" | head -2)"
done
"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --backup-now "$WORK/copy.db" >/dev/null 2>&1 || fail "--backup-now"
dump "$WORK/copy.db" | grep -v "^INSERT INTO audit_log " >"$WORK/copy.txt"
grep -q -e "$TG" -e "plain1" "$WORK/copy.txt" && fail "the backup holds plaintext"
out=$(api GET "/api/v1/users?q=$((TG + 50))")
python3 -c "import json,sys; u=json.loads(sys.argv[1])['users']; assert len(u)==1 and u[0]['telegram_id']==$((TG + 50)) and u[0]['username']=='tg$((TG + 50))', u" "$out" ||
  fail "lookup by Telegram id: $out"
out=$(api GET "/api/v1/users?q=plain2")
python3 -c "import json,sys; u=json.loads(sys.argv[1])['users']; assert len(u)==1 and u[0]['telegram_id']==$((TG + 2)), u" "$out" ||
  fail "lookup by username: $out"
ok "with master_key_file: 4 plaintext rows sealed at start, metric 1, no Telegram id or username in the file or a backup, lookups by Telegram id and username work"

# 4. Rotation while the hub serves: every row stays readable.
for i in $(seq 1 40); do api POST /api/v1/users "{\"username\": \"r$i\", \"telegram_id\": $((TG + 100 + i))}" >/dev/null; done
( for i in $(seq 1 200); do api GET "/api/v1/users?q=$((TG + 100 + i % 40 + 1))" >>"$WORK/during.txt" || echo FAIL >>"$WORK/during.txt"; done ) &
READER=$!
out=$("$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --rotate-key 2>"$WORK/rotate.err") || fail "--rotate-key: $(cat "$WORK/rotate.err")"
grep -q "^rotated: data key 2; re-encrypted 45 users" <<<"$out" || fail "rotate output: $out"
wait $READER
grep -q FAIL "$WORK/during.txt" && fail "a read failed during the rotation"
[ "$(grep -o "\"telegram_id\":7" "$WORK/during.txt" | wc -l)" -ge 200 ] || fail "reads during the rotation: $(head -c 300 "$WORK/during.txt")"
out=$(api GET "/api/v1/users?q=$((TG + 140))")
grep -q '"username":"r40"' <<<"$out" || fail "after rotation: $out"
ok "--rotate-key re-encrypted 45 users under data key 2 with 200 reads running, none failed"

# 5. A new master key: re-wrapped; the old key is then refused, the new one works.
head -c 32 /dev/urandom >"$WORK/master2.key"; chmod 600 "$WORK/master2.key"
out=$("$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --rotate-key --new-master-key-file "$WORK/master2.key" --keep-data-key 2>&1) ||
  fail "--new-master-key-file: $out"
grep -q "keys now wrapped by the new master key" <<<"$out" || fail "rewrap output: $out"
stop_hub
rc=0; "$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --migrate 2>"$WORK/wrong.err" || rc=$?
[ $rc -eq 1 ] && grep -q "not the key the database was encrypted with" "$WORK/wrong.err" ||
  fail "the old (now wrong) master key was not refused (exit $rc): $(cat "$WORK/wrong.err")"
ok "a wrong master key fails at start (exit 1): $(head -1 "$WORK/wrong.err")"
write_cfg ", \"master_key_file\": \"$WORK/master2.key\""
bg hub3 "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$PORT"
api GET "/api/v1/users?q=$TG" | grep -q "\"tg$TG\"" || fail "not readable under the new master key"
stop_hub
ok "--new-master-key-file re-wraps the keys; the hub starts with the new raw 32-byte key file"

# 6. No key on an encrypted database: refused.
write_cfg ""
rc=0; "$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --migrate 2>"$WORK/nokey.err" || rc=$?
[ $rc -eq 2 ] && grep -q "encrypted, but no master key is configured" "$WORK/nokey.err" ||
  fail "an encrypted database opened without a key (exit $rc): $(cat "$WORK/nokey.err")"
ok "an encrypted database without master_key_file is refused (exit 2)"
grep -h -e "$(head -c 16 "$WORK/master.key")" "$WORK"/*.log "$WORK"/*.err 2>/dev/null && fail "key material in a log"
ok "no key material in any log or message"
