#include "vless/mux.h"

#include <string.h>

#include "core/err.h"
#include "core/wire.h"

int vless_mux_parse(const uint8_t *p, size_t len, struct vless_mux_frame *f, size_t *consumed)
{
    struct wire_rd r = wire_rd_init(p, len);
    struct wire_rd meta;
    if (len >= 2 && (wire_be16(p) > VLESS_MUX_META_MAX || wire_be16(p) < 4))
        return ERR_MALFORMED; /* decided before waiting for the metadata */
    TRY(wire_rd_vec16(&r, &meta));
    memset(f, 0, sizeof(*f));
    TRY(wire_rd_u16(&meta, &f->session_id));
    TRY(wire_rd_u8(&meta, &f->status));
    TRY(wire_rd_u8(&meta, &f->option));
    if (f->status == VLESS_MUX_NONE || f->status >= VLESS_MUX_STATUS__COUNT)
        return ERR_MALFORMED;
    bool is_new = f->status == VLESS_MUX_NEW;
    if (is_new || (f->status == VLESS_MUX_KEEP && meta.len > 4 && meta.p[4] == VLESS_MUX_NET_UDP)) {
        if (meta.len < 8)
            return ERR_MALFORMED;
        TRY(wire_rd_u8(&meta, &f->network));
        if (vless_addr_read(&meta, &f->target) < 0) /* the whole metadata is present: short = bad */
            return ERR_MALFORMED;
        if (f->network != VLESS_MUX_NET_TCP && f->network != VLESS_MUX_NET_UDP)
            return ERR_MALFORMED;
        f->has_target = true;
    }
    if (is_new && (f->option & VLESS_MUX_OPT_DATA) && f->network == VLESS_MUX_NET_UDP && wire_rd_left(&meta) >= 8) {
        TRY(wire_rd_copy(&meta, f->global_id, 8));
        f->has_global_id = true;
    }
    /* Remaining metadata bytes are padding: ignored. */
    if (f->option & VLESS_MUX_OPT_DATA) {
        struct wire_rd data;
        TRY(wire_rd_vec16(&r, &data));
        if (f->has_target && f->network == VLESS_MUX_NET_UDP && data.len > VLESS_MUX_UDP_MAX)
            return ERR_TOO_LONG;
        f->has_data = true;
        f->data = bytes_of(data.p, data.len);
    }
    *consumed = r.pos;
    return 0;
}

int vless_mux_encode(struct buf *out, const struct vless_mux_frame *f)
{
    if (f->status == VLESS_MUX_NONE || f->status >= VLESS_MUX_STATUS__COUNT)
        return ERR_RANGE;
    bool target = f->status == VLESS_MUX_NEW || (f->status == VLESS_MUX_KEEP && f->has_target);
    if (target && f->network != VLESS_MUX_NET_TCP && f->network != VLESS_MUX_NET_UDP)
        return ERR_RANGE;
    if (f->status == VLESS_MUX_KEEP && target && f->network != VLESS_MUX_NET_UDP)
        return ERR_RANGE; /* only UDP Keeps carry an address */
    if ((f->option & VLESS_MUX_OPT_DATA) && f->data.len > 0xffff)
        return ERR_RANGE;
    size_t mark = buf_len(out);
    struct wire_block meta;
    int rc;
    if ((rc = wire_wr_open(out, 2, &meta)) < 0 || (rc = wire_wr_u16(out, f->session_id)) < 0 ||
        (rc = wire_wr_u8(out, f->status)) < 0 || (rc = wire_wr_u8(out, f->option)) < 0)
        goto fail;
    if (target) {
        if ((rc = wire_wr_u8(out, f->network)) < 0 || (rc = vless_addr_write(out, &f->target)) < 0)
            goto fail;
        if (f->status == VLESS_MUX_NEW && f->network == VLESS_MUX_NET_UDP && f->has_global_id &&
            (rc = wire_wr_bytes(out, f->global_id, 8)) < 0)
            goto fail;
    }
    if ((rc = wire_wr_close(out, &meta)) < 0)
        goto fail;
    if (f->option & VLESS_MUX_OPT_DATA) {
        if ((rc = wire_wr_u16(out, (uint16_t)f->data.len)) < 0 || (rc = wire_wr_bytes(out, f->data.p, f->data.len)) < 0)
            goto fail;
    }
    return 0;
fail:
    out->wpos = out->rpos + mark;
    return rc;
}

int vless_mux_encode_udp(struct buf *out, uint16_t session_id, const struct vless_addr *src, const uint8_t *data,
                         size_t len)
{
    struct vless_mux_frame f = {
        .session_id = session_id,
        .status = VLESS_MUX_KEEP,
        .option = VLESS_MUX_OPT_DATA,
        .has_target = true,
        .network = VLESS_MUX_NET_UDP,
        .target = *src,
        .data = bytes_of(data, len),
    };
    if (len > VLESS_MUX_UDP_MAX)
        return ERR_RANGE;
    return vless_mux_encode(out, &f);
}

int vless_mux_encode_end(struct buf *out, uint16_t session_id, bool error)
{
    uint8_t h[6] = {
        0, 4, (uint8_t)(session_id >> 8), (uint8_t)session_id, VLESS_MUX_END, error ? VLESS_MUX_OPT_ERROR : 0};
    return wire_wr_bytes(out, h, sizeof(h));
}

bool vless_mux_is_xudp(const uint8_t *body, size_t len)
{
    return len >= 7 && body[2] == 0 && body[3] == 0 && body[6] == VLESS_MUX_NET_UDP;
}
