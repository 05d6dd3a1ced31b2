/* Load-aware placement: which of the served nodes a customer's subscription lists, and in which
 * order (issue 15 item 5). Pure: no I/O, no clock, no RNG.
 *
 * - Sticky, weighted: nodes are ranked by weighted rendezvous hashing of (user id, node id), so
 *   a customer sees the same order on every refresh and on every hub, customers spread over the
 *   nodes in proportion to their weights, and adding or removing a node moves only the
 *   customers whose first node it is or becomes.
 * - Hot nodes (load at or above a configured threshold) go to the end of every list, so they
 *   attract no new first placements but stay as a fallback (and are a customer's only entry
 *   when they are the only node the customer may use). Hysteresis: a hot node turns cool only
 *   once its load is below lower thresholds, so a node hovering at the limit does not flap.
 * - Country preference: among the cool (and among the hot) nodes, those in the customer's
 *   preferred country (the user's own, else their plan's) come first.
 * - Plans may restrict node groups: a plan's node_groups lists the groups it may use; an
 *   empty list allows every node. */
#ifndef VEIL_HUB_DOMAIN_PLACEMENT_H
#define VEIL_HUB_DOMAIN_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/domain/model.h"

/* Thresholds that make a node hot; 0 turns a criterion off. */
struct hub_place_cfg {
    int64_t hot_cpu_percent; /* node CPU use, percent of all its cores (0..100) */
    int64_t hot_connections; /* open client connections */
    /* A hot node turns cool below these (hysteresis). 0: HUB_COOL_DEFAULT_PCT % of the hot
     * threshold; a value at or above the hot threshold means no hysteresis. */
    int64_t cool_cpu_percent;
    int64_t cool_connections;
};

#define HUB_HOT_CPU_DEFAULT 85
#define HUB_COOL_DEFAULT_PCT 80

/* Group names: 1..32 of [a-z0-9_-]. */
bool hub_group_valid(const char *s);
/* A plan's node_groups: "" or group names joined by ',' (no spaces, no empties, no repeats),
 * at most HUB_NODE_GROUPS_MAX bytes. */
bool hub_node_groups_valid(const char *s);
/* Whether a plan with these node_groups may use a node of this group ("" allows all). */
bool hub_plan_allows_group(const char *plan_groups, const char *node_group);

/* Whether the node's last reported load is at or above a threshold. */
bool hub_node_hot(const struct hub_node *n, const struct hub_place_cfg *cfg);

/* The hot mark after a push that reported n's load, given the mark before (was_hot): hot at or
 * above a hot threshold; a hot node stays hot until every enabled criterion is below its cool
 * threshold. cfg NULL: false. */
bool hub_node_hot_next(bool was_hot, const struct hub_node *n, const struct hub_place_cfg *cfg);

/* The rendezvous score of a node for a user: larger ranks first. 0 for weight <= 0. Stable
 * across processes and hosts (a fixed 64-bit hash, no seed). */
double hub_place_score(int64_t user_id, int64_t node_id, int64_t weight);

/* Orders nodes[0..n) in place for a user: nodes the plan's groups do not allow are dropped,
 * then cool nodes by descending score, then hot nodes by descending score (ties by id). A node
 * is hot when its stored mark (n->hot, kept with hysteresis by the push handler) or its load
 * says so. Returns how many nodes remain at the front. plan_groups NULL or "" allows every node. */
size_t hub_place_order(int64_t user_id, const char *plan_groups, const struct hub_place_cfg *cfg,
                       struct hub_node *nodes, size_t n);

/* The same with a preferred country (ISO code; NULL or "" none): within the cool nodes, and
 * within the hot ones, nodes of that country come first. */
size_t hub_place_order_pref(int64_t user_id, const char *plan_groups, const char *country,
                            const struct hub_place_cfg *cfg, struct hub_node *nodes, size_t n);

#endif
