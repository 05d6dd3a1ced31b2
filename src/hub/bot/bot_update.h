/* Telegram Bot API input (spec/ecosystem.md §c): one Update object, as sent to the webhook or
 * listed by getUpdates, reduced to what the bot acts on, and the envelope of every Bot API answer
 * ({"ok", "result" | "error_code", "description", "parameters": {"retry_after"}}).
 * The parsers take untrusted bytes: bounded copies, integer ranges checked, unknown update kinds
 * kept as BOT_UPD_OTHER (their update_id still advances the offset). */
#ifndef VEIL_HUB_BOT_UPDATE_H
#define VEIL_HUB_BOT_UPDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BOT_TEXT_MAX 1024   /* bytes of message text kept (commands need far less) */
#define BOT_CALLBACK_MAX 64 /* callback_data limit in bytes (Bot API) */
#define BOT_UPDATE_MAX (1u << 20)

enum bot_upd_kind {
    BOT_UPD_OTHER = 0, /* any kind the bot does not act on */
    BOT_UPD_MESSAGE,   /* private text message, or a successful_payment service message */
    BOT_UPD_CALLBACK,  /* inline button press */
    BOT_UPD_PRECHECKOUT,
    BOT_UPD_MEMBER, /* my_chat_member: the user blocked ("kicked") or restarted the bot */
    BOT_UPD__COUNT, /* sentinel */
};

struct bot_update {
    int64_t update_id;
    enum bot_upd_kind kind;
    int64_t from_id;             /* the Telegram user (> 0) */
    char username[33];           /* "" when absent or not a plain handle */
    char lang[9];                /* language_code, "" when absent or odd */
    int64_t chat_id;             /* MESSAGE, CALLBACK (its message's chat), MEMBER */
    int64_t message_id;          /* CALLBACK: the message carrying the keyboard (0: none) */
    char text[BOT_TEXT_MAX + 1]; /* MESSAGE text (cut at a character boundary), CALLBACK data */
    char query_id[65];           /* CALLBACK and PRECHECKOUT ids */
    bool paid;                   /* MESSAGE carries successful_payment */
    char currency[8];            /* PRECHECKOUT / paid */
    int64_t total_amount;
    char payload[129];   /* invoice_payload */
    char charge_id[129]; /* telegram_payment_charge_id */
    char status[16];     /* MEMBER: new_chat_member.status */
};

/* One Update object. ERR_MALFORMED when update_id is missing or negative, or a kind the bot acts
 * on lacks a required field. */
int bot_update_from_json(const json_t *j, struct bot_update *out);
/* The same from raw bytes (a webhook body). ERR_TOO_LONG past BOT_UPDATE_MAX. */
int bot_update_parse(const char *buf, size_t len, struct bot_update *out);

/* A Bot API answer. result is a new reference (or NULL); release with bot_reply_dispose. */
struct bot_reply {
    bool ok;
    int64_t error_code;
    int64_t retry_after; /* seconds, 0 when not given */
    char description[160];
    json_t *result;
};
/* ERR_MALFORMED when the body is not such an envelope. */
int bot_reply_parse(const char *buf, size_t len, struct bot_reply *out);
void bot_reply_dispose(struct bot_reply *r);

#endif
