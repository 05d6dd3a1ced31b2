/* The audit module (hub/audit/audit.h): the "audit" section and the chain verification job. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/audit/audit.h"
#include "hub/module.h"
#include "hub/scheduler/scheduler.h"
#include "hub/store/store.h"

#define AUDIT_VERIFY_DEFAULT 3600
#define AUDIT_VERIFY_MAX (7 * 86400)

static pthread_mutex_t status_mu = PTHREAD_MUTEX_INITIALIZER;
static struct audit_status status;

int audit_check(struct store *st, int64_t now)
{
    struct store_audit_verify v;
    int rc = store_audit_verify(st, &v);
    if (rc < 0) {
        log_warn("audit", 0, "audit_verify_failed", LF_STR("err", err_str(rc)));
        return rc;
    }
    pthread_mutex_lock(&status_mu);
    status = (struct audit_status){
        .checked = true, .ok = v.ok, .at = now, .rows = v.rows, .broken_id = v.ok ? 0 : v.broken_id};
    pthread_mutex_unlock(&status_mu);
    if (!v.ok)
        log_err("audit", 0, "audit_chain_broken", LF_INT("row", v.broken_id), LF_STR("why", v.why),
                LF_INT("rows_verified", v.rows));
    else
        log_debug("audit", 0, "audit_chain_verified", LF_INT("rows", v.rows), LF_STR("head", v.head));
    return 0;
}

void audit_status_get(struct audit_status *out)
{
    pthread_mutex_lock(&status_mu);
    *out = status;
    pthread_mutex_unlock(&status_mu);
}

/* {"verify_interval": seconds}; *interval gets the value (the default when absent). */
static int parse(const json_t *section, unsigned *interval, char *err, size_t errcap)
{
    *interval = AUDIT_VERIFY_DEFAULT;
    if (section == NULL || json_is_null(section))
        return 0;
    const char *key;
    const json_t *v;
    if (!json_is_object(section)) {
        snprintf(err, errcap, "must be an object");
        return ERR_CONFIG;
    }
    json_object_foreach((json_t *)section, key, v)
    {
        if (strcmp(key, "verify_interval") != 0) {
            snprintf(err, errcap, "unknown key \"%.64s\"", key);
            return ERR_CONFIG;
        }
    }
    v = json_object_get(section, "verify_interval");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > AUDIT_VERIFY_MAX) {
            snprintf(err, errcap, "verify_interval: seconds between checks of the audit chain, 0 (off) to %d",
                     AUDIT_VERIFY_MAX);
            return ERR_CONFIG;
        }
        *interval = (unsigned)json_integer_value(v);
    }
    return 0;
}

static int check(const json_t *section, char *err, size_t errcap)
{
    unsigned interval;
    return parse(section, &interval, err, errcap);
}

/* Every replica checks (a read), so each one's /metrics tells the truth about the database. */
static int job_verify(struct sched_pass *p, void *ctx)
{
    (void)ctx;
    return audit_check(p->st, p->now);
}

static int start(struct hub_env *env, void **state)
{
    (void)state;
    unsigned interval;
    char err[200];
    TRY(parse(hub_env_section(env, "audit"), &interval, err, sizeof err));
    if (interval == 0)
        return 0;
    /* Once at start too, so veil_hub_audit_chain_ok is there for the alert from the first scrape
     * (and a chain cut while the hub was down shows at once); a failure is logged, not fatal. */
    (void)audit_check(env->st, (int64_t)time(NULL));
    int rc = sched_job_add("audit_verify", interval, job_verify, NULL, false);
    return rc == ERR_EXISTS ? 0 : rc;
}

static void stop(struct hub_env *env, void *state)
{
    (void)env;
    (void)state;
    sched_job_remove("audit_verify");
}

HUB_MODULE(audit) = {
    .name = "audit",
    .order = 45,
    .section = "audit",
    .settings_check = check,
    .start = start,
    .stop = stop,
};
