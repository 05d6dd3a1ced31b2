#!/usr/bin/env bash
# Issue 10 item 2: SIGHUP applies every setting it can (allowPrivateDestinations, adminToken,
# log level, timeouts...), names the ones that need a restart in one `restart_needed` warning,
# and logs `reloaded`; a bad file keeps the running config.
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811
SID=0123456789abcdef
TOKEN1=reload-admin-token-one-0123456789
TOKEN2=reload-admin-token-two-0123456789
N_PORT=$(free_port) A_PORT=$(free_port) M_PORT=$(free_port) M2_PORT=$(free_port) H_PORT=$(free_port)
C=$(free_port) T_PORT=$(free_port)

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
write_cfg() { # write_cfg ALLOW_PRIVATE TOKEN METRICS_PORT LOGLEVEL
  cat >"$WORK/node.json" <<JSON
{"log": {"loglevel": "$4"},
 "inbounds": [{"listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
  "settings": {"clients": [{"id": "$ALICE", "flow": "xtls-rprx-vision", "email": "alice@x"}], "decryption": "none"},
  "streamSettings": {"security": "reality", "realitySettings": {"target": "127.0.0.1:$T_PORT",
    "serverNames": ["example.com"], "privateKey": "$PRIV", "shortIds": ["$SID"]}}}],
 "veil": {"workers": 2, "allowPrivateDestinations": $1, "adminListen": "127.0.0.1:$A_PORT",
          "adminToken": "$2", "metricsListen": "127.0.0.1:$3"}}
JSON
}
write_cfg false "$TOKEN1" "$M_PORT" info
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
LINK="vless://$ALICE@127.0.0.1:$N_PORT?encryption=none&flow=xtls-rprx-vision&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"
bg client "$VEIL_BIN/veil" client --link "$LINK" --listen "127.0.0.1:$C"
for p in $T_PORT $H_PORT $N_PORT $A_PORT $M_PORT $C; do wait_port "$p"; done

socks() { curl -s --max-time 10 --socks5-hostname "127.0.0.1:$C" "$@"; }
admin() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "http://127.0.0.1:$A_PORT/api/v1/users"; }
count() { grep -c "$1" "$WORK/node.log" || true; }
reload() { # reload: SIGHUP, then wait (deadline 10 s) for one more "reloaded" or "restart_needed"/error line
  local before; before=$(( $(count '"event.action":"reloaded"') + $(count 'reload_config_error') + $(count 'restart_needed') ))
  kill -HUP "$NODE_PID"
  for _ in $(seq 1 200); do
    (( $(count '"event.action":"reloaded"') + $(count 'reload_config_error') + $(count 'restart_needed') > before )) && return 0
    sleep 0.05
  done
  fail "no reload outcome logged"
}

[ -z "$(socks "http://127.0.0.1:$H_PORT/hello")" ] || fail "loopback reachable with allowPrivateDestinations false"
[[ $(admin "$TOKEN1") == 200 ]] || fail "token 1 at start"

# 1. allowPrivateDestinations and adminToken change: both apply, "reloaded", no restart_needed
write_cfg true "$TOKEN2" "$M_PORT" info
reload
(( $(count '"event.action":"reloaded"') == 1 )) || fail "reloaded not logged"
(( $(count 'restart_needed') == 0 )) || fail "restart_needed for reloadable settings: $(grep restart_needed "$WORK/node.log")"
[ "$(socks "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "allowPrivateDestinations true not applied"
[[ $(admin "$TOKEN2") == 200 ]] || fail "new admin token refused"
[[ $(admin "$TOKEN1") == 401 ]] || fail "old admin token still accepted"
ok "allowPrivateDestinations and adminToken applied by SIGHUP"

# 2. back to false: applies again
write_cfg false "$TOKEN2" "$M_PORT" info
reload
[ -z "$(socks "http://127.0.0.1:$H_PORT/hello")" ] || fail "allowPrivateDestinations false not applied"
ok "allowPrivateDestinations false applied"

# 3. a restart-only setting (metricsListen) with a reloadable one (log level): the level applies,
#    the listener is named in restart_needed and keeps running where it was
write_cfg false "$TOKEN2" "$M2_PORT" debug
reload
grep -q '"event.action":"restart_needed".*"changed":"veil.metricsListen"' "$WORK/node.log" \
  || fail "restart_needed does not name veil.metricsListen: $(grep restart_needed "$WORK/node.log")"
(( $(count '"event.action":"reloaded"') == 3 )) || fail "third reload not logged"
curl -fsS "http://127.0.0.1:$M_PORT/metrics" >/dev/null || fail "old metrics listener gone"
socks "http://127.0.0.1:$H_PORT/hello" >/dev/null || true
grep -q '"log.level":"debug"' "$WORK/node.log" || fail "log level debug not applied"
ok "restart_needed names veil.metricsListen; log level applied"

# 4. a broken file keeps everything
echo '{"inbounds": ' >"$WORK/node.json"
reload
grep -q reload_config_error "$WORK/node.log" || fail "bad config not reported"
[[ $(admin "$TOKEN2") == 200 ]] || fail "bad reload changed the token"
echo "PASS: SIGHUP applies what it can and names the rest"
