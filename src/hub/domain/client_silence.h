/* "Unreachable from clients" (issue 15 item 4): a node that answers the hub (it checks in, its
 * port answers the probe) but at which no customer completes a handshake any more, while other
 * nodes still get theirs, is most likely blocked on the customers' side (its address or SNI
 * filtered on their networks). Such a node leaves every /sub answer until handshakes resume.
 * Nodes report the client handshakes they completed since their previous push
 * (health.handshakes, docs/sync-protocol.md); the hub keeps the time of the last push that had
 * any (hub_node.handshake_at) and since when a node is "silent" (hub_node.silent_since).
 * Pure: the caller passes the nodes and `now` (UTC unix seconds). */
#ifndef VEIL_HUB_DOMAIN_CLIENT_SILENCE_H
#define VEIL_HUB_DOMAIN_CLIENT_SILENCE_H

#include <stddef.h>
#include <stdint.h>

#include "hub/domain/model.h"

#define HUB_SILENCE_DEFAULT_SEC 600 /* fleet.client_silence: seconds without handshakes */
#define HUB_SILENCE_RETRY_SEC 3600  /* fleet.client_retry: a silent node is tried again after this */
#define HUB_SILENCE_CHECK_SEC 10    /* fleet.client_check: seconds between passes of the rule */

struct hub_silence_cfg {
    int64_t silence; /* seconds without a handshake that make a node silent; 0: the rule is off */
    int64_t retry;   /* a silent node is served again after this long (then judged anew); 0: never */
};

/* What to do with one node. */
enum hub_silence_action {
    HUB_SILENCE_KEEP = 0,
    HUB_SILENCE_MARK,        /* no handshake for `silence` s while another node had some: out of /sub */
    HUB_SILENCE_CLEAR_FLEET, /* silent, but no other node has handshakes either: not this node's fault */
    HUB_SILENCE_CLEAR_OFF,   /* silent, but the rule was turned off */
    HUB_SILENCE_RETRY,       /* silent for `retry` s: served again, with a fresh window */
    HUB_SILENCE__COUNT,      /* sentinel */
};

/* The decision for nodes[i] among the nodes that are otherwise served (alive, enabled, not
 * draining; silent ones included). A node that never reported a handshake (handshake_at 0:
 * new, or a node too old to report them) is never marked, and neither is one whose last
 * handshake is in the future (clock skew). Handshakes resuming clear the mark elsewhere (the
 * push handler), at once. */
enum hub_silence_action hub_silence_decide(const struct hub_node *nodes, size_t n, size_t i, int64_t now,
                                           const struct hub_silence_cfg *cfg);

/* Stable lower-case name ("mark", "fleet_silent", ...). */
const char *hub_silence_action_name(enum hub_silence_action a);

#endif
