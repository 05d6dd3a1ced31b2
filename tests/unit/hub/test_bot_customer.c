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
#include "hub/bot/bot_update.h"
#include "hub/sub/sub.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyboards),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_deeplinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
