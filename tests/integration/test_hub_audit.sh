#!/usr/bin/env bash
# The audit log's hash chain end to end (issue 16 item 4): admin changes through the API write
# chained rows; `veil-hub --verify-audit` says the chain holds (exit 0) while the hub runs;
# `--export-audit` writes one JSON object per row whose hashes link; changing a row's action or
# deleting a row in the database file is reported at that row (exit 3); the hub's own periodic
# check turns veil_hub_audit_chain_ok from 1 to 0 and logs audit_chain_broken.
source "$(dirname "$0")/support/lib.sh"

PORT=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM$RANDOM
cat >"$WORK/hub.json" <<EOF
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$ADMIN", "scheduler": {"enabled": true, "interval": 1}, "audit": {"verify_interval": 1}}
EOF
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$PORT"
api() { curl -fsS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
for i in 1 2 3 4 5; do api POST /api/v1/users "{\"username\": \"u$i\"}" >/dev/null; done
api POST /api/v1/plans '{"name": "M", "duration_days": 30, "prices": {"RUB": 10000}}' >/dev/null
api POST /api/v1/nodes '{"name": "n1", "address": "127.0.0.1", "public_key": "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw", "short_ids": ["ab"]}' >/dev/null

# A token made with the binary on the host is an admin change too.
OPS=$("$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --create-admin-token --role support --name ops 2>"$WORK/cli.log") ||
  fail "--create-admin-token: $(cat "$WORK/cli.log")"
metric() { curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT/metrics" | awk '$1 == "veil_hub_audit_chain_ok" {print $2}'; }
wait_for '[ "$(metric)" = 1 ]' 15 "veil_hub_audit_chain_ok 1 on an intact log"
ok "the hub's periodic check: veil_hub_audit_chain_ok 1"

out=$("$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --verify-audit 2>"$WORK/verify.log") || fail "verify on an intact log: $out"
grep -q "^audit log intact: [0-9]* rows" <<<"$out" || fail "verify output: $out"
ok "--verify-audit while the hub runs: $out"

"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --export-audit >"$WORK/export.jsonl" 2>"$WORK/export.log" || fail "export"
python3 - "$WORK/export.jsonl" <<'PY' || fail "export lines do not chain"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) >= 7, len(rows)
prev = "0" * 64
for r in rows:
    assert r["prev_hash"] == prev and len(r["hash"]) == 64, r
    assert r["time"].endswith("Z") and r["action"] and r["actor"], r
    prev = r["hash"]
assert sum(r["action"] == "user.create" for r in rows) == 5, [r["action"] for r in rows]
made = [r for r in rows if r["action"] == "token.create"]
assert len(made) == 1 and made[0]["actor"] == "cli" and made[0]["details"] == {"role": "support"}, made
PY
N=$(wc -l <"$WORK/export.jsonl")
SECOND=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[1])['id'])" "$WORK/export.jsonl")
"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --export-audit --after "$SECOND" 2>/dev/null >"$WORK/tail.jsonl"
[ "$(wc -l <"$WORK/tail.jsonl")" -eq $((N - 2)) ] || fail "--after $SECOND did not resume after that row"
grep -q -e "$ADMIN" -e "$OPS" "$WORK/export.jsonl" && fail "a token is in the export"
ok "--export-audit: $N JSON lines whose hashes link; --after resumes"

kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
sql() { python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()" "$WORK/hub.db" "$1"; }
cp "$WORK/hub.db" "$WORK/pristine.db"
ID=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[3])['id'])" "$WORK/export.jsonl")
sql "UPDATE audit_log SET action = 'user.view' WHERE id = $ID"
rc=0; out=$("$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --verify-audit 2>/dev/null) || rc=$?
[ $rc -eq 3 ] || fail "a changed action passed (exit $rc): $out"
grep -q "BROKEN at row $ID: row $ID was changed" <<<"$out" || fail "wrong row reported: $out"
ok "a changed action is reported at its row: $(head -1 <<<"$out")"

cp "$WORK/pristine.db" "$WORK/hub.db"
NEXT=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readlines()[4])['id'])" "$WORK/export.jsonl")
sql "DELETE FROM audit_log WHERE id = $ID"
rc=0; out=$("$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --verify-audit 2>/dev/null) || rc=$?
[ $rc -eq 3 ] || fail "a deleted row passed (exit $rc): $out"
grep -q "BROKEN at row $NEXT: .*deleted" <<<"$out" || fail "wrong row reported: $out"
ok "a deleted row is reported at the row after it: $(head -1 <<<"$out")"

# The running hub notices by itself: the metric drops to 0 and the error names the row.
bg hub2 "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$PORT"
wait_for '[ "$(metric)" = 0 ]' 15 "veil_hub_audit_chain_ok 0 after the deletion"
wait_for "grep -q '\"audit_chain_broken\".*\"row\":$NEXT' '$WORK/hub2.log'" 5 "audit_chain_broken naming row $NEXT in the log"
ok "the periodic check sets veil_hub_audit_chain_ok 0 and logs audit_chain_broken (row $NEXT)"
