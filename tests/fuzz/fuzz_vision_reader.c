/* Fuzz target: the Vision reader as a stream parser. The first input byte picks a chunk
 * size; the rest is fed in chunks. The output must not depend on the chunking (compared
 * with a one-shot read), and the inner-TLS filter runs on whatever comes out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "vless/vision.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t uid[16] = {0x2b, 0xda, 0xde, 0xcc, 0x25, 0xca, 0x4f, 0xcc,
                                0xa4, 0x71, 0xb5, 0x94, 0x81, 0xd9, 0x9b, 0x48};

static int run(const uint8_t *p, size_t n, size_t chunk, struct buf *out, unsigned *ev, size_t *switch_at)
{
    struct vless_vision_shared sh;
    struct vless_vision_reader r;
    vless_vision_shared_init(&sh);
    vless_vision_reader_init(&r, &sh, uid);
    *ev = 0;
    *switch_at = SIZE_MAX;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < chunk ? n - off : chunk;
        struct vless_vision_rres res;
        int rc = vless_vision_read(&r, p + off, k, out, &res);
        if (rc < 0)
            return rc;
        if (res.events & (VLESS_VISION_EV_END | VLESS_VISION_EV_DIRECT | VLESS_VISION_EV_UNFRAMED)) {
            if (res.raw_from > k)
                abort();
            *switch_at = off + res.raw_from;
        }
        *ev |= res.events;
        off += k;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    data++, size--;
    struct buf a, b;
    buf_init(&a);
    buf_init(&b);
    unsigned ea, eb;
    size_t sa, sb;
    int ra = run(data, size, size ? size : 1, &a, &ea, &sa);
    int rb = run(data, size, chunk, &b, &eb, &sb);
    if (ra != rb)
        abort();
    if (ra == 0) {
        if (ea != eb || buf_len(&a) != buf_len(&b) ||
            (buf_len(&a) > 0 && memcmp(buf_data(&a), buf_data(&b), buf_len(&a)) != 0))
            abort();
        if ((ea & (VLESS_VISION_EV_END | VLESS_VISION_EV_DIRECT)) && sa != sb)
            abort();
        if (buf_len(&a) > size)
            abort(); /* unframing never grows the data */
    }
    buf_dispose(&a);
    buf_dispose(&b);
    return 0;
}
