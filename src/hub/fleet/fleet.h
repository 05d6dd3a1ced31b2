/* Fleet intelligence on the hub (issue 15, docs/hub.md "Node liveness", "Placement",
 * "BitTorrent holds", "Node-run target scans"): the "unreachable from clients" rule as a
 * scheduler job, the country a user or plan prefers, temporary holds of users who keep using
 * BitTorrent, and target scans nodes run on request. What the sync handlers (hub/api/api_sync.c)
 * and the /sub renderer call is here; the rest is private to src/hub/fleet. */
#ifndef VEIL_HUB_FLEET_H
#define VEIL_HUB_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl/sync_scan.h"
#include "hub/domain/model.h"

struct store;

/* A push from node n reported `handshakes` client handshakes (> 0): its handshake_at becomes now
 * and, when it was silent, it is served again (audit node.clients_back, reason "handshakes").
 * *back tells whether it was silent. */
int fleet_heard(struct store *st, const struct hub_node *n, int64_t now, bool *back);

/* Node n checked in after silence, a down mark or for the first time: a node that had client
 * handshakes before gets a fresh window (handshake_at = now) so it is not judged on the time
 * it was away. */
int fleet_node_returned(struct store *st, const struct hub_node *n, int64_t now);

/* The country a user's subscription prefers: the user's own, else their plan's (plan_id 0: no
 * plan); "" for none. */
int fleet_country_for(struct store *st, int64_t user_id, int64_t plan_id, char out[3]);

/* The oldest unfinished target scan asked of the node, for its pull answer (id 0: none); marked
 * sent the first time. The node ignores a request it has started already. */
int fleet_scan_for_node(struct store *st, int64_t node_id, int64_t now, struct sync_scan *out);

#endif
