/* Load-aware placement: weighted spread of first placements, hot nodes attract no new first
 * placements, a customer's order is stable across refreshes and list orders, plan groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "hub/domain/placement.h"

static struct hub_node node(int64_t id, int64_t weight, const char *group)
{
    struct hub_node n;
    memset(&n, 0, sizeof n);
    n.id = id;
    n.weight = weight;
    snprintf(n.group, sizeof n.group, "%s", group);
    return n;
}

/* How many of users 1..n_users get each of the 3 nodes first. */
static void first_counts(const struct hub_node *fleet, const struct hub_place_cfg *cfg, int n_users, int counts[3])
{
    memset(counts, 0, 3 * sizeof counts[0]);
    for (int u = 1; u <= n_users; u++) {
        struct hub_node list[3];
        memcpy(list, fleet, sizeof list);
        assert_int_equal(hub_place_order(u, NULL, cfg, list, 3), 3);
        counts[list[0].id - 1]++;
    }
}

static void test_weighted_spread(void **state)
{
    (void)state;
    struct hub_node fleet[3] = {node(1, 1, ""), node(2, 1, ""), node(3, 2, "")};
    struct hub_place_cfg cfg = {.hot_cpu_percent = 85};
    int c[3];
    /* 1,000 users over weights 1:1:2: 250 / 250 / 500, each within +-10 %. */
    first_counts(fleet, &cfg, 1000, c);
    print_message("first placements of 1000 users over 1:1:2: %d %d %d\n", c[0], c[1], c[2]);
    assert_in_range(c[0], 225, 275);
    assert_in_range(c[1], 225, 275);
    assert_in_range(c[2], 450, 550);
    /* And the law holds at scale (100,000 users, +-2 %), so the above is not a lucky draw. */
    first_counts(fleet, &cfg, 100000, c);
    assert_in_range(c[0], 24500, 25500);
    assert_in_range(c[1], 24500, 25500);
    assert_in_range(c[2], 49000, 51000);
}

static void test_hot_node_gets_no_new_first_placements(void **state)
{
    (void)state;
    struct hub_node fleet[3] = {node(1, 1, ""), node(2, 1, ""), node(3, 2, "")};
    struct hub_place_cfg cfg = {.hot_cpu_percent = 85, .hot_connections = 500};
    int c[3];
    fleet[2].load_cpu = 90; /* the heavy node runs hot */
    first_counts(fleet, &cfg, 1000, c);
    assert_int_equal(c[2], 0);
    assert_int_equal(c[0] + c[1], 1000);
    assert_in_range(c[0], 425, 575); /* the rest split by the remaining weights 1:1 */
    /* ... but it stays in every list, last, as a fallback. */
    struct hub_node list[3];
    memcpy(list, fleet, sizeof list);
    assert_int_equal(hub_place_order(7, NULL, &cfg, list, 3), 3);
    assert_int_equal(list[2].id, 3);
    /* Connections count too; below both thresholds the node is cool again. */
    fleet[2].load_cpu = 84;
    fleet[0].load_connections = 500;
    first_counts(fleet, &cfg, 1000, c);
    assert_int_equal(c[0], 0);
    assert_true(c[2] > c[1]);
    /* Thresholds off: load is ignored. */
    struct hub_place_cfg off = {0};
    first_counts(fleet, &off, 1000, c);
    assert_true(c[0] > 0);
    /* Every node hot: ranking by weight as if none were. */
    fleet[1].load_cpu = fleet[2].load_cpu = 99;
    fleet[0].load_cpu = 99;
    int cold[3], hot[3];
    first_counts(fleet, &off, 1000, cold);
    first_counts(fleet, &cfg, 1000, hot);
    assert_memory_equal(cold, hot, sizeof cold);
}

static void test_sticky_order(void **state)
{
    (void)state;
    struct hub_node fleet[3] = {node(1, 1, ""), node(2, 1, ""), node(3, 2, "")};
    struct hub_node rev[3] = {fleet[2], fleet[1], fleet[0]};
    for (int u = 1; u <= 200; u++) {
        struct hub_node a[3], b[3];
        memcpy(a, fleet, sizeof a);
        memcpy(b, rev, sizeof b);
        hub_place_order(u, NULL, NULL, a, 3); /* one refresh */
        hub_place_order(u, "", NULL, b, 3);   /* another, from a list in another order */
        for (int i = 0; i < 3; i++)
            assert_int_equal(a[i].id, b[i].id);
    }
    /* Fixed values: the order must not change between builds or hosts (no seed, no address). */
    assert_true(hub_place_score(1, 1, 1) == hub_place_score(1, 1, 1));
    assert_true(hub_place_score(42, 3, 2) > 0);
    assert_true(hub_place_score(42, 3, 0) == 0);
    /* Adding a node moves only the users it wins: everyone else keeps their first node. */
    struct hub_node four[4] = {fleet[0], fleet[1], fleet[2], node(4, 1, "")};
    int moved = 0;
    for (int u = 1; u <= 1000; u++) {
        struct hub_node a[3], b[4];
        memcpy(a, fleet, sizeof a);
        memcpy(b, four, sizeof b);
        hub_place_order(u, NULL, NULL, a, 3);
        hub_place_order(u, NULL, NULL, b, 4);
        if (a[0].id != b[0].id) {
            assert_int_equal(b[0].id, 4);
            moved++;
        }
    }
    assert_in_range(moved, 150, 250); /* ~1/5 of users: weight 1 of 5 */
}

static void test_plan_groups(void **state)
{
    (void)state;
    struct hub_node fleet[4] = {node(1, 1, ""), node(2, 1, "premium"), node(3, 1, "std"), node(4, 1, "premium")};
    struct hub_node list[4];
    memcpy(list, fleet, sizeof list);
    size_t k = hub_place_order(5, "premium", NULL, list, 4);
    assert_int_equal(k, 2);
    assert_true((list[0].id == 2 && list[1].id == 4) || (list[0].id == 4 && list[1].id == 2));
    memcpy(list, fleet, sizeof list);
    assert_int_equal(hub_place_order(5, "std,premium", NULL, list, 4), 3);
    memcpy(list, fleet, sizeof list);
    assert_int_equal(hub_place_order(5, "", NULL, list, 4), 4);
    memcpy(list, fleet, sizeof list);
    assert_int_equal(hub_place_order(5, "gold", NULL, list, 4), 0);
    /* A hot node that is the user's only allowed node is still listed. */
    struct hub_place_cfg cfg = {.hot_cpu_percent = 50};
    memcpy(list, fleet, sizeof list);
    list[2].load_cpu = 100;
    assert_int_equal(hub_place_order(5, "std", &cfg, list, 4), 1);
    assert_int_equal(list[0].id, 3);

    assert_true(hub_plan_allows_group(NULL, ""));
    assert_false(hub_plan_allows_group("premium", ""));
    assert_false(hub_plan_allows_group("premium", "prem"));
    assert_true(hub_plan_allows_group("a,premium", "premium"));

    assert_true(hub_group_valid("premium"));
    assert_true(hub_group_valid("eu-1_fast"));
    assert_false(hub_group_valid(""));
    assert_false(hub_group_valid("Premium"));
    assert_false(hub_group_valid("a,b"));
    assert_false(hub_group_valid("012345678901234567890123456789012")); /* 33 */
    assert_true(hub_node_groups_valid(""));
    assert_true(hub_node_groups_valid("premium"));
    assert_true(hub_node_groups_valid("a,b,c"));
    assert_false(hub_node_groups_valid("a,,b"));
    assert_false(hub_node_groups_valid(",a"));
    assert_false(hub_node_groups_valid("a,"));
    assert_false(hub_node_groups_valid("a,b,a"));
    assert_false(hub_node_groups_valid("a b"));
    assert_false(hub_node_groups_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weighted_spread),
        cmocka_unit_test(test_hot_node_gets_no_new_first_placements),
        cmocka_unit_test(test_sticky_order),
        cmocka_unit_test(test_plan_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
