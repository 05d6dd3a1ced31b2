/* Fixed-base scalar multiplication on edwards25519 (the base point B of RFC 8032), constant
 * time in the scalar. OpenSSL 3.0 computes s*B with 25.5-bit limbs in portable C, about as
 * slow as a whole X25519 ladder; with 51-bit limbs and a table of multiples of B it is several
 * times cheaper, and every handshake needs it twice (the server's ephemeral X25519 key and the
 * Ed25519 CertificateVerify signature's R). Same results, byte for byte: tested against
 * RFC 7748/8032 vectors and against libcrypto on random scalars. */
#ifndef VEIL_CRYPTO_CURVE25519_BASE_H
#define VEIL_CRYPTO_CURVE25519_BASE_H

#include <stdint.h>

/* The X25519 public key (RFC 7748 u-coordinate of clamp(priv)*9) of a private key. */
void curve25519_x25519_base(uint8_t pub[static 32], const uint8_t priv[static 32]);

/* The RFC 8032 encoding of s*B for a scalar s given as 32 little-endian bytes with s < 2^255
 * (an Ed25519 secret scalar, or a nonce reduced mod L). */
void curve25519_ed25519_base(uint8_t out[static 32], const uint8_t s[static 32]);

#endif
