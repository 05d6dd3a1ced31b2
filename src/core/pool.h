/* Fixed-size buffer pool, one per worker thread (not thread-safe by design: nothing mutable is
 * shared on the data path). Buffers are taken lazily when data arrives and given back as soon as
 * they drain, so idle connections hold none. Up to `cache_max` returned blocks are kept on a free
 * list for reuse; blocks returned beyond that bound are freed. */
#ifndef VEIL_CORE_POOL_H
#define VEIL_CORE_POOL_H

#include <stddef.h>
#include <stdint.h>

/* One TLS record (2^14 bytes of plaintext) plus room for the record overhead. */
#define POOL_BLOCK_DEFAULT (16384 + 256)
#define POOL_CACHE_DEFAULT 256

struct pool;

struct pool_stats {
    size_t block_size;
    size_t in_use;     /* handed out and not yet returned */
    size_t cached;     /* on the free list */
    size_t cache_max;  /* free-list bound */
    uint64_t gets;     /* successful pool_get calls */
    uint64_t allocs;   /* gets that had to call malloc */
    uint64_t failures; /* gets that returned NULL */
};

/* A pool of `block_size` byte blocks (0 = POOL_BLOCK_DEFAULT) caching at most `cache_max`
 * free blocks. NULL on allocation failure. */
struct pool *pool_new(size_t block_size, size_t cache_max);
/* Frees the pool and its cached blocks. Blocks still in use must have been returned first
 * (a debug assertion checks it); pool_free(NULL) is a no-op. */
void pool_free(struct pool *p);
/* A block of pool_block_size() bytes (contents undefined), or NULL when out of memory:
 * the caller then closes that one connection or retries later. */
void *pool_get(struct pool *p);
/* Returns a block obtained from this pool. NULL is a no-op. */
void pool_put(struct pool *p, void *block);
/* Frees every cached block (e.g. after a traffic peak). */
void pool_trim(struct pool *p);
size_t pool_block_size(const struct pool *p);
void pool_get_stats(const struct pool *p, struct pool_stats *out);

#endif
