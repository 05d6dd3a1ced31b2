/* The TLS 1.3 hybrid group X25519MLKEM768 (codepoint 0x11EC, draft-ietf-tls-ecdhe-mlkem):
 * key-share building and shared-secret computation for both roles. ML-KEM comes first in
 * every layout:
 *   client key_share = ML-KEM-768 ek (1184) || X25519 public (32)        = 1216 bytes
 *   server key_share = ML-KEM-768 ciphertext (1088) || X25519 public (32) = 1120 bytes
 *   shared secret    = ML-KEM shared secret (32) || X25519 shared secret (32) = 64 bytes
 * All functions return 0 or a negative ERR_*: ERR_MALFORMED for a share of the wrong length or
 * an ML-KEM key failing the FIPS 203 checks, ERR_CRYPTO when X25519 gives the all-zero
 * (low-order) result or libcrypto fails. The TLS layer maps any error to illegal_parameter.
 * On error the secret output is zeroed. The *_seeded variants take the randomness as input
 * (tests, injected RNG); the others draw it from crypto_random. */
#ifndef VEIL_CRYPTO_HYBRID_X25519MLKEM768_H
#define VEIL_CRYPTO_HYBRID_X25519MLKEM768_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/mlkem768.h"

#define X25519MLKEM768_GROUP 0x11EC
#define X25519MLKEM768_CLIENT_SHARE_LEN (MLKEM768_EK_LEN + 32) /* 1216 */
#define X25519MLKEM768_SERVER_SHARE_LEN (MLKEM768_CT_LEN + 32) /* 1120 */
#define X25519MLKEM768_SECRET_LEN (MLKEM768_SS_LEN + 32)       /* 64 */
/* Where the X25519 public key sits inside each share (REALITY reads the client's). */
#define X25519MLKEM768_CLIENT_X25519_OFF MLKEM768_EK_LEN /* 1184 */
#define X25519MLKEM768_SERVER_X25519_OFF MLKEM768_CT_LEN /* 1088 */
/* Randomness consumed by the seeded variants. */
#define X25519MLKEM768_CLIENT_SEED_LEN 96 /* d (32) || z (32) || X25519 private key (32) */
#define X25519MLKEM768_SERVER_SEED_LEN 64 /* m (32) || X25519 private key (32) */

/* The client's private state between sending the ClientHello and reading the ServerHello.
 * Owned by the caller; wipe it with x25519mlkem768_client_wipe() when done. */
struct x25519mlkem768_client {
    uint8_t mlkem_dk[MLKEM768_DK_LEN];
    uint8_t x25519_priv[32];
};

/* Client: new key pairs; writes the 1216-byte key_share data to share. */
int x25519mlkem768_client_keygen(struct x25519mlkem768_client *st,
                                 uint8_t share[static X25519MLKEM768_CLIENT_SHARE_LEN]);
int x25519mlkem768_client_keygen_seeded(struct x25519mlkem768_client *st,
                                        const uint8_t seed[static X25519MLKEM768_CLIENT_SEED_LEN],
                                        uint8_t share[static X25519MLKEM768_CLIENT_SHARE_LEN]);

/* Server: checks the client's share (length, ML-KEM ek modulus check), encapsulates to its ek,
 * runs X25519 with a fresh key, and writes its 1120-byte key_share data and the 64-byte secret. */
int x25519mlkem768_server_encaps(const uint8_t *client_share, size_t client_share_len,
                                 uint8_t server_share[static X25519MLKEM768_SERVER_SHARE_LEN],
                                 uint8_t secret[static X25519MLKEM768_SECRET_LEN]);
int x25519mlkem768_server_encaps_seeded(const uint8_t *client_share, size_t client_share_len,
                                        const uint8_t seed[static X25519MLKEM768_SERVER_SEED_LEN],
                                        uint8_t server_share[static X25519MLKEM768_SERVER_SHARE_LEN],
                                        uint8_t secret[static X25519MLKEM768_SECRET_LEN]);

/* Client: the 64-byte secret from the server's share. A ciphertext that does not decapsulate
 * cleanly yields ML-KEM's implicit-rejection value (no error); the handshake then fails at
 * Finished, as the standard intends. */
int x25519mlkem768_client_decaps(const struct x25519mlkem768_client *st, const uint8_t *server_share,
                                 size_t server_share_len, uint8_t secret[static X25519MLKEM768_SECRET_LEN]);

/* Zeroes the client state. NULL is allowed. */
void x25519mlkem768_client_wipe(struct x25519mlkem768_client *st);

#endif
