/* The customer screens and notices added to the first slice of the bot (bot_flow.c calls in):
 *   bot_notice.c    one notice claimed before it is sent (bot_notices), given back when the send
 *                   failed for a passing reason or the chat blocked the bot (sent once it is back);
 *   bot_quota.c     traffic at 80 % and 100 % of the quota, once per subscription per reset period;
 *   bot_reward.c    "you earned a referral reward", once per referral_rewards row, to the referrer;
 *   bot_promo.c     /start promo_<code>: billing's promo code kept for the customer's next purchase;
 *   bot_topup.c     Balance -> Top up -> amount -> provider -> the pay page; the notice on settle;
 *   bot_devices.c   the devices (HWIDs) recorded on subscription fetches, and freeing a slot;
 *   bot_addapp.c    GET /add/<app>/<token>: an HTTPS redirect into the app's deep link (§a.6), the
 *                   target of the "add to app" buttons (Telegram URL buttons take http(s) only).
 * Their phrases are in bot_ctext.c, their callback data and keyboards in bot_ckbd.c. */
#ifndef VEIL_HUB_BOT_CUSTOMER_H
#define VEIL_HUB_BOT_CUSTOMER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "hub/billing/billing.h"
#include "hub/bot/bot_flow.h"
#include "hub/bot/bot_text.h"
#include "hub/domain/model.h"
#include "hub/store/store.h"

/* ---- phrases (bot_ctext.c) ---- */
enum bot_cmsg {
    BOT_C_QUOTA_80 = 0,
    BOT_C_QUOTA_100,
    BOT_C_QUOTA_USED, /* followed by "<used> / <quota>" */
    BOT_C_REWARD,     /* followed by the amount */
    BOT_C_REWARD_TAIL,
    BOT_C_PROMO_OK, /* followed by what it gives */
    BOT_C_PROMO_TAIL,
    BOT_C_PROMO_PERCENT, /* "<n> % off" follows the number */
    BOT_C_PROMO_DAYS,    /* "+<n> days" follows the number */
    BOT_C_PROMO_MONEY,   /* "off" after the amount */
    BOT_C_PROMO_UNKNOWN,
    BOT_C_PROMO_EXPIRED,
    BOT_C_PROMO_USED,
    BOT_C_PROMO_PENDING, /* followed by the code */
    BOT_C_BTN_TOPUP,
    BOT_C_TOPUP_AMOUNT,
    BOT_C_TOPUP_PROVIDER, /* followed by the amount */
    BOT_C_TOPUP_NONE,
    BOT_C_TOPUP_DONE, /* followed by the amount */
    BOT_C_TOPUP_BALANCE,
    BOT_C_BTN_DEVICES,
    BOT_C_DEV_HEAD, /* followed by "<n> / <limit>" */
    BOT_C_DEV_NONE,
    BOT_C_DEV_HINT,
    BOT_C_DEV_FREE, /* button: followed by the device's number */
    BOT_C_DEV_FREED,
    BOT_C_DEV_GONE,
    BOT_C_DEV_NO_LIMIT,
    BOT_C_DEV_SEEN,
    BOT_C_ADD_TO,   /* button: followed by the app's name */
    BOT_C_ADD_PAGE, /* the redirect page: followed by the app's name */
    BOT_C_ADD_TAP,
    BOT_C_TRAFFIC, /* followed by "<used> / <quota>" */
    BOT_C_UNLIMITED,
    BOT_C__COUNT, /* sentinel */
};
const char *bot_cmsg(enum bot_lang l, enum bot_cmsg m);

/* ---- callback data and keyboards (bot_ckbd.c) ----
 *   "devices", "devdel:<device id>", "topup", "topup:<amount minor>", "tpay:<amount minor>:<provider>" */
enum bot_ccb {
    BOT_CCB_NONE = 0, /* not one of these: bot_cb_parse's */
    BOT_CCB_DEVICES,
    BOT_CCB_DEV_FREE, /* a: the device */
    BOT_CCB_TOPUP,
    BOT_CCB_TOPUP_AMOUNT, /* a: the amount */
    BOT_CCB_TOPUP_PAY,    /* a: the amount, prov: the provider */
    BOT_CCB__COUNT,       /* sentinel */
};
enum bot_ccb bot_ccb_parse(const char *data, int64_t *a, enum billing_prov *prov);

/* The top-up amounts offered, in minor units of the customer's currency (XTR: whole Stars). */
#define BOT_TOPUP_AMOUNTS 4
int64_t bot_topup_amount(const char *currency, size_t i);
bool bot_topup_amount_ok(const char *currency, int64_t amount);

/* Balance screen: Top up (when topup) and back. */
json_t *bot_kbd_balance(enum bot_lang l, bool topup);
/* One button per amount, and back to the balance. */
json_t *bot_kbd_topup_amounts(enum bot_lang l, const char *currency);
/* One button per provider (billing's names), and back to the amounts. */
json_t *bot_kbd_topup_pay(enum bot_lang l, int64_t amount, const enum billing_prov *provs, size_t n);
/* A "free" button per device (numbered as listed), and back to the subscription. */
json_t *bot_kbd_devices(enum bot_lang l, const struct store_device *devs, size_t n);
/* Adds to a "My subscription" keyboard, before its last row (back): "Add to <app>" URL buttons to
 * <base>/add/<slug>/<token> (base http(s) only), and Devices when devices. 0 or ERR_NOMEM. */
int bot_kbd_sub_more(json_t *kbd, enum bot_lang l, const char *base, const char *token, bool devices);

/* ---- notices ---- */
/* Claims (kind, ref_id) and sends html (kbd taken). 1: sent; 0: sent before, or refused for good
 * (400); a passing failure or a blocked chat gives the claim back (the next drain sends it, once
 * the chat is back) and returns < 0 for a passing failure, 0 for a blocked chat. */
int bot_notice_send(struct bot *b, const char *kind, int64_t ref_id, int64_t telegram_id, const char *html, json_t *kbd,
                    int64_t now);
/* For the due queries (inside their connection): the Telegram id of row i of a result joining
 * users (id, telegram_id, telegram_enc columns: a sealed id is opened, store_sql.h), and whether
 * its chat is blocked (checked here for a sealed id, which SQL cannot compare with bot_chats). */
struct store_conn;
struct store_res;
int bot__telegram_of(struct store_conn *sc, const struct store_res *r, size_t i, size_t id_col, size_t tg_col,
                     size_t enc_col, int64_t *telegram_id, bool *blocked);
/* "1.50 GiB" (binary units; "512 B" below 1 KiB). */
void bot_fmt_bytes(int64_t v, char out[static 32]);
/* Quota notices due now (bot_quota.c). */
int bot_notify_quota(struct bot *b, int64_t now, int *sent);
/* Which running subscriptions (not ended) of reachable Telegram users (enabled, chat not blocked)
 * with a quota are due a notice: full, used >= quota; else used in [quota - quota/5, quota). The
 * event is "q100@<last_reset_at>" / "q80@<last_reset_at>" on the subscription; those with a
 * bot_notices row for it are left out. At most cap, by subscription id. */
struct bot_quota_due {
    int64_t sub_id, user_id, telegram_id, last_reset_at, used, quota;
};
int bot_quota_due(struct store *st, bool full, int64_t now, struct bot_quota_due *out, size_t cap, size_t *n);
/* Referral reward notices for rewards booked since the bot first looked (bot_reward.c). */
int bot_notify_rewards(struct bot *b, int64_t now, int *sent);
/* referral_rewards rows booked at or after since for reachable Telegram referrers, without a
 * "reward" notice; at most cap, oldest first. */
struct bot_reward_due {
    int64_t reward_id, referrer_id, telegram_id, amount_minor;
    char currency[HUB_CURRENCY_LEN + 1];
};
int bot_reward_due(struct store *st, int64_t since, struct bot_reward_due *out, size_t cap, size_t *n);

/* ---- promo codes (bot_promo.c) ---- */
/* /start promo_<code>: checks the code with billing and keeps it for hu's next purchase; tells
 * the customer what it gives or why it cannot be used. */
int bot_promo_start(struct bot *b, int64_t chat_id, const struct hub_user *hu, const char *code, int64_t now);
/* billing_invoice_create with the customer's kept promo code, if any: a code billing refuses
 * for good (used, expired, unknown) is forgotten and the invoice made without it. */
int bot_invoice_create(struct bot *b, struct billing *bl, struct billing_invoice_req *in, int64_t now,
                       struct hub_payment *out, struct billing_err *e);
/* The kept promo of a hub user (bot_state "promo:u<user id>": the user id, not the Telegram id,
 * which the store may keep sealed): set (promo_id 0 forgets) and the code ("" when none, or the
 * promo was deleted). */
int bot_promo_store_set(struct store *st, int64_t user_id, int64_t promo_id);
int bot_promo_store_get(struct store *st, int64_t user_id, char code[static HUB_PROMO_CODE_MAX + 1]);
/* The kept promo code of hu ("" when none). */
int bot_promo_kept(struct bot *b, const struct hub_user *hu, char code[static HUB_PROMO_CODE_MAX + 1]);

/* ---- top-up (bot_topup.c) and devices (bot_devices.c) ---- */
/* The providers that can top up hu's balance (enabled, priced in the balance's currency). */
size_t bot_topup_provs(struct bot *b, const struct hub_user *hu, enum billing_prov out[static BILLING__COUNT]);
/* The "balance topped up" notice for a settled top-up payment: *html (free it) and *kbd. */
int bot_topup_notice(struct bot *b, const struct hub_user *hu, const struct hub_payment *pay, char **html,
                     json_t **kbd);

/* The customer's callbacks and commands (/devices, /topup): true when handled (*rc set, *alert
 * may be set for a refusal), false when the data is someone else's. */
bool bot_customer_callback(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t now,
                           const char **alert, int *rc);
bool bot_customer_command(struct bot *b, const struct bot_update *u, const struct hub_user *hu, const char *cmd,
                          int64_t now, int *rc);
int bot_show_devices(struct bot *b, const struct bot_update *u, const struct hub_user *hu, const char *lead);
int bot_show_topup(struct bot *b, const struct bot_update *u, const struct hub_user *hu);
/* The providers for a top-up of amount; then its invoice and pay button (*alert: a refusal). */
int bot_topup_providers(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t amount);
int bot_topup_pay(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t amount,
                  enum billing_prov prov, int64_t now, const char **alert);
/* Frees the slot of one of hu's devices and shows the list again (*alert: not theirs, or gone). */
int bot_free_device(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t device_id,
                    int64_t now, const char **alert);

/* ---- the add-to-app redirect (bot_addapp.c) ---- */
/* Adds GET /add/{app}/{token} (from the bot module's reg). */
void bot_addapp_reg(void);
/* Splits "/add/<app>/<token>[/]": app 1..32 bytes without '/', token 16..HUB_TOKEN_MAX of
 * [A-Za-z0-9_-] (a /sub token's alphabet). False for any other shape. */
bool bot_addapp_parse_path(const char *path, char app[static 33], char token[static HUB_TOKEN_MAX + 1]);
/* The hub's public URL and subscription title the page uses ("" base: the route answers 404). */
void bot_addapp_set(const char *public_url, const char *title);

#endif
