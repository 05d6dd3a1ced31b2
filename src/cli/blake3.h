/* BLAKE3-256 for short inputs (one chunk, up to 1024 bytes). Only `veil x25519` needs it, for
 * the informational "Hash32" line Xray prints (spec/config-and-links.md §3.1); libcrypto has
 * no BLAKE3. Written from the BLAKE3 specification. */
#ifndef VEIL_CLI_BLAKE3_H
#define VEIL_CLI_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE3_CHUNK_LEN 1024

/* Hashes len <= BLAKE3_CHUNK_LEN bytes into 32 bytes. ERR_TOO_LONG for longer input. */
int blake3_hash_short(const void *in, size_t len, uint8_t out[static 32]);

#endif
