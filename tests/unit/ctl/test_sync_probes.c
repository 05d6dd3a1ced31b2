/* The probing report in a node's push ("health.probes", ctl/sync.h): round trip, absent means
 * none, the network forms accepted, and every malformed form refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "ctl/sync.h"

#define PUSH(probes)                                                                                                   \
    "{\"v\":1,\"push_id\":\"node1-00000001\",\"usage\":[],\"health\":{\"connections\":0,\"uptime\":1,"                 \
    "\"revision\":5,\"version\":\"v\"" probes "}}"

static void test_round_trip(void **state)
{
    (void)state;
    struct sync_usage_req m = {0}, d;
    strcpy(m.push_id, "node1-00000002");
    m.health.n_probes = 2;
    m.health.probes[0] = (struct sync_probe){"198.51.100.0/24", 120, 3, 40};
    m.health.probes[1] = (struct sync_probe){"2001:db8:1::/48", 7, 0, 0};
    struct buf b;
    buf_init(&b);
    assert_int_equal(sync_usage_req_encode(&m, &b), 0);
    struct sync_err e = {{0}};
    assert_int_equal(sync_usage_req_decode(&d, (const char *)buf_data(&b), buf_len(&b), &e), 0);
    assert_int_equal(d.health.n_probes, 2);
    for (size_t i = 0; i < 2; i++) { /* field by field: the literals' padding is not zeroed */
        assert_string_equal(d.health.probes[i].net, m.health.probes[i].net);
        assert_int_equal(d.health.probes[i].fallbacks, m.health.probes[i].fallbacks);
        assert_int_equal(d.health.probes[i].bans, m.health.probes[i].bans);
        assert_int_equal(d.health.probes[i].refused, m.health.probes[i].refused);
    }
    sync_usage_req_dispose(&d);
    buf_dispose(&b);
    /* absent: none, and an encoder leaves the key out */
    const char *none = PUSH("");
    assert_int_equal(sync_usage_req_decode(&d, none, strlen(none), &e), 0);
    assert_int_equal(d.health.n_probes, 0);
    sync_usage_req_dispose(&d);
    m.health.n_probes = 0;
    buf_init(&b);
    assert_int_equal(sync_usage_req_encode(&m, &b), 0);
    assert_null(memmem(buf_data(&b), buf_len(&b), "probes", 6));
    buf_dispose(&b);
    /* an invalid network is not encoded */
    m.health.n_probes = 1;
    m.health.probes[0] = (struct sync_probe){"198.51.100.7/24", 1, 0, 0};
    buf_init(&b);
    assert_int_equal(sync_usage_req_encode(&m, &b), ERR_RANGE);
    buf_dispose(&b);
}

static void test_nets(void **state)
{
    (void)state;
    static const char *const good[] = {"0.0.0.0/24", "198.51.100.0/24", "2001:db8:1::/48", "::/48", "fe80:1:2::/48"};
    static const char *const bad[] = {
        "",
        "/24",
        "198.51.100.0",
        "198.51.100.1/24",
        "198.51.100.0/16",
        "198.51.100.0/24 ",
        "198.51.100.0/024",
        "1.2.3/24",
        "2001:db8:1::1/48",
        "2001:db8:1:2::/48",
        "2001:db8::/64",
        "::ffff:1.2.3.0/24",
        "1.2.3.0/48",
        "x.y.z.0/24",
        "2001:db8:1:0:0:0:0:0:0/48",
        "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/48",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(sync_probe_net_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sync_probe_net_valid(bad[i]))
            fail_msg("accepted %s", bad[i]);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int rc;
    } bad[] = {
        {PUSH(",\"probes\":{}"), ERR_MALFORMED},
        {PUSH(",\"probes\":[1]"), ERR_MALFORMED},
        {PUSH(",\"probes\":[{}]"), ERR_MALFORMED},
        {PUSH(",\"probes\":[{\"net\":24}]"), ERR_MALFORMED},
        {PUSH(",\"probes\":[{\"net\":\"10.0.0.1/24\"}]"), ERR_MALFORMED},
        {PUSH(",\"probes\":[{\"net\":\"10.0.0.0/24\",\"fallbacks\":-1}]"), ERR_RANGE},
        {PUSH(",\"probes\":[{\"net\":\"10.0.0.0/24\",\"bans\":1.5}]"), ERR_MALFORMED},
        {PUSH(",\"probes\":[{\"net\":\"10.0.0.0/24\",\"refused\":\"3\"}]"), ERR_MALFORMED},
        {PUSH(",\"probes\":[{\"net\":\"0123456789012345678901234567890123456789012345678901234567/48\"}]"),
         ERR_MALFORMED},
    };
    struct sync_usage_req m;
    struct sync_err e;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e.msg[0] = '\0';
        assert_int_equal(sync_usage_req_decode(&m, bad[i].json, strlen(bad[i].json), &e), bad[i].rc);
        assert_true(strncmp(e.msg, "health.probes", 13) == 0);
    }
    char many[4096] = PUSH(",\"probes\":[");
    char *p = strstr(many, "\"probes\":[") + 10;
    size_t n = 0;
    for (int i = 0; i < SYNC_PROBES_MAX + 1; i++)
        n += (size_t)snprintf(p + n, sizeof many - (size_t)(p - many) - n, "%s{\"net\":\"10.0.%d.0/24\"}", i ? "," : "",
                              i);
    snprintf(p + n, sizeof many - (size_t)(p - many) - n, "]}}");
    e.msg[0] = '\0';
    assert_int_equal(sync_usage_req_decode(&m, many, strlen(many), &e), ERR_LIMIT);
    assert_non_null(strstr(e.msg, "health.probes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_nets),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
