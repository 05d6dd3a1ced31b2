/* The broadcast tables (schema migration 11; bot_broadcast.h says how they are used). */
#ifndef VEIL_HUB_BOT_BROADCAST_STORE_H
#define VEIL_HUB_BOT_BROADCAST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/bot/bot_broadcast.h"

struct store;

/* Inserts the broadcast and its recipients (Telegram users enabled and not blocked), with an
 * audit row (action "bot.broadcast", actor, target broadcast:<id>), in one transaction. */
int bot_bc_store_create(struct store *st, int64_t admin_id, const char *html, int64_t now, const char *actor,
                        int64_t *id, int64_t *recipients);
/* The oldest broadcast not finished: its id, admin and text (*html malloc'd). ERR_NOT_FOUND. */
int bot_bc_store_current(struct store *st, int64_t *id, int64_t *admin_id, char **html);
/* Recipients a stopped sender left "sending" become "unknown" (never sent again); *n counts. */
int bot_bc_store_recover(struct store *st, int64_t now, int64_t *n);
/* Up to cap pending recipients (user ids) of broadcast id, in user id order. */
int bot_bc_store_pending(struct store *st, int64_t id, int64_t *out, size_t cap, size_t *n);
/* Moves a recipient from state `from` to `to` (committed before returning). ERR_BAD_STATE when
 * it was not in `from` (another sender or the recovery got there first). */
int bot_bc_store_mark(struct store *st, int64_t id, int64_t user_id, enum bot_bc_state from, enum bot_bc_state to,
                      int64_t now);
/* The recipients of id counted by state. ERR_NOT_FOUND. */
int bot_bc_store_report(struct store *st, int64_t id, struct bot_bc_report *out);
/* Marks id finished when no recipient is pending or sending; *finished is true only for the
 * call that did it (the one that reports to the admin). */
int bot_bc_store_finish(struct store *st, int64_t id, int64_t now, bool *finished);

#endif
