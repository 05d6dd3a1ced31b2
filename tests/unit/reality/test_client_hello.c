/* reality/client_hello: negative and edge cases of the strict parser and the record layer
 * (spec §4.2): truncation at every byte, bad lengths, duplicates, Go's extension rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/wire.h"
#include "reality/client_hello.h"
#include "test_util.h"

struct ext {
    uint16_t type;
    const char *body; /* raw bytes */
    size_t len;
};
#define EXT(t, s)                                                                                                      \
    {                                                                                                                  \
        (t), (s), sizeof(s) - 1                                                                                        \
    }

static const uint8_t x25519_pub[32] = {9};

/* A TLS 1.3 ClientHello with the given extensions (after SNI, versions and key_share unless
 * `bare`). */
static void build(struct buf *b, const struct ext *exts, size_t n, bool bare)
{
    struct wire_block msg, el, e;
    buf_reset(b);
    assert_int_equal(wire_wr_u8(b, 1), 0);
    assert_int_equal(wire_wr_open(b, 3, &msg), 0);
    assert_int_equal(wire_wr_u16(b, 0x0303), 0);
    uint8_t random[32];
    memset(random, 0xaa, 32);
    assert_int_equal(wire_wr_bytes(b, random, 32), 0);
    assert_int_equal(wire_wr_u8(b, 32), 0);
    uint8_t sid[32] = {0};
    assert_int_equal(wire_wr_bytes(b, sid, 32), 0);
    assert_int_equal(wire_wr_bytes(b, "\x00\x02\x13\x01\x01\x00", 6), 0);
    assert_int_equal(wire_wr_open(b, 2, &el), 0);
    if (!bare) {
        assert_int_equal(wire_wr_bytes(b, "\x00\x00\x00\x0a\x00\x08\x00\x00\x05hello", 14), 0);
        assert_int_equal(wire_wr_bytes(b, "\x00\x2b\x00\x03\x02\x03\x04", 7), 0);
        assert_int_equal(wire_wr_bytes(b, "\x00\x33\x00\x26\x00\x24\x00\x1d\x00\x20", 10), 0);
        assert_int_equal(wire_wr_bytes(b, x25519_pub, 32), 0);
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(wire_wr_u16(b, exts[i].type), 0);
        assert_int_equal(wire_wr_open(b, 2, &e), 0);
        assert_int_equal(wire_wr_bytes(b, exts[i].body, exts[i].len), 0);
        assert_int_equal(wire_wr_close(b, &e), 0);
    }
    assert_int_equal(wire_wr_close(b, &el), 0);
    assert_int_equal(wire_wr_close(b, &msg), 0);
}

static int parse_with(const struct ext *exts, size_t n)
{
    struct buf b;
    buf_init(&b);
    build(&b, exts, n, false);
    struct reality_client_hello ch;
    int rc = reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch);
    buf_dispose(&b);
    return rc;
}

static void test_baseline_and_truncation(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    const struct ext extra[] = {EXT(0x0a0a, ""), EXT(0x1234, "anything"), EXT(16, "\x00\x03\x02h2")};
    build(&b, extra, 3, false);
    struct reality_client_hello ch;
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), 0);
    assert_true(ch.has_sni);
    assert_int_equal(ch.sni.len, 5);
    assert_true(ch.offers_tls13);
    assert_non_null(ch.x25519_share);
    assert_int_equal(ch.n_extensions, 6);
    assert_int_equal(ch.ext_types[3], 0x0a0a);
    assert_true(reality_is_grease(0x0a0a));
    assert_true(reality_is_grease(0xfafa));
    assert_false(reality_is_grease(0x0a1a));
    assert_false(reality_is_grease(0x1234));
    /* Every truncation of the message is malformed (the 24-bit length no longer matches). */
    for (size_t k = 0; k < buf_len(&b); k++)
        assert_int_equal(reality_ch_parse_msg(buf_data(&b), k, &ch), ERR_MALFORMED);
    /* ... and so is every shortening that keeps the outer length consistent. */
    uint8_t *copy = malloc(buf_len(&b));
    for (size_t k = 4; k < buf_len(&b); k++) {
        memcpy(copy, buf_data(&b), k);
        wire_put_be24(copy + 1, (uint32_t)(k - 4));
        int rc = reality_ch_parse_msg(copy, k, &ch);
        /* Cutting exactly before the extensions block is legal (no extensions). */
        if (k == 4 + 2 + 32 + 33 + 4 + 2)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, ERR_MALFORMED);
    }
    free(copy);
    buf_dispose(&b);
}

static void test_bad_lengths(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    build(&b, NULL, 0, false);
    struct reality_client_hello ch;
    uint8_t *p = buf_data(&b);
    size_t n = buf_len(&b);
    /* Every length field off by one in both directions. */
    size_t u8_fields[] = {38, 75};          /* session id, compression methods */
    size_t u16_fields[] = {71, 77, 81, 83}; /* suites, extensions block, SNI ext, SNI list */
    for (size_t i = 0; i < sizeof(u8_fields) / sizeof(u8_fields[0]); i++)
        for (int d = -1; d <= 1; d += 2) {
            p[u8_fields[i]] = (uint8_t)(p[u8_fields[i]] + d);
            assert_int_equal(reality_ch_parse_msg(p, n, &ch), ERR_MALFORMED);
            p[u8_fields[i]] = (uint8_t)(p[u8_fields[i]] - d);
        }
    for (size_t i = 0; i < sizeof(u16_fields) / sizeof(u16_fields[0]); i++)
        for (int d = -1; d <= 1; d += 2) {
            wire_put_be16(p + u16_fields[i], (uint16_t)(wire_be16(p + u16_fields[i]) + d));
            assert_int_equal(reality_ch_parse_msg(p, n, &ch), ERR_MALFORMED);
            wire_put_be16(p + u16_fields[i], (uint16_t)(wire_be16(p + u16_fields[i]) - d));
        }
    assert_int_equal(reality_ch_parse_msg(p, n, &ch), 0);
    /* Odd cipher-suite length. */
    p[0] = 2;
    assert_int_equal(reality_ch_parse_msg(p, n, &ch), ERR_MALFORMED);
    p[0] = 1;
    buf_dispose(&b);
}

static void test_extension_rules(void **state)
{
    (void)state;
    /* Duplicates, including unknown and GREASE types. */
    const struct ext dup_sni[] = {EXT(0, "\x00\x08\x00\x00\x05hello")};
    assert_int_equal(parse_with(dup_sni, 1), ERR_MALFORMED);
    const struct ext dup_unknown[] = {EXT(0x1234, ""), EXT(0x1234, "")};
    assert_int_equal(parse_with(dup_unknown, 2), ERR_MALFORMED);
    const struct ext dup_grease[] = {EXT(0x3a3a, ""), EXT(0x3a3a, "\x00")};
    assert_int_equal(parse_with(dup_grease, 2), ERR_MALFORMED);
    const struct ext two_grease[] = {EXT(0x3a3a, ""), EXT(0x4a4a, "\x00")};
    assert_int_equal(parse_with(two_grease, 2), 0);
    /* Empty-bodied extensions must be empty. */
    const struct ext ems[] = {EXT(23, "\x00")};
    assert_int_equal(parse_with(ems, 1), ERR_MALFORMED);
    const struct ext sct[] = {EXT(18, "")};
    assert_int_equal(parse_with(sct, 1), 0);
    /* ALPN: non-empty list of non-empty names, exactly consumed. */
    const struct ext alpn_empty_list[] = {EXT(16, "\x00\x00")};
    assert_int_equal(parse_with(alpn_empty_list, 1), ERR_MALFORMED);
    const struct ext alpn_empty_name[] = {EXT(16, "\x00\x01\x00")};
    assert_int_equal(parse_with(alpn_empty_name, 1), ERR_MALFORMED);
    const struct ext alpn_trailing[] = {EXT(16, "\x00\x03\x02h2\x00")};
    assert_int_equal(parse_with(alpn_trailing, 1), ERR_MALFORMED);
    /* Groups, signature algorithms: non-empty, even. */
    const struct ext groups_empty[] = {EXT(10, "\x00\x00")};
    assert_int_equal(parse_with(groups_empty, 1), ERR_MALFORMED);
    const struct ext sigalgs_odd[] = {EXT(13, "\x00\x03\x04\x03\x08")};
    assert_int_equal(parse_with(sigalgs_odd, 1), ERR_MALFORMED);
    const struct ext points_empty[] = {EXT(11, "\x00")};
    assert_int_equal(parse_with(points_empty, 1), ERR_MALFORMED);
    const struct ext status_short[] = {EXT(5, "\x01\x00\x00")};
    assert_int_equal(parse_with(status_short, 1), ERR_MALFORMED);
    const struct ext cookie_empty[] = {EXT(44, "\x00\x00")};
    assert_int_equal(parse_with(cookie_empty, 1), ERR_MALFORMED);
    const struct ext reneg_bad[] = {EXT(0xff01, "\x01")};
    assert_int_equal(parse_with(reneg_bad, 1), ERR_MALFORMED);
    const struct ext ticket_any[] = {EXT(35, "\x01\x02\x03")};
    assert_int_equal(parse_with(ticket_any, 1), 0);
    /* pre_shared_key must be last and well formed. */
    const struct ext psk_last[] = {EXT(41, "\x00\x07\x00\x01\x41\x00\x00\x00\x00\x00\x02\x01\x42")};
    assert_int_equal(parse_with(psk_last, 1), 0);
    const struct ext psk_not_last[] = {EXT(41, "\x00\x07\x00\x01\x41\x00\x00\x00\x00\x00\x02\x01\x42"),
                                       EXT(0x1234, "")};
    assert_int_equal(parse_with(psk_not_last, 2), ERR_MALFORMED);
    const struct ext psk_empty_binder[] = {EXT(41, "\x00\x07\x00\x01\x41\x00\x00\x00\x00\x00\x01\x00")};
    assert_int_equal(parse_with(psk_empty_binder, 1), ERR_MALFORMED);
    /* ECH: outer and inner syntax; unknown type and short outer fail. */
    const struct ext ech_outer[] = {EXT(0xfe0d, "\x00\x00\x01\x00\x01\x07\x00\x01\xee\x00\x02\xab\xcd")};
    assert_int_equal(parse_with(ech_outer, 1), 0);
    const struct ext ech_inner[] = {EXT(0xfe0d, "\x01")};
    assert_int_equal(parse_with(ech_inner, 1), 0);
    const struct ext ech_inner_junk[] = {EXT(0xfe0d, "\x01\x00")};
    assert_int_equal(parse_with(ech_inner_junk, 1), ERR_MALFORMED);
    const struct ext ech_type[] = {EXT(0xfe0d, "\x02")};
    assert_int_equal(parse_with(ech_type, 1), ERR_MALFORMED);
    const struct ext ech_short[] = {EXT(0xfe0d, "\x00\x00\x01\x00\x01\x07\x00\x01\xee\x00\x02\xab")};
    assert_int_equal(parse_with(ech_short, 1), ERR_MALFORMED);
}

static void test_sni_versions_key_share(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    struct reality_client_hello ch;
    const struct ext sni_dot[] = {EXT(0, "\x00\x09\x00\x00\x06hello.")};
    build(&b, sni_dot, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), ERR_MALFORMED);
    const struct ext sni_two[] = {EXT(0, "\x00\x0a\x00\x00\x01\x61\x00\x00\x02\x62\x63")};
    build(&b, sni_two, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), ERR_MALFORMED);
    const struct ext sni_empty_name[] = {EXT(0, "\x00\x03\x00\x00\x00")};
    build(&b, sni_empty_name, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), ERR_MALFORMED);
    const struct ext sni_empty_list[] = {EXT(0, "\x00\x00")};
    build(&b, sni_empty_list, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), ERR_MALFORMED);
    const struct ext sni_other_type[] = {EXT(0, "\x00\x04\x01\x00\x01\x61")}; /* ignored name type */
    build(&b, sni_other_type, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), 0);
    assert_false(ch.has_sni);

    /* Versions: empty list fails; without 0x0304 the hello parses but is not TLS 1.3. */
    const struct ext sv_empty[] = {EXT(43, "\x00")};
    build(&b, sv_empty, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), ERR_MALFORMED);
    const struct ext sv_12[] = {EXT(43, "\x04\x03\x03\x03\x02")};
    build(&b, sv_12, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), 0);
    assert_false(ch.offers_tls13);
    build(&b, NULL, 0, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), 0);
    assert_false(ch.offers_tls13);
    assert_false(ch.has_key_share);
    assert_null(ch.x25519_share);

    /* Key shares: empty data fails; a wrong-size X25519 share and short hybrid are not used. */
    const struct ext ks_empty[] = {EXT(51, "\x00\x04\x00\x1d\x00\x00")};
    build(&b, ks_empty, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), ERR_MALFORMED);
    const struct ext ks_odd[] = {EXT(51, "\x00\x0c\x00\x1d\x00\x01\x01\x11\xec\x00\x03\x01\x02\x03")};
    build(&b, ks_odd, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), 0);
    assert_true(ch.has_key_share);
    assert_int_equal(ch.n_key_shares, 2);
    assert_null(ch.x25519_share);
    const struct ext ks_none[] = {EXT(51, "\x00\x00")};
    build(&b, ks_none, 1, true);
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), 0);
    assert_int_equal(ch.n_key_shares, 0);
    assert_null(ch.x25519_share);
    size_t pos = 0;
    struct reality_key_share ks;
    assert_int_equal(reality_ch_next_key_share(&ch, &pos, &ks), ERR_NOT_FOUND);
    buf_dispose(&b);
}

/* Wraps msg in records of `frag` bytes into out. */
static void frame(struct buf *out, const uint8_t *msg, size_t n, size_t frag, uint8_t type, uint16_t vers)
{
    buf_reset(out);
    for (size_t off = 0; off < n; off += frag) {
        size_t k = n - off < frag ? n - off : frag;
        assert_int_equal(wire_wr_u8(out, type), 0);
        assert_int_equal(wire_wr_u16(out, vers), 0);
        assert_int_equal(wire_wr_u16(out, (uint16_t)k), 0);
        assert_int_equal(wire_wr_bytes(out, msg + off, k), 0);
    }
}

static void test_record_layer(void **state)
{
    (void)state;
    struct buf m, in, scratch;
    buf_init(&m);
    buf_init(&in);
    buf_init(&scratch);
    build(&m, NULL, 0, false);
    struct reality_client_hello ch;
    /* Truncation at every byte, single record and 7-byte fragments: NEED_MORE until complete. */
    size_t frags[] = {buf_len(&m), 7};
    for (size_t f = 0; f < 2; f++) {
        frame(&in, buf_data(&m), buf_len(&m), frags[f], 22, 0x0301);
        for (size_t k = 0; k < buf_len(&in); k++)
            assert_int_equal(reality_ch_peek(buf_data(&in), k, &scratch, &ch), ERR_NEED_MORE);
        assert_int_equal(reality_ch_peek(buf_data(&in), buf_len(&in), &scratch, &ch), 0);
        assert_int_equal(ch.msg.len, buf_len(&m));
    }
    /* Not TLS: wrong content type (even HTTP), SSLv2, version >= 0x1000, CCS first. */
    frame(&in, buf_data(&m), buf_len(&m), 10000, 23, 0x0301);
    assert_int_equal(reality_ch_peek(buf_data(&in), 5, &scratch, &ch), ERR_MALFORMED);
    assert_int_equal(reality_ch_peek((const uint8_t *)"GET / HTTP/1.1\r\n", 16, &scratch, &ch), ERR_MALFORMED);
    assert_int_equal(reality_ch_peek((const uint8_t *)"\x80\x2e\x01\x00\x02", 5, &scratch, &ch), ERR_MALFORMED);
    frame(&in, buf_data(&m), buf_len(&m), 10000, 22, 0x1000);
    assert_int_equal(reality_ch_peek(buf_data(&in), 5, &scratch, &ch), ERR_MALFORMED);
    assert_int_equal(reality_ch_peek((const uint8_t *)"\x14\x03\x03\x00\x01\x01", 6, &scratch, &ch), ERR_MALFORMED);
    /* Oversized record and message. */
    assert_int_equal(reality_ch_peek((const uint8_t *)"\x16\x03\x01\x48\x01", 5, &scratch, &ch), ERR_TOO_LONG);
    assert_int_equal(reality_ch_peek((const uint8_t *)"\x16\x03\x01\x48\x00\x01\x01\x00\x01", 9, &scratch, &ch),
                     ERR_TOO_LONG);
    /* Not a ClientHello: detected from the first handshake byte. */
    assert_int_equal(reality_ch_peek((const uint8_t *)"\x16\x03\x01\x00\x10\x02", 6, &scratch, &ch), ERR_MALFORMED);
    /* A parse error inside a complete record. */
    frame(&in, buf_data(&m), buf_len(&m), 10000, 22, 0x0301);
    buf_data(&in)[5 + 4] = 0xff; /* still parses: legacy_version is not checked */
    assert_int_equal(reality_ch_peek(buf_data(&in), buf_len(&in), &scratch, &ch), 0);
    buf_data(&in)[5 + 38] = 33; /* session id length */
    assert_int_equal(reality_ch_peek(buf_data(&in), buf_len(&in), &scratch, &ch), ERR_MALFORMED);

    /* Warning alerts are skipped, fatal ones and close_notify are not. */
    struct buf x;
    buf_init(&x);
    assert_int_equal(buf_append(&x, "\x15\x03\x01\x00\x02\x01\x70", 7), 0);
    frame(&in, buf_data(&m), buf_len(&m), 10000, 22, 0x0301);
    assert_int_equal(buf_append(&x, buf_data(&in), buf_len(&in)), 0);
    assert_int_equal(reality_ch_peek(buf_data(&x), buf_len(&x), &scratch, &ch), 0);
    assert_int_equal(ch.record_bytes, buf_len(&x));
    buf_data(&x)[5] = 2;
    assert_int_equal(reality_ch_peek(buf_data(&x), buf_len(&x), &scratch, &ch), ERR_MALFORMED);
    buf_data(&x)[5] = 1;
    buf_data(&x)[6] = 0;
    assert_int_equal(reality_ch_peek(buf_data(&x), buf_len(&x), &scratch, &ch), ERR_MALFORMED);
    /* 32 empty handshake records are tolerated, 33 are not. */
    for (int count = 32; count <= 33; count++) {
        buf_reset(&x);
        for (int i = 0; i < count; i++)
            assert_int_equal(buf_append(&x, "\x16\x03\x01\x00\x00", 5), 0);
        assert_int_equal(buf_append(&x, buf_data(&in), buf_len(&in)), 0);
        assert_int_equal(reality_ch_peek(buf_data(&x), buf_len(&x), &scratch, &ch), count == 32 ? 0 : ERR_MALFORMED);
    }
    /* Handshake bytes after the ClientHello in its last record are reported. */
    buf_reset(&x);
    assert_int_equal(buf_append(&x, buf_data(&m), buf_len(&m)), 0);
    assert_int_equal(buf_append(&x, "\x14\x00\x00\x00", 4), 0);
    frame(&in, buf_data(&x), buf_len(&x), 10000, 22, 0x0303);
    assert_int_equal(reality_ch_peek(buf_data(&in), buf_len(&in), &scratch, &ch), 0);
    assert_int_equal(ch.trailing_hs, 4);
    assert_int_equal(ch.msg.len, buf_len(&m));
    buf_dispose(&x);
    buf_dispose(&m);
    buf_dispose(&in);
    buf_dispose(&scratch);
}

/* Every byte of a real capture flipped in turn: the parser never crashes and each result is
 * either a parse or a clean error (run under ASan/UBSan). */
static void test_capture_bit_flips(void **state)
{
    (void)state;
    size_t len;
    uint8_t *rec = tu_read_hex_file(tu_testdata("reality-clienthello/clienthello-firefox.hex"), &len);
    assert_non_null(rec);
    struct buf scratch;
    buf_init(&scratch);
    struct reality_client_hello ch;
    for (size_t i = 0; i < len; i++) {
        uint8_t save = rec[i];
        for (int v = 0; v < 3; v++) {
            rec[i] = v == 0 ? (uint8_t)(save ^ 0x80) : v == 1 ? 0x00 : 0xff;
            int rc = reality_ch_peek(rec, len, &scratch, &ch);
            assert_true(rc == 0 || rc == ERR_MALFORMED || rc == ERR_NEED_MORE || rc == ERR_TOO_LONG);
        }
        rec[i] = save;
    }
    buf_dispose(&scratch);
    free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_and_truncation),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_extension_rules),
        cmocka_unit_test(test_sni_versions_key_share),
        cmocka_unit_test(test_record_layer),
        cmocka_unit_test(test_capture_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
