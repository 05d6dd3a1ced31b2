/* Per-user flood control on incoming updates (docs/bot.md, "Flood control"): a token bucket per
 * Telegram user, BOT_FLOOD_BURST updates at once and BOT_FLOOD_PER_S a second after that.
 * Messages and button presses past it are dropped (a press is still answered, with a short
 * "too fast" alert, so the button stops spinning) and counted for GET /metrics
 * (veil_hub_bot_updates_dropped_total). Payments (pre-checkout, successful_payment) and
 * my_chat_member are never dropped; admins are exempt (a /broadcast or an incident must not be
 * throttled). The table is bounded: BOT_FLOOD_USERS entries, the least recently seen reused. */
#ifndef VEIL_HUB_BOT_FLOOD_H
#define VEIL_HUB_BOT_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

#include "hub/bot/bot_flow.h"

#define BOT_FLOOD_BURST 10
#define BOT_FLOOD_PER_S 1
#define BOT_FLOOD_USERS 4096
#define BOT_FLOOD_PROBE 8

struct bot_flood;

struct bot_flood *bot_flood_new(void);
void bot_flood_free(struct bot_flood *f);

/* Whether one more update from user may be handled at now_ms (any monotonic milliseconds);
 * takes a token when it may. Thread-safe. */
bool bot_flood_allow(struct bot_flood *f, int64_t user, long long now_ms);

/* The bot's gate in front of bot_handle: true when u may be handled; otherwise it is dropped
 * (counted, a callback query answered). */
bool bot_flood_gate(struct bot_flood *f, struct bot *b, const struct bot_update *u, long long now_ms);

/* Updates dropped since the process started. */
uint64_t bot_flood_dropped_total(void);

#endif
