/* The Telegram bot without sockets: the update parser on good, malformed and truncated input,
 * Bot API answers (429 retry_after), HTML escaping, every keyboard's callback_data within 64
 * bytes and parsed back, the configuration, and the bot's tables (offset, trial once, blocked). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>
#include <qrencode.h>

#include "core/err.h"
#include "hub/bot/bot_cfg.h"
#include "hub/bot/bot_flow.h"
#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_qr.h"
#include "hub/bot/bot_store.h"
#include "hub/bot/bot_text.h"
#include "hub/bot/bot_update.h"
#include "hub_test_db.h"

#define T0 1764115200

static int parse(const char *s, struct bot_update *u)
{
    return bot_update_parse(s, strlen(s), u);
}

static const char START[] = "{\"update_id\": 10, \"message\": {\"message_id\": 1, \"date\": 1, \"chat\": {\"id\": 42, "
                            "\"type\": \"private\"}, \"from\": {\"id\": 42, \"is_bot\": false, \"first_name\": \"A\", "
                            "\"username\": \"alice_1\", \"language_code\": \"ru\"}, \"text\": \"/start ref_abc\"}}";
static const char PAID[] =
    "{\"update_id\": 11, \"message\": {\"message_id\": 2, \"chat\": {\"id\": 42}, \"from\": {\"id\":"
    " 42}, \"successful_payment\": {\"currency\": \"XTR\", \"total_amount\": 250, "
    "\"invoice_payload\": \"7\", \"telegram_payment_charge_id\": \"stx1\"}}}";
static const char CALLBACK[] = "{\"update_id\": 12, \"callback_query\": {\"id\": \"q1\", \"from\": {\"id\": 42}, "
                               "\"data\": \"plan:3\", \"message\": {\"message_id\": 9, \"chat\": {\"id\": 42}}}}";
static const char PRECHECKOUT[] = "{\"update_id\": 13, \"pre_checkout_query\": {\"id\": \"p1\", \"from\": {\"id\": 42},"
                                  " \"currency\": \"XTR\", \"total_amount\": 250, \"invoice_payload\": \"7\"}}";
static const char MEMBER[] = "{\"update_id\": 14, \"my_chat_member\": {\"chat\": {\"id\": 42}, \"from\": {\"id\": 42}, "
                             "\"date\": 1, \"new_chat_member\": {\"status\": \"kicked\"}}}";

static void test_update_good(void **state)
{
    (void)state;
    struct bot_update u;
    assert_int_equal(parse(START, &u), 0);
    assert_int_equal(u.kind, BOT_UPD_MESSAGE);
    assert_int_equal(u.update_id, 10);
    assert_int_equal(u.from_id, 42);
    assert_int_equal(u.chat_id, 42);
    assert_string_equal(u.text, "/start ref_abc");
    assert_string_equal(u.lang, "ru");
    assert_string_equal(u.username, "alice_1");
    assert_false(u.paid);

    assert_int_equal(parse(PAID, &u), 0);
    assert_true(u.paid);
    assert_string_equal(u.currency, "XTR");
    assert_int_equal(u.total_amount, 250);
    assert_string_equal(u.payload, "7");
    assert_string_equal(u.charge_id, "stx1");

    assert_int_equal(parse(CALLBACK, &u), 0);
    assert_int_equal(u.kind, BOT_UPD_CALLBACK);
    assert_string_equal(u.query_id, "q1");
    assert_string_equal(u.text, "plan:3");
    assert_int_equal(u.message_id, 9);

    assert_int_equal(parse(PRECHECKOUT, &u), 0);
    assert_int_equal(u.kind, BOT_UPD_PRECHECKOUT);
    assert_int_equal(u.total_amount, 250);

    assert_int_equal(parse(MEMBER, &u), 0);
    assert_int_equal(u.kind, BOT_UPD_MEMBER);
    assert_string_equal(u.status, "kicked");

    /* Kinds the bot does not act on still carry their id (the offset moves past them). */
    assert_int_equal(parse("{\"update_id\": 15, \"inline_query\": {\"id\": \"x\"}}", &u), 0);
    assert_int_equal(u.kind, BOT_UPD_OTHER);
    assert_int_equal(u.update_id, 15);
}

static void test_update_malformed(void **state)
{
    (void)state;
    struct bot_update u;
    static const char *const bad[] = {
        "",
        "[]",
        "null",
        "{}",
        "{\"update_id\": -1}",
        "{\"update_id\": \"10\"}",
        "{\"update_id\": 1.5}",
        "{\"update_id\": 9007199254740993}",
        "{\"update_id\": 1, \"update_id\": 2}",
        "{\"update_id\": 1, \"message\": {\"chat\": {\"id\": 42}, \"text\": \"/start\"}}",       /* no from */
        "{\"update_id\": 1, \"message\": {\"from\": {\"id\": 42}, \"text\": \"/start\"}}",       /* no chat */
        "{\"update_id\": 1, \"message\": {\"from\": {\"id\": 0}, \"chat\": {\"id\": 42}}}",      /* id 0 */
        "{\"update_id\": 1, \"message\": {\"from\": {\"id\": \"42\"}, \"chat\": {\"id\": 42}}}", /* id text */
        "{\"update_id\": 1, \"callback_query\": {\"from\": {\"id\": 42}, \"data\": \"menu\"}}",  /* no id */
        "{\"update_id\": 1, \"callback_query\": {\"id\": \"\", \"from\": {\"id\": 42}}}",        /* empty id */
        "{\"update_id\": 1, \"pre_checkout_query\": {\"id\": \"p\", \"from\": {\"id\": 42}, \"currency\": \"XTR\", "
        "\"invoice_payload\": \"7\"}}", /* no amount */
        "{\"update_id\": 1, \"pre_checkout_query\": {\"id\": \"p\", \"from\": {\"id\": 42}, \"currency\": \"XTR\", "
        "\"total_amount\": -5, \"invoice_payload\": \"7\"}}",
        "{\"update_id\": 1, \"message\": {\"from\": {\"id\": 42}, \"chat\": {\"id\": 42}, \"successful_payment\": "
        "{\"currency\": \"XTR\", \"total_amount\": 250, \"invoice_payload\": \"7\", \"telegram_payment_charge_id\": "
        "\"\"}}}",
        "{\"update_id\": 1, \"my_chat_member\": {\"chat\": {\"id\": 42}, \"from\": {\"id\": 42}}}",
        "{\"update_id\": 1, \"message\": {\"from\": {\"id\": 42}, \"chat\": {\"id\": 42}, \"text\": \"a\\u0000b\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i], &u);
        if (rc != ERR_MALFORMED)
            fail_msg("accepted (%d): %s", rc, bad[i]);
    }
    /* Every truncation of valid updates is refused, never a crash or an over-read. */
    const char *good[] = {START, PAID, CALLBACK, PRECHECKOUT, MEMBER};
    for (size_t g = 0; g < sizeof good / sizeof good[0]; g++) {
        size_t n = strlen(good[g]);
        for (size_t cut = 0; cut < n; cut++) {
            char *b = malloc(cut ? cut : 1);
            memcpy(b, good[g], cut);
            assert_int_equal(bot_update_parse(b, cut, &u), ERR_MALFORMED);
            free(b);
        }
    }
    char *big = malloc(BOT_UPDATE_MAX + 2);
    memset(big, ' ', BOT_UPDATE_MAX + 1);
    assert_int_equal(bot_update_parse(big, BOT_UPDATE_MAX + 1, &u), ERR_TOO_LONG);
    free(big);
}

static void test_update_bounds(void **state)
{
    (void)state;
    struct bot_update u;
    /* callback_data over 64 bytes is not ours: kept empty, still a callback (answered). */
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"update_id\": 1, \"callback_query\": {\"id\": \"q\", \"from\": {\"id\": 5}, \"data\": \"%065d\"}}", 0);
    assert_int_equal(parse(buf, &u), 0);
    assert_int_equal(u.kind, BOT_UPD_CALLBACK);
    assert_string_equal(u.text, "");
    assert_int_equal(u.chat_id, 5); /* no message: the private chat */
    /* Long text is cut at a character boundary (2-byte characters). */
    size_t n = 3000;
    char *t = malloc(n * 2 + 200);
    strcpy(t, "{\"update_id\": 1, \"message\": {\"from\": {\"id\": 5}, \"chat\": {\"id\": 5}, \"text\": \"");
    char *p = t + strlen(t);
    for (size_t i = 0; i < n; i++) {
        *p++ = (char)0xd0;
        *p++ = (char)0x96;
    }
    strcpy(p, "\"}}");
    assert_int_equal(parse(t, &u), 0);
    assert_int_equal(strlen(u.text) % 2, 0);
    assert_true(strlen(u.text) <= BOT_TEXT_MAX);
    free(t);
    /* Odd usernames / language codes are dropped, not copied. */
    assert_int_equal(parse("{\"update_id\": 1, \"message\": {\"from\": {\"id\": 5, \"username\": \"<b>\", "
                           "\"language_code\": \"ru-RU-xxxxxxxx\"}, \"chat\": {\"id\": 5}}}",
                           &u),
                     0);
    assert_string_equal(u.username, "");
    assert_string_equal(u.lang, "");
}

static void test_reply(void **state)
{
    (void)state;
    struct bot_reply r;
    const char *ok = "{\"ok\": true, \"result\": [1, 2]}";
    assert_int_equal(bot_reply_parse(ok, strlen(ok), &r), 0);
    assert_true(r.ok);
    assert_int_equal(json_array_size(r.result), 2);
    bot_reply_dispose(&r);
    const char *lim = "{\"ok\": false, \"error_code\": 429, \"description\": \"Too Many Requests: retry after 7\", "
                      "\"parameters\": {\"retry_after\": 7}}";
    assert_int_equal(bot_reply_parse(lim, strlen(lim), &r), 0);
    assert_false(r.ok);
    assert_int_equal(r.error_code, 429);
    assert_int_equal(r.retry_after, 7);
    assert_null(r.result);
    bot_reply_dispose(&r);
    static const char *const bad[] = {"", "[]", "{}", "{\"ok\": 1}", "<html>502</html>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bot_reply_parse(bad[i], strlen(bad[i]), &r), ERR_MALFORMED);
    const char *neg = "{\"ok\": false, \"error_code\": 429, \"parameters\": {\"retry_after\": -3}}";
    assert_int_equal(bot_reply_parse(neg, strlen(neg), &r), 0);
    assert_int_equal(r.retry_after, 0);
}

static void test_html(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(bot_html_escape("<b>Tom & \"Jerry\"</b>", out, sizeof out), 0);
    assert_string_equal(out, "&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;");
    assert_int_equal(bot_html_escape("Привет", out, sizeof out), 0);
    assert_string_equal(out, "Привет");
    /* Cut whole: never half an entity, never half a character. */
    assert_int_equal(bot_html_escape("ab&cd", out, 5), ERR_TOO_LONG);
    assert_string_equal(out, "ab");
    assert_int_equal(bot_html_escape("Жук", out, 4), ERR_TOO_LONG);
    assert_string_equal(out, "Ж");
    assert_int_equal(bot_html_escape("", out, 1), 0);
    assert_string_equal(out, "");
}

/* Walks a keyboard: every callback_data is 1..64 bytes and parses back to something known. */
static size_t check_keyboard(json_t *kbd)
{
    assert_non_null(kbd);
    size_t n = 0, i, k;
    json_t *row, *b;
    json_array_foreach(json_object_get(kbd, "inline_keyboard"), i, row)
    {
        json_array_foreach(row, k, b)
        {
            assert_non_null(json_string_value(json_object_get(b, "text")));
            const char *d = json_string_value(json_object_get(b, "callback_data"));
            if (d == NULL)
                continue;
            assert_true(strlen(d) >= 1 && strlen(d) <= BOT_CALLBACK_MAX);
            int64_t id;
            enum billing_prov prov;
            assert_int_not_equal(bot_cb_parse(d, &id, &prov), BOT_CB_UNKNOWN);
            n++;
        }
    }
    json_decref(kbd);
    return n;
}

static void test_keyboards(void **state)
{
    (void)state;
    const int64_t big = 999999999999999999LL; /* the largest id callback data must carry */
    struct hub_plan plans[2];
    memset(plans, 0, sizeof plans);
    for (int i = 0; i < 2; i++) {
        plans[i].id = big - i;
        memset(plans[i].name, 'x', HUB_NAME_MAX);
        plans[i].enabled = true;
        plans[i].duration_days = 36500;
        plans[i].n_prices = 1;
        strcpy(plans[i].prices[0].currency, "XTR");
        plans[i].prices[0].amount_minor = 1000000;
    }
    /* Every provider billing has, with the longest names and ids. */
    struct bot_pay_opt opts[] = {{BILLING_STARS, "XTR"},
                                 {BILLING_YOOKASSA, "RUB"},
                                 {BILLING_ROBOKASSA, "RUB"},
                                 {BILLING_CRYPTOBOT, "USD"},
                                 {BILLING_BALANCE, "RUB"}};
    const size_t n_opts = sizeof opts / sizeof opts[0];
    plans[0].n_prices = 3;
    strcpy(plans[0].prices[1].currency, "RUB");
    plans[0].prices[1].amount_minor = 29900;
    strcpy(plans[0].prices[2].currency, "USD");
    plans[0].prices[2].amount_minor = 399;
    for (int l = 0; l < BOT_LANG__COUNT; l++) {
        assert_int_equal(check_keyboard(bot_kbd_main((enum bot_lang)l, true)), 7);
        assert_int_equal(check_keyboard(bot_kbd_main((enum bot_lang)l, false)), 6);
        assert_int_equal(check_keyboard(bot_kbd_lang((enum bot_lang)l)), 3);
        assert_int_equal(check_keyboard(bot_kbd_ref((enum bot_lang)l, "https://t.me/veil_bot?start=ref_ABCDEFGHJK")),
                         1);
        assert_int_equal(check_keyboard(bot_kbd_back((enum bot_lang)l)), 1);
        assert_int_equal(check_keyboard(bot_kbd_plans((enum bot_lang)l, plans, 2, opts, n_opts)), 3);
        assert_int_equal(check_keyboard(bot_kbd_plans((enum bot_lang)l, plans, 2, opts + 1, 1)), 2);
        assert_int_equal(check_keyboard(bot_kbd_pay((enum bot_lang)l, &plans[0], opts, n_opts)), 6);
        assert_int_equal(check_keyboard(bot_kbd_pay((enum bot_lang)l, &plans[1], opts, n_opts)), 2); /* Stars only */
        assert_int_equal(check_keyboard(bot_kbd_pay_url((enum bot_lang)l, "https://pay.example/x?y=1")), 1);
        assert_int_equal(check_keyboard(bot_kbd_sub((enum bot_lang)l, "https://vpn.example/sub/abc")), 2);
        for (int m = 0; m < BOT_M__COUNT; m++)
            assert_true(strlen(bot_msg((enum bot_lang)l, (enum bot_msg)m)) > 0);
    }
    int64_t id;
    enum billing_prov prov;
    assert_int_equal(bot_cb_parse("pay:12:stars", &id, &prov), BOT_CB_PAY);
    assert_int_equal(id, 12);
    assert_int_equal(prov, BILLING_STARS);
    assert_int_equal(bot_cb_parse("pay:7:yookassa", &id, &prov), BOT_CB_PAY);
    assert_int_equal(prov, BILLING_YOOKASSA);
    assert_int_equal(bot_cb_parse("pay:7:balance", &id, &prov), BOT_CB_PAY);
    assert_int_equal(prov, BILLING_BALANCE);
    assert_int_equal(bot_cb_parse("plan:0", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("plan:", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("plan:1x", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("plan:9999999999999999999", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("pay:1:paypal", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("pay:1:", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("pay:1", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("pay:1:starsx", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("lang:ru", &id, &prov), BOT_CB_LANG_RU);
    assert_int_equal(bot_cb_parse("lang:de", &id, &prov), BOT_CB_UNKNOWN);
    assert_int_equal(bot_cb_parse("balance", &id, &prov), BOT_CB_BALANCE);
    char money[48];
    bot_money(250, "XTR", money);
    assert_string_equal(money, "250 \u2B50");
    bot_money(29905, "RUB", money);
    assert_string_equal(money, "299.05 RUB");
    assert_int_equal(bot_lang_of("ru-RU"), BOT_LANG_RU);
    assert_int_equal(bot_lang_of("uk"), BOT_LANG_RU);
    assert_int_equal(bot_lang_of("rus"), BOT_LANG_EN);
    assert_int_equal(bot_lang_of(""), BOT_LANG_EN);
}

/* The QR PNG decodes (libpng's reader) to exactly libqrencode's modules, scaled, with the quiet
 * zone white. */
static void test_qr(void **state)
{
    (void)state;
    const char *url = "https://vpn.example.com/sub/aXORcq0ifWrwUhIyhH9GztQ1XqurxsWE";
    unsigned char *png;
    size_t len;
    assert_int_equal(bot_qr_png(url, 3, &png, &len), 0);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, png, len));
    img.format = PNG_FORMAT_GRAY;
    QRcode *q = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    assert_non_null(q);
    unsigned side = ((unsigned)q->width + 2 * BOT_QR_QUIET) * 3;
    assert_int_equal(img.width, side);
    assert_int_equal(img.height, side);
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(px);
    assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
    for (unsigned y = 0; y < side; y++)
        for (unsigned x = 0; x < side; x++) {
            int my = (int)(y / 3) - BOT_QR_QUIET, mx = (int)(x / 3) - BOT_QR_QUIET;
            bool dark = my >= 0 && my < q->width && mx >= 0 && mx < q->width && (q->data[my * q->width + mx] & 1);
            assert_int_equal(px[y * side + x], dark ? 0 : 255);
        }
    free(px);
    QRcode_free(q);
    free(png);
    /* Bad input: no text, a bad scale, more than a QR code holds. */
    assert_int_equal(bot_qr_png("", 8, &png, &len), ERR_MALFORMED);
    assert_int_equal(bot_qr_png(url, 0, &png, &len), ERR_RANGE);
    char *big = malloc(4000);
    assert_non_null(big);
    memset(big, 'x', 3999);
    big[3999] = '\0';
    assert_int_equal(bot_qr_png(big, 8, &png, &len), ERR_MALFORMED);
    assert_null(png);
    free(big);
}

static void test_retry(void **state)
{
    (void)state;
    struct bot_retry r = {.update_id = -1};
    assert_true(bot_update_done(&r, 1, 0));
    assert_true(bot_update_done(&r, 2, ERR_MALFORMED)); /* permanent: skipped, not retried */
    for (int i = 1; i < BOT_UPDATE_TRIES; i++)
        assert_false(bot_update_done(&r, 3, ERR_IO));
    assert_true(bot_update_done(&r, 3, ERR_TIMEOUT)); /* poisoned: dropped after the last try */
    assert_false(bot_update_done(&r, 4, ERR_IO));
    assert_true(bot_update_done(&r, 4, 0)); /* succeeded on the second try */
    assert_false(bot_update_done(&r, 5, ERR_NOMEM));
    assert_false(bot_update_done(&r, 6, ERR_IO)); /* a different update starts its own count */
    for (int i = 2; i < BOT_UPDATE_TRIES; i++)
        assert_false(bot_update_done(&r, 6, ERR_IO));
    assert_true(bot_update_done(&r, 6, ERR_IO));
}

static int cfg(const char *text, struct bot_cfg *c)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    char err[256];
    int rc = bot_cfg_parse(j, c, err, sizeof err);
    json_decref(j);
    return rc;
}

static void test_cfg(void **state)
{
    (void)state;
    struct bot_cfg c;
    assert_int_equal(bot_cfg_parse(NULL, &c, NULL, 0), 0);
    assert_int_equal(cfg("{\"token\": \"123:ABC_def-9\"}", &c), 0);
    assert_false(c.webhook);
    assert_string_equal(c.api_url, "https://api.telegram.org");
    assert_int_equal(c.poll_timeout, 25);
    assert_int_equal(
        cfg("{\"token\": \"123:A\", \"mode\": \"webhook\", \"webhook_secret\": \"s_-1\", \"admins\": [1, 2],"
            " \"trial_days\": 3, \"support\": \"@help\", \"api_url\": \"http://127.0.0.1:1/\"}",
            &c),
        0);
    assert_true(c.webhook);
    assert_int_equal(c.n_admins, 2);
    assert_string_equal(c.api_url, "http://127.0.0.1:1");
    static const char *const bad[] = {
        "{}",
        "{\"token\": \"abc:def\"}",
        "{\"token\": \"123:de/f\"}",
        "{\"token\": \"123:\"}",
        "{\"token\": \"123:A\", \"unknown\": 1}",
        "{\"token\": \"123:A\", \"mode\": \"webhook\"}",
        "{\"token\": \"123:A\", \"mode\": \"push\"}",
        "{\"token\": \"123:A\", \"webhook_secret\": \"has space\"}",
        "{\"token\": \"123:A\", \"api_url\": \"ftp://x\"}",
        "{\"token\": \"123:A\", \"admins\": [\"1\"]}",
        "{\"token\": \"123:A\", \"trial_days\": -1}",
        "{\"token\": \"123:A\", \"support\": \"help\"}",
        "{\"token\": \"123:A\", \"poll_timeout\": 51}",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cfg(bad[i], &c) != ERR_CONFIG)
            fail_msg("accepted: %s", bad[i]);
}

/* The bot's SQL on one backend: state is the URL. */
/* A database the bot's first slice ran on (schema 3 plus the tables it created itself at start)
 * takes migration 4 and keeps its offset. */
static void test_store_upgrade(void **state)
{
    (void)state;
    struct store *st = hub_test_store_at("sqlite::memory:", 1, 3);
    assert_non_null(st);
    struct store_conn sc;
    store__acquire(st, &sc);
    assert_int_equal(store__exec(&sc,
                                 "CREATE TABLE IF NOT EXISTS bot_state (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
                                 NULL, 0, NULL),
                     0);
    assert_int_equal(store__exec(&sc, "INSERT INTO bot_state (name, value) VALUES ('offset', 77)", NULL, 0, NULL), 0);
    store__release(&sc);
    int v = 0;
    assert_int_equal(store_migrate(st, &v), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    int64_t off;
    assert_int_equal(bot_store_offset_get(st, &off), 0);
    assert_int_equal(off, 77);
    assert_int_equal(bot_store_blocked_set(st, 5, true, 1), 0); /* bot_chats made by the migration */
    store_close(st);
}

static void test_store(void **state)
{
    struct store *st = hub_test_store(*state, 1);
    assert_non_null(st);
    int64_t off;
    assert_int_equal(bot_store_offset_get(st, &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(bot_store_offset_set(st, 11), 0);
    assert_int_equal(bot_store_offset_set(st, 5), 0); /* never backwards */
    assert_int_equal(bot_store_offset_get(st, &off), 0);
    assert_int_equal(off, 11);

    struct hub_user u = {.telegram_id = 42, .enabled = true};
    strcpy(u.username, "tg42");
    strcpy(u.language, "en");
    strcpy(u.currency, "RUB");
    strcpy(u.uuid, "00000000-0000-4000-8000-000000000001");
    strcpy(u.sub_token, "tok_aaaaaaaaaaaaaaaaaaaaaa");
    strcpy(u.referral_code, "ABCDEFGHJK");
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    int64_t plan, plan2;
    assert_int_equal(bot_store_trial_plan(st, 3, T0, &plan), 0);
    assert_int_equal(bot_store_trial_plan(st, 3, T0, &plan2), 0);
    assert_int_equal(plan, plan2);
    struct hub_sub s;
    assert_int_equal(bot_store_trial(st, 42, u.id, plan, T0, &s), 0);
    assert_int_equal(s.ends_at - s.starts_at, 3 * 86400);
    assert_int_equal(bot_store_trial(st, 42, u.id, plan, T0 + 5 * 86400, NULL), ERR_EXISTS);
    /* Another Telegram account of a user with a running subscription: refused, nothing recorded. */
    assert_int_equal(bot_store_trial(st, 43, u.id, plan, T0 + 60, NULL), ERR_BAD_STATE);
    assert_int_equal(bot_store_trial(st, 43, u.id, plan, T0 + 4 * 86400, NULL), 0);

    bool blocked;
    assert_int_equal(bot_store_blocked_get(st, 42, &blocked), 0);
    assert_false(blocked);
    assert_int_equal(bot_store_blocked_set(st, 42, true, T0), 0);
    assert_int_equal(bot_store_blocked_get(st, 42, &blocked), 0);
    assert_true(blocked);
    assert_int_equal(bot_store_blocked_set(st, 42, false, T0), 0);
    assert_int_equal(bot_store_blocked_get(st, 42, &blocked), 0);
    assert_false(blocked);

    bool held;
    assert_int_equal(store_lock_try(st, "bot_poll", "a:1", 60, T0, &held), 0);
    assert_true(held);
    assert_int_equal(store_lock_try(st, "bot_poll", "b:2", 60, T0, &held), 0);
    assert_false(held);
    assert_int_equal(bot_store_lease_release(st, "bot_poll", "b:2"), 0); /* not b's to give */
    assert_int_equal(store_lock_try(st, "bot_poll", "b:2", 60, T0, &held), 0);
    assert_false(held);
    assert_int_equal(bot_store_lease_release(st, "bot_poll", "a:1"), 0);
    assert_int_equal(store_lock_try(st, "bot_poll", "b:2", 60, T0, &held), 0);
    assert_true(held);

    /* Notices: once per event; a payment settled after the watermark and not yet noticed is found. */
    int64_t since;
    assert_int_equal(bot_store_state_init(st, "paid_since", T0, &since), 0);
    assert_int_equal(since, T0);
    assert_int_equal(bot_store_state_init(st, "paid_since", T0 + 99, &since), 0);
    assert_int_equal(since, T0); /* the first value stays */
    struct store_conn sc;
    store__acquire(st, &sc);
    char sql[512];
    const char *status[] = {"succeeded", "succeeded", "pending"};
    const int64_t settled[] = {T0 + 10, T0 - 10, 0};
    for (int i = 0; i < 3; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO payments (user_id, provider, external_id, amount_minor, currency, status,"
                 " idempotency_key, created_at, updated_at, settled_at) VALUES (%lld, 'yookassa', 'e%d', 100, 'RUB',"
                 " '%s', 'k%d', %lld, %lld, %lld)",
                 (long long)u.id, i, status[i], i, (long long)T0, (long long)T0, (long long)settled[i]);
        assert_int_equal(store__exec(&sc, sql, NULL, 0, NULL), 0);
    }
    store__release(&sc);
    struct bot_paid paid[4];
    size_t n;
    assert_int_equal(bot_store_paid_unnoticed(st, T0, paid, 4, &n), 0);
    assert_int_equal(n, 1); /* not the one settled before the watermark, not the pending one */
    assert_int_equal(paid[0].user_id, u.id);
    assert_int_equal(paid[0].telegram_id, 42);
    assert_int_equal(bot_store_notice_claim(st, "paid", paid[0].payment_id, 42, T0), 0);
    assert_int_equal(bot_store_notice_claim(st, "paid", paid[0].payment_id, 42, T0), ERR_EXISTS);
    assert_int_equal(bot_store_paid_unnoticed(st, T0, paid, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(bot_store_paid_unnoticed(st, T0 - 100, paid, 4, &n), 0);
    assert_int_equal(n, 1); /* the older one, with a wider window */
    int64_t older = paid[0].payment_id;
    assert_int_equal(bot_store_notice_claim(st, "paid", older, 42, T0), 0);
    assert_int_equal(bot_store_notice_unclaim(st, "paid", older), 0); /* a send that failed for now */
    assert_int_equal(bot_store_paid_unnoticed(st, T0 - 100, paid, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(paid[0].payment_id, older);

    /* Referral numbers: users who came through u's link, rewards summed per currency. */
    struct bot_ref_stats rs;
    assert_int_equal(bot_store_ref_stats(st, u.id, &rs), 0);
    assert_int_equal(rs.invited, 0);
    assert_int_equal(rs.n_earned, 0);
    struct hub_user r = u;
    r.telegram_id = 77;
    r.referrer_id = u.id;
    strcpy(r.username, "tg77");
    strcpy(r.uuid, "00000000-0000-4000-8000-000000000002");
    strcpy(r.sub_token, "tok_bbbbbbbbbbbbbbbbbbbbbb");
    strcpy(r.referral_code, "BCDEFGHJKM");
    assert_int_equal(store_user_create(st, &r, T0, NULL), 0);
    store__acquire(st, &sc);
    struct store_res pr;
    assert_int_equal(store__exec(&sc, "SELECT id FROM payments ORDER BY id", NULL, 0, &pr), 0);
    assert_true(pr.nrows >= 2);
    for (size_t i = 0; i < 2; i++) {
        snprintf(
            sql, sizeof sql,
            "INSERT INTO referral_rewards (referrer_id, referee_id, payment_id, amount_minor, currency, created_at)"
            " VALUES (%lld, %lld, %lld, %d, 'RUB', %lld)",
            (long long)u.id, (long long)r.id, (long long)store__cell_i64(&pr, i, 0), 1000 + (int)i, (long long)T0);
        assert_int_equal(store__exec(&sc, sql, NULL, 0, NULL), 0);
    }
    store__res_free(&pr);
    store__release(&sc);
    assert_int_equal(bot_store_ref_stats(st, u.id, &rs), 0);
    assert_int_equal(rs.invited, 1);
    assert_int_equal(rs.n_earned, 1);
    assert_string_equal(rs.earned[0].currency, "RUB");
    assert_int_equal(rs.earned[0].amount_minor, 2001);

    /* Reminders. u has two trial subscriptions: A ends T0+3d, B ends T0+7d (both still active:
     * no scheduler ran). Only the last-ending one is reminded. */
    const int64_t D = 86400;
    struct bot_due due[4];
    char kind[40];
    assert_int_equal(bot_store_reminders_due(st, BOT_REMIND_EXPIRED, T0 + 5 * D, due, 4, &n), 0);
    assert_int_equal(n, 0); /* A ended, but B runs on */
    assert_int_equal(bot_store_reminders_due(st, BOT_REMIND_1D, T0 + 5 * D, due, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(bot_store_reminders_due(st, BOT_REMIND_3D, T0 + 5 * D, due, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(due[0].ends_at, T0 + 7 * D);
    assert_int_equal(due[0].telegram_id, 42);
    int64_t sub_b = due[0].sub_id;
    bot_remind_kind(BOT_REMIND_3D, due[0].ends_at, kind);
    assert_int_equal(bot_store_notice_claim(st, kind, sub_b, 42, T0 + 5 * D), 0);
    assert_int_equal(bot_store_reminders_due(st, BOT_REMIND_3D, T0 + 5 * D, due, 4, &n), 0);
    assert_int_equal(n, 0); /* once per event */
    assert_int_equal(bot_store_reminders_due(st, BOT_REMIND_1D, T0 + 6 * D + D / 2, due, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(due[0].sub_id, sub_b);
    assert_int_equal(bot_store_reminders_due(st, BOT_REMIND_EXPIRED, T0 + 8 * D, due, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(due[0].sub_id, sub_b);
    assert_int_equal(bot_store_reminders_due(st, BOT_REMIND_EXPIRED, T0 + 15 * D, due, 4, &n), 0);
    assert_int_equal(n, 0); /* older than the window */
    /* A blocked chat gets nothing. */
    assert_int_equal(bot_store_blocked_set(st, 42, true, T0), 0);
    assert_int_equal(bot_store_reminders_due(st, BOT_REMIND_EXPIRED, T0 + 8 * D, due, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(bot_store_blocked_set(st, 42, false, T0), 0);
    /* Extended: the new end is a new event. */
    store__acquire(st, &sc);
    snprintf(sql, sizeof sql, "UPDATE subscriptions SET ends_at = %lld WHERE id = %lld", (long long)(T0 + 9 * D),
             (long long)sub_b);
    assert_int_equal(store__exec(&sc, sql, NULL, 0, NULL), 0);
    store__release(&sc);
    assert_int_equal(bot_store_reminders_due(st, BOT_REMIND_3D, T0 + 7 * D, due, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(due[0].ends_at, T0 + 9 * D);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_good),
        cmocka_unit_test(test_update_malformed),
        cmocka_unit_test(test_update_bounds),
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_keyboards),
        cmocka_unit_test(test_cfg),
        cmocka_unit_test(test_retry),
        cmocka_unit_test(test_store_upgrade),
        cmocka_unit_test(test_qr),
        cmocka_unit_test_prestate(test_store, (void *)"sqlite::memory:"),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_prestate(test_store, (void *)hub_test_pg_url()),
    };
    int rc = cmocka_run_group_tests_name("bot", tests, NULL, NULL);
    rc |= HUB_TEST_RUN_PG_GROUP("bot_pg", pg_tests);
    return rc;
}
