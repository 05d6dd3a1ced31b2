/* Mutexes in large calloc'd tables (per-IP limits, probe stripes): where the default mutex is
 * all zero bytes (glibc), zeroed memory already is one, so the table's pages stay untouched
 * (not resident) until a bucket is first used. */
#ifndef VEIL_CORE_LAZY_MUTEX_H
#define VEIL_CORE_LAZY_MUTEX_H

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

static inline bool lazy_mutex_zero_is_default(void)
{
    static const pthread_mutex_t dflt = PTHREAD_MUTEX_INITIALIZER, zero;
    return memcmp(&dflt, &zero, sizeof(dflt)) == 0;
}

/* Initialises a mutex that lies in zeroed memory (calloc) with default attributes. */
static inline void lazy_mutex_init_zeroed(pthread_mutex_t *m)
{
    if (!lazy_mutex_zero_is_default())
        pthread_mutex_init(m, NULL);
}

#endif
