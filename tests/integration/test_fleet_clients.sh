#!/usr/bin/env bash
# "Unreachable from clients" (issue 15 item 4) with the real veil-hub and three real veil-nodes:
# customers' clients (`veil client` from the /sub links) keep opening tunnels through all three;
# the nodes report their REALITY-authenticated handshakes in every usage push. Then n3's clients
# stop getting through (as if its address were blocked on the customers' networks) while n3 itself
# keeps checking in: n3 leaves every /sub answer within fleet.client_silence + one push
# (measured), with an audit row, a log line and veil_hub_nodes{state="silent"}; when handshakes
# resume it is back at its next push (measured).
source "$(dirname "$0")/support/lib.sh"

HUB_PORT=$(free_port) T_PORT=$(free_port) WEB_PORT=$(free_port)
N1_PORT=$(free_port) N2_PORT=$(free_port) N3_PORT=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM
POLL=5 PUSH=10 SILENCE=${SILENCE:-20}

cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $HUB_PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$ADMIN", "log_level": "info", "sync_interval": $PUSH,
 "subscription": {"title": "T", "update_interval_hours": 1},
 "cache": {"sub_ttl_ms": 5000},
 "fleet": {"dead_after": 30, "probe_interval": 0, "client_silence": $SILENCE, "client_check": 1, "client_retry": 0},
 "scheduler": {"enabled": true, "interval": 1}}
JSON
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$HUB_PORT"
api() { curl -fsS -X "$1" "http://127.0.0.1:$HUB_PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
mkdir -p "$WORK/www" && echo hello >"$WORK/www/index.html"
bg web python3 -m http.server "$WEB_PORT" --bind 127.0.0.1 --directory "$WORK/www"
wait_port "$T_PORT"
wait_port "$WEB_PORT"

SID=a1b2c3d4e5f60718
register() { # register NAME PORT: prints the node token, keeps the private key
  local keys pub
  keys=$("$VEIL_BIN/veil" x25519)
  sed -n 's/^PrivateKey: //p' <<<"$keys" >"$WORK/$1.priv"
  pub=$(sed -n 's/^Password (PublicKey): //p' <<<"$keys")
  api POST /api/v1/nodes "{\"name\": \"$1\", \"address\": \"127.0.0.1\", \"port\": $2,
    \"public_key\": \"$pub\", \"short_ids\": [\"$SID\"], \"server_names\": [\"example.com\"]}" | jget "['token']"
}
node_config() { # node_config NAME PORT TOKEN
  mkdir -p "$WORK/$1-state"
  printf '%s\n' "{\"log\": {\"loglevel\": \"info\"},
 \"inbounds\": [{\"listen\": \"127.0.0.1\", \"port\": $2, \"protocol\": \"vless\",
   \"settings\": {\"clients\": [], \"decryption\": \"none\"},
   \"streamSettings\": {\"network\": \"raw\", \"security\": \"reality\",
     \"realitySettings\": {\"target\": \"127.0.0.1:$T_PORT\", \"serverNames\": [\"example.com\"],
       \"privateKey\": \"$(cat "$WORK/$1.priv")\", \"shortIds\": [\"$SID\"]}}}],
 \"outbounds\": [{\"protocol\": \"freedom\"}],
 \"veil\": {\"workers\": 1, \"stateDir\": \"$WORK/$1-state\", \"allowPrivateDestinations\": true,
          \"hub\": {\"url\": \"http://127.0.0.1:$HUB_PORT\", \"token\": \"$3\", \"pollSec\": $POLL, \"pushSec\": $PUSH}}}" \
    >"$WORK/$1.json"
}
NPORT=([1]=$N1_PORT [2]=$N2_PORT [3]=$N3_PORT)
for n in 1 2 3; do
  tok=$(register "n$n" "${NPORT[$n]}") || fail "register n$n"
  node_config "n$n" "${NPORT[$n]}" "$tok"
done
PLAN=$(api POST /api/v1/plans '{"name": "M", "duration_days": 30, "prices": {"RUB": 10000}}' | jget "['id']")
U=$(api POST /api/v1/users '{"username": "erin"}')
TOKEN=$(jget "['sub_token']" <<<"$U")
api POST /api/v1/subscriptions "{\"user_id\": $(jget "['id']" <<<"$U"), \"plan_id\": $PLAN}" >/dev/null ||
  fail "subscription"
for n in 1 2 3; do bg "n$n" "$VEIL_BIN/veil-node" -c "$WORK/n$n.json"; done
for n in 1 2 3; do wait_port "${NPORT[$n]}"; done

links() { curl -fsS -A 'v2rayNG/1.9.30' "http://127.0.0.1:$HUB_PORT/sub/$TOKEN" | base64 -d; }
servers() { links | sed -n 's/^vless:\/\/.*#\(.*\)$/\1/p' | sort | tr '\n' ' ' | sed 's/ $//'; }
# wait_servers WANT SECONDS: polls /sub until it lists exactly WANT; prints the seconds it took.
wait_servers() {
  local t0 now got
  t0=$(date +%s.%N)
  while :; do
    got=$(servers)
    now=$(date +%s.%N)
    [ "$got" = "$1" ] && { python3 -c "print(f'{$now - $t0:.1f}')"; return 0; }
    python3 -c "import sys; sys.exit(0 if $now - $t0 < $2 else 1)" || { echo "got '$got'" >&2; return 1; }
    sleep 0.2
  done
}
wait_servers "n1 n2 n3" $((POLL * 3)) >/dev/null || fail "three nodes not served"

# One `veil client` per node from the customer's own links (kept when a node leaves /sub: an app
# that has not refreshed its subscription yet).
links >"$WORK/links"
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
  [ "$(servers)" = "n1 n2" ] || fail "n3 came back without handshakes"
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
