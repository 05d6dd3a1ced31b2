/* Inline keyboards and their callback data. Every callback_data is at most 64 bytes (Bot API);
 * a button whose data would be longer is a programming error and makes the builder fail. Data:
 *   "menu", "trial", "sub", "buy", "help", "plan:<id>", "pay:<id>:stars". */
#ifndef VEIL_HUB_BOT_KBD_H
#define VEIL_HUB_BOT_KBD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hub/bot/bot_text.h"
#include "hub/domain/model.h"

enum bot_cb {
    BOT_CB_UNKNOWN = 0,
    BOT_CB_MENU,
    BOT_CB_TRIAL,
    BOT_CB_SUB,
    BOT_CB_BUY,
    BOT_CB_HELP,
    BOT_CB_PLAN,      /* id: the plan */
    BOT_CB_PAY_STARS, /* id: the plan */
    BOT_CB__COUNT,    /* sentinel */
};

/* What a callback_data asks for (*id for the plan ones). Anything else: BOT_CB_UNKNOWN. */
enum bot_cb bot_cb_parse(const char *data, int64_t *id);

/* Keyboards ({"inline_keyboard": [...]}), new references; NULL on allocation failure or an
 * oversized callback_data. */
json_t *bot_kbd_main(enum bot_lang l, bool trial);
json_t *bot_kbd_back(enum bot_lang l);
/* One button per plan that has a price in XTR: "<name> · <days> days · <n> ⭐". */
json_t *bot_kbd_plans(enum bot_lang l, const struct hub_plan *plans, size_t n);
json_t *bot_kbd_pay(enum bot_lang l, int64_t plan_id, bool stars);
/* Copy and open buttons for the subscription URL (open only for http(s)). */
json_t *bot_kbd_sub(enum bot_lang l, const char *url);

/* The plan's price in Telegram Stars, or -1. */
int64_t bot_plan_stars(const struct hub_plan *p);

#endif
