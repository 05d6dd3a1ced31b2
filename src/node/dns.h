/* Asynchronous DNS for the node: one c-ares channel per worker loop, driven by the loop's fd
 * watchers (c-ares sock_state_cb) and one timer (ares_timeout). Lookups never block the loop.
 *
 * The resolver queries DNS only: no /etc/hosts, no search domains, no HOSTALIASES, so a client
 * cannot reach names that only exist on the operator's network through resolution tricks (the
 * dial policy still checks every address). "localhost" and "*.localhost" answer 127.0.0.1 and
 * ::1 without a query (RFC 6761), e.g. for a REALITY target given as a bare port.
 *
 * Callbacks run on the loop thread, from inside the loop's io/timer callbacks. A callback may
 * start new lookups and cancel others, but must not free the resolver. */
#ifndef VEIL_NODE_DNS_H
#define VEIL_NODE_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "net/loop.h"
#include "net/sock.h"

struct node_dns;
struct node_dns_query;

#define NODE_DNS_MAX_ADDRS 16 /* addresses reported per lookup */

struct node_dns_opts {
    const char *const *servers; /* "ip", "ip:port", "[v6]:port"; NULL/0 = /etc/resolv.conf */
    size_t n_servers;
    uint32_t timeout_ms; /* whole lookup budget, split over the tries; 0 = 5000 */
    /* Answer cache per resolver: positive answers live for their DNS TTL clamped to
     * [NODE_DNS_MIN_TTL_MS, cache_max_ttl_ms], "no such name/address" for NODE_DNS_NEG_TTL_MS
     * (also clamped); failures (timeouts, server errors) are not cached. */
    size_t cache_entries;      /* 0 = 4096; SIZE_MAX = no cache */
    uint32_t cache_max_ttl_ms; /* 0 = 600000 */
};

#define NODE_DNS_MIN_TTL_MS 5000
#define NODE_DNS_NEG_TTL_MS 30000

/* A resolver on `loop`. NULL on failure (bad server list, c-ares init failure). */
struct node_dns *node_dns_new(struct loop *loop, const struct node_dns_opts *o);
/* Cancels every pending lookup (their callbacks are not called) and releases the channel.
 * NULL is a no-op. Must not be called from a lookup callback. */
void node_dns_free(struct node_dns *d);

/* status: 0 with 1..NODE_DNS_MAX_ADDRS addresses (port 0), or ERR_NOT_FOUND (no such name or
 * no address of the wanted family), ERR_TIMEOUT, ERR_IO (server failure/refused), ERR_NOMEM,
 * ERR_MALFORMED (bad name). `addrs` is valid during the call only. */
typedef void node_dns_cb(void *arg, int status, const struct sock_addr *addrs, size_t n);

/* Starts a lookup of `name` for `family` (AF_INET, AF_INET6 or AF_UNSPEC for both). IP
 * literals and localhost names are answered without a query, but still through the callback (never re-entrantly:
 * from the next loop iteration). On success *q (if not NULL) receives a handle valid until the
 * callback runs or node_dns_cancel(). Returns 0 or ERR_NOMEM / ERR_MALFORMED (callback never
 * called). */
int node_dns_resolve(struct node_dns *d, const char *name, int family, node_dns_cb *cb, void *arg,
                     struct node_dns_query **q);
/* The callback of q will not be called. q must be pending (not yet called back). */
void node_dns_cancel(struct node_dns_query *q);

/* Lookups started and not yet finished (tests, metrics). */
size_t node_dns_pending(const struct node_dns *d);
/* Lookups answered from the cache, and queries sent (tests, metrics; any thread). */
uint64_t node_dns_cache_hits(const struct node_dns *d);
uint64_t node_dns_queries(const struct node_dns *d);

#endif
