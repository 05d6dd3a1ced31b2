/* REALITY target pool and rotation (docs/hub.md "REALITY targets"): vetted candidates per node or
 * region (/api/v1/targets, fed by `veil scan --json`), what each node reports of its target in
 * its pushes, and the rule that moves a node to the next vetted target when its own goes bad
 * ("targets" in hub.json). The node learns its assignment from the "reality" object of its pull
 * answer (ctl/sync.h) and hot-swaps; the names it served before stay accepted for a grace period
 * so customers who have not refreshed their subscription still connect. */
#ifndef VEIL_HUB_TARGETS_H
#define VEIL_HUB_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctl/sync.h"

struct store;

#define TARGETS_GRACE_MAX (SYNC_NAMES_MAX - 1) /* old names kept besides the current one */

/* The rule ("targets" section). */
struct targets_cfg {
    uint32_t rotate_failures; /* target failures (dials + checks) in window_sec that rotate; 0 = off */
    uint32_t window_sec;
    bool rotate_on_verdict; /* a verdict other than suitable/unknown rotates */
    uint32_t grace_sec;     /* old SNI accepted this long after a rotation */
    uint32_t check_sec;     /* how often the rule is evaluated */
    uint32_t cooldown_sec;  /* no automatic rotation of a node sooner than this after the last */
};
void targets_cfg_defaults(struct targets_cfg *c);

/* ---- pure rules (targets_rule.c) ---- */

enum targets_reason {
    TARGETS_R_NONE = 0,
    TARGETS_R_FAILURES, /* rotate_failures reached in the window */
    TARGETS_R_VERDICT,  /* the node's check says the target does not suit */
    TARGETS_R_MANUAL,   /* an operator asked */
    TARGETS_R__COUNT,   /* sentinel */
};
const char *targets_reason_str(enum targets_reason r);

/* Whether a node's target must be rotated now. */
enum targets_reason targets_decide(const struct targets_cfg *c, uint64_t failures, const char *verdict, bool pinned,
                                   int64_t now, int64_t rotated_at);

/* Names in grace: "name@until,name@until" (until = Unix seconds). */
struct targets_grace {
    size_t n;
    char names[TARGETS_GRACE_MAX][SYNC_SNI_MAX + 1];
    int64_t until[TARGETS_GRACE_MAX];
};
/* Parses the stored form; malformed entries are dropped (the column is ours). */
void targets_grace_parse(const char *s, struct targets_grace *g);
/* Formats it into out (cap >= 8 * 270). ERR_RANGE when it does not fit. */
int targets_grace_format(const struct targets_grace *g, char *out, size_t cap);
/* Adds name until `until` (refreshing an existing entry; the oldest entry goes when full). */
void targets_grace_add(struct targets_grace *g, const char *name, int64_t until);
/* Drops entries whose time is over and the name `current`; true when something was dropped. */
bool targets_grace_prune(struct targets_grace *g, const char *current, int64_t now);

/* "host:port", "[v6]:port". */
void targets_hostport(const char *host, int64_t port, char *out, size_t cap);

/* ---- with the store (targets_store.c) ---- */

/* A node's pull: its assignment with the names in grace (rev 0: none). */
int targets_reality_for_node(struct store *st, int64_t node_id, int64_t now, struct sync_reality *out);
/* A node's push: what it saw of its target (the first inbound's). Reports about a target other
 * than the one assigned (the node has not applied a rotation yet) are not counted. */
int targets_record_health(struct store *st, int64_t node_id, const struct sync_health *h, int64_t now);

/* Counters for /metrics (thread-safe). */
struct targets_stats {
    uint64_t rotations[TARGETS_R__COUNT]; /* by reason */
    uint64_t no_candidate;                /* rotations wanted with no vetted target left */
};
void targets_stats_get(struct targets_stats *out);

#endif
