#!/usr/bin/env bash
# "Unreachable from clients" (issue 15 item 4) with the real veil-hub and three real veil-nodes:
# customers' clients (`veil client` from the /sub links) keep opening tunnels through all three;
# the nodes report their REALITY-authenticated handshakes in every usage push. Then n3's clients
# stop getting through (as if its address were blocked on the customers' networks) while n3 itself
# keeps checking in: n3 leaves every /sub answer within fleet.client_silence + one push
# (measured), with an audit row, a log line and veil_hub_nodes{state="silent"}; when handshakes
# resume it is back at its next push (measured).
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/fleet.sh"

T_PORT=$(free_port) WEB_PORT=$(free_port)
N1_PORT=$(free_port) N2_PORT=$(free_port) N3_PORT=$(free_port)
SILENCE=${SILENCE:-20}

fleet_hub <<JSON
 "sync_interval": $PUSH, "subscription": {"title": "T", "update_interval_hours": 1},
 "cache": {"sub_ttl_ms": 5000},
 "fleet": {"dead_after": 30, "probe_interval": 0, "client_silence": $SILENCE, "client_check": 1, "client_retry": 0},
 "scheduler": {"enabled": true, "interval": 1}
JSON
fleet_target t "$T_PORT"
mkdir -p "$WORK/www" && echo hello >"$WORK/www/index.html"
bg web python3 -m http.server "$WEB_PORT" --bind 127.0.0.1 --directory "$WORK/www"
wait_port "$WEB_PORT"

NPORT=([1]=$N1_PORT [2]=$N2_PORT [3]=$N3_PORT)
for n in 1 2 3; do
  tok=$(fleet_register "n$n" "${NPORT[$n]}" t.example.com | jget "['token']") || fail "register n$n"
  fleet_node_config "n$n" "${NPORT[$n]}" "$tok" "127.0.0.1:$T_PORT" t.example.com \
    '{"veil": {"allowPrivateDestinations": true}}'
done
SUB=$(fleet_customer '{"username": "erin"}' | jget "['sub_token']")
for n in 1 2 3; do bg "n$n" "$VEIL_BIN/veil-node" -c "$WORK/n$n.json"; done
for n in 1 2 3; do wait_port "${NPORT[$n]}"; done

wait_servers "n1 n2 n3" $((POLL * 3)) >/dev/null || fail "three nodes not served"

# One `veil client` per node from the customer's own links (kept when a node leaves /sub: an app
# that has not refreshed its subscription yet).
sub_links >"$WORK/links"
for n in 1 2 3; do
  c=$(free_port)
  bg "client$n" "$VEIL_BIN/veil" client --link "$(grep "#n$n\$" "$WORK/links")" --listen "127.0.0.1:$c"
  wait_port "$c"
  echo "$c" >"$WORK/client$n.port"
done
# The customers: a page through each node whose clients get through, every second.
echo "1 2 3" >"$WORK/reachable"
(
  while :; do
    for n in $(cat "$WORK/reachable"); do
      curl -fsS -m 5 -x "socks5h://127.0.0.1:$(cat "$WORK/client$n.port")" "http://127.0.0.1:$WEB_PORT/" \
        >/dev/null 2>&1 || true
    done
    sleep 1
  done
) &
PIDS+=("$!")

node_field() { # node_field NAME EXPR
  api GET /api/v1/nodes |
    python3 -c "import json,sys; n=[x for x in json.load(sys.stdin)['nodes'] if x['name']=='$1'][0]; print(n$2)"
}
for n in 1 2 3; do
  wait_for "[ \"\$(node_field n$n \"['clients']['handshake_at']\")\" != 0 ]" $((PUSH * 3)) "n$n reports handshakes"
done
ok "every node reports its clients' handshakes in the usage push"

# n3's customers cannot get through any more; n3 itself stays up and keeps checking in.
echo "1 2" >"$WORK/reachable"
t=$(wait_servers "n1 n2" $((SILENCE + PUSH + 10))) || fail "n3 not out of /sub"
ok "n3 out of /sub ${t}s after its clients stopped getting through (client_silence ${SILENCE}s, pushes every ${PUSH}s)"
python3 -c "import sys; sys.exit(0 if $t <= $SILENCE + $PUSH + 3 else 1)" || fail "took ${t}s, limit $((SILENCE + PUSH + 3))s"
[ "$(node_field n3 "['health']")" = up ] || fail "n3 should still be up (it checks in)"
[ "$(node_field n3 "['clients']['silent_since']")" != 0 ] || fail "n3 not marked silent"
api GET '/api/v1/audit?limit=200' | python3 -c '
import json, sys
rows = [e for e in json.load(sys.stdin)["entries"] if e["action"] == "node.clients_silent"]
assert len(rows) == 1, rows
assert rows[0]["details"]["reason"] == "mark" and rows[0]["target"] == "node:3", rows' || fail "audit row node.clients_silent"
grep -q '"event.action":"node_clients_silent".*"name":"n3"' "$WORK/hub.log" || fail "no node_clients_silent log line"
curl -fsS "http://127.0.0.1:$HUB_PORT/metrics" -H "Authorization: Bearer $ADMIN" |
  grep -q '^veil_hub_nodes{state="silent"} 1$' || fail "veil_hub_nodes{state=\"silent\"} is not 1"
ok "audited (node.clients_silent), logged, counted in veil_hub_nodes{state=\"silent\"}"
# Still out while n1 and n2 keep their clients.
for _ in 1 2 3 4 5; do
  [ "$(sub_servers)" = "n1 n2" ] || fail "n3 came back without handshakes"
  sleep 1
done

# Handshakes resume (the old link still works): n3 is back at its next push.
echo "1 2 3" >"$WORK/reachable"
t=$(wait_servers "n1 n2 n3" $((PUSH + 10))) || fail "n3 not back after handshakes resumed"
ok "n3 back in /sub ${t}s after its clients got through again (its next push)"
python3 -c "import sys; sys.exit(0 if $t <= $PUSH + 3 else 1)" || fail "took ${t}s, limit $((PUSH + 3))s"
api GET '/api/v1/audit?limit=200' | grep -q '"node.clients_back"' || fail "audit row node.clients_back"

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports"
fi
echo "fleet clients: all checks passed"
