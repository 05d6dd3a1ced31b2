/* Connection lifecycle, the record input loop shared by both roles, application data,
 * alerts, and helpers for transcript, Finished and CertificateVerify. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "core/wire.h"
#include "tls13/tls13_int.h"

#define UNEXPECTED TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE)
#define DECODE_ERROR TLS13_ERR_SEND(TLS13_ALERT_DECODE_ERROR)

const char *tls13_state_str(enum tls13_state s)
{
    static const char *const names[TLS13_ST__COUNT] = {
        [TLS13_ST_CLIENT_START] = "client_start",
        [TLS13_ST_EXPECT_SERVER_HELLO] = "expect_server_hello",
        [TLS13_ST_EXPECT_ENCRYPTED_EXTENSIONS] = "expect_encrypted_extensions",
        [TLS13_ST_EXPECT_CERT_OR_CERT_REQUEST] = "expect_cert_or_cert_request",
        [TLS13_ST_EXPECT_CERTIFICATE] = "expect_certificate",
        [TLS13_ST_EXPECT_CERTIFICATE_VERIFY] = "expect_certificate_verify",
        [TLS13_ST_EXPECT_SERVER_FINISHED] = "expect_server_finished",
        [TLS13_ST_EXPECT_CLIENT_HELLO] = "expect_client_hello",
        [TLS13_ST_EXPECT_CLIENT_FINISHED] = "expect_client_finished",
        [TLS13_ST_ESTABLISHED] = "established",
        [TLS13_ST_CLOSED] = "closed",
        [TLS13_ST_FAILED] = "failed",
    };
    return (unsigned)s < TLS13_ST__COUNT ? names[s] : "invalid";
}

struct tls13_conn *tls13_conn_new(const struct tls13_ctx *ctx, bool is_server)
{
    struct tls13_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    /* On the heap so an established connection can give its 1.7 kB back (release_handshake). */
    c->ch = calloc(1, sizeof(*c->ch));
    c->hs = calloc(1, sizeof(*c->hs));
    if (c->ch == NULL || c->hs == NULL) {
        free(c->ch);
        free(c->hs);
        free(c);
        return NULL;
    }
    c->ctx = ctx;
    c->is_server = is_server;
    c->state = is_server ? TLS13_ST_EXPECT_CLIENT_HELLO : TLS13_ST_CLIENT_START;
    c->max_fragment = TLS13_MAX_PLAINTEXT;
    buf_init(&c->hs_in);
    c->hs_in.limit = TLS13__MAX_HS_MSG + 4;
    buf_init(&c->ch_msg);
    buf_init(&c->sh_msg);
    buf_init(&c->hs->sh_template);
    buf_init(&c->hs->cert_msg);
    return c;
}

static void free_client_keys(struct tls13_conn *c)
{
    if (c->hs == NULL)
        return;
    for (size_t i = 0; i < c->hs->n_keys; i++) {
        if (c->hs->keys[i].state != NULL)
            c->hs->keys[i].ops->state_free(c->hs->keys[i].state);
        c->hs->keys[i].state = NULL;
    }
}

static void free_hs(struct tls13_conn *c)
{
    if (c->hs == NULL)
        return;
    free_client_keys(c);
    buf_dispose(&c->hs->sh_template);
    buf_dispose(&c->hs->cert_msg);
    secure_wipe(c->hs, sizeof(*c->hs));
    free(c->hs);
    c->hs = NULL;
}

void tls13_conn_free(struct tls13_conn *c)
{
    if (c == NULL)
        return;
    free_client_keys(c);
    crypto_hash_free(c->transcript);
    tls13_cipher_dispose(&c->rd);
    tls13_cipher_dispose(&c->wr);
    tls13_ks_dispose(&c->ks);
    buf_dispose_secret(&c->hs_in);
    free(c->ch);
    buf_dispose(&c->ch_msg);
    buf_dispose(&c->sh_msg);
    free_hs(c);
    free(c->alpn);
    secure_wipe(c, sizeof(*c));
    free(c);
}

void tls13_conn_set_data(struct tls13_conn *c, void *data)
{
    c->data = data;
}

void *tls13_conn_get_data(const struct tls13_conn *c)
{
    return c->data;
}

bool tls13_handshake_done(const struct tls13_conn *c)
{
    return c->state == TLS13_ST_ESTABLISHED;
}

enum tls13_state tls13_conn_state(const struct tls13_conn *c)
{
    return c->state;
}

void tls13_set_max_fragment(struct tls13_conn *c, size_t n)
{
    c->max_fragment = n == 0 || n > TLS13_MAX_PLAINTEXT ? TLS13_MAX_PLAINTEXT : n;
}

/* ---- helpers shared by the roles ---- */

bool tls13__list_has_u16(struct bytes list, uint16_t v)
{
    for (size_t i = 0; i + 1 < list.len; i += 2)
        if (wire_be16(list.p + i) == v)
            return true;
    return false;
}

int tls13__transcript_start(struct tls13_conn *c)
{
    crypto_hash_free(c->transcript);
    c->transcript = crypto_hash_new(c->suite->hash);
    return c->transcript == NULL ? ERR_NOMEM : 0;
}

int tls13__transcript_add(struct tls13_conn *c, const uint8_t *msg, size_t len)
{
    return crypto_hash_update(c->transcript, msg, len);
}

int tls13__transcript_hash(struct tls13_conn *c, uint8_t *out)
{
    return crypto_hash_peek(c->transcript, out);
}

/* Handshake bytes go out in records of at most 2^14 bytes, protected once a write key
 * exists. The ClientHello record says 0x0301 like every browser. */
int tls13__send_handshake(struct tls13_conn *c, const uint8_t *msg, size_t len, struct buf *out)
{
    while (len > 0) {
        size_t n = len < TLS13_MAX_PLAINTEXT ? len : TLS13_MAX_PLAINTEXT;
        if (tls13_cipher_active(&c->wr))
            TRY(tls13_record_seal(&c->wr, TLS13_CT_HANDSHAKE, msg, n, 0, out));
        else
            TRY(tls13_record_plain(TLS13_CT_HANDSHAKE, c->is_server ? 0x0303 : 0x0301, msg, n, out));
        msg += n;
        len -= n;
    }
    return 0;
}

int tls13__ccs(struct tls13_conn *c, struct buf *out)
{
    static const uint8_t one = 1;
    c->ccs_sent = true;
    return tls13_record_plain(TLS13_CT_CHANGE_CIPHER_SPEC, 0x0303, &one, 1, out);
}

int tls13__finished_build(struct tls13_conn *c, const uint8_t *base, struct buf *msg)
{
    uint8_t th[TLS13_HASH_MAX], vd[TLS13_HASH_MAX];
    size_t hl = c->suite->hash_len;
    TRY(tls13__transcript_hash(c, th));
    TRY(tls13_verify_data(c->suite->hash, base, th, vd));
    struct wire_block m;
    TRY(tls13__msg_begin(msg, TLS13_HS_FINISHED, &m));
    TRY(wire_wr_bytes(msg, vd, hl));
    return wire_wr_close(msg, &m);
}

int tls13__finished_check(struct tls13_conn *c, const uint8_t *base, const uint8_t *msg, size_t len)
{
    uint8_t th[TLS13_HASH_MAX], vd[TLS13_HASH_MAX];
    size_t hl = c->suite->hash_len;
    if (len != 4 + hl)
        return DECODE_ERROR;
    TRY(tls13__transcript_hash(c, th));
    TRY(tls13_verify_data(c->suite->hash, base, th, vd));
    if (secure_memcmp(vd, msg + 4, hl) != 0)
        return TLS13_ERR_SEND(TLS13_ALERT_DECRYPT_ERROR);
    return 0;
}

int tls13__cv_content(struct tls13_conn *c, bool server, uint8_t *out, size_t *len)
{
    static const char sctx[] = "TLS 1.3, server CertificateVerify";
    static const char cctx[] = "TLS 1.3, client CertificateVerify";
    memset(out, 0x20, 64);
    memcpy(out + 64, server ? sctx : cctx, sizeof(sctx)); /* includes the 0 separator */
    TRY(tls13__transcript_hash(c, out + 64 + sizeof(sctx)));
    *len = 64 + sizeof(sctx) + c->suite->hash_len;
    return 0;
}

/* ---- record input ---- */

static bool ccs_allowed(const struct tls13_conn *c)
{
    switch (c->state) {
    case TLS13_ST_EXPECT_SERVER_HELLO:
    case TLS13_ST_EXPECT_ENCRYPTED_EXTENSIONS:
    case TLS13_ST_EXPECT_CERT_OR_CERT_REQUEST:
    case TLS13_ST_EXPECT_CERTIFICATE:
    case TLS13_ST_EXPECT_CERTIFICATE_VERIFY:
    case TLS13_ST_EXPECT_SERVER_FINISHED:
    case TLS13_ST_EXPECT_CLIENT_FINISHED:
        return true;
    default:
        return false;
    }
}

static int handle_alert(struct tls13_conn *c, const uint8_t *p, size_t n)
{
    if (n != 2)
        return DECODE_ERROR;
    if (p[1] == TLS13_ALERT_CLOSE_NOTIFY) {
        c->state = TLS13_ST_CLOSED;
        return ERR_CLOSED;
    }
    if (p[1] == TLS13_ALERT_USER_CANCELED)
        return 0; /* followed by close_notify */
    return TLS13_ERR_PEER(p[1]);
}

static int post_handshake(struct tls13_conn *c, uint8_t type, const uint8_t *msg, size_t len)
{
    struct wire_rd r = wire_rd_init(msg + 4, len - 4), v;
    switch (type) {
    case TLS13_HS_NEW_SESSION_TICKET: {
        uint32_t u;
        if (c->is_server)
            return UNEXPECTED;
        /* syntax only: we never resume */
        if (wire_rd_u32(&r, &u) < 0 || wire_rd_u32(&r, &u) < 0 || wire_rd_vec8(&r, &v) < 0 ||
            wire_rd_vec16(&r, &v) < 0 || v.len == 0 || wire_rd_vec16(&r, &v) < 0 || wire_rd_done(&r) < 0)
            return DECODE_ERROR;
        return 0;
    }
    case TLS13_HS_KEY_UPDATE: {
        uint8_t req;
        if (wire_rd_u8(&r, &req) < 0 || wire_rd_done(&r) < 0)
            return DECODE_ERROR;
        if (req > 1)
            return TLS13_ERR_SEND(TLS13_ALERT_ILLEGAL_PARAMETER);
        TRY(tls13_cipher_update(&c->rd, false));
        if (req == 1)
            c->key_update_pending = true;
        return 0;
    }
    default:
        return UNEXPECTED;
    }
}

/* Feeds handshake bytes; handles every complete message. A read-key change must fall
 * on a record boundary (RFC 8446 §5.1), checked before the message is handled. */
static int handshake_bytes(struct tls13_conn *c, const uint8_t *p, size_t n, bool in_place, struct buf *out)
{
    int rc = 0;
    if (in_place)
        buf_produce(&c->hs_in, n); /* already decrypted into hs_in's free space */
    else
        rc = buf_append(&c->hs_in, p, n);
    if (rc == ERR_TOO_LONG)
        return TLS13_ERR_SEND(TLS13_ALERT_HANDSHAKE_FAILURE);
    TRY(rc);
    while (buf_len(&c->hs_in) >= 4) {
        const uint8_t *m = buf_data(&c->hs_in);
        size_t mlen = 4 + (size_t)wire_be24(m + 1);
        if (mlen > TLS13__MAX_HS_MSG)
            return TLS13_ERR_SEND(TLS13_ALERT_HANDSHAKE_FAILURE);
        if (buf_len(&c->hs_in) < mlen)
            break;
        /* messages after which the read key changes must end their record */
        uint8_t t = m[0];
        bool key_change = t == TLS13_HS_FINISHED || t == TLS13_HS_KEY_UPDATE ||
                          (c->state == TLS13_ST_EXPECT_CLIENT_HELLO && t == TLS13_HS_CLIENT_HELLO) ||
                          (c->state == TLS13_ST_EXPECT_SERVER_HELLO && t == TLS13_HS_SERVER_HELLO);
        if (key_change && buf_len(&c->hs_in) > mlen)
            return UNEXPECTED;
        if (c->state == TLS13_ST_ESTABLISHED)
            rc = post_handshake(c, t, m, mlen);
        else if (c->is_server)
            rc = tls13__server_handle(c, t, m, mlen, out);
        else
            rc = tls13__client_handle(c, t, m, mlen, out);
        TRY(rc);
        buf_consume(&c->hs_in, mlen);
    }
    if (buf_len(&c->hs_in) == 0 && c->state == TLS13_ST_ESTABLISHED && c->hs_in.base != NULL) {
        /* idle connections keep no reassembly buffer */
        buf_dispose_secret(&c->hs_in);
        c->hs_in.limit = TLS13__MAX_HS_MSG + 4;
    }
    return 0;
}

/* Processes the record at `in` if it is complete. *used gets its length. */
static int read_record(struct tls13_conn *c, const uint8_t *in, size_t inlen, size_t *used, struct buf *app,
                       uint8_t *type_out)
{
    struct tls13_record_hdr h;
    TRY(tls13_record_parse_header(in, inlen, &h));
    size_t reclen = TLS13_RECORD_HDR_LEN + h.len;
    if (inlen < reclen)
        return ERR_NEED_MORE;
    *used = reclen;
    *type_out = h.type;
    if (h.type != TLS13_CT_HANDSHAKE && h.type != TLS13_CT_APPLICATION_DATA && buf_len(&c->hs_in) > 0)
        return UNEXPECTED; /* no interleaving inside a handshake message */
    if (h.type == TLS13_CT_CHANGE_CIPHER_SPEC) {
        if (!ccs_allowed(c) || h.len != 1 || in[TLS13_RECORD_HDR_LEN] != 1)
            return UNEXPECTED;
        if (++c->useless > TLS13__MAX_USELESS)
            return UNEXPECTED;
        return 0;
    }
    const uint8_t *content;
    size_t n;
    uint8_t type;
    bool in_hs = false;
    if (h.type == TLS13_CT_APPLICATION_DATA) {
        if (!tls13_cipher_active(&c->rd))
            return UNEXPECTED;
        /* Decrypt straight into the buffer the content most likely belongs to (the
         * caller's app buf, else the handshake buffer), so a connection owns no
         * record-sized scratch memory. */
        struct buf *dst = c->state == TLS13_ST_ESTABLISHED && app != NULL ? app : &c->hs_in;
        int rc = buf_reserve(dst, h.len);
        if (rc == ERR_TOO_LONG && dst == &c->hs_in)
            return TLS13_ERR_SEND(TLS13_ALERT_HANDSHAKE_FAILURE);
        TRY(rc);
        uint8_t *pt = buf_tail(dst);
        rc = tls13_record_open(&c->rd, in, reclen, pt, &type, &n);
        if (rc < 0)
            secure_wipe(pt, h.len); /* unauthenticated plaintext */
        if (rc == TLS13_ERR_SEND(TLS13_ALERT_BAD_RECORD_MAC) && c->skip_early) {
            /* 0-RTT data we did not accept (RFC 8446 §4.2.10): drop it, within a budget */
            c->early_skipped += reclen;
            return c->early_skipped > TLS13__MAX_EARLY_SKIP ? rc : 0;
        }
        TRY(rc);
        c->skip_early = false;
        content = pt;
        *type_out = type;
        if (type != TLS13_CT_HANDSHAKE && buf_len(&c->hs_in) > 0)
            return UNEXPECTED;
        if (type == TLS13_CT_APPLICATION_DATA && dst == app && c->state == TLS13_ST_ESTABLISHED) {
            buf_produce(app, n);
            return 0;
        }
        in_hs = type == TLS13_CT_HANDSHAKE && dst == &c->hs_in;
    } else {
        if (tls13_cipher_active(&c->rd))
            return UNEXPECTED; /* plaintext after keys were installed */
        content = in + TLS13_RECORD_HDR_LEN;
        n = h.len;
        type = h.type;
    }
    switch (type) {
    case TLS13_CT_ALERT:
        return handle_alert(c, content, n);
    case TLS13_CT_HANDSHAKE:
        if (n == 0)
            return UNEXPECTED;
        c->useless = 0;
        return handshake_bytes(c, content, n, in_hs, c->out);
    case TLS13_CT_APPLICATION_DATA: /* during the handshake, or with nowhere to put it */
    default:
        return UNEXPECTED;
    }
}

static int write_alert(struct tls13_conn *c, uint8_t level, uint8_t desc, struct buf *out)
{
    uint8_t a[2] = {level, desc};
    if (tls13_cipher_active(&c->wr))
        return tls13_record_seal(&c->wr, TLS13_CT_ALERT, a, 2, 0, out);
    return tls13_record_plain(TLS13_CT_ALERT, 0x0303, a, 2, out);
}

int tls13_send_alert_for(struct tls13_conn *c, int err, struct buf *out)
{
    uint8_t a;
    if (out == NULL || c->ctx->no_alerts || !tls13_alert_for_error(err, &a))
        return 0;
    return write_alert(c, 2, a, out);
}

/* The one place a fatal error is recorded and its alert written. */
static int fail(struct tls13_conn *c, int err, struct buf *out)
{
    if (err == ERR_CLOSED) {
        c->state = TLS13_ST_CLOSED;
        return err;
    }
    tls13_send_alert_for(c, err, out);
    c->state = TLS13_ST_FAILED;
    c->error = err;
    return err;
}

int tls13_handshake(struct tls13_conn *c, const uint8_t *in, size_t inlen, size_t *consumed, struct buf *out)
{
    int rc = 0;
    *consumed = 0;
    switch (c->state) {
    case TLS13_ST_FAILED:
        return c->error;
    case TLS13_ST_CLOSED:
        return ERR_CLOSED;
    case TLS13_ST_ESTABLISHED:
        return 0;
    default:
        break;
    }
    c->out = out;
    if (c->state == TLS13_ST_CLIENT_START)
        rc = tls13__client_start(c, out);
    size_t pos = 0;
    while (rc == 0 && !tls13_handshake_done(c) && pos < inlen) {
        size_t used = 0;
        uint8_t t;
        rc = read_record(c, in + pos, inlen - pos, &used, NULL, &t);
        if (rc == ERR_NEED_MORE) {
            rc = 0;
            break;
        }
        pos += used;
    }
    c->out = NULL;
    *consumed = pos;
    if (rc < 0)
        return fail(c, rc, out);
    return tls13_handshake_done(c) ? 0 : ERR_NEED_MORE;
}

int tls13_recv_record(struct tls13_conn *c, const uint8_t *in, size_t inlen, size_t *consumed, struct buf *app,
                      struct buf *out, uint8_t *type)
{
    *consumed = 0;
    if (c->state == TLS13_ST_FAILED)
        return c->error;
    if (c->state == TLS13_ST_CLOSED)
        return ERR_CLOSED;
    if (c->state != TLS13_ST_ESTABLISHED)
        return ERR_BAD_STATE;
    if (inlen == 0)
        return ERR_NEED_MORE;
    size_t used = 0;
    uint8_t t = 0;
    c->out = out;
    int rc = read_record(c, in, inlen, &used, app, &t);
    c->out = NULL;
    if (rc == ERR_NEED_MORE)
        return rc;
    *consumed = used;
    if (type != NULL)
        *type = t;
    return rc < 0 ? fail(c, rc, out) : 0;
}

int tls13_recv(struct tls13_conn *c, const uint8_t *in, size_t inlen, size_t *consumed, struct buf *app,
               struct buf *out)
{
    size_t pos = 0;
    int rc = ERR_NEED_MORE;
    *consumed = 0;
    while (pos < inlen) {
        size_t used = 0;
        rc = tls13_recv_record(c, in + pos, inlen - pos, &used, app, out, NULL);
        pos += used;
        if (rc < 0)
            break;
    }
    *consumed = pos;
    if (rc == ERR_NEED_MORE)
        return pos > 0 ? 0 : ERR_NEED_MORE;
    return rc;
}

static bool can_write_app(const struct tls13_conn *c)
{
    /* the server may send 0.5-RTT data once its flight is out; after the peer's
     * close_notify our direction stays open (half-close) */
    return c->state == TLS13_ST_ESTABLISHED || (c->is_server && c->state == TLS13_ST_EXPECT_CLIENT_FINISHED) ||
           (c->state == TLS13_ST_CLOSED && c->app_keys);
}

int tls13_key_update(struct tls13_conn *c, bool request_peer, struct buf *out)
{
    if (c->state != TLS13_ST_ESTABLISHED)
        return ERR_BAD_STATE;
    const uint8_t msg[5] = {TLS13_HS_KEY_UPDATE, 0, 0, 1, request_peer ? 1 : 0};
    TRY(tls13_record_seal(&c->wr, TLS13_CT_HANDSHAKE, msg, sizeof(msg), 0, out));
    c->key_update_pending = false;
    return tls13_cipher_update(&c->wr, true);
}

int tls13_send(struct tls13_conn *c, const void *data, size_t len, struct buf *out)
{
    if (!can_write_app(c))
        return c->state == TLS13_ST_FAILED ? c->error : ERR_BAD_STATE;
    if (c->key_update_pending)
        TRY(tls13_key_update(c, false, out));
    const uint8_t *p = data;
    do {
        size_t n = len < c->max_fragment ? len : c->max_fragment;
        TRY(tls13_record_seal(&c->wr, TLS13_CT_APPLICATION_DATA, p, n, 0, out));
        p += n;
        len -= n;
    } while (len > 0);
    return 0;
}

int tls13_seal_record(struct tls13_conn *c, uint8_t type, const void *data, size_t len, size_t total, struct buf *out)
{
    if (!tls13_cipher_active(&c->wr))
        return ERR_BAD_STATE;
    if (total == 0)
        return tls13_record_seal(&c->wr, type, data, len, 0, out);
    return tls13_record_seal_to(&c->wr, type, data, len, total, out);
}

int tls13_close(struct tls13_conn *c, struct buf *out)
{
    return write_alert(c, 1, TLS13_ALERT_CLOSE_NOTIFY, out);
}

/* ---- introspection ---- */

uint64_t tls13_read_seq(const struct tls13_conn *c)
{
    return c->rd.seq;
}

uint64_t tls13_write_seq(const struct tls13_conn *c)
{
    return c->wr.seq;
}

const struct tls13_suite *tls13_conn_suite(const struct tls13_conn *c)
{
    return c->suite;
}

uint16_t tls13_conn_group(const struct tls13_conn *c)
{
    return c->kex != NULL ? c->kex->group : 0;
}

struct bytes tls13_conn_alpn(const struct tls13_conn *c)
{
    return bytes_of(c->alpn, c->alpn_len);
}

struct bytes tls13_conn_server_name(const struct tls13_conn *c)
{
    return c->ch != NULL && c->ch->server_name.p != NULL ? c->ch->server_name : bytes_of(NULL, 0);
}

struct bytes tls13_conn_client_hello(const struct tls13_conn *c)
{
    return buf_len(&c->ch_msg) > 0 ? bytes_of(buf_data(&c->ch_msg), buf_len(&c->ch_msg)) : bytes_of(NULL, 0);
}

void tls13_conn_release_handshake(struct tls13_conn *c)
{
    if (c == NULL || c->state != TLS13_ST_ESTABLISHED)
        return;
    free(c->ch); /* its views point into ch_msg */
    c->ch = NULL;
    buf_dispose(&c->ch_msg);
    buf_dispose(&c->sh_msg);
}

void tls13_conn_park(struct tls13_conn *c)
{
    if (c == NULL || c->state != TLS13_ST_ESTABLISHED)
        return;
    crypto_aead_park(c->rd.aead);
    crypto_aead_park(c->wr.aead);
}

struct bytes tls13_conn_server_hello(const struct tls13_conn *c)
{
    return buf_len(&c->sh_msg) > 0 ? bytes_of(buf_data(&c->sh_msg), buf_len(&c->sh_msg)) : bytes_of(NULL, 0);
}

struct tls13_cipher *tls13_conn_read_cipher(struct tls13_conn *c)
{
    return &c->rd;
}

struct tls13_cipher *tls13_conn_write_cipher(struct tls13_conn *c)
{
    return &c->wr;
}

/* ---- per-connection settings ---- */

int tls13_server_set_hello_template(struct tls13_conn *c, const uint8_t *msg, size_t len)
{
    struct tls13__server_hello sh;
    if (!c->is_server || c->state != TLS13_ST_EXPECT_CLIENT_HELLO || c->hs == NULL)
        return ERR_BAD_STATE;
    if (tls13__parse_server_hello(msg, len, &sh) < 0 || sh.is_hrr || !sh.has_key_share || !sh.has_version ||
        sh.version != 0x0304 || sh.legacy_version != 0x0303)
        return ERR_MALFORMED;
    buf_reset(&c->hs->sh_template);
    return buf_append(&c->hs->sh_template, msg, len);
}

int tls13_server_set_certificate(struct tls13_conn *c, const struct bytes *chain, size_t n,
                                 const uint8_t sign_key[static 32])
{
    if (!c->is_server || n == 0 || c->hs == NULL)
        return ERR_BAD_STATE;
    struct buf *b = &c->hs->cert_msg;
    struct wire_block m, l, e;
    buf_reset(b);
    TRY(tls13__msg_begin(b, TLS13_HS_CERTIFICATE, &m));
    TRY(wire_wr_u8(b, 0)); /* empty certificate_request_context */
    TRY(wire_wr_open(b, 3, &l));
    for (size_t i = 0; i < n; i++) {
        if (chain[i].len == 0)
            return ERR_MALFORMED;
        TRY(wire_wr_open(b, 3, &e));
        TRY(wire_wr_bytes(b, chain[i].p, chain[i].len));
        TRY(wire_wr_close(b, &e));
        TRY(wire_wr_u16(b, 0)); /* no per-entry extensions */
    }
    TRY(wire_wr_close(b, &l));
    TRY(wire_wr_close(b, &m));
    memcpy(c->hs->sign_key, sign_key, 32);
    c->have_cert = true;
    return 0;
}

int tls13_server_set_record_layout(struct tls13_conn *c, const size_t *lens, size_t n)
{
    if (!c->is_server || (n != 0 && n != 1 && n != 4))
        return ERR_RANGE;
    if (c->hs == NULL)
        return ERR_BAD_STATE;
    for (size_t i = 0; i < n; i++)
        c->hs->layout[i] = lens[i];
    c->hs->n_layout = n;
    return 0;
}

int tls13_server_set_alpn(struct tls13_conn *c, const uint8_t *proto, size_t len)
{
    if (!c->is_server || len > 255)
        return ERR_RANGE;
    TRY(tls13__set_alpn(c, proto, len));
    c->alpn_forced = true;
    return 0;
}

int tls13__set_alpn(struct tls13_conn *c, const uint8_t *proto, size_t len)
{
    uint8_t *p = NULL;
    if (len > 0 && (p = malloc(len)) == NULL)
        return ERR_NOMEM;
    if (len > 0)
        memcpy(p, proto, len);
    free(c->alpn);
    c->alpn = p;
    c->alpn_len = len;
    return 0;
}

int tls13_client_set_hello(struct tls13_conn *c, const uint8_t *msg, size_t len, const struct tls13_client_key *keys,
                           size_t n_keys)
{
    if (c->is_server || c->state != TLS13_ST_CLIENT_START || c->custom_hello || c->hs == NULL)
        return ERR_BAD_STATE;
    if (n_keys == 0 || n_keys > TLS13__MAX_CLIENT_KEYS)
        return ERR_RANGE;
    TRY(buf_append(&c->ch_msg, msg, len));
    int rc = tls13_parse_client_hello(buf_data(&c->ch_msg), len, c->ch);
    for (size_t i = 0; rc == 0 && i < n_keys; i++) {
        struct bytes share;
        if (!tls13_client_hello_key_share(c->ch, keys[i].ops->group, &share) ||
            share.len != keys[i].ops->client_share_len) {
            rc = ERR_CONFIG;
            break;
        }
        c->hs->keys[i].ops = keys[i].ops;
        rc = keys[i].ops->client_import(keys[i].priv, keys[i].priv_len, &c->hs->keys[i].state);
        if (rc == 0)
            c->hs->n_keys = i + 1;
    }
    if (rc < 0) {
        free_client_keys(c);
        c->hs->n_keys = 0;
        buf_reset(&c->ch_msg);
        memset(c->ch, 0, sizeof(*c->ch));
        uint8_t a;
        bool peer;
        return tls13_err_is_alert(rc, &a, &peer) ? ERR_MALFORMED : rc; /* a caller error, not a peer's */
    }
    c->custom_hello = true;
    return 0;
}

/* After the handshake only the traffic ciphers matter: free and wipe the rest early
 * so an idle connection stays small. */
void tls13__drop_handshake_state(struct tls13_conn *c)
{
    crypto_hash_free(c->transcript);
    c->transcript = NULL;
    tls13_ks_dispose(&c->ks);
    free_hs(c); /* secrets wiped */
}

void tls13__free_client_keys(struct tls13_conn *c)
{
    free_client_keys(c);
}
