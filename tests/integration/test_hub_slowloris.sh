#!/usr/bin/env bash
# Slow clients must not take the hub offline (issue 10 #4): many partial requests from one
# address, each sending a header line every second (under the idle timeout), while another
# address checks /healthz and node sync with a 2 s deadline. Loopback only, bounded count/time.
#   before: 1,100 such connections (a line every 5 s) made /healthz, /sub and node sync time out.
set -euo pipefail
source "$(dirname "$0")/support/lib.sh"
HUB=$VEIL_BIN/veil-hub
[[ -x $HUB ]] || fail "missing $HUB"
TOKEN=slowloris-test-admin-token-0123
jget() { python3 -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }
jnum() { jget "$1" "['$2']"; }

# start_hub HTTP-JSON: a fresh hub with those connection limits; sets PORT and NODE_TOKEN.
start_hub() {
    PORT=$(free_port)
    cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub-$PORT.db",
 "admin_token": "$TOKEN", "scheduler": {"enabled": false}, "http": $1}
JSON
    bg "hub-$PORT" "$HUB" -c "$WORK/hub.json"
    HUBPID=$LASTPID
    wait_port "$PORT" 10
    local r
    r=$(curl -sS -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data '{"name":"n1","address":"n1.vpn.test","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw"}' \
        "http://127.0.0.1:$PORT/api/v1/nodes")
    NODE_TOKEN=$(jget "$r" "['token']")
}
attack() { python3 "$SUPPORT/slowloris.py" --port "$PORT" --node-token "$NODE_TOKEN" "$@"; }

# 1. More slow connections than the server has slots (per-IP cap out of the way): the reserve
#    and the whole-request deadline keep health checks and node sync answering.
start_hub '{"max_connections": 128, "reserve_connections": 16, "per_ip_connections": 100000,
            "request_timeout": 4, "idle_timeout": 3}'
out=$(attack --conns 300 --seconds 8)
echo "reserve: $out"
[[ $(jnum "$out" check_failed) -eq 0 ]] || fail "health/sync checks failed under attack: $out"
[[ $(jnum "$out" check_ok) -ge 20 ]] || fail "too few checks ran: $out"
ok "reserve: /healthz and node sync answered within 2 s throughout ($(jnum "$out" check_worst_s) s worst)"

# 2. Fewer slow requests than slots: each is closed by the 4 s whole-request deadline although
#    it sends a line every second (MHD's idle timeout alone never fires).
out=$(attack --conns 40 --seconds 7 --no-reopen)
echo "deadline: $out"
python3 - "$out" <<'PY' || fail "slow requests not closed at request_timeout: $out"
import json, sys
d = json.loads(sys.argv[1])
assert d["still_open_at_end"] == 0 and d["closed_by_server"] == 40, d
assert 3.5 <= d["longest_closed_lifetime_s"] <= 5.5, d
PY
[[ $(jnum "$out" check_failed) -eq 0 ]] || fail "checks failed: $out"
ok "whole-request deadline closes trickling requests"
for _ in $(seq 1 200); do
    grep -q '"event.action":"slow_clients_closed"' "$WORK/hub-$PORT.log" && break
    sleep 0.05
done
grep -q '"event.action":"slow_clients_closed"' "$WORK/hub-$PORT.log" || fail "closings not logged"
kill "$HUBPID"; wait "$HUBPID" 2>/dev/null || true

# 3. Per-IP cap: one address holds at most per_ip_connections; others are served.
start_hub '{"max_connections": 512, "per_ip_connections": 20, "request_timeout": 30, "idle_timeout": 15}'
out=$(attack --conns 60 --seconds 3 --no-reopen)
echo "per-ip cap: $out"
[[ $(jnum "$out" held_after_accept) -le 20 ]] || fail "per-IP cap not enforced: $out"
[[ $(jnum "$out" held_after_accept) -ge 15 ]] || fail "per-IP cap refused too much: $out"
[[ $(jnum "$out" check_failed) -eq 0 ]] || fail "other clients refused: $out"
# Once the slow connections are gone, the address gets its slots back.
for _ in $(seq 1 40); do
    [[ $(curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.0.1 "http://127.0.0.1:$PORT/healthz" 2>/dev/null) == 200 ]] && break
    sleep 0.05
done
[[ $(curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.0.1 "http://127.0.0.1:$PORT/healthz") == 200 ]] ||
    fail "address still refused after its connections closed"
ok "per-IP connection cap"
