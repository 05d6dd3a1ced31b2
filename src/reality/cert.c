/* Temporary certificate: DER built with the wire writers; HMAC signature; client check. */
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "core/wire.h"
#include "crypto/crypto.h"
#include "reality/cert.h"

static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const char year_one[] = "00010101000000Z";

enum {
    DER_INTEGER = 0x02,
    DER_BIT_STRING = 0x03,
    DER_SEQUENCE = 0x30,
    DER_GENERALIZED_TIME = 0x18,
    DER_CTX0 = 0xa0,
};

/* Opens a DER TLV. long_bytes = 0: short-form length (< 128); 1..3: 0x80|n then n length bytes. */
static int der_open(struct buf *b, uint8_t tag, uint8_t long_bytes, struct wire_block *blk)
{
    TRY(wire_wr_u8(b, tag));
    if (long_bytes)
        TRY(wire_wr_u8(b, (uint8_t)(0x80 | long_bytes)));
    return wire_wr_open(b, long_bytes ? long_bytes : 1, blk);
}

static int der_close(struct buf *b, const struct wire_block *blk, uint8_t long_bytes)
{
    size_t n = buf_len(b) - blk->at - blk->width;
    if (long_bytes == 0 && n >= 0x80)
        return ERR_RANGE;
    if (long_bytes == 1 && n < 0x80)
        return ERR_RANGE; /* DER needs the short form */
    return wire_wr_close(b, blk);
}

static int der_alg_ed25519(struct buf *b)
{
    struct wire_block s;
    TRY(der_open(b, DER_SEQUENCE, 0, &s));
    TRY(wire_wr_bytes(b, oid_ed25519, sizeof(oid_ed25519)));
    return der_close(b, &s, 0);
}

static int der_tbs(struct buf *b, const uint8_t pub[32])
{
    struct wire_block tbs, v, val, spki, bits;
    TRY(der_open(b, DER_SEQUENCE, 0, &tbs));
    TRY(der_open(b, DER_CTX0, 0, &v)); /* version [0] EXPLICIT INTEGER 2 (v3) */
    TRY(wire_wr_bytes(b, "\x02\x01\x02", 3));
    TRY(der_close(b, &v, 0));
    TRY(wire_wr_bytes(b, "\x02\x01\x00", 3)); /* serialNumber 0 */
    TRY(der_alg_ed25519(b));
    TRY(wire_wr_bytes(b, "\x30\x00", 2)); /* issuer: empty Name */
    TRY(der_open(b, DER_SEQUENCE, 0, &val));
    for (int i = 0; i < 2; i++) {
        TRY(wire_wr_u8(b, DER_GENERALIZED_TIME));
        TRY(wire_wr_u8(b, (uint8_t)(sizeof(year_one) - 1)));
        TRY(wire_wr_bytes(b, year_one, sizeof(year_one) - 1));
    }
    TRY(der_close(b, &val, 0));
    TRY(wire_wr_bytes(b, "\x30\x00", 2)); /* subject: empty Name */
    TRY(der_open(b, DER_SEQUENCE, 0, &spki));
    TRY(der_alg_ed25519(b));
    TRY(der_open(b, DER_BIT_STRING, 0, &bits));
    TRY(wire_wr_u8(b, 0)); /* no unused bits */
    TRY(wire_wr_bytes(b, pub, 32));
    TRY(der_close(b, &bits, 0));
    TRY(der_close(b, &spki, 0));
    return der_close(b, &tbs, 0);
}

static int build_der(struct buf *b, const uint8_t priv[32], const uint8_t pub[32])
{
    struct wire_block cert, sig;
    TRY(der_open(b, DER_SEQUENCE, 1, &cert));
    size_t tbs_at = buf_len(b);
    TRY(der_tbs(b, pub));
    size_t tbs_len = buf_len(b) - tbs_at;
    TRY(der_alg_ed25519(b));
    TRY(der_open(b, DER_BIT_STRING, 0, &sig));
    TRY(wire_wr_u8(b, 0));
    uint8_t s[64];
    TRY(crypto_ed25519_sign(priv, buf_data(b) + tbs_at, tbs_len, s));
    TRY(wire_wr_bytes(b, s, sizeof(s)));
    TRY(der_close(b, &sig, 0));
    return der_close(b, &cert, 1);
}

int reality_cert_init(struct reality_cert *c, const uint8_t *seed)
{
    memset(c, 0, sizeof(*c));
    int rc = seed ? (memcpy(c->ed_priv, seed, 32), crypto_ed25519_public(c->ed_priv, c->ed_pub))
                  : crypto_ed25519_keypair(c->ed_priv, c->ed_pub);
    if (rc < 0)
        goto fail;
    struct buf b;
    buf_init_fixed(&b, c->der, sizeof(c->der));
    rc = build_der(&b, c->ed_priv, c->ed_pub);
    if (rc == 0 && buf_len(&b) != REALITY_CERT_DER_LEN)
        rc = ERR_INTERNAL;
    if (rc == 0)
        return 0;
fail:
    reality_cert_dispose(c);
    return rc;
}

void reality_cert_dispose(struct reality_cert *c)
{
    secure_wipe(c->ed_priv, sizeof(c->ed_priv));
}

int reality_cert_for_conn(const struct reality_cert *c, const uint8_t auth_key[static 32],
                          uint8_t der[static REALITY_CERT_DER_LEN])
{
    memcpy(der, c->der, REALITY_CERT_DER_LEN);
    return crypto_hmac(CRYPTO_SHA512, auth_key, 32, c->ed_pub, 32, der + REALITY_CERT_SIG_OFFSET);
}

int reality_cert_write_msg(struct buf *out, const uint8_t *der, size_t der_len)
{
    struct wire_block msg, list, entry;
    TRY(wire_wr_u8(out, 11));
    TRY(wire_wr_open(out, 3, &msg));
    TRY(wire_wr_u8(out, 0)); /* certificate_request_context */
    TRY(wire_wr_open(out, 3, &list));
    TRY(wire_wr_open(out, 3, &entry));
    TRY(wire_wr_bytes(out, der, der_len));
    TRY(wire_wr_close(out, &entry));
    TRY(wire_wr_u16(out, 0)); /* no entry extensions */
    TRY(wire_wr_close(out, &list));
    return wire_wr_close(out, &msg);
}

const char *reality_cert_verdict_str(enum reality_cert_verdict v)
{
    switch (v) {
    case REALITY_CERT_REALITY:
        return "REALITY server";
    case REALITY_CERT_NOT_REALITY:
        return "real website";
    default:
        return "unknown";
    }
}

/* Reads one DER TLV with the expected tag (definite lengths up to 3 bytes, minimal form). */
static int der_rd(struct wire_rd *r, uint8_t tag, struct wire_rd *content)
{
    uint8_t t, l0;
    TRY(wire_rd_u8(r, &t));
    TRY(wire_rd_u8(r, &l0));
    if (t != tag)
        return ERR_MALFORMED;
    size_t n = l0;
    if (l0 & 0x80) {
        size_t nb = l0 & 0x7f;
        if (nb == 0 || nb > 3)
            return ERR_MALFORMED;
        n = 0;
        for (size_t i = 0; i < nb; i++) {
            uint8_t v;
            TRY(wire_rd_u8(r, &v));
            if (i == 0 && v == 0)
                return ERR_MALFORMED;
            n = n << 8 | v;
        }
        if (n < 0x80)
            return ERR_MALFORMED;
    }
    struct bytes body;
    TRY(wire_rd_bytes(r, n, &body));
    *content = wire_rd_init(body.p, body.len);
    return 0;
}

/* Skips one TLV of any tag. */
static int der_skip(struct wire_rd *r)
{
    if (wire_rd_left(r) < 1)
        return ERR_MALFORMED;
    struct wire_rd tmp;
    return der_rd(r, r->p[r->pos], &tmp);
}

/* Finds the Ed25519 public key and the signature bits; ERR_NOT_FOUND if the key is not Ed25519. */
static int der_leaf(const uint8_t *der, size_t len, const uint8_t **pub, struct bytes *sig)
{
    struct wire_rd r = wire_rd_init(der, len), cert, tbs, spki, alg, key, sigbits;
    TRY(der_rd(&r, DER_SEQUENCE, &cert));
    TRY(wire_rd_done(&r));
    TRY(der_rd(&cert, DER_SEQUENCE, &tbs));
    if (wire_rd_left(&tbs) > 0 && tbs.p[tbs.pos] == DER_CTX0)
        TRY(der_skip(&tbs)); /* version */
    for (int i = 0; i < 5; i++)
        TRY(der_skip(&tbs)); /* serial, signature, issuer, validity, subject */
    TRY(der_rd(&tbs, DER_SEQUENCE, &spki));
    TRY(der_rd(&spki, DER_SEQUENCE, &alg));
    TRY(der_rd(&spki, DER_BIT_STRING, &key));
    TRY(wire_rd_done(&spki));
    TRY(der_skip(&cert)); /* signatureAlgorithm */
    TRY(der_rd(&cert, DER_BIT_STRING, &sigbits));
    TRY(wire_rd_done(&cert));
    uint8_t unused;
    TRY(wire_rd_u8(&sigbits, &unused));
    if (unused != 0)
        return ERR_MALFORMED;
    *sig = bytes_of(wire_rd_ptr(&sigbits), wire_rd_left(&sigbits));
    if (wire_rd_left(&alg) != sizeof(oid_ed25519) || memcmp(wire_rd_ptr(&alg), oid_ed25519, sizeof(oid_ed25519)))
        return ERR_NOT_FOUND;
    if (wire_rd_left(&key) != 33 || key.p[0] != 0)
        return ERR_NOT_FOUND;
    *pub = key.p + 1;
    return 0;
}

enum reality_cert_verdict reality_cert_verify_der(const uint8_t *der, size_t len, const uint8_t auth_key[static 32])
{
    const uint8_t *pub;
    struct bytes sig;
    uint8_t mac[64];
    if (der_leaf(der, len, &pub, &sig) < 0 || sig.len != sizeof(mac))
        return REALITY_CERT_NOT_REALITY;
    if (crypto_hmac(CRYPTO_SHA512, auth_key, 32, pub, 32, mac) < 0)
        return REALITY_CERT_NOT_REALITY;
    bool ok = secure_memcmp(mac, sig.p, sizeof(mac)) == 0;
    secure_wipe(mac, sizeof(mac));
    return ok ? REALITY_CERT_REALITY : REALITY_CERT_NOT_REALITY;
}

int reality_cert_verify_msg(const uint8_t *msg, size_t len, const uint8_t auth_key[static 32],
                            enum reality_cert_verdict *verdict)
{
    struct wire_rd r = wire_rd_init(msg, len), body, ctx, list, leaf, exts;
    uint8_t type;
    *verdict = REALITY_CERT_NOT_REALITY; /* also on a malformed message */
    if (wire_rd_u8(&r, &type) < 0 || type != 11 || wire_rd_vec24(&r, &body) < 0 || wire_rd_done(&r) < 0)
        return ERR_MALFORMED;
    if (wire_rd_vec8(&body, &ctx) < 0 || wire_rd_vec24(&body, &list) < 0 || wire_rd_done(&body) < 0)
        return ERR_MALFORMED;
    if (wire_rd_vec24(&list, &leaf) < 0 || wire_rd_left(&leaf) == 0 || wire_rd_vec16(&list, &exts) < 0)
        return ERR_MALFORMED;
    while (wire_rd_left(&list) > 0) { /* the rest of the chain must be well formed too */
        struct wire_rd c, e;
        if (wire_rd_vec24(&list, &c) < 0 || wire_rd_left(&c) == 0 || wire_rd_vec16(&list, &e) < 0)
            return ERR_MALFORMED;
    }
    *verdict = reality_cert_verify_der(leaf.p, leaf.len, auth_key);
    return 0;
}
