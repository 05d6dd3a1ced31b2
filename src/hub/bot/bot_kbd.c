/* Inline keyboards (bot_kbd.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_update.h"

enum bot_cb bot_cb_parse(const char *data, int64_t *id, enum billing_prov *prov)
{
    static const struct {
        const char *s;
        enum bot_cb cb;
    } plain[] = {{"menu", BOT_CB_MENU},       {"trial", BOT_CB_TRIAL}, {"sub", BOT_CB_SUB},
                 {"buy", BOT_CB_BUY},         {"help", BOT_CB_HELP},   {"ref", BOT_CB_REF},
                 {"balance", BOT_CB_BALANCE}, {"lang", BOT_CB_LANG},   {"lang:en", BOT_CB_LANG_EN},
                 {"lang:ru", BOT_CB_LANG_RU}, {"qr", BOT_CB_QR}};
    *id = 0;
    *prov = BILLING__COUNT;
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strcmp(data, plain[i].s) == 0)
            return plain[i].cb;
    enum bot_cb cb;
    const char *p;
    if (strncmp(data, "plan:", 5) == 0) {
        cb = BOT_CB_PLAN;
        p = data + 5;
    } else if (strncmp(data, "pay:", 4) == 0) {
        cb = BOT_CB_PAY;
        p = data + 4;
    } else {
        return BOT_CB_UNKNOWN;
    }
    int64_t v = bot_cb_number(&p);
    if (v == 0)
        return BOT_CB_UNKNOWN;
    if (cb == BOT_CB_PLAN && *p != '\0')
        return BOT_CB_UNKNOWN;
    if (cb == BOT_CB_PAY) {
        int pv = *p == ':' ? billing_prov_parse(p + 1) : -1;
        if (pv < 0)
            return BOT_CB_UNKNOWN;
        *prov = (enum billing_prov)pv;
    }
    *id = v;
    return cb;
}

int64_t bot_cb_number(const char **p)
{
    int64_t v = 0;
    size_t digits = 0;
    for (; **p >= '0' && **p <= '9' && digits < 18; (*p)++, digits++)
        v = v * 10 + (**p - '0');
    return digits == 0 ? 0 : v;
}

json_t *bot_kbd_button(const char *text, const char *data)
{
    if (data[0] == '\0' || strlen(data) > BOT_CALLBACK_MAX)
        return NULL;
    return json_pack("{s:s,s:s}", "text", text, "callback_data", data);
}

bool bot_kbd_row_of(json_t *rows, json_t *const *b, size_t n)
{
    json_t *r = json_array();
    bool ok = r != NULL;
    for (size_t i = 0; i < n; i++) {
        if (!ok || b[i] == NULL) {
            json_decref(b[i]);
            ok = false;
        } else if (json_array_append_new(r, b[i]) < 0) { /* jansson releases b[i] on failure */
            ok = false;
        }
    }
    if (!ok) {
        json_decref(r);
        return false;
    }
    return json_array_append_new(rows, r) == 0;
}

bool bot_kbd_row(json_t *rows, json_t *button)
{
    return bot_kbd_row_of(rows, &button, 1);
}

json_t *bot_kbd_wrap(json_t *rows, bool ok)
{
    if (!ok) {
        json_decref(rows);
        return NULL;
    }
    return json_pack("{s:o}", "inline_keyboard", rows);
}

json_t *bot_kbd_main(enum bot_lang l, bool trial)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BUY), "buy"));
    if (ok && trial)
        ok = bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_TRIAL), "trial"));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_SUB), "sub"));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_REF), "ref"));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BAL), "balance"));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_LANG), "lang"));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_HELP), "help"));
    return bot_kbd_wrap(rows, ok);
}

json_t *bot_kbd_lang(enum bot_lang l)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_EN), "lang:en"));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_RU), "lang:ru"));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "menu"));
    return bot_kbd_wrap(rows, ok);
}

json_t *bot_kbd_ref(enum bot_lang l, const char *link)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok =
        bot_kbd_row(rows, json_pack("{s:s,s:{s:s}}", "text", bot_msg(l, BOT_M_BTN_COPY), "copy_text", "text", link));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "menu"));
    return bot_kbd_wrap(rows, ok);
}

json_t *bot_kbd_back(enum bot_lang l)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    return bot_kbd_wrap(rows, bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "menu")));
}

int64_t bot_plan_price(const struct hub_plan *p, const char *currency)
{
    for (size_t i = 0; i < p->n_prices && i < HUB_PLAN_PRICES_MAX; i++)
        if (strcmp(p->prices[i].currency, currency) == 0)
            return p->prices[i].amount_minor;
    return -1;
}

void bot_money(int64_t minor, const char *currency, char out[static 48])
{
    if (strcmp(currency, "XTR") == 0)
        snprintf(out, 48, "%" PRId64 " \u2B50", minor);
    else
        snprintf(out, 48, "%" PRId64 ".%02d %s", minor / 100, (int)(minor % 100), currency);
}

bool bot_plan_for_sale(const struct hub_plan *p, const struct bot_pay_opt *opts, size_t n_opts)
{
    for (size_t i = 0; p->enabled && i < n_opts; i++)
        if (bot_plan_price(p, opts[i].currency) > 0)
            return true;
    return false;
}

json_t *bot_kbd_plans(enum bot_lang l, const struct hub_plan *plans, size_t n, const struct bot_pay_opt *opts,
                      size_t n_opts)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (!bot_plan_for_sale(&plans[i], opts, n_opts))
            continue;
        char text[512], data[32];
        snprintf(text, sizeof text, "%s · %" PRId64 "%s", plans[i].name, plans[i].duration_days,
                 bot_msg(l, BOT_M_PLAN_DAYS));
        for (size_t k = 0; k < n_opts; k++) {
            bool seen = false; /* each currency once, though several providers may take it */
            for (size_t j = 0; j < k; j++)
                seen = seen || strcmp(opts[j].currency, opts[k].currency) == 0;
            int64_t price = bot_plan_price(&plans[i], opts[k].currency);
            if (seen || price <= 0)
                continue;
            char money[48];
            bot_money(price, opts[k].currency, money);
            size_t tl = strlen(text);
            snprintf(text + tl, sizeof text - tl, " · %s", money);
        }
        snprintf(data, sizeof data, "plan:%" PRId64, plans[i].id);
        ok = bot_kbd_row(rows, bot_kbd_button(text, data));
    }
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "menu"));
    return bot_kbd_wrap(rows, ok);
}

enum bot_msg bot_kbd_prov_label(enum billing_prov p)
{
    switch (p) {
    case BILLING_YOOKASSA:
        return BOT_M_BTN_YOOKASSA;
    case BILLING_ROBOKASSA:
        return BOT_M_BTN_ROBOKASSA;
    case BILLING_CRYPTOBOT:
        return BOT_M_BTN_CRYPTOBOT;
    case BILLING_BALANCE:
        return BOT_M_BTN_BALANCE;
    case BILLING_STARS:
    case BILLING__COUNT:
        break;
    }
    return BOT_M_BTN_STARS;
}

json_t *bot_kbd_pay(enum bot_lang l, const struct hub_plan *plan, const struct bot_pay_opt *opts, size_t n_opts)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = true;
    for (size_t i = 0; i < n_opts && ok; i++) {
        int64_t price = bot_plan_price(plan, opts[i].currency);
        if (price <= 0)
            continue;
        char text[160], money[48], data[48];
        bot_money(price, opts[i].currency, money);
        snprintf(text, sizeof text, "%s · %s", bot_msg(l, bot_kbd_prov_label(opts[i].prov)), money);
        snprintf(data, sizeof data, "pay:%" PRId64 ":%s", plan->id, billing_prov_name(opts[i].prov));
        ok = bot_kbd_row(rows, bot_kbd_button(text, data));
    }
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "buy"));
    return bot_kbd_wrap(rows, ok);
}

json_t *bot_kbd_pay_url(enum bot_lang l, const char *url)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = bot_kbd_row(rows, json_pack("{s:s,s:s}", "text", bot_msg(l, BOT_M_BTN_PAY), "url", url));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "menu"));
    return bot_kbd_wrap(rows, ok);
}

json_t *bot_kbd_sub(enum bot_lang l, const char *url)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok =
        bot_kbd_row(rows, json_pack("{s:s,s:{s:s}}", "text", bot_msg(l, BOT_M_BTN_COPY), "copy_text", "text", url));
    if (ok && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0))
        ok = bot_kbd_row(rows, json_pack("{s:s,s:s}", "text", bot_msg(l, BOT_M_BTN_OPEN), "url", url));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_QR), "qr"));
    ok = ok && bot_kbd_row(rows, bot_kbd_button(bot_msg(l, BOT_M_BTN_BACK), "menu"));
    return bot_kbd_wrap(rows, ok);
}
