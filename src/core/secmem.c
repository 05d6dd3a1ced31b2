#include "core/secmem.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/secure.h"

/* The first page holds this header; the caller's bytes start on the next page, so the
 * header's page and theirs are both inside the same locked, undumped mapping. */
struct secmem_hdr {
    size_t map_len;
    bool locked;
};

static size_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

void *secmem_alloc(size_t n)
{
    size_t ps = page_size();
    if (n == 0 || n > SIZE_MAX - 2 * ps)
        return NULL;
    size_t len = ps + (n + ps - 1) / ps * ps;
    uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    (void)madvise(m, len, MADV_DONTDUMP); /* fails only on kernels before 3.4 */
    struct secmem_hdr *h = (struct secmem_hdr *)m;
    h->map_len = len;
    h->locked = mlock(m, len) == 0;
    return m + ps;
}

void secmem_free(void *p, size_t n)
{
    if (p == NULL)
        return;
    uint8_t *m = (uint8_t *)p - page_size();
    struct secmem_hdr *h = (struct secmem_hdr *)m;
    size_t len = h->map_len;
    (void)n; /* the whole user area is wiped, whatever the caller asked for */
    secure_wipe(p, len - page_size());
    if (h->locked)
        (void)munlock(m, len);
    (void)munmap(m, len);
}

bool secmem_locked(const void *p)
{
    const struct secmem_hdr *h = (const struct secmem_hdr *)((const uint8_t *)p - page_size());
    return h->locked;
}

int secmem_dontdump(const void *p, size_t n)
{
    if (n == 0)
        return 0;
    size_t ps = page_size();
    uintptr_t start = (uintptr_t)p & ~(uintptr_t)(ps - 1);
    uintptr_t end = ((uintptr_t)p + n + ps - 1) & ~(uintptr_t)(ps - 1);
    if (madvise((void *)start, end - start, MADV_DONTDUMP) == -1)
        return -errno;
    return 0;
}
