#!/usr/bin/env bash
# The fleet behind the shipped HAProxy config (deploy/lb/haproxy.cfg, issue 14 item 2), broken on
# purpose on loopback:
#   nodes: 3 veil-nodes (PROXY v2, /healthz checks, leastconn); a steady stream of new tunnels
#          and a few long ones through `veil client`; kill -9 one node: after the check interval
#          no new tunnel fails, the long tunnels on the other nodes finish, the node comes back
#          and takes new tunnels again.
#   hubs:  2 veil-hubs on one PostgreSQL behind the HTTPS frontend (TLS terminated by HAProxy
#          with a certificate made here); /sub + API reads + user creations; kill -9 one hub:
#          after the check interval no request fails, and every acknowledged write is stored.
# Prints the measured times (kill -> HAProxy marks DOWN, restart -> UP). Short enough for CI.
source "$(dirname "$0")/support/lib.sh"
SRC=${VEIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[[ -x $HAPROXY ]] || skip_all "haproxy not installed"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
CHECK_WINDOW=2.5 # inter 1s x fall 2, plus slack for the check timeout: failures allowed only before

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
UUID=b831381d-6324-4d53-ad4f-8cda48b30811
SID=0123456789abcdef
NODE_TOKEN=fleet-node-admin-token-0123456789
BOOT=fleet-hub-bootstrap-token-0123456789
now() { python3 -c 'import time; print(f"{time.time():.3f}")'; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
after_s() { python3 -c "import time,sys; sys.exit(time.time() < $1 + $2)"; } # after_s T S: T+S passed
count_ok() { python3 -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['ok']))" "$1" 2>/dev/null || echo 0; }

# ---- PostgreSQL for the hubs (as the postgres user when root: initdb refuses root). ----
HUBS=1
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ ! -x $PGBIN/initdb ]]; then
    HUBS=0
    skip_part "no PostgreSQL binaries at $PGBIN: hub failover not run"
else
    chmod 755 "$WORK"
    mkdir -p "$WORK/pg"
    [[ $(id -u) -eq 0 ]] && chown postgres "$WORK/pg"
    PG_PORT=$(free_port)
    as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U veil --auth=trust -E UTF8 --no-locale >"$WORK/initdb.log" 2>&1 ||
        fail "initdb"
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/pg.log" -w -t 60 \
        -o "-k $WORK/pg -c listen_addresses=127.0.0.1 -p $PG_PORT -c fsync=off" start >/dev/null || fail "pg start"
    PIDS+=("$(head -1 "$WORK/pg/data/postmaster.pid")") # lib.sh's cleanup stops it with the rest
    as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U veil veil
    DB="postgresql://veil@127.0.0.1:$PG_PORT/veil"
fi

# ---- REALITY target and the HTTP sink the tunnels fetch from. ----
T_PORT=$(free_port) H_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
    -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
E_PORT=$(free_port)
bg echo python3 "$SUPPORT/fleet_load.py" echo "$E_PORT"

# ---- Three nodes. ----
declare -a N_PORT A_PORT NODE_PID
start_node() { # start_node I
    bg "node$1" "$VEIL_BIN/veil-node" -c "$WORK/node$1.json"
    NODE_PID[$1]=$LASTPID
}
for i in 1 2 3; do
    N_PORT[$i]=$(free_port) A_PORT[$i]=$(free_port)
    cat >"$WORK/node$i.json" <<JSON
{
  "log": {"loglevel": "warning"},
  "inbounds": [{
    "listen": "127.0.0.1", "port": ${N_PORT[$i]}, "protocol": "vless",
    "settings": {"clients": [{"id": "$UUID", "flow": "xtls-rprx-vision", "email": "fleet@example"}],
                 "decryption": "none"},
    "streamSettings": {"network": "raw", "security": "reality", "rawSettings": {"acceptProxyProtocol": true},
      "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
        "privateKey": "$PRIV", "shortIds": ["$SID"], "maxTimeDiff": 60000}}
  }],
  "outbounds": [{"protocol": "freedom"}],
  "veil": {"workers": 1, "allowPrivateDestinations": true, "adminListen": "127.0.0.1:${A_PORT[$i]}",
           "adminToken": "$NODE_TOKEN"}
}
JSON
    start_node "$i"
done

# ---- Two hubs on the one database. ----
declare -a HUB_PORT HUB_PID
start_hub() { bg "hub$1" "$VEIL_BIN/veil-hub" -c "$WORK/hub$1.json"; HUB_PID[$1]=$LASTPID; }
for i in 1 2; do
    HUB_PORT[$i]=$(free_port)
    [[ $HUBS -eq 1 ]] || continue
    cat >"$WORK/hub$i.json" <<JSON
{"listen": "127.0.0.1", "port": ${HUB_PORT[$i]}, "threads": 2, "database": "$DB", "db_pool": 4,
 "admin_token": "$BOOT", "scheduler": {"enabled": false}, "trusted_proxies": ["127.0.0.1/32"],
 "rate_limit": {"window": 60, "per_ip": 100000, "per_token": 100000},
 "subscription": {"public_url": "https://hub.test"}}
JSON
done
if [[ $HUBS -eq 1 ]]; then
    "$VEIL_BIN/veil-hub" -c "$WORK/hub1.json" --migrate >"$WORK/migrate.log" 2>&1 || fail "hub migrate"
    # Hubs starting together insert the same bootstrap token. Made deterministic: another session
    # holds that row uncommitted while hub2 starts, so hub2's insert waits on it and then meets the
    # committed duplicate. (Before: hub2 exited with bootstrap_token_failed "already exists".)
    psql_q() { "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U veil -d veil -tA -c "$1"; }
    HASH=$(printf '%s' "$BOOT" | sha256sum | cut -d' ' -f1)
    mkfifo "$WORK/race.sql"
    bg race-psql "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U veil -d veil -q -f "$WORK/race.sql"
    exec 7>"$WORK/race.sql"
    echo "BEGIN; INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES ('race', '$HASH', 'admin', 0);" >&7
    wait_for '[ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE state = '"'idle in transaction'"'")" -ge 1 ]' 10 \
        "the racing transaction holding the token row"
    start_hub 2
    wait_for '[ "$(psql_q "SELECT count(*) FROM pg_locks WHERE NOT granted")" -ge 1 ]' 20 \
        "hub2's bootstrap insert waiting on the racing transaction"
    echo "COMMIT;" >&7
    exec 7>&-
    wait_port "${HUB_PORT[2]}" 20 || fail "hub2 did not start after a concurrent bootstrap insert: $(cat "$WORK/hub2.log")"
    [[ $(psql_q "SELECT count(*) FROM api_tokens WHERE token_hash = '$HASH'") == 1 ]] || fail "bootstrap token not stored once"
    ok "two hubs inserting the same bootstrap token at once: both start, one row"
    start_hub 1
fi

# ---- HAProxy with the shipped config; addresses through its environment. ----
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/hub.key" -out "$WORK/hub.crt" -days 2 -nodes \
    -subj /CN=hub.test >/dev/null 2>&1
cat "$WORK/hub.crt" "$WORK/hub.key" >"$WORK/hub.pem"
LB_VPN=$(free_port) LB_HUB=$(free_port) LB_STATS=$(free_port)
export VEIL_LB_ADMIN_SOCKET=$WORK/haproxy.sock VEIL_LB_VPN_BIND=127.0.0.1:$LB_VPN VEIL_LB_MAXCONN=2000
export VEIL_LB_HUB_BIND=127.0.0.1:$LB_HUB VEIL_LB_HUB_CERT=$WORK/hub.pem VEIL_LB_STATS_BIND=127.0.0.1:$LB_STATS
for i in 1 2 3; do export "VEIL_NODE$i=127.0.0.1:${N_PORT[$i]}" "VEIL_NODE${i}_CHECK_PORT=${A_PORT[$i]}"; done
for i in 1 2; do export "VEIL_HUB$i=127.0.0.1:${HUB_PORT[$i]}"; done
cp "$SRC/deploy/lb/haproxy.cfg" "$WORK/haproxy.cfg"
if [[ $(id -u) -ne 0 ]]; then # chroot and setuid need root; everything else is the shipped file
    sed -i -e '/^    chroot /d' -e '/^    user /d' -e '/^    group /d' "$WORK/haproxy.cfg"
fi
"$HAPROXY" -c -q -f "$WORK/haproxy.cfg" || fail "haproxy rejects the shipped config"
bg haproxy "$HAPROXY" -db -f "$WORK/haproxy.cfg"
wait_port "$LB_VPN" 10

# hap_status BACKEND SERVER: the server's state in HAProxy ("UP", "DOWN", "UP 1/2", ...).
hap_status() {
    python3 - "$WORK/haproxy.sock" "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stat\n")
data = b""
while True:
    c = s.recv(65536)
    if not c: break
    data += c
for row in data.decode().splitlines():
    f = row.split(",")
    if len(f) > 17 and f[0] == sys.argv[2] and f[1] == sys.argv[3]:
        print(f[17]); break
PY
}
is_status() { [[ $(hap_status "$1" "$2") == "$3" ]]; }
# hap_cmd COMMAND: one command on HAProxy's runtime API (the admin socket); prints the answer.
hap_cmd() {
    python3 - "$WORK/haproxy.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
data = b""
while True:
    c = s.recv(65536)
    if not c: break
    data += c
sys.stdout.write(data.decode())
PY
}
# hap_stat PROXY SERVER COLUMN: one field of "show stat" (e.g. dcon, scur).
hap_stat() {
    hap_cmd "show stat" | python3 -c '
import csv, sys
rows = list(csv.reader(line.lstrip("# ") for line in sys.stdin if line.strip()))
col = rows[0].index(sys.argv[3])
print(next(r[col] for r in rows[1:] if r[0] == sys.argv[1] and r[1] == sys.argv[2]))' "$1" "$2" "$3"
}
for i in 1 2 3; do wait_for "is_status nodes node$i UP" 30 "node$i UP in HAProxy"; done
if [[ $HUBS -eq 1 ]]; then for i in 1 2; do wait_for "is_status hubs hub$i UP" 30 "hub$i UP in HAProxy"; done; fi
ok "HAProxy (shipped config): 3 nodes and $((HUBS * 2)) hubs UP by their /healthz checks"

# ================= Node failover =================
C_PORT=$(free_port)
LINK="vless://$UUID@127.0.0.1:$LB_VPN?encryption=none&flow=xtls-rprx-vision&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#fleet"
bg client "$VEIL_BIN/veil" client --link "$LINK" --listen "127.0.0.1:$C_PORT"
wait_port "$C_PORT" 10
# The stream's clients: one per 20 tunnels/s, each from its own address (127.0.0.1x), as the LB
# allows 30 new connections per second per IP. VEIL_FLEET_TUNNEL_RATE=200 is the issue's full load.
RATE=${VEIL_FLEET_TUNNEL_RATE:-15}
STREAM_PORTS=$C_PORT
for k in $(seq 2 $(((RATE + 19) / 20))); do
    p=$(free_port)
    bg "client$k" "$VEIL_BIN/veil" client --link "$LINK" --listen "127.0.0.1:$p" --bind "127.0.0.$((10 + k))"
    wait_port "$p" 10
    STREAM_PORTS+=",$p"
done
curl -s --max-time 20 --socks5-hostname "127.0.0.1:$C_PORT" "http://127.0.0.1:$H_PORT/hello" | grep -q "hello through" ||
    fail "a tunnel through HAProxy failed before any failure was injected"
# Six long tunnels first, alone, so leastconn puts two on each node; then the stream.
count_kind() { python3 -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['kind'] == sys.argv[2]))" "$1" "$2" 2>/dev/null || echo 0; }
bg load-hold python3 "$SUPPORT/fleet_load.py" hold "$C_PORT" "$E_PORT" 6 "$WORK/hold.jsonl" "$WORK/stop-nodes"
HOLD_PID=$LASTPID
wait_for '[ "$(count_kind "$WORK/hold.jsonl" hold-up)" -eq 6 ]' 20 "6 long tunnels established"
bg load-tunnels python3 "$SUPPORT/fleet_load.py" tunnels "$STREAM_PORTS" "$H_PORT" "$RATE" "$WORK/tunnels.jsonl" "$WORK/stop-nodes"
TUN_PID=$LASTPID
wait_for '[ "$(count_ok "$WORK/tunnels.jsonl")" -ge 30 ]' 30 "30 tunnels through the LB"
node_health() { # node_health I FIELD
    curl -s -H "Authorization: Bearer $NODE_TOKEN" "http://127.0.0.1:${A_PORT[$1]}/api/v1/health" |
        python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}
conns1=$(node_health 1 connections)

T_KILL=$(now)
kill -9 "${NODE_PID[1]}"
wait_for "is_status nodes node1 DOWN" 15 "HAProxy marking the killed node1 DOWN"
T_DOWN=$(now)
# Let the stream run on two nodes, then bring node1 back as systemd (Restart=always) would.
wait_for "after_s $T_DOWN 3" 10 "3 s of load on two nodes"
T_RESTART=$(now)
start_node 1
wait_for "is_status nodes node1 UP" 20 "HAProxy marking the restarted node1 UP"
T_UP=$(now)
wait_for '[ "$(node_health 1 accepted)" -ge 3 ]' 20 "the restarted node1 taking new tunnels"
T_LOADED=$(now)
touch "$WORK/stop-nodes"
wait "$TUN_PID" "$HOLD_PID" || true

rc=0
python3 - "$WORK/tunnels.jsonl" "$WORK/hold.jsonl" "$T_KILL" "$CHECK_WINDOW" "$conns1" >"$WORK/node-verdict.txt" <<'PY' || rc=$?
import json, sys
tun = [json.loads(l) for l in open(sys.argv[1])]
hold = [h for h in map(json.loads, open(sys.argv[2])) if h["kind"] == "hold"]
kill, window, conns1 = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
after = [t for t in tun if t["start"] >= kill + window]
inside = [t for t in tun if kill <= t["start"] < kill + window]
before = [t for t in tun if t["start"] < kill]
bad_after = [t for t in after if not t["ok"]]
print("tunnels: %d before the kill (%d failed), %d in the %.1f s check window (%d failed), %d after (%d failed)" % (
    len(before), sum(not t["ok"] for t in before), len(inside), window, sum(not t["ok"] for t in inside),
    len(after), len(bad_after)))
held_bad = [h for h in hold if not h["ok"]]
print("long tunnels: %d of %d cut by the kill (node1 had %d connections), the rest kept echoing" % (
    len(held_bad), len(hold), conns1))
ok = (not bad_after and len(after) >= 20 and not [t for t in before if not t["ok"]]
      and len(hold) == 6 and 1 <= len(held_bad) <= min(conns1, 3))
for t in bad_after[:5]:
    print("  failed after the window:", t)
for h in held_bad:
    print("  long tunnel cut:", h.get("err"))
sys.exit(0 if ok else 1)
PY
cat "$WORK/node-verdict.txt"
[[ $rc -eq 0 ]] || fail "node failover: see above"
ok "node kill -9: no new tunnel failed after the check window; long tunnels on the other nodes finished"
echo "MEASURED node: kill -> DOWN in HAProxy $(elapsed "$T_KILL" "$T_DOWN") s;" \
    "restart -> UP $(elapsed "$T_RESTART" "$T_UP") s; restart -> taking tunnels $(elapsed "$T_RESTART" "$T_LOADED") s"
ok "restarted node UP again and taking new tunnels"

# Drain (docs/deploy.md): `veil node drain node2` sets weight 0 through the runtime API. New
# tunnels go elsewhere; the long tunnel already on node2 keeps working; --wait returns once it ended.
rm -f "$WORK/stop-drain"
bg drain-hold python3 "$SUPPORT/fleet_load.py" hold "$C_PORT" "$E_PORT" 3 "$WORK/drain-hold.jsonl" "$WORK/stop-drain"
DHOLD_PID=$LASTPID
wait_for '[ "$(count_kind "$WORK/drain-hold.jsonl" hold-up)" -eq 3 ]' 20 "3 long tunnels established"
[[ $(hap_stat nodes node2 scur) -ge 1 ]] || fail "no long tunnel landed on node2 before the drain"
W2=$(hap_stat nodes node2 weight)
"$VEIL_BIN/veil" node drain node2 --haproxy-socket "$WORK/haproxy.sock" >"$WORK/drain.out" 2>&1 ||
    fail "veil node drain: $(cat "$WORK/drain.out")"
grep -q "^haproxy nodes/node2: weight 0, UP, [1-9][0-9]* open connections" "$WORK/drain.out" ||
    fail "veil node drain said: $(cat "$WORK/drain.out")"
[[ $(hap_stat nodes node2 weight) -eq 0 ]] || fail "node2's weight after veil node drain"
acc2=$(node_health 2 accepted)
bg drain-tunnels python3 "$SUPPORT/fleet_load.py" tunnels "$STREAM_PORTS" "$H_PORT" "$RATE" "$WORK/drain.jsonl" "$WORK/stop-drain"
DTUN_PID=$LASTPID
wait_for '[ "$(count_ok "$WORK/drain.jsonl")" -ge 30 ]' 30 "30 tunnels while node2 drains"
touch "$WORK/stop-drain"
wait "$DTUN_PID" "$DHOLD_PID" || true
[[ $(node_health 2 accepted) -eq $acc2 ]] || fail "the drained node2 got new tunnels ($acc2 -> $(node_health 2 accepted))"
python3 - "$WORK/drain.jsonl" "$WORK/drain-hold.jsonl" <<'PY' || fail "tunnels failed while draining"
import json, sys
bad = [l for f in sys.argv[1:] for l in map(json.loads, open(f)) if not l["ok"]]
sys.exit(1 if bad else 0)
PY
# The long tunnels have ended: --wait sees no open connection on node2.
"$VEIL_BIN/veil" node drain node2 --haproxy-socket "$WORK/haproxy.sock" --wait 20 >"$WORK/drain.out" 2>&1 ||
    fail "veil node drain --wait: $(cat "$WORK/drain.out")"
grep -q "^haproxy nodes/node2: no open connections" "$WORK/drain.out" || fail "drain --wait said: $(cat "$WORK/drain.out")"
"$VEIL_BIN/veil" node undrain node2 --haproxy-socket "$WORK/haproxy.sock" >"$WORK/drain.out" 2>&1 ||
    fail "veil node undrain: $(cat "$WORK/drain.out")"
[[ $(hap_stat nodes node2 weight) -eq $W2 ]] || fail "node2's weight after veil node undrain (was $W2): $(cat "$WORK/drain.out")"
"$VEIL_BIN/veil" node drain node9 --haproxy-socket "$WORK/haproxy.sock" >"$WORK/drain.out" 2>&1 &&
    fail "veil node drain of an unknown server succeeded"
grep -q "haproxy: No such server" "$WORK/drain.out" || fail "unknown server: $(cat "$WORK/drain.out")"
ok "veil node drain: node2 at weight 0 got none of $(count_ok "$WORK/drain.jsonl") new tunnels; its open tunnel kept working; --wait; undrain back to weight $W2"

# Per source IP at the LB: 400 connections at once from 127.0.0.5; over 300 per 10 s are refused,
# and 127.0.0.1's tunnels are not affected.
dcon0=$(hap_stat vless FRONTEND dcon)
python3 - "$LB_VPN" <<'PY'
import socket, sys
for _ in range(400):
    s = socket.socket()
    s.bind(("127.0.0.5", 0))
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.close()
PY
refused=$(( $(hap_stat vless FRONTEND dcon) - dcon0 ))
[[ $refused -ge 90 && $refused -le 100 ]] || fail "per-IP connection rate: $refused of 400 refused (want 100 over 300/10 s)"
curl -s --max-time 20 --socks5-hostname "127.0.0.1:$C_PORT" "http://127.0.0.1:$H_PORT/hello" | grep -q "hello through" ||
    fail "another IP's tunnel failed while 127.0.0.5 was limited"
ok "LB per-IP connection rate: $refused of 400 burst connections from one IP refused; others unaffected"

# ================= Hub failover =================
if [[ $HUBS -eq 1 ]]; then
    BASE=https://127.0.0.1:$LB_HUB
    r=$(curl -sS --cacert "$WORK/hub.crt" -k -H "Authorization: Bearer $BOOT" -H 'Content-Type: application/json' \
        --data '{"username":"fleet-sub"}' "$BASE/api/v1/users") || fail "create user through the LB"
    SUB=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sub_token"])' "$r") || fail "no sub_token: $r"
    code=$(curl -s -k -o /dev/null -w '%{http_code}' "$BASE/sub/$SUB")
    [[ $code == 200 ]] || fail "/sub through the LB: $code"
    bg load-http python3 "$SUPPORT/fleet_load.py" http "$BASE" "$WORK/hub.crt" "$BOOT" "$SUB" 20 \
        "$WORK/http.jsonl" "$WORK/stop-hubs"
    HTTP_PID=$LASTPID
    wait_for '[ "$(count_ok "$WORK/http.jsonl")" -ge 30 ]' 30 "30 hub requests through the LB"
    T_KILL=$(now)
    kill -9 "${HUB_PID[1]}"
    wait_for "is_status hubs hub1 DOWN" 15 "HAProxy marking the killed hub1 DOWN"
    T_DOWN=$(now)
    wait_for "after_s $T_DOWN 3" 10 "3 s of load on one hub"
    T_RESTART=$(now)
    start_hub 1
    wait_for "is_status hubs hub1 UP" 20 "HAProxy marking the restarted hub1 UP"
    T_UP=$(now)
    touch "$WORK/stop-hubs"
    wait "$HTTP_PID" || true
    as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U veil -d veil -tA \
        -c "SELECT username FROM users WHERE username LIKE 'load-%'" >"$WORK/stored.txt" || fail "psql"
    rc=0
    python3 - "$WORK/http.jsonl" "$T_KILL" "$CHECK_WINDOW" "$WORK/stored.txt" >"$WORK/hub-verdict.txt" <<'PY' || rc=$?
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
kill, window = float(sys.argv[2]), float(sys.argv[3])
stored = set(open(sys.argv[4]).read().split())
after = [r for r in reqs if r["start"] >= kill + window]
inside = [r for r in reqs if kill <= r["start"] < kill + window]
before = [r for r in reqs if r["start"] < kill]
bad_after = [r for r in after if not r["ok"]]
acked = {r["user"] for r in reqs if r["kind"] == "create" and r["ok"]}
lost = acked - stored
print("hub requests: %d before the kill (%d failed), %d in the %.1f s check window (%d failed), %d after (%d failed)" % (
    len(before), sum(not r["ok"] for r in before), len(inside), window, sum(not r["ok"] for r in inside),
    len(after), len(bad_after)))
print("writes: %d users acknowledged, %d of them stored, %d lost" % (len(acked), len(stored & acked), len(lost)))
for r in bad_after[:5]:
    print("  failed after the window:", r)
sys.exit(0 if (not bad_after and len(after) >= 20 and not lost and not [r for r in before if not r["ok"]]) else 1)
PY
    cat "$WORK/hub-verdict.txt"
    [[ $rc -eq 0 ]] || fail "hub failover: see above"
    ok "hub kill -9 during /sub + API load: no failed request after the check window, no acknowledged write lost"
    echo "MEASURED hub: kill -> DOWN in HAProxy $(elapsed "$T_KILL" "$T_DOWN") s;" \
        "restart -> UP $(elapsed "$T_RESTART" "$T_UP") s"

    # X-Forwarded-For through the LB: the hub (trusted_proxies = the LB) records the real client,
    # also when the client sends a forged header of its own.
    for u in xff-plain xff-forged; do
        hdr=(); [[ $u == xff-forged ]] && hdr=(-H "X-Forwarded-For: 6.6.6.6")
        code=$(curl -sk -o /dev/null -w '%{http_code}' --interface 127.0.0.7 "${hdr[@]}" -H "Authorization: Bearer $BOOT" \
            -H 'Content-Type: application/json' --data "{\"username\":\"$u\"}" "$BASE/api/v1/users")
        [[ $code == 201 ]] || fail "create $u through the LB: $code"
    done
    curl -sk -H "Authorization: Bearer $BOOT" "$BASE/api/v1/audit" >"$WORK/audit.json"
    python3 - "$WORK/audit.json" <<'PY' || fail "audit source_ip through the LB: $(head -c 600 "$WORK/audit.json")"
import json, sys
rows = json.load(open(sys.argv[1]))["entries"]
ips = {r["details"].get("username"): r["source_ip"] for r in rows if r["action"] == "user.create"}
assert ips.get("xff-plain") == "127.0.0.7" and ips.get("xff-forged") == "127.0.0.7", ips
PY
    ok "X-Forwarded-For via the LB: the hub records the client 127.0.0.7 (a forged header ignored)"

    # Per source IP at the LB: 700 requests in a moment from 127.0.0.6; over 600 per 10 s get 429.
    codes=$(python3 - "$LB_HUB" <<'PY'
import collections, http.client, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ctx, timeout=10,
                                source_address=("127.0.0.6", 0))
seen = collections.Counter()
for _ in range(700):
    try:
        c.request("GET", "/healthz")
        r = c.getresponse(); r.read()
        seen[r.status] += 1
    except (OSError, http.client.HTTPException):
        c.close()
        seen["error"] += 1
print(" ".join("%s:%d" % kv for kv in sorted(seen.items(), key=str)))
PY
)
    [[ $codes == "200:600 429:100" ]] || fail "per-IP request limit: got $codes, want 200:600 429:100"
    code=$(curl -sk -o /dev/null -w '%{http_code}' "$BASE/healthz")
    [[ $code == 200 ]] || fail "another IP got $code while 127.0.0.6 was limited"
    ok "LB per-IP request rate: 700 requests from one IP -> $codes; others unaffected"
fi

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/node*.log "$WORK"/hub*.log 2>/dev/null; then
    fail "sanitizer reports in the logs above"
fi
echo "fleet failover: all checks passed"
