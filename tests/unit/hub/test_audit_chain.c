/* hub/store/store_audit: the audit log's hash chain on SQLite and PostgreSQL. Rows written by
 * operations and by store_audit_add verify; changing a row's action, deleting a row (first,
 * middle, last) is reported at the right row; rows written before the chain existed are chained
 * by the migration; concurrent writers keep one chain; the export walks rows in order. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "hub/audit/audit.h"
#include "hub/module.h"
#include "hub_test_db.h"

#define T0 1700000000

struct ctx {
    struct store *st;
    char path[64]; /* SQLite file ("" on PostgreSQL) */
};

/* A file database: the concurrency test needs several connections (":memory:" has one). */
static int setup_sqlite(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -1;
    snprintf(c->path, sizeof c->path, "/tmp/veil_audit_%d_XXXXXX", (int)getpid());
    int fd = mkstemp(c->path);
    if (fd < 0)
        return -1;
    close(fd);
    char url[96];
    snprintf(url, sizeof url, "sqlite:%s", c->path);
    c->st = hub_test_store(url, 8);
    *state = c;
    return c->st ? 0 : -1;
}

static int setup_pg(void **state)
{
    struct ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -1;
    c->st = hub_test_store(hub_test_pg_url(), 8);
    *state = c;
    return c->st ? 0 : -1;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    store_close(c->st);
    if (c->path[0]) {
        char side[80];
        unlink(c->path);
        snprintf(side, sizeof side, "%s-wal", c->path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", c->path);
        unlink(side);
    }
    free(c);
    return 0;
}

static void exec_sql(struct store *st, const char *sql)
{
    struct store_conn sc;
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(store__exec(&sc, sql, NULL, 0, NULL), 0);
    store__release(&sc);
}

__attribute__((format(printf, 2, 3))) static void exec_sqlf(struct store *st, const char *fmt, ...)
{
    char sql[128];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    assert_true(len > 0 && (size_t)len < sizeof sql);
    exec_sql(st, sql);
}

/* n rows: one through an operation (a user created with its audit row), the rest added. */
static void write_rows(struct store *st, int n)
{
    struct hub_user u;
    memset(&u, 0, sizeof u);
    strcpy(u.username, "alice");
    strcpy(u.language, "en");
    strcpy(u.currency, "RUB");
    strcpy(u.uuid, "00000000-0000-4000-8000-000000000001");
    strcpy(u.sub_token, "tok00000000000000000001");
    strcpy(u.referral_code, "RC00000001");
    u.enabled = true;
    struct store_audit a = {.actor = "token:1", .action = "user.create", .source_ip = "10.0.0.1"};
    assert_int_equal(store_user_create(st, &u, T0, &a), 0);
    for (int i = 1; i < n; i++) {
        char details[64];
        snprintf(details, sizeof details, "{\"i\": %d}", i);
        struct store_audit b = {.actor = "token:1", .action = "plan.update", .target = "plan:1", .details = details};
        assert_int_equal(store_audit_add(st, &b, T0 + i), 0);
    }
}

static struct store_audit_verify verify(struct store *st)
{
    struct store_audit_verify v;
    assert_int_equal(store_audit_verify(st, &v), 0);
    return v;
}

/* The first id in the log (PostgreSQL sequences need not start at 1 after earlier tests). */
static int64_t first_id(struct store *st)
{
    struct store_conn sc;
    struct store_res r;
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(store__exec(&sc, "SELECT min(id) FROM audit_log", NULL, 0, &r), 0);
    int64_t id = store__cell_i64(&r, 0, 0);
    store__res_free(&r);
    store__release(&sc);
    return id;
}

/* The encoding is fixed: a changed encoding would break every stored chain. */
static void test_hash_vector(void **state)
{
    (void)state;
    struct store_audit_cells c = {.id = 1,
                                  .at = 1700000000,
                                  .actor = "token:1",
                                  .action = "user.create",
                                  .target = "user:42",
                                  .details = "{\"a\":1}"};
    char h[65], g[65];
    memset(g, '0', 64);
    g[64] = '\0';
    assert_int_equal(store__audit_hash(&c, g, h), 0);
    assert_string_equal(h, "b18f3877716b800203266b1543fca0afd8d693b106b4c02cdc8ed9df1f8e492a");
    /* NULL and "" differ; the field boundaries are part of the hash. */
    char h2[65];
    c.source_ip = "";
    assert_int_equal(store__audit_hash(&c, g, h2), 0);
    assert_string_not_equal(h, h2);
    c.source_ip = NULL;
    c.actor = "token:1u";
    c.action = "ser.create";
    assert_int_equal(store__audit_hash(&c, g, h2), 0);
    assert_string_not_equal(h, h2);
}

static void test_intact_chain_verifies(void **state)
{
    struct store *st = ((struct ctx *)*state)->st;
    struct store_audit_verify v = verify(st); /* empty log */
    assert_true(v.ok);
    assert_int_equal(v.rows, 0);
    write_rows(st, 20);
    v = verify(st);
    assert_true(v.ok);
    assert_int_equal(v.rows, 20);
    assert_int_equal(strlen(v.head), 64);
}

static void test_changed_action_found_at_its_row(void **state)
{
    struct store *st = ((struct ctx *)*state)->st;
    write_rows(st, 10);
    int64_t base = first_id(st);
    exec_sqlf(st, "UPDATE audit_log SET action = 'plan.view' WHERE id = %lld", (long long)(base + 4));
    struct store_audit_verify v = verify(st);
    assert_false(v.ok);
    assert_int_equal(v.broken_id, base + 4);
    assert_int_equal(v.rows, 4);
    assert_non_null(strstr(v.why, "changed"));
}

static void test_deleted_rows_found(void **state)
{
    struct store *st = ((struct ctx *)*state)->st;
    write_rows(st, 10);
    int64_t base = first_id(st);
    /* a middle row: the next one no longer links */
    exec_sqlf(st, "DELETE FROM audit_log WHERE id = %lld", (long long)(base + 5));
    struct store_audit_verify v = verify(st);
    assert_false(v.ok);
    assert_int_equal(v.broken_id, base + 6);
    assert_non_null(strstr(v.why, "deleted"));
    /* the first row (after dropping the broken tail, and with it the head's row) */
    exec_sqlf(st, "DELETE FROM audit_log WHERE id > %lld", (long long)(base + 4));
    exec_sqlf(st, "DELETE FROM audit_log WHERE id = %lld", (long long)base);
    v = verify(st);
    assert_false(v.ok);
    assert_int_equal(v.broken_id, base + 1);
}

static void test_deleted_newest_rows_found(void **state)
{
    struct store *st = ((struct ctx *)*state)->st;
    write_rows(st, 6);
    int64_t base = first_id(st);
    exec_sqlf(st, "DELETE FROM audit_log WHERE id >= %lld", (long long)(base + 4));
    struct store_audit_verify v = verify(st);
    assert_false(v.ok);
    assert_int_equal(v.rows, 4);
    assert_non_null(strstr(v.why, "newest"));
}

/* Replaces the test's store with an empty database migrated to `version` only. */
static void reopen_at(struct ctx *c, int version)
{
    store_close(c->st);
    c->st = NULL;
    char url[256];
    if (c->path[0]) {
        char side[80];
        unlink(c->path);
        snprintf(side, sizeof side, "%s-wal", c->path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", c->path);
        unlink(side);
        snprintf(url, sizeof url, "sqlite:%s", c->path);
    } else {
        snprintf(url, sizeof url, "%s", hub_test_pg_url());
        struct store *wipe = NULL;
        assert_int_equal(store_open(url, 1, &wipe), 0);
        exec_sql(wipe, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
        store_close(wipe);
    }
    assert_int_equal(store_open(url, 8, &c->st), 0);
    struct store_conn sc;
    assert_int_equal(store__acquire(c->st, &sc), 0);
    assert_int_equal(store__migrate_to(&sc, version, NULL), 0);
    store__release(&sc);
}

/* Rows written before migration 5 get chained by it; new rows continue the chain. */
static void test_migration_chains_existing_rows(void **state)
{
    struct ctx *c = *state;
    reopen_at(c, 4); /* the schema before the chain */
    struct store *st = c->st;
    exec_sql(st, "INSERT INTO audit_log (actor, action, target, at, source_ip, details) VALUES "
                 "('token:1', 'user.create', 'user:1', 1700000000, '10.0.0.9', NULL), "
                 "('scheduler', 'sub.expire', 'sub:1', 1700000100, NULL, '{\"n\": 1}'), "
                 "('token:2', 'payment.refund', 'payment:3', 1700000200, NULL, NULL)");
    int version = 0;
    assert_int_equal(store_migrate(st, &version), 0);
    assert_int_equal(version, STORE_SCHEMA_VERSION);
    struct store_audit_verify v = verify(st);
    assert_true(v.ok);
    assert_int_equal(v.rows, 3);
    write_rows(st, 2);
    v = verify(st);
    assert_true(v.ok);
    assert_int_equal(v.rows, 5);
    exec_sqlf(st, "UPDATE audit_log SET action = 'x' WHERE id = %lld", (long long)(first_id(st) + 1));
    v = verify(st);
    assert_false(v.ok);
    assert_int_equal(v.broken_id, first_id(st) + 1);
}

#define WRITERS 8
#define PER_WRITER 40

struct writer {
    struct store *st;
    int idx, failures;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < PER_WRITER; i++) {
        char target[32];
        snprintf(target, sizeof target, "w%d:%d", w->idx, i);
        struct store_audit a = {.actor = "token:9", .action = "node.update", .target = target};
        if (store_audit_add(w->st, &a, T0 + i) < 0)
            w->failures++;
    }
    return NULL;
}

static void test_concurrent_writers_keep_one_chain(void **state)
{
    struct store *st = ((struct ctx *)*state)->st;
    pthread_t th[WRITERS];
    struct writer ws[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        ws[i] = (struct writer){.st = st, .idx = i};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &ws[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(ws[i].failures, 0);
    }
    struct store_audit_verify v = verify(st);
    if (!v.ok)
        fail_msg("chain broken: %s", v.why);
    assert_int_equal(v.rows, WRITERS * PER_WRITER);
}

struct collected {
    int64_t ids[64];
    size_t n;
    char first_action[32];
};

static int collect(void *arg, const struct store_audit_cells *row)
{
    struct collected *c = arg;
    if (c->n == 0)
        snprintf(c->first_action, sizeof c->first_action, "%s", row->action);
    if (row->row_hash == NULL || strlen(row->row_hash) != 64 || c->n >= 64)
        return -1;
    c->ids[c->n++] = row->id;
    return 0;
}

static void test_export_in_order_after_id(void **state)
{
    struct store *st = ((struct ctx *)*state)->st;
    write_rows(st, 12);
    struct collected c = {0};
    assert_int_equal(store_audit_export(st, 0, collect, &c), 0);
    assert_int_equal(c.n, 12);
    assert_string_equal(c.first_action, "user.create");
    for (size_t i = 1; i < c.n; i++)
        assert_true(c.ids[i] > c.ids[i - 1]);
    struct collected d = {0};
    assert_int_equal(store_audit_export(st, c.ids[9], collect, &d), 0); /* a SIEM resuming */
    assert_int_equal(d.n, 2);
    assert_int_equal(d.ids[0], c.ids[10]);
}

/* The hub's periodic check (hub/audit): its recorded status follows the chain. */
static void test_periodic_check_status(void **state)
{
    struct store *st = ((struct ctx *)*state)->st;
    write_rows(st, 3);
    struct audit_status a;
    assert_int_equal(audit_check(st, T0 + 100), 0);
    audit_status_get(&a);
    assert_true(a.checked && a.ok);
    assert_int_equal(a.rows, 3);
    assert_int_equal(a.at, T0 + 100);
    exec_sqlf(st, "UPDATE audit_log SET actor = 'token:2' WHERE id = %lld", (long long)first_id(st));
    assert_int_equal(audit_check(st, T0 + 200), 0);
    audit_status_get(&a);
    assert_true(a.checked);
    assert_false(a.ok);
    assert_int_equal(a.broken_id, first_id(st));
}

static void test_audit_section(void **state)
{
    (void)state;
    const struct hub_module *m = hub_module_for_section("audit");
    assert_non_null(m);
    char err[200];
    static const char *const good[] = {"{}", "{\"verify_interval\": 0}", "{\"verify_interval\": 600}"};
    static const char *const bad[] = {"[]", "{\"verify_interval\": -1}", "{\"verify_interval\": \"1h\"}",
                                      "{\"verify_interval\": 604801}", "{\"interval\": 60}"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        json_t *j = json_loads(good[i], JSON_DECODE_ANY, NULL);
        assert_int_equal(m->settings_check(j, err, sizeof err), 0);
        json_decref(j);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        err[0] = '\0';
        assert_int_equal(m->settings_check(j, err, sizeof err), ERR_CONFIG);
        assert_true(err[0] != '\0');
        json_decref(j);
    }
    assert_int_equal(m->settings_check(NULL, err, sizeof err), 0);
}

/* token.new_ip: once per (token, address), chained like every row. */
static void test_token_new_ip(void **state)
{
    struct store *st = ((struct ctx *)*state)->st;
    assert_int_equal(store_audit_token_ip(st, "token:7", "10.0.0.1", T0), 1);
    assert_int_equal(store_audit_token_ip(st, "token:7", "10.0.0.1", T0 + 1), 0);
    assert_int_equal(store_audit_token_ip(st, "token:7", "10.0.0.2", T0 + 2), 1);
    assert_int_equal(store_audit_token_ip(st, "node:3", "10.0.0.1", T0 + 3), 1);
    assert_int_equal(store_audit_token_ip(st, "node:3", "", T0 + 3), 0); /* no address: nothing to note */
    struct store_audit_row *rows;
    size_t n;
    assert_int_equal(store_audit_list(st, 10, &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].action, "token.new_ip");
    assert_string_equal(rows[0].actor, "node:3");
    assert_string_equal(rows[0].target, "node:3");
    assert_string_equal(rows[1].source_ip, "10.0.0.2");
    store_audit_rows_free(rows, n);
    struct store_audit_verify v = verify(st);
    assert_true(v.ok);
    assert_int_equal(v.rows, 3);
}

/* The dashboard's pages of the log: newest first, each page strictly older than the last row of
 * the one before, nothing skipped or repeated. */
static void test_audit_pages(void **state)
{
    struct store *st = ((struct ctx *)*state)->st;
    for (int i = 0; i < 7; i++)
        assert_int_equal(store_audit_add(st, &(struct store_audit){.actor = "token:1", .action = "page.test"}, T0 + i),
                         0);
    int64_t before = 0, seen = 0, last = INT64_MAX;
    size_t sizes[3];
    for (int p = 0; p < 3; p++) {
        struct store_audit_row *rows;
        size_t n;
        assert_int_equal(store_audit_page(st, before, 3, &rows, &n), 0);
        sizes[p] = n;
        for (size_t i = 0; i < n; i++) {
            assert_true(rows[i].id < last);
            last = rows[i].id;
            seen++;
        }
        before = n ? rows[n - 1].id : before;
        store_audit_rows_free(rows, n);
    }
    assert_int_equal(seen, 7);
    assert_int_equal(sizes[0], 3);
    assert_int_equal(sizes[2], 1);
}

#define CHAIN_TESTS(setup)                                                                                             \
    cmocka_unit_test_setup_teardown(test_intact_chain_verifies, setup, teardown),                                      \
        cmocka_unit_test_setup_teardown(test_changed_action_found_at_its_row, setup, teardown),                        \
        cmocka_unit_test_setup_teardown(test_deleted_rows_found, setup, teardown),                                     \
        cmocka_unit_test_setup_teardown(test_deleted_newest_rows_found, setup, teardown),                              \
        cmocka_unit_test_setup_teardown(test_migration_chains_existing_rows, setup, teardown),                         \
        cmocka_unit_test_setup_teardown(test_concurrent_writers_keep_one_chain, setup, teardown),                      \
        cmocka_unit_test_setup_teardown(test_export_in_order_after_id, setup, teardown),                               \
        cmocka_unit_test_setup_teardown(test_periodic_check_status, setup, teardown),                                  \
        cmocka_unit_test_setup_teardown(test_token_new_ip, setup, teardown),                                           \
        cmocka_unit_test_setup_teardown(test_audit_pages, setup, teardown)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {cmocka_unit_test(test_hash_vector), cmocka_unit_test(test_audit_section),
                                              CHAIN_TESTS(setup_sqlite)};
    const struct CMUnitTest pg_tests[] = {CHAIN_TESTS(setup_pg)};
    int rc = cmocka_run_group_tests_name("audit_chain_sqlite", sqlite_tests, NULL, NULL);
    rc |= HUB_TEST_RUN_PG_GROUP("audit_chain_pg", pg_tests);
    return rc;
}
