/* Inline keyboards (bot_kbd.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_update.h"

enum bot_cb bot_cb_parse(const char *data, int64_t *id)
{
    static const struct {
        const char *s;
        enum bot_cb cb;
    } plain[] = {{"menu", BOT_CB_MENU},
                 {"trial", BOT_CB_TRIAL},
                 {"sub", BOT_CB_SUB},
                 {"buy", BOT_CB_BUY},
                 {"help", BOT_CB_HELP}};
    *id = 0;
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (strcmp(data, plain[i].s) == 0)
            return plain[i].cb;
    enum bot_cb cb;
    const char *p;
    if (strncmp(data, "plan:", 5) == 0) {
        cb = BOT_CB_PLAN;
        p = data + 5;
    } else if (strncmp(data, "pay:", 4) == 0) {
        cb = BOT_CB_PAY_STARS;
        p = data + 4;
    } else {
        return BOT_CB_UNKNOWN;
    }
    int64_t v = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
        v = v * 10 + (*p - '0');
    if (digits == 0 || v == 0)
        return BOT_CB_UNKNOWN;
    if (cb == BOT_CB_PLAN ? *p != '\0' : strcmp(p, ":stars") != 0)
        return BOT_CB_UNKNOWN;
    *id = v;
    return cb;
}

static json_t *cb_button(const char *text, const char *data)
{
    if (strlen(data) == 0 || strlen(data) > BOT_CALLBACK_MAX)
        return NULL;
    return json_pack("{s:s,s:s}", "text", text, "callback_data", data);
}

/* Appends a row of one button (takes the reference); false on failure. */
static bool row(json_t *rows, json_t *button)
{
    if (button == NULL)
        return false;
    json_t *r = json_array();
    if (r == NULL || json_array_append_new(r, button) < 0) {
        json_decref(r);
        return false;
    }
    return json_array_append_new(rows, r) == 0;
}

static json_t *wrap(json_t *rows, bool ok)
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
    bool ok = row(rows, cb_button(bot_msg(l, BOT_M_BTN_BUY), "buy"));
    if (ok && trial)
        ok = row(rows, cb_button(bot_msg(l, BOT_M_BTN_TRIAL), "trial"));
    ok = ok && row(rows, cb_button(bot_msg(l, BOT_M_BTN_SUB), "sub"));
    ok = ok && row(rows, cb_button(bot_msg(l, BOT_M_BTN_HELP), "help"));
    return wrap(rows, ok);
}

json_t *bot_kbd_back(enum bot_lang l)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    return wrap(rows, row(rows, cb_button(bot_msg(l, BOT_M_BTN_BACK), "menu")));
}

int64_t bot_plan_stars(const struct hub_plan *p)
{
    for (size_t i = 0; i < p->n_prices && i < HUB_PLAN_PRICES_MAX; i++)
        if (strcmp(p->prices[i].currency, "XTR") == 0)
            return p->prices[i].amount_minor;
    return -1;
}

json_t *bot_kbd_plans(enum bot_lang l, const struct hub_plan *plans, size_t n)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        int64_t stars = bot_plan_stars(&plans[i]);
        if (!plans[i].enabled || stars <= 0)
            continue;
        char text[160], data[32];
        snprintf(text, sizeof text, "%s · %" PRId64 "%s · %" PRId64 " \u2B50", plans[i].name, plans[i].duration_days,
                 bot_msg(l, BOT_M_PLAN_DAYS), stars);
        snprintf(data, sizeof data, "plan:%" PRId64, plans[i].id);
        ok = row(rows, cb_button(text, data));
    }
    ok = ok && row(rows, cb_button(bot_msg(l, BOT_M_BTN_BACK), "menu"));
    return wrap(rows, ok);
}

json_t *bot_kbd_pay(enum bot_lang l, int64_t plan_id, bool stars)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = true;
    if (stars) {
        char data[40];
        snprintf(data, sizeof data, "pay:%" PRId64 ":stars", plan_id);
        ok = row(rows, cb_button(bot_msg(l, BOT_M_BTN_STARS), data));
    }
    ok = ok && row(rows, cb_button(bot_msg(l, BOT_M_BTN_BACK), "buy"));
    return wrap(rows, ok);
}

json_t *bot_kbd_sub(enum bot_lang l, const char *url)
{
    json_t *rows = json_array();
    if (rows == NULL)
        return NULL;
    bool ok = row(rows, json_pack("{s:s,s:{s:s}}", "text", bot_msg(l, BOT_M_BTN_COPY), "copy_text", "text", url));
    if (ok && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0))
        ok = row(rows, json_pack("{s:s,s:s}", "text", bot_msg(l, BOT_M_BTN_OPEN), "url", url));
    ok = ok && row(rows, cb_button(bot_msg(l, BOT_M_BTN_BACK), "menu"));
    return wrap(rows, ok);
}
