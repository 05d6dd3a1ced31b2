#!/usr/bin/env bash
# Node-run target scans (issue 15 item 2): `veil node scan` asks the hub; the request rides in the
# node's next pull answer; the real veil-node runs `veil scan --json` in a thread of its own (its
# tunnels keep working meanwhile) against loopback targets that misbehave on purpose (a good TLS 1.3
# site, one that offers only TLS 1.2, a closed port) and posts the ranked rows back. The hub keeps
# them with the request (GET /api/v1/nodes/ID/scan), puts them in the target pool as the node's
# own candidates with the RTT measured from the node (suitable: vetted, others: bad), and a manual
# rotation then picks the node-vetted target.
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/fleet.sh"

T_PORT=$(free_port) N_PORT=$(free_port)
GOOD=$(free_port) OLD=$(free_port) CLOSED=$(free_port)

fleet_hub <<JSON
 "sync_interval": $PUSH, "cache": {"sub_ttl_ms": 5000}, "fleet": {"dead_after": 30, "probe_interval": 0},
 "scheduler": {"enabled": true, "interval": 1}
JSON

# Targets: the node's own (t.example.com) and three candidates on loopback.
fleet_target t "$T_PORT"
fleet_target good "$GOOD"
fleet_target old "$OLD" -tls1_2

N=$(fleet_register n1 "$N_PORT" t.example.com)
NID=$(jget "['id']" <<<"$N")
fleet_node_config n1 "$N_PORT" "$(jget "['token']" <<<"$N")" "127.0.0.1:$T_PORT" t.example.com
bg node "$VEIL_BIN/veil-node" -c "$WORK/n1.json"
wait_port "$N_PORT"

# Malformed requests are refused with 422, unknown nodes with 404.
code() { curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HUB_PORT$1" \
           -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' --data-binary "$2"; }
[ "$(code "/api/v1/nodes/$NID/scan" '{"candidates": []}')" = 422 ] || fail "empty candidates accepted"
[ "$(code "/api/v1/nodes/$NID/scan" '{"candidates": ["10.0.0.0/8"]}')" = 422 ] || fail "a /8 accepted"
[ "$(code "/api/v1/nodes/$NID/scan" '{"candidates": ["a b"]}')" = 422 ] || fail "a bad host accepted"
[ "$(code "/api/v1/nodes/$NID/scan" '{"candidates": ["x.example"], "extra": 1}')" = 422 ] || fail "unknown key accepted"
c404=$(code "/api/v1/nodes/99999/scan" '{"candidates": ["x.example"]}'); [ "$c404" = 404 ] || fail "unknown node accepted: $c404"
ok "malformed scan requests: 422; unknown node: 404"

t0=$(date +%s.%N)
"$VEIL_BIN/veil" node scan "$NID" "127.0.0.1:$GOOD" "127.0.0.1:$OLD" "127.0.0.1:$CLOSED" --wait 60 \
  --hub "http://127.0.0.1:$HUB_PORT" --token "$ADMIN" >"$WORK/scan.out" 2>"$WORK/scan.err" ||
  fail "veil node scan: $(cat "$WORK/scan.err")"
t=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
cat "$WORK/scan.out"
ok "veil node scan: the node's ranked rows came back in ${t}s (it pulls every ${POLL}s)"

api GET "/api/v1/nodes/$NID/scan" | python3 -c "
import json, sys
s = json.load(sys.stdin)
assert s['state'] == 'done', s
rows = {r['port']: r for r in s['results']}
assert rows[$GOOD]['suitable'] and rows[$GOOD]['verdict'] == 'suitable' and rows[$GOOD]['sni'] == 'good.example.com', rows
assert not rows[$OLD]['suitable'] and rows[$OLD]['verdict'] == 'no_tls13', rows
assert not rows[$CLOSED]['suitable'], rows
assert s['results'][0]['port'] == $GOOD, s['results']  # ranked best first
" || fail "scan results: $(api GET "/api/v1/nodes/$NID/scan")"
ok "results: the TLS 1.3 site suitable (SNI from its certificate), TLS 1.2 no_tls13, the closed port not suitable; best first"

api GET "/api/v1/targets?node_id=$NID" | python3 -c "
import json, sys
t = {x['port']: x for x in json.load(sys.stdin)['targets']}
assert t[$GOOD]['state'] == 'vetted' and t[$GOOD]['node_id'] == $NID and t[$GOOD]['score'] > 0, t
assert $OLD not in t and $CLOSED not in t, t  # no SNI seen (an IP, no TLS 1.3 certificate): nothing to serve
" || fail "pool rows: $(api GET "/api/v1/targets?node_id=$NID")"
api GET '/api/v1/audit?limit=50' | grep -q '"node.scan_done"' || fail "audit node.scan_done"
ok "the pool holds the node's own candidate (vetted, node_id, RTT from the node); rows without an SNI are not pooled; audited"

# Rotation prefers what the node vetted.
api POST "/api/v1/nodes/$NID/rotate-target" '{}' | python3 -c "
import json, sys
t = json.load(sys.stdin)
assert t['target'] == '127.0.0.1:$GOOD' and t['sni'] == 'good.example.com', t" || fail "rotation did not pick the node-vetted target"
ok "a rotation picks the node-vetted target"

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports"
fi
echo "fleet scan: all checks passed"
