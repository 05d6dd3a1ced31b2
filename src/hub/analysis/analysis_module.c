/* The analysis module: the "analysis" section of hub.json, the findings routes, and the
 * detectors as a scheduler job (the lock holder only: findings are shared state). */
#include <stdatomic.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/analysis/analysis.h"
#include "hub/analysis/analysis_api.h"
#include "hub/analysis/analysis_geoip.h"
#include "hub/module.h"
#include "hub/scheduler/scheduler.h"

#define JOB "analysis"

struct analysis_service {
    struct analysis_cfg cfg[2];      /* the running one and the next, swapped on reload */
    struct analysis_geoip *geoip[2]; /* each slot's country_db, opened */
    _Atomic int cur;
};

/* Opens c's country_db (if any) into *g and points c at it. */
static int open_geoip(struct analysis_cfg *c, struct analysis_geoip **g)
{
    *g = NULL;
    c->geoip = NULL;
    if (c->country_db[0] == '\0')
        return 0;
    char err[600];
    int rc = analysis_geoip_open(c->country_db, g, err, sizeof err);
    if (rc < 0) {
        log_err("analysis", 0, "country_db", LF_STR("err", err));
        return rc;
    }
    c->geoip = *g;
    log_info("analysis", 0, "country_db_opened", LF_STR("path", c->country_db));
    return 0;
}

static int check(const json_t *section, char *err, size_t errcap)
{
    struct analysis_cfg c;
    return analysis_cfg_parse(section, &c, err, errcap);
}

static int job_analyse(struct sched_pass *p, void *ctx)
{
    struct analysis_service *s = ctx;
    struct analysis_stats st;
    int rc = analysis_run(p->st, &s->cfg[atomic_load(&s->cur)], p->now, &st);
    if (st.rotated > 0)
        p->changed = true; /* cached /sub answers of the old tokens go */
    if (st.created > 0)
        log_info("analysis", 0, "pass", LF_INT("raised", st.raised), LF_INT("new", st.created));
    return rc;
}

static int start(struct hub_env *env, void **state)
{
    struct analysis_service *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    char err[256];
    if (analysis_cfg_parse(hub_env_section(env, "analysis"), &s->cfg[0], err, sizeof err) < 0) {
        log_err("analysis", 0, "config", LF_STR("err", err));
        free(s);
        return ERR_CONFIG;
    }
    if (open_geoip(&s->cfg[0], &s->geoip[0]) < 0) {
        free(s);
        return ERR_CONFIG;
    }
    int rc = sched_job_add(JOB, (unsigned)s->cfg[0].interval, job_analyse, s, true);
    if (rc < 0) {
        analysis_geoip_close(s->geoip[0]);
        free(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* Thresholds and the interval change live: the job is added again with the new settings. */
static void reload(struct hub_env *env, void *state, const struct hub_cfg *next)
{
    (void)next;
    struct analysis_service *s = state;
    int spare = 1 - atomic_load(&s->cur);
    char err[256];
    if (analysis_cfg_parse(hub_env_section(env, "analysis"), &s->cfg[spare], err, sizeof err) < 0) {
        log_err("analysis", 0, "config", LF_STR("err", err));
        return;
    }
    if (open_geoip(&s->cfg[spare], &s->geoip[spare]) < 0)
        return; /* the running settings stay */
    /* sched_job_remove waits for a running pass, so nothing reads the old slot after it. */
    sched_job_remove(JOB);
    int old = atomic_load(&s->cur);
    atomic_store(&s->cur, spare);
    analysis_geoip_close(s->geoip[old]);
    s->geoip[old] = NULL;
    if (sched_job_add(JOB, (unsigned)s->cfg[spare].interval, job_analyse, s, true) < 0)
        log_err("analysis", 0, "job_add_failed");
    else
        log_info("analysis", 0, "reloaded", LF_INT("interval", s->cfg[spare].interval));
}

static void stop(struct hub_env *env, void *state)
{
    (void)env;
    sched_job_remove(JOB);
    struct analysis_service *s = state;
    analysis_geoip_close(s->geoip[0]);
    analysis_geoip_close(s->geoip[1]);
    free(state);
}

HUB_MODULE(analysis) = {
    .name = "analysis",
    .order = 60,
    .reg = analysis_api_register,
    .section = "analysis",
    .settings_check = check,
    .start = start,
    .reload = reload,
    .stop = stop,
};
