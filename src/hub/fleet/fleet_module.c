/* The fleet module: the "unreachable from clients" rule and BitTorrent holds as scheduler jobs
 * (every fleet.client_check seconds, lock holder only), and the placement-preference routes.
 * Its settings are keys of the hub's "fleet" section (hub/hubcfg.h). */
#include <pthread.h>

#include "core/log.h"
#include "hub/fleet/fleet_int.h"
#include "hub/module.h"
#include "hub/scheduler/scheduler.h"

#define JOB_SILENCE "client_silence"
#define JOB_HOLDS "user_holds"

static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fleet_cfg running = {
    .silence = {.silence = HUB_SILENCE_DEFAULT_SEC, .retry = HUB_SILENCE_RETRY_SEC},
    .dead_after = 30,
    .bt = {.disable_after = 0, .disable_window = 3600, .disable_sec = 3600},
};

void fleet__cfg_get(struct fleet_cfg *out)
{
    pthread_mutex_lock(&cfg_mu);
    *out = running;
    pthread_mutex_unlock(&cfg_mu);
}

static void apply(const struct hub_cfg *c)
{
    pthread_mutex_lock(&cfg_mu);
    running = (struct fleet_cfg){
        .silence = {.silence = c->client_silence, .retry = c->client_retry},
        .dead_after = c->node_dead_after,
        .bt = {.disable_after = c->bt_disable_after, .disable_window = c->bt_window, .disable_sec = c->bt_disable_sec},
    };
    pthread_mutex_unlock(&cfg_mu);
}

static int silence_job(struct sched_pass *pass, void *ctx)
{
    (void)ctx;
    struct fleet_cfg cfg;
    fleet__cfg_get(&cfg);
    bool changed = false;
    int rc = fleet__silence_pass(pass->st, &cfg, pass->now, &changed);
    if (changed)
        pass->changed = true; /* a node left or rejoined /sub: a new cache generation */
    return rc;
}

static int holds_job(struct sched_pass *pass, void *ctx)
{
    (void)ctx;
    struct fleet_cfg cfg;
    fleet__cfg_get(&cfg);
    bool changed = false;
    int rc = fleet__bt_pass(pass->st, &cfg.bt, pass->now, &changed);
    if (changed)
        pass->changed = true; /* a user's /sub answer changed */
    return rc;
}

static int start(struct hub_env *env, void **state)
{
    (void)state;
    apply(env->cfg);
    int rc = sched_job_add(JOB_SILENCE, env->cfg->client_check, silence_job, NULL, true);
    if (rc == 0 && (rc = sched_job_add(JOB_HOLDS, env->cfg->client_check, holds_job, NULL, true)) < 0)
        (void)sched_job_remove(JOB_SILENCE);
    return rc;
}

static void reload(struct hub_env *env, void *state, const struct hub_cfg *next)
{
    (void)env;
    (void)state;
    (void)next; /* the fleet keys need a restart (hubcfg_diff_restart says so) */
}

static void stop(struct hub_env *env, void *state)
{
    (void)env;
    (void)state;
    (void)sched_job_remove(JOB_SILENCE);
    (void)sched_job_remove(JOB_HOLDS);
}

HUB_MODULE(fleet) = {
    .name = "fleet",
    .order = 46, /* before the scheduler (50) starts running jobs; stops after it */
    .reg = fleet__routes,
    .start = start,
    .reload = reload,
    .stop = stop,
};
