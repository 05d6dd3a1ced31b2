/* Glue between REALITY and the tls13 engine (docs/tls13.md "Hook contract for REALITY").
 *
 * Server: after reality_auth() said AUTHENTICATED and reality_target_feed() reached READY,
 * create a tls13 server conn (ctx->groups must hold the plan's group: add
 * &tls13_kex_x25519mlkem768 to follow hybrid targets), call reality_server_prepare(), feed it
 * the client's ClientHello records, and after the flight call reality_server_after_flight().
 *
 * Client: reality_client_build() -> reality_client_prepare() on a tls13 client conn whose
 * ctx->verify_certificate is a struct reality_verifier holding this connection's AuthKey. */
#ifndef VEIL_REALITY_SESSION_H
#define VEIL_REALITY_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "crypto/hybrid_x25519mlkem768.h"
#include "reality/cert.h"
#include "reality/client.h"
#include "reality/target.h"
#include "tls13/tls13.h"

/* Configures a fresh server conn: the target's ServerHello as template (our key share goes
 * in), the target's encrypted-flight layout, no ALPN, and the temporary certificate with
 * HMAC-SHA512(auth_key, edpub) as signature. ERR_BAD_STATE unless the target is READY, or
 * the tls13 setter's error. */
int reality_server_prepare(struct tls13_conn *conn, const struct reality_target *t, const struct reality_cert *cert,
                           const uint8_t auth_key[static 32]);

/* Right after the flight: when the target had a record after Finished (plan.lens[6]), the
 * empty application-data record of the same length (spec §7.2 item 4). No-op otherwise. */
int reality_server_after_flight(struct tls13_conn *conn, const struct reality_target *t, struct buf *out);

/* Client certificate check (spec §9 step 1). Put &v->base in the ctx of this connection.
 * Accepts only our server's temporary certificate; anything else is recorded as
 * REALITY_CERT_NOT_REALITY and refused with bad_certificate (the REALITY dial fails). */
struct reality_verifier {
    struct tls13_verify_certificate base;
    uint8_t auth_key[32];
    enum reality_cert_verdict verdict;
    size_t calls;
};
void reality_verifier_init(struct reality_verifier *v, const uint8_t auth_key[static 32]);
void reality_verifier_wipe(struct reality_verifier *v);

/* Hands the built hello and the private keys behind its shares to a fresh client conn.
 * `hybrid` is the state the hybrid keygen filled (NULL when no hybrid share was offered). */
int reality_client_prepare(struct tls13_conn *conn, const uint8_t *hello, size_t len,
                           const struct reality_client_keys *keys, const struct x25519mlkem768_client *hybrid);

/* A reality_hybrid_keygen_fn over the crypto module; arg is a struct x25519mlkem768_client. */
int reality_hybrid_keygen(void *arg, uint8_t share[static 1216]);

#endif
