/* One contract suite for both storage backends: SQLite :memory: always, PostgreSQL when
 * VEIL_PG_URL is set (tests/integration/test_hub_pg.sh sets it). Each test gets a fresh, migrated
 * database. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define T0 1764115200 /* 2025-11-26 00:00:00 UTC */

static const struct store_audit AUD = {.actor = "test", .action = "t", .source_ip = "127.0.0.1"};

static int64_t mk_plan(struct store *st, const char *name, int64_t days, int64_t quota, enum hub_reset reset)
{
    struct hub_plan p = {0};
    snprintf(p.name, sizeof p.name, "%s", name);
    p.duration_days = days;
    p.quota_bytes = quota;
    p.device_limit = 3;
    p.reset = reset;
    p.enabled = true;
    p.n_prices = 2;
    strcpy(p.prices[0].currency, "RUB");
    p.prices[0].amount_minor = 29900;
    strcpy(p.prices[1].currency, "USD");
    p.prices[1].amount_minor = 399;
    assert_int_equal(store_plan_create(st, &p, T0, &AUD), 0);
    assert_true(p.id > 0);
    return p.id;
}

static void test_migrate(void **state)
{
    struct store *st = hub_test_get(state);
    int v = 0;
    assert_int_equal(store_migrate(st, &v), 0); /* idempotent */
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    /* A database from a newer hub is refused. */
    struct store_conn sc;
    store__acquire(st, &sc);
    assert_int_equal(store__exec(&sc, "INSERT INTO schema_version (version) VALUES (99)", NULL, 0, NULL), 0);
    store__release(&sc);
    assert_int_equal(store_migrate(st, &v), ERR_UNSUPPORTED);
}

/* A database at schema 1 with data is upgraded in place. */
static void test_upgrade(void **state)
{
    struct store *st = hub_test_get(state);
    struct store_conn sc;
    /* Back to an empty database, then only migration 1. */
    if (strcmp(store_backend(st), "sqlite") == 0) {
        store_close(st);
        st = *state = hub_test_store_at("sqlite::memory:", 1, 1);
    } else {
        store__acquire(st, &sc);
        assert_int_equal(store__exec(&sc, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;", NULL, 0, NULL), 0);
        assert_int_equal(store__migrate_to(&sc, 1, NULL), 0);
        store__release(&sc);
    }
    assert_non_null(st);
    struct store_res r;
    store__acquire(st, &sc);
    assert_int_equal(store__exec(&sc,
                                 "INSERT INTO nodes (name, address, port, country, public_key, short_ids, server_names,"
                                 " token_hash, created_at) VALUES ('old', 'a.b', 443, '', 'k', '', '', 'h', 1)",
                                 NULL, 0, NULL),
                     0);
    assert_int_equal(store__exec(&sc, "SELECT version FROM schema_version", NULL, 0, &r), 0);
    assert_string_equal(store__cell(&r, 0, 0), "1");
    store__res_free(&r);
    store__release(&sc);
    int v = 0;
    assert_int_equal(store_migrate(st, &v), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    struct hub_node n;
    assert_int_equal(store_node_by_token(st, "h", &n), 0);
    assert_string_equal(n.name, "old");
    assert_int_equal(n.usage_percent, 100); /* the new column's default */
}

static void test_user_crud(void **state)
{
    struct store *st = hub_test_get(state);
    struct hub_user u, v, dup;
    hub_test_user(&u, "alice", 1);
    u.telegram_id = 777;
    assert_int_equal(store_user_create(st, &u, T0, &AUD), 0);
    assert_true(u.id > 0);
    assert_true(u.revision > 0);
    assert_int_equal(store_user_get(st, u.id, &v), 0);
    assert_string_equal(v.username, "alice");
    assert_string_equal(v.uuid, u.uuid);
    assert_int_equal(v.telegram_id, 777);
    assert_true(v.enabled);
    assert_int_equal(v.created_at, T0);
    assert_int_equal(store_user_by_token(st, u.sub_token, &v), 0);
    assert_int_equal(v.id, u.id);
    assert_int_equal(store_user_by_telegram(st, 777, &v), 0);
    assert_int_equal(store_user_get(st, 9999, &v), ERR_NOT_FOUND);
    assert_int_equal(store_user_by_token(st, "nope", &v), ERR_NOT_FOUND);

    /* Every unique column is enforced. */
    hub_test_user(&dup, "alice", 2);
    assert_int_equal(store_user_create(st, &dup, T0, NULL), ERR_EXISTS);
    hub_test_user(&dup, "bob", 1);
    strcpy(dup.sub_token, "other-token-000000001");
    strcpy(dup.referral_code, "XX");
    assert_int_equal(store_user_create(st, &dup, T0, NULL), ERR_EXISTS); /* uuid */
    hub_test_user(&dup, "bob", 3);
    dup.telegram_id = 777;
    assert_int_equal(store_user_create(st, &dup, T0, NULL), ERR_EXISTS);
    hub_test_user(&dup, "bob", 3);
    dup.referrer_id = 4242;
    assert_int_equal(store_user_create(st, &dup, T0, NULL), ERR_NOT_FOUND);
    dup.referrer_id = u.id;
    assert_int_equal(store_user_create(st, &dup, T0, NULL), 0);

    /* Update, enable/disable, rotations bump the revision. */
    v = u;
    strcpy(v.language, "en");
    v.telegram_id = 0;
    strcpy(v.username, "not-written"); /* not named in the fields: left alone */
    struct hub_user w;
    assert_int_equal(store_user_patch(st, u.id, &v, HUB_USER_F_LANGUAGE | HUB_USER_F_TELEGRAM_ID, T0 + 1, &AUD, &w), 0);
    assert_string_equal(w.language, "en");
    assert_string_equal(w.username, u.username);
    assert_int_equal(store_user_patch(st, 999999, &v, HUB_USER_F_LANGUAGE, T0 + 1, &AUD, NULL), ERR_NOT_FOUND);
    assert_int_equal(store_user_get(st, u.id, &w), 0);
    assert_string_equal(w.username, u.username);
    assert_string_equal(w.language, "en");
    assert_int_equal(w.telegram_id, 0);
    assert_true(w.revision > u.revision);
    int64_t rev = w.revision;
    assert_int_equal(store_user_set_enabled(st, u.id, false, T0 + 2, &AUD), 0);
    assert_int_equal(store_user_get(st, u.id, &w), 0);
    assert_false(w.enabled);
    assert_true(w.revision > rev);
    assert_int_equal(store_user_set_token(st, u.id, "new-token-0000000000001", &AUD), 0);
    assert_int_equal(store_user_by_token(st, u.sub_token, &w), ERR_NOT_FOUND); /* old link revoked */
    assert_int_equal(store_user_by_token(st, "new-token-0000000000001", &w), 0);
    assert_int_equal(store_user_set_uuid(st, u.id, "11111111-2222-4333-8444-555555555555", T0 + 3, &AUD), 0);
    assert_int_equal(store_user_get(st, u.id, &w), 0);
    assert_string_equal(w.uuid, "11111111-2222-4333-8444-555555555555");
    assert_int_equal(store_user_set_enabled(st, 9999, true, T0, NULL), ERR_NOT_FOUND);

    /* Balance: atomic add, never negative. */
    int64_t bal = 0;
    assert_int_equal(store_user_add_balance(st, u.id, 500, T0, &bal, &AUD), 0);
    assert_int_equal(bal, 500);
    assert_int_equal(store_user_add_balance(st, u.id, -501, T0, &bal, &AUD), ERR_RANGE);
    assert_int_equal(store_user_add_balance(st, u.id, -500, T0, &bal, NULL), 0);
    assert_int_equal(bal, 0);
    assert_int_equal(store_user_add_balance(st, 9999, 1, T0, &bal, NULL), ERR_NOT_FOUND);

    /* Delete: gone, referrals detached, the referee remains. */
    assert_int_equal(store_user_delete(st, u.id, T0 + 4, &AUD), 0);
    assert_int_equal(store_user_get(st, u.id, &w), ERR_NOT_FOUND);
    assert_int_equal(store_user_get(st, dup.id, &w), 0);
    assert_int_equal(w.referrer_id, 0);
    assert_int_equal(store_user_delete(st, u.id, T0 + 4, &AUD), ERR_NOT_FOUND);

    /* Audit rows were written with the changes. */
    struct store_audit_row *rows;
    size_t n;
    assert_int_equal(store_audit_list(st, 100, &rows, &n), 0);
    assert_true(n >= 7);
    assert_string_equal(rows[0].actor, "test");
    assert_string_equal(rows[0].source_ip, "127.0.0.1");
    store_audit_rows_free(rows, n);
}

static void test_user_list(void **state)
{
    struct store *st = hub_test_get(state);
    char name[32];
    for (int i = 0; i < 25; i++) {
        struct hub_user u;
        snprintf(name, sizeof name, "%s%02d", i % 2 ? "Odd_" : "even", i);
        hub_test_user(&u, name, 100 + i);
        u.telegram_id = 5000 + i;
        assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    }
    struct hub_user *list;
    size_t n;
    int64_t total;
    assert_int_equal(store_user_list(st, NULL, 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 10);
    assert_int_equal(total, 25);
    assert_string_equal(list[0].username, "even00");
    free(list);
    assert_int_equal(store_user_list(st, NULL, 20, 10, &list, &n, &total), 0);
    assert_int_equal(n, 5);
    free(list);
    assert_int_equal(store_user_list(st, "odd", 0, 100, &list, &n, &total), 0); /* case-insensitive */
    assert_int_equal(n, 12);
    assert_int_equal(total, 12);
    free(list);
    assert_int_equal(store_user_list(st, "5003", 0, 100, &list, &n, &total), 0); /* telegram id */
    assert_int_equal(n, 1);
    assert_string_equal(list[0].username, "Odd_03");
    free(list);
    assert_int_equal(store_user_list(st, "%", 0, 100, &list, &n, &total), 0); /* LIKE chars are literal */
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(store_user_list(st, "d_0", 0, 100, &list, &n, &total), 0);
    assert_int_equal(n, 5); /* Odd_01, 03, 05, 07, 09 */
    free(list);
    assert_int_equal(store_user_list(st, "d\"0", 0, 100, &list, &n, &total), 0); /* quotes are literal too */
    assert_int_equal(n, 0);
    free(list);
    /* Short searches (under the trigram index's 3 characters) still find substrings. */
    assert_int_equal(store_user_list(st, "N1", 0, 100, &list, &n, &total), 0);
    assert_int_equal(n, 5); /* even10, 12, ..., 18, in id order */
    assert_int_equal(total, 5);
    assert_string_equal(list[0].username, "even10");
    free(list);
    /* The referral code; the UUID (exactly, any case). */
    assert_int_equal(store_user_list(st, "rc0000012", 0, 100, &list, &n, &total), 0);
    assert_int_equal(n, 5);
    free(list);
    assert_int_equal(store_user_list(st, "00000000-0000-4000-8000-0000000001AB", 0, 100, &list, &n, &total), 0);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(store_user_list(st, "00000000-0000-4000-8000-000000000107", 0, 100, &list, &n, &total), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].username, "Odd_07");
    free(list);
    /* Pages of a search: the count is the whole match; past the last page it still is. */
    assert_int_equal(store_user_list(st, "odd", 10, 5, &list, &n, &total), 0);
    assert_int_equal(n, 2);
    assert_int_equal(total, 12);
    assert_string_equal(list[0].username, "Odd_21");
    free(list);
    assert_int_equal(store_user_list(st, "odd", 40, 5, &list, &n, &total), 0);
    assert_int_equal(n, 0);
    assert_int_equal(total, 12);
    free(list);
    assert_int_equal(store_user_list(st, NULL, 40, 5, &list, &n, &total), 0);
    assert_int_equal(n, 0);
    assert_int_equal(total, 25);
    free(list);
    /* The dashboard's count stops at offset + cap; the page is the same. */
    bool more = false;
    assert_int_equal(store_user_list_capped(st, "odd", 0, 3, 5, &list, &n, &total, &more), 0);
    assert_int_equal(n, 3);
    assert_int_equal(total, 5);
    assert_true(more);
    assert_string_equal(list[0].username, "Odd_01");
    free(list);
    assert_int_equal(store_user_list_capped(st, "odd", 9, 3, 5, &list, &n, &total, &more), 0);
    assert_int_equal(n, 3);
    assert_int_equal(total, 12);
    assert_false(more);
    assert_string_equal(list[0].username, "Odd_19");
    free(list);
    assert_int_equal(store_user_list_capped(st, "od", 0, 50, 1000, &list, &n, &total, &more), 0);
    assert_int_equal(n, 0); /* under 3 characters: whole names only (the API above still scans) */
    assert_int_equal(total, 0);
    assert_false(more);
    free(list);
    struct hub_user shorty;
    hub_test_user(&shorty, "Al", 300);
    assert_int_equal(store_user_create(st, &shorty, T0, NULL), 0);
    assert_int_equal(store_user_list_capped(st, "Al", 0, 50, 1000, &list, &n, &total, &more), 0);
    assert_int_equal(n, 1);
    assert_int_equal(total, 1);
    assert_string_equal(list[0].username, "Al");
    free(list);
    assert_int_equal(store_user_delete(st, shorty.id, T0, NULL), 0);
    assert_int_equal(store_user_list_capped(st, "odd", 40, 5, 5, &list, &n, &total, &more), 0);
    assert_int_equal(n, 0);
    assert_int_equal(total, 12);
    assert_false(more);
    free(list);
    assert_int_equal(store_user_list_capped(st, "5003", 0, 5, 1000, &list, &n, &total, &more), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].username, "Odd_03");
    free(list);
    assert_int_equal(store_user_list_capped(st, NULL, 0, 5, 3, &list, &n, &total, &more), 0);
    assert_int_equal(total, 25); /* no search: exact */
    assert_false(more);
    free(list);
    /* The index follows renames and deletions. */
    struct hub_user v = {0};
    snprintf(v.username, sizeof v.username, "Renamed_07");
    assert_int_equal(store_user_list(st, "Odd_07", 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 1);
    int64_t id7 = list[0].id;
    free(list);
    assert_int_equal(store_user_patch(st, id7, &v, HUB_USER_F_USERNAME, T0 + 1, NULL, NULL), 0);
    assert_int_equal(store_user_list(st, "odd_07", 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(store_user_list(st, "named_0", 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, id7);
    free(list);
    assert_int_equal(store_user_delete(st, id7, T0 + 2, NULL), 0);
    assert_int_equal(store_user_list(st, "named_0", 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
    free(list);
}

static void test_plans(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t id = mk_plan(st, "Month", 30, 0, HUB_RESET_NONE);
    struct hub_plan p;
    assert_int_equal(store_plan_get(st, id, &p), 0);
    assert_string_equal(p.name, "Month");
    assert_int_equal(p.n_prices, 2);
    assert_string_equal(p.prices[0].currency, "RUB");
    assert_int_equal(p.prices[0].amount_minor, 29900);
    assert_int_equal(p.device_limit, 3);
    struct hub_plan dup = p;
    assert_int_equal(store_plan_create(st, &dup, T0, NULL), ERR_EXISTS);
    p.n_prices = 1;
    p.prices[0].amount_minor = 19900;
    p.reset = HUB_RESET_MONTHLY;
    assert_int_equal(store_plan_update(st, &p, T0, &AUD), 0);
    assert_int_equal(store_plan_get(st, id, &p), 0);
    assert_int_equal(p.n_prices, 1);
    assert_int_equal(p.prices[0].amount_minor, 19900);
    assert_int_equal(p.reset, HUB_RESET_MONTHLY);
    int64_t year = mk_plan(st, "Year", 365, 0, HUB_RESET_NONE);
    struct hub_plan *list;
    size_t n;
    assert_int_equal(store_plan_list(st, &list, &n), 0);
    assert_int_equal(n, 2);
    free(list);
    /* In use: cannot be deleted. */
    struct hub_user u;
    hub_test_user(&u, "carol", 1);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    assert_int_equal(store_sub_grant(st, u.id, id, T0, NULL, NULL), 0);
    assert_int_equal(store_plan_delete(st, id, T0, &AUD), ERR_BAD_STATE);
    struct hub_plan ghost = p;
    ghost.id = 999;
    assert_int_equal(store_plan_update(st, &ghost, T0, NULL), ERR_NOT_FOUND);
    assert_int_equal(store_plan_delete(st, 999, T0, NULL), ERR_NOT_FOUND);
    assert_int_equal(store_plan_delete(st, year, T0, &AUD), 0);
}

static void test_subscriptions(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t plan = mk_plan(st, "Month", 30, 1000, HUB_RESET_NONE);
    struct hub_user u;
    hub_test_user(&u, "dave", 1);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    struct hub_sub s, t;
    assert_int_equal(store_sub_grant(st, u.id, plan, T0, &s, &AUD), 0);
    assert_int_equal(s.ends_at, T0 + 30 * HUB_DAY);
    assert_int_equal(s.state, HUB_SUB_ACTIVE);
    assert_int_equal(s.quota_bytes, 1000);
    assert_int_equal(store_sub_grant(st, u.id, plan, T0, &t, NULL), ERR_EXISTS);
    assert_int_equal(store_sub_grant(st, 999, plan, T0, &t, NULL), ERR_NOT_FOUND);
    assert_int_equal(store_sub_grant(st, u.id, 999, T0, &t, NULL), ERR_NOT_FOUND);
    assert_int_equal(store_sub_extend(st, s.id, 10, T0 + 5, &t, &AUD), 0);
    assert_int_equal(t.ends_at, T0 + 40 * HUB_DAY);
    assert_int_equal(store_sub_current(st, u.id, &t), 0);
    assert_int_equal(t.id, s.id);
    assert_int_equal(store_sub_revoke(st, s.id, T0 + 6, &t, &AUD), 0);
    assert_int_equal(t.state, HUB_SUB_REVOKED);
    assert_int_equal(store_sub_revoke(st, s.id, T0 + 6, &t, NULL), ERR_BAD_STATE);
    assert_int_equal(store_sub_extend(st, s.id, 10, T0 + 6, &t, NULL), ERR_BAD_STATE);
    /* After a revoke a new grant is possible; an ended one is closed automatically. */
    assert_int_equal(store_sub_grant(st, u.id, plan, T0 + 7, &s, NULL), 0);
    assert_int_equal(store_sub_grant(st, u.id, plan, T0 + 31 * HUB_DAY, &t, NULL), 0);
    struct hub_sub *list;
    size_t n;
    assert_int_equal(store_sub_list(st, u.id, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(list[1].state, HUB_SUB_EXPIRED);
    free(list);
    /* A disabled plan cannot be granted. */
    struct hub_plan p;
    assert_int_equal(store_plan_get(st, plan, &p), 0);
    p.enabled = false;
    assert_int_equal(store_plan_update(st, &p, T0, NULL), 0);
    struct hub_user u2;
    hub_test_user(&u2, "erin", 2);
    assert_int_equal(store_user_create(st, &u2, T0, NULL), 0);
    assert_int_equal(store_sub_grant(st, u2.id, plan, T0, &t, NULL), ERR_BAD_STATE);
}

/* Cells come back as the same text on both backends: integers at the edges of int64, NULLs, a
 * row of NULLs only, text with a multi-byte character, and a row wider than the SQLite backend's
 * per-row scratch (48 columns). */
static void test_cells_text(void **state)
{
    struct store *st = hub_test_get(state);
    struct store_conn sc;
    struct store_res r;
    store__acquire(st, &sc);
    assert_int_equal(store__exec(&sc,
                                 "SELECT -9223372036854775807 - 1, 9223372036854775807, 0, -1, NULL, 'a\xc3\xa9-'"
                                 " UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL",
                                 NULL, 0, &r),
                     0);
    assert_int_equal(r.nrows, 2);
    assert_string_equal(store__cell(&r, 0, 0), "-9223372036854775808");
    assert_string_equal(store__cell(&r, 0, 1), "9223372036854775807");
    assert_string_equal(store__cell(&r, 0, 2), "0");
    assert_string_equal(store__cell(&r, 0, 3), "-1");
    assert_null(store__cell(&r, 0, 4));
    assert_string_equal(store__cell(&r, 0, 5), "a\xc3\xa9-");
    for (size_t c = 0; c < 6; c++)
        assert_null(store__cell(&r, 1, c));
    store__res_free(&r);
    char sql[1024] = "SELECT 0";
    for (int c = 1; c < 60; c++)
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql), ", %d", c * 1000);
    assert_int_equal(store__exec(&sc, sql, NULL, 0, &r), 0);
    assert_int_equal(r.ncols, 60);
    assert_string_equal(store__cell(&r, 0, 0), "0");
    assert_string_equal(store__cell(&r, 0, 59), "59000");
    store__res_free(&r);
    store__release(&sc);
}

/* The current subscription is read in index order (schema 20), not sorted in a temporary
 * B-tree per query: the uncached /sub runs this on every request. */
static void test_sub_current_plan(void **state)
{
    struct store *st = hub_test_get(state);
    if (strcmp(store_backend(st), "sqlite") != 0)
        return; /* PostgreSQL chooses by table size; its plan is not asserted */
    struct store_conn sc;
    struct store_res r;
    store__acquire(st, &sc);
    assert_int_equal(store__exec(&sc,
                                 "EXPLAIN QUERY PLAN SELECT id FROM subscriptions WHERE user_id = 1"
                                 " ORDER BY " STORE_SUB_CURRENT_ORDER " LIMIT 1",
                                 NULL, 0, &r),
                     0);
    bool uses_index = false;
    for (size_t i = 0; i < r.nrows; i++) {
        const char *detail = store__cell(&r, i, r.ncols - 1);
        assert_null(strstr(detail, "TEMP B-TREE"));
        uses_index = uses_index || strstr(detail, "subscriptions_user_current") != NULL;
    }
    assert_true(uses_index);
    store__res_free(&r);
    store__release(&sc);
}

static void test_nodes_tokens(void **state)
{
    struct store *st = hub_test_get(state);
    struct hub_node n = {0};
    strcpy(n.name, "de-1");
    strcpy(n.address, "de1.example.com");
    n.port = 443;
    strcpy(n.country, "DE");
    strcpy(n.public_key, "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw");
    n.n_short_ids = 2;
    strcpy(n.short_ids[0], "6ba85179e30d4fc2");
    strcpy(n.short_ids[1], "");
    n.n_server_names = 1;
    strcpy(n.server_names[0], "www.microsoft.com");
    n.weight = 100;
    assert_int_equal(store_node_create(st, &n, "aa11", T0, &AUD), 0);
    struct hub_node m;
    assert_int_equal(store_node_by_token(st, "aa11", &m), 0);
    assert_int_equal(m.id, n.id);
    assert_int_equal(m.n_short_ids, 1); /* the empty id at the end does not survive a join */
    assert_string_equal(m.short_ids[0], "6ba85179e30d4fc2");
    assert_string_equal(m.server_names[0], "www.microsoft.com");
    assert_int_equal(m.port, 443);
    assert_int_equal(store_node_by_token(st, "bb22", &m), ERR_NOT_FOUND);
    struct hub_node dup = n;
    assert_int_equal(store_node_create(st, &dup, "cc33", T0, NULL), ERR_EXISTS);
    assert_int_equal(store_node_set(st, n.id, 5, 1, HUB_HEALTH_DOWN, T0, &AUD), 0);
    assert_int_equal(store_node_get(st, n.id, &m), 0);
    assert_int_equal(m.weight, 5);
    assert_true(m.draining);
    assert_int_equal(m.health, HUB_HEALTH_DOWN);
    assert_int_equal(store_node_set(st, n.id, -1, 0, -1, T0, NULL), 0);
    assert_int_equal(store_node_get(st, n.id, &m), 0);
    assert_int_equal(m.weight, 5);
    assert_false(m.draining);
    assert_int_equal(store_node_set(st, 999, 1, -1, -1, T0, NULL), ERR_NOT_FOUND);
    m.port = 8443;
    m.n_server_names = 2;
    strcpy(m.server_names[1], "www.apple.com");
    m.usage_percent = 150;
    assert_int_equal(store_node_update(st, &m, T0, &AUD), 0);
    struct hub_node k;
    assert_int_equal(store_node_get(st, n.id, &k), 0);
    assert_int_equal(k.port, 8443);
    assert_int_equal(k.n_server_names, 2);
    assert_string_equal(k.server_names[1], "www.apple.com");
    assert_int_equal(k.usage_percent, 150);
    assert_int_equal(store_node_set_token(st, n.id, "aa22", T0, &AUD), 0);
    assert_int_equal(store_node_by_token(st, "aa11", &k), ERR_NOT_FOUND);
    assert_int_equal(store_node_by_token(st, "aa22", &k), 0);
    assert_int_equal(store_node_set_token(st, 999, "x", T0, NULL), ERR_NOT_FOUND);
    k.id = 999;
    assert_int_equal(store_node_update(st, &k, T0, NULL), ERR_NOT_FOUND);
    struct hub_node *list;
    size_t cnt;
    assert_int_equal(store_node_list(st, &list, &cnt), 0);
    assert_int_equal(cnt, 1);
    free(list);
    assert_int_equal(store_node_delete(st, n.id, T0, &AUD), 0);
    assert_int_equal(store_node_delete(st, n.id, T0, &AUD), ERR_NOT_FOUND);

    enum hub_role role;
    int64_t id;
    assert_int_equal(store_token_add(st, "ops", "h1", HUB_ROLE_SUPPORT, T0, &id), 0);
    assert_int_equal(store_token_lookup(st, "h1", &role, &id), 0);
    assert_int_equal(role, HUB_ROLE_SUPPORT);
    assert_int_equal(store_token_lookup(st, "h2", &role, &id), ERR_NOT_FOUND);
    assert_int_equal(store_token_ensure(st, "boot", "h2", HUB_ROLE_ADMIN, T0), 0);
    assert_int_equal(store_token_ensure(st, "boot", "h2", HUB_ROLE_ADMIN, T0), 0);
    assert_int_equal(store_token_lookup(st, "h2", &role, &id), 0);
    assert_int_equal(role, HUB_ROLE_ADMIN);
    assert_int_equal(store_token_add(st, "again", "h2", HUB_ROLE_ADMIN, T0, &id), ERR_EXISTS);
    struct store_token *toks;
    size_t nt;
    assert_int_equal(store_token_list(st, &toks, &nt), 0);
    assert_int_equal(nt, 2);
    assert_string_equal(toks[0].name, "ops");
    assert_int_equal(toks[0].role, HUB_ROLE_SUPPORT);
    int64_t ops_id = toks[0].id;
    free(toks);
    assert_int_equal(store_token_revoke(st, ops_id, T0, &AUD), 0);
    assert_int_equal(store_token_lookup(st, "h1", &role, &id), ERR_NOT_FOUND);
    assert_int_equal(store_token_revoke(st, ops_id, T0, &AUD), ERR_BAD_STATE);
    assert_int_equal(store_token_revoke(st, 999, T0, &AUD), ERR_NOT_FOUND);
    assert_int_equal(store_token_list(st, &toks, &nt), 0);
    assert_true(toks[0].revoked);
    free(toks);

    /* Limits (schema 10): expiry, scopes, a session under a parent, the TOTP secret and step. */
    int64_t boot_id = 0, sess_id = 0;
    struct store_token_auth ta;
    assert_int_equal(store_token_auth(st, "h2", &ta), 0);
    boot_id = ta.id;
    assert_false(ta.totp);
    assert_int_equal(ta.expires_at, 0);
    struct store_token_new tnew = {.name = "session",
                                   .hash = "h3",
                                   .role = HUB_ROLE_ADMIN,
                                   .now = T0,
                                   .expires_at = T0 + 60,
                                   .scopes = "read,users",
                                   .parent_id = boot_id};
    assert_int_equal(store_token_add_ex(st, &tnew, &sess_id), 0);
    assert_int_equal(store_token_auth(st, "h3", &ta), 0);
    assert_int_equal(ta.id, sess_id);
    assert_int_equal(ta.expires_at, T0 + 60);
    assert_string_equal(ta.scopes, "read,users");
    assert_int_equal(ta.parent_id, boot_id);
    char hex[129];
    int64_t step = -1;
    assert_int_equal(store_token_totp_get(st, boot_id, hex, sizeof hex, &step), ERR_NOT_FOUND);
    assert_int_equal(store_token_totp_set(st, boot_id, "3132333435363738393031323334353637383930", T0, &AUD), 0);
    assert_int_equal(store_token_auth(st, "h2", &ta), 0);
    assert_true(ta.totp);
    assert_int_equal(store_token_totp_get(st, boot_id, hex, sizeof hex, &step), 0);
    assert_string_equal(hex, "3132333435363738393031323334353637383930");
    assert_int_equal(step, 0);
    assert_int_equal(store_token_totp_accept(st, boot_id, 100), 0);
    assert_int_equal(store_token_totp_accept(st, boot_id, 100), ERR_BAD_STATE); /* replay */
    assert_int_equal(store_token_totp_accept(st, boot_id, 99), ERR_BAD_STATE);
    assert_int_equal(store_token_totp_get(st, boot_id, hex, sizeof hex, &step), 0);
    assert_int_equal(step, 100);
    assert_int_equal(store_token_list(st, &toks, &nt), 0);
    assert_int_equal(nt, 3);
    assert_true(toks[1].totp && !toks[2].totp);
    assert_int_equal(toks[2].parent_id, boot_id);
    assert_string_equal(toks[2].scopes, "read,users");
    free(toks);
    assert_int_equal(store_token_totp_set(st, boot_id, NULL, T0, &AUD), 0);
    assert_int_equal(store_token_auth(st, "h2", &ta), 0);
    assert_false(ta.totp);
    assert_int_equal(store_token_revoke(st, boot_id, T0, &AUD), 0);
    assert_int_equal(store_token_auth(st, "h3", &ta), ERR_NOT_FOUND); /* parent revoked */
    assert_int_equal(store_token_totp_set(st, boot_id, "00", T0, &AUD), ERR_BAD_STATE);
    assert_int_equal(store_token_totp_set(st, 999, "00", T0, &AUD), ERR_NOT_FOUND);
}

static void test_devices(void **state)
{
    struct store *st = hub_test_get(state);
    struct hub_user u;
    hub_test_user(&u, "gina", 1);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    bool ok = false;
    assert_int_equal(store_device_seen(st, u.id, "hwid-aaaaaaaa", "Happ/1.63", "10.0.0.1", T0, 2, &ok), 0);
    assert_true(ok);
    assert_int_equal(store_device_seen(st, u.id, "hwid-bbbbbbbb", "Happ/1.63", "10.0.0.2", T0 + 1, 2, &ok), 0);
    assert_true(ok);
    assert_int_equal(store_device_seen(st, u.id, "hwid-cccccccc", "v2RayTun", "10.0.0.3", T0 + 2, 2, &ok), 0);
    assert_false(ok); /* third device, limit 2 */
    assert_int_equal(store_device_seen(st, u.id, "hwid-aaaaaaaa", "Happ/1.64", "10.0.0.9", T0 + 3, 2, &ok), 0);
    assert_true(ok); /* known devices keep working */
    struct store_device *list;
    size_t n;
    assert_int_equal(store_device_list(st, u.id, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].hwid, "hwid-aaaaaaaa");
    assert_string_equal(list[0].user_agent, "Happ/1.64");
    assert_string_equal(list[0].last_ip, "10.0.0.9");
    assert_int_equal(list[0].first_seen, T0);
    assert_int_equal(list[0].last_seen, T0 + 3);
    int64_t first = list[0].id;
    free(list);
    assert_int_equal(store_device_delete(st, first, T0, &AUD), 0);
    assert_int_equal(store_device_delete(st, first, T0, &AUD), ERR_NOT_FOUND);
    assert_int_equal(store_device_seen(st, u.id, "hwid-cccccccc", "v2RayTun", "10.0.0.3", T0 + 4, 2, &ok), 0);
    assert_true(ok); /* a freed slot */
    assert_int_equal(store_device_seen(st, u.id, "hwid-dddddddd", NULL, NULL, T0 + 5, 0, &ok), 0);
    assert_true(ok); /* no limit */
    assert_int_equal(store_device_seen(st, 9999, "hwid-eeeeeeee", NULL, NULL, T0, 0, &ok), ERR_NOT_FOUND);
    /* Deleting the user takes the devices along. */
    assert_int_equal(store_user_delete(st, u.id, T0 + 6, NULL), 0);
    assert_int_equal(store_device_list(st, u.id, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
}

static int64_t mk_node_pct(struct store *st, const char *name, const char *hash, int64_t pct)
{
    struct hub_node n = {.usage_percent = pct};
    strcpy(n.name, name);
    strcpy(n.address, "1.2.3.4");
    n.port = 443;
    strcpy(n.public_key, "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw");
    n.weight = 100;
    assert_int_equal(store_node_create(st, &n, hash, T0, NULL), 0);
    return n.id;
}

static int64_t mk_node(struct store *st, const char *name, const char *hash)
{
    return mk_node_pct(st, name, hash, 0);
}

static const struct store_sync_user *find_sync(const struct store_sync_user *l, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (l[i].user_id == id)
            return &l[i];
    return NULL;
}

static void test_sync_and_usage(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t plan = mk_plan(st, "Small", 30, 1000, HUB_RESET_NONE);
    int64_t node = mk_node(st, "n1", "nh1");
    struct hub_user a, b;
    hub_test_user(&a, "a", 1);
    hub_test_user(&b, "b", 2);
    assert_int_equal(store_user_create(st, &a, T0, NULL), 0);
    assert_int_equal(store_user_create(st, &b, T0, NULL), 0);
    struct hub_sub sa;
    assert_int_equal(store_sub_grant(st, a.id, plan, T0, &sa, NULL), 0);

    struct store_sync_user *l;
    size_t n;
    int64_t rev, rev2;
    assert_int_equal(store_sync_users(st, 0, T0 + 1, &l, &n, &rev), 0);
    assert_int_equal(n, 2);
    assert_true(find_sync(l, n, a.id)->active);
    assert_int_equal(find_sync(l, n, a.id)->device_limit, 3);
    assert_false(find_sync(l, n, b.id)->active); /* no subscription */
    free(l);
    assert_int_equal(store_sync_users(st, rev, T0 + 1, &l, &n, &rev2), 0);
    assert_int_equal(n, 0);
    assert_int_equal(rev2, rev);
    free(l);

    /* Usage: applied once per push id; quota reached -> limited -> node drops the user. */
    struct store_usage u[] = {{a.id, 300, 200}, {b.id, 5, 5}, {424242, 1, 1}};
    bool dup = true;
    assert_int_equal(store_usage_push(st, node, "push-0001", u, 3, T0 + 2, &dup, &rev2), 0);
    assert_false(dup);
    assert_int_equal(store_usage_push(st, node, "push-0001", u, 3, T0 + 2, &dup, &rev2), 0);
    assert_true(dup);
    struct hub_sub cur;
    assert_int_equal(store_sub_current(st, a.id, &cur), 0);
    assert_int_equal(cur.used_up, 300);
    assert_int_equal(cur.used_down, 200);
    assert_int_equal(cur.state, HUB_SUB_ACTIVE);
    assert_int_equal(store_usage_push(st, node, "push-0002", u, 1, T0 + 3, &dup, &rev2), 0);
    assert_int_equal(store_sub_current(st, a.id, &cur), 0);
    assert_int_equal(cur.used_up + cur.used_down, 1000);
    assert_int_equal(cur.state, HUB_SUB_LIMITED);
    assert_true(rev2 > rev);
    assert_int_equal(store_sync_users(st, rev, T0 + 3, &l, &n, &rev2), 0);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].user_id, a.id);
    assert_false(l[0].active);
    free(l);
    struct hub_node nd;
    assert_int_equal(store_node_get(st, node, &nd), 0);
    assert_int_equal(nd.traffic_up, 606); /* unknown users count for the node */
    assert_int_equal(nd.traffic_down, 406);
    assert_int_equal(nd.health, HUB_HEALTH_UP);
    assert_int_equal(nd.last_seen, T0 + 3);
    /* Another node may reuse the same push id; a 2x node bills double. */
    int64_t node2 = mk_node_pct(st, "n2", "nh2", 200);
    assert_int_equal(store_usage_push(st, node2, "push-0001", u + 1, 1, T0 + 3, &dup, NULL), 0);
    assert_false(dup);
    struct store_usage bu = {b.id, 50, 0};
    struct hub_sub sb;
    int64_t b_plan = mk_plan(st, "B plan", 30, 0, HUB_RESET_NONE);
    assert_int_equal(store_sub_grant(st, b.id, b_plan, T0 + 3, &sb, NULL), 0);
    assert_int_equal(store_usage_push(st, node2, "push-0002", &bu, 1, T0 + 3, &dup, NULL), 0);
    assert_int_equal(store_sub_current(st, b.id, &sb), 0);
    assert_int_equal(sb.used_up, 100);
    assert_int_equal(store_node_get(st, node2, &nd), 0);
    assert_int_equal(nd.traffic_up, 55); /* the node counts real bytes */
    assert_int_equal(nd.usage_percent, 200);
    struct store_usage bad = {a.id, -1, 0};
    assert_int_equal(store_usage_push(st, node, "push-0003", &bad, 1, T0, &dup, NULL), ERR_RANGE);

    /* Deletion reaches nodes as a removal; a full sync (since 0) omits deleted users. */
    rev = rev2;
    assert_int_equal(store_user_delete(st, b.id, T0 + 4, NULL), 0);
    assert_int_equal(store_sync_users(st, rev, T0 + 4, &l, &n, &rev2), 0);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].user_id, b.id);
    assert_false(l[0].active);
    free(l);
    assert_int_equal(store_sync_users(st, 0, T0 + 4, &l, &n, &rev2), 0);
    assert_int_equal(n, 1);
    free(l);
}

static void test_payments_stats_lock(void **state)
{
    struct store *st = hub_test_get(state);
    struct hub_user u;
    hub_test_user(&u, "payer", 1);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    struct hub_payment p = {0}, e;
    p.user_id = u.id;
    strcpy(p.provider, "yookassa");
    strcpy(p.external_id, "2d9a-01");
    strcpy(p.idempotency_key, "idem-1");
    p.amount_minor = 29900;
    strcpy(p.currency, "RUB");
    p.status = HUB_PAY_SUCCEEDED;
    assert_int_equal(store_payment_record(st, &p, "{\"raw\":1}", T0, &e), 0);
    assert_true(p.id > 0);
    struct hub_payment q = p;
    strcpy(q.idempotency_key, "idem-2"); /* same external id */
    assert_int_equal(store_payment_record(st, &q, NULL, T0, &e), ERR_EXISTS);
    assert_int_equal(e.id, p.id);
    q = p;
    strcpy(q.external_id, "2d9a-02"); /* same idempotency key */
    assert_int_equal(store_payment_record(st, &q, NULL, T0, &e), ERR_EXISTS);
    assert_int_equal(e.amount_minor, 29900);

    struct store_stats s;
    assert_int_equal(store_stats_get(st, &s), 0);
    assert_int_equal(s.users, 1);
    assert_int_equal(s.users_enabled, 1);
    assert_int_equal(s.payments_succeeded, 1);
    assert_true(s.revision >= 1);

    bool held;
    assert_int_equal(store_lock_try(st, "scheduler", "r1", 60, T0, &held), 0);
    assert_true(held);
    assert_int_equal(store_lock_try(st, "scheduler", "r2", 60, T0 + 10, &held), 0);
    assert_false(held);
    assert_int_equal(store_lock_try(st, "scheduler", "r1", 60, T0 + 20, &held), 0); /* renew */
    assert_true(held);
    assert_int_equal(store_lock_try(st, "scheduler", "r2", 60, T0 + 81, &held), 0); /* expired: taken over */
    assert_true(held);
}

static void mk_payment(struct hub_payment *p, int64_t user, const char *ext, int64_t amount, enum hub_pay_status status)
{
    memset(p, 0, sizeof *p);
    p->user_id = user;
    strcpy(p->provider, "yookassa");
    snprintf(p->external_id, sizeof p->external_id, "%s", ext);
    snprintf(p->idempotency_key, sizeof p->idempotency_key, "idem-%s", ext);
    p->amount_minor = amount;
    strcpy(p->currency, "RUB");
    p->status = status;
}

struct settle_race {
    struct store *st;
    int64_t user, plan;
    int applied, failures;
};

static void *settle_worker(void *arg)
{
    struct settle_race *r = arg;
    struct hub_payment p;
    mk_payment(&p, r->user, "race-1", 10000, HUB_PAY_SUCCEEDED);
    struct store_settle how = {.plan_id = r->plan, .referral_percent = 10};
    struct store_settle_result res;
    if (store_payment_settle(r->st, &p, NULL, &how, T0 + 100, NULL, &res) < 0)
        r->failures++;
    else if (res.applied)
        r->applied++;
    return NULL;
}

static void test_settle(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t plan = mk_plan(st, "Month", 30, 0, HUB_RESET_NONE);
    struct hub_user ref, u, v;
    hub_test_user(&ref, "referrer", 1);
    assert_int_equal(store_user_create(st, &ref, T0, NULL), 0);
    hub_test_user(&u, "buyer", 2);
    u.referrer_id = ref.id;
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);

    struct hub_payment p;
    struct store_settle how = {.plan_id = plan, .referral_percent = 10};
    struct store_settle_result res;
    /* Pending first: recorded, nothing applied. */
    mk_payment(&p, u.id, "pay-1", 29900, HUB_PAY_PENDING);
    assert_int_equal(store_payment_settle(st, &p, "{\"event\":\"waiting\"}", &how, T0, &AUD, &res), 0);
    assert_false(res.applied);
    assert_false(res.duplicate);
    int64_t pay1 = res.payment_id;
    assert_int_equal(store_sub_current(st, u.id, &res.sub), ERR_NOT_FOUND);
    /* Succeeded: subscription granted, referrer credited 10 %. */
    mk_payment(&p, u.id, "pay-1", 29900, HUB_PAY_SUCCEEDED);
    assert_int_equal(store_payment_settle(st, &p, "{\"event\":\"succeeded\"}", &how, T0 + 10, &AUD, &res), 0);
    assert_true(res.applied);
    assert_int_equal(res.payment_id, pay1);
    assert_int_equal(res.sub.ends_at, T0 + 10 + 30 * HUB_DAY);
    assert_int_equal(res.referrer_id, ref.id);
    assert_int_equal(res.reward_minor, 2990);
    assert_int_equal(store_user_get(st, ref.id, &v), 0);
    assert_int_equal(v.balance_minor, 2990);
    /* The same notification again: nothing changes. */
    assert_int_equal(store_payment_settle(st, &p, NULL, &how, T0 + 20, &AUD, &res), 0);
    assert_true(res.duplicate);
    assert_false(res.applied);
    assert_int_equal(res.payment_id, pay1);
    assert_int_equal(store_user_get(st, ref.id, &v), 0);
    assert_int_equal(v.balance_minor, 2990);
    /* A renewal extends from the current end. */
    mk_payment(&p, u.id, "pay-2", 29900, HUB_PAY_SUCCEEDED);
    assert_int_equal(store_payment_settle(st, &p, NULL, &how, T0 + 30, &AUD, &res), 0);
    assert_true(res.applied);
    assert_int_equal(res.sub.ends_at, T0 + 10 + 60 * HUB_DAY);
    struct hub_sub *subs;
    size_t n;
    assert_int_equal(store_sub_list(st, u.id, &subs, &n), 0);
    assert_int_equal(n, 1);
    free(subs);
    /* A top-up credits the balance; no plan. */
    struct store_settle topup = {.credit_balance = true};
    mk_payment(&p, u.id, "pay-3", 50000, HUB_PAY_SUCCEEDED);
    assert_int_equal(store_payment_settle(st, &p, NULL, &topup, T0 + 40, &AUD, &res), 0);
    assert_int_equal(store_user_get(st, u.id, &v), 0);
    assert_int_equal(v.balance_minor, 50000);
    /* No reward across currencies. */
    mk_payment(&p, u.id, "pay-4", 500, HUB_PAY_SUCCEEDED);
    strcpy(p.currency, "USD");
    assert_int_equal(store_payment_settle(st, &p, NULL, &how, T0 + 50, NULL, &res), 0);
    assert_int_equal(res.reward_minor, 0);
    /* Failed payments are recorded only; unknown users are refused; bad input is a range error. */
    mk_payment(&p, u.id, "pay-5", 500, HUB_PAY_FAILED);
    assert_int_equal(store_payment_settle(st, &p, NULL, &how, T0 + 60, NULL, &res), 0);
    assert_false(res.applied);
    mk_payment(&p, 9999, "pay-6", 500, HUB_PAY_SUCCEEDED);
    assert_int_equal(store_payment_settle(st, &p, NULL, &how, T0, NULL, &res), ERR_NOT_FOUND);
    mk_payment(&p, u.id, "pay-7", -1, HUB_PAY_SUCCEEDED);
    assert_int_equal(store_payment_settle(st, &p, NULL, &how, T0, NULL, &res), ERR_RANGE);

    /* Concurrent copies of one notification: applied exactly once. */
    struct hub_user w;
    hub_test_user(&w, "racer", 3);
    w.referrer_id = ref.id;
    assert_int_equal(store_user_create(st, &w, T0, NULL), 0);
    pthread_t th[6];
    struct settle_race race = {.st = st, .user = w.id, .plan = plan};
    struct settle_race rs[6];
    for (int i = 0; i < 6; i++) {
        rs[i] = race;
        assert_int_equal(pthread_create(&th[i], NULL, settle_worker, &rs[i]), 0);
    }
    int applied = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rs[i].failures, 0);
        applied += rs[i].applied;
    }
    assert_int_equal(applied, 1);
    assert_int_equal(store_user_get(st, ref.id, &v), 0);
    assert_int_equal(v.balance_minor, 2990 + 2990 + 1000);
}

static void test_scheduler(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t daily = mk_plan(st, "Daily", 30, 100, HUB_RESET_DAILY);
    int64_t week = mk_plan(st, "Week", 7, 0, HUB_RESET_NONE);
    int64_t node = mk_node(st, "n", "h");
    struct hub_user a, b;
    hub_test_user(&a, "a", 1);
    hub_test_user(&b, "b", 2);
    assert_int_equal(store_user_create(st, &a, T0, NULL), 0);
    assert_int_equal(store_user_create(st, &b, T0, NULL), 0);
    assert_int_equal(store_sub_grant(st, a.id, daily, T0 + 3600, NULL, NULL), 0);
    assert_int_equal(store_sub_grant(st, b.id, week, T0, NULL, NULL), 0);
    struct store_usage u = {a.id, 100, 0};
    assert_int_equal(store_usage_push(st, node, "p-000001", &u, 1, T0 + 7200, NULL, NULL), 0);
    struct hub_sub s;
    assert_int_equal(store_sub_current(st, a.id, &s), 0);
    assert_int_equal(s.state, HUB_SUB_LIMITED);
    struct store_sched_result r;
    assert_int_equal(store_sched_run(st, T0 + 7300, &r), 0);
    assert_int_equal(r.expired + r.reset + r.limited, 0);
    /* Next day: traffic reset re-activates a; after 7 days b expires. */
    int64_t rev0, rev1;
    assert_int_equal(store_revision(st, &rev0), 0);
    assert_int_equal(store_sched_run(st, T0 + HUB_DAY + 60, &r), 0);
    assert_int_equal(r.reset, 1);
    assert_int_equal(store_sub_current(st, a.id, &s), 0);
    assert_int_equal(s.state, HUB_SUB_ACTIVE);
    assert_int_equal(s.used_up, 0);
    assert_int_equal(store_revision(st, &rev1), 0);
    assert_true(rev1 > rev0);
    assert_int_equal(store_sched_run(st, T0 + 7 * HUB_DAY, &r), 0);
    assert_int_equal(r.expired, 1);
    assert_int_equal(store_sub_current(st, b.id, &s), 0);
    assert_int_equal(s.state, HUB_SUB_EXPIRED);
    assert_int_equal(r.pruned, 0);
    /* Push ids are forgotten after STORE_PUSH_ID_TTL: the same id then counts again. */
    assert_int_equal(store_sched_run(st, T0 + 7200 + STORE_PUSH_ID_TTL + 1, &r), 0);
    assert_int_equal(r.pruned, 1);
    bool dup = true;
    assert_int_equal(store_usage_push(st, node, "p-000001", &u, 1, T0 + 7200 + STORE_PUSH_ID_TTL + 2, &dup, NULL), 0);
    assert_false(dup);
}

/* Concurrent writers through the pool: no lost update. */
struct conc {
    struct store *st;
    int64_t user_id, node_id;
    int idx;
    int failures;
};

#define CONC_THREADS 8
#define CONC_ITERS 25

static void *conc_worker(void *arg)
{
    struct conc *c = arg;
    for (int i = 0; i < CONC_ITERS; i++) {
        char push[32];
        snprintf(push, sizeof push, "w%02d-%04d", c->idx, i);
        struct store_usage u = {c->user_id, 10, 1};
        if (store_usage_push(c->st, c->node_id, push, &u, 1, T0 + 10, NULL, NULL) < 0)
            c->failures++;
        if (store_user_add_balance(c->st, c->user_id, 1, T0, NULL, NULL) < 0)
            c->failures++;
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t plan = mk_plan(st, "Big", 30, 0, HUB_RESET_NONE);
    int64_t node = mk_node(st, "n", "h");
    struct hub_user u;
    hub_test_user(&u, "busy", 1);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    assert_int_equal(store_sub_grant(st, u.id, plan, T0, NULL, NULL), 0);
    pthread_t th[CONC_THREADS];
    struct conc cs[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        cs[i] = (struct conc){.st = st, .user_id = u.id, .node_id = node, .idx = i};
        assert_int_equal(pthread_create(&th[i], NULL, conc_worker, &cs[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(cs[i].failures, 0);
    }
    struct hub_sub s;
    assert_int_equal(store_sub_current(st, u.id, &s), 0);
    assert_int_equal(s.used_up, 10 * CONC_THREADS * CONC_ITERS);
    assert_int_equal(s.used_down, CONC_THREADS * CONC_ITERS);
    struct hub_user v;
    assert_int_equal(store_user_get(st, u.id, &v), 0);
    assert_int_equal(v.balance_minor, CONC_THREADS * CONC_ITERS);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct store *st;
    assert_int_equal(store_open("mysql://x", 1, &st), ERR_CONFIG);
    assert_int_equal(store_open("sqlite:", 1, &st), ERR_CONFIG);
    assert_int_equal(store_open(NULL, 1, &st), ERR_CONFIG);
    /* A missing folder is named (logged) and reported as such, not as an I/O error. */
    assert_int_equal(store_open("sqlite:/nonexistent-dir/x/y.db", 1, &st), -ENOENT);
    assert_null(st);
}

#define CONTRACT(setup)                                                                                                \
    cmocka_unit_test_setup_teardown(test_migrate, setup, hub_test_teardown),                                           \
        cmocka_unit_test_setup_teardown(test_upgrade, setup, hub_test_teardown),                                       \
        cmocka_unit_test_setup_teardown(test_user_crud, setup, hub_test_teardown),                                     \
        cmocka_unit_test_setup_teardown(test_user_list, setup, hub_test_teardown),                                     \
        cmocka_unit_test_setup_teardown(test_plans, setup, hub_test_teardown),                                         \
        cmocka_unit_test_setup_teardown(test_subscriptions, setup, hub_test_teardown),                                 \
        cmocka_unit_test_setup_teardown(test_sub_current_plan, setup, hub_test_teardown),                              \
        cmocka_unit_test_setup_teardown(test_cells_text, setup, hub_test_teardown),                                    \
        cmocka_unit_test_setup_teardown(test_nodes_tokens, setup, hub_test_teardown),                                  \
        cmocka_unit_test_setup_teardown(test_devices, setup, hub_test_teardown),                                       \
        cmocka_unit_test_setup_teardown(test_sync_and_usage, setup, hub_test_teardown),                                \
        cmocka_unit_test_setup_teardown(test_payments_stats_lock, setup, hub_test_teardown),                           \
        cmocka_unit_test_setup_teardown(test_settle, setup, hub_test_teardown),                                        \
        cmocka_unit_test_setup_teardown(test_scheduler, setup, hub_test_teardown),                                     \
        cmocka_unit_test_setup_teardown(test_concurrency, setup, hub_test_teardown)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {CONTRACT(hub_test_setup_sqlite), cmocka_unit_test(test_open_errors)};
    const struct CMUnitTest pg_tests[] = {CONTRACT(hub_test_setup_pg)};
    int rc = cmocka_run_group_tests_name("store_sqlite", sqlite_tests, NULL, NULL);
    rc |= HUB_TEST_RUN_PG_GROUP("store_pg", pg_tests);
    return rc;
}
