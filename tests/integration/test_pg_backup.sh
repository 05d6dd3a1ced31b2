#!/usr/bin/env bash
# PostgreSQL backups with pgBackRest (issue 14 item 2), on loopback with the shipped
# deploy/db/pgbackrest.conf (paths moved into a temp dir, repository encrypted as shipped):
# PostgreSQL 15 with archive_mode on and the shipped archive_command, stanza-create, a full
# backup; the hub writes users through its API, a timestamp is noted, more users are written;
# PostgreSQL is stopped and restored to that moment (--type=time); exactly the users written
# before the timestamp are back, and the hub serves them.
source "$(dirname "$0")/support/lib.sh"

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[[ -x $PGBIN/initdb ]] || skip_all "no PostgreSQL binaries at $PGBIN"
command -v pgbackrest >/dev/null || skip_all "pgbackrest is not installed (scripts/install-deps)"
command -v curl >/dev/null || skip_all "curl is not installed"
DEPLOY=$(cd "$(dirname "$0")/../../deploy/db" && pwd)
T_START=$EPOCHREALTIME

chmod 755 "$WORK"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PG=$WORK/pg
mkdir -p "$PG/repo" "$PG/log" "$PG/lock" "$PG/conf.d"
PGPORT=$(free_port)

# The shipped configuration with this machine's paths; the cipher passphrase in conf.d as shipped.
sed -e "s|^repo1-path=.*|repo1-path=$PG/repo|" -e "s|^log-path=.*|log-path=$PG/log|" \
    -e "s|^pg1-path=.*|pg1-path=$PG/data|" -e "s|^pg1-port=.*|pg1-port=$PGPORT|" \
    -e "s|^pg1-socket-path=.*|pg1-socket-path=$PG|" "$DEPLOY/pgbackrest.conf" >"$PG/pgbackrest.conf"
printf '[global]\nlock-path=%s\nrepo1-cipher-pass=%s\n' "$PG/lock" "$(head -c 32 /dev/urandom | base64)" \
    >"$PG/conf.d/cipher.conf"
printf '[veil]\npg1-user=veil\n' >"$PG/conf.d/superuser.conf" # initdb -U veil: no role postgres here
chmod 600 "$PG/conf.d/cipher.conf"
[[ $(id -u) -eq 0 ]] && chown -R postgres "$PG"
BR=(pgbackrest "--config=$PG/pgbackrest.conf" "--config-include-path=$PG/conf.d" --stanza=veil)

as_pg "$PGBIN/initdb" -D "$PG/data" -U veil --auth=trust -E UTF8 --no-locale >"$WORK/initdb.log" 2>&1 ||
  fail "initdb"
# The shipped server settings for archiving, archive_command pointed at this configuration.
grep -E '^(archive_mode|archive_timeout|wal_level)' "$DEPLOY/veil.conf" >>"$PG/data/postgresql.conf"
SHIPPED_CMD=$(sed -n "s/^archive_command = '\(.*\)'$/\1/p" "$DEPLOY/veil.conf")
[[ $SHIPPED_CMD == "pgbackrest --stanza=veil archive-push %p" ]] || fail "deploy/db/veil.conf archive_command: $SHIPPED_CMD"
echo "archive_command = '${BR[*]} archive-push %p'" >>"$PG/data/postgresql.conf"
pg_start() {
  as_pg "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/log/pg.log" -w -t 60 \
    -o "-k $PG -c listen_addresses=127.0.0.1 -p $PGPORT" start >/dev/null || fail "PostgreSQL did not start"
}
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$PG/data" -m fast -w stop >/dev/null; }
trap 'rc=$?; set +e; as_pg "$PGBIN/pg_ctl" -D "$PG/data" -m immediate stop >/dev/null 2>&1; [ $rc -ne 0 ] && tail -20 "$PG/log/pg.log"; (exit $rc); cleanup' EXIT
pg_start
sql() { psql -h 127.0.0.1 -p "$PGPORT" -U veil -d veil -v ON_ERROR_STOP=1 -qtAX -c "$1"; }
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U veil veil

as_pg "${BR[@]}" stanza-create >"$WORK/stanza.log" 2>&1 || fail "stanza-create: $(tail -5 "$WORK/stanza.log")"
as_pg "${BR[@]}" check >"$WORK/check.log" 2>&1 || fail "check (archive_command): $(tail -5 "$WORK/check.log")"
ok "stanza created; WAL archiving works through the shipped archive_command"

# The hub on this database.
PORT=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM$RANDOM
cat >"$WORK/hub.json" <<EOF2
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "postgresql://veil@127.0.0.1:$PGPORT/veil",
 "admin_token": "$ADMIN"}
EOF2
start_hub() { bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"; HUB=$LASTPID; wait_port "$PORT" 30; }
api() { curl -fsS -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
mk_users() { local i; for i in $(seq 1 "$2"); do api POST /api/v1/users "{\"username\": \"$1$i\"}" >/dev/null; done; }
start_hub
mk_users before-backup- 3

t0=$EPOCHREALTIME
as_pg "${BR[@]}" --type=full backup >"$WORK/backup.log" 2>&1 || fail "full backup: $(tail -5 "$WORK/backup.log")"
t1=$EPOCHREALTIME
ok "full backup in $(python3 -c "print(round($t1 - $t0, 1))") s"

mk_users after-backup- 5
EXPECT=$(sql "SELECT count(*) FROM users")
TARGET=$(sql "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
mk_users too-late- 4
[[ $(sql "SELECT count(*) FROM users") -eq $((EXPECT + 4)) ]] || fail "the later users were not written"
# Their WAL must reach the repository: recovery stops at the first commit after the target.
as_pg "${BR[@]}" check >"$WORK/check2.log" 2>&1 || fail "check after writes"
kill -TERM "$HUB"; wait "$HUB" 2>/dev/null || true
pg_stop

t0=$EPOCHREALTIME
# The set by name: pgBackRest compares the target with backups' stop times in whole seconds, so a
# target in the second the backup ended would otherwise find no set.
as_pg "${BR[@]}" info --output=json >"$WORK/info.json" || fail "info"
SET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["backup"][-1]["label"])' "$WORK/info.json")
as_pg "${BR[@]}" --delta --set="$SET" --type=time "--target=$TARGET" --target-action=promote restore >"$WORK/restore.log" 2>&1 ||
  fail "restore: $(tail -5 "$WORK/restore.log")"
pg_start
wait_for '[ "$(sql "SELECT pg_is_in_recovery()")" = f ]' 30 "recovery to $TARGET and promotion"
t1=$EPOCHREALTIME
ok "restored to $TARGET and promoted in $(python3 -c "print(round($t1 - $t0, 1))") s"

GOT=$(sql "SELECT string_agg(username, ',' ORDER BY id) FROM users")
WANT=$(printf 'before-backup-%s,' 1 2 3; printf 'after-backup-%s,' 1 2 3 4 5)
[[ $GOT == "${WANT%,}" ]] || fail "rows after the restore: $GOT (want ${WANT%,})"
[[ $(sql "SELECT count(*) FROM users") -eq $EXPECT ]] || fail "count"
start_hub
api GET "/api/v1/users?limit=50" | python3 -c '
import json, sys
names = [u["username"] for u in json.load(sys.stdin)["users"]]
assert len(names) == 8 and not any(n.startswith("too-late") for n in names), names' || fail "the hub after the restore"
ok "exactly the $EXPECT users written before $TARGET are back, the hub serves them"
echo "total $(python3 -c "print(round($EPOCHREALTIME - $T_START, 1))") s"
