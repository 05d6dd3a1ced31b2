#include "hub/cache/cache_mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define SHARDS 16
#define BUCKETS 1024 /* per shard */
#define SWEEP_PER_PUT 2

struct ent {
    struct ent *next;
    uint64_t hash;
    int64_t expires_ms;
    size_t klen, vlen;
    char data[]; /* key NUL value NUL */
};

struct shard {
    pthread_mutex_t mu;
    struct ent *b[BUCKETS];
    size_t bytes, entries, cursor;
};

struct hcmem {
    size_t shard_max;
    struct shard s[SHARDS];
};

static uint64_t fnv1a(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)k[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t ent_size(size_t klen, size_t vlen)
{
    return sizeof(struct ent) + klen + vlen + 2;
}

struct hcmem *hcmem_new(size_t max_bytes)
{
    struct hcmem *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->shard_max = (max_bytes ? max_bytes : (64u << 20)) / SHARDS;
    for (size_t i = 0; i < SHARDS; i++)
        pthread_mutex_init(&m->s[i].mu, NULL);
    return m;
}

void hcmem_free(struct hcmem *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < SHARDS; i++) {
        for (size_t j = 0; j < BUCKETS; j++) {
            struct ent *e = m->s[i].b[j];
            while (e) {
                struct ent *n = e->next;
                free(e);
                e = n;
            }
        }
        pthread_mutex_destroy(&m->s[i].mu);
    }
    free(m);
}

static struct shard *shard_of(struct hcmem *m, uint64_t h)
{
    return &m->s[(h >> 56) % SHARDS];
}

/* The link that points at key's entry (or at the NULL ending its chain). */
static struct ent **find(struct shard *s, uint64_t h, const char *key, size_t klen)
{
    struct ent **p = &s->b[h % BUCKETS];
    while (*p && !((*p)->hash == h && (*p)->klen == klen && memcmp((*p)->data, key, klen) == 0))
        p = &(*p)->next;
    return p;
}

static void unlink_ent(struct shard *s, struct ent **p)
{
    struct ent *e = *p;
    *p = e->next;
    s->bytes -= ent_size(e->klen, e->vlen);
    s->entries--;
    free(e);
}

/* Drops expired entries (or, when force, any but keep) from the bucket under the cursor. */
static void sweep_bucket(struct shard *s, int64_t now_ms, bool force, const struct ent *keep)
{
    struct ent **p = &s->b[s->cursor % BUCKETS];
    while (*p) {
        if ((*p != keep) && (force || (*p)->expires_ms <= now_ms))
            unlink_ent(s, p);
        else
            p = &(*p)->next;
    }
    s->cursor++;
}

int hcmem_get(struct hcmem *m, const char *key, int64_t now_ms, char **val, size_t *len)
{
    *val = NULL;
    *len = 0;
    size_t klen = strlen(key);
    uint64_t h = fnv1a(key, klen);
    struct shard *s = shard_of(m, h);
    int rc = ERR_NOT_FOUND;
    pthread_mutex_lock(&s->mu);
    struct ent **p = find(s, h, key, klen);
    if (*p != NULL && (*p)->expires_ms <= now_ms) {
        unlink_ent(s, p);
    } else if (*p != NULL) {
        struct ent *e = *p;
        char *v = malloc(e->vlen + 1);
        if (v == NULL) {
            rc = ERR_NOMEM;
        } else {
            memcpy(v, e->data + e->klen + 1, e->vlen + 1);
            *val = v;
            *len = e->vlen;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Inserts or replaces under the shard lock; returns the entry (NULL on OOM). */
static struct ent *put_locked(struct hcmem *m, struct shard *s, uint64_t h, const char *key, size_t klen,
                              const void *val, size_t vlen, int64_t expires_ms, int64_t now_ms)
{
    struct ent *e = malloc(ent_size(klen, vlen));
    if (e == NULL)
        return NULL;
    e->hash = h;
    e->expires_ms = expires_ms;
    e->klen = klen;
    e->vlen = vlen;
    memcpy(e->data, key, klen);
    e->data[klen] = '\0';
    if (vlen)
        memcpy(e->data + klen + 1, val, vlen);
    e->data[klen + 1 + vlen] = '\0';
    struct ent **p = find(s, h, key, klen);
    if (*p != NULL)
        unlink_ent(s, p);
    p = &s->b[h % BUCKETS];
    e->next = *p;
    *p = e;
    s->bytes += ent_size(klen, vlen);
    s->entries++;
    for (int i = 0; i < SWEEP_PER_PUT; i++)
        sweep_bucket(s, now_ms, false, e);
    /* Over the bound: first a full pass for expired entries, then anything but the new one. */
    for (size_t i = 0; i < BUCKETS && s->bytes > m->shard_max; i++)
        sweep_bucket(s, now_ms, false, e);
    for (size_t i = 0; i < BUCKETS && s->bytes > m->shard_max; i++)
        sweep_bucket(s, now_ms, true, e);
    return e;
}

int hcmem_put(struct hcmem *m, const char *key, const void *val, size_t len, int64_t ttl_ms, int64_t now_ms)
{
    size_t klen = strlen(key);
    if (ent_size(klen, len) > m->shard_max)
        return ERR_LIMIT;
    if (ttl_ms <= 0)
        return ERR_RANGE;
    uint64_t h = fnv1a(key, klen);
    struct shard *s = shard_of(m, h);
    pthread_mutex_lock(&s->mu);
    struct ent *e = put_locked(m, s, h, key, klen, val, len, now_ms + ttl_ms, now_ms);
    pthread_mutex_unlock(&s->mu);
    return e ? 0 : ERR_NOMEM;
}

void hcmem_del(struct hcmem *m, const char *key)
{
    size_t klen = strlen(key);
    uint64_t h = fnv1a(key, klen);
    struct shard *s = shard_of(m, h);
    pthread_mutex_lock(&s->mu);
    struct ent **p = find(s, h, key, klen);
    if (*p != NULL)
        unlink_ent(s, p);
    pthread_mutex_unlock(&s->mu);
}

int hcmem_hit(struct hcmem *m, const char *key, int64_t window_ms, int64_t now_ms, uint64_t *count, int64_t *left_ms)
{
    if (window_ms <= 0 || now_ms < 0)
        return ERR_RANGE;
    int64_t start = now_ms - now_ms % window_ms, end = start + window_ms;
    *left_ms = end - now_ms;
    size_t klen = strlen(key);
    uint64_t h = fnv1a(key, klen);
    struct shard *s = shard_of(m, h);
    pthread_mutex_lock(&s->mu);
    struct ent **p = find(s, h, key, klen);
    struct ent *e = *p;
    /* A counter belongs to one window: its expiry is that window's end. */
    if (e != NULL && e->expires_ms == end && e->vlen == sizeof(uint64_t)) {
        uint64_t n;
        memcpy(&n, e->data + e->klen + 1, sizeof n);
        n++;
        memcpy(e->data + e->klen + 1, &n, sizeof n);
        *count = n;
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    uint64_t one = 1;
    e = put_locked(m, s, h, key, klen, &one, sizeof one, end, now_ms);
    pthread_mutex_unlock(&s->mu);
    if (e == NULL)
        return ERR_NOMEM;
    *count = 1;
    return 0;
}

void hcmem_usage(struct hcmem *m, size_t *bytes, size_t *entries)
{
    *bytes = *entries = 0;
    for (size_t i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&m->s[i].mu);
        *bytes += m->s[i].bytes;
        *entries += m->s[i].entries;
        pthread_mutex_unlock(&m->s[i].mu);
    }
}
