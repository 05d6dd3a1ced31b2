/* core/clock: the monotonic and wall clocks in the units callers use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "core/clock.h"

/* Monotonic readings never go back, and ms and ns read the same clock. */
static void test_mono(void **state)
{
    (void)state;
    uint64_t a = clock_mono_ms(), ns = clock_mono_ns(), b = clock_mono_ms();
    assert_true(a <= b);
    assert_true(ns / 1000000u >= a && ns / 1000000u <= b);
}

/* Wall milliseconds agree with time() to the second. */
static void test_unix(void **state)
{
    (void)state;
    uint64_t before = (uint64_t)time(NULL), ms = clock_unix_ms(), after = (uint64_t)time(NULL);
    assert_true(ms / 1000u >= before && ms / 1000u <= after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono),
        cmocka_unit_test(test_unix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
