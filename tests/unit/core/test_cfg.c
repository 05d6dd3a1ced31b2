/* core/cfg: path tracking, collected messages, typed getters, unknown keys, value decoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/cfg.h"
#include "core/err.h"

static json_t *parse_ok(struct cfg_ctx *c, const char *text)
{
    json_t *j = cfg_parse(c, text, strlen(text));
    assert_non_null(j);
    return j;
}

static void assert_msg(const struct cfg_ctx *c, size_t i, const char *text)
{
    assert_true(i < c->n_msgs);
    assert_string_equal(c->msgs[i].text, text);
}

static void test_path_and_messages(void **state)
{
    struct cfg_ctx c;
    cfg_init(&c, "node.json");
    size_t m0 = cfg_push_key(&c, "inbounds");
    size_t m1 = cfg_push_index(&c, 0);
    size_t m2 = cfg_push_key(&c, "settings");
    size_t m3 = cfg_push_key(&c, "clients");
    size_t m4 = cfg_push_index(&c, 2);
    assert_int_equal(cfg_error(&c, "id", "expected a string"), ERR_CONFIG);
    cfg_pop(&c, m4);
    cfg_pop(&c, m3);
    cfg_warn(&c, "odd key!", "careful");
    cfg_pop(&c, m2);
    cfg_pop(&c, m1);
    cfg_pop(&c, m0);
    assert_string_equal(c.path, "");
    cfg_error_global(&c, "cannot open");
    assert_int_equal(c.n_errors, 2);
    assert_int_equal(c.n_warnings, 1);
    assert_false(cfg_ok(&c));
    assert_msg(&c, 0, "node.json: inbounds[0].settings.clients[2].id: expected a string");
    assert_msg(&c, 1, "node.json: inbounds[0].settings[\"odd key!\"]: careful");
    assert_int_equal(c.msgs[1].sev, CFG_SEV_WARNING);
    assert_msg(&c, 2, "node.json: cannot open");
    cfg_dispose(&c);
}

static void test_parse_errors(void **state)
{
    struct cfg_ctx c;
    cfg_init(&c, "f.json");
    assert_null(cfg_parse(&c, "{\"a\": 1,\n \"a\": 2}", 17));
    assert_int_equal(c.n_errors, 1);
    assert_non_null(strstr(c.msgs[0].text, "f.json: line 2"));
    assert_non_null(strstr(c.msgs[0].text, "duplicate"));
    assert_null(cfg_parse(&c, "[1]", 3));
    assert_msg(&c, 1, "f.json: the top level must be a JSON object, not an array");
    assert_null(cfg_parse(&c, "{", 1));
    assert_int_equal(c.n_errors, 3);
    cfg_dispose(&c);
}

static void test_getters(void **state)
{
    struct cfg_ctx c;
    cfg_init(&c, "x");
    json_t *j = parse_ok(&c, "{\"s\":\"v\",\"n\":5,\"b\":true,\"big\":70000,\"ps\":\"443\",\"bad\":\"4x\","
                             "\"neg\":-1,\"r\":1.5,\"nul\":null,\"o\":{},\"a\":[]}");
    const char *s = NULL;
    assert_int_equal(cfg_get_str(&c, j, "s", &s), 1);
    assert_string_equal(s, "v");
    assert_int_equal(cfg_get_str(&c, j, "missing", &s), 0);
    assert_int_equal(cfg_get_str(&c, j, "nul", &s), 0);
    assert_int_equal(cfg_get_str(&c, j, "n", &s), ERR_CONFIG);
    assert_msg(&c, 0, "x: n: expected a string, got an integer");

    int64_t x = 0;
    assert_int_equal(cfg_get_int(&c, j, "n", 1, 10, &x), 1);
    assert_int_equal(x, 5);
    assert_int_equal(cfg_get_int(&c, j, "big", 1, 65535, &x), ERR_CONFIG);
    assert_msg(&c, 1, "x: big: must be between 1 and 65535");
    assert_int_equal(cfg_get_int(&c, j, "r", 0, 10, &x), ERR_CONFIG);
    assert_msg(&c, 2, "x: r: expected an integer, got a number with a fraction");
    assert_int_equal(cfg_get_int_or_str(&c, j, "ps", 1, 65535, &x), 1);
    assert_int_equal(x, 443);
    assert_int_equal(cfg_get_int_or_str(&c, j, "bad", 1, 65535, &x), ERR_CONFIG);
    assert_msg(&c, 3, "x: bad: expected an integer, got \"4x\"");
    uint64_t u = 9;
    assert_int_equal(cfg_get_u64(&c, j, "neg", &u), ERR_CONFIG);
    assert_int_equal(u, 9);

    bool b = false;
    assert_int_equal(cfg_get_bool(&c, j, "b", &b), 1);
    assert_true(b);
    assert_int_equal(cfg_get_bool(&c, j, "s", &b), ERR_CONFIG);
    assert_msg(&c, 5, "x: s: expected true or false, got a string");

    json_t *o;
    assert_int_equal(cfg_get_obj(&c, j, "o", &o), 1);
    assert_int_equal(cfg_get_obj(&c, j, "a", &o), ERR_CONFIG);
    assert_msg(&c, 6, "x: a: expected an object, got an array");
    assert_int_equal(cfg_get_arr(&c, j, "a", &o), 1);
    assert_int_equal(cfg_get_arr(&c, j, "o", &o), ERR_CONFIG);
    assert_msg(&c, 7, "x: o: expected an array, got an object");
    assert_int_equal(c.n_errors, 8);

    static const char *const aliases[] = {"target", "s", NULL};
    assert_string_equal(cfg_pick_alias(j, aliases), "s");
    static const char *const none[] = {"nul", "q", NULL};
    assert_null(cfg_pick_alias(j, none));
    json_decref(j);
    cfg_dispose(&c);
}

static void test_check_keys(void **state)
{
    struct cfg_ctx c;
    cfg_init(&c, "x");
    json_t *j = parse_ok(&c, "{\"a\":1,\"b\":2,\"tag\":\"t\",\"zz\":3}");
    static const char *const allowed[] = {"a", "b", NULL};
    static const char *const ignored[] = {"tag", NULL};
    size_t mark = cfg_push_key(&c, "obj");
    assert_int_equal(cfg_check_keys(&c, j, allowed, ignored, "no effect"), 1);
    cfg_pop(&c, mark);
    assert_int_equal(c.n_errors, 1);
    assert_int_equal(c.n_warnings, 1);
    assert_msg(&c, 0, "x: obj.tag: ignored: no effect");
    assert_msg(&c, 1, "x: obj.zz: unknown field");
    json_decref(j);
    cfg_dispose(&c);
}

static void test_message_cap(void **state)
{
    struct cfg_ctx c;
    cfg_init(&c, "x");
    for (int i = 0; i < CFG_MSGS_MAX + 5; i++)
        cfg_error(&c, "k", "e%d", i);
    assert_int_equal(c.n_msgs, CFG_MSGS_MAX);
    assert_int_equal(c.n_dropped, 5);
    assert_int_equal(c.n_errors, CFG_MSGS_MAX + 5);
    cfg_dispose(&c);
}

static void test_path_overflow(void **state)
{
    struct cfg_ctx c;
    cfg_init(&c, "x");
    for (int i = 0; i < 100; i++)
        cfg_push_key(&c, "abcdefgh");
    assert_true(c.path_len < CFG_PATH_MAX);
    assert_non_null(strstr(c.path, "..."));
    cfg_error(&c, NULL, "deep");
    cfg_pop(&c, 0);
    assert_string_equal(c.path, "");
    cfg_dispose(&c);
}

static void test_take_msgs(void **state)
{
    struct cfg_ctx a, b;
    cfg_init(&a, "a");
    cfg_init(&b, "b");
    cfg_error(&a, "k", "first");
    cfg_warn(&b, "w", "second");
    cfg_error(&b, NULL, "third");
    cfg_take_msgs(&a, &b);
    assert_int_equal(a.n_msgs, 3);
    assert_int_equal(a.n_errors, 2);
    assert_int_equal(a.n_warnings, 1);
    assert_string_equal(a.msgs[1].text, "b: w: second");
    assert_string_equal(a.msgs[2].text, "b: third");
    assert_int_equal(b.n_msgs + b.n_errors + b.n_warnings, 0);
    cfg_dispose(&b);
    cfg_dispose(&a);
}

static void test_decode_key32(void **state)
{
    uint8_t k[32];
    assert_int_equal(cfg_decode_key32("EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8", k), 0);
    assert_int_equal(k[0], 0x10);
    assert_int_equal(k[31], 0x6f);
    /* unused trailing bits set (Go accepts it): '8' = 60 -> '9' = 61 */
    assert_int_equal(cfg_decode_key32("EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm9", k), 1);
    assert_int_equal(k[31], 0x6f);
    /* padded */
    assert_int_equal(cfg_decode_key32("EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8=", k), 1);
    /* standard alphabet */
    assert_int_equal(cfg_decode_key32("2J47rXlDfb7Z+ENBgwT0YP8Fx/6B/kqVd6gEy5Nn/2Y", k), 1);
    assert_int_equal(cfg_decode_key32("2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y", k), 0);
    assert_int_equal(cfg_decode_key32("", k), ERR_MALFORMED);
    assert_int_equal(cfg_decode_key32("EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm", k), ERR_MALFORMED);
    assert_int_equal(cfg_decode_key32("EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8A", k), ERR_MALFORMED);
    assert_int_equal(cfg_decode_key32("EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtL!8", k), ERR_MALFORMED);
    assert_int_equal(cfg_decode_key32("EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtL*", k), ERR_MALFORMED);
}

static void test_decode_short_id(void **state)
{
    uint8_t s[8];
    assert_int_equal(cfg_decode_short_id("aa12", s), 0);
    assert_memory_equal(s, "\xaa\x12\0\0\0\0\0\0", 8);
    assert_int_equal(cfg_decode_short_id("", s), 0);
    assert_memory_equal(s, "\0\0\0\0\0\0\0\0", 8);
    assert_int_equal(cfg_decode_short_id("0123456789ABCDEF", s), 0);
    assert_memory_equal(s, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    assert_int_equal(cfg_decode_short_id("abc", s), ERR_MALFORMED);
    assert_int_equal(cfg_decode_short_id("zz", s), ERR_MALFORMED);
    assert_int_equal(cfg_decode_short_id("0123456789abcdef00", s), ERR_TOO_LONG);
}

static void test_decode_version(void **state)
{
    uint32_t v;
    assert_int_equal(cfg_decode_version("25", &v), 0);
    assert_int_equal(v, 25u << 16);
    assert_int_equal(cfg_decode_version("25.9", &v), 0);
    assert_int_equal(v, 25u << 16 | 9u << 8);
    assert_int_equal(cfg_decode_version("26.3.27", &v), 0);
    assert_int_equal(v, 26u << 16 | 3u << 8 | 27);
    const char *bad[] = {"", "1.", ".1", "1..2", "256", "1.2.3.4", "a", "1.2.x", "0001", "1 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cfg_decode_version(bad[i], &v), ERR_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_and_messages), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_getters),           cmocka_unit_test(test_check_keys),
        cmocka_unit_test(test_message_cap),       cmocka_unit_test(test_path_overflow),
        cmocka_unit_test(test_take_msgs),         cmocka_unit_test(test_decode_key32),
        cmocka_unit_test(test_decode_short_id),   cmocka_unit_test(test_decode_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
