/* Fuzz target: SOCKS5 UDP relay datagram headers (cli/proxy_in.h): parse, then re-encode and
 * parse again; the round trip must give the same address and payload. */
#include <stdint.h>
#include <string.h>

#include "cli/proxy_in.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vless_addr a, b;
    struct bytes d, d2;
    if (proxy_in_udp_parse(data, size, &a, &d) < 0)
        return 0;
    if (d.p < data || d.p + d.len != data + size)
        __builtin_trap();
    struct buf out;
    buf_init(&out);
    if (proxy_in_udp_encode(&out, &a, d.p, d.len) == 0) {
        if (proxy_in_udp_parse(buf_data(&out), buf_len(&out), &b, &d2) != 0 || !vless_addr_equal(&a, &b) ||
            d2.len != d.len || memcmp(d2.p, d.p, d.len) != 0)
            __builtin_trap();
    }
    buf_dispose(&out);
    return 0;
}
