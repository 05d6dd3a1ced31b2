/* Allocation-failure injection for tests (the approach of s2n's and libuv's test suites):
 * replaces glibc's malloc family (glibc supports this, "Replacing malloc" in its manual),
 * counts the allocations our code makes while armed, fails the Nth one, and tracks every
 * block it allocated so a test can prove that an error path freed what it took.
 * "Our code" is a caller inside this executable, where the modules are linked statically;
 * allocations inside shared libraries (libcrypto, SQLite, jansson) are neither failed nor
 * counted: their out-of-memory paths and the per-thread state they keep are theirs.
 * Linked only into test_*_nomem executables of non-sanitizer builds: ASan owns malloc. */
#include "failalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

/* Open addressing over the addresses of live blocks allocated while armed. */
#define TRACK_SLOTS (1u << 16)
static void *tracked[TRACK_SLOTS];
static size_t n_tracked;
static long fail_at, n_allocs;
static int armed, paused, failed, overflowed;

static size_t slot_of(const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull) & (TRACK_SLOTS - 1);
}

static void track_add(void *p)
{
    if (n_tracked + 1 >= TRACK_SLOTS / 2) {
        overflowed = 1;
        return;
    }
    size_t i = slot_of(p);
    while (tracked[i] != NULL)
        i = (i + 1) & (TRACK_SLOTS - 1);
    tracked[i] = p;
    n_tracked++;
}

static void track_del(void *p)
{
    if (n_tracked == 0 || p == NULL)
        return;
    size_t i = slot_of(p);
    while (tracked[i] != NULL) {
        if (tracked[i] == p) {
            /* Backward-shift deletion keeps every probe chain intact. */
            size_t j = i;
            for (;;) {
                j = (j + 1) & (TRACK_SLOTS - 1);
                if (tracked[j] == NULL)
                    break;
                size_t home = slot_of(tracked[j]);
                if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
                    tracked[i] = tracked[j];
                    i = j;
                }
            }
            tracked[i] = NULL;
            n_tracked--;
            return;
        }
        i = (i + 1) & (TRACK_SLOTS - 1);
    }
}

extern char __executable_start, etext;

static int is_ours(const void *caller)
{
    return (const char *)caller >= &__executable_start && (const char *)caller < &etext;
}

/* True when this allocation is the one to fail. */
static int should_fail(const void *caller)
{
    if (!armed || paused || !is_ours(caller))
        return 0;
    n_allocs++;
    if (fail_at > 0 && n_allocs == fail_at) {
        failed = 1;
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

static void *gate_malloc(size_t n, const void *caller)
{
    if (should_fail(caller))
        return NULL;
    void *p = __libc_malloc(n);
    if (armed && !paused && p != NULL && is_ours(caller))
        track_add(p);
    return p;
}

void *malloc(size_t n)
{
    return gate_malloc(n, __builtin_return_address(0));
}

void *calloc(size_t n, size_t size)
{
    const void *caller = __builtin_return_address(0);
    if (should_fail(caller))
        return NULL;
    void *p = __libc_calloc(n, size);
    if (armed && !paused && p != NULL && is_ours(caller))
        track_add(p);
    return p;
}

void *realloc(void *old, size_t n)
{
    const void *caller = __builtin_return_address(0);
    if (old == NULL)
        return gate_malloc(n, caller);
    if (n == 0) {
        free(old);
        return NULL;
    }
    if (should_fail(caller))
        return NULL;
    void *p = __libc_realloc(old, n);
    if (p != NULL) {
        track_del(old);
        if (armed && !paused && is_ours(caller))
            track_add(p);
    }
    return p;
}

/* glibc's strdup allocates from inside libc: route it through the gate with our caller. */
char *strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = gate_malloc(n, __builtin_return_address(0));
    return p != NULL ? memcpy(p, s, n) : NULL;
}

char *strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *p = gate_malloc(n + 1, __builtin_return_address(0));
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void free(void *p)
{
    track_del(p);
    __libc_free(p);
}

void failalloc_arm(long nth)
{
    memset(tracked, 0, sizeof tracked);
    n_tracked = 0;
    n_allocs = 0;
    fail_at = nth;
    failed = overflowed = 0;
    armed = 1;
}

void failalloc_disarm(void)
{
    armed = 0;
}

void failalloc_pause(void)
{
    paused++;
}

void failalloc_resume(void)
{
    paused--;
}

int failalloc_failed(void)
{
    return failed;
}

long failalloc_count(void)
{
    return n_allocs;
}

long failalloc_outstanding(void)
{
    return overflowed ? -1 : (long)n_tracked;
}
