/* core/ratelimit: the free allowance, bursts, debt and waits, refill cap, overflow guards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/ratelimit.h"

static void test_unlimited_and_after(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, 0, 0, 0, 0);
    assert_false(ratelimit_enabled(&rl));
    assert_int_equal(ratelimit_charge(&rl, 1u << 30, 0), 0);
    assert_true(ratelimit_available(&rl, 0) == UINT64_MAX);

    ratelimit_init(&rl, 1000, 0, 5000, 0);
    assert_int_equal(ratelimit_available(&rl, 0), 5000);
    assert_int_equal(ratelimit_charge(&rl, 4000, 0), 0);
    assert_int_equal(ratelimit_charge(&rl, 4000, 0), 0); /* crosses the threshold: still free */
    assert_int_equal(ratelimit_available(&rl, 0), 1000); /* now the (full) bucket applies */
}

static void test_rate_and_wait(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, 1000, 0, 0, 0); /* 1000 B/s, capacity 1000 */
    assert_int_equal(ratelimit_charge(&rl, 1000, 0), 0);
    assert_int_equal(ratelimit_charge(&rl, 500, 0), 500); /* 500 B of debt = 500 ms */
    assert_int_equal(ratelimit_available(&rl, 250), 0);
    assert_int_equal(ratelimit_available(&rl, 500), 0);
    assert_int_equal(ratelimit_available(&rl, 1500), 1000);
    assert_int_equal(ratelimit_available(&rl, 100000), 1000); /* refill is capped */
    /* a read larger than the bucket waits proportionally */
    assert_int_equal(ratelimit_charge(&rl, 3000, 100000), 2000);
    /* time going backwards never mints tokens */
    assert_int_equal(ratelimit_available(&rl, 50), 0);
}

static void test_burst_and_throughput(void **state)
{
    (void)state;
    struct ratelimit rl;
    ratelimit_init(&rl, 100, 1000, 0, 0); /* capacity = burst */
    assert_int_equal(ratelimit_charge(&rl, 1000, 0), 0);
    /* 10 s of 100 B/s reads at the pace the limiter asks for moves ~1000 B */
    int64_t t = 0;
    uint64_t moved = 0;
    while (t < 10000) {
        int64_t w = ratelimit_charge(&rl, 50, t);
        moved += 50;
        t += w > 0 ? w : 1;
    }
    assert_true(moved >= 950 && moved <= 1100);
    ratelimit_init(&rl, UINT64_MAX / 2, UINT64_MAX, 0, 0); /* absurd values do not overflow */
    assert_int_equal(ratelimit_charge(&rl, UINT64_MAX, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unlimited_and_after),
        cmocka_unit_test(test_rate_and_wait),
        cmocka_unit_test(test_burst_and_throughput),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
