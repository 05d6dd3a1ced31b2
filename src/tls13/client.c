/* Client role: ClientHello (ours or the caller's exact bytes), then ServerHello,
 * EncryptedExtensions, [CertificateRequest], Certificate, CertificateVerify, Finished,
 * and our Finished. */
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "core/wire.h"
#include "tls13/tls13_int.h"

#define UNEXPECTED TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE)
#define ILLEGAL TLS13_ERR_SEND(TLS13_ALERT_ILLEGAL_PARAMETER)
#define DECODE_ERROR TLS13_ERR_SEND(TLS13_ALERT_DECODE_ERROR)

#define DEC(expr)                                                                                                      \
    do {                                                                                                               \
        if ((expr) < 0)                                                                                                \
            return DECODE_ERROR;                                                                                       \
    } while (0)

int tls13__client_start(struct tls13_conn *c, struct buf *out)
{
    if (!c->custom_hello) {
        if (c->ctx->verify_certificate == NULL && !c->ctx->insecure_skip_verify)
            return ERR_CONFIG; /* nothing would check the server's identity */
        TRY(tls13__build_client_hello(c, &c->ch_msg));
        TRY(tls13_parse_client_hello(buf_data(&c->ch_msg), buf_len(&c->ch_msg), c->ch));
    }
    TRY(tls13__send_handshake(c, buf_data(&c->ch_msg), buf_len(&c->ch_msg), out));
    c->state = TLS13_ST_EXPECT_SERVER_HELLO;
    return 0;
}

static bool offered_ext(const struct tls13_conn *c, uint16_t type)
{
    for (size_t i = 0; i < c->ch->n_ext; i++)
        if (c->ch->ext[i].type == type)
            return true;
    return false;
}

static struct tls13__client_key *our_key(struct tls13_conn *c, uint16_t group)
{
    for (size_t i = 0; i < c->hs->n_keys; i++)
        if (c->hs->keys[i].ops->group == group)
            return &c->hs->keys[i];
    return NULL;
}

static int check_server_hello(struct tls13_conn *c, const struct tls13__server_hello *sh)
{
    if (sh->is_hrr) {
        /* A HelloRetryRequest for a group we already sent, or never offered, is illegal;
         * a legal one we cannot answer (no retry support). */
        if (sh->has_key_share &&
            (our_key(c, sh->group) != NULL || !tls13__list_has_u16(c->ch->supported_groups, sh->group)))
            return ILLEGAL;
        return TLS13_ERR_SEND(TLS13_ALERT_HANDSHAKE_FAILURE);
    }
    if (!sh->has_version)
        return TLS13_ERR_SEND(TLS13_ALERT_PROTOCOL_VERSION);
    if (sh->version != 0x0304 || sh->legacy_version != 0x0303)
        return ILLEGAL;
    for (size_t i = 0; i < sh->n_ext; i++) {
        uint16_t t = sh->ext_types[i];
        if (!offered_ext(c, t))
            return TLS13_ERR_SEND(TLS13_ALERT_UNSUPPORTED_EXTENSION);
        if (t != 43 && t != 51)
            return ILLEGAL; /* pre_shared_key included: we never send binders */
    }
    if (sh->session_id.len != c->ch->session_id.len ||
        memcmp(sh->session_id.p, c->ch->session_id.p, sh->session_id.len) != 0)
        return ILLEGAL;
    if (!tls13__list_has_u16(c->ch->cipher_suites, sh->suite) || tls13_suite_by_id(sh->suite) == NULL)
        return ILLEGAL;
    if (!sh->has_key_share)
        return TLS13_ERR_SEND(TLS13_ALERT_MISSING_EXTENSION);
    struct tls13__client_key *k = our_key(c, sh->group);
    if (k == NULL || sh->share.len != k->ops->server_share_len)
        return ILLEGAL;
    return 0;
}

static int handle_server_hello(struct tls13_conn *c, const uint8_t *msg, size_t len)
{
    struct tls13__server_hello sh;
    uint8_t shared[TLS13_KEX_SHARED_MAX], th[TLS13_HASH_MAX];
    size_t shared_len = 0;
    TRY(tls13__parse_server_hello(msg, len, &sh));
    TRY(check_server_hello(c, &sh));
    struct tls13__client_key *k = our_key(c, sh.group);
    int rc = k->ops->client_finish(k->state, sh.share.p, shared, &shared_len);
    if (rc == ERR_CRYPTO || rc == ERR_MALFORMED)
        rc = ILLEGAL;
    TRY(rc);
    c->kex = k->ops;
    c->suite = tls13_suite_by_id(sh.suite);
    tls13__free_client_keys(c);
    rc = buf_append(&c->sh_msg, msg, len);
    if (rc == 0)
        rc = tls13__transcript_start(c);
    if (rc == 0)
        rc = tls13__transcript_add(c, buf_data(&c->ch_msg), buf_len(&c->ch_msg));
    if (rc == 0)
        rc = tls13__transcript_add(c, msg, len);
    if (rc == 0)
        rc = tls13_ks_init(&c->ks, c->suite);
    if (rc == 0)
        rc = tls13_ks_handshake(&c->ks, shared, shared_len);
    secure_wipe(shared, sizeof(shared));
    TRY(rc);
    TRY(tls13__transcript_hash(c, th));
    TRY(tls13_ks_derive(&c->ks, "c hs traffic", th, c->hs->c_hs));
    TRY(tls13_ks_derive(&c->ks, "s hs traffic", th, c->hs->s_hs));
    TRY(tls13_cipher_init(&c->rd, c->suite, c->hs->s_hs, false));
    /* our alerts from here on are protected, as the server expects */
    TRY(tls13_cipher_init(&c->wr, c->suite, c->hs->c_hs, true));
    c->state = TLS13_ST_EXPECT_ENCRYPTED_EXTENSIONS;
    return 0;
}

static int handle_ee(struct tls13_conn *c, const uint8_t *msg, size_t len)
{
    struct wire_rd r = wire_rd_init(msg + 4, len - 4), exts;
    uint16_t seen[TLS13_MAX_EXTENSIONS];
    size_t n = 0;
    DEC(wire_rd_vec16(&r, &exts));
    DEC(wire_rd_done(&r));
    while (wire_rd_left(&exts) > 0) {
        uint16_t t;
        struct wire_rd d;
        DEC(wire_rd_u16(&exts, &t));
        DEC(wire_rd_vec16(&exts, &d));
        for (size_t i = 0; i < n; i++)
            if (seen[i] == t)
                return ILLEGAL;
        if (n == TLS13_MAX_EXTENSIONS)
            return DECODE_ERROR;
        seen[n++] = t;
        if (!offered_ext(c, t))
            return TLS13_ERR_SEND(TLS13_ALERT_UNSUPPORTED_EXTENSION);
        switch (t) {
        case 13: /* signature_algorithms */
        case 41: /* pre_shared_key */
        case 43: /* supported_versions */
        case 44: /* cookie */
        case 45: /* psk_key_exchange_modes */
        case 51: /* key_share */
            return ILLEGAL;
        case 16: { /* ALPN: exactly one protocol, one we offered */
            struct wire_rd list, p;
            DEC(wire_rd_vec16(&d, &list));
            DEC(wire_rd_vec8(&list, &p));
            DEC(wire_rd_done(&list));
            DEC(wire_rd_done(&d));
            if (p.len == 0)
                return DECODE_ERROR;
            bool ok = false;
            struct wire_rd o = wire_rd_init(c->ch->alpn.p, c->ch->alpn.len), q;
            while (!ok && wire_rd_vec8(&o, &q) == 0)
                ok = q.len == p.len && memcmp(q.p, p.p, p.len) == 0;
            if (!ok)
                return ILLEGAL;
            TRY(tls13__set_alpn(c, p.p, p.len));
            break;
        }
        default:
            break;
        }
    }
    TRY(tls13__transcript_add(c, msg, len));
    c->state = TLS13_ST_EXPECT_CERT_OR_CERT_REQUEST;
    return 0;
}

static int handle_cert_request(struct tls13_conn *c, const uint8_t *msg, size_t len)
{
    struct wire_rd r = wire_rd_init(msg + 4, len - 4), ctx, exts;
    DEC(wire_rd_vec8(&r, &ctx));
    DEC(wire_rd_vec16(&r, &exts));
    DEC(wire_rd_done(&r));
    memcpy(c->hs->cr_ctx, ctx.p, ctx.len);
    c->hs->cr_ctx_len = ctx.len;
    c->hs->cert_requested = true;
    TRY(tls13__transcript_add(c, msg, len));
    c->state = TLS13_ST_EXPECT_CERTIFICATE;
    return 0;
}

static int handle_cert(struct tls13_conn *c, const uint8_t *msg, size_t len)
{
    struct wire_rd r = wire_rd_init(msg + 4, len - 4), ctx, list;
    struct bytes chain[TLS13__MAX_CERTS];
    size_t n = 0;
    DEC(wire_rd_vec8(&r, &ctx));
    DEC(wire_rd_vec24(&r, &list));
    DEC(wire_rd_done(&r));
    if (ctx.len != 0)
        return ILLEGAL;
    while (wire_rd_left(&list) > 0) {
        struct wire_rd cert, exts;
        DEC(wire_rd_vec24(&list, &cert));
        DEC(wire_rd_vec16(&list, &exts));
        if (cert.len == 0)
            return DECODE_ERROR;
        if (n == TLS13__MAX_CERTS)
            return TLS13_ERR_SEND(TLS13_ALERT_BAD_CERTIFICATE);
        chain[n++] = bytes_of(cert.p, cert.len);
    }
    if (n == 0)
        return DECODE_ERROR;
    const struct tls13_ctx *x = c->ctx;
    if (x->verify_certificate != NULL)
        TRY(x->verify_certificate->cb(x->verify_certificate, c, chain, n));
    else if (!x->insecure_skip_verify)
        return TLS13_ERR_SEND(TLS13_ALERT_BAD_CERTIFICATE);
    int rc = tls13_cert_ed25519_key(chain[0].p, chain[0].len, c->hs->peer_key);
    c->hs->peer_key_ok = rc == 0;
    if (rc < 0 && !x->insecure_skip_verify)
        return TLS13_ERR_SEND(rc == ERR_UNSUPPORTED ? TLS13_ALERT_UNSUPPORTED_CERTIFICATE
                                                    : TLS13_ALERT_BAD_CERTIFICATE);
    TRY(tls13__transcript_add(c, msg, len));
    c->state = TLS13_ST_EXPECT_CERTIFICATE_VERIFY;
    return 0;
}

static int handle_cv(struct tls13_conn *c, const uint8_t *msg, size_t len)
{
    struct wire_rd r = wire_rd_init(msg + 4, len - 4), sig;
    uint16_t scheme;
    DEC(wire_rd_u16(&r, &scheme));
    DEC(wire_rd_vec16(&r, &sig));
    DEC(wire_rd_done(&r));
    if (c->hs->peer_key_ok) {
        uint8_t content[64 + 34 + TLS13_HASH_MAX];
        size_t n;
        if (scheme != TLS13_SIG_ED25519)
            return ILLEGAL;
        if (sig.len != 64)
            return DECODE_ERROR;
        TRY(tls13__cv_content(c, true, content, &n));
        int vr = crypto_ed25519_verify(c->hs->peer_key, content, n, sig.p);
        if (vr == ERR_AUTH)
            return TLS13_ERR_SEND(TLS13_ALERT_DECRYPT_ERROR);
        TRY(vr);
    }
    /* else: insecure_skip_verify with a non-Ed25519 leaf; signature not checked */
    TRY(tls13__transcript_add(c, msg, len));
    c->state = TLS13_ST_EXPECT_SERVER_FINISHED;
    return 0;
}

static int handle_finished(struct tls13_conn *c, const uint8_t *msg, size_t len, struct buf *out)
{
    uint8_t th[TLS13_HASH_MAX], s_ap[TLS13_HASH_MAX], c_ap[TLS13_HASH_MAX];
    struct buf f;
    int rc;
    TRY(tls13__finished_check(c, c->hs->s_hs, msg, len));
    TRY(tls13__transcript_add(c, msg, len));
    TRY(tls13_ks_master(&c->ks));
    TRY(tls13__transcript_hash(c, th));
    TRY(tls13_ks_derive(&c->ks, "s ap traffic", th, s_ap));
    rc = tls13_ks_derive(&c->ks, "c ap traffic", th, c_ap);
    buf_init(&f);
    if (rc == 0 && c->ch->session_id.len > 0 && !c->ccs_sent)
        rc = tls13__ccs(c, out);
    if (rc == 0 && c->hs->cert_requested) {
        /* no client certificates: an empty Certificate answers the request */
        struct wire_block m, l;
        if ((rc = tls13__msg_begin(&f, TLS13_HS_CERTIFICATE, &m)) == 0 &&
            (rc = wire_wr_u8(&f, (uint8_t)c->hs->cr_ctx_len)) == 0 &&
            (rc = wire_wr_bytes(&f, c->hs->cr_ctx, c->hs->cr_ctx_len)) == 0 && (rc = wire_wr_open(&f, 3, &l)) == 0 &&
            (rc = wire_wr_close(&f, &l)) == 0 && (rc = wire_wr_close(&f, &m)) == 0)
            rc = tls13__transcript_add(c, buf_data(&f), buf_len(&f));
    }
    size_t at = buf_len(&f);
    if (rc == 0)
        rc = tls13__finished_build(c, c->hs->c_hs, &f);
    if (rc == 0)
        rc = tls13__transcript_add(c, buf_data(&f) + at, buf_len(&f) - at);
    if (rc == 0)
        rc = tls13__send_handshake(c, buf_data(&f), buf_len(&f), out);
    if (rc == 0)
        rc = tls13_cipher_init(&c->rd, c->suite, s_ap, false);
    if (rc == 0)
        rc = tls13_cipher_init(&c->wr, c->suite, c_ap, true);
    buf_dispose_secret(&f);
    secure_wipe(s_ap, sizeof(s_ap));
    secure_wipe(c_ap, sizeof(c_ap));
    if (rc == 0) {
        secure_wipe(c->hs->c_hs, sizeof(c->hs->c_hs));
        secure_wipe(c->hs->s_hs, sizeof(c->hs->s_hs));
        tls13__drop_handshake_state(c);
        c->app_keys = true;
        c->state = TLS13_ST_ESTABLISHED;
    }
    return rc;
}

int tls13__client_handle(struct tls13_conn *c, uint8_t type, const uint8_t *msg, size_t len, struct buf *out)
{
    switch (c->state) {
    case TLS13_ST_EXPECT_SERVER_HELLO:
        if (type != TLS13_HS_SERVER_HELLO)
            return UNEXPECTED;
        return handle_server_hello(c, msg, len);
    case TLS13_ST_EXPECT_ENCRYPTED_EXTENSIONS:
        if (type != TLS13_HS_ENCRYPTED_EXTENSIONS)
            return UNEXPECTED;
        return handle_ee(c, msg, len);
    case TLS13_ST_EXPECT_CERT_OR_CERT_REQUEST:
        if (type == TLS13_HS_CERTIFICATE_REQUEST)
            return handle_cert_request(c, msg, len);
        if (type != TLS13_HS_CERTIFICATE)
            return UNEXPECTED;
        return handle_cert(c, msg, len);
    case TLS13_ST_EXPECT_CERTIFICATE:
        if (type != TLS13_HS_CERTIFICATE)
            return UNEXPECTED;
        return handle_cert(c, msg, len);
    case TLS13_ST_EXPECT_CERTIFICATE_VERIFY:
        if (type != TLS13_HS_CERTIFICATE_VERIFY)
            return UNEXPECTED;
        return handle_cv(c, msg, len);
    case TLS13_ST_EXPECT_SERVER_FINISHED:
        if (type != TLS13_HS_FINISHED)
            return UNEXPECTED;
        return handle_finished(c, msg, len, out);
    default:
        return ERR_INTERNAL;
    }
}
