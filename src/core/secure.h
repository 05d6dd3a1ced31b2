/* Wiping and comparing secrets without help from the optimiser. */
#ifndef VEIL_CORE_SECURE_H
#define VEIL_CORE_SECURE_H

#include <stddef.h>

/* Overwrites n bytes with zeros in a way the compiler may not elide. */
void secure_wipe(void *p, size_t n);
/* Constant-time comparison of two n-byte strings: 0 when equal, non-zero otherwise. */
int secure_memcmp(const void *a, const void *b, size_t n);

#endif
