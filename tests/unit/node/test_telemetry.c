/* node/telemetry.c: the probe log gate (per-second budget, suppressed count handed to the next
 * line that passes), process-wide counters, /proc/self figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "node/telemetry.h"

static void test_log_gate(void **state)
{
    (void)state;
    uint64_t sup = 99, passed = 0;
    uint64_t t0 = 5000000;        /* a fresh window */
    for (int i = 0; i < 100; i++) /* a flood within one second */
        passed += node_tm_log_allow(t0 + (uint64_t)i, &sup);
    assert_int_equal(passed, NODE_TM_LOG_PER_SEC);
    assert_int_equal(node_tm_get(NODE_TM_LOG_SUPPRESSED), 100 - NODE_TM_LOG_PER_SEC);
    /* next second: the first line carries the count, then it starts over */
    assert_true(node_tm_log_allow(t0 + 1000, &sup));
    assert_int_equal(sup, 100 - NODE_TM_LOG_PER_SEC);
    assert_true(node_tm_log_allow(t0 + 1001, &sup));
    assert_int_equal(sup, 0);
    /* a quiet rate passes entirely */
    passed = 0;
    for (int i = 0; i < 50; i++)
        passed += node_tm_log_allow(t0 + 10000 + (uint64_t)i * 100, &sup); /* 10 a second */
    assert_int_equal(passed, 50);
}

static void test_counters(void **state)
{
    (void)state;
    node_tm_add(NODE_TM_FALLBACK_UP, 10);
    node_tm_add(NODE_TM_FALLBACK_UP, 5);
    node_tm_add(NODE_TM__COUNT, 5); /* out of range: ignored */
    assert_int_equal(node_tm_get(NODE_TM_FALLBACK_UP), 15);
    assert_int_equal(node_tm_get(NODE_TM__COUNT), 0);
    node_tm_vless_reject(VLESS_HR_UNKNOWN_USER);
    node_tm_vless_reject(VLESS_HR__COUNT);
    node_tm_flow_reject(VLESS_FR_VISION_UDP);
    assert_int_equal(node_tm_vless_rejects(VLESS_HR_UNKNOWN_USER), 1);
    assert_int_equal(node_tm_vless_rejects(VLESS_HR__COUNT), 0);
    assert_int_equal(node_tm_flow_rejects(VLESS_FR_VISION_UDP), 1);
}

static void test_proc(void **state)
{
    (void)state;
    void *p = malloc(1 << 20);
    struct node_proc_stats ps;
    node_proc_stats(&ps);
    free(p);
    assert_true(ps.rss_bytes > 1024 * 1024);
    assert_true(ps.open_fds >= 3); /* stdin, stdout, stderr */
    assert_true(ps.start_unix > 1600000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_gate),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_proc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
