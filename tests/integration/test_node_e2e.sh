#!/usr/bin/env bash
# End to end on loopback: a REALITY target (openssl s_server -tls1_3), veil-node, `veil client`,
# and an HTTP(S) origin. curl fetches through the tunnel with and without Vision, plain HTTP and
# HTTPS (Vision's direct-copy path), 100 MB each way with matching checksums; probes and bad
# clients get what the spec says; SIGHUP adds/removes users without dropping tunnels; SIGTERM
# drains.
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811 # Vision
BOB=c831381d-6324-4d53-ad4f-8cda48b30811   # no flow
CAROL=d831381d-6324-4d53-ad4f-8cda48b30811 # added by SIGHUP
SID=0123456789abcdef
BIG=${VEIL_E2E_BYTES:-100000000}

T_PORT=$(free_port) N_PORT=$(free_port) H_PORT=$(free_port) S_PORT=$(free_port)
C1=$(free_port) C2=$(free_port) C3=$(free_port)

# The target: RSA-2048 so its encrypted flight is one record > 512 bytes, like most sites.
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
bg https python3 "$SUPPORT/http_sink.py" "$S_PORT" --tls "$WORK/t.crt" "$WORK/t.key"

node_config() { # node_config "client json objects"
  write_node_config "$WORK/node.json" "$N_PORT" "127.0.0.1:$T_PORT" example.com "$PRIV" "$SID" - <<EOF
{"log": {"loglevel": "debug"}, "clients": [$1], "reality": {"maxTimeDiff": 60000},
 "veil": {"workers": 2, "allowPrivateDestinations": true}}
EOF
}
USERS="{\"id\": \"$ALICE\", \"flow\": \"xtls-rprx-vision\", \"email\": \"alice@example\"},
       {\"id\": \"$BOB\", \"flow\": \"\", \"email\": \"bob@example\"}"
node_config "$USERS"
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
link() { echo "vless://$1@127.0.0.1:$N_PORT?encryption=none&flow=$2&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"; }
bg client-vision "$VEIL_BIN/veil" client --link "$(link $ALICE xtls-rprx-vision)" --listen "127.0.0.1:$C1"
bg client-plain "$VEIL_BIN/veil" client --link "$(link $BOB '')" --listen "127.0.0.1:$C2"
bg client-carol "$VEIL_BIN/veil" client --link "$(link $CAROL '')" --listen "127.0.0.1:$C3"
for p in $T_PORT $H_PORT $S_PORT $N_PORT $C1 $C2 $C3; do wait_port "$p"; done

socks() { curl -s --max-time 60 --socks5-hostname "127.0.0.1:$1" "${@:2}"; }

# 1. Plain HTTP through both flows, SOCKS5 and HTTP CONNECT.
[ "$(socks $C1 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "vision http"
ok "Vision: HTTP through SOCKS5"
[ "$(socks $C2 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "plain http"
ok "no flow: HTTP through SOCKS5"
out=$(curl -s --max-time 30 -p -x "http://127.0.0.1:$C1" "http://127.0.0.1:$H_PORT/hello")
[ "$out" = "hello through the tunnel" ] || fail "http connect"
ok "Vision: HTTP CONNECT inbound"

# 2. HTTPS (inner TLS 1.3: Vision switches to direct copy) and big transfers both ways.
[ "$(socks $C1 -k "https://127.0.0.1:$S_PORT/hello")" = "hello through the tunnel" ] || fail "vision https"
ok "Vision: HTTPS (direct copy)"
head -c "$BIG" /dev/urandom > "$WORK/up.bin"
UP_SUM=$(sha256sum "$WORK/up.bin" | cut -d' ' -f1)
for port in $C1 $C2; do
  for scheme in http https; do
    hp=$H_PORT; [ $scheme = https ] && hp=$S_PORT
    want=$(python3 -c "import hashlib,random; print(hashlib.sha256(random.Random($BIG).randbytes($BIG)).hexdigest())")
    got=$(socks $port -k "$scheme://127.0.0.1:$hp/bytes/$BIG" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || fail "download $scheme via $port: checksum $got != $want"
    res=$(socks $port -k --data-binary "@$WORK/up.bin" -H 'Content-Type: application/octet-stream' \
          "$scheme://127.0.0.1:$hp/sink")
    [ "$res" = "$BIG $UP_SUM" ] || fail "upload $scheme via $port: got '$res'"
  done
done
ok "$BIG bytes down and up, HTTP and HTTPS, Vision and no flow: checksums match"
grep -q '"event.action":"direct_splice"' "$WORK/node.log" || fail "Vision HTTPS never moved to splice(2)"
ok "Vision direct copy moved the tunnel to splice(2)"

# 2b. Our client and server against a target that prefers each TLS 1.3 suite: REALITY copies
# the target's choice, so every suite is exercised through the whole node.
for suite in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
  SP=$(free_port) NP=$(free_port) CP=$(free_port)
  bg "target-$suite" openssl s_server -accept "127.0.0.1:$SP" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 \
     -ciphersuites "$suite" -www -quiet
  sed -e "s/\"port\": $N_PORT/\"port\": $NP/" -e "s/127.0.0.1:$T_PORT/127.0.0.1:$SP/" "$WORK/node.json" > "$WORK/node-$suite.json"
  bg "node-$suite" "$VEIL_BIN/veil-node" -c "$WORK/node-$suite.json"
  wait_port "$SP"; wait_port "$NP"
  bg "client-$suite" "$VEIL_BIN/veil" client --link "$(link $ALICE xtls-rprx-vision | sed "s/:$N_PORT?/:$NP?/")" \
     --listen "127.0.0.1:$CP"
  wait_port "$CP"
  [ "$(socks $CP -k "https://127.0.0.1:$S_PORT/hello")" = "hello through the tunnel" ] || fail "suite $suite"
  echo | openssl s_client -connect "127.0.0.1:$SP" -tls1_3 2>/dev/null | grep -q "$suite" || fail "target not on $suite"
done
ok "the node follows the target's suite: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305"

# 3. Probes: a browser-like TLS client sees the target; garbage is relayed to the target.
subj=$(echo | openssl s_client -connect "127.0.0.1:$N_PORT" -servername example.com -tls1_3 2>/dev/null |
       openssl x509 -noout -subject 2>/dev/null)
case "$subj" in *example.com*) ;; *) fail "probe did not see the target certificate: '$subj'";; esac
ok "unauthenticated TLS client gets the target's certificate"
page=$(curl -sk --max-time 10 --resolve "example.com:$N_PORT:127.0.0.1" "https://example.com:$N_PORT/")
case "$page" in *s_server*) ;; *) fail "probe did not reach the target's page";; esac
ok "unauthenticated HTTPS client talks to the target"
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 nc -q 5 127.0.0.1 "$N_PORT" >/dev/null || true
kill -0 "$NODE_PID" || fail "node died on a plain-HTTP probe"
ok "plain-HTTP probe relayed to the target, node alive"

# 4. Bad clients: unknown user, flow the user lacks, stalled mid-header.
if socks $C3 "http://127.0.0.1:$H_PORT/hello" >/dev/null; then fail "unknown user got through"; fi
ok "unknown UUID refused"
C4=$(free_port)
bg client-badflow "$VEIL_BIN/veil" client --link "$(link $BOB xtls-rprx-vision)" --listen "127.0.0.1:$C4"
wait_port "$C4"
if socks $C4 "http://127.0.0.1:$H_PORT/hello" >/dev/null; then fail "Vision request for a no-flow user got through"; fi
ok "flow the user does not have refused"
# A client that stalls inside its ClientHello is a probe like any other: after the handshake
# timeout it stays relayed to the target, which decides; the node is unaffected.
python3 - "$N_PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # half a ClientHello, then silence
time.sleep(5)
s.close()
EOF
# An authenticated client that stalls inside its VLESS header is closed at the handshake timeout.
"$VEIL_BIN/stall_vless" "$(link $ALICE xtls-rprx-vision)" 8 || fail "VLESS-header stall was not closed"
kill -0 "$NODE_PID" || fail "node died"
[ "$(socks $C1 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "node unusable after stalls"
ok "stalled clients handled (ClientHello: relayed to target; VLESS header: closed), node alive"

# 5. SIGHUP: add carol, remove bob, while a tunnel is open.
socks $C1 --limit-rate 2M "http://127.0.0.1:$H_PORT/bytes/8000000" -o "$WORK/slow.bin" &
SLOW=$!
wait_for '[ -s "$WORK/slow.bin" ]' 10 "the slow download to start"
node_config "{\"id\": \"$ALICE\", \"flow\": \"xtls-rprx-vision\", \"email\": \"alice@example\"},
             {\"id\": \"$CAROL\", \"flow\": \"\", \"email\": \"carol@example\"}"
kill -HUP "$NODE_PID"
# The reload swaps the whole user set at once: once carol is in, bob must be out.
wait_for '[ "$(socks $C3 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ]' 10 "carol added"
if socks $C2 "http://127.0.0.1:$H_PORT/hello" >/dev/null; then fail "bob not removed"; fi
wait $SLOW || fail "the open tunnel was dropped by the reload"
[ "$(stat -c %s "$WORK/slow.bin")" = 8000000 ] || fail "the open tunnel lost data across the reload"
ok "SIGHUP added and removed users; the open tunnel kept going"
echo '{"inbounds": [' > "$WORK/node.json"
kill -HUP "$NODE_PID"
wait_for 'grep -q reload_config_error "$WORK/node.log"' 10 "the bad reload to be logged"
kill -0 "$NODE_PID" || fail "a bad config on reload killed the node"
[ "$(socks $C3 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "bad reload dropped config"
ok "a broken config on SIGHUP keeps the old one running"

# 6. SIGTERM drains: an open tunnel finishes, then the node exits 0.
socks $C1 --limit-rate 4M "http://127.0.0.1:$H_PORT/bytes/4000000" -o "$WORK/drain.bin" &
SLOW=$!
wait_for '[ -s "$WORK/drain.bin" ]' 10 "the drain download to start"
kill -TERM "$NODE_PID"
wait $SLOW || fail "drain cut the tunnel"
[ "$(stat -c %s "$WORK/drain.bin")" = 4000000 ] || fail "drain lost data"
for i in $(seq 1 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NODE_PID" 2>/dev/null && fail "node did not exit after SIGTERM"
rc=0; wait "$NODE_PID" || rc=$?
[ $rc = 0 ] || fail "node exit code $rc after SIGTERM"
grep -q '"event.action":"stopped"' "$WORK/node.log" || fail "no stop log"
ok "SIGTERM drained the open tunnel and exited 0"
if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports in the logs above"
fi
ok "no sanitizer reports from node or clients"
echo "node e2e: all checks passed"
