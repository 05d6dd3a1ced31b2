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

/* Hysteresis: hot at or above the hot threshold, cool again only below the cool one. */
static void test_hot_hysteresis(void **state)
{
    (void)state;
    struct hub_place_cfg cfg = {.hot_cpu_percent = 85, .cool_cpu_percent = 70};
    struct hub_node n = node(1, 1, "");
    n.load_cpu = 84;
    assert_false(hub_node_hot_next(false, &n, &cfg));
    n.load_cpu = 85;
    assert_true(hub_node_hot_next(false, &n, &cfg));
    n.load_cpu = 80; /* between the thresholds: keeps what it was */
    assert_true(hub_node_hot_next(true, &n, &cfg));
    assert_false(hub_node_hot_next(false, &n, &cfg));
    n.load_cpu = 70;
    assert_true(hub_node_hot_next(true, &n, &cfg));
    n.load_cpu = 69;
    assert_false(hub_node_hot_next(true, &n, &cfg));
    /* Default cool threshold: 80 % of the hot one (85 -> 68; 500 connections -> 400). */
    struct hub_place_cfg def = {.hot_cpu_percent = 85, .hot_connections = 500};
    n.load_cpu = 68;
    assert_true(hub_node_hot_next(true, &n, &def));
    n.load_cpu = 67;
    assert_false(hub_node_hot_next(true, &n, &def));
    /* Both criteria must be cool: connections keep it hot. */
    n.load_connections = 450;
    assert_true(hub_node_hot_next(true, &n, &def));
    n.load_connections = 399;
    assert_false(hub_node_hot_next(true, &n, &def));
    /* A cool threshold at or above the hot one: no hysteresis. */
    struct hub_place_cfg none = {.hot_cpu_percent = 85, .cool_cpu_percent = 90};
    n.load_connections = 0;
    n.load_cpu = 84;
    assert_false(hub_node_hot_next(true, &n, &none));
    /* Criteria off: never hot; no configuration: never hot. */
    struct hub_place_cfg off = {0};
    n.load_cpu = 100;
    assert_false(hub_node_hot_next(true, &n, &off));
    assert_false(hub_node_hot_next(true, &n, NULL));
}

/* A node whose CPU hovers around the hot threshold (84, 86, 83, 87, ...) flips once, not at
 * every push, and its first placements move once: no customer is bounced back and forth. */
static void test_no_flapping(void **state)
{
    (void)state;
    struct hub_place_cfg cfg = {.hot_cpu_percent = 85, .cool_cpu_percent = 70};
    struct hub_node fleet[3] = {node(1, 1, ""), node(2, 1, ""), node(3, 2, "")};
    static const int64_t cpu[] = {60, 84, 86, 83, 87, 84, 85, 79, 86, 71, 84, 70, 69, 75, 84, 60};
    int flips = 0;
    bool hot = false;
    int64_t first_of_user7[sizeof cpu / sizeof cpu[0]];
    for (size_t p = 0; p < sizeof cpu / sizeof cpu[0]; p++) {
        fleet[2].load_cpu = cpu[p];
        bool next = hub_node_hot_next(hot, &fleet[2], &cfg);
        flips += next != hot;
        hot = next;
        fleet[2].hot = hot;
        /* The placement reads the stored mark: the load alone (84 < 85) would say cool. */
        struct hub_node list[3];
        memcpy(list, fleet, sizeof list);
        struct hub_place_cfg marks_only = {0};
        hub_place_order(7, NULL, &marks_only, list, 3);
        first_of_user7[p] = list[0].id;
    }
    /* Hot at the first 86, cool at 69: two changes over 16 pushes (without hysteresis: 8). */
    assert_int_equal(flips, 2);
    assert_false(hot);
    int moves = 0;
    for (size_t p = 1; p < sizeof cpu / sizeof cpu[0]; p++)
        moves += first_of_user7[p] != first_of_user7[p - 1];
    assert_true(moves <= 2);
    /* While hot, no new first placements: 1,000 users all start elsewhere. */
    fleet[2].hot = true;
    fleet[2].load_cpu = 80;
    int c[3];
    first_counts(fleet, &(struct hub_place_cfg){0}, 1000, c);
    assert_int_equal(c[2], 0);
}

static struct hub_node node_in(int64_t id, int64_t weight, const char *country)
{
    struct hub_node n = node(id, weight, "");
    snprintf(n.country, sizeof n.country, "%s", country);
    return n;
}

/* Country preference first (among cool nodes), weights within the preferred country, hot
 * nodes still last, no preference = plain weighted order; stable across refreshes. */
static void test_country_preference(void **state)
{
    (void)state;
    struct hub_node fleet[4] = {node_in(1, 1, "DE"), node_in(2, 1, "NL"), node_in(3, 2, "NL"), node_in(4, 5, "FI")};
    int first[5] = {0};
    for (int u = 1; u <= 1000; u++) {
        struct hub_node a[4], b[4];
        memcpy(a, fleet, sizeof a);
        for (int i = 0; i < 4; i++)
            b[i] = fleet[3 - i];
        assert_int_equal(hub_place_order_pref(u, NULL, "NL", NULL, a, 4), 4);
        hub_place_order_pref(u, "", "NL", NULL, b, 4);
        for (int i = 0; i < 4; i++)
            assert_int_equal(a[i].id, b[i].id); /* same order whatever the list order */
        assert_string_equal(a[0].country, "NL");
        assert_string_equal(a[1].country, "NL");
        first[a[0].id]++;
    }
    /* Within NL the weights 1:2 hold (333 / 667, +-10 %). */
    print_message("first placements preferring NL over NL weights 1:2: %d %d\n", first[2], first[3]);
    assert_in_range(first[2], 300, 367);
    assert_in_range(first[3], 600, 734);
    /* A hot node of the preferred country goes behind the cool foreign ones. */
    struct hub_node list[4];
    memcpy(list, fleet, sizeof list);
    list[1].hot = list[2].hot = true;
    hub_place_order_pref(9, NULL, "NL", NULL, list, 4);
    assert_string_not_equal(list[0].country, "NL");
    assert_string_not_equal(list[1].country, "NL");
    assert_string_equal(list[2].country, "NL");
    /* No preference, or a country without nodes: the plain weighted order. */
    for (int u = 1; u <= 100; u++) {
        struct hub_node a[4], b[4], d[4];
        memcpy(a, fleet, sizeof a);
        memcpy(b, fleet, sizeof b);
        memcpy(d, fleet, sizeof d);
        hub_place_order(u, NULL, NULL, a, 4);
        hub_place_order_pref(u, NULL, "", NULL, b, 4);
        hub_place_order_pref(u, NULL, "US", NULL, d, 4);
        for (int i = 0; i < 4; i++) {
            assert_int_equal(a[i].id, b[i].id);
            assert_int_equal(a[i].id, d[i].id);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weighted_spread),    cmocka_unit_test(test_hot_node_gets_no_new_first_placements),
        cmocka_unit_test(test_sticky_order),       cmocka_unit_test(test_plan_groups),
        cmocka_unit_test(test_hot_hysteresis),     cmocka_unit_test(test_no_flapping),
        cmocka_unit_test(test_country_preference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
