/* Server role: ClientHello -> ServerHello (own or REALITY's template with our key share),
 * CCS, EncryptedExtensions, Certificate, CertificateVerify, Finished in the requested
 * record layout, then the client's Finished. */
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "core/wire.h"
#include "tls13/tls13_int.h"

#define UNEXPECTED TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE)
#define ILLEGAL TLS13_ERR_SEND(TLS13_ALERT_ILLEGAL_PARAMETER)
#define HS_FAILURE TLS13_ERR_SEND(TLS13_ALERT_HANDSHAKE_FAILURE)

static const uint16_t default_suites[] = {TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384,
                                          TLS13_CHACHA20_POLY1305_SHA256};

static const struct tls13_kex_ops *group_ops(const struct tls13_ctx *ctx, uint16_t group)
{
    if (ctx->groups == NULL)
        return group == TLS13_GROUP_X25519 ? &tls13_kex_x25519 : NULL;
    for (size_t i = 0; i < ctx->n_groups; i++)
        if (ctx->groups[i]->group == group)
            return ctx->groups[i];
    return NULL;
}

static bool list8_has_u16(struct bytes list, uint16_t v)
{
    return tls13__list_has_u16(list, v);
}

/* Our own choice: first suite and first group (with a client share) in our order. */
static int choose_own(struct tls13_conn *c, const struct tls13_kex_ops **kex)
{
    const struct tls13_ctx *ctx = c->ctx;
    const struct tls13_client_hello *ch = c->ch;
    const uint16_t *suites = ctx->cipher_suites != NULL ? ctx->cipher_suites : default_suites;
    size_t ns = ctx->cipher_suites != NULL ? ctx->n_cipher_suites : 3;
    if (ch->signature_algorithms.p == NULL || ch->supported_groups.p == NULL || ch->key_shares.p == NULL)
        return TLS13_ERR_SEND(TLS13_ALERT_MISSING_EXTENSION);
    if (!tls13__list_has_u16(ch->signature_algorithms, TLS13_SIG_ED25519))
        return HS_FAILURE;
    c->suite = NULL;
    for (size_t i = 0; i < ns && c->suite == NULL; i++)
        if (tls13__list_has_u16(ch->cipher_suites, suites[i]))
            c->suite = tls13_suite_by_id(suites[i]);
    if (c->suite == NULL)
        return HS_FAILURE;
    size_t ng = ctx->groups != NULL ? ctx->n_groups : 1;
    for (size_t i = 0; i < ng; i++) {
        const struct tls13_kex_ops *ops = ctx->groups != NULL ? ctx->groups[i] : &tls13_kex_x25519;
        struct bytes share;
        if (tls13_client_hello_key_share(ch, ops->group, &share)) {
            *kex = ops;
            return 0;
        }
    }
    return HS_FAILURE; /* we do not send HelloRetryRequest */
}

/* REALITY: the target's ServerHello decides suite and group. */
static int choose_template(struct tls13_conn *c, struct tls13__server_hello *tpl, const struct tls13_kex_ops **kex)
{
    const struct tls13_client_hello *ch = c->ch;
    if (tls13__parse_server_hello(buf_data(&c->hs->sh_template), buf_len(&c->hs->sh_template), tpl) < 0)
        return ERR_CONFIG;
    c->suite = tls13_suite_by_id(tpl->suite);
    *kex = group_ops(c->ctx, tpl->group);
    if (c->suite == NULL || *kex == NULL || !tls13__list_has_u16(ch->cipher_suites, tpl->suite))
        return HS_FAILURE;
    if (tpl->share.len != (*kex)->server_share_len || tpl->session_id.len != ch->session_id.len ||
        memcmp(tpl->session_id.p, ch->session_id.p, ch->session_id.len) != 0)
        return ERR_CONFIG;
    return 0;
}

static int build_server_hello(struct tls13_conn *c, const uint8_t *share, size_t share_len)
{
    struct buf *b = &c->sh_msg;
    uint8_t random[32];
    struct wire_block m, e, x, k;
    TRY(tls13_random_bytes(c->ctx->random, random, sizeof(random)));
    TRY(tls13__msg_begin(b, TLS13_HS_SERVER_HELLO, &m));
    TRY(wire_wr_u16(b, 0x0303));
    TRY(wire_wr_bytes(b, random, 32));
    TRY(wire_wr_u8(b, (uint8_t)c->ch->session_id.len));
    TRY(wire_wr_bytes(b, c->ch->session_id.p, c->ch->session_id.len));
    TRY(wire_wr_u16(b, c->suite->id));
    TRY(wire_wr_u8(b, 0));
    TRY(wire_wr_open(b, 2, &e));
    TRY(wire_wr_u16(b, 43)); /* supported_versions */
    TRY(wire_wr_open(b, 2, &x));
    TRY(wire_wr_u16(b, 0x0304));
    TRY(wire_wr_close(b, &x));
    TRY(wire_wr_u16(b, 51)); /* key_share */
    TRY(wire_wr_open(b, 2, &x));
    TRY(wire_wr_u16(b, c->kex->group));
    TRY(wire_wr_open(b, 2, &k));
    TRY(wire_wr_bytes(b, share, share_len));
    TRY(wire_wr_close(b, &k));
    TRY(wire_wr_close(b, &x));
    TRY(wire_wr_close(b, &e));
    return wire_wr_close(b, &m);
}

static int choose_alpn(struct tls13_conn *c)
{
    const struct tls13_ctx *ctx = c->ctx;
    if (c->alpn_forced || c->ch->alpn.p == NULL || ctx->n_alpn == 0)
        return 0;
    for (size_t i = 0; i < ctx->n_alpn; i++) {
        struct wire_rd r = wire_rd_init(c->ch->alpn.p, c->ch->alpn.len), p;
        while (wire_rd_vec8(&r, &p) == 0) {
            if (p.len == ctx->alpn[i].len && memcmp(p.p, ctx->alpn[i].p, p.len) == 0) {
                return tls13__set_alpn(c, p.p, p.len);
            }
        }
    }
    return TLS13_ERR_SEND(TLS13_ALERT_NO_APPLICATION_PROTOCOL);
}

static int build_ee(struct tls13_conn *c, struct buf *f)
{
    struct wire_block m, e, x, l, p;
    TRY(tls13__msg_begin(f, TLS13_HS_ENCRYPTED_EXTENSIONS, &m));
    TRY(wire_wr_open(f, 2, &e));
    if (c->alpn_len > 0) {
        TRY(wire_wr_u16(f, 16));
        TRY(wire_wr_open(f, 2, &x));
        TRY(wire_wr_open(f, 2, &l));
        TRY(wire_wr_open(f, 1, &p));
        TRY(wire_wr_bytes(f, c->alpn, c->alpn_len));
        TRY(wire_wr_close(f, &p));
        TRY(wire_wr_close(f, &l));
        TRY(wire_wr_close(f, &x));
    }
    TRY(wire_wr_close(f, &e));
    return wire_wr_close(f, &m);
}

static int build_cv(struct tls13_conn *c, struct buf *f)
{
    uint8_t content[64 + 34 + TLS13_HASH_MAX], sig[64];
    size_t n;
    struct wire_block m, s;
    TRY(tls13__cv_content(c, true, content, &n));
    TRY(crypto_ed25519_sign(c->hs->sign_key, content, n, sig));
    TRY(tls13__msg_begin(f, TLS13_HS_CERTIFICATE_VERIFY, &m));
    TRY(wire_wr_u16(f, TLS13_SIG_ED25519));
    TRY(wire_wr_open(f, 2, &s));
    TRY(wire_wr_bytes(f, sig, sizeof(sig)));
    TRY(wire_wr_close(f, &s));
    return wire_wr_close(f, &m);
}

/* Appends the last message written to f (from `from`) to the transcript. */
static int add_since(struct tls13_conn *c, struct buf *f, size_t from)
{
    return tls13__transcript_add(c, buf_data(f) + from, buf_len(f) - from);
}

/* Seals the encrypted flight in the layout the caller asked for (REALITY pads each
 * record to the target's length). ends[] are message end offsets within f. */
static int send_flight(struct tls13_conn *c, const uint8_t *f, const size_t ends[4], struct buf *out)
{
    if (c->hs->n_layout == 0)
        return tls13__send_handshake(c, f, ends[3], out);
    if (c->hs->n_layout == 1) {
        if (ends[3] > TLS13_MAX_PLAINTEXT)
            return ERR_RANGE;
        return tls13_seal_record(c, TLS13_CT_HANDSHAKE, f, ends[3], c->hs->layout[0], out);
    }
    size_t start = 0;
    for (size_t i = 0; i < 4; i++) {
        if (ends[i] - start > TLS13_MAX_PLAINTEXT)
            return ERR_RANGE;
        TRY(tls13_seal_record(c, TLS13_CT_HANDSHAKE, f + start, ends[i] - start, c->hs->layout[i], out));
        start = ends[i];
    }
    return 0;
}

static int server_flight(struct tls13_conn *c, const uint8_t *shared, size_t shared_len, struct buf *out)
{
    const struct tls13_suite *s = c->suite;
    uint8_t th[TLS13_HASH_MAX], s_ap[TLS13_HASH_MAX];
    size_t ends[4];
    struct buf f;
    int rc;
    TRY(tls13_ks_init(&c->ks, s));
    TRY(tls13_ks_handshake(&c->ks, shared, shared_len));
    TRY(tls13__transcript_hash(c, th));
    TRY(tls13_ks_derive(&c->ks, "c hs traffic", th, c->hs->c_hs));
    TRY(tls13_ks_derive(&c->ks, "s hs traffic", th, c->hs->s_hs));
    TRY(tls13_cipher_init(&c->wr, s, c->hs->s_hs, true));
    TRY(tls13_cipher_init(&c->rd, s, c->hs->c_hs, false));

    buf_init(&f);
    if ((rc = choose_alpn(c)) < 0 || (rc = build_ee(c, &f)) < 0 || (rc = add_since(c, &f, 0)) < 0)
        goto out;
    ends[0] = buf_len(&f);
    if (!c->have_cert && c->ctx->emit_certificate != NULL &&
        (rc = c->ctx->emit_certificate->cb(c->ctx->emit_certificate, c)) < 0)
        goto out;
    if (!c->have_cert && c->ctx->n_certs > 0 && c->ctx->sign_key != NULL &&
        (rc = tls13_server_set_certificate(c, c->ctx->cert_chain, c->ctx->n_certs, c->ctx->sign_key)) < 0)
        goto out;
    rc = ERR_CONFIG;
    if (!c->have_cert)
        goto out;
    if ((rc = buf_append(&f, buf_data(&c->hs->cert_msg), buf_len(&c->hs->cert_msg))) < 0 ||
        (rc = add_since(c, &f, ends[0])) < 0)
        goto out;
    ends[1] = buf_len(&f);
    if ((rc = build_cv(c, &f)) < 0 || (rc = add_since(c, &f, ends[1])) < 0)
        goto out;
    ends[2] = buf_len(&f);
    if ((rc = tls13__finished_build(c, c->hs->s_hs, &f)) < 0 || (rc = add_since(c, &f, ends[2])) < 0)
        goto out;
    ends[3] = buf_len(&f);
    if ((rc = send_flight(c, buf_data(&f), ends, out)) < 0)
        goto out;

    /* application secrets from the transcript through the server Finished */
    if ((rc = tls13_ks_master(&c->ks)) < 0 || (rc = tls13__transcript_hash(c, th)) < 0 ||
        (rc = tls13_ks_derive(&c->ks, "s ap traffic", th, s_ap)) < 0 ||
        (rc = tls13_ks_derive(&c->ks, "c ap traffic", th, c->hs->c_ap)) < 0)
        goto out;
    rc = tls13_cipher_init(&c->wr, s, s_ap, true);
out:
    secure_wipe(s_ap, sizeof(s_ap));
    buf_dispose_secret(&f);
    return rc;
}

static int handle_client_hello(struct tls13_conn *c, const uint8_t *msg, size_t len, struct buf *out)
{
    const struct tls13_ctx *ctx = c->ctx;
    struct tls13_client_hello *ch = c->ch;
    struct tls13__server_hello tpl;
    const struct tls13_kex_ops *kex = NULL;
    struct bytes cshare;

    TRY(buf_append(&c->ch_msg, msg, len));
    TRY(tls13_parse_client_hello(buf_data(&c->ch_msg), len, ch));
    if (ch->supported_versions.p == NULL || !list8_has_u16(ch->supported_versions, 0x0304) ||
        ch->legacy_version != 0x0303)
        return TLS13_ERR_SEND(TLS13_ALERT_PROTOCOL_VERSION);
    if (ch->compression.len != 1 || ch->compression.p[0] != 0)
        return ILLEGAL;
    if (ctx->on_client_hello != NULL)
        TRY(ctx->on_client_hello->cb(ctx->on_client_hello, c, ch));

    if (buf_len(&c->hs->sh_template) > 0)
        TRY(choose_template(c, &tpl, &kex));
    else
        TRY(choose_own(c, &kex));
    if (!tls13_client_hello_key_share(ch, kex->group, &cshare))
        return HS_FAILURE;
    if (cshare.len != kex->client_share_len)
        return ILLEGAL;
    if (ch->supported_groups.p != NULL && !tls13__list_has_u16(ch->supported_groups, kex->group))
        return ILLEGAL;
    c->kex = kex;
    c->skip_early = ch->has_early_data;
    TRY(tls13__transcript_start(c));
    TRY(tls13__transcript_add(c, msg, len));

    uint8_t sshare[TLS13_KEX_SHARE_MAX], shared[TLS13_KEX_SHARED_MAX];
    size_t shared_len = 0;
    int rc = kex->server_exchange(ctx->random, cshare.p, sshare, shared, &shared_len);
    if (rc == ERR_CRYPTO)
        rc = ILLEGAL; /* low-order point */
    if (rc == 0) {
        if (buf_len(&c->hs->sh_template) > 0) {
            rc = buf_append(&c->sh_msg, buf_data(&c->hs->sh_template), buf_len(&c->hs->sh_template));
            if (rc == 0)
                memcpy(buf_data(&c->sh_msg) + tpl.share_offset, sshare, kex->server_share_len);
        } else {
            rc = build_server_hello(c, sshare, kex->server_share_len);
        }
    }
    if (rc == 0)
        rc = tls13__transcript_add(c, buf_data(&c->sh_msg), buf_len(&c->sh_msg));
    if (rc == 0)
        rc = tls13__send_handshake(c, buf_data(&c->sh_msg), buf_len(&c->sh_msg), out);
    if (rc == 0 && ch->session_id.len > 0)
        rc = tls13__ccs(c, out); /* middlebox compatibility, as every target does */
    if (rc == 0)
        rc = server_flight(c, shared, shared_len, out);
    secure_wipe(shared, sizeof(shared));
    if (rc == 0)
        c->state = TLS13_ST_EXPECT_CLIENT_FINISHED;
    return rc;
}

static int handle_client_finished(struct tls13_conn *c, const uint8_t *msg, size_t len)
{
    TRY(tls13__finished_check(c, c->hs->c_hs, msg, len));
    TRY(tls13__transcript_add(c, msg, len));
    TRY(tls13_cipher_init(&c->rd, c->suite, c->hs->c_ap, false));
    secure_wipe(c->hs->c_ap, sizeof(c->hs->c_ap));
    secure_wipe(c->hs->c_hs, sizeof(c->hs->c_hs));
    secure_wipe(c->hs->s_hs, sizeof(c->hs->s_hs));
    tls13__drop_handshake_state(c);
    c->app_keys = true;
    c->state = TLS13_ST_ESTABLISHED;
    return 0;
}

int tls13__server_handle(struct tls13_conn *c, uint8_t type, const uint8_t *msg, size_t len, struct buf *out)
{
    switch (c->state) {
    case TLS13_ST_EXPECT_CLIENT_HELLO:
        if (type != TLS13_HS_CLIENT_HELLO)
            return UNEXPECTED;
        return handle_client_hello(c, msg, len, out);
    case TLS13_ST_EXPECT_CLIENT_FINISHED:
        if (type != TLS13_HS_FINISHED)
            return UNEXPECTED;
        return handle_client_finished(c, msg, len);
    default:
        return ERR_INTERNAL;
    }
}
