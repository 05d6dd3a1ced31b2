/* cli/proxy_in: SOCKS5 UDP ASSOCIATE requests, relay datagram headers (RFC 1928 §7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/proxy_in.h"
#include "core/err.h"

static void test_associate_request(void **state)
{
    (void)state;
    const uint8_t msg[] = {5, 1, 0, /* greeting */ 5, 3, 0, 1, 0, 0, 0, 0, 0, 0};
    for (size_t cut = 0; cut < sizeof(msg); cut++) {
        struct proxy_in p;
        struct buf reply;
        buf_init(&reply);
        proxy_in_init(&p);
        size_t used = 0;
        assert_int_equal(proxy_in_feed(&p, msg, cut, &used, &reply), ERR_NEED_MORE);
        assert_int_equal(proxy_in_feed(&p, msg + used, sizeof(msg) - used, &used, &reply), 0);
        assert_true(p.udp);
        assert_int_equal(p.dest.type, VLESS_ATYP_IPV4);
        assert_int_equal(p.dest.port, 0);
        buf_dispose(&reply);
    }
    /* An empty domain means "any address" for ASSOCIATE (some clients send it). */
    const uint8_t dom[] = {5, 1, 0, 5, 3, 0, 3, 0, 0x12, 0x34};
    struct proxy_in p;
    struct buf reply;
    buf_init(&reply);
    proxy_in_init(&p);
    size_t used;
    assert_int_equal(proxy_in_feed(&p, dom, sizeof(dom), &used, &reply), 0);
    assert_true(p.udp);
    assert_int_equal(p.dest.port, 0x1234);
    /* CONNECT is not UDP */
    const uint8_t con[] = {5, 1, 0, 5, 1, 0, 1, 1, 2, 3, 4, 0, 80};
    proxy_in_init(&p);
    assert_int_equal(proxy_in_feed(&p, con, sizeof(con), &used, &reply), 0);
    assert_false(p.udp);
    /* the bound-address answer */
    struct vless_addr bnd;
    vless_addr_ipv4(&bnd, (const uint8_t[4]){127, 0, 0, 1}, 0x4321);
    buf_reset(&reply);
    assert_int_equal(proxy_in_reply_bound(&bnd, &reply), 0);
    assert_int_equal(buf_len(&reply), 10);
    assert_memory_equal(buf_data(&reply), "\x05\x00\x00\x01\x7f\x00\x00\x01\x43\x21", 10);
    uint8_t v6[16] = {0};
    v6[15] = 1;
    vless_addr_ipv6(&bnd, v6, 53);
    buf_reset(&reply);
    assert_int_equal(proxy_in_reply_bound(&bnd, &reply), 0);
    assert_int_equal(buf_len(&reply), 22);
    assert_int_equal(buf_data(&reply)[3], 4);
    buf_dispose(&reply);
}

static void test_datagram_parse(void **state)
{
    (void)state;
    struct vless_addr a;
    struct bytes d;
    const uint8_t v4[] = {0, 0, 0, 1, 8, 8, 8, 8, 0, 53, 'h', 'i'};
    assert_int_equal(proxy_in_udp_parse(v4, sizeof(v4), &a, &d), 0);
    assert_int_equal(a.type, VLESS_ATYP_IPV4);
    assert_memory_equal(a.ip, "\x08\x08\x08\x08", 4);
    assert_int_equal(a.port, 53);
    assert_int_equal(d.len, 2);
    assert_memory_equal(d.p, "hi", 2);
    /* header only: an empty payload is valid to parse (the caller drops it) */
    assert_int_equal(proxy_in_udp_parse(v4, 10, &a, &d), 0);
    assert_int_equal(d.len, 0);
    const uint8_t dom[] = {0, 0, 0, 3, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0x1f, 0x90, 'x'};
    assert_int_equal(proxy_in_udp_parse(dom, sizeof(dom), &a, &d), 0);
    assert_int_equal(a.type, VLESS_ATYP_DOMAIN);
    assert_string_equal(a.domain, "localhost");
    assert_int_equal(a.port, 8080);
    assert_int_equal(d.len, 1);
    uint8_t v6[22 + 3] = {0, 0, 0, 4};
    v6[4] = 0x20, v6[5] = 0x01, v6[19] = 1, v6[20] = 1, v6[21] = 0xbb;
    memcpy(v6 + 22, "abc", 3);
    assert_int_equal(proxy_in_udp_parse(v6, sizeof(v6), &a, &d), 0);
    assert_int_equal(a.type, VLESS_ATYP_IPV6);
    assert_int_equal(a.port, 443);
    assert_int_equal(d.len, 3);
}

static void test_datagram_truncation_and_refusals(void **state)
{
    (void)state;
    struct vless_addr a;
    struct bytes d;
    const uint8_t v4[] = {0, 0, 0, 1, 8, 8, 8, 8, 0, 53};
    const uint8_t dom[] = {0, 0, 0, 3, 3, 'a', 'b', 'c', 0, 53};
    uint8_t v6[22] = {0, 0, 0, 4};
    /* every truncation of the header is malformed */
    for (size_t cut = 0; cut < sizeof(v4); cut++)
        assert_int_equal(proxy_in_udp_parse(v4, cut, &a, &d), ERR_MALFORMED);
    for (size_t cut = 0; cut < sizeof(dom); cut++)
        assert_int_equal(proxy_in_udp_parse(dom, cut, &a, &d), ERR_MALFORMED);
    for (size_t cut = 0; cut < sizeof(v6); cut++)
        assert_int_equal(proxy_in_udp_parse(v6, cut, &a, &d), ERR_MALFORMED);
    /* fragments are not supported; RSV must be zero; unknown ATYP; empty domain; NUL in name */
    const uint8_t frag[] = {0, 0, 1, 1, 8, 8, 8, 8, 0, 53, 'x'};
    assert_int_equal(proxy_in_udp_parse(frag, sizeof(frag), &a, &d), ERR_UNSUPPORTED);
    const uint8_t rsv[] = {0, 1, 0, 1, 8, 8, 8, 8, 0, 53, 'x'};
    assert_int_equal(proxy_in_udp_parse(rsv, sizeof(rsv), &a, &d), ERR_MALFORMED);
    const uint8_t atyp[] = {0, 0, 0, 2, 8, 8, 8, 8, 0, 53, 'x'};
    assert_int_equal(proxy_in_udp_parse(atyp, sizeof(atyp), &a, &d), ERR_MALFORMED);
    const uint8_t empty[] = {0, 0, 0, 3, 0, 0, 53, 'x'};
    assert_int_equal(proxy_in_udp_parse(empty, sizeof(empty), &a, &d), ERR_MALFORMED);
    const uint8_t nul[] = {0, 0, 0, 3, 3, 'a', 0, 'c', 0, 53, 'x'};
    assert_int_equal(proxy_in_udp_parse(nul, sizeof(nul), &a, &d), ERR_MALFORMED);
}

static void test_datagram_encode_roundtrip(void **state)
{
    (void)state;
    struct vless_addr src, back;
    struct bytes d;
    struct buf out;
    buf_init(&out);
    assert_int_equal(vless_addr_domain(&src, "example.com", 11, 53), 0);
    assert_int_equal(proxy_in_udp_encode(&out, &src, (const uint8_t *)"payload", 7), 0);
    assert_int_equal(buf_len(&out), 3 + 1 + 1 + 11 + 2 + 7);
    assert_int_equal(proxy_in_udp_parse(buf_data(&out), buf_len(&out), &back, &d), 0);
    assert_true(vless_addr_equal(&src, &back));
    assert_int_equal(d.len, 7);
    assert_memory_equal(d.p, "payload", 7);
    buf_reset(&out);
    vless_addr_ipv4(&src, (const uint8_t[4]){1, 2, 3, 4}, 9);
    assert_int_equal(proxy_in_udp_encode(&out, &src, NULL, 0), 0);
    assert_memory_equal(buf_data(&out), "\x00\x00\x00\x01\x01\x02\x03\x04\x00\x09", 10);
    /* an address of type NONE is refused and leaves the buffer as it was */
    buf_reset(&out);
    memset(&src, 0, sizeof(src));
    assert_int_equal(proxy_in_udp_encode(&out, &src, (const uint8_t *)"x", 1), ERR_RANGE);
    assert_int_equal(buf_len(&out), 0);
    buf_dispose(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_associate_request),
        cmocka_unit_test(test_datagram_parse),
        cmocka_unit_test(test_datagram_truncation_and_refusals),
        cmocka_unit_test(test_datagram_encode_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
