/* core/log: JSON-lines format, escaping, levels, truncation, and a real write to a pipe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/err.h"
#include "core/log.h"

static void test_format_fields(void **state)
{
    (void)state;
    char line[512];
    const struct log_field fields[] = {LF_STR("addr", "127.0.0.1"), LF_INT("port", -1),   LF_UINT("bytes", 42),
                                       LF_BOOL("ok", true),         LF_DBL("ratio", 0.5), LF_STR("sni", "a\"b\n\x01"),
                                       LF_STR("none", NULL),        {.key = NULL}};
    size_t n = log_format(line, sizeof(line), 1764133000123, LOG_LEVEL_WARN, "node", 7, "listen", fields);
    assert_true(n > 0 && line[n - 1] == '\n');
    line[n] = '\0';
    assert_string_equal(line,
                        "{\"@timestamp\":\"2025-11-26T04:56:40.123Z\",\"log.level\":\"warn\",\"message\":\"listen\","
                        "\"log.logger\":\"node\",\"conn\":7,"
                        "\"event.action\":\"listen\",\"addr\":\"127.0.0.1\",\"port\":-1,\"bytes\":42,\"ok\":true,"
                        "\"ratio\":0.5,\"sni\":\"a\\\"b\\n\\u0001\",\"none\":null}\n");
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "sni")), "a\"b\n\x01");
    json_decref(j);
}

/* Elastic Common Schema names: the client's address, the customer and error text are renamed,
 * other keys stay; the line stays one JSON object with no key twice. */
static void test_ecs_names(void **state)
{
    (void)state;
    char line[512];
    const struct log_field fields[] = {LF_STR("ip", "203.0.113.7"), LF_INT("user", 42),   LF_STR("email", "a@b"),
                                       LF_STR("msg", "boom"),       LF_STR("path", "/x"), {.key = NULL}};
    size_t n = log_format(line, sizeof(line), 0, LOG_LEVEL_ERR, "api", 0, "store_error", fields);
    line[n] = '\0';
    json_error_t err;
    json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "@timestamp")), "1970-01-01T00:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(j, "log.level")), "error");
    assert_string_equal(json_string_value(json_object_get(j, "log.logger")), "api");
    assert_string_equal(json_string_value(json_object_get(j, "message")), "store_error");
    assert_string_equal(json_string_value(json_object_get(j, "event.action")), "store_error");
    assert_string_equal(json_string_value(json_object_get(j, "source.ip")), "203.0.113.7");
    assert_int_equal(json_integer_value(json_object_get(j, "user.id")), 42);
    assert_string_equal(json_string_value(json_object_get(j, "user.email")), "a@b");
    assert_string_equal(json_string_value(json_object_get(j, "error.message")), "boom");
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/x");
    assert_null(json_object_get(j, "ip"));
    assert_null(json_object_get(j, "ts"));
    json_decref(j);
    /* A field called "message" never shadows the top-level one. */
    const struct log_field m[] = {LF_STR("message", "bad config"), {.key = NULL}};
    n = log_format(line, sizeof(line), 0, LOG_LEVEL_ERR, "node", 0, "config_error", m);
    line[n] = '\0';
    j = json_loads(line, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "config_error");
    assert_string_equal(json_string_value(json_object_get(j, "error.message")), "bad config");
    json_decref(j);
}

static void test_invalid_utf8_and_truncation(void **state)
{
    (void)state;
    char line[160];
    const struct log_field bad[] = {LF_STR("v", "ok\xff\xc3"), {.key = NULL}};
    size_t n = log_format(line, sizeof(line), 0, LOG_LEVEL_INFO, "m", 0, "e", bad);
    line[n] = '\0';
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    assert_non_null(j);                      /* still valid JSON */
    assert_null(json_object_get(j, "conn")); /* conn 0 is omitted */
    json_decref(j);

    char huge[1000];
    memset(huge, 'x', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    const struct log_field big[] = {LF_STR("v", huge), {.key = NULL}};
    n = log_format(line, sizeof(line), 0, LOG_LEVEL_INFO, "m", 0, "e", big);
    assert_true(n <= sizeof(line));
    line[n - 1] = '\0';
    j = json_loads(line, 0, &err);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "truncated")));
    json_decref(j);

    /* A buffer too small even for the "truncated" line: the fields go, no endless retry. */
    char tiny[120];
    n = log_format(tiny, sizeof(tiny), 0, LOG_LEVEL_INFO, "m", 0, "e", big);
    assert_true(n > 0 && n <= sizeof(tiny) && tiny[n - 1] == '\n');
}

static void test_levels_and_emit(void **state)
{
    (void)state;
    assert_int_equal(log_level_parse("warning"), LOG_LEVEL_WARN);
    assert_int_equal(log_level_parse("DEBUG"), LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_parse("none"), LOG_LEVEL_NONE);
    assert_int_equal(log_level_parse("loud"), -1);
    assert_int_equal(log_level_parse(NULL), -1);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    log_setup(LOG_LEVEL_INFO, fds[1]);
    log_debug("t", 0, "hidden");
    log_info("t", 1, "shown", LF_INT("n", 5));
    log_err("t", 2, "no_fields");
    close(fds[1]);
    char buf[1024] = {0};
    ssize_t got = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    log_setup(LOG_LEVEL_INFO, 2);
    assert_true(got > 0);
    assert_null(strstr(buf, "hidden"));
    assert_non_null(strstr(buf, "\"event.action\":\"shown\",\"n\":5}\n"));
    assert_non_null(strstr(buf, "\"log.level\":\"error\""));
    assert_non_null(strstr(buf, "\"event.action\":\"no_fields\"}\n"));
}

static void test_route_mod(void **state)
{
    (void)state;
    int main_fds[2], acc_fds[2];
    assert_int_equal(pipe(main_fds), 0);
    assert_int_equal(pipe(acc_fds), 0);
    log_setup(LOG_LEVEL_ERR, main_fds[1]);
    log_route_mod("access", acc_fds[1]);
    log_info("access", 3, "tunnel", LF_STR("user", "alice")); /* below the level, still written */
    log_info("node", 3, "hidden");                            /* below the level: dropped */
    log_err("node", 3, "shown");
    log_route_mod(NULL, -1);
    log_info("access", 3, "after_unroute"); /* back to the level rule: dropped */
    close(main_fds[1]);
    close(acc_fds[1]);
    char a[512] = {0}, m[512] = {0};
    assert_true(read(acc_fds[0], a, sizeof(a) - 1) > 0);
    assert_true(read(main_fds[0], m, sizeof(m) - 1) > 0);
    close(acc_fds[0]);
    close(main_fds[0]);
    log_setup(LOG_LEVEL_INFO, 2);
    assert_non_null(strstr(a, "\"event.action\":\"tunnel\",\"user.id\":\"alice\""));
    assert_null(strstr(a, "shown"));
    assert_null(strstr(m, "tunnel"));
    assert_null(strstr(m, "hidden"));
    assert_null(strstr(m, "after_unroute"));
    assert_non_null(strstr(m, "shown"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_fields),
        cmocka_unit_test(test_ecs_names),
        cmocka_unit_test(test_invalid_utf8_and_truncation),
        cmocka_unit_test(test_levels_and_emit),
        cmocka_unit_test(test_route_mod),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
