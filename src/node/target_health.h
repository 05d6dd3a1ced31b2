/* REALITY target health on the node (docs/node-config.md "Target health"): what client
 * connections see of each inbound's target (dials, the dial-to-ServerHello time of authenticated
 * clients, the flight's record layout), plus a periodic active check (reality/check.h) that
 * sees what the mirror path cannot: the certificate TLS 1.3 encrypts, TLS 1.3 and group support
 * for a fresh Chrome hello, and a verdict. Reported on /metrics and in every hub push.
 *
 * Workers call the note_* functions (relaxed atomics on a fixed table indexed by inbound); one
 * checker thread runs the checks; the hub sync thread and the metrics scrape read. */
#ifndef VEIL_NODE_TARGET_HEALTH_H
#define VEIL_NODE_TARGET_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/metrics.h"
#include "ctl/sync.h"
#include "reality/target.h"

#define NODE_TARGET_SLOTS SYNC_TARGETS_MAX /* inbounds beyond this are not tracked */

struct node_runtime;
struct node_target_checker;

/* Workers: a client connection's target dial finished. */
void node_target_note_dial(size_t inbound, bool ok);
/* Workers: an authenticated client's target flight was learned (READY: plan set) or refused
 * (plan NULL); rtt_ms from the dial's start to the flight. */
void node_target_note_flight(size_t inbound, uint64_t rtt_ms, const struct reality_target_plan *plan);

/* Starts the checker thread: every interval_sec, each inbound's target (of the snapshot
 * running then) is checked with its first serverName. interval_sec 0: no thread (*out NULL),
 * the passive figures still count. 0 or ERR_NOMEM. */
int node_target_checker_start(struct node_runtime *rt, unsigned interval_sec, struct node_target_checker **out);
void node_target_checker_stop(struct node_target_checker *c);

/* Hub push: the targets' figures since the previous call (counters as deltas). */
void node_target_health_fill(struct node_runtime *rt, struct sync_health *h);

/* /metrics families (veil_node_target_*). 0 or ERR_NOMEM. */
int node_target_metrics_register(struct metrics_registry *reg, struct node_runtime *rt);

#endif
