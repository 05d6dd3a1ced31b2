#include "test_tls_target.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/wire.h"

void tu_target_server_hello(struct buf *b, struct bytes session_id, uint16_t suite, uint16_t group)
{
    struct wire_block msg, exts, e, l;
    size_t share = group == 0x11ec ? 1120 : 32;
    assert_int_equal(wire_wr_u8(b, 2), 0);
    assert_int_equal(wire_wr_open(b, 3, &msg), 0);
    assert_int_equal(wire_wr_u16(b, 0x0303), 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(wire_wr_u8(b, (uint8_t)(0x90 + i)), 0);
    assert_int_equal(wire_wr_u8(b, (uint8_t)session_id.len), 0);
    assert_int_equal(wire_wr_bytes(b, session_id.p, session_id.len), 0);
    assert_int_equal(wire_wr_u16(b, suite), 0);
    assert_int_equal(wire_wr_u8(b, 0), 0);
    assert_int_equal(wire_wr_open(b, 2, &exts), 0);
    assert_int_equal(wire_wr_u16(b, 51), 0);
    assert_int_equal(wire_wr_open(b, 2, &e), 0);
    assert_int_equal(wire_wr_u16(b, group), 0);
    assert_int_equal(wire_wr_open(b, 2, &l), 0);
    for (size_t i = 0; i < share; i++)
        assert_int_equal(wire_wr_u8(b, 0), 0);
    assert_int_equal(wire_wr_close(b, &l), 0);
    assert_int_equal(wire_wr_close(b, &e), 0);
    assert_int_equal(wire_wr_bytes(b, "\x00\x2b\x00\x02\x03\x04", 6), 0);
    assert_int_equal(wire_wr_close(b, &exts), 0);
    assert_int_equal(wire_wr_close(b, &msg), 0);
}
