/* nodecfg/config: the node's secrets (REALITY private key, admin token, hub token, Redis URL) read
 * from <key>File, from $CREDENTIALS_DIRECTORY or from VEIL_NODE_* instead of the JSON; files that
 * group or others may read are refused, naming the file and not the secret. */
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

#include "nodecfg/config.h"

#define PRIV "EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8"
#define ADMIN "admin-canary-0123456789"
#define HUBTOK "hub-canary-0123456789abcdef"

/* One REALITY inbound; %s is the realitySettings key/value pair for the private key, the
 * second %s the veil section's secret pairs. */
static const char tmpl[] =
    "{\"inbounds\": [{\"tag\": \"in\", \"listen\": \"127.0.0.1\", \"port\": 4443, \"protocol\": \"vless\","
    "  \"settings\": {\"clients\": [{\"id\": \"b831381d-6324-4d53-ad4f-8cda48b30811\", \"flow\": "
    "\"xtls-rprx-vision\"}], \"decryption\": \"none\"},"
    "  \"streamSettings\": {\"network\": \"raw\", \"security\": \"reality\", \"realitySettings\": {"
    "   \"target\": \"www.example.com:443\", \"serverNames\": [\"www.example.com\"], \"shortIds\": [\"\"]%s}}}],"
    " \"outbounds\": [{\"protocol\": \"freedom\", \"tag\": \"direct\"}],"
    " \"veil\": {\"adminListen\": \"127.0.0.1:9090\"%s,"
    "  \"hub\": {\"url\": \"http://127.0.0.1:1\"%s}}}";

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/veil_node_secret_XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("VEIL_NODE_REALITY_PRIVATE_KEY");
    unsetenv("VEIL_NODE_ADMIN_TOKEN");
    unsetenv("VEIL_NODE_HUB_TOKEN");
    return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const char *content, mode_t mode)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", content);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* Loads the template with the three fragments; the messages are left in *c. */
static struct node_cfg *load(struct cfg_ctx *c, const char *reality, const char *veil, const char *hub)
{
    char text[4096];
    snprintf(text, sizeof text, tmpl, reality, veil, hub);
    cfg_init(c, "node.json");
    return node_cfg_load(c, text, strlen(text));
}

/* Every message joined, to search in. */
static void messages(const struct cfg_ctx *c, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->n_msgs && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s\n", c->msgs[i].text);
}

static void check_loaded(struct node_cfg *cfg, const struct node_cfg *want)
{
    assert_non_null(cfg);
    assert_memory_equal(cfg->inbounds[0].private_key, want->inbounds[0].private_key, 32);
    assert_string_equal(cfg->admin_token, ADMIN);
    assert_string_equal(cfg->hub_token, HUBTOK);
}

static void test_files_give_the_same_config_as_inline(void **state)
{
    (void)state;
    struct cfg_ctx c;
    struct node_cfg *inl =
        load(&c, ", \"privateKey\": \"" PRIV "\"", ", \"adminToken\": \"" ADMIN "\"", ", \"token\": \"" HUBTOK "\"");
    assert_non_null(inl);
    cfg_dispose(&c);
    put("key", PRIV, 0600);
    put("admin", ADMIN, 0400);
    put("hub", HUBTOK, 0600);
    char r[128], v[128], h[128];
    snprintf(r, sizeof r, ", \"privateKeyFile\": \"%s/key\"", dir);
    snprintf(v, sizeof v, ", \"adminTokenFile\": \"%s/admin\"", dir);
    snprintf(h, sizeof h, ", \"tokenFile\": \"%s/hub\"", dir);
    struct node_cfg *cfg = load(&c, r, v, h);
    check_loaded(cfg, inl);
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    /* The same from the credentials directory and the environment. */
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    put("reality_private_key", PRIV, 0400);
    put("admin_token", ADMIN, 0400);
    setenv("VEIL_NODE_HUB_TOKEN", HUBTOK, 1);
    cfg = load(&c, "", "", "");
    check_loaded(cfg, inl);
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    node_cfg_unref(inl);
}

static void test_readable_file_refused_by_name(void **state)
{
    (void)state;
    put("key", PRIV, 0644);
    char r[128], all[2048];
    snprintf(r, sizeof r, ", \"privateKeyFile\": \"%s/key\"", dir);
    struct cfg_ctx c;
    assert_null(load(&c, r, ", \"adminToken\": \"" ADMIN "\"", ", \"token\": \"" HUBTOK "\""));
    messages(&c, all, sizeof all);
    assert_non_null(strstr(all, "inbounds[0].streamSettings.realitySettings.privateKeyFile"));
    assert_non_null(strstr(all, "/key: holds a secret but group or others may access it (mode 0644)"));
    assert_null(strstr(all, PRIV));
    cfg_dispose(&c);
    /* Both the key and its file: refused. */
    put("key", PRIV, 0600);
    char both[256];
    snprintf(both, sizeof both, ", \"privateKey\": \"" PRIV "\", \"privateKeyFile\": \"%s/key\"", dir);
    assert_null(load(&c, both, ", \"adminToken\": \"" ADMIN "\"", ", \"token\": \"" HUBTOK "\""));
    messages(&c, all, sizeof all);
    assert_non_null(strstr(all, "not both"));
    cfg_dispose(&c);
    /* A missing admin token file is an error naming it, not a node without a token. */
    char v[128];
    snprintf(v, sizeof v, ", \"adminTokenFile\": \"%s/absent\"", dir);
    assert_null(load(&c, ", \"privateKey\": \"" PRIV "\"", v, ", \"token\": \"" HUBTOK "\""));
    messages(&c, all, sizeof all);
    assert_non_null(strstr(all, "veil.adminTokenFile"));
    assert_non_null(strstr(all, "/absent: cannot open"));
    cfg_dispose(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_files_give_the_same_config_as_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_file_refused_by_name, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
