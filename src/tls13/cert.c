/* Just enough DER to find an Ed25519 SubjectPublicKeyInfo and the signature value in an
 * X.509 certificate. No chain validation here: that is the verify callback's job. */
#include <string.h>

#include "core/err.h"
#include "core/wire.h"
#include "tls13/tls13.h"

/* Reads one DER TLV with the expected tag; sub covers its contents. */
static int der_tlv(struct wire_rd *r, uint8_t want, struct wire_rd *sub)
{
    uint8_t tag, b;
    size_t len = 0;
    if (wire_rd_u8(r, &tag) < 0 || tag != want || wire_rd_u8(r, &b) < 0)
        return ERR_MALFORMED;
    if (b < 0x80) {
        len = b;
    } else {
        size_t nb = b & 0x7f;
        if (nb == 0 || nb > 3)
            return ERR_MALFORMED;
        for (size_t i = 0; i < nb; i++) {
            uint8_t x;
            if (wire_rd_u8(r, &x) < 0)
                return ERR_MALFORMED;
            len = len << 8 | x;
        }
    }
    struct bytes v;
    if (wire_rd_bytes(r, len, &v) < 0)
        return ERR_MALFORMED;
    *sub = wire_rd_init(v.p, v.len);
    return 0;
}

static int der_skip(struct wire_rd *r, uint8_t want)
{
    struct wire_rd skip;
    return der_tlv(r, want, &skip);
}

int tls13_cert_ed25519_key(const uint8_t *der, size_t len, uint8_t pub[static 32])
{
    static const uint8_t ed25519_oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
    struct wire_rd r = wire_rd_init(der, len), cert, tbs, spki, alg, key;
    TRY(der_tlv(&r, 0x30, &cert));
    TRY(der_tlv(&cert, 0x30, &tbs));
    if (wire_rd_left(&tbs) > 0 && wire_rd_ptr(&tbs)[0] == 0xa0)
        TRY(der_skip(&tbs, 0xa0)); /* version */
    TRY(der_skip(&tbs, 0x02));     /* serialNumber */
    TRY(der_skip(&tbs, 0x30));     /* signature */
    TRY(der_skip(&tbs, 0x30));     /* issuer */
    TRY(der_skip(&tbs, 0x30));     /* validity */
    TRY(der_skip(&tbs, 0x30));     /* subject */
    TRY(der_tlv(&tbs, 0x30, &spki));
    TRY(der_tlv(&spki, 0x30, &alg));
    if (alg.len != sizeof(ed25519_oid) || memcmp(alg.p, ed25519_oid, sizeof(ed25519_oid)) != 0)
        return ERR_UNSUPPORTED;
    TRY(der_tlv(&spki, 0x03, &key));
    if (key.len != 33 || key.p[0] != 0 || wire_rd_done(&spki) < 0)
        return ERR_MALFORMED;
    memcpy(pub, key.p + 1, 32);
    return 0;
}

int tls13_cert_signature(const uint8_t *der, size_t len, struct bytes *sig)
{
    struct wire_rd r = wire_rd_init(der, len), cert, bits;
    TRY(der_tlv(&r, 0x30, &cert));
    TRY(der_skip(&cert, 0x30)); /* tbsCertificate */
    TRY(der_skip(&cert, 0x30)); /* signatureAlgorithm */
    TRY(der_tlv(&cert, 0x03, &bits));
    if (bits.len < 1 || bits.p[0] != 0 || wire_rd_done(&cert) < 0)
        return ERR_MALFORMED;
    *sig = bytes_of(bits.p + 1, bits.len - 1);
    return 0;
}
