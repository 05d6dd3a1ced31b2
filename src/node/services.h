/* The node's services around the data plane: runtime user changes (nodecfg/overlay.h, persisted
 * in veil.stateDir/users.json), hub sync (veil.hub, node/hubsync.h, persisted in
 * stateDir/hub-users.json), the local admin API (veil.adminListen, node/admin_api.h) and
 * Prometheus /metrics (veil.metricsListen, from the workers' counters).
 *
 * Daemon integration (node/daemon.c):
 *   start:   cfg = node_services_load(path, &c)  instead of node_cfg_load_file (file + overlay),
 *            start the runtime with it, then node_services_start(&rt, path, cfg, &svc)
 *   SIGHUP:  node_services_reload(svc, path)     (file + overlay -> snapshot -> runtime reload)
 *   stop:    node_services_stop(svc)             before node_runtime_stop() */
#ifndef VEIL_NODE_SERVICES_H
#define VEIL_NODE_SERVICES_H

#include "core/cfg.h"
#include "nodecfg/config.h"
#include "node/hubsync.h"
#include "node/worker.h"

struct node_services;

/* Loads the config file with the persisted overlay of its stateDir applied (if any). Messages
 * (the file's and the overlay's) go to c; NULL on errors. */
struct node_cfg *node_services_load(const char *path, struct cfg_ctx *c);

/* Starts the admin API and /metrics for a running runtime (both optional). `cfg` is the config
 * the runtime runs (from node_services_load). 0 with *out set, or an error (bind failure,
 * unreadable file); errors are also logged. */
int node_services_start(struct node_runtime *rt, const char *path, const struct node_cfg *cfg,
                        struct node_services **out);
/* SIGHUP: re-reads the file, applies the overlay, swaps the runtime's snapshot. A config with
 * errors keeps the old one (each message is logged). 0 or ERR_CONFIG / ERR_NOMEM. */
int node_services_reload(struct node_services *s, const char *path);
/* Stops the endpoints (and hub sync). NULL is a no-op. */
void node_services_stop(struct node_services *s);

/* The hub sync client (veil.hub), or NULL. The data plane does not call it directly: tunnels
 * book per-user bytes in rt->usage (node/usage.h), which forwards hub users' bytes to it. */
struct node_hubsync *node_services_hubsync(struct node_services *s);

#endif
