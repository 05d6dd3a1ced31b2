#!/usr/bin/env bash
# deploy/monitoring (issue 14 item 5): `promtool check config` on the shipped prometheus.yml,
# `promtool test rules` on the rule unit tests, `amtool check-config` on alertmanager.yml; then a
# real Prometheus on loopback runs the shipped prometheus.yml and rules (scrape and evaluation
# intervals shortened to 1 s, targets pointed at loopback) against a real veil-node, veil-hub,
# HAProxy (the shipped haproxy.cfg), node_exporter (with the certificate-expiry and backup
# textfiles), PostgreSQL and Redis through their Debian exporters: every job's up series is 1,
# every recording and alert rule evaluates without error, every metric name the rules use has
# series from the real processes, each recording rule's expression runs through the query API,
# every PromQL query of the Grafana dashboards (deploy/monitoring/grafana) returns series, and
# every log line of the real veil-node and veil-hub carries the ECS fields.
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
PG_EXPORTER=$(command -v prometheus-postgres-exporter || true)
REDIS_EXPORTER=$(command -v prometheus-redis-exporter || true)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[[ -n $PG_EXPORTER && -n $REDIS_EXPORTER ]] || skip_all "prometheus-postgres-exporter / prometheus-redis-exporter not installed"
[[ -x $PGBIN/initdb ]] || skip_all "no PostgreSQL binaries at $PGBIN"
command -v redis-server >/dev/null || skip_all "redis-server not installed"

# 1. Static checks of the shipped files.
out=$(cd "$MON/tests" && promtool test rules veil_test.yml data_test.yml 2>&1) || fail "promtool test rules: $out"
ok "promtool test rules deploy/monitoring/tests/veil_test.yml data_test.yml"
python3 -c 'import sys, yaml; [yaml.safe_load(open(f)) for f in sys.argv[1:]]' "$MON/vector.yaml" "$MON/filebeat.yml" ||
    fail "vector.yaml / filebeat.yml are not valid YAML"
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
PROM_PORT=$(free_port) C_PORT=$(free_port) PG_PORT=$(free_port) PGX_PORT=$(free_port) R_PORT=$(free_port)
RX_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
    -subj /CN=example.com >/dev/null 2>&1
cat "$WORK/t.crt" "$WORK/t.key" >"$WORK/lb.pem"
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"

# PostgreSQL and Redis with Debian's exporters (the replication queries shipped for the former).
chmod 755 "$WORK"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$WORK/pg"; [[ $(id -u) -eq 0 ]] && chown postgres "$WORK/pg"
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U veil --auth=trust -E UTF8 --no-locale >"$WORK/initdb.log" 2>&1 || fail "initdb"
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/pg.log" -w -t 60 \
    -o "-k $WORK/pg -c listen_addresses=127.0.0.1 -p $PG_PORT" start >/dev/null || fail "PostgreSQL did not start"
trap 'rc=$?; set +e; as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1; (exit $rc); cleanup' EXIT
DATA_SOURCE_NAME="postgresql://veil@127.0.0.1:$PG_PORT/postgres?sslmode=disable" bg pg-exporter "$PG_EXPORTER" \
    --web.listen-address="127.0.0.1:$PGX_PORT" --extend.query-path="$MON/postgres-exporter-queries.yaml"
bg redis redis-server --port "$R_PORT" --bind 127.0.0.1 --save '' --appendonly no
bg redis-exporter "$REDIS_EXPORTER" --redis.addr="redis://127.0.0.1:$R_PORT" --web.listen-address="127.0.0.1:$RX_PORT"
# node_exporter's textfiles, written by the shipped scripts: this test's certificate and a backup.
mkdir -p "$WORK/textfile"
VEIL_TEXTFILE_DIR=$WORK/textfile "$MON/cert-expiry" "$WORK/t.crt" "$WORK/missing.pem" || fail "cert-expiry"
VEIL_TEXTFILE_DIR=$WORK/textfile "$SRC/deploy/db/backup-mark" pgbackrest full || fail "backup-mark"
grep -q "^veil_cert_expiry_timestamp_seconds{file=\"$WORK/t.crt\"} [1-9]" "$WORK/textfile/veil_cert_expiry.prom" ||
    fail "cert-expiry: $(cat "$WORK/textfile/veil_cert_expiry.prom")"
grep -q "^veil_cert_expiry_timestamp_seconds{file=\"$WORK/missing.pem\"} 0$" "$WORK/textfile/veil_cert_expiry.prom" ||
    fail "cert-expiry on a missing file: $(cat "$WORK/textfile/veil_cert_expiry.prom")"
# A hub with a payment provider (the YooKassa fake) and SQLite backups, for the business panels.
bg yookassa python3 "$SRC/tests/fakes/fake_yookassa.py" --port-file "$WORK/yk.port" --shop-id shop1 --secret sk_test \
    --hook "http://127.0.0.1:$HUB_PORT/webhooks/yookassa"
wait_for "[[ -s $WORK/yk.port ]]" 10 "the YooKassa fake"
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
 "admin_token": "monitoring-hub-bootstrap-token-01", "scheduler": {"enabled": true, "interval": 1},
 "trusted_proxies": ["127.0.0.1/32"], "backup": {"dir": "$WORK/backups", "interval_sec": 3600, "keep": 2},
 "billing": {"yookassa": {"shop_id": "shop1", "secret_key": "sk_test", "api_url": "http://127.0.0.1:$(cat "$WORK/yk.port")/v3",
             "return_url": "https://t.me/veil_bot", "trusted_networks": ["127.0.0.1/32"]}}}
JSON
"$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --migrate >"$WORK/migrate.log" 2>&1 || fail "hub migrate"
READ_TOKEN=$("$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --create-admin-token --role support --name prometheus 2>>"$WORK/migrate.log")
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
bg node-exporter "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$NE_PORT" --collector.textfile.directory="$WORK/textfile"

# HAProxy with the shipped config: the one node stands for all three, the hub for both.
export VEIL_LB_ADMIN_SOCKET=$WORK/haproxy.sock VEIL_LB_MAXCONN=1000 VEIL_LB_VPN_BIND=127.0.0.1:$LB_VPN
export VEIL_LB_HUB_BIND=127.0.0.1:$LB_HUB VEIL_LB_HUB_CERT=$WORK/lb.pem VEIL_LB_STATS_BIND=127.0.0.1:$LB_STATS
for i in 1 2 3; do export "VEIL_NODE$i=127.0.0.1:$N_PORT" "VEIL_NODE${i}_CHECK_PORT=$A_PORT"; done
export VEIL_HUB1=127.0.0.1:$HUB_PORT VEIL_HUB2=127.0.0.1:$HUB_PORT
cp "$SRC/deploy/lb/haproxy.cfg" "$WORK/haproxy.cfg"
if [[ $(id -u) -ne 0 ]]; then sed -i -e '/^    chroot /d' -e '/^    user /d' -e '/^    group /d' "$WORK/haproxy.cfg"; fi
bg haproxy "$HAPROXY" -db -f "$WORK/haproxy.cfg"
for p in $T_PORT $H_PORT $N_PORT $M_PORT $HUB_PORT $LB_VPN $LB_HUB $LB_STATS $NE_PORT $PGX_PORT $R_PORT $RX_PORT; do
    wait_port "$p" 15
done

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
# A sign-up, a paid invoice (the fake delivers the webhook) and a subscription fetch.
ADM=monitoring-hub-bootstrap-token-01
hub_api() { curl -fsS -X "$1" "http://127.0.0.1:$HUB_PORT$2" -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
jf() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
PLAN=$(jf "$(hub_api POST /api/v1/plans '{"name":"Month","duration_days":30,"prices":{"RUB":29900}}')" id) || fail "plan"
U=$(hub_api POST /api/v1/users '{"username":"payer","currency":"RUB"}') || fail "user"
INV=$(hub_api POST /api/v1/invoices "{\"user_id\":$(jf "$U" id),\"plan_id\":$PLAN,\"provider\":\"yookassa\"}") || fail "invoice"
curl -fsS -X POST "http://127.0.0.1:$(cat "$WORK/yk.port")/_control/pay" --data-binary "{\"id\":\"$(jf "$INV" external_id)\"}" >/dev/null ||
    fail "the fake's payment"
curl -fsS -o /dev/null "http://127.0.0.1:$HUB_PORT/sub/$(jf "$U" sub_token)" || fail "/sub"

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
printf -- '- targets: [127.0.0.1:%s]\n' "$PGX_PORT" >"$WORK/prom/targets/postgres.yml"
printf -- '- targets: [127.0.0.1:%s]\n' "$RX_PORT" >"$WORK/prom/targets/redis.yml"
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
for job in veil-node veil-hub haproxy node-exporter postgres redis prometheus; do
    wait_for "[ \"\$(series_count 'up{job=\"$job\"} == 1')\" -ge 1 ]" 30 "up{job=\"$job\"} == 1"
done
ok "up == 1 for veil-node, veil-hub (read token from credentials_file), haproxy, node-exporter, postgres, redis, prometheus"

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
python3 - "$MON"/rules/*.yml >"$WORK/names.txt" <<'PY'
import re, sys, yaml
names = set()
for f in sys.argv[1:]:
  for g in yaml.safe_load(open(f))["groups"]:
    for r in g["rules"]:
        # Metric names, not the rules' own level:name:operation names.
        for n in re.findall(r"(?<![\w:])((?:veil|haproxy|node|process|pg|redis)_[a-z0-9_]+)(?![\w:])", r["expr"]):
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
python3 - "$MON"/rules/*.yml >"$WORK/exprs.txt" <<'PY'
import sys, yaml
for f in sys.argv[1:]:
    for g in yaml.safe_load(open(f))["groups"]:
        for r in g["rules"]:
            print(" ".join(r["expr"].split()))
PY
n=0
while IFS= read -r expr; do
    [[ $(series_count "$expr") -ge 0 ]] || fail "query failed: $expr"
    n=$((n + 1))
done <"$WORK/exprs.txt"
ok "$n rule expressions run through /api/v1/query"

# Every query of every Grafana dashboard parses and returns series from these processes. The
# dashboards' variables are put in as Grafana would with "All" selected.
python3 - "$MON"/grafana/*.json >"$WORK/panels.txt" <<'PY'
import json, sys
for f in sys.argv[1:]:
    d = json.load(open(f))
    assert d.get("uid") and d.get("title") and d["panels"], f
    for p in d["panels"]:
        for t in p["targets"]:
            e = t["expr"].replace("$__rate_interval", "1m").replace("$instance", ".+")
            assert "$" not in e, "unknown variable in %s: %s" % (f, e)
            print("%s\t%s\t%s" % (f.rsplit("/", 1)[1], p["title"], " ".join(e.split())))
PY
panel_empty() { # prints the queries that fail or return no series
    local file title expr
    while IFS=$'\t' read -r file title expr; do
        [[ $(series_count "$expr") -ge 1 ]] || printf '%s / %s: %s\n' "$file" "$title" "$expr"
    done <"$WORK/panels.txt"
}
deadline=$((SECONDS + 30)) # rates and deltas need two scrapes; backups and payments a scheduler pass
while empty=$(panel_empty) && [[ -n $empty && $SECONDS -lt $deadline ]]; do sleep 1; done
[[ -z $empty ]] || fail "dashboard queries without series: $empty"
ok "all $(wc -l <"$WORK/panels.txt") queries of $(ls "$MON"/grafana/*.json | wc -l) Grafana dashboards return series"
[[ $(series_count 'veil_hub_payments{provider="yookassa", outcome="succeeded"} == 1') -eq 1 ]] ||
    fail "the paid invoice is not in veil_hub_payments"

# Logs: every line of the real node and hub is one JSON object with the ECS fields.
python3 - "$WORK/node.log" "$WORK/hub.log" <<'PY' || fail "log lines without ECS fields"
import json, sys
n = 0
for f in sys.argv[1:]:
    for line in open(f):
        if not line.startswith("{"):
            continue  # the node's config warnings before logging starts
        j = json.loads(line)
        missing = [k for k in ("@timestamp", "log.level", "message", "log.logger", "event.action") if k not in j]
        assert not missing and j["message"] == j["event.action"], (f, missing, line)
        assert not any(k in j for k in ("ts", "level", "mod", "event", "ip")), line
        n += 1
assert n >= 5, n
print("%d log lines with @timestamp, log.level, message, log.logger, event.action" % n)
PY
ok "veil-node and veil-hub log lines carry the Elastic Common Schema fields"
echo "monitoring: all checks passed"
