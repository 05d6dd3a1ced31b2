#!/usr/bin/env bash
# Redis Sentinel (issue 14 item 3): a master, its replica and three sentinels on loopback; the hub
# with redis_url sentinel://s1,s2,s3/veil finds the master through the sentinels. The master is
# killed (-9): the sentinels promote the replica, the hub dials again through them, and its
# scheduler lock and shared rate limit live on the new master: the lock key comes back there,
# and the per-token budget counted before the failover still holds after it. A veil-node with the
# same URL finds the master too (its failover path is the same dial; not driven here).
source "$(dirname "$0")/support/lib.sh"
command -v redis-server >/dev/null || skip_all "redis-server is not installed"
command -v redis-cli >/dev/null || skip_all "redis-cli is not installed"
command -v curl >/dev/null || skip_all "curl is not installed"

MPORT=$(free_port); RPORT=$(free_port)
SPORTS=("$(free_port)" "$(free_port)" "$(free_port)")
redis() { bg "redis-$1" redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no "${@:2}"; }
redis "$MPORT"; MASTER=$LASTPID
redis "$RPORT" --replicaof 127.0.0.1 "$MPORT"
for p in "${SPORTS[@]}"; do
  cat >"$WORK/sentinel-$p.conf" <<EOF2
port $p
bind 127.0.0.1
dir $WORK
sentinel monitor veil 127.0.0.1 $MPORT 2
sentinel down-after-milliseconds veil 1000
sentinel failover-timeout veil 2000
sentinel parallel-syncs veil 1
EOF2
  bg "sentinel-$p" redis-server "$WORK/sentinel-$p.conf" --sentinel
done
for p in "$MPORT" "$RPORT" "${SPORTS[@]}"; do wait_port "$p"; done
# The node's limits take the same URL (one parser, one dial): its sync thread finds the master.
NPORT=$(free_port)
cat >"$WORK/node.json" <<EOF2
{"log": {"loglevel": "info"},
 "inbounds": [{"listen": "127.0.0.1", "port": $NPORT, "protocol": "vless",
   "settings": {"clients": [{"id": "b831381d-6324-4d53-ad4f-8cda48b30811", "flow": "xtls-rprx-vision",
                             "veil": {"deviceLimit": 2}}], "decryption": "none"},
   "streamSettings": {"network": "raw", "security": "reality",
     "realitySettings": {"target": "127.0.0.1:1", "serverNames": ["example.com"],
       "privateKey": "QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo", "shortIds": ["0123456789abcdef"]}}}],
 "outbounds": [{"protocol": "freedom"}],
 "veil": {"workers": 1, "redis": {"url": "sentinel://127.0.0.1:${SPORTS[1]},127.0.0.1:${SPORTS[2]}/veil"}}}
EOF2
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
wait_for 'grep -q "\"event.action\":\"redis_up\"" "$WORK/node.log"' 15 "the node's limits on the master through the sentinels"
ok "veil-node's limits reach the master through the sentinels"

wait_for '[ "$(redis-cli -p "$RPORT" INFO replication | grep -c "master_link_status:up")" = 1 ]' 15 "the replica in sync"
master_port() { redis-cli -p "${SPORTS[0]}" SENTINEL get-master-addr-by-name veil | sed -n 2p; }
# Sentinels learn of the replica from the master's INFO, every 10 s: a failover before that finds
# no replica to promote (-failover-abort-no-good-slave).
for p in "${SPORTS[@]}"; do
  wait_for '[ "$(redis-cli -p "$p" SENTINEL sentinels veil | grep -c "^name$")" -ge 2 ]' 15 "sentinel $p to see the others"
  wait_for 'redis-cli -p "$p" SENTINEL replicas veil | grep -qx "$RPORT"' 20 "sentinel $p to know the replica"
done

PORT=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM$RANDOM
cat >"$WORK/hub.json" <<EOF2
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub.db", "admin_token": "$ADMIN",
 "redis_url": "sentinel://127.0.0.1:${SPORTS[0]},127.0.0.1:${SPORTS[1]},127.0.0.1:${SPORTS[2]}/veil",
 "fleet": {"dead_after": 0, "probe_interval": 0}, "scheduler": {"enabled": true, "interval": 1},
 "cache": {"redis_timeout_ms": 300}, "rate_limit": {"window": 3600, "per_ip": 0, "per_token": 5}}
EOF2
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$PORT"
api() { curl -fsS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
mode() { curl -fsS "http://127.0.0.1:$PORT/healthz" | jget "['cache']"; }
[ "$(mode)" = redis ] || fail "hub not on Redis through the sentinels"
wait_for '[ -n "$(redis-cli -p "$MPORT" GET veil:lock:scheduler)" ]' 10 "the scheduler lock on the master"
PLAN=$(api POST /api/v1/plans '{"name": "M", "duration_days": 30, "prices": {"RUB": 10000}}' | jget "['id']")
U=$(api POST /api/v1/users '{"username": "alice"}')
UID1=$(jget "['id']" <<<"$U"); TOK=$(jget "['sub_token']" <<<"$U")
api POST /api/v1/subscriptions "{\"user_id\": $UID1, \"plan_id\": $PLAN}" >/dev/null
fetch() { curl -s -o /dev/null -w '%{http_code} ' -A 'v2rayNG/1.8.5' "http://127.0.0.1:$PORT/sub/$TOK"; }
codes="$(fetch)$(fetch)$(fetch)"
[ "$codes" = "200 200 200 " ] || fail "before the failover: $codes"
ok "hub on the master $MPORT named by the sentinels; lock held there; 3 of 5 fetches used"

wait_for '[ "$(redis-cli -p "$RPORT" INFO replication | grep -o "slave_repl_offset:[0-9]*" | cut -d: -f2)" = "$(redis-cli -p "$MPORT" INFO replication | grep -o "master_repl_offset:[0-9]*" | cut -d: -f2)" ]' 10 "the replica caught up"
t0=$EPOCHREALTIME
kill -9 "$MASTER"
wait_for '[ "$(master_port)" = "$RPORT" ]' 45 "the sentinels to promote the replica"
t1=$EPOCHREALTIME
# The lock key came over by replication: delete it, the hub must write it again on the new master.
redis-cli -p "$RPORT" DEL veil:lock:scheduler >/dev/null
wait_for '[ -n "$(redis-cli -p "$RPORT" GET veil:lock:scheduler)" ] && [ "$(mode)" = redis ]' 30 \
  "the hub's scheduler lock on the new master"
t2=$EPOCHREALTIME
grep -q '"event.action":"redis_available"' "$WORK/hub.log" || fail "no redis_available after the failover"
ok "failover: promoted in $(python3 -c "print(round($t1 - $t0, 1))") s, hub on the new master $(python3 -c "print(round($t2 - $t1, 1))") s later"

codes="$(fetch)$(fetch)$(fetch)"
[ "$codes" = "200 200 429 " ] || fail "after the failover the shared budget did not hold: $codes"
ok "rate limit after the failover: $codes (the count from before it kept on the new master)"
