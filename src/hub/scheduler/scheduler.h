/* The hub's periodic jobs. Modules add their jobs (sched_job_add, from .reg or .start; see
 * hub/module.h); the scheduler module itself adds "subscriptions" (expire, reset traffic by
 * plan strategy, limit over-quota, bump the sync revision: store_sched_run) and "node_health"
 * (nodes silent for node_stale seconds are marked down). Several replicas may run; jobs that
 * need the lock run only on the replica holding it: Redis (hcache_lock) when the cache has it,
 * else a database lock row ("scheduler", with a TTL). */
#ifndef VEIL_HUB_SCHEDULER_H
#define VEIL_HUB_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct hcache;
struct sched;

/* What a job gets at each run. */
struct sched_pass {
    struct store *st;
    struct hcache *cache; /* may be NULL */
    int64_t now;          /* UTC seconds */
    int64_t node_stale;   /* the hub's node silence limit in seconds (0: not checked) */
    bool changed;         /* set it when the job changed what subscriptions show: one new cache generation */
};

/* A job: 0 or a negative error (logged; the other jobs still run). */
typedef int sched_job_fn(struct sched_pass *pass, void *ctx);

#define SCHED_JOBS_MAX 32

/* Adds a job run every period_sec seconds (0: every pass of the scheduler's interval; a job
 * never runs more often than the passes). needs_lock: only the replica holding the scheduler
 * lock runs it (jobs that change shared state); false: every replica does (local work). ctx is
 * handed back to fn. ERR_EXISTS for a name already added, ERR_RANGE when full, ERR_MALFORMED
 * for a NULL fn or a name of 48+ bytes. Thread-safe; not from inside a job. */
int sched_job_add(const char *name, unsigned period_sec, sched_job_fn *fn, void *ctx, bool needs_lock);
/* Removes a job (a module stopping before the scheduler calls this before freeing ctx); waits for
 * a running pass to finish. ERR_NOT_FOUND when absent. */
int sched_job_remove(const char *name);

/* One pass: take or renew the lock as `holder`, run the due jobs (the locked ones only when
 * held). *ran tells whether this replica held the lock. */
int sched_tick(struct store *st, const char *holder, unsigned interval, int64_t node_stale, int64_t now, bool *ran);

/* The same with the lock in Redis when cache has it (hcache_lock: SET NX PX, renewed by its
 * holder), else, or while Redis does not answer, the database lease. A pass whose jobs changed
 * anything starts a new cache generation. cache may be NULL. *via is "redis" or "database". */
int sched_tick_cached(struct store *st, struct hcache *cache, const char *holder, unsigned interval, int64_t node_stale,
                      int64_t now, bool *ran, const char **via);

/* Starts a thread that calls sched_tick every interval seconds. NULL on failure. */
struct sched *sched_start(struct store *st, unsigned interval, int64_t node_stale);
/* The same with sched_tick_cached (cache may be NULL); logs when it takes or loses the lock and
 * releases a Redis lock on stop. */
struct sched *sched_start_cached(struct store *st, struct hcache *cache, unsigned interval, int64_t node_stale);
/* Wakes and joins the thread. NULL-safe. */
void sched_stop(struct sched *s);

#endif
