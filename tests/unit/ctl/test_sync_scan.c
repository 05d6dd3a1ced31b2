/* ctl/sync_scan: the scan request in a pull answer and the results a node posts: round trips,
 * candidate rules (hosts, ports, CIDRs /24..32 only), and malformed input refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "ctl/sync.h"
#include "ctl/sync_scan.h"

static char *to_str(struct buf *b)
{
    char *s = malloc(buf_len(b) + 1);
    memcpy(s, buf_data(b), buf_len(b));
    s[buf_len(b)] = '\0';
    return s;
}

static void test_candidates(void **state)
{
    (void)state;
    static const char *const good[] = {"example.com", "example.com:8443",  "127.0.0.1:443", "10.1.2.0/24",
                                       "10.1.2.3/32", "[2001:db8::1]:443", "1.2.3.4"};
    static const char *const bad[] = {"",         "a b",           "10.0.0.0/8",        "10.0.0.0/23", "10.0.0.0/33",
                                      "x/24",     "example.com:0", "example.com:99999", "1.2.3.4/24x", "/24",
                                      "host:port"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(sync_scan_candidate_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sync_scan_candidate_valid(bad[i]))
            fail_msg("accepted %s", bad[i]);
}

static void test_request_in_pull_answer(void **state)
{
    (void)state;
    struct sync_users_resp m = {.revision = 3, .full = true};
    m.scan.id = 42;
    m.scan.n = 2;
    strcpy(m.scan.candidates[0], "good.example.com");
    strcpy(m.scan.candidates[1], "10.0.0.0/30");
    strcpy(m.scan.sni, "www.example.com");
    struct buf b;
    buf_init(&b);
    assert_int_equal(sync_users_resp_encode(&m, &b), 0);
    char *s = to_str(&b);
    assert_non_null(strstr(s, "\"scan\":{"));
    struct sync_users_resp d;
    struct sync_err err;
    assert_int_equal(sync_users_resp_decode(&d, s, strlen(s), &err), 0);
    assert_int_equal(d.scan.id, 42);
    assert_int_equal(d.scan.n, 2);
    assert_string_equal(d.scan.candidates[1], "10.0.0.0/30");
    assert_string_equal(d.scan.sni, "www.example.com");
    sync_users_resp_dispose(&d);
    free(s);
    buf_dispose(&b);
    /* No request: no key (older nodes never see it), and absent reads as id 0. */
    m.scan.id = 0;
    buf_init(&b);
    assert_int_equal(sync_users_resp_encode(&m, &b), 0);
    s = to_str(&b);
    assert_null(strstr(s, "scan"));
    assert_int_equal(sync_users_resp_decode(&d, s, strlen(s), &err), 0);
    assert_int_equal(d.scan.id, 0);
    free(s);
    buf_dispose(&b);
    /* Malformed requests are refused, with the reason. */
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[],\"scan\":[]}", "scan: expected an object"},
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[],\"scan\":{\"id\":0,\"candidates\":[\"a.b\"]}}", "scan.id"},
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[],\"scan\":{\"id\":1,\"candidates\":[]}}",
         "scan.candidates"},
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[],\"scan\":{\"id\":1,\"candidates\":[\"10.0.0.0/8\"]}}",
         "scan.candidates[0]"},
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[],\"scan\":{\"id\":1,\"candidates\":[7]}}",
         "scan.candidates[0]"},
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[],\"scan\":{\"id\":1,\"candidates\":[\"a.b\"],\"sni\":\"a "
         "b\"}}",
         "scan.sni"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sync_users_resp_decode(&d, bad[i].json, strlen(bad[i].json), &err);
        assert_true(rc < 0);
        if (strstr(err.msg, bad[i].why) == NULL)
            fail_msg("%s: %s", bad[i].json, err.msg);
    }
    /* More than SYNC_SCAN_CANDIDATES_MAX: ERR_LIMIT. */
    char big[4096] = "{\"v\":1,\"revision\":1,\"full\":true,\"users\":[],\"scan\":{\"id\":1,\"candidates\":[";
    for (int i = 0; i <= SYNC_SCAN_CANDIDATES_MAX; i++)
        strcat(big, i ? ",\"a.b\"" : "\"a.b\"");
    strcat(big, "]}}");
    assert_int_equal(sync_users_resp_decode(&d, big, strlen(big), &err), ERR_LIMIT);
}

static void test_results(void **state)
{
    (void)state;
    /* What `veil scan --json` prints, with its extra keys, wrapped as the node posts it. */
    static const char posted[] =
        "{\"v\":1,\"id\":7,\"results\":[{\"host\":\"127.0.0.1\",\"port\":8443,\"sni\":\"good.example.com\","
        "\"suitable\":true,\"verdict\":\"suitable\",\"why\":\"ok\",\"rtt_ms\":3,\"score\":10497,\"tls13\":true,"
        "\"group\":\"X25519MLKEM768\",\"h2\":false},{\"host\":\"127.0.0.1\",\"port\":9443,\"sni\":\"\","
        "\"suitable\":false,\"verdict\":\"unreachable\",\"why\":\"x\",\"rtt_ms\":0,\"score\":0,\"tls13\":false}]}";
    struct sync_scan_result m;
    struct sync_err err;
    assert_int_equal(sync_scan_result_decode(&m, posted, strlen(posted), &err), 0);
    assert_int_equal(m.id, 7);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.rows[0].sni, "good.example.com");
    assert_true(m.rows[0].suitable);
    assert_int_equal(m.rows[0].score, 10497);
    assert_string_equal(m.rows[1].verdict, "unreachable");
    struct buf b;
    buf_init(&b);
    assert_int_equal(sync_scan_result_encode(&m, &b), 0);
    struct sync_scan_result again;
    assert_int_equal(sync_scan_result_decode(&again, (const char *)buf_data(&b), buf_len(&b), &err), 0);
    assert_int_equal(again.n, 2);
    assert_memory_equal(again.rows, m.rows, 2 * sizeof(*m.rows));
    sync_scan_result_dispose(&again);
    sync_scan_result_dispose(&m);
    buf_dispose(&b);
    static const struct {
        const char *json;
        int rc;
    } bad[] = {
        {"", ERR_MALFORMED},
        {"[]", ERR_MALFORMED},
        {"{\"v\":2,\"id\":1,\"results\":[]}", ERR_UNSUPPORTED},
        {"{\"v\":1,\"id\":0,\"results\":[]}", ERR_MALFORMED},
        {"{\"v\":1,\"id\":1}", ERR_MALFORMED},
        {"{\"v\":1,\"id\":1,\"results\":[{}]}", ERR_MALFORMED},
        {"{\"v\":1,\"id\":1,\"results\":[{\"host\":\"a b\",\"port\":1,\"sni\":\"\",\"suitable\":false,"
         "\"verdict\":\"x\",\"rtt_ms\":0,\"score\":0}]}",
         ERR_MALFORMED},
        {"{\"v\":1,\"id\":1,\"results\":[{\"host\":\"a.b\",\"port\":70000,\"sni\":\"\",\"suitable\":false,"
         "\"verdict\":\"x\",\"rtt_ms\":0,\"score\":0}]}",
         ERR_MALFORMED},
        {"{\"v\":1,\"id\":1,\"results\":[{\"host\":\"a.b\",\"port\":1,\"sni\":\"\",\"suitable\":false,"
         "\"verdict\":\"X<\",\"rtt_ms\":0,\"score\":0}]}",
         ERR_MALFORMED},
        {"{\"v\":1,\"id\":1,\"results\":[{\"host\":\"a.b\",\"port\":1,\"sni\":\"\",\"suitable\":false,"
         "\"verdict\":\"x\",\"rtt_ms\":-1,\"score\":0}]}",
         ERR_RANGE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sync_scan_result_decode(&m, bad[i].json, strlen(bad[i].json), &err);
        if (rc != bad[i].rc)
            fail_msg("%s: %d (%s)", bad[i].json, rc, err.msg);
        assert_null(m.rows);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_request_in_pull_answer),
        cmocka_unit_test(test_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
