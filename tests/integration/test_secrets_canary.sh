#!/usr/bin/env bash
# Canary secrets (issue 16, Tests: "a grep over all logs/metrics/audit ... finds none of the test
# secrets"): veil-hub and veil-node run with a planted, unique value for every secret they hold:
# admin token, bot token and webhook secret, YooKassa secret key, Robokassa passwords, Crypto Pay
# token, the master key, the PostgreSQL password (scram, in the database URL), the Redis password,
# the node's admin token and REALITY key; plus the secrets the hub makes (node token, a TOTP
# secret and its recovery codes, session tokens) and wrong secrets an attacker sends. Everything
# is exercised: admin calls, a TOTP login on the dashboard and the API, a payment per provider
# through the fakes, forged webhooks, the bot answering /start, node sync and usage, wrong admin,
# node and TOTP credentials, a refused start with a wrong master key and with a wrong database
# password. Then every log line, both daemons' /metrics, the audit export and every error
# response body are searched for every canary (fixed strings; the fakes' and servers' own logs,
# which legitimately see the values, are not ours and are left out).
source "$(dirname "$0")/support/lib.sh"
umask 077

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[[ -x $PGBIN/initdb ]] || skip_all "no PostgreSQL binaries at $PGBIN"
REDIS=$(command -v redis-server || true)
[[ -n $REDIS ]] || skip_all "redis-server not installed"
FAKES=$(cd "$(dirname "$0")/../fakes" && pwd)
TG="python3 $SUPPORT/tg_client.py"
rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ---- the canaries (alphanumeric, so no encoding can hide them from grep) ----
ADMIN=canaryAdmin$(rnd)
BOT_TOKEN=7$(od -An -N4 -tu4 /dev/urandom | tr -d ' '):canaryBot$(rnd)
BOT_HOOK=canaryHook$(rnd)
YK_SECRET=canaryYk$(rnd)
RK_P1=canaryRk1$(rnd)
RK_P2=canaryRk2$(rnd)
CB_TOKEN=1234:canaryCb$(rnd)
MASTER=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
PG_PASS=canaryPg$(rnd)
REDIS_PASS=canaryRedis$(rnd)
NODE_ADMIN=canaryNodeAdmin$(rnd)
WRONG_ADMIN=canaryWrongAdmin$(rnd)
WRONG_NODE=canaryWrongNode$(rnd)
WRONG_HOOK=canaryWrongHook$(rnd)

# ---- PostgreSQL with a password, Redis with a password ----
chmod 755 "$WORK"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir "$WORK/pg" && chmod 755 "$WORK/pg"
printf '%s\n' "$PG_PASS" >"$WORK/pg/pwfile"
[[ $(id -u) -eq 0 ]] && chown -R postgres "$WORK/pg"
PGPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U veil --pwfile="$WORK/pg/pwfile" --auth-local=trust \
  --auth-host=scram-sha-256 -E UTF8 --no-locale >"$WORK/initdb.out" 2>&1 || fail "initdb: $(tail -3 "$WORK/initdb.out")"
rm -f "$WORK/pg/pwfile"
stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true; }
trap 'rc=$?; stop_pg; set +e; (exit $rc); cleanup' EXIT # cleanup reads the status
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.out" -w -t 60 \
  -o "-k $WORK/pg -c listen_addresses=127.0.0.1 -p $PGPORT -c fsync=off" start >/dev/null ||
  fail "PostgreSQL did not start"
as_pg "$PGBIN/createdb" -h "$WORK/pg" -p "$PGPORT" -U veil veil
RPORT=$(free_port)
bg redis-server "$REDIS" --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
  --requirepass "$REDIS_PASS"
wait_port "$RPORT"

# ---- the fakes ----
HPORT=$(free_port)
bg fake-tg python3 "$FAKES/fake_telegram.py" --port-file "$WORK/tg.port" --token "$BOT_TOKEN"
bg fake-yk python3 "$FAKES/fake_yookassa.py" --port-file "$WORK/yk.port" --shop-id shop1 --secret "$YK_SECRET" \
  --hook "http://127.0.0.1:$HPORT/webhooks/yookassa"
bg fake-rk python3 "$FAKES/fake_robokassa.py" --port-file "$WORK/rk.port" --login demo --password1 "$RK_P1" \
  --password2 "$RK_P2" --hash md5 --hook "http://127.0.0.1:$HPORT/webhooks/robokassa"
bg fake-cb python3 "$FAKES/fake_cryptobot.py" --port-file "$WORK/cb.port" --token "$CB_TOKEN" \
  --hook "http://127.0.0.1:$HPORT/webhooks/cryptobot"
wait_for "[[ -s $WORK/tg.port && -s $WORK/yk.port && -s $WORK/rk.port && -s $WORK/cb.port ]]" 10 "the fakes"
TGPORT=$(cat "$WORK/tg.port")

# ---- the hub: every secret in the credentials directory, none in hub.json ----
CREDS=$WORK/hub-creds
mkdir -p "$CREDS"
put() { printf '%s\n' "$2" >"$CREDS/$1"; chmod 400 "$CREDS/$1"; }
put admin_token "$ADMIN"
put database "postgresql://veil:$PG_PASS@127.0.0.1:$PGPORT/veil"
put redis_url "redis://:$REDIS_PASS@127.0.0.1:$RPORT"
put billing_yookassa_secret_key "$YK_SECRET"
put billing_robokassa_password1 "$RK_P1"
put billing_robokassa_password2 "$RK_P2"
put billing_cryptobot_token "$CB_TOKEN"
put bot_token "$BOT_TOKEN"
put bot_webhook_secret "$BOT_HOOK"
put master_key "$MASTER"
cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $HPORT, "threads": 2, "log_level": "debug", "master_key_file": "master_key",
 "fleet": {"dead_after": 0, "probe_interval": 0}, "scheduler": {"enabled": true, "interval": 1},
 "subscription": {"public_url": "http://127.0.0.1:$HPORT"},
 "billing": {"reconcile_after": 1, "reconcile_interval": 1,
   "yookassa": {"shop_id": "shop1", "api_url": "http://127.0.0.1:$(cat "$WORK/yk.port")/v3",
                "return_url": "https://t.me/veil_bot", "trusted_networks": ["127.0.0.1/32"]},
   "robokassa": {"merchant_login": "demo", "pay_url": "http://127.0.0.1:$(cat "$WORK/rk.port")/Merchant/Index.aspx"},
   "cryptobot": {"api_url": "http://127.0.0.1:$(cat "$WORK/cb.port")/api"}},
 "bot": {"api_url": "http://127.0.0.1:$TGPORT", "mode": "polling", "poll_timeout": 1, "trial_days": 3}}
JSON
for s in "$ADMIN" "$PG_PASS" "$REDIS_PASS" "$YK_SECRET" "$RK_P1" "$CB_TOKEN" "$BOT_TOKEN" "$MASTER"; do
  grep -qF -- "$s" "$WORK/hub.json" && fail "a canary is in hub.json itself"
done
CREDENTIALS_DIRECTORY=$CREDS bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_for "curl -fsS http://127.0.0.1:$HPORT/healthz" 20 "the hub"
grep -q '"encryption_enabled"' "$WORK/hub.log" || fail "the hub does not seal (master key from the credentials)"

# Every answer is kept; error answers (4xx/5xx) are searched for the canaries at the end.
mkdir -p "$WORK/answers"
N_ANS=0
# req [--from IP] METHOD PATH TOKEN [BODY] -> prints the status; the body stays in $WORK/body
req() {
  local from=127.0.0.1
  if [ "$1" = --from ]; then from=$2; shift 2; fi
  local code
  code=$(curl -sS -o "$WORK/body" -w '%{http_code}' --interface "$from" -X "$1" "http://127.0.0.1:$HPORT$2" \
         ${3:+-H "Authorization: Bearer $3"} -H 'Content-Type: application/json' ${4:+--data-binary "$4"})
  N_ANS=$((N_ANS + 1))
  [ "$code" -ge 400 ] && cp "$WORK/body" "$WORK/answers/error-$N_ANS.$code"
  echo "$code"
}
jbody() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$WORK/body" "$1"; }

# ---- admin API, node, TOTP ----
[ "$(req POST /api/v1/plans "$ADMIN" '{"name":"Month","duration_days":30,"prices":{"RUB":29900}}')" = 201 ] || fail "plan"
PLAN=$(jbody "['id']")
[ "$(req POST /api/v1/users "$ADMIN" '{"username":"buyer","currency":"RUB"}')" = 201 ] || fail "user"
BUYER=$(jbody "['id']")
[ "$(req POST /api/v1/subscriptions "$ADMIN" "{\"user_id\":$BUYER,\"plan_id\":$PLAN}")" = 201 ] || fail "subscription"
KEYS=$("$VEIL_BIN/veil" x25519)
PRIV=$(sed -n 's/^PrivateKey: //p' <<<"$KEYS")
PUB=$(sed -n 's/^Password (PublicKey): //p' <<<"$KEYS")
NPORT=$(free_port) APORT=$(free_port) TPORT=$(free_port) MPORT=$(free_port)
[ "$(req POST /api/v1/nodes "$ADMIN" "{\"name\":\"n1\",\"address\":\"127.0.0.1\",\"port\":$NPORT,\"public_key\":\"$PUB\",
  \"short_ids\":[\"a1b2\"],\"server_names\":[\"example.com\"]}")" = 201 ] || fail "node: $(cat "$WORK/body")"
NODE_TOKEN=$(jbody "['token']")
[ "$(req POST /api/v1/tokens "$ADMIN" '{"name":"ops","role":"admin"}')" = 201 ] || fail "token"
OPS=$(jbody "['token']")
OPS_ID=$(jbody "['id']")
[ "$(req POST "/api/v1/tokens/$OPS_ID/totp" "$ADMIN")" = 201 ] || fail "totp enrol"
TOTP_B32=$(jbody "['secret']")
TOTP_HEX=$(python3 -c "import base64,sys; print(base64.b32decode(sys.argv[1]).hex())" "$TOTP_B32")
mapfile -t RECOVERY < <(python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))['recovery_codes']))" "$WORK/body")
totp() {
  python3 - "$TOTP_B32" "$1" <<'PY'
import base64, hashlib, hmac, struct, sys, time
key = base64.b32decode(sys.argv[1])
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + int(sys.argv[2])), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}
C0=$(totp 0)
WRONG_CODE=$(printf '%06d' $(( (10#$C0 + 500000) % 1000000 )))
[ "$(req POST /api/v1/auth/totp "$OPS" "{\"code\":\"$WRONG_CODE\"}")" = 401 ] || fail "wrong TOTP code accepted"
[ "$(req POST /api/v1/auth/totp "$OPS" "{\"code\":\"$C0\"}")" = 201 ] || fail "TOTP session: $(cat "$WORK/body")"
SESSION=$(jbody "['token']")
[ "$(req GET /api/v1/users "$SESSION")" = 200 ] || fail "session token"
code=$(curl -sS -o "$WORK/answers/login.html" -w '%{http_code}' -X POST "http://127.0.0.1:$HPORT/admin/login" \
  --data-urlencode "token=$OPS" --data-urlencode "code=${RECOVERY[0]}")
[ "$code" = 303 ] || fail "dashboard login with a recovery code: $code"
code=$(curl -sS -o "$WORK/answers/error-login.html" -w '%{http_code}' -X POST "http://127.0.0.1:$HPORT/admin/login" \
  --data-urlencode "token=$WRONG_ADMIN")
[ "$code" = 401 ] || fail "dashboard login with a wrong token: $code"
[ "$(req GET /api/v1/users "$WRONG_ADMIN")" = 401 ] || fail "a wrong admin token"
[ "$(req GET /api/v1/users "$OPS")" = 401 ] || fail "a TOTP token used bare"
ok "admin API, TOTP enrolment, a wrong and a right code, a session, a recovery-code login; wrong tokens refused"

# ---- the node: REALITY key and admin token from files, hub token from its credentials ----
mkdir -p "$WORK/node-creds" "$WORK/node-secrets" "$WORK/state"
printf '%s\n' "$PRIV" >"$WORK/node-secrets/reality.key"
printf '%s\n' "$NODE_ADMIN" >"$WORK/node-secrets/admin"
printf '%s\n' "$NODE_TOKEN" >"$WORK/node-creds/hub_token"
cat >"$WORK/node.json" <<EOF
{"log": {"loglevel": "debug"},
 "inbounds": [{"listen": "127.0.0.1", "port": $NPORT, "protocol": "vless",
   "settings": {"clients": [], "decryption": "none"},
   "streamSettings": {"network": "raw", "security": "reality",
     "realitySettings": {"target": "127.0.0.1:$TPORT", "serverNames": ["example.com"],
       "privateKeyFile": "$WORK/node-secrets/reality.key", "shortIds": ["a1b2"]}}}],
 "outbounds": [{"protocol": "freedom"}],
 "veil": {"workers": 1, "stateDir": "$WORK/state", "adminListen": "127.0.0.1:$APORT", "metricsListen": "127.0.0.1:$MPORT",
          "adminTokenFile": "$WORK/node-secrets/admin",
          "hub": {"url": "http://127.0.0.1:$HPORT", "pollSec": 5, "pushSec": 10}}}
EOF
CREDENTIALS_DIRECTORY=$WORK/node-creds bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
wait_port "$APORT"
wait_for "grep -q hub_users_applied '$WORK/node.log'" 15 "the node's first pull"
wait_for "grep -q '\"route\":\"/api/v1/node/usage\",\"status\":200' '$WORK/hub.log'" 25 "the node's first usage push"
code=$(curl -sS -o "$WORK/answers/error-node-admin.json" -w '%{http_code}' -H "Authorization: Bearer $WRONG_ADMIN" \
  "http://127.0.0.1:$APORT/api/v1/users")
[ "$code" = 401 ] || fail "node admin API with a wrong token: $code"
[ "$(req GET /api/v1/node/users "$WRONG_NODE")" = 401 ] || fail "hub node API with a wrong node token"
# A prober's junk (and the node's own debug lines about it).
python3 -c "import socket,sys; s=socket.create_connection(('127.0.0.1', int(sys.argv[1]))); s.sendall(b'\x16\x03\x01\x00\x05hello'); s.settimeout(3); s.recv(100)" "$NPORT" 2>/dev/null || true
wait_for "grep -q '\"log.level\":\"debug\"' '$WORK/node.log'" 10 "the node's debug lines about a probe"
curl -fsS "http://127.0.0.1:$MPORT/metrics" >"$WORK/node-metrics.log" ||
  fail "node /metrics"
ok "node synced with the hub; wrong tokens on the node admin API and the hub's node API refused"

# ---- billing through the fakes, forged webhooks ----
control() { curl -fsS -X POST "http://127.0.0.1:$(cat "$WORK/$1.port")$2" --data-binary "$3"; }
for prov in yookassa robokassa cryptobot; do
  [ "$(req POST /api/v1/invoices "$ADMIN" "{\"user_id\":$BUYER,\"plan_id\":$PLAN,\"provider\":\"$prov\"}")" = 201 ] ||
    fail "$prov invoice: $(cat "$WORK/body")"
  pid=$(jbody "['payment_id']") ext=$(jbody "['external_id']") url=$(jbody "['pay_url']")
  case $prov in
  yookassa) control yk /_control/pay "{\"id\":\"$ext\",\"times\":1}" >/dev/null ;;
  robokassa) curl -fsS "$url" >/dev/null && control rk /_control/pay "{\"inv_id\":\"$ext\",\"times\":1}" >/dev/null ;;
  cryptobot) control cb /_control/pay "{\"invoice_id\":$ext,\"times\":1}" >/dev/null ;;
  esac || fail "$prov payment through the fake"
  wait_for "[ \"\$(req GET /api/v1/payments/$pid '$ADMIN')\" = 200 ] && grep -q '\"status\":\"succeeded\"' '$WORK/body'" 20 \
    "$prov payment settled"
done
code=$(curl -sS -o "$WORK/answers/error-cb.json" -w '%{http_code}' -X POST "http://127.0.0.1:$HPORT/webhooks/cryptobot" \
  -H "crypto-pay-api-signature: $WRONG_HOOK" -H 'Content-Type: application/json' \
  --data-binary '{"update_type":"invoice_paid","payload":{"invoice_id":1000}}')
[ "$code" = 401 ] || fail "forged Crypto Pay webhook: $code"
code=$(curl -sS -o "$WORK/answers/error-rk.txt" -w '%{http_code}' -X POST "http://127.0.0.1:$HPORT/webhooks/robokassa" \
  --data-binary "OutSum=299.000000&InvId=1&SignatureValue=$WRONG_HOOK")
[ "$code" = 403 ] || fail "forged Robokassa webhook: $code"
[ "$(req --from 127.0.0.2 POST /webhooks/yookassa "" '{"type":"notification","event":"payment.succeeded","object":{"id":"x"}}')" = 403 ] ||
  fail "YooKassa webhook from an untrusted address"
ok "a payment per provider settled through the fakes; forged webhooks refused"

# ---- the bot ----
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject '{"message": {"message_id": 1, "date": 1, "chat": {"id": 7001, "type": "private"},
  "from": {"id": 7001, "is_bot": false, "first_name": "A", "language_code": "en"}, "text": "/start"}}' >/dev/null
$TG "$TGPORT" wait sendMessage "$N" '"chat_id": 7001' 10 >/dev/null || fail "the bot did not answer /start"
ok "the bot answered /start through the fake Bot API"

# ---- refused starts: a wrong master key, a wrong database password ----
mkdir -p "$WORK/bad-creds"
cp -p "$CREDS"/* "$WORK/bad-creds/"
chmod 600 "$WORK/bad-creds/master_key" && head -c 32 /dev/urandom >"$WORK/bad-creds/master_key" && chmod 400 "$WORK/bad-creds/master_key"
rc=0
CREDENTIALS_DIRECTORY=$WORK/bad-creds "$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --migrate >"$WORK/refused-master.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "master key" "$WORK/refused-master.log" || fail "a wrong master key was not refused ($rc)"
cp -p "$CREDS/master_key" "$WORK/bad-creds/master_key"
chmod 600 "$WORK/bad-creds/database"
printf 'postgresql://veil:%s@127.0.0.1:%s/veil\n' "${PG_PASS}x" "$PGPORT" >"$WORK/bad-creds/database"
chmod 400 "$WORK/bad-creds/database"
rc=0
CREDENTIALS_DIRECTORY=$WORK/bad-creds "$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --migrate >"$WORK/refused-db.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ -s "$WORK/refused-db.log" ] || fail "a wrong database password was not refused ($rc)"
ok "refused starts: wrong master key ($(head -c 120 "$WORK/refused-master.log")...), wrong database password"

# ---- collect: metrics, audit export, every log; then search ----
curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$HPORT/metrics" >"$WORK/hub-metrics.log" || fail "hub /metrics"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()
CREDENTIALS_DIRECTORY=$CREDS "$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --export-audit >"$WORK/audit-export.log" \
  2>"$WORK/audit-export-stderr.log" || fail "audit export"
for a in auth.login auth.recovery_code token.totp_enable webhook_rejected node.register; do
  grep -q "\"action\":\"$a\"" "$WORK/audit-export.log" || fail "the audit export lacks $a: the search would be blind"
done
grep -q '"log.level":"debug"' "$WORK/hub.log" && grep -q '"log.level":"debug"' "$WORK/node.log" ||
  fail "debug logging was not on: the search would miss the chattiest lines"
# Ours only: the daemons' logs (every line, debug on), refused starts, metrics, the audit export.
SEARCHED=("$WORK"/hub.log "$WORK"/node.log "$WORK"/refused-*.log "$WORK"/hub-metrics.log "$WORK"/node-metrics.log
          "$WORK"/audit-export.log "$WORK"/audit-export-stderr.log "$WORK"/answers/*)
CANARIES=("$ADMIN" "$BOT_TOKEN" "${BOT_TOKEN#*:}" "$BOT_HOOK" "$YK_SECRET" "$RK_P1" "$RK_P2" "$CB_TOKEN" "${CB_TOKEN#*:}"
          "$MASTER" "$PG_PASS" "$REDIS_PASS" "$NODE_ADMIN" "$PRIV" "$NODE_TOKEN" "$OPS" "$SESSION" "$TOTP_B32"
          "$TOTP_HEX" "${RECOVERY[@]}" "$WRONG_ADMIN" "$WRONG_NODE" "$WRONG_HOOK")
found=0
for s in "${CANARIES[@]}"; do
  [ -n "$s" ] || fail "an empty canary"
  if grep -lF -- "$s" "${SEARCHED[@]}"; then
    echo "canary ${s:0:12}... found in the files above"
    found=1
  fi
done
[ $found = 0 ] || fail "a secret reached a log, a metric, the audit export or an error answer"
ok "${#CANARIES[@]} canary secrets searched in ${#SEARCHED[@]} files ($(cat "${SEARCHED[@]}" | wc -l) lines: logs, /metrics, audit export, $(ls "$WORK/answers" | wc -l) error answers): none found"
