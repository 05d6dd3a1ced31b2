/* hub/fleet with the store, on SQLite and PostgreSQL: BitTorrent holds (start after N attempts,
 * never for an operator-disabled user, end by themselves, attempts paid for do not count again),
 * the silent mark (set by the job, cleared by handshakes, each audited once), countries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/fleet/fleet_int.h"
#include "hub/store/store.h"
#include "hub/store/store_sql.h"
#include "hub_test_db.h"

#define T0 1700000000

static int64_t query_i64(struct store *st, const char *sql)
{
    struct store_conn sc;
    struct store_res r;
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(store__exec(&sc, sql, NULL, 0, &r), 0);
    int64_t v = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : -1;
    store__res_free(&r);
    store__release(&sc);
    return v;
}

static void exec_sql(struct store *st, const char *sql)
{
    struct store_conn sc;
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(store__exec(&sc, sql, NULL, 0, NULL), 0);
    store__release(&sc);
}

static int64_t add_user(struct store *st, const char *name)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (username, language, vless_uuid, sub_token, referral_code, currency, created_at,"
             " updated_at, revision) VALUES ('%s', 'en', 'uuid-%s', 'tok-%s', 'ref-%s', 'RUB', %d, %d, 1)",
             name, name, name, name, T0, T0);
    exec_sql(st, sql);
    snprintf(sql, sizeof sql, "SELECT id FROM users WHERE username = '%s'", name);
    return query_i64(st, sql);
}

static void bt_attempts(struct store *st, int64_t user_id, int64_t n, int64_t at)
{
    char target[32], details[32];
    snprintf(target, sizeof target, "user:%lld", (long long)user_id);
    snprintf(details, sizeof details, "{\"attempts\":%lld}", (long long)n);
    struct store_audit a = {.actor = "node:1", .action = "node.bittorrent", .target = target, .details = details};
    assert_int_equal(store_audit_add(st, &a, at), 0);
}

static bool enabled(struct store *st, int64_t id)
{
    struct hub_user u;
    assert_int_equal(store_user_get(st, id, &u), 0);
    return u.enabled;
}

static int64_t audits(struct store *st, const char *action)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_log WHERE action = '%s'", action);
    return query_i64(st, sql);
}

static void test_bittorrent_holds(void **state)
{
    struct store *st = *state;
    if (st == NULL)
        skip();
    int64_t tom = add_user(st, "tom"), ann = add_user(st, "ann"), op = add_user(st, "op");
    struct fleet_bt_cfg cfg = {.disable_after = 3, .disable_window = 600, .disable_sec = 120};
    bt_attempts(st, tom, 2, T0 + 1);
    bt_attempts(st, tom, 1, T0 + 2);
    bt_attempts(st, ann, 2, T0 + 2);    /* below the limit */
    bt_attempts(st, ann, 5, T0 - 1000); /* outside the window */
    bt_attempts(st, op, 9, T0 + 3);     /* disabled by an operator: not ours */
    struct hub_user patch = {.enabled = false};
    assert_int_equal(store_user_patch(st, op, &patch, HUB_USER_F_ENABLED, T0, NULL, NULL), 0);
    int64_t rev0;
    assert_int_equal(store_revision(st, &rev0), 0);
    bool changed = false;
    assert_int_equal(fleet__bt_pass(st, &cfg, T0 + 10, &changed), 0);
    assert_true(changed);
    assert_false(enabled(st, tom));
    assert_true(enabled(st, ann));
    assert_false(enabled(st, op));
    int64_t rev1;
    assert_int_equal(store_revision(st, &rev1), 0);
    assert_true(rev1 > rev0); /* nodes drop tom's UUID at their next pull */
    struct fleet_hold h;
    assert_int_equal(fleet__hold_get(st, tom, &h), 0);
    assert_int_equal(h.attempts, 3);
    assert_int_equal(h.until, T0 + 10 + 120);
    assert_int_equal(h.released_at, 0);
    assert_string_equal(h.reason, "bittorrent");
    assert_int_equal(fleet__hold_get(st, op, &h), ERR_NOT_FOUND);
    assert_int_equal(audits(st, "user.hold"), 1);
    /* A second pass changes nothing. */
    changed = false;
    assert_int_equal(fleet__bt_pass(st, &cfg, T0 + 20, &changed), 0);
    assert_false(changed);
    assert_int_equal(audits(st, "user.hold"), 1);
    /* The hold ends by itself; the attempts it paid for do not hold tom again. */
    assert_int_equal(fleet__bt_pass(st, &cfg, T0 + 129, &changed), 0);
    assert_false(enabled(st, tom));
    assert_int_equal(fleet__bt_pass(st, &cfg, T0 + 130, &changed), 0);
    assert_true(changed);
    assert_true(enabled(st, tom));
    assert_false(enabled(st, op)); /* never ours to enable */
    assert_int_equal(audits(st, "user.hold_end"), 1);
    assert_int_equal(fleet__hold_get(st, tom, &h), 0);
    assert_int_equal(h.released_at, T0 + 130);
    changed = false;
    assert_int_equal(fleet__bt_pass(st, &cfg, T0 + 131, &changed), 0);
    assert_false(changed);
    assert_true(enabled(st, tom));
    /* New attempts after the hold: held again. */
    bt_attempts(st, tom, 3, T0 + 140);
    assert_int_equal(fleet__bt_pass(st, &cfg, T0 + 141, &changed), 0);
    assert_false(enabled(st, tom));
    assert_int_equal(audits(st, "user.hold"), 2);
    /* An operator who enabled the user meanwhile is respected when the hold ends. */
    patch.enabled = true;
    assert_int_equal(store_user_patch(st, tom, &patch, HUB_USER_F_ENABLED, T0 + 150, NULL, NULL), 0);
    int n = 0;
    assert_int_equal(fleet__holds_release(st, T0 + 1000, &n), 0);
    assert_int_equal(n, 0); /* released, but nothing to enable */
    assert_int_equal(audits(st, "user.hold_end"), 1);
    /* Off: nothing is held. */
    struct fleet_bt_cfg off = {.disable_after = 0, .disable_window = 600, .disable_sec = 120};
    bt_attempts(st, ann, 9, T0 + 1001);
    assert_int_equal(fleet__bt_pass(st, &off, T0 + 1002, &changed), 0);
    assert_true(enabled(st, ann));
}

static int64_t add_node(struct store *st, const char *name, const char *country)
{
    struct hub_node n = {.port = 443, .weight = 1};
    snprintf(n.name, sizeof n.name, "%s", name);
    snprintf(n.address, sizeof n.address, "127.0.0.1");
    snprintf(n.country, sizeof n.country, "%s", country);
    snprintf(n.public_key, sizeof n.public_key, "DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M");
    n.n_server_names = 1;
    snprintf(n.server_names[0], sizeof n.server_names[0], "example.com");
    char hash[65];
    snprintf(hash, sizeof hash, "%064d", (int)(name[0] + name[1]));
    assert_int_equal(store_node_create(st, &n, hash, T0, NULL), 0);
    return n.id;
}

static struct hub_node node_get(struct store *st, int64_t id)
{
    struct hub_node n;
    assert_int_equal(store_node_get(st, id, &n), 0);
    return n;
}

static void test_silent_mark(void **state)
{
    struct store *st = *state;
    if (st == NULL)
        skip();
    int64_t a = add_node(st, "na", "DE"), b = add_node(st, "nb", "NL");
    for (int64_t id = a; id <= b; id++)
        assert_int_equal(store_node_touch(st, id, T0), 0);
    bool back = true;
    struct hub_node na = node_get(st, a), nb = node_get(st, b);
    assert_int_equal(fleet_heard(st, &na, T0, &back), 0);
    assert_false(back);
    assert_int_equal(fleet_heard(st, &nb, T0, &back), 0);
    /* Both keep checking in; only a keeps getting handshakes. */
    struct fleet_cfg cfg = {.silence = {.silence = 60}, .dead_after = 30};
    bool changed = false;
    for (int64_t t = T0 + 10; t <= T0 + 70; t += 10) {
        assert_int_equal(store_node_touch(st, a, t), 0);
        assert_int_equal(store_node_touch(st, b, t), 0);
        na = node_get(st, a);
        assert_int_equal(fleet_heard(st, &na, t, &back), 0);
        assert_int_equal(fleet__silence_pass(st, &cfg, t, &changed), 0);
    }
    assert_true(changed);
    nb = node_get(st, b);
    assert_int_equal(nb.silent_since, T0 + 60);
    assert_int_equal(node_get(st, a).silent_since, 0);
    assert_int_equal(audits(st, "node.clients_silent"), 1);
    /* Handshakes resume: back, audited once. */
    assert_int_equal(fleet_heard(st, &nb, T0 + 80, &back), 0);
    assert_true(back);
    assert_int_equal(node_get(st, b).silent_since, 0);
    assert_int_equal(node_get(st, b).handshake_at, T0 + 80);
    assert_int_equal(fleet_heard(st, &nb, T0 + 90, &back), 0);
    assert_false(back);
    assert_int_equal(audits(st, "node.clients_back"), 1);
    /* A node back from silence (stale) gets a fresh window; one that never had handshakes not. */
    assert_int_equal(fleet_node_returned(st, &nb, T0 + 500), 0);
    assert_int_equal(node_get(st, b).handshake_at, T0 + 500);
}

static void test_countries(void **state)
{
    struct store *st = *state;
    if (st == NULL)
        skip();
    int64_t u = add_user(st, "cora");
    struct hub_plan p = {.duration_days = 30, .enabled = true};
    snprintf(p.name, sizeof p.name, "P");
    assert_int_equal(store_plan_create(st, &p, T0, NULL), 0);
    char cc[3];
    assert_int_equal(fleet_country_for(st, u, p.id, cc), 0);
    assert_string_equal(cc, "");
    struct store_audit au = {.actor = "test", .action = "plan.country"};
    assert_int_equal(fleet__country_set(st, "plans", p.id, "NL", &au, T0), 0);
    assert_int_equal(fleet_country_for(st, u, p.id, cc), 0);
    assert_string_equal(cc, "NL"); /* the plan's */
    au.action = "user.country";
    assert_int_equal(fleet__country_set(st, "users", u, "DE", &au, T0), 0);
    assert_int_equal(fleet_country_for(st, u, p.id, cc), 0);
    assert_string_equal(cc, "DE"); /* the user's own wins */
    assert_int_equal(fleet_country_for(st, u, 0, cc), 0);
    assert_string_equal(cc, "DE");
    assert_int_equal(fleet__country_set(st, "users", 99999, "DE", &au, T0), ERR_NOT_FOUND);
    assert_int_equal(fleet__country_set(st, "nodes", u, "DE", &au, T0), ERR_RANGE);
    assert_int_equal(audits(st, "user.country"), 1);
}

static int setup_pg(void **state)
{
    *state = hub_test_store(hub_test_pg_url(), 2);
    return 0;
}

#define STORE_TESTS(setup)                                                                                             \
    cmocka_unit_test_setup_teardown(test_bittorrent_holds, setup, hub_test_teardown),                                  \
        cmocka_unit_test_setup_teardown(test_silent_mark, setup, hub_test_teardown),                                   \
        cmocka_unit_test_setup_teardown(test_countries, setup, hub_test_teardown)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {STORE_TESTS(hub_test_setup_sqlite)};
    const struct CMUnitTest pg_tests[] = {STORE_TESTS(setup_pg)};
    int rc = cmocka_run_group_tests_name("fleet_sqlite", sqlite_tests, NULL, NULL);
    rc |= HUB_TEST_RUN_PG_GROUP("fleet_pg", pg_tests);
    return rc;
}
