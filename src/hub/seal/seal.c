/* The sealed-value format, key wrapping, the master key file and the key ring (seal.h). */
#include "hub/seal/seal.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/secmem.h"
#include "core/secret_file.h"
#include "core/secure.h"
#include "crypto/crypto.h"

#define SEAL_TEXT_MAX (1u << 20) /* longest plaintext we seal (a provider's payment object fits) */

/* The GCM associated data: the value's header (version, key id) then the caller's ad, so a
 * changed key id or version fails the tag like any other changed byte. */
static uint8_t *full_ad(const uint8_t hdr[2], const void *ad, size_t adlen)
{
    uint8_t *a = malloc(adlen + 2);
    if (a != NULL) {
        a[0] = hdr[0];
        a[1] = hdr[1];
        if (adlen > 0)
            memcpy(a + 2, ad, adlen);
    }
    return a;
}

int seal_encrypt(const uint8_t key[static SEAL_KEY_LEN], uint8_t key_id, const void *ad, size_t adlen, const void *pt,
                 size_t n, char **out)
{
    *out = NULL;
    if (n > SEAL_TEXT_MAX)
        return ERR_TOO_LONG;
    size_t blen = SEAL_OVERHEAD + n;
    uint8_t *bin = malloc(blen);
    char *text = malloc(b64_encoded_size(blen, B64_STD));
    const uint8_t hdr[2] = {SEAL_VERSION, key_id};
    uint8_t *fad = full_ad(hdr, ad, adlen);
    struct crypto_aead_ctx *c = crypto_aead_new(CRYPTO_AES_256_GCM, key, true);
    int rc = bin == NULL || text == NULL || fad == NULL || c == NULL ? ERR_NOMEM : 0;
    if (rc == 0) {
        memcpy(bin, hdr, 2);
        rc = crypto_random(bin + 2, SEAL_NONCE_LEN);
    }
    if (rc == 0)
        rc = crypto_aead_seal(c, bin + 2, fad, adlen + 2, pt, n, bin + 2 + SEAL_NONCE_LEN);
    if (rc == 0) {
        b64_encode(text, bin, blen, B64_STD);
        *out = text;
        text = NULL;
    }
    crypto_aead_free(c);
    free(fad);
    free(text);
    free(bin); /* ciphertext only: nothing to wipe */
    return rc;
}

/* Decodes a sealed value into *bin (malloc'd) after checking its shape. */
static int decode(const char *text, uint8_t **bin, size_t *blen)
{
    *bin = NULL;
    size_t tlen = text != NULL ? strlen(text) : 0;
    if (tlen < 4 || tlen > SEAL_TEXT_MAX * 2)
        return ERR_MALFORMED;
    size_t cap = tlen / 4 * 3;
    uint8_t *b = malloc(cap);
    if (b == NULL)
        return ERR_NOMEM;
    int rc = b64_decode(b, cap, blen, text, tlen, B64_STD);
    if (rc == 0 && (*blen < SEAL_OVERHEAD || b[0] != SEAL_VERSION))
        rc = ERR_MALFORMED;
    if (rc < 0) {
        free(b);
        return rc == ERR_NOMEM ? rc : ERR_MALFORMED;
    }
    *bin = b;
    return 0;
}

int seal_key_id(const char *text, uint8_t *key_id)
{
    uint8_t *bin;
    size_t blen;
    TRY(decode(text, &bin, &blen));
    *key_id = bin[1];
    free(bin);
    return 0;
}

int seal_decrypt(const uint8_t key[static SEAL_KEY_LEN], const void *ad, size_t adlen, const char *text, char **pt,
                 size_t *n)
{
    *pt = NULL;
    uint8_t *bin;
    size_t blen;
    TRY(decode(text, &bin, &blen));
    size_t ctlen = blen - 2 - SEAL_NONCE_LEN, ptlen = ctlen - SEAL_TAG_LEN;
    char *out = malloc(ptlen + 1);
    uint8_t *fad = full_ad(bin, ad, adlen);
    struct crypto_aead_ctx *c = crypto_aead_new(CRYPTO_AES_256_GCM, key, false);
    int rc = out == NULL || fad == NULL || c == NULL ? ERR_NOMEM : 0;
    if (rc == 0)
        rc = crypto_aead_open(c, bin + 2, fad, adlen + 2, bin + 2 + SEAL_NONCE_LEN, ctlen, (uint8_t *)out);
    crypto_aead_free(c);
    free(fad);
    free(bin);
    if (rc < 0) {
        if (out != NULL)
            secure_wipe(out, ptlen + 1);
        free(out);
        return rc;
    }
    out[ptlen] = '\0';
    *pt = out;
    if (n != NULL)
        *n = ptlen;
    return 0;
}

void seal_free_text(char *pt)
{
    if (pt != NULL) {
        secure_wipe(pt, strlen(pt));
        free(pt);
    }
}

int seal_wrap(const uint8_t master[static SEAL_KEY_LEN], const char *ad, const uint8_t key[static SEAL_KEY_LEN],
              char **out)
{
    return seal_encrypt(master, 0, ad, strlen(ad), key, SEAL_KEY_LEN, out);
}

int seal_unwrap(const uint8_t master[static SEAL_KEY_LEN], const char *ad, const char *text,
                uint8_t key[static SEAL_KEY_LEN])
{
    char *pt;
    size_t n;
    TRY(seal_decrypt(master, ad, strlen(ad), text, &pt, &n));
    int rc = n == SEAL_KEY_LEN ? 0 : ERR_MALFORMED;
    if (rc == 0)
        memcpy(key, pt, SEAL_KEY_LEN);
    secure_wipe(pt, n);
    free(pt);
    return rc;
}

int seal_master_parse(const uint8_t *buf, size_t n, uint8_t out[static SEAL_KEY_LEN])
{
    if (n == SEAL_KEY_LEN) {
        memcpy(out, buf, SEAL_KEY_LEN);
        return 0;
    }
    if (n == 2 * SEAL_KEY_LEN + 1 && buf[n - 1] == '\n')
        n--;
    if (n != 2 * SEAL_KEY_LEN)
        return ERR_MALFORMED;
    size_t got;
    int rc = hex_decode(out, SEAL_KEY_LEN, &got, (const char *)buf, n);
    if (rc < 0 || got != SEAL_KEY_LEN) {
        secure_wipe(out, SEAL_KEY_LEN);
        return ERR_MALFORMED;
    }
    return 0;
}

int seal_master_load(const char *name, uint8_t out[static SEAL_KEY_LEN], char *why, size_t whycap)
{
    struct secret s;
    TRY(secret_file_read_bytes(name, 2 * SEAL_KEY_LEN + 1, &s, why, whycap));
    int rc = seal_master_parse((const uint8_t *)s.s, s.len, out);
    if (rc < 0)
        snprintf(why, whycap, "%s: a master key is 32 random bytes, raw or as 64 hex digits", name);
    secret_free(&s);
    return rc;
}

/* ---- the key ring ---- */

struct seal_keys {
    uint8_t data[SEAL_KEY_ID_MAX + 1][SEAL_KEY_LEN];
    bool have[SEAL_KEY_ID_MAX + 1];
    uint8_t index[SEAL_KEY_LEN];
    bool have_index;
    uint8_t current;
};

struct seal_ring {
    pthread_rwlock_t lock;
    struct seal_keys *k; /* in a secmem buffer */
};

struct seal_ring *seal_ring_new(void)
{
    struct seal_ring *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->k = secmem_alloc(sizeof *r->k);
    if (r->k == NULL) {
        free(r);
        return NULL;
    }
    pthread_rwlock_init(&r->lock, NULL);
    return r;
}

void seal_ring_free(struct seal_ring *r)
{
    if (r == NULL)
        return;
    secmem_free(r->k, sizeof *r->k);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

int seal_ring_add(struct seal_ring *r, uint8_t id, const uint8_t key[static SEAL_KEY_LEN])
{
    if (id == 0)
        return ERR_RANGE;
    pthread_rwlock_wrlock(&r->lock);
    int rc = r->k->have[id] ? ERR_EXISTS : 0;
    if (rc == 0) {
        memcpy(r->k->data[id], key, SEAL_KEY_LEN);
        r->k->have[id] = true;
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int seal_ring_set_current(struct seal_ring *r, uint8_t id)
{
    pthread_rwlock_wrlock(&r->lock);
    int rc = id != 0 && r->k->have[id] ? 0 : ERR_NOT_FOUND;
    if (rc == 0)
        r->k->current = id;
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

uint8_t seal_ring_current(struct seal_ring *r)
{
    pthread_rwlock_rdlock(&r->lock);
    uint8_t id = r->k->current;
    pthread_rwlock_unlock(&r->lock);
    return id;
}

void seal_ring_set_index_key(struct seal_ring *r, const uint8_t key[static SEAL_KEY_LEN])
{
    pthread_rwlock_wrlock(&r->lock);
    memcpy(r->k->index, key, SEAL_KEY_LEN);
    r->k->have_index = true;
    pthread_rwlock_unlock(&r->lock);
}

int seal_ring_seal(struct seal_ring *r, const char *ad, const char *pt, char **out)
{
    *out = NULL;
    pthread_rwlock_rdlock(&r->lock);
    uint8_t id = r->k->current;
    int rc = id != 0 ? seal_encrypt(r->k->data[id], id, ad, strlen(ad), pt, strlen(pt), out) : ERR_BAD_STATE;
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int seal_ring_open(struct seal_ring *r, const char *ad, const char *text, char **pt)
{
    *pt = NULL;
    uint8_t id;
    TRY(seal_key_id(text, &id));
    size_t n;
    pthread_rwlock_rdlock(&r->lock);
    int rc = id != 0 && r->k->have[id] ? seal_decrypt(r->k->data[id], ad, strlen(ad), text, pt, &n) : ERR_NOT_FOUND;
    pthread_rwlock_unlock(&r->lock);
    if (rc == 0 && strlen(*pt) != n) {
        seal_free_text(*pt);
        *pt = NULL;
        rc = ERR_MALFORMED;
    }
    return rc;
}

int seal_ring_blind(struct seal_ring *r, const char *field, const char *value, char out[static SEAL_BLIND_LEN + 1])
{
    size_t fl = strlen(field), vl = strlen(value);
    char *msg = malloc(fl + 1 + vl);
    if (msg == NULL)
        return ERR_NOMEM;
    memcpy(msg, field, fl);
    msg[fl] = ':';
    memcpy(msg + fl + 1, value, vl);
    uint8_t mac[32];
    pthread_rwlock_rdlock(&r->lock);
    int rc =
        r->k->have_index ? crypto_hmac(CRYPTO_SHA256, r->k->index, SEAL_KEY_LEN, msg, fl + 1 + vl, mac) : ERR_BAD_STATE;
    pthread_rwlock_unlock(&r->lock);
    secure_wipe(msg, fl + 1 + vl);
    free(msg);
    if (rc == 0)
        hex_encode(out, mac, sizeof mac);
    return rc;
}
