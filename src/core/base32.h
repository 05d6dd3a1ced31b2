/* RFC 4648 §6 base32, as authenticator apps take TOTP secrets: encoding is uppercase without
 * '=' padding; decoding accepts either case and optional trailing padding, and nothing else
 * (no spaces, no dashes): a secret pasted wrong should fail, not decode to another key. */
#ifndef VEIL_CORE_BASE32_H
#define VEIL_CORE_BASE32_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed for n bytes, plus the NUL. */
size_t base32_encoded_size(size_t n);
/* Encodes and NUL-terminates; returns the length without the NUL. */
size_t base32_encode(char *out, const uint8_t *in, size_t len);
/* Decodes inlen characters into out (cap bytes). Leftover bits must be zero (canonical form),
 * padding, when present, must make a multiple of 8 characters. ERR_MALFORMED, ERR_TOO_LONG. */
int base32_decode(uint8_t *out, size_t cap, size_t *outlen, const char *in, size_t inlen);

#endif
