#!/usr/bin/env bash
# Probing of a node (issue 16 item 5): a burst of unauthenticated TLS handshakes from one
# loopback /24 (127.0.1.x) against a real veil-node that pushes to a real veil-hub.
#  - below the threshold every probe gets the target's real answer (its certificate);
#  - the burst crosses veil.limits.probeFallbacks: the address is banned (its next connections
#    are closed at once, as every limit of the node closes them), another address of the same
#    /24 is paced and banned at its first failure;
#  - meanwhile customers from another network keep working: `veil client` and the genuine
#    Xray-core client (a skipped part when ../shared/peers is absent), through the same node;
#  - counted on /metrics (veil_node_probe_*), logged once (probing_flagged);
#  - the hub push carries the network, the hub's analysis raises a "probing" finding for
#    net:127.0.1.0/24 (findings API, veil_hub_findings_open);
#  - after probeBanSec the banned address sees the target's answer again.
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/fleet.sh"

N_PORT=$(free_port) T_PORT=$(free_port) H_PORT=$(free_port) M_PORT=$(free_port)
C1=$(free_port) C2=$(free_port)
PROBE="python3 $SUPPORT/probe_tools.py burst"
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811

fleet_hub <<JSON
 "scheduler": {"enabled": true, "interval": 1}, "analysis": {"interval": 10}
JSON
fleet_target t "$T_PORT"
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
NODE_TOKEN=$(fleet_register n1 "$N_PORT" t.example.com | jget "['token']")
PUB=$(cat "$WORK/n1.pub")
# The probing guard on, with thresholds a test reaches in seconds (write_node_config turns it off).
fleet_node_config n1 "$N_PORT" "$NODE_TOKEN" "127.0.0.1:$T_PORT" t.example.com - <<JSON
{"clients": [{"id": "$ALICE", "flow": "xtls-rprx-vision", "email": "alice@example"}],
 "veil": {"workers": 2, "allowPrivateDestinations": true, "metricsListen": "127.0.0.1:$M_PORT",
          "limits": {"handshakesPerSecPerIp": 0, "probeFallbacks": 10, "probeWindowSec": 60,
                     "probeBanSec": 8, "probeDialsPerSec": 1}}}
JSON
bg node "$VEIL_BIN/veil-node" -c "$WORK/n1.json"
NODE_PID=$LASTPID
LINK="vless://$ALICE@127.0.0.1:$N_PORT?encryption=none&flow=xtls-rprx-vision&security=reality&sni=t.example.com&fp=chrome&pbk=$PUB&sid=$SID&type=tcp#n1"
bg client "$VEIL_BIN/veil" client --link "$LINK" --listen "127.0.0.1:$C1"
for p in $T_PORT $N_PORT $H_PORT $C1 $M_PORT; do wait_port "$p"; done
hello() { [ "$(curl -sS --max-time 5 --socks5-hostname "127.0.0.1:$1" "http://127.0.0.1:$H_PORT/hello")" = \
            "hello through the tunnel" ]; }
metric() { curl -sS "http://127.0.0.1:$M_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# The genuine Xray-core client, when the peers are here (../shared/peers, or VEIL_PEERS).
if [ -z "${VEIL_PEERS:-}" ]; then
  d=$(cd "$(dirname "$0")/../.." && pwd)
  while [ "$d" != / ] && [ ! -d "$d/../shared/peers" ]; do d=$(dirname "$d"); done
  VEIL_PEERS=$d/../shared/peers
fi
XRAY=""
if [ -x "$VEIL_PEERS/xray" ]; then
  python3 "$(dirname "$0")/../interop/support/peer_tools.py" link-to-xray "$WORK/xray.json" "$LINK" "$C2"
  bg xray "$VEIL_PEERS/xray" run -c "$WORK/xray.json"
  wait_port "$C2"
  XRAY=$C2
else
  skip_part "genuine Xray-core client: $VEIL_PEERS/xray not found"
fi
customers() { hello "$C1" || return 1; [ -z "$XRAY" ] || hello "$XRAY"; }
customers || fail "customers cannot tunnel before the burst"

read -r a r <<<"$($PROBE 127.0.1.2 "$N_PORT" t.example.com 1)"
[ "$a $r" = "1 0" ] || skip_all "cannot connect from 127.0.1.2 (loopback /8 not routed here?): $a $r"
# 1. Below the threshold (10 in 60 s): every probe sees the target's certificate.
read -r a r <<<"$($PROBE 127.0.1.2 "$N_PORT" t.example.com 8)"
[ "$a $r" = "8 0" ] || fail "below the threshold: $a answered, $r refused (wanted 8 0)"
[ "$(metric veil_node_probe_bans_total)" = 0 ] || fail "banned below the threshold"
ok "below the threshold: 9 probes from 127.0.1.2, each answered by the target itself"

# 2. The 10th crosses it: it still gets its answer, and from then on 127.0.1.2 is refused.
read -r a r <<<"$($PROBE 127.0.1.2 "$N_PORT" t.example.com 1)"
[ "$a $r" = "1 0" ] || fail "the 10th probe: $a $r"
read -r a r <<<"$($PROBE 127.0.1.2 "$N_PORT" t.example.com 20)"
[ "$a $r" = "0 20" ] || fail "after the threshold: $a answered, $r refused (wanted 0 20)"
customers || fail "a customer from 127.0.0.1 was refused during the ban"
ok "the burst banned 127.0.1.2: 20 of 20 connections refused; customers from 127.0.0.0/24 still tunnel"

# 3. Another address of the flagged /24: paced (1 a second), and banned at its first failure.
read -r a r <<<"$($PROBE 127.0.1.3 "$N_PORT" t.example.com 5)"
[ "$a" = 1 ] && [ "$r" = 4 ] || fail "127.0.1.3: $a answered, $r refused (wanted 1 4)"
ok "127.0.1.3 of the flagged network: one probe answered, then banned"

# 4. Counted and logged.
[ "$(metric veil_node_probe_fallbacks_total)" = 11 ] || fail "fallbacks: $(metric veil_node_probe_fallbacks_total)"
[ "$(metric veil_node_probe_bans_total)" = 2 ] || fail "bans: $(metric veil_node_probe_bans_total)"
[ "$(metric 'veil_node_probe_refused_total{why="banned"}')" = 24 ] ||
  fail "refused: $(curl -sS "http://127.0.0.1:$M_PORT/metrics" | grep probe)"
[ "$(metric veil_node_probe_networks)" = 1 ] || fail "flagged networks: $(metric veil_node_probe_networks)"
[ "$(metric veil_node_probe_banned)" = 2 ] || fail "banned now: $(metric veil_node_probe_banned)"
[ "$(metric 'veil_node_limit_refusals_total{kind="probe"}')" = 24 ] || fail "limit refusals kind=probe"
[ "$(grep -c '"probing_flagged"' "$WORK/node.log")" = 1 ] || fail "probing_flagged not logged once"
grep -q '"probing_flagged".*"net":"127.0.1.0/24"' "$WORK/node.log" || fail "probing_flagged without the network"
ok "counted: veil_node_probe_* and limit_refusals{kind=probe}; probing_flagged logged once"

# 5. The hub: the push carries 127.0.1.0/24, the analysis raises a probing finding.
findings() { api GET "/api/v1/findings?kind=probing"; }
wait_for "findings | grep -q 'net:127.0.1.0/24'" 45 "a probing finding for net:127.0.1.0/24"
findings | python3 -c '
import json, sys
f = json.load(sys.stdin)["findings"]
assert len(f) == 1 and f[0]["subject"] == "net:127.0.1.0/24" and f[0]["state"] == "open", f
assert f[0]["details"]["fallbacks"] >= 11, f
' || fail "findings: $(findings)"
curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$HUB_PORT/metrics" |
  grep -q '^veil_hub_findings_open{kind="probing"} 1' || fail "veil_hub_findings_open{kind=probing} is not 1"
ok "the hub raised a probing finding for net:127.0.1.0/24 (veil_hub_findings_open{kind=probing} 1)"

# 6. The ban ends after probeBanSec (8 s after the last failure).
wait_for "[ \"\$($PROBE 127.0.1.2 $N_PORT t.example.com 1)\" = '1 0' ]" 20 "the ban of 127.0.1.2 to end"
ok "after the ban the target answers 127.0.1.2 again"

kill -0 "$NODE_PID" || fail "node died"
if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports in the logs above"
fi
ok "no sanitizer reports"
echo "node probing: all checks passed"
