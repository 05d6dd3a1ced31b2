/* The hub's periodic jobs: expire subscriptions, reset traffic by plan strategy, mark over-quota
 * subscriptions limited and bump the sync revision (store_sched_run). Several replicas may run
 * it; a database lock row ("scheduler", with a TTL) lets only one of them work at a time. */
#ifndef VEIL_HUB_SCHEDULER_H
#define VEIL_HUB_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct hcache;
struct sched;

/* One pass: take or renew the lock as `holder`, run the jobs when held: subscriptions
 * (store_sched_run) and node health (nodes silent for node_stale seconds are marked down; 0
 * skips it). *ran tells whether this replica did the work. */
int sched_tick(struct store *st, const char *holder, unsigned interval, int64_t node_stale, int64_t now, bool *ran);

/* The same with the lock in Redis when cache has it (hcache_lock: SET NX PX, renewed by its
 * holder), else, or while Redis does not answer, the database lease. A pass that changed
 * anything starts a new cache generation. cache may be NULL. *via is "redis" or "database". */
int sched_tick_cached(struct store *st, struct hcache *cache, const char *holder, unsigned interval,
                      int64_t node_stale, int64_t now, bool *ran, const char **via);

/* Starts a thread that calls sched_tick every interval seconds. NULL on failure. */
struct sched *sched_start(struct store *st, unsigned interval, int64_t node_stale);
/* The same with sched_tick_cached (cache may be NULL); logs when it takes or loses the lock and
 * releases a Redis lock on stop. */
struct sched *sched_start_cached(struct store *st, struct hcache *cache, unsigned interval, int64_t node_stale);
/* Wakes and joins the thread. NULL-safe. */
void sched_stop(struct sched *s);

#endif
