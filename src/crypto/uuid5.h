/* Xray's user-id rule (spec/vless.md §3): a 32..36-character UUID text parses as a UUID;
 * any other string of 1..30 bytes maps to UUIDv5(SHA-1, all-zero namespace, string). */
#ifndef VEIL_CRYPTO_UUID5_H
#define VEIL_CRYPTO_UUID5_H

#include <stddef.h>
#include <stdint.h>

/* ERR_MALFORMED for length 0, 31, > 36, or a 32..36-length string that is not a UUID. */
int uuid_from_string(uint8_t id[static 16], const char *s, size_t len);

#endif
