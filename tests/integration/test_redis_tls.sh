#!/usr/bin/env bash
# hub -> Redis over TLS (issue 16 item 3) with the shipped configs: Redis 7 serving TLS only
# (deploy/redis/veil-tls.conf: port 0, tls-port, client certificates required) and the stunnel
# client (deploy/redis-tls/veil-redis-tls.conf) that veil-hub reaches on loopback, since Debian
# 12's hiredis has no TLS. A throwaway CA made here signs Redis's and the client's certificates.
# Checked on the server side: the plaintext port is off, a plaintext connection to the TLS port
# gets no answer, a TLS connection without a client certificate is refused, and CLIENT LIST
# (read over TLS) shows the hub's connections on the TLS port; the hub caches through it. Refused:
# a tunnel trusting another CA, and the right tunnel facing a Redis with another CA's
# certificate (an impostor); a hub behind the refused tunnel runs on its in-process cache
# (veil_hub_cache_mode local-fallback).
source "$(dirname "$0")/support/lib.sh"
REDIS=$(command -v redis-server || true)
[[ -n $REDIS ]] || skip_all "redis-server not installed"
command -v redis-cli >/dev/null || skip_all "redis-cli not installed"
STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
[[ -n $STUNNEL ]] || skip_all "stunnel4 not installed (scripts/install-deps)"
command -v openssl >/dev/null || skip_all "openssl not installed"
ldd "$REDIS" | grep -q libssl || skip_all "this redis-server is built without TLS"
DEPLOY=$(cd "$(dirname "$0")/../../deploy" && pwd)
cd "$WORK"

# ---- a throwaway CA: Redis's certificate (localhost), a client certificate; another CA ----
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=veil-redis-test-ca 2>/dev/null
openssl req -x509 $ec -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca 2>/dev/null
issue() { # issue NAME CA SUBJECT [EXTFILE]
  openssl req $ec -keyout "$1.key" -out "$1.csr" -subj "$3" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -out "$1.crt" -days 2 ${4:+-extfile "$4"} 2>/dev/null
  chmod 600 "$1.key"
}
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
issue redis ca /CN=localhost server.ext
issue client ca /CN=veil-hub-1
issue impostor other-ca /CN=localhost server.ext
PASS=redis-pass-$RANDOM$RANDOM

# ---- Redis with the shipped TLS include (paths and port replaced) ----
tls_redis() { # tls_redis NAME CERTNAME PORT
  sed -e "s|/etc/redis/tls/redis\.|$WORK/$2.|g; s|/etc/redis/tls/ca\.crt|$WORK/ca.crt|; s|^tls-port 6380$|tls-port $3|" \
    "$DEPLOY/redis/veil-tls.conf" >"$1.conf"
  grep -q "^tls-port $3$" "$1.conf" && grep -q "^tls-cert-file $WORK/$2.crt$" "$1.conf" || fail "$1.conf: paths not replaced"
  bg "$1" "$REDIS" "$WORK/$1.conf" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --requirepass "$PASS"
}
RT=$(free_port)
tls_redis redis redis "$RT"
wait_port "$RT"
tcli() { redis-cli --tls --cacert ca.crt --cert client.crt --key client.key -h localhost -p "$RT" -a "$PASS" --no-auth-warning "$@"; }
[ "$(tcli PING)" = PONG ] || fail "redis-cli over TLS with the client certificate: $(tcli PING 2>&1)"
[ "$(tcli CONFIG GET port | tail -1)" = 0 ] || fail "the plaintext port is on"
out=$(timeout 5 redis-cli -h 127.0.0.1 -p "$RT" -a "$PASS" --no-auth-warning PING 2>&1 || true)
[ "$out" != PONG ] || fail "a plaintext connection to the TLS port was answered"
out=$(timeout 5 redis-cli --tls --cacert ca.crt -h localhost -p "$RT" -a "$PASS" --no-auth-warning PING 2>&1 || true)
[ "$out" != PONG ] || fail "a TLS client without a certificate was served"
ok "Redis: plaintext port 0, TLS port $RT; a plaintext PING to the TLS port gets no answer, TLS without a client certificate refused"

# ---- the stunnel client from deploy/redis-tls (addresses and paths replaced) ----
tunnel() { # tunnel NAME LOCALPORT REDISPORT CAFILE
  sed -e "s|^accept = 127.0.0.1:6390$|accept = 127.0.0.1:$2|; s|^connect = redis.example.internal:6380$|connect = localhost:$3|" \
      -e "s|^checkHost = redis.example.internal$|checkHost = localhost|; s|^CAfile = .*|CAfile = $WORK/$4|" \
      -e "s|^cert = /etc/veil/redis-tls/client.crt$|cert = $WORK/client.crt|" \
      -e "s|^key = /run/credentials/veil-redis-tls.service/client-key$|key = $WORK/client.key|" \
      "$DEPLOY/redis-tls/veil-redis-tls.conf" >"$1.conf"
  grep -q "^connect = localhost:$3$" "$1.conf" && grep -q "^key = $WORK/client.key$" "$1.conf" || fail "$1.conf: not replaced"
  bg "$1" "$STUNNEL" "$WORK/$1.conf"
  wait_port "$2"
}
LP=$(free_port)
tunnel tunnel "$LP" "$RT" ca.crt
[ "$(redis-cli -h 127.0.0.1 -p "$LP" -a "$PASS" --no-auth-warning PING)" = PONG ] || fail "plain RESP through the tunnel"
ok "stunnel client (deploy/redis-tls): plain RESP on 127.0.0.1:$LP reaches Redis over TLS"

# ---- veil-hub through the tunnel ----
HP=$(free_port)
ADMIN=tls-admin-$RANDOM$RANDOM
hubcfg() { # hubcfg NAME PORT REDISPORT
  cat >"$1.json" <<JSON
{"listen": "127.0.0.1", "port": $2, "threads": 2, "database": "sqlite:$WORK/$1.db", "admin_token": "$ADMIN",
 "redis_url": "redis://:$PASS@127.0.0.1:$3", "fleet": {"dead_after": 0, "probe_interval": 0},
 "subscription": {"public_url": "http://127.0.0.1:$2"}, "cache": {"sub_ttl_ms": 60000, "redis_timeout_ms": 300}}
JSON
}
hubcfg hub "$HP" "$LP"
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_for "curl -fsS http://127.0.0.1:$HP/healthz" 20 "the hub"
api() { curl -fsS -X "$1" "http://127.0.0.1:$HP$2" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
             ${3:+--data-binary "$3"}; }
metrics() { curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$1/metrics"; }
grep -q '^veil_hub_cache_mode{mode="redis"} 1' <<<"$(metrics "$HP")" || fail "the hub is not on Redis: $(metrics "$HP" | grep cache_mode)"
PLAN=$(api POST /api/v1/plans '{"name":"M","duration_days":30,"prices":{"RUB":100}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
read -r U TOK < <(api POST /api/v1/users '{"username":"alice"}' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["sub_token"])')
api POST /api/v1/subscriptions "{\"user_id\":$U,\"plan_id\":$PLAN}" >/dev/null
curl -fsS -A v2rayNG/1.8.5 "http://127.0.0.1:$HP/sub/$TOK" >/dev/null || fail "/sub"
wait_for '[ "$(tcli --scan --pattern "veil:*" | wc -l)" -ge 1 ]' 10 "the hub's cache keys in Redis"
# Server side: every client is on the TLS port (the plaintext one is off); the hub's are there.
tcli CLIENT LIST >clients.txt
n_hub=$(grep -c "laddr=127.0.0.1:$RT" clients.txt || true)
[ "$n_hub" -ge 2 ] || fail "CLIENT LIST shows $n_hub connections on the TLS port (the hub's and ours): $(cat clients.txt)"
grep -v "laddr=127.0.0.1:$RT" clients.txt | grep -q . && fail "a client on another port: $(cat clients.txt)"
ok "veil-hub caches in Redis through the tunnel: $(tcli --scan --pattern 'veil:*' | wc -l) keys; CLIENT LIST: $n_hub clients, all on TLS port $RT"

# ---- refused: a tunnel trusting another CA; the right tunnel facing an impostor ----
LP2=$(free_port)
tunnel badca "$LP2" "$RT" other-ca.crt
out=$(timeout 5 redis-cli -h 127.0.0.1 -p "$LP2" -a "$PASS" --no-auth-warning PING 2>&1 || true)
[ "$out" != PONG ] || fail "a tunnel trusting another CA reached Redis"
wait_for 'grep -qi "certificate verify failed" badca.log' 10 "the tunnel's verify error"
RI=$(free_port)
tls_redis impostor impostor "$RI"
wait_port "$RI"
LP3=$(free_port)
tunnel toimpostor "$LP3" "$RI" ca.crt
out=$(timeout 5 redis-cli -h 127.0.0.1 -p "$LP3" -a "$PASS" --no-auth-warning PING 2>&1 || true)
[ "$out" != PONG ] || fail "the tunnel accepted a Redis whose certificate another CA signed"
wait_for 'grep -qi "certificate verify failed" toimpostor.log' 10 "the tunnel's verify error (impostor)"
HP2=$(free_port)
hubcfg hub2 "$HP2" "$LP3"
bg hub2 "$VEIL_BIN/veil-hub" -c "$WORK/hub2.json"
wait_for "curl -fsS http://127.0.0.1:$HP2/healthz" 20 "the second hub"
grep -q '^veil_hub_cache_mode{mode="local-fallback"} 1' <<<"$(metrics "$HP2")" ||
  fail "a hub behind the refused tunnel: $(metrics "$HP2" | grep cache_mode)"
ok "refused: a tunnel trusting another CA, and the right tunnel facing a Redis with another CA's certificate (a hub behind it stays on its in-process cache)"

# ---- the shipped unit ----
if command -v systemd-analyze >/dev/null; then
  mkdir units && cp "$DEPLOY/redis-tls/veil-redis-tls.service" units/
  out=$(cd units && systemd-analyze verify veil-redis-tls.service 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
  ok "systemd-analyze verify deploy/redis-tls/veil-redis-tls.service"
else
  skip_part "systemd-analyze not installed: the unit is not verified"
fi
