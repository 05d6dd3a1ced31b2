/* Fuzz target: Mux.Cool / XUDP frames and command-2 UDP datagrams parsed from a stream.
 * Accepted frames must re-encode to a frame that parses to the same fields, every strict
 * prefix of an accepted frame must need more bytes, and the 8192-byte datagram limit never
 * refuses a TCP frame. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "vless/mux.h"
#include "vless/udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct vless_mux_frame *a, const struct vless_mux_frame *b)
{
    if (a->session_id != b->session_id || a->status != b->status || a->option != b->option ||
        a->has_target != b->has_target || a->has_global_id != b->has_global_id || a->has_data != b->has_data)
        abort();
    if (a->has_target && (a->network != b->network || !vless_addr_equal(&a->target, &b->target)))
        abort();
    if (a->has_global_id && memcmp(a->global_id, b->global_id, 8) != 0)
        abort();
    if (a->has_data && (a->data.len != b->data.len || memcmp(a->data.p, b->data.p, a->data.len) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    struct buf enc;
    buf_init(&enc);
    while (pos < size) {
        struct vless_mux_frame f, g;
        size_t c, c2;
        int rc = vless_mux_parse(data + pos, size - pos, &f, &c);
        /* Only UDP-shaped frames (network byte 0x02) are held to 8192 bytes: a Mux TCP
         * sub-connection's Keep may carry up to 65535 (node/mux.c relays it whole). */
        if (rc == ERR_TOO_LONG && (size - pos < 7 || data[pos + 6] != VLESS_MUX_NET_UDP))
            abort();
        if (rc < 0)
            break;
        if (c == 0 || c > size - pos)
            abort();
        if (c > 1 && vless_mux_parse(data + pos, c - 1, &g, &c2) != ERR_NEED_MORE)
            abort();
        buf_reset(&enc);
        /* Keeps with a TCP-looking target never come out of the parser; everything else re-encodes. */
        if (vless_mux_encode(&enc, &f) == 0) {
            if (vless_mux_parse(buf_data(&enc), buf_len(&enc), &g, &c2) != 0 || c2 != buf_len(&enc))
                abort();
            same(&f, &g);
        }
        pos += c;
    }
    /* The same bytes as command-2 UDP datagrams. */
    for (pos = 0; pos < size;) {
        struct bytes d;
        size_t c;
        if (vless_udp_parse(data + pos, size - pos, &d, &c) < 0)
            break;
        if (c != d.len + 2)
            abort();
        pos += c;
    }
    buf_dispose(&enc);
    return 0;
}
