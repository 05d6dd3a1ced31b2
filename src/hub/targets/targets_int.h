/* Private to src/hub/targets: the per-node state, pool rows and the store operations behind the
 * API and the rotation job. */
#ifndef VEIL_HUB_TARGETS_INT_H
#define VEIL_HUB_TARGETS_INT_H

#include "hub/store/store.h"
#include "hub/targets/targets.h"

/* One row of node_targets. */
struct targets_node {
    int64_t node_id;
    bool exists;
    char target[SYNC_HOSTPORT_MAX + 1], sni[SYNC_SNI_MAX + 1]; /* assigned ("" none yet) */
    int64_t target_id, rev;
    bool pinned;
    struct targets_grace grace;
    char reported_target[SYNC_HOSTPORT_MAX + 1], reported_sni[SYNC_SNI_MAX + 1];
    char verdict[SYNC_VERDICT_MAX + 1];
    int64_t reported_at, rotated_at;
    char health[1024]; /* the last report, JSON */
};

/* One candidate of the pool. */
struct targets_pool_row {
    int64_t id;
    char host[256];
    int64_t port;
    char sni[SYNC_SNI_MAX + 1];
    char region[3];  /* ISO country code of the nodes it serves, "" any */
    int64_t node_id; /* 0: any node (of the region) */
    int64_t score;
    char state[16]; /* vetted, bad */
    char verdict[SYNC_VERDICT_MAX + 1];
    int64_t rtt_ms, created_at, updated_at;
};

int targets__node_get(struct store *st, int64_t node_id, int64_t failures_since, struct targets_node *out,
                      uint64_t *failures);
/* Moves the node to target_id (0: the next vetted one). pin: -1 keeps the pin, 0/1 sets it.
 * ERR_NOT_FOUND when the node, the target or any candidate is missing. */
int targets__rotate(struct store *st, const struct targets_cfg *cfg, int64_t node_id, int64_t target_id,
                    enum targets_reason reason, int pin, const struct store_audit *audit, int64_t now,
                    struct targets_node *out);
int targets__set_pinned(struct store *st, int64_t node_id, bool pinned);
/* The rule over every node with target state; *changed when a subscription changed. */
int targets__pass(struct store *st, const struct targets_cfg *cfg, int64_t now, bool *changed);

int targets__pool_list(struct store *st, int64_t node_id, const char *region, struct targets_pool_row **out, size_t *n);
int targets__pool_add(struct store *st, const struct targets_pool_row *rows, size_t n, const struct store_audit *audit,
                      int64_t now);
int targets__pool_delete(struct store *st, int64_t id, const struct store_audit *audit, int64_t now);

/* targets_api.c: the routes (the module's .reg). */
void targets__routes(void);

/* targets_module.c: the running rule and the log lines. */
void targets__cfg_get(struct targets_cfg *out);
void targets__log_rotation(int64_t node_id, enum targets_reason why, const struct targets_node *before,
                           const struct targets_node *after, uint64_t failures);
void targets__log_stuck(int64_t node_id, enum targets_reason why, const struct targets_node *n);

#endif
