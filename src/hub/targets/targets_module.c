/* The targets module: the pool's routes, the rotation rule as a scheduler job, and the
 * "targets" section of hub.json:
 *   {"targets": {"rotate_failures": 20, "window_sec": 600, "rotate_on_verdict": true,
 *                "grace_sec": 604800, "check_sec": 30, "cooldown_sec": 600}} */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/module.h"
#include "hub/scheduler/scheduler.h"
#include "hub/targets/targets_int.h"

static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct targets_cfg running;
static bool running_set;

void targets__cfg_get(struct targets_cfg *out)
{
    pthread_mutex_lock(&cfg_mu);
    if (!running_set) {
        targets_cfg_defaults(&running);
        running_set = true;
    }
    *out = running;
    pthread_mutex_unlock(&cfg_mu);
}

void targets__log_rotation(int64_t node_id, enum targets_reason why, const struct targets_node *before,
                           const struct targets_node *after, uint64_t failures)
{
    log_warn("targets", 0, "target_rotated", LF_INT("node", node_id), LF_STR("reason", targets_reason_str(why)),
             LF_STR("from", before->target[0] ? before->target : before->reported_target),
             LF_STR("from_sni", before->target[0] ? before->sni : before->reported_sni), LF_STR("to", after->target),
             LF_STR("to_sni", after->sni), LF_STR("verdict", before->verdict), LF_UINT("failures", failures),
             LF_INT("rev", after->rev));
}

void targets__log_stuck(int64_t node_id, enum targets_reason why, const struct targets_node *n)
{
    log_err(
        "targets", 0, "target_rotation_stuck", LF_INT("node", node_id), LF_STR("reason", targets_reason_str(why)),
        LF_STR("target", n->target[0] ? n->target : n->reported_target), LF_STR("verdict", n->verdict),
        LF_STR("why", "no vetted target left for this node: add candidates (veil scan --json, POST /api/v1/targets)"));
}

static int u32_key(const json_t *s, const char *key, uint32_t lo, uint32_t hi, uint32_t *out, char *err, size_t cap)
{
    json_t *v = json_object_get(s, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(err, cap, "targets.%s: expected an integer %u..%u", key, lo, hi);
        return ERR_CONFIG;
    }
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static int parse(const json_t *s, struct targets_cfg *c, char *err, size_t cap)
{
    targets_cfg_defaults(c);
    if (s == NULL)
        return 0;
    if (!json_is_object(s)) {
        snprintf(err, cap, "targets: expected an object");
        return ERR_CONFIG;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)s, key, v)
    {
        static const char *const known[] = {"rotate_failures", "window_sec", "rotate_on_verdict",
                                            "grace_sec",       "check_sec",  "cooldown_sec"};
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok) {
            snprintf(err, cap, "targets.%s: unknown key", key);
            return ERR_CONFIG;
        }
    }
    TRY(u32_key(s, "rotate_failures", 0, 1000000, &c->rotate_failures, err, cap));
    TRY(u32_key(s, "window_sec", 10, 86400, &c->window_sec, err, cap));
    TRY(u32_key(s, "grace_sec", 0, 90 * 86400, &c->grace_sec, err, cap));
    TRY(u32_key(s, "check_sec", 1, 3600, &c->check_sec, err, cap));
    TRY(u32_key(s, "cooldown_sec", 0, 86400, &c->cooldown_sec, err, cap));
    json_t *b = json_object_get(s, "rotate_on_verdict");
    if (b != NULL && !json_is_boolean(b)) {
        snprintf(err, cap, "targets.rotate_on_verdict: expected true or false");
        return ERR_CONFIG;
    }
    if (b != NULL)
        c->rotate_on_verdict = json_is_true(b);
    return 0;
}

static int check(const json_t *section, char *err, size_t cap)
{
    struct targets_cfg c;
    return parse(section, &c, err, cap);
}

static int rotation_job(struct sched_pass *pass, void *ctx)
{
    (void)ctx;
    struct targets_cfg cfg;
    targets__cfg_get(&cfg);
    bool changed = false;
    int rc = targets__pass(pass->st, &cfg, pass->now, &changed);
    if (changed)
        pass->changed = true; /* a new SNI in /sub: a new cache generation */
    return rc;
}

static void apply(const struct hub_env *env)
{
    struct targets_cfg c;
    char err[160];
    if (parse(hub_env_section(env, "targets"), &c, err, sizeof(err)) < 0)
        return; /* settings_check already refused it */
    pthread_mutex_lock(&cfg_mu);
    running = c;
    running_set = true;
    pthread_mutex_unlock(&cfg_mu);
}

static int start(struct hub_env *env, void **state)
{
    (void)state;
    apply(env);
    struct targets_cfg c;
    targets__cfg_get(&c);
    return sched_job_add("target_rotation", c.check_sec, rotation_job, NULL, true);
}

static void reload(struct hub_env *env, void *state, const struct hub_cfg *next)
{
    (void)state;
    (void)next;
    apply(env); /* check_sec needs a restart; the rule's values apply at the next pass */
}

static void stop(struct hub_env *env, void *state)
{
    (void)env;
    (void)state;
    (void)sched_job_remove("target_rotation");
}

HUB_MODULE(targets) = {
    .name = "targets",
    .order = 45, /* before the scheduler (50) starts running jobs; stops after it */
    .reg = targets__routes,
    .section = "targets",
    .settings_check = check,
    .start = start,
    .reload = reload,
    .stop = stop,
};
