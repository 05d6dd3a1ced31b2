/* Buffers for live secrets (keys, tokens): their own pages, kept out of core dumps
 * (MADV_DONTDUMP), locked in RAM when the limit allows (mlock, best effort: a swapped-out key
 * would outlive the process on disk), and wiped before the pages are returned. A buffer costs at
 * least one page, so hold a few long-lived secrets here, not every string. */
#ifndef VEIL_CORE_SECMEM_H
#define VEIL_CORE_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

/* A zeroed buffer of n bytes (n > 0), NULL when out of memory. */
void *secmem_alloc(size_t n);
/* Wipes and unmaps a buffer from secmem_alloc (n as given there); NULL is a no-op. */
void secmem_free(void *p, size_t n);
/* Whether the pages of p are locked in RAM (false when RLIMIT_MEMLOCK refused it). */
bool secmem_locked(const void *p);
/* Excludes the pages that hold [p, p + n) from core dumps, e.g. a key inside a larger
 * configuration struct. Other data sharing those pages is excluded too, which is harmless.
 * 0 or -errno. */
int secmem_dontdump(const void *p, size_t n);

#endif
