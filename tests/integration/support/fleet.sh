# Shared fixture of the fleet tests (test_fleet_*, test_hub_node_health, test_node_probing and
# tests/interop/test_xray_target_swap), sourced after lib.sh: a real veil-hub, nodes registered
# through its admin API, their veil-node configs syncing with it, a customer with a subscription,
# openssl s_server REALITY targets, and the /sub readers those tests share. POLL and PUSH (the
# nodes' pull and push periods, default 5 and 10 s) may be set before sourcing.
ADMIN=admin-$RANDOM$RANDOM$RANDOM
HUB_PORT=$(free_port)
POLL=${POLL:-5} PUSH=${PUSH:-10}
SID=a1b2c3d4e5f60718

# fleet_hub <<<MEMBERS: writes $WORK/hub.json (loopback, sqlite, the admin token, then the JSON
# members read from stdin) and runs the hub until its port answers (HUB_PID).
fleet_hub() {
  printf '{"listen": "127.0.0.1", "port": %s, "threads": 2, "database": "sqlite:%s",\n "admin_token": "%s", "log_level": "info",\n%s}\n' \
    "$HUB_PORT" "$WORK/hub.db" "$ADMIN" "$(cat)" >"$WORK/hub.json"
  bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
  HUB_PID=$LASTPID
  wait_port "$HUB_PORT"
}
api() { curl -fsS -X "$1" "http://127.0.0.1:$HUB_PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# fleet_target NAME PORT [s_server options]: an openssl s_server on PORT with a certificate for
# NAME.example.com (-tls1_3 unless options are given); waits for its port.
fleet_target() {
  local name=$1 port=$2
  shift 2
  [ -s "$WORK/$name.crt" ] ||
    openssl req -x509 -newkey rsa:2048 -keyout "$WORK/$name.key" -out "$WORK/$name.crt" -days 30 -nodes \
      -subj "/CN=$name.example.com" -addext "subjectAltName=DNS:$name.example.com" >/dev/null 2>&1
  [ $# -gt 0 ] || set -- -tls1_3
  bg "target-$name" openssl s_server -accept "127.0.0.1:$port" -cert "$WORK/$name.crt" -key "$WORK/$name.key" \
    "$@" -www -quiet
  wait_port "$port"
}

# fleet_register NAME PORT SNI: a node in the hub at 127.0.0.1:PORT serving SNI, with fresh keys
# ($WORK/NAME.priv, $WORK/NAME.pub); prints the API's answer (its id and token).
fleet_register() {
  local keys
  keys=$("$VEIL_BIN/veil" x25519)
  sed -n 's/^PrivateKey: //p' <<<"$keys" >"$WORK/$1.priv"
  sed -n 's/^Password (PublicKey): //p' <<<"$keys" >"$WORK/$1.pub"
  api POST /api/v1/nodes "{\"name\": \"$1\", \"address\": \"127.0.0.1\", \"port\": $2,
    \"public_key\": \"$(cat "$WORK/$1.pub")\", \"short_ids\": [\"$SID\"], \"server_names\": [\"$3\"]}"
}

# fleet_node_config NAME PORT TOKEN TARGET SNI [OVERLAY_JSON...]: $WORK/NAME.json, a veil-node on
# PORT for the registered node NAME, pulling from the hub every $POLL s and pushing every $PUSH s,
# its state in $WORK/NAME-state; the overlays as write_node_config takes them.
fleet_node_config() {
  local name=$1 port=$2 token=$3 target=$4 sni=$5
  shift 5
  mkdir -p "$WORK/$name-state"
  write_node_config "$WORK/$name.json" "$port" "$target" "$sni" "$(cat "$WORK/$name.priv")" "$SID" \
    "{\"veil\": {\"stateDir\": \"$WORK/$name-state\", \"hub\": {\"url\": \"http://127.0.0.1:$HUB_PORT\",
      \"token\": \"$token\", \"pollSec\": $POLL, \"pushSec\": $PUSH}}}" "$@"
}

# fleet_customer USER_JSON: a user with a 30-day subscription; prints the user as the API answers.
fleet_customer() {
  local plan user
  plan=$(api POST /api/v1/plans '{"name": "M", "duration_days": 30, "prices": {"RUB": 10000}}' | jget "['id']") &&
    user=$(api POST /api/v1/users "$1") &&
    api POST /api/v1/subscriptions "{\"user_id\": $(jget "['id']" <<<"$user"), \"plan_id\": $plan}" >/dev/null ||
    fail "a customer with a subscription"
  echo "$user"
}

# The customer's /sub (sub token $SUB) as a v2rayNG client gets it, decoded; the names of its
# servers, sorted on one line.
sub_links() { curl -fsS -A 'v2rayNG/1.9.30' "http://127.0.0.1:$HUB_PORT/sub/$SUB" | base64 -d 2>/dev/null || true; }
sub_servers() { sub_links | sed -n 's/^vless:\/\/.*#\(.*\)$/\1/p' | sort | tr '\n' ' ' | sed 's/ $//'; }
sub_link() { sub_links | grep -m1 '^vless://' || true; }

# wait_servers WANT SECONDS: polls /sub until it lists exactly WANT; prints the seconds it took.
# A test may define servers_never (it gets the list, returns non-zero to fail the wait at once).
wait_servers() {
  local t0 now got
  t0=$(date +%s.%N)
  while :; do
    got=$(sub_servers)
    now=$(date +%s.%N)
    if declare -F servers_never >/dev/null && ! servers_never "$got"; then return 1; fi
    [ "$got" = "$1" ] && { python3 -c "print(f'{$now - $t0:.1f}')"; return 0; }
    python3 -c "import sys; sys.exit(0 if $now - $t0 < $2 else 1)" || { echo "got '$got'" >&2; return 1; }
    sleep 0.2
  done
}

# slow_origin PORT: an HTTP origin whose answer is 400 chunks of 1 KiB (chunk i all bytes i % 251),
# one every 50 ms: a tunnel that stays open about 20 s across a target swap.
slow_origin() {
  bg slow python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $1)); s.listen()
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
  wait_port "$1"
}
