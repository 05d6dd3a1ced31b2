/* Admin commands in the bot, for the Telegram ids in bot.admins only (docs/bot.md, "Admin
 * commands"): /stats, /find <user>, /grant <user> <days>, /refund <payment id> (Stars, through
 * refundStarPayment and billing), /broadcast <text> (or /broadcast, then the text as the next
 * message). Anyone else sending them gets the normal menu and nothing is acted on. Every action
 * writes an audit row with actor "tg:<admin's Telegram id>". Replies are in English. */
#ifndef VEIL_HUB_BOT_ADMIN_H
#define VEIL_HUB_BOT_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "hub/bot/bot_flow.h"
#include "hub/bot/bot_update.h"

enum bot_admin_kind {
    BOT_ADM_NONE = 0, /* not an admin command */
    BOT_ADM_STATS,
    BOT_ADM_FIND,
    BOT_ADM_GRANT,
    BOT_ADM_REFUND,
    BOT_ADM_BROADCAST,
    BOT_ADM__COUNT, /* sentinel */
};

#define BOT_ADMIN_WHO_MAX 80

struct bot_admin_cmd {
    enum bot_admin_kind kind;
    char who[BOT_ADMIN_WHO_MAX + 1]; /* FIND, GRANT: the user as written */
    int64_t days;                    /* GRANT: 1..HUB_MAX_DURATION_DAYS */
    int64_t payment_id;              /* REFUND: > 0 */
    const char *text;                /* BROADCAST: into the parsed text; "" means the next message */
    char error[160];                 /* not empty: the command is malformed, reply this */
};

/* Parses message text ("/grant@veil_bot 42 30", ...). Returns the kind (BOT_ADM_NONE for any
 * other text); out->error is set for a known command with bad arguments. out->text borrows
 * from text. */
enum bot_admin_kind bot_admin_parse(const char *text, struct bot_admin_cmd *out);

bool bot_admin_is(const struct bot_cfg *c, int64_t telegram_id);

/* Whether this message is the admin's business: an admin command from an admin, or the text an
 * admin was asked for after a bare /broadcast. */
bool bot_admin_wants(struct bot *b, const struct bot_update *u);
/* Acts on such a message and replies to the admin. Errors are store failures worth a retry. */
int bot_admin_on_message(struct bot *b, const struct bot_update *u, int64_t now);

/* How a user is named in /find and /grant: "42" (user id, else Telegram id), "tg:42" (Telegram
 * id), "@name" (hub username), or a UUID. ERR_NOT_FOUND, ERR_MALFORMED. */
int bot_admin_find_user(struct store *st, const char *who, struct hub_user *out);

#endif
