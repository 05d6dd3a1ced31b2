/* net/proxy_proto: v1/v2 parse and write, HAProxy spec examples, malformed headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "net/proxy_proto.h"

static void check_addr(const struct sock_addr *a, const char *want)
{
    char s[SOCK_ADDR_STRLEN];
    assert_true(sock_addr_format(a, s, sizeof(s)) > 0);
    assert_string_equal(s, want);
}

static void test_v1(void **state)
{
    (void)state;
    struct proxy_header h;
    const char *l4 = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET /";
    assert_int_equal(proxy_header_parse((const uint8_t *)l4, strlen(l4), &h), 0);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.len, strlen(l4) - 5);
    assert_false(h.local);
    check_addr(&h.src, "192.168.0.1:56324");
    check_addr(&h.dst, "192.168.0.11:443");
    const char *l6 = "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n";
    assert_int_equal(proxy_header_parse((const uint8_t *)l6, strlen(l6), &h), 0);
    check_addr(&h.src, "[2001:db8::1]:1");
    const char *unk = "PROXY UNKNOWN\r\n";
    assert_int_equal(proxy_header_parse((const uint8_t *)unk, strlen(unk), &h), 0);
    assert_true(h.local);
    /* every prefix of a good line asks for more */
    for (size_t n = 0; n < strlen(l6); n++)
        assert_int_equal(proxy_header_parse((const uint8_t *)l6, n, &h), ERR_NEED_MORE);
    const char *bad[] = {
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",             /* no CR */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",             /* missing field */
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",         /* extra field */
        "PROXY TCP4 ::1 ::1 1 2\r\n",                   /* family mismatch */
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",       /* port range */
        "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",          /* leading zero */
        "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",           /* protocol */
        "GET / HTTP/1.1\r\n\r\n",                       /* not PROXY at all */
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(proxy_header_parse((const uint8_t *)bad[i], strlen(bad[i]), &h), ERR_MALFORMED);
    char longline[200] = "PROXY TCP4 ";
    memset(longline + 11, '1', 150);
    longline[161] = '\0';
    assert_int_equal(proxy_header_parse((const uint8_t *)longline, strlen(longline), &h), ERR_MALFORMED);
}

static void test_v2(void **state)
{
    (void)state;
    const uint8_t v4[] = {0x0d,
                          0x0a,
                          0x0d,
                          0x0a,
                          0x00,
                          0x0d,
                          0x0a,
                          0x51,
                          0x55,
                          0x49,
                          0x54,
                          0x0a,
                          0x21,
                          0x11,
                          0x00,
                          0x0f,
                          10,
                          0,
                          0,
                          1,
                          10,
                          0,
                          0,
                          2,
                          0x30,
                          0x39,
                          0x01,
                          0xbb,
                          /* a 3-byte TLV (type 0x04 NOOP, len 0) */ 0x04,
                          0x00,
                          0x00,
                          'x'};
    struct proxy_header h;
    assert_int_equal(proxy_header_parse(v4, sizeof(v4), &h), 0);
    assert_int_equal(h.version, 2);
    assert_int_equal(h.len, sizeof(v4) - 1);
    check_addr(&h.src, "10.0.0.1:12345");
    check_addr(&h.dst, "10.0.0.2:443");
    for (size_t n = 0; n < sizeof(v4) - 1; n++)
        assert_int_equal(proxy_header_parse(v4, n, &h), ERR_NEED_MORE);
    uint8_t local[16];
    memcpy(local, v4, 12);
    local[12] = 0x20, local[13] = 0, local[14] = 0, local[15] = 0;
    assert_int_equal(proxy_header_parse(local, 16, &h), 0);
    assert_true(h.local);
    uint8_t bad[sizeof(v4)];
    memcpy(bad, v4, sizeof(v4));
    bad[12] = 0x22; /* unknown command */
    assert_int_equal(proxy_header_parse(bad, sizeof(bad), &h), ERR_MALFORMED);
    memcpy(bad, v4, sizeof(v4));
    bad[13] = 0x31; /* AF_UNIX */
    assert_int_equal(proxy_header_parse(bad, sizeof(bad), &h), ERR_MALFORMED);
    memcpy(bad, v4, sizeof(v4));
    bad[15] = 0x04; /* address block too short for TCP4 */
    assert_int_equal(proxy_header_parse(bad, sizeof(bad), &h), ERR_MALFORMED);
    memcpy(bad, v4, sizeof(v4));
    bad[14] = 0xff; /* absurd length */
    assert_int_equal(proxy_header_parse(bad, sizeof(bad), &h), ERR_MALFORMED);
}

static void test_write_roundtrip(void **state)
{
    (void)state;
    struct sock_addr s4, d4, s6, d6;
    assert_int_equal(sock_addr_parse(&s4, "203.0.113.7:50000"), 0);
    assert_int_equal(sock_addr_parse(&d4, "127.0.0.1:443"), 0);
    assert_int_equal(sock_addr_parse(&s6, "[2001:db8::7]:50000"), 0);
    assert_int_equal(sock_addr_parse(&d6, "[::1]:443"), 0);
    for (int v = 1; v <= 2; v++) {
        struct buf b;
        struct proxy_header h;
        buf_init(&b);
        assert_int_equal(proxy_header_write(&b, v, &s4, &d4), 0);
        assert_int_equal(proxy_header_parse(buf_data(&b), buf_len(&b), &h), 0);
        assert_int_equal(h.len, buf_len(&b));
        assert_true(sock_addr_equal(&h.src, &s4));
        assert_true(sock_addr_equal(&h.dst, &d4));
        buf_reset(&b);
        assert_int_equal(proxy_header_write(&b, v, &s6, &d6), 0);
        assert_int_equal(proxy_header_parse(buf_data(&b), buf_len(&b), &h), 0);
        assert_true(sock_addr_equal(&h.src, &s6));
        buf_reset(&b);
        assert_int_equal(proxy_header_write(&b, v, &s4, &d6), 0); /* mixed families */
        assert_int_equal(proxy_header_parse(buf_data(&b), buf_len(&b), &h), 0);
        assert_true(h.local);
        buf_dispose(&b);
    }
    struct buf b;
    buf_init(&b);
    assert_int_equal(proxy_header_write(&b, 1, &s4, &d4), 0);
    buf_append(&b, "", 1);
    assert_string_equal((const char *)buf_data(&b), "PROXY TCP4 203.0.113.7 127.0.0.1 50000 443\r\n");
    assert_int_equal(proxy_header_write(&b, 3, &s4, &d4), ERR_RANGE);
    buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1),
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_write_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
