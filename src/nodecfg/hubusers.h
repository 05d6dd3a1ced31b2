/* The hub's user table (docs/sync-protocol.md) as persisted in stateDir/hub-users.json, read
 * back and converted for the config loader (nodecfg/state.h). node/hubsync.h keeps it fresh. */
#ifndef VEIL_NODECFG_HUBUSERS_H
#define VEIL_NODECFG_HUBUSERS_H

#include <stddef.h>

#include "ctl/sync.h"
#include "nodecfg/overlay.h"

/* Converts a hub table to users for node_overlay_load_cfg_hub (invalid entries are skipped).
 * *out is malloc'd (free with node_hubsync_users_free). ERR_NOMEM. */
int node_hubsync_users(const struct sync_users_resp *table, struct node_overlay_user **out, size_t *n);
void node_hubsync_users_free(struct node_overlay_user *u, size_t n);

/* Reads a persisted table (a full sync_users_resp). A missing file is an empty table (0).
 * ERR_MALFORMED (message in err) or -errno. */
int node_hubsync_load_state(const char *path, struct sync_users_resp *table, struct sync_err *err);

#endif
