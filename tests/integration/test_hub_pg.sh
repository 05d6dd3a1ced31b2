#!/usr/bin/env bash
# Runs the hub store and API suites against a real PostgreSQL 15: initdb into a temp dir
# (as the postgres user when we are root: initdb refuses root), a server on 127.0.0.1 and an
# ephemeral port, VEIL_PG_URL pointing at it; then stops it and removes everything.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
BIN=${VEIL_BIN:?VEIL_BIN not set}
if [[ ! -x $PGBIN/initdb ]]; then
    echo "SKIP: no PostgreSQL binaries at $PGBIN"
    exit 77
fi
for t in test_hub_store test_hub_api test_hub_api_patch test_hub_billing_store test_hub_access test_hub_bot test_hub_bot_customer test_hub_bot_admin test_hub_audit_chain test_hub_analysis test_hub_store_seal test_hub_store_reconnect test_hub_fleet_store; do
    [[ -x $BIN/$t ]] || { echo "missing $BIN/$t"; exit 1; }
done

TMP=$(mktemp -d /tmp/veil-pg.XXXXXX)
chmod 755 "$TMP"
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
cleanup() {
    as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$TMP"
fi

PORT=$(python3 "$(dirname "$0")/support/free_port.py")
as_pg "$PGBIN/initdb" -D "$TMP/data" -U veil --auth=trust -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1 ||
    { cat "$TMP/initdb.log"; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/pg.log" -w -t 60 \
    -o "-k $TMP -c listen_addresses=127.0.0.1 -p $PORT -c fsync=off -c max_connections=200" start >/dev/null ||
    { cat "$TMP/pg.log"; exit 1; }
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U veil veil_test

export VEIL_PG_URL="postgresql://veil@127.0.0.1:$PORT/veil_test"
echo "== PostgreSQL on port $PORT"
rc=0
"$BIN/test_hub_store" || rc=1
"$BIN/test_hub_api" || rc=1
"$BIN/test_hub_api_patch" || rc=1
"$BIN/test_hub_billing_store" || rc=1
"$BIN/test_hub_access" || rc=1 # the sync SQL against the domain rule
"$BIN/test_hub_bot" || rc=1     # the bot's own tables
"$BIN/test_hub_bot_customer" || rc=1 # the customer notices' SQL, the kept promo
"$BIN/test_hub_bot_admin" || rc=1 # the admin grant and the broadcast tables
"$BIN/test_hub_audit_chain" || rc=1 # the audit hash chain: tampering, migration, concurrent writers
"$BIN/test_hub_analysis" || rc=1 # findings and the detectors' SQL
"$BIN/test_hub_store_seal" || rc=1 # column encryption: raw rows, lookups, rotation, wrong key
"$BIN/test_hub_store_reconnect" || rc=1 # connections cut under the pool: reconnect, ERR_CLOSED (503)
"$BIN/test_hub_fleet_store" || rc=1 # holds, the silent mark, countries (hub/fleet)
# The issue's load test: 50 parallel API clients creating users and pushing usage for 30 s,
# on SQLite and on this PostgreSQL: no 5xx, no lost update.
VEIL_HUB_LOAD_SECONDS=${VEIL_HUB_LOAD_SECONDS:-30} VEIL_HUB_LOAD_ONLY=1 "$BIN/test_hub_api" || rc=1
if [[ $rc -ne 0 ]]; then
    tail -n 50 "$TMP/pg.log"
fi
exit $rc
