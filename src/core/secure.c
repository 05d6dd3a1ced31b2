#include "core/secure.h"

#include <stdint.h>
#include <string.h>

void secure_wipe(void *p, size_t n)
{
    if (n == 0)
        return;
    explicit_bzero(p, n);
}

int secure_memcmp(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= x[i] ^ y[i];
    return acc;
}
