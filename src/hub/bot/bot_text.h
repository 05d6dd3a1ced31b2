/* What the bot says, in English and Russian, and the HTML escaping of dynamic text
 * (parse_mode HTML: &, <, > and " are the only characters Telegram needs escaped). */
#ifndef VEIL_HUB_BOT_TEXT_H
#define VEIL_HUB_BOT_TEXT_H

#include <stddef.h>

enum bot_lang {
    BOT_LANG_EN = 0,
    BOT_LANG_RU,
    BOT_LANG__COUNT, /* sentinel */
};

enum bot_msg {
    BOT_M_WELCOME = 0,
    BOT_M_MENU,
    BOT_M_BTN_BUY,
    BOT_M_BTN_TRIAL,
    BOT_M_BTN_SUB,
    BOT_M_BTN_HELP,
    BOT_M_BTN_BACK,
    BOT_M_BTN_COPY,
    BOT_M_BTN_OPEN,
    BOT_M_BTN_STARS,
    BOT_M_BTN_YOOKASSA,
    BOT_M_BTN_ROBOKASSA,
    BOT_M_BTN_CRYPTOBOT,
    BOT_M_BTN_BALANCE,
    BOT_M_BTN_PAY,
    BOT_M_PAY_LINK,
    BOT_M_NO_FUNDS,
    BOT_M_BTN_REF,
    BOT_M_BTN_BAL,
    BOT_M_BTN_LANG,
    BOT_M_BTN_EN,
    BOT_M_BTN_RU,
    BOT_M_LANG_CHOOSE,
    BOT_M_LANG_SET,
    BOT_M_REF_HEAD,
    BOT_M_REF_INVITED,
    BOT_M_REF_EARNED,
    BOT_M_REF_NOTHING,
    BOT_M_BAL_HEAD,
    BOT_M_BAL_HISTORY,
    BOT_M_BAL_EMPTY,
    BOT_M_R_TOPUP, /* ledger reasons, in the order of store_ledger_row.reason's list */
    BOT_M_R_PURCHASE,
    BOT_M_R_REFERRAL,
    BOT_M_R_REFERRAL_BONUS,
    BOT_M_R_REFUND,
    BOT_M_R_ADMIN,
    BOT_M_BTN_QR,
    BOT_M_QR_CAPTION,
    BOT_M_REMIND_SOON, /* followed by the end date */
    BOT_M_REMIND_RENEW,
    BOT_M_REMIND_EXPIRED,
    BOT_M_TRIAL_OK,
    BOT_M_TRIAL_TAKEN,
    BOT_M_TRIAL_HAS_SUB,
    BOT_M_TRIAL_OFF,
    BOT_M_NO_SUB,
    BOT_M_SUB_HEAD, /* followed by the state and the end date */
    BOT_M_SUB_UNTIL,
    BOT_M_SUB_DAYS_LEFT,
    BOT_M_SUB_LINK,
    BOT_M_PLANS,
    BOT_M_NO_PLANS,
    BOT_M_PLAN_DAYS,
    BOT_M_CHOOSE_PROVIDER,
    BOT_M_INVOICE_DESC,
    BOT_M_INVOICE_SENT,
    BOT_M_PAID,
    BOT_M_ERROR,
    BOT_M_HELP,
    BOT_M_SUPPORT,
    BOT_M_UNAVAILABLE,
    BOT_M__COUNT, /* sentinel */
};

/* "ru", "ru-RU", "uk", "be" ... -> Russian; anything else English. */
enum bot_lang bot_lang_of(const char *language_code);
const char *bot_lang_code(enum bot_lang l);
const char *bot_msg(enum bot_lang l, enum bot_msg m);

/* Escapes in into out (cap bytes with the NUL). ERR_TOO_LONG when it does not fit (out is then
 * cut at a character boundary, still escaped and terminated). */
int bot_html_escape(const char *in, char *out, size_t cap);

#endif
