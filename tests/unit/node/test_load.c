/* Load rates for the hub's placement: CPU percent of all cores and bytes per second between two
 * samples; first sample, stalled clock and counters that went backwards give 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "node/load.h"

static void test_rates(void **state)
{
    (void)state;
    struct node_load_meter m = {0};
    uint64_t cpu, bps;
    node_load_sample(&m, 1000, 5000000, 1000, 4, &cpu, &bps);
    assert_int_equal(cpu, 0); /* first sample: nothing to compare with */
    assert_int_equal(bps, 0);
    /* 10 s later: 20 s of CPU over 4 cores = 50 %; 125 MB = 12.5 MB/s. */
    node_load_sample(&m, 11000, 25000000, 125001000, 4, &cpu, &bps);
    assert_int_equal(cpu, 50);
    assert_int_equal(bps, 12500000);
    /* More CPU than the cores have (clock granularity): capped at 100. */
    node_load_sample(&m, 12000, 35000000, 125001000, 4, &cpu, &bps);
    assert_int_equal(cpu, 100);
    assert_int_equal(bps, 0);
    /* Clock did not advance: 0, and the sample still becomes the new base. */
    node_load_sample(&m, 12000, 36000000, 125002000, 4, &cpu, &bps);
    assert_int_equal(cpu, 0);
    assert_int_equal(bps, 0);
    /* Counters went backwards (a reset): 0, never a wrapped huge value. */
    node_load_sample(&m, 13000, 1, 5, 4, &cpu, &bps);
    assert_int_equal(cpu, 0);
    assert_int_equal(bps, 0);
    /* Large counters do not overflow: 2^60 bytes over 1000 s. */
    struct node_load_meter big = {.at_ms = 1, .cpu_us = 0, .bytes = 0};
    node_load_sample(&big, 1000001, 0, (uint64_t)1 << 60, 1, &cpu, &bps);
    assert_int_equal(bps, ((uint64_t)1 << 60) / 1000);
    /* No CPU count known: CPU is 0. */
    struct node_load_meter z = {.at_ms = 1};
    node_load_sample(&z, 1001, 1000000, 0, 0, &cpu, &bps);
    assert_int_equal(cpu, 0);
}

/* Handshakes per push are the difference of the running total; a total that went back gives 0. */
static void test_handshakes(void **state)
{
    (void)state;
    struct node_load_meter m = {0};
    assert_int_equal(node_load_handshakes(&m, 7), 7);
    assert_int_equal(node_load_handshakes(&m, 7), 0);
    assert_int_equal(node_load_handshakes(&m, 12), 5);
    assert_int_equal(node_load_handshakes(&m, 3), 0);
    assert_int_equal(node_load_handshakes(&m, 4), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rates), cmocka_unit_test(test_handshakes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
