/* Bounds-checked readers and writers for big-endian wire formats (TLS, VLESS, Mux, PROXY).
 *
 * Reader: a cursor over borrowed bytes. Every call returns 0 or ERR_NEED_MORE when the
 * input is too short, and never moves the cursor on failure. wire_rd_vecN() opens a
 * sub-reader over a length-prefixed block, which the caller must consume exactly
 * (wire_rd_done) — the TLS rule that trailing bytes inside a block are an error.
 *
 * Writer: appends to a struct buf. wire_wr_open(N) reserves an N-byte length prefix and
 * wire_wr_close() back-patches it, so nested blocks need no hand-computed lengths. */
#ifndef VEIL_CORE_WIRE_H
#define VEIL_CORE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"

struct wire_rd {
    const uint8_t *p;
    size_t len, pos;
};

static inline struct wire_rd wire_rd_init(const void *p, size_t len)
{
    return (struct wire_rd){(const uint8_t *)p, len, 0};
}
static inline size_t wire_rd_left(const struct wire_rd *r)
{
    return r->len - r->pos;
}
static inline const uint8_t *wire_rd_ptr(const struct wire_rd *r)
{
    return r->p + r->pos;
}
/* 0 when everything was consumed, ERR_MALFORMED when bytes are left over. */
int wire_rd_done(const struct wire_rd *r);

int wire_rd_u8(struct wire_rd *r, uint8_t *v);
int wire_rd_u16(struct wire_rd *r, uint16_t *v);
int wire_rd_u24(struct wire_rd *r, uint32_t *v);
int wire_rd_u32(struct wire_rd *r, uint32_t *v);
int wire_rd_u64(struct wire_rd *r, uint64_t *v);
/* Borrows n bytes (no copy). */
int wire_rd_bytes(struct wire_rd *r, size_t n, struct bytes *out);
/* Copies n bytes into out. */
int wire_rd_copy(struct wire_rd *r, void *out, size_t n);
int wire_rd_skip(struct wire_rd *r, size_t n);
/* Reads a length prefix of 1, 2 or 3 bytes and opens a sub-reader over that many bytes. */
int wire_rd_vec8(struct wire_rd *r, struct wire_rd *sub);
int wire_rd_vec16(struct wire_rd *r, struct wire_rd *sub);
int wire_rd_vec24(struct wire_rd *r, struct wire_rd *sub);

/* Writers return 0, ERR_NOMEM or ERR_TOO_LONG (fixed buffer full). */
int wire_wr_u8(struct buf *b, uint8_t v);
int wire_wr_u16(struct buf *b, uint16_t v);
int wire_wr_u24(struct buf *b, uint32_t v);
int wire_wr_u32(struct buf *b, uint32_t v);
int wire_wr_u64(struct buf *b, uint64_t v);
int wire_wr_bytes(struct buf *b, const void *p, size_t n);

/* A reserved length prefix; `at` is its offset from buf_data() so compaction cannot move it. */
struct wire_block {
    size_t at;
    uint8_t width;
};
/* Reserves a `width`-byte (1..4) length prefix. */
int wire_wr_open(struct buf *b, uint8_t width, struct wire_block *blk);
/* Writes the length of everything appended since open. ERR_RANGE if it does not fit. */
int wire_wr_close(struct buf *b, const struct wire_block *blk);

/* Plain big-endian loads and stores for fixed layouts already bounds-checked by the caller. */
static inline uint16_t wire_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t wire_be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline uint32_t wire_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wire_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void wire_put_be24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}
static inline void wire_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
