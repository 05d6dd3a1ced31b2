/* The customer flow: one update in, Bot API calls out. Commands /start [ref_<code>], /buy,
 * /trial, /sub, /help; the inline menu (bot_kbd.h); Telegram Stars through billing
 * (sendInvoice with our payment id as payload, pre_checkout_query answered from billing's check,
 * successful_payment settled by billing exactly once); other providers as a URL button; /ref
 * (invitation link, invited, earned), /balance (balance, history), /lang. Every callback_query
 * is answered. */
#ifndef VEIL_HUB_BOT_FLOW_H
#define VEIL_HUB_BOT_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "hub/bot/bot_api.h"
#include "hub/bot/bot_cfg.h"
#include "hub/bot/bot_update.h"
#include "hub/domain/model.h"

struct store;
struct billing;
struct hcache;

struct bot {
    struct bot_cfg cfg;
    struct bot_api api;
    struct store *st;
    struct hcache *cache; /* the hub cache (NULL: none): bumped when the bot changes what /sub answers */
    char public_url[512]; /* the hub's subscription base URL ("" when not configured) */
    /* The billing instance to use (NULL: billing_module_current()). Tests inject one. */
    struct billing *billing;
    /* The bot's @username from getMe, asked once when first needed (under bot_flow.c's lock). */
    char username[65];
};

/* Acts on one update. Failures of single Bot API calls are logged and not returned (the update
 * is done with); an error is returned only when the update could not be acted on at all. */
int bot_handle(struct bot *b, const struct bot_update *u, int64_t now);

/* Sends a new message (HTML; kbd taken, may be NULL) to chat_id; a 403 marks the chat blocked. */
int bot_send_text(struct bot *b, int64_t chat_id, const char *html, json_t *kbd);
/* "My subscription" for hu, after lead (raw HTML, may be NULL): *html (free it) and its keyboard. */
int bot_sub_message(struct bot *b, const struct hub_user *hu, int64_t now, const char *lead, char **html, json_t **kbd);

/* Shows a screen: edits the callback's message in place, else sends a new one (kbd taken). */
int bot_show(struct bot *b, const struct bot_update *u, const char *html, json_t *kbd);
/* The billing instance the bot uses (NULL: billing is off). */
struct billing *bot_billing(struct bot *b);

/* "2026-12-06 10:21 UTC". */
void bot_fmt_date(int64_t t, char out[static 32]);

/* Sends the QR code of hu's subscription link as a photo (sendPhoto, PNG). ERR_NOT_FOUND when
 * the hub has no public URL. */
int bot_send_qr(struct bot *b, const struct hub_user *hu);

/* Whether an update whose handling returned rc is done with (the polling offset may move past
 * it). Transient failures (database busy or down, no memory, Telegram unreachable) are retried:
 * the same update up to BOT_UPDATE_TRIES times in a row, then dropped with an error in the log,
 * so one poisoned update cannot stop the bot. */
#define BOT_UPDATE_TRIES 5
struct bot_retry {
    int64_t update_id;
    int tries;
};
bool bot_update_done(struct bot_retry *r, int64_t update_id, int rc);
bool bot_err_transient(int rc);

#endif
