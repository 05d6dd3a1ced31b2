/* Test helper for the hub suites: opens a clean store on SQLite :memory: or, when
 * VEIL_PG_URL is set, on that PostgreSQL database (wiping its public schema first). */
#ifndef VEIL_TEST_HUB_DB_H
#define VEIL_TEST_HUB_DB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hub/store/store.h"
#include "hub/store/store_int.h"

static inline const char *hub_test_pg_url(void)
{
    const char *u = getenv("VEIL_PG_URL");
    return u && *u ? u : NULL;
}

/* Runs a cmocka group of PostgreSQL tests only when VEIL_PG_URL is set: integration_test_hub_pg
 * starts a server and runs these binaries again (or reports itself skipped), so here the group
 * is left out, not reported as skipped tests. Evaluates to the group's result, 0 when left out. */
#define HUB_TEST_RUN_PG_GROUP(name, tests)                                                                             \
    (hub_test_pg_url() != NULL                                                                                         \
         ? cmocka_run_group_tests_name(name, tests, NULL, NULL)                                                        \
         : (printf("%s: not run here (no VEIL_PG_URL); integration_test_hub_pg runs it\n", name), 0))

/* Opens a fresh store migrated to schema `version` (SQLite only). */
static inline struct store *hub_test_store_at(const char *url, size_t pool, int version)
{
    struct store *st = NULL;
    if (store_open(url, pool, &st) < 0)
        return NULL;
    struct store_conn sc;
    store__acquire(st, &sc);
    int rc = store__migrate_to(&sc, version, NULL);
    store__release(&sc);
    if (rc < 0) {
        store_close(st);
        return NULL;
    }
    return st;
}

/* Opens a fresh, migrated store on `url` ("sqlite::memory:" or a PostgreSQL URL). */
static inline struct store *hub_test_store(const char *url, size_t pool)
{
    struct store *st = NULL;
    if (strncmp(url, "sqlite:", 7) != 0) {
        /* Start from an empty schema: each test sees a new database. */
        if (store_open(url, 1, &st) < 0)
            return NULL;
        struct store_conn sc;
        store__acquire(st, &sc);
        int rc = store__exec(&sc, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;", NULL, 0, NULL);
        store__release(&sc);
        store_close(st);
        if (rc < 0)
            return NULL;
    }
    if (store_open(url, pool, &st) < 0)
        return NULL;
    if (store_migrate(st, NULL) < 0) {
        store_close(st);
        return NULL;
    }
    return st;
}

/* cmocka fixtures of the suites run on both backends: the state is the store, NULL in a
 * PostgreSQL group without VEIL_PG_URL (hub_test_get then skips the test). */
static inline int hub_test_setup_sqlite(void **state)
{
    *state = hub_test_store("sqlite::memory:", 1);
    return *state ? 0 : -1;
}

static inline int hub_test_setup_pg(void **state)
{
    const char *url = hub_test_pg_url();
    *state = url ? hub_test_store(url, 4) : NULL;
    return url && *state == NULL ? -1 : 0;
}

static inline int hub_test_teardown(void **state)
{
    store_close(*state);
    return 0;
}

static inline struct store *hub_test_get(void **state)
{
    if (*state == NULL)
        skip(); /* PostgreSQL suite without VEIL_PG_URL */
    return *state;
}

/* Audit rows (of the newest 1000) with this actor and this action; NULL matches any. */
static inline size_t hub_test_audit_count(struct store *st, const char *actor, const char *action)
{
    struct store_audit_row *rows;
    size_t n, hits = 0;
    assert_int_equal(store_audit_list(st, 1000, &rows, &n), 0);
    for (size_t i = 0; i < n; i++)
        hits += (actor == NULL || strcmp(rows[i].actor, actor) == 0) &&
                (action == NULL || strcmp(rows[i].action, action) == 0);
    store_audit_rows_free(rows, n);
    return hits;
}

/* An enabled Russian-language RUB user `name` whose UUID, subscription token and referral code
 * are made unique by n; not stored. */
static inline void hub_test_user(struct hub_user *u, const char *name, int n)
{
    memset(u, 0, sizeof *u);
    snprintf(u->username, sizeof u->username, "%s", name);
    strcpy(u->language, "ru");
    strcpy(u->currency, "RUB");
    snprintf(u->uuid, sizeof u->uuid, "00000000-0000-4000-8000-%012d", n);
    snprintf(u->sub_token, sizeof u->sub_token, "tok%020d", n);
    snprintf(u->referral_code, sizeof u->referral_code, "RC%08d", n);
    u->enabled = true;
}

#endif
