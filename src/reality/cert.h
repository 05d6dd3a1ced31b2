/* The REALITY temporary certificate (spec/reality.md §8) and the client-side check of §9.
 *
 * Once per process: an Ed25519 key pair and the 178-byte DER Go's x509.CreateCertificate
 * makes for an empty template (serial 0, empty names, validity year 1). Per connection the
 * 64 signature bytes are replaced by HMAC-SHA512(AuthKey, ed25519 public key); a REALITY
 * client recognises its server by that HMAC. ML-DSA-65 (the optional extension) is not
 * implemented. */
#ifndef VEIL_REALITY_CERT_H
#define VEIL_REALITY_CERT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define REALITY_CERT_DER_LEN 178
#define REALITY_CERT_PUB_OFFSET 72
#define REALITY_CERT_SIG_OFFSET 114
#define REALITY_CERT_SIG_LEN 64

struct reality_cert {
    uint8_t ed_priv[32]; /* seed; signs CertificateVerify */
    uint8_t ed_pub[32];
    uint8_t der[REALITY_CERT_DER_LEN]; /* template; its signature is a real self-signature */
};

/* Builds the certificate. `seed` is the Ed25519 private seed, or NULL for a fresh random key.
 * ERR_CRYPTO, ERR_NOMEM. */
int reality_cert_init(struct reality_cert *c, const uint8_t *seed);
/* Wipes the private key. */
void reality_cert_dispose(struct reality_cert *c);

/* The per-connection DER: the template with HMAC-SHA512(auth_key, ed_pub) as signature. */
int reality_cert_for_conn(const struct reality_cert *c, const uint8_t auth_key[static 32],
                          uint8_t der[static REALITY_CERT_DER_LEN]);

/* Appends the TLS 1.3 Certificate handshake message carrying one certificate:
 * 0b len24 | 00 (empty context) | len24 { len24 der | 00 00 }. ERR_NOMEM, ERR_RANGE. */
int reality_cert_write_msg(struct buf *out, const uint8_t *der, size_t der_len);

enum reality_cert_verdict {
    REALITY_CERT_REALITY = 0, /* Ed25519 leaf whose signature is our HMAC: "REALITY server" */
    REALITY_CERT_NOT_REALITY, /* anything else: a real website (or a middlebox) */
    REALITY_CERT__COUNT,      /* sentinel */
};
const char *reality_cert_verdict_str(enum reality_cert_verdict v);

/* Client side (§9 step 1): looks at the leaf of a TLS 1.3 Certificate handshake message (type
 * byte included). Returns 0 with the verdict, ERR_MALFORMED when the message is not a well
 * formed Certificate message. A leaf that is not parsable DER is NOT_REALITY. */
int reality_cert_verify_msg(const uint8_t *msg, size_t len, const uint8_t auth_key[static 32],
                            enum reality_cert_verdict *verdict);
/* The same check for one DER certificate. */
enum reality_cert_verdict reality_cert_verify_der(const uint8_t *der, size_t len, const uint8_t auth_key[static 32]);

#endif
