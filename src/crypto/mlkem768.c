/* ML-KEM-768: K-PKE (FIPS 203 section 5) and the ML-KEM algorithms with their input checks
 * (sections 6 and 7). Arithmetic and encodings live in mlkem768_poly.c, SHA-3 in
 * mlkem768_hash.c. Every secret intermediate is wiped before returning. */
#include <string.h>

#include <openssl/crypto.h>

#include "core/err.h"
#include "crypto/crypto.h"
#include "crypto/mlkem768.h"
#include "crypto/mlkem768_int.h"

#define K MLKEM768__K
#define PKE_DK MLKEM768__PKE_DK_BYTES
/* Offsets inside dk = dk_pke || ek || H(ek) || z */
#define DK_EK_OFF PKE_DK
#define DK_H_OFF (PKE_DK + MLKEM768_EK_LEN)
#define DK_Z_OFF (DK_H_OFF + 32)

/* Entry (row, col) of the matrix A-hat: SampleNTT(rho || col || row) (Algorithms 13 and 14). */
static int matrix_entry(struct mlkem768__poly *a, const uint8_t rho[32], size_t row, size_t col)
{
    return mlkem768__sample_ntt(a, rho, (uint8_t)col, (uint8_t)row);
}

/* Samples K polynomials with SamplePolyCBD_2(PRF(sigma, N++)), N starting at *nonce. */
static int sample_vec(struct mlkem768__vec *v, const uint8_t sigma[32], uint8_t *nonce)
{
    uint8_t prf[MLKEM768__PRF_BYTES];
    int rc = 0;
    for (size_t i = 0; i < K && rc == 0; i++) {
        rc = mlkem768__prf(prf, sigma, (*nonce)++);
        if (rc == 0)
            mlkem768__poly_cbd2(&v->p[i], prf);
    }
    OPENSSL_cleanse(prf, sizeof prf);
    return rc;
}

/* K-PKE.KeyGen (Algorithm 13): ek_pke is written to ek, dk_pke to dk_pke. */
static int pke_keygen(const uint8_t d[32], uint8_t ek[MLKEM768_EK_LEN], uint8_t dk_pke[PKE_DK])
{
    struct {
        uint8_t rho_sigma[64];
        struct mlkem768__vec s, e, row;
        struct mlkem768__poly t;
    } w;
    const uint8_t k_byte = K;
    uint8_t nonce = 0;
    int rc = mlkem768__g(w.rho_sigma, d, 32, &k_byte, 1);
    if (rc != 0)
        goto out;
    const uint8_t *rho = w.rho_sigma, *sigma = w.rho_sigma + 32;
    MLKEM768__DECLASSIFY(w.rho_sigma, 32); /* rho is published in ek */
    if ((rc = sample_vec(&w.s, sigma, &nonce)) != 0 || (rc = sample_vec(&w.e, sigma, &nonce)) != 0)
        goto out;
    for (size_t i = 0; i < K; i++) {
        mlkem768__ntt(&w.s.p[i]);
        mlkem768__ntt(&w.e.p[i]);
    }
    for (size_t i = 0; i < K; i++) {
        /* t-hat[i] = sum_j A-hat[i][j] * s-hat[j] + e-hat[i] */
        for (size_t j = 0; j < K; j++) {
            if ((rc = matrix_entry(&w.row.p[j], rho, i, j)) != 0)
                goto out;
        }
        mlkem768__vec_dot(&w.t, &w.row, &w.s);
        mlkem768__poly_add(&w.t, &w.e.p[i]);
        mlkem768__poly_encode12(ek + i * MLKEM768__POLY_BYTES, &w.t);
        mlkem768__poly_encode12(dk_pke + i * MLKEM768__POLY_BYTES, &w.s.p[i]);
    }
    memcpy(ek + PKE_DK, rho, 32);
out:
    OPENSSL_cleanse(&w, sizeof w);
    return rc;
}

/* K-PKE.Encrypt (Algorithm 14). ek must be MLKEM768_EK_LEN bytes (coefficients are reduced
 * mod q on decoding, so an unchecked ek cannot break the arithmetic). */
static int pke_encrypt(const uint8_t *ek, const uint8_t m[32], const uint8_t r[32], uint8_t ct[MLKEM768_CT_LEN])
{
    struct {
        struct mlkem768__vec y, e1, col, t;
        struct mlkem768__poly e2, u, v, mu;
        uint8_t prf[MLKEM768__PRF_BYTES];
    } w;
    const uint8_t *rho = ek + PKE_DK;
    uint8_t nonce = 0;
    int rc;
    if ((rc = sample_vec(&w.y, r, &nonce)) != 0 || (rc = sample_vec(&w.e1, r, &nonce)) != 0 ||
        (rc = mlkem768__prf(w.prf, r, nonce)) != 0)
        goto out;
    mlkem768__poly_cbd2(&w.e2, w.prf);
    for (size_t i = 0; i < K; i++)
        mlkem768__ntt(&w.y.p[i]);
    /* u[i] = NTT^-1(sum_j A-hat[j][i] * y-hat[j]) + e1[i] */
    for (size_t i = 0; i < K; i++) {
        for (size_t j = 0; j < K; j++) {
            if ((rc = matrix_entry(&w.col.p[j], rho, j, i)) != 0)
                goto out;
        }
        mlkem768__vec_dot(&w.u, &w.col, &w.y);
        mlkem768__ntt_inv(&w.u);
        mlkem768__poly_add(&w.u, &w.e1.p[i]);
        mlkem768__poly_compress(ct + i * 32 * MLKEM768__DU, &w.u, MLKEM768__DU);
    }
    /* v = NTT^-1(t-hat^T * y-hat) + e2 + Decompress_1(m) */
    for (size_t j = 0; j < K; j++)
        mlkem768__poly_decode12(&w.t.p[j], ek + j * MLKEM768__POLY_BYTES);
    mlkem768__vec_dot(&w.v, &w.t, &w.y);
    mlkem768__ntt_inv(&w.v);
    mlkem768__poly_add(&w.v, &w.e2);
    mlkem768__poly_from_msg(&w.mu, m);
    mlkem768__poly_add(&w.v, &w.mu);
    mlkem768__poly_compress(ct + MLKEM768__C1_BYTES, &w.v, MLKEM768__DV);
out:
    OPENSSL_cleanse(&w, sizeof w);
    return rc;
}

/* K-PKE.Decrypt (Algorithm 15). */
static void pke_decrypt(const uint8_t dk_pke[PKE_DK], const uint8_t ct[MLKEM768_CT_LEN], uint8_t m[32])
{
    struct {
        struct mlkem768__vec u, s;
        struct mlkem768__poly acc, v;
    } w;
    for (size_t i = 0; i < K; i++) {
        mlkem768__poly_decompress(&w.u.p[i], ct + i * 32 * MLKEM768__DU, MLKEM768__DU);
        mlkem768__ntt(&w.u.p[i]);
        mlkem768__poly_decode12(&w.s.p[i], dk_pke + i * MLKEM768__POLY_BYTES);
    }
    mlkem768__vec_dot(&w.acc, &w.s, &w.u);
    mlkem768__ntt_inv(&w.acc);
    mlkem768__poly_decompress(&w.v, ct + MLKEM768__C1_BYTES, MLKEM768__DV);
    mlkem768__poly_sub(&w.v, &w.acc); /* w = v' - NTT^-1(s-hat^T * NTT(u')) */
    mlkem768__poly_to_msg(m, &w.v);
    OPENSSL_cleanse(&w, sizeof w);
}

int mlkem768_keygen_internal(const uint8_t d[static MLKEM768_SEED_LEN], const uint8_t z[static MLKEM768_SEED_LEN],
                             uint8_t ek[static MLKEM768_EK_LEN], uint8_t dk[static MLKEM768_DK_LEN])
{
    int rc = pke_keygen(d, ek, dk);
    if (rc == 0) {
        MLKEM768__DECLASSIFY(ek, MLKEM768_EK_LEN); /* public output */
        memcpy(dk + DK_EK_OFF, ek, MLKEM768_EK_LEN);
        rc = mlkem768__h(dk + DK_H_OFF, ek, MLKEM768_EK_LEN);
    }
    if (rc == 0) {
        memcpy(dk + DK_Z_OFF, z, 32);
    } else {
        OPENSSL_cleanse(dk, MLKEM768_DK_LEN);
        memset(ek, 0, MLKEM768_EK_LEN);
    }
    return rc;
}

int mlkem768_keygen(uint8_t ek[static MLKEM768_EK_LEN], uint8_t dk[static MLKEM768_DK_LEN])
{
    uint8_t dz[64];
    int rc = crypto_random(dz, sizeof dz);
    if (rc == 0)
        rc = mlkem768_keygen_internal(dz, dz + 32, ek, dk);
    OPENSSL_cleanse(dz, sizeof dz);
    return rc;
}

int mlkem768_check_ek(const uint8_t *ek, size_t ek_len)
{
    if (ek == NULL || ek_len != MLKEM768_EK_LEN)
        return ERR_MALFORMED;
    struct mlkem768__poly t;
    for (size_t i = 0; i < K; i++) {
        if (mlkem768__poly_decode12_check(&t, ek + i * MLKEM768__POLY_BYTES) != 0)
            return ERR_MALFORMED;
    }
    return 0;
}

int mlkem768_check_dk(const uint8_t *dk, size_t dk_len)
{
    if (dk == NULL || dk_len != MLKEM768_DK_LEN)
        return ERR_MALFORMED;
    uint8_t h[32];
    int rc = mlkem768__h(h, dk + DK_EK_OFF, MLKEM768_EK_LEN);
    if (rc != 0)
        return rc;
    /* ek and H(ek) are public parts of dk, so an ordinary comparison is fine. */
    return memcmp(h, dk + DK_H_OFF, 32) == 0 ? 0 : ERR_MALFORMED;
}

int mlkem768_encaps_internal(const uint8_t *ek, size_t ek_len, const uint8_t m[static MLKEM768_SEED_LEN],
                             uint8_t ct[static MLKEM768_CT_LEN], uint8_t ss[static MLKEM768_SS_LEN])
{
    uint8_t hek[32], kr[64];
    int rc = mlkem768_check_ek(ek, ek_len);
    if (rc == 0)
        rc = mlkem768__h(hek, ek, MLKEM768_EK_LEN);
    if (rc == 0)
        rc = mlkem768__g(kr, m, 32, hek, 32); /* (K, r) = G(m || H(ek)) */
    if (rc == 0)
        rc = pke_encrypt(ek, m, kr + 32, ct);
    if (rc == 0) {
        MLKEM768__DECLASSIFY(ct, MLKEM768_CT_LEN); /* public output */
        memcpy(ss, kr, MLKEM768_SS_LEN);
    } else {
        memset(ct, 0, MLKEM768_CT_LEN);
        OPENSSL_cleanse(ss, MLKEM768_SS_LEN);
    }
    OPENSSL_cleanse(kr, sizeof kr);
    return rc;
}

int mlkem768_encaps(const uint8_t *ek, size_t ek_len, uint8_t ct[static MLKEM768_CT_LEN],
                    uint8_t ss[static MLKEM768_SS_LEN])
{
    uint8_t m[32];
    int rc = crypto_random(m, sizeof m);
    if (rc == 0)
        rc = mlkem768_encaps_internal(ek, ek_len, m, ct, ss);
    else
        OPENSSL_cleanse(ss, MLKEM768_SS_LEN);
    OPENSSL_cleanse(m, sizeof m);
    return rc;
}

int mlkem768_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct, size_t ct_len,
                    uint8_t ss[static MLKEM768_SS_LEN])
{
    struct {
        uint8_t m[32], kr[64], kbar[32];
        uint8_t ct2[MLKEM768_CT_LEN];
    } w;
    int rc = mlkem768_check_dk(dk, dk_len);
    if (rc == 0 && (ct == NULL || ct_len != MLKEM768_CT_LEN))
        rc = ERR_MALFORMED;
    if (rc != 0)
        goto out;
    pke_decrypt(dk, ct, w.m);
    /* (K', r') = G(m' || h), K-bar = J(z || c), c' = K-PKE.Encrypt(ek, m', r') */
    if ((rc = mlkem768__g(w.kr, w.m, 32, dk + DK_H_OFF, 32)) != 0 ||
        (rc = mlkem768__j(w.kbar, dk + DK_Z_OFF, ct, MLKEM768_CT_LEN)) != 0 ||
        (rc = pke_encrypt(dk + DK_EK_OFF, w.m, w.kr + 32, w.ct2)) != 0)
        goto out;
    /* Implicit rejection: K' if c == c', else K-bar, selected without a branch. */
    mlkem768__ct_cmov(w.kr, w.kbar, 32, mlkem768__ct_neq(ct, w.ct2, MLKEM768_CT_LEN));
    memcpy(ss, w.kr, MLKEM768_SS_LEN);
out:
    if (rc != 0)
        OPENSSL_cleanse(ss, MLKEM768_SS_LEN);
    OPENSSL_cleanse(&w, sizeof w);
    return rc;
}
