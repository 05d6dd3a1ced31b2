/* core/metrics: text format, labels, escaping, histograms, cardinality bound, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/metrics.h"

static char *render(struct metrics_registry *r, struct buf *b)
{
    buf_reset(b);
    assert_int_equal(metrics_render(r, b), 0);
    assert_int_equal(buf_append(b, "", 1), 0);
    return (char *)buf_data(b);
}

static void test_counter_gauge_labels(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    const char *labels[] = {"outcome", "reason"};
    struct metrics_family *hs =
        metrics_family_new(r, METRICS_COUNTER, "veil_handshakes_total", "REALITY handshakes.", labels, 2, NULL, 0, 0);
    assert_non_null(hs);
    struct metrics_series *ok = metrics_series(hs, (const char *const[]){"authenticated", ""});
    struct metrics_series *fb = metrics_series(hs, (const char *const[]){"fallback", "bad \"sni\"\n"});
    assert_ptr_equal(ok, metrics_series(hs, (const char *const[]){"authenticated", ""}));
    metrics_add(ok, 3);
    metrics_add(ok, 2);
    metrics_add(fb, 1);
    struct metrics_family *g =
        metrics_family_new(r, METRICS_GAUGE, "veil_users_online", "Users\\online", NULL, 0, NULL, 0, 0);
    struct metrics_series *gs = metrics_series(g, NULL);
    metrics_set(gs, 10);
    metrics_gauge_add(gs, -3);
    struct buf b;
    buf_init(&b);
    const char *want = "# HELP veil_handshakes_total REALITY handshakes.\n"
                       "# TYPE veil_handshakes_total counter\n"
                       "veil_handshakes_total{outcome=\"authenticated\",reason=\"\"} 5\n"
                       "veil_handshakes_total{outcome=\"fallback\",reason=\"bad \\\"sni\\\"\\n\"} 1\n"
                       "# HELP veil_users_online Users\\\\online\n"
                       "# TYPE veil_users_online gauge\n"
                       "veil_users_online 7\n";
    assert_string_equal(render(r, &b), want);
    buf_dispose(&b);
    metrics_registry_free(r);
}

static void test_histogram(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    const double bounds[] = {0.1, 1};
    struct metrics_family *h =
        metrics_family_new(r, METRICS_HISTOGRAM, "veil_req_seconds", "Latency.", NULL, 0, bounds, 2, 0);
    struct metrics_series *s = metrics_series(h, NULL);
    metrics_observe(s, 0.05);
    metrics_observe(s, 0.1); /* le is inclusive */
    metrics_observe(s, 0.5);
    metrics_observe(s, 5);
    struct buf b;
    buf_init(&b);
    const char *want = "# HELP veil_req_seconds Latency.\n"
                       "# TYPE veil_req_seconds histogram\n"
                       "veil_req_seconds_bucket{le=\"0.10000000000000001\"} 2\n"
                       "veil_req_seconds_bucket{le=\"1\"} 3\n"
                       "veil_req_seconds_bucket{le=\"+Inf\"} 4\n"
                       "veil_req_seconds_sum 5.6500000000000004\n"
                       "veil_req_seconds_count 4\n";
    assert_string_equal(render(r, &b), want);
    buf_dispose(&b);
    metrics_registry_free(r);
}

static void test_invalid_and_bounded(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    assert_null(metrics_family_new(r, METRICS_COUNTER, "1bad", "", NULL, 0, NULL, 0, 0));
    assert_null(metrics_family_new(r, METRICS_COUNTER, "bad-name", "", NULL, 0, NULL, 0, 0));
    assert_null(metrics_family_new(r, METRICS_COUNTER, "x", "", (const char *const[]){"le"}, 1, NULL, 0, 0));
    assert_null(metrics_family_new(r, METRICS_HISTOGRAM, "h", "", NULL, 0, NULL, 0, 0));
    assert_null(metrics_family_new(r, METRICS_HISTOGRAM, "h", "", NULL, 0, (const double[]){2, 1}, 2, 0));
    assert_null(metrics_family_new(r, METRICS__COUNT, "x", "", NULL, 0, NULL, 0, 0));
    assert_non_null(metrics_family_new(r, METRICS_COUNTER, "dup", "", NULL, 0, NULL, 0, 0));
    assert_null(metrics_family_new(r, METRICS_COUNTER, "dup", "", NULL, 0, NULL, 0, 0));

    struct metrics_family *u =
        metrics_family_new(r, METRICS_COUNTER, "veil_user_bytes", "", (const char *const[]){"user"}, 1, NULL, 0, 2);
    metrics_add(metrics_series(u, (const char *const[]){"a"}), 1);
    metrics_add(metrics_series(u, (const char *const[]){"b"}), 1);
    struct metrics_series *o1 = metrics_series(u, (const char *const[]){"c"});
    struct metrics_series *o2 = metrics_series(u, (const char *const[]){"d"});
    assert_ptr_equal(o1, o2); /* past max_series everything shares the overflow series */
    metrics_add(o1, 5);
    struct buf b;
    buf_init(&b);
    const char *text = render(r, &b);
    assert_non_null(strstr(text, "veil_user_bytes{user=\"_other\"} 5\n"));
    assert_null(strstr(text, "user=\"c\""));
    /* a cleared family starts over: new members get their own series again */
    metrics_family_clear(u);
    metrics_add(metrics_series(u, (const char *const[]){"c"}), 7);
    text = render(r, &b);
    assert_non_null(strstr(text, "veil_user_bytes{user=\"c\"} 7\n"));
    assert_null(strstr(text, "user=\"a\""));
    assert_null(strstr(text, "_other"));
    buf_dispose(&b);
    metrics_registry_free(r);
    metrics_registry_free(NULL);
}

static void collect_rss(struct metrics_family *f, void *arg)
{
    metrics_set(metrics_series(f, NULL), *(int64_t *)arg);
}

static void test_collect_callback(void **state)
{
    (void)state;
    struct metrics_registry *r = metrics_registry_new();
    struct metrics_family *f =
        metrics_family_new(r, METRICS_GAUGE, "process_resident_memory_bytes", "RSS.", NULL, 0, NULL, 0, 0);
    int64_t v = 4096;
    metrics_family_on_collect(f, collect_rss, &v);
    struct buf b;
    buf_init(&b);
    assert_non_null(strstr(render(r, &b), "process_resident_memory_bytes 4096\n"));
    v = 8192;
    assert_non_null(strstr(render(r, &b), "process_resident_memory_bytes 8192\n"));
    /* scaled: kept in microseconds, shown in seconds */
    struct metrics_family *cpu =
        metrics_family_new(r, METRICS_COUNTER, "process_cpu_seconds_total", "CPU.", NULL, 0, NULL, 0, 0);
    metrics_family_set_scale(cpu, 1e-6);
    metrics_add(metrics_series(cpu, NULL), 2500000);
    assert_non_null(strstr(render(r, &b), "process_cpu_seconds_total 2.5\n"));
    buf_dispose(&b);
    metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge_labels),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_invalid_and_bounded),
        cmocka_unit_test(test_collect_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
