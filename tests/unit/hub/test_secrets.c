/* hub/hubcfg: every secret of hub.json (admin token, database and Redis URLs, billing provider
 * keys, bot token) may come from <key>_file, $CREDENTIALS_DIRECTORY/<name> or VEIL_HUB_<NAME>;
 * readable files are refused naming the file; the document modules read holds the value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "hub/hubcfg.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/veil_hub_secret_XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("VEIL_HUB_DATABASE");
    unsetenv("VEIL_HUB_BILLING_CRYPTOBOT_TOKEN");
    return system(cmd) == 0 ? 0 : -1;
}

static const char *put(const char *name, const char *content, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", content);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static int parse(const char *text, struct hub_cfg *cfg, char *err)
{
    return hubcfg_parse(text, strlen(text), cfg, err, 512);
}

static void test_top_level_from_files_credentials_env(void **state)
{
    (void)state;
    struct hub_cfg cfg;
    char err[512] = "", doc[1024];
    put("admin", "admin-canary-0123456789", 0600);
    put("db", "postgresql://veil:db-canary@127.0.0.1/veil", 0400);
    snprintf(doc, sizeof doc, "{\"database_file\": \"%s/db\", \"admin_token_file\": \"%s/admin\"}", dir, dir);
    assert_int_equal(parse(doc, &cfg, err), 0);
    assert_string_equal(cfg.admin_token, "admin-canary-0123456789");
    assert_string_equal(cfg.database, "postgresql://veil:db-canary@127.0.0.1/veil");
    /* systemd credentials, then the environment, when hub.json names none. */
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    put("redis_url", "redis://:redis-canary@127.0.0.1:6379/0", 0400);
    put("admin_token", "cred-admin-0123456789", 0400);
    setenv("VEIL_HUB_DATABASE", "sqlite:/tmp/x.db", 1);
    assert_int_equal(parse("{}", &cfg, err), 0);
    assert_string_equal(cfg.database, "sqlite:/tmp/x.db");
    assert_string_equal(cfg.redis_url, "redis://:redis-canary@127.0.0.1:6379/0");
    assert_string_equal(cfg.admin_token, "cred-admin-0123456789");
    unsetenv("VEIL_HUB_DATABASE");
    unsetenv("CREDENTIALS_DIRECTORY");
    assert_int_equal(parse("{}", &cfg, err), ERR_CONFIG); /* database is still required */
    assert_non_null(strstr(err, "database"));
}

static void test_readable_or_doubled_refused(void **state)
{
    (void)state;
    struct hub_cfg cfg;
    char err[512] = "", doc[1024];
    put("admin", "admin-canary-0123456789", 0644);
    snprintf(doc, sizeof doc, "{\"database\": \"sqlite:/tmp/x.db\", \"admin_token_file\": \"%s/admin\"}", dir);
    assert_int_equal(parse(doc, &cfg, err), ERR_CONFIG);
    assert_non_null(strstr(err, "admin_token_file"));
    assert_non_null(strstr(err, "/admin: holds a secret but group or others may access it (mode 0644)"));
    assert_null(strstr(err, "canary"));
    put("admin", "admin-canary-0123456789", 0600);
    snprintf(doc, sizeof doc,
             "{\"database\": \"sqlite:/tmp/x.db\", \"admin_token\": \"x0123456789abcdef\", "
             "\"admin_token_file\": \"%s/admin\"}",
             dir);
    assert_int_equal(parse(doc, &cfg, err), ERR_CONFIG);
    assert_non_null(strstr(err, "not both"));
}

/* Module sections: the secret reaches the module's check and the document it reads later. */
static void test_module_sections(void **state)
{
    (void)state;
    struct hub_cfg cfg;
    char err[512] = "", doc[1024], cfgpath[128];
    put("yk", "yk-canary-secret", 0600);
    snprintf(doc, sizeof doc,
             "{\"database\": \"sqlite:/tmp/x.db\", \"billing\": {\"yookassa\": {\"shop_id\": \"1\", "
             "\"secret_key_file\": \"%s/yk\", \"return_url\": \"https://e.example/\"}, \"cryptobot\": {}}}",
             dir);
    setenv("VEIL_HUB_BILLING_CRYPTOBOT_TOKEN", "123:cryptobot-canary", 1);
    snprintf(cfgpath, sizeof cfgpath, "%s/hub.json", dir);
    FILE *f = fopen(cfgpath, "w");
    assert_non_null(f);
    fputs(doc, f);
    assert_int_equal(fclose(f), 0);
    json_t *j = NULL;
    assert_int_equal(hubcfg_load_doc(cfgpath, &cfg, &j, err, sizeof err), 0);
    json_t *b = json_object_get(j, "billing");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "yookassa"), "secret_key")),
                        "yk-canary-secret");
    assert_null(json_object_get(json_object_get(b, "yookassa"), "secret_key_file"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "cryptobot"), "token")),
                        "123:cryptobot-canary");
    json_decref(j);
    /* A bad file in a module section fails the load with the section's path. */
    put("yk", "yk-canary-secret", 0604);
    assert_int_equal(hubcfg_load_doc(cfgpath, &cfg, &j, err, sizeof err), ERR_CONFIG);
    assert_non_null(strstr(err, "billing.yookassa.secret_key_file"));
    assert_null(strstr(err, "canary"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_top_level_from_files_credentials_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_or_doubled_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_sections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
