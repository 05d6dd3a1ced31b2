#include "core/enc.h"

#include <string.h>

#include "core/err.h"

static const char hex_digits[] = "0123456789abcdef";

void hex_encode(char *out, const uint8_t *in, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *hex, size_t hexlen)
{
    if (hexlen % 2)
        return ERR_MALFORMED;
    if (hexlen / 2 > cap)
        return ERR_TOO_LONG;
    for (size_t i = 0; i < hexlen; i += 2) {
        int hi = hex_digit_value(hex[i]), lo = hex_digit_value(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return ERR_MALFORMED;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    *outlen = hexlen / 2;
    return 0;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t b64_encoded_size(size_t n, enum b64_variant v)
{
    if (v == B64_STD)
        return (n + 2) / 3 * 4 + 1;
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) + 1;
}

size_t b64_encode(char *out, const uint8_t *in, size_t len, enum b64_variant v)
{
    const char *a = v == B64_STD ? b64_std : b64_url;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t x = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[x >> 18];
        out[o++] = a[(x >> 12) & 63];
        out[o++] = a[(x >> 6) & 63];
        out[o++] = a[x & 63];
    }
    size_t rem = len - i;
    if (rem) {
        uint32_t x = (uint32_t)in[i] << 16 | (rem == 2 ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = a[x >> 18];
        out[o++] = a[(x >> 12) & 63];
        if (rem == 2)
            out[o++] = a[(x >> 6) & 63];
        if (v == B64_STD) {
            if (rem == 1)
                out[o++] = '=';
            out[o++] = '=';
        }
    }
    out[o] = '\0';
    return o;
}

static int b64_val(char c, enum b64_variant v)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (v == B64_STD ? c == '+' : c == '-')
        return 62;
    if (v == B64_STD ? c == '/' : c == '_')
        return 63;
    return -1;
}

int b64_decode(uint8_t *out, size_t cap, size_t *outlen, const char *in, size_t inlen, enum b64_variant v)
{
    size_t pad = 0;
    if (v == B64_STD) {
        if (inlen % 4)
            return ERR_MALFORMED;
        while (pad < 2 && inlen > pad && in[inlen - 1 - pad] == '=')
            pad++;
    }
    size_t n = inlen - pad; /* significant characters */
    if (n % 4 == 1)
        return ERR_MALFORMED;
    size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (v == B64_STD && pad != (n % 4 ? 4 - n % 4 : 0))
        return ERR_MALFORMED;
    if (need > cap)
        return ERR_TOO_LONG;
    uint32_t acc = 0;
    size_t bits = 0, o = 0;
    for (size_t i = 0; i < n; i++) {
        int x = b64_val(in[i], v);
        if (x < 0)
            return ERR_MALFORMED;
        acc = acc << 6 | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical: leftover bits must be zero */
        return ERR_MALFORMED;
    *outlen = o;
    return 0;
}

void uuid_format(char out[static UUID_STR_LEN + 1], const uint8_t id[static 16])
{
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex_digits[id[i] >> 4];
        out[o++] = hex_digits[id[i] & 15];
    }
    out[o] = '\0';
}

int uuid_parse(uint8_t id[static 16], const char *s, size_t len)
{
    static const size_t groups[5] = {4, 2, 2, 2, 6}; /* bytes per group */
    if (len < 32 || len > 36)
        return ERR_MALFORMED;
    size_t pos = 0, o = 0;
    uint8_t tmp[16];
    for (size_t g = 0; g < 5; g++) {
        if (pos < len && s[pos] == '-')
            pos++;
        for (size_t k = 0; k < groups[g]; k++) {
            if (pos + 2 > len)
                return ERR_MALFORMED;
            int hi = hex_digit_value(s[pos]), lo = hex_digit_value(s[pos + 1]);
            if (hi < 0 || lo < 0)
                return ERR_MALFORMED;
            tmp[o++] = (uint8_t)(hi << 4 | lo);
            pos += 2;
        }
    }
    memcpy(id, tmp, 16);
    return 0;
}
