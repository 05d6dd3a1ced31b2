/* ctl/sync: node <-> hub sync message codecs (docs/sync-protocol.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "ctl/sync.h"

static void set_user(struct sync_user *u, uint64_t id, const char *uuid, const char *email)
{
    memset(u, 0, sizeof(*u));
    u->id = id;
    strcpy(u->uuid, uuid);
    strcpy(u->email, email);
    strcpy(u->flow, "xtls-rprx-vision");
}

static char *to_str(struct buf *b)
{
    char *s = malloc(buf_len(b) + 1);
    assert_non_null(s);
    memcpy(s, buf_data(b), buf_len(b));
    s[buf_len(b)] = '\0';
    return s;
}

/* The exact wire form, as documented in docs/sync-protocol.md. */
static const char users_delta_json[] =
    "{\"v\":1,\"revision\":42,\"full\":false,\"users\":[{\"id\":7,\"uuid\":\"b831381d-6324-4d53-ad4f-8cda48b30811\","
    "\"email\":\"u7\",\"flow\":\"xtls-rprx-vision\",\"limits\":{\"devices\":3,\"speed\":1250000,\"conns\":64}}],"
    "\"removed\":[5,9]}";

static void test_users_resp_encode_exact(void **state)
{
    (void)state;
    struct sync_user u;
    set_user(&u, 7, "b831381d-6324-4d53-ad4f-8cda48b30811", "u7");
    u.device_limit = 3;
    u.speed_limit = 1250000;
    u.max_conns = 64;
    uint64_t removed[] = {5, 9};
    struct sync_users_resp m = {
        .revision = 42, .full = false, .users = &u, .n_users = 1, .removed = removed, .n_removed = 2};
    struct buf b;
    buf_init(&b);
    assert_int_equal(sync_users_resp_encode(&m, &b), 0);
    char *s = to_str(&b);
    assert_string_equal(s, users_delta_json);
    free(s);
    buf_dispose(&b);
}

static void test_users_resp_roundtrip(void **state)
{
    (void)state;
    enum { N = 50 };
    struct sync_user users[N];
    for (size_t i = 0; i < N; i++) {
        char email[32];
        snprintf(email, sizeof(email), "user-%zu@example", i);
        char uuid[40];
        if (i % 2)
            snprintf(uuid, sizeof(uuid), "b831381d-6324-4d53-ad4f-%012zx", i);
        else
            snprintf(uuid, sizeof(uuid), "user%zu", i); /* a 1..30-byte Xray id */
        set_user(&users[i], i + 1, uuid, email);
        users[i].device_limit = (uint32_t)i;
        users[i].speed_limit = (uint64_t)INT64_MAX - i;
        users[i].max_conns = UINT32_MAX - (uint32_t)i;
        if (i == 3)
            users[i].flow[0] = '\0';
    }
    strcpy(users[4].email, "Ünïcödé \"quoted\" \\ \n");
    struct sync_users_resp m = {.revision = INT64_MAX, .full = true, .users = users, .n_users = N};
    struct buf b;
    buf_init(&b);
    assert_int_equal(sync_users_resp_encode(&m, &b), 0);
    struct sync_users_resp d;
    struct sync_err err = {{0}};
    assert_int_equal(sync_users_resp_decode(&d, (const char *)buf_data(&b), buf_len(&b), &err), 0);
    assert_int_equal(d.revision, INT64_MAX);
    assert_true(d.full);
    assert_int_equal(d.n_users, N);
    assert_int_equal(d.n_removed, 0);
    assert_null(d.removed);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(d.users[i].id, users[i].id);
        assert_string_equal(d.users[i].uuid, users[i].uuid);
        assert_string_equal(d.users[i].email, users[i].email);
        assert_string_equal(d.users[i].flow, users[i].flow);
        assert_int_equal(d.users[i].device_limit, users[i].device_limit);
        assert_int_equal(d.users[i].speed_limit, users[i].speed_limit);
        assert_int_equal(d.users[i].max_conns, users[i].max_conns);
    }
    sync_users_resp_dispose(&d);
    sync_users_resp_dispose(&d); /* idempotent */
    buf_dispose(&b);

    /* empty delta */
    struct sync_users_resp e = {.revision = 0};
    buf_init(&b);
    assert_int_equal(sync_users_resp_encode(&e, &b), 0);
    char *s = to_str(&b);
    assert_string_equal(s, "{\"v\":1,\"revision\":0,\"full\":false,\"users\":[],\"removed\":[]}");
    assert_int_equal(sync_users_resp_decode(&d, s, strlen(s), &err), 0);
    assert_int_equal(d.n_users, 0);
    assert_null(d.users);
    free(s);
    buf_dispose(&b);

    /* optional keys: no removed, no limits, no email */
    const char *min = "{\"v\":1,\"revision\":3,\"full\":false,\"users\":[{\"id\":1,\"uuid\":\"x\",\"flow\":\"\"}],"
                      "\"future_key\":{\"a\":[1]}}";
    assert_int_equal(sync_users_resp_decode(&d, min, strlen(min), &err), 0);
    assert_int_equal(d.n_users, 1);
    assert_string_equal(d.users[0].email, "");
    assert_int_equal(d.users[0].max_conns, 0);
    sync_users_resp_dispose(&d);
}

static void test_usage_roundtrip(void **state)
{
    (void)state;
    struct sync_usage_entry e[3] = {
        {1, 100, 2000, 0, 0}, {2, 0, 0, 3, 0}, {(uint64_t)INT64_MAX, (uint64_t)INT64_MAX, 1, 0, 7}};
    struct sync_usage_req m = {.entries = e, .n_entries = 3};
    strcpy(m.push_id, "node1-000000000001");
    m.health.connections = 17;
    m.health.uptime = 3600;
    m.health.revision = 42;
    strcpy(m.health.version, "veil-node 0.1.0");
    m.health.cpu = 73;
    m.health.bytes_per_sec = 12500000;
    m.health.handshakes = 9;
    struct buf b;
    buf_init(&b);
    assert_int_equal(sync_usage_req_encode(&m, &b), 0);
    char *s = to_str(&b);
    assert_non_null(strstr(s, "\"push_id\":\"node1-000000000001\""));
    /* BitTorrent attempts ride along only where there are any (older hubs never see the key). */
    assert_non_null(strstr(s, "{\"id\":2,\"up\":0,\"down\":0,\"bt\":3}"));
    assert_null(strstr(s, "{\"id\":1,\"up\":100,\"down\":2000,\"bt\""));
    /* Refused port-25 flows likewise. */
    assert_non_null(strstr(s, "\"down\":1,\"smtp\":7}"));
    assert_null(strstr(s, "\"bt\":3,\"smtp\""));
    struct sync_usage_req d;
    struct sync_err err;
    assert_int_equal(sync_usage_req_decode(&d, s, strlen(s), &err), 0);
    assert_string_equal(d.push_id, m.push_id);
    assert_int_equal(d.n_entries, 3);
    assert_memory_equal(d.entries, e, sizeof(e));
    assert_int_equal(d.health.connections, 17);
    assert_int_equal(d.health.uptime, 3600);
    assert_int_equal(d.health.revision, 42);
    assert_string_equal(d.health.version, "veil-node 0.1.0");
    assert_int_equal(d.health.cpu, 73);
    assert_int_equal(d.health.bytes_per_sec, 12500000);
    assert_int_equal(d.health.handshakes, 9);
    sync_usage_req_dispose(&d);
    free(s);
    buf_dispose(&b);
    /* A push from a node that predates the load figures: they read as 0. */
    static const char old[] = "{\"v\":1,\"push_id\":\"abcdefgh\",\"usage\":[],"
                              "\"health\":{\"connections\":1,\"uptime\":2,\"revision\":3,\"version\":\"x\"}}";
    assert_int_equal(sync_usage_req_decode(&d, old, strlen(old), &err), 0);
    assert_int_equal(d.health.cpu, 0);
    assert_int_equal(d.health.bytes_per_sec, 0);
    assert_int_equal(d.health.handshakes, 0); /* such a node is never judged "unreachable from clients" */
    sync_usage_req_dispose(&d);
    /* CPU is a percentage: a node cannot claim more than all its cores. */
    m.health.cpu = 101;
    buf_init(&b);
    assert_int_equal(sync_usage_req_encode(&m, &b), ERR_RANGE);
    buf_dispose(&b);

    struct sync_usage_resp r = {.duplicate = true, .revision = 43}, rd;
    buf_init(&b);
    assert_int_equal(sync_usage_resp_encode(&r, &b), 0);
    s = to_str(&b);
    assert_string_equal(s, "{\"v\":1,\"duplicate\":true,\"revision\":43}");
    assert_int_equal(sync_usage_resp_decode(&rd, s, strlen(s), &err), 0);
    assert_true(rd.duplicate);
    assert_int_equal(rd.revision, 43);
    free(s);
    buf_dispose(&b);
}

static void test_encode_errors(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(buf_append(&b, "keep", 4), 0);
    struct sync_user u;
    set_user(&u, 1, "hello", "e");
    struct sync_users_resp m = {.revision = (uint64_t)INT64_MAX + 1, .users = &u, .n_users = 1};
    assert_int_equal(sync_users_resp_encode(&m, &b), ERR_RANGE);
    m.revision = 1;
    u.id = UINT64_MAX;
    assert_int_equal(sync_users_resp_encode(&m, &b), ERR_RANGE);
    u.id = 1;
    strcpy(u.uuid, "0123456789abcdef0123456789abcdeX"); /* 32 chars: not a UUID, and not <= 30 bytes */
    assert_int_equal(sync_users_resp_encode(&m, &b), ERR_RANGE);
    set_user(&u, 1, "hello", "\xff\xfe"); /* not UTF-8 */
    assert_int_equal(sync_users_resp_encode(&m, &b), ERR_RANGE);
    set_user(&u, 1, "hello", "e");
    strcpy(u.flow, "xtls-rprx-direct");
    assert_int_equal(sync_users_resp_encode(&m, &b), ERR_RANGE);
    uint64_t rem = 1;
    struct sync_users_resp full_rem = {.full = true, .removed = &rem, .n_removed = 1};
    assert_int_equal(sync_users_resp_encode(&full_rem, &b), ERR_RANGE);

    struct sync_usage_req q = {0};
    strcpy(q.push_id, "short");
    assert_int_equal(sync_usage_req_encode(&q, &b), ERR_RANGE);
    strcpy(q.push_id, "bad id with spaces");
    assert_int_equal(sync_usage_req_encode(&q, &b), ERR_RANGE);
    strcpy(q.push_id, "good-push-id");
    struct sync_usage_entry e = {1, UINT64_MAX, 0, 0, 0};
    q.entries = &e;
    q.n_entries = 1;
    assert_int_equal(sync_usage_req_encode(&q, &b), ERR_RANGE);
    struct sync_usage_resp r = {.revision = UINT64_MAX};
    assert_int_equal(sync_usage_resp_encode(&r, &b), ERR_RANGE);

    assert_int_equal(buf_len(&b), 4); /* untouched by every failure */
    buf_dispose(&b);
}

struct neg {
    const char *json;
    int rc;
    const char *msg; /* substring of the error message */
};

static void check_users_neg(const struct neg *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct sync_users_resp d;
        struct sync_err err = {{0}};
        int rc = sync_users_resp_decode(&d, c[i].json, strlen(c[i].json), &err);
        if (rc != c[i].rc || strstr(err.msg, c[i].msg) == NULL)
            fail_msg("case %zu %s: rc %d '%s', want %d '%s'", i, c[i].json, rc, err.msg, c[i].rc, c[i].msg);
        assert_null(d.users);
        assert_null(d.removed);
        assert_int_equal(d.n_users, 0);
    }
}

#define U1 "{\"id\":1,\"uuid\":\"hello\",\"flow\":\"\"}"
#define HEAD "{\"v\":1,\"revision\":1,\"full\":false,"

static void test_users_decode_negative(void **state)
{
    (void)state;
    static const struct neg cases[] = {
        {"", ERR_MALFORMED, "invalid JSON"},
        {"nonsense", ERR_MALFORMED, "invalid JSON"},
        {"[]", ERR_MALFORMED, "top level: expected an object"},
        {"{}", ERR_MALFORMED, "v: expected"},
        {"{\"v\":\"1\"}", ERR_MALFORMED, "v: expected"},
        {"{\"v\":2,\"revision\":1}", ERR_UNSUPPORTED, "version 2 not supported"},
        {"{\"v\":1,\"full\":true,\"users\":[]}", ERR_MALFORMED, "revision: missing"},
        {"{\"v\":1,\"revision\":\"5\",\"full\":true,\"users\":[]}", ERR_MALFORMED, "revision: expected an integer"},
        {"{\"v\":1,\"revision\":-1,\"full\":true,\"users\":[]}", ERR_RANGE, "revision: out of range"},
        {"{\"v\":1,\"revision\":1.5,\"full\":true,\"users\":[]}", ERR_MALFORMED, "revision: expected an integer"},
        {"{\"v\":1,\"revision\":1e3,\"full\":true,\"users\":[]}", ERR_MALFORMED, "revision: expected an integer"},
        {"{\"v\":1,\"revision\":99999999999999999999,\"full\":true,\"users\":[]}", ERR_RANGE, "invalid JSON"},
        {"{\"v\":1,\"revision\":1,\"full\":1,\"users\":[]}", ERR_MALFORMED, "full: expected true or false"},
        {"{\"v\":1,\"revision\":1,\"users\":[]}", ERR_MALFORMED, "full: missing"},
        {HEAD "\"users\":{}}", ERR_MALFORMED, "users: expected an array"},
        {HEAD "\"removed\":[]}", ERR_MALFORMED, "users: missing"},
        {HEAD "\"users\":[1]}", ERR_MALFORMED, "users[0]: expected an object"},
        {HEAD "\"users\":[" U1 ",{\"uuid\":\"x\",\"flow\":\"\"}]}", ERR_MALFORMED, "users[1].id: missing"},
        {HEAD "\"users\":[{\"id\":1,\"flow\":\"\"}]}", ERR_MALFORMED, "users[0].uuid: missing"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":5,\"flow\":\"\"}]}", ERR_MALFORMED, "users[0].uuid: expected a string"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"\",\"flow\":\"\"}]}", ERR_MALFORMED, "users[0].uuid: not a UUID"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"0123456789abcdef0123456789abcdeg\",\"flow\":\"\"}]}", ERR_MALFORMED,
         "users[0].uuid: not a UUID"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"" /* 65 bytes */
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"flow\":\"\"}]}",
         ERR_RANGE, "users[0].uuid: longer than 64 bytes"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"x\"}]}", ERR_MALFORMED, "users[0].flow: missing"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"x\",\"flow\":\"xtls-rprx-direct\"}]}", ERR_UNSUPPORTED,
         "users[0].flow: unsupported"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"x\",\"flow\":\"\",\"email\":null}]}", ERR_MALFORMED,
         "users[0].email: expected a string"},
        {HEAD "\"users\":[{\"id\":-3,\"uuid\":\"x\",\"flow\":\"\"}]}", ERR_RANGE, "users[0].id: out of range"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"x\",\"flow\":\"\",\"limits\":[]}]}", ERR_MALFORMED,
         "users[0].limits: expected an object"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"x\",\"flow\":\"\",\"limits\":{\"devices\":4294967296}}]}", ERR_RANGE,
         "users[0].limits.devices: out of range"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"x\",\"flow\":\"\",\"limits\":{\"conns\":true}}]}", ERR_MALFORMED,
         "users[0].limits.conns: expected an integer"},
        {HEAD "\"users\":[{\"id\":1,\"uuid\":\"x\",\"flow\":\"\",\"limits\":{\"speed\":-1}}]}", ERR_RANGE,
         "users[0].limits.speed: out of range"},
        {HEAD "\"users\":[],\"removed\":[\"3\"]}", ERR_MALFORMED, "removed[0]: expected an integer"},
        {HEAD "\"users\":[],\"removed\":[1,-1]}", ERR_RANGE, "removed[1]: out of range"},
        {HEAD "\"users\":[],\"removed\":{}}", ERR_MALFORMED, "removed: expected an array"},
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[],\"removed\":[1]}", ERR_MALFORMED,
         "removed: must be empty in a full update"},
        {HEAD "\"users\":[" U1 ",{\"id\":1,\"uuid\":\"other\",\"flow\":\"\"}]}", ERR_MALFORMED,
         "id 1 appears more than once"},
        {HEAD "\"users\":[" U1 "],\"removed\":[2,1]}", ERR_MALFORMED, "id 1 appears more than once"},
        {HEAD "\"users\":[],\"removed\":[4,4]}", ERR_MALFORMED, "id 4 appears more than once"},
        {HEAD "\"users\":[" U1 ",{\"id\":2,\"uuid\":\"hello\",\"flow\":\"\"}]}", ERR_MALFORMED,
         "users 1 and 2 share a uuid"},
        {"{\"v\":1,\"v\":1,\"revision\":1,\"full\":true,\"users\":[]}", ERR_MALFORMED, "duplicate"},
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[]} x", ERR_MALFORMED, "invalid JSON"},
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[{\"id\":1,\"uuid\":\"a\\u0000b\",\"flow\":\"\"}]}",
         ERR_MALFORMED, "invalid JSON"},
        {"{\"v\":1,\"revision\":1,\"full\":true,\"users\":[{\"id\":1,\"uuid\":\"\xff\",\"flow\":\"\"}]}", ERR_MALFORMED,
         "invalid JSON"},
    };
    check_users_neg(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_users_decode_truncations(void **state)
{
    (void)state;
    size_t n = strlen(users_delta_json);
    struct sync_users_resp d;
    for (size_t i = 0; i < n; i++) {
        struct sync_err err = {{0}};
        assert_true(sync_users_resp_decode(&d, users_delta_json, i, &err) < 0);
        assert_true(err.msg[0] != '\0');
        assert_null(d.users);
    }
    assert_int_equal(sync_users_resp_decode(&d, users_delta_json, n, NULL), 0);
    assert_int_equal(d.n_users, 1);
    assert_int_equal(d.users[0].speed_limit, 1250000);
    assert_int_equal(d.n_removed, 2);
    assert_int_equal(d.removed[1], 9);
    sync_users_resp_dispose(&d);
    /* too large a body is refused before parsing */
    struct sync_err err;
    assert_int_equal(sync_users_resp_decode(&d, users_delta_json, (size_t)SYNC_BODY_MAX + 1, &err), ERR_TOO_LONG);
}

#define PUSH "\"push_id\":\"abcdefgh\""
#define HEALTH "\"health\":{\"connections\":1,\"uptime\":2,\"revision\":3,\"version\":\"x\"}"

static void test_usage_decode_negative(void **state)
{
    (void)state;
    static const struct neg cases[] = {
        {"{\"v\":1,\"usage\":[]," HEALTH "}", ERR_MALFORMED, "push_id: missing"},
        {"{\"v\":1,\"push_id\":\"short\",\"usage\":[]," HEALTH "}", ERR_MALFORMED, "push_id: expected 8..64"},
        {"{\"v\":1,\"push_id\":\"has space!\",\"usage\":[]," HEALTH "}", ERR_MALFORMED, "push_id: expected 8..64"},
        {"{\"v\":1," PUSH "," HEALTH "}", ERR_MALFORMED, "usage: missing"},
        {"{\"v\":1," PUSH ",\"usage\":[]}", ERR_MALFORMED, "health: missing"},
        {"{\"v\":1," PUSH ",\"usage\":[],\"health\":[]}", ERR_MALFORMED, "health: expected an object"},
        {"{\"v\":1," PUSH ",\"usage\":[],\"health\":{\"uptime\":2,\"revision\":3,\"version\":\"x\"}}", ERR_MALFORMED,
         "health.connections: missing"},
        {"{\"v\":1," PUSH ",\"usage\":[],\"health\":{\"connections\":1,\"uptime\":2,\"revision\":3,\"version\":1}}",
         ERR_MALFORMED, "health.version: expected a string"},
        {"{\"v\":1," PUSH ",\"usage\":[{\"id\":1,\"up\":1}]," HEALTH "}", ERR_MALFORMED, "usage[0].down: missing"},
        {"{\"v\":1," PUSH ",\"usage\":[{\"id\":1,\"up\":-1,\"down\":0}]," HEALTH "}", ERR_RANGE,
         "usage[0].up: out of range"},
        {"{\"v\":1," PUSH ",\"usage\":[{\"id\":1,\"up\":18446744073709551615,\"down\":0}]," HEALTH "}", ERR_RANGE,
         "invalid JSON"},
        {"{\"v\":1," PUSH ",\"usage\":[{\"id\":1,\"up\":1.0,\"down\":0}]," HEALTH "}", ERR_MALFORMED,
         "usage[0].up: expected an integer"},
        {"{\"v\":1," PUSH ",\"usage\":[null]," HEALTH "}", ERR_MALFORMED, "usage[0]: expected an object"},
        {"{\"v\":3," PUSH ",\"usage\":[]," HEALTH "}", ERR_UNSUPPORTED, "not supported"},
        {"{\"v\":1," PUSH ",\"usage\":[],\"health\":{\"connections\":1,\"uptime\":2,\"revision\":3,\"version\":\"x\","
         "\"cpu\":101}}",
         ERR_RANGE, "health.cpu: out of range"},
        {"{\"v\":1," PUSH ",\"usage\":[],\"health\":{\"connections\":1,\"uptime\":2,\"revision\":3,\"version\":\"x\","
         "\"bps\":\"fast\"}}",
         ERR_MALFORMED, "health.bps: expected an integer"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sync_usage_req d;
        struct sync_err err = {{0}};
        int rc = sync_usage_req_decode(&d, cases[i].json, strlen(cases[i].json), &err);
        if (rc != cases[i].rc || strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu %s: rc %d '%s', want %d '%s'", i, cases[i].json, rc, err.msg, cases[i].rc, cases[i].msg);
        assert_null(d.entries);
    }
    struct sync_usage_resp r;
    struct sync_err err;
    assert_int_equal(sync_usage_resp_decode(&r, "{\"v\":1,\"revision\":1}", 20, &err), ERR_MALFORMED);
    assert_int_equal(sync_usage_resp_decode(&r, "{\"v\":1,\"duplicate\":false}", 25, &err), ERR_MALFORMED);
    assert_string_equal(err.msg, "revision: missing");
    const char *ok = "{\"v\":1," PUSH ",\"usage\":[{\"id\":1,\"up\":1,\"down\":2}]," HEALTH "}";
    for (size_t i = 0; i < strlen(ok); i++) {
        struct sync_usage_req d;
        assert_true(sync_usage_req_decode(&d, ok, i, NULL) < 0);
        assert_null(d.entries);
    }
}

static void test_helpers(void **state)
{
    (void)state;
    uint64_t v = 99;
    assert_int_equal(sync_parse_since(NULL, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sync_parse_since("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sync_parse_since("9223372036854775807", &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(sync_parse_since("9223372036854775808", &v), ERR_RANGE);
    assert_int_equal(sync_parse_since("99999999999999999999999", &v), ERR_RANGE);
    assert_int_equal(sync_parse_since("", &v), ERR_MALFORMED);
    assert_int_equal(sync_parse_since("-1", &v), ERR_MALFORMED);
    assert_int_equal(sync_parse_since("+1", &v), ERR_MALFORMED);
    assert_int_equal(sync_parse_since("1 ", &v), ERR_MALFORMED);
    assert_int_equal(sync_parse_since("0x10", &v), ERR_MALFORMED);

    assert_true(sync_push_id_valid("abcdefgh", 8));
    assert_false(sync_push_id_valid("abcdefg", 7));
    assert_false(sync_push_id_valid("abcdefg.", 8));
    char long_id[66];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    assert_true(sync_push_id_valid(long_id, 64));
    assert_false(sync_push_id_valid(long_id, 65));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_resp_encode_exact), cmocka_unit_test(test_users_resp_roundtrip),
        cmocka_unit_test(test_usage_roundtrip),         cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_users_decode_negative),   cmocka_unit_test(test_users_decode_truncations),
        cmocka_unit_test(test_usage_decode_negative),   cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
