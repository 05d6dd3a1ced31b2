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
    assert_int_equal(sched_tick(st, "hub-a", 60, 0, T0, &ran), 0);
    assert_true(ran);
    assert_int_equal(sched_tick(st, "hub-b", 60, 0, T0 + 1, &ran), 0);
    assert_false(ran);
    assert_int_equal(sched_tick(st, "hub-a", 60, 0, T0 + 60, &ran), 0); /* renews */
    assert_true(ran);
    assert_int_equal(sched_tick(st, "hub-b", 60, 0, T0 + 200, &ran), 0);
    assert_false(ran); /* a's lease runs to T0 + 240 */
    assert_int_equal(sched_tick(st, "hub-b", 60, 0, T0 + 241, &ran), 0);
    assert_true(ran); /* a went quiet: b takes over */
    assert_int_equal(sched_tick(st, "hub-a", 60, 0, T0 + 242, &ran), 0);
    assert_false(ran);
    store_close(st);
}

static void test_stale_nodes(void **state)
{
    (void)state;
    struct store *st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    struct hub_node n = {.port = 443, .weight = 100};
    strcpy(n.name, "n1");
    strcpy(n.address, "n1.example.com");
    strcpy(n.public_key, "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw");
    assert_int_equal(store_node_create(st, &n, "h1", T0, NULL), 0);
    struct hub_node quiet = n;
    strcpy(quiet.name, "never-pushed");
    assert_int_equal(store_node_create(st, &quiet, "h2", T0, NULL), 0);
    assert_int_equal(store_usage_push(st, n.id, "push-0001", NULL, 0, T0, NULL, NULL), 0);
    bool ran;
    assert_int_equal(sched_tick(st, "hub-a", 60, 120, T0 + 100, &ran), 0);
    struct hub_node got;
    assert_int_equal(store_node_get(st, n.id, &got), 0);
    assert_int_equal(got.health, HUB_HEALTH_UP);
    assert_int_equal(sched_tick(st, "hub-a", 60, 120, T0 + 121, &ran), 0);
    assert_int_equal(store_node_get(st, n.id, &got), 0);
    assert_int_equal(got.health, HUB_HEALTH_DOWN);
    assert_int_equal(store_node_get(st, quiet.id, &got), 0);
    assert_int_equal(got.health, HUB_HEALTH_UNKNOWN);
    /* The next push brings it back. */
    assert_int_equal(store_usage_push(st, n.id, "push-0002", NULL, 0, T0 + 130, NULL, NULL), 0);
    assert_int_equal(store_node_get(st, n.id, &got), 0);
    assert_int_equal(got.health, HUB_HEALTH_UP);
    store_close(st);
}

static void test_thread(void **state)
{
    (void)state;
    struct store *st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    struct sched *s = sched_start(st, 1, 120);
    assert_non_null(s);
    sched_stop(s); /* wakes the sleeping thread at once */
    sched_stop(NULL);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_one_replica_runs), cmocka_unit_test(test_stale_nodes),
                                       cmocka_unit_test(test_thread)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
