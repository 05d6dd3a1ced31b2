/* ML-KEM-768 polynomial arithmetic, encodings and sampling (FIPS 203 sections 4.2.1, 4.2.2, 4.3).
 * Coefficients stay in [0, q). Reductions are Barrett-style multiplications and masked
 * subtractions: nothing here branches on, or indexes a table with, a coefficient value.
 * Table indexes (zetas) and loop bounds depend only on public positions. */
#include <string.h>

#include "core/err.h"
#include "crypto/mlkem768_int.h"

#define Q MLKEM768__Q
#define N MLKEM768__N
/* floor(2^32 / q): x * BARRETT >> 32 underestimates floor(x / q) by at most 1 for x < 2^32. */
#define BARRETT 1290167u
/* 128^-1 mod q, the scaling at the end of NTT^-1. */
#define INV128 3303u

/* zeta^BitRev7(i) mod q for zeta = 17, i = 0..127 (FIPS 203 Appendix A). */
static const uint16_t zetas[128] = {
    1,    1729, 2580, 3289, 2642, 630,  1897, 848,  1062, 1919, 193,  797,  2786, 3260, 569,  1746, 296,  2447, 1339,
    1476, 3046, 56,   2240, 1333, 1426, 2094, 535,  2882, 2393, 2879, 1974, 821,  289,  331,  3253, 1756, 1197, 2304,
    2277, 2055, 650,  1977, 2513, 632,  2865, 33,   1320, 1915, 2319, 1435, 807,  452,  1438, 2868, 1534, 2402, 2647,
    2617, 1481, 648,  2474, 3110, 1227, 910,  17,   2761, 583,  2649, 1637, 723,  2288, 1100, 1409, 2662, 3281, 233,
    756,  2156, 3015, 3050, 1703, 1651, 2789, 1789, 1847, 952,  1461, 2687, 939,  2308, 2437, 2388, 733,  2337, 268,
    641,  1584, 2298, 2037, 3220, 375,  2549, 2090, 1645, 1063, 319,  2773, 757,  2099, 561,  2466, 2594, 2804, 1092,
    403,  1026, 1143, 2150, 2775, 886,  1722, 1212, 1874, 1029, 2110, 2935, 885,  2154,
};

/* zeta^(2*BitRev7(i)+1) mod q, the gammas of BaseCaseMultiply (FIPS 203 Appendix A). */
static const uint16_t gammas[128] = {
    17,   3312, 2761, 568,  583,  2746, 2649, 680,  1637, 1692, 723,  2606, 2288, 1041, 1100, 2229, 1409, 1920, 2662,
    667,  3281, 48,   233,  3096, 756,  2573, 2156, 1173, 3015, 314,  3050, 279,  1703, 1626, 1651, 1678, 2789, 540,
    1789, 1540, 1847, 1482, 952,  2377, 1461, 1868, 2687, 642,  939,  2390, 2308, 1021, 2437, 892,  2388, 941,  733,
    2596, 2337, 992,  268,  3061, 641,  2688, 1584, 1745, 2298, 1031, 2037, 1292, 3220, 109,  375,  2954, 2549, 780,
    2090, 1239, 1645, 1684, 1063, 2266, 319,  3010, 2773, 556,  757,  2572, 2099, 1230, 561,  2768, 2466, 863,  2594,
    735,  2804, 525,  1092, 2237, 403,  2926, 1026, 2303, 1143, 2186, 2150, 1179, 2775, 554,  886,  2443, 1722, 1607,
    1212, 2117, 1874, 1455, 1029, 2300, 2110, 1219, 2935, 394,  885,  2444, 2154, 1175,
};

/* Hides a value from the optimiser so it cannot turn mask arithmetic back into a branch. */
static inline uint32_t value_barrier(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+r"(x));
#endif
    return x;
}

/* x - q if x >= q, for x < 2q (and any x < 2^31). */
static inline uint32_t csub_q(uint32_t x)
{
    uint32_t t = x - Q;
    uint32_t mask = 0u - value_barrier(t >> 31); /* all ones when x < q */
    return t + (mask & Q);
}

/* x mod q for any 32-bit x. */
static inline uint32_t mod_q(uint32_t x)
{
    uint32_t qt = (uint32_t)(((uint64_t)x * BARRETT) >> 32);
    return csub_q(x - qt * Q);
}

/* floor(x / q) for x < 2^31, without a division instruction (its timing can leak). */
static inline uint32_t div_q(uint32_t x)
{
    uint32_t qt = (uint32_t)(((uint64_t)x * BARRETT) >> 32);
    uint32_t r = x - qt * Q; /* in [0, 2q) */
    return qt + (value_barrier((r - Q) >> 31) ^ 1u);
}

static inline uint16_t fq_mul(uint32_t a, uint32_t b)
{
    return (uint16_t)mod_q(a * b);
}

void mlkem768__poly_add(struct mlkem768__poly *r, const struct mlkem768__poly *a)
{
    for (size_t i = 0; i < N; i++)
        r->c[i] = (uint16_t)csub_q((uint32_t)r->c[i] + a->c[i]);
}

void mlkem768__poly_sub(struct mlkem768__poly *r, const struct mlkem768__poly *a)
{
    for (size_t i = 0; i < N; i++)
        r->c[i] = (uint16_t)csub_q((uint32_t)r->c[i] + Q - a->c[i]);
}

void mlkem768__ntt(struct mlkem768__poly *f)
{
    size_t k = 1;
    for (size_t len = 128; len >= 2; len /= 2) {
        for (size_t start = 0; start < N; start += 2 * len) {
            uint32_t zeta = zetas[k++];
            for (size_t j = start; j < start + len; j++) {
                /* Lazy reduction: t < q, so each layer grows coefficients by less than q;
                 * after the 7 layers they stay below 8q < 2^16 and are reduced once. */
                uint32_t t = fq_mul(zeta, f->c[j + len]);
                f->c[j + len] = (uint16_t)((uint32_t)f->c[j] + Q - t);
                f->c[j] = (uint16_t)((uint32_t)f->c[j] + t);
            }
        }
    }
    for (size_t i = 0; i < N; i++)
        f->c[i] = (uint16_t)mod_q(f->c[i]);
}

void mlkem768__ntt_inv(struct mlkem768__poly *f)
{
    size_t k = 127;
    for (size_t len = 2; len <= 128; len *= 2) {
        for (size_t start = 0; start < N; start += 2 * len) {
            uint32_t zeta = zetas[k--];
            for (size_t j = start; j < start + len; j++) {
                uint32_t t = f->c[j];
                f->c[j] = (uint16_t)csub_q(t + f->c[j + len]);
                f->c[j + len] = fq_mul(zeta, (uint32_t)f->c[j + len] + Q - t);
            }
        }
    }
    for (size_t i = 0; i < N; i++)
        f->c[i] = fq_mul(f->c[i], INV128);
}

void mlkem768__vec_dot(struct mlkem768__poly *r, const struct mlkem768__vec *a, const struct mlkem768__vec *b)
{
    for (size_t i = 0; i < N / 2; i++) {
        /* Sums stay unreduced: per term a0*b0 < q^2 and (a1*b1 mod q)*gamma < q^2, so K = 3
         * terms of each output are below 6q^2 < 2^27, reduced once at the end. */
        uint32_t c0 = 0, c1 = 0;
        for (size_t k = 0; k < MLKEM768__K; k++) {
            uint32_t a0 = a->p[k].c[2 * i], a1 = a->p[k].c[2 * i + 1];
            uint32_t b0 = b->p[k].c[2 * i], b1 = b->p[k].c[2 * i + 1];
            c0 += a0 * b0 + mod_q(a1 * b1) * gammas[i];
            c1 += a0 * b1 + a1 * b0;
        }
        r->c[2 * i] = (uint16_t)mod_q(c0);
        r->c[2 * i + 1] = (uint16_t)mod_q(c1);
    }
}

/* Little-endian bit packing of 256 d-bit values (ByteEncode_d), 32*d output bytes. */
static void pack_bits(uint8_t *out, const uint16_t *v, unsigned d)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < N; i++) {
        acc |= (uint32_t)v[i] << bits;
        bits += d;
        while (bits >= 8) {
            out[o++] = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
}

/* ByteDecode_d without any reduction: 256 d-bit values from 32*d bytes. */
static void unpack_bits(uint16_t *v, const uint8_t *in, unsigned d)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    uint32_t mask = (1u << d) - 1;
    for (size_t i = 0; i < N; i++) {
        while (bits < d) {
            acc |= (uint32_t)in[o++] << bits;
            bits += 8;
        }
        v[i] = (uint16_t)(acc & mask);
        acc >>= d;
        bits -= d;
    }
}

void mlkem768__poly_encode12(uint8_t out[MLKEM768__POLY_BYTES], const struct mlkem768__poly *f)
{
    pack_bits(out, f->c, 12);
}

void mlkem768__poly_decode12(struct mlkem768__poly *f, const uint8_t in[MLKEM768__POLY_BYTES])
{
    unpack_bits(f->c, in, 12);
    for (size_t i = 0; i < N; i++)
        f->c[i] = (uint16_t)csub_q(f->c[i]); /* < 4096 < 2q */
}

int mlkem768__poly_decode12_check(struct mlkem768__poly *f, const uint8_t in[MLKEM768__POLY_BYTES])
{
    /* Used on encapsulation keys only, which are public: an early answer leaks nothing. */
    unpack_bits(f->c, in, 12);
    for (size_t i = 0; i < N; i++) {
        if (f->c[i] >= Q)
            return -1;
    }
    return 0;
}

void mlkem768__poly_compress(uint8_t *out, const struct mlkem768__poly *f, unsigned d)
{
    uint16_t v[N];
    uint32_t mask = (1u << d) - 1;
    for (size_t i = 0; i < N; i++) {
        /* Compress_d(x) = round(2^d * x / q) mod 2^d; q is odd so there are no ties. */
        v[i] = (uint16_t)(div_q(((uint32_t)f->c[i] << d) + (Q - 1) / 2) & mask);
    }
    pack_bits(out, v, d);
}

void mlkem768__poly_decompress(struct mlkem768__poly *f, const uint8_t *in, unsigned d)
{
    unpack_bits(f->c, in, d);
    for (size_t i = 0; i < N; i++) {
        /* Decompress_d(y) = round(q * y / 2^d) */
        f->c[i] = (uint16_t)(((uint32_t)f->c[i] * Q + (1u << (d - 1))) >> d);
    }
}

void mlkem768__poly_from_msg(struct mlkem768__poly *f, const uint8_t m[32])
{
    for (size_t i = 0; i < N; i++) {
        uint32_t bit = (m[i / 8] >> (i % 8)) & 1u;
        f->c[i] = (uint16_t)((0u - bit) & ((Q + 1) / 2)); /* Decompress_1: 0 or 1665 */
    }
}

void mlkem768__poly_to_msg(uint8_t m[32], const struct mlkem768__poly *f)
{
    mlkem768__poly_compress(m, f, 1);
}

void mlkem768__poly_cbd2(struct mlkem768__poly *f, const uint8_t in[MLKEM768__PRF_BYTES])
{
    for (size_t i = 0; i < N / 2; i++) {
        uint32_t b = in[i];
        /* Each nibble gives one coefficient: (b0 + b1) - (b2 + b3). */
        for (size_t h = 0; h < 2; h++) {
            uint32_t nib = b >> (4 * h);
            uint32_t x = (nib & 1) + ((nib >> 1) & 1);
            uint32_t y = ((nib >> 2) & 1) + ((nib >> 3) & 1);
            f->c[2 * i + h] = (uint16_t)csub_q(x + Q - y);
        }
    }
}

/* SHAKE128 bytes squeezed for one matrix entry. OpenSSL 3.0 has no EVP_DigestSqueeze, so the
 * XOF output is produced in one go. 3 blocks (504 bytes) suffice for ~99% of entries; when
 * they do not, the same stream is recomputed at 16 blocks (2688 bytes), whose prefix is
 * identical, and parsing resumes. Needing more than 2688 bytes has probability far below
 * 2^-1000; that case returns ERR_CRYPTO instead of looping. */
#define XOF_BLOCK 168
#define XOF_FIRST (3 * XOF_BLOCK)
#define XOF_MAX (16 * XOF_BLOCK)

int mlkem768__sample_ntt(struct mlkem768__poly *a, const uint8_t rho[32], uint8_t j, uint8_t i)
{
    uint8_t seed[34];
    uint8_t buf[XOF_MAX];
    memcpy(seed, rho, 32);
    seed[32] = j;
    seed[33] = i;
    size_t have = XOF_FIRST, pos = 0, n = 0;
    int rc = mlkem768__xof(buf, have, seed, sizeof seed);
    if (rc != 0)
        return rc;
    for (;;) {
        while (n < N && pos + 3 <= have) {
            uint32_t d1 = buf[pos] | ((uint32_t)(buf[pos + 1] & 0x0F) << 8);
            uint32_t d2 = (buf[pos + 1] >> 4) | ((uint32_t)buf[pos + 2] << 4);
            pos += 3;
            if (d1 < Q)
                a->c[n++] = (uint16_t)d1;
            if (d2 < Q && n < N)
                a->c[n++] = (uint16_t)d2;
        }
        if (n == N)
            return 0;
        if (have == XOF_MAX)
            return ERR_CRYPTO;
        have = XOF_MAX;
        rc = mlkem768__xof(buf, have, seed, sizeof seed);
        if (rc != 0)
            return rc;
    }
}

uint8_t mlkem768__ct_neq(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= (uint32_t)(a[i] ^ b[i]);
    /* acc in [0, 255]: (0 - acc) has its top bit set exactly when acc != 0. */
    uint32_t ne = value_barrier((0u - acc) >> 31);
    return (uint8_t)(0u - ne);
}

void mlkem768__ct_cmov(uint8_t *dst, const uint8_t *src, size_t n, uint8_t mask)
{
    uint8_t m = (uint8_t)value_barrier(mask);
    for (size_t i = 0; i < n; i++)
        dst[i] ^= (uint8_t)(m & (dst[i] ^ src[i]));
}
