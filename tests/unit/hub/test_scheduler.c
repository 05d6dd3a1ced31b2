/* The scheduler's replica lock: of two hubs sharing a database only one runs the jobs, and the
 * other takes over once the first stops renewing. Also the background thread starts and stops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "hub/scheduler/scheduler.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define T0 1764115200

static void test_one_replica_runs(void **state)
{
    (void)state;
    struct store *st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    bool ran;
    assert_int_equal(sched_tick(st, "hub-a", 60, T0, &ran), 0);
    assert_true(ran);
    assert_int_equal(sched_tick(st, "hub-b", 60, T0 + 1, &ran), 0);
    assert_false(ran);
    assert_int_equal(sched_tick(st, "hub-a", 60, T0 + 60, &ran), 0); /* renews */
    assert_true(ran);
    assert_int_equal(sched_tick(st, "hub-b", 60, T0 + 200, &ran), 0);
    assert_false(ran); /* a's lease runs to T0 + 240 */
    assert_int_equal(sched_tick(st, "hub-b", 60, T0 + 241, &ran), 0);
    assert_true(ran); /* a went quiet: b takes over */
    assert_int_equal(sched_tick(st, "hub-a", 60, T0 + 242, &ran), 0);
    assert_false(ran);
    store_close(st);
}

static void test_thread(void **state)
{
    (void)state;
    struct store *st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    struct sched *s = sched_start(st, 1);
    assert_non_null(s);
    sched_stop(s); /* wakes the sleeping thread at once */
    sched_stop(NULL);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_one_replica_runs), cmocka_unit_test(test_thread)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
