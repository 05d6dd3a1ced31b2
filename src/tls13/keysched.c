/* TLS 1.3 key schedule on crypto/ HKDF and HMAC. */
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "tls13/keysched.h"

static const struct tls13_suite suites[] = {
    {TLS13_AES_128_GCM_SHA256, CRYPTO_AES_128_GCM, CRYPTO_SHA256, 16, 32, "TLS_AES_128_GCM_SHA256"},
    {TLS13_AES_256_GCM_SHA384, CRYPTO_AES_256_GCM, CRYPTO_SHA384, 32, 48, "TLS_AES_256_GCM_SHA384"},
    {TLS13_CHACHA20_POLY1305_SHA256, CRYPTO_CHACHA20_POLY1305, CRYPTO_SHA256, 32, 32, "TLS_CHACHA20_POLY1305_SHA256"},
};

const struct tls13_suite *tls13_suite_by_id(uint16_t id)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

int tls13_hkdf_expand_label(enum crypto_hash h, const uint8_t *secret, const char *label, const uint8_t *ctx,
                            size_t ctxlen, uint8_t *out, size_t outlen)
{
    /* HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label, opaque context<0..255> */
    static const char prefix[] = "tls13 ";
    size_t llen = strlen(label);
    uint8_t info[2 + 1 + 255 + 1 + 255];
    if (outlen > 0xffff || llen + 6 > 255 || ctxlen > 255)
        return ERR_RANGE;
    size_t n = 0;
    info[n++] = (uint8_t)(outlen >> 8);
    info[n++] = (uint8_t)outlen;
    info[n++] = (uint8_t)(6 + llen);
    memcpy(info + n, prefix, 6);
    n += 6;
    memcpy(info + n, label, llen);
    n += llen;
    info[n++] = (uint8_t)ctxlen;
    if (ctxlen > 0)
        memcpy(info + n, ctx, ctxlen);
    n += ctxlen;
    return crypto_hkdf_expand(h, secret, crypto_hash_len(h), info, n, out, outlen);
}

int tls13_derive_secret(enum crypto_hash h, const uint8_t *secret, const char *label, const uint8_t *thash,
                        uint8_t *out)
{
    size_t hl = crypto_hash_len(h);
    return tls13_hkdf_expand_label(h, secret, label, thash, hl, out, hl);
}

/* Derive-Secret(secret, "derived", "") needs the hash of the empty string. */
static int derive_for_next(struct tls13_keysched *ks, uint8_t *salt)
{
    uint8_t empty[TLS13_HASH_MAX];
    TRY(crypto_hash(ks->hash, "", 0, empty));
    return tls13_derive_secret(ks->hash, ks->secret, "derived", empty, salt);
}

int tls13_ks_init(struct tls13_keysched *ks, const struct tls13_suite *s)
{
    uint8_t zero[TLS13_HASH_MAX] = {0};
    ks->hash = s->hash;
    ks->hlen = s->hash_len;
    return crypto_hkdf_extract(ks->hash, zero, ks->hlen, zero, ks->hlen, ks->secret);
}

int tls13_ks_handshake(struct tls13_keysched *ks, const uint8_t *ecdhe, size_t len)
{
    uint8_t salt[TLS13_HASH_MAX];
    int rc = derive_for_next(ks, salt);
    if (rc == 0)
        rc = crypto_hkdf_extract(ks->hash, salt, ks->hlen, ecdhe, len, ks->secret);
    secure_wipe(salt, sizeof(salt));
    return rc;
}

int tls13_ks_master(struct tls13_keysched *ks)
{
    uint8_t salt[TLS13_HASH_MAX], zero[TLS13_HASH_MAX] = {0};
    int rc = derive_for_next(ks, salt);
    if (rc == 0)
        rc = crypto_hkdf_extract(ks->hash, salt, ks->hlen, zero, ks->hlen, ks->secret);
    secure_wipe(salt, sizeof(salt));
    return rc;
}

int tls13_ks_derive(const struct tls13_keysched *ks, const char *label, const uint8_t *thash, uint8_t *out)
{
    return tls13_derive_secret(ks->hash, ks->secret, label, thash, out);
}

void tls13_ks_dispose(struct tls13_keysched *ks)
{
    secure_wipe(ks->secret, sizeof(ks->secret));
}

int tls13_traffic_keys(const struct tls13_suite *s, const uint8_t *secret, uint8_t *key, uint8_t iv[static 12])
{
    TRY(tls13_hkdf_expand_label(s->hash, secret, "key", NULL, 0, key, s->key_len));
    return tls13_hkdf_expand_label(s->hash, secret, "iv", NULL, 0, iv, TLS13_IV_LEN);
}

int tls13_finished_key(enum crypto_hash h, const uint8_t *base, uint8_t *out)
{
    return tls13_hkdf_expand_label(h, base, "finished", NULL, 0, out, crypto_hash_len(h));
}

int tls13_verify_data(enum crypto_hash h, const uint8_t *base, const uint8_t *thash, uint8_t *out)
{
    uint8_t fk[TLS13_HASH_MAX];
    size_t hl = crypto_hash_len(h);
    int rc = tls13_finished_key(h, base, fk);
    if (rc == 0)
        rc = crypto_hmac(h, fk, hl, thash, hl, out);
    secure_wipe(fk, sizeof(fk));
    return rc;
}

int tls13_next_traffic_secret(enum crypto_hash h, uint8_t *secret)
{
    uint8_t next[TLS13_HASH_MAX];
    size_t hl = crypto_hash_len(h);
    int rc = tls13_hkdf_expand_label(h, secret, "traffic upd", NULL, 0, next, hl);
    if (rc == 0)
        memcpy(secret, next, hl);
    secure_wipe(next, sizeof(next));
    return rc;
}
