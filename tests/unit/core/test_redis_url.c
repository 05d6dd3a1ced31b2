/* core/redis_url: the forms the node and the hub accept, and the ones they refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/redis_url.h"

static void test_parse_forms_and_refusals(void **state)
{
    (void)state;
    struct redis_url u;
    char err[128];
    assert_int_equal(redis_url_parse("redis://127.0.0.1:6380/2", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.pass, "");
    assert_int_equal(redis_url_parse("redis://cache.internal", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "cache.internal");
    assert_int_equal(u.port, 6379);
    assert_int_equal(redis_url_parse("redis://:s3cret@h:1", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.pass, "s3cret");
    assert_int_equal(redis_url_parse("redis://app:pw@h", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.pass, "pw");
    assert_int_equal(redis_url_parse("redis://[::1]:7000", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(redis_url_parse("unix:/run/redis.sock", &u, err, sizeof err), 0);
    assert_string_equal(u.path, "/run/redis.sock");
    assert_int_equal(redis_url_parse("unix:///run/redis.sock", &u, err, sizeof err), 0);
    assert_string_equal(u.path, "/run/redis.sock");
    static const char *const bad[] = {
        "http://h",     "redis://",          "redis://h:0",     "redis://h:65536", "redis://h:12x",
        "redis://h/16", "redis://h/x",       "redis://[::1",    "redis://h]x",     "unix:relative",
        "redis://@:5",  "redis://h:6379x/1", "rediss://h:6379",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (redis_url_parse(bad[i], &u, err, sizeof err) != ERR_CONFIG)
            fail_msg("accepted %s", bad[i]);
    /* TLS is the tunnel's job: the message says where to look */
    assert_int_equal(redis_url_parse("rediss://:pw@h:6380", &u, err, sizeof err), ERR_CONFIG);
    assert_non_null(strstr(err, "deploy/redis-tls/"));
}

/* The node's forms (limits.redis.url) parse to the fields its connection uses. */
static void test_node_forms(void **state)
{
    (void)state;
    struct redis_url u;
    char err[128];
    assert_int_equal(redis_url_parse("redis://:secret@[::1]:7000", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.pass, "secret");
    assert_int_equal(u.port, 7000);
    assert_int_equal(redis_url_parse("redis://pw@h/3", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.pass, "pw");
    assert_int_equal(u.db, 3);
    assert_int_equal(redis_url_parse("redis://h/", &u, err, sizeof err), 0);
    assert_int_equal(u.db, 0);
    assert_int_equal(redis_url_parse("redis://h:99999", &u, err, sizeof err), ERR_CONFIG);
    assert_non_null(strstr(err, "port"));
    assert_int_equal(redis_url_parse("unix:rel", &u, err, sizeof err), ERR_CONFIG);
    assert_non_null(strstr(err, "absolute"));
}

/* Anything longer than a field holds is refused, never cut short. */
static void test_too_long(void **state)
{
    (void)state;
    struct redis_url u;
    char err[128], url[700];
    memset(url, 0, sizeof url);
    memcpy(url, "redis://", 8);
    memset(url + 8, 'h', 300);
    assert_int_equal(redis_url_parse(url, &u, err, sizeof err), ERR_CONFIG);
    memcpy(url, "unix:/", 6);
    memset(url + 6, 'p', 400);
    assert_int_equal(redis_url_parse(url, &u, err, sizeof err), ERR_CONFIG);
    memset(url, 0, sizeof url);
    memcpy(url, "redis://:", 9);
    memset(url + 9, 'p', 300);
    memcpy(url + 309, "@h", 2);
    assert_int_equal(redis_url_parse(url, &u, err, sizeof err), ERR_CONFIG);
}

/* sentinel://: the sentinels (26379 by default), the master's name, credentials, database. */
static void test_sentinel_forms(void **state)
{
    (void)state;
    struct redis_url u;
    char err[128];
    assert_int_equal(redis_url_parse("sentinel://10.0.0.1:26380,s2,[::1]:5000/veil", &u, err, sizeof err), 0);
    assert_int_equal(u.n_sentinels, 3);
    assert_string_equal(u.sentinels[0].host, "10.0.0.1");
    assert_int_equal(u.sentinels[0].port, 26380);
    assert_string_equal(u.sentinels[1].host, "s2");
    assert_int_equal(u.sentinels[1].port, 26379);
    assert_string_equal(u.sentinels[2].host, "::1");
    assert_int_equal(u.sentinels[2].port, 5000);
    assert_string_equal(u.master, "veil");
    assert_int_equal(u.db, 0);
    assert_string_equal(u.host, "");
    assert_int_equal(redis_url_parse("sentinel://app:pw@h1:1,h2:2/my-master_1/3", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.pass, "pw");
    assert_string_equal(u.master, "my-master_1");
    assert_int_equal(u.db, 3);
    assert_int_equal(u.n_sentinels, 2);
    assert_int_equal(redis_url_parse("sentinel://:pw@h1/m", &u, err, sizeof err), 0);
    assert_string_equal(u.pass, "pw");
    assert_int_equal(u.n_sentinels, 1);
    /* A plain URL has no sentinels (the connection code tells the two apart by n_sentinels). */
    assert_int_equal(redis_url_parse("redis://h:1", &u, err, sizeof err), 0);
    assert_int_equal(u.n_sentinels, 0);
    static const char *const bad[] = {
        "sentinel://",
        "sentinel:///m",
        "sentinel://h1:1",
        "sentinel://h1:1/",
        "sentinel://h1:0/m",
        "sentinel://h1:65536/m",
        "sentinel://h1:1x/m",
        "sentinel://h1:/m",
        "sentinel://h1,,h2/m",
        "sentinel://h1,/m",
        "sentinel://,h1/m",
        "sentinel://h 1/m",
        "sentinel://h1/m/16",
        "sentinel://h1/m/x",
        "sentinel://h1/m/-1",
        "sentinel://h1/m x",
        "sentinel://pw@h1/m",
        "sentinel://[::1/m",
        "sentinel://h1//m",
        "sentinel://a,b,c,d,e,f/m",
        "sentinel://h1:99999999999999999999/m",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (redis_url_parse(bad[i], &u, err, sizeof err) != ERR_CONFIG || err[0] == '\0')
            fail_msg("accepted %s", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms_and_refusals),
        cmocka_unit_test(test_node_forms),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_sentinel_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
