/* Broadcasts: an admin's text to every reachable Telegram user (docs/bot.md, "Broadcasts").
 * A broadcast is a row in bot_broadcasts and one row per recipient in bot_broadcast_recipients
 * (schema migration 11, by user id), written in one transaction when it is created, so the work
 * survives a restart. One sender thread per hub, on the replica holding the lease
 * "bot_broadcast", sends one broadcast at a time in user id order (the Telegram id read at send
 * time; a user deleted, disabled or blocked since is decided without a send), at most BOT_BROADCAST_RATE messages a
 * second overall and one per chat per broadcast (a second broadcast starts at least a second after the previous one's
 * last message). Each recipient is marked "sending" (committed) before its sendMessage and delivered / blocked (403) /
 * failed after it, so a recipient is never sent the same broadcast twice: one left "sending" by a crash is counted
 * failed ("unknown"), not sent again. When no recipient is left, the admin who started it is told delivered / blocked /
 * failed. */
#ifndef VEIL_HUB_BOT_BROADCAST_H
#define VEIL_HUB_BOT_BROADCAST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hub/bot/bot_flow.h"

/* Messages a second (Telegram allows about 30 a second per bot; the rest is left for the
 * customer flow and notices). Sends are spaced 1/BOT_BROADCAST_RATE s apart from the previous
 * send's start, so no one-second window holds more than BOT_BROADCAST_RATE. */
#define BOT_BROADCAST_RATE 20
#define BOT_BROADCAST_HTML_MAX 4096 /* Telegram's message limit, after escaping */

enum bot_bc_state {
    BOT_BC_PENDING = 0,
    BOT_BC_SENDING, /* claimed by the sender; still so after a crash: unknown, never resent */
    BOT_BC_DELIVERED,
    BOT_BC_BLOCKED,
    BOT_BC_FAILED,
    BOT_BC_UNKNOWN, /* was "sending" when the hub stopped: counted as failed */
    BOT_BC__COUNT,  /* sentinel */
};

struct bot_bc_report {
    int64_t id, admin_id, recipients;
    int64_t delivered, blocked, failed, unknown, pending;
    bool done;
};

/* Queues a broadcast of text (plain text: escaped here) from admin to every Telegram user who
 * is enabled and has not blocked the bot, with an audit row ("bot.broadcast", actor
 * "tg:<admin>"). ERR_TOO_LONG when the escaped text exceeds BOT_BROADCAST_HTML_MAX; ERR_RANGE
 * when it is empty. */
int bot_broadcast_create(struct store *st, int64_t admin_id, const char *text, int64_t now, int64_t *id,
                         int64_t *recipients);

/* Counts of a broadcast's recipients by state. ERR_NOT_FOUND. */
int bot_broadcast_report(struct store *st, int64_t id, struct bot_bc_report *out);

/* The sender thread: starts it (the caller owns stop). */
struct bot_bc_sender;
int bot_broadcast_start(struct bot *b, atomic_bool *stopping, const char *holder, struct bot_bc_sender **out);
void bot_broadcast_stop(struct bot_bc_sender *s);
/* Wakes the sender (a new broadcast was queued). Safe with NULL. */
void bot_broadcast_kick(void);

#endif
