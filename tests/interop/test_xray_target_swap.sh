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
source "$SUPPORT/fleet.sh"

N_PORT=$(free_port) T1=$(free_port) T2=$(free_port) H_PORT=$(free_port)
S_PORT=$(free_port) C_OLD=$(free_port) C_NEW=$(free_port) C_BAD=$(free_port)

fleet_hub <<JSON
 "sync_interval": $PUSH,
 "subscription": {"title": "T", "update_interval_hours": 6, "public_url": "http://127.0.0.1:$HUB_PORT"},
 "cache": {"sub_ttl_ms": 1000}, "fleet": {"dead_after": 60, "probe_interval": 0},
 "scheduler": {"enabled": true, "interval": 1},
 "targets": {"grace_sec": 3600, "check_sec": 1}
JSON
fleet_target a "$T1"
fleet_target b "$T2"
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
slow_origin "$S_PORT"
wait_port "$H_PORT"

NODE=$(fleet_register n1 "$N_PORT" a.example.com)
NODE_ID=$(jget "['id']" <<<"$NODE")
fleet_node_config n1 "$N_PORT" "$(jget "['token']" <<<"$NODE")" "127.0.0.1:$T1" a.example.com \
  '{"veil": {"workers": 2, "allowPrivateDestinations": true}}'
bg node "$VEIL_BIN/veil-node" -c "$WORK/n1.json"
NODE_PID=$LASTPID
wait_port "$N_PORT"

SUB=$(fleet_customer '{"username": "carol"}' | jget "['sub_token']")
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
