#include "vless/udp.h"

#include "core/err.h"
#include "core/wire.h"

int vless_udp_parse(const uint8_t *p, size_t len, struct bytes *dgram, size_t *consumed)
{
    struct wire_rd r = wire_rd_init(p, len);
    struct wire_rd d;
    TRY(wire_rd_vec16(&r, &d));
    *dgram = bytes_of(d.p, d.len);
    *consumed = r.pos;
    return 0;
}

int vless_udp_encode(struct buf *out, const uint8_t *p, size_t len)
{
    if (len == 0)
        return 0;
    if (len > VLESS_UDP_WRITE_MAX)
        return ERR_TOO_LONG;
    size_t mark = buf_len(out);
    int rc = wire_wr_u16(out, (uint16_t)len);
    if (rc == 0)
        rc = wire_wr_bytes(out, p, len);
    if (rc < 0)
        out->wpos = out->rpos + mark;
    return rc;
}
