/* ML-KEM-768 internals shared by the mlkem768_*.c files: polynomial arithmetic in R_q and
 * T_q (FIPS 203 section 4.3), byte encodings, sampling and the SHA-3 based functions H, G, J,
 * PRF and XOF (section 4.1). Not for use outside src/crypto/.
 *
 * Coefficients are uint16_t kept fully reduced in [0, q). Every function that touches
 * secret data is constant time: no branch and no table index depends on a coefficient. */
#ifndef VEIL_CRYPTO_MLKEM768_INT_H
#define VEIL_CRYPTO_MLKEM768_INT_H

#include <stddef.h>
#include <stdint.h>

#define MLKEM768__N 256
#define MLKEM768__Q 3329
#define MLKEM768__K 3
#define MLKEM768__ETA 2 /* eta1 = eta2 = 2 for ML-KEM-768 */
#define MLKEM768__DU 10
#define MLKEM768__DV 4
#define MLKEM768__POLY_BYTES 384                                    /* ByteEncode12 of one polynomial */
#define MLKEM768__PRF_BYTES (64 * MLKEM768__ETA)                    /* 128 */
#define MLKEM768__C1_BYTES (32 * MLKEM768__DU * MLKEM768__K)        /* 960 */
#define MLKEM768__C2_BYTES (32 * MLKEM768__DV)                      /* 128 */
#define MLKEM768__PKE_DK_BYTES (MLKEM768__POLY_BYTES * MLKEM768__K) /* 1152 */

/* Constant-time hooks for the valgrind check (tests/integration/test_mlkem_ctgrind.sh): values
 * derived from secrets that become public (rho, the ciphertext) are declassified so memcheck only
 * reports real secret-dependent branches. They compile to nothing in normal builds. */
#ifdef MLKEM768_CTGRIND
#include <valgrind/memcheck.h>
#define MLKEM768__DECLASSIFY(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#define MLKEM768__DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

struct mlkem768__poly {
    uint16_t c[MLKEM768__N];
};

struct mlkem768__vec {
    struct mlkem768__poly p[MLKEM768__K];
};

/* Arithmetic (mlkem768_poly.c). */
void mlkem768__poly_add(struct mlkem768__poly *r, const struct mlkem768__poly *a);
void mlkem768__poly_sub(struct mlkem768__poly *r, const struct mlkem768__poly *a); /* r = r - a */
void mlkem768__ntt(struct mlkem768__poly *f);                                      /* Algorithm 9 */
void mlkem768__ntt_inv(struct mlkem768__poly *f);                                  /* Algorithm 10 */
/* r = sum_k a[k] * b[k] in T_q (MultiplyNTTs of Algorithm 11, summed over the vector). */
void mlkem768__vec_dot(struct mlkem768__poly *r, const struct mlkem768__vec *a, const struct mlkem768__vec *b);

/* Encodings (mlkem768_poly.c). ByteDecode12 reduces mod q, as FIPS 203 requires for d = 12;
 * mlkem768__poly_decode12_check() instead returns -1 if any coefficient is >= q. */
void mlkem768__poly_encode12(uint8_t out[MLKEM768__POLY_BYTES], const struct mlkem768__poly *f);
void mlkem768__poly_decode12(struct mlkem768__poly *f, const uint8_t in[MLKEM768__POLY_BYTES]);
int mlkem768__poly_decode12_check(struct mlkem768__poly *f, const uint8_t in[MLKEM768__POLY_BYTES]);
/* Compress_d then ByteEncode_d (out has 32*d bytes), and ByteDecode_d then Decompress_d. */
void mlkem768__poly_compress(uint8_t *out, const struct mlkem768__poly *f, unsigned d);
void mlkem768__poly_decompress(struct mlkem768__poly *f, const uint8_t *in, unsigned d);
/* Message <-> polynomial: Decompress_1(ByteDecode_1(m)) and ByteEncode_1(Compress_1(f)). */
void mlkem768__poly_from_msg(struct mlkem768__poly *f, const uint8_t m[32]);
void mlkem768__poly_to_msg(uint8_t m[32], const struct mlkem768__poly *f);

/* Sampling (mlkem768_poly.c). SamplePolyCBD_2 (Algorithm 8) from 128 PRF bytes. */
void mlkem768__poly_cbd2(struct mlkem768__poly *f, const uint8_t in[MLKEM768__PRF_BYTES]);
/* SampleNTT (Algorithm 7): rejection sampling from XOF(rho || j || i). rho is public. */
int mlkem768__sample_ntt(struct mlkem768__poly *a, const uint8_t rho[32], uint8_t j, uint8_t i);

/* Hash functions (mlkem768_hash.c), each 0 or ERR_CRYPTO. */
int mlkem768__h(uint8_t out[32], const uint8_t *in, size_t n);                              /* SHA3-256 */
int mlkem768__g(uint8_t out[64], const uint8_t *a, size_t an, const uint8_t *b, size_t bn); /* SHA3-512(a||b) */
int mlkem768__j(uint8_t out[32], const uint8_t z[32], const uint8_t *c, size_t cn);         /* SHAKE256(z||c, 32) */
int mlkem768__prf(uint8_t out[MLKEM768__PRF_BYTES], const uint8_t s[32], uint8_t b);        /* SHAKE256(s||b, 128) */
/* SHAKE128(in, outlen): the whole output is squeezed at once (see mlkem768_hash.c). */
int mlkem768__xof(uint8_t *out, size_t outlen, const uint8_t *in, size_t n);

/* Constant time helpers (mlkem768_poly.c). */
/* 0xFF when a and b (n bytes) differ, 0x00 when equal. */
uint8_t mlkem768__ct_neq(const uint8_t *a, const uint8_t *b, size_t n);
/* dst = mask ? src : dst, mask being 0x00 or 0xFF. */
void mlkem768__ct_cmov(uint8_t *dst, const uint8_t *src, size_t n, uint8_t mask);

#endif
