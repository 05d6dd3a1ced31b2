/* Fuzz target: the `veil` admin commands' pure parsers (cli/hubapi.h). Byte 0 picks the
 * parser; the rest is its input. A price that parses must print back to exactly the input
 * (so the parser is strict: one spelling per value); a subscription body yields only
 * NUL-free "vless://" lines; the URL policy never accepts a non-http(s) scheme. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/hubapi.h"
#include "core/buf.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    char *s = malloc(size);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0: {
        char cur[4], back[64];
        int64_t m;
        if (hubapi_parse_price(s, cur, &m) == 0) {
            if (m < 0 || m > HUBAPI_PRICE_MAX)
                abort();
            snprintf(back, sizeof(back), "%s:%" PRId64, cur, m);
            if (strcmp(back, s) != 0)
                abort();
        }
        uint64_t v;
        if (hubapi_parse_uint(s, 1000, &v) == 0 && v > 1000)
            abort();
        break;
    }
    case 1: {
        struct buf out;
        buf_init(&out);
        size_t n = 0, seen = 0;
        if (hubapi_sub_links((const char *)data + 1, size - 1, &out, &n) == 0) {
            for (size_t off = 0; off < buf_len(&out); seen++) {
                const char *line = (const char *)buf_data(&out) + off;
                size_t ll = strnlen(line, buf_len(&out) - off);
                if (ll == buf_len(&out) - off || ll < 8 || strncasecmp(line, "vless://", 8) != 0)
                    abort();
                off += ll + 1;
            }
            if (seen != n)
                abort();
        }
        buf_dispose(&out);
        break;
    }
    case 2: {
        const char *why;
        if (hubapi_check_url(s, data[0] & 4, &why) == 0 && strncasecmp(s, "http", 4) != 0)
            abort();
        break;
    }
    default: {
        char out[32];
        hubapi_sanitize(s, out, sizeof(out));
        for (const unsigned char *p = (const unsigned char *)out; *p; p++)
            if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
                abort();
        break;
    }
    }
    free(s);
    return 0;
}
