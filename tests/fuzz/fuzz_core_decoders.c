/* Fuzz target: the text decoders that see untrusted input (keys in configs and links, UUIDs,
 * hex shortIds). Checks that whatever decodes re-encodes to the same text (canonical forms). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/enc.h"
#include "crypto/uuid5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    uint8_t out[4096];
    size_t n;
    if (size > 4000)
        return 0;
    for (int v = 0; v < B64__COUNT; v++) {
        if (b64_decode(out, sizeof(out), &n, s, size, (enum b64_variant)v) == 0) {
            char *back = malloc(b64_encoded_size(n, (enum b64_variant)v));
            size_t blen = b64_encode(back, out, n, (enum b64_variant)v);
            if (blen != size || memcmp(back, s, size) != 0)
                abort(); /* a decoder that accepts non-canonical text */
            free(back);
        }
    }
    if (hex_decode(out, sizeof(out), &n, s, size) == 0 && n * 2 != size)
        abort();
    uint8_t id[16];
    (void)uuid_parse(id, s, size);
    (void)uuid_from_string(id, s, size);
    return 0;
}
