/* Admin API routes for per-user usage and node health (docs/node-config.md, "Admin API"),
 * served on veil.adminListen next to the user routes of node/admin_api.h (same bearer token):
 *
 *   GET  /api/v1/usage               -> 200 {"online", "users": [USAGE...]} every user known to
 *                                       the config or the counters (zeros included)
 *   POST /api/v1/usage/reset         -> 200 same body: the values read, each user's "since
 *                                       reset" counters zeroed in the same critical section
 *   GET  /api/v1/usage/<who>         -> 200 {"user": USAGE} | 404   (who = email, id or UUID)
 *   POST /api/v1/usage/<who>/reset   -> 200 {"user": USAGE} (values before the reset) | 404
 *   GET  /api/v1/health              -> 200 {"status", "version", "uptime_sec", "connections",
 *                                       "users", "users_online", "workers", "hub": {...}}
 *
 *   USAGE = {"id", "email"?, "hub_id"?, "uplink", "downlink", "total_uplink", "total_downlink",
 *            "connections"}: uplink/downlink since the last reset, totals since the node
 *            started (never reset), connections = open tunnels now.
 *
 * Everything else goes to node_admin_api_handle. */
#ifndef VEIL_NODE_USAGE_API_H
#define VEIL_NODE_USAGE_API_H

#include "node/admin_api.h"
#include "node/http.h"

struct node_hubsync;
struct node_runtime;
struct node_usage_api;

/* Borrowed: rt (its usage table and snapshot), api (token, other routes), hub (NULL = hub sync
 * off); all must outlive the returned object. NULL on OOM. */
struct node_usage_api *node_usage_api_new(struct node_runtime *rt, struct node_admin_api *api,
                                          struct node_hubsync *hub);
void node_usage_api_free(struct node_usage_api *u);

/* A node_http_handler; arg is the node_usage_api. Runs on the admin thread. */
void node_usage_api_handle(void *arg, const struct node_http_req *req, struct node_http_resp *resp);

#endif
