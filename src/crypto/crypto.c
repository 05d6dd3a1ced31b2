/* Thin wrappers over OpenSSL 3 libcrypto (EVP). Every libcrypto call of the project is in
 * this folder, so one grep finds them and tests can see exactly what is used. */
#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sodium/core.h>
#include <sodium/crypto_scalarmult_curve25519.h>
#include <sodium/crypto_sign_ed25519.h>
#include <sodium/utils.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int crypto_random(void *out, size_t n)
{
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        if (RAND_bytes(out, chunk) != 1)
            return ERR_CRYPTO;
        out = (uint8_t *)out + chunk;
        n -= (size_t)chunk;
    }
    return 0;
}

/* Algorithms fetched once for the process: the EVP_sha256()-style objects make libcrypto fetch
 * the provider implementation by name again in every init. */
static EVP_MD *md_fetched[CRYPTO_HASH__COUNT];
static EVP_CIPHER *cipher_fetched[CRYPTO_AEAD__COUNT];
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void algs_fetch(void)
{
    static const char *const mds[CRYPTO_HASH__COUNT] = {"SHA256", "SHA384", "SHA512", "SHA1", "MD5"};
    static const char *const ciphers[CRYPTO_AEAD__COUNT] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
    for (size_t i = 0; i < CRYPTO_HASH__COUNT; i++)
        md_fetched[i] = EVP_MD_fetch(NULL, mds[i], NULL);
    for (size_t i = 0; i < CRYPTO_AEAD__COUNT; i++)
        cipher_fetched[i] = EVP_CIPHER_fetch(NULL, ciphers[i], NULL);
}

static const EVP_MD *md_of(enum crypto_hash h)
{
    if ((unsigned)h >= CRYPTO_HASH__COUNT)
        return NULL;
    pthread_once(&algs_once, algs_fetch);
    if (md_fetched[h] != NULL)
        return md_fetched[h];
    switch (h) { /* the fetch failed: let libcrypto try again per call */
    case CRYPTO_SHA256:
        return EVP_sha256();
    case CRYPTO_SHA384:
        return EVP_sha384();
    case CRYPTO_SHA512:
        return EVP_sha512();
    case CRYPTO_SHA1:
        return EVP_sha1();
    case CRYPTO_MD5:
        return EVP_md5();
    case CRYPTO_HASH__COUNT:
    default:
        return NULL;
    }
}

size_t crypto_hash_len(enum crypto_hash h)
{
    static const size_t lens[CRYPTO_HASH__COUNT] = {32, 48, 64, 20, 16};
    return (unsigned)h < CRYPTO_HASH__COUNT ? lens[h] : 0;
}

int crypto_hash(enum crypto_hash h, const void *in, size_t n, uint8_t *out)
{
    const EVP_MD *md = md_of(h);
    if (md == NULL)
        return ERR_RANGE;
    return EVP_Digest(in, n, out, NULL, md, NULL) == 1 ? 0 : ERR_CRYPTO;
}

struct crypto_hash_ctx {
    EVP_MD_CTX *md;
};

struct crypto_hash_ctx *crypto_hash_new(enum crypto_hash h)
{
    const EVP_MD *md = md_of(h);
    if (md == NULL)
        return NULL;
    struct crypto_hash_ctx *c = malloc(sizeof(*c));
    if (c == NULL)
        return NULL;
    c->md = EVP_MD_CTX_new();
    if (c->md == NULL || EVP_DigestInit_ex(c->md, md, NULL) != 1) {
        crypto_hash_free(c);
        return NULL;
    }
    return c;
}

int crypto_hash_update(struct crypto_hash_ctx *c, const void *in, size_t n)
{
    return EVP_DigestUpdate(c->md, in, n) == 1 ? 0 : ERR_CRYPTO;
}

int crypto_hash_peek(const struct crypto_hash_ctx *c, uint8_t *out)
{
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    if (copy == NULL)
        return ERR_NOMEM;
    int ok = EVP_MD_CTX_copy_ex(copy, c->md) == 1 && EVP_DigestFinal_ex(copy, out, NULL) == 1;
    EVP_MD_CTX_free(copy);
    return ok ? 0 : ERR_CRYPTO;
}

struct crypto_hash_ctx *crypto_hash_dup(const struct crypto_hash_ctx *c)
{
    struct crypto_hash_ctx *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    d->md = EVP_MD_CTX_new();
    if (d->md == NULL || EVP_MD_CTX_copy_ex(d->md, c->md) != 1) {
        crypto_hash_free(d);
        return NULL;
    }
    return d;
}

void crypto_hash_free(struct crypto_hash_ctx *c)
{
    if (c == NULL)
        return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

/* ---- HMAC and HKDF ----
 * HMAC() and EVP_KDF "HKDF" fetch their algorithms by name on every call, which costs several
 * times the hashing of a TLS key schedule (~20 derivations per handshake). Each thread keeps
 * one HMAC context per hash, set up once; a call only re-keys it. HKDF (RFC 5869) is built on
 * it: extract = HMAC(salt, ikm), expand = T(1) || T(2) ... with T(i) = HMAC(prk, T(i-1) ||
 * info || i). */
struct hmac { /* one per thread and hash: a digest context and the keyed outer pad */
    EVP_MD_CTX *md;
    uint8_t opad[128];
    size_t block;
};

static __thread struct hmac hmac_state[CRYPTO_HASH__COUNT];
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static pthread_key_t hmac_exit;

static void hmac_clear(void *unused)
{
    (void)unused;
    for (size_t i = 0; i < CRYPTO_HASH__COUNT; i++) {
        EVP_MD_CTX_free(hmac_state[i].md);
        OPENSSL_cleanse(&hmac_state[i], sizeof(hmac_state[i]));
    }
}

static void hmac_init_once(void)
{
    (void)pthread_key_create(&hmac_exit, hmac_clear);
}

/* RFC 2104 on this thread's digest context for h: the inner hash is started with
 * (key ^ ipad) and the outer pad kept for hmac_finish. EVP_MAC re-derives both pads through
 * its own contexts on every key (~6k instructions of overhead per HMAC, 24 per handshake). */
static struct hmac *hmac_start(enum crypto_hash h, const void *key, size_t klen)
{
    const EVP_MD *md = md_of(h);
    if (md == NULL)
        return NULL;
    struct hmac *m = &hmac_state[h];
    if (m->md == NULL) {
        pthread_once(&hmac_once, hmac_init_once);
        m->md = EVP_MD_CTX_new();
        if (m->md == NULL)
            return NULL;
        m->block = (size_t)EVP_MD_get_block_size(md);
        (void)pthread_setspecific(hmac_exit, hmac_state); /* non-NULL: the destructor runs */
    }
    if (m->block == 0 || m->block > sizeof(m->opad))
        return NULL;
    uint8_t k[128] = {0};
    if (klen > m->block) { /* a long key is hashed first */
        if (EVP_DigestInit_ex(m->md, md, NULL) != 1 || EVP_DigestUpdate(m->md, key, klen) != 1 ||
            EVP_DigestFinal_ex(m->md, k, NULL) != 1)
            return NULL;
    } else if (klen > 0) {
        memcpy(k, key, klen);
    }
    uint8_t ipad[128];
    for (size_t i = 0; i < m->block; i++) {
        ipad[i] = k[i] ^ 0x36;
        m->opad[i] = k[i] ^ 0x5c;
    }
    int ok = EVP_DigestInit_ex(m->md, md, NULL) == 1 && EVP_DigestUpdate(m->md, ipad, m->block) == 1;
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(ipad, sizeof(ipad));
    return ok ? m : NULL;
}

static int hmac_update(struct hmac *m, const void *data, size_t n)
{
    return EVP_DigestUpdate(m->md, data, n) == 1 ? 0 : ERR_CRYPTO;
}

/* out = the whole MAC (the hash's length). */
static int hmac_finish(struct hmac *m, enum crypto_hash h, uint8_t *out)
{
    uint8_t inner[CRYPTO_HASH_MAX];
    unsigned n = 0;
    int ok = EVP_DigestFinal_ex(m->md, inner, &n) == 1 && EVP_DigestInit_ex(m->md, md_of(h), NULL) == 1 &&
             EVP_DigestUpdate(m->md, m->opad, m->block) == 1 && EVP_DigestUpdate(m->md, inner, n) == 1 &&
             EVP_DigestFinal_ex(m->md, out, NULL) == 1;
    OPENSSL_cleanse(inner, sizeof(inner));
    return ok ? 0 : ERR_CRYPTO;
}

int crypto_hmac(enum crypto_hash h, const void *key, size_t klen, const void *data, size_t dlen, uint8_t *out)
{
    struct hmac *m = hmac_start(h, key, klen);
    if (m == NULL)
        return (unsigned)h < CRYPTO_HASH__COUNT ? ERR_CRYPTO : ERR_RANGE;
    if (dlen && hmac_update(m, data, dlen) < 0)
        return ERR_CRYPTO;
    return hmac_finish(m, h, out);
}

int crypto_hkdf_extract(enum crypto_hash h, const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
                        uint8_t *prk)
{
    /* An absent salt means HashLen zero bytes (RFC 5869 §2.2). */
    static const uint8_t zeros[CRYPTO_HASH_MAX] = {0};
    if ((unsigned)h >= CRYPTO_HASH__COUNT)
        return ERR_RANGE;
    if (salt == NULL || saltlen == 0) {
        salt = zeros;
        saltlen = crypto_hash_len(h);
    }
    return crypto_hmac(h, salt, saltlen, ikm, ikmlen, prk);
}

int crypto_hkdf_expand(enum crypto_hash h, const void *prk, size_t prklen, const void *info, size_t infolen,
                       uint8_t *out, size_t outlen)
{
    if ((unsigned)h >= CRYPTO_HASH__COUNT)
        return ERR_RANGE;
    size_t hl = crypto_hash_len(h);
    if (outlen > 255 * hl)
        return ERR_RANGE;
    uint8_t t[CRYPTO_HASH_MAX];
    size_t tlen = 0;
    int rc = 0;
    for (unsigned i = 1; outlen > 0 && rc == 0; i++) {
        struct hmac *m = hmac_start(h, prk, prklen);
        uint8_t ctr = (uint8_t)i;
        if (m == NULL || (tlen && hmac_update(m, t, tlen) < 0) || (infolen && hmac_update(m, info, infolen) < 0) ||
            hmac_update(m, &ctr, 1) < 0) {
            rc = ERR_CRYPTO;
            break;
        }
        rc = hmac_finish(m, h, t);
        tlen = hl;
        size_t n = outlen < hl ? outlen : hl;
        memcpy(out, t, n);
        out += n;
        outlen -= n;
    }
    OPENSSL_cleanse(t, sizeof(t));
    return rc;
}

/* The key is kept next to OpenSSL's context (which holds its expanded schedule anyway) so an
 * idle connection can give the ~1 kB context back (crypto_aead_park) and rebuild it on use. */
struct crypto_aead_ctx {
    EVP_CIPHER_CTX *ctx; /* NULL while parked */
    enum crypto_aead alg;
    bool encrypt;
    uint8_t key[CRYPTO_AEAD_KEY_MAX];
};

size_t crypto_aead_key_len(enum crypto_aead a)
{
    static const size_t lens[CRYPTO_AEAD__COUNT] = {16, 32, 32};
    return (unsigned)a < CRYPTO_AEAD__COUNT ? lens[a] : 0;
}

static const EVP_CIPHER *cipher_of(enum crypto_aead a)
{
    if ((unsigned)a >= CRYPTO_AEAD__COUNT)
        return NULL;
    pthread_once(&algs_once, algs_fetch);
    if (cipher_fetched[a] != NULL)
        return cipher_fetched[a];
    switch (a) {
    case CRYPTO_AES_128_GCM:
        return EVP_aes_128_gcm();
    case CRYPTO_AES_256_GCM:
        return EVP_aes_256_gcm();
    case CRYPTO_CHACHA20_POLY1305:
        return EVP_chacha20_poly1305();
    case CRYPTO_AEAD__COUNT:
    default:
        return NULL;
    }
}

static int aead_unpark(struct crypto_aead_ctx *c);

struct crypto_aead_ctx *crypto_aead_new(enum crypto_aead a, const uint8_t *key, bool encrypt)
{
    const EVP_CIPHER *cipher = cipher_of(a);
    if (cipher == NULL)
        return NULL;
    struct crypto_aead_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->encrypt = encrypt;
    c->alg = a;
    memcpy(c->key, key, crypto_aead_key_len(a));
    if (aead_unpark(c) < 0) {
        crypto_aead_free(c);
        return NULL;
    }
    return c;
}

static int aead_unpark(struct crypto_aead_ctx *c)
{
    if (c->ctx != NULL)
        return 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return ERR_NOMEM;
    if (EVP_CipherInit_ex(ctx, cipher_of(c->alg), NULL, c->key, NULL, c->encrypt ? 1 : 0) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return ERR_CRYPTO;
    }
    c->ctx = ctx;
    return 0;
}

void crypto_aead_park(struct crypto_aead_ctx *c)
{
    if (c == NULL)
        return;
    EVP_CIPHER_CTX_free(c->ctx); /* also wipes the key schedule */
    c->ctx = NULL;
}

bool crypto_aead_parked(const struct crypto_aead_ctx *c)
{
    return c != NULL && c->ctx == NULL;
}

void crypto_aead_free(struct crypto_aead_ctx *c)
{
    if (c == NULL)
        return;
    EVP_CIPHER_CTX_free(c->ctx); /* also wipes the key schedule */
    OPENSSL_cleanse(c->key, sizeof(c->key));
    free(c);
}

static int int_len(size_t n, int *out)
{
    if (n > INT32_MAX)
        return ERR_TOO_LONG;
    *out = (int)n;
    return 0;
}

int crypto_aead_seal2(struct crypto_aead_ctx *c, const uint8_t nonce[static 12], const void *aad, size_t aadlen,
                      const void *pt, size_t ptlen, const void *pt2, size_t pt2len, uint8_t *out)
{
    int alen, plen, p2len, n;
    if (!c->encrypt)
        return ERR_BAD_STATE;
    TRY(int_len(aadlen, &alen));
    TRY(int_len(ptlen, &plen));
    TRY(int_len(pt2len, &p2len));
    TRY(aead_unpark(c));
    if (EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, nonce, 1) != 1)
        return ERR_CRYPTO;
    if (alen && EVP_CipherUpdate(c->ctx, NULL, &n, aad, alen) != 1)
        return ERR_CRYPTO;
    /* GCM and ChaCha20-Poly1305 are stream modes: the second update continues the first. */
    if (plen && EVP_CipherUpdate(c->ctx, out, &n, pt, plen) != 1)
        return ERR_CRYPTO;
    if (p2len && EVP_CipherUpdate(c->ctx, out + ptlen, &n, pt2, p2len) != 1)
        return ERR_CRYPTO;
    size_t total = ptlen + pt2len;
    if (EVP_CipherFinal_ex(c->ctx, out + total, &n) != 1)
        return ERR_CRYPTO;
    if (EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_GET_TAG, CRYPTO_AEAD_TAG_LEN, out + total) != 1)
        return ERR_CRYPTO;
    return 0;
}

int crypto_aead_seal(struct crypto_aead_ctx *c, const uint8_t nonce[static 12], const void *aad, size_t aadlen,
                     const void *pt, size_t ptlen, uint8_t *out)
{
    return crypto_aead_seal2(c, nonce, aad, aadlen, pt, ptlen, NULL, 0, out);
}

int crypto_aead_open(struct crypto_aead_ctx *c, const uint8_t nonce[static 12], const void *aad, size_t aadlen,
                     const void *ct, size_t ctlen, uint8_t *out)
{
    int alen, clen, n;
    if (c->encrypt)
        return ERR_BAD_STATE;
    if (ctlen < CRYPTO_AEAD_TAG_LEN)
        return ERR_DECRYPT;
    size_t body = ctlen - CRYPTO_AEAD_TAG_LEN;
    TRY(int_len(aadlen, &alen));
    TRY(int_len(body, &clen));
    uint8_t tag[CRYPTO_AEAD_TAG_LEN];
    memcpy(tag, (const uint8_t *)ct + body, sizeof(tag)); /* out may alias ct */
    TRY(aead_unpark(c));
    if (EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, nonce, 0) != 1)
        return ERR_CRYPTO;
    if (alen && EVP_CipherUpdate(c->ctx, NULL, &n, aad, alen) != 1)
        return ERR_CRYPTO;
    if (clen && EVP_CipherUpdate(c->ctx, out, &n, ct, clen) != 1)
        return ERR_CRYPTO;
    if (EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, CRYPTO_AEAD_TAG_LEN, tag) != 1)
        return ERR_CRYPTO;
    if (EVP_CipherFinal_ex(c->ctx, out + body, &n) != 1) {
        OPENSSL_cleanse(out, body); /* never hand out unauthenticated plaintext */
        return ERR_DECRYPT;
    }
    return 0;
}

/* ---- raw-key cache ----
 * Loading a raw X25519/Ed25519 private key makes libcrypto compute its public key: a scalar
 * multiplication as costly as the operation itself. A REALITY handshake uses the node's
 * X25519 key, an ephemeral X25519 key (made, then used) and the certificate's Ed25519 key, so
 * each thread keeps the last few loaded keys. Entries hold the private bytes for the lookup
 * (compared in constant time) and are wiped when replaced or when the thread exits. */
#define KEY_CACHE_SLOTS 4 /* node key, certificate key, the ephemeral keys of two handshakes */

struct key_slot {
    EVP_PKEY *pkey;
    EVP_PKEY_CTX *derive; /* X25519: a derive context on pkey, made on first use and kept */
    int type;
    uint8_t priv[32];
    uint8_t sign_key[64]; /* Ed25519: libsodium's expanded form, seed || public key */
    uint64_t used;
};

static __thread struct key_slot key_cache[KEY_CACHE_SLOTS];
static __thread uint64_t key_clock;
static pthread_key_t key_cache_exit;
static pthread_once_t key_cache_once = PTHREAD_ONCE_INIT;

static void raw_ctx_clear(void);

static void key_cache_clear(void *unused)
{
    (void)unused;
    raw_ctx_clear();
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
        EVP_PKEY_CTX_free(key_cache[i].derive);
        EVP_PKEY_free(key_cache[i].pkey);
        OPENSSL_cleanse(&key_cache[i], sizeof(key_cache[i]));
    }
}

static void key_cache_init(void)
{
    (void)pthread_key_create(&key_cache_exit, key_cache_clear);
}

/* A loaded key for (type, priv), from this thread's cache or newly loaded into it. Borrowed:
 * valid until the thread's next load. NULL on failure. */
/* A raw X25519/Ed25519 key through this thread's EVP_PKEY_fromdata context for the type:
 * EVP_PKEY_new_raw_*_key look the key manager up by name (a walk of the provider tables) on
 * every call. selection is EVP_PKEY_PUBLIC_KEY or EVP_PKEY_KEYPAIR; for a key pair, pub is its
 * public half when the caller has it (else libcrypto computes it). */
static __thread EVP_PKEY_CTX *raw_ctx[2]; /* X25519, Ed25519 */

static void raw_ctx_clear(void)
{
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY_CTX_free(raw_ctx[i]);
        raw_ctx[i] = NULL;
    }
}

static EVP_PKEY *raw_key(int type, int selection, const uint8_t key[static 32], const uint8_t *pub)
{
    size_t i = type == EVP_PKEY_X25519 ? 0 : 1;
    if (raw_ctx[i] == NULL) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, i == 0 ? "X25519" : "ED25519", NULL);
        if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
            EVP_PKEY_CTX_free(ctx);
            return selection == EVP_PKEY_PUBLIC_KEY ? EVP_PKEY_new_raw_public_key(type, NULL, key, 32)
                                                    : EVP_PKEY_new_raw_private_key(type, NULL, key, 32);
        }
        raw_ctx[i] = ctx;
        pthread_once(&key_cache_once, key_cache_init);
        (void)pthread_setspecific(key_cache_exit, key_cache); /* non-NULL: the destructor runs */
    }
    OSSL_PARAM params[3] = {
        OSSL_PARAM_construct_octet_string(
            selection == EVP_PKEY_PUBLIC_KEY ? OSSL_PKEY_PARAM_PUB_KEY : OSSL_PKEY_PARAM_PRIV_KEY, (void *)key, 32),
        OSSL_PARAM_construct_end(), OSSL_PARAM_construct_end()};
    if (pub != NULL && selection == EVP_PKEY_KEYPAIR)
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, 32);
    EVP_PKEY *pkey = NULL;
    if (EVP_PKEY_fromdata(raw_ctx[i], &pkey, selection, params) != 1)
        return NULL;
    return pkey;
}

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_state = -1;

static void sodium_start(void)
{
    sodium_state = sodium_init() < 0 ? -1 : 0; /* picks the CPU's implementations once */
}

/* 0 once libsodium is initialised, -1 if it could not be (then libcrypto does it all). */
static int sodium_ready(void)
{
    (void)pthread_once(&sodium_once, sodium_start);
    return sodium_state;
}

static struct key_slot *key_slot_load(int type, const uint8_t priv[static 32])
{
    struct key_slot *victim = &key_cache[0];
    for (size_t i = 0; i < KEY_CACHE_SLOTS; i++) {
        struct key_slot *k = &key_cache[i];
        if (k->pkey != NULL && k->type == type && CRYPTO_memcmp(k->priv, priv, 32) == 0) {
            k->used = ++key_clock;
            return k;
        }
        if (k->used < victim->used)
            victim = k;
    }
    /* The public half (s*B) from libsodium: libcrypto 3.0 computes it with 25.5-bit limbs in
     * portable C, ~590k instructions against libsodium's ~335k (X25519; an ephemeral key per
     * handshake). Ed25519 keeps libsodium's expanded key for signing (crypto_ed25519_sign). */
    uint8_t pub[32], sign_key[64];
    int have_pub =
        sodium_ready() == 0 && (type == EVP_PKEY_X25519 ? crypto_scalarmult_curve25519_base(pub, priv)
                                                        : crypto_sign_ed25519_seed_keypair(pub, sign_key, priv)) == 0;
    EVP_PKEY *pkey = raw_key(type, EVP_PKEY_KEYPAIR, priv, have_pub ? pub : NULL);
    if (pkey == NULL || (type == EVP_PKEY_ED25519 && !have_pub)) {
        EVP_PKEY_free(pkey);
        sodium_memzero(sign_key, sizeof(sign_key));
        return NULL;
    }
    pthread_once(&key_cache_once, key_cache_init);
    (void)pthread_setspecific(key_cache_exit, key_cache); /* non-NULL: the destructor runs */
    EVP_PKEY_CTX_free(victim->derive);
    victim->derive = NULL;
    EVP_PKEY_free(victim->pkey);
    victim->pkey = pkey;
    victim->type = type;
    memcpy(victim->priv, priv, 32);
    memcpy(victim->sign_key, sign_key, sizeof(sign_key));
    sodium_memzero(sign_key, sizeof(sign_key));
    victim->used = ++key_clock;
    return victim;
}

static EVP_PKEY *key_load(int type, const uint8_t priv[static 32])
{
    struct key_slot *k = key_slot_load(type, priv);
    return k != NULL ? k->pkey : NULL;
}

static int raw_public(int type, const uint8_t priv[static 32], uint8_t pub[static 32])
{
    EVP_PKEY *k = key_load(type, priv);
    if (k == NULL)
        return ERR_CRYPTO;
    size_t len = 32;
    return EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == 32 ? 0 : ERR_CRYPTO;
}

int crypto_x25519_public(const uint8_t priv[static 32], uint8_t pub[static 32])
{
    return raw_public(EVP_PKEY_X25519, priv, pub);
}

int crypto_x25519_keypair(uint8_t priv[static 32], uint8_t pub[static 32])
{
    TRY(crypto_random(priv, 32));
    return crypto_x25519_public(priv, pub);
}

int crypto_x25519(uint8_t shared[static 32], const uint8_t priv[static 32], const uint8_t peer[static 32])
{
    int rc = ERR_NOMEM;
    struct key_slot *k = key_slot_load(EVP_PKEY_X25519, priv);
    EVP_PKEY *p = raw_key(EVP_PKEY_X25519, EVP_PKEY_PUBLIC_KEY, peer, NULL);
    /* The context stays with the cached key (the node's REALITY key derives once per
     * connection): only the peer changes between calls. */
    if (k != NULL && k->derive == NULL) {
        k->derive = EVP_PKEY_CTX_new(k->pkey, NULL);
        if (k->derive != NULL && EVP_PKEY_derive_init(k->derive) != 1) {
            EVP_PKEY_CTX_free(k->derive);
            k->derive = NULL;
        }
    }
    size_t len = 32;
    /* Every step before derive fails only for want of memory (any 32 bytes are a key, so the
     * peer check that set_peer would run is skipped: for X25519 it only asks whether the key
     * has a public half); derive itself refuses an all-zero shared secret (low-order point):
     * ERR_CRYPTO, which callers turn into illegal_parameter. */
    if (p != NULL && k != NULL && k->derive != NULL && EVP_PKEY_derive_set_peer_ex(k->derive, p, 0) == 1)
        rc = EVP_PKEY_derive(k->derive, shared, &len) == 1 && len == 32 ? 0 : ERR_CRYPTO;
    EVP_PKEY_free(p);
    return rc;
}

int crypto_ed25519_public(const uint8_t priv[static 32], uint8_t pub[static 32])
{
    return raw_public(EVP_PKEY_ED25519, priv, pub);
}

int crypto_ed25519_keypair(uint8_t priv[static 32], uint8_t pub[static 32])
{
    TRY(crypto_random(priv, 32));
    return crypto_ed25519_public(priv, pub);
}

/* libsodium's signature (same bytes as libcrypto's: Ed25519 is deterministic) at ~40 % of
 * libcrypto 3.0's instructions, which computes R = r*B with 25.5-bit limbs in portable C. */
int crypto_ed25519_sign(const uint8_t priv[static 32], const void *msg, size_t len, uint8_t sig[static 64])
{
    struct key_slot *k = key_slot_load(EVP_PKEY_ED25519, priv);
    if (k == NULL)
        return ERR_CRYPTO;
    return crypto_sign_ed25519_detached(sig, NULL, msg, len, k->sign_key) == 0 ? 0 : ERR_CRYPTO;
}

/* libcrypto's signature: the reference crypto_ed25519_sign is tested against. */
int crypto_ed25519_sign_libcrypto(const uint8_t priv[static 32], const void *msg, size_t len, uint8_t sig[static 64])
{
    int rc = ERR_CRYPTO;
    EVP_PKEY *k = key_load(EVP_PKEY_ED25519, priv);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t siglen = 64;
    if (k != NULL && md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, k) == 1 &&
        EVP_DigestSign(md, sig, &siglen, msg, len) == 1 && siglen == 64)
        rc = 0;
    EVP_MD_CTX_free(md);
    return rc;
}

int crypto_ed25519_verify(const uint8_t pub[static 32], const void *msg, size_t len, const uint8_t sig[static 64])
{
    int rc = ERR_AUTH;
    EVP_PKEY *k = raw_key(EVP_PKEY_ED25519, EVP_PKEY_PUBLIC_KEY, pub, NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (k == NULL || md == NULL || EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) != 1)
        rc = ERR_NOMEM; /* any 32 bytes load as a key: only resources fail here */
    else if (EVP_DigestVerify(md, sig, 64, msg, len) == 1 ||
             (EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1 && EVP_DigestVerify(md, sig, 64, msg, len) == 1))
        rc = 0; /* libcrypto answers 0 both for a bad signature and for a failed allocation, and
                 * queues no error for either: a second try tells them apart (a bad one fails again) */
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return rc;
}

void crypto_clear_errors(void)
{
    ERR_clear_error();
}
