#include "core/pool.h"

#include <assert.h>
#include <stdlib.h>

/* Free blocks are chained through their first bytes. */
struct pool_free_block {
    struct pool_free_block *next;
};

struct pool {
    size_t block_size;
    size_t cache_max;
    struct pool_free_block *free_list;
    size_t cached;
    size_t in_use;
    uint64_t gets, allocs, failures;
};

struct pool *pool_new(size_t block_size, size_t cache_max)
{
    struct pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    if (block_size == 0)
        block_size = POOL_BLOCK_DEFAULT;
    if (block_size < sizeof(struct pool_free_block))
        block_size = sizeof(struct pool_free_block);
    p->block_size = block_size;
    p->cache_max = cache_max;
    return p;
}

void pool_trim(struct pool *p)
{
    while (p->free_list != NULL) {
        struct pool_free_block *b = p->free_list;
        p->free_list = b->next;
        free(b);
    }
    p->cached = 0;
}

void pool_free(struct pool *p)
{
    if (p == NULL)
        return;
    assert(p->in_use == 0);
    pool_trim(p);
    free(p);
}

void *pool_get(struct pool *p)
{
    struct pool_free_block *b = p->free_list;
    if (b != NULL) {
        p->free_list = b->next;
        p->cached--;
    } else {
        b = malloc(p->block_size);
        if (b == NULL) {
            p->failures++;
            return NULL;
        }
        p->allocs++;
    }
    p->in_use++;
    p->gets++;
    return b;
}

void pool_put(struct pool *p, void *block)
{
    if (block == NULL)
        return;
    assert(p->in_use > 0);
    p->in_use--;
    if (p->cached >= p->cache_max) {
        free(block);
        return;
    }
    struct pool_free_block *b = block;
    b->next = p->free_list;
    p->free_list = b;
    p->cached++;
}

size_t pool_block_size(const struct pool *p)
{
    return p->block_size;
}

void pool_get_stats(const struct pool *p, struct pool_stats *out)
{
    *out = (struct pool_stats){
        .block_size = p->block_size,
        .in_use = p->in_use,
        .cached = p->cached,
        .cache_max = p->cache_max,
        .gets = p->gets,
        .allocs = p->allocs,
        .failures = p->failures,
    };
}
