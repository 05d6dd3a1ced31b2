/* The SHA-3 functions of FIPS 203 section 4.1 over libcrypto's EVP: H = SHA3-256,
 * G = SHA3-512, J = SHAKE256(., 32), PRF_eta = SHAKE256(., 64*eta), XOF = SHAKE128.
 * libcrypto's Keccak does not branch on the data it absorbs, so hashing secrets is fine.
 *
 * OpenSSL 3.0 has no incremental squeeze (EVP_DigestSqueeze arrived in 3.3): an XOF output
 * is taken in one EVP_DigestFinalXOF call. SampleNTT asks for a block large enough for nearly
 * every case and recomputes a longer prefix of the same stream in the rare other case. */
#include <stdbool.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "crypto/mlkem768_int.h"

enum md_id {
    MD_SHA3_256 = 0,
    MD_SHA3_512,
    MD_SHAKE128,
    MD_SHAKE256,
    MD__COUNT, /* sentinel */
};

/* Explicitly fetched once: MD_SHA3_256 and friends make every EVP_DigestInit_ex repeat a
 * provider lookup (locks, string compares), which cost more than the Keccak work itself.
 * The fetched objects live for the whole process. */
static const char *const md_names[MD__COUNT] = {"SHA3-256", "SHA3-512", "SHAKE128", "SHAKE256"};
static EVP_MD *md_cache[MD__COUNT];
static CRYPTO_ONCE md_once = CRYPTO_ONCE_STATIC_INIT;

static void md_fetch_all(void)
{
    for (size_t i = 0; i < MD__COUNT; i++)
        md_cache[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
}

static const EVP_MD *md_get(enum md_id id)
{
    if (!CRYPTO_THREAD_run_once(&md_once, md_fetch_all))
        return NULL;
    return md_cache[id];
}

/* Digest of a || b (b may be empty). For an XOF, outlen bytes are squeezed. */
static int digest2(enum md_id id, bool xof, const uint8_t *a, size_t an, const uint8_t *b, size_t bn, uint8_t *out,
                   size_t outlen)
{
    const EVP_MD *md = md_get(id);
    if (md == NULL)
        return ERR_CRYPTO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return ERR_NOMEM;
    int ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, a, an) == 1 &&
             (bn == 0 || EVP_DigestUpdate(ctx, b, bn) == 1);
    if (ok) {
        if (xof) {
            ok = EVP_DigestFinalXOF(ctx, out, outlen) == 1;
        } else {
            unsigned int len = 0;
            ok = EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == outlen;
        }
    }
    /* EVP_MD_CTX_free cleanses the Keccak state, which may hold secret input. */
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : ERR_CRYPTO;
}

int mlkem768__h(uint8_t out[32], const uint8_t *in, size_t n)
{
    return digest2(MD_SHA3_256, false, in, n, NULL, 0, out, 32);
}

int mlkem768__g(uint8_t out[64], const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    return digest2(MD_SHA3_512, false, a, an, b, bn, out, 64);
}

int mlkem768__j(uint8_t out[32], const uint8_t z[32], const uint8_t *c, size_t cn)
{
    return digest2(MD_SHAKE256, true, z, 32, c, cn, out, 32);
}

int mlkem768__prf(uint8_t out[MLKEM768__PRF_BYTES], const uint8_t s[32], uint8_t b)
{
    return digest2(MD_SHAKE256, true, s, 32, &b, 1, out, MLKEM768__PRF_BYTES);
}

int mlkem768__xof(uint8_t *out, size_t outlen, const uint8_t *in, size_t n)
{
    return digest2(MD_SHAKE128, true, in, n, NULL, 0, out, outlen);
}
