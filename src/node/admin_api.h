/* The node's local admin API (veil.adminListen): add and remove users without a restart.
 *
 *   GET    /api/v1/users          -> 200 {"users": [{"inbound", "id", "email", "flow"}...]}
 *   POST   /api/v1/users          <- {"id", "email"?, "flow"?, "inbound"?}
 *                                 -> 201 {"user": {...}} | 400 {"error", "messages"} | 409 (exists)
 *   DELETE /api/v1/users/<who>    -> 204 | 404 (who = email, id or UUID, percent-encoded)
 *   GET    /api/v1/status         -> 200 {"version", "users", "inbounds"}
 *   GET    /healthz               -> 200 "ok"
 *
 * With veil.adminToken set, every request needs "Authorization: Bearer <token>" (401 otherwise,
 * compared in constant time). Changes go into the overlay (nodecfg/overlay.h), are saved to
 * stateDir/users.json when a stateDir is configured, and take effect through the `apply`
 * callback with the new effective config, before the response is sent. */
#ifndef VEIL_NODE_ADMIN_API_H
#define VEIL_NODE_ADMIN_API_H

#include <stdbool.h>
#include <stddef.h>

#include "nodecfg/config.h"
#include "node/http.h"
#include "nodecfg/overlay.h"

struct node_admin_api;

/* Installs a new effective config (e.g. node_snapshot_new + node_runtime_reload). Called on the
 * admin thread with a config the callee may keep with node_cfg_ref(). 0, or an error with a
 * message in err (the change is then rolled back). */
typedef int node_admin_apply_cb(void *arg, struct node_cfg *cfg, char *err, size_t errlen);

/* `base`: the config file text (copied) and its name for messages. `overlay`: the starting
 * overlay (moved in; it is emptied). state_path: where to persist it (NULL = memory only).
 * token: NULL or "" = no authentication. NULL on OOM. */
struct node_admin_api *node_admin_api_new(const char *base, size_t len, const char *name, struct node_overlay *overlay,
                                          const char *state_path, const char *token, node_admin_apply_cb *apply,
                                          void *arg);
void node_admin_api_free(struct node_admin_api *api);

/* A node_http_handler; arg is the api. Thread-safe against the functions below. */
void node_admin_api_handle(void *arg, const struct node_http_req *req, struct node_http_resp *resp);

/* Whether the request carries the admin token (always true without one), for routes served
 * next to these (node/usage_api.h). Constant-time comparison. */
bool node_admin_api_authorized(struct node_admin_api *api, const struct node_http_req *req);

/* The effective config for a new file text, without keeping it (the caller checks it, e.g.
 * that listeners did not change, before node_admin_api_rebase). NULL with messages in c. */
struct node_cfg *node_admin_api_preview(struct node_admin_api *api, const char *base, size_t len, struct cfg_ctx *c);

/* SIGHUP: replaces the file text and returns the effective config (base + overlay) for the
 * caller to install, or NULL with messages in c (the old text is kept). */
struct node_cfg *node_admin_api_rebase(struct node_admin_api *api, const char *base, size_t len, struct cfg_ctx *c);

/* SIGHUP, race-free: computes the effective config for a new file text and installs it through
 * `apply` while holding the API's lock; the text is kept only when both succeed. 0, ERR_CONFIG
 * (messages in c) or the apply error (message in err). */
/* SIGHUP: a new bearer token (NULL or "" = none) for requests from now on. 0 or ERR_NOMEM. */
int node_admin_api_set_token(struct node_admin_api *api, const char *token);

int node_admin_api_rebase_apply(struct node_admin_api *api, const char *base, size_t len, struct cfg_ctx *c, char *err,
                                size_t errlen);

/* Replaces the hub's REALITY target assignment (rev 0: back to the file's target) and installs
 * the resulting config: new connections use the new target, open ones keep theirs. On failure
 * the previous assignment stays. 0, ERR_CONFIG / the apply error (message in err). */
int node_admin_api_set_hub_reality(struct node_admin_api *api, const struct sync_reality *r, char *err, size_t errlen);

/* Replaces the hub-managed users (copied) and installs the resulting config through `apply`.
 * On failure the previous hub users stay. 0, ERR_CONFIG / the apply error (message in err). */
int node_admin_api_set_hub_users(struct node_admin_api *api, const struct node_overlay_user *users, size_t n, char *err,
                                 size_t errlen);

#endif
