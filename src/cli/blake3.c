#include "cli/blake3.h"

#include <string.h>

#include "core/err.h"

static const uint32_t iv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                               0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};
static const uint8_t msg_perm[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

enum {
    FLAG_CHUNK_START = 1,
    FLAG_CHUNK_END = 2,
    FLAG_ROOT = 8,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return x >> n | x << (32 - n);
}

static void g(uint32_t *s, size_t a, size_t b, size_t c, size_t d, uint32_t mx, uint32_t my)
{
    s[a] = s[a] + s[b] + mx;
    s[d] = rotr(s[d] ^ s[a], 16);
    s[c] = s[c] + s[d];
    s[b] = rotr(s[b] ^ s[c], 12);
    s[a] = s[a] + s[b] + my;
    s[d] = rotr(s[d] ^ s[a], 8);
    s[c] = s[c] + s[d];
    s[b] = rotr(s[b] ^ s[c], 7);
}

/* The compression function; writes the new 8-word chaining value. */
static void compress(uint32_t cv[8], const uint8_t block[64], uint32_t block_len, uint64_t counter, uint32_t flags)
{
    uint32_t m[16], s[16];
    for (size_t i = 0; i < 16; i++)
        m[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 | (uint32_t)block[4 * i + 2] << 16 |
               (uint32_t)block[4 * i + 3] << 24;
    memcpy(s, cv, 32);
    memcpy(s + 8, iv, 16);
    s[12] = (uint32_t)counter;
    s[13] = (uint32_t)(counter >> 32);
    s[14] = block_len;
    s[15] = flags;
    for (int r = 0; r < 7; r++) {
        g(s, 0, 4, 8, 12, m[0], m[1]);
        g(s, 1, 5, 9, 13, m[2], m[3]);
        g(s, 2, 6, 10, 14, m[4], m[5]);
        g(s, 3, 7, 11, 15, m[6], m[7]);
        g(s, 0, 5, 10, 15, m[8], m[9]);
        g(s, 1, 6, 11, 12, m[10], m[11]);
        g(s, 2, 7, 8, 13, m[12], m[13]);
        g(s, 3, 4, 9, 14, m[14], m[15]);
        uint32_t p[16];
        for (size_t i = 0; i < 16; i++)
            p[i] = m[msg_perm[i]];
        memcpy(m, p, sizeof(m));
    }
    for (size_t i = 0; i < 8; i++)
        cv[i] = s[i] ^ s[i + 8];
}

int blake3_hash_short(const void *in, size_t len, uint8_t out[static 32])
{
    if (len > BLAKE3_CHUNK_LEN)
        return ERR_TOO_LONG;
    const uint8_t *p = in;
    uint32_t cv[8];
    memcpy(cv, iv, sizeof(cv));
    size_t nblocks = len == 0 ? 1 : (len + 63) / 64;
    for (size_t b = 0; b < nblocks; b++) {
        uint8_t block[64] = {0};
        size_t off = b * 64, n = len - off < 64 ? len - off : 64;
        if (n)
            memcpy(block, p + off, n);
        uint32_t flags = (b == 0 ? FLAG_CHUNK_START : 0) | (b + 1 == nblocks ? FLAG_CHUNK_END | FLAG_ROOT : 0);
        compress(cv, block, (uint32_t)n, 0, flags);
    }
    for (size_t i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)cv[i];
        out[4 * i + 1] = (uint8_t)(cv[i] >> 8);
        out[4 * i + 2] = (uint8_t)(cv[i] >> 16);
        out[4 * i + 3] = (uint8_t)(cv[i] >> 24);
    }
    return 0;
}
