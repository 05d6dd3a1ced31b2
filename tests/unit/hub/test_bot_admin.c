/* The bot's admin side without sockets: command parsing (good, malformed, junk and huge
 * numbers), admin membership, naming a user, the grant (extend, create, revoked, range, audit),
 * the per-user flood bucket (burst, refill, users apart, bounded table), and the broadcast
 * tables (recipients, claims, recovery of an interrupted send, report, finish once), also with
 * Telegram ids sealed at rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/bot/bot_admin.h"
#include "hub/bot/bot_admin_store.h"
#include "hub/bot/bot_broadcast.h"
#include "hub/bot/bot_broadcast_store.h"
#include "hub/bot/bot_flood.h"
#include "hub/bot/bot_store.h"
#include "hub/domain/rules.h"
#include "hub_test_db.h"

#define T0 1764115200
#define D 86400

static void test_parse(void **state)
{
    (void)state;
    struct bot_admin_cmd c;
    assert_int_equal(bot_admin_parse("/stats", &c), BOT_ADM_STATS);
    assert_string_equal(c.error, "");
    assert_int_equal(bot_admin_parse("/stats@veil_bot", &c), BOT_ADM_STATS);
    assert_int_equal(bot_admin_parse("/stats now", &c), BOT_ADM_STATS);
    assert_string_equal(c.error, "Too many arguments.");
    assert_int_equal(bot_admin_parse("/find @alice", &c), BOT_ADM_FIND);
    assert_string_equal(c.who, "@alice");
    assert_string_equal(c.error, "");
    assert_int_equal(bot_admin_parse("/grant@veil_bot   tg:42   30", &c), BOT_ADM_GRANT);
    assert_string_equal(c.who, "tg:42");
    assert_int_equal(c.days, 30);
    assert_string_equal(c.error, "");
    assert_int_equal(bot_admin_parse("/grant 7 3660", &c), BOT_ADM_GRANT);
    assert_int_equal(c.days, HUB_MAX_DURATION_DAYS);
    assert_int_equal(bot_admin_parse("/refund 123", &c), BOT_ADM_REFUND);
    assert_int_equal(c.payment_id, 123);
    assert_int_equal(bot_admin_parse("/refund 9223372036854775807", &c), BOT_ADM_REFUND);
    assert_int_equal(c.payment_id, INT64_MAX);
    assert_string_equal(c.error, "");
    assert_int_equal(bot_admin_parse("/broadcast  Hello <b>all</b>\nline 2", &c), BOT_ADM_BROADCAST);
    assert_string_equal(c.text, "Hello <b>all</b>\nline 2");
    assert_int_equal(bot_admin_parse("/broadcast", &c), BOT_ADM_BROADCAST);
    assert_string_equal(c.text, "");
    /* Not admin commands. */
    assert_int_equal(bot_admin_parse("/start", &c), BOT_ADM_NONE);
    assert_int_equal(bot_admin_parse("stats", &c), BOT_ADM_NONE);
    assert_int_equal(bot_admin_parse("/statsx", &c), BOT_ADM_NONE);
    assert_int_equal(bot_admin_parse("/stat", &c), BOT_ADM_NONE);
    assert_int_equal(bot_admin_parse("", &c), BOT_ADM_NONE);
    assert_int_equal(bot_admin_parse("/", &c), BOT_ADM_NONE);
}

static void test_parse_junk(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "/grant",
        "/grant 5",
        "/grant 5 abc",
        "/grant 5 0",
        "/grant 5 -1",
        "/grant 5 +3",
        "/grant 5 3661",
        "/grant 5 1e3",
        "/grant 5 99999999999999999999999999",
        "/grant 5 9223372036854775808",
        "/grant 5 30 more",
        "/grant 5 3\x01",
        "/find",
        "/refund",
        "/refund 0",
        "/refund -4",
        "/refund 12abc",
        "/refund 9223372036854775808",
        "/refund 99999999999999999999",
        "/refund 1 2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bot_admin_cmd c;
        assert_int_not_equal(bot_admin_parse(bad[i], &c), BOT_ADM_NONE);
        if (c.error[0] == '\0')
            fail_msg("accepted: %s", bad[i]);
    }
    /* A name longer than any user's is refused, not cut. */
    char longname[200] = "/find @";
    memset(longname + 7, 'a', 150);
    longname[157] = '\0';
    struct bot_admin_cmd c;
    assert_int_equal(bot_admin_parse(longname, &c), BOT_ADM_FIND);
    assert_true(c.error[0] != '\0');
}

static void test_is_admin(void **state)
{
    (void)state;
    struct bot_cfg cfg = {.admins = {5, 9001}, .n_admins = 2};
    assert_true(bot_admin_is(&cfg, 9001));
    assert_true(bot_admin_is(&cfg, 5));
    assert_false(bot_admin_is(&cfg, 7));
    assert_false(bot_admin_is(&cfg, 0));
    cfg.n_admins = 0;
    assert_false(bot_admin_is(&cfg, 5));
}

static void test_flood(void **state)
{
    (void)state;
    struct bot_flood *f = bot_flood_new();
    assert_non_null(f);
    long long t = 1000000;
    for (int i = 0; i < BOT_FLOOD_BURST; i++)
        assert_true(bot_flood_allow(f, 42, t));
    assert_false(bot_flood_allow(f, 42, t));
    assert_true(bot_flood_allow(f, 43, t)); /* another user is served */
    assert_false(bot_flood_allow(f, 42, t + 999 / BOT_FLOOD_PER_S));
    assert_true(bot_flood_allow(f, 42, t + 1000 / BOT_FLOOD_PER_S)); /* one token a second */
    assert_false(bot_flood_allow(f, 42, t + 1000 / BOT_FLOOD_PER_S));
    /* Refill stops at the burst. */
    t += 3600 * 1000;
    for (int i = 0; i < BOT_FLOOD_BURST; i++)
        assert_true(bot_flood_allow(f, 42, t));
    assert_false(bot_flood_allow(f, 42, t));
    /* A clock that goes back takes nothing away and gives nothing. */
    assert_false(bot_flood_allow(f, 42, t - 5000));
    /* Many users: the table stays bounded and keeps working. */
    for (int64_t u = 1; u <= 5 * BOT_FLOOD_USERS; u++)
        assert_true(bot_flood_allow(f, 1000000 + u, t + u));
    bot_flood_free(f);
}

static int64_t add_user(struct store *st, int64_t tg, const char *name)
{
    struct hub_user u = {.telegram_id = tg, .enabled = true};
    snprintf(u.username, sizeof u.username, "%s", name);
    strcpy(u.language, "en");
    strcpy(u.currency, "RUB");
    snprintf(u.uuid, sizeof u.uuid, "00000000-0000-4000-8000-%012lld", (long long)tg);
    snprintf(u.sub_token, sizeof u.sub_token, "tok_%022lld", (long long)tg);
    snprintf(u.referral_code, sizeof u.referral_code, "R%09lld", (long long)tg);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    return u.id;
}

static void test_find_and_grant(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t alice = add_user(st, 7001, "alice"), bob = add_user(st, 7002, "bob");
    struct hub_user hu;
    assert_int_equal(bot_admin_find_user(st, "7001", &hu), 0); /* no user 7001: the Telegram id */
    assert_int_equal(hu.id, alice);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)bob);
    assert_int_equal(bot_admin_find_user(st, id, &hu), 0);
    assert_int_equal(hu.id, bob);
    assert_int_equal(bot_admin_find_user(st, "tg:7002", &hu), 0);
    assert_int_equal(hu.id, bob);
    assert_int_equal(bot_admin_find_user(st, "@ALICE", &hu), 0);
    assert_int_equal(hu.id, alice);
    assert_int_equal(bot_admin_find_user(st, "00000000-0000-4000-8000-000000007002", &hu), 0);
    assert_int_equal(hu.id, bob);
    assert_int_equal(bot_admin_find_user(st, "00000000-0000-4000-8000-00000000700A", &hu), ERR_NOT_FOUND);
    assert_int_equal(bot_admin_find_user(st, "@ali", &hu), ERR_NOT_FOUND); /* a prefix is not a name */
    assert_int_equal(bot_admin_find_user(st, "99999", &hu), ERR_NOT_FOUND);
    assert_int_equal(bot_admin_find_user(st, "tg:x", &hu), ERR_MALFORMED);
    assert_int_equal(bot_admin_find_user(st, "alice", &hu), ERR_MALFORMED);
    assert_int_equal(bot_admin_find_user(st, "@", &hu), ERR_MALFORMED);

    int64_t gift;
    assert_int_equal(bot_admin_store_gift_plan(st, T0, &gift), 0);
    int64_t again;
    assert_int_equal(bot_admin_store_gift_plan(st, T0, &again), 0);
    assert_int_equal(again, gift);
    /* Nothing to extend: a subscription of exactly the days. */
    struct hub_sub s;
    bool created;
    assert_int_equal(bot_admin_store_grant(st, alice, 10, gift, T0, "tg:9001", &s, &created), 0);
    assert_true(created);
    assert_int_equal(s.ends_at, T0 + 10 * D);
    assert_int_equal(s.state, HUB_SUB_ACTIVE);
    /* Running: extended from its end. */
    assert_int_equal(bot_admin_store_grant(st, alice, 5, gift, T0 + D, "tg:9001", &s, &created), 0);
    assert_false(created);
    assert_int_equal(s.ends_at, T0 + 15 * D);
    /* Expired: runs again from now. */
    assert_int_equal(bot_admin_store_grant(st, alice, 1, gift, T0 + 30 * D, "tg:9001", &s, &created), 0);
    assert_false(created);
    assert_int_equal(s.ends_at, T0 + 31 * D);
    /* Revoked: a new one. */
    assert_int_equal(store_sub_revoke(st, s.id, T0 + 30 * D, NULL, NULL), 0);
    int64_t revoked = s.id;
    assert_int_equal(bot_admin_store_grant(st, alice, 2, gift, T0 + 30 * D, "tg:9001", &s, &created), 0);
    assert_true(created);
    assert_int_not_equal(s.id, revoked);
    assert_int_equal(s.ends_at, T0 + 32 * D);
    /* Out of range, unknown user: nothing written. */
    assert_int_equal(bot_admin_store_grant(st, bob, 0, gift, T0, "tg:9001", &s, &created), ERR_RANGE);
    assert_int_equal(bot_admin_store_grant(st, bob, HUB_MAX_DURATION_DAYS + 1, gift, T0, "tg:9001", &s, &created),
                     ERR_RANGE);
    assert_int_equal(bot_admin_store_grant(st, 999999, 3, gift, T0, "tg:9001", &s, &created), ERR_NOT_FOUND);
    assert_int_equal(store_sub_current(st, bob, &s), ERR_NOT_FOUND);
    assert_int_equal(hub_test_audit_count(st, "tg:9001", "bot.grant"), 4);
    store_close(st);
    *state = NULL;
}

static void test_broadcast_store(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t alice = add_user(st, 7001, "alice"), bob = add_user(st, 7002, "bob");
    add_user(st, 7003, "carol");
    int64_t off = add_user(st, 7004, "dave");
    assert_int_equal(store_user_set_enabled(st, off, false, T0, NULL), 0);
    assert_int_equal(bot_store_blocked_set(st, 7003, true, T0), 0);
    assert_int_equal(bot_store_blocked_set(st, 7002, false, T0), 0); /* unblocked again: a recipient */
    int64_t id, n;
    assert_int_equal(bot_broadcast_create(st, 9001, "  \n", T0, &id, &n), ERR_RANGE);
    char *huge = malloc(2000);
    memset(huge, '<', 1999);
    huge[1999] = '\0';
    assert_int_equal(bot_broadcast_create(st, 9001, huge, T0, &id, &n), ERR_TOO_LONG); /* 4 bytes each escaped */
    free(huge);
    assert_int_equal(bot_broadcast_create(st, 9001, "Hi <all> & co\n", T0, &id, &n), 0);
    assert_int_equal(n, 2); /* alice, bob: not the blocked, not the disabled */
    int64_t cur, admin;
    char *html;
    assert_int_equal(bot_bc_store_current(st, &cur, &admin, &html), 0);
    assert_int_equal(cur, id);
    assert_int_equal(admin, 9001);
    assert_string_equal(html, "Hi &lt;all&gt; &amp; co");
    free(html);
    int64_t tg[4];
    size_t k;
    assert_int_equal(bot_bc_store_pending(st, id, tg, 4, &k), 0);
    assert_int_equal(k, 2);
    assert_int_equal(tg[0], alice);
    assert_int_equal(tg[1], bob);
    /* alice is claimed and the hub dies mid-send: recovered as unknown, never pending again. */
    assert_int_equal(bot_bc_store_mark(st, id, alice, BOT_BC_PENDING, BOT_BC_SENDING, T0), 0);
    assert_int_equal(bot_bc_store_mark(st, id, alice, BOT_BC_PENDING, BOT_BC_SENDING, T0), ERR_BAD_STATE);
    bool finished;
    assert_int_equal(bot_bc_store_finish(st, id, T0, &finished), 0);
    assert_false(finished);
    assert_int_equal(bot_bc_store_recover(st, T0, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(bot_bc_store_mark(st, id, alice, BOT_BC_SENDING, BOT_BC_DELIVERED, T0), ERR_BAD_STATE);
    assert_int_equal(bot_bc_store_pending(st, id, tg, 4, &k), 0);
    assert_int_equal(k, 1);
    assert_int_equal(tg[0], bob);
    assert_int_equal(bot_bc_store_mark(st, id, bob, BOT_BC_PENDING, BOT_BC_SENDING, T0), 0);
    assert_int_equal(bot_bc_store_mark(st, id, bob, BOT_BC_SENDING, BOT_BC_DELIVERED, T0), 0);
    struct bot_bc_report r;
    assert_int_equal(bot_broadcast_report(st, id, &r), 0);
    assert_int_equal(r.recipients, 2);
    assert_int_equal(r.delivered, 1);
    assert_int_equal(r.failed, 1);
    assert_int_equal(r.unknown, 1);
    assert_int_equal(r.pending, 0);
    assert_false(r.done);
    assert_int_equal(bot_bc_store_finish(st, id, T0, &finished), 0);
    assert_true(finished);
    assert_int_equal(bot_bc_store_finish(st, id, T0, &finished), 0);
    assert_false(finished); /* reported once */
    assert_int_equal(bot_bc_store_current(st, &cur, &admin, &html), ERR_NOT_FOUND);
    assert_int_equal(bot_broadcast_report(st, id + 100, &r), ERR_NOT_FOUND);
    assert_int_equal(hub_test_audit_count(st, "tg:9001", "bot.broadcast"), 1);
    store_close(st);
    *state = NULL;
}

/* With Telegram ids sealed at rest: bot_chats holds refs, recipients are still found by the
 * blocked mark, and a recipient's id opens at send time. */
static void test_broadcast_sealed(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t alice = add_user(st, 7001, "alice"), bob = add_user(st, 7002, "bob");
    add_user(st, 7003, "carol");
    assert_int_equal(bot_store_blocked_set(st, 7003, true, T0), 0); /* before sealing: converted */
    static const uint8_t master[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    char why[200];
    assert_int_equal(store_seal_open(st, master, T0, NULL, why, sizeof why), 0);
    assert_true(store_seal_enabled(st));
    int64_t dave = add_user(st, 7004, "dave");
    assert_int_equal(bot_store_blocked_set(st, 7002, true, T0), 0); /* after sealing: by ref */
    int64_t id, n;
    assert_int_equal(bot_broadcast_create(st, 9001, "sealed", T0, &id, &n), 0);
    assert_int_equal(n, 2);
    int64_t users[4];
    size_t k;
    assert_int_equal(bot_bc_store_pending(st, id, users, 4, &k), 0);
    assert_int_equal(k, 2);
    assert_int_equal(users[0], alice);
    assert_int_equal(users[1], dave);
    struct hub_user hu;
    assert_int_equal(store_user_get(st, users[1], &hu), 0);
    assert_int_equal(hu.telegram_id, 7004);
    (void)bob;
    store_close(st);
    *state = NULL;
}

static int setup(void **state)
{
    const char *url = *state;
    *state = url != NULL ? hub_test_store(url, 1) : NULL;
    return url != NULL && *state == NULL ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_junk),
        cmocka_unit_test(test_is_admin),
        cmocka_unit_test(test_flood),
        cmocka_unit_test_prestate_setup_teardown(test_find_and_grant, setup, NULL, (void *)"sqlite::memory:"),
        cmocka_unit_test_prestate_setup_teardown(test_broadcast_store, setup, NULL, (void *)"sqlite::memory:"),
        cmocka_unit_test_prestate_setup_teardown(test_broadcast_sealed, setup, NULL, (void *)"sqlite::memory:"),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_find_and_grant, setup, NULL, (void *)hub_test_pg_url()),
        cmocka_unit_test_prestate_setup_teardown(test_broadcast_store, setup, NULL, (void *)hub_test_pg_url()),
        cmocka_unit_test_prestate_setup_teardown(test_broadcast_sealed, setup, NULL, (void *)hub_test_pg_url()),
    };
    int rc = cmocka_run_group_tests_name("bot_admin", tests, NULL, NULL);
    rc |= HUB_TEST_RUN_PG_GROUP("bot_admin_pg", pg_tests);
    return rc;
}
