/* The REALITY parts of the sync messages (ctl/sync.h): the hub's target assignment in a pull
 * answer and the node's target health in a push. Round trips, absent means none, and every
 * malformed form refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "ctl/sync.h"

#define USERS(extra) "{\"v\":1,\"revision\":5,\"full\":true,\"users\":[]" extra "}"
#define PUSH(targets)                                                                                                  \
    "{\"v\":1,\"push_id\":\"node1-00000001\",\"usage\":[],\"health\":{\"connections\":0,\"uptime\":1,"                 \
    "\"revision\":5,\"version\":\"v\"" targets "}}"

static int users(const char *s, struct sync_users_resp *m, struct sync_err *e)
{
    return sync_users_resp_decode(m, s, strlen(s), e);
}

static void test_reality_round_trip(void **state)
{
    (void)state;
    struct sync_users_resp m = {.revision = 9, .full = true};
    m.reality.rev = 4;
    strcpy(m.reality.target, "www.example.org:443");
    m.reality.n_names = 2;
    strcpy(m.reality.names[0], "www.example.org");
    strcpy(m.reality.names[1], "old.example.com");
    struct buf b;
    buf_init(&b);
    assert_int_equal(sync_users_resp_encode(&m, &b), 0);
    struct sync_users_resp d;
    struct sync_err e;
    assert_int_equal(sync_users_resp_decode(&d, (const char *)buf_data(&b), buf_len(&b), &e), 0);
    assert_int_equal(d.reality.rev, 4);
    assert_string_equal(d.reality.target, "www.example.org:443");
    assert_int_equal(d.reality.n_names, 2);
    assert_string_equal(d.reality.names[1], "old.example.com");
    sync_users_resp_dispose(&d);
    buf_dispose(&b);
    /* absent: rev 0, and nothing encoded */
    assert_int_equal(users(USERS(""), &d, &e), 0);
    assert_int_equal(d.reality.rev, 0);
    m.reality.rev = 0;
    buf_init(&b);
    assert_int_equal(sync_users_resp_encode(&m, &b), 0);
    assert_null(memmem(buf_data(&b), buf_len(&b), "reality", 7));
    buf_dispose(&b);
    /* an invalid assignment is not encoded */
    m.reality.rev = 1;
    strcpy(m.reality.target, "no-port");
    buf_init(&b);
    assert_int_equal(sync_users_resp_encode(&m, &b), ERR_RANGE);
    buf_dispose(&b);
}

static void test_reality_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int rc;
    } cases[] = {
        {USERS(",\"reality\":[]"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":0,\"target\":\"a:1\",\"server_names\":[\"a\"]}"), ERR_RANGE},
        {USERS(",\"reality\":{\"rev\":-1,\"target\":\"a:1\",\"server_names\":[\"a\"]}"), ERR_RANGE},
        {USERS(",\"reality\":{\"rev\":\"1\",\"target\":\"a:1\",\"server_names\":[\"a\"]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"server_names\":[\"a\"]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a\",\"server_names\":[\"a\"]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a:0\",\"server_names\":[\"a\"]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a:65536\",\"server_names\":[\"a\"]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a b:1\",\"server_names\":[\"a\"]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"[zz]:1\",\"server_names\":[\"a\"]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a:1\"}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a:1\",\"server_names\":[]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a:1\",\"server_names\":[\"a/b\"]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a:1\",\"server_names\":[1]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a:1\",\"server_names\":[\"\"]}"), ERR_MALFORMED},
        {USERS(",\"reality\":{\"rev\":1,\"target\":\"a:1\",\"server_names\":"
               "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}"),
         ERR_LIMIT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sync_users_resp m;
        struct sync_err e = {{0}};
        assert_int_equal(users(cases[i].json, &m, &e), cases[i].rc);
        assert_true(strncmp(e.msg, "reality", 7) == 0);
        assert_int_equal(m.reality.rev, 0);
    }
    struct sync_users_resp m;
    struct sync_err e;
    assert_int_equal(
        users(USERS(",\"reality\":{\"rev\":1,\"target\":\"[2001:db8::1]:443\",\"server_names\":[\"x.y\"]}"), &m, &e),
        0);
    assert_int_equal(users(USERS(",\"reality\":null"), &m, &e), 0);
    assert_int_equal(m.reality.rev, 0);
}

static void test_targets(void **state)
{
    (void)state;
    struct sync_usage_req m;
    struct sync_err e = {{0}};
    const char *ok = PUSH(",\"targets\":[{\"target\":\"t:443\",\"dial_failed\":3,\"tls13\":false}]");
    assert_int_equal(sync_usage_req_decode(&m, ok, strlen(ok), &e), 0);
    assert_int_equal(m.health.n_targets, 1);
    assert_int_equal(m.health.targets[0].dial_failed, 3);
    assert_string_equal(m.health.targets[0].verdict, "unknown");
    struct buf b;
    buf_init(&b);
    assert_int_equal(sync_usage_req_encode(&m, &b), 0);
    struct sync_usage_req d;
    assert_int_equal(sync_usage_req_decode(&d, (const char *)buf_data(&b), buf_len(&b), &e), 0);
    assert_memory_equal(&d.health, &m.health, sizeof(m.health));
    buf_dispose(&b);
    sync_usage_req_dispose(&m);
    sync_usage_req_dispose(&d);
    static const struct {
        const char *json;
        int rc;
    } bad[] = {
        {PUSH(",\"targets\":{}"), ERR_MALFORMED},
        {PUSH(",\"targets\":[1]"), ERR_MALFORMED},
        {PUSH(",\"targets\":[{}]"), ERR_MALFORMED},
        {PUSH(",\"targets\":[{\"target\":1}]"), ERR_MALFORMED},
        {PUSH(",\"targets\":[{\"target\":\"t:1\",\"dial_ok\":-1}]"), ERR_RANGE},
        {PUSH(",\"targets\":[{\"target\":\"t:1\",\"dial_ok\":1.5}]"), ERR_MALFORMED},
        {PUSH(",\"targets\":[{\"target\":\"t:1\",\"tls13\":1}]"), ERR_MALFORMED},
        {PUSH(",\"targets\":[{\"target\":\"t:1\",\"verdict\":\"0123456789012345678901234567890123\"}]"), ERR_RANGE},
        {PUSH(",\"targets\":[{\"target\":\"a:1\"},{\"target\":\"a:1\"},{\"target\":\"a:1\"},{\"target\":\"a:1\"},"
              "{\"target\":\"a:1\"},{\"target\":\"a:1\"},{\"target\":\"a:1\"},{\"target\":\"a:1\"},{\"target\":\"a:1\"}"
              "]"),
         ERR_LIMIT},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e.msg[0] = '\0';
        assert_int_equal(sync_usage_req_decode(&m, bad[i].json, strlen(bad[i].json), &e), bad[i].rc);
        assert_true(strncmp(e.msg, "health.targets", 14) == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reality_round_trip),
        cmocka_unit_test(test_reality_malformed),
        cmocka_unit_test(test_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
