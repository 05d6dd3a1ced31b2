/* The hub's shared-state layer: response caches, rate-limit counters and the scheduler lock.
 * With a Redis URL every hub behind a load balancer shares them through Redis; without one (or
 * while Redis is unreachable) an in-process equivalent (cache_mem.h) answers, so the hub always
 * works alone. Redis trouble never fails a call: it is logged (at most once per 10 s), the call
 * falls back, and the next attempt waits a doubling backoff (100 ms .. 5 s). Every Redis call has
 * a timeout; connections come from a small pool shared by the worker threads.
 *
 * Invalidation is by generation: cached responses are stored under the current value of a
 * counter (Redis key "<prefix>gen"), and every change bumps it, so all hubs stop serving the old
 * entries at once. When Redis comes back after an outage the counter is bumped too (changes made
 * meanwhile never reached it).
 *
 * Each bump is also PUBLISHed on channel "<prefix>gen"; a watcher thread per hub follows it, so
 * with near_ms a hub serves its own copies of generation-scoped values without asking Redis,
 * and drops them the moment any hub bumps (or the watcher loses its connection).
 *
 * Keys used in Redis (prefix "veil:"): gen, g:<gen>:<key> (generation-scoped values),
 * k:<key> (plain values), rl:<key>:<window> (counters), lock:<name>. */
#ifndef VEIL_HUB_CACHE_CACHE_H
#define VEIL_HUB_CACHE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hcache;

typedef int64_t hcache_clock_fn(void *arg); /* wall clock, milliseconds */

struct hcache_cfg {
    const char *redis_url; /* redis://[[user]:password@]host[:port][/db] or unix:/path; NULL/"" -> local */
    unsigned timeout_ms;   /* connect and per-command timeout; 0 -> 250 */
    unsigned pool;         /* Redis connections at most; 0 -> 8 */
    size_t mem_max;        /* in-process bytes; 0 -> 64 MiB */
    const char *prefix;    /* Redis key prefix; NULL -> "veil:" */
    /* Redis mode: generation-scoped values are also kept locally for near_ms while a watcher
     * connection (SUBSCRIBE to the generation channel) tells every bump at once, so a hit needs
     * no round trip. 0: every lookup asks Redis. */
    int64_t near_ms;
    hcache_clock_fn *clock; /* NULL -> CLOCK_REALTIME */
    void *clock_arg;
};

/* Makes the layer. ERR_CONFIG (with a reason in err) for a malformed URL; an unreachable Redis
 * is not an error (it is retried on use). */
int hcache_open(const struct hcache_cfg *cfg, struct hcache **out, char *err, size_t errcap);
/* Closes every connection and frees. Callers must have stopped using it. NULL-safe. */
void hcache_close(struct hcache *c);

/* Whether Redis is configured / answered the last call. */
bool hcache_shared(const struct hcache *c);
bool hcache_redis_up(const struct hcache *c);
/* "redis", "local" or "local-fallback" (Redis configured but down). */
const char *hcache_mode(const struct hcache *c);

/* Looks key up under the current generation: *gen receives the generation (pass it back to
 * hcache_gen_put), *val a malloc'd NUL-terminated copy or NULL on a miss. ERR_NOMEM only. */
int hcache_gen_get(struct hcache *c, const char *key, uint64_t *gen, char **val, size_t *len);
/* Stores under generation gen for ttl_ms. Failures are logged and ignored. */
void hcache_gen_put(struct hcache *c, uint64_t gen, const char *key, const void *val, size_t len, int64_t ttl_ms);
/* Starts a new generation: every hub's generation-scoped entries become unreachable. */
void hcache_gen_bump(struct hcache *c);

/* Plain values (not generation-scoped), e.g. snapshots keyed by their own revision. */
int hcache_get(struct hcache *c, const char *key, char **val, size_t *len);
void hcache_put(struct hcache *c, const char *key, const void *val, size_t len, int64_t ttl_ms);

/* Fixed-window rate limit: counts one request for key in the current window of window_s
 * seconds. *allowed is false once more than limit were counted; *retry_after_s is then the
 * seconds until the window ends (>= 1). limit 0 allows everything without counting. */
int hcache_rate(struct hcache *c, const char *key, unsigned limit, unsigned window_s, bool *allowed,
                unsigned *retry_after_s);

/* A lock for several hubs (Redis SET NX PX; renewed while held by holder). ERR_UNSUPPORTED
 * without Redis, ERR_IO while Redis is unreachable: the caller then uses its own lock. */
int hcache_lock(struct hcache *c, const char *name, const char *holder, int64_t ttl_ms, bool *held);
/* Releases the lock when holder has it (checked atomically in Redis). */
void hcache_unlock(struct hcache *c, const char *name, const char *holder);

#endif
