#!/usr/bin/env bash
# Admin access hardening on a real veil-hub (docs/security.md §6, issue 16 item 6): a TOTP second
# factor enrolled with `veil token totp-enable` (the otpauth URI's secret drives a code generator
# here), dashboard login without / with a wrong / with the right / with a replayed code, the API
# session exchange; a token that expires (401 token_expired), a scoped token out of scope (403);
# the admin allowlist (127.0.0.9 refused, node sync and /healthz from there still served);
# lockout after 3 failures and unlock after the 3 s period, shared by a second hub through a
# real redis-server; the audit rows and the lockout metric.
source "$(dirname "$0")/support/lib.sh"

REDIS=$(command -v redis-server || true)
[[ -n $REDIS ]] || skip_all "redis-server not installed"
RPORT=$(free_port)
bg redis "$REDIS" --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK"
wait_port "$RPORT"

PORT=$(free_port)
PORT2=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM$RANDOM
hubcfg() {
  cat >"$WORK/$1.json" <<JSON
{"listen": "127.0.0.1", "port": $2, "threads": 2, "database": "sqlite:$WORK/hub.db", "admin_token": "$ADMIN",
 "redis_url": "redis://127.0.0.1:$RPORT", "fleet": {"dead_after": 0, "probe_interval": 0},
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
ok "veil token session: a session token that works; the same code again refused; 3 failures lock 127.0.0.3 and the token's codes"

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
for a in ("token.totp_enable", "auth.login", "token.expired", "token.out_of_scope", "auth.lockout"):
    assert a in acts, (a, acts)
lock = sorted(r["actor"] for r in rows if r["action"] == "auth.lockout")
assert len(lock) == 3 and lock[0] == "ip:127.0.0.3" and lock[1] == "ip:127.0.0.5" and lock[2].startswith("token:"), lock
PY
for s in "$ADMIN" "$TOK" "$SESSION" "$SECRET"; do
  grep -q -- "$s" "$WORK"/hub*.log "$WORK/audit.jsonl" && fail "a token or the TOTP secret is in a log or the audit"
done
ok "audited: token.totp_enable, auth.login, token.expired, token.out_of_scope, auth.lockout (two addresses, one token); no secret in logs"
