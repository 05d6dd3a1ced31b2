/* Sync with veil-hub (docs/sync-protocol.md): a thread that pulls "users since revision N"
 * (GET /api/v1/node/users), keeps the hub's user table (persisted in stateDir/hub-users.json so
 * a restart serves the last known users even when the hub is down), installs it through a
 * callback, and pushes usage and health (POST /api/v1/node/usage) with an idempotent push_id
 * that is reused on retry until the hub accepts the batch.
 *
 * Per-user usage: the data plane reports bytes with node_hubsync_add_usage(hub_id, up, down)
 * (thread-safe); node_user.hub_id carries the hub's id for users that came from the hub. */
#ifndef VEIL_NODE_HUBSYNC_H
#define VEIL_NODE_HUBSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "ctl/sync.h"
#include "nodecfg/hubusers.h"
#include "nodecfg/overlay.h"

struct node_hubsync;

/* Installs the hub's users (id = uuid text, hub_id set, inbound NULL = every inbound). 0, or an
 * error with a message (the revision is then not advanced and the pull is retried). */
typedef int node_hubsync_apply_cb(void *arg, const struct node_overlay_user *users, size_t n, char *err, size_t errlen);
/* Fills connections and uptime for the health report (revision and version are set by us). */
typedef void node_hubsync_health_cb(void *arg, struct sync_health *h);

struct node_hubsync_opts {
    const char *url;        /* base URL, e.g. "https://hub.example.com" */
    const char *token;      /* bearer token */
    const char *ca_file;    /* NULL = system CA store */
    uint32_t poll_ms;       /* pull interval (jittered +0..20%) */
    uint32_t push_ms;       /* usage/health push interval */
    const char *state_path; /* NULL = not persisted */
    node_hubsync_apply_cb *apply;
    node_hubsync_health_cb *health; /* may be NULL */
    void *arg;
    uint32_t save_ms;      /* unpushed usage is written next to state_path this often when it grew (0 = 5000) */
    const char *pin;       /* the hub's key pins (httpc_req.pin); NULL = none */
    const char *cert_file; /* client certificate and key for mutual TLS; NULL = none */
    const char *key_file;
    /* The hub's REALITY target assignment changed (struct sync_reality; rev 0: none). May be NULL. */
    int (*apply_reality)(void *arg, const struct sync_reality *r, char *err, size_t errlen);
    /* The hub asks for a target scan (ctl/sync_scan.h); called once per request id, on the sync
     * thread: queue it and return. May be NULL. */
    void (*scan)(void *arg, const struct sync_scan *req);
};

/* Applies a pulled response to a table: full replaces it; a delta updates users by id, drops
 * `removed` ids and any older entry that had the same uuid. ERR_NOMEM. */
int node_hubsync_merge(struct sync_users_resp *table, const struct sync_users_resp *resp);

/* Starts the thread (first pull at once). The table persisted at state_path is the starting
 * point (its revision is sent as `since`). 0 or ERR_NOMEM. */
int node_hubsync_start(const struct node_hubsync_opts *o, struct node_hubsync **out);
/* Stops and joins: an in-flight request is aborted, then usage not yet pushed is sent in one
 * last push (at most 5 s). NULL is a no-op. */
void node_hubsync_stop(struct node_hubsync *s);
/* Adds per-user bytes for the next push (any thread). hub_id 0 is ignored. */
void node_hubsync_add_usage(struct node_hubsync *s, uint64_t hub_id, uint64_t up, uint64_t down);
/* Adds BitTorrent attempts of a user for the next push (the entry's "bt", docs/sync-protocol.md). */
void node_hubsync_add_bittorrent(struct node_hubsync *s, uint64_t hub_id, uint64_t n);
/* Adds refused port-25 flows of a hub user (node/port_guard.h). */
void node_hubsync_add_smtp(struct node_hubsync *s, uint64_t hub_id, uint64_t n);
/* POSTs a JSON body to the hub at path ("/api/v1/node/scan") with the sync's credentials and
 * TLS settings (any thread; blocking). 0, ERR_IO (transport or a status other than 2xx). */
int node_hubsync_post(struct node_hubsync *s, const char *path, const struct buf *body);
/* The revision the node runs (tests, health). */
uint64_t node_hubsync_revision(struct node_hubsync *s);
/* Successful pulls and accepted pushes so far (tests, metrics). */
uint64_t node_hubsync_pulls(struct node_hubsync *s);
uint64_t node_hubsync_pushes(struct node_hubsync *s);

/* Sync state for the health endpoint and metrics. Times are unix ms, 0 = never. */
struct node_hubsync_status {
    uint64_t revision, pulls, pushes;
    int64_t last_pull_ms, last_pull_ok_ms, last_push_ms, last_push_ok_ms;
    int last_pull_rc, last_push_rc; /* result of the last attempt: 0 or an ERR_* code */
};
/* NULL gives all zeros. Any thread. */
void node_hubsync_status(struct node_hubsync *s, struct node_hubsync_status *out);

#endif
