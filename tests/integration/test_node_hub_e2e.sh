#!/usr/bin/env bash
# The real veil-hub and the real veil-node together, with customer traffic through `veil client`:
#  - a user created through the hub's API can tunnel within one sync interval; disabled, they
#    cannot, within one interval;
#  - the bytes a customer moves are booked in the hub exactly, and a retried push counts once;
#  - with the hub down the node keeps serving, counts usage, and pushes it when the hub returns;
#  - a node restarted while the hub is down serves from its persisted user table.
source "$(dirname "$0")/support/lib.sh"

HUB_PORT=$(free_port) N_PORT=$(free_port) T_PORT=$(free_port) H_PORT=$(free_port) C_PORT=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM
POLL=5 PUSH=10

cat > "$WORK/hub.json" <<EOF
{"listen": "127.0.0.1", "port": $HUB_PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$ADMIN", "log_level": "info",
 "subscription": {"title": "T", "update_interval_hours": 6, "public_url": "http://127.0.0.1:$HUB_PORT"},
 "scheduler": {"enabled": false, "interval": 60}}
EOF
start_hub() { bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"; HUB_PID=$LASTPID; wait_port "$HUB_PORT"; }
start_hub
api() { curl -fsS -X "$1" "http://127.0.0.1:$HUB_PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"

KEYS=$("$VEIL_BIN/veil" x25519)
PRIV=$(sed -n 's/^PrivateKey: //p' <<<"$KEYS")
PUB=$(sed -n 's/^Password (PublicKey): //p' <<<"$KEYS")
SID=a1b2c3d4e5f60718
PLAN=$(api POST /api/v1/plans '{"name": "M", "duration_days": 30, "prices": {"RUB": 10000}}' | jget "['id']")
NODE_TOKEN=$(api POST /api/v1/nodes "{\"name\": \"n1\", \"address\": \"127.0.0.1\", \"port\": $N_PORT,
  \"public_key\": \"$PUB\", \"short_ids\": [\"$SID\"], \"server_names\": [\"example.com\"]}" | jget "['token']")
mkdir -p "$WORK/state"
cat > "$WORK/node.json" <<EOF
{
  "log": {"loglevel": "debug"},
  "inbounds": [{"listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
    "settings": {"clients": [], "decryption": "none"},
    "streamSettings": {"network": "raw", "security": "reality",
      "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
        "privateKey": "$PRIV", "shortIds": ["$SID"]}}}],
  "outbounds": [{"protocol": "freedom"}],
  "veil": {"workers": 2, "allowPrivateDestinations": true, "stateDir": "$WORK/state",
           "hub": {"url": "http://127.0.0.1:$HUB_PORT", "token": "$NODE_TOKEN", "pollSec": $POLL, "pushSec": $PUSH}}
}
EOF
start_node() { bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"; NODE_PID=$LASTPID; wait_port "$N_PORT"; }
start_node
wait_port "$T_PORT"; wait_port "$H_PORT"

# A customer created through the API, with a subscription; their link comes from /sub.
U=$(api POST /api/v1/users '{"username": "carol"}')
UID_=$(jget "['id']" <<<"$U"); TOKEN=$(jget "['sub_token']" <<<"$U")
api POST /api/v1/subscriptions "{\"user_id\": $UID_, \"plan_id\": $PLAN}" >/dev/null
# /sub lists a node once it has checked in (its first pull, at start): poll for it.
for _ in $(seq 1 $((POLL * 3 * 5))); do
  LINK=$(curl -fsS -A 'v2rayNG/1.9.30' "http://127.0.0.1:$HUB_PORT/sub/$TOKEN" | base64 -d | grep -m1 '^vless://')
  [ -n "$LINK" ] && break
  sleep 0.2
done
[ -n "$LINK" ] || fail "no link in the subscription"
bg client "$VEIL_BIN/veil" client --link "$LINK" --listen "127.0.0.1:$C_PORT"
wait_port "$C_PORT"
fetch() { curl -s --max-time 10 --socks5-hostname "127.0.0.1:$C_PORT" "$@"; }
until_ok() { # until_ok SECONDS cmd...: retries until the command succeeds
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.3; done
}
hello() { [ "$(fetch "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ]; }
t0=$SECONDS
until_ok $((POLL * 3 + 2)) hello || fail "new user never reached the node"
ok "a user created in the hub can tunnel after $((SECONDS - t0)) s (poll interval ${POLL}s)"

# Exact usage: download a known number of bytes, wait for the push, compare with the hub.
N=3000000
fetch -o /dev/null "http://127.0.0.1:$H_PORT/bytes/$N" || fail "download"
used_down() { api GET "/api/v1/users/$UID_" | jget "['subscription']['used_down']"; }
until_ok $((PUSH * 2 + 5)) bash -c "[ \$(curl -fsS -H 'Authorization: Bearer $ADMIN' http://127.0.0.1:$HUB_PORT/api/v1/users/$UID_ | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"subscription\"][\"used_down\"])') -ge $N ]" \
  || fail "usage never booked (used_down=$(used_down))"
D1=$(used_down)
[ "$D1" -ge "$N" ] && [ "$D1" -lt $((N + 4096)) ] || fail "booked $D1 bytes down for a $N-byte body"
ok "the hub booked $D1 bytes down for a $N-byte download (body + HTTP headers + /hello)"

# Hub down: the node keeps serving and counts; usage arrives once the hub is back.
kill "$HUB_PID"; wait "$HUB_PID" 2>/dev/null || true
hello || fail "node stopped serving when the hub went down"
fetch -o /dev/null "http://127.0.0.1:$H_PORT/bytes/1000000" || fail "download with the hub down"
ok "hub down: tunnels keep working"
# ...and a node restarted while the hub is down serves from its persisted table.
kill -TERM "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true
start_node
until_ok 10 hello || fail "restarted node lost its users while the hub is down"
ok "node restarted with the hub down serves from stateDir"
start_hub
until_ok $((PUSH * 2 + 10)) bash -c "[ \$(curl -fsS -H 'Authorization: Bearer $ADMIN' http://127.0.0.1:$HUB_PORT/api/v1/users/$UID_ | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"subscription\"][\"used_down\"])') -ge $((D1 + 1000000)) ]" \
  || fail "usage counted while the hub was down was lost (used_down=$(used_down), before $D1)"
ok "usage from the outage was pushed when the hub returned: $(used_down) bytes down"

# Disabled in the hub: refused within an interval.
api POST "/api/v1/users/$UID_/disable" >/dev/null
t0=$SECONDS
until_ok $((POLL * 3 + 2)) bash -c "! curl -s --max-time 5 --socks5-hostname 127.0.0.1:$C_PORT http://127.0.0.1:$H_PORT/hello | grep -q tunnel" \
  || fail "disabled user still tunnels"
ok "a user disabled in the hub is refused after $((SECONDS - t0)) s"
if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports"
fi
echo "node + hub e2e: all checks passed"
