/* The module registry and the services' lifecycle (module.h). */
#include "hub/module.h"

#include <pthread.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/secure.h"
#include "hub/api/api.h"

static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void register_all(void)
{
    for (size_t i = 0; hub_modules_all[i] != NULL; i++)
        if (hub_modules_all[i]->reg != NULL)
            hub_modules_all[i]->reg();
}

void hub_modules_register(void)
{
    pthread_once(&reg_once, register_all);
}

const struct hub_module *hub_module_for_section(const char *key)
{
    for (size_t i = 0; hub_modules_all[i] != NULL; i++)
        if (hub_modules_all[i]->section != NULL && strcmp(hub_modules_all[i]->section, key) == 0)
            return hub_modules_all[i];
    return NULL;
}

const json_t *hub_env_section(const struct hub_env *env, const char *key)
{
    return env->doc != NULL ? json_object_get(env->doc, key) : NULL;
}

/* Module positions sorted by order (stable: equal orders keep the list's order). */
static size_t by_order(size_t idx[static HUB_MODULES_MAX])
{
    size_t n = 0;
    for (; hub_modules_all[n] != NULL && n < HUB_MODULES_MAX; n++)
        idx[n] = n;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && hub_modules_all[idx[j - 1]]->order > hub_modules_all[idx[j]]->order; j--) {
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return n;
}

int hub_services_start(struct hub_env *env)
{
    hub_modules_register();
    size_t idx[HUB_MODULES_MAX];
    size_t n = by_order(idx);
    for (size_t k = 0; k < n; k++) {
        const struct hub_module *m = hub_modules_all[idx[k]];
        if (m->start == NULL) {
            env->started[idx[k]] = true;
            continue;
        }
        int rc = m->start(env, &env->state[idx[k]]);
        if (rc < 0) {
            log_err("hub", 0, "service_failed", LF_STR("service", m->name), LF_STR("err", err_str(rc)));
            hub_services_stop(env);
            return rc;
        }
        env->started[idx[k]] = true;
    }
    return 0;
}

void hub_services_stop(struct hub_env *env)
{
    size_t idx[HUB_MODULES_MAX];
    size_t n = by_order(idx);
    for (size_t k = n; k-- > 0;) {
        const struct hub_module *m = hub_modules_all[idx[k]];
        if (!env->started[idx[k]])
            continue;
        if (m->stop != NULL)
            m->stop(env, env->state[idx[k]]);
        env->state[idx[k]] = NULL;
        env->started[idx[k]] = false;
    }
}

void hub_services_reload(struct hub_env *env, struct hub_cfg *cur, const char *boot_admin_hash)
{
    struct hub_cfg n;
    json_t *doc = NULL;
    char err[1024];
    if (hubcfg_load_doc(env->cfg_path, &n, &doc, err, sizeof err) < 0) {
        log_err("hub", 0, "reload_failed", LF_STR("err", err), LF_STR("kept", "running configuration"));
        return;
    }
    char restart[512];
    hubcfg_diff_restart(cur, &n, restart, sizeof restart);
    char h[65] = "";
    if (n.admin_token[0])
        api_token_hash(n.admin_token, strlen(n.admin_token), h);
    secure_wipe(n.admin_token, sizeof n.admin_token);
    if (strcmp(h, boot_admin_hash) != 0 && strlen(restart) + 13 < sizeof restart)
        strcat(strcat(restart, restart[0] ? "," : ""), "admin_token");
    json_t *old_doc = env->doc;
    env->doc = doc; /* modules read their sections from the new document */
    size_t idx[HUB_MODULES_MAX];
    size_t cnt = by_order(idx);
    for (size_t k = 0; k < cnt; k++) {
        const struct hub_module *m = hub_modules_all[idx[k]];
        if (env->started[idx[k]] && m->reload != NULL)
            m->reload(env, env->state[idx[k]], &n);
    }
    json_decref(old_doc);
    /* log__min_level is atomic; still only written when it changes. */
    if (n.log_level != cur->log_level)
        log_setup((enum log_level)n.log_level, 2);
    hubcfg_take_live(cur, &n);
    log_info("hub", 0, "reloaded", LF_STR("log_level", log_level_name((enum log_level)n.log_level)),
             LF_STR("title", n.sub_title), LF_UINT("update_interval_hours", n.sub_update_hours),
             LF_UINT("rate_window", n.rate_window), LF_UINT("rate_per_ip", n.rate_per_ip),
             LF_UINT("rate_per_token", n.rate_per_token));
    if (restart[0])
        log_warn("hub", 0, "restart_needed", LF_STR("changed", restart),
                 LF_STR("why", "these settings apply at start only; running with the old values"));
}
