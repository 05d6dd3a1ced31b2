#!/usr/bin/env bash
# The "redirects elsewhere" check of a REALITY target (issue 15 items 1-2): after the handshake
# the active check sends GET / (HTTP/1.1 here; HTTP/2 when the target picks h2, unit-tested) and
# judges the answer. Loopback targets that redirect
#  - to another registrable domain (https://other.example.net/x): verdict redirect, in
#    `veil scan` (text and JSON) and on the node's /metrics (veil_node_target_verdict);
#  - within the domain (/en/, https://shop.example.com/): suitable;
#  - an ordinary 200 page (openssl s_server -www): suitable.
source "$(dirname "$0")/support/lib.sh"

PA=$(free_port) PB=$(free_port) PC=$(free_port) P200=$(free_port) N_PORT=$(free_port) M_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=www.example.com -addext "subjectAltName=DNS:www.example.com" >/dev/null 2>&1
RT="$SUPPORT/redirect_target.py"
bg elsewhere python3 "$RT" "$PA" "$WORK/t.crt" "$WORK/t.key" "https://other.example.net/x"
bg relative python3 "$RT" "$PB" "$WORK/t.crt" "$WORK/t.key" "/en/"
bg subdomain python3 "$RT" "$PC" "$WORK/t.crt" "$WORK/t.key" "https://shop.example.com/"
bg plain openssl s_server -accept "127.0.0.1:$P200" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
for p in $PA $PB $PC $P200; do wait_port "$p"; done

scan() { # scan NAME ARGS...: output in $WORK/NAME.out, exit code in $RC
  RC=0
  "$VEIL_BIN/veil" scan "${@:2}" >"$WORK/$1.out" 2>&1 || RC=$?
}
has() { grep -qE -- "$2" "$WORK/$1.out" || { cat "$WORK/$1.out"; fail "$1: no '$2'"; }; }

scan elsewhere "127.0.0.1:$PA" --sni www.example.com
[ $RC != 0 ] || { cat "$WORK/elsewhere.out"; fail "a redirect to another domain passed as suitable"; }
has elsewhere '^verdict +not suitable: the site redirects to another domain'
has elsewhere '^http +301 -> https://other.example.net/x$'
ok "redirect to https://other.example.net/x: not suitable (redirect)"
for t in relative:$PB subdomain:$PC plain:$P200; do
  scan "${t%%:*}" "127.0.0.1:${t#*:}" --sni www.example.com
  [ $RC = 0 ] || { cat "$WORK/${t%%:*}.out"; fail "${t%%:*}: exit $RC"; }
  has "${t%%:*}" '^verdict +suitable$'
done
has relative '^http +301 -> /en/$'
has plain '^http +200$'
ok "a redirect within the domain (/en/, shop.example.com) and a 200 page: suitable"

scan rank --json "127.0.0.1:$PA" "127.0.0.1:$PB" --sni www.example.com --timeout 2
python3 - "$WORK/rank.out" "$PA" "$PB" <<'PY' || { cat "$WORK/rank.out"; fail "JSON verdicts"; }
import json, sys
rows = {r["port"]: r for r in json.load(open(sys.argv[1]))}
a, b = rows[int(sys.argv[2])], rows[int(sys.argv[3])]
assert a["verdict"] == "redirect" and not a["suitable"] and a["http_status"] == 301, a
assert a["location"] == "https://other.example.net/x", a
assert b["verdict"] == "suitable" and b["suitable"] and b["http_status"] == 301 and b["location"] == "/en/", b
PY
ok "veil scan --json: verdict redirect with http_status and location"

# The node's own target check reports it too.
cat >"$WORK/node.json" <<EOF
{"inbounds": [{"listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
   "settings": {"clients": [{"id": "b831381d-6324-4d53-ad4f-8cda48b30811"}], "decryption": "none"},
   "streamSettings": {"network": "raw", "security": "reality",
     "realitySettings": {"target": "127.0.0.1:$PA", "serverNames": ["www.example.com"],
       "privateKey": "QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo", "shortIds": [""]}}}],
 "veil": {"workers": 1, "targetCheckSec": 1, "metricsListen": "127.0.0.1:$M_PORT"}}
EOF
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
wait_port "$M_PORT"
verdict() { curl -fsS "http://127.0.0.1:$M_PORT/metrics" |
  grep -q "^veil_node_target_verdict{target=\"127.0.0.1:$PA\",sni=\"www.example.com\",verdict=\"redirect\"} 1"; }
wait_for verdict 20 "the node to report verdict redirect"
grep -q '"target_unsuitable".*"verdict":"redirect"' "$WORK/node.log" || fail "no target_unsuitable log line"
ok "the node's target check reports redirect (/metrics, log)"

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.out "$WORK"/*.log; then
  fail "sanitizer reports"
fi
echo "target redirect: all checks passed"
