/* A borrowed view of bytes. Never owns memory. */
#ifndef VEIL_CORE_BYTES_H
#define VEIL_CORE_BYTES_H

#include <stddef.h>
#include <stdint.h>

struct bytes {
    const uint8_t *p;
    size_t len;
};

static inline struct bytes bytes_of(const void *p, size_t len)
{
    return (struct bytes){(const uint8_t *)p, len};
}

#endif
