/* cli/proxy_in: SOCKS5 and HTTP CONNECT inbound parsing, replies, malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/proxy_in.h"
#include "core/err.h"

static void test_socks5_domain_in_pieces(void **state)
{
    (void)state;
    const uint8_t msg[] = {
        5, 1, 0, /* greeting */ 5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x01, 0xbb};
    /* Every split point: the parser must ask for more and never misread a prefix. */
    for (size_t cut = 0; cut < sizeof(msg); cut++) {
        struct proxy_in p;
        struct buf reply;
        buf_init(&reply);
        proxy_in_init(&p);
        size_t used = 0;
        int rc = proxy_in_feed(&p, msg, cut, &used, &reply);
        assert_int_equal(rc, ERR_NEED_MORE);
        rc = proxy_in_feed(&p, msg + used, sizeof(msg) - used, &used, &reply);
        assert_int_equal(rc, 0);
        assert_int_equal(p.state, PROXY_IN_ST_DONE);
        assert_int_equal(p.dest.type, VLESS_ATYP_DOMAIN);
        assert_string_equal(p.dest.domain, "example.com");
        assert_int_equal(p.dest.port, 443);
        assert_int_equal(buf_len(&reply), 2);
        assert_memory_equal(buf_data(&reply), "\x05\x00", 2);
        buf_reset(&reply);
        assert_int_equal(proxy_in_reply(&p, 1, &reply), 0);
        assert_memory_equal(buf_data(&reply), "\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);
        buf_dispose(&reply);
    }
}

static void test_socks5_ipv4_ipv6(void **state)
{
    (void)state;
    const uint8_t v4[] = {5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90};
    struct proxy_in p;
    struct buf reply;
    buf_init(&reply);
    proxy_in_init(&p);
    size_t used;
    assert_int_equal(proxy_in_feed(&p, v4, sizeof(v4), &used, &reply), 0);
    assert_int_equal(used, sizeof(v4));
    assert_int_equal(p.dest.type, VLESS_ATYP_IPV4);
    assert_int_equal(p.dest.port, 8080);
    assert_memory_equal(p.dest.ip, "\x7f\x00\x00\x01", 4);
    const uint8_t v6[] = {5, 1, 0, 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 53};
    proxy_in_init(&p);
    assert_int_equal(proxy_in_feed(&p, v6, sizeof(v6), &used, &reply), 0);
    assert_int_equal(p.dest.type, VLESS_ATYP_IPV6);
    assert_int_equal(p.dest.port, 53);
    buf_dispose(&reply);
}

static void test_socks5_refusals(void **state)
{
    (void)state;
    struct proxy_in p;
    struct buf reply;
    size_t used;
    buf_init(&reply);
    /* only username/password offered: method 0xff and failure */
    proxy_in_init(&p);
    assert_int_equal(proxy_in_feed(&p, (const uint8_t *)"\x05\x01\x02", 3, &used, &reply), ERR_UNSUPPORTED);
    assert_memory_equal(buf_data(&reply), "\x05\xff", 2);
    /* BIND command: reply 7 */
    buf_reset(&reply);
    proxy_in_init(&p);
    const uint8_t bind[] = {5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80};
    assert_int_equal(proxy_in_feed(&p, bind, sizeof(bind), &used, &reply), ERR_UNSUPPORTED);
    assert_int_equal(buf_data(&reply)[3], 7);
    /* unknown address type: reply 8 */
    buf_reset(&reply);
    proxy_in_init(&p);
    const uint8_t atyp[] = {5, 1, 0, 5, 1, 0, 9, 1, 2};
    assert_int_equal(proxy_in_feed(&p, atyp, sizeof(atyp), &used, &reply), ERR_UNSUPPORTED);
    assert_int_equal(buf_data(&reply)[3], 8);
    /* empty domain */
    buf_reset(&reply);
    proxy_in_init(&p);
    const uint8_t empty[] = {5, 1, 0, 5, 1, 0, 3, 0, 0, 80};
    assert_int_equal(proxy_in_feed(&p, empty, sizeof(empty), &used, &reply), ERR_MALFORMED);
    /* SOCKS4 and garbage */
    proxy_in_init(&p);
    assert_int_equal(proxy_in_feed(&p, (const uint8_t *)"\x04\x01", 2, &used, &reply), ERR_MALFORMED);
    proxy_in_init(&p);
    assert_int_equal(proxy_in_feed(&p, (const uint8_t *)"\x05\x00", 2, &used, &reply), ERR_MALFORMED);
    assert_int_equal(proxy_in_feed(&p, (const uint8_t *)"\x05", 1, &used, &reply), ERR_BAD_STATE);
    buf_dispose(&reply);
}

static int http(const char *req, struct proxy_in *p, struct buf *reply)
{
    size_t used;
    proxy_in_init(p);
    buf_reset(reply);
    return proxy_in_feed(p, (const uint8_t *)req, strlen(req), &used, reply);
}

static void test_http_connect(void **state)
{
    (void)state;
    struct proxy_in p;
    struct buf reply;
    buf_init(&reply);
    const char *req = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nextra";
    size_t used;
    proxy_in_init(&p);
    assert_int_equal(proxy_in_feed(&p, (const uint8_t *)req, strlen(req), &used, &reply), 0);
    assert_int_equal(used, strlen(req) - 5); /* body bytes stay with the caller */
    assert_string_equal(p.dest.domain, "example.com");
    assert_int_equal(p.dest.port, 443);
    assert_int_equal(http("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n", &p, &reply), 0);
    assert_int_equal(p.dest.type, VLESS_ATYP_IPV6);
    assert_int_equal(http("CONNECT 10.0.0.1:22 HTTP/1.0\n\n", &p, &reply), 0);
    assert_int_equal(p.dest.type, VLESS_ATYP_IPV4);
    assert_int_equal(http("CONNECT example.com:443 HTTP/1.1\r\n", &p, &reply), ERR_NEED_MORE);
    assert_int_equal(http("GET http://x/ HTTP/1.1\r\n\r\n", &p, &reply), ERR_UNSUPPORTED);
    assert_non_null(strstr((const char *)buf_data(&reply), "405"));
    assert_int_equal(http("CONNECT example.com HTTP/1.1\r\n\r\n", &p, &reply), ERR_MALFORMED);
    assert_int_equal(http("CONNECT example.com:0 HTTP/1.1\r\n\r\n", &p, &reply), ERR_MALFORMED);
    assert_int_equal(http("CONNECT example.com:65536 HTTP/1.1\r\n\r\n", &p, &reply), ERR_MALFORMED);
    assert_int_equal(http("CONNECT ::1:80 HTTP/1.1\r\n\r\n", &p, &reply), ERR_MALFORMED);
    assert_int_equal(http("CONNECT [host]:80 HTTP/1.1\r\n\r\n", &p, &reply), ERR_MALFORMED);
    assert_int_equal(http("CONNECT a:1 SPDY/3\r\n\r\n", &p, &reply), ERR_MALFORMED);
    assert_non_null(strstr((const char *)buf_data(&reply), "400"));
    char big[PROXY_IN_HTTP_MAX + 16];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(http(big, &p, &reply), ERR_TOO_LONG);
    assert_non_null(strstr((const char *)buf_data(&reply), "431"));
    proxy_in_init(&p);
    p.kind = PROXY_IN_HTTP_CONNECT;
    buf_reset(&reply);
    assert_int_equal(proxy_in_reply(&p, 0, &reply), 0);
    assert_non_null(strstr((const char *)buf_data(&reply), "502"));
    buf_dispose(&reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_socks5_domain_in_pieces),
        cmocka_unit_test(test_socks5_ipv4_ipv6),
        cmocka_unit_test(test_socks5_refusals),
        cmocka_unit_test(test_http_connect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
