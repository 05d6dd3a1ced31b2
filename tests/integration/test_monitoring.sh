#!/usr/bin/env bash
# deploy/monitoring (issue 14 item 5): `promtool check config` on the shipped prometheus.yml,
# `promtool test rules` on the rule unit tests, `amtool check-config` on alertmanager.yml; then a
# real Prometheus on loopback runs the shipped prometheus.yml and rules (scrape and evaluation
# intervals shortened to 1 s, targets pointed at loopback) against a real veil-node, veil-hub,
# HAProxy (the shipped haproxy.cfg) and node_exporter: every job's up series is 1, every
# recording and alert rule evaluates without error, every metric name the rules use has series
# from the real processes, and each recording rule's expression runs through the query API.
source "$(dirname "$0")/support/lib.sh"
SRC=${VEIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MON=$SRC/deploy/monitoring
for t in promtool amtool prometheus; do
    command -v "$t" >/dev/null || skip_all "$t not installed (scripts/install-deps)"
done
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
NODE_EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter || true)
[[ -x $HAPROXY ]] || skip_all "haproxy not installed"
[[ -n $NODE_EXPORTER ]] || skip_all "prometheus-node-exporter not installed"

# 1. Static checks of the shipped files.
out=$(cd "$MON/tests" && promtool test rules veil_test.yml 2>&1) || fail "promtool test rules: $out"
ok "promtool test rules deploy/monitoring/tests/veil_test.yml"
out=$(amtool check-config "$MON/alertmanager.yml" 2>&1) || fail "amtool check-config: $out"
grep -q "2 receivers" <<<"$out" || fail "alertmanager.yml: expected the telegram and email receivers: $out"
grep -q "telegram_configs" "$MON/alertmanager.yml" || fail "no telegram_configs"
ok "amtool check-config deploy/monitoring/alertmanager.yml (Telegram + email)"

# 2. The processes Prometheus scrapes.
PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
UUID=b831381d-6324-4d53-ad4f-8cda48b30811
SID=0123456789abcdef
T_PORT=$(free_port) H_PORT=$(free_port) N_PORT=$(free_port) M_PORT=$(free_port) A_PORT=$(free_port)
HUB_PORT=$(free_port) LB_VPN=$(free_port) LB_HUB=$(free_port) LB_STATS=$(free_port) NE_PORT=$(free_port)
PROM_PORT=$(free_port) C_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
    -subj /CN=example.com >/dev/null 2>&1
cat "$WORK/t.crt" "$WORK/t.key" >"$WORK/lb.pem"
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
cat >"$WORK/node.json" <<JSON
{
  "log": {"loglevel": "warning"},
  "inbounds": [{
    "listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
    "settings": {"clients": [{"id": "$UUID", "flow": "xtls-rprx-vision", "email": "mon@example"}],
                 "decryption": "none"},
    "streamSettings": {"network": "raw", "security": "reality", "rawSettings": {"acceptProxyProtocol": true},
      "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
        "privateKey": "$PRIV", "shortIds": ["$SID"], "maxTimeDiff": 60000}}
  }],
  "outbounds": [{"protocol": "freedom"}],
  "veil": {"workers": 1, "allowPrivateDestinations": true, "metricsListen": "127.0.0.1:$M_PORT",
           "adminListen": "127.0.0.1:$A_PORT", "adminToken": "monitoring-node-admin-token-01"}
}
JSON
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $HUB_PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "monitoring-hub-bootstrap-token-01", "scheduler": {"enabled": false},
 "trusted_proxies": ["127.0.0.1/32"]}
JSON
"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --migrate >"$WORK/migrate.log" 2>&1 || fail "hub migrate"
READ_TOKEN=$("$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --create-admin-token --role support --name prometheus 2>>"$WORK/migrate.log")
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
bg node-exporter "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$NE_PORT"

# HAProxy with the shipped config: the one node stands for all three, the hub for both.
export VEIL_LB_ADMIN_SOCKET=$WORK/haproxy.sock VEIL_LB_MAXCONN=1000 VEIL_LB_VPN_BIND=127.0.0.1:$LB_VPN
export VEIL_LB_HUB_BIND=127.0.0.1:$LB_HUB VEIL_LB_HUB_CERT=$WORK/lb.pem VEIL_LB_STATS_BIND=127.0.0.1:$LB_STATS
for i in 1 2 3; do export "VEIL_NODE$i=127.0.0.1:$N_PORT" "VEIL_NODE${i}_CHECK_PORT=$A_PORT"; done
export VEIL_HUB1=127.0.0.1:$HUB_PORT VEIL_HUB2=127.0.0.1:$HUB_PORT
cp "$SRC/deploy/lb/haproxy.cfg" "$WORK/haproxy.cfg"
if [[ $(id -u) -ne 0 ]]; then sed -i -e '/^    chroot /d' -e '/^    user /d' -e '/^    group /d' "$WORK/haproxy.cfg"; fi
bg haproxy "$HAPROXY" -db -f "$WORK/haproxy.cfg"
for p in $T_PORT $H_PORT $N_PORT $M_PORT $HUB_PORT $LB_VPN $LB_HUB $LB_STATS $NE_PORT; do wait_port "$p" 15; done

# Traffic, so that the labelled families the rules read have series: a tunnel (authenticated),
# a probe (fallback), hub requests through the LB (a webhook refused: provider disabled).
bg client "$VEIL_BIN/veil" client --link "vless://$UUID@127.0.0.1:$LB_VPN?encryption=none&flow=xtls-rprx-vision&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#m" --listen "127.0.0.1:$C_PORT"
wait_port "$C_PORT" 10
tunnel_ok() { curl -s --max-time 10 --socks5-hostname "127.0.0.1:$C_PORT" "http://127.0.0.1:$H_PORT/hello" | grep -q "hello through"; }
wait_for tunnel_ok 20 "a tunnel through the LB to the node"
echo | openssl s_client -connect "127.0.0.1:$LB_VPN" -servername example.com -tls1_3 >/dev/null 2>&1 || true
curl -sk -o /dev/null "https://127.0.0.1:$LB_HUB/healthz"
curl -sk -o /dev/null -X POST --data '{}' "https://127.0.0.1:$LB_HUB/webhooks/yookassa"
curl -sk -o /dev/null -H "Authorization: Bearer $READ_TOKEN" "https://127.0.0.1:$LB_HUB/api/v1/stats"

# 3. Prometheus with the shipped files: targets on loopback, intervals of 1 s.
mkdir -p "$WORK/prom/targets" "$WORK/prom/rules" "$WORK/prom/data"
sed -e 's/scrape_interval: 15s/scrape_interval: 1s/' -e 's/evaluation_interval: 15s/evaluation_interval: 1s/' \
    -e "s/localhost:9090/127.0.0.1:$PROM_PORT/" "$MON/prometheus.yml" >"$WORK/prom/prometheus.yml"
grep -q 'scrape_interval: 1s' "$WORK/prom/prometheus.yml" || fail "could not shorten the scrape interval"
cp "$MON"/rules/*.yml "$WORK/prom/rules/"
printf '%s\n' "$READ_TOKEN" >"$WORK/prom/hub-metrics-token"
printf -- '- targets: [127.0.0.1:%s]\n' "$M_PORT" >"$WORK/prom/targets/nodes.yml"
printf -- '- targets: [127.0.0.1:%s]\n' "$HUB_PORT" >"$WORK/prom/targets/hubs.yml"
printf -- '- targets: [127.0.0.1:%s]\n' "$LB_STATS" >"$WORK/prom/targets/haproxy.yml"
printf -- '- targets: [127.0.0.1:%s]\n' "$NE_PORT" >"$WORK/prom/targets/node-exporter.yml"
echo '[]' >"$WORK/prom/targets/alertmanager.yml"
out=$(promtool check config "$WORK/prom/prometheus.yml" 2>&1) || fail "promtool check config: $out"
ok "promtool check config: the shipped prometheus.yml and rules"
bg prometheus prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT"
wait_port "$PROM_PORT" 20
API=http://127.0.0.1:$PROM_PORT/api/v1

q() { curl -s --max-time 5 --get --data-urlencode "query=$1" "$API/query"; }
series_count() { # series_count EXPR: how many series the instant query returns (-1 on error)
    q "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["data"]["result"]) if d.get("status") == "success" else -1)' 2>/dev/null || echo -1
}
for job in veil-node veil-hub haproxy node-exporter prometheus; do
    wait_for "[ \"\$(series_count 'up{job=\"$job\"} == 1')\" -ge 1 ]" 30 "up{job=\"$job\"} == 1"
done
ok "up == 1 for veil-node, veil-hub (read token from credentials_file), haproxy, node-exporter, prometheus"

# Every rule evaluated at least once, none with an error.
rules_ok() {
    curl -s "$API/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [r["name"] for r in rules if r.get("health") != "ok" or r.get("lastError")]
print(len(rules), "rules;", "bad:", bad, file=sys.stderr)
sys.exit(0 if len(rules) >= 20 and not bad else 1)'
}
wait_for rules_ok 30 "every rule evaluated with health ok"
curl -s "$API/rules" | python3 -c '
import json, sys
rules = [r for g in json.load(sys.stdin)["data"]["groups"] for r in g["rules"]]
print("%d recording and %d alert rules evaluated, health ok" % (
    sum(r["type"] == "recording" for r in rules), sum(r["type"] == "alerting" for r in rules)))'
ok "every recording and alert rule evaluates without error"

# Every metric the rules read exists in what the real processes export.
python3 - "$MON/rules/veil.yml" >"$WORK/names.txt" <<'PY'
import re, sys, yaml
names = set()
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        # Metric names, not the rules' own level:name:operation names.
        for n in re.findall(r"(?<![\w:])((?:veil|haproxy|node|process)_[a-z0-9_]+)(?![\w:])", r["expr"]):
            names.add(n)
print("\n".join(sorted(names)))
PY
missing_names() { local n; for n in $(cat "$WORK/names.txt"); do [[ $(series_count "$n") -ge 1 ]] || echo "$n"; done; }
deadline=$((SECONDS + 20)) # poll: the first scrapes of each target may still be on their way
while missing=$(missing_names) && [[ -n $missing && $SECONDS -lt $deadline ]]; do sleep 0.5; done
[[ -z $missing ]] || fail "metrics the rules use but nothing exports: $missing"
ok "all $(wc -l <"$WORK/names.txt") metric names in the rules have series from the real processes"
[[ $(series_count 'veil_hub_http_requests_total{route="/webhooks/yookassa", code=~"4.."}') -ge 1 ]] ||
    fail "a refused webhook is not visible as route=/webhooks/yookassa with a 4xx code"
[[ $(series_count 'haproxy_server_status{proxy="nodes", state="DOWN"}') -ge 1 ]] ||
    fail "haproxy_server_status has no state=\"DOWN\" series for the nodes backend"
[[ $(series_count 'veil_reality_outcomes_total{outcome="authenticated"} > 0') -ge 1 ]] ||
    fail "the tunnel's authenticated REALITY outcome is not in Prometheus"
ok "label values the alerts match on exist (webhook route/code, HAProxy server state, REALITY outcome)"

# Each recording rule's expression also runs through the query API.
python3 - "$MON/rules/veil.yml" >"$WORK/exprs.txt" <<'PY'
import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        print(" ".join(r["expr"].split()))
PY
n=0
while IFS= read -r expr; do
    [[ $(series_count "$expr") -ge 0 ]] || fail "query failed: $expr"
    n=$((n + 1))
done <"$WORK/exprs.txt"
ok "$n rule expressions run through /api/v1/query"
echo "monitoring: all checks passed"
