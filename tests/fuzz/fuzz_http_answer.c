/* Fuzz target: the REALITY check's HTTP answer parser (reality/http_answer.h). Byte 0: bit 0
 * picks HTTP/2 (frames + HPACK) or HTTP/1.1, bits 1-3 how the rest is split into feeds. The
 * parser must stop with a result or an error, keep a status in range once done, a NUL-terminated
 * Location, never read past its input, and free everything; the same-site check runs on whatever
 * Location came out, and the Huffman decoder on the raw bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "reality/http_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool h2 = data[0] & 1;
    size_t chunk = (size_t)1 << ((data[0] >> 1) & 7); /* 1 .. 128 bytes per feed */
    struct reality_http_answer a;
    reality_http_answer_init(&a, h2);
    struct buf out;
    buf_init(&out);
    int rc = ERR_NEED_MORE;
    for (size_t i = 1; i < size && rc == ERR_NEED_MORE; i += chunk) {
        size_t n = size - i < chunk ? size - i : chunk;
        rc = reality_http_answer_feed(&a, data + i, n, &out);
    }
    if (rc == 0) {
        if (!a.done || a.status < 100 || a.status > 999)
            abort();
        if (a.has_location) {
            if (strlen(a.location) > REALITY_HTTP_LOCATION_MAX)
                abort();
            (void)reality_http_same_site("www.example.com", a.location);
        }
    } else if (rc != ERR_NEED_MORE && rc != ERR_MALFORMED && rc != ERR_TOO_LONG && rc != ERR_UNSUPPORTED &&
               rc != ERR_CLOSED && rc != ERR_NOMEM) {
        abort();
    }
    if (buf_len(&out) % 9 != 0) /* only empty SETTINGS acks are ever written */
        abort();
    reality_http_answer_dispose(&a);
    buf_dispose(&out);
    struct buf text;
    buf_init(&text);
    (void)reality_hpack_huffman_decode(data + 1, size - 1, &text);
    buf_dispose(&text);
    char loc[256];
    size_t ln = size - 1 < sizeof loc - 1 ? size - 1 : sizeof loc - 1;
    memcpy(loc, data + 1, ln);
    loc[ln] = '\0';
    (void)reality_http_same_site("a.example.co.uk", loc);
    return 0;
}
