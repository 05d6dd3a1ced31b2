/* The node's loopback endpoints, on their own thread and loop so that a slow scrape never
 * touches a worker: GET /metrics on veil.metricsListen (Prometheus text from a registry), and
 * the local admin API on veil.adminListen (routes supplied by the daemon as an HTTP handler).
 *
 * The admin handler runs on the admin thread: it must only touch state that is safe to use from
 * there (e.g. build a new snapshot and post it to the workers). */
#ifndef VEIL_NODE_ADMIN_H
#define VEIL_NODE_ADMIN_H

#include "core/metrics.h"
#include "net/sock.h"
#include "node/http.h"

struct node_admin;

struct node_admin_opts {
    const char *metrics_listen;        /* "ip:port" (veil.metricsListen); NULL = off */
    const char *admin_listen;          /* "ip:port" (veil.adminListen); NULL = off */
    struct metrics_registry *registry; /* borrowed, rendered on GET /metrics (NULL: empty page);
                                          must outlive the admin */
    node_http_handler *admin_handler;  /* NULL: every admin request gets 404 */
    void *admin_arg;
};

/* Binds the listeners (errors are returned here, not later), then serves from a new thread.
 * 0 with *out set (NULL when both endpoints are off), ERR_MALFORMED (bad address), -errno from
 * bind (e.g. -EADDRINUSE), ERR_NOMEM. */
int node_admin_start(const struct node_admin_opts *o, struct node_admin **out);
/* Stops the thread, closes everything. NULL is a no-op. */
void node_admin_stop(struct node_admin *a);
/* Bound addresses (tests: port 0 picks one). ERR_NOT_FOUND when that endpoint is off. */
int node_admin_metrics_addr(const struct node_admin *a, struct sock_addr *out);
int node_admin_api_addr(const struct node_admin *a, struct sock_addr *out);

#endif
