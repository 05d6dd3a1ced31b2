#!/usr/bin/env bash
# A REALITY target hot-swap with the genuine Xray-core client (issue 15 item 3), on loopback with
# real veil-hub and veil-node: the hub rotates the node from target a (SNI a.example.com) to
# target b (b.example.com) by hand (`veil node rotate-target`), the node hot-swaps target +
# serverNames at its next pull, and
#  - an Xray-core client configured from the OLD link (sni=a.example.com) opens new tunnels
#    during the grace period;
#  - an Xray-core client configured from the NEW link that /sub now serves connects;
#  - a download started through the old client before the swap completes, byte for byte;
#  - a client with an SNI the node never had is refused (it gets the target, not a tunnel).
source "$(dirname "$0")/support/interop.sh"

HUB_PORT=$(free_port) N_PORT=$(free_port) T1=$(free_port) T2=$(free_port) H_PORT=$(free_port)
S_PORT=$(free_port) C_OLD=$(free_port) C_NEW=$(free_port) C_BAD=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM
POLL=5

cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $HUB_PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$ADMIN", "log_level": "info", "sync_interval": 10,
 "subscription": {"title": "T", "update_interval_hours": 6, "public_url": "http://127.0.0.1:$HUB_PORT"},
 "cache": {"sub_ttl_ms": 1000}, "fleet": {"dead_after": 60, "probe_interval": 0},
 "scheduler": {"enabled": true, "interval": 1},
 "targets": {"grace_sec": 3600, "check_sec": 1}}
JSON
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$HUB_PORT"
api() { curl -fsS -X "$1" "http://127.0.0.1:$HUB_PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

for n in a b; do
  openssl req -x509 -newkey rsa:2048 -keyout "$WORK/$n.key" -out "$WORK/$n.crt" -days 30 -nodes \
    -subj "/CN=$n.example.com" >/dev/null 2>&1
done
bg target-a openssl s_server -accept "127.0.0.1:$T1" -cert "$WORK/a.crt" -key "$WORK/a.key" -tls1_3 -www -quiet
bg target-b openssl s_server -accept "127.0.0.1:$T2" -cert "$WORK/b.crt" -key "$WORK/b.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
# A slow origin: 400 chunks of 1 KiB, one every 50 ms (a tunnel open for about 20 s).
bg slow python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $S_PORT)); s.listen()
while True:
    c, _ = s.accept()
    try:
        if c.recv(4096):
            c.sendall(b'HTTP/1.0 200 OK\r\nContent-Length: 409600\r\n\r\n')
            for i in range(400):
                c.sendall(bytes([i % 251]) * 1024); time.sleep(0.05)
    except OSError:
        pass
    c.close()"
for p in $T1 $T2 $H_PORT $S_PORT; do wait_port "$p"; done

KEYS=$("$VEIL_BIN/veil" x25519)
PRIV_N=$(sed -n 's/^PrivateKey: //p' <<<"$KEYS")
PUB_N=$(sed -n 's/^Password (PublicKey): //p' <<<"$KEYS")
SID_N=a1b2c3d4e5f60718
PLAN=$(api POST /api/v1/plans '{"name": "M", "duration_days": 30, "prices": {"RUB": 10000}}' | jget "['id']")
NODE=$(api POST /api/v1/nodes "{\"name\": \"n1\", \"address\": \"127.0.0.1\", \"port\": $N_PORT,
  \"public_key\": \"$PUB_N\", \"short_ids\": [\"$SID_N\"], \"server_names\": [\"a.example.com\"]}")
NODE_ID=$(jget "['id']" <<<"$NODE")
NODE_TOKEN=$(jget "['token']" <<<"$NODE")
mkdir -p "$WORK/state"
cat >"$WORK/node.json" <<JSON
{"log": {"loglevel": "info"},
 "inbounds": [{"listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
   "settings": {"clients": [], "decryption": "none"},
   "streamSettings": {"network": "raw", "security": "reality",
     "realitySettings": {"target": "127.0.0.1:$T1", "serverNames": ["a.example.com"],
       "privateKey": "$PRIV_N", "shortIds": ["$SID_N"]}}}],
 "outbounds": [{"protocol": "freedom"}],
 "veil": {"workers": 2, "allowPrivateDestinations": true, "stateDir": "$WORK/state",
          "hub": {"url": "http://127.0.0.1:$HUB_PORT", "token": "$NODE_TOKEN", "pollSec": $POLL, "pushSec": 10}}}
JSON
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
wait_port "$N_PORT"

U=$(api POST /api/v1/users '{"username": "carol"}')
USER_ID=$(jget "['id']" <<<"$U")
SUB=$(jget "['sub_token']" <<<"$U")
api POST /api/v1/subscriptions "{\"user_id\": $USER_ID, \"plan_id\": $PLAN}" >/dev/null
sub_link() { curl -fsS -A 'v2rayNG/1.9.30' "http://127.0.0.1:$HUB_PORT/sub/$SUB" | base64 -d | grep -m1 '^vless://' || true; }
have_link() { LINK=$(sub_link); [ -n "$LINK" ]; }
wait_for have_link 30 "a link in the subscription"
grep -q 'sni=a.example.com' <<<"$LINK" || fail "first link without sni=a.example.com: $LINK"
OLD_LINK=$LINK

hello() { [ "$(curl -s --max-time 10 --socks5-hostname "127.0.0.1:$1" "http://127.0.0.1:$H_PORT/hello")" = \
            "hello through the tunnel" ]; }
xray_from() { # xray_from NAME LINK PORT: the genuine client as v2rayN/v2rayNG configure it from a link
  python3 "$PT" link-to-xray "$WORK/xray-$1.json" "$2" "$3"
  bg "xray-$1" "$XRAY" run -c "$WORK/xray-$1.json"
  wait_port "$3"
}
xray_from old "$OLD_LINK" "$C_OLD"
wait_for "hello $C_OLD" $((POLL * 3 + 5)) "the old-link Xray client to tunnel (the user reaching the node)"
ok "Xray-core with the first link (sni=a.example.com) tunnels"

# A download through the old client, started before the swap.
curl -s --max-time 60 --socks5-hostname "127.0.0.1:$C_OLD" "http://127.0.0.1:$S_PORT/slow" -o "$WORK/slow.bin" &
SLOW_PID=$!
wait_for '[ -s "$WORK/slow.bin" ]' 10 "the download to start"

# The swap: target b into the pool, rotated to by hand; the node applies it at its next pull.
api POST /api/v1/targets "[{\"host\": \"127.0.0.1\", \"port\": $T2, \"sni\": \"b.example.com\", \"node_id\": $NODE_ID}]" >/dev/null
T2_ID=$(api GET "/api/v1/targets?node_id=$NODE_ID" |
  python3 -c "import json,sys; print([t['id'] for t in json.load(sys.stdin)['targets'] if t['port'] == $T2][0])")
VEIL_HUB_URL="http://127.0.0.1:$HUB_PORT" VEIL_HUB_TOKEN=$ADMIN "$VEIL_BIN/veil" node rotate-target "$NODE_ID" "$T2_ID" \
  >"$WORK/rotate.out" || { cat "$WORK/rotate.out"; fail "veil node rotate-target failed"; }
new_sni() { LINK=$(sub_link); grep -q 'sni=b.example.com' <<<"$LINK"; }
wait_for new_sni 20 "/sub to serve sni=b.example.com"
applied() { grep -q '"event.action":"hub_target_applied"' "$WORK/node.log"; }
wait_for applied $((POLL * 3 + 5)) "the node to apply the new target"
[ -s "$WORK/slow.bin" ] && kill -0 "$SLOW_PID" 2>/dev/null || fail "the download ended before the swap was applied"
ok "rotated to target b: /sub serves sni=b.example.com, the node hot-swapped (download still running)"

xray_from new "$LINK" "$C_NEW"
wait_for "hello $C_NEW" 10 "the new-link Xray client to tunnel"
ok "Xray-core with the new link (sni=b.example.com) tunnels"
for i in 1 2 3; do hello "$C_OLD" || fail "Xray-core with the old link, new tunnel $i, refused during the grace period"; done
ok "Xray-core with the old link (sni=a.example.com, in grace) opens new tunnels after the swap"

# An SNI the node never had: Xray-core gets the target's certificate, no tunnel.
BAD_LINK=$(sed 's/sni=b.example.com/sni=c.example.com/' <<<"$LINK")
xray_from bad "$BAD_LINK" "$C_BAD"
hello "$C_BAD" && fail "a client with an unknown SNI got a tunnel"
ok "Xray-core with an SNI the node does not serve is refused"

wait "$SLOW_PID" || fail "the download started before the swap failed"
[ "$(stat -c %s "$WORK/slow.bin")" = 409600 ] || fail "the download across the swap was cut: $(stat -c %s "$WORK/slow.bin") bytes"
python3 -c "
import sys
d = open(sys.argv[1], 'rb').read()
assert all(d[i * 1024:(i + 1) * 1024] == bytes([i % 251]) * 1024 for i in range(400))
" "$WORK/slow.bin" || fail "the download across the swap is corrupt"
ok "a download started before the swap delivered all 409600 bytes intact"

kill -0 "$NODE_PID" || fail "node died"
if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports"
fi
echo "xray target swap: all checks passed"
