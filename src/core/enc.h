/* Text encodings: hex, base64 (standard, padded) and base64 raw URL (no padding, as Xray
 * prints REALITY keys), and UUID text <-> 16 bytes. Decoders are strict and report
 * ERR_MALFORMED for any character outside the alphabet or a bad length. */
#ifndef VEIL_CORE_ENC_H
#define VEIL_CORE_ENC_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL; out must hold 2*len+1. */
void hex_encode(char *out, const uint8_t *in, size_t len);
/* 0..15 for one hex digit (either case), -1 for any other character. */
int hex_digit_value(char c);
/* Decodes exactly `hexlen` digits (even) into out (cap bytes); *outlen = hexlen/2.
 * Whitespace is not accepted. ERR_MALFORMED, ERR_TOO_LONG. */
int hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *hex, size_t hexlen);

enum b64_variant {
    B64_STD = 0, /* RFC 4648 §4, with '=' padding */
    B64_RAW_URL, /* RFC 4648 §5, no padding */
    B64__COUNT,  /* sentinel */
};
/* Bytes needed for the encoding of n bytes, including the NUL. */
size_t b64_encoded_size(size_t n, enum b64_variant v);
/* Encodes and NUL-terminates; returns the length without the NUL. out must hold b64_encoded_size(). */
size_t b64_encode(char *out, const uint8_t *in, size_t len, enum b64_variant v);
/* Decodes; B64_STD requires correct padding, B64_RAW_URL rejects it. Non-zero trailing bits are
 * rejected (canonical form only). ERR_MALFORMED, ERR_TOO_LONG. */
int b64_decode(uint8_t *out, size_t cap, size_t *outlen, const char *in, size_t inlen, enum b64_variant v);

#define UUID_STR_LEN 36
/* Formats 8-4-4-4-12 lowercase with a NUL (out holds 37 bytes). */
void uuid_format(char out[static UUID_STR_LEN + 1], const uint8_t id[static 16]);
/* Parses Xray's accepted UUID text (spec/vless.md §3): 32..36 characters, five hex groups
 * 8-4-4-4-12, one optional '-' before each group, any case, trailing characters ignored.
 * Strings of 1..30 bytes are not UUIDs here: they map to UUIDv5 (crypto/uuid5.h).
 * ERR_MALFORMED. */
int uuid_parse(uint8_t id[static 16], const char *s, size_t len);

#endif
