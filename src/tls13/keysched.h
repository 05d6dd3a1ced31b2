/* TLS 1.3 key schedule (RFC 8446 §7): cipher suites, HKDF-Expand-Label, Derive-Secret,
 * the early -> handshake -> master secret chain, Finished keys and verify_data, and the
 * transcript hash. No PSK: the early secret is always HKDF-Extract(0, 0). */
#ifndef VEIL_TLS13_KEYSCHED_H
#define VEIL_TLS13_KEYSCHED_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define TLS13_AES_128_GCM_SHA256 0x1301
#define TLS13_AES_256_GCM_SHA384 0x1302
#define TLS13_CHACHA20_POLY1305_SHA256 0x1303

#define TLS13_HASH_MAX 48 /* SHA-384 */
#define TLS13_IV_LEN 12

struct tls13_suite {
    uint16_t id;
    enum crypto_aead aead;
    enum crypto_hash hash;
    size_t key_len, hash_len;
    const char *name; /* IANA name, e.g. "TLS_AES_128_GCM_SHA256" */
};

/* The suite with this code point, or NULL when we do not implement it. */
const struct tls13_suite *tls13_suite_by_id(uint16_t id);

/* HKDF-Expand-Label(secret, "tls13 " + label, context, outlen). label is a C string
 * without the "tls13 " prefix. ERR_RANGE if outlen or the label is too long. */
int tls13_hkdf_expand_label(enum crypto_hash h, const uint8_t *secret, const char *label, const uint8_t *ctx,
                            size_t ctxlen, uint8_t *out, size_t outlen);
/* Derive-Secret(secret, label, messages) with the transcript hash already computed. */
int tls13_derive_secret(enum crypto_hash h, const uint8_t *secret, const char *label, const uint8_t *thash,
                        uint8_t *out);

/* The chain of extract stages. `secret` holds the early, then handshake, then master
 * secret; wiped by tls13_ks_dispose. */
struct tls13_keysched {
    enum crypto_hash hash;
    size_t hlen;
    uint8_t secret[TLS13_HASH_MAX];
};
/* Early secret = HKDF-Extract(0, 0^hlen) for suite `s`. */
int tls13_ks_init(struct tls13_keysched *ks, const struct tls13_suite *s);
/* Handshake secret = HKDF-Extract(Derive-Secret(early, "derived", ""), ecdhe). */
int tls13_ks_handshake(struct tls13_keysched *ks, const uint8_t *ecdhe, size_t len);
/* Master secret = HKDF-Extract(Derive-Secret(hs, "derived", ""), 0). */
int tls13_ks_master(struct tls13_keysched *ks);
/* Derive-Secret(current stage, label, thash): e.g. "c hs traffic", "s ap traffic". */
int tls13_ks_derive(const struct tls13_keysched *ks, const char *label, const uint8_t *thash, uint8_t *out);
void tls13_ks_dispose(struct tls13_keysched *ks);

/* Traffic key and IV from a traffic secret ("key"/"iv" labels). */
int tls13_traffic_keys(const struct tls13_suite *s, const uint8_t *secret, uint8_t *key, uint8_t iv[static 12]);
/* finished_key = HKDF-Expand-Label(base, "finished", "", hlen) */
int tls13_finished_key(enum crypto_hash h, const uint8_t *base, uint8_t *out);
/* verify_data = HMAC(finished_key(base), thash): hlen bytes. */
int tls13_verify_data(enum crypto_hash h, const uint8_t *base, const uint8_t *thash, uint8_t *out);
/* Next generation of a traffic secret for KeyUpdate ("traffic upd"). In place. */
int tls13_next_traffic_secret(enum crypto_hash h, uint8_t *secret);

#endif
