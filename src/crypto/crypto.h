/* Cryptographic primitives over OpenSSL libcrypto. This folder is the only one that includes
 * <openssl/...h>; everything above uses these functions. All return 0 or a negative ERR_*
 * (ERR_CRYPTO when libcrypto fails, ERR_DECRYPT for a bad tag). Keys are raw bytes. */
#ifndef VEIL_CRYPTO_CRYPTO_H
#define VEIL_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fills out with n bytes from the system CSPRNG (RAND_bytes). */
int crypto_random(void *out, size_t n);

enum crypto_hash {
    CRYPTO_SHA256 = 0,
    CRYPTO_SHA384,
    CRYPTO_SHA512,
    CRYPTO_SHA1,        /* only UUIDv5, legacy formats and HMAC-SHA1 for TOTP (RFC 6238 default) */
    CRYPTO_MD5,         /* only for Robokassa's default signature (a provider format we must speak) */
    CRYPTO_HASH__COUNT, /* sentinel */
};
#define CRYPTO_HASH_MAX 64
size_t crypto_hash_len(enum crypto_hash h);
int crypto_hash(enum crypto_hash h, const void *in, size_t n, uint8_t *out);

/* Incremental hash, e.g. the TLS transcript. peek() gives the digest so far without ending it. */
struct crypto_hash_ctx;
struct crypto_hash_ctx *crypto_hash_new(enum crypto_hash h);
int crypto_hash_update(struct crypto_hash_ctx *c, const void *in, size_t n);
int crypto_hash_peek(const struct crypto_hash_ctx *c, uint8_t *out);
struct crypto_hash_ctx *crypto_hash_dup(const struct crypto_hash_ctx *c);
void crypto_hash_free(struct crypto_hash_ctx *c);

int crypto_hmac(enum crypto_hash h, const void *key, size_t klen, const void *data, size_t dlen, uint8_t *out);
/* RFC 5869. extract writes crypto_hash_len(h) bytes. */
int crypto_hkdf_extract(enum crypto_hash h, const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
                        uint8_t *prk);
int crypto_hkdf_expand(enum crypto_hash h, const void *prk, size_t prklen, const void *info, size_t infolen,
                       uint8_t *out, size_t outlen);

enum crypto_aead {
    CRYPTO_AES_128_GCM = 0,
    CRYPTO_AES_256_GCM,
    CRYPTO_CHACHA20_POLY1305,
    CRYPTO_AEAD__COUNT, /* sentinel */
};
#define CRYPTO_AEAD_TAG_LEN 16
#define CRYPTO_AEAD_NONCE_LEN 12
#define CRYPTO_AEAD_KEY_MAX 32
size_t crypto_aead_key_len(enum crypto_aead a);

/* A keyed AEAD context, reused for every record under one key. The key is copied. */
struct crypto_aead_ctx;
struct crypto_aead_ctx *crypto_aead_new(enum crypto_aead a, const uint8_t *key, bool encrypt);
void crypto_aead_free(struct crypto_aead_ctx *c);
/* Frees OpenSSL's cipher context (~1 kB) but keeps the key: the next seal or open rebuilds it
 * (~3k instructions, about one small record's seal). For connections that went quiet. */
void crypto_aead_park(struct crypto_aead_ctx *c);
bool crypto_aead_parked(const struct crypto_aead_ctx *c);
/* Writes ptlen bytes of ciphertext then the 16-byte tag to out (out may equal pt). */
int crypto_aead_seal(struct crypto_aead_ctx *c, const uint8_t nonce[static 12], const void *aad, size_t aadlen,
                     const void *pt, size_t ptlen, uint8_t *out);
/* Seals the concatenation pt || pt2 without copying it first: writes ptlen + pt2len bytes of
 * ciphertext then the tag to out. pt may equal out or not overlap it; pt2 may equal
 * out + ptlen or not overlap it (e.g. a TLS record's payload from the caller's buffer and its
 * content-type byte and padding written in place). */
int crypto_aead_seal2(struct crypto_aead_ctx *c, const uint8_t nonce[static 12], const void *aad, size_t aadlen,
                      const void *pt, size_t ptlen, const void *pt2, size_t pt2len, uint8_t *out);
/* ct includes the tag (ctlen >= 16); writes ctlen-16 bytes to out (out may equal ct). ERR_DECRYPT. */
int crypto_aead_open(struct crypto_aead_ctx *c, const uint8_t nonce[static 12], const void *aad, size_t aadlen,
                     const void *ct, size_t ctlen, uint8_t *out);

/* X25519 (RFC 7748). crypto_x25519 fails (ERR_CRYPTO) on a low-order peer key (all-zero result). */
int crypto_x25519_keypair(uint8_t priv[static 32], uint8_t pub[static 32]);
int crypto_x25519_public(const uint8_t priv[static 32], uint8_t pub[static 32]);
int crypto_x25519(uint8_t shared[static 32], const uint8_t priv[static 32], const uint8_t peer[static 32]);

/* Ed25519 (RFC 8032); priv is the 32-byte seed. verify returns 0, ERR_AUTH for a bad
 * signature, or ERR_NOMEM / ERR_CRYPTO when the library could not check it. */
int crypto_ed25519_keypair(uint8_t priv[static 32], uint8_t pub[static 32]);
int crypto_ed25519_public(const uint8_t priv[static 32], uint8_t pub[static 32]);
int crypto_ed25519_sign(const uint8_t priv[static 32], const void *msg, size_t len, uint8_t sig[static 64]);
/* The same signature computed by libcrypto: the reference crypto_ed25519_sign is tested against. */
int crypto_ed25519_sign_libcrypto(const uint8_t priv[static 32], const void *msg, size_t len, uint8_t sig[static 64]);
int crypto_ed25519_verify(const uint8_t pub[static 32], const void *msg, size_t len, const uint8_t sig[static 64]);

/* What a certificate says about itself (a REALITY target's leaf as seen by a check): validity
 * and whether it names `host` (SAN dNSName/iPAddress, wildcards as browsers match them). Parses
 * untrusted DER (fuzzed: fuzz_crypto_cert); no chain or signature check. 0, ERR_MALFORMED (not
 * one DER certificate), ERR_NOMEM. */
struct crypto_cert_info {
    int64_t not_before, not_after; /* Unix seconds */
    bool names_host;               /* host given and matched */
    char subject_cn[128];          /* "" when absent; for messages only */
};
int crypto_cert_info(const uint8_t *der, size_t len, const char *host, struct crypto_cert_info *out);

/* Empties this thread's libcrypto error queue, which keeps the last errors (and their
 * allocated text) until it is cleared or they are overwritten. */
void crypto_clear_errors(void);

#endif
