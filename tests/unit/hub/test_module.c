/* Hub modules and services (hub/module.h): the generated list, start in order with unwinding on
 * failure, reload, stop; and scheduler jobs that modules add (periods, lock, removal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "hub/api/api.h"
#include "hub/hubcfg.h"
#include "hub/module.h"
#include "hub/scheduler/scheduler.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define T0 1764115200

static const struct hub_module *find(const char *name)
{
    for (size_t i = 0; hub_modules_all[i] != NULL; i++)
        if (strcmp(hub_modules_all[i]->name, name) == 0)
            return hub_modules_all[i];
    return NULL;
}

static void test_list(void **state)
{
    (void)state;
    const struct hub_module *api = find("api"), *cache = find("cache"), *sched = find("scheduler");
    assert_non_null(api);
    assert_non_null(cache);
    assert_non_null(sched);
    /* The cache exists before the API and the scheduler use it. */
    assert_true(cache->order < api->order && api->order < sched->order);
    hub_modules_register();
    hub_modules_register(); /* idempotent: no route or job is added twice (that would abort) */
    size_t n;
    api_routes(&n);
    assert_true(n >= 40);
    assert_int_equal(sched_job_add("subscriptions", 0, NULL, NULL, true), ERR_MALFORMED);
}

/* A module's top-level section is accepted, checked by the module (a bad one fails the load
 * with the section named) and handed to it through hub_env_section; other keys stay errors. */
static void test_settings_sections(void **state)
{
    (void)state;
    struct hub_cfg c;
    char err[256], json[512];
    size_t checked = 0;
    for (size_t i = 0; hub_modules_all[i] != NULL; i++) {
        const struct hub_module *m = hub_modules_all[i];
        if (m->section == NULL)
            continue;
        assert_ptr_equal(hub_module_for_section(m->section), m);
        if (m->settings_check == NULL)
            continue;
        snprintf(json, sizeof json, "{\"database\":\"sqlite::memory:\",\"%s\":12345}", m->section);
        err[0] = '\0';
        assert_int_equal(hubcfg_parse(json, strlen(json), &c, err, sizeof err), ERR_CONFIG);
        char want[80]; /* the module's reason, at the section's path */
        snprintf(want, sizeof want, "hub.json: %s: ", m->section);
        assert_int_equal(strncmp(err, want, strlen(want)), 0);
        checked++;
    }
    printf("module sections checked: %zu\n", checked);
    assert_null(hub_module_for_section("no_such_section"));
    static const char unknown[] = "{\"database\":\"sqlite::memory:\",\"no_such_section\":{}}";
    assert_int_equal(hubcfg_parse(unknown, strlen(unknown), &c, err, sizeof err), ERR_CONFIG);
    assert_non_null(strstr(err, "no_such_section"));
    /* The document keeps module sections for hub_env_section, and not the admin token. */
    char path[] = "/tmp/veil-hub-sections-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"database\":\"sqlite::memory:\",\"admin_token\":\"0123456789abcdef0123\",\"scheduler\":{\"interval\":5}}",
          f);
    fclose(f);
    struct hub_env env = {.cfg = &c};
    assert_int_equal(hubcfg_load_doc(path, &c, &env.doc, err, sizeof err), 0);
    assert_non_null(hub_env_section(&env, "scheduler"));
    assert_null(hub_env_section(&env, "admin_token"));
    assert_null(hub_env_section(&env, "absent"));
    json_decref(env.doc);
    unlink(path);
}

static int write_cfg(const char *path, const char *json)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(json, f);
    return fclose(f);
}

/* Start, reload, stop; a service that fails to start stops the ones before it. */
static void test_services(void **state)
{
    (void)state;
    char path[] = "/tmp/veil-hub-module-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(write_cfg(path, "{\"database\":\"sqlite::memory:\",\"port\":0,\"threads\":2,"
                                     "\"scheduler\":{\"interval\":1}}"),
                     0);
    struct hub_cfg cfg;
    struct hub_env env = {.cfg = &cfg, .cfg_path = path};
    char err[256];
    assert_int_equal(hubcfg_load_doc(path, &cfg, &env.doc, err, sizeof err), 0);
    env.st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(env.st);
    assert_int_equal(hub_services_start(&env), 0);
    assert_non_null(env.cache);
    assert_non_null(env.api);
    uint16_t port = api_port(env.api);
    assert_true(port > 0);

    /* SIGHUP: the title applies live; a bad file keeps the running configuration. */
    assert_int_equal(write_cfg(path, "{\"database\":\"sqlite::memory:\",\"port\":0,\"threads\":2,"
                                     "\"scheduler\":{\"interval\":1},\"subscription\":{\"title\":\"Renamed\"}}"),
                     0);
    hub_services_reload(&env, &cfg, "");
    assert_string_equal(cfg.sub_title, "Renamed");
    assert_int_equal(write_cfg(path, "{\"database\":\"sqlite::memory:\",\"no_such_key\":1}"), 0);
    hub_services_reload(&env, &cfg, "");
    assert_string_equal(cfg.sub_title, "Renamed");

    /* A second hub on the same port: the API cannot bind, the cache it opened is closed again. */
    struct hub_cfg cfg2 = cfg;
    cfg2.port = port;
    struct hub_env env2 = {.cfg = &cfg2, .st = env.st};
    assert_true(hub_services_start(&env2) < 0);
    assert_null(env2.cache);
    assert_null(env2.api);
    for (size_t i = 0; i < HUB_MODULES_MAX; i++)
        assert_false(env2.started[i]);

    hub_services_stop(&env);
    assert_null(env.api);
    assert_null(env.cache);
    hub_services_stop(&env); /* twice is harmless */
    store_close(env.st);
    json_decref(env.doc);
    unlink(path);
}

static int runs_a, runs_b;

static int job_a(struct sched_pass *p, void *ctx)
{
    (void)p;
    (*(int *)ctx)++;
    return 0;
}

static int job_fails(struct sched_pass *p, void *ctx)
{
    (void)p;
    (void)ctx;
    return ERR_IO;
}

static void test_jobs(void **state)
{
    (void)state;
    struct store *st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    assert_int_equal(sched_job_add("test_every_100s", 100, job_a, &runs_a, true), 0);
    assert_int_equal(sched_job_add("test_every_100s", 100, job_a, &runs_a, true), ERR_EXISTS);
    assert_int_equal(sched_job_add("test_local", 0, job_a, &runs_b, false), 0);
    bool ran;
    assert_int_equal(sched_tick(st, "hub-a", 60, 0, T0, &ran), 0);
    assert_true(ran);
    assert_int_equal(runs_a, 1);
    assert_int_equal(runs_b, 1);
    assert_int_equal(sched_tick(st, "hub-a", 60, 0, T0 + 50, &ran), 0);
    assert_int_equal(runs_a, 1); /* not due yet */
    assert_int_equal(runs_b, 2);
    /* Another replica without the lock runs only the local job. */
    assert_int_equal(sched_tick(st, "hub-b", 60, 0, T0 + 100, &ran), 0);
    assert_false(ran);
    assert_int_equal(runs_a, 1);
    assert_int_equal(runs_b, 3);
    assert_int_equal(sched_tick(st, "hub-a", 60, 0, T0 + 100, &ran), 0);
    assert_int_equal(runs_a, 2);
    /* A failing job is reported and the others still run. */
    assert_int_equal(sched_job_add("test_fails", 0, job_fails, NULL, true), 0);
    assert_int_equal(sched_tick(st, "hub-a", 60, 0, T0 + 200, &ran), ERR_IO);
    assert_int_equal(runs_a, 3);
    assert_int_equal(sched_job_remove("test_fails"), 0);
    assert_int_equal(sched_job_remove("test_fails"), ERR_NOT_FOUND);
    assert_int_equal(sched_job_remove("test_every_100s"), 0);
    assert_int_equal(sched_job_remove("test_local"), 0);
    assert_int_equal(sched_tick(st, "hub-a", 60, 0, T0 + 400, &ran), 0);
    assert_int_equal(runs_a, 3);
    assert_int_equal(runs_b, 5);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_list), cmocka_unit_test(test_settings_sections),
                                       cmocka_unit_test(test_services), cmocka_unit_test(test_jobs)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
