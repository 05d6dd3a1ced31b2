/* Runtime user changes kept apart from the config file: users added and users removed through
 * the local admin API (later also hub sync), persisted as JSON under veil.stateDir and applied
 * to the file's JSON before it is loaded. A SIGHUP reload therefore keeps them, and the normal
 * config loader validates the result (ids, flows, duplicates) with its usual messages.
 *
 * Overlay file (stateDir/users.json):
 *   {"add": [{"inbound": "vless-reality", "id": "...", "email": "a@b", "flow": "xtls-rprx-vision"}],
 *    "remove": ["bob@example", "b831381d-6324-4d53-ad4f-8cda48b30811"]}
 * "inbound" is an inbound tag (absent: the first inbound). A removal names a user by email
 * (case-insensitive), configured id, or UUID (bytes 6-7 ignored); it drops matching users of
 * the file. Adding a user cancels an earlier removal that matches it. */
#ifndef VEIL_NODECFG_OVERLAY_H
#define VEIL_NODECFG_OVERLAY_H

#include <stddef.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "ctl/sync.h"
#include "nodecfg/config.h"

struct node_overlay_user {
    char *inbound; /* tag; NULL = the first inbound (hub users: every inbound) */
    char *id;      /* as given (UUID text or 1-30-byte string) */
    char *email;   /* NULL when absent */
    enum node_flow flow;
    uint64_t hub_id; /* hub users only: the hub's id for usage reports; 0 otherwise */
    /* hub users only: limits, written as the client's "veil" object; 0 = unlimited */
    uint32_t device_limit, max_conns;
    uint64_t speed_limit;
};

struct node_overlay {
    struct node_overlay_user *add;
    size_t n_add;
    char **remove;
    size_t n_remove;
};

void node_overlay_init(struct node_overlay *o);
void node_overlay_dispose(struct node_overlay *o);

/* Parses an overlay document (replacing o's contents). Errors go to c (paths like add[2].id).
 * 0 or ERR_CONFIG. */
int node_overlay_parse(struct node_overlay *o, const char *json, size_t len, struct cfg_ctx *c);
/* Appends the document. ERR_NOMEM. */
int node_overlay_write(const struct node_overlay *o, struct buf *out);
/* File I/O: a missing file is an empty overlay. Saving writes a temporary file, fsyncs it and
 * renames it over the old one (mode 0600). 0, ERR_CONFIG (errors in c) or -errno. */
int node_overlay_load_file(struct node_overlay *o, const char *path, struct cfg_ctx *c);
int node_overlay_save_file(const struct node_overlay *o, const char *path);

/* Loads the config text `base` with the overlay applied (see above). Messages go to c; NULL
 * on errors, exactly like node_cfg_load. */
struct node_cfg *node_overlay_load_cfg(const char *base, size_t len, const struct node_overlay *o, struct cfg_ctx *c);

/* The same with a layer of hub-managed users (node/hubsync.h) between the file and the local
 * overlay: effective = (file users + hub users into every inbound) - removals + additions.
 * A hub user whose id or email is already in an inbound is skipped there (the file wins), so a
 * hub table can never make the config invalid. hub_id of each resulting user is set. */
struct node_cfg *node_overlay_load_cfg_hub(const char *base, size_t len, const struct node_overlay *o,
                                           const struct node_overlay_user *hub, size_t n_hub, struct cfg_ctx *c);

/* The same, and then the hub's REALITY target assignment (ctl/sync.h struct sync_reality; NULL
 * or rev 0 = none): every REALITY inbound's target and serverNames are replaced (its "dest"
 * alias dropped), so the config loader validates them like the file's own. */
struct node_cfg *node_overlay_load_cfg_full(const char *base, size_t len, const struct node_overlay *o,
                                            const struct node_overlay_user *hub, size_t n_hub,
                                            const struct sync_reality *reality, struct cfg_ctx *c);

/* Adds a user (copied). Cancels matching removals. ERR_NOMEM. The caller checks conflicts by
 * loading the result. */
int node_overlay_add(struct node_overlay *o, const struct node_overlay_user *u);
/* Removes a user by email, id or UUID: drops matching additions and records a removal (so a
 * matching file user goes too). Returns the number of additions dropped, or ERR_NOMEM. */
int node_overlay_remove(struct node_overlay *o, const char *who);

/* Does `who` (email, id text or UUID) name this user? */
bool node_overlay_matches(const char *who, const char *id, const char *email);

#endif
