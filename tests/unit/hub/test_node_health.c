/* The node liveness rule behind /sub: never-seen and silent nodes are not served, a push brings
 * them back, operator exclusions and stored health still apply, cache lifetimes never outlive
 * the first node going stale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/node_health.h"
#include "hub/hubcfg.h"

#define NOW 1764115200
#define DEAD 30

static struct hub_node node(int64_t last_seen, enum hub_health h)
{
    struct hub_node n;
    memset(&n, 0, sizeof n);
    n.id = 1;
    n.weight = 1;
    n.health = h;
    n.last_seen = last_seen;
    return n;
}

static void test_never_seen_is_not_served(void **state)
{
    (void)state;
    /* The bug this rule fixes: a registered node that never started was served forever. */
    struct hub_node n = node(0, HUB_HEALTH_UNKNOWN);
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_UNSEEN);
    assert_false(hub_node_servable(&n, NOW, DEAD));
    assert_int_equal(hub_node_fresh_for(&n, NOW, DEAD), 0);
    /* ... whatever its stored health says. */
    n.health = HUB_HEALTH_UP;
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_UNSEEN);
}

static void test_stale_after_dead_after(void **state)
{
    (void)state;
    /* Stored health still 'up' (the scheduler has not run): the push time decides. */
    struct hub_node n = node(NOW - (DEAD - 1), HUB_HEALTH_UP);
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_SERVED);
    assert_int_equal(hub_node_fresh_for(&n, NOW, DEAD), 1);
    n.last_seen = NOW - DEAD;
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_STALE);
    assert_int_equal(hub_node_fresh_for(&n, NOW, DEAD), 0);
    n.last_seen = NOW - 100000;
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_STALE);
    /* A push just now: back, for a full dead_after. */
    n.last_seen = NOW;
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_SERVED);
    assert_int_equal(hub_node_fresh_for(&n, NOW, DEAD), DEAD);
    /* Another hub's clock ahead of ours: fresh, not negative or huge. */
    n.last_seen = NOW + 5;
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_SERVED);
    assert_int_equal(hub_node_fresh_for(&n, NOW, DEAD), DEAD);
    /* Extreme inputs do not overflow. */
    n.last_seen = 1;
    assert_int_equal(hub_node_verdict(&n, INT64_MAX, DEAD), HUB_NODE_STALE);
    n.last_seen = INT64_MAX;
    assert_int_equal(hub_node_verdict(&n, INT64_MIN, DEAD), HUB_NODE_SERVED);
}

static void test_operator_and_stored_health(void **state)
{
    (void)state;
    struct hub_node n = node(NOW, HUB_HEALTH_UP);
    n.weight = 0;
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_EXCLUDED);
    n.weight = 5;
    n.draining = true;
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_EXCLUDED);
    n.draining = false;
    n.health = HUB_HEALTH_DOWN;
    assert_int_equal(hub_node_verdict(&n, NOW, DEAD), HUB_NODE_DOWN);
    assert_int_equal(hub_node_fresh_for(&n, NOW, DEAD), 0);
}

static void test_rule_off(void **state)
{
    (void)state;
    /* dead_after 0: the old behaviour, stored health only. */
    struct hub_node n = node(0, HUB_HEALTH_UNKNOWN);
    assert_int_equal(hub_node_verdict(&n, NOW, 0), HUB_NODE_SERVED);
    assert_int_equal(hub_node_fresh_for(&n, NOW, 0), INT64_MAX);
    n.health = HUB_HEALTH_DOWN;
    assert_int_equal(hub_node_verdict(&n, NOW, 0), HUB_NODE_DOWN);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(hub_node_verdict_name(HUB_NODE_SERVED), "served");
    assert_string_equal(hub_node_verdict_name(HUB_NODE_UNSEEN), "unseen");
    assert_string_equal(hub_node_verdict_name(HUB_NODE_STALE), "stale");
    assert_string_equal(hub_node_verdict_name((enum hub_node_verdict)99), "?");
}

static void test_probe_answer(void **state)
{
    (void)state;
    static const uint8_t server_hello[] = {22, 3, 3, 0, 122, 2};
    static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 40};
    static const uint8_t http[] = "HTTP/1.1 400 Bad Request\r\n";
    static const uint8_t ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
    assert_true(hub_probe_answer_is_tls(server_hello, sizeof server_hello));
    assert_true(hub_probe_answer_is_tls(alert, sizeof alert));
    assert_false(hub_probe_answer_is_tls(server_hello, 4)); /* short */
    assert_false(hub_probe_answer_is_tls(http, sizeof http - 1));
    assert_false(hub_probe_answer_is_tls(ssh, sizeof ssh - 1));
    assert_false(hub_probe_answer_is_tls((const uint8_t[]){23, 3, 3, 0, 10}, 5));   /* application data first */
    assert_false(hub_probe_answer_is_tls((const uint8_t[]){22, 3, 3, 0, 0}, 5));    /* empty record */
    assert_false(hub_probe_answer_is_tls((const uint8_t[]){22, 3, 3, 0x48, 1}, 5)); /* too long */
    assert_false(hub_probe_answer_is_tls((const uint8_t[]){22, 2, 0, 0, 10}, 5));   /* SSL 2 */
    assert_false(hub_probe_answer_is_tls(NULL, 0));
}

static void test_probe_record(void **state)
{
    (void)state;
    struct hub_probe p = {0};
    assert_false(hub_probe_record(&p, false, 3));
    assert_false(hub_probe_record(&p, false, 3));
    assert_false(p.down);
    assert_true(hub_probe_record(&p, false, 3)); /* third failure in a row: down */
    assert_true(p.down);
    assert_false(hub_probe_record(&p, false, 3)); /* still down: no change */
    assert_true(hub_probe_record(&p, true, 3));   /* first success: up */
    assert_false(p.down);
    /* A success in between starts the count again. */
    hub_probe_record(&p, false, 3);
    hub_probe_record(&p, false, 3);
    hub_probe_record(&p, true, 3);
    hub_probe_record(&p, false, 3);
    assert_false(p.down);
    struct hub_probe q = {0};
    assert_true(hub_probe_record(&q, false, 0)); /* threshold 0 counts as 1 */
}

static void test_fleet_config(void **state)
{
    (void)state;
    struct hub_cfg c;
    char err[256];
    const char *min = "{\"database\":\"sqlite:x\"}";
    assert_int_equal(hubcfg_parse(min, strlen(min), &c, err, sizeof err), 0);
    assert_int_equal(c.node_dead_after, 30); /* on by default */
    /* Nodes told to sync every 60 s would flap out at 30 s: the default follows. */
    const char *slow = "{\"database\":\"sqlite:x\",\"sync_interval\":60}";
    assert_int_equal(hubcfg_parse(slow, strlen(slow), &c, err, sizeof err), 0);
    assert_int_equal(c.node_dead_after, 120);
    const char *set = "{\"database\":\"sqlite:x\",\"sync_interval\":5,\"fleet\":{\"dead_after\":12}}";
    assert_int_equal(hubcfg_parse(set, strlen(set), &c, err, sizeof err), 0);
    assert_int_equal(c.node_dead_after, 12);
    const char *off = "{\"database\":\"sqlite:x\",\"fleet\":{\"dead_after\":0}}";
    assert_int_equal(hubcfg_parse(off, strlen(off), &c, err, sizeof err), 0);
    assert_int_equal(c.node_dead_after, 0);
    static const char *const bad[] = {
        "{\"database\":\"sqlite:x\",\"fleet\":{\"dead_after\":15}}", /* <= sync_interval 15 */
        "{\"database\":\"sqlite:x\",\"fleet\":{\"dead_after\":-1}}",
        "{\"database\":\"sqlite:x\",\"fleet\":{\"dead_after\":\"30\"}}",
        "{\"database\":\"sqlite:x\",\"fleet\":{\"deadafter\":30}}",
        "{\"database\":\"sqlite:x\",\"fleet\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (hubcfg_parse(bad[i], strlen(bad[i]), &c, err, sizeof err) != ERR_CONFIG)
            fail_msg("accepted %s", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_seen_is_not_served),
        cmocka_unit_test(test_stale_after_dead_after),
        cmocka_unit_test(test_operator_and_stored_health),
        cmocka_unit_test(test_rule_off),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_fleet_config),
        cmocka_unit_test(test_probe_answer),
        cmocka_unit_test(test_probe_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
