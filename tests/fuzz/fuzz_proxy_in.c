/* Fuzz target: `veil client`'s SOCKS5 / HTTP CONNECT inbound, fed in two pieces. */
#include <stdint.h>
#include <string.h>

#include "cli/proxy_in.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t split = data[0] % (size);
    data++, size--;
    if (split > size)
        split = size;
    struct proxy_in p;
    struct buf reply;
    buf_init(&reply);
    proxy_in_init(&p);
    size_t used = 0;
    int rc = proxy_in_feed(&p, data, split, &used, &reply);
    if (rc == ERR_NEED_MORE || rc == 0) {
        size_t used2 = 0;
        rc = proxy_in_feed(&p, data + used, size - used, &used2, &reply);
        if (used + used2 > size)
            __builtin_trap();
    }
    if (rc == 0)
        (void)proxy_in_reply(&p, 1, &reply);
    buf_dispose(&reply);
    return 0;
}
