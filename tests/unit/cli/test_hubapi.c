/* cli/hubapi pure helpers: strict prices and numbers, the hub URL policy, subscription bodies,
 * and the table formatters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/hubapi.h"
#include "core/buf.h"
#include "core/enc.h"
#include "core/err.h"

static void test_price_ok(void **state)
{
    char cur[4];
    int64_t m;
    assert_int_equal(hubapi_parse_price("RUB:29900", cur, &m), 0);
    assert_string_equal(cur, "RUB");
    assert_int_equal(m, 29900);
    assert_int_equal(hubapi_parse_price("USD:0", cur, &m), 0);
    assert_string_equal(cur, "USD");
    assert_int_equal(m, 0);
    assert_int_equal(hubapi_parse_price("EUR:999999999999", cur, &m), 0);
    assert_int_equal(m, HUBAPI_PRICE_MAX);
}

static void test_price_bad(void **state)
{
    static const char *const bad[] = {
        "",        "RUB",      "RUB:",    "RUB:-1",  "RUB:+1",    "RUB:1.5",   "RUB:1e3",
        "RUB: 1",  "RUB:1 ",   " RUB:1",  "rub:100", "Rub:100",   "RU:100",    "RUBL:100",
        "RUB=100", "RUB:0x10", "RUB:007", "RUB:00",  "RUB:1,000", "RUB:1_000", "R1B:100",
        "RUB::1",  "RUB:1:2",  "RUB:١٢",  ":100",    "RUB:\t1",   "RUB:1\n",   "29900",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char cur[4] = "xx";
        int64_t m = 42;
        int rc = hubapi_parse_price(bad[i], cur, &m);
        if (rc != ERR_MALFORMED)
            fail_msg("accepted or wrong error for \"%s\": %d", bad[i], rc);
        assert_int_equal(m, 42); /* untouched on failure */
    }
    char cur[4];
    int64_t m;
    assert_int_equal(hubapi_parse_price("RUB:1000000000000", cur, &m), ERR_RANGE);
    assert_int_equal(hubapi_parse_price("RUB:99999999999999999999999", cur, &m), ERR_RANGE);
    assert_int_equal(hubapi_parse_price("RUB:18446744073709551616", cur, &m), ERR_RANGE);
    assert_int_equal(hubapi_parse_price(NULL, cur, &m), ERR_MALFORMED);
}

/* Every prefix of a good price but the whole is malformed. */
static void test_price_truncated(void **state)
{
    const char *full = "RUB:29900";
    char tmp[16];
    for (size_t n = 0; n < strlen(full); n++) {
        memcpy(tmp, full, n);
        tmp[n] = '\0';
        char cur[4];
        int64_t m;
        int rc = hubapi_parse_price(tmp, cur, &m);
        if (n >= 5) /* "RUB:2", "RUB:29", ... are prices in their own right */
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, ERR_MALFORMED);
    }
}

static void test_uint(void **state)
{
    uint64_t v;
    assert_int_equal(hubapi_parse_uint("0", 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(hubapi_parse_uint("10", 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(hubapi_parse_uint("11", 10, &v), ERR_RANGE);
    assert_int_equal(hubapi_parse_uint("5", 0, &v), ERR_RANGE);
    assert_int_equal(hubapi_parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(hubapi_parse_uint("18446744073709551616", UINT64_MAX, &v), ERR_RANGE);
    assert_int_equal(hubapi_parse_uint("", 10, &v), ERR_MALFORMED);
    assert_int_equal(hubapi_parse_uint("-1", 10, &v), ERR_MALFORMED);
    assert_int_equal(hubapi_parse_uint("01", 10, &v), ERR_MALFORMED);
    assert_int_equal(hubapi_parse_uint("1a", 10, &v), ERR_MALFORMED);
    assert_int_equal(hubapi_parse_uint(NULL, 10, &v), ERR_MALFORMED);
}

static void test_url_policy(void **state)
{
    static const char *const ok[] = {
        "https://hub.example.com", "https://hub.example.com:8443/", "https://10.1.2.3/admin", "http://127.0.0.1:8080",
        "http://127.5.6.7",        "http://localhost:9000/",        "http://LOCALHOST",       "http://[::1]:8080",
    };
    static const char *const refused[] = {
        "http://hub.example.com",
        "http://10.0.0.1:8080",
        "http://127.0.0.1.evil.example/",
        "http://localhost.evil.example",
        "http://127.0.0.1@evil.example/",
        "https://user:pass@hub.example.com",
        "https://hub.example.com/?x=1",
        "https://hub.example.com/#frag",
        "ftp://hub.example.com",
        "file:///etc/passwd",
        "hub.example.com",
        "",
        "http://[::2]/",
        "http://128.0.0.1/",
    };
    const char *why;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (hubapi_check_url(ok[i], false, &why) != 0)
            fail_msg("refused %s: %s", ok[i], why);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (hubapi_check_url(refused[i], false, &why) != ERR_CONFIG)
            fail_msg("accepted %s", refused[i]);
        assert_non_null(why);
    }
    /* --insecure-http lifts only the loopback rule. */
    assert_int_equal(hubapi_check_url("http://10.0.0.1:8080", true, &why), 0);
    assert_int_equal(hubapi_check_url("http://u:p@10.0.0.1:8080", true, &why), ERR_CONFIG);
    assert_int_equal(hubapi_check_url("ftp://10.0.0.1", true, &why), ERR_CONFIG);
}

static void encode_sub(const char *text, char *out, size_t cap)
{
    assert_true(b64_encoded_size(strlen(text), B64_STD) <= cap);
    b64_encode(out, (const uint8_t *)text, strlen(text), B64_STD);
}

static void test_sub_links(void **state)
{
    const char *text = "vless://a@h:443?security=reality#one\r\n"
                       "trojan://x@h:443#skip\n"
                       "\n"
                       "VLESS://b@h:8443#two";
    char b64[512];
    encode_sub(text, b64, sizeof(b64));
    struct buf out;
    buf_init(&out);
    size_t n;
    assert_int_equal(hubapi_sub_links(b64, strlen(b64), &out, &n), 0);
    assert_int_equal(n, 2);
    const char *p = (const char *)buf_data(&out);
    assert_string_equal(p, "vless://a@h:443?security=reality#one");
    assert_string_equal(p + strlen(p) + 1, "VLESS://b@h:8443#two");
    buf_dispose(&out);

    /* Line breaks inside the base64, no padding, URL-safe alphabet: the same links. */
    char wrapped[600];
    size_t len = strlen(b64), w = 0;
    for (size_t i = 0; i < len; i++) {
        if (b64[i] == '=')
            break;
        if (i && i % 76 == 0)
            wrapped[w++] = '\n';
        wrapped[w++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    }
    wrapped[w] = '\0';
    buf_init(&out);
    assert_int_equal(hubapi_sub_links(wrapped, w, &out, &n), 0);
    assert_int_equal(n, 2);
    buf_dispose(&out);

    /* Empty body: no links. */
    buf_init(&out);
    assert_int_equal(hubapi_sub_links("", 0, &out, &n), 0);
    assert_int_equal(n, 0);
    buf_dispose(&out);
}

static void test_sub_links_bad(void **state)
{
    static const char *const bad[] = {"not base64!", "dmxlc3M6Ly9h=QQ", "A", "dmxl\x01", "vless://a@h:443"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf out;
        buf_init(&out);
        size_t n;
        if (hubapi_sub_links(bad[i], strlen(bad[i]), &out, &n) != ERR_MALFORMED)
            fail_msg("accepted %s", bad[i]);
        buf_dispose(&out);
    }
}

static void test_format(void **state)
{
    char s[64];
    hubapi_format_bytes(0, s, sizeof(s));
    assert_string_equal(s, "0 B");
    hubapi_format_bytes(1023, s, sizeof(s));
    assert_string_equal(s, "1023 B");
    hubapi_format_bytes(1536, s, sizeof(s));
    assert_string_equal(s, "1.50 KiB");
    hubapi_format_bytes((UINT64_C(1) << 30) - 1, s, sizeof(s));
    assert_string_equal(s, "1023.99 MiB");
    hubapi_format_bytes(UINT64_C(100) << 30, s, sizeof(s));
    assert_string_equal(s, "100.00 GiB");
    hubapi_format_bytes(UINT64_MAX, s, sizeof(s));
    assert_string_equal(s, "15.99 EiB");

    hubapi_format_age(1000, 0, s, sizeof(s));
    assert_string_equal(s, "never");
    hubapi_format_age(1000, 1000, s, sizeof(s));
    assert_string_equal(s, "just now");
    hubapi_format_age(1000, 988, s, sizeof(s));
    assert_string_equal(s, "12s ago");
    hubapi_format_age(10000, 10000 - 300, s, sizeof(s));
    assert_string_equal(s, "5m ago");
    hubapi_format_age(100000, 100000 - 3 * 3600, s, sizeof(s));
    assert_string_equal(s, "3h ago");
    hubapi_format_age(1000000, 1000000 - 2 * 86400, s, sizeof(s));
    assert_string_equal(s, "2d ago");

    hubapi_format_date(1798264198, s, sizeof(s));
    assert_string_equal(s, "2026-12-26");

    hubapi_sanitize("ok\x1b[31mred\x7f", s, sizeof(s));
    assert_string_equal(s, "ok?[31mred?");
    hubapi_sanitize("a\xc2\x9b"
                    "31mb\xc2\xa0\xc3\xa9",
                    s, sizeof(s));
    assert_string_equal(s, "a?31mb\xc2\xa0\xc3\xa9"); /* C1 CSI gone, NBSP and e-acute kept */
    hubapi_sanitize("\xc2", s, sizeof(s));
    assert_string_equal(s, "\xc2");
    hubapi_sanitize("truncated", s, 5);
    assert_string_equal(s, "trun");
}

static void test_short_id(void **state)
{
    assert_true(hubapi_short_id_ok(""));
    assert_true(hubapi_short_id_ok("ab12"));
    assert_true(hubapi_short_id_ok("0123456789abcdef"));
    assert_true(hubapi_short_id_ok("ABCD"));
    assert_false(hubapi_short_id_ok("abc"));
    assert_false(hubapi_short_id_ok("0123456789abcdef00"));
    assert_false(hubapi_short_id_ok("zz"));
}

/* hubapi_run_verb: the named verb runs with argv from the verb on; help and unknown verbs. */
static int verb_seen_argc;
static const char *verb_seen_arg;
static int usage_calls;

static int run_list(int argc, char **argv)
{
    verb_seen_argc = argc;
    verb_seen_arg = argv[argc - 1];
    return 7;
}

static void count_usage(FILE *f)
{
    (void)f;
    usage_calls++;
}

static void test_run_verb(void **state)
{
    (void)state;
    static const struct hubapi_verb verbs[] = {{"list", run_list}, {NULL, NULL}};
    char *ok[] = {"pay", "list", "--json", NULL};
    assert_int_equal(hubapi_run_verb("pay", 3, ok, verbs, count_usage), 7);
    assert_int_equal(verb_seen_argc, 2);
    assert_string_equal(verb_seen_arg, "--json");
    assert_int_equal(usage_calls, 0);
    char *help[] = {"pay", "--help", NULL};
    assert_int_equal(hubapi_run_verb("pay", 2, help, verbs, count_usage), 0);
    char *unknown[] = {"pay", "lst", NULL};
    assert_int_equal(hubapi_run_verb("pay", 2, unknown, verbs, count_usage), 2);
    char *none[] = {"pay", NULL};
    assert_int_equal(hubapi_run_verb("pay", 1, none, verbs, count_usage), 2);
    assert_int_equal(usage_calls, 3);
}

/* hubapi_refuse_opt: a usage error (exit 2) with the usage text, for '?' and for a foreign option. */
static void test_refuse_opt(void **state)
{
    (void)state;
    char *argv[] = {"list", "--plan", "3", NULL};
    optind = 2;
    usage_calls = 0;
    assert_int_equal(hubapi_refuse_opt("pay", 'x', argv, count_usage), 2);
    assert_int_equal(hubapi_refuse_opt("pay", '?', argv, count_usage), 2);
    assert_int_equal(usage_calls, 2);
    optind = 1;
}

/* hubapi_parse_verb: shared options, an allowed option handed over, a foreign one refused, a
 * refusal by the command, help, positional arguments left at optind. */
enum { OPT_A = HUBAPI_OPT__COUNT, OPT_B };
static const char *seen_a;
static int take_calls;

static bool take_a(void *ctx, int c, const char *arg)
{
    (void)ctx;
    take_calls++;
    if (c == OPT_A)
        seen_a = arg;
    return strcmp(arg, "bad") != 0;
}

static int parse(int argc, char **argv, const int *allowed, struct hubapi_opts *hub)
{
    static const struct option lo[] = {HUBAPI_LONG_OPTIONS,
                                       {"a", required_argument, NULL, OPT_A},
                                       {"b", required_argument, NULL, OPT_B},
                                       {0, 0, 0, 0}};
    return hubapi_parse_verb("pay", argc, argv, lo, allowed, hub, count_usage, take_a, NULL);
}

static void test_parse_verb(void **state)
{
    (void)state;
    static const int only_a[] = {OPT_A, 0};
    struct hubapi_opts hub;
    usage_calls = take_calls = 0;
    char *ok[] = {"list", "--json", "--a", "x", "NAME", NULL};
    assert_int_equal(parse(5, ok, only_a, &hub), -1);
    assert_true(hub.json);
    assert_string_equal(seen_a, "x");
    assert_int_equal(optind, 4);
    assert_string_equal(ok[optind], "NAME");
    char *foreign[] = {"list", "--b", "y", NULL};
    assert_int_equal(parse(3, foreign, only_a, &hub), 2);
    char *none[] = {"list", "--a", "y", NULL};
    assert_int_equal(parse(3, none, NULL, &hub), 2);
    assert_int_equal(usage_calls, 2);
    assert_int_equal(take_calls, 1);
    char *bad[] = {"list", "--a", "bad", NULL};
    assert_int_equal(parse(3, bad, only_a, &hub), 2);
    assert_int_equal(take_calls, 2);
    char *help[] = {"list", "-h", NULL};
    assert_int_equal(parse(2, help, only_a, &hub), 0);
    char *again[] = {"list", NULL}; /* state from the last call does not leak into the next */
    assert_int_equal(parse(1, again, only_a, &hub), -1);
    assert_false(hub.json);
    optind = 1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_price_ok),      cmocka_unit_test(test_price_bad),  cmocka_unit_test(test_price_truncated),
        cmocka_unit_test(test_uint),          cmocka_unit_test(test_url_policy), cmocka_unit_test(test_sub_links),
        cmocka_unit_test(test_sub_links_bad), cmocka_unit_test(test_format),     cmocka_unit_test(test_short_id),
        cmocka_unit_test(test_run_verb),      cmocka_unit_test(test_refuse_opt), cmocka_unit_test(test_parse_verb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
