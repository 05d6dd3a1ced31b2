/* The probe's ClientHello (probe.h): the smallest TLS 1.3 hello a server answers with a
 * ServerHello or, at worst, an alert: either proves a TLS server sits behind the port. */
#include <stdbool.h>
#include <string.h>

#include "hub/probe/probe.h"

struct wr {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct wr *w, const void *b, size_t n)
{
    if (w->len + n <= w->cap)
        memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void put8(struct wr *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(w, &b, 1);
}

static void put16(struct wr *w, size_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 2);
}

/* Back-patches a 16- or 24-bit length at `at` covering everything written after it. */
static void patch_len(struct wr *w, size_t at, size_t bytes)
{
    size_t v = w->len - at - bytes;
    if (w->len > w->cap)
        return;
    for (size_t i = 0; i < bytes; i++)
        w->p[at + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* A DNS name (not an IP literal): SNI carries host names only (RFC 6066 section 3). */
static bool sni_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253 || strchr(s, ':') != NULL)
        return false;
    bool alpha = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')
            alpha = true;
        else if (!(c >= '0' && c <= '9') && c != '.')
            return false;
    }
    return alpha;
}

size_t probe_client_hello(uint8_t *out, size_t cap, const char *sni, const uint8_t rnd[static PROBE_HELLO_RAND])
{
    static const uint8_t suites[] = {0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03};
    static const uint8_t groups[] = {0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d};
    static const uint8_t sigalgs[] = {0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x04,
                                      0x03, 0x08, 0x04, 0x04, 0x01, 0x08, 0x07};
    static const uint8_t versions[] = {0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04};
    static const uint8_t psk_modes[] = {0x00, 0x2d, 0x00, 0x02, 0x01, 0x01};
    static const uint8_t share_head[] = {0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20};
    struct wr w = {out, 0, cap};
    put(&w, (const uint8_t[]){22, 3, 1}, 3); /* handshake record, legacy version 3.1 */
    size_t rec = w.len;
    put16(&w, 0);
    put8(&w, 1); /* ClientHello */
    size_t hs = w.len;
    put(&w, (const uint8_t[]){0, 0, 0}, 3);
    put(&w, (const uint8_t[]){3, 3}, 2);
    put(&w, rnd, 32); /* random */
    put8(&w, 32);
    put(&w, rnd + 32, 32); /* legacy session id (middlebox compatibility) */
    put(&w, suites, sizeof suites);
    put(&w, (const uint8_t[]){1, 0}, 2); /* null compression */
    size_t ext = w.len;
    put16(&w, 0);
    if (sni_ok(sni)) {
        size_t n = strlen(sni);
        put16(&w, 0); /* server_name */
        put16(&w, n + 5);
        put16(&w, n + 3);
        put8(&w, 0);
        put16(&w, n);
        put(&w, sni, n);
    }
    put(&w, groups, sizeof groups);
    put(&w, sigalgs, sizeof sigalgs);
    put(&w, versions, sizeof versions);
    put(&w, psk_modes, sizeof psk_modes);
    put(&w, share_head, sizeof share_head);
    put(&w, rnd + 64, 32); /* X25519 share: any 32 bytes are a point the server can use */
    patch_len(&w, ext, 2);
    patch_len(&w, hs, 3);
    patch_len(&w, rec, 2);
    return w.len <= cap ? w.len : 0;
}
