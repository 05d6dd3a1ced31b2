/* struct buf: a linear byte buffer with a read and a write position.
 *   base[0 .. rpos)    consumed, reclaimed by buf_compact()
 *   base[rpos .. wpos) data
 *   base[wpos .. cap)  free space
 * A buf either owns heap memory (buf_init/buf_reserve grow it) or wraps caller memory
 * with a fixed capacity (buf_init_fixed; growth then fails with ERR_TOO_LONG). */
#ifndef VEIL_CORE_BUF_H
#define VEIL_CORE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *base;
    size_t cap, rpos, wpos;
    bool fixed;   /* memory belongs to the caller; never realloc'd or freed */
    size_t limit; /* growth ceiling for owned buffers; 0 means SIZE_MAX */
};

/* Owned, initially empty (no allocation until data arrives). */
void buf_init(struct buf *b);
/* Wraps caller memory of cap bytes; never grows. */
void buf_init_fixed(struct buf *b, void *mem, size_t cap);
/* Frees owned memory (after wiping it when `wipe`), leaving an empty buffer. */
void buf_dispose(struct buf *b);
void buf_dispose_secret(struct buf *b);

static inline size_t buf_len(const struct buf *b)
{
    return b->wpos - b->rpos;
}
/* A valid pointer even for an empty, never-allocated buffer (no NULL arithmetic, and safe
 * to pass to memcpy with a zero length). */
extern uint8_t buf__empty[]; /* size unknown here on purpose: never read */
static inline uint8_t *buf_data(const struct buf *b)
{
    return b->base != NULL ? b->base + b->rpos : buf__empty;
}
static inline size_t buf_space(const struct buf *b)
{
    return b->cap - b->wpos;
}
static inline uint8_t *buf_tail(const struct buf *b)
{
    return b->base != NULL ? b->base + b->wpos : buf__empty;
}

/* Ensures `n` free bytes after wpos, compacting or growing. ERR_NOMEM / ERR_TOO_LONG. */
int buf_reserve(struct buf *b, size_t n);
/* Appends n bytes. ERR_NOMEM / ERR_TOO_LONG; on error the buffer is unchanged. */
int buf_append(struct buf *b, const void *p, size_t n);
/* Marks n bytes (<= buf_space) after the tail as written, e.g. after recv() into buf_tail(). */
void buf_produce(struct buf *b, size_t n);
/* Drops n bytes (<= buf_len) from the front. Resets positions when the buffer empties. */
void buf_consume(struct buf *b, size_t n);
/* Moves data to the front so that all free space is contiguous at the end. */
void buf_compact(struct buf *b);
/* Forgets all data, keeps memory. */
void buf_reset(struct buf *b);

#endif
