/* reality/target: synthetic target flights (Go/OpenSSL separate records, BoringSSL combined,
 * hybrid group), every ABORT rule of spec §5, truncation at every byte, and the §7.1/§7.2
 * helpers. */
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
#include "reality/target.h"

struct sh_opts {
    uint16_t legacy_version, suite, group, version;
    size_t share_len;
    bool no_versions, hrr, dup_key_share;
};

static const struct sh_opts sh_default = {0x0303, 0x1301, 0x001d, 0x0304, 32, false, false, false};

static void wr_server_hello(struct buf *b, const struct sh_opts *o)
{
    struct wire_block rec, msg, exts, e, l;
    assert_int_equal(wire_wr_bytes(b, "\x16\x03\x03", 3), 0);
    assert_int_equal(wire_wr_open(b, 2, &rec), 0);
    assert_int_equal(wire_wr_u8(b, 2), 0);
    assert_int_equal(wire_wr_open(b, 3, &msg), 0);
    assert_int_equal(wire_wr_u16(b, o->legacy_version), 0);
    uint8_t random[32];
    memset(random, 0xcd, sizeof(random));
    assert_int_equal(wire_wr_bytes(b, random, 32), 0);
    assert_int_equal(wire_wr_u8(b, 32), 0);
    uint8_t sid[32];
    memset(sid, 0x5e, sizeof(sid));
    assert_int_equal(wire_wr_bytes(b, sid, 32), 0);
    assert_int_equal(wire_wr_u16(b, o->suite), 0);
    assert_int_equal(wire_wr_u8(b, 0), 0);
    assert_int_equal(wire_wr_open(b, 2, &exts), 0);
    for (int k = 0; k < (o->dup_key_share ? 2 : 1); k++) {
        assert_int_equal(wire_wr_u16(b, 51), 0);
        assert_int_equal(wire_wr_open(b, 2, &e), 0);
        assert_int_equal(wire_wr_u16(b, o->group), 0);
        if (!o->hrr) {
            assert_int_equal(wire_wr_open(b, 2, &l), 0);
            for (size_t i = 0; i < o->share_len; i++)
                assert_int_equal(wire_wr_u8(b, (uint8_t)(0x80 + i)), 0);
            assert_int_equal(wire_wr_close(b, &l), 0);
        }
        assert_int_equal(wire_wr_close(b, &e), 0);
    }
    if (!o->no_versions) {
        assert_int_equal(wire_wr_bytes(b, "\x00\x2b\x00\x02", 4), 0);
        assert_int_equal(wire_wr_u16(b, o->version), 0);
    }
    assert_int_equal(wire_wr_close(b, &exts), 0);
    assert_int_equal(wire_wr_close(b, &msg), 0);
    assert_int_equal(wire_wr_close(b, &rec), 0);
}

/* A record of `total` bytes (header included) with filler payload. */
static void wr_record(struct buf *b, uint8_t type, size_t total)
{
    assert_int_equal(wire_wr_u8(b, type), 0);
    assert_int_equal(wire_wr_u16(b, 0x0303), 0);
    assert_int_equal(wire_wr_u16(b, (uint16_t)(total - 5)), 0);
    for (size_t i = 5; i < total; i++)
        assert_int_equal(wire_wr_u8(b, (uint8_t)i), 0);
}

static void wr_ccs(struct buf *b)
{
    assert_int_equal(wire_wr_bytes(b, "\x14\x03\x03\x00\x01\x01", 6), 0);
}

/* Go/OpenSSL style: EE, Certificate, CertificateVerify, Finished in separate records. */
static void separate_flight(struct buf *b, const struct sh_opts *o, bool nst)
{
    wr_server_hello(b, o);
    wr_ccs(b);
    wr_record(b, 23, 40);
    wr_record(b, 23, 2100);
    wr_record(b, 23, 286);
    wr_record(b, 23, 74);
    if (nst)
        wr_record(b, 23, 250);
}

/* BoringSSL style: one big encrypted record. */
static void combined_flight(struct buf *b, const struct sh_opts *o)
{
    wr_server_hello(b, o);
    wr_ccs(b);
    wr_record(b, 23, 4000);
}

static size_t sh_len(const struct sh_opts *o)
{
    struct buf b;
    buf_init(&b);
    wr_server_hello(&b, o);
    size_t n = buf_len(&b);
    buf_dispose(&b);
    return n;
}

static enum reality_target_state feed_all(struct reality_target *t, const uint8_t *p, size_t n, size_t step)
{
    size_t off = 0;
    while (off < n && t->state == REALITY_TARGET_ST_EXPECT_RECORDS) {
        size_t k = n - off < step ? n - off : step, used;
        assert_int_equal(reality_target_feed(t, p + off, k, &used), 0);
        off += used;
        if (used < k)
            break;
    }
    return t->state;
}

static void test_separate_flight(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    separate_flight(&b, &sh_default, true);
    struct reality_target t;
    reality_target_init(&t);
    size_t used;
    assert_int_equal(reality_target_feed(&t, buf_data(&b), buf_len(&b), &used), 0);
    assert_int_equal(used, buf_len(&b));
    assert_int_equal(t.state, REALITY_TARGET_ST_READY);
    size_t shl = sh_len(&sh_default);
    size_t expect[7] = {shl, 6, 40, 2100, 286, 74, 250};
    assert_memory_equal(t.plan.lens, expect, sizeof(expect));
    assert_false(t.plan.combined);
    assert_int_equal(t.plan.cipher_suite, 0x1301);
    assert_int_equal(t.plan.group, 0x001d);
    assert_int_equal(t.plan.key_share_len, 32);
    assert_int_equal(reality_target_tail_pending(&t), 0);
    /* Layout for tls13 and padding per record. */
    size_t lens[4], n, pad;
    reality_plan_flight_layout(&t.plan, lens, &n);
    assert_int_equal(n, 4);
    assert_int_equal(lens[0], 40);
    assert_int_equal(lens[3], 74);
    assert_int_equal(reality_plan_pad(&t.plan, REALITY_SLOT_ENCRYPTED_EXTENSIONS, 6, &pad), 0);
    assert_int_equal(pad, 40 - 28);
    assert_int_equal(reality_plan_pad(&t.plan, REALITY_SLOT_FINISHED, 52, &pad), 0); /* SHA-384 Finished */
    assert_int_equal(pad, 0);
    assert_int_equal(reality_plan_pad(&t.plan, REALITY_SLOT_FINISHED, 53, &pad), ERR_RANGE);
    assert_int_equal(reality_plan_pad(&t.plan, REALITY_SLOT__COUNT, 1, &pad), ERR_NOT_FOUND);
    /* A second feed is refused. */
    assert_int_equal(reality_target_feed(&t, (const uint8_t *)"x", 1, &used), ERR_BAD_STATE);

    /* §7.1: our ServerHello differs only in the key share bytes. */
    struct bytes msg = reality_target_server_hello_msg(&t);
    assert_int_equal(msg.len, shl - 5);
    uint8_t share[32];
    memset(share, 0xee, 32);
    struct buf out;
    buf_init(&out);
    assert_int_equal(reality_target_build_server_hello(&t, share, 31, &out), ERR_RANGE);
    assert_int_equal(reality_target_build_server_hello(&t, share, 32, &out), 0);
    assert_int_equal(buf_len(&out), shl);
    size_t off = 5 + t.plan.sh_key_share_offset;
    assert_memory_equal(buf_data(&out), buf_data(&b), off);
    assert_memory_equal(buf_data(&out) + off, share, 32);
    assert_memory_equal(buf_data(&out) + off + 32, buf_data(&b) + off + 32, shl - off - 32);
    assert_memory_equal(buf_data(&b) + off - 4, "\x00\x1d\x00\x20", 4);
    buf_dispose(&out);
    reality_target_dispose(&t);

    /* Byte by byte: Finished ends a read with nothing after it, so there is no NST slot. */
    reality_target_init(&t);
    assert_int_equal(feed_all(&t, buf_data(&b), buf_len(&b), 1), REALITY_TARGET_ST_READY);
    assert_int_equal(t.plan.lens[6], 0);
    assert_int_equal(t.plan.lens[5], 74);
    reality_target_dispose(&t);

    /* Finished plus a few bytes of the NST header: still waits for 6 bytes, then takes it. */
    reality_target_init(&t);
    size_t upto_fin = buf_len(&b) - 250;
    assert_int_equal(reality_target_feed(&t, buf_data(&b), upto_fin + 3, &used), 0);
    assert_int_equal(t.state, REALITY_TARGET_ST_EXPECT_RECORDS);
    assert_int_equal(reality_target_feed(&t, buf_data(&b) + upto_fin + 3, 3, &used), 0);
    assert_int_equal(t.state, REALITY_TARGET_ST_READY);
    assert_int_equal(t.plan.lens[6], 250);
    assert_int_equal(reality_target_tail_pending(&t), 250 - 6);
    reality_target_dispose(&t);
    buf_dispose(&b);
}

static void test_combined_and_hybrid(void **state)
{
    (void)state;
    struct sh_opts o = sh_default;
    o.group = 0x11ec;
    o.share_len = 1120;
    o.suite = 0x1302;
    struct buf b;
    buf_init(&b);
    combined_flight(&b, &o);
    struct reality_target t;
    reality_target_init(&t);
    /* Only the header of the big record is needed. */
    size_t need = sh_len(&o) + 6 + 6;
    size_t used;
    assert_int_equal(reality_target_feed(&t, buf_data(&b), need - 1, &used), 0);
    assert_int_equal(t.state, REALITY_TARGET_ST_EXPECT_RECORDS);
    assert_int_equal(reality_target_feed(&t, buf_data(&b) + need - 1, buf_len(&b) - need + 1, &used), 0);
    assert_int_equal(t.state, REALITY_TARGET_ST_READY);
    assert_true(t.plan.combined);
    assert_int_equal(t.plan.lens[2], 4000);
    assert_int_equal(t.plan.lens[3], 0);
    assert_int_equal(t.plan.group, 0x11ec);
    assert_int_equal(t.plan.key_share_len, 1120);
    assert_int_equal(t.plan.cipher_suite, 0x1302);
    assert_int_equal(reality_target_tail_pending(&t), 0); /* all 4000 bytes already received */
    size_t lens[4], n;
    reality_plan_flight_layout(&t.plan, lens, &n);
    assert_int_equal(n, 1);
    assert_int_equal(lens[0], 4000);
    uint8_t share[1120];
    memset(share, 0x42, sizeof(share));
    struct buf out;
    buf_init(&out);
    assert_int_equal(reality_target_build_server_hello(&t, share, sizeof(share), &out), 0);
    assert_int_equal(buf_len(&out), sh_len(&o));
    assert_memory_equal(buf_data(&out) + 5 + t.plan.sh_key_share_offset, share, sizeof(share));
    buf_dispose(&out);
    reality_target_dispose(&t);

    /* Exactly the header: the rest of the record is pending. */
    reality_target_init(&t);
    assert_int_equal(reality_target_feed(&t, buf_data(&b), need, &used), 0);
    assert_int_equal(t.state, REALITY_TARGET_ST_READY);
    assert_int_equal(reality_target_tail_pending(&t), 4000 - 6);
    reality_target_dispose(&t);
    buf_dispose(&b);
}

/* Every prefix of a valid flight: never an abort; READY only once the deciding byte is in. */
static void test_truncation_every_byte(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        struct buf b;
        buf_init(&b);
        if (kind == 0)
            separate_flight(&b, &sh_default, false);
        else
            combined_flight(&b, &sh_default);
        size_t ready_at = kind == 0 ? buf_len(&b) : sh_len(&sh_default) + 12;
        for (size_t k = 0; k <= buf_len(&b); k++) {
            struct reality_target t;
            reality_target_init(&t);
            size_t used;
            assert_int_equal(reality_target_feed(&t, buf_data(&b), k, &used), 0);
            assert_int_equal(t.state, k >= ready_at ? REALITY_TARGET_ST_READY : REALITY_TARGET_ST_EXPECT_RECORDS);
            reality_target_dispose(&t);
        }
        buf_dispose(&b);
    }
}

static enum reality_target_state run(struct buf *b)
{
    struct reality_target t;
    reality_target_init(&t);
    size_t used;
    assert_int_equal(reality_target_feed(&t, buf_data(b), buf_len(b), &used), 0);
    enum reality_target_state s = t.state;
    if (s == REALITY_TARGET_ST_FALLBACK) {
        struct bytes all = reality_target_received(&t);
        assert_int_equal(all.len, used); /* everything goes to the client */
        assert_null(reality_target_server_hello_msg(&t).p);
    }
    reality_target_dispose(&t);
    buf_reset(b);
    return s;
}

static void test_abort_rules(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    struct sh_opts o;

    /* Before the ServerHello is accepted: fallback relay. */
    o = sh_default;
    o.no_versions = true; /* TLS 1.2 target */
    separate_flight(&b, &o, false);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    o = sh_default;
    o.hrr = true;
    separate_flight(&b, &o, false);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    o = sh_default;
    o.suite = 0x1304;
    separate_flight(&b, &o, false);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    o = sh_default;
    o.legacy_version = 0x0304;
    separate_flight(&b, &o, false);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    o = sh_default;
    o.version = 0x0303;
    separate_flight(&b, &o, false);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    o = sh_default;
    o.share_len = 65; /* P-256-sized share under the x25519 code point */
    separate_flight(&b, &o, false);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    o = sh_default;
    o.group = 0x0017;
    separate_flight(&b, &o, false);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    o = sh_default;
    o.dup_key_share = true;
    separate_flight(&b, &o, false);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    o = sh_default;
    o.group = 0x11ec; /* hybrid group with an X25519-sized share */
    separate_flight(&b, &o, false);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    assert_int_equal(wire_wr_bytes(&b, "\x15\x03\x03\x00\x02\x02\x28", 7), 0); /* alert */
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    assert_int_equal(wire_wr_bytes(&b, "\x16\x03\x01\x00\x02\x02\x00", 7), 0); /* record version 0301 */
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    wr_record(&b, 22, 8192 + 6); /* oversize first record */
    buf_data(&b)[5] = 2;
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    assert_int_equal(wire_wr_bytes(&b, "HTTP/1.1 400 Bad Request\r\n", 26), 0);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);
    /* A ServerHello whose 24-bit length disagrees with its record. */
    wr_server_hello(&b, &sh_default);
    buf_data(&b)[8] ^= 1;
    wr_ccs(&b);
    assert_int_equal(run(&b), REALITY_TARGET_ST_FALLBACK);

    /* After it: close both. */
    wr_server_hello(&b, &sh_default);
    assert_int_equal(wire_wr_bytes(&b, "\x14\x03\x03\x00\x02\x01\x01", 7), 0); /* CCS of 2 bytes */
    assert_int_equal(run(&b), REALITY_TARGET_ST_CLOSE);
    wr_server_hello(&b, &sh_default);
    wr_record(&b, 23, 100); /* no CCS */
    assert_int_equal(run(&b), REALITY_TARGET_ST_CLOSE);
    wr_server_hello(&b, &sh_default);
    wr_ccs(&b);
    wr_record(&b, 22, 100); /* plaintext handshake after CCS */
    assert_int_equal(run(&b), REALITY_TARGET_ST_CLOSE);
    wr_server_hello(&b, &sh_default);
    wr_ccs(&b);
    wr_record(&b, 23, 40);
    wr_record(&b, 23, 9000); /* record longer than 8192 */
    assert_int_equal(run(&b), REALITY_TARGET_ST_CLOSE);
    wr_server_hello(&b, &sh_default);
    wr_ccs(&b);
    wr_record(&b, 23, 40);
    assert_int_equal(wire_wr_bytes(&b, "\x17\x03\x02\x00\x10\x00", 6), 0); /* wrong record version */
    assert_int_equal(run(&b), REALITY_TARGET_ST_CLOSE);

    /* More than 8192 unconsumed bytes after one read: close. */
    wr_server_hello(&b, &sh_default);
    wr_ccs(&b);
    wr_record(&b, 23, 40);
    size_t head = buf_len(&b) + 100;
    wr_record(&b, 23, 8150);
    wr_record(&b, 23, 300);
    struct reality_target t;
    reality_target_init(&t);
    size_t used;
    assert_int_equal(reality_target_feed(&t, buf_data(&b), head, &used), 0);
    assert_int_equal(t.state, REALITY_TARGET_ST_EXPECT_RECORDS);
    assert_int_equal(reality_target_feed(&t, buf_data(&b) + head, 8100, &used), 0);
    assert_int_equal(t.state, REALITY_TARGET_ST_CLOSE);
    assert_non_null(t.why);
    reality_target_dispose(&t);
    /* The same bytes in small reads are fine (the big record is consumed at 8150 buffered),
     * but 4 KiB reads overshoot 8192 unconsumed bytes, exactly as upstream's reads would. */
    reality_target_init(&t);
    assert_int_equal(feed_all(&t, buf_data(&b), buf_len(&b), 1), REALITY_TARGET_ST_EXPECT_RECORDS);
    reality_target_dispose(&t);
    reality_target_init(&t);
    assert_int_equal(feed_all(&t, buf_data(&b), buf_len(&b), 4096), REALITY_TARGET_ST_CLOSE);
    reality_target_dispose(&t);
    buf_dispose(&b);
    assert_string_equal(reality_target_state_str(REALITY_TARGET_ST_CLOSE), "close");
    assert_string_equal(reality_target_state_str(REALITY_TARGET_ST__COUNT), "unknown");
}

/* One big input: the feed stops taking bytes once the plan is ready. */
static void test_consumed_stops_at_ready(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    combined_flight(&b, &sh_default);
    size_t extra = 20000;
    for (size_t i = 0; i < extra; i++)
        assert_int_equal(wire_wr_u8(&b, 0), 0);
    struct reality_target t;
    reality_target_init(&t);
    size_t used;
    assert_int_equal(reality_target_feed(&t, buf_data(&b), buf_len(&b), &used), 0);
    assert_int_equal(t.state, REALITY_TARGET_ST_READY);
    assert_int_equal(used, 8192);
    assert_int_equal(reality_target_received(&t).len, 8192);
    reality_target_dispose(&t);
    buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_separate_flight),         cmocka_unit_test(test_combined_and_hybrid),
        cmocka_unit_test(test_truncation_every_byte),   cmocka_unit_test(test_abort_rules),
        cmocka_unit_test(test_consumed_stops_at_ready),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
