/* Private to src/hub/fleet: the running settings, the store operations behind the jobs and
 * routes, and the jobs themselves. */
#ifndef VEIL_HUB_FLEET_INT_H
#define VEIL_HUB_FLEET_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "hub/domain/client_silence.h"
#include "hub/fleet/fleet.h"

struct store;
struct store_audit;

/* BitTorrent holds (fleet.bittorrent_disable_after / bittorrent_window / bittorrent_disable_sec):
 * after disable_after attempts within disable_window seconds a user is disabled for disable_sec;
 * disable_after 0 turns it off (the default). */
struct fleet_bt_cfg {
    int64_t disable_after, disable_window, disable_sec;
};

/* What the jobs run with (fleet_module.c). */
struct fleet_cfg {
    struct hub_silence_cfg silence;
    int64_t dead_after; /* fleet.dead_after: which nodes are alive enough to be judged */
    struct fleet_bt_cfg bt;
};
void fleet__cfg_get(struct fleet_cfg *out);

/* ---- store (fleet_store.c) ---- */

/* Sets or clears a node's silent mark with its audit row, in one transaction. mark: silent_since
 * = now (only when not silent yet); else 0, and with fresh_window handshake_at = now. *changed
 * tells whether the row changed (another hub may have been first). */
int fleet__silence_set(struct store *st, int64_t node_id, bool mark, bool fresh_window, const char *reason,
                       const char *details, int64_t now, bool *changed);

/* users.country / plans.country ("" clears). ERR_NOT_FOUND for a missing row. */
int fleet__country_set(struct store *st, const char *table, int64_t id, const char *country,
                       const struct store_audit *audit, int64_t now);
int fleet__country_get(struct store *st, const char *table, int64_t id, char out[3]);

/* A hold of a user (user_holds). */
struct fleet_hold {
    int64_t user_id, attempts, since, until, released_at;
    char reason[24];
};
/* The user's hold row (ERR_NOT_FOUND: none ever). */
int fleet__hold_get(struct store *st, int64_t user_id, struct fleet_hold *out);
/* Disables an enabled user until `until` (one transaction: users.enabled 0 with a new sync
 * revision, the hold row, audit user.hold). *held false when the user was disabled already (by
 * an operator: never ours to re-enable) or is held. */
int fleet__hold_start(struct store *st, int64_t user_id, const char *reason, int64_t attempts, int64_t until,
                      int64_t now, bool *held);
/* Re-enables the users whose hold is over (audit user.hold_end); *n how many. An operator who
 * changed the user meanwhile (enabled it, or disabled it again after enabling) is respected:
 * only a user still disabled by the hold is enabled. */
int fleet__holds_release(struct store *st, int64_t now, int *n);

/* ---- jobs ---- */
int fleet__silence_pass(struct store *st, const struct fleet_cfg *cfg, int64_t now, bool *changed);
int fleet__bt_pass(struct store *st, const struct fleet_bt_cfg *cfg, int64_t now, bool *changed);

/* ---- node-run target scans (fleet_scan.c) ---- */
int fleet__scan_add(struct store *st, int64_t node_id, const struct sync_scan *req, const struct store_audit *audit,
                    int64_t now, int64_t *id);
/* The node's results for scan res->id (text: the body as posted, kept with the request); the
 * rows with an SNI go into the pool as the node's own candidates. ERR_NOT_FOUND: no open scan
 * with that id for this node. */
int fleet__scan_results(struct store *st, int64_t node_id, const struct sync_scan_result *res, const char *text,
                        int64_t now, int *pooled);
void fleet__scan_routes(void);

/* ---- routes (fleet_api.c) ---- */
void fleet__routes(void);

#endif
