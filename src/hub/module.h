/* Hub modules: each feature folder of the hub (api/, scheduler/, cache/, later billing/, bot/,
 * ...) is one module that registers its routes, jobs and settings, and may run a service
 * {start, reload, stop}. A new feature is a new folder; nothing shared is edited:
 *
 *   src/hub/<name>/<name>_module.c:   HUB_MODULE(<name>) = {.name = "<name>", .order = 60, ...};
 *
 * src/hub/CMakeLists.txt globs those files and generates the list of modules (hub_modules_all),
 * which references every module object, so a static-library link keeps them (a constructor
 * attribute would not: the linker drops objects nothing refers to). The model is haproxy's
 * registered init/deinit hooks (include/haproxy/init.h), with an explicit order instead of stages.
 *
 * Lifecycle, for veil-hub and for tests alike:
 *   hub_modules_register()   once per process (pthread_once): every module's .reg runs, which
 *                            calls api_route_add / sched_job_add. api_routes() and the scheduler
 *                            call it themselves, so a test needs no set-up.
 *   hub_services_start(env)  .start of each module in ascending .order; on a failure the ones
 *                            already started are stopped in reverse and the error returned.
 *   hub_services_reload(...) SIGHUP: the new configuration goes to every .reload.
 *   hub_services_stop(env)   .stop in descending .order. */
#ifndef VEIL_HUB_MODULE_H
#define VEIL_HUB_MODULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "hub/hubcfg.h"

struct store;
struct hcache;
struct hub_module;

#define HUB_MODULES_MAX 32

/* What services share. Filled as services start: the cache service sets cache, the api service
 * api. The store is opened by main before any service (migrations and one-shot commands need
 * it) and closed after the last one stopped. */
struct hub_env {
    const struct hub_cfg *cfg; /* the running configuration (updated by hub_services_reload) */
    json_t *doc;               /* the whole configuration document: module sections (hub_env_section) */
    const char *cfg_path;
    struct store *st;
    struct hcache *cache;         /* NULL until the cache service started */
    struct api_server *api;       /* NULL until the api service started */
    void *state[HUB_MODULES_MAX]; /* per-module service state, by position in hub_modules_all */
    bool started[HUB_MODULES_MAX];
};

struct hub_module {
    const char *name;
    int order; /* start order (ascending), stop in reverse: cache 10, api 30, scheduler 50 */
    /* Once per process, before any start: api_route_add, sched_job_add. May be NULL. */
    void (*reg)(void);
    /* The top-level configuration key this module owns ({"billing": {...}}), NULL for none, and
     * its validator, run whenever the file is loaded (start and SIGHUP): a bad section fails
     * the load with err filled, like any other configuration error. section is NULL when the
     * key is absent. The module reads the values at start/reload via hub_env_section. */
    const char *section;
    int (*settings_check)(const json_t *section, char *err, size_t errcap);
    /* The service; all may be NULL. start returns 0 or a negative error (logged by the caller,
     * the hub then stops); *state is handed back to reload and stop. */
    int (*start)(struct hub_env *env, void **state);
    /* SIGHUP with a configuration that parsed: apply what can change live. */
    void (*reload)(struct hub_env *env, void *state, const struct hub_cfg *next);
    void (*stop)(struct hub_env *env, void *state);
};

#define HUB_MODULE(name) const struct hub_module hub_module_##name

/* The generated list (build/.../hub_modules_list.c), NULL-terminated. */
extern const struct hub_module *const hub_modules_all[];

/* Runs every .reg once (thread-safe, idempotent). */
void hub_modules_register(void);
/* The module owning a top-level configuration key, or NULL. */
const struct hub_module *hub_module_for_section(const char *key);

/* The module's configuration section ({"<key>": {...}}) in the running document, or NULL. */
const json_t *hub_env_section(const struct hub_env *env, const char *key);

int hub_services_start(struct hub_env *env);
/* Re-reads env->cfg_path: on success every .reload gets the new configuration, the log level
 * applies and the settings that need a restart are logged; on a parse error the running
 * configuration is kept (logged). cur is the caller's copy behind env->cfg; boot_admin_hash the
 * SHA-256 hex of the admin token the hub started with ("" for none). */
void hub_services_reload(struct hub_env *env, struct hub_cfg *cur, const char *boot_admin_hash);
void hub_services_stop(struct hub_env *env);

#endif
