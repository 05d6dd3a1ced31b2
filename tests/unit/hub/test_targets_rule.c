/* The pure rules of REALITY target rotation (hub/targets/targets.h): when a node's target is
 * rotated (failures in the window, a bad verdict, never while pinned or cooling down) and the
 * list of names kept in grace (stored form, refresh, eviction, expiry, malformed text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "hub/targets/targets.h"

static void test_decide(void **state)
{
    (void)state;
    struct targets_cfg c;
    targets_cfg_defaults(&c);
    c.rotate_failures = 3;
    c.cooldown_sec = 100;
    assert_int_equal(targets_decide(&c, 2, "suitable", false, 1000, 0), TARGETS_R_NONE);
    assert_int_equal(targets_decide(&c, 3, "suitable", false, 1000, 0), TARGETS_R_FAILURES);
    assert_int_equal(targets_decide(&c, 0, "no_tls13", false, 1000, 0), TARGETS_R_VERDICT);
    assert_int_equal(targets_decide(&c, 0, "down", false, 1000, 0), TARGETS_R_VERDICT);
    assert_int_equal(targets_decide(&c, 0, "unknown", false, 1000, 0), TARGETS_R_NONE);
    assert_int_equal(targets_decide(&c, 0, "", false, 1000, 0), TARGETS_R_NONE);
    assert_int_equal(targets_decide(&c, 0, NULL, false, 1000, 0), TARGETS_R_NONE);
    /* pinned: never; cooling down: not yet, then yes */
    assert_int_equal(targets_decide(&c, 99, "down", true, 1000, 0), TARGETS_R_NONE);
    assert_int_equal(targets_decide(&c, 99, "down", false, 1000, 950), TARGETS_R_NONE);
    assert_int_equal(targets_decide(&c, 99, "down", false, 1000, 900), TARGETS_R_FAILURES);
    /* each rule can be turned off */
    c.rotate_failures = 0;
    assert_int_equal(targets_decide(&c, 1000000, "suitable", false, 1000, 0), TARGETS_R_NONE);
    c.rotate_on_verdict = false;
    assert_int_equal(targets_decide(&c, 0, "cert_name", false, 1000, 0), TARGETS_R_NONE);
    assert_string_equal(targets_reason_str(TARGETS_R_VERDICT), "verdict");
    assert_string_equal(targets_reason_str((enum targets_reason)99), "unknown");
}

static void test_grace(void **state)
{
    (void)state;
    struct targets_grace g;
    targets_grace_parse("a.example@100,b.example@200", &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.names[1], "b.example");
    assert_int_equal(g.until[1], 200);
    char out[TARGETS_GRACE_MAX * 280];
    assert_int_equal(targets_grace_format(&g, out, sizeof(out)), 0);
    assert_string_equal(out, "a.example@100,b.example@200");
    assert_int_equal(targets_grace_format(&g, out, 10), ERR_RANGE);
    /* refresh keeps one entry and the later time */
    targets_grace_add(&g, "a.example", 300);
    targets_grace_add(&g, "a.example", 50);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.until[0], 300);
    /* expiry and the current name leave */
    assert_true(targets_grace_prune(&g, "b.example", 150));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.names[0], "a.example");
    assert_false(targets_grace_prune(&g, "x", 150));
    assert_true(targets_grace_prune(&g, NULL, 300));
    assert_int_equal(g.n, 0);
    /* full: the entry ending first makes room */
    char name[32];
    for (int i = 0; i < TARGETS_GRACE_MAX; i++) {
        snprintf(name, sizeof(name), "n%d.example", i);
        targets_grace_add(&g, name, 1000 - i);
    }
    targets_grace_add(&g, "new.example", 5000);
    assert_int_equal(g.n, TARGETS_GRACE_MAX);
    for (size_t i = 0; i < g.n; i++)
        assert_string_not_equal(g.names[i], "n6.example");
    assert_string_equal(g.names[g.n - 1], "new.example");
    /* names that cannot be a SNI are not kept */
    targets_grace_add(&g, "", 1);
    targets_grace_add(&g, NULL, 1);
    assert_int_equal(g.n, TARGETS_GRACE_MAX);
}

static void test_grace_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", ",", "@", "a@", "@5", "a@x", "a@5x", "a@-5", "a@0", "a@99999999999999999999999",
    };
    struct targets_grace g;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        targets_grace_parse(bad[i], &g);
        assert_int_equal(g.n, 0);
    }
    targets_grace_parse(NULL, &g);
    assert_int_equal(g.n, 0);
    targets_grace_parse("x@1,bad,y@2,@3,z@", &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.names[1], "y");
}

static void test_hostport(void **state)
{
    (void)state;
    char out[300];
    targets_hostport("www.example.org", 443, out, sizeof(out));
    assert_string_equal(out, "www.example.org:443");
    targets_hostport("2001:db8::1", 8443, out, sizeof(out));
    assert_string_equal(out, "[2001:db8::1]:8443");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_grace),
        cmocka_unit_test(test_grace_malformed),
        cmocka_unit_test(test_hostport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
