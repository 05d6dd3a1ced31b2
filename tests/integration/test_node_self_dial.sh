#!/usr/bin/env bash
# Issue 10 item 1: a customer's tunnel must never reach the node's own listeners (admin API,
# /metrics, the inbound itself), in any spelling of the address, even with
# allowPrivateDestinations (which scripts/demo sets); other loopback services still work.
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811
SID=0123456789abcdef
TOKEN=self-dial-admin-token-0123456789
N_PORT=$(free_port) A_PORT=$(free_port) M_PORT=$(free_port) H_PORT=$(free_port) C=$(free_port) T_PORT=$(free_port)

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet

bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
cat >"$WORK/node.json" <<JSON
{"inbounds": [{"listen": "0.0.0.0", "port": $N_PORT, "protocol": "vless",
  "settings": {"clients": [{"id": "$ALICE", "flow": "xtls-rprx-vision", "email": "alice@x"}], "decryption": "none"},
  "streamSettings": {"security": "reality", "realitySettings": {"target": "127.0.0.1:$T_PORT",
    "serverNames": ["example.com"], "privateKey": "$PRIV", "shortIds": ["$SID"]}}}],
 "veil": {"workers": 1, "allowPrivateDestinations": true, "adminListen": "127.0.0.1:$A_PORT",
          "adminToken": "$TOKEN", "metricsListen": "127.0.0.1:$M_PORT"}}
JSON
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
LINK="vless://$ALICE@127.0.0.1:$N_PORT?encryption=none&flow=xtls-rprx-vision&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"
bg client "$VEIL_BIN/veil" client --link "$LINK" --listen "127.0.0.1:$C"
for p in $T_PORT $H_PORT $N_PORT $A_PORT $M_PORT $C; do wait_port "$p"; done

socks() { curl -s --max-time 10 --socks5-hostname "127.0.0.1:$C" "$@"; }
# allowPrivateDestinations still lets a tunnel reach another loopback service
[ "$(socks "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "loopback service through the tunnel"
ok "other loopback services reachable"

reached=0 tried=0
for host in 127.0.0.1 '[::1]' '[::ffff:127.0.0.1]' 0.0.0.0 localhost 127.0.0.2 127.1.2.3 2130706433 '[::]'; do
    for port in $A_PORT $M_PORT $N_PORT; do
        tried=$((tried + 1))
        code=$(socks -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
            -d '{"id":"mallory","email":"mallory@x"}' "http://$host:$port/api/v1/users" || true)
        if [[ $code != 000 ]]; then
            reached=$((reached + 1))
            echo "reached the node's own port $host:$port (HTTP $code)"
        fi
    done
done
# the user was not added, and the admin API itself still works directly
code=$(curl -s -o "$WORK/users" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$A_PORT/api/v1/users")
[[ $code == 200 ]] || fail "admin API direct: $code"
(( reached == 0 )) || fail "$reached of $tried own-listener destinations reached through the tunnel"
grep -q mallory "$WORK/users" && fail "a user was added through the tunnel"
ok "$tried own-listener destinations refused"
echo "PASS: own listeners unreachable through tunnels"
