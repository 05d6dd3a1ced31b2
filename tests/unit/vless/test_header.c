/* vless/header + vless/addr: spec/vless.md §13 vectors, server decisions (§6), addons
 * protobuf edge cases, truncation at every byte, encoder round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "test_util.h"
#include "vless/header.h"
#include "vless/users.h"

static const uint8_t uid[16] = {0xb8, 0x31, 0x38, 0x1d, 0x63, 0x24, 0x4d, 0x53,
                                0xad, 0x4f, 0x8c, 0xda, 0x48, 0xb3, 0x08, 0x11};

#define HDR_VISION_TCP                                                                                                 \
    "00 b831381d63244d53ad4f8cda48b30811 12 0a1078746c732d727072782d766973696f6e 01 01bb 02 0b "                       \
    "6578616d706c652e636f6d"
#define HDR_PLAIN_TCP "00 b831381d63244d53ad4f8cda48b30811 00 01 0050 01 01020304"
#define HDR_PLAIN_UDP "00 b831381d63244d53ad4f8cda48b30811 00 02 0035 03 20010db8000000000000000000000001"
#define HDR_VISION_MUX "00 b831381d63244d53ad4f8cda48b30811 12 0a1078746c732d727072782d766973696f6e 03"

static struct vless_users *make_users(enum vless_flow flow)
{
    struct vless_users_builder *b = vless_users_builder_new(42);
    assert_non_null(b);
    assert_int_equal(vless_users_builder_add(b, uid, flow, "a@example", 7), 0);
    struct vless_users *u;
    assert_int_equal(vless_users_freeze(b, &u), 0);
    return u;
}

static void parse_ok(const char *hex, struct vless_request *req, const struct vless_users *u)
{
    size_t n;
    uint8_t *p = tu_hex(hex, &n);
    assert_int_equal(vless_request_parse(req, p, n, n, u, true), 0);
    assert_int_equal(req->action, VLESS_ACT_ACCEPT);
    assert_int_equal(req->header_len, n);
    free(p);
}

static void test_vectors(void **state)
{
    (void)state;
    struct vless_users *u = make_users(VLESS_FLOW_VISION);
    struct vless_request req;

    parse_ok(HDR_VISION_TCP, &req, u);
    assert_int_equal(req.cmd, VLESS_CMD_TCP);
    assert_int_equal(req.addons.flow, VLESS_FLOW_VISION);
    assert_int_equal(req.dest.type, VLESS_ATYP_DOMAIN);
    assert_string_equal(req.dest.domain, "example.com");
    assert_int_equal(req.dest.port, 443);
    assert_memory_equal(req.id, uid, 16);
    assert_non_null(req.user);
    assert_int_equal(req.user->tag, 7);

    parse_ok(HDR_PLAIN_TCP, &req, u);
    assert_int_equal(req.addons.flow, VLESS_FLOW_NONE);
    assert_int_equal(req.dest.type, VLESS_ATYP_IPV4);
    assert_memory_equal(req.dest.ip, "\x01\x02\x03\x04", 4);
    assert_int_equal(req.dest.port, 80);

    parse_ok(HDR_PLAIN_UDP, &req, u);
    assert_int_equal(req.cmd, VLESS_CMD_UDP);
    assert_int_equal(req.dest.type, VLESS_ATYP_IPV6);
    assert_int_equal(req.dest.port, 53);
    assert_int_equal(req.dest.ip[0], 0x20);
    assert_int_equal(req.dest.ip[15], 0x01);

    parse_ok(HDR_VISION_MUX, &req, u);
    assert_int_equal(req.cmd, VLESS_CMD_MUX);
    assert_int_equal(req.dest.type, VLESS_ATYP_NONE);

    /* Body after the header is not part of it. */
    size_t n;
    uint8_t *p = tu_hex(HDR_PLAIN_TCP "474554", &n);
    assert_int_equal(vless_request_parse(&req, p, n, n, u, false), 0);
    assert_int_equal(req.header_len, n - 3);
    free(p);
    vless_users_unref(u);
}

static void roundtrip(const char *hex, enum vless_flow flow, enum vless_cmd cmd, const struct vless_addr *a)
{
    size_t n;
    uint8_t *want = tu_hex(hex, &n);
    struct buf b;
    buf_init(&b);
    assert_int_equal(vless_request_encode(&b, uid, flow, cmd, a), 0);
    assert_int_equal(buf_len(&b), n);
    assert_memory_equal(buf_data(&b), want, n);
    buf_dispose(&b);
    free(want);
}

static void test_encode(void **state)
{
    (void)state;
    struct vless_addr a;
    assert_int_equal(vless_addr_domain(&a, "example.com", 11, 443), 0);
    roundtrip(HDR_VISION_TCP, VLESS_FLOW_VISION, VLESS_CMD_TCP, &a);
    roundtrip(HDR_VISION_TCP, VLESS_FLOW_VISION_UDP443, VLESS_CMD_TCP, &a); /* suffix never sent */
    vless_addr_ipv4(&a, (const uint8_t *)"\x01\x02\x03\x04", 80);
    roundtrip(HDR_PLAIN_TCP, VLESS_FLOW_NONE, VLESS_CMD_TCP, &a);
    uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
    ip6[15] = 1;
    vless_addr_ipv6(&a, ip6, 53);
    roundtrip(HDR_PLAIN_UDP, VLESS_FLOW_NONE, VLESS_CMD_UDP, &a);
    roundtrip(HDR_VISION_MUX, VLESS_FLOW_VISION, VLESS_CMD_MUX, NULL);

    struct buf b;
    buf_init(&b);
    assert_int_equal(vless_request_encode(&b, uid, VLESS_FLOW_NONE, VLESS_CMD_RVS, NULL), ERR_RANGE);
    assert_int_equal(vless_request_encode(&b, uid, VLESS_FLOW_NONE, VLESS_CMD_TCP, NULL), ERR_RANGE);
    assert_int_equal(buf_len(&b), 0);
    char longname[300];
    memset(longname, 'a', sizeof(longname));
    assert_int_equal(vless_addr_domain(&a, longname, 256, 1), ERR_TOO_LONG);
    assert_int_equal(vless_addr_domain(&a, longname, 0, 1), ERR_MALFORMED);
    assert_int_equal(vless_addr_domain(&a, longname, 255, 1), 0);
    assert_int_equal(vless_request_encode(&b, uid, VLESS_FLOW_NONE, VLESS_CMD_TCP, &a), 0);
    struct vless_users *u = make_users(VLESS_FLOW_NONE);
    struct vless_request req;
    assert_int_equal(vless_request_parse(&req, buf_data(&b), buf_len(&b), buf_len(&b), u, false), 0);
    assert_int_equal(req.dest.domain_len, 255);
    vless_users_unref(u);

    /* Response header. */
    buf_reset(&b);
    assert_int_equal(vless_response_encode(&b, 0), 0);
    assert_int_equal(buf_len(&b), 2);
    assert_memory_equal(buf_data(&b), "\x00\x00", 2);
    buf_dispose(&b);
}

static void test_response_parse(void **state)
{
    (void)state;
    size_t c;
    enum vless_flow f;
    assert_int_equal(vless_response_parse((const uint8_t *)"\x00\x00\x17", 3, 0, &c, &f), 0);
    assert_int_equal(c, 2);
    assert_int_equal(f, VLESS_FLOW_NONE);
    assert_int_equal(vless_response_parse((const uint8_t *)"\x00", 1, 0, &c, &f), ERR_NEED_MORE);
    assert_int_equal(vless_response_parse((const uint8_t *)"", 0, 0, &c, &f), ERR_NEED_MORE);
    assert_int_equal(vless_response_parse((const uint8_t *)"\x01\x00", 2, 0, &c, &f), ERR_MALFORMED);
    size_t n;
    uint8_t *p = tu_hex("00 12 0a1078746c732d727072782d766973696f6e ff", &n);
    assert_int_equal(vless_response_parse(p, n, 0, &c, &f), 0);
    assert_int_equal(c, 20);
    assert_int_equal(f, VLESS_FLOW_VISION);
    for (size_t i = 0; i < 20; i++)
        assert_int_equal(vless_response_parse(p, i, 0, &c, &f), ERR_NEED_MORE);
    free(p);
    p = tu_hex("00 02 0a ff", &n); /* length beyond the addons block */
    assert_int_equal(vless_response_parse(p, n, 0, &c, &f), ERR_MALFORMED);
    free(p);
}

/* Every prefix of a valid header: NEED_MORE (no fallbacks) with the right action. */
static void test_truncation(void **state)
{
    (void)state;
    const char *hdrs[] = {HDR_VISION_TCP, HDR_PLAIN_TCP, HDR_PLAIN_UDP, HDR_VISION_MUX};
    struct vless_users *u = make_users(VLESS_FLOW_VISION);
    for (size_t h = 0; h < 4; h++) {
        size_t n;
        uint8_t *p = tu_hex(hdrs[h], &n);
        for (size_t i = 0; i < n; i++) {
            uint8_t *cut = malloc(i ? i : 1); /* exact size for ASan */
            memcpy(cut, p, i);
            struct vless_request req;
            assert_int_equal(vless_request_parse(&req, cut, i, n, u, false), ERR_NEED_MORE);
            assert_int_equal(req.action, VLESS_ACT_NEED_MORE);
            /* With fallbacks and the whole header in the first chunk the result is the same. */
            assert_int_equal(vless_request_parse(&req, cut, i, n, u, true), ERR_NEED_MORE);
            /* First chunk shorter than 18 bytes with fallbacks: fall back directly. */
            if (i < 18) {
                assert_int_equal(vless_request_parse(&req, cut, i, i, u, true), ERR_AUTH);
                assert_int_equal(req.action, VLESS_ACT_FALLBACK);
                assert_int_equal(req.reason, VLESS_HR_SHORT_FIRST);
            }
            free(cut);
        }
        free(p);
    }
    vless_users_unref(u);
}

static void expect(const char *hex, bool fallbacks, int rc, enum vless_action act, enum vless_hdr_reason why,
                   const struct vless_users *u)
{
    size_t n;
    uint8_t *p = tu_hex(hex, &n);
    struct vless_request req;
    assert_int_equal(vless_request_parse(&req, p, n, n, u, fallbacks), rc);
    assert_int_equal(req.action, act);
    assert_int_equal(req.reason, why);
    free(p);
}

#define ID "b831381d63244d53ad4f8cda48b30811"

static void test_decisions(void **state)
{
    (void)state;
    struct vless_users *u = make_users(VLESS_FLOW_VISION);
    /* Version / user failures: fallback when configured, else close. */
    expect("01" ID "00 01 0050 01 01020304", true, ERR_AUTH, VLESS_ACT_FALLBACK, VLESS_HR_BAD_VERSION, u);
    expect("01" ID "00 01 0050 01 01020304", false, ERR_AUTH, VLESS_ACT_CLOSE, VLESS_HR_BAD_VERSION, u);
    expect("01", false, ERR_AUTH, VLESS_ACT_CLOSE, VLESS_HR_BAD_VERSION, u); /* decided at byte 0 */
    expect("00 b831381d63244d53ad4f8cda48b30812 00 01 0050 01 01020304", true, ERR_AUTH, VLESS_ACT_FALLBACK,
           VLESS_HR_UNKNOWN_USER, u);
    expect("00 b831381d63244d53ad4f8cda48b30812 00 01 0050 01 01020304", false, ERR_AUTH, VLESS_ACT_CLOSE,
           VLESS_HR_UNKNOWN_USER, u);
    /* Bytes 6-7 are ignored by the lookup. */
    expect("00 b831381d6324ffff ad4f8cda48b30811 00 01 0050 01 01020304", true, 0, VLESS_ACT_ACCEPT, VLESS_HR_OK, u);
    /* After authentication nothing falls back. */
    expect("00" ID "01 ff 01 0050 01 01020304", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDONS, u);
    expect("00" ID "00 05 0050 01 01020304", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_COMMAND, u);
    expect("00" ID "00 00", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_COMMAND, u);
    expect("00" ID "00 04", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_COMMAND, u); /* Rvs */
    expect("00" ID "00 01 0050 00 01020304", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDRESS, u);
    expect("00" ID "00 01 0050 04 01020304", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDRESS, u);
    expect("00" ID "00 01 0050 ff 01020304", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDRESS, u);
    expect("00" ID "00 01 0050 02 00", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDRESS, u); /* empty */
    expect("00" ID "00 01 0050 02 03 612f62", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDRESS, u);
    expect("00" ID "00 01 0050 02 03 61 2062", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDRESS, u);
    expect("00" ID "00 01 0050 02 02 5b5d", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDRESS, u); /* [] */
    /* Domain names that are IP literals become IPs. */
    size_t n;
    uint8_t *p = tu_hex("00" ID "00 01 0050 02 07 312e322e332e34", &n); /* "1.2.3.4" */
    struct vless_request req;
    assert_int_equal(vless_request_parse(&req, p, n, n, u, false), 0);
    assert_int_equal(req.dest.type, VLESS_ATYP_IPV4);
    assert_memory_equal(req.dest.ip, "\x01\x02\x03\x04", 4);
    free(p);
    p = tu_hex("00" ID "00 01 0050 02 05 5b3a3a315d", &n); /* "[::1]" */
    assert_int_equal(vless_request_parse(&req, p, n, n, u, false), 0);
    assert_int_equal(req.dest.type, VLESS_ATYP_IPV6);
    assert_int_equal(req.dest.ip[15], 1);
    free(p);
    p = tu_hex("00" ID "00 01 0050 02 05 315f612d62", &n); /* "1_a-b": not an IP, valid name */
    assert_int_equal(vless_request_parse(&req, p, n, n, u, false), 0);
    assert_int_equal(req.dest.type, VLESS_ATYP_DOMAIN);
    assert_string_equal(req.dest.domain, "1_a-b");
    free(p);
    p = tu_hex("00" ID "00 01 0050 02 08 312e322e332e3420", &n); /* "1.2.3.4 " (Go trims spaces) */
    assert_int_equal(vless_request_parse(&req, p, n, n, u, false), 0);
    assert_int_equal(req.dest.type, VLESS_ATYP_IPV4);
    free(p);
    expect("00" ID "00 01 0050 02 08 312e322e332e3520", true, 0, VLESS_ACT_ACCEPT, VLESS_HR_OK, u);
    expect("00" ID "00 01 0050 02 04 31323320", true, ERR_MALFORMED, VLESS_ACT_CLOSE, VLESS_HR_BAD_ADDRESS, u);
    /* IPv4-mapped IPv6 becomes IPv4. */
    p = tu_hex("00" ID "00 01 0050 03 00000000000000000000ffff0a000001", &n);
    assert_int_equal(vless_request_parse(&req, p, n, n, u, false), 0);
    assert_int_equal(req.dest.type, VLESS_ATYP_IPV4);
    assert_memory_equal(req.dest.ip, "\x0a\x00\x00\x01", 4);
    free(p);
    vless_users_unref(u);
}

static int addons(const char *hex, struct vless_addons *a)
{
    size_t n;
    uint8_t *p = tu_hex(hex, &n);
    int rc = vless_addons_decode(a, p, n);
    free(p);
    return rc;
}

static void test_addons(void **state)
{
    (void)state;
    struct vless_addons a;
    assert_int_equal(addons("", &a), 0);
    assert_int_equal(a.flow, VLESS_FLOW_NONE);
    assert_int_equal(addons("0a1078746c732d727072782d766973696f6e", &a), 0);
    assert_int_equal(a.flow, VLESS_FLOW_VISION);
    assert_string_equal(a.flow_str, "xtls-rprx-vision");
    /* Seed (field 2) and unknown fields of every skippable wire type are skipped. */
    assert_int_equal(addons("1203010203 0a1078746c732d727072782d766973696f6e 18 96 01 21 0102030405060708 "
                            "2d 01020304 32 00",
                            &a),
                     0);
    assert_int_equal(a.flow, VLESS_FLOW_VISION);
    assert_true(a.has_seed);
    /* Last Flow wins; empty Flow. */
    assert_int_equal(addons("0a1078746c732d727072782d766973696f6e 0a00", &a), 0);
    assert_int_equal(a.flow, VLESS_FLOW_NONE);
    assert_int_equal(addons("0a03616263", &a), 0);
    assert_int_equal(a.flow, VLESS_FLOW_UNKNOWN);
    assert_string_equal(a.flow_str, "abc");
    /* The client-only suffix is unknown on the wire. */
    assert_int_equal(addons("0a1778746c732d727072782d766973696f6e2d756470343433", &a), 0);
    assert_int_equal(a.flow, VLESS_FLOW_UNKNOWN);
    /* Tag with an overlong but valid varint encoding (field 1, type 2 as 8a 00). */
    assert_int_equal(addons("8a00 03 616263", &a), 0);

    /* Malformed. */
    assert_int_equal(addons("0a", &a), ERR_MALFORMED);                           /* missing length */
    assert_int_equal(addons("0a05616263", &a), ERR_MALFORMED);                   /* length past end */
    assert_int_equal(addons("08 01", &a), ERR_MALFORMED);                        /* field 1 as varint */
    assert_int_equal(addons("10 01", &a), ERR_MALFORMED);                        /* field 2 as varint */
    assert_int_equal(addons("02 00", &a), ERR_MALFORMED);                        /* field 0 */
    assert_int_equal(addons("1b", &a), ERR_MALFORMED);                           /* group start */
    assert_int_equal(addons("1c", &a), ERR_MALFORMED);                           /* group end */
    assert_int_equal(addons("1e 00", &a), ERR_MALFORMED);                        /* wire type 6 */
    assert_int_equal(addons("1f 00", &a), ERR_MALFORMED);                        /* wire type 7 */
    assert_int_equal(addons("18", &a), ERR_MALFORMED);                           /* varint missing */
    assert_int_equal(addons("18 80", &a), ERR_MALFORMED);                        /* varint truncated */
    assert_int_equal(addons("18 ffffffffffffffffff02", &a), ERR_MALFORMED);      /* > 64 bits */
    assert_int_equal(addons("18 ffffffffffffffffffff01", &a), ERR_MALFORMED);    /* 11 bytes */
    assert_int_equal(addons("18 ffffffffffffffffff01", &a), 0);                  /* exactly 64 bits */
    assert_int_equal(addons("21 01020304", &a), ERR_MALFORMED);                  /* fixed64 short */
    assert_int_equal(addons("2d 0102", &a), ERR_MALFORMED);                      /* fixed32 short */
    assert_int_equal(addons("0a02c328", &a), ERR_MALFORMED);                     /* invalid UTF-8 */
    assert_int_equal(addons("0a02c0af", &a), ERR_MALFORMED);                     /* overlong UTF-8 */
    assert_int_equal(addons("0a03eda080", &a), ERR_MALFORMED);                   /* surrogate */
    assert_int_equal(addons("0a02c3a9", &a), 0);                                 /* valid UTF-8 */
    assert_int_equal(addons("ffffffff7f 00", &a), ERR_MALFORMED);                /* field number too large */
    assert_int_equal(addons("0a 8080808080808080808001 00", &a), ERR_MALFORMED); /* huge length */

    /* Truncation at every byte of a valid block is malformed (the block length is fixed). */
    size_t n;
    uint8_t *p = tu_hex("0a1078746c732d727072782d766973696f6e", &n);
    for (size_t i = 1; i < n; i++)
        assert_int_equal(vless_addons_decode(&a, p, i), ERR_MALFORMED);
    free(p);
}

static void test_addr_format(void **state)
{
    (void)state;
    struct vless_addr a, b;
    char s[300];
    vless_addr_ipv4(&a, (const uint8_t *)"\x7f\x00\x00\x01", 29001);
    vless_addr_format(s, sizeof(s), &a);
    assert_string_equal(s, "127.0.0.1:29001");
    uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8};
    ip6[15] = 1;
    vless_addr_ipv6(&b, ip6, 53);
    vless_addr_format(s, sizeof(s), &b);
    assert_string_equal(s, "[2001:db8::1]:53");
    assert_false(vless_addr_equal(&a, &b));
    assert_true(vless_addr_equal(&a, &a));
    assert_int_equal(vless_addr_domain(&b, "example.com", 11, 443), 0);
    vless_addr_format(s, sizeof(s), &b);
    assert_string_equal(s, "example.com:443");
    /* Writer and reader agree; truncation gives NEED_MORE without moving the cursor. */
    struct buf w;
    buf_init(&w);
    assert_int_equal(vless_addr_write(&w, &b), 0);
    for (size_t i = 0; i < buf_len(&w); i++) {
        struct wire_rd r = wire_rd_init(buf_data(&w), i);
        assert_int_equal(vless_addr_read(&r, &a), ERR_NEED_MORE);
        assert_int_equal(r.pos, 0);
    }
    struct wire_rd r = wire_rd_init(buf_data(&w), buf_len(&w));
    assert_int_equal(vless_addr_read(&r, &a), 0);
    assert_true(vless_addr_equal(&a, &b));
    a.type = VLESS_ATYP_NONE;
    assert_int_equal(vless_addr_write(&w, &a), ERR_RANGE);
    buf_dispose(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),     cmocka_unit_test(test_encode),    cmocka_unit_test(test_response_parse),
        cmocka_unit_test(test_truncation),  cmocka_unit_test(test_decisions), cmocka_unit_test(test_addons),
        cmocka_unit_test(test_addr_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
