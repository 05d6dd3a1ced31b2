/* Limits settings in the node config: clients[i].veil, veil.limits, veil.redis (with their
 * errors), and hub users' limits arriving as node_user fields through the hub layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/sync.h"
#include "nodecfg/config.h"
#include "node/hubsync.h"
#include "nodecfg/overlay.h"

#define CFG_HEAD                                                                                                       \
    "{\"inbounds\": [{\"listen\": \"127.0.0.1\", \"port\": 8443, \"protocol\": \"vless\","                             \
    " \"settings\": {\"decryption\": \"none\", \"clients\": ["
#define CFG_MID                                                                                                        \
    "]}, \"streamSettings\": {\"network\": \"raw\", \"security\": \"reality\", \"realitySettings\": {"                 \
    "  \"target\": \"127.0.0.1:9443\", \"serverNames\": [\"example.com\"],"                                            \
    "  \"privateKey\": \"EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8\", \"shortIds\": [\"\"]}}}],"                     \
    " \"outbounds\": [{\"protocol\": \"freedom\"}], \"veil\": {\"workers\": 1"
#define CFG_TAIL "}}"

static struct node_cfg *load(struct cfg_ctx *c, const char *clients, const char *veil)
{
    char text[4096];
    snprintf(text, sizeof(text), "%s%s%s%s%s", CFG_HEAD, clients, CFG_MID, veil, CFG_TAIL);
    cfg_init(c, "node.json");
    return node_cfg_load(c, text, strlen(text));
}

static bool has_msg(const struct cfg_ctx *c, const char *needle)
{
    for (size_t i = 0; i < c->n_msgs; i++)
        if (strstr(c->msgs[i].text, needle))
            return true;
    return false;
}

static void test_user_limits(void **state)
{
    (void)state;
    struct cfg_ctx c;
    struct node_cfg *cfg =
        load(&c,
             "{\"id\": \"b831381d-6324-4d53-ad4f-8cda48b30811\", \"email\": \"a@x\","
             " \"veil\": {\"deviceLimit\": 3, \"maxConnections\": 10, \"speedLimit\": 2000000}},"
             "{\"id\": \"c831381d-6324-4d53-ad4f-8cda48b30811\", \"email\": \"b@x\"}",
             ", \"limits\": {\"deviceWindowSec\": 120, \"handshakesPerSecPerIp\": 20, \"handshakeBurst\": 40},"
             " \"redis\": {\"url\": \"redis://127.0.0.1:6379/1\", \"timeoutMs\": 150}");
    assert_non_null(cfg);
    const struct node_user *a = &cfg->inbounds[0].users[0], *b = &cfg->inbounds[0].users[1];
    assert_int_equal(a->device_limit, 3);
    assert_int_equal(a->max_conns, 10);
    assert_int_equal(a->speed_limit, 2000000);
    assert_int_equal(b->device_limit + b->max_conns + b->speed_limit, 0);
    assert_int_equal(cfg->device_window_sec, 120);
    assert_int_equal(cfg->handshakes_per_sec_per_ip, 20);
    assert_int_equal(cfg->handshake_burst, 40);
    assert_string_equal(cfg->redis_url, "redis://127.0.0.1:6379/1");
    assert_int_equal(cfg->redis_timeout_ms, 150);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    cfg = load(&c, "{\"id\": \"b831381d-6324-4d53-ad4f-8cda48b30811\"}", "");
    assert_non_null(cfg);
    assert_int_equal(cfg->device_window_sec, 300);        /* defaults */
    assert_int_equal(cfg->handshakes_per_sec_per_ip, 50); /* on by default (issue 10 item 5) */
    assert_int_equal(cfg->handshake_burst, 200);
    assert_int_equal(cfg->fallback_idle_sec, 30);
    assert_null(cfg->redis_url);
    assert_int_equal(cfg->n_blocked_ports, 1); /* SMTP blocked by default */
    assert_int_equal(cfg->blocked_ports[0], 25);
    assert_int_equal(cfg->probe_fallbacks, 100); /* probing guard on by default */
    assert_int_equal(cfg->probe_window_sec, 60);
    assert_int_equal(cfg->probe_ban_sec, 600);
    assert_int_equal(cfg->probe_dials_per_sec, 2);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    /* a rate without a burst keeps its old meaning (burst = rate); 0 turns the limit off */
    cfg = load(&c, "{\"id\": \"b831381d-6324-4d53-ad4f-8cda48b30811\"}",
               ", \"limits\": {\"handshakesPerSecPerIp\": 5}, \"fallbackIdleSec\": 7");
    assert_non_null(cfg);
    assert_int_equal(cfg->handshakes_per_sec_per_ip, 5);
    assert_int_equal(cfg->handshake_burst, 0);
    assert_int_equal(cfg->fallback_idle_sec, 7);
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    cfg = load(&c, "{\"id\": \"b831381d-6324-4d53-ad4f-8cda48b30811\"}",
               ", \"blockedPorts\": [25, 465, 587], \"limits\": {\"probeFallbacks\": 10, \"probeWindowSec\": 5,"
               " \"probeBanSec\": 30, \"probeDialsPerSec\": 0}");
    assert_non_null(cfg);
    assert_int_equal(cfg->n_blocked_ports, 3);
    assert_int_equal(cfg->blocked_ports[2], 587);
    assert_int_equal(cfg->probe_fallbacks, 10);
    assert_int_equal(cfg->probe_window_sec, 5);
    assert_int_equal(cfg->probe_ban_sec, 30);
    assert_int_equal(cfg->probe_dials_per_sec, 0);
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    cfg = load(&c, "{\"id\": \"b831381d-6324-4d53-ad4f-8cda48b30811\"}", ", \"blockedPorts\": []");
    assert_non_null(cfg);
    assert_int_equal(cfg->n_blocked_ports, 0); /* an operator that allows SMTP */
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    cfg =
        load(&c, "{\"id\": \"b831381d-6324-4d53-ad4f-8cda48b30811\"}", ", \"limits\": {\"handshakesPerSecPerIp\": 0}");
    assert_non_null(cfg);
    assert_int_equal(cfg->handshakes_per_sec_per_ip, 0);
    node_cfg_unref(cfg);
    cfg_dispose(&c);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *clients, *veil, *msg;
    } cases[] = {
        {"{\"id\": \"u1\", \"veil\": {\"devices\": 2}}", "", "clients[0].veil"},
        {"{\"id\": \"u1\", \"veil\": {\"deviceLimit\": -1}}", "", "deviceLimit"},
        {"{\"id\": \"u1\", \"veil\": {\"speedLimit\": 100}}", "", "at least 1024"},
        {"{\"id\": \"u1\", \"veil\": {\"maxConnections\": \"many\"}}", "", "maxConnections"},
        {"{\"id\": \"u1\", \"veil\": 5}", "", "veil"},
        {"{\"id\": \"u1\"}", ", \"limits\": {\"deviceWindowSec\": 1}", "deviceWindowSec"},
        {"{\"id\": \"u1\"}", ", \"limits\": {\"window\": 60}", "veil.limits"},
        {"{\"id\": \"u1\"}", ", \"redis\": {\"url\": \"http://x\"}", "redis.url"},
        {"{\"id\": \"u1\"}", ", \"redis\": {\"url\": \"redis://h:0\"}", "bad port"},
        {"{\"id\": \"u1\"}", ", \"redis\": {\"timeoutMs\": 1}", "timeoutMs"},
        {"{\"id\": \"u1\"}", ", \"blockedPorts\": 25", "blockedPorts"},
        {"{\"id\": \"u1\"}", ", \"blockedPorts\": [0]", "blockedPorts[0]: must be a port number"},
        {"{\"id\": \"u1\"}", ", \"blockedPorts\": [25, 70000]", "blockedPorts[1]"},
        {"{\"id\": \"u1\"}", ", \"blockedPorts\": [\"25\"]", "blockedPorts[0]"},
        {"{\"id\": \"u1\"}", ", \"blockedPorts\": [25, 25]", "listed twice"},
        {"{\"id\": \"u1\"}",
         ", \"blockedPorts\": "
         "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33]",
         "at most 32"},
        {"{\"id\": \"u1\"}", ", \"limits\": {\"probeWindowSec\": 0}", "probeWindowSec"},
        {"{\"id\": \"u1\"}", ", \"limits\": {\"probeBanSec\": -1}", "probeBanSec"},
        {"{\"id\": \"u1\"}", ", \"limits\": {\"probeFallbacks\": \"many\"}", "probeFallbacks"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cfg_ctx c;
        struct node_cfg *cfg = load(&c, cases[i].clients, cases[i].veil);
        if (cfg != NULL || !has_msg(&c, cases[i].msg)) {
            for (size_t k = 0; k < c.n_msgs; k++)
                print_message("case %zu: %s\n", i, c.msgs[k].text);
            fail_msg("case %zu: expected an error mentioning \"%s\"", i, cases[i].msg);
        }
        cfg_dispose(&c);
    }
}

/* Hub limits travel as the hub users' "veil" objects into node_user. */
static void test_hub_limits(void **state)
{
    (void)state;
    struct sync_user su[2] = {
        {.id = 7,
         .uuid = "d831381d-6324-4d53-ad4f-8cda48b30811",
         .email = "h@x",
         .flow = "xtls-rprx-vision",
         .device_limit = 2,
         .speed_limit = 1000000,
         .max_conns = 4},
        {.id = 8, .uuid = "e831381d-6324-4d53-ad4f-8cda48b30811", .email = "", .flow = "", .speed_limit = 10},
    };
    struct sync_users_resp table = {.revision = 1, .full = true, .users = su, .n_users = 2};
    struct node_overlay_user *hub = NULL;
    size_t n = 0;
    assert_int_equal(node_hubsync_users(&table, &hub, &n), 0);
    assert_int_equal(n, 2);
    char text[4096];
    snprintf(text, sizeof(text), "%s%s%s%s", CFG_HEAD, "{\"id\": \"b831381d-6324-4d53-ad4f-8cda48b30811\"}", CFG_MID,
             CFG_TAIL);
    struct cfg_ctx c;
    cfg_init(&c, "node.json");
    struct node_cfg *cfg = node_overlay_load_cfg_hub(text, strlen(text), NULL, hub, n, &c);
    assert_non_null(cfg);
    assert_int_equal(cfg->inbounds[0].n_users, 3);
    const struct node_user *h = &cfg->inbounds[0].users[1], *tiny = &cfg->inbounds[0].users[2];
    assert_int_equal(h->hub_id, 7);
    assert_int_equal(h->device_limit, 2);
    assert_int_equal(h->max_conns, 4);
    assert_int_equal(h->speed_limit, 1000000);
    assert_int_equal(tiny->hub_id, 8);
    assert_int_equal(tiny->speed_limit, 1024); /* raised to the smallest valid rate, not an error */
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    node_hubsync_users_free(hub, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_limits),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_hub_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
