#!/usr/bin/env bash
# Post-quantum REALITY on loopback: veil-node in front of the synthetic hybrid target
# (tests/tools/hybrid_target.c: our TLS 1.3 engine, prefers X25519MLKEM768, logs the group it
# picks), `veil client` offering X25519MLKEM768 + X25519 like Chrome. Proves:
# - the target chose the hybrid group for the authenticated clients' hellos and the client's
#   handshake with the node completed on X25519MLKEM768 (client debug log), HTTP and HTTPS
#   through the tunnel with checksums, both ways;
# - `veil client --no-pq` still works (X25519);
# - an OpenSSL 3.0 probe (X25519 only) reaches the target through the node (fallback);
# - with the target restricted to the hybrid group, the hybrid client still works and the
#   X25519-only client cannot: the node can only have answered with X25519MLKEM768.
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811 # Vision
BOB=c831381d-6324-4d53-ad4f-8cda48b30811   # no flow
SID=0123456789abcdef
BIG=${VEIL_PQ_BYTES:-20000000}

T_PORT=$(free_port) N_PORT=$(free_port) H_PORT=$(free_port) S_PORT=$(free_port)
C1=$(free_port) C2=$(free_port) C3=$(free_port)

# Target certificate: Ed25519 leaf (our engine signs Ed25519 only) plus an RSA "intermediate",
# so the encrypted flight is one record > 512 bytes (REALITY combined mode), like real sites.
openssl req -x509 -newkey ed25519 -keyout "$WORK/leaf.key" -out "$WORK/leaf.pem" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
openssl x509 -in "$WORK/leaf.pem" -outform DER -out "$WORK/leaf.der"
openssl pkey -in "$WORK/leaf.key" -outform DER -out "$WORK/leaf.key.der"
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj "/CN=Example Intermediate CA" >/dev/null 2>&1
openssl x509 -in "$WORK/t.crt" -outform DER -out "$WORK/ca.der"
start_target() { # start_target [--hybrid-only]
  bg target "$VEIL_BIN/hybrid_target" --port "$T_PORT" --cert "$WORK/leaf.der" --key "$WORK/leaf.key.der" \
    --chain "$WORK/ca.der" "$@"
  TARGET_PID=$LASTPID
  wait_port "$T_PORT"
}
start_target
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
bg https python3 "$SUPPORT/http_sink.py" "$S_PORT" --tls "$WORK/t.crt" "$WORK/t.key"

cat > "$WORK/node.json" <<EOF
{
  "log": {"loglevel": "debug"},
  "inbounds": [{
    "listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
    "settings": {"clients": [
      {"id": "$ALICE", "flow": "xtls-rprx-vision", "email": "alice@example"},
      {"id": "$BOB", "flow": "", "email": "bob@example"}], "decryption": "none"},
    "streamSettings": {"network": "raw", "security": "reality",
      "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
        "privateKey": "$PRIV", "shortIds": ["$SID"], "maxTimeDiff": 60000}}
  }],
  "outbounds": [{"protocol": "freedom"}],
  "veil": {"workers": 2, "allowPrivateDestinations": true}
}
EOF
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
link() { echo "vless://$1@127.0.0.1:$N_PORT?encryption=none&flow=$2&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"; }
bg client-pq "$VEIL_BIN/veil" client -v --link "$(link $ALICE xtls-rprx-vision)" --listen "127.0.0.1:$C1"
bg client-pq-plain "$VEIL_BIN/veil" client -v --link "$(link $BOB '')" --listen "127.0.0.1:$C2"
bg client-classic "$VEIL_BIN/veil" client -v --no-pq --link "$(link $ALICE xtls-rprx-vision)" --listen "127.0.0.1:$C3"
for p in $H_PORT $S_PORT $N_PORT $C1 $C2 $C3; do wait_port "$p"; done

socks() { curl -s --max-time 60 --socks5-hostname "127.0.0.1:$1" "${@:2}"; }
count() { grep -c -- "$1" "$2" || true; }

# 1. Hybrid: HTTP and HTTPS through Vision and no-flow tunnels, checksums both ways.
[ "$(socks $C1 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "pq vision http"
head -c "$BIG" /dev/urandom > "$WORK/up.bin"
UP_SUM=$(sha256sum "$WORK/up.bin" | cut -d' ' -f1)
want=$(python3 -c "import hashlib,random; print(hashlib.sha256(random.Random($BIG).randbytes($BIG)).hexdigest())")
for port in $C1 $C2; do
  for scheme in http https; do
    hp=$H_PORT; [ $scheme = https ] && hp=$S_PORT
    got=$(socks $port -k "$scheme://127.0.0.1:$hp/bytes/$BIG" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || fail "download $scheme via $port: checksum $got != $want"
    res=$(socks $port -k --data-binary "@$WORK/up.bin" -H 'Content-Type: application/octet-stream' \
          "$scheme://127.0.0.1:$hp/sink")
    [ "$res" = "$BIG $UP_SUM" ] || fail "upload $scheme via $port: got '$res'"
  done
done
ok "hybrid tunnels: $BIG bytes down and up, HTTP and HTTPS, Vision and no flow: checksums match"
n_hs=$(($(count '"reality_handshake"' "$WORK/client-pq.log") + $(count '"reality_handshake"' "$WORK/client-pq-plain.log")))
n_pq=$(($(count '"group":"X25519MLKEM768"' "$WORK/client-pq.log") + $(count '"group":"X25519MLKEM768"' "$WORK/client-pq-plain.log")))
[ "$n_hs" -ge 9 ] && [ "$n_pq" = "$n_hs" ] || fail "client handshakes: $n_pq of $n_hs on X25519MLKEM768"
[ "$(count 'group=X25519MLKEM768' "$WORK/target.log")" -ge "$n_hs" ] || fail "target did not choose the hybrid group"
ok "all $n_hs client handshakes negotiated X25519MLKEM768 (target chose it, node answered it)"

# 2. --no-pq: X25519 only.
before=$(count 'group=X25519 ' "$WORK/target.log")
[ "$(socks $C3 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "--no-pq http"
got=$(socks $C3 -k "https://127.0.0.1:$S_PORT/bytes/$BIG" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "--no-pq https download checksum"
grep -q '"group":"X25519"' "$WORK/client-classic.log" || fail "--no-pq client did not log X25519"
grep -q '"group":"X25519MLKEM768"' "$WORK/client-classic.log" && fail "--no-pq client negotiated the hybrid"
[ "$(count 'group=X25519 ' "$WORK/target.log")" -gt "$before" ] || fail "target did not see the X25519-only hello"
ok "veil client --no-pq: X25519 only, HTTP and HTTPS work"

# 3. Probes: OpenSSL 3.0 (X25519 only) and curl reach the target through the node.
subj=$(echo | openssl s_client -connect "127.0.0.1:$N_PORT" -servername example.com -tls1_3 2>/dev/null |
       openssl x509 -noout -subject 2>/dev/null)
case "$subj" in *example.com*) ;; *) fail "probe did not see the target certificate: '$subj'";; esac
page=$(curl -sk --max-time 10 --resolve "example.com:$N_PORT:127.0.0.1" "https://example.com:$N_PORT/")
[ "$page" = "veil hybrid target" ] || fail "probe did not reach the target's page: '$page'"
ok "unauthenticated OpenSSL/curl probes get the target (X25519) through the node"

# 4. Target accepting only the hybrid group: the hybrid client works, X25519-only does not.
kill "$TARGET_PID"; wait "$TARGET_PID" 2>/dev/null || true
start_target --hybrid-only
got=$(socks $C1 -k "https://127.0.0.1:$S_PORT/bytes/$BIG" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "hybrid-only target: pq download checksum"
[ "$(socks $C2 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "hybrid-only: pq plain"
if socks $C3 "http://127.0.0.1:$H_PORT/hello" >/dev/null; then fail "X25519-only client got through a hybrid-only target"; fi
grep -q 'group=none' "$WORK/target.log" || fail "hybrid-only target did not refuse the X25519-only hello"
ok "hybrid-only target: X25519MLKEM768 clients tunnel, the X25519-only client is refused"

kill -0 "$NODE_PID" || fail "node died"
kill -TERM "$NODE_PID"
for i in $(seq 1 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports in the logs above"
fi
ok "no sanitizer reports from node, target or clients"
echo "node pq: all checks passed"
