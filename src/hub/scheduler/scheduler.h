/* The hub's periodic jobs: expire subscriptions, reset traffic by plan strategy, mark over-quota
 * subscriptions limited and bump the sync revision (store_sched_run). Several replicas may run
 * it; a database lock row ("scheduler", with a TTL) lets only one of them work at a time. */
#ifndef VEIL_HUB_SCHEDULER_H
#define VEIL_HUB_SCHEDULER_H

#include <stdbool.h>
#include <stdint.h>

struct store;
struct sched;

/* One pass: take or renew the lock as `holder`, run the jobs when held: subscriptions
 * (store_sched_run) and node health (nodes silent for node_stale seconds are marked down; 0
 * skips it). *ran tells whether this replica did the work. */
int sched_tick(struct store *st, const char *holder, unsigned interval, int64_t node_stale, int64_t now, bool *ran);

/* Starts a thread that calls sched_tick every interval seconds. NULL on failure. */
struct sched *sched_start(struct store *st, unsigned interval, int64_t node_stale);
/* Wakes and joins the thread. NULL-safe. */
void sched_stop(struct sched *s);

#endif
