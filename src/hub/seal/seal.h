/* Column encryption at rest ("sealing") for the hub's database.
 *
 * A sealed value is text: standard base64 of
 *     version (1 byte, SEAL_VERSION) | key id (1 byte) | nonce (12 bytes) | ciphertext | tag (16 bytes)
 * made with AES-256-GCM under the data key named by the key id, a random 96-bit nonce per value
 * and associated data of the header (version, key id) followed by the caller's (the store uses "<table>.<column>:<row
 * id>", so a value copied to another row or column fails to open). Data keys are random and stored wrapped (the same
 * format, key id 0) under the master key, which lives only in a credential file.
 *
 * Lookups by an encrypted value use a blind index: HMAC-SHA256 under a separate random index
 * key of "<field>:<value>", as 64 hex digits.
 *
 * The key ring is shared by the store's threads: reads take a read lock, adding a key (rotation)
 * a write lock. Keys live in secmem buffers (locked, kept out of core dumps, wiped on free). */
#ifndef VEIL_HUB_SEAL_SEAL_H
#define VEIL_HUB_SEAL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN 32
#define SEAL_VERSION 1
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (2 + SEAL_NONCE_LEN + SEAL_TAG_LEN)
#define SEAL_KEY_ID_MAX 255 /* data keys are numbered 1..255; 0 marks a value wrapped by the master key */
#define SEAL_BLIND_LEN 64   /* hex digits of a blind index */

/* ---- the format, under one explicit key ---- */

/* Seals n bytes of pt under key (key id key_id, written into the value) with associated data
 * ad; *out gets malloc'd NUL-terminated base64 text. 0, ERR_NOMEM, ERR_CRYPTO. */
int seal_encrypt(const uint8_t key[static SEAL_KEY_LEN], uint8_t key_id, const void *ad, size_t adlen, const void *pt,
                 size_t n, char **out);
/* The key id a sealed value names. ERR_MALFORMED when text is not a sealed value of this version. */
int seal_key_id(const char *text, uint8_t *key_id);
/* Opens a sealed value under key with associated data ad; *pt gets the malloc'd plaintext with
 * a NUL after its *n bytes. ERR_MALFORMED (not a sealed value), ERR_DECRYPT (wrong key, wrong
 * ad, or changed bytes), ERR_NOMEM, ERR_CRYPTO. */
int seal_decrypt(const uint8_t key[static SEAL_KEY_LEN], const void *ad, size_t adlen, const char *text, char **pt,
                 size_t *n);

/* Wraps a data or index key under the master key (ad names its slot, e.g. "data:3"): *out gets
 * malloc'd text. unwrap: ERR_DECRYPT when the master key (or ad) is not the one it was wrapped
 * with. */
int seal_wrap(const uint8_t master[static SEAL_KEY_LEN], const char *ad, const uint8_t key[static SEAL_KEY_LEN],
              char **out);
int seal_unwrap(const uint8_t master[static SEAL_KEY_LEN], const char *ad, const char *text,
                uint8_t key[static SEAL_KEY_LEN]);

/* A master key from the bytes of its file: exactly 32 raw bytes, or 64 hex digits (either case)
 * with one optional trailing newline. ERR_MALFORMED otherwise. */
int seal_master_parse(const uint8_t *buf, size_t n, uint8_t out[static SEAL_KEY_LEN]);
/* Reads and parses the master key file `name` (absolute, or relative to $CREDENTIALS_DIRECTORY),
 * refusing one that group or others may access (core/secret_file.h). why (whycap bytes) says
 * what is wrong, never the content. 0 or a negative error. */
int seal_master_load(const char *name, uint8_t out[static SEAL_KEY_LEN], char *why, size_t whycap);

/* ---- the key ring ---- */

struct seal_ring;

struct seal_ring *seal_ring_new(void);
void seal_ring_free(struct seal_ring *r);
/* Adds data key id (1..255); the key is copied. ERR_RANGE, ERR_EXISTS. */
int seal_ring_add(struct seal_ring *r, uint8_t id, const uint8_t key[static SEAL_KEY_LEN]);
/* Makes data key id (already added) the one new values are sealed under. ERR_NOT_FOUND. */
int seal_ring_set_current(struct seal_ring *r, uint8_t id);
/* The current data key id (0 before one is set). */
uint8_t seal_ring_current(struct seal_ring *r);
/* Sets the blind-index key (copied). */
void seal_ring_set_index_key(struct seal_ring *r, const uint8_t key[static SEAL_KEY_LEN]);

/* Seals NUL-terminated pt under the current data key with ad (a NUL-terminated string).
 * ERR_BAD_STATE without a current key. */
int seal_ring_seal(struct seal_ring *r, const char *ad, const char *pt, char **out);
/* Opens a value under the data key it names. ERR_NOT_FOUND when the ring lacks that key, plus
 * the errors of seal_decrypt. *pt is malloc'd and NUL-terminated (values holding a NUL byte are
 * refused as ERR_MALFORMED: the store seals text). */
int seal_ring_open(struct seal_ring *r, const char *ad, const char *text, char **pt);
/* The blind index of value under field, 64 lowercase hex digits and a NUL. ERR_BAD_STATE
 * without an index key. */
int seal_ring_blind(struct seal_ring *r, const char *field, const char *value, char out[static SEAL_BLIND_LEN + 1]);

/* Frees a plaintext from seal_decrypt/seal_ring_open after wiping it. */
void seal_free_text(char *pt);

#endif
