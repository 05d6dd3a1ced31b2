#include "support/test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *join(const char *env, const char *fallback, const char *rel)
{
    static _Thread_local char path[4096];
    const char *base = getenv(env);
    snprintf(path, sizeof(path), "%s/%s", base ? base : fallback, rel);
    return path;
}

const char *tu_testdata(const char *rel)
{
    return join("VEIL_TESTDATA", "tests/testdata", rel);
}

const char *tu_vectors(const char *rel)
{
    return join("VEIL_VECTORS", "tests/vectors", rel);
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *p = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            p = realloc(p, cap);
        }
        size_t got = fread(p + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return p;
}

static int hv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static uint8_t *decode(const char *s, size_t slen, size_t *len)
{
    uint8_t *out = malloc(slen / 2 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    int hi = -1;
    for (size_t i = 0; i < slen; i++) {
        int v = hv((unsigned char)s[i]);
        if (v < 0) {
            if (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
                continue;
            free(out);
            return NULL;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out[o++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        free(out);
        return NULL;
    }
    *len = o;
    return out;
}

uint8_t *tu_read_hex_file(const char *path, size_t *len)
{
    size_t n;
    uint8_t *text = tu_read_file(path, &n);
    if (text == NULL)
        return NULL;
    uint8_t *out = decode((const char *)text, n, len);
    free(text);
    return out;
}

int tu_golden(const char *rel, const void *text, size_t len)
{
    const char *path = tu_vectors(rel);
    if (getenv("VEIL_UPDATE_GOLDEN") != NULL) {
        FILE *f = fopen(path, "wb");
        size_t put = f != NULL ? fwrite(text, 1, len, f) : 0;
        if (f == NULL || fclose(f) != 0 || put != len)
            return -1;
        return 0;
    }
    size_t glen = 0;
    uint8_t *g = tu_read_file(path, &glen);
    if (g == NULL)
        return -1;
    int rc = glen == len && memcmp(g, text, len) == 0 ? 0 : 1;
    free(g);
    return rc;
}

uint8_t *tu_hex(const char *hex, size_t *len)
{
    uint8_t *out = decode(hex, strlen(hex), len);
    if (out == NULL)
        abort();
    return out;
}
