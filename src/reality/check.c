/* An active REALITY target check (reality/check.h). */
#include "reality/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/container.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "crypto/hybrid_x25519mlkem768.h"
#include "reality/client.h"
#include "reality/session.h"
#include "tls13/tls13.h"

#define LEAF_MAX 65536

/* Lives as long as the conn: tls13_conn_new keeps a pointer to its ctx. */
struct check_verifier {
    struct tls13_verify_certificate base;
    struct reality_check *k;
    struct tls13_ctx ctx;
};

static int certs_cb(struct tls13_verify_certificate *self, struct tls13_conn *conn, const struct bytes *chain, size_t n)
{
    (void)conn;
    struct reality_check *k = container_of(self, struct check_verifier, base)->k;
    k->n_certs = n;
    k->certs_total = 0;
    for (size_t i = 0; i < n; i++)
        k->certs_total += chain[i].len;
    buf_reset(&k->leaf);
    if (n > 0 && chain[0].len <= LEAF_MAX && buf_append(&k->leaf, chain[0].p, chain[0].len) < 0)
        return ERR_NOMEM;
    return 0; /* a check, not a trust decision */
}

int reality_check_begin(struct reality_check *k, const char *sni, bool pq, uint64_t now_ms, struct buf *out)
{
    memset(k, 0, sizeof(*k));
    reality_target_init(&k->target);
    buf_init(&k->in);
    buf_init(&k->leaf);
    buf_init(&k->app);
    k->tls_rc = ERR_NEED_MORE;
    k->http_rc = ERR_NEED_MORE;
    size_t sl = sni ? strlen(sni) : 0;
    if (sl >= sizeof(k->sni))
        return ERR_RANGE;
    if (sl)
        memcpy(k->sni, sni, sl + 1);
    struct check_verifier *v = calloc(1, sizeof(*v));
    if (v == NULL)
        return ERR_NOMEM;
    v->base.cb = certs_cb;
    v->k = k;
    k->verifier = v;
    v->ctx = (struct tls13_ctx){
        .server_name = sl ? k->sni : NULL,
        .verify_certificate = &v->base,
        .insecure_skip_verify = true, /* RSA/ECDSA sites: chain and signature are not our question */
    };
    if ((k->tls = tls13_conn_new(&v->ctx, false)) == NULL)
        return ERR_NOMEM;
    struct reality_client_params p = {.server_name = k->sni, .now_ms = now_ms};
    int rc = crypto_random(p.server_public_key, sizeof(p.server_public_key)); /* nobody's key */
    if (rc == 0 && pq) {
        if ((k->hybrid = calloc(1, sizeof(*k->hybrid))) == NULL)
            return ERR_NOMEM;
        p.hybrid_keygen = reality_hybrid_keygen;
        p.hybrid_arg = k->hybrid;
    }
    struct reality_client_keys keys;
    memset(&keys, 0, sizeof(keys));
    struct buf hello;
    buf_init(&hello);
    rc = rc ? rc : reality_client_build(&p, &hello, &keys);
    if (rc == 0)
        rc = reality_client_prepare(k->tls, buf_data(&hello), buf_len(&hello), &keys,
                                    keys.offered_hybrid ? k->hybrid : NULL);
    reality_client_keys_wipe(&keys);
    buf_dispose(&hello);
    size_t used = 0;
    if (rc == 0)
        rc = tls13_handshake(k->tls, NULL, 0, &used, out);
    return rc == ERR_NEED_MORE ? 0 : rc < 0 ? rc : ERR_BAD_STATE;
}

/* Ends the HTTP exchange with `rc` and says goodbye (close_notify). */
static void http_end(struct reality_check *k, int rc, struct buf *out)
{
    k->http_rc = rc;
    buf_dispose(&k->app);
    (void)tls13_close(k->tls, out);
}

/* After the handshake: GET / over the same TLS, then its answer (reality/http_answer.h). */
static int http_step(struct reality_check *k, struct buf *out)
{
    if (k->http == NULL) {
        struct bytes alpn = tls13_conn_alpn(k->tls);
        bool h2 = alpn.len == 2 && memcmp(alpn.p, "h2", 2) == 0;
        if ((k->http = malloc(sizeof(*k->http))) == NULL)
            return ERR_NOMEM;
        reality_http_answer_init(k->http, h2);
        struct buf req;
        buf_init(&req);
        int rc = reality_http_request(&req, h2, k->sni[0] ? k->sni : "localhost");
        if (rc == 0)
            rc = tls13_send(k->tls, buf_data(&req), buf_len(&req), out);
        buf_dispose(&req);
        if (rc < 0) {
            http_end(k, rc, out);
            return rc == ERR_NOMEM ? rc : 0;
        }
    }
    while (k->http_rc == ERR_NEED_MORE && buf_len(&k->in) > 0) {
        size_t used = 0;
        int rc = tls13_recv(k->tls, buf_data(&k->in), buf_len(&k->in), &used, &k->app, out);
        buf_consume(&k->in, used);
        if (rc == ERR_NEED_MORE)
            break;
        /* records before a close_notify (ERR_CLOSED) still carry the answer: parse them first */
        int closed = rc;
        struct buf frames; /* what the HTTP/2 client owes (a SETTINGS ack) */
        buf_init(&frames);
        rc = reality_http_answer_feed(k->http, buf_data(&k->app), buf_len(&k->app), &frames);
        buf_reset(&k->app);
        if (rc == ERR_NEED_MORE && closed < 0)
            rc = closed; /* the target hung up (or failed) before a status */
        if (buf_len(&frames) > 0)
            (void)tls13_send(k->tls, buf_data(&frames), buf_len(&frames), out);
        buf_dispose(&frames);
        if (rc != ERR_NEED_MORE)
            http_end(k, rc, out);
        if (rc == ERR_NOMEM)
            return rc;
    }
    return 0;
}

int reality_check_feed(struct reality_check *k, const uint8_t *p, size_t n, struct buf *out)
{
    if (k->target.state == REALITY_TARGET_ST_EXPECT_RECORDS) {
        size_t took = 0;
        TRY(reality_target_feed(&k->target, p, n, &took));
    }
    if (k->tls_rc != ERR_NEED_MORE && (k->tls_rc != 0 || k->http_rc != ERR_NEED_MORE))
        return 0;
    TRY(buf_append(&k->in, p, n));
    if (k->tls_rc == ERR_NEED_MORE) {
        size_t used = 0;
        k->tls_rc = tls13_handshake(k->tls, buf_data(&k->in), buf_len(&k->in), &used, out);
        buf_consume(&k->in, used);
        if (k->tls_rc == ERR_NOMEM)
            return ERR_NOMEM;
        if (k->tls_rc != 0)
            return 0;
    }
    return http_step(k, out);
}

bool reality_check_tls_done(const struct reality_check *k)
{
    return k->tls_rc != ERR_NEED_MORE;
}

bool reality_check_settled(const struct reality_check *k)
{
    return reality_check_tls_done(k) && k->target.state != REALITY_TARGET_ST_EXPECT_RECORDS &&
           (k->tls_rc != 0 || k->http_rc != ERR_NEED_MORE);
}

uint64_t reality_plan_fingerprint(const struct reality_target_plan *p)
{
    if (p->lens[REALITY_SLOT_SERVER_HELLO] == 0)
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < REALITY_SLOT__COUNT; i++)
        for (int b = 0; b < 4; b++) {
            h ^= (uint8_t)(p->lens[i] >> (8 * b));
            h *= 0x100000001b3ull;
        }
    h ^= p->combined;
    h *= 0x100000001b3ull;
    return h ? h : 1;
}

void reality_check_judge(const struct reality_check *k, int64_t now_s, struct reality_check_result *res)
{
    memset(res, 0, sizeof(*res));
    const struct reality_target_plan *plan = &k->target.plan;
    res->verdict = reality_verdict_judge(&k->target, k->tls_rc, &res->detail);
    res->tls13 = plan->lens[REALITY_SLOT_SERVER_HELLO] != 0;
    res->group = plan->group;
    res->suite = plan->cipher_suite;
    res->layout = reality_plan_fingerprint(plan);
    res->n_certs = k->n_certs;
    res->certs_total = k->certs_total;
    if (k->tls_rc == 0 && k->tls != NULL) {
        struct bytes alpn = tls13_conn_alpn(k->tls);
        res->h2 = alpn.len == 2 && memcmp(alpn.p, "h2", 2) == 0;
    }
    struct crypto_cert_info ci;
    if (buf_len(&k->leaf) > 0 && crypto_cert_info(buf_data(&k->leaf), buf_len(&k->leaf), k->sni, &ci) == 0) {
        res->cert_seen = true;
        res->cert_names_sni = k->sni[0] == '\0' || ci.names_host;
        res->cert_not_after = ci.not_after;
        memcpy(res->cert_cn, ci.subject_cn, sizeof(res->cert_cn));
        if (res->verdict == REALITY_V_SUITABLE && !res->cert_names_sni)
            res->verdict = REALITY_V_CERT_NAME;
        else if (res->verdict == REALITY_V_SUITABLE && (now_s > ci.not_after || now_s < ci.not_before))
            res->verdict = REALITY_V_CERT_EXPIRED;
    }
    if (k->http != NULL && k->http_rc == 0) {
        res->http_status = k->http->status;
        if (k->http->has_location) { /* untrusted text for terminals and JSON: printable ASCII only */
            size_t ll = strnlen(k->http->location, sizeof(res->location) - 1); /* cut to fit */
            memcpy(res->location, k->http->location, ll);
            res->location[ll] = '\0';
            for (char *c = res->location; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                    *c = '?';
        }
        /* a 3xx elsewhere: the site sends its visitors (and a prober comparing) to another site */
        if (res->verdict == REALITY_V_SUITABLE && res->http_status >= 300 && res->http_status < 400 &&
            k->http->has_location && !reality_http_same_site(k->sni, k->http->location))
            res->verdict = REALITY_V_REDIRECT;
    }
}

void reality_check_dispose(struct reality_check *k)
{
    tls13_conn_free(k->tls);
    k->tls = NULL;
    if (k->hybrid != NULL) {
        x25519mlkem768_client_wipe(k->hybrid);
        free(k->hybrid);
        k->hybrid = NULL;
    }
    free(k->verifier);
    k->verifier = NULL;
    reality_target_dispose(&k->target);
    buf_dispose(&k->in);
    buf_dispose(&k->leaf);
    buf_dispose(&k->app);
    if (k->http != NULL)
        reality_http_answer_dispose(k->http);
    free(k->http);
    k->http = NULL;
}
