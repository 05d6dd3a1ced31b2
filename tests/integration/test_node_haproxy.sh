#!/usr/bin/env bash
# veil-node behind a real HAProxy (mode tcp) sending PROXY protocol v2 and v1: tunnels work, the
# node sees the original client addresses (access log "from", and the device limit counts the
# clients' IPs, not HAProxy's), and REALITY probes through HAProxy still reach the target.
source "$(dirname "$0")/support/lib.sh"

HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[[ -x $HAPROXY ]] || skip_all "haproxy not installed"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
DEV=b831381d-6324-4d53-ad4f-8cda48b30811 # deviceLimit 2
SID=0123456789abcdef

T_PORT=$(free_port) N_PORT=$(free_port) H_PORT=$(free_port) P2=$(free_port) P1=$(free_port)
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"

cat > "$WORK/node.json" <<EOF
{
  "log": {"loglevel": "info", "access": "$WORK/access.log"},
  "inbounds": [{
    "listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
    "settings": {"clients": [
      {"id": "$DEV", "flow": "xtls-rprx-vision", "email": "dev@example", "veil": {"deviceLimit": 2}}
    ], "decryption": "none"},
    "streamSettings": {"network": "raw", "security": "reality", "rawSettings": {"acceptProxyProtocol": true},
      "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
        "privateKey": "$PRIV", "shortIds": ["$SID"], "maxTimeDiff": 60000}}
  }],
  "outbounds": [{"protocol": "freedom"}],
  "veil": {"workers": 2, "allowPrivateDestinations": true}
}
EOF
cat > "$WORK/haproxy.cfg" <<EOF
global
    maxconn 256
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe_v2
    bind 127.0.0.1:$P2
    default_backend be_v2
backend be_v2
    server node 127.0.0.1:$N_PORT send-proxy-v2
frontend fe_v1
    bind 127.0.0.1:$P1
    default_backend be_v1
backend be_v1
    server node 127.0.0.1:$N_PORT send-proxy
EOF
"$HAPROXY" -c -f "$WORK/haproxy.cfg" >/dev/null || fail "haproxy rejects the config"
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
bg haproxy "$HAPROXY" -db -f "$WORK/haproxy.cfg"
for p in $T_PORT $H_PORT $N_PORT $P2 $P1; do wait_port "$p"; done

link() { echo "vless://$DEV@127.0.0.1:$1?encryption=none&flow=xtls-rprx-vision&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"; }
client() { start_client "$1" "$2" "$(link "$3")" "$4"; } # client VAR NAME HAPROXYPORT BINDIP
hello() { [ "$(curl -s --max-time 30 --socks5-hostname "127.0.0.1:$1" "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ]; }

# 1. Tunnels through HAProxy with PROXY v2 and v1; the node logs the clients' own addresses.
client A v2-a "$P2" 127.0.0.2
client B v1-b "$P1" 127.0.0.3
client C v2-c "$P2" 127.0.0.4
hello "$A" || fail "tunnel through HAProxy (PROXY v2) failed"
ok "tunnel through HAProxy, PROXY v2"
hello "$B" || fail "tunnel through HAProxy (PROXY v1) failed"
ok "tunnel through HAProxy, PROXY v1"
grep -qs '"from":"127.0.0.2"' "$WORK/node.log" "$WORK/access.log" || fail "access log lacks the v2 client's address"
grep -qs '"from":"127.0.0.3"' "$WORK/node.log" "$WORK/access.log" || fail "access log lacks the v1 client's address"
ok "access log shows the original client addresses (127.0.0.2 via v2, 127.0.0.3 via v1)"

# 2. The device limit counts client IPs behind HAProxy: a third one is refused.
if hello "$C"; then fail "a third client IP behind HAProxy got through a device limit of two"; fi
hello "$A" || fail "a known client IP was refused"
ok "device limit 2 behind HAProxy: 127.0.0.4 refused, 127.0.0.2 still served"

# 3. Probes through HAProxy reach the REALITY target.
subj=$(echo | openssl s_client -connect "127.0.0.1:$P2" -servername example.com -tls1_3 2>/dev/null |
       openssl x509 -noout -subject 2>/dev/null)
case "$subj" in *example.com*) ;; *) fail "probe via HAProxy did not see the target certificate: '$subj'";; esac
page=$(curl -sk --max-time 10 --resolve "example.com:$P1:127.0.0.1" "https://example.com:$P1/")
case "$page" in *s_server*) ;; *) fail "HTTPS probe via HAProxy (v1) did not reach the target's page";; esac
ok "probes through HAProxy (v2 and v1) reach the target"

# 4. Without the header (straight to the node) nothing is served.
client D direct "$N_PORT" 127.0.0.2
if hello "$D"; then fail "a connection without a PROXY header was served"; fi
ok "a connection without a PROXY header is refused"

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports in the logs above"
fi
ok "no sanitizer reports"
echo "node haproxy: all checks passed"
