/* Whether a node may be handed to customers now: the one liveness rule behind every /sub answer
 * (hub/api/api_subpage.c), the cache lifetime of those answers, and the stored health the
 * scheduler keeps for metrics and alerts. Pure: the caller passes `now` (UTC unix seconds). */
#ifndef VEIL_HUB_DOMAIN_NODE_HEALTH_H
#define VEIL_HUB_DOMAIN_NODE_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/domain/model.h"

#define HUB_NODE_DEAD_AFTER_DEFAULT 30 /* seconds without a push before a node leaves /sub */

/* Why a node is (not) served, in the order checked. */
enum hub_node_verdict {
    HUB_NODE_SERVED = 0,
    HUB_NODE_EXCLUDED, /* weight 0 or draining: the operator took it out */
    HUB_NODE_DOWN,     /* stored health is down (admin, or the probe / scheduler said so) */
    HUB_NODE_UNSEEN,   /* never checked in (last_seen 0): registered but not started */
    HUB_NODE_STALE,    /* no push for dead_after seconds or more */
    HUB_NODE_SILENT,   /* alive, but no client handshakes while others have them (client_silence.h) */
    HUB_NODE__COUNT,   /* sentinel */
};

/* The verdict for a node at `now`. dead_after <= 0 turns the liveness rule off (UNSEEN and STALE
 * are never returned): only weight, draining and stored health count. A last_seen in the future
 * (clock skew between hubs) counts as fresh. */
enum hub_node_verdict hub_node_verdict(const struct hub_node *n, int64_t now, int64_t dead_after);

/* hub_node_verdict(...) == HUB_NODE_SERVED. */
bool hub_node_servable(const struct hub_node *n, int64_t now, int64_t dead_after);

/* Seconds a served node stays served without another push: last_seen + dead_after - now (>= 1),
 * INT64_MAX when the liveness rule is off, 0 when the node is not served now. Bounds how long a
 * rendered answer that lists the node may be cached. */
int64_t hub_node_fresh_for(const struct hub_node *n, int64_t now, int64_t dead_after);

/* Stable lower-case name of a verdict ("served", "unseen", ...). */
const char *hub_node_verdict_name(enum hub_node_verdict v);

/* Active probe (hub/probe): the hub sends a TLS ClientHello to the node's public address. A
 * REALITY node answers it like its target would, so any TLS record back means "reachable".
 * Whether the first n bytes of the answer start like a TLS server's: a handshake (22) or alert
 * (21) record, version 3.1..3.4, length 1..2^14 + 256. n < 5 is false. */
bool hub_probe_answer_is_tls(const uint8_t *b, size_t n);

/* One node's probe results. A node is down after `threshold` failures in a row and up again at
 * the first success. */
struct hub_probe {
    int fails; /* consecutive failures */
    bool down;
};
/* Records one result; true when p->down changed. threshold < 1 counts as 1. */
bool hub_probe_record(struct hub_probe *p, bool ok, int threshold);

#endif
