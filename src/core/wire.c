#include "core/wire.h"

#include <string.h>

#include "core/err.h"

int wire_rd_done(const struct wire_rd *r)
{
    return r->pos == r->len ? 0 : ERR_MALFORMED;
}

static int rd_uint(struct wire_rd *r, size_t n, uint64_t *v)
{
    if (wire_rd_left(r) < n)
        return ERR_NEED_MORE;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | r->p[r->pos + i];
    r->pos += n;
    *v = x;
    return 0;
}

int wire_rd_u8(struct wire_rd *r, uint8_t *v)
{
    uint64_t x;
    TRY(rd_uint(r, 1, &x));
    *v = (uint8_t)x;
    return 0;
}

int wire_rd_u16(struct wire_rd *r, uint16_t *v)
{
    uint64_t x;
    TRY(rd_uint(r, 2, &x));
    *v = (uint16_t)x;
    return 0;
}

int wire_rd_u24(struct wire_rd *r, uint32_t *v)
{
    uint64_t x;
    TRY(rd_uint(r, 3, &x));
    *v = (uint32_t)x;
    return 0;
}

int wire_rd_u32(struct wire_rd *r, uint32_t *v)
{
    uint64_t x;
    TRY(rd_uint(r, 4, &x));
    *v = (uint32_t)x;
    return 0;
}

int wire_rd_u64(struct wire_rd *r, uint64_t *v)
{
    return rd_uint(r, 8, v);
}

int wire_rd_bytes(struct wire_rd *r, size_t n, struct bytes *out)
{
    if (wire_rd_left(r) < n)
        return ERR_NEED_MORE;
    *out = (struct bytes){r->p + r->pos, n};
    r->pos += n;
    return 0;
}

int wire_rd_copy(struct wire_rd *r, void *out, size_t n)
{
    if (wire_rd_left(r) < n)
        return ERR_NEED_MORE;
    if (n)
        memcpy(out, r->p + r->pos, n);
    r->pos += n;
    return 0;
}

int wire_rd_skip(struct wire_rd *r, size_t n)
{
    if (wire_rd_left(r) < n)
        return ERR_NEED_MORE;
    r->pos += n;
    return 0;
}

static int rd_vec(struct wire_rd *r, size_t width, struct wire_rd *sub)
{
    size_t save = r->pos;
    uint64_t n;
    TRY(rd_uint(r, width, &n));
    if (wire_rd_left(r) < n) {
        r->pos = save;
        return ERR_NEED_MORE;
    }
    *sub = wire_rd_init(r->p + r->pos, (size_t)n);
    r->pos += (size_t)n;
    return 0;
}

int wire_rd_vec8(struct wire_rd *r, struct wire_rd *sub)
{
    return rd_vec(r, 1, sub);
}

int wire_rd_vec16(struct wire_rd *r, struct wire_rd *sub)
{
    return rd_vec(r, 2, sub);
}

int wire_rd_vec24(struct wire_rd *r, struct wire_rd *sub)
{
    return rd_vec(r, 3, sub);
}

static int wr_uint(struct buf *b, uint64_t v, size_t n)
{
    uint8_t tmp[8];
    for (size_t i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return buf_append(b, tmp, n);
}

int wire_wr_u8(struct buf *b, uint8_t v)
{
    return wr_uint(b, v, 1);
}

int wire_wr_u16(struct buf *b, uint16_t v)
{
    return wr_uint(b, v, 2);
}

int wire_wr_u24(struct buf *b, uint32_t v)
{
    if (v > 0xffffff)
        return ERR_RANGE;
    return wr_uint(b, v, 3);
}

int wire_wr_u32(struct buf *b, uint32_t v)
{
    return wr_uint(b, v, 4);
}

int wire_wr_u64(struct buf *b, uint64_t v)
{
    return wr_uint(b, v, 8);
}

int wire_wr_bytes(struct buf *b, const void *p, size_t n)
{
    return buf_append(b, p, n);
}

int wire_wr_open(struct buf *b, uint8_t width, struct wire_block *blk)
{
    if (width < 1 || width > 4)
        return ERR_RANGE;
    TRY(wr_uint(b, 0, width));
    *blk = (struct wire_block){.at = buf_len(b) - width, .width = width};
    return 0;
}

int wire_wr_close(struct buf *b, const struct wire_block *blk)
{
    size_t start = blk->at + blk->width;
    if (start > buf_len(b))
        return ERR_BAD_STATE;
    uint64_t n = buf_len(b) - start;
    if (blk->width < 8 && n >> (8 * blk->width))
        return ERR_RANGE;
    uint8_t *p = buf_data(b) + blk->at;
    for (size_t i = 0; i < blk->width; i++)
        p[i] = (uint8_t)(n >> (8 * (blk->width - 1 - i)));
    return 0;
}
