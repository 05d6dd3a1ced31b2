/* The TLS 1.3 handshake of an authenticated client (spec/reality.md §7): our flight shaped like
 * the target's, then the client's Finished; the target is dropped once it is done (§7.3). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "node/session_int.h"

void session_fail_tls(struct session *s, int err)
{
    /* An alert the engine chose is already in cout; best effort. */
    if (s->cfd >= 0)
        (void)session_write_some(s->cfd, &s->hs->cout);
    uint64_t sup;
    if (session_probe_log(s, &sup))
        log_debug("node", s->id, "tls_failed", LF_STR("err", tls13_err_str(err)), LF_UINT("suppressed", sup));
    reality_outcome_count(REALITY_OUTCOME_HANDSHAKE_FAILED);
    session_close(s, NODE_CR_TLS, err);
}

/* Builds and queues our flight from the target's (§7.1, §7.2). */
void session_send_flight(struct session *s)
{
    struct node_worker *w = s->w;
    const struct reality_target_plan *plan = &s->hs->target.plan;
    if (plan->group != TLS13_GROUP_X25519 && w->groups[1] == NULL) {
        log_warn("node", s->id, "target_group_unsupported", LF_UINT("group", plan->group),
                 LF_STR("hint", "the target chose X25519MLKEM768, which this build cannot answer"));
        session_close(s, NODE_CR_TARGET_FLIGHT, ERR_UNSUPPORTED);
        return;
    }
    s->tls = tls13_conn_new(&w->tls_server, true);
    if (s->tls == NULL) {
        session_close(s, NODE_CR_NOMEM, ERR_NOMEM);
        return;
    }
    uint8_t der[REALITY_CERT_DER_LEN];
    size_t lens[4], n = 0;
    reality_plan_flight_layout(plan, lens, &n);
    struct bytes sh = reality_target_server_hello_msg(&s->hs->target);
    int rc = reality_cert_for_conn(&w->rt->cert, s->hs->auth.auth_key, der);
    struct bytes chain = {der, sizeof(der)};
    if (rc == 0)
        rc = tls13_server_set_hello_template(s->tls, sh.p, sh.len);
    if (rc == 0)
        rc = tls13_server_set_certificate(s->tls, &chain, 1, w->rt->cert.ed_priv);
    if (rc == 0)
        rc = tls13_server_set_record_layout(s->tls, lens, n);
    if (rc == 0)
        rc = tls13_server_set_alpn(s->tls, NULL, 0); /* REALITY never selects ALPN (§7.2) */
    if (rc == 0) {
        size_t used = 0;
        /* Exactly the ClientHello records; later client bytes are its second flight. */
        rc = tls13_handshake(s->tls, buf_data(&s->hs->cin), s->hs->ch->record_bytes, &used, &s->hs->cout);
        if (rc == ERR_NEED_MORE)
            rc = 0;
        buf_consume(&s->hs->cin, used);
    }
    if (rc == 0 && plan->lens[REALITY_SLOT_NEW_SESSION_TICKET] != 0) /* shaped like the target's ticket */
        rc = tls13_seal_record(s->tls, 23, NULL, 0, plan->lens[REALITY_SLOT_NEW_SESSION_TICKET], &s->hs->cout);
    memset(der, 0, sizeof(der));
    if (rc < 0) {
        session_fail_tls(s, rc);
        return;
    }
    s->state = NODE_SS_TLS_HANDSHAKE;
    rc = session_write_some(s->cfd, &s->hs->cout);
    if (rc < 0) {
        session_close(s, NODE_CR_IO, rc);
        return;
    }
    session_update_interest(s);
}

bool session_tls_handshake(struct session *s)
{
    size_t used = 0;
    int rc = tls13_handshake(s->tls, buf_data(&s->hs->cin), buf_len(&s->hs->cin), &used, &s->hs->cout);
    buf_consume(&s->hs->cin, used);
    if (rc == ERR_NEED_MORE) {
        session_update_interest(s);
        return false;
    }
    if (rc < 0) {
        session_fail_tls(s, rc);
        return false;
    }
    /* Handshake complete: the target has served its purpose (§7.3). */
    session_close_fd(s, &s->tio, &s->tfd);
    reality_target_dispose(&s->hs->target);
    buf_dispose(&s->hs->tout);
    buf_dispose(&s->hs->scratch);
    free(s->hs->ch); /* its views pointed into cin / scratch */
    s->hs->ch = NULL;
    reality_auth_result_wipe(&s->hs->auth); /* the AuthKey's job ended with our certificate */
    tls13_conn_release_handshake(s->tls);   /* idle tunnels keep only the record state */
    s->state = NODE_SS_VLESS_HEADER;
    return true;
}
