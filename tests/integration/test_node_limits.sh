#!/usr/bin/env bash
# Per-user limits on loopback (node/limits.h): device limit with in-process sets (clients bound to
# 127.0.0.2/.3/.4 with `veil client --bind`), the same shared by two nodes through a real
# redis-server, max connections, the shared speed limit (measured over ~5 s), the per-IP
# handshake rate, and the refusal counters on /metrics.
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
DEV=b831381d-6324-4d53-ad4f-8cda48b30811   # deviceLimit 2
SPEED=c831381d-6324-4d53-ad4f-8cda48b30811 # speedLimit 2 MB/s
CONN=d831381d-6324-4d53-ad4f-8cda48b30811  # maxConnections 2
SID=0123456789abcdef
RATE=2000000

T_PORT=$(free_port) N_PORT=$(free_port) H_PORT=$(free_port) M_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"

node_config() { # node_config FILE PORT VEIL_MEMBERS
  write_node_config "$1" "$2" "127.0.0.1:$T_PORT" example.com "$PRIV" "$SID" - <<EOF
{"listen": "0.0.0.0", "reality": {"maxTimeDiff": 60000},
 "clients": [{"id": "$DEV", "flow": "xtls-rprx-vision", "email": "dev@example", "veil": {"deviceLimit": 2}},
             {"id": "$SPEED", "flow": "", "email": "speed@example", "veil": {"speedLimit": $RATE}},
             {"id": "$CONN", "flow": "", "email": "conn@example", "veil": {"maxConnections": 2}}],
 "veil": {"workers": 2, "allowPrivateDestinations": true, $3}}
EOF
}
link() { echo "vless://$1@127.0.0.1:$3?encryption=none&flow=$2&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"; }
socks() { curl -s --max-time 30 --socks5-hostname "127.0.0.1:$1" "${@:2}"; }
hello() { [ "$(socks "$1" "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ]; }
client() { start_client "$1" "$2" "$(link "$3" "$4" "$5")" "$6"; } # client VAR NAME UUID FLOW NODEPORT BINDIP
metric() { curl -s "http://127.0.0.1:$M_PORT/metrics" | awk -v k="veil_node_limit_refusals_total{kind=\"$1\"}" '$1 == k {print $2}'; }

node_config "$WORK/node.json" "$N_PORT" "\"metricsListen\": \"127.0.0.1:$M_PORT\", \"limits\": {\"deviceWindowSec\": 60}"
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
for p in $T_PORT $H_PORT $N_PORT $M_PORT; do wait_port "$p"; done

# 1. Device limit 2, in-process sets: a third source IP is refused, known IPs keep working.
client D2 dev2 $DEV xtls-rprx-vision $N_PORT 127.0.0.2
client D3 dev3 $DEV xtls-rprx-vision $N_PORT 127.0.0.3
client D4 dev4 $DEV xtls-rprx-vision $N_PORT 127.0.0.4
hello "$D2" || fail "device 1 refused"
hello "$D3" || fail "device 2 refused"
if hello "$D4"; then fail "a third device got through a limit of two"; fi
hello "$D2" && hello "$D3" || fail "known devices refused after the third was turned away"
[ "$(metric device)" -ge 1 ] || fail "device refusals not on /metrics"
ok "device limit 2 (local sets): 127.0.0.2 and .3 served, .4 refused, /metrics device=$(metric device)"

# 2. Max connections 2: two open tunnels (HTTP keep-alive), a third is refused, then served once
# they close.
client C conn $CONN '' $N_PORT 127.0.0.5
python3 - "$C" "$H_PORT" "$WORK/hold" <<'EOF' &
import os, socket, struct, sys, time
socks_port, http_port, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = []
for _ in range(2):
    s = socket.create_connection(("127.0.0.1", socks_port))
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", http_port))
    assert s.recv(10)[1] == 0
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while b"tunnel" not in got:
        got += s.recv(4096)
    conns.append(s)
open(flag, "w").close()
while os.path.exists(flag):
    time.sleep(0.05)
for s in conns:
    s.close()
EOF
HOLD=$!
for i in $(seq 1 200); do [ -e "$WORK/hold" ] && break; sleep 0.05; done
[ -e "$WORK/hold" ] || fail "could not open two tunnels"
if hello "$C"; then fail "a third connection got through maxConnections 2"; fi
rm -f "$WORK/hold"
wait $HOLD || fail "holding tunnels failed"
wait_for 'hello "$C"' 10 "served once the open tunnels closed"
ok "max connections 2: third refused while two are open, served after; /metrics connections=$(metric connections)"

# 3. Speed limit 2 MB/s shared by the user's tunnels: one 10 MB download, then two 5 MB at once.
client S speed $SPEED '' $N_PORT 127.0.0.6
measure() { # measure BYTES PARALLEL -> prints the rate in bytes/s from first byte to last
  local i pids=()
  for i in $(seq 1 "$2"); do
    socks "$S" -w '%{time_starttransfer} %{time_total}\n' "http://127.0.0.1:$H_PORT/bytes/$1" \
      -o "$WORK/speed$i.bin" > "$WORK/speed$i.time" & pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || fail "speed download failed"; done
  for i in $(seq 1 "$2"); do [ "$(stat -c %s "$WORK/speed$i.bin")" = "$1" ] || fail "short download"; done
  cat "$WORK"/speed*.time | python3 -c "
import sys
t = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
print(int($1 * $2 / (max(e for _, e in t) - min(s for s, _ in t))))"
  rm -f "$WORK"/speed*.time
}
check_rate() { python3 -c "import sys; r=$1; sys.exit(0 if abs(r - $RATE) <= 0.1 * $RATE else 1)"; }
r1=$(measure 10000000 1)
check_rate "$r1" || fail "one tunnel: $r1 B/s, want $RATE ±10%"
r2=$(measure 5000000 2)
check_rate "$r2" || fail "two tunnels together: $r2 B/s, want $RATE ±10%"
ok "speed limit $RATE B/s: one tunnel $r1 B/s over 10 MB, two tunnels together $r2 B/s"

# 4. Handshake rate per source IP (SIGHUP turns it on): a burst from one IP is cut before REALITY.
# The reload also adds a fourth user, so veil_node_users shows when it has been applied.
node_config "$WORK/node.json" "$N_PORT" "\"metricsListen\": \"127.0.0.1:$M_PORT\", \"limits\": {\"deviceWindowSec\": 60, \"handshakesPerSecPerIp\": 5}"
sed -i 's|"clients": \[|&{"id": "e831381d-6324-4d53-ad4f-8cda48b30811", "flow": "", "email": "reload@example"},|' "$WORK/node.json"
kill -HUP "$NODE_PID"
users() { curl -s "http://127.0.0.1:$M_PORT/metrics" | awk '$1 == "veil_node_users" {print $2}'; }
wait_for '[ "$(users)" = 4 ]' 10 "the reload (veil_node_users 4)"
before=$(metric handshake_rate)
python3 - "$N_PORT" <<'EOF'
import socket, sys
socks = []
for i in range(30):
    s = socket.socket()
    s.bind(("127.0.0.9", 0))
    s.connect(("127.0.0.1", int(sys.argv[1])))
    socks.append(s)
for s in socks:
    s.close()
EOF
wait_for '[ $(( $(metric handshake_rate) - before )) -ge 20 ]' 10 "20 of 30 burst connections refused"
after=$(metric handshake_rate)
client X other $SPEED '' $N_PORT 127.0.0.10
hello "$X" || fail "another IP was refused by the handshake limit"
ok "handshake rate 5/s per IP: $((after - before)) of 30 burst connections cut, other IPs served"

# 5. Two nodes sharing device sets through a real redis-server.
REDIS=$(command -v redis-server || true)
if [[ -z $REDIS ]]; then
  skip_part "redis-server not installed (Redis sharing between nodes not tested)"
else
  R_PORT=$(free_port) A_PORT=$(free_port) B_PORT=$(free_port) C_PORT=$(free_port)
  (cd "$WORK" && exec "$REDIS" --port "$R_PORT" --bind 127.0.0.1 --save '' --appendonly no) >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=($REDIS_PID)
  wait_port "$R_PORT"
  # Redis's command stream (in execution order, with each client's address) shows when a
  # node has read the shared set back.
  bg monitor "${REDIS%-server}-cli" -p "$R_PORT" monitor
  wait_for 'grep -q OK "$WORK/monitor.log"' 10 "redis-cli monitor"
  RED="\"limits\": {\"deviceWindowSec\": 60}, \"redis\": {\"url\": \"redis://127.0.0.1:$R_PORT/3\"}"
  node_config "$WORK/a.json" "$A_PORT" "$RED"
  node_config "$WORK/b.json" "$B_PORT" "$RED"
  node_config "$WORK/c.json" "$C_PORT" "$RED"
  bg nodea "$VEIL_BIN/veil-node" -c "$WORK/a.json"
  bg nodeb "$VEIL_BIN/veil-node" -c "$WORK/b.json"
  bg nodec "$VEIL_BIN/veil-node" -c "$WORK/c.json"
  wait_port "$A_PORT"; wait_port "$B_PORT"; wait_port "$C_PORT"
  client A2 ra2 $DEV xtls-rprx-vision $A_PORT 127.0.0.2
  client B3 rb3 $DEV xtls-rprx-vision $B_PORT 127.0.0.3
  client A4 ra4 $DEV xtls-rprx-vision $A_PORT 127.0.0.4
  client B2 rb2 $DEV xtls-rprx-vision $B_PORT 127.0.0.2
  client C4 rc4 $DEV xtls-rprx-vision $C_PORT 127.0.0.4
  hello "$A2" || fail "redis: device 1 on node A refused"
  hello "$B3" || fail "redis: device 2 on node B refused"
  # Both nodes (two client addresses) read the set back after node B added .3 to it.
  read_after_b3() {
    awk '/"ZADD" .*"127\.0\.0\.3"/ {seen = 1} seen && /"ZRANGEBYSCORE"/ {print $3}' "$WORK/monitor.log" |
      sort -u | wc -l
  }
  wait_for '[ "$(read_after_b3)" -ge 2 ]' 10 "nodes A and B to read back the set holding .2 and .3"
  # node C has never seen this user: its first tunnel waits for the shared set and is refused
  if hello "$C4"; then fail "redis: node C let a third device in on the user's first tunnel there"; fi
  if hello "$A4"; then fail "redis: node A let a third device in (it should know node B's)"; fi
  hello "$B2" || fail "redis: node B refused a device node A already counts"
  members=$("${REDIS%-server}-cli" -p "$R_PORT" -n 3 zcard "veil:dev:b831381d63240000ad4f8cda48b30811" 2>/dev/null || echo "?")
  ok "device limit 2 across two nodes via Redis: A(.2) + B(.3) served, C(.4, first tunnel there) and A(.4) refused, B(.2) served; set has $members members"
  # Redis gone: nodes keep serving from their own sets.
  kill "$REDIS_PID" 2>/dev/null || true
  wait_for 'grep -q redis_down "$WORK/nodea.log"' 10 "node A to notice Redis is gone"
  hello "$A2" || fail "node A stopped serving when Redis went away"
  ok "Redis down: node A keeps serving known devices"
fi

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports in the logs above"
fi
ok "no sanitizer reports"
echo "node limits: all checks passed"
