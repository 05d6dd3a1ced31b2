/* core/buf + core/wire: results, bounds, error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/wire.h"

static void test_buf_append_consume_compact(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(buf_len(&b), 0);
    assert_int_equal(buf_append(&b, "hello", 5), 0);
    assert_int_equal(buf_len(&b), 5);
    buf_consume(&b, 2);
    assert_memory_equal(buf_data(&b), "llo", 3);
    buf_compact(&b);
    assert_int_equal(b.rpos, 0);
    assert_memory_equal(buf_data(&b), "llo", 3);
    buf_consume(&b, 100); /* over-consume empties, never underflows */
    assert_int_equal(buf_len(&b), 0);
    buf_dispose(&b);
    assert_null(b.base);
}

static void test_buf_fixed_and_limit(void **state)
{
    (void)state;
    uint8_t mem[4];
    struct buf b;
    buf_init_fixed(&b, mem, sizeof(mem));
    assert_int_equal(buf_append(&b, "abcd", 4), 0);
    assert_int_equal(buf_append(&b, "e", 1), ERR_TOO_LONG);
    assert_int_equal(buf_len(&b), 4); /* unchanged on error */
    buf_consume(&b, 2);
    assert_int_equal(buf_append(&b, "ef", 2), 0); /* compacts into reclaimed space */
    assert_memory_equal(buf_data(&b), "cdef", 4);
    buf_dispose(&b);

    struct buf l;
    buf_init(&l);
    l.limit = 10;
    assert_int_equal(buf_append(&l, "0123456789", 10), 0);
    assert_int_equal(buf_append(&l, "x", 1), ERR_TOO_LONG);
    buf_dispose(&l);
}

static void test_wire_read_ints_and_bounds(void **state)
{
    (void)state;
    const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};
    struct wire_rd r = wire_rd_init(in, sizeof(in));
    uint8_t a;
    uint16_t b;
    uint32_t c, d;
    assert_int_equal(wire_rd_u8(&r, &a), 0);
    assert_int_equal(a, 1);
    assert_int_equal(wire_rd_u16(&r, &b), 0);
    assert_int_equal(b, 0x0203);
    assert_int_equal(wire_rd_u24(&r, &c), 0);
    assert_int_equal(c, 0x040506);
    assert_int_equal(wire_rd_u32(&r, &d), 0);
    assert_int_equal(d, 0x0708090a);
    assert_int_equal(wire_rd_u8(&r, &a), ERR_NEED_MORE);
    assert_int_equal(wire_rd_done(&r), 0);

    struct wire_rd s = wire_rd_init(in, 3);
    uint32_t big;
    assert_int_equal(wire_rd_u32(&s, &big), ERR_NEED_MORE);
    assert_int_equal(s.pos, 0); /* cursor not moved on failure */
    uint64_t q;
    assert_int_equal(wire_rd_u64(&s, &q), ERR_NEED_MORE);
    assert_int_equal(wire_rd_done(&s), ERR_MALFORMED);
}

static void test_wire_vectors(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0x03, 'a', 'b', 'c', 0x02, 'x'};
    struct wire_rd r = wire_rd_init(in, sizeof(in)), sub;
    assert_int_equal(wire_rd_vec16(&r, &sub), 0);
    struct bytes v;
    assert_int_equal(wire_rd_bytes(&sub, 3, &v), 0);
    assert_memory_equal(v.p, "abc", 3);
    assert_int_equal(wire_rd_done(&sub), 0);
    /* vec8 says 2 bytes but only 1 is left: NEED_MORE, cursor kept */
    size_t pos = r.pos;
    assert_int_equal(wire_rd_vec8(&r, &sub), ERR_NEED_MORE);
    assert_int_equal(r.pos, pos);
    /* every truncation of a well-formed vec24 fails cleanly */
    const uint8_t v24[] = {0x00, 0x00, 0x02, 0xaa, 0xbb};
    for (size_t n = 0; n < sizeof(v24); n++) {
        struct wire_rd t = wire_rd_init(v24, n), ts;
        assert_int_equal(wire_rd_vec24(&t, &ts), ERR_NEED_MORE);
    }
}

static void test_wire_writer_blocks(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    struct wire_block outer, inner;
    assert_int_equal(wire_wr_u8(&b, 0x16), 0);
    assert_int_equal(wire_wr_open(&b, 2, &outer), 0);
    assert_int_equal(wire_wr_open(&b, 3, &inner), 0);
    assert_int_equal(wire_wr_bytes(&b, "hey", 3), 0);
    assert_int_equal(wire_wr_close(&b, &inner), 0);
    assert_int_equal(wire_wr_u16(&b, 0xbeef), 0);
    assert_int_equal(wire_wr_close(&b, &outer), 0);
    const uint8_t want[] = {0x16, 0x00, 0x08, 0x00, 0x00, 0x03, 'h', 'e', 'y', 0xbe, 0xef};
    assert_int_equal(buf_len(&b), sizeof(want));
    assert_memory_equal(buf_data(&b), want, sizeof(want));
    assert_int_equal(wire_wr_u24(&b, 0x1000000), ERR_RANGE);

    struct wire_block small;
    assert_int_equal(wire_wr_open(&b, 1, &small), 0);
    uint8_t big[300] = {0};
    assert_int_equal(wire_wr_bytes(&b, big, sizeof(big)), 0);
    assert_int_equal(wire_wr_close(&b, &small), ERR_RANGE);
    assert_int_equal(wire_wr_open(&b, 5, &small), ERR_RANGE);
    buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_consume_compact), cmocka_unit_test(test_buf_fixed_and_limit),
        cmocka_unit_test(test_wire_read_ints_and_bounds),  cmocka_unit_test(test_wire_vectors),
        cmocka_unit_test(test_wire_writer_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
