#!/usr/bin/env bash
# veil.blockedPorts end to end (default: 25): a real veil-node and `veil client` (SOCKS5). Port 25
# and two ports of a listening sink are blocked; flows to them never arrive (TCP with Vision and
# without a flow, command-2 UDP and XUDP, a Mux TCP sub-connection), flows to other ports do.
# Counted: veil_node_port_refused_total{port}, the close reason port_blocked, and the user's SMTP
# attempts (port 25 only) on the admin API, which hub sync pushes as "smtp".
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811 # Vision
BOB=c831381d-6324-4d53-ad4f-8cda48b30811   # no flow
SID=0123456789abcdef
TOKEN=ports-admin-token-0123456789

T_PORT=$(free_port) N_PORT=$(free_port) A_PORT=$(free_port) M_PORT=$(free_port)
ST=$(free_port) SU=$(free_port) BT_=$(free_port) BU=$(free_port) C1=$(free_port) C2=$(free_port)

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
TOOLS="$SUPPORT/bt_tools.py"
OPEN_LOG=$WORK/open.log BLOCKED_LOG=$WORK/blocked.log
touch "$OPEN_LOG" "$BLOCKED_LOG"
bg sink-open python3 "$TOOLS" sink "$ST" "$SU" "$OPEN_LOG"
bg sink-blocked python3 "$TOOLS" sink "$BT_" "$BU" "$BLOCKED_LOG"

cat > "$WORK/node.json" <<EOC
{
  "log": {"loglevel": "debug"},
  "inbounds": [{
    "listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
    "settings": {"clients": [
      {"id": "$ALICE", "flow": "xtls-rprx-vision", "email": "alice@example"},
      {"id": "$BOB", "flow": "", "email": "bob@example"}], "decryption": "none"},
    "streamSettings": {"network": "raw", "security": "reality",
      "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
        "privateKey": "$PRIV", "shortIds": ["$SID"]}}
  }],
  "outbounds": [{"protocol": "freedom"}],
  "veil": {"workers": 1, "allowPrivateDestinations": true, "blockedPorts": [25, $BT_, $BU],
           "metricsListen": "127.0.0.1:$M_PORT", "adminListen": "127.0.0.1:$A_PORT", "adminToken": "$TOKEN"}
}
EOC
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
link() { echo "vless://$1@127.0.0.1:$N_PORT?encryption=none&flow=$2&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"; }
bg client-vision "$VEIL_BIN/veil" client --link "$(link $ALICE xtls-rprx-vision)" --listen "127.0.0.1:$C1"
bg client-plain "$VEIL_BIN/veil" client --link "$(link $BOB '')" --listen "127.0.0.1:$C2"
for p in $T_PORT $N_PORT $C1 $C2 $ST $BT_ $A_PORT $M_PORT; do wait_port "$p"; done

expect() { # expect tcp|udp SOCKS PORT WANT
  local got
  got=$(python3 "$TOOLS" "$1" "$2" "$3" plain) || fail "$1 to port $3 via $2: client error"
  [ "$got" = "$4" ] || fail "$1 to port $3 via $2: wanted $4, got $got"
}

# 1. TCP, Vision and no flow: port 25 and a blocked listening port refused; another port served.
for c in $C1 $C2; do
  expect tcp "$c" 25 refused
  expect tcp "$c" "$BT_" refused
  expect tcp "$c" "$ST" echo
done
[ -s "$BLOCKED_LOG" ] && fail "a flow reached a blocked port: $(cat "$BLOCKED_LOG")"
[ "$(grep -c '^tcp ' "$OPEN_LOG")" = 2 ] || fail "TCP to the open port did not arrive twice"
ok "TCP (Vision and no flow): port 25 and a blocked port refused before the dial, other ports served"

# 2. UDP: command 2 (no flow) and XUDP (Vision).
for c in $C2 $C1; do
  expect udp "$c" "$BU" refused
  expect udp "$c" 25 refused
  expect udp "$c" "$SU" echo
done
[ -s "$BLOCKED_LOG" ] && fail "a datagram reached a blocked port: $(cat "$BLOCKED_LOG")"
ok "UDP (command 2 and XUDP): blocked ports refused, others served"

# 3. Mux TCP sub-connections (hand-made frames): New to port 25 gets End+error, another port echoes.
PL=$(printf 'plain-mux' | od -An -tx1 | tr -d ' \n')
out=$("$VEIL_BIN/mux_probe" "$(link $BOB '')" mux "127.0.0.1:$ST" "000c00010101010019017f0000010009${PL}" 1)
case "$out" in *000400010302*) ;; *) fail "Mux TCP to port 25: wanted End+error, got $out";; esac
out=$("$VEIL_BIN/mux_probe" "$(link $BOB '')" mux "127.0.0.1:$ST" "000c0001010101$(printf '%04x' "$ST")017f0000010009${PL}" 1)
case "$out" in *"$PL"*) ;; *) fail "Mux TCP to an open port not echoed: $out";; esac
ok "Mux TCP: a sub-connection to port 25 gets End+error, others go through"

# 4. Counted: by port, the close reason, SMTP attempts per user (port 25 only).
metric() { curl -sS "http://127.0.0.1:$M_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# port 25: 2 TCP + 2 UDP + 1 Mux; the blocked sink ports: 2 TCP, 2 UDP
[ "$(metric 'veil_node_port_refused_total{port="25"}')" = 5 ] ||
  fail "port 25 count: $(curl -sS "http://127.0.0.1:$M_PORT/metrics" | grep port_refused)"
[ "$(metric "veil_node_port_refused_total{port=\"$BT_\"}")" = 2 ] || fail "blocked TCP port count"
[ "$(metric "veil_node_port_refused_total{port=\"$BU\"}")" = 2 ] || fail "blocked UDP port count"
# TCP requests (4) and command-2 tunnels (2) close with the reason; XUDP/Mux sessions end alone.
[ "$(metric 'veil_node_closed_total{reason="port_blocked"}')" = 6 ] ||
  fail "close reason count: $(metric 'veil_node_closed_total{reason="port_blocked"}')"
smtp() { curl -sS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$A_PORT/api/v1/usage/$1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["user"].get("smtp", 0))'; }
[ "$(smtp alice@example)" = 2 ] || fail "alice's SMTP attempts: $(smtp alice@example)"
[ "$(smtp bob@example)" = 3 ] || fail "bob's SMTP attempts: $(smtp bob@example)"
grep -q '"port_blocked".*"port":25' "$WORK/node.log" || fail "no port_blocked log line"
ok "counted: veil_node_port_refused_total by port, closed_total{reason=port_blocked}, SMTP attempts per user"

# 5. "blockedPorts": [] lifts the block on SIGHUP (an operator that allows SMTP relays).
sed -i "s/\"blockedPorts\": \[25, $BT_, $BU\]/\"blockedPorts\": []/" "$WORK/node.json"
kill -HUP "$NODE_PID"
wait_for "python3 '$TOOLS' tcp $C2 $BT_ plain | grep -q echo" 10 "the block lifted by the reload"
ok "reload with blockedPorts [] lets the port through"

kill -0 "$NODE_PID" || fail "node died"
if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports in the logs above"
fi
ok "no sanitizer reports"
echo "node blocked ports: all checks passed"
