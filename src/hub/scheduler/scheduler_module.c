/* The scheduler module: the subscription and node-health jobs, and the scheduler thread as a
 * service (started last, so every other service's jobs and state exist when it first runs). */
#include <stddef.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/module.h"
#include "hub/scheduler/scheduler.h"
#include "hub/store/store.h"

/* Expire, reset traffic by plan strategy, limit over-quota, prune old push ids. */
static int job_subscriptions(struct sched_pass *p, void *ctx)
{
    (void)ctx;
    struct store_sched_result r;
    TRY(store_sched_run(p->st, p->now, &r));
    if (r.expired || r.reset || r.limited) {
        p->changed = true;
        log_info("sched", 0, "pass", LF_INT("expired", r.expired), LF_INT("reset", r.reset),
                 LF_INT("limited", r.limited));
    }
    return 0;
}

/* Stored health follows liveness for metrics and alerts (/sub judges last_seen by itself,
 * hub/domain/node_health.h): a node silent for dead_after is marked down until it pushes. */
static int job_node_health(struct sched_pass *p, void *ctx)
{
    (void)ctx;
    if (p->node_stale <= 0)
        return 0;
    int64_t down = 0;
    TRY(store_node_mark_stale(p->st, p->now, p->node_stale, &down));
    if (down) {
        p->changed = true;
        log_info("sched", 0, "pass", LF_INT("nodes_down", down));
    }
    return 0;
}

static void sched_reg(void)
{
    if (sched_job_add("subscriptions", 0, job_subscriptions, NULL, true) < 0 ||
        sched_job_add("node_health", 0, job_node_health, NULL, true) < 0)
        log_err("sched", 0, "job_add_failed", LF_STR("module", "scheduler"));
}

static int sched_service_start(struct hub_env *env, void **state)
{
    const struct hub_cfg *cfg = env->cfg;
    if (!cfg->sched_enabled)
        return 0;
    /* The same silence that takes a node out of /sub marks it down (0: the old 4 rounds, >= 120 s). */
    int64_t node_stale = cfg->node_dead_after                    ? (int64_t)cfg->node_dead_after
                         : (int64_t)cfg->sync_interval * 4 > 120 ? (int64_t)cfg->sync_interval * 4
                                                                 : 120;
    struct sched *s = sched_start_cached(env->st, env->cache, cfg->sched_interval, node_stale);
    if (s == NULL)
        return ERR_NOMEM;
    *state = s;
    return 0;
}

static void sched_service_stop(struct hub_env *env, void *state)
{
    (void)env;
    sched_stop(state);
}

HUB_MODULE(scheduler) = {
    .name = "scheduler",
    .order = 50,
    .reg = sched_reg,
    .start = sched_service_start,
    .stop = sched_service_stop,
};
