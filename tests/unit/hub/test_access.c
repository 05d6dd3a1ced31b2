/* "Can this user connect" has one home, hub_user_access (domain/rules.c). The node sync query
 * filters in SQL for speed; this runs every combination of user enabled, stored state, start,
 * end and quota use through both and requires the same answer, on SQLite and (with
 * VEIL_PG_URL) PostgreSQL. /sub shows the same decision, including subscriptions that start
 * later (before: served as active while nodes refused them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub/api/api.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define NOW 1790000000

static const char *const states[] = {"active", "limited", "expired", "revoked"};
static const int64_t starts[] = {-100, 0, 1, 100}; /* relative to NOW */
static const int64_t ends[] = {1000, 1, 0, -10};
static const struct {
    int64_t quota, up, down;
} uses[] = {{0, 400, 100}, {1000, 500, 499}, {1000, 600, 400}, {1000, 2000, 0}, {1000, 0, 1000}};

struct fixture {
    struct store *st;
    int64_t plan_id;
    int n_users;
};

static void exec(struct store *st, const char *sql, const struct store_val *p, size_t n, struct store_res *r)
{
    struct store_conn sc;
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(store__exec(&sc, sql, p, n, r), 0);
    store__release(&sc);
}

static int64_t add_user(struct fixture *f, bool enabled)
{
    char name[32], uuid[37], tok[40], ref[16];
    int k = ++f->n_users;
    snprintf(name, sizeof name, "u%d", k);
    snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", k);
    snprintf(tok, sizeof tok, "tok-access-%024d", k);
    snprintf(ref, sizeof ref, "R%07d", k);
    struct store_val p[] = {SV_T(name), SV_T(uuid), SV_T(tok), SV_T(ref), SV_I(enabled), SV_I(k)};
    struct store_res r;
    exec(f->st,
         "INSERT INTO users (username, language, vless_uuid, sub_token, referral_code, currency, enabled,"
         " created_at, updated_at, revision) VALUES ($1, 'en', $2, $3, $4, 'USD', $5, 0, 0, $6) RETURNING id",
         p, 6, &r);
    assert_int_equal(r.nrows, 1);
    int64_t id = store__cell_i64(&r, 0, 0);
    store__res_free(&r);
    return id;
}

static void add_sub(struct fixture *f, const struct hub_sub *s)
{
    struct store_val p[] = {SV_I(s->user_id),
                            SV_I(f->plan_id),
                            SV_I(s->starts_at),
                            SV_I(s->ends_at),
                            SV_I(s->used_up),
                            SV_I(s->used_down),
                            SV_T(hub_sub_state_name(s->state)),
                            SV_I(s->quota_bytes),
                            SV_I(s->device_limit)};
    exec(f->st,
         "INSERT INTO subscriptions (user_id, plan_id, starts_at, ends_at, used_up, used_down, state,"
         " last_reset_at, quota_bytes, device_limit, reset_strategy, created_at, updated_at)"
         " VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, 'none', 0, 0)",
         p, 9, NULL);
}

struct expect {
    int64_t user_id;
    bool active;
    int64_t device_limit;
};

static void check(struct fixture *f, const struct expect *ex, size_t n_ex)
{
    exec(f->st, "UPDATE sync_state SET revision = 1000000 WHERE id = 1", NULL, 0, NULL);
    struct store_sync_user *list;
    size_t n;
    int64_t rev;
    assert_int_equal(store_sync_users(f->st, 0, NOW, &list, &n, &rev), 0);
    assert_int_equal(n, n_ex);
    size_t mismatches = 0;
    for (size_t i = 0; i < n_ex; i++) {
        const struct store_sync_user *got = NULL;
        for (size_t j = 0; j < n && got == NULL; j++)
            if (list[j].user_id == ex[i].user_id)
                got = &list[j];
        assert_non_null(got);
        if (got->active != ex[i].active || (got->active && got->device_limit != ex[i].device_limit)) {
            fprintf(stderr, "user %" PRId64 ": sql says %d (limit %" PRId64 "), domain %d (limit %" PRId64 ")\n",
                    ex[i].user_id, got->active, got->device_limit, ex[i].active, ex[i].device_limit);
            mismatches++;
        }
    }
    free(list);
    assert_int_equal(mismatches, 0);
}

static void run_matrix(const char *url, size_t pool)
{
    struct fixture f = {.st = hub_test_store(url, pool)};
    assert_non_null(f.st);
    struct hub_plan plan = {.duration_days = 30, .enabled = true};
    snprintf(plan.name, sizeof plan.name, "p");
    assert_int_equal(store_plan_create(f.st, &plan, 0, NULL), 0);
    f.plan_id = plan.id;
    size_t cap = 2 * 4 * 4 * 4 * 5 + 16, n_ex = 0, n_ok = 0;
    struct expect *ex = calloc(cap, sizeof *ex);
    for (int en = 0; en < 2; en++)
        for (size_t si = 0; si < 4; si++)
            for (size_t a = 0; a < 4; a++)
                for (size_t b = 0; b < 4; b++)
                    for (size_t q = 0; q < 5; q++) {
                        struct hub_user u = {.enabled = en != 0};
                        u.id = add_user(&f, u.enabled);
                        struct hub_sub s = {.user_id = u.id,
                                            .state = (enum hub_sub_state)hub_sub_state_parse(states[si]),
                                            .starts_at = NOW + starts[a],
                                            .ends_at = NOW + ends[b],
                                            .quota_bytes = uses[q].quota,
                                            .used_up = uses[q].up,
                                            .used_down = uses[q].down,
                                            .device_limit = 3};
                        add_sub(&f, &s);
                        bool ok = hub_user_can_connect(&u, &s, NOW);
                        n_ok += ok;
                        ex[n_ex++] = (struct expect){u.id, ok, 3};
                    }
    /* No subscription at all. */
    for (int en = 0; en < 2; en++) {
        struct hub_user u = {.enabled = en != 0};
        u.id = add_user(&f, u.enabled);
        assert_false(hub_user_can_connect(&u, NULL, NOW));
        ex[n_ex++] = (struct expect){u.id, false, 0};
    }
    /* Several subscriptions: the user connects when any one lets them, with the limit of the one
     * ending last among those. */
    struct hub_user u = {.enabled = true};
    u.id = add_user(&f, true);
    struct hub_sub old = {
        .user_id = u.id, .state = HUB_SUB_EXPIRED, .starts_at = NOW - 900, .ends_at = NOW - 1, .device_limit = 1};
    struct hub_sub cur = {
        .user_id = u.id, .state = HUB_SUB_ACTIVE, .starts_at = NOW - 1, .ends_at = NOW + 50, .device_limit = 2};
    struct hub_sub later = {
        .user_id = u.id, .state = HUB_SUB_ACTIVE, .starts_at = NOW + 50, .ends_at = NOW + 500, .device_limit = 5};
    add_sub(&f, &old);
    add_sub(&f, &cur);
    add_sub(&f, &later);
    assert_true(!hub_user_can_connect(&u, &old, NOW) && hub_user_can_connect(&u, &cur, NOW) &&
                !hub_user_can_connect(&u, &later, NOW));
    ex[n_ex++] = (struct expect){u.id, true, 2};
    check(&f, ex, n_ex);
    /* The matrix holds both answers in numbers (not a vacuous agreement). */
    assert_true(n_ok >= 10 && n_ok < n_ex / 2);
    free(ex);
    store_close(f.st);
}

static void test_sync_sql_sqlite(void **state)
{
    (void)state;
    run_matrix("sqlite::memory:", 1);
}

static void test_sync_sql_pg(void **state)
{
    (void)state;
    run_matrix(hub_test_pg_url(), 2);
}

/* The reasons, in order, and the quota rule for the renderer's unsigned counters. */
static void test_reasons(void **state)
{
    (void)state;
    struct hub_user u = {.id = 7, .enabled = true};
    struct hub_sub s = {.user_id = 7, .state = HUB_SUB_ACTIVE, .starts_at = NOW, .ends_at = NOW + 10};
    assert_int_equal(hub_user_access(&u, &s, NOW), HUB_ACCESS_OK);
    assert_int_equal(hub_user_access(&u, &s, NOW - 1), HUB_ACCESS_NOT_STARTED);
    assert_int_equal(hub_user_access(&u, &s, NOW + 10), HUB_ACCESS_EXPIRED);
    s.quota_bytes = 10;
    s.used_down = 10;
    assert_int_equal(hub_user_access(&u, &s, NOW), HUB_ACCESS_LIMITED);
    assert_int_equal(hub_user_access(&u, &s, NOW - 1), HUB_ACCESS_NOT_STARTED);
    s.state = HUB_SUB_REVOKED;
    assert_int_equal(hub_user_access(&u, &s, NOW), HUB_ACCESS_REVOKED);
    s.user_id = 8;
    assert_int_equal(hub_user_access(&u, &s, NOW), HUB_ACCESS_DISABLED);
    assert_int_equal(hub_user_access(&u, NULL, NOW), HUB_ACCESS_DISABLED);
    u.enabled = false;
    s.user_id = 7;
    s.state = HUB_SUB_ACTIVE;
    assert_int_equal(hub_user_access(&u, &s, NOW), HUB_ACCESS_DISABLED);
    /* hub_quota_reached agrees with hub_sub_evaluate on every small case, and never overflows. */
    for (int64_t q = 0; q < 6; q++)
        for (int64_t up = 0; up < 8; up++)
            for (int64_t down = 0; down < 8; down++) {
                struct hub_sub t = {
                    .state = HUB_SUB_ACTIVE, .ends_at = NOW + 1, .quota_bytes = q, .used_up = up, .used_down = down};
                assert_int_equal(hub_quota_reached((uint64_t)up, (uint64_t)down, (uint64_t)q),
                                 hub_sub_evaluate(&t, NOW) == HUB_SUB_LIMITED);
            }
    assert_true(hub_quota_reached(UINT64_MAX, UINT64_MAX, 1));
    assert_false(hub_quota_reached(UINT64_MAX, UINT64_MAX, 0));
    assert_false(hub_quota_reached(1, UINT64_MAX - 2, UINT64_MAX));
}

/* /sub/<token>/info reports what the nodes enforce. */
static void test_sub_page_follows_rule(void **state)
{
    (void)state;
    struct fixture f = {.st = hub_test_store("sqlite::memory:", 1)};
    assert_non_null(f.st);
    struct hub_plan plan = {.duration_days = 30, .enabled = true};
    snprintf(plan.name, sizeof plan.name, "p");
    assert_int_equal(store_plan_create(f.st, &plan, 0, NULL), 0);
    f.plan_id = plan.id;
    static const struct {
        int64_t start, end;
        const char *status;
    } cases[] = {{-10, 100, "active"}, {10, 100, "pending"}, {-100, -1, "expired"}};
    struct api_ctx ctx;
    struct api_cfg cfg = {.profile_title = "T", .clock = NULL};
    api_ctx_init(&ctx, f.st, &cfg);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t uid = add_user(&f, true);
        struct hub_sub s = {.user_id = uid,
                            .state = HUB_SUB_ACTIVE,
                            .starts_at = time(NULL) + cases[i].start,
                            .ends_at = time(NULL) + cases[i].end};
        add_sub(&f, &s);
        char path[96];
        snprintf(path, sizeof path, "/sub/tok-access-%024d/info", f.n_users);
        struct api_req q = {.method = "GET", .path = path, .ip = "", .user_agent = "curl/8"};
        struct api_resp r;
        api_dispatch(&ctx, &q, &r);
        assert_int_equal(r.status, 200);
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        assert_non_null(j);
        const char *st = json_string_value(json_object_get(j, "status"));
        if (st == NULL || strcmp(st, cases[i].status) != 0)
            fprintf(stderr, "case %zu: %.*s\n", i, (int)r.body_len, r.body);
        assert_non_null(st);
        assert_string_equal(st, cases[i].status);
        json_decref(j);
        api_resp_dispose(&r);
    }
    api_ctx_dispose(&ctx);
    store_close(f.st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_reasons), cmocka_unit_test(test_sync_sql_sqlite),
                                       cmocka_unit_test(test_sub_page_follows_rule)};
    const struct CMUnitTest pg_tests[] = {cmocka_unit_test(test_sync_sql_pg)};
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + HUB_TEST_RUN_PG_GROUP("access_pg", pg_tests);
}
