#!/usr/bin/env bash
# hub -> PostgreSQL over TLS with sslmode=verify-full (issue 16 item 3): PostgreSQL 15 with ssl=on,
# a server certificate from a throwaway CA made here, and pg_hba taking TCP only as hostssl;
# veil-hub with ?sslmode=verify-full&sslrootcert=<CA> starts, and pg_stat_ssl (read on the
# server over its Unix socket) shows every hub connection encrypted; trusting another CA, or
# asking for a name the certificate does not carry, stops the hub at start.
source "$(dirname "$0")/support/lib.sh"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[[ -x $PGBIN/initdb && -x $PGBIN/psql ]] || skip_all "no PostgreSQL binaries at $PGBIN"
command -v openssl >/dev/null || skip_all "openssl not installed"
chmod 755 "$WORK"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cd "$WORK"
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=veil-pg-test-ca 2>/dev/null
openssl req -x509 $ec -keyout other.key -out other.crt -days 2 -subj /CN=other-ca 2>/dev/null
openssl req $ec -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 \
  -extfile server.ext 2>/dev/null
chmod 600 server.key
mkdir pgdata-parent && chmod 755 pgdata-parent
if [[ $(id -u) -eq 0 ]]; then chown postgres "$WORK" server.key server.crt pgdata-parent; fi

PORT=$(free_port)
as_pg "$PGBIN/initdb" -D pgdata-parent/data -U veil --auth=trust -E UTF8 --no-locale >initdb.log 2>&1 ||
  fail "initdb: $(tail -5 initdb.log)"
cat >pgdata-parent/data/pg_hba.conf <<HBA
local     all all              trust
hostssl   all all 127.0.0.1/32 trust
hostnossl all all 127.0.0.1/32 reject
HBA
PGDATA_DIR=$WORK/pgdata-parent/data
stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate stop >/dev/null 2>&1 || true; }
trap 'rc=$?; set +e; stop_pg; (exit $rc); cleanup' EXIT # set +e: a failing (exit) would skip cleanup
as_pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$WORK/pg.log" -w -t 60 \
  -o "-k $WORK -c listen_addresses=127.0.0.1 -p $PORT -c fsync=off -c ssl=on -c ssl_cert_file=$WORK/server.crt -c ssl_key_file=$WORK/server.key" \
  start >/dev/null || fail "PostgreSQL with ssl=on did not start: $(tail -5 "$WORK/pg.log")"
as_pg "$PGBIN/createdb" -h "$WORK" -p "$PORT" -U veil veil
sql() { as_pg "$PGBIN/psql" -h "$WORK" -p "$PORT" -U veil -d veil -Atc "$1"; }

HPORT=$(free_port)
hubcfg() {
  cat >"$1.json" <<JSON
{"listen": "127.0.0.1", "port": $HPORT, "threads": 2, "database": "$2", "db_pool": 3,
 "admin_token": "boot-admin-token-0123456789", "fleet": {"dead_after": 0, "probe_interval": 0}}
JSON
}
URL="postgresql://veil@localhost:$PORT/veil?sslmode=verify-full&sslrootcert=$WORK/ca.crt"
hubcfg hub "$URL"
bg hub "$VEIL_BIN/veil-hub" -c hub.json
wait_port "$HPORT"
curl -fsS -H "Authorization: Bearer boot-admin-token-0123456789" -H 'Content-Type: application/json' \
  --data-binary '{"username":"alice"}' "http://127.0.0.1:$HPORT/api/v1/users" >/dev/null || fail "the hub cannot write"
counts=$(sql "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl), max(s.version)
              FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.client_addr IS NOT NULL")
IFS='|' read -r enc plain ver <<<"$counts"
[ "${enc:-0}" -ge 1 ] && [ "$plain" = 0 ] || fail "pg_stat_ssl: encrypted=$enc plain=$plain"
ok "pg_stat_ssl: $enc hub connection(s) encrypted ($ver), none in the clear; sslmode=verify-full against the test CA"
kill "$LASTPID"; wait "$LASTPID" 2>/dev/null || true

try_start() { # try_start NAME URL: the hub must exit non-zero on its own
  hubcfg "$1" "$2"
  local rc=0
  timeout 20 "$VEIL_BIN/veil-hub" -c "$1.json" >"$1.log" 2>&1 || rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "$1: the hub started (rc $rc): $(tail -3 "$1.log")"
}
try_start other-ca "postgresql://veil@localhost:$PORT/veil?sslmode=verify-full&sslrootcert=$WORK/other.crt"
try_start wrong-name "postgresql://veil@wrong.example:$PORT/veil?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=$WORK/ca.crt"
try_start plaintext "postgresql://veil@localhost:$PORT/veil?sslmode=disable"
ok "refused at start: a server certificate from another CA, a host name not in the certificate, plaintext (hostnossl reject)"
