/* `veil scan` and node target-check verdicts (reality/verdict.h) over synthetic target flights fed through the node's
 * classifier: every §5 consequence, both flight layouts, the hybrid ServerHello, and every
 * prefix of a good flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "reality/verdict.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/wire.h"
#include "tls13/tls13.h"

static const uint8_t hrr_random[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                       0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                       0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

struct sh_opts {
    uint16_t version; /* supported_versions; 0: none (TLS 1.2) */
    uint16_t suite, group;
    size_t share_len; /* 0 with hrr: selected_group only */
    bool hrr;
};

/* A ServerHello record. */
static void sh_record(struct buf *b, const struct sh_opts *o)
{
    struct wire_block rec, msg, exts, e, l;
    assert_int_equal(wire_wr_u8(b, 22), 0);
    assert_int_equal(wire_wr_u16(b, 0x0303), 0);
    assert_int_equal(wire_wr_open(b, 2, &rec), 0);
    assert_int_equal(wire_wr_u8(b, 2), 0);
    assert_int_equal(wire_wr_open(b, 3, &msg), 0);
    assert_int_equal(wire_wr_u16(b, 0x0303), 0);
    if (o->hrr)
        assert_int_equal(wire_wr_bytes(b, hrr_random, 32), 0);
    else
        for (int i = 0; i < 32; i++)
            assert_int_equal(wire_wr_u8(b, (uint8_t)(0x40 + i)), 0);
    assert_int_equal(wire_wr_u8(b, 32), 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(wire_wr_u8(b, (uint8_t)i), 0);
    assert_int_equal(wire_wr_u16(b, o->suite), 0);
    assert_int_equal(wire_wr_u8(b, 0), 0);
    assert_int_equal(wire_wr_open(b, 2, &exts), 0);
    if (o->group != 0) {
        assert_int_equal(wire_wr_u16(b, 51), 0);
        assert_int_equal(wire_wr_open(b, 2, &e), 0);
        assert_int_equal(wire_wr_u16(b, o->group), 0);
        if (!o->hrr) {
            assert_int_equal(wire_wr_open(b, 2, &l), 0);
            for (size_t i = 0; i < o->share_len; i++)
                assert_int_equal(wire_wr_u8(b, 0x09), 0);
            assert_int_equal(wire_wr_close(b, &l), 0);
        }
        assert_int_equal(wire_wr_close(b, &e), 0);
    }
    if (o->version != 0) {
        assert_int_equal(wire_wr_u16(b, 43), 0);
        assert_int_equal(wire_wr_u16(b, 2), 0);
        assert_int_equal(wire_wr_u16(b, o->version), 0);
    }
    assert_int_equal(wire_wr_close(b, &exts), 0);
    assert_int_equal(wire_wr_close(b, &msg), 0);
    assert_int_equal(wire_wr_close(b, &rec), 0);
}

/* A record of `total` bytes (header included) with zero payload (CCS: 01). */
static void record(struct buf *b, uint8_t type, size_t total)
{
    assert_int_equal(wire_wr_u8(b, type), 0);
    assert_int_equal(wire_wr_u16(b, 0x0303), 0);
    assert_int_equal(wire_wr_u16(b, (uint16_t)(total - 5)), 0);
    for (size_t i = 5; i < total; i++)
        assert_int_equal(wire_wr_u8(b, type == 20 ? 1 : 0), 0);
}

static const struct sh_opts sh_x25519 = {0x0304, 0x1301, 0x001d, 32, false};

/* Feeds b to a fresh classifier and judges it. */
static enum reality_verdict judge(const struct buf *b, size_t len, int tls_rc, const char **detail)
{
    struct reality_target t;
    reality_target_init(&t);
    size_t used = 0;
    if (len > 0)
        assert_int_equal(reality_target_feed(&t, buf_data(b), len, &used), 0);
    enum reality_verdict v = reality_verdict_judge(&t, tls_rc, detail);
    reality_target_dispose(&t);
    return v;
}

/* ServerHello, CCS, then records of the given lengths. */
static void flight(struct buf *b, const struct sh_opts *sh, const size_t *lens, size_t n)
{
    buf_init(b);
    sh_record(b, sh);
    record(b, 20, 6);
    for (size_t i = 0; i < n; i++)
        record(b, 23, lens[i]);
}

static void expect(const struct sh_opts *sh, const size_t *lens, size_t n, int tls_rc, enum reality_verdict want,
                   const char *want_detail)
{
    struct buf b;
    const char *detail;
    flight(&b, sh, lens, n);
    assert_int_equal(judge(&b, buf_len(&b), tls_rc, &detail), want);
    if (want_detail == NULL)
        assert_null(detail);
    else
        assert_string_equal(detail, want_detail);
    buf_dispose(&b);
}

static void test_suitable_layouts(void **state)
{
    (void)state;
    const size_t combined[] = {1302};
    expect(&sh_x25519, combined, 1, 0, REALITY_V_SUITABLE, NULL);
    const size_t separate[] = {28, 820, 286, 58};
    expect(&sh_x25519, separate, 4, 0, REALITY_V_SUITABLE, NULL);
    const size_t separate_nst[] = {28, 820, 286, 58, 255};
    expect(&sh_x25519, separate_nst, 5, 0, REALITY_V_SUITABLE, NULL);
    const size_t exact[] = {28, 213, 94, 58}; /* our records fit with zero padding */
    expect(&sh_x25519, exact, 4, 0, REALITY_V_SUITABLE, NULL);
    const struct sh_opts hybrid = {0x0304, 0x1301, 0x11ec, 1120, false};
    expect(&hybrid, combined, 1, 0, REALITY_V_SUITABLE, NULL);
    const struct sh_opts sha384 = {0x0304, 0x1302, 0x001d, 32, false};
    const size_t exact384[] = {28, 213, 94, 74};
    expect(&sha384, exact384, 4, 0, REALITY_V_SUITABLE, NULL);
}

static void test_records_too_small(void **state)
{
    (void)state;
    const size_t ee[] = {27, 820, 286, 58};
    expect(&sh_x25519, ee, 4, 0, REALITY_V_RECORD_TOO_SMALL, "EncryptedExtensions");
    const size_t cert[] = {28, 212, 286, 58};
    expect(&sh_x25519, cert, 4, 0, REALITY_V_RECORD_TOO_SMALL, "Certificate");
    const size_t cv[] = {28, 820, 93, 58};
    expect(&sh_x25519, cv, 4, 0, REALITY_V_RECORD_TOO_SMALL, "CertificateVerify");
    const struct sh_opts sha384 = {0x0304, 0x1302, 0x001d, 32, false};
    const size_t fin[] = {28, 820, 286, 73};
    expect(&sha384, fin, 4, 0, REALITY_V_RECORD_TOO_SMALL, "Finished");
}

static void test_unfollowable_and_incomplete(void **state)
{
    (void)state;
    const size_t packed[] = {488}; /* EE..Finished in one record <= 512 */
    expect(&sh_x25519, packed, 1, 0, REALITY_V_UNFOLLOWABLE, NULL);
    expect(&sh_x25519, packed, 1, ERR_NEED_MORE, REALITY_V_INCOMPLETE, NULL);
    const size_t small_ee_packed[] = {28, 900}; /* small EE, then the rest in one record */
    expect(&sh_x25519, small_ee_packed, 2, 0, REALITY_V_UNFOLLOWABLE, NULL);
    expect(&sh_x25519, NULL, 0, ERR_NEED_MORE, REALITY_V_INCOMPLETE, NULL);
    struct buf b;
    const char *detail;
    buf_init(&b);
    sh_record(&b, &sh_x25519); /* ServerHello alone: waiting for the CCS */
    assert_int_equal(judge(&b, buf_len(&b), ERR_NEED_MORE, &detail), REALITY_V_INCOMPLETE);
    assert_int_equal(judge(&b, buf_len(&b) - 1, ERR_NEED_MORE, &detail), REALITY_V_INCOMPLETE);
    buf_dispose(&b);
}

static void test_no_ccs(void **state)
{
    (void)state;
    struct buf b;
    const char *detail;
    buf_init(&b);
    sh_record(&b, &sh_x25519);
    record(&b, 23, 1302);
    assert_int_equal(judge(&b, buf_len(&b), 0, &detail), REALITY_V_NO_CCS);
    assert_null(detail);
    buf_dispose(&b);
}

static void test_abort(void **state)
{
    (void)state;
    struct buf b;
    const char *detail;
    flight(&b, &sh_x25519, NULL, 0);
    assert_int_equal(wire_wr_bytes(&b, "\x17\x03\x03\x20\x01\x00", 6), 0); /* 8198-byte record: too long */
    assert_int_equal(judge(&b, buf_len(&b), ERR_NEED_MORE, &detail), REALITY_V_ABORT);
    assert_string_equal(detail, "target record too long");
    buf_dispose(&b);
}

static void test_server_hello_problems(void **state)
{
    (void)state;
    struct buf b;
    const char *detail;
    buf_init(&b);
    const struct sh_opts hrr = {0x0304, 0x1301, 0x0017, 0, true};
    sh_record(&b, &hrr);
    record(&b, 20, 6);
    assert_true(reality_verdict_is_hrr(bytes_of(buf_data(&b), buf_len(&b))));
    assert_int_equal(judge(&b, buf_len(&b), TLS13_ERR_SEND(TLS13_ALERT_HANDSHAKE_FAILURE), &detail), REALITY_V_HRR);
    assert_false(reality_verdict_is_hrr(bytes_of(buf_data(&b), 5 + 4 + 2 + 31)));

    buf_consume(&b, buf_len(&b));
    const struct sh_opts tls12 = {0, 0xc02f, 0, 0, false};
    sh_record(&b, &tls12);
    assert_false(reality_verdict_is_hrr(bytes_of(buf_data(&b), buf_len(&b))));
    assert_int_equal(judge(&b, buf_len(&b), TLS13_ERR_SEND(TLS13_ALERT_PROTOCOL_VERSION), &detail),
                     REALITY_V_NOT_TLS13);

    buf_consume(&b, buf_len(&b));
    const struct sh_opts chacha_other = {0x0304, 0x1304, 0x001d, 32, false}; /* not a REALITY suite */
    sh_record(&b, &chacha_other);
    assert_int_equal(judge(&b, buf_len(&b), TLS13_ERR_SEND(TLS13_ALERT_ILLEGAL_PARAMETER), &detail),
                     REALITY_V_BAD_SERVER_HELLO);
    assert_non_null(detail);

    buf_consume(&b, buf_len(&b));
    const struct sh_opts p256 = {0x0304, 0x1301, 0x0017, 65, false};
    sh_record(&b, &p256);
    assert_int_equal(judge(&b, buf_len(&b), 0, &detail), REALITY_V_BAD_SERVER_HELLO);

    buf_consume(&b, buf_len(&b));
    assert_int_equal(wire_wr_bytes(&b, "\x15\x03\x03\x00\x02\x02\x28", 7), 0);
    assert_int_equal(judge(&b, buf_len(&b), TLS13_ERR_PEER(TLS13_ALERT_HANDSHAKE_FAILURE), &detail), REALITY_V_ALERT);
    assert_string_equal(detail, "handshake_failure");
    assert_int_equal(judge(&b, 6, ERR_NEED_MORE, &detail), REALITY_V_ALERT); /* header only */
    assert_null(detail);

    assert_int_equal(judge(&b, 0, ERR_NEED_MORE, &detail), REALITY_V_NO_ANSWER);
    buf_dispose(&b);
}

/* Every prefix of good flights: never suitable before the plan is complete, never a verdict
 * other than "incomplete" for a cut ServerHello or CCS. */
static void test_prefixes(void **state)
{
    (void)state;
    const size_t separate[] = {28, 820, 286, 58}, combined[] = {1302};
    const size_t *layouts[2] = {separate, combined};
    const size_t counts[2] = {4, 1};
    for (int k = 0; k < 2; k++) {
        struct buf b;
        flight(&b, &sh_x25519, layouts[k], counts[k]);
        size_t head = 127 + 6; /* ServerHello + CCS */
        for (size_t n = 0; n <= buf_len(&b); n++) {
            const char *detail;
            enum reality_verdict v = judge(&b, n, ERR_NEED_MORE, &detail);
            if (n == 0)
                assert_int_equal(v, REALITY_V_NO_ANSWER);
            else if (n < head)
                assert_int_equal(v, REALITY_V_INCOMPLETE);
            else
                assert_true(v == REALITY_V_INCOMPLETE || v == REALITY_V_SUITABLE);
            if (n == buf_len(&b))
                assert_int_equal(v, REALITY_V_SUITABLE);
        }
        buf_dispose(&b);
    }
}

static void test_names(void **state)
{
    (void)state;
    for (int v = 0; v < REALITY_V__COUNT; v++)
        assert_string_not_equal(reality_verdict_text((enum reality_verdict)v), "unknown");
    assert_string_equal(reality_verdict_text(REALITY_V__COUNT), "unknown");
    assert_string_equal(reality_slot_name(REALITY_SLOT_CERTIFICATE), "Certificate");
    assert_string_equal(reality_slot_name(REALITY_SLOT__COUNT), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suitable_layouts),
        cmocka_unit_test(test_records_too_small),
        cmocka_unit_test(test_unfollowable_and_incomplete),
        cmocka_unit_test(test_no_ccs),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_server_hello_problems),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
