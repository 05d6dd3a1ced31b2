/* The bot's customer screens without sockets: every keyboard they build keeps callback_data
 * within 64 bytes (with the largest ids) and parses back; the parser refuses malformed data;
 * the top-up amounts; the add-to-app deep links hub/sub builds for the redirect page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_store.h"
#include "hub/bot/bot_update.h"
#include "hub/sub/sub.h"
#include "hub_test_db.h"

#define T0 1764115200

/* Walks a keyboard: callback data is 1..64 bytes and known to one of the two parsers; URL
 * buttons are http(s). Returns the number of callback buttons. */
static size_t check_keyboard(json_t *kbd, size_t *urls)
{
    assert_non_null(kbd);
    size_t n = 0, i, k;
    json_t *row, *b;
    json_array_foreach(json_object_get(kbd, "inline_keyboard"), i, row)
    {
        json_array_foreach(row, k, b)
        {
            assert_non_null(json_string_value(json_object_get(b, "text")));
            const char *url = json_string_value(json_object_get(b, "url"));
            if (url != NULL) {
                assert_true(strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0);
                if (urls != NULL)
                    (*urls)++;
            }
            const char *d = json_string_value(json_object_get(b, "callback_data"));
            if (d == NULL)
                continue;
            assert_true(strlen(d) >= 1 && strlen(d) <= BOT_CALLBACK_MAX);
            int64_t id;
            enum billing_prov prov;
            assert_true(bot_ccb_parse(d, &id, &prov) != BOT_CCB_NONE || bot_cb_parse(d, &id, &prov) != BOT_CB_UNKNOWN);
            n++;
        }
    }
    json_decref(kbd);
    return n;
}

static void test_keyboards(void **state)
{
    (void)state;
    const int64_t big = 999999999999999999LL;
    struct store_device devs[3];
    memset(devs, 0, sizeof devs);
    for (int i = 0; i < 3; i++)
        devs[i].id = big - i;
    enum billing_prov provs[] = {BILLING_YOOKASSA, BILLING_ROBOKASSA, BILLING_CRYPTOBOT};
    for (int l = 0; l < BOT_LANG__COUNT; l++) {
        assert_int_equal(check_keyboard(bot_kbd_balance((enum bot_lang)l, true), NULL), 2);
        assert_int_equal(check_keyboard(bot_kbd_balance((enum bot_lang)l, false), NULL), 1);
        assert_int_equal(check_keyboard(bot_kbd_topup_amounts((enum bot_lang)l, "RUB"), NULL), BOT_TOPUP_AMOUNTS + 1);
        assert_int_equal(check_keyboard(bot_kbd_topup_pay((enum bot_lang)l, big, provs, 3), NULL), 4);
        assert_int_equal(check_keyboard(bot_kbd_devices((enum bot_lang)l, devs, 3), NULL), 4);
        /* My subscription + Devices + six add-to-app URL buttons, the longest token. */
        char token[HUB_TOKEN_MAX + 1];
        memset(token, 'A', HUB_TOKEN_MAX);
        token[HUB_TOKEN_MAX] = '\0';
        json_t *kbd = bot_kbd_sub((enum bot_lang)l, "https://vpn.example/sub/abc");
        assert_int_equal(bot_kbd_sub_more(kbd, (enum bot_lang)l, "https://vpn.example/", token, true), 0);
        json_t *rows = json_object_get(kbd, "inline_keyboard");
        json_t *last = json_array_get(json_array_get(rows, json_array_size(rows) - 1), 0);
        assert_string_equal(json_string_value(json_object_get(last, "callback_data")), "menu"); /* back stays last */
        size_t urls = 0;
        assert_int_equal(check_keyboard(kbd, &urls), 3); /* qr, devices, back (copy is a copy_text button) */
        assert_int_equal(urls, 1 + 6);
        /* No public URL: no add-to-app buttons. */
        kbd = bot_kbd_sub((enum bot_lang)l, "https://vpn.example/sub/abc");
        assert_int_equal(bot_kbd_sub_more(kbd, (enum bot_lang)l, "", token, false), 0);
        urls = 0;
        assert_int_equal(check_keyboard(kbd, &urls), 2);
        assert_int_equal(urls, 1);
        for (int m = 0; m < BOT_C__COUNT; m++)
            assert_true(strlen(bot_cmsg((enum bot_lang)l, (enum bot_cmsg)m)) > 0);
    }
}

static void test_parse(void **state)
{
    (void)state;
    int64_t a;
    enum billing_prov prov;
    assert_int_equal(bot_ccb_parse("devices", &a, &prov), BOT_CCB_DEVICES);
    assert_int_equal(bot_ccb_parse("devdel:42", &a, &prov), BOT_CCB_DEV_FREE);
    assert_int_equal(a, 42);
    assert_int_equal(bot_ccb_parse("topup", &a, &prov), BOT_CCB_TOPUP);
    assert_int_equal(bot_ccb_parse("topup:30000", &a, &prov), BOT_CCB_TOPUP_AMOUNT);
    assert_int_equal(a, 30000);
    assert_int_equal(bot_ccb_parse("tpay:10000:yookassa", &a, &prov), BOT_CCB_TOPUP_PAY);
    assert_int_equal(a, 10000);
    assert_int_equal(prov, BILLING_YOOKASSA);
    static const char *const bad[] = {
        "devdel:",  "devdel:0",  "devdel:1x",       "devdel:-1",      "topup:",          "topup:12:yookassa",
        "tpay:100", "tpay:100:", "tpay:100:paypal", "tpay::yookassa", "tpay:0:yookassa", "devdel:9999999999999999999",
        "devicesx", "",          "topup:1 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bot_ccb_parse(bad[i], &a, &prov), BOT_CCB_NONE);
    /* The first slice's data is not taken for a customer-screen one. */
    assert_int_equal(bot_ccb_parse("pay:1:stars", &a, &prov), BOT_CCB_NONE);
    assert_int_equal(bot_ccb_parse("balance", &a, &prov), BOT_CCB_NONE);

    char app[33], token[HUB_TOKEN_MAX + 1];
    assert_true(bot_addapp_parse_path("/add/happ/QU1tRj5rZxGZ5xJ9o_x69sTTGd5mlktZ", app, token));
    assert_string_equal(app, "happ");
    assert_string_equal(token, "QU1tRj5rZxGZ5xJ9o_x69sTTGd5mlktZ");
    assert_true(bot_addapp_parse_path("/add/v2rayng/QU1tRj5rZxGZ5xJ9o_x69sTTGd5mlktZ/", app, token));
    assert_string_equal(token, "QU1tRj5rZxGZ5xJ9o_x69sTTGd5mlktZ");
    static const char *const bad_paths[] = {"/add/happ/short",
                                            "/add//QU1tRj5rZxGZ5xJ9o_x69sTTGd5mlktZ",
                                            "/add/happ",
                                            "/add/happ/",
                                            "/sub/QU1tRj5rZxGZ5xJ9o_x69sTTGd5mlktZ",
                                            "/add/happ/QU1tRj5rZxGZ5xJ9o_x69sTTGd5mlktZ/x",
                                            "/add/happ/QU1tRj5rZxGZ5xJ9o_x69sT\"><script>",
                                            "/add/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/QU1tRj5rZxGZ5xJ9o_x69sTTGd5mlktZ",
                                            ""};
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++)
        assert_false(bot_addapp_parse_path(bad_paths[i], app, token));
    char longtok[10 + HUB_TOKEN_MAX + 2] = "/add/happ/";
    memset(longtok + 10, 'A', HUB_TOKEN_MAX + 1);
    longtok[10 + HUB_TOKEN_MAX + 1] = '\0';
    assert_false(bot_addapp_parse_path(longtok, app, token)); /* a token over HUB_TOKEN_MAX */

    assert_true(bot_topup_amount_ok("RUB", 10000));
    assert_false(bot_topup_amount_ok("RUB", 100));
    assert_true(bot_topup_amount_ok("XTR", 100));
    assert_false(bot_topup_amount_ok("RUB", 12345));
}

static void test_deeplinks(void **state)
{
    (void)state;
    const char *url = "https://vpn.example/sub/abc_DEF-123";
    struct {
        const char *slug, *want;
    } cases[] = {
        {"happ", "happ://add/https://vpn.example/sub/abc_DEF-123"},
        {"v2rayng", "v2rayng://install-config?name=My%20VPN&url=https%3A%2F%2Fvpn.example%2Fsub%2Fabc_DEF-123"},
        {"shadowrocket", "shadowrocket://add/https://vpn.example/sub/abc_DEF-123#My%20VPN"},
        {"stash", "stash://install-config?url=https%3A%2F%2Fvpn.example%2Fsub%2Fabc_DEF-123"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf b;
        buf_init(&b);
        assert_int_equal(sub_app_deeplink(cases[i].slug, url, "My VPN", &b), 0);
        assert_int_equal(b.wpos, strlen(cases[i].want));
        assert_memory_equal(b.base, cases[i].want, b.wpos);
        buf_dispose(&b);
    }
    struct buf b;
    buf_init(&b);
    assert_int_equal(sub_app_deeplink("nosuch", url, "x", &b), ERR_NOT_FOUND);
    assert_int_equal(sub_app_deeplink("", url, "x", &b), ERR_NOT_FOUND);
    buf_dispose(&b);
    size_t n = 0;
    while (sub_app_slug(n) != NULL) {
        assert_non_null(sub_app_title(sub_app_slug(n)));
        n++;
    }
    assert_int_equal(n, 10); /* every app of spec/ecosystem.md §a.6 */
    assert_null(sub_app_title("nosuch"));
}

struct sql_arg {
    const char *sql;
};

static int sql_body(struct store_conn *sc, void *arg)
{
    return store__exec(sc, ((struct sql_arg *)arg)->sql, NULL, 0, NULL);
}

static void sql(struct store *st, const char *q)
{
    struct sql_arg a = {q};
    assert_int_equal(store__tx(st, sql_body, &a), 0);
}

static int64_t tg_user(struct store *st, int64_t tg, int64_t referrer)
{
    struct hub_user u = {.telegram_id = tg, .enabled = true, .referrer_id = referrer};
    snprintf(u.username, sizeof u.username, "tg%lld", (long long)tg);
    strcpy(u.language, "en");
    strcpy(u.currency, "RUB");
    snprintf(u.uuid, sizeof u.uuid, "00000000-0000-4000-8000-%012lld", (long long)tg);
    snprintf(u.sub_token, sizeof u.sub_token, "tok_%020lld", (long long)tg);
    snprintf(u.referral_code, sizeof u.referral_code, "R%09lld", (long long)tg);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    return u.id;
}

/* The customer notices' SQL and the kept promo, on SQLite and PostgreSQL. */
static void test_store(void **state)
{
    struct store *st = hub_test_store(*state, 1);
    assert_non_null(st);
    struct hub_plan p = {
        .duration_days = 30, .quota_bytes = 1000, .reset = HUB_RESET_MONTHLY, .enabled = true, .n_prices = 1};
    strcpy(p.name, "Q");
    strcpy(p.prices[0].currency, "RUB");
    p.prices[0].amount_minor = 1000;
    assert_int_equal(store_plan_create(st, &p, T0, NULL), 0);
    int64_t alice = tg_user(st, 42, 0), bob = tg_user(st, 43, alice);
    struct hub_sub s;
    assert_int_equal(store_sub_grant(st, alice, p.id, T0, &s, NULL), 0);

    struct bot_quota_due d[4];
    size_t n;
    assert_int_equal(bot_quota_due(st, false, T0 + 60, d, 4, &n), 0);
    assert_int_equal(n, 0);                                             /* nothing used */
    sql(st, "UPDATE subscriptions SET used_up = 300, used_down = 500"); /* exactly 80 % */
    assert_int_equal(bot_quota_due(st, false, T0 + 60, d, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].sub_id, s.id);
    assert_int_equal(d[0].telegram_id, 42);
    assert_int_equal(d[0].used, 800);
    assert_int_equal(d[0].quota, 1000);
    assert_int_equal(bot_quota_due(st, true, T0 + 60, d, 4, &n), 0);
    assert_int_equal(n, 0);
    char kind[40];
    snprintf(kind, sizeof kind, "q80@%lld", (long long)d[0].last_reset_at);
    assert_int_equal(bot_store_notice_claim(st, kind, s.id, 42, T0 + 60), 0);
    assert_int_equal(bot_quota_due(st, false, T0 + 60, d, 4, &n), 0);
    assert_int_equal(n, 0);                              /* told for this period */
    sql(st, "UPDATE subscriptions SET used_down = 699"); /* 99.9 %: still only the 80 % band */
    assert_int_equal(bot_quota_due(st, true, T0 + 60, d, 4, &n), 0);
    assert_int_equal(n, 0);
    sql(st, "UPDATE subscriptions SET used_down = 700");
    assert_int_equal(bot_quota_due(st, true, T0 + 60, d, 4, &n), 0);
    assert_int_equal(n, 1);
    sql(st, "UPDATE subscriptions SET last_reset_at = last_reset_at + 86400, used_up = 0, used_down = 850");
    assert_int_equal(bot_quota_due(st, false, T0 + 86400, d, 4, &n), 0);
    assert_int_equal(n, 1); /* a new period */
    assert_int_equal(bot_store_blocked_set(st, 42, true, T0), 0);
    assert_int_equal(bot_quota_due(st, false, T0 + 86400, d, 4, &n), 0);
    assert_int_equal(n, 0); /* blocked: held */
    assert_int_equal(bot_store_blocked_set(st, 42, false, T0), 0);
    assert_int_equal(bot_quota_due(st, false, T0 + 31 * 86400, d, 4, &n), 0);
    assert_int_equal(n, 0); /* ended */

    /* Bob pays 1000 RUB; Alice's 10 % reward is due once. */
    struct hub_payment pay = {.user_id = bob, .plan_id = p.id, .amount_minor = 1000, .expires_at = T0 + 3600};
    strcpy(pay.provider, "yookassa");
    strcpy(pay.currency, "RUB");
    strcpy(pay.idempotency_key, "idem-1");
    assert_int_equal(store_invoice_create(st, &pay, T0, NULL), 0);
    struct store_pay_event ev = {
        .payment_id = pay.id, .status = HUB_PAY_SUCCEEDED, .amount_minor = 1000, .currency = "RUB"};
    struct store_billing_rules rules = {.referral_percent = 10};
    assert_int_equal(store_payment_transition(st, &ev, &rules, T0 + 10, NULL, NULL), 0);
    struct bot_reward_due r[4];
    assert_int_equal(bot_reward_due(st, T0 + 11, r, 4, &n), 0);
    assert_int_equal(n, 0); /* booked before the bot looked */
    assert_int_equal(bot_reward_due(st, T0, r, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].referrer_id, alice);
    assert_int_equal(r[0].telegram_id, 42);
    assert_int_equal(r[0].amount_minor, 100);
    assert_string_equal(r[0].currency, "RUB");
    assert_int_equal(bot_store_notice_claim(st, "reward", r[0].reward_id, 42, T0 + 20), 0);
    assert_int_equal(bot_reward_due(st, T0, r, 4, &n), 0);
    assert_int_equal(n, 0);

    /* The kept promo: set, replaced, read back by code, forgotten. */
    struct hub_promo pr = {.kind = HUB_PROMO_PERCENT, .value = 50, .enabled = true}, pr2 = pr;
    strcpy(pr.code, "HALF");
    strcpy(pr2.code, "OTHER");
    assert_int_equal(store_promo_create(st, &pr, T0, NULL), 0);
    assert_int_equal(store_promo_create(st, &pr2, T0, NULL), 0);
    char code[HUB_PROMO_CODE_MAX + 1];
    assert_int_equal(bot_promo_store_get(st, alice, code), 0);
    assert_string_equal(code, "");
    assert_int_equal(bot_promo_store_set(st, alice, pr.id), 0);
    assert_int_equal(bot_promo_store_set(st, alice, pr2.id), 0);
    assert_int_equal(bot_promo_store_get(st, alice, code), 0);
    assert_string_equal(code, "OTHER");
    assert_int_equal(bot_promo_store_get(st, bob, code), 0);
    assert_string_equal(code, "");
    assert_int_equal(bot_promo_store_set(st, alice, 0), 0);
    assert_int_equal(bot_promo_store_get(st, alice, code), 0);
    assert_string_equal(code, "");
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyboards),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_deeplinks),
        cmocka_unit_test_prestate(test_store, (void *)"sqlite::memory:"),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_prestate(test_store, (void *)hub_test_pg_url()),
    };
    int rc = cmocka_run_group_tests_name("bot_customer", tests, NULL, NULL);
    rc |= HUB_TEST_RUN_PG_GROUP("bot_customer_pg", pg_tests);
    return rc;
}
