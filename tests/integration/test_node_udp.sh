#!/usr/bin/env bash
# UDP end to end on loopback: veil client's SOCKS5 UDP ASSOCIATE -> veil-node -> UDP echo and
# DNS servers. No flow: VLESS UDP (command 2). Vision: Mux + XUDP (several destinations on one
# session, replies labelled with their source, a domain destination labelled with the domain).
# Idle associations close (a new one gets a new NAT port); the destination policy refuses
# private addresses when allowPrivateDestinations is false.
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811 # Vision
BOB=c831381d-6324-4d53-ad4f-8cda48b30811   # no flow
CAP=2bdadecc-25ca-4fcc-a471-b59481d99b48   # Vision: the user of the s3a/s3b transcripts (real Xray client)
CAP2=6af7a94f-ee73-427c-9215-8274873f1ca5  # no flow: the user of the s5/s5b transcripts
SID=0123456789abcdef

T_PORT=$(free_port) N_PORT=$(free_port) N2_PORT=$(free_port)
E1=$(free_port) E2=$(free_port) D_PORT=$(free_port)
C1=$(free_port) C2=$(free_port) C3=$(free_port) C4=$(free_port)

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg echo1 python3 "$SUPPORT/udp_tools.py" echo "$E1"
bg echo2 python3 "$SUPPORT/udp_tools.py" echo "$E2"
bg dns python3 "$SUPPORT/udp_tools.py" dns "$D_PORT" 192.0.2.7

node_config() { # node_config FILE PORT ALLOW_PRIVATE WORKERS
  write_node_config "$1" "$2" "127.0.0.1:$T_PORT" example.com "$PRIV" "$SID" - <<EOC
{"log": {"loglevel": "debug", "access": "$WORK/access.log"},
 "clients": [{"id": "$ALICE", "flow": "xtls-rprx-vision", "email": "alice@example"},
             {"id": "$BOB", "flow": "", "email": "bob@example"},
             {"id": "$CAP", "flow": "xtls-rprx-vision", "email": "capture@example"},
             {"id": "$CAP2", "flow": "", "email": "capture2@example"}],
 "reality": {"maxTimeDiff": 60000},
 "veil": {"workers": $4, "allowPrivateDestinations": $3, "udpIdleTimeoutSec": 2,
          "dnsServers": ["127.0.0.1:$D_PORT"]}}
EOC
}
# One worker for the first node: GlobalID associations are kept per worker (test 3b).
node_config "$WORK/node.json" "$N_PORT" true 1
node_config "$WORK/node2.json" "$N2_PORT" false 2
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
bg node2 "$VEIL_BIN/veil-node" -c "$WORK/node2.json"
link() { echo "vless://$1@127.0.0.1:$2?encryption=none&flow=$3&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"; }
bg client-vision "$VEIL_BIN/veil" client -v --link "$(link $ALICE $N_PORT xtls-rprx-vision)" --listen "127.0.0.1:$C1"
bg client-plain "$VEIL_BIN/veil" client -v --link "$(link $BOB $N_PORT '')" --listen "127.0.0.1:$C2"
bg client-vision2 "$VEIL_BIN/veil" client -v --link "$(link $ALICE $N2_PORT xtls-rprx-vision)" --listen "127.0.0.1:$C3"
bg client-plain2 "$VEIL_BIN/veil" client -v --link "$(link $BOB $N2_PORT '')" --listen "127.0.0.1:$C4"
for p in $T_PORT $N_PORT $N2_PORT $C1 $C2 $C3 $C4; do wait_port "$p"; done

wait_udp() { # wait_udp PORT [HOST]: until the UDP server there answers
  python3 - "$1" "${2:-127.0.0.1}" <<'EOP' || fail "UDP server on $1 did not start"
import socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
for _ in range(100):
    s.sendto(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01", (sys.argv[2], int(sys.argv[1])))
    try:
        s.recvfrom(2048); sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
EOP
}
for p in $E1 $E2 $D_PORT; do wait_udp "$p"; done
ut() { python3 "$SUPPORT/udp_tools.py" socks "$@"; }

# 1. No flow: VLESS UDP (command 2), echo and DNS.
ut "$C2" send 127.0.0.1 "$E1" hello-plain expect hello-plain from 127.0.0.1 "$E1" \
  send 127.0.0.1 "$E1" again expect again || fail "plain UDP echo"
ok "no flow: UDP echo through VLESS command 2"
ut "$C2" dns 127.0.0.1 "$D_PORT" www.example.test 192.0.2.7 || fail "plain DNS"
ok "no flow: DNS query through the tunnel"
# Command 2 carries one destination (the first datagram's): others are dropped.
ut "$C2" send 127.0.0.1 "$E1" one expect one send 127.0.0.1 "$E2" two noreply 1 || fail "command 2 second destination"
ok "no flow: datagrams to a second destination are dropped (one destination per connection)"

# 2. Vision: Mux + XUDP.
ut "$C1" send 127.0.0.1 "$E1" hello-xudp expect hello-xudp from 127.0.0.1 "$E1" || fail "XUDP echo"
ok "Vision: UDP echo through Mux/XUDP"
ut "$C1" dns 127.0.0.1 "$D_PORT" www.example.test 192.0.2.7 || fail "XUDP DNS"
ok "Vision: DNS query through XUDP"
ut "$C1" send 127.0.0.1 "$E1" to-one send 127.0.0.1 "$E2" to-two \
  expect to- expect to- send 127.0.0.1 "$E1" a1 expect a1 from 127.0.0.1 "$E1" port p1 \
  send 127.0.0.1 "$E2" a2 expect a2 from 127.0.0.1 "$E2" port p2 same p1 p2 || fail "two destinations"
ok "Vision: two destinations on one XUDP session, replies labelled with their source, one NAT port"
ut "$C1" send localhost "$E1" by-name expect by-name from localhost "$E1" || fail "domain destination"
ok "Vision: a domain destination resolved by the node, replies labelled with the name"

# 2a. IPv6 destinations (the association's second socket), when the host has ::1.
if python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null; then
  E6=$(free_port)
  bg echo6 python3 "$SUPPORT/udp_tools.py" echo6 "$E6"
  wait_udp "$E6" ::1
  ut "$C1" send ::1 "$E6" v6-xudp expect v6-xudp from ::1 "$E6" send 127.0.0.1 "$E1" v4-too expect v4-too ||
    fail "XUDP to ::1"
  ut "$C2" send ::1 "$E6" v6-plain expect v6-plain || fail "command 2 to ::1"
  ok "IPv6 destinations (XUDP with an IPv4 one on the same session, command 2)"
else
  skip_part "IPv6 destinations: no ::1 on this host"
fi

# 2b. Names resolved by the node through its DNS servers (our responder: *.loop.test -> 127.0.0.1).
ut "$C1" send echo.loop.test "$E1" via-dns expect via-dns from echo.loop.test "$E1" || fail "XUDP to a resolved name"
ut "$C2" send echo.loop.test "$E1" via-dns2 expect via-dns2 || fail "command 2 to a resolved name"
ut "$C1" send nx.loop.test "$E1" lost noreply 1 send 127.0.0.1 "$E1" after-nx expect after-nx ||
  fail "XUDP to a missing name"
grep -q '"dest":"nx.loop.test:'"$E1"'","why":"dns"' "$WORK/node.log" || fail "missing name not logged"
ok "names resolved through the node's DNS (XUDP and command 2); a missing name ends its session only"

# 3. Idle timeout (udpIdleTimeoutSec 2): a new association, so a new NAT port.
ut "$C1" send 127.0.0.1 "$E1" x expect x port a send 127.0.0.1 "$E1" y expect y port b same a b \
  sleep 3.5 send 127.0.0.1 "$E1" z expect z port c differ a c || fail "XUDP idle"
ut "$C2" send 127.0.0.1 "$E1" x expect x port a sleep 3.5 send 127.0.0.1 "$E1" z expect z port c differ a c ||
  fail "command 2 idle"
grep -q '"udp_idle"' "$WORK/node.log" || fail "no udp_idle in the node log"
ok "idle UDP associations are closed (XUDP and command 2); the next datagram gets a new one"

# 3b. XUDP GlobalID: the same local socket on a new connection gets its association back.
ut "$C1" send 127.0.0.1 "$E1" before expect before port a reconnect send 127.0.0.1 "$E1" after expect after \
  port b same a b || fail "GlobalID reuse"
grep -q '"xudp_reuse"' "$WORK/node.log" || fail "no xudp_reuse in the node log"
grep -q '"event.action":"udp_session","user.id":"alice@example","dest":"127.0.0.1:'"$E1"'"' "$WORK/access.log" ||
  fail "no udp_session access line"
ok "Vision: XUDP GlobalID keeps the NAT association across connections"

# 3c. Hand-made frames (tests/tools/mux_probe): what `veil client` never sends. "open" checks
# wait 1 s: a tunnel without associations ends after udpIdleTimeoutSec (2 s).
probe() { "$VEIL_BIN/mux_probe" "$@"; }
EP=$(printf '%04x' "$E1")
LA=$(link $ALICE $N_PORT xtls-rprx-vision) LB=$(link $BOB $N_PORT '')
out=$(probe "$LA" mux "127.0.0.1:$E1" "000c0001010001${EP}017f000001" 3)
[ "$(echo "$out" | tail -1)" = closed ] || fail "Vision Mux TCP New did not close the connection: $out"
out=$(probe "$LB" mux "127.0.0.1:$E1" "000c0001010001${EP}017f000001" 1)
case "$out" in *000400010302*open) ;; *) fail "no-flow Mux TCP New to a port without a TCP listener: wanted End+error, got $out";; esac
out=$(probe "$LA" mux "127.0.0.1:$E1" "00040005020100026162000400070400000400070300" 1)
case "$out" in *000400050300*open) ;; *) fail "Keep for an unknown session: wanted End, got $out";; esac
out=$(probe "$LB" mux "127.0.0.1:$E1" "0300000000" 3)
[ "$(echo "$out" | tail -1)" = closed ] || fail "meta_len > 512 did not close: $out"
out=$(probe "$LA" mux "127.0.0.1:$E1" "000c0000010102${EP}017f00000100026869" 1)
case "$out" in *000c0000020102${EP}017f000001*7c6869*open) ;; *) fail "XUDP reply frame: $out";; esac
out=$(probe "$LB" udp "127.0.0.1:$E1" "000000026869" 1)
case "$out" in *7c6869*open) ;; *) fail "command 2 with a leading empty datagram: $out";; esac
# 300 sessions on one connection: the first 256 get replies, the rest End with the error bit.
many=$(python3 -c "import sys
print(''.join('000c%04x010102%s017f000001' % (i, sys.argv[1]) + '0001' + '78' for i in range(1, 301)))" "$EP")
out=$(probe "$LB" mux "127.0.0.1:$E1" "$many" 1)
[ "$(grep -o '000c....020102' <<<"$out" | wc -l)" = 256 ] || fail "256 sessions should get replies: $out"
case "$out" in *00040101030200040102030*open) ;; *) fail "session 257 should get End+error: $out";; esac
ok "Mux edge cases: 256 sessions per connection, Vision TCP New closes, other TCP New whose dial fails gets End+error (Mux TCP: test_node_mux), unknown session gets End, bad meta_len closes; reply frame layout; empty datagram ignored"

# 3d. A real Xray 25.9.11 client's XUDP uplink (transcript s3a: Vision, one session, GlobalID,
# two destinations, 3 rounds, Vision End midway) replayed through a fresh REALITY session. Its
# destinations are fixed ports (29001, 29002): skipped when they are taken.
if python3 -c 'import socket
for p in (29001, 29002):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", p)); s.close()' 2>/dev/null; then
  bg echo29001 python3 "$SUPPORT/udp_tools.py" echo 29001 echo29001:
  bg echo29002 python3 "$SUPPORT/udp_tools.py" echo 29002 echo29002:
  wait_udp 29001
  wait_udp 29002
  out=$("$VEIL_BIN/replay_xudp" "$(link $CAP $N_PORT xtls-rprx-vision)" \
        "$VEIL_TESTDATA/vless-transcripts/s3a-vision-udp-socks.c2s.hex" 2)
  for r in 0 1 2; do
    for p in 29001 29002; do
      want=$(python3 -c "import sys; p=int(sys.argv[2]); d=b'echo%d:dgram-%s-to-%d' % (p, sys.argv[1].encode(), p)
print((bytes.fromhex('000c0000020102%04x017f000001' % p) + len(d).to_bytes(2, 'big') + d).hex())" $r $p)
      case "$out" in *"$want"*) ;; *) fail "replayed XUDP: no reply frame for round $r to $p in $out";; esac
    done
  done
  ok "a real Xray client's Vision + XUDP uplink (s3a transcript): six replies, Keep frames labelled with their source"
  # s3b: XUDP without GlobalID, Keeps without address; s5: command 2; s5b: XUDP without Vision.
  tx="$VEIL_TESTDATA/vless-transcripts"
  keep29001=000c0000020102$(printf '%04x' 29001)017f000001
  echo_hex=$(printf 'echo29001:' | od -An -tx1 | tr -d ' \n')
  count() { grep -o "$1" <<<"$2" | wc -l; }
  out=$("$VEIL_BIN/replay_xudp" "$(link $CAP $N_PORT xtls-rprx-vision)" "$tx/s3b-vision-udp-dokodemo.conn1.c2s.hex" 2)
  [ "$(count "$keep29001" "$out")" = 3 ] || fail "s3b replay: wanted 3 labelled replies: $out"
  out=$("$VEIL_BIN/replay_xudp" "$(link $CAP2 $N_PORT '')" "$tx/s5-plain-udp-cmd2.c2s.hex" 2)
  [ "$(count "$echo_hex" "$out")" = 3 ] || fail "s5 replay (command 2): wanted 3 replies: $out"
  out=$("$VEIL_BIN/replay_xudp" "$(link $CAP2 $N_PORT '')" "$tx/s5b-plain-udp-xudp.c2s.hex" 2)
  [ "$(count "$keep29001" "$out")" = 3 ] || fail "s5b replay (XUDP, no Vision): wanted 3 labelled replies: $out"
  ok "real Xray uplinks: XUDP without GlobalID (s3b), command 2 (s5), XUDP without Vision (s5b)"
else
  skip_part "transcript replay: ports 29001/29002 are in use"
fi

# 4. Destination policy (allowPrivateDestinations false): nothing leaves, the node says why.
ut "$C3" send 10.0.0.1 53 refused-xudp noreply 1 || fail "XUDP to 10.0.0.1"
ut "$C4" send 10.0.0.1 53 refused-plain noreply 1 || fail "command 2 to 10.0.0.1"
ut "$C4" send 127.0.0.1 "$E1" refused-loopback noreply 1 || fail "command 2 to loopback"
ut "$C3" send localhost "$E1" refused-name noreply 1 || fail "XUDP to a name resolving to loopback"
[ "$(grep -c '"udp_dest_failed"' "$WORK/node2.log")" -ge 4 ] || fail "refusals not logged"
grep -q '"dest":"10.0.0.1:53"' "$WORK/node2.log" || fail "10.0.0.1 refusal not logged"
ok "destination policy: 10.0.0.1, loopback and a name resolving to loopback refused"

kill -0 "$NODE_PID" || fail "node died"
ut "$C1" send 127.0.0.1 "$E1" still expect still || fail "node unusable at the end"
# SIGTERM with kept XUDP associations and an open UDP tunnel: clean exit (leaks show up here).
python3 -u "$SUPPORT/udp_tools.py" socks "$C1" send 127.0.0.1 "$E1" open expect open sleep 30 >"$WORK/hold.out" 2>&1 &
HOLD=$!
wait_for 'grep -q "^got " "$WORK/hold.out"' 10 "the held UDP tunnel to carry a datagram"
kill -TERM "$NODE_PID"
for i in $(seq 1 150); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NODE_PID" 2>/dev/null && fail "node did not exit after SIGTERM"
rc=0; wait "$NODE_PID" || rc=$?
[ $rc = 0 ] || fail "node exit code $rc after SIGTERM"
kill "$HOLD" 2>/dev/null || true
ok "SIGTERM with UDP tunnels and kept associations: node exits 0"
if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports in the logs above"
fi
ok "no sanitizer reports"
echo "node udp: all checks passed"
