/* Fuzz target: PROXY protocol v1/v2 header parser; a parsed header re-encodes and re-parses. */
#include <stdint.h>
#include <stdlib.h>

#include "core/err.h"
#include "net/proxy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proxy_header h;
    if (proxy_header_parse(data, size, &h) != 0)
        return 0;
    if (h.len > size)
        abort();
    if (!h.local) {
        struct buf b;
        buf_init(&b);
        struct proxy_header h2;
        if (proxy_header_write(&b, h.version, &h.src, &h.dst) != 0 ||
            proxy_header_parse(buf_data(&b), buf_len(&b), &h2) != 0 || !sock_addr_equal(&h.src, &h2.src))
            abort();
        buf_dispose(&b);
    }
    return 0;
}
