/* The billing module: the "billing" section of hub.json, the routes, and the reconciliation job
 * as a service. A reload builds a new instance from the new section and swaps it in; replaced
 * instances stay allocated until stop, since a request may still be using one. */
#include <stdatomic.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/billing/billing_api.h"
#include "hub/billing/billing_int.h"
#include "hub/module.h"
#include "hub/scheduler/scheduler.h"

#define RETIRED_MAX 16

struct billing_service {
    struct billing *retired[RETIRED_MAX];
    size_t n_retired;
};

static struct billing *_Atomic current;

struct billing *billing_module_current(void)
{
    return atomic_load(&current);
}

static int check(const json_t *section, char *err, size_t errcap)
{
    struct billing_cfg c;
    int rc = billing_cfg_parse(section, &c, err, errcap);
    billing_cfg_wipe(&c);
    return rc;
}

/* Polls providers about pending payments and expires old invoices (the lock holder only). */
static int job_reconcile(struct sched_pass *p, void *ctx)
{
    (void)ctx;
    struct billing *b = atomic_load(&current);
    if (b == NULL)
        return 0;
    struct billing_reconcile_stats s;
    TRY(billing_reconcile(b, p->now, &s));
    if (s.settled || s.closed) {
        p->changed = true;
        log_info("billing", 0, "reconciled", LF_INT("checked", s.checked), LF_INT("settled", s.settled),
                 LF_INT("closed", s.closed), LF_INT("errors", s.errors));
    }
    return 0;
}

static struct billing *build(struct hub_env *env)
{
    struct billing_cfg c;
    char err[256];
    if (billing_cfg_parse(hub_env_section(env, "billing"), &c, err, sizeof err) < 0) {
        log_err("billing", 0, "config", LF_STR("err", err));
        return NULL;
    }
    struct billing *b = NULL;
    int rc = billing_new(&c, env->st, &b);
    billing_cfg_wipe(&c);
    return rc == 0 ? b : NULL;
}

static int start(struct hub_env *env, void **state)
{
    struct billing_service *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    struct billing *b = build(env);
    if (b == NULL) {
        free(s);
        return ERR_CONFIG;
    }
    atomic_store(&current, b);
    int rc =
        sched_job_add("billing_reconcile", (unsigned)billing_cfg_of(b)->reconcile_interval, job_reconcile, NULL, true);
    if (rc < 0 && rc != ERR_EXISTS) {
        atomic_store(&current, NULL);
        billing_free(b);
        free(s);
        return rc;
    }
    *state = s;
    return 0;
}

static void reload(struct hub_env *env, void *state, const struct hub_cfg *next)
{
    (void)next;
    struct billing_service *s = state;
    if (s->n_retired == RETIRED_MAX) {
        log_warn("billing", 0, "restart_needed", LF_STR("reason", "too many billing reloads"));
        return;
    }
    struct billing *b = build(env);
    if (b == NULL)
        return; /* the running settings stay */
    s->retired[s->n_retired++] = atomic_exchange(&current, b);
    log_info("billing", 0, "reloaded");
}

static void stop(struct hub_env *env, void *state)
{
    (void)env;
    struct billing_service *s = state;
    sched_job_remove("billing_reconcile");
    billing_free(atomic_exchange(&current, NULL));
    for (size_t i = 0; i < s->n_retired; i++)
        billing_free(s->retired[i]);
    free(s);
}

HUB_MODULE(billing) = {
    .name = "billing",
    .order = 40,
    .reg = billing_api_register,
    .section = "billing",
    .settings_check = check,
    .start = start,
    .reload = reload,
    .stop = stop,
};
