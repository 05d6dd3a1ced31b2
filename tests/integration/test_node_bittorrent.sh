#!/usr/bin/env bash
# veil.blockBitTorrent end to end: a real veil-node and `veil client` (SOCKS5), loopback TCP and
# UDP listeners that log every arrival. Block mode: a BitTorrent handshake and a tracker announce
# over TCP (Vision and no flow), DHT / uTP / UDP-tracker datagrams over command-2 UDP and XUDP,
# and a handshake in a Mux TCP sub-connection never arrive; TLS, plain HTTP, QUIC, DNS and other
# bytes through the same tunnels do. Counted in /metrics (by action and kind, and the close
# reason) and per user on the admin API. Log mode: the same flows arrive and are counted.
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811 # Vision
BOB=c831381d-6324-4d53-ad4f-8cda48b30811   # no flow
SID=0123456789abcdef
TOKEN=bt-admin-token-0123456789

T_PORT=$(free_port) N_PORT=$(free_port) N2_PORT=$(free_port) A_PORT=$(free_port) M_PORT=$(free_port)
M2_PORT=$(free_port) ST=$(free_port) SU=$(free_port) C1=$(free_port) C2=$(free_port) C3=$(free_port)

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
BT="$SUPPORT/bt_tools.py"
ARRIVED=$WORK/arrived.log
touch "$ARRIVED"
bg sink python3 "$BT" sink "$ST" "$SU" "$ARRIVED"

node_config() { # node_config FILE PORT MODE METRICS_PORT
  write_node_config "$1" "$2" "127.0.0.1:$T_PORT" example.com "$PRIV" "$SID" - <<EOC
{"log": {"loglevel": "debug"},
 "clients": [{"id": "$ALICE", "flow": "xtls-rprx-vision", "email": "alice@example"},
             {"id": "$BOB", "flow": "", "email": "bob@example"}],
 "veil": {"allowPrivateDestinations": true, "blockBitTorrent": "$3",
          "metricsListen": "127.0.0.1:$4", "adminListen": "127.0.0.1:$(free_port)", "adminToken": "$TOKEN"}}
EOC
}
node_config "$WORK/node.json" "$N_PORT" block "$M_PORT"
sed -i "s/\"adminListen\": \"[^\"]*\"/\"adminListen\": \"127.0.0.1:$A_PORT\"/" "$WORK/node.json"
node_config "$WORK/node2.json" "$N2_PORT" log "$M2_PORT"
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
bg node2 "$VEIL_BIN/veil-node" -c "$WORK/node2.json"
link() { echo "vless://$1@127.0.0.1:$2?encryption=none&flow=$3&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"; }
bg client-vision "$VEIL_BIN/veil" client --link "$(link $ALICE $N_PORT xtls-rprx-vision)" --listen "127.0.0.1:$C1"
bg client-plain "$VEIL_BIN/veil" client --link "$(link $BOB $N_PORT '')" --listen "127.0.0.1:$C2"
bg client-log "$VEIL_BIN/veil" client --link "$(link $BOB $N2_PORT '')" --listen "127.0.0.1:$C3"
for p in $T_PORT $N_PORT $N2_PORT $C1 $C2 $C3 $ST $A_PORT $M_PORT $M2_PORT; do wait_port "$p"; done

hexof() { python3 "$BT" hex "$1"; }
arrived() { grep -c "^$1 $(hexof "$2" | cut -c1-40)" "$ARRIVED" || true; }
expect() { # expect NET SOCKS SAMPLE WANT
  local got
  got=$(python3 "$BT" "$1" "$2" "$([ "$1" = tcp ] && echo "$ST" || echo "$SU")" "$3") || fail "$1 $3 via $2: client error"
  [ "$got" = "$4" ] || fail "$1 $3 via $2: wanted $4, got $got"
}

# 1. Block mode, TCP: Vision (first payload inside Vision padding) and no flow.
for c in $C1 $C2; do
  expect tcp "$c" handshake refused
  expect tcp "$c" announce refused
  expect tcp "$c" tls echo
  expect tcp "$c" http echo
  expect tcp "$c" plain echo
done
[ "$(arrived tcp handshake)" = 0 ] || fail "a BitTorrent handshake reached the destination"
[ "$(arrived tcp announce)" = 0 ] || fail "a tracker announce reached the destination"
[ "$(grep -c '^tcp 160301' "$ARRIVED")" = 2 ] || fail "TLS did not arrive twice: $(cat "$ARRIVED")"
ok "block, TCP: handshake and announce refused (Vision and no flow); TLS, plain HTTP and other bytes arrive"

# 2. Block mode, UDP: command 2 (no flow) and XUDP (Vision).
for c in $C2 $C1; do
  expect udp "$c" dht refused
  expect udp "$c" utp refused
  expect udp "$c" udptracker refused
  expect udp "$c" quic echo
  expect udp "$c" dns echo
  expect udp "$c" plain echo
done
for s in dht utp udptracker; do [ "$(arrived udp $s)" = 0 ] || fail "a $s datagram reached the destination"; done
[ "$(grep -c '^udp c300000001' "$ARRIVED")" = 2 ] || fail "QUIC did not arrive twice"
ok "block, UDP: DHT, uTP and UDP-tracker datagrams refused (command 2 and XUDP); QUIC, DNS and others arrive"

# 3. Block mode, Mux TCP sub-connection (hand-made frames: `veil client` has no Mux TCP).
EP=$(printf '%04x' "$ST")
HS=$(hexof handshake)
HSLEN=$(printf '%04x' $(( ${#HS} / 2 )))
out=$("$VEIL_BIN/mux_probe" "$(link $BOB $N_PORT '')" mux "127.0.0.1:$ST" "000c0001010101${EP}017f000001${HSLEN}${HS}" 1)
case "$out" in *000400010302*) ;; *) fail "Mux TCP handshake: wanted End+error, got $out";; esac
PL=$(printf 'plain-mux' | od -An -tx1 | tr -d ' \n')
out=$("$VEIL_BIN/mux_probe" "$(link $BOB $N_PORT '')" mux "127.0.0.1:$ST" "000c0001010101${EP}017f0000010009${PL}" 1)
case "$out" in *"$PL"*) ;; *) fail "Mux TCP plain bytes not echoed: $out";; esac
[ "$(arrived tcp handshake)" = 0 ] || fail "a Mux BitTorrent handshake reached the destination"
ok "block, Mux TCP: a handshake in a sub-connection gets End+error, other bytes go through"

# 4. Counted: /metrics by action and kind, the close reason; per user on the admin API.
metric() { curl -sS "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
[ "$(metric $M_PORT 'veil_node_bittorrent_total{action="blocked",kind="handshake"}')" = 3 ] ||
  fail "handshake count: $(curl -sS "http://127.0.0.1:$M_PORT/metrics" | grep bittorrent)"
[ "$(metric $M_PORT 'veil_node_bittorrent_total{action="blocked",kind="dht"}')" = 2 ] || fail "dht count"
[ "$(metric $M_PORT 'veil_node_bittorrent_total{action="blocked",kind="utp"}')" = 2 ] || fail "utp count"
[ "$(metric $M_PORT 'veil_node_bittorrent_total{action="blocked",kind="udp_tracker"}')" = 2 ] || fail "udp tracker count"
[ "$(metric $M_PORT 'veil_node_bittorrent_total{action="blocked",kind="http_tracker"}')" = 2 ] || fail "announce count"
# TCP requests (4) and command-2 tunnels (3) close with the reason; XUDP/Mux sessions end alone.
[ "$(metric $M_PORT 'veil_node_closed_total{reason="bittorrent"}')" = 7 ] || fail "close reason count"
usage() { curl -sS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$A_PORT/api/v1/usage/$1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["user"].get("bittorrent", 0))'; }
[ "$(usage alice@example)" = 5 ] || fail "alice's attempts: $(usage alice@example)"
[ "$(usage bob@example)" = 6 ] || fail "bob's attempts: $(usage bob@example)"
grep -q '"bittorrent".*"kind":"dht","action":"blocked"' "$WORK/node.log" || fail "no bittorrent log line"
ok "counted: veil_node_bittorrent_total by kind, closed_total{reason=bittorrent}, per user on the admin API"

# 5. Log mode: everything arrives, and is counted.
: >"$ARRIVED"
expect tcp "$C3" handshake echo
expect udp "$C3" dht echo
[ "$(arrived tcp handshake)" = 1 ] && [ "$(arrived udp dht)" = 1 ] || fail "log mode: flows did not arrive"
[ "$(metric $M2_PORT 'veil_node_bittorrent_total{action="logged",kind="handshake"}')" = 1 ] || fail "log mode count"
[ "$(metric $M2_PORT 'veil_node_bittorrent_total{action="logged",kind="dht"}')" = 1 ] || fail "log mode dht count"
ok "log mode: BitTorrent flows go through and are counted"

kill -0 "$NODE_PID" || fail "node died"
if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports in the logs above"
fi
ok "no sanitizer reports"
echo "node bittorrent: all checks passed"
