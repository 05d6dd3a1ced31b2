/* Per-user limits shared by all worker threads (docs/node-config.md "Limits"):
 *  - device limit: distinct client IPs seen within a sliding window; a new tunnel from a new IP
 *    over the limit is refused, IPs already in the set keep working. With veil.redis the sets
 *    are shared by every node (sorted set "veil:dev:<uuid hex>" scored by last-seen unix ms),
 *    synced by a background thread (eventually consistent, about a second); when Redis is down
 *    or slow the node decides from its own set alone and never waits for Redis.
 *  - max connections: active tunnels per user.
 *  - speed limit: one token bucket per user and direction, shared by all the user's tunnels,
 *    consulted by the relay (relay_shared_rate).
 *  - handshake rate per source IP, checked before any REALITY work.
 * Lock-light: a fixed table of buckets, one mutex each; a user's tunnels touch only its bucket. */
#ifndef VEIL_NODE_LIMITS_H
#define VEIL_NODE_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/relay.h"
#include "net/sock.h"
#include "node/probe_guard.h"

enum node_limit_kind {
    NODE_LIMIT_DEVICE = 0, /* new IP over the user's device limit */
    NODE_LIMIT_CONNS,      /* over the user's max connections */
    NODE_LIMIT_HANDSHAKE,  /* source IP over handshakesPerSecPerIp */
    NODE_LIMIT_PROBE,      /* source banned for probing, or its network over its rate (node/probe_guard.h) */
    NODE_LIMIT__COUNT,     /* sentinel */
};

struct node_limits_cfg {
    uint32_t device_window_sec;         /* sliding window of the device sets; default 300 */
    uint32_t handshakes_per_sec_per_ip; /* 0 = off */
    uint32_t handshake_burst;           /* bucket size; 0 = same as the rate */
    const char *redis_url;              /* redis://[:pass@]host[:port][/db] or unix:/path; NULL = local only */
    uint32_t redis_timeout_ms;          /* connect and command timeout; default 200 */
    struct node_probe_cfg probe;        /* probing of the node (veil.limits.probe*) */
};

/* One user's limits; 0 = unlimited. */
struct node_user_limits {
    uint32_t devices;
    uint32_t max_conns;
    uint64_t bytes_per_sec; /* each direction, all the user's tunnels together */
};

struct node_limits;
struct limits_entry;

/* How long a session may wait for ERR_NEED_MORE answers (node_limits_admit) before deciding. */
uint32_t node_limits_wait_ms(const struct node_limits *l);

/* What an admitted tunnel holds until node_limits_release(). */
struct node_limits_ticket {
    struct limits_entry *e; /* NULL: nothing held */
    uint8_t ip[16];
    bool rated; /* the user had a speed limit at admission */
};

/* Parses a Redis URL; ERR_CONFIG with a reason in err. Exposed for the config checker. */
int node_limits_redis_url_check(const char *url, char *err, size_t errlen);

/* Creates the table and, with a Redis URL, the sync thread (which connects lazily and keeps
 * retrying). 0, ERR_CONFIG (bad URL), ERR_NOMEM or -errno. */
int node_limits_new(const struct node_limits_cfg *cfg, struct node_limits **out);
/* Applies the window and handshake settings of a reloaded config (the Redis URL is fixed at
 * start; a change is logged and needs a restart). */
void node_limits_set_cfg(struct node_limits *l, const struct node_limits_cfg *cfg);
/* Stops the sync thread and frees everything. No ticket may still be held. NULL is a no-op. */
void node_limits_free(struct node_limits *l);

/* Counts a new connection from ip; false when the source is banned for probing, its flagged
 * network is over its rate, or it exceeds the per-IP handshake rate (counted). */
bool node_limits_handshake(struct node_limits *l, const struct sock_addr *ip, uint64_t now_ms);
/* A connection from ip failed to authenticate and went to the fallback relay (probing guard). */
void node_limits_note_fallback(struct node_limits *l, const struct sock_addr *ip, uint64_t now_ms);
/* The probing guard (metrics, the hub push); NULL when l is NULL. */
struct node_probe_guard *node_limits_probe(const struct node_limits *l);

/* Admits a tunnel of user `key` (16-byte VLESS key) from ip. 0 with *t filled, or ERR_LIMIT with
 * *kind set (counted; t->e stays NULL). A user without any limit is admitted without an entry
 * when ul is all zero. With Redis up, a new IP of a device-limited user whose shared set this
 * node has not read recently gives ERR_NEED_MORE when may_wait: the sync thread fetches the set
 * at once; call again shortly (the caller bounds the wait, then passes may_wait = false to decide
 * from what is known). */
int node_limits_admit(struct node_limits *l, const uint8_t key[16], const struct node_user_limits *ul,
                      const struct sock_addr *ip, uint64_t now_ms, bool may_wait, struct node_limits_ticket *t,
                      enum node_limit_kind *kind);
/* Releases what admit took (the IP stays in the set for the window). Idempotent. */
void node_limits_release(struct node_limits *l, struct node_limits_ticket *t, uint64_t now_ms);
/* The user's shared speed limiter for one direction (take == NULL when unlimited). Valid while
 * the ticket is held. */
struct relay_shared_rate node_limits_rate(const struct node_limits_ticket *t, enum relay_dir dir);

/* Counters for /metrics. */
uint64_t node_limits_hits(const struct node_limits *l, enum node_limit_kind kind);
const char *node_limit_kind_str(enum node_limit_kind kind);
/* Is the Redis sync connected (false without Redis)? */
bool node_limits_redis_up(const struct node_limits *l);
/* Distinct IPs the node currently counts for a user (local set plus the last Redis answer). */
size_t node_limits_devices(struct node_limits *l, const uint8_t key[16], uint64_t now_ms);

#endif
