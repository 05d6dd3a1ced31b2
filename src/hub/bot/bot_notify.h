/* Notices the bot sends on its own, once per event (bot_notices): "payment received" with the
 * subscription link after any payment settles, whichever path settled it (a provider's webhook,
 * reconciliation, Stars, the balance). Billing needs no hook: a settled payment has settled_at set
 * in the same transaction, and the drain (a scheduler job) announces the ones without a notice.
 * Expiry reminders (3 days, 1 day, expired: bot_store_reminders_due) go out from the same job,
 * each once per event; a 403 marks the chat blocked and blocked chats get nothing more. */
#ifndef VEIL_HUB_BOT_NOTIFY_H
#define VEIL_HUB_BOT_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "hub/bot/bot_flow.h"

/* Payments settled more than this long before a drain are not announced (bounds the scan). */
#define BOT_NOTIFY_WINDOW (24 * 3600)
/* Notices sent per drain at most (the rest go next time). */
#define BOT_NOTIFY_BATCH 20

/* Tells hu their payment arrived, with the subscription, unless told already. A chat that
 * blocked the bot is not sent to (the event still counts as handled). */
int bot_notify_paid(struct bot *b, const struct hub_user *hu, int64_t payment_id, int64_t now);

/* Announces payments settled since the bot first drained (at most BOT_NOTIFY_WINDOW ago).
 * *sent (may be NULL) counts the notices sent. */
int bot_notify_drain(struct bot *b, int64_t now, int *sent);

/* Tells the bot's admins about suspicious-activity findings opened since the bot first looked,
 * once per finding (bot_findings.c). */
int bot_notify_findings(struct bot *b, int64_t now, int *sent);
/* A press of a leaked_link notice's "Rotate link" button (callback data "frot:..."): for an admin,
 * rotates the user's subscription token once per finding (audited "user.rotate_token", actor
 * "tg:<admin>", details via bot) and edits the notice; anyone else is refused. Returns false for
 * other callback data; *alert is what the press is answered with, *rc a store failure. */
bool bot_findings_callback(struct bot *b, const struct bot_update *u, int64_t now, const char **alert, int *rc);

/* Tells customers whose access a temporary hold paused (BitTorrent auto-disable), once per hold
 * (bot_holds.c). */
int bot_notify_holds(struct bot *b, int64_t now, int *sent);

/* Sends the due expiry reminders (at most BOT_NOTIFY_BATCH of each kind). */
int bot_notify_reminders(struct bot *b, int64_t now, int *sent);

#endif
