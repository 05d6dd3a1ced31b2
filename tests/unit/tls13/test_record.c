/* Record layer: strict header checks, exact-length padding, tamper and truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "tls13/alert.h"
#include "tls13/record.h"

static int hdr(uint8_t type, uint16_t ver, uint16_t len)
{
    uint8_t h[5] = {type, (uint8_t)(ver >> 8), (uint8_t)ver, (uint8_t)(len >> 8), (uint8_t)len};
    struct tls13_record_hdr r;
    return tls13_record_parse_header(h, sizeof(h), &r);
}

static void test_header(void **state)
{
    (void)state;
    struct tls13_record_hdr r;
    uint8_t h[5] = {22, 3, 1, 0, 10};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(tls13_record_parse_header(h, i, &r), ERR_NEED_MORE);
    assert_int_equal(tls13_record_parse_header(h, 5, &r), 0);
    assert_int_equal(r.type, 22);
    assert_int_equal(r.version, 0x0301);
    assert_int_equal(r.len, 10);

    assert_int_equal(hdr(22, 0x0303, 16384), 0);
    assert_int_equal(hdr(22, 0x0303, 16385), TLS13_ERR_SEND(TLS13_ALERT_RECORD_OVERFLOW));
    assert_int_equal(hdr(23, 0x0303, 16384 + 256), 0);
    assert_int_equal(hdr(23, 0x0303, 16384 + 257), TLS13_ERR_SEND(TLS13_ALERT_RECORD_OVERFLOW));
    assert_int_equal(hdr(23, 0x0301, 100), TLS13_ERR_SEND(TLS13_ALERT_PROTOCOL_VERSION));
    assert_int_equal(hdr(22, 0x0304, 100), TLS13_ERR_SEND(TLS13_ALERT_PROTOCOL_VERSION));
    assert_int_equal(hdr(22, 0x0300, 100), TLS13_ERR_SEND(TLS13_ALERT_PROTOCOL_VERSION));
    assert_int_equal(hdr(21, 0x0303, 0), TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE));
    assert_int_equal(hdr(22, 0x0303, 0), TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE));
    assert_int_equal(hdr(23, 0x0303, 0), TLS13_ERR_SEND(TLS13_ALERT_DECODE_ERROR));
    /* unknown content types */
    for (unsigned t = 0; t < 256; t++) {
        int rc = hdr((uint8_t)t, 0x0303, 10);
        if (t >= 20 && t <= 23)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE));
    }
}

static void pair(struct tls13_cipher *wr, struct tls13_cipher *rd, uint16_t suite)
{
    uint8_t secret[48];
    memset(secret, 0x5a, sizeof(secret));
    const struct tls13_suite *s = tls13_suite_by_id(suite);
    assert_non_null(s);
    memset(wr, 0, sizeof(*wr));
    memset(rd, 0, sizeof(*rd));
    assert_int_equal(tls13_cipher_init(wr, s, secret, true), 0);
    assert_int_equal(tls13_cipher_init(rd, s, secret, false), 0);
}

static void test_padding_and_tamper(void **state)
{
    (void)state;
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};
    static uint8_t scratch[TLS13_MAX_CIPHERTEXT];
    for (size_t si = 0; si < 3; si++) {
        struct tls13_cipher wr, rd;
        pair(&wr, &rd, suites[si]);
        struct buf out;
        buf_init(&out);
        /* exact total lengths, including the smallest and the largest */
        size_t totals[] = {TLS13_RECORD_OVERHEAD + 5, 100, 1208, TLS13_RECORD_HDR_LEN + 16384 + 1 + 16};
        for (size_t i = 0; i < 4; i++) {
            buf_reset(&out);
            assert_int_equal(tls13_record_seal_to(&wr, TLS13_CT_HANDSHAKE, "hello", 5, totals[i], &out), 0);
            assert_int_equal(buf_len(&out), totals[i]);
            struct tls13_record_hdr h;
            assert_int_equal(tls13_record_parse_header(buf_data(&out), buf_len(&out), &h), 0);
            uint8_t type;
            size_t n;
            assert_int_equal(tls13_record_open(&rd, buf_data(&out), buf_len(&out), scratch, &type, &n), 0);
            assert_int_equal(type, TLS13_CT_HANDSHAKE);
            assert_int_equal(n, 5);
            assert_memory_equal(scratch, "hello", 5);
        }
        assert_int_equal(tls13_record_seal_to(&wr, TLS13_CT_HANDSHAKE, "hello", 5, TLS13_RECORD_OVERHEAD + 4, &out),
                         ERR_RANGE);
        assert_int_equal(tls13_record_seal(&wr, TLS13_CT_HANDSHAKE, "x", 1, 16384, &out), ERR_TOO_LONG);

        /* tamper every byte of a small record: header (AAD), ciphertext, tag */
        buf_reset(&out);
        assert_int_equal(tls13_record_seal(&wr, TLS13_CT_APPLICATION_DATA, "data", 4, 3, &out), 0);
        size_t len = buf_len(&out);
        for (size_t i = 0; i < len; i++) {
            uint8_t rec[64];
            memcpy(rec, buf_data(&out), len);
            rec[i] ^= 0x01;
            struct tls13_cipher probe;
            uint64_t seq = rd.seq;
            probe = rd; /* same key, do not advance rd */
            uint8_t type;
            size_t n;
            assert_int_equal(tls13_record_open(&probe, rec, len, scratch, &type, &n),
                             TLS13_ERR_SEND(TLS13_ALERT_BAD_RECORD_MAC));
            assert_int_equal(probe.seq, seq);
        }
        /* truncated record */
        uint8_t type;
        size_t n;
        assert_int_equal(tls13_record_open(&rd, buf_data(&out), TLS13_RECORD_HDR_LEN + 16, scratch, &type, &n),
                         TLS13_ERR_SEND(TLS13_ALERT_BAD_RECORD_MAC));
        /* all-zero inner plaintext: no content type */
        buf_reset(&out);
        uint8_t zeros[8] = {0};
        assert_int_equal(tls13_record_seal(&wr, 0, zeros, 0, 7, &out), 0);
        struct tls13_cipher rd2 = rd;
        rd2.seq = wr.seq - 1;
        assert_int_equal(tls13_record_open(&rd2, buf_data(&out), buf_len(&out), scratch, &type, &n),
                         TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE));
        buf_dispose(&out);
        tls13_cipher_dispose(&wr);
        tls13_cipher_dispose(&rd);
    }
}

static void test_key_update(void **state)
{
    (void)state;
    struct tls13_cipher wr, rd;
    pair(&wr, &rd, 0x1303);
    struct buf out;
    buf_init(&out);
    assert_int_equal(tls13_cipher_update(&wr, true), 0);
    assert_int_equal(tls13_record_seal(&wr, TLS13_CT_APPLICATION_DATA, "k", 1, 0, &out), 0);
    uint8_t scratch[64], type;
    size_t n;
    struct tls13_cipher probe = rd;
    assert_int_equal(tls13_record_open(&probe, buf_data(&out), buf_len(&out), scratch, &type, &n),
                     TLS13_ERR_SEND(TLS13_ALERT_BAD_RECORD_MAC));
    assert_int_equal(tls13_cipher_update(&rd, false), 0);
    assert_int_equal(tls13_record_open(&rd, buf_data(&out), buf_len(&out), scratch, &type, &n), 0);
    assert_int_equal(n, 1);
    buf_dispose(&out);
    tls13_cipher_dispose(&wr);
    tls13_cipher_dispose(&rd);
}

static void test_alert_codes(void **state)
{
    (void)state;
    uint8_t a;
    bool peer;
    assert_true(tls13_err_is_alert(TLS13_ERR_SEND(TLS13_ALERT_DECODE_ERROR), &a, &peer));
    assert_int_equal(a, 50);
    assert_false(peer);
    assert_true(tls13_err_is_alert(TLS13_ERR_PEER(TLS13_ALERT_CLOSE_NOTIFY), &a, &peer));
    assert_int_equal(a, 0);
    assert_true(peer);
    assert_false(tls13_err_is_alert(ERR_MALFORMED, &a, &peer));
    assert_true(tls13_alert_for_error(ERR_NOMEM, &a));
    assert_int_equal(a, TLS13_ALERT_INTERNAL_ERROR);
    assert_false(tls13_alert_for_error(TLS13_ERR_PEER(TLS13_ALERT_BAD_RECORD_MAC), &a));
    assert_false(tls13_alert_for_error(ERR_NEED_MORE, &a));
    assert_string_equal(tls13_alert_name(TLS13_ALERT_BAD_RECORD_MAC), "bad_record_mac");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_padding_and_tamper),
        cmocka_unit_test(test_key_update),
        cmocka_unit_test(test_alert_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
