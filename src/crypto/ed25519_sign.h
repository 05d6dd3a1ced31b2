/* Ed25519 signing (RFC 8032 §5.1.6) on our fixed-base multiplication: the same signature,
 * byte for byte, as libcrypto's, at about half its cost (libcrypto 3.0 computes R = r*B with
 * 25.5-bit limbs in portable C). Verification stays with libcrypto. */
#ifndef VEIL_CRYPTO_ED25519_SIGN_H
#define VEIL_CRYPTO_ED25519_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* sig = Ed25519(seed, msg). The expanded key (secret scalar, nonce prefix, public key) is
 * kept per thread for the last seed used (compared in constant time, wiped at thread exit).
 * 0, or ERR_CRYPTO when SHA-512 fails. */
int ed25519_sign(const uint8_t seed[static 32], const void *msg, size_t len, uint8_t sig[static 64]);

/* out = in mod L (in: 64 little-endian bytes; L = 2^252 + 27742317777372353535851937790883648493).
 * Constant time. Exposed for tests. */
void ed25519_scalar_reduce(uint8_t out[static 32], const uint8_t in[static 64]);

/* out = (a * b + c) mod L for 32-byte little-endian a, b, c. Constant time. Exposed for tests. */
void ed25519_scalar_muladd(uint8_t out[static 32], const uint8_t a[static 32], const uint8_t b[static 32],
                           const uint8_t c[static 32]);

/* The same signature computed by libcrypto (crypto.c): the reference the tests compare with. */
int crypto_ed25519_sign_libcrypto(const uint8_t priv[static 32], const void *msg, size_t len, uint8_t sig[static 64]);

#endif
