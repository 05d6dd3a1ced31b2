/* The PostgreSQL backend after its connection is cut (a failover, a restart): a transaction
 * that finds its pooled connection dead at BEGIN reconnects and goes through; a statement that
 * loses the connection, or a server that cannot be reached, is ERR_CLOSED (the API's retryable
 * 503), never ERR_IO (500). Needs VEIL_PG_URL (integration_test_hub_pg runs it). */
#include <libpq-fe.h>

#include "core/err.h"
#include "hub_test_db.h"

#define T0 1764115200

/* Ends every other session on the database, as a server restart or failover would. */
static void terminate_others(void)
{
    PGconn *db = PQconnectdb(hub_test_pg_url());
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    PGresult *r = PQexec(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                             " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(atoi(PQgetvalue(r, 0, 0)) >= 1);
    PQclear(r);
    PQfinish(db);
}

static void test_reconnect_at_begin(void **state)
{
    struct store *st = hub_test_get(state);
    struct hub_user u;
    hub_test_user(&u, "payer", 1);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    int64_t bal = 0;
    assert_int_equal(store_user_add_balance(st, u.id, 100, T0, &bal, NULL), 0);
    terminate_others();
    /* The pool's only connection is dead: BEGIN fails, the transaction is retried on a new one. */
    assert_int_equal(store_user_add_balance(st, u.id, 50, T0, &bal, NULL), 0);
    assert_int_equal(bal, 150);
    terminate_others();
    /* A read outside a transaction has nothing to retry: ERR_CLOSED once, then it works. */
    struct hub_user got;
    int rc = store_user_get(st, u.id, &got);
    assert_true(rc == 0 || rc == ERR_CLOSED);
    assert_int_equal(store_user_get(st, u.id, &got), 0);
    assert_int_equal(got.balance_minor, 150);
}

static void test_cut_again_and_again(void **state)
{
    struct store *st = hub_test_get(state);
    /* Nothing listens on port 1: a store cannot be opened there at all. */
    struct store *none = NULL;
    assert_true(store_open("postgresql://veil@127.0.0.1:1/veil?connect_timeout=2", 1, &none) < 0);
    struct hub_user u;
    hub_test_user(&u, "again", 2);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    int64_t bal = 0;
    for (int i = 1; i <= 3; i++) { /* each cut is healed by the next transaction */
        terminate_others();
        assert_int_equal(store_user_add_balance(st, u.id, 7, T0, &bal, NULL), 0);
        assert_int_equal(bal, 7 * i);
    }
}

static int setup_pg_pool1(void **state)
{
    const char *url = hub_test_pg_url();
    *state = url ? hub_test_store(url, 1) : NULL;
    return url && *state == NULL ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_reconnect_at_begin, setup_pg_pool1, hub_test_teardown),
        cmocka_unit_test_setup_teardown(test_cut_again_and_again, setup_pg_pool1, hub_test_teardown),
    };
    return HUB_TEST_RUN_PG_GROUP("store_reconnect_pg", pg_tests);
}
