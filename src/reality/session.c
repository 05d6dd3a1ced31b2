/* REALITY <-> tls13 glue: server conn setup from the target plan, client verifier. */
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "reality/session.h"

int reality_server_prepare(struct tls13_conn *conn, const struct reality_target *t, const struct reality_cert *cert,
                           const uint8_t auth_key[static 32])
{
    if (t->state != REALITY_TARGET_ST_READY)
        return ERR_BAD_STATE;
    struct bytes sh = reality_target_server_hello_msg(t);
    TRY(tls13_server_set_hello_template(conn, sh.p, sh.len));
    size_t lens[4], n;
    reality_plan_flight_layout(&t->plan, lens, &n);
    TRY(tls13_server_set_record_layout(conn, lens, n));
    TRY(tls13_server_set_alpn(conn, NULL, 0));
    uint8_t der[REALITY_CERT_DER_LEN];
    TRY(reality_cert_for_conn(cert, auth_key, der));
    struct bytes chain = bytes_of(der, sizeof(der));
    return tls13_server_set_certificate(conn, &chain, 1, cert->ed_priv); /* copied by tls13 */
}

int reality_server_after_flight(struct tls13_conn *conn, const struct reality_target *t, struct buf *out)
{
    size_t len = t->plan.lens[REALITY_SLOT_NEW_SESSION_TICKET];
    if (len == 0)
        return 0;
    return tls13_seal_record(conn, TLS13_CT_APPLICATION_DATA, NULL, 0, len, out);
}

static int verify_cb(struct tls13_verify_certificate *self, struct tls13_conn *conn, const struct bytes *chain,
                     size_t n)
{
    (void)conn;
    struct reality_verifier *v = (struct reality_verifier *)self;
    v->calls++;
    v->verdict = n > 0 ? reality_cert_verify_der(chain[0].p, chain[0].len, v->auth_key) : REALITY_CERT_NOT_REALITY;
    return v->verdict == REALITY_CERT_REALITY ? 0 : TLS13_ERR_SEND(TLS13_ALERT_BAD_CERTIFICATE);
}

void reality_verifier_init(struct reality_verifier *v, const uint8_t auth_key[static 32])
{
    memset(v, 0, sizeof(*v));
    v->base.cb = verify_cb;
    memcpy(v->auth_key, auth_key, 32);
    v->verdict = REALITY_CERT_NOT_REALITY;
}

void reality_verifier_wipe(struct reality_verifier *v)
{
    secure_wipe(v->auth_key, sizeof(v->auth_key));
}

int reality_client_prepare(struct tls13_conn *conn, const uint8_t *hello, size_t len,
                           const struct reality_client_keys *keys, const struct x25519mlkem768_client *hybrid)
{
    uint8_t hpriv[MLKEM768_DK_LEN + 32];
    struct tls13_client_key k[2] = {{&tls13_kex_x25519, keys->x25519_priv, 32}};
    size_t n = 1;
    if (hybrid != NULL) {
        memcpy(hpriv, hybrid->mlkem_dk, MLKEM768_DK_LEN);
        memcpy(hpriv + MLKEM768_DK_LEN, hybrid->x25519_priv, 32);
        k[n++] = (struct tls13_client_key){&tls13_kex_x25519mlkem768, hpriv, sizeof(hpriv)};
    }
    int rc = tls13_client_set_hello(conn, hello, len, k, n);
    secure_wipe(hpriv, sizeof(hpriv));
    return rc;
}

int reality_hybrid_keygen(void *arg, uint8_t share[static 1216])
{
    return x25519mlkem768_client_keygen(arg, share);
}
