/* The node's persisted state under veil.stateDir, applied on top of the config file wherever
 * the config is loaded (veil-node start and --check, SIGHUP, `veil link`):
 *   users.json      users added/removed through the admin API (nodecfg/overlay.h)
 *   hub-users.json  the hub's last user table (node/hubsync.h; only with veil.hub)
 * so every load sees the same effective users. */
#ifndef VEIL_NODECFG_STATE_H
#define VEIL_NODECFG_STATE_H

#include <stddef.h>

#include "core/cfg.h"
#include "nodecfg/config.h"
#include "nodecfg/overlay.h"

/* stateDir/<name> into out. ERR_NOT_FOUND without a stateDir, ERR_TOO_LONG. */
int node_state_file(const struct node_cfg *cfg, const char *name, char *out, size_t cap);

/* The hub users persisted in stateDir/hub-users.json (none without veil.hub or the file; an
 * unreadable file is logged and ignored: the hub sends its full table again). ERR_NOMEM. */
int node_state_hub_users(const struct node_cfg *cfg, struct node_overlay_user **users, size_t *n);

/* The hub's REALITY target assignment persisted with the hub users (rev 0: none). */
void node_state_hub_reality(const struct node_cfg *cfg, struct sync_reality *out);

/* Loads config text with its state applied. `o` (may be NULL) receives the admin overlay that
 * was read. Messages (the file's, each once, and the state files') go to c; NULL on errors. */
struct node_cfg *node_state_load_cfg(const char *text, size_t len, struct node_overlay *o, struct cfg_ctx *c);

#endif
