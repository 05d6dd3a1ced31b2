#!/usr/bin/env bash
# REALITY target health, the hub's target pool and automatic rotation (issue 15 items 1-3), on
# loopback with real veil-hub, veil-node, `veil client` and openssl s_server targets:
#  - the node's active check reports each way its target can stop suiting (TLS 1.2 only, no X25519,
#    a certificate for another name, not answering) on /metrics and to the hub;
#  - `veil scan --json` candidates go into the pool (POST /api/v1/targets);
#  - the target breaks -> the node reports it -> the hub rotates the node to the next vetted
#    target (audited, counted in /metrics) -> /sub serves the new SNI (time measured) -> the node
#    hot-swaps: a client with the new link connects, a client with the old link (old SNI, in the
#    grace period) still connects, and a download started before the swap finishes intact;
#  - `veil node rotate-target` moves it back by hand and pins it.
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/fleet.sh"
command -v openssl >/dev/null || skip_all "openssl not installed"

N_PORT=$(free_port) T1=$(free_port) T2=$(free_port) H_PORT=$(free_port)
C1=$(free_port) C2=$(free_port) M_PORT=$(free_port) S_PORT=$(free_port)

fleet_hub <<JSON
 "sync_interval": $PUSH,
 "subscription": {"title": "T", "update_interval_hours": 6, "public_url": "http://127.0.0.1:$HUB_PORT"},
 "cache": {"sub_ttl_ms": 1000}, "fleet": {"dead_after": 60, "probe_interval": 0},
 "scheduler": {"enabled": true, "interval": 1},
 "targets": {"rotate_failures": 3, "window_sec": 120, "rotate_on_verdict": true, "grace_sec": 3600,
             "check_sec": 1, "cooldown_sec": 20}
JSON

# target1 MODE: good (TLS 1.3, X25519), tls12, p256 (no X25519: HelloRetryRequest), othercert
# (c.example.com's), stop (closed port). Target 1 misbehaves on demand; target 2 is the vetted
# replacement.
T1_PID=
target1() {
  [ -n "$T1_PID" ] && { kill "$T1_PID" 2>/dev/null || true; wait "$T1_PID" 2>/dev/null || true; T1_PID=; }
  case $1 in
    good) fleet_target a "$T1" ;; tls12) fleet_target a "$T1" -tls1_2 ;;
    p256) fleet_target a "$T1" -tls1_3 -groups P-256 ;; othercert) fleet_target c "$T1" ;; stop) return 0 ;;
  esac
  T1_PID=$LASTPID
}
target1 good
fleet_target b "$T2"
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
slow_origin "$S_PORT"
wait_port "$H_PORT"

NODE=$(fleet_register n1 "$N_PORT" a.example.com)
NODE_ID=$(jget "['id']" <<<"$NODE"); NODE_TOKEN=$(jget "['token']" <<<"$NODE")
fleet_node_config n1 "$N_PORT" "$NODE_TOKEN" "127.0.0.1:$T1" a.example.com - <<JSON
{"veil": {"workers": 2, "allowPrivateDestinations": true, "targetCheckSec": 1, "metricsListen": "127.0.0.1:$M_PORT"}}
JSON
bg node "$VEIL_BIN/veil-node" -c "$WORK/n1.json"; NODE_PID=$LASTPID; wait_port "$N_PORT"; wait_port "$M_PORT"

SUB=$(fleet_customer '{"username": "carol"}' | jget "['sub_token']")
until_ok() { local end=$((SECONDS + $1)); shift; until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.2; done; }
have_link() { LINK=$(sub_link); [ -n "$LINK" ]; }
until_ok 30 have_link || fail "no link in the subscription"
grep -q 'sni=a.example.com' <<<"$LINK" || fail "first link without sni=a.example.com: $LINK"
OLD_LINK=$LINK

# 1. Health on the node: each misbehaviour shows in /metrics within a few checks. The node is
#    pinned meanwhile so that the hub does not rotate it yet.
api PATCH "/api/v1/nodes/$NODE_ID/target" '{"pinned": true}' >/dev/null
verdict_is() { curl -fsS "http://127.0.0.1:$M_PORT/metrics" | grep -q "^veil_node_target_verdict{target=\"127.0.0.1:$T1\",sni=\"a.example.com\",verdict=\"$1\"} 1"; }
until_ok 15 verdict_is suitable || fail "good target not reported suitable"
for m in tls12:no_tls13 p256:no_x25519 othercert:cert_name stop:down good:suitable; do
  target1 "${m%%:*}"
  until_ok 15 verdict_is "${m#*:}" || { curl -s "http://127.0.0.1:$M_PORT/metrics" | grep target; fail "mode ${m%%:*}: no verdict ${m#*:}"; }
  ok "target ${m%%:*}: the node reports ${m#*:}"
done
curl -fsS "http://127.0.0.1:$M_PORT/metrics" > "$WORK/metrics.txt"
grep -q "^veil_node_target_cert_not_after_seconds{target=\"127.0.0.1:$T1\"} [0-9]" "$WORK/metrics.txt" || fail "no certificate expiry"
grep -q "^veil_node_target_dials_total{target=\"127.0.0.1:$T1\",result=\"ok\"}" "$WORK/metrics.txt" || true
reported() { [ "$(api GET "/api/v1/nodes/$NODE_ID/target" | jget "['verdict']")" = "$1" ]; }
until_ok $((PUSH * 2 + 5)) reported suitable || fail "the hub never heard 'suitable'"
ok "the hub has the node's target report (verdict suitable)"

# 2. The pool: veil scan --json ranks candidates; the suitable one goes in as vetted.
"$VEIL_BIN/veil" scan --json "127.0.0.1:$T2" "127.0.0.1:$(free_port)" --sni b.example.com --timeout 2 > "$WORK/scan.json" \
  || fail "scan found nothing suitable"
api POST /api/v1/targets "$(cat "$WORK/scan.json")" >/dev/null
POOL=$(api GET "/api/v1/targets?node_id=$NODE_ID")
[ "$(jget "['targets'][0]['state']" <<<"$POOL")" = vetted ] || fail "scan result not vetted: $POOL"
[ "$(jget "['targets'][0]['port']" <<<"$POOL")" = "$T2" ] || fail "best candidate is not target 2: $POOL"
[ "$(jget "['targets'][1]['state']" <<<"$POOL")" = bad ] || fail "closed candidate not kept as bad: $POOL"
ok "veil scan --json candidates in the pool (suitable -> vetted, closed port -> bad)"

# 3. An open tunnel through the old link, started before anything breaks.
bg client1 "$VEIL_BIN/veil" client --link "$OLD_LINK" --listen "127.0.0.1:$C1"; wait_port "$C1"
curl -s --max-time 60 --socks5-hostname "127.0.0.1:$C1" "http://127.0.0.1:$S_PORT/slow" -o "$WORK/slow.bin" &
SLOW_PID=$!
sleep 1

# 4. Break the target, unpin: the hub rotates the node and /sub serves the new SNI.
api PATCH "/api/v1/nodes/$NODE_ID/target" '{"pinned": false}' >/dev/null
T0=$(date +%s.%N)
target1 tls12
new_sni() { LINK=$(sub_link); grep -q 'sni=b.example.com' <<<"$LINK"; }
until_ok 90 new_sni || { api GET "/api/v1/nodes/$NODE_ID/target"; fail "/sub never served the new SNI"; }
T1S=$(date +%s.%N)
BROKE_TO_SUB=$(python3 -c "print(f'{$T1S - $T0:.1f}')")
ok "target broke -> new SNI in /sub: $BROKE_TO_SUB s (node check 1 s, push ${PUSH} s, rule every 1 s)"
api GET /api/v1/audit | grep -q '"node.target_rotate"' || fail "no audit row for the rotation"
curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$HUB_PORT/metrics" | grep -qE '^veil_hub_target_rotations_total\{reason="(failures|verdict)"\} 1$' \
  || fail "rotation not counted in /metrics"
ok "rotation audited (node.target_rotate) and counted (veil_hub_target_rotations_total)"

# 5. The node hot-swaps at its next pull; both links connect; the open tunnel keeps flowing.
applied() { grep -q '"event.action":"hub_target_applied"' "$WORK/node.log"; }
until_ok $((POLL * 3 + 5)) applied || fail "the node never applied the new target"
T2S=$(date +%s.%N)
ok "node swapped target: $(python3 -c "print(f'{$T2S - $T0:.1f}')") s after the break"
kill -0 "$NODE_PID" || fail "node died"
bg client2 "$VEIL_BIN/veil" client --link "$LINK" --listen "127.0.0.1:$C2"; wait_port "$C2"
hello() { [ "$(curl -s --max-time 10 --socks5-hostname "127.0.0.1:$1" "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ]; }
until_ok 10 hello "$C2" || fail "client with the new link cannot connect"
ok "client with the new link (sni=b.example.com) connects"
until_ok 10 hello "$C1" || fail "client with the old link cannot connect during the grace period"
ok "client with the old link (sni=a.example.com, in grace) still connects"
wait "$SLOW_PID" || fail "the download started before the swap failed"
[ "$(stat -c %s "$WORK/slow.bin")" = 409600 ] || fail "the download started before the swap was cut: $(stat -c %s "$WORK/slow.bin") bytes"
ok "a tunnel open across the swap delivered all 409600 bytes"

# 6. By hand: back to target 1 (repaired), pinned.
target1 good
T1_ID=$(api POST /api/v1/targets "[{\"host\": \"127.0.0.1\", \"port\": $T1, \"sni\": \"a.example.com\", \"node_id\": $NODE_ID}]" >/dev/null;
        api GET "/api/v1/targets?node_id=$NODE_ID" | python3 -c "import json,sys; print([t['id'] for t in json.load(sys.stdin)['targets'] if t['port'] == $T1][0])")
VEIL_HUB_URL="http://127.0.0.1:$HUB_PORT" VEIL_HUB_TOKEN=$ADMIN "$VEIL_BIN/veil" node rotate-target "$NODE_ID" "$T1_ID" --pin \
  > "$WORK/rotate.out" || { cat "$WORK/rotate.out"; fail "veil node rotate-target failed"; }
grep -q "assigned    127.0.0.1:$T1 SNI a.example.com .*pinned" "$WORK/rotate.out" || { cat "$WORK/rotate.out"; fail "rotate-target output"; }
back() { LINK=$(sub_link); grep -q 'sni=a.example.com' <<<"$LINK"; }
until_ok 10 back || fail "/sub did not follow the manual rotation"
grace=$(api GET "/api/v1/nodes/$NODE_ID/target" | jget "['grace'][0]['sni']")
[ "$grace" = b.example.com ] || fail "b.example.com not in grace after the manual rotation: $grace"
ok "veil node rotate-target: back to target 1, pinned, b.example.com in grace"

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports"
fi
echo "fleet targets: all checks passed; target broke -> new SNI served in /sub: $BROKE_TO_SUB s"
