/* TOTP (RFC 6238) over HOTP (RFC 4226): the second factor of admin logins. Pure: the caller
 * passes the time, so tests run the RFC's Appendix B vectors with their exact instants.
 *
 * totp_verify accepts a code of the step `now` falls in or of the `window` steps either side
 * (clock drift), and only for a step later than the last one accepted for this secret: each
 * code logs in once (RFC 6238 §5.2), even while it is still on the authenticator's screen.
 * Every candidate step is computed and compared, so timing does not tell which step matched. */
#ifndef VEIL_CRYPTO_TOTP_H
#define VEIL_CRYPTO_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

#define TOTP_SECRET_LEN 20 /* bytes made for new secrets: 160 bits, RFC 4226 §4 */
#define TOTP_DIGITS_MAX 8  /* the RFC vectors use 8; apps show 6 */
#define TOTP_WINDOW_MAX 5  /* steps either side */

struct totp_params {
    enum crypto_hash alg; /* CRYPTO_SHA1 (the default of every app), CRYPTO_SHA256, CRYPTO_SHA512 */
    unsigned digits;      /* 6..8 */
    unsigned period;      /* seconds per step, > 0 */
    unsigned window;      /* steps accepted either side, <= TOTP_WINDOW_MAX */
};
#define TOTP_PARAMS_DEFAULT ((struct totp_params){.alg = CRYPTO_SHA1, .digits = 6, .period = 30, .window = 1})

/* The step `now` (unix seconds, >= 0) falls in. */
int64_t totp_step(const struct totp_params *p, int64_t now);
/* HOTP value of counter (RFC 4226 §5.3, dynamic truncation) reduced to `digits` digits.
 * ERR_RANGE for an unsupported algorithm or digit count. */
int totp_hotp(enum crypto_hash alg, const uint8_t *key, size_t klen, uint64_t counter, unsigned digits, uint32_t *code);
/* Parses a code as typed: exactly `digits` ASCII digits, nothing else. ERR_MALFORMED. */
int totp_parse_code(const char *s, size_t len, unsigned digits, uint32_t *code);
/* 0 and *step (the matched step) when code is valid at now and newer than last_step (0: none
 * accepted yet); ERR_AUTH for a wrong code, ERR_BAD_STATE for a replay (a right code of a step
 * at or before last_step); ERR_RANGE for bad parameters. */
int totp_verify(const struct totp_params *p, const uint8_t *key, size_t klen, int64_t now, uint32_t code,
                int64_t last_step, int64_t *step);

#endif
