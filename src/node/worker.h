/* veil-node's runtime: an immutable snapshot of everything derived from the config (REALITY
 * settings, user tables), and the worker threads, each with its own epoll loop, buffer pool,
 * resolver, dialer and SO_REUSEPORT listeners (STYLE.md §6: nothing mutable shared on the
 * data path). A reload builds a new snapshot and posts it to every worker; sessions keep the
 * snapshot they started with by reference. */
#ifndef VEIL_NODE_WORKER_H
#define VEIL_NODE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "net/loop.h"
#include "nodecfg/config.h"
#include "node/dial.h"
#include "node/dns.h"
#include "node/hubsync.h"
#include "node/limits.h"
#include "node/session.h"
#include "node/usage.h"
#include "reality/auth.h"
#include "reality/cert.h"
#include "tls13/tls13.h"
#include "vless/users.h"

/* What one inbound needs at run time. */
struct node_inbound_rt {
    const struct node_inbound *ib; /* borrowed from snap->cfg */
    struct reality_server_cfg *reality;
    struct vless_users *users;
};

struct node_snapshot {
    atomic_uint refs;
    struct node_cfg *cfg;
    struct node_inbound_rt *inbounds;
    size_t n_inbounds;
};

/* Builds a snapshot from a loaded config (takes a reference on cfg). ERR_CONFIG with a message
 * in err (e.g. duplicate emails), ERR_NOMEM. */
int node_snapshot_new(struct node_cfg *cfg, struct node_snapshot **out, char *err, size_t errlen);
struct node_snapshot *node_snapshot_ref(struct node_snapshot *s);
void node_snapshot_unref(struct node_snapshot *s);

/* Counters of one worker; summed over workers on read. */
struct node_worker_stats {
    _Atomic uint64_t accepted, authenticated, fallback, closed;
    _Atomic uint64_t bytes_up, bytes_down;
    _Atomic uint64_t active;
    _Atomic uint64_t close_reasons[NODE_CR__COUNT]; /* by enum node_close_reason */
};

/* Intrusive list of a worker's live sessions (closed all at once when the node stops). */
struct node_session_link {
    struct node_session_link *prev, *next;
};

struct node_listener {
    struct node_worker *w;
    size_t inbound;
    int fd;
    struct loop_io io;
};

struct node_worker {
    struct node_runtime *rt;
    struct node_session_link sessions; /* sentinel */
    unsigned index;
    pthread_t thread;
    struct loop *loop;
    struct pool *pool;
    struct node_dns *dns;
    struct node_dialer *dialer;
    struct node_snapshot *snap; /* current; swapped by reload posts */
    struct tls13_ctx tls_server;
    const struct tls13_kex_ops *groups[2];
    struct node_listener *listeners;   /* one per inbound */
    struct node_udp_registry *udp_reg; /* node/udp.c: XUDP associations by GlobalID (lazy) */
    size_t n_listeners;
    bool draining;
    /* fd exhaustion (worker.c): accept paused for a moment, one rate-limited log line */
    struct loop_timer accept_timer;
    bool accept_paused;
    struct loop_timer park_timer; /* idle tunnels give their AES-GCM contexts back (session_acct.c) */
    uint64_t fd_log_ms, fd_log_suppressed;
    uint64_t next_id;
    struct node_worker_stats stats;
};

struct node_runtime {
    struct node_snapshot *snap; /* guarded by lock; workers get their own reference */
    pthread_mutex_t lock;
    struct reality_cert cert; /* temporary certificate: once per process (spec/reality.md §8.1) */
    struct node_worker *workers;
    size_t n_workers;
    atomic_bool stopping;
    struct node_hubsync *_Atomic hubsync; /* per-user usage goes here when hub sync runs */
    struct node_limits *limits;           /* per-user and per-IP limits (node/limits.h) */
    struct node_usage *usage;             /* per-user bytes and tunnels (node/usage.h); feeds hub sync */
    int fd_reserve_at;                    /* an accepted fd at or above this means fewer than the reserve left */
};

/* Creates the runtime with `n_workers` workers (0: one per CPU) serving `snap` (a reference is
 * taken) and opens every listener (SO_REUSEPORT, one per worker and inbound). 0 or -errno /
 * ERR_*; on error nothing is left running. */
int node_runtime_start(struct node_runtime *rt, struct node_snapshot *snap, unsigned n_workers);
/* Swaps in a new snapshot for new connections (established ones keep theirs). */
void node_runtime_reload(struct node_runtime *rt, struct node_snapshot *snap);
/* Stops accepting and lets sessions finish for up to `drain_ms` (the loops keep running). */
void node_runtime_drain(struct node_runtime *rt, uint64_t drain_ms);
/* Drains (as above), then stops the loops, joins the threads and frees everything. */
void node_runtime_stop(struct node_runtime *rt, uint64_t drain_ms);
/* The limits settings of a config (veil.limits, veil.redis). */
void node_runtime_limits_cfg(const struct node_cfg *cfg, struct node_limits_cfg *out);
/* Sums the workers' counters. */
void node_runtime_stats(const struct node_runtime *rt, struct node_worker_stats *out);

#endif
