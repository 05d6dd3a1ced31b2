/* Inline keyboards and their callback data. Every callback_data is at most 64 bytes (Bot API);
 * a button whose data would be longer is a programming error and makes the builder fail. Data:
 *   "menu", "trial", "sub", "buy", "help", "ref", "balance", "lang", "lang:en", "lang:ru", "qr", "plan:<id>",
 * "pay:<id>:<provider>" (billing's provider names: stars, yookassa, robokassa, cryptobot, balance). */
#ifndef VEIL_HUB_BOT_KBD_H
#define VEIL_HUB_BOT_KBD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hub/billing/billing.h"
#include "hub/bot/bot_text.h"
#include "hub/domain/model.h"

enum bot_cb {
    BOT_CB_UNKNOWN = 0,
    BOT_CB_MENU,
    BOT_CB_TRIAL,
    BOT_CB_SUB,
    BOT_CB_BUY,
    BOT_CB_HELP,
    BOT_CB_REF,
    BOT_CB_BALANCE,
    BOT_CB_LANG,
    BOT_CB_LANG_EN,
    BOT_CB_LANG_RU,
    BOT_CB_QR,
    BOT_CB_PLAN,   /* id: the plan */
    BOT_CB_PAY,    /* id: the plan, prov: the provider */
    BOT_CB__COUNT, /* sentinel */
};

/* What a callback_data asks for (*id for the plan ones, *prov for "pay"). Anything else:
 * BOT_CB_UNKNOWN. */
enum bot_cb bot_cb_parse(const char *data, int64_t *id, enum billing_prov *prov);

/* A way to pay the bot offers: the provider and the currency its invoices are priced in. */
struct bot_pay_opt {
    enum billing_prov prov;
    char currency[HUB_CURRENCY_LEN + 1];
};

/* Keyboards ({"inline_keyboard": [...]}), new references; NULL on allocation failure or an
 * oversized callback_data. */
json_t *bot_kbd_main(enum bot_lang l, bool trial);
json_t *bot_kbd_back(enum bot_lang l);
/* English / Русский, and back. */
json_t *bot_kbd_lang(enum bot_lang l);
/* A copy button for the invitation link, and back. */
json_t *bot_kbd_ref(enum bot_lang l, const char *link);
/* One button per enabled plan priced in a currency of opts: "<name> · <days> days · 250 ⭐ ·
 * 299.00 RUB" (each currency once). */
json_t *bot_kbd_plans(enum bot_lang l, const struct hub_plan *plans, size_t n, const struct bot_pay_opt *opts,
                      size_t n_opts);
/* Whether the plan is on sale through one of opts. */
bool bot_plan_for_sale(const struct hub_plan *p, const struct bot_pay_opt *opts, size_t n_opts);
/* One button per option the plan has a price for. */
json_t *bot_kbd_pay(enum bot_lang l, const struct hub_plan *plan, const struct bot_pay_opt *opts, size_t n_opts);
/* A URL button to the provider's pay page, and back to the menu. */
json_t *bot_kbd_pay_url(enum bot_lang l, const char *url);
/* Copy and open buttons for the subscription URL (open only for http(s)), its QR code, back. */
json_t *bot_kbd_sub(enum bot_lang l, const char *url);

/* The plan's price in currency, or -1. */
int64_t bot_plan_price(const struct hub_plan *p, const char *currency);
/* "250 ⭐" (XTR) or "299.00 RUB" (two minor digits otherwise). */
void bot_money(int64_t minor, const char *currency, char out[static 48]);

/* The builder every keyboard (here and bot_ckbd.c) uses. A callback button; NULL when data is
 * empty or longer than BOT_CALLBACK_MAX. */
json_t *bot_kbd_button(const char *text, const char *data);
/* Appends a row of the n buttons given (references taken); false when one is NULL or on
 * allocation failure. */
bool bot_kbd_row_of(json_t *rows, json_t *const *b, size_t n);
/* A row of one button. */
bool bot_kbd_row(json_t *rows, json_t *button);
/* {"inline_keyboard": rows} when ok, else NULL; takes rows. */
json_t *bot_kbd_wrap(json_t *rows, bool ok);
/* The label of a provider's pay button. */
enum bot_msg bot_kbd_prov_label(enum billing_prov p);
/* A positive decimal of at most 18 digits at *p (callback data ids); advances *p. 0: none. */
int64_t bot_cb_number(const char **p);

#endif
