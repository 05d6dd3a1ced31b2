/* RFC 4648 base32 (core/base32.h). */
#include "core/base32.h"

#include "core/err.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

size_t base32_encoded_size(size_t n)
{
    return (n * 8 + 4) / 5 + 1;
}

size_t base32_encode(char *out, const uint8_t *in, size_t len)
{
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return o;
}

static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

int base32_decode(uint8_t *out, size_t cap, size_t *outlen, const char *in, size_t inlen)
{
    size_t n = inlen;
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n != inlen && inlen % 8 != 0)
        return ERR_MALFORMED;
    /* Lengths 1, 3 and 6 (mod 8) leave whole characters unused: not an encoding of anything. */
    size_t rem = n % 8;
    if (rem == 1 || rem == 3 || rem == 6)
        return ERR_MALFORMED;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = value_of(in[i]);
        if (v < 0)
            return ERR_MALFORMED;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return ERR_TOO_LONG;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return ERR_MALFORMED;
    *outlen = o;
    return 0;
}
