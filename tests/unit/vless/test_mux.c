/* vless/mux + vless/udp: spec/mux-xudp.md §9 and spec/vless.md §13 vectors, round trips,
 * truncation at every byte, bad lengths and fields. */
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
#include "vless/mux.h"
#include "vless/udp.h"

static const char *vectors[] = {
    "0014 0000 01 01 02 0035 01 08080808 0102030405060708 0003 abcdef",
    "000c 0000 02 01 02 0035 01 08080808 0003 abcdef",
    "0004 0000 02 01 0003 abcdef",
    "0004 0000 03 00",
    "0004 0000 03 02",
    "0014 0005 01 01 01 01bb 02 0b 6578616d706c652e636f6d 0002 6869",
    "0004 0007 04 00",
};

static void parse_hex(const char *hex, struct vless_mux_frame *f, uint8_t **keep)
{
    size_t n, c;
    *keep = tu_hex(hex, &n);
    assert_int_equal(vless_mux_parse(*keep, n, f, &c), 0);
    assert_int_equal(c, n);
}

static void test_vectors(void **state)
{
    (void)state;
    struct vless_mux_frame f;
    uint8_t *p;
    parse_hex(vectors[0], &f, &p);
    assert_int_equal(f.session_id, 0);
    assert_int_equal(f.status, VLESS_MUX_NEW);
    assert_int_equal(f.option, VLESS_MUX_OPT_DATA);
    assert_true(f.has_target);
    assert_int_equal(f.network, VLESS_MUX_NET_UDP);
    assert_int_equal(f.target.type, VLESS_ATYP_IPV4);
    assert_int_equal(f.target.port, 53);
    assert_memory_equal(f.target.ip, "\x08\x08\x08\x08", 4);
    assert_true(f.has_global_id);
    assert_memory_equal(f.global_id, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(f.has_data);
    assert_int_equal(f.data.len, 3);
    assert_memory_equal(f.data.p, "\xab\xcd\xef", 3);
    free(p);

    parse_hex(vectors[1], &f, &p);
    assert_int_equal(f.status, VLESS_MUX_KEEP);
    assert_true(f.has_target);
    assert_false(f.has_global_id);
    assert_int_equal(f.target.port, 53);
    free(p);

    parse_hex(vectors[2], &f, &p);
    assert_int_equal(f.status, VLESS_MUX_KEEP);
    assert_false(f.has_target);
    assert_int_equal(f.data.len, 3);
    free(p);

    parse_hex(vectors[3], &f, &p);
    assert_int_equal(f.status, VLESS_MUX_END);
    assert_int_equal(f.option, 0);
    assert_false(f.has_data);
    free(p);
    parse_hex(vectors[4], &f, &p);
    assert_int_equal(f.option, VLESS_MUX_OPT_ERROR);
    free(p);

    parse_hex(vectors[5], &f, &p);
    assert_int_equal(f.session_id, 5);
    assert_int_equal(f.network, VLESS_MUX_NET_TCP);
    assert_string_equal(f.target.domain, "example.com");
    assert_int_equal(f.target.port, 443);
    assert_false(f.has_global_id);
    assert_memory_equal(f.data.p, "hi", 2);
    free(p);

    parse_hex(vectors[6], &f, &p);
    assert_int_equal(f.session_id, 7);
    assert_int_equal(f.status, VLESS_MUX_KEEPALIVE);
    free(p);

    /* Metadata padding after the known fields is ignored; a New without GlobalID (s3b). */
    parse_hex("000e 0000 02 01 02 0035 01 08080808 ffff 0001 aa", &f, &p);
    assert_true(f.has_target);
    free(p);
    parse_hex("000c 0000 01 01 02 7149 01 7f000001 0005 746f412d30", &f, &p);
    assert_false(f.has_global_id);
    assert_int_equal(f.data.len, 5);
    free(p);
    /* GlobalID needs DATA: without it the 8 bytes are padding. */
    parse_hex("0014 0000 01 00 02 0035 01 08080808 0102030405060708", &f, &p);
    assert_false(f.has_global_id);
    free(p);
    /* Keep with a TCP network byte: no address (extra meta ignored). */
    parse_hex("0008 0001 02 01 01 0035 01 0001 aa", &f, &p);
    assert_false(f.has_target);
    free(p);
}

static void test_encode(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        struct vless_mux_frame f;
        uint8_t *p;
        size_t n, c;
        p = tu_hex(vectors[i], &n);
        assert_int_equal(vless_mux_parse(p, n, &f, &c), 0);
        buf_reset(&b);
        assert_int_equal(vless_mux_encode(&b, &f), 0);
        assert_int_equal(buf_len(&b), n);
        assert_memory_equal(buf_data(&b), p, n);
        free(p);
    }
    /* Helpers. */
    struct vless_addr a;
    vless_addr_ipv4(&a, (const uint8_t *)"\x08\x08\x08\x08", 53);
    buf_reset(&b);
    assert_int_equal(vless_mux_encode_udp(&b, 0, &a, (const uint8_t *)"\xab\xcd\xef", 3), 0);
    size_t n;
    uint8_t *want = tu_hex(vectors[1], &n);
    assert_int_equal(buf_len(&b), n);
    assert_memory_equal(buf_data(&b), want, n);
    free(want);
    buf_reset(&b);
    assert_int_equal(vless_mux_encode_end(&b, 0, true), 0);
    assert_memory_equal(buf_data(&b), "\x00\x04\x00\x00\x03\x02", 6);
    /* Bad frames are refused and leave the buffer unchanged. */
    buf_reset(&b);
    struct vless_mux_frame f = {.status = 9};
    assert_int_equal(vless_mux_encode(&b, &f), ERR_RANGE);
    f = (struct vless_mux_frame){.status = VLESS_MUX_NEW, .network = 3};
    assert_int_equal(vless_mux_encode(&b, &f), ERR_RANGE);
    f = (struct vless_mux_frame){.status = VLESS_MUX_KEEP, .has_target = true, .network = VLESS_MUX_NET_TCP};
    assert_int_equal(vless_mux_encode(&b, &f), ERR_RANGE);
    f = (struct vless_mux_frame){.status = VLESS_MUX_NEW, .network = VLESS_MUX_NET_TCP}; /* address NONE */
    assert_int_equal(vless_mux_encode(&b, &f), ERR_RANGE);
    assert_int_equal(buf_len(&b), 0);
    uint8_t big[VLESS_MUX_UDP_MAX + 1] = {0};
    assert_int_equal(vless_mux_encode_udp(&b, 0, &a, big, sizeof(big)), ERR_RANGE);
    buf_dispose(&b);
}

static void test_truncation(void **state)
{
    (void)state;
    for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
        size_t n, c;
        uint8_t *p = tu_hex(vectors[v], &n);
        for (size_t i = 0; i < n; i++) {
            uint8_t *cut = malloc(i ? i : 1);
            memcpy(cut, p, i);
            struct vless_mux_frame f;
            int rc = vless_mux_parse(cut, i, &f, &c);
            assert_int_equal(rc, ERR_NEED_MORE);
            free(cut);
        }
        free(p);
    }
}

static int parse_rc(const char *hex)
{
    size_t n, c;
    uint8_t *p = tu_hex(hex, &n);
    struct vless_mux_frame f;
    int rc = vless_mux_parse(p, n, &f, &c);
    free(p);
    return rc;
}

static void test_negative(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("0003 000001"), ERR_MALFORMED); /* meta < 4 */
    assert_int_equal(parse_rc("0000"), ERR_MALFORMED);
    assert_int_equal(parse_rc("0004 0000 05 00"), ERR_MALFORMED); /* unknown status */
    assert_int_equal(parse_rc("0004 0000 00 00"), ERR_MALFORMED);
    assert_int_equal(parse_rc("0004 0000 01 00"), ERR_MALFORMED);                     /* New without target */
    assert_int_equal(parse_rc("0007 0000 01 00 02 0035"), ERR_MALFORMED);             /* meta < 8 */
    assert_int_equal(parse_rc("0008 0000 01 00 03 0035 01"), ERR_MALFORMED);          /* network 3 */
    assert_int_equal(parse_rc("000c 0000 01 00 02 0035 00 08080808"), ERR_MALFORMED); /* atyp 0 */
    assert_int_equal(parse_rc("000c 0000 01 00 02 0035 04 08080808"), ERR_MALFORMED);
    assert_int_equal(parse_rc("0009 0000 01 00 02 0035 01 0808"), ERR_MALFORMED); /* address past meta */
    assert_int_equal(parse_rc("0009 0000 01 00 01 0035 02 00"), ERR_MALFORMED);   /* empty domain */
    /* meta_len > 512 is refused before waiting for the bytes. */
    assert_int_equal(parse_rc("0201"), ERR_MALFORMED);
    assert_int_equal(parse_rc("ffff"), ERR_MALFORMED);
    /* UDP datagram > 8192 in a UDP frame. */
    uint8_t fr[2 + 12 + 2 + 8193];
    size_t c;
    struct vless_mux_frame f;
    size_t n;
    uint8_t *h = tu_hex("000c 0000 02 01 02 0035 01 08080808 2001", &n);
    memcpy(fr, h, n);
    memset(fr + n, 0, sizeof(fr) - n);
    assert_int_equal(vless_mux_parse(fr, sizeof(fr), &f, &c), ERR_TOO_LONG);
    fr[n - 1] = 0x00; /* 8192 is fine */
    assert_int_equal(vless_mux_parse(fr, sizeof(fr) - 1, &f, &c), 0);
    free(h);
}

static void test_udp(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(vless_udp_encode(&b, (const uint8_t *)"\xab\xcd\xef", 3), 0);
    assert_int_equal(buf_len(&b), 5);
    assert_memory_equal(buf_data(&b), "\x00\x03\xab\xcd\xef", 5);
    assert_int_equal(vless_udp_encode(&b, NULL, 0), 0); /* skipped */
    assert_int_equal(buf_len(&b), 5);
    uint8_t big[VLESS_UDP_WRITE_MAX + 1] = {0};
    assert_int_equal(vless_udp_encode(&b, big, sizeof(big)), ERR_TOO_LONG);
    assert_int_equal(vless_udp_encode(&b, big, VLESS_UDP_WRITE_MAX), 0);
    assert_int_equal(buf_len(&b), 5 + 2 + VLESS_UDP_WRITE_MAX);

    struct bytes d;
    size_t c;
    assert_int_equal(vless_udp_parse(buf_data(&b), buf_len(&b), &d, &c), 0);
    assert_int_equal(c, 5);
    assert_int_equal(d.len, 3);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(vless_udp_parse(buf_data(&b), i, &d, &c), ERR_NEED_MORE);
    /* A zero-length packet is a no-op datagram. */
    assert_int_equal(vless_udp_parse((const uint8_t *)"\x00\x00", 2, &d, &c), 0);
    assert_int_equal(d.len, 0);
    assert_int_equal(c, 2);
    /* Readers accept up to 65535. */
    static uint8_t huge[2 + 65535];
    huge[0] = 0xff;
    huge[1] = 0xff;
    assert_int_equal(vless_udp_parse(huge, sizeof(huge), &d, &c), 0);
    assert_int_equal(d.len, 65535);
    assert_int_equal(vless_udp_parse(huge, sizeof(huge) - 1, &d, &c), ERR_NEED_MORE);
    buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),  cmocka_unit_test(test_encode), cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_negative), cmocka_unit_test(test_udp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
