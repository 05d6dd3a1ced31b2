/* Ed25519 signing on curve25519_base: SHA-512 from libcrypto, R = r*B from our table, and the
 * scalar arithmetic mod L here (Barrett reduction on 64-bit limbs, HAC 14.42; fixed loops and
 * masks only, so timing does not depend on the secret scalar or the nonce). */
#include "crypto/ed25519_sign.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "crypto/curve25519_base.h"

__extension__ typedef unsigned __int128 u128;

/* L and mu = floor(2^512 / L), little-endian 64-bit limbs. */
static const uint64_t order[5] = {UINT64_C(0x5812631a5cf5d3ed), UINT64_C(0x14def9dea2f79cd6), 0,
                                  UINT64_C(0x1000000000000000), 0};
static const uint64_t mu[5] = {UINT64_C(0xed9ce5a30a2c131b), UINT64_C(0x2106215d086329a7), UINT64_C(0xffffffffffffffeb),
                               UINT64_C(0xffffffffffffffff), UINT64_C(0xf)};

static uint64_t load64(const uint8_t *s)
{
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--)
        w = (w << 8) | s[i];
    return w;
}

/* r = a - b over n limbs; returns the borrow out (0 or 1). */
static uint64_t sub_n(uint64_t *r, const uint64_t *a, const uint64_t *b, int n)
{
    uint64_t borrow = 0;
    for (int i = 0; i < n; i++) {
        u128 d = (u128)a[i] - b[i] - borrow;
        r[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) & 1;
    }
    return borrow;
}

/* x (8 limbs, any value below 2^512) mod L into 32 bytes. */
static void barrett(uint8_t out[32], const uint64_t x[8])
{
    /* q3 = floor(floor(x / 2^192) * mu / 2^320); then x - q3*L < 3L */
    const uint64_t *q1 = x + 3; /* 5 limbs */
    uint64_t q2[10] = {0};
    for (int i = 0; i < 5; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 5; j++) {
            u128 t = (u128)q1[i] * mu[j] + q2[i + j] + carry;
            q2[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
        q2[i + 5] = carry;
    }
    const uint64_t *q3 = q2 + 5;
    uint64_t ql[5] = {0}; /* q3 * L mod 2^320 */
    for (int i = 0; i < 5; i++) {
        uint64_t carry = 0;
        for (int j = 0; i + j < 5; j++) {
            u128 t = (u128)q3[i] * order[j] + ql[i + j] + carry;
            ql[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
    }
    uint64_t r[5], t[5];
    (void)sub_n(r, x, ql, 5); /* exact: the difference is below 3L < 2^320 */
    for (int k = 0; k < 2; k++) {
        uint64_t keep = sub_n(t, r, order, 5) - 1; /* all ones when r >= L */
        for (int i = 0; i < 5; i++)
            r[i] ^= (r[i] ^ t[i]) & keep;
    }
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 8; b++)
            out[8 * i + b] = (uint8_t)(r[i] >> (8 * b));
    secure_wipe(q2, sizeof(q2));
    secure_wipe(ql, sizeof(ql));
    secure_wipe(r, sizeof(r));
    secure_wipe(t, sizeof(t));
}

void ed25519_scalar_reduce(uint8_t out[static 32], const uint8_t in[static 64])
{
    uint64_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = load64(in + 8 * i);
    barrett(out, x);
    secure_wipe(x, sizeof(x));
}

void ed25519_scalar_muladd(uint8_t out[static 32], const uint8_t a[static 32], const uint8_t b[static 32],
                           const uint8_t c[static 32])
{
    uint64_t al[4], bl[4], x[8] = {0};
    for (int i = 0; i < 4; i++) {
        al[i] = load64(a + 8 * i);
        bl[i] = load64(b + 8 * i);
        x[i] = load64(c + 8 * i);
    }
    /* a*b + c < 2^512 for any 256-bit a, b, c: (2^256 - 1)^2 + 2^256 - 1 < 2^512 */
    for (int i = 0; i < 4; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 4; j++) {
            u128 t = (u128)al[i] * bl[j] + x[i + j] + carry;
            x[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
        x[i + 4] = carry; /* not yet written: row i - 1 ended at limb i + 3 */
    }
    barrett(out, x);
    secure_wipe(al, sizeof(al));
    secure_wipe(bl, sizeof(bl));
    secure_wipe(x, sizeof(x));
}

/* ---- SHA-512 on a per-thread context ---- */
static EVP_MD *sha512;
static pthread_once_t sha512_once = PTHREAD_ONCE_INIT;

static void sha512_fetch(void)
{
    sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
}

struct signer { /* the expanded key of the last seed this thread signed with */
    uint8_t seed[32];
    uint8_t scalar[32]; /* clamped first half of SHA-512(seed) */
    uint8_t prefix[32]; /* second half: the nonce key */
    uint8_t pub[32];
    int ready;
    EVP_MD_CTX *md;
};

static __thread struct signer signer;
static pthread_key_t signer_exit;
static pthread_once_t signer_once = PTHREAD_ONCE_INIT;

static void signer_clear(void *unused)
{
    (void)unused;
    EVP_MD_CTX_free(signer.md);
    OPENSSL_cleanse(&signer, sizeof(signer));
}

static void signer_init(void)
{
    (void)pthread_key_create(&signer_exit, signer_clear);
}

static int sha512_parts(EVP_MD_CTX *md, uint8_t out[64], const void *a, size_t alen, const void *b, size_t blen,
                        const void *c, size_t clen)
{
    if (EVP_DigestInit_ex(md, sha512 != NULL ? sha512 : EVP_sha512(), NULL) != 1 ||
        EVP_DigestUpdate(md, a, alen) != 1 || (blen > 0 && EVP_DigestUpdate(md, b, blen) != 1) ||
        (clen > 0 && EVP_DigestUpdate(md, c, clen) != 1) || EVP_DigestFinal_ex(md, out, NULL) != 1)
        return ERR_CRYPTO;
    return 0;
}

static int signer_load(const uint8_t seed[32])
{
    if (signer.md == NULL) {
        pthread_once(&sha512_once, sha512_fetch);
        pthread_once(&signer_once, signer_init);
        signer.md = EVP_MD_CTX_new();
        if (signer.md == NULL)
            return ERR_NOMEM;
        (void)pthread_setspecific(signer_exit, &signer); /* non-NULL: the destructor runs */
    }
    if (signer.ready && CRYPTO_memcmp(signer.seed, seed, 32) == 0)
        return 0;
    uint8_t h[64];
    signer.ready = 0;
    int rc = sha512_parts(signer.md, h, seed, 32, NULL, 0, NULL, 0);
    if (rc == 0) {
        memcpy(signer.seed, seed, 32);
        memcpy(signer.scalar, h, 32);
        signer.scalar[0] &= 248;
        signer.scalar[31] &= 127;
        signer.scalar[31] |= 64;
        memcpy(signer.prefix, h + 32, 32);
        curve25519_ed25519_base(signer.pub, signer.scalar);
        signer.ready = 1;
    }
    secure_wipe(h, sizeof(h));
    return rc;
}

int ed25519_sign(const uint8_t seed[static 32], const void *msg, size_t len, uint8_t sig[static 64])
{
    TRY(signer_load(seed));
    uint8_t h[64], r[32], k[32];
    /* r = SHA-512(prefix || M) mod L; R = r*B; k = SHA-512(R || A || M) mod L; S = k*a + r */
    int rc = sha512_parts(signer.md, h, signer.prefix, 32, msg, len, NULL, 0);
    if (rc == 0) {
        ed25519_scalar_reduce(r, h);
        curve25519_ed25519_base(sig, r);
        rc = sha512_parts(signer.md, h, sig, 32, signer.pub, 32, msg, len);
    }
    if (rc == 0) {
        ed25519_scalar_reduce(k, h);
        ed25519_scalar_muladd(sig + 32, k, signer.scalar, r);
    }
    secure_wipe(h, sizeof(h));
    secure_wipe(r, sizeof(r));
    secure_wipe(k, sizeof(k));
    return rc;
}
