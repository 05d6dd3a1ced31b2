#!/usr/bin/env bash
# PostgreSQL failover under Patroni (issue 14 item 3), on loopback: etcd (one member) and two
# PostgreSQL 15 managed by Patroni from the shipped deploy/db/patroni.yml (addresses, paths and
# pg_hba moved to loopback; the cluster settings as shipped: synchronous_mode, primary_start_timeout
# 0). The hub connects with a libpq multi-host URL (target_session_attrs=read-write). During a
# stream of balance top-ups through the hub's API, the primary's postmaster gets kill -9:
# Patroni promotes the synchronous replica, the hub reconnects by itself (no restart), requests
# in between get a retryable 503 (never a 500), and every top-up the hub acknowledged is in the
# ledger afterwards, none twice (count and sum). Prints the failover times. The old primary
# comes back as the new synchronous replica (pg_rewind).
# VEIL_PG_FAILOVER_ROUNDS=N (scripts/test --full: 3) fails over back and forth N times;
# VEIL_PG_FAILOVER_MACHINE=1 (--full too) makes the last round a machine loss: Patroni is killed
# with its PostgreSQL, so the replica waits for the leader key to expire (ttl), then comes back.
source "$(dirname "$0")/support/lib.sh"

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ROUNDS=${VEIL_PG_FAILOVER_ROUNDS:-1}
[[ -x $PGBIN/initdb ]] || skip_all "no PostgreSQL binaries at $PGBIN"
command -v patroni >/dev/null || skip_all "patroni is not installed (scripts/install-deps)"
command -v etcd >/dev/null || skip_all "etcd is not installed (etcd-server, scripts/install-deps)"
python3 -c 'import yaml' 2>/dev/null || skip_all "python3-yaml is not installed"
DEPLOY=$(cd "$(dirname "$0")/../../deploy/db" && pwd)
T_START=$EPOCHREALTIME
now() { python3 -c 'import time; print("%.3f" % time.time())'; }
secs() { python3 -c "print(round($2 - $1, 2))"; }

chmod 755 "$WORK"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# etcd, one member on loopback.
EC=$(free_port); EP=$(free_port)
bg etcd etcd --name t --data-dir "$WORK/etcd" --listen-client-urls "http://127.0.0.1:$EC" \
  --advertise-client-urls "http://127.0.0.1:$EC" --listen-peer-urls "http://127.0.0.1:$EP" \
  --initial-advertise-peer-urls "http://127.0.0.1:$EP" --initial-cluster "t=http://127.0.0.1:$EP"
wait_port "$EC" 30 || fail "etcd did not start"

# Two Patroni members from the shipped file.
declare -a PGP RP
for n in 1 2; do
  PGP[$n]=$(free_port); RP[$n]=$(free_port)
  mkdir -p "$WORK/pg$n"
  python3 - "$DEPLOY/patroni.yml" "$WORK/pg$n/patroni.yml" "$n" "${PGP[$n]}" "${RP[$n]}" "$EC" "$WORK/pg$n" <<'PY' || fail "patroni.yml"
import sys, yaml
src, dst, n, pgport, rport, ec, d = sys.argv[1:]
c = yaml.safe_load(open(src))
dcs = c["bootstrap"]["dcs"]
# The promises this test checks come from the shipped settings; refuse to test a file without them.
assert dcs["synchronous_mode"] is True and dcs["primary_start_timeout"] == 0, dcs
assert dcs["postgresql"]["parameters"]["synchronous_commit"] == "on"
c["name"] = "pg" + n
c["restapi"] = {"listen": "127.0.0.1:" + rport, "connect_address": "127.0.0.1:" + rport}
c["etcd3"] = {"hosts": "127.0.0.1:" + ec}
# No pgBackRest stanza here (test_pg_backup.sh covers archiving).
p = dcs["postgresql"]["parameters"]
p["archive_mode"] = "off"; p.pop("archive_command"); p.pop("archive_timeout")
p["max_connections"] = 50
pg = c["postgresql"]
pg.update({"listen": "127.0.0.1:" + pgport, "connect_address": "127.0.0.1:" + pgport,
           "data_dir": d + "/data", "pgpass": d + "/pgpass"})
pg["parameters"] = {"unix_socket_directories": d, "shared_buffers": "32MB"}
pg["authentication"]["superuser"]["password"] = "su-secret"
pg["authentication"]["replication"]["password"] = "repl-secret"
pg["authentication"]["rewind"]["password"] = "su-secret"
pg["pg_hba"] = ["local all all trust", "host replication replicator 127.0.0.1/32 trust",
                "host all all 127.0.0.1/32 trust"]
c["log"] = {"level": "INFO"}
yaml.safe_dump(c, open(dst, "w"))
PY
done
[[ $(id -u) -eq 0 ]] && chown -R postgres "$WORK/pg1" "$WORK/pg2"
declare -a PATRONI
start_patroni() { # start_patroni N: Patroni as postgres; PATRONI[N] its pid (for kill and cleanup)
  if [[ $(id -u) -eq 0 ]]; then
    bg "patroni$1" runuser -u postgres -- patroni "$WORK/pg$1/patroni.yml"
    local r=$LASTPID
    wait_for "pgrep -P $r >/dev/null" 10 "patroni $1 process"
    PATRONI[$1]=$(pgrep -P "$r" | head -1) # runuser's child
    PIDS+=("${PATRONI[$1]}")
  else
    bg "patroni$1" patroni "$WORK/pg$1/patroni.yml"
    PATRONI[$1]=$LASTPID
  fi
}
stop_all() { # never fails: cleanup (which stops etcd and the rest) must run after it
  local n
  for n in 1 2; do
    if [[ -n ${PATRONI[$n]:-} ]]; then kill -9 "${PATRONI[$n]}" 2>/dev/null || true; fi
    if [[ -f $WORK/pg$n/data/postmaster.pid ]]; then
      as_pg "$PGBIN/pg_ctl" -D "$WORK/pg$n/data" -m immediate stop >/dev/null 2>&1 || true
    fi
  done
}
trap 'rc=$?; set +e; stop_all; (exit $rc); cleanup' EXIT
start_patroni 1
rest() { curl -fsS -m 2 "http://127.0.0.1:${RP[$1]}$2"; }
wait_for 'rest 1 /primary' 60 "pg1 bootstrapped as primary"
start_patroni 2
# role: "leader" / "sync_standby" / "replica" for member N in Patroni's view of the cluster.
role_of() { rest 1 /cluster 2>/dev/null || rest 2 /cluster; } 
sync_member() { role_of | python3 -c '
import json, sys
m = [x["name"] for x in json.load(sys.stdin)["members"] if x["role"] == "sync_standby" and x["state"] in ("running", "streaming")]
print(m[0] if m else "")'; }
wait_for '[[ $(sync_member) == pg2 ]]' 90 "pg2 cloned and synchronous"
ok "etcd + Patroni: pg1 primary, pg2 synchronous replica ($(secs "$T_START" "$EPOCHREALTIME") s)"
sql() { psql "host=127.0.0.1 port=$1 user=postgres dbname=${3:-veil}" -v ON_ERROR_STOP=1 -qtAX -c "$2"; }
sql "${PGP[1]}" "CREATE DATABASE veil" postgres
[[ $(sql "${PGP[1]}" "SHOW synchronous_standby_names") == *pg2* ]] || fail "synchronous_standby_names"

# The hub on the multi-host URL.
PORT=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM$RANDOM
cat >"$WORK/hub.json" <<EOF2
{"listen": "127.0.0.1", "port": $PORT, "threads": 4,
 "database": "postgresql://postgres@127.0.0.1:${PGP[1]},127.0.0.1:${PGP[2]}/veil?target_session_attrs=read-write&connect_timeout=2",
 "admin_token": "$ADMIN"}
EOF2
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"; HUB=$LASTPID
wait_port "$PORT" 30 || fail "hub did not start"
api() { curl -fsS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
USER_ID=$(api POST /api/v1/users '{"username": "payer"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

primary_of() { local n; for n in 1 2; do rest "$n" /primary >/dev/null 2>&1 && { echo "$n"; return 0; }; done; return 1; }
REPORT=()
for round in $(seq 1 "$ROUNDS"); do
  OLD=$(primary_of) || fail "no primary before round $round"
  NEW=$((3 - OLD))
  wait_for "[[ \$(sync_member) == pg$NEW ]]" 90 "pg$NEW synchronous before round $round"
  rm -f "$WORK/stop" "$WORK/stream$round.txt"
  bg "stream$round" python3 "$SUPPORT/topup_stream.py" --port "$PORT" --token "$ADMIN" --user "$USER_ID" \
    --tag "$((round + 1))" --workers 4 --stop-file "$WORK/stop" --out "$WORK/stream$round.txt"
  STREAM=$LASTPID
  # Let acknowledged writes pile up on the primary first.
  wait_for "[[ \$(sql ${PGP[$OLD]} 'SELECT count(*) FROM balance_ledger') -ge $((round * 40)) ]]" 30 "writes before the kill"
  POSTMASTER=$(head -1 "$WORK/pg$OLD/data/postmaster.pid")
  MACHINE=0 WHAT="pg$OLD's postgres killed"
  [[ ${VEIL_PG_FAILOVER_MACHINE:-0} == 1 && $round -eq $ROUNDS ]] && MACHINE=1 WHAT="pg$OLD's machine lost (Patroni too)"
  T_KILL=$(now)
  [[ $MACHINE == 1 ]] && kill -9 "${PATRONI[$OLD]}"
  kill -9 "$POSTMASTER"
  wait_for "rest $NEW /primary" 60 "Patroni promoting pg$NEW"
  T_PROMOTED=$(now)
  # The hub on the new primary without a restart: a top-up started after the promotion is acknowledged.
  wait_for "api POST /api/v1/users/$USER_ID/balance '{\"delta\": 1}'" 30 "a top-up acknowledged by the new primary"
  T_SERVING=$(now)
  sleep 2 # the stream keeps going on the new primary for a while (not an assertion wait)
  touch "$WORK/stop"
  wait_for "[[ -f $WORK/stream$round.txt ]]" 30 "the stream to finish"
  kill -0 "$HUB" 2>/dev/null || fail "the hub died"
  # Refusals only between the kill and the hub's first write on the new primary; none after.
  WINDOW=$(python3 -c '
import sys
kill, serving = float(sys.argv[2]), float(sys.argv[3])
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
bad = [r for r in rows if r[2] != "200"]
late = [r for r in bad if float(r[0]) > serving + 0.5]
assert not late, "refused after the hub was serving again: %s" % late[:5]
print("%d refused (503) within %.2f s of the kill" % (len(bad), max([float(r[1]) for r in bad], default=kill) - kill))
' "$WORK/stream$round.txt" "$T_KILL" "$T_SERVING") || fail "round $round: requests failed after the failover"
  REPORT+=("round $round: $WHAT -> pg$NEW primary in $(secs "$T_KILL" "$T_PROMOTED") s, hub serving writes after $(secs "$T_KILL" "$T_SERVING") s; $WINDOW")
  echo "${REPORT[-1]}"
  # The old primary rejoins as the synchronous replica (Patroni restarts it, pg_rewind if needed);
  # after a machine loss, once the machine (its Patroni) is back.
  [[ $MACHINE == 1 ]] && start_patroni "$OLD"
  wait_for "[[ \$(sync_member) == pg$OLD ]]" 120 "pg$OLD back as synchronous replica"
  echo "round $round: pg$OLD back as synchronous replica $(secs "$T_KILL" "$(now)") s after the kill"
done

# Every acknowledged top-up is in the ledger exactly once; the balance is the ledger's sum.
P=$(primary_of)
sql "${PGP[$P]}" "SELECT delta_minor FROM balance_ledger WHERE user_id = $USER_ID" >"$WORK/ledger.txt"
BAL=$(api GET "/api/v1/users/$USER_ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance_minor"])')
cat "$WORK"/stream*.txt | python3 -c '
import sys, collections
ledger = collections.Counter(int(x) for x in open(sys.argv[1]).read().split())
bal = int(sys.argv[2])
acked, unsure, other = [], [], collections.Counter()
for line in sys.stdin:
    if not line.strip():
        continue
    t0, t1, status, amount = line.split()
    status, amount = int(status), int(amount)
    if status == 200:
        acked.append(amount)
    elif status in (0, 503):
        unsure.append(amount)
    else:
        other[status] += 1
twice = [a for a, c in ledger.items() if c > 1 and a != 1]
missing = [a for a in acked if ledger[a] != 1]
stream_rows = sum(c for a, c in ledger.items() if a != 1)
committed_unacked = sum(1 for a in unsure if ledger[a])
print("requests: %d acknowledged, %d answered 503 or unanswered (%d of them committed), other: %s"
      % (len(acked), len(unsure), committed_unacked, dict(other)))
print("ledger: %d top-ups, balance %d = ledger sum %d" % (sum(ledger.values()), bal, sum(a * c for a, c in ledger.items())))
assert not other, "answers other than 200/503: %s" % dict(other)
assert not missing, "acknowledged top-ups missing from the ledger: %s" % missing[:10]
assert not twice, "top-ups booked twice: %s" % twice[:10]
assert stream_rows == len(acked) + committed_unacked, "ledger rows not from this stream"
assert bal == sum(a * c for a, c in ledger.items()), "balance differs from the ledger"
acked_sum = sum(acked)
assert sum(a * c for a, c in ledger.items() if a != 1) >= acked_sum
print("acknowledged: %d top-ups, %d minor units, all in the ledger once" % (len(acked), acked_sum))
' "$WORK/ledger.txt" "$BAL" || fail "acknowledged payments after the failover"
grep -q '"pg_reconnected"\|pg_reconnected' "$WORK/hub.log" || fail "the hub did not log its reconnection"
ok "every acknowledged top-up present once, none lost, none twice; the hub reconnected without a restart"
printf '%s\n' "${REPORT[@]}"
echo "total $(secs "$T_START" "$EPOCHREALTIME") s"
