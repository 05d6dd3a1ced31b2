/* multipart/form-data bodies (httpc.h): the parts framed by a boundary that none of them contains. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "httpc/httpc.h"

static bool header_safe(const char *s)
{
    return s != NULL && strpbrk(s, "\"\r\n") == NULL;
}

static bool boundary_free(const struct httpc_part *parts, size_t n, const char *b)
{
    for (size_t i = 0; i < n; i++)
        if (parts[i].len > 0 && memmem(parts[i].data, parts[i].len, b, strlen(b)) != NULL)
            return false;
    return true;
}

/* Appends len bytes at *o (the caller sized the buffer). */
static void put(char *buf, size_t *o, const void *src, size_t len)
{
    memcpy(buf + *o, src, len);
    *o += len;
}

int httpc_multipart_encode(const struct httpc_part *parts, size_t n, char **body, size_t *len,
                           char content_type[static 96])
{
    *body = NULL;
    *len = 0;
    if (parts == NULL || n == 0)
        return ERR_MALFORMED;
    for (size_t i = 0; i < n; i++)
        if (!header_safe(parts[i].name) || (parts[i].filename != NULL && !header_safe(parts[i].filename)) ||
            (parts[i].content_type != NULL && strpbrk(parts[i].content_type, "\r\n") != NULL) ||
            (parts[i].len > 0 && parts[i].data == NULL))
            return ERR_MALFORMED;
    /* A boundary from the clock and a counter; checked against the data, so any value is safe. */
    static _Atomic uint64_t counter;
    char boundary[48];
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)(uintptr_t)parts << 16);
    do {
        uint64_t x = seed + 0x9E3779B97F4A7C15ull * ++counter;
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 29;
        snprintf(boundary, sizeof boundary, "veil-%016llx%08llx", (unsigned long long)x,
                 (unsigned long long)(counter & 0xffffffffu));
    } while (!boundary_free(parts, n, boundary));

    size_t blen = strlen(boundary), total = 0;
    for (size_t i = 0; i < n; i++) {
        total += 2 + blen + 2; /* --boundary CRLF */
        total += 60 + strlen(parts[i].name) + (parts[i].filename ? 14 + strlen(parts[i].filename) : 0);
        total += parts[i].content_type ? 16 + strlen(parts[i].content_type) : 0;
        total += 2 + parts[i].len + 2; /* CRLF data CRLF */
    }
    total += 2 + blen + 4 + 1; /* --boundary-- CRLF NUL */
    char *buf = malloc(total);
    if (buf == NULL)
        return ERR_NOMEM;
    size_t o = 0;
    char line[1024];
    for (size_t i = 0; i < n; i++) {
        int k;
        if (parts[i].filename != NULL)
            k = snprintf(line, sizeof line, "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n",
                         boundary, parts[i].name, parts[i].filename);
        else
            k = snprintf(line, sizeof line, "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n", boundary,
                         parts[i].name);
        if (k < 0 || (size_t)k >= sizeof line) {
            free(buf);
            return ERR_TOO_LONG;
        }
        put(buf, &o, line, (size_t)k);
        if (parts[i].content_type != NULL) {
            k = snprintf(line, sizeof line, "Content-Type: %s\r\n", parts[i].content_type);
            if (k < 0 || (size_t)k >= sizeof line) {
                free(buf);
                return ERR_TOO_LONG;
            }
            put(buf, &o, line, (size_t)k);
        }
        put(buf, &o, "\r\n", 2);
        if (parts[i].len > 0)
            put(buf, &o, parts[i].data, parts[i].len);
        put(buf, &o, "\r\n", 2);
    }
    put(buf, &o, "--", 2);
    put(buf, &o, boundary, blen);
    put(buf, &o, "--\r\n", 4);
    buf[o] = '\0';
    snprintf(content_type, 96, "multipart/form-data; boundary=%s", boundary);
    *body = buf;
    *len = o;
    return 0;
}

int httpc_post_multipart(const char *url, const char *const *headers, const struct httpc_part *parts, size_t n,
                         unsigned timeout_ms, struct httpc_resp *out)
{
    memset(out, 0, sizeof *out);
    char *body;
    size_t len;
    char ctype[96];
    int rc = httpc_multipart_encode(parts, n, &body, &len, ctype);
    if (rc < 0)
        return rc;
    rc = httpc_do(&(struct httpc_req){.method = "POST",
                                      .url = url,
                                      .headers = headers,
                                      .body = body,
                                      .body_len = len,
                                      .content_type = ctype,
                                      .timeout_ms = timeout_ms},
                  out);
    free(body);
    return rc;
}
