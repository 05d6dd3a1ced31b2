/* ctl/vlink: vless:// share links, writer and parser (spec/config-and-links.md §5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "ctl/vlink.h"

/* The minimal Vision + REALITY link of spec §5.2, verbatim. */
static const char spec_link[] =
    "vless://b831381d-6324-4d53-ad4f-8cda48b30811@203.0.113.10:443?encryption=none&flow=xtls-rprx-vision"
    "&security=reality&sni=www.example.com&fp=chrome&pbk=2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y"
    "&sid=0123456789abcdef&spx=%2F&type=tcp&headerType=none#Node%201";

#define PBK "2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y"

static int parse(struct vlink *l, const char *s, const char **why)
{
    return vlink_parse(l, s, strlen(s), why);
}

static void test_parse_spec_example(void **state)
{
    (void)state;
    struct vlink l;
    const char *why = NULL;
    assert_int_equal(parse(&l, spec_link, &why), 0);
    assert_string_equal(why, "ok");
    assert_string_equal(l.id, "b831381d-6324-4d53-ad4f-8cda48b30811");
    assert_string_equal(l.host, "203.0.113.10");
    assert_int_equal(l.port, 443);
    assert_string_equal(l.encryption, "none");
    assert_string_equal(l.flow, "xtls-rprx-vision");
    assert_false(l.udp443);
    assert_string_equal(l.security, "reality");
    assert_string_equal(l.sni, "www.example.com");
    assert_string_equal(l.fp, "chrome");
    assert_string_equal(l.pbk, PBK);
    assert_string_equal(l.sid, "0123456789abcdef");
    assert_string_equal(l.spx, "/");
    assert_string_equal(l.type, "tcp");
    assert_true(vlink_is_raw(&l));
    assert_string_equal(l.header_type, "none");
    assert_string_equal(l.remark, "Node 1");
    assert_string_equal(l.pqv, "");
}

static void fill_spec(struct vlink *l)
{
    vlink_init_reality(l);
    strcpy(l->id, "b831381d-6324-4d53-ad4f-8cda48b30811");
    strcpy(l->host, "203.0.113.10");
    l->port = 443;
    strcpy(l->sni, "www.example.com");
    strcpy(l->pbk, PBK);
    strcpy(l->sid, "0123456789abcdef");
    strcpy(l->remark, "Node 1");
}

static void test_format_spec_example(void **state)
{
    (void)state;
    struct vlink l;
    fill_spec(&l);
    char *s = vlink_format_str(&l);
    assert_non_null(s);
    assert_string_equal(s, spec_link);
    free(s);

    /* vlink_format appends to what is already there */
    struct buf b;
    buf_init(&b);
    assert_int_equal(buf_append(&b, "X", 1), 0);
    assert_int_equal(vlink_format(&l, &b), 0);
    assert_int_equal(buf_len(&b), 1 + strlen(spec_link));
    assert_memory_equal(buf_data(&b) + 1, spec_link, strlen(spec_link));
    buf_dispose(&b);
}

static void roundtrip(const struct vlink *in)
{
    char *s = vlink_format_str(in);
    assert_non_null(s);
    struct vlink out;
    const char *why = NULL;
    int rc = parse(&out, s, &why);
    if (rc != 0)
        fail_msg("parse of %s: %s", s, why);
    assert_string_equal(out.id, in->id);
    assert_string_equal(out.host, in->host);
    assert_int_equal(out.port, in->port);
    assert_string_equal(out.flow, in->flow);
    assert_string_equal(out.security, in->security);
    assert_string_equal(out.sni, in->sni[0] ? in->sni : in->host);
    assert_string_equal(out.fp, in->fp);
    assert_string_equal(out.pbk, in->pbk);
    assert_string_equal(out.sid, in->sid);
    assert_string_equal(out.spx, in->spx);
    assert_string_equal(out.pqv, in->pqv);
    assert_string_equal(out.type, in->type);
    assert_string_equal(out.remark, in->remark);
    assert_string_equal(out.path, in->path);
    /* formatting the parsed link gives the same text */
    char *s2 = vlink_format_str(&out);
    assert_non_null(s2);
    assert_string_equal(s, s2);
    free(s2);
    free(s);
}

static void test_roundtrip_variants(void **state)
{
    (void)state;
    struct vlink l;
    fill_spec(&l);
    roundtrip(&l);

    /* IPv6 host gets brackets; remark with reserved characters and UTF-8 */
    fill_spec(&l);
    strcpy(l.host, "2001:db8::1");
    strcpy(l.remark, "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA Frankfurt #1 & 100% +fast/?=");
    strcpy(l.spx, "/search?q=a b&c=d");
    l.sid[0] = '\0';
    char *s = vlink_format_str(&l);
    assert_non_null(s);
    assert_non_null(strstr(s, "@[2001:db8::1]:443?"));
    assert_null(strchr(strchr(s, '#') + 1, '#'));
    assert_non_null(strstr(s, "spx=%2Fsearch%3Fq%3Da%20b%26c%3Dd"));
    assert_null(strstr(s, "sid="));
    free(s);
    roundtrip(&l);

    /* a non-UUID Xray id with characters that need escaping */
    fill_spec(&l);
    strcpy(l.id, "user@example:1");
    strcpy(l.pqv, "AAAA_-");
    strcpy(l.type, "raw");
    roundtrip(&l);

    /* no flow, no remark, TLS */
    fill_spec(&l);
    l.flow[0] = '\0';
    l.remark[0] = '\0';
    strcpy(l.security, "tls");
    l.pbk[0] = '\0';
    s = vlink_format_str(&l);
    assert_non_null(s);
    assert_null(strstr(s, "flow="));
    assert_null(strchr(s, '#'));
    free(s);
    roundtrip(&l);

    /* non-RAW transport: no headerType, path kept */
    fill_spec(&l);
    strcpy(l.type, "ws");
    strcpy(l.path, "/ws");
    s = vlink_format_str(&l);
    assert_non_null(s);
    assert_null(strstr(s, "headerType"));
    assert_non_null(strstr(s, "&path=%2Fws"));
    free(s);
    roundtrip(&l);
}

static void test_format_errors(void **state)
{
    (void)state;
    struct vlink l;
    struct buf b;
    buf_init(&b);
    fill_spec(&l);
    l.id[0] = '\0';
    assert_int_equal(vlink_format(&l, &b), ERR_MALFORMED);
    fill_spec(&l);
    l.port = 0;
    assert_int_equal(vlink_format(&l, &b), ERR_MALFORMED);
    fill_spec(&l);
    l.host[0] = '\0';
    assert_int_equal(vlink_format(&l, &b), ERR_MALFORMED);
    assert_null(vlink_format_str(&l));
    /* a fixed buffer that is too small leaves it unchanged */
    char mem[40];
    struct buf fb;
    buf_init_fixed(&fb, mem, sizeof(mem));
    assert_int_equal(buf_append(&fb, "abc", 3), 0);
    fill_spec(&l);
    assert_int_equal(vlink_format(&l, &fb), ERR_TOO_LONG);
    assert_int_equal(buf_len(&fb), 3);
    buf_dispose(&b);
}

static void test_parse_rules(void **state)
{
    (void)state;
    struct vlink l;
    const char *why;
    /* scheme case-insensitive, IPv6, defaults, sni falls back to host, '+' stays '+' */
    assert_int_equal(parse(&l, "VLESS://abc@[2001:db8::2]:8443?pbk=" PBK "&security=reality#a+b%20c", &why), 0);
    assert_string_equal(l.host, "2001:db8::2");
    assert_int_equal(l.port, 8443);
    assert_string_equal(l.sni, "2001:db8::2");
    assert_string_equal(l.encryption, "none");
    assert_string_equal(l.type, "tcp");
    assert_string_equal(l.flow, "");
    assert_string_equal(l.fp, "");
    assert_string_equal(l.remark, "a+b c");
    /* udp443 flow is normalised */
    assert_int_equal(parse(&l, "vless://abc@h:1?flow=xtls-rprx-vision-udp443", &why), 0);
    assert_string_equal(l.flow, "xtls-rprx-vision");
    assert_true(l.udp443);
    assert_string_equal(l.security, "none");
    /* unknown keys, empty pairs, key without '=' are ignored; upper-case sid hex is fine */
    assert_int_equal(
        parse(&l, "vless://abc@h:1/?&foo=bar&&x&security=reality&pbk=" PBK "&sid=AB12&insecure=0&extra=%7B%7D", &why),
        0);
    assert_string_equal(l.sid, "AB12");
    /* percent-encoded id; '@' inside is legal when encoded */
    assert_int_equal(parse(&l, "vless://a%40b@h:1", &why), 0);
    assert_string_equal(l.id, "a@b");
    /* no query, no fragment */
    assert_int_equal(parse(&l, "vless://abc@example.com:65535", &why), 0);
    assert_int_equal(l.port, 65535);
    /* empty fragment */
    assert_int_equal(parse(&l, "vless://abc@example.com:1#", &why), 0);
    assert_string_equal(l.remark, "");
}

struct neg {
    const char *link;
    int rc;
    const char *why;
};

static void test_parse_negative(void **state)
{
    (void)state;
    static const struct neg cases[] = {
        {"", ERR_MALFORMED, "not a vless:// link"},
        {"vmess://abc@h:1", ERR_MALFORMED, "not a vless:// link"},
        {"vless:/abc@h:1", ERR_MALFORMED, "not a vless:// link"},
        {"vless://h:1", ERR_MALFORMED, "missing '@'"},
        {"vless://@h:1", ERR_MALFORMED, "missing user id"},
        {"vless://abc@h", ERR_MALFORMED, "missing port"},
        {"vless://abc@h:", ERR_MALFORMED, "missing port"},
        {"vless://abc@:443", ERR_MALFORMED, "missing host"},
        {"vless://abc@h:0", ERR_RANGE, "port out of range"},
        {"vless://abc@h:65536", ERR_RANGE, "port out of range"},
        {"vless://abc@h:99999999999999999999", ERR_RANGE, "port out of range"},
        {"vless://abc@h:-1", ERR_MALFORMED, "port is not a number"},
        {"vless://abc@h:44a", ERR_MALFORMED, "port is not a number"},
        {"vless://abc@h: 443", ERR_MALFORMED, "port is not a number"},
        {"vless://abc@2001:db8::1:443", ERR_MALFORMED, "IPv6 address needs brackets"},
        {"vless://abc@[2001:db8::1:443", ERR_MALFORMED, "unterminated '['"},
        {"vless://abc@[2001:db8::1]443", ERR_MALFORMED, "missing port"},
        {"vless://abc@[]:443", ERR_MALFORMED, "bad IPv6 literal"},
        {"vless://abc@[host]:443", ERR_MALFORMED, "bad IPv6 literal"},
        {"vless://abc@h%41:443", ERR_MALFORMED, "bad character in host"},
        {"vless://abc@h st:443", ERR_MALFORMED, "bad character in host"},
        {"vless://abc@[ecu1:db8::2]:443", ERR_MALFORMED, "host is not a domain name or IP address"},
        {"vless://abc@-bad-.example:443", ERR_MALFORMED, "host is not a domain name or IP address"},
        {"vless://abc@a..b:443", ERR_MALFORMED, "host is not a domain name or IP address"},
        {"vless://a%zzc@h:1", ERR_MALFORMED, "bad percent escape"},
        {"vless://a%4@h:1", ERR_MALFORMED, "bad percent escape"},
        {"vless://abc%@h:1", ERR_MALFORMED, "bad percent escape"},
        {"vless://a%00c@h:1", ERR_MALFORMED, "NUL byte"},
        {"vless://abc@h:1?sni=a%2", ERR_MALFORMED, "bad percent escape"},
        {"vless://abc@h:1?foo=%g1", ERR_MALFORMED, "bad percent escape"},
        {"vless://abc@h:1?fo%o=1", ERR_MALFORMED, "bad percent escape"},
        {"vless://abc@h:1#bad%", ERR_MALFORMED, "bad percent escape"},
        {"vless://abc@h:1?sni=a&sni=b", ERR_MALFORMED, "repeated query key"},
        {"vless://abc@h:1?security=reality", ERR_MALFORMED, "security=reality needs pbk"},
        {"vless://abc@h:1?security=reality&pbk=short", ERR_MALFORMED, "pbk must be 43 base64url characters"},
        {"vless://abc@h:1?security=reality&pbk=2J47rXlDfb7Z+ENBgwT0YP8Fx/6B_kqVd6gEy5Nn_2Y", ERR_MALFORMED,
         "pbk must be 43 base64url characters"},
        {"vless://abc@h:1?sid=abc", ERR_MALFORMED, "sid must be even-length hex"},
        {"vless://abc@h:1?sid=zz", ERR_MALFORMED, "sid must be even-length hex"},
        {"vless://abc@h:1?sid=0123456789abcdef00", ERR_TOO_LONG, "field too long"},
        {"vless://abc@h:1?flow=xtls-rprx-direct", ERR_UNSUPPORTED, "unsupported flow"},
        {"vless://abc@h:1?security=xtls", ERR_UNSUPPORTED, "unsupported security"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vlink l;
        const char *why = NULL;
        int rc = parse(&l, cases[i].link, &why);
        if (rc != cases[i].rc || strcmp(why, cases[i].why) != 0)
            fail_msg("case %zu (%s): rc %d why '%s', want %d '%s'", i, cases[i].link, rc, why, cases[i].rc,
                     cases[i].why);
        assert_string_equal(l.id, ""); /* cleared on failure */
    }
    /* NUL inside the text, and over-long text */
    struct vlink l;
    const char *why;
    assert_int_equal(vlink_parse(&l, "vless://a\0b@h:1", 15, &why), ERR_MALFORMED);
    size_t big = VLINK_TEXT_MAX + 1;
    char *s = malloc(big);
    assert_non_null(s);
    memset(s, 'a', big);
    memcpy(s, "vless://", 8);
    assert_int_equal(vlink_parse(&l, s, big, &why), ERR_TOO_LONG);
    /* a too-long id */
    assert_int_equal(vlink_parse(&l, s, 200, NULL), ERR_MALFORMED); /* no '@' */
    memcpy(s + 150, "@h:1", 4);
    assert_int_equal(vlink_parse(&l, s, 154, &why), ERR_TOO_LONG);
    free(s);
}

static void test_parse_truncations(void **state)
{
    (void)state;
    size_t n = strlen(spec_link);
    size_t port_end = (size_t)(strchr(spec_link, '?') - spec_link);
    for (size_t i = 0; i < n; i++) {
        struct vlink l;
        int rc = vlink_parse(&l, spec_link, i, NULL);
        if (i <= port_end - 3) /* up to "...10:" a prefix lacks the scheme, '@', host or port */
            assert_true(rc < 0);
        /* any accepted prefix is a consistent link */
        if (rc == 0) {
            assert_true(l.port > 0);
            assert_string_not_equal(l.id, "");
        }
    }
    struct vlink l;
    assert_int_equal(vlink_parse(&l, spec_link, port_end - 2, NULL), 0); /* ":4" is a valid port */
    assert_int_equal(l.port, 4);
    size_t esc = (size_t)(strstr(spec_link, "%2F") - spec_link);
    assert_int_equal(vlink_parse(&l, spec_link, esc + 1, NULL), ERR_MALFORMED);
    assert_int_equal(vlink_parse(&l, spec_link, esc + 2, NULL), ERR_MALFORMED);
    size_t pbk = (size_t)(strstr(spec_link, "pbk=") - spec_link);
    assert_int_equal(vlink_parse(&l, spec_link, pbk + 10, NULL), ERR_MALFORMED);
}

static void test_pct_encode(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(vlink_pct_encode(&b, "aZ09-._~ /?#&=+%\xD0\xAF", 18), 0);
    const char want[] = "aZ09-._~%20%2F%3F%23%26%3D%2B%25%D0%AF";
    assert_int_equal(buf_len(&b), strlen(want));
    assert_memory_equal(buf_data(&b), want, strlen(want));
    buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_spec_example), cmocka_unit_test(test_format_spec_example),
        cmocka_unit_test(test_roundtrip_variants), cmocka_unit_test(test_format_errors),
        cmocka_unit_test(test_parse_rules),        cmocka_unit_test(test_parse_negative),
        cmocka_unit_test(test_parse_truncations),  cmocka_unit_test(test_pct_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
