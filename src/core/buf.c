#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"

uint8_t buf__empty[16];

void buf_init(struct buf *b)
{
    *b = (struct buf){0};
}

void buf_init_fixed(struct buf *b, void *mem, size_t cap)
{
    *b = (struct buf){.base = mem, .cap = cap, .fixed = true};
}

void buf_dispose(struct buf *b)
{
    if (!b->fixed)
        free(b->base);
    *b = (struct buf){0};
}

void buf_dispose_secret(struct buf *b)
{
    if (b->base != NULL)
        secure_wipe(b->base, b->cap);
    buf_dispose(b);
}

void buf_compact(struct buf *b)
{
    if (b->rpos == 0)
        return;
    size_t len = buf_len(b);
    if (len)
        memmove(b->base, b->base + b->rpos, len);
    b->rpos = 0;
    b->wpos = len;
}

int buf_reserve(struct buf *b, size_t n)
{
    if (buf_space(b) >= n)
        return 0;
    size_t len = buf_len(b);
    if (b->cap - len >= n) {
        buf_compact(b);
        return 0;
    }
    if (b->fixed)
        return ERR_TOO_LONG;
    if (n > SIZE_MAX - len)
        return ERR_TOO_LONG;
    size_t need = len + n;
    size_t limit = b->limit ? b->limit : SIZE_MAX;
    if (need > limit)
        return ERR_TOO_LONG;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > limit)
        cap = limit;
    buf_compact(b);
    uint8_t *n_base = realloc(b->base, cap);
    if (n_base == NULL)
        return ERR_NOMEM;
    b->base = n_base;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    TRY(buf_reserve(b, n));
    memcpy(b->base + b->wpos, p, n);
    b->wpos += n;
    return 0;
}

void buf_produce(struct buf *b, size_t n)
{
    b->wpos += n <= buf_space(b) ? n : buf_space(b);
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= buf_len(b)) {
        b->rpos = b->wpos = 0;
        return;
    }
    b->rpos += n;
}

void buf_reset(struct buf *b)
{
    b->rpos = b->wpos = 0;
}
