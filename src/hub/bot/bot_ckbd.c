/* Callback data and keyboards of the customer screens (bot_customer.h). Every callback_data is at
 * most BOT_CALLBACK_MAX bytes; a longer one makes the builder fail (a programming error). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_update.h"
#include "hub/domain/rules.h"
#include "hub/sub/sub.h"

enum bot_ccb bot_ccb_parse(const char *data, int64_t *a, enum billing_prov *prov)
{
    *a = 0;
    *prov = BILLING__COUNT;
    if (strcmp(data, "devices") == 0)
        return BOT_CCB_DEVICES;
    if (strcmp(data, "topup") == 0)
        return BOT_CCB_TOPUP;
    enum bot_ccb cb;
    const char *p;
    if (strncmp(data, "devdel:", 7) == 0) {
        cb = BOT_CCB_DEV_FREE;
        p = data + 7;
    } else if (strncmp(data, "topup:", 6) == 0) {
        cb = BOT_CCB_TOPUP_AMOUNT;
        p = data + 6;
    } else if (strncmp(data, "tpay:", 5) == 0) {
        cb = BOT_CCB_TOPUP_PAY;
        p = data + 5;
    } else {
        return BOT_CCB_NONE;
    }
    int64_t v = bot_cb_number(&p);
    if (v <= 0)
        return BOT_CCB_NONE;
    if (cb == BOT_CCB_TOPUP_PAY) {
        int pv = *p == ':' ? billing_prov_parse(p + 1) : -1;
        if (pv < 0)
            return BOT_CCB_NONE;
        *prov = (enum billing_prov)pv;
    } else if (*p != '\0') {
        return BOT_CCB_NONE;
    }
    *a = v;
    return cb;
}

int64_t bot_topup_amount(const char *currency, size_t i)
{
    /* Whole units: 100, 300, 500, 1000 (Stars have no minor unit). */
    static const int64_t units[BOT_TOPUP_AMOUNTS] = {100, 300, 500, 1000};
    if (i >= BOT_TOPUP_AMOUNTS)
        return 0;
    return strcmp(currency, "XTR") == 0 ? units[i] : units[i] * 100;
}

bool bot_topup_amount_ok(const char *currency, int64_t amount)
{
    for (size_t i = 0; i < BOT_TOPUP_AMOUNTS; i++)
        if (bot_topup_amount(currency, i) == amount)
            return true;
    return false;
}

json_t *bot_kbd_balance(enum bot_lang l, bool topup)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = !topup || bot_kbd_row(rows, bot_kbd_button(bot_cmsg(l, BOT_C_BTN_TOPUP), "topup"));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "menu"));
    return bot_kbd_wrap(rows, ok);
}

json_t *bot_kbd_topup_amounts(enum bot_lang l, const char *currency)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = true;
    for (size_t i = 0; i < BOT_TOPUP_AMOUNTS && ok; i += 2) {
        json_t *b[2];
        for (size_t k = 0; k < 2; k++) {
            char money[48], data[40];
            int64_t amount = bot_topup_amount(currency, i + k);
            bot_money(amount, currency, money);
            snprintf(data, sizeof data, "topup:%" PRId64, amount);
            b[k] = bot_kbd_button(money, data);
        }
        ok = bot_kbd_row_of(rows, b, 2);
    }
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "balance"));
    return bot_kbd_wrap(rows, ok);
}

json_t *bot_kbd_topup_pay(enum bot_lang l, int64_t amount, const enum billing_prov *provs, size_t n)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char data[64];
        snprintf(data, sizeof data, "tpay:%" PRId64 ":%s", amount, billing_prov_name(provs[i]));
        ok = bot_kbd_row(rows, bot_kbd_button(bot_msg(l, bot_kbd_prov_label(provs[i])), data));
    }
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "topup"));
    return bot_kbd_wrap(rows, ok);
}

json_t *bot_kbd_devices(enum bot_lang l, const struct store_device *devs, size_t n)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char text[64], data[40];
        snprintf(text, sizeof text, "%s%zu", bot_cmsg(l, BOT_C_DEV_FREE), i + 1);
        snprintf(data, sizeof data, "devdel:%" PRId64, devs[i].id);
        ok = bot_kbd_row(rows, bot_kbd_button(text, data));
    }
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "sub"));
    return bot_kbd_wrap(rows, ok);
}

/* The apps offered under "My subscription": the §a.6 apps most customers use, one per platform
 * family at least (the redirect page takes every app sub_app_deeplink knows). */
static const char *const sub_apps[] = {"happ", "v2rayng", "hiddify", "streisand", "shadowrocket", "flclashx"};

int bot_kbd_sub_more(json_t *kbd, enum bot_lang l, const char *base, const char *token, bool devices)
{
    json_t *rows = json_object_get(kbd, "inline_keyboard");
    size_t at = json_array_size(rows);
    if (!json_is_array(rows) || at == 0)
        return ERR_MALFORMED;
    at--; /* before "back" */
    if (devices) {
        json_t *r = json_pack("[{s:s,s:s}]", "text", bot_cmsg(l, BOT_C_BTN_DEVICES), "callback_data", "devices");
        if (r == NULL || json_array_insert_new(rows, at++, r) < 0)
            return ERR_NOMEM;
    }
    size_t bl = strlen(base);
    if (bl == 0 || (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0))
        return 0;
    if (base[bl - 1] == '/')
        bl--;
    json_t *r = NULL;
    for (size_t i = 0; i < sizeof sub_apps / sizeof sub_apps[0]; i++) {
        char text[64], url[640];
        snprintf(text, sizeof text, "%s%s", bot_cmsg(l, BOT_C_ADD_TO), sub_app_title(sub_apps[i]));
        snprintf(url, sizeof url, "%.*s/add/%s/%s", (int)bl, base, sub_apps[i], token);
        if (r == NULL && (r = json_array()) == NULL)
            return ERR_NOMEM;
        if (json_array_append_new(r, json_pack("{s:s,s:s}", "text", text, "url", url)) < 0) {
            json_decref(r);
            return ERR_NOMEM;
        }
        if (json_array_size(r) == 2 || i + 1 == sizeof sub_apps / sizeof sub_apps[0]) {
            if (json_array_insert_new(rows, at++, r) < 0)
                return ERR_NOMEM;
            r = NULL;
        }
    }
    return 0;
}
