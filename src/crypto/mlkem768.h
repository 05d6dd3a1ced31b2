/* ML-KEM-768 (FIPS 203), our own implementation over libcrypto's SHA-3 (OpenSSL 3.0 has no
 * ML-KEM). Keys and ciphertexts are the FIPS 203 byte strings. All functions return 0 or a
 * negative ERR_*: ERR_MALFORMED for a wrong length or an input that fails the FIPS 203 input
 * checks, ERR_CRYPTO when libcrypto fails, ERR_NOMEM. On error, secret outputs are zeroed.
 * Secret-dependent work is constant time (no secret branches or table indexes).
 * No state, no allocation besides libcrypto's hash contexts; thread safe. */
#ifndef VEIL_CRYPTO_MLKEM768_H
#define VEIL_CRYPTO_MLKEM768_H

#include <stddef.h>
#include <stdint.h>

#define MLKEM768_EK_LEN 1184 /* encapsulation key */
#define MLKEM768_DK_LEN 2400 /* decapsulation key: dk_pke || ek || H(ek) || z */
#define MLKEM768_CT_LEN 1088 /* ciphertext */
#define MLKEM768_SS_LEN 32   /* shared secret */
#define MLKEM768_SEED_LEN 32 /* each of d, z and m */

/* ML-KEM.KeyGen_internal (Algorithm 16): deterministic key pair from the seeds d and z.
 * For tests and for callers that inject their RNG; d and z must be fresh random bytes. */
int mlkem768_keygen_internal(const uint8_t d[static MLKEM768_SEED_LEN], const uint8_t z[static MLKEM768_SEED_LEN],
                             uint8_t ek[static MLKEM768_EK_LEN], uint8_t dk[static MLKEM768_DK_LEN]);
/* ML-KEM.KeyGen (Algorithm 19): d and z from crypto_random. */
int mlkem768_keygen(uint8_t ek[static MLKEM768_EK_LEN], uint8_t dk[static MLKEM768_DK_LEN]);

/* Encapsulation key check of FIPS 203 7.2: length, and every 12-bit coefficient < q
 * (ByteEncode12(ByteDecode12(ek)) == ek). 0 or ERR_MALFORMED. */
int mlkem768_check_ek(const uint8_t *ek, size_t ek_len);
/* Decapsulation key check of FIPS 203 7.3: length, and the H(ek) stored in dk matches the
 * ek stored in dk. 0 or ERR_MALFORMED. */
int mlkem768_check_dk(const uint8_t *dk, size_t dk_len);

/* ML-KEM.Encaps_internal (Algorithm 17) with the ek check: ciphertext and shared secret from
 * the 32-byte message m (which must be fresh random bytes outside tests). */
int mlkem768_encaps_internal(const uint8_t *ek, size_t ek_len, const uint8_t m[static MLKEM768_SEED_LEN],
                             uint8_t ct[static MLKEM768_CT_LEN], uint8_t ss[static MLKEM768_SS_LEN]);
/* ML-KEM.Encaps (Algorithm 20): m from crypto_random. ERR_MALFORMED for a bad ek. */
int mlkem768_encaps(const uint8_t *ek, size_t ek_len, uint8_t ct[static MLKEM768_CT_LEN],
                    uint8_t ss[static MLKEM768_SS_LEN]);

/* ML-KEM.Decaps (Algorithm 21) with the dk and ciphertext length checks and the dk hash check.
 * A ciphertext of the right length that does not re-encrypt to itself is NOT an error: ss is
 * then the implicit-rejection value J(z || ct), chosen in constant time. */
int mlkem768_decaps(const uint8_t *dk, size_t dk_len, const uint8_t *ct, size_t ct_len,
                    uint8_t ss[static MLKEM768_SS_LEN]);

#endif
