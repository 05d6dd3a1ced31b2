#!/usr/bin/env bash
# Two veil-hub processes on one SQLite database sharing a real redis-server (loopback, temp dir):
# a change made through hub A shows in /sub through hub B at once (the cache generation lives in
# Redis; answers are cached for a minute, so a stale one would show), rate limits are shared,
# one hub holds the scheduler lock. Then Redis is killed: both hubs keep serving (local
# fallback, database lease) and go back to Redis when it returns. Last, SIGHUP applies a new
# title and rate limit and names what needs a restart.
set -euo pipefail

BIN=${VEIL_BIN:?VEIL_BIN not set}
HUB=$BIN/veil-hub
[[ -x $HUB ]] || { echo "missing $HUB"; exit 1; }
REDIS=$(command -v redis-server || true)
[[ -n $REDIS ]] || { echo "SKIP: redis-server not installed"; exit 77; }
REDIS_CLI=$(command -v redis-cli || true)
[[ -n $REDIS_CLI ]] || { echo "SKIP: redis-cli not installed"; exit 77; }
source "$(dirname "$0")/support/wait.sh"

TMP=$(mktemp -d /tmp/veil-hubredis.XXXXXX)
PA= PB= PR= PM=
cleanup() {
    for p in $PA $PB $PR $PM; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    for f in a b; do [[ -f $TMP/$f.log ]] && { echo "--- hub $f"; tail -n 15 "$TMP/$f.log"; }; done
    exit 1
}
freeport() { python3 "$(dirname "$0")/support/free_port.py"; }

RPORT=$(freeport)
PORTA=$(freeport)
PORTB=$(freeport)
BOOT=boot-admin-token-$RANDOM$RANDOM$RANDOM

start_redis() {
    (cd "$TMP" && exec "$REDIS" --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        >"$TMP/redis.log" 2>&1) &
    PR=$!
    for _ in $(seq 1 100); do
        if [[ -n $REDIS_CLI ]]; then
            "$REDIS_CLI" -p "$RPORT" ping >/dev/null 2>&1 && return 0
        else
            (exec 3<>/dev/tcp/127.0.0.1/"$RPORT") 2>/dev/null && return 0
        fi
        sleep 0.05
    done
    fail "redis-server did not start"
}
rcli() { "$REDIS_CLI" -p "$RPORT" "$@"; }

# config NAME PORT TITLE THREADS RATE_PER_TOKEN
config() {
    # Nodes here never run: fleet.dead_after 0 and no probe serve them anyway (test_hub_node_health.sh covers both).
    cat >"$TMP/$1.json" <<JSON
{"listen": "127.0.0.1", "port": $2, "threads": $4, "database": "sqlite:$TMP/hub.db",
 "admin_token": "$BOOT", "log_level": "info", "redis_url": "redis://127.0.0.1:$RPORT/0",
 "subscription": {"title": "$3", "update_interval_hours": 6},
 "fleet": {"dead_after": 0, "probe_interval": 0}, "scheduler": {"enabled": true, "interval": 1},
 "cache": {"sub_ttl_ms": 60000, "redis_timeout_ms": 200},
 "rate_limit": {"window": 3600, "per_ip": 0, "per_token": $5}}
JSON
}

start_hub() { # name port -> sets PA/PB
    "$HUB" -c "$TMP/$1.json" 2>>"$TMP/$1.log" &
    local pid=$!
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && { eval "P${1^^}=$pid"; return 0; }
        sleep 0.05
    done
    fail "hub $1 did not come up"
}

# call PORT METHOD PATH [BODY] -> "status body" (admin token)
call() {
    local args=(-sS -o "$TMP/body" -w '%{http_code}' -X "$2" "http://127.0.0.1:$1$3" -H "Authorization: Bearer $BOOT")
    [[ $# -ge 4 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
    local code
    code=$(curl "${args[@]}")
    echo "$code $(cat "$TMP/body")"
}
jget() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval('d'+sys.argv[2]))" "$1" "$2"; }
# sub PORT TOKEN -> decoded link list (v2rayNG format is base64 of the links)
sub() { curl -fsS -A 'v2rayNG/1.8.5' "http://127.0.0.1:$1/sub/$2" | base64 -d; }
mode() { jget "$(curl -fsS "http://127.0.0.1:$1/healthz")" "['cache']"; }

start_redis
# Redis's command stream, in execution order, with each command's arguments (lock holders).
"$REDIS_CLI" -p "$RPORT" monitor >"$TMP/monitor.log" 2>&1 &
PM=$!
wait_for 'grep -q OK "$TMP/monitor.log"' 10 "redis-cli monitor"
config a "$PORTA" Veil 2 0
config b "$PORTB" Veil 2 0
start_hub a "$PORTA"
start_hub b "$PORTB"
[[ $(mode "$PORTA") == redis && $(mode "$PORTB") == redis ]] || fail "hubs not on redis"

r=$(call "$PORTA" POST /api/v1/plans '{"name":"Month","duration_days":30,"prices":{"RUB":29900}}')
[[ $r == 201* ]] || fail "plan: $r"
PLAN_ID=$(jget "${r#* }" "['id']")
mkuser() { # name -> "id token"
    local r
    r=$(call "$PORTA" POST /api/v1/users "{\"username\":\"$1\"}")
    [[ $r == 201* ]] || fail "user $1: $r"
    local id tok
    id=$(jget "${r#* }" "['id']")
    tok=$(jget "${r#* }" "['sub_token']")
    r=$(call "$PORTA" POST /api/v1/subscriptions "{\"user_id\":$id,\"plan_id\":$PLAN_ID}")
    [[ $r == 201* ]] || fail "grant $1: $r"
    echo "$id $tok"
}
read -r UID1 TOK1 < <(mkuser alice)
read -r UID2 TOK2 < <(mkuser bob)
r=$(call "$PORTA" POST /api/v1/nodes '{"name":"n1","address":"n1.vpn.test","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw","short_ids":["ab12"]}')
[[ $r == 201* ]] || fail "node: $r"

# --- Cache shared and invalidated through Redis -------------------------------------------------
[[ $(sub "$PORTB" "$TOK1" | grep -c '@n1.vpn.test:') == 1 ]] || fail "B: one node expected"
sub "$PORTB" "$TOK1" >/dev/null # served from the cache now
if [[ -n $REDIS_CLI ]]; then
    [[ $(rcli --scan --pattern 'veil:g:*' | wc -l) -ge 1 ]] || fail "no cached answer in Redis"
    rcli --scan --pattern 'veil:g:*' | grep -q "$TOK1" && fail "a sub token appears in a Redis key"
fi
# (checked as grep <<<"$(metrics P)": `curl | grep -q` fails under pipefail when grep exits first)
metrics() { curl -fsS -H "Authorization: Bearer $BOOT" "http://127.0.0.1:$1/metrics"; }
grep -q '^veil_hub_cache_lookups_total{what="sub",result="hit"} [1-9]' <<<"$(metrics "$PORTB")" || fail "no cache hit counted on B"
grep -q '^veil_hub_cache_mode{mode="redis"} 1' <<<"$(metrics "$PORTB")" || fail "cache mode metric"
r=$(call "$PORTA" POST "/api/v1/users/$UID1/disable"); [[ $r == 200* ]] || fail "disable: $r"
sub "$PORTB" "$TOK1" | grep -q '@0.0.0.0:1' || fail "B still serves the enabled user after A disabled it"
r=$(call "$PORTA" POST "/api/v1/users/$UID1/enable"); [[ $r == 200* ]] || fail "enable: $r"
sub "$PORTB" "$TOK1" | grep -q '@n1.vpn.test:' || fail "B does not see the user enabled again"
r=$(call "$PORTA" POST /api/v1/nodes '{"name":"n2","address":"n2.vpn.test","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw","short_ids":["cd34"]}')
[[ $r == 201* ]] || fail "node 2: $r"
[[ $(sub "$PORTB" "$TOK1" | grep -c '@n[12].vpn.test:') == 2 ]] || fail "B does not list the node added through A"
echo "ok: change through A visible through B at once"

# --- Scheduler lock: one holder, in Redis ---------------------------------------------------------
# Wait until one hub holds the lock and has logged it, and the other has tried for it since.
wait_for '[[ -n $(rcli GET veil:lock:scheduler) ]]' 10 "a scheduler lock holder in Redis"
holder=$(rcli GET veil:lock:scheduler)
if [[ $holder == *":$PA" ]]; then hlog=a other=$PB; else hlog=b other=$PA; fi
wait_for 'grep -q "\"event.action\":\"lock_acquired\",\"via\":\"redis\"" "$TMP/$hlog.log"' 10 "the holder's lock_acquired log"
tried_since() { # the other hub's holder id on the lock key after the holder's first SET
    awk -v h="\"[^\"]*:${holder##*:}\"" -v o="\"[^\"]*:$other\"" \
        '/"veil:lock:scheduler"/ && $0 ~ h {seen = 1} seen && /"veil:lock:scheduler"/ && $0 ~ o {n++} END {print n + 0}' \
        "$TMP/monitor.log"
}
wait_for '(( $(tried_since) >= 1 ))' 10 "the other hub to try for the lock while it is held"
na=$(grep -c '"event.action":"lock_acquired","via":"redis"' "$TMP/a.log" || true)
nb=$(grep -c '"event.action":"lock_acquired","via":"redis"' "$TMP/b.log" || true)
[[ $((na + nb)) == 1 ]] || fail "expected one redis lock holder, got a=$na b=$nb"
holder=$(rcli GET veil:lock:scheduler)
if [[ $na == 1 ]]; then want=$PA; else want=$PB; fi
[[ $holder == *":$want" ]] || fail "lock holder $holder is not pid $want"
echo "ok: scheduler lock held by one hub (a=$na b=$nb)"

# --- Redis down: both keep serving ------------------------------------------------------------------
{ kill -KILL "$PR"; wait "$PR"; } 2>/dev/null || true
PR=
for p in "$PORTA" "$PORTB"; do
    for t in "$TOK1" "$TOK2"; do
        sub "$p" "$t" | grep -q '@n1.vpn.test:' || fail "hub on $p stopped serving /sub without Redis"
    done
done
[[ $(mode "$PORTA") == local-fallback && $(mode "$PORTB") == local-fallback ]] || fail "not in fallback mode"
grep -q '^veil_hub_cache_mode{mode="local-fallback"} 1' <<<"$(metrics "$PORTA")" || fail "fallback not in metrics"
r=$(call "$PORTA" POST "/api/v1/users/$UID2/disable"); [[ $r == 200* ]] || fail "disable without redis: $r"
sub "$PORTA" "$TOK2" | grep -q '@0.0.0.0:1' || fail "A serves a stale answer after its own change"
grep -q '"event.action":"redis_unavailable"' "$TMP/a.log" || fail "no redis_unavailable log"
# the scheduler moves to the database lease
wait_for 'cat "$TMP/a.log" "$TMP/b.log" | grep -q "\"event.action\":\"lock_acquired\",\"via\":\"database\""' 10 \
    "a hub to take the database lease"
echo "ok: Redis down, both hubs serve (fallback), scheduler on the database lease"

# --- Redis back ----------------------------------------------------------------------------------------
start_redis
ok=
for _ in $(seq 1 60); do
    sub "$PORTA" "$TOK1" >/dev/null
    sub "$PORTB" "$TOK1" >/dev/null
    if [[ $(mode "$PORTA") == redis && $(mode "$PORTB") == redis ]]; then ok=1; break; fi
    sleep 0.1
done
[[ -n $ok ]] || fail "hubs did not return to Redis"
grep -q '"event.action":"redis_available"' "$TMP/b.log" || fail "no redis_available log"
sub "$PORTB" "$TOK1" >/dev/null
r=$(call "$PORTA" POST "/api/v1/users/$UID1/disable"); [[ $r == 200* ]] || fail "disable: $r"
sub "$PORTB" "$TOK1" | grep -q '@0.0.0.0:1' || fail "after recovery B serves a stale answer"
r=$(call "$PORTA" POST "/api/v1/users/$UID1/enable"); [[ $r == 200* ]] || fail "enable: $r"
echo "ok: Redis back, invalidation shared again"

# --- SIGHUP: title and rate limit live, threads needs a restart --------------------------------------
read -r UID3 TOK3 < <(mkuser carol)
config a "$PORTA" Reloaded 3 5
config b "$PORTB" Reloaded 3 5
kill -HUP "$PA" "$PB"
for f in a b; do
    for _ in $(seq 1 50); do grep -q '"event.action":"reloaded"' "$TMP/$f.log" && break; sleep 0.05; done
    grep -q '"event.action":"reloaded"' "$TMP/$f.log" || fail "hub $f: no reloaded log"
    grep -q '"event.action":"restart_needed","changed":"threads"' "$TMP/$f.log" || fail "hub $f: threads change not reported"
done
curl -fsS -D - -o /dev/null -A 'v2rayNG/1.8.5' "http://127.0.0.1:$PORTB/sub/$TOK3" | grep -qi '^profile-title: Reloaded' ||
    fail "new title not served"
# Shared budget of 5 per token: 4 more fetches pass across both hubs, then 429 on either.
codes=""
for i in 1 2 3 4 5 6; do
    if ((i % 2)); then p=$PORTA; else p=$PORTB; fi
    codes+="$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/sub/$TOK3") "
done
[[ $codes == "200 200 200 200 429 429 " ]] || fail "shared rate limit: $codes"
hdr=$(curl -sS -D - -o /dev/null "http://127.0.0.1:$PORTA/sub/$TOK3")
grep -qi '^retry-after: [1-9]' <<<"$hdr" || fail "429 without Retry-After: $hdr"
echo "ok: SIGHUP applied title and rate limit; shared limit $codes"

# --- Graceful stop releases the lock -------------------------------------------------------------------
kill -TERM "$PA" "$PB"
wait "$PA" || fail "hub a exit status"
wait "$PB" || fail "hub b exit status"
PA= PB=
if [[ -n $REDIS_CLI ]]; then
    [[ -z $(rcli GET veil:lock:scheduler) ]] || fail "scheduler lock not released on stop"
fi
grep -q "$BOOT" "$TMP/a.log" "$TMP/b.log" && fail "admin token in a log"
echo "PASS: two hubs sharing Redis"
