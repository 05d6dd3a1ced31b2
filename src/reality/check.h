/* One active check of a REALITY target, sans-IO: the Chrome-shaped hello `veil client` sends
 * (a random server key, so nobody can authenticate it), the target's answer learned exactly as
 * the node learns it (reality/target.h), and our TLS 1.3 client run on the same bytes without
 * trust decisions, to see the certificate chain that TLS 1.3 encrypts and the node never sees.
 * `veil scan` and the node's periodic target check (node/target_health.h) drive it over their own
 * sockets:
 *
 *   reality_check_begin(k, sni, pq, now_ms, out)      -> send out
 *   while (!reality_check_settled(k)) reality_check_feed(k, bytes, n, out) -> send out
 *   reality_check_judge(k, now_s, &res)
 *
 * Once our TLS client has finished, the check asks for the site's front page over the same
 * connection (GET /, HTTP/2 when the target chose h2, else HTTP/1.1; reality/http_answer.h):
 * a redirect to another registrable domain is the verdict REALITY_V_REDIRECT. The check is
 * settled when that answer's status is known (or the exchange failed).
 *
 * The caller gives up when the target goes quiet (a second after the TLS client settled is
 * enough: the node's view may want more than the client needs) and judges what arrived. */
#ifndef VEIL_REALITY_CHECK_H
#define VEIL_REALITY_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "reality/http_answer.h"
#include "reality/target.h"
#include "reality/verdict.h"

struct tls13_conn;
struct x25519mlkem768_client;

struct reality_check {
    struct reality_target target;
    struct tls13_conn *tls;
    int tls_rc; /* ERR_NEED_MORE while running, 0 done, or the TLS client's failure */
    struct buf in, leaf;
    size_t n_certs, certs_total;
    char sni[256];
    struct x25519mlkem768_client *hybrid;
    void *verifier;                   /* the certificate callback's state (owned) */
    struct reality_http_answer *http; /* GET / after the handshake (heap: it is large) */
    int http_rc;                      /* ERR_NEED_MORE while waiting, 0 answered, else why not */
    struct buf app;                   /* decrypted bytes not yet given to the HTTP parser */
};

/* What a check found, judged. */
struct reality_check_result {
    enum reality_verdict verdict;
    const char *detail; /* static text or NULL */
    bool tls13;         /* a TLS 1.3 ServerHello */
    uint16_t group;     /* the ServerHello's key-share group (0 unknown) */
    uint16_t suite;
    bool h2;                /* ALPN h2 selected */
    bool cert_seen;         /* the leaf was parsed */
    bool cert_names_sni;    /* it names the SNI we sent */
    int64_t cert_not_after; /* Unix seconds; 0 when not seen */
    char cert_cn[128];      /* the leaf's subject CN, for messages */
    uint64_t layout;        /* a fingerprint of the flight's record lengths (0: none) */
    size_t n_certs, certs_total;
    int http_status;    /* the answer to GET / (0: none) */
    char location[256]; /* its Location, cut to fit ("" none) */
};

/* Starts a check: appends the hello to out. `pq` also offers X25519MLKEM768 (as Chrome).
 * 0, ERR_NOMEM, ERR_RANGE (SNI too long), ERR_CRYPTO. Dispose in every case. */
int reality_check_begin(struct reality_check *k, const char *sni, bool pq, uint64_t now_ms, struct buf *out);
/* Feeds bytes from the target; replies (Finished, close_notify) are appended to out. 0 or
 * ERR_NOMEM (other failures are recorded and judged, not returned). */
int reality_check_feed(struct reality_check *k, const uint8_t *p, size_t n, struct buf *out);
/* Both views are decided and GET / answered or failed (nothing more to wait for). */
bool reality_check_settled(const struct reality_check *k);
/* The TLS client has finished (successfully or not); the node's view may still wait. */
bool reality_check_tls_done(const struct reality_check *k);
/* Judges what arrived. A flight the node can follow still fails on a certificate that does not
 * name the SNI (REALITY_V_CERT_NAME), is outside its validity at now_s (REALITY_V_CERT_EXPIRED),
 * or a front page that redirects to another registrable domain (REALITY_V_REDIRECT). */
void reality_check_judge(const struct reality_check *k, int64_t now_s, struct reality_check_result *res);
void reality_check_dispose(struct reality_check *k);

/* FNV-1a over the plan's record lengths: equal layouts, equal fingerprints (0 for no plan). */
uint64_t reality_plan_fingerprint(const struct reality_target_plan *p);

#endif
