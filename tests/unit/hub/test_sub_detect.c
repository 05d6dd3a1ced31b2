/* hub/sub: format detection from User-Agent / Accept (spec/ecosystem.md §a.4), format names
 * and /sub/<token> path splitting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "hub/sub/sub.h"

struct ua_case {
    const char *ua;
    const char *accept;
    bool xray_json;
    enum sub_format want;
};

static void test_ua_table(void **state)
{
    (void)state;
    static const struct ua_case cases[] = {
        /* browsers */
        {"Mozilla/5.0 (X11; Linux x86_64) Chrome/120", "text/html,application/xhtml+xml", false, SUB_FMT_HTML},
        {"mihomo/1.18.0", "TEXT/HTML", false, SUB_FMT_HTML},
        {"Mozilla/5.0", "*/*", false, SUB_FMT_LINKS},
        /* Clash Meta family */
        {"mihomo/1.18.3", NULL, false, SUB_FMT_CLASH_META},
        {"clash-verge/v1.3.8", NULL, false, SUB_FMT_CLASH_META},
        {"Clash-Verge/v2.0.0", NULL, false, SUB_FMT_CLASH_META},
        {"clash.meta", NULL, false, SUB_FMT_CLASH_META},
        {"Clash-Meta/1.0", NULL, false, SUB_FMT_CLASH_META},
        {"ClashMetaForAndroid/2.10.1.Meta", NULL, false, SUB_FMT_CLASH_META},
        {"ClashX Meta/1.3.0", NULL, false, SUB_FMT_CLASH_META},
        {"clash-nyanpasu/v1.5", NULL, false, SUB_FMT_CLASH_META},
        {"FlClash/v0.8.60 clash-verge Platform/android", NULL, false, SUB_FMT_CLASH_META},
        {"FlClashX/1.0", NULL, false, SUB_FMT_CLASH_META},
        {"Flowvy/1.0", NULL, false, SUB_FMT_CLASH_META},
        {"koala-clash/1.0", NULL, false, SUB_FMT_CLASH_META},
        {"Prizrak-Box/1.0", NULL, false, SUB_FMT_CLASH_META},
        {"Murge/1.0", NULL, false, SUB_FMT_CLASH_META},
        /* Stash and legacy Clash */
        {"Stash/2.4.7 Clash/1.9.0", NULL, false, SUB_FMT_STASH},
        {"ClashForAndroid/2.5.12", NULL, false, SUB_FMT_CLASH_LEGACY},
        {"ClashX/1.95.1", NULL, false, SUB_FMT_CLASH_LEGACY},
        {"clash", NULL, false, SUB_FMT_CLASH_LEGACY},
        /* sing-box family */
        {"SFA/1.11.4 (Android 14; sing-box 1.11.4)", NULL, false, SUB_FMT_SINGBOX},
        {"SFI/1.10.1", NULL, false, SUB_FMT_SINGBOX},
        {"SFM/1.9", NULL, false, SUB_FMT_SINGBOX},
        {"SFT/1.12.0", NULL, false, SUB_FMT_SINGBOX},
        {"sfa", NULL, false, SUB_FMT_SINGBOX},
        {"SFAB/1.0", NULL, false, SUB_FMT_LINKS}, /* not the word "SFA" */
        {"karing/1.1.2.606 android", NULL, false, SUB_FMT_SINGBOX},
        {"singbox/1.0", NULL, false, SUB_FMT_SINGBOX},
        {"sing-box 1.11.0", NULL, false, SUB_FMT_SINGBOX},
        /* links */
        {"v2rayN/6.45", NULL, false, SUB_FMT_LINKS},
        {"v2rayNG/1.8.30", NULL, false, SUB_FMT_LINKS},
        {"Happ/1.63.1/Android", NULL, false, SUB_FMT_LINKS},
        {"Streisand/1.6", NULL, false, SUB_FMT_LINKS},
        {"INCY/1.0", NULL, false, SUB_FMT_LINKS},
        {"V2Box 1.0", NULL, false, SUB_FMT_LINKS},
        {"Shadowrocket/2070 CFNetwork/1410.0.3 Darwin/22.6.0", NULL, false, SUB_FMT_LINKS},
        {"HiddifyNext/2.5.7 (android) like ClashMeta v2ray sing-box", NULL, false, SUB_FMT_LINKS},
        {"Hiddify/2.0", NULL, false, SUB_FMT_LINKS},
        {"ktor-client", NULL, false, SUB_FMT_LINKS},
        {"curl/8.1", NULL, false, SUB_FMT_LINKS},
        {"", NULL, false, SUB_FMT_LINKS},
        {NULL, NULL, false, SUB_FMT_LINKS},
        {NULL, NULL, true, SUB_FMT_LINKS},
        /* Xray JSON only when enabled and new enough */
        {"v2rayN/6.40", NULL, true, SUB_FMT_XRAY_JSON},
        {"v2rayN/6.39", NULL, true, SUB_FMT_LINKS},
        {"v2rayN/7.0", NULL, true, SUB_FMT_XRAY_JSON},
        {"v2rayN/6", NULL, true, SUB_FMT_LINKS},
        {"v2rayNG/1.8.29", NULL, true, SUB_FMT_XRAY_JSON},
        {"v2rayNG/1.8.28", NULL, true, SUB_FMT_LINKS},
        {"v2rayNG/1.9", NULL, true, SUB_FMT_XRAY_JSON},
        {"v2rayNG/", NULL, true, SUB_FMT_LINKS},
        {"Happ/1.63.1", NULL, true, SUB_FMT_XRAY_JSON},
        {"Happ/1.63.0", NULL, true, SUB_FMT_LINKS},
        {"Happ/2.0.0/ios", NULL, true, SUB_FMT_XRAY_JSON},
        {"v2rayNG/99999999999999999999.1", NULL, true, SUB_FMT_XRAY_JSON},
        {"Streisand/9", NULL, true, SUB_FMT_LINKS},
        {"mihomo/1.0", NULL, true, SUB_FMT_CLASH_META},
        /* leading blanks are tolerated */
        {"  mihomo", NULL, false, SUB_FMT_CLASH_META},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum sub_format f = sub_detect_format(cases[i].ua, cases[i].accept, cases[i].xray_json);
        if (f != cases[i].want)
            fail_msg("case %zu UA '%s': got %s, want %s", i, cases[i].ua ? cases[i].ua : "(null)", sub_format_name(f),
                     sub_format_name(cases[i].want));
    }
}

static void test_format_names(void **state)
{
    (void)state;
    enum sub_format f;
    static const struct {
        const char *name;
        enum sub_format f;
    } names[] = {
        {"links", SUB_FMT_LINKS},           {"v2ray", SUB_FMT_LINKS},
        {"base64", SUB_FMT_LINKS},          {"plain", SUB_FMT_LINKS_PLAIN},
        {"clash-meta", SUB_FMT_CLASH_META}, {"mihomo", SUB_FMT_CLASH_META},
        {"clash", SUB_FMT_CLASH_META},      {"stash", SUB_FMT_STASH},
        {"sing-box", SUB_FMT_SINGBOX},      {"singbox", SUB_FMT_SINGBOX},
        {"xray-json", SUB_FMT_XRAY_JSON},   {"v2ray-json", SUB_FMT_XRAY_JSON},
        {"json", SUB_FMT_XRAY_JSON},        {"html", SUB_FMT_HTML},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(sub_format_from_name(names[i].name, strlen(names[i].name), &f), 0);
        assert_int_equal(f, names[i].f);
    }
    assert_int_equal(sub_format_from_name("Clash", 5, &f), ERR_NOT_FOUND);
    assert_int_equal(sub_format_from_name("", 0, &f), ERR_NOT_FOUND);
    assert_int_equal(sub_format_from_name("linksx", 6, &f), ERR_NOT_FOUND);
    assert_int_equal(sub_format_from_name("links", 4, &f), ERR_NOT_FOUND); /* "link" */
    /* every format has a distinct name */
    for (int a = 0; a < SUB_FMT__COUNT; a++)
        for (int b = a + 1; b < SUB_FMT__COUNT; b++)
            assert_string_not_equal(sub_format_name((enum sub_format)a), sub_format_name((enum sub_format)b));
    assert_string_equal(sub_format_name(SUB_FMT__COUNT), "unknown");
}

#define TOK "AbCdEfGhIjKlMnOp_-0123456789"

static int pp(const char *path, struct sub_path *out)
{
    return sub_parse_path(path, strlen(path), "/sub/", out);
}

static void test_parse_path(void **state)
{
    (void)state;
    struct sub_path p;
    assert_int_equal(pp("/sub/" TOK, &p), 0);
    assert_int_equal(p.token_len, strlen(TOK));
    assert_memory_equal(p.token, TOK, p.token_len);
    assert_int_equal(p.format, SUB_FMT_AUTO);
    assert_false(p.info);
    assert_int_equal(pp("/sub/" TOK "/", &p), 0);
    assert_int_equal(p.token_len, strlen(TOK));
    assert_int_equal(pp("/sub/" TOK "/clash-meta", &p), 0);
    assert_int_equal(p.format, SUB_FMT_CLASH_META);
    assert_int_equal(p.token_len, strlen(TOK));
    assert_int_equal(pp("/sub/" TOK "/sing-box/", &p), 0);
    assert_int_equal(p.format, SUB_FMT_SINGBOX);
    assert_int_equal(pp("/sub/" TOK "/info", &p), 0);
    assert_true(p.info);
    assert_int_equal(p.format, SUB_FMT_AUTO);
    assert_int_equal(pp("/sub/0123456789abcdef", &p), 0); /* 16: shortest */

    static const char *const bad[] = {
        "",
        "/sub/",
        "/sub",
        "/subs/" TOK,
        "/api/sub/" TOK,
        "/sub/0123456789abcde", /* 15 */
        "/sub/" TOK "/unknown",
        "/sub/" TOK "//",
        "/sub/" TOK "/info/x",
        "/sub/" TOK "/links/",
        "/sub/" TOK ".",
        "/sub/" TOK "%2F",
        "/sub/" TOK "?x=1",
        "/sub//" TOK,
        "/sub/" TOK "/INFO",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = pp(bad[i], &p);
        if (i == 9) { /* "/links/" is one trailing slash after a valid format: accepted */
            assert_int_equal(rc, 0);
            continue;
        }
        if (rc != ERR_NOT_FOUND)
            fail_msg("path '%s' accepted", bad[i]);
        assert_null(p.token);
    }
    /* 128 characters is the longest token */
    char longp[5 + 130 + 1];
    memcpy(longp, "/sub/", 5);
    memset(longp + 5, 'a', 129);
    longp[5 + 128] = '\0';
    assert_int_equal(pp(longp, &p), 0);
    longp[5 + 128] = 'a';
    longp[5 + 129] = '\0';
    assert_int_equal(pp(longp, &p), ERR_NOT_FOUND);
    /* another prefix */
    assert_int_equal(sub_parse_path("/api/sub/" TOK, strlen("/api/sub/" TOK), "/api/sub/", &p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ua_table),
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_parse_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
