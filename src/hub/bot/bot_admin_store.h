/* What the admin commands need from the database beyond the store's public calls: a grant of
 * days in one transaction with its audit row, and a user looked up by UUID. */
#ifndef VEIL_HUB_BOT_ADMIN_STORE_H
#define VEIL_HUB_BOT_ADMIN_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "hub/domain/model.h"

struct store;

/* The plan gifts are granted on when a user has nothing to extend: "Gift", one day, enabled,
 * without prices (never offered for sale); created when missing. */
int bot_admin_store_gift_plan(struct store *st, int64_t now, int64_t *plan_id);

/* Adds days to the user's subscription in one transaction with an audit row ("bot.grant", actor,
 * target user:<id>): the current one (running, or expired: it runs again from now) is extended
 * with the store's own extend step; with none, or only a revoked one, a subscription of
 * gift_plan is granted for exactly days. *created says which. ERR_NOT_FOUND (user), ERR_RANGE
 * (days out of range or the end would overflow). */
int bot_admin_store_grant(struct store *st, int64_t user_id, int64_t days, int64_t gift_plan, int64_t now,
                          const char *actor, struct hub_sub *out, bool *created);

/* The id of the user with this VLESS UUID. ERR_NOT_FOUND. */
int bot_admin_store_user_by_uuid(struct store *st, const char *uuid, int64_t *user_id);

#endif
