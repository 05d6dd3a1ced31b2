/* REALITY client: a Chrome-shaped TLS 1.3 ClientHello with the sealed session id
 * (spec/reality.md §3). Sans-IO: the RNG and the clock come from the caller.
 *
 * Shape (uTLS HelloChrome_133, which Xray's default "chrome" fingerprint sends):
 *   suites   GREASE 1301 1302 1303 c02b c02f c02c c030 cca9 cca8 c013 c014 009c 009d 002f 0035
 *   compression {0}; extensions: GREASE(empty) first and GREASE(1 byte 00) last, everything
 *   else shuffled per hello (Chrome >= 106): server_name, extended_master_secret,
 *   renegotiation_info, supported_groups {GREASE, [11ec], 001d, 0017, 0018}, ec_point_formats,
 *   session_ticket, ALPN {h2, http/1.1}, status_request, signature_algorithms, SCT,
 *   key_share {GREASE:00, [11ec:1216 bytes], 001d:32 bytes}, psk_key_exchange_modes {1},
 *   supported_versions {GREASE, 0304, 0303}, compress_certificate {brotli},
 *   application_settings (0x44cd) {h2}, GREASE ECH (outer, HKDF-SHA256/AES-128-GCM, random
 *   config id, 32-byte enc, payload 144/176/208/240 bytes). GREASE values follow BoringSSL
 *   (one seed byte each; the two extension values differ). BoringSSL's RFC 7685 padding
 *   (to a 512-byte message when it would be 256..511 bytes) is applied after the last GREASE.
 * The X25519MLKEM768 entries ([11ec]) are present only when a hybrid keygen is supplied. */
#ifndef VEIL_REALITY_CLIENT_H
#define VEIL_REALITY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Fills n bytes of randomness; 0 or a negative ERR_*. */
typedef int reality_random_fn(void *arg, void *out, size_t n);
/* Makes an X25519MLKEM768 client key share: ek (1184) || X25519 public (32), keeping the
 * secrets in its own state (arg) for the later decapsulation. 0 or a negative ERR_*. */
typedef int reality_hybrid_keygen_fn(void *arg, uint8_t share[static 1216]);

struct reality_client_params {
    uint8_t server_public_key[32]; /* REALITY "password" / pbk */
    uint8_t short_id[8];           /* right-padded with zeros */
    const char *server_name;       /* SNI; NULL or "" sends no server_name extension */
    uint8_t version[3];            /* session-id version bytes; Xray today: 26, 7, 28 */
    uint64_t now_ms;               /* Unix time; seconds go into the session id */
    reality_random_fn *random;     /* NULL: crypto_random */
    void *random_arg;
    reality_hybrid_keygen_fn *hybrid_keygen; /* NULL: offer X25519 only */
    void *hybrid_arg;
};

/* What the TLS client keeps after sending the hello. Wipe with reality_client_keys_wipe. */
struct reality_client_keys {
    uint8_t x25519_priv[32]; /* private key of the plain X25519 share (also the REALITY ECDH key) */
    uint8_t x25519_pub[32];
    uint8_t auth_key[32]; /* verifies the temporary certificate (§9) */
    bool offered_hybrid;
};

/* Appends the final ClientHello handshake message (type 1, 24-bit length, body; no record
 * header: send it as 16 03 01 LL LL + message) to `out`, with the sealed session id already in
 * place, so the bytes appended are exactly the transcript's first message. ERR_NOMEM,
 * ERR_CRYPTO (zero shared secret / libcrypto), ERR_RANGE (name too long), or the RNG's error. */
int reality_client_build(const struct reality_client_params *p, struct buf *out, struct reality_client_keys *keys);

void reality_client_keys_wipe(struct reality_client_keys *keys);

/* The 16-byte session-id plaintext of §3.1: version, 0, be32(time), shortId. */
void reality_client_plain(const uint8_t version[static 3], uint32_t unix_time, const uint8_t short_id[static 8],
                          uint8_t out[static 16]);

/* §3.2 steps 3-6 over a serialized hello (`msg`, handshake message) whose 32-byte session id
 * at offset 39 is still zero: derives AuthKey from X25519(priv, server_pub) and random, and
 * writes AES-256-GCM(plain) there. ERR_MALFORMED (no 32-byte id), ERR_CRYPTO, ERR_NOMEM. */
int reality_client_seal(uint8_t *msg, size_t len, const uint8_t priv[static 32], const uint8_t server_pub[static 32],
                        const uint8_t plain[static 16], uint8_t auth_key[static 32]);

#endif
