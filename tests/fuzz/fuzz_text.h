/* For fuzz targets whose parser takes a C string: the input copied and NUL-terminated. */
#ifndef VEIL_FUZZ_TEXT_H
#define VEIL_FUZZ_TEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd NUL-terminated copy of data[0..size) (which may itself hold NULs); NULL when out of
 * memory. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
