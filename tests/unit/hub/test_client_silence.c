/* The "unreachable from clients" rule: three nodes reporting handshakes (fake pushes as
 * handshake_at times); one stops getting them: marked after `silence` seconds while the others
 * still have them, never when the whole fleet is quiet, never a node that never had one; a
 * silent node is not served; the rule off clears marks; retry after `retry` seconds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hub/domain/client_silence.h"
#include "hub/domain/node_health.h"

#define T0 1764115200
#define SILENCE 120

static struct hub_node node(int64_t id, int64_t handshake_at)
{
    struct hub_node n;
    memset(&n, 0, sizeof n);
    n.id = id;
    n.weight = 1;
    n.health = HUB_HEALTH_UP;
    n.last_seen = T0;
    n.handshake_at = handshake_at;
    return n;
}

/* Runs the rule over the fleet at `now` the way the job does: marks and clears in place. */
static void pass(struct hub_node *f, size_t n, int64_t now, const struct hub_silence_cfg *cfg,
                 enum hub_silence_action *acts)
{
    for (size_t i = 0; i < n; i++) {
        acts[i] = hub_silence_decide(f, n, i, now, cfg);
        if (acts[i] == HUB_SILENCE_MARK)
            f[i].silent_since = now;
        else if (acts[i] != HUB_SILENCE_KEEP)
            f[i].silent_since = 0;
        if (acts[i] == HUB_SILENCE_RETRY)
            f[i].handshake_at = now;
    }
}

static void test_one_node_goes_quiet(void **state)
{
    (void)state;
    struct hub_silence_cfg cfg = {.silence = SILENCE, .retry = 0};
    struct hub_node f[3] = {node(1, T0), node(2, T0), node(3, T0)};
    enum hub_silence_action a[3];
    /* Pushes every 10 s: nodes 1 and 2 keep reporting handshakes, node 3 stops after T0. */
    int64_t marked_at = 0;
    for (int64_t t = T0 + 10; t <= T0 + 300; t += 10) {
        f[0].handshake_at = f[1].handshake_at = t;
        f[0].last_seen = f[1].last_seen = f[2].last_seen = t; /* all three keep checking in */
        pass(f, 3, t, &cfg, a);
        assert_int_equal(a[0], HUB_SILENCE_KEEP);
        assert_int_equal(a[1], HUB_SILENCE_KEEP);
        if (a[2] == HUB_SILENCE_MARK) {
            assert_int_equal(marked_at, 0);
            marked_at = t;
        }
    }
    /* Out exactly `silence` seconds after its last handshake, and only once. */
    assert_int_equal(marked_at, T0 + SILENCE);
    assert_int_equal(hub_node_verdict(&f[2], T0 + 300, 30), HUB_NODE_SILENT);
    assert_false(hub_node_servable(&f[2], T0 + 300, 30));
    assert_string_equal(hub_node_verdict_name(HUB_NODE_SILENT), "silent");
    assert_true(hub_node_servable(&f[0], T0 + 300, 30));
    /* Handshakes resume (the push handler clears the mark): served again, kept by the rule. */
    f[2].silent_since = 0;
    f[2].handshake_at = T0 + 310;
    pass(f, 3, T0 + 310, &cfg, a);
    assert_int_equal(a[2], HUB_SILENCE_KEEP);
    assert_true(hub_node_servable(&f[2], T0 + 310, 30));
}

static void test_whole_fleet_quiet_is_not_a_node_fault(void **state)
{
    (void)state;
    struct hub_silence_cfg cfg = {.silence = SILENCE};
    struct hub_node f[3] = {node(1, T0), node(2, T0), node(3, T0)};
    enum hub_silence_action a[3];
    /* Nobody has handshakes (night, or the hub's clients are all offline): nobody is marked. */
    pass(f, 3, T0 + 1000, &cfg, a);
    for (int i = 0; i < 3; i++)
        assert_int_equal(a[i], HUB_SILENCE_KEEP);
    /* Node 3 marked while the others were busy; then they go quiet too: its mark is lifted. */
    f[0].handshake_at = f[1].handshake_at = T0 + 1000;
    pass(f, 3, T0 + 1000, &cfg, a);
    assert_int_equal(a[2], HUB_SILENCE_MARK);
    pass(f, 3, T0 + 1000 + SILENCE + 1, &cfg, a);
    assert_int_equal(a[2], HUB_SILENCE_CLEAR_FLEET);
    assert_int_equal(f[2].silent_since, 0);
    /* A single node is never compared with anyone. */
    struct hub_node one[1] = {node(1, T0)};
    pass(one, 1, T0 + 10000, &cfg, a);
    assert_int_equal(a[0], HUB_SILENCE_KEEP);
}

static void test_never_heard_and_clock_skew(void **state)
{
    (void)state;
    struct hub_silence_cfg cfg = {.silence = SILENCE};
    /* Node 2 never reported a handshake (new, or a node too old to send the figure). */
    struct hub_node f[3] = {node(1, T0 + 500), node(2, 0), node(3, T0 + 900)};
    enum hub_silence_action a[3];
    pass(f, 3, T0 + 600, &cfg, a);
    assert_int_equal(a[1], HUB_SILENCE_KEEP);
    /* Node 3's last handshake is ahead of this hub's clock: fresh, not silent. */
    assert_int_equal(a[2], HUB_SILENCE_KEEP);
    /* Just under the limit: kept; at the limit: marked. */
    f[0].handshake_at = T0 + 600;
    f[2].handshake_at = T0 + 600 - SILENCE + 1;
    pass(f, 3, T0 + 600, &cfg, a);
    assert_int_equal(a[2], HUB_SILENCE_KEEP);
    pass(f, 3, T0 + 601, &cfg, a);
    assert_int_equal(a[2], HUB_SILENCE_MARK);
}

static void test_off_and_retry(void **state)
{
    (void)state;
    struct hub_silence_cfg cfg = {.silence = SILENCE, .retry = 600};
    struct hub_node f[2] = {node(1, T0), node(2, T0)};
    enum hub_silence_action a[2];
    f[0].handshake_at = T0 + 200;
    pass(f, 2, T0 + 200, &cfg, a);
    assert_int_equal(a[1], HUB_SILENCE_MARK);
    /* Silent for `retry` seconds while the other node stays busy: tried again with a new window. */
    f[0].handshake_at = T0 + 799;
    pass(f, 2, T0 + 799, &cfg, a);
    assert_int_equal(a[1], HUB_SILENCE_KEEP);
    f[0].handshake_at = T0 + 800;
    pass(f, 2, T0 + 800, &cfg, a);
    assert_int_equal(a[1], HUB_SILENCE_RETRY);
    assert_int_equal(f[1].silent_since, 0);
    assert_int_equal(f[1].handshake_at, T0 + 800);
    /* ... and marked again if its clients still cannot reach it. */
    f[0].handshake_at = T0 + 800 + SILENCE;
    pass(f, 2, T0 + 800 + SILENCE, &cfg, a);
    assert_int_equal(a[1], HUB_SILENCE_MARK);
    /* The rule turned off: marks are lifted, nothing new is marked. */
    struct hub_silence_cfg off = {0};
    pass(f, 2, T0 + 5000, &off, a);
    assert_int_equal(a[1], HUB_SILENCE_CLEAR_OFF);
    pass(f, 2, T0 + 5000, &off, a);
    assert_int_equal(a[1], HUB_SILENCE_KEEP);
    assert_string_equal(hub_silence_action_name(HUB_SILENCE_MARK), "mark");
}

/* Operator exclusions and liveness come first: a silent node that is also dead is "stale". */
static void test_verdict_order(void **state)
{
    (void)state;
    struct hub_node n = node(1, T0);
    n.silent_since = T0 + 5;
    assert_int_equal(hub_node_verdict(&n, T0 + 10, 30), HUB_NODE_SILENT);
    assert_int_equal(hub_node_verdict(&n, T0 + 100, 30), HUB_NODE_STALE);
    assert_int_equal(hub_node_verdict(&n, T0 + 100, 0), HUB_NODE_SILENT); /* liveness off: still silent */
    n.draining = true;
    assert_int_equal(hub_node_verdict(&n, T0 + 10, 30), HUB_NODE_EXCLUDED);
    assert_int_equal(hub_node_fresh_for(&n, T0 + 10, 30), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_node_goes_quiet),
        cmocka_unit_test(test_whole_fleet_quiet_is_not_a_node_fault),
        cmocka_unit_test(test_never_heard_and_clock_skew),
        cmocka_unit_test(test_off_and_retry),
        cmocka_unit_test(test_verdict_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
