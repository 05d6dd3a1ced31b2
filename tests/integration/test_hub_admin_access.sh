#!/usr/bin/env bash
# Admin access hardening on a real veil-hub (docs/security.md §6, issue 16 item 6): a TOTP second
# factor enrolled with `veil token totp-enable` (the otpauth URI's secret drives a code generator
# here), dashboard login without / with a wrong / with the right / with a replayed code, the API
# session exchange; a token that expires (401 token_expired), a scoped token out of scope (403);
# the admin allowlist (127.0.0.9 refused, node sync and /healthz from there still served);
# lockout after 3 failures and unlock after the 3 s period, shared by a second hub through a
# real redis-server; the audit rows and the lockout metric. The hubs seal columns (master key):
# the TOTP secret is not in the database file, and codes still work after `--rotate-key`.
# Recovery codes (`veil token recovery-codes`), each accepted once on the dashboard and the API.
# A dashboard session ends when its token expires and when it is revoked (on another hub too).
source "$(dirname "$0")/support/lib.sh"

REDIS=$(command -v redis-server || true)
[[ -n $REDIS ]] || skip_all "redis-server not installed"
RPORT=$(free_port)
bg redis "$REDIS" --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK"
wait_port "$RPORT"

PORT=$(free_port)
PORT2=$(free_port)
head -c 32 /dev/urandom >"$WORK/master.key"; chmod 600 "$WORK/master.key"
ADMIN=admin-$RANDOM$RANDOM$RANDOM$RANDOM
hubcfg() {
  cat >"$WORK/$1.json" <<JSON
{"listen": "127.0.0.1", "port": $2, "threads": 2, "database": "sqlite:$WORK/hub.db", "admin_token": "$ADMIN",
 "redis_url": "redis://127.0.0.1:$RPORT", "master_key_file": "$WORK/master.key", "fleet": {"dead_after": 0, "probe_interval": 0},
 "api": {"admin_allow": ["127.0.0.0/29", "::1"], "lockout": {"failures": 3, "window": 60, "duration": 3},
         "totp": {"issuer": "Veil IT"}}}
JSON
}
hubcfg hub "$PORT"
hubcfg hub2 "$PORT2"
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$PORT"
bg hub2 "$VEIL_BIN/veil-hub" -c "$WORK/hub2.json"
wait_port "$PORT2"
URL=http://127.0.0.1:$PORT
# status [--from IP] METHOD PATH TOKEN [BODY]: prints the HTTP status; the body goes to $WORK/body.
status() {
  local from=127.0.0.1
  if [ "$1" = --from ]; then from=$2; shift 2; fi
  curl -sS -o "$WORK/body" -w '%{http_code}' --interface "$from" -X "$1" "${BASE:-$URL}$2" \
       ${3:+-H "Authorization: Bearer $3"} -H 'Content-Type: application/json' ${4:+--data-binary "$4"}
}
code_of() { python3 -c "import json; print(json.load(open('$WORK/body'))['error']['code'])"; }
veil() { VEIL_HUB_URL=$URL VEIL_HUB_TOKEN=$ADMIN "$VEIL_BIN/veil" "$@"; }

# ---- TOTP ----
out=$(veil token create ops-laptop --role admin) || fail "veil token create: $out"
TID=$(sed -n 's/^created token \([0-9]*\) .*/\1/p' <<<"$out")
TOK=$(tail -1 <<<"$out")
[ -n "$TID" ] && [ -n "$TOK" ] || fail "token create output: $out"
out=$(veil token totp-enable "$TID") || fail "totp-enable: $out"
URI=$(grep '^otpauth://' <<<"$out") || fail "no otpauth URI: $out"
grep -q '^otpauth://totp/Veil%20IT:ops-laptop?secret=[A-Z2-7]\{32\}&issuer=Veil%20IT&algorithm=SHA1&digits=6&period=30$' \
  <<<"$URI" || fail "otpauth URI: $URI"
SECRET=$(sed 's/.*secret=\([A-Z2-7]*\).*/\1/' <<<"$URI")
ok "veil token totp-enable: $(sed 's/secret=[A-Z2-7]*/secret=<32 base32>/' <<<"$URI")"
mapfile -t RECOVERY < <(grep -E '^[a-z2-7]{4}(-[a-z2-7]{4}){3}$' <<<"$out")
[ ${#RECOVERY[@]} -eq 10 ] || fail "totp-enable printed ${#RECOVERY[@]} recovery codes: $out"
# The secret as the hub would store it in plaintext (hex), and the codes: in no byte of the file.
SECRET_HEX=$(python3 -c "import base64,sys; print(base64.b32decode(sys.argv[1]).hex())" "$SECRET")
sqlite3 "$WORK/hub.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
for v in "$SECRET_HEX" "$SECRET" "${RECOVERY[0]}" "$(tr -d - <<<"${RECOVERY[0]}")"; do
  grep -qi -- "$v" "$WORK/hub.db" && fail "the database file holds a TOTP secret or recovery code in plaintext"
done
[ "$(sqlite3 "$WORK/hub.db" "SELECT substr(totp_secret, 1, 2), totp_sealed_key FROM api_tokens WHERE id = $TID")" = "AQ|1" ] ||
  fail "totp_secret is not a sealed value under data key 1"
ok "10 recovery codes printed; the TOTP secret (hex or base32) and the codes are not in the database file (sealed, hashed)"
# totp OFFSET: the code of the current step + OFFSET (RFC 6238, written here independently).
totp() {
  python3 - "$SECRET" "$1" <<'PY'
import base64, hashlib, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1])
step = int(time.time()) // 30 + int(sys.argv[2])
h = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}
login() { # login TOKEN [CODE] -> status; Set-Cookie in $WORK/headers
  curl -sS -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' --interface 127.0.0.3 -X POST "$URL/admin/login" \
       --data-urlencode "token=$1" ${2:+--data-urlencode "code=$2"}
}
[ "$(status GET /api/v1/users "$TOK")" = 401 ] && [ "$(code_of)" = totp_required ] ||
  fail "a TOTP token used bare: $(cat "$WORK/body")"
[ "$(login "$TOK")" = 401 ] && grep -q 'needs the 6-digit code' "$WORK/body" || fail "login without a code"
C0=$(totp 0)
WRONG=$(printf '%06d' $(( (10#$C0 + 500000) % 1000000 )))
[ "$(login "$TOK" "$WRONG")" = 401 ] && grep -q 'Wrong code' "$WORK/body" || fail "login with a wrong code"
[ "$(login "$TOK" "$C0")" = 303 ] && grep -qi '^set-cookie: veil_admin=' "$WORK/headers" ||
  fail "login with the right code: $(cat "$WORK/body")"
[ "$(login "$TOK" "$C0")" = 401 ] && grep -q 'already used' "$WORK/body" || fail "a replayed code logged in"
ok "dashboard login: no code 401, wrong code 401, right code 303 + session cookie, same code again 401"
# Rotation while both hubs serve: the secret is re-sealed under data key 2 and still opens.
out=$("$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --rotate-key 2>"$WORK/rotate.err") || fail "--rotate-key: $(cat "$WORK/rotate.err")"
grep -q ", 1 TOTP secrets;" <<<"$out" || fail "rotate output: $out"
[ "$(sqlite3 "$WORK/hub.db" "SELECT totp_sealed_key FROM api_tokens WHERE id = $TID")" = 2 ] || fail "not re-sealed"
ok "--rotate-key: $out"
[ "$(login "$ADMIN")" = 303 ] || fail "a token without a second factor needs no code"
C1=$(totp 1)
out=$(VEIL_HUB_URL=$URL VEIL_HUB_TOKEN=$TOK "$VEIL_BIN/veil" token session --code "$C1") || fail "session: $out"
SESSION=$(tail -1 <<<"$out")
[ "$(status GET /api/v1/users "$SESSION")" = 200 ] || fail "session token refused"
[ "$(status --from 127.0.0.3 POST /api/v1/auth/totp "$TOK" "{\"code\":\"$C1\"}")" = 401 ] ||
  fail "replayed code on the API"
# Three failures (wrong, replayed twice) from 127.0.0.3 for this token: both are locked now.
[ "$(status --from 127.0.0.3 GET /api/v1/users "$ADMIN")" = 429 ] || fail "127.0.0.3 not locked after 3 failures"
[ "$(status --from 127.0.0.2 POST /api/v1/auth/totp "$TOK" "{\"code\":\"$(totp 0)\"}")" = 429 ] ||
  fail "the token's second factor is not locked: $(cat "$WORK/body")"
ok "after the rotation: veil token session with the next code works on hub 1; the same code again refused; 3 failures lock 127.0.0.3 and the token's codes"

# ---- recovery codes: a second token (the first one's failure count is spent), from 127.0.0.6 ----
out=$(veil token create ops-phone --role admin) || fail "veil token create: $out"
TID2=$(sed -n 's/^created token \([0-9]*\) .*/\1/p' <<<"$out")
TOK2=$(tail -1 <<<"$out")
out=$(veil token totp-enable "$TID2") || fail "totp-enable: $out"
mapfile -t R2 < <(grep -E '^[a-z2-7]{4}(-[a-z2-7]{4}){3}$' <<<"$out")
[ ${#R2[@]} -eq 10 ] || fail "totp-enable printed ${#R2[@]} recovery codes"
# form_login HUB_URL TOKEN [CODE] -> status (from 127.0.0.6); Set-Cookie in $WORK/headers
form_login() {
  curl -sS -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' --interface 127.0.0.6 -X POST "$1/admin/login" \
       --data-urlencode "token=$2" ${3:+--data-urlencode "code=$3"}
}
cookie_of() { sed -n 's/^[Ss]et-[Cc]ookie: \(veil_admin=[^;]*\);.*/\1/p' "$WORK/headers"; }
URL2=http://127.0.0.1:$PORT2
TYPED=$(tr -d - <<<"${R2[0]}" | tr a-z A-Z)
[ "$(form_login "$URL2" "$TOK2" "$TYPED")" = 303 ] && [ -n "$(cookie_of)" ] ||
  fail "dashboard login (hub 2) with a recovery code typed upper case without dashes: $(cat "$WORK/body")"
[ "$(form_login "$URL2" "$TOK2" "${R2[0]}")" = 401 ] || fail "a spent recovery code logged in again"
out=$(VEIL_HUB_URL=$URL VEIL_HUB_TOKEN=$TOK2 "$VEIL_BIN/veil" token session --code "${R2[1]}") || fail "session: $out"
[ "$(status GET /api/v1/users "$(tail -1 <<<"$out")")" = 200 ] || fail "session from a recovery code refused"
veil token list | awk -v id="$TID2" '$1 == id && $5 == "yes" && $6 == 8 {f=1} END {exit !f}' ||
  fail "veil token list does not show 8 recovery codes left: $(veil token list)"
out=$(veil token recovery-codes "$TID2") || fail "recovery-codes: $out"
mapfile -t N2 < <(grep -E '^[a-z2-7]{4}(-[a-z2-7]{4}){3}$' <<<"$out")
[ ${#N2[@]} -eq 10 ] || fail "recovery-codes printed ${#N2[@]} codes: $out"
[ "$(status --from 127.0.0.6 POST /api/v1/auth/totp "$TOK2" "{\"code\":\"${R2[2]}\"}")" = 401 ] ||
  fail "an old recovery code still works after regeneration"
[ "$(status --from 127.0.0.6 POST /api/v1/auth/totp "$TOK2" "{\"code\":\"${N2[0]}\"}")" = 201 ] ||
  fail "a new recovery code: $(cat "$WORK/body")"
ok "recovery codes: dashboard login on hub 2 (any case, no dashes), veil token session, each once; list shows 8 left; regenerated: old refused, new accepted"

# ---- a dashboard session ends with its token: expiry and revocation ----
EXP=$(( $(date +%s) + 4 ))
[ "$(status POST /api/v1/tokens "$ADMIN" "{\"name\":\"brief\",\"role\":\"admin\",\"expires_at\":$EXP}")" = 201 ] ||
  fail "token with expires_at: $(cat "$WORK/body")"
BRIEF=$(python3 -c "import json; print(json.load(open('$WORK/body'))['token'])")
[ "$(form_login "$URL" "$BRIEF")" = 303 ] || fail "login with a token expiring in 4 s"
AGE=$(sed -n 's/^[Ss]et-[Cc]ookie: .*Max-Age=\([0-9]*\);.*/\1/p' "$WORK/headers")
[ -n "$AGE" ] && [ "$AGE" -le 4 ] || fail "the cookie's Max-Age ($AGE) outlives the token's 4 s"
CK=$(cookie_of)
dash() { curl -sS -o "$WORK/page" -w '%{http_code}' --interface 127.0.0.6 -H "Cookie: $2" "$1/admin"; }
[ "$(dash "$URL" "$CK")" = 200 ] && ! grep -q 'name="token"' "$WORK/page" || fail "the new session is not logged in"
wait_for '[ "$(dash "$URL" "$CK")" = 200 ] && grep -q "name=\"token\"" "$WORK/page"' 10 "session ended at token expiry"
ok "a session made from a token expiring in 4 s: cookie Max-Age $AGE, logged out when the token expires"
out=$(veil token create desk --role admin) || fail "create: $out"
TID3=$(sed -n 's/^created token \([0-9]*\) .*/\1/p' <<<"$out")
[ "$(form_login "$URL2" "$(tail -1 <<<"$out")")" = 303 ] || fail "login on hub 2"
CK=$(cookie_of)
[ "$(dash "$URL2" "$CK")" = 200 ] && ! grep -q 'name="token"' "$WORK/page" || fail "hub 2 session not logged in"
veil token revoke "$TID3" >/dev/null || fail "revoke"
[ "$(dash "$URL2" "$CK")" = 200 ] && grep -q 'name="token"' "$WORK/page" || fail "a revoked token's session lives on"
ok "a token revoked through hub 1 ends its dashboard session on hub 2 at the next request"

# ---- expiry and scopes ----
EXP=$(( $(date +%s) + 2 ))
[ "$(status POST /api/v1/tokens "$ADMIN" "{\"name\":\"short\",\"role\":\"admin\",\"expires_at\":$EXP}")" = 201 ] ||
  fail "token with expires_at: $(cat "$WORK/body")"
SHORT=$(python3 -c "import json; print(json.load(open('$WORK/body'))['token'])")
wait_for '[ "$(status GET /api/v1/users "$SHORT")" = 401 ] && [ "$(code_of)" = token_expired ]' 10 "401 token_expired"
ok "a token past its expires_at: 401 token_expired"
out=$(veil token create noc --role admin --scope nodes --scope read) || fail "scoped token: $out"
NOC=$(tail -1 <<<"$out")
[ "$(status GET /api/v1/nodes "$NOC")" = 200 ] || fail "scoped token in scope"
[ "$(status GET /api/v1/users "$NOC")" = 200 ] || fail "read scope: GET users"
[ "$(status POST /api/v1/users "$NOC" '{"username":"x1"}')" = 403 ] && [ "$(code_of)" = out_of_scope ] ||
  fail "out of scope: $(cat "$WORK/body")"
[ "$(status GET /api/v1/tokens "$NOC")" = 403 ] || fail "admin area with nodes,read"
ok "scopes nodes,read: GET nodes/users 200, POST users 403 out_of_scope, tokens 403"
veil token list | grep -q "noc .* all\|noc" || fail "token list"

# ---- allowlist ----
[ "$(status --from 127.0.0.9 GET /api/v1/users "$ADMIN")" = 403 ] && [ "$(code_of)" = ip_not_allowed ] ||
  fail "127.0.0.9 reached the admin API"
[ "$(status --from 127.0.0.9 GET /admin "")" = 403 ] || fail "127.0.0.9 reached the dashboard"
[ "$(status --from 127.0.0.2 GET /api/v1/users "$ADMIN")" = 200 ] || fail "127.0.0.2 is in 127.0.0.0/29"
[ "$(status --from 127.0.0.9 GET /healthz "")" = 200 ] || fail "/healthz from outside the allowlist"
[ "$(status POST /api/v1/nodes "$ADMIN" '{"name":"n1","address":"127.0.0.1","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw","short_ids":["ab"]}')" = 201 ] ||
  fail "node create: $(cat "$WORK/body")"
NODE=$(python3 -c "import json; print(json.load(open('$WORK/body'))['token'])")
[ "$(status --from 127.0.0.9 GET /api/v1/node/users "$NODE")" = 200 ] || fail "node sync from outside the allowlist"
ok "allowlist 127.0.0.0/29: 127.0.0.9 gets 403 on the API and dashboard; /healthz and node sync served"

# ---- lockout, shared through Redis ----
for i in 1 2 3; do
  [ "$(status --from 127.0.0.5 GET /api/v1/users "wrong-token-$i")" = 401 ] || fail "failure $i"
done
[ "$(status --from 127.0.0.5 GET /api/v1/users "$ADMIN")" = 429 ] && [ "$(code_of)" = locked_out ] ||
  fail "no lockout after 3 failures: $(cat "$WORK/body")"
[ "$(BASE=http://127.0.0.1:$PORT2 status --from 127.0.0.5 GET /api/v1/users "$ADMIN")" = 429 ] ||
  fail "the second hub does not see the lock"
[ "$(status --from 127.0.0.4 GET /api/v1/users "$ADMIN")" = 200 ] || fail "another address was locked"
ok "3 failures from 127.0.0.5: locked (429) on both hubs, 127.0.0.4 still served"
wait_for '[ "$(status --from 127.0.0.5 GET /api/v1/users "$ADMIN")" = 200 ]' 10 "unlock after 3 s"
ok "unlocked after the 3 s period"
LOCKS=$(curl -fsS -H "Authorization: Bearer $ADMIN" "$URL/metrics" |
  awk '$1 == "veil_hub_auth_lockouts_total{kind=\"ip\"}" {print $2}')
[ "$LOCKS" = 2 ] || fail "veil_hub_auth_lockouts_total{kind=\"ip\"} = '$LOCKS'"

"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --export-audit >"$WORK/audit.jsonl" 2>/dev/null || fail "export"
python3 - "$WORK/audit.jsonl" <<'PY' || fail "audit rows"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
acts = [r["action"] for r in rows]
for a in ("token.totp_enable", "auth.login", "token.expired", "token.out_of_scope", "auth.lockout",
          "token.recovery_codes", "auth.recovery_code"):
    assert a in acts, (a, acts)
lock = sorted(r["actor"] for r in rows if r["action"] == "auth.lockout")
assert len(lock) == 3 and lock[0] == "ip:127.0.0.3" and lock[1] == "ip:127.0.0.5" and lock[2].startswith("token:"), lock
used = [r for r in rows if r["action"] == "auth.recovery_code"]
assert len(used) == 3 and [json.loads(r["details"])["left"] if isinstance(r["details"], str) else r["details"]["left"] for r in used] == [9, 8, 9], used
PY
for s in "$ADMIN" "$TOK" "$SESSION" "$SECRET" "$SECRET_HEX" "${RECOVERY[@]}" "${R2[@]}" "${N2[@]}" "$TOK2"; do
  grep -q -- "$s" "$WORK"/hub*.log "$WORK/audit.jsonl" && fail "a token or the TOTP secret is in a log or the audit"
done
ok "audited: token.totp_enable, auth.login, token.expired, token.out_of_scope, auth.lockout (two addresses, one token); no secret in logs"
