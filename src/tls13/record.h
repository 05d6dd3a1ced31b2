/* TLS 1.3 record layer (RFC 8446 §5): strict header parsing and AEAD record protection
 * with per-direction sequence numbers, inner content type and zero padding.
 *
 * Sans-IO and copy-out: nothing is buffered here. Callers hand in bytes that start at a
 * record boundary; whatever they do not consume stays theirs, which is how REALITY and
 * Vision see "the exact bytes remaining unprocessed". Errors are TLS13_ERR_SEND(alert)
 * codes (alert.h) or ERR_*. */
#ifndef VEIL_TLS13_RECORD_H
#define VEIL_TLS13_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "crypto/crypto.h"
#include "tls13/alert.h"
#include "tls13/keysched.h"

enum tls13_content_type {
    TLS13_CT_INVALID = 0,
    TLS13_CT_CHANGE_CIPHER_SPEC = 20,
    TLS13_CT_ALERT = 21,
    TLS13_CT_HANDSHAKE = 22,
    TLS13_CT_APPLICATION_DATA = 23,
    TLS13_CT__MAX = 255, /* sentinel: one byte on the wire */
};

#define TLS13_RECORD_HDR_LEN 5
#define TLS13_MAX_PLAINTEXT 16384                        /* 2^14 */
#define TLS13_MAX_CIPHERTEXT (TLS13_MAX_PLAINTEXT + 256) /* 2^14 + 256 */
#define TLS13_MAX_RECORD (TLS13_RECORD_HDR_LEN + TLS13_MAX_CIPHERTEXT)
/* header + inner content type + AEAD tag */
#define TLS13_RECORD_OVERHEAD (TLS13_RECORD_HDR_LEN + 1 + CRYPTO_AEAD_TAG_LEN)

struct tls13_record_hdr {
    uint8_t type;
    uint16_t version;
    size_t len; /* fragment length, header excluded */
};

/* Parses and checks one record header at `in`:
 *   ERR_NEED_MORE          fewer than 5 bytes;
 *   unexpected_message     unknown content type;
 *   protocol_version       legacy_record_version not 0x0301..0x0303 (0x0303 for type 23);
 *   record_overflow        length > 2^14 (plaintext types) or > 2^14+256 (type 23);
 *   decode_error           zero-length handshake/alert/application_data record that is
 *                          not allowed (plaintext handshake or alert of length 0).
 * It does not require the fragment to be present: check inlen >= 5 + hdr->len. */
int tls13_record_parse_header(const uint8_t *in, size_t inlen, struct tls13_record_hdr *hdr);

/* One direction's protection state. Zeroed = no protection yet. */
struct tls13_cipher {
    struct crypto_aead_ctx *aead;
    const struct tls13_suite *suite; /* NULL when keyed with tls13_cipher_init_raw */
    uint8_t iv[TLS13_IV_LEN];
    uint8_t secret[TLS13_HASH_MAX]; /* traffic secret, kept for KeyUpdate */
    uint64_t seq;
};

/* Keys a direction from a traffic secret (key/iv by HKDF-Expand-Label), sequence 0.
 * Replaces (and frees) any previous key. */
int tls13_cipher_init(struct tls13_cipher *c, const struct tls13_suite *s, const uint8_t *secret, bool encrypt);
/* Keys a direction from raw key and IV (tests, vectors). */
int tls13_cipher_init_raw(struct tls13_cipher *c, enum crypto_aead a, const uint8_t *key, const uint8_t iv[static 12],
                          bool encrypt);
/* KeyUpdate: next traffic secret, new key/iv, sequence back to 0. */
int tls13_cipher_update(struct tls13_cipher *c, bool encrypt);
void tls13_cipher_dispose(struct tls13_cipher *c);
static inline bool tls13_cipher_active(const struct tls13_cipher *c)
{
    return c->aead != NULL;
}

/* Seals one record (outer type 23) carrying `len` bytes of content type `type` followed
 * by `pad` zero bytes, appended to out. The record is 5 + len + 1 + pad + 16 bytes long.
 * ERR_TOO_LONG if len + 1 + pad > 2^14 + 1; ERR_LIMIT when the sequence is exhausted. */
int tls13_record_seal(struct tls13_cipher *c, uint8_t type, const void *data, size_t len, size_t pad, struct buf *out);
/* Like tls13_record_seal, padding so the whole record is exactly `total` bytes long
 * (header included). ERR_RANGE if `total` is too short for the content. */
int tls13_record_seal_to(struct tls13_cipher *c, uint8_t type, const void *data, size_t len, size_t total,
                         struct buf *out);
/* Opens the complete protected record rec[0 .. 5+hdr.len) (header already checked).
 * Writes the content to out (capacity >= hdr.len), strips zero padding and returns the
 * inner type and content length. bad_record_mac on a bad tag or short record,
 * unexpected_message when the plaintext is all zeros, record_overflow when the
 * content exceeds 2^14. */
int tls13_record_open(struct tls13_cipher *c, const uint8_t *rec, size_t reclen, uint8_t *out, uint8_t *type,
                      size_t *outlen);
/* Appends an unprotected record header + fragment (ServerHello, CCS, plaintext alerts). */
int tls13_record_plain(uint8_t type, uint16_t version, const void *data, size_t len, struct buf *out);

#endif
