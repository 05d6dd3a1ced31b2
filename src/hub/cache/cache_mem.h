/* The in-process key/value store behind hub/cache when Redis is not configured or not reachable:
 * byte values with a TTL and fixed-window counters, sharded under mutexes, bounded in bytes
 * (expired entries are swept as new ones arrive; past the bound the oldest-scanned go first).
 * Times are milliseconds from the caller's clock, so tests drive expiry without sleeping. */
#ifndef VEIL_HUB_CACHE_CACHE_MEM_H
#define VEIL_HUB_CACHE_CACHE_MEM_H

#include <stddef.h>
#include <stdint.h>

struct hcmem;

/* A store holding at most max_bytes of keys + values + bookkeeping (0 -> 64 MiB). NULL on OOM. */
struct hcmem *hcmem_new(size_t max_bytes);
/* NULL-safe. */
void hcmem_free(struct hcmem *m);

/* A malloc'd copy of key's value (NUL-terminated, the NUL not counted in *len) when present
 * and not expired at now_ms; ERR_NOT_FOUND otherwise; ERR_NOMEM. */
int hcmem_get(struct hcmem *m, const char *key, int64_t now_ms, char **val, size_t *len);
/* Stores a copy until now_ms + ttl_ms (ttl_ms > 0), replacing any old value. ERR_LIMIT when
 * the value alone exceeds the store's bound; ERR_NOMEM. */
int hcmem_put(struct hcmem *m, const char *key, const void *val, size_t len, int64_t ttl_ms, int64_t now_ms);
/* Removes key; no error when absent. */
void hcmem_del(struct hcmem *m, const char *key);
/* Counts one hit in the window of window_ms that holds now_ms (windows start at multiples of
 * window_ms, so several processes agree on them): *count is the hits so far including this
 * one, *left_ms the time until the window ends. */
int hcmem_hit(struct hcmem *m, const char *key, int64_t window_ms, int64_t now_ms, uint64_t *count, int64_t *left_ms);
/* Bytes held and live entries (expired ones not yet swept included). */
void hcmem_usage(struct hcmem *m, size_t *bytes, size_t *entries);

#endif
