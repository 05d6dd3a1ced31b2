#!/usr/bin/env bash
# The client IP behind a proxy (issue 10 #3), against the real veil-hub: X-Forwarded-For is read
# only from trusted_proxies, right to left, and only a valid IP is taken. Loopback stands in for
# the network: 127.0.0.2 is "our proxy", 127.0.0.1 and 127.0.0.3 are clients.
#   before: 60 requests with "X-Forwarded-For: 10.9.0.<i>, 127.0.0.1" all passed a 30/IP limit and
#           "<script>x</script>'--" was stored as the audit source_ip.
set -euo pipefail
source "$(dirname "$0")/support/lib.sh"
HUB=$VEIL_BIN/veil-hub
[[ -x $HUB ]] || fail "missing $HUB"
PORT=$(free_port)
TOKEN=client-ip-test-admin-token-0123
cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$TOKEN", "scheduler": {"enabled": false}, "trusted_proxies": ["127.0.0.2/32"],
 "rate_limit": {"window": 600, "per_ip": 30, "per_token": 0}}
JSON
bg hub "$HUB" -c "$WORK/hub.json"
wait_port "$PORT" 10
URL=http://127.0.0.1:$PORT

# status FROM XFF [METHOD PATH BODY]: one request from source address FROM.
status() {
    local args=(-sS -o /dev/null -w '%{http_code}' --interface "$1" -H "Authorization: Bearer $TOKEN")
    [[ -n $2 ]] && args+=(-H "X-Forwarded-For: $2")
    if [[ $# -ge 5 ]]; then args+=(-X "$3" -H 'Content-Type: application/json' --data-binary "$5" "$URL$4")
    else args+=("$URL/api/v1/stats"); fi
    curl "${args[@]}"
}
count_ok() { # count_ok FROM XFF-PREFIX XFF-SUFFIX: 60 requests, prints how many got 200
    local n=0 i
    for i in $(seq 1 60); do
        [[ $(status "$1" "$2$i$3") == 200 ]] && n=$((n + 1))
    done
    echo "$n"
}

# 1. Straight at the hub from an untrusted peer: the forged header is ignored, 30 pass.
n=$(count_ok 127.0.0.1 "10.9.0." ", 127.0.0.1")
echo "direct, forged X-Forwarded-For: $n of 60 passed a 30/IP limit"
[[ $n -eq 30 ]] || fail "rate limit bypassed with a forged header ($n of 60 passed)"
ok "forged header from an untrusted peer ignored"

# 2. Through our proxy, which appended the real client 198.51.100.7: that is the key, 30 pass.
n=$(count_ok 127.0.0.2 "10.9.1." ", 198.51.100.7")
echo "proxied, forged prefix: $n of 60 passed"
[[ $n -eq 30 ]] || fail "proxied client not limited by its real address ($n of 60 passed)"
# ... and another real client behind the same proxy has its own budget.
[[ $(status 127.0.0.2 "198.51.100.8") == 200 ]] || fail "second client behind the proxy refused"
ok "right-most untrusted entry is the client"

# 3. Garbage where the client should be: the audit row gets the peer address.
code=$(status 127.0.0.2 "<script>x</script>'--" POST /api/v1/users '{"username":"audited"}')
[[ $code == 201 ]] || fail "user create via proxy: $code"
code=$(status 127.0.0.2 "1.2.3.4, 198.51.100.9:443" POST /api/v1/users '{"username":"audited2"}')
[[ $code == 201 ]] || fail "user create via proxy: $code"
curl -sS --interface 127.0.0.3 -H "Authorization: Bearer $TOKEN" "$URL/api/v1/audit" >"$WORK/audit.json"
python3 - "$WORK/audit.json" <<'PY' || fail "audit source_ip: $(cat "$WORK/audit.json")"
import json, sys
rows = json.load(open(sys.argv[1]))["entries"]
ips = {r["details"]["username"]: r["source_ip"] for r in rows if r["action"] == "user.create"}
assert ips == {"audited": "127.0.0.2", "audited2": "127.0.0.2"}, ips
PY
ok "invalid forwarded entries fall back to the peer address in the audit log"
