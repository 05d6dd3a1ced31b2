/* TLS 1.3 record layer: header checks, nonce = iv XOR seq, AEAD with the header as AAD. */
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "core/wire.h"
#include "tls13/record.h"

int tls13_record_parse_header(const uint8_t *in, size_t inlen, struct tls13_record_hdr *hdr)
{
    if (inlen < TLS13_RECORD_HDR_LEN)
        return ERR_NEED_MORE;
    hdr->type = in[0];
    hdr->version = wire_be16(in + 1);
    hdr->len = wire_be16(in + 3);
    switch (hdr->type) {
    case TLS13_CT_APPLICATION_DATA:
        if (hdr->version != 0x0303)
            return TLS13_ERR_SEND(TLS13_ALERT_PROTOCOL_VERSION);
        if (hdr->len > TLS13_MAX_CIPHERTEXT)
            return TLS13_ERR_SEND(TLS13_ALERT_RECORD_OVERFLOW);
        if (hdr->len == 0)
            return TLS13_ERR_SEND(TLS13_ALERT_DECODE_ERROR);
        return 0;
    case TLS13_CT_CHANGE_CIPHER_SPEC:
    case TLS13_CT_ALERT:
    case TLS13_CT_HANDSHAKE:
        if (hdr->version < 0x0301 || hdr->version > 0x0303)
            return TLS13_ERR_SEND(TLS13_ALERT_PROTOCOL_VERSION);
        if (hdr->len > TLS13_MAX_PLAINTEXT)
            return TLS13_ERR_SEND(TLS13_ALERT_RECORD_OVERFLOW);
        /* zero-length handshake or alert fragments are forbidden (RFC 8446 §5.1) */
        if (hdr->len == 0)
            return TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE);
        return 0;
    default:
        return TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE);
    }
}

int tls13_cipher_init_raw(struct tls13_cipher *c, enum crypto_aead a, const uint8_t *key, const uint8_t iv[static 12],
                          bool encrypt)
{
    struct crypto_aead_ctx *ctx = crypto_aead_new(a, key, encrypt);
    if (ctx == NULL)
        return ERR_CRYPTO;
    crypto_aead_free(c->aead);
    c->aead = ctx;
    memcpy(c->iv, iv, TLS13_IV_LEN);
    c->seq = 0;
    return 0;
}

int tls13_cipher_init(struct tls13_cipher *c, const struct tls13_suite *s, const uint8_t *secret, bool encrypt)
{
    uint8_t key[CRYPTO_AEAD_KEY_MAX], iv[TLS13_IV_LEN];
    int rc = tls13_traffic_keys(s, secret, key, iv);
    if (rc == 0)
        rc = tls13_cipher_init_raw(c, s->aead, key, iv, encrypt);
    if (rc == 0) {
        c->suite = s;
        if (secret != c->secret)
            memcpy(c->secret, secret, s->hash_len);
    }
    secure_wipe(key, sizeof(key));
    secure_wipe(iv, sizeof(iv));
    return rc;
}

int tls13_cipher_update(struct tls13_cipher *c, bool encrypt)
{
    if (c->suite == NULL)
        return ERR_BAD_STATE;
    TRY(tls13_next_traffic_secret(c->suite->hash, c->secret));
    return tls13_cipher_init(c, c->suite, c->secret, encrypt);
}

void tls13_cipher_dispose(struct tls13_cipher *c)
{
    crypto_aead_free(c->aead);
    secure_wipe(c, sizeof(*c));
    c->aead = NULL;
}

static void make_nonce(const struct tls13_cipher *c, uint8_t nonce[static 12])
{
    memcpy(nonce, c->iv, TLS13_IV_LEN);
    for (int i = 0; i < 8; i++)
        nonce[TLS13_IV_LEN - 1 - i] ^= (uint8_t)(c->seq >> (8 * i));
}

int tls13_record_seal(struct tls13_cipher *c, uint8_t type, const void *data, size_t len, size_t pad, struct buf *out)
{
    if (c->aead == NULL)
        return ERR_BAD_STATE;
    if (len > TLS13_MAX_PLAINTEXT || pad > TLS13_MAX_PLAINTEXT + 1 || len + 1 + pad > TLS13_MAX_PLAINTEXT + 1)
        return ERR_TOO_LONG;
    if (c->seq == UINT64_MAX)
        return ERR_LIMIT;
    size_t inner = len + 1 + pad, total = TLS13_RECORD_HDR_LEN + inner + CRYPTO_AEAD_TAG_LEN;
    TRY(buf_reserve(out, total));
    uint8_t *rec = buf_tail(out);
    uint8_t *pt = rec + TLS13_RECORD_HDR_LEN;
    /* Encrypt straight from data into the record (no copy of the plaintext first), unless
     * data overlaps the record at another offset: then move it into place first. */
    const uint8_t *src = data;
    uintptr_t s0 = (uintptr_t)src, p0 = (uintptr_t)pt, r0 = (uintptr_t)rec;
    if (len > 0 && s0 != p0 && s0 < r0 + total && r0 < s0 + len) {
        memmove(pt, data, len);
        src = pt;
    }
    rec[0] = TLS13_CT_APPLICATION_DATA;
    wire_put_be16(rec + 1, 0x0303);
    wire_put_be16(rec + 3, (uint16_t)(inner + CRYPTO_AEAD_TAG_LEN));
    pt[len] = type;
    memset(pt + len + 1, 0, pad);
    uint8_t nonce[TLS13_IV_LEN];
    make_nonce(c, nonce);
    TRY(crypto_aead_seal2(c->aead, nonce, rec, TLS13_RECORD_HDR_LEN, src, len, pt + len, 1 + pad, pt));
    c->seq++;
    buf_produce(out, total);
    return 0;
}

int tls13_record_seal_to(struct tls13_cipher *c, uint8_t type, const void *data, size_t len, size_t total,
                         struct buf *out)
{
    if (total < TLS13_RECORD_OVERHEAD + len)
        return ERR_RANGE;
    return tls13_record_seal(c, type, data, len, total - TLS13_RECORD_OVERHEAD - len, out);
}

int tls13_record_open(struct tls13_cipher *c, const uint8_t *rec, size_t reclen, uint8_t *out, uint8_t *type,
                      size_t *outlen)
{
    if (c->aead == NULL)
        return ERR_BAD_STATE;
    if (reclen < TLS13_RECORD_HDR_LEN + CRYPTO_AEAD_TAG_LEN + 1)
        return TLS13_ERR_SEND(TLS13_ALERT_BAD_RECORD_MAC);
    if (c->seq == UINT64_MAX)
        return ERR_LIMIT;
    uint8_t nonce[TLS13_IV_LEN];
    make_nonce(c, nonce);
    size_t ctlen = reclen - TLS13_RECORD_HDR_LEN;
    int rc = crypto_aead_open(c->aead, nonce, rec, TLS13_RECORD_HDR_LEN, rec + TLS13_RECORD_HDR_LEN, ctlen, out);
    if (rc == ERR_DECRYPT)
        return TLS13_ERR_SEND(TLS13_ALERT_BAD_RECORD_MAC);
    TRY(rc);
    c->seq++;
    size_t n = ctlen - CRYPTO_AEAD_TAG_LEN;
    while (n > 0 && out[n - 1] == 0)
        n--;
    if (n == 0)
        return TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE);
    n--;
    if (n > TLS13_MAX_PLAINTEXT)
        return TLS13_ERR_SEND(TLS13_ALERT_RECORD_OVERFLOW);
    *type = out[n];
    *outlen = n;
    return 0;
}

int tls13_record_plain(uint8_t type, uint16_t version, const void *data, size_t len, struct buf *out)
{
    if (len > TLS13_MAX_PLAINTEXT)
        return ERR_TOO_LONG;
    TRY(buf_reserve(out, TLS13_RECORD_HDR_LEN + len));
    uint8_t *rec = buf_tail(out);
    rec[0] = type;
    wire_put_be16(rec + 1, version);
    wire_put_be16(rec + 3, (uint16_t)len);
    if (len > 0)
        memcpy(rec + TLS13_RECORD_HDR_LEN, data, len);
    buf_produce(out, TLS13_RECORD_HDR_LEN + len);
    return 0;
}
