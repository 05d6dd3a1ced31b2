/* Handshake message codecs: ClientHello (strict parse + our own builder) and ServerHello
 * (parse; also used on REALITY's template). Parse failures are decode_error unless the
 * RFC names another alert. */
#include <string.h>

#include "core/err.h"
#include "core/wire.h"
#include "tls13/tls13_int.h"

#define DECODE_ERROR TLS13_ERR_SEND(TLS13_ALERT_DECODE_ERROR)
#define ILLEGAL TLS13_ERR_SEND(TLS13_ALERT_ILLEGAL_PARAMETER)

/* Returns decode_error from the calling function when a wire read fails. */
#define DEC(expr)                                                                                                      \
    do {                                                                                                               \
        if ((expr) < 0)                                                                                                \
            return DECODE_ERROR;                                                                                       \
    } while (0)

#define EXT_SERVER_NAME 0
#define EXT_SUPPORTED_GROUPS 10
#define EXT_SIGNATURE_ALGORITHMS 13
#define EXT_ALPN 16
#define EXT_PRE_SHARED_KEY 41
#define EXT_EARLY_DATA 42
#define EXT_SUPPORTED_VERSIONS 43
#define EXT_COOKIE 44
#define EXT_PSK_MODES 45
#define EXT_KEY_SHARE 51

static const uint8_t hrr_random[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                       0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                       0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

int tls13__msg_begin(struct buf *b, uint8_t type, struct wire_block *blk)
{
    TRY(wire_wr_u8(b, type));
    return wire_wr_open(b, 3, blk);
}

/* A vec16 list of uint16 values: non-empty, even length. Returns the contents. */
static int u16_list16(struct wire_rd *r, struct bytes *out)
{
    struct wire_rd v;
    DEC(wire_rd_vec16(r, &v));
    if (v.len == 0 || v.len % 2 != 0)
        return DECODE_ERROR;
    *out = bytes_of(v.p, v.len);
    return 0;
}

static int parse_sni(struct wire_rd *r, struct tls13_client_hello *ch)
{
    struct wire_rd list;
    DEC(wire_rd_vec16(r, &list));
    if (list.len == 0)
        return DECODE_ERROR;
    while (wire_rd_left(&list) > 0) {
        uint8_t type;
        struct wire_rd name;
        DEC(wire_rd_u8(&list, &type));
        DEC(wire_rd_vec16(&list, &name));
        if (type != 0)
            continue;
        if (ch->server_name.p != NULL)
            return ILLEGAL;
        if (name.len == 0)
            return DECODE_ERROR;
        ch->server_name = bytes_of(name.p, name.len);
    }
    return 0;
}

static int parse_alpn_list(struct wire_rd *r, struct bytes *out)
{
    struct wire_rd list;
    DEC(wire_rd_vec16(r, &list));
    if (list.len == 0)
        return DECODE_ERROR;
    *out = bytes_of(list.p, list.len);
    while (wire_rd_left(&list) > 0) {
        struct wire_rd proto;
        DEC(wire_rd_vec8(&list, &proto));
        if (proto.len == 0)
            return DECODE_ERROR;
    }
    return 0;
}

static int parse_key_shares(struct wire_rd *r, struct bytes *out)
{
    struct wire_rd list;
    DEC(wire_rd_vec16(r, &list));
    *out = bytes_of(list.p, list.len);
    uint16_t seen[TLS13_MAX_EXTENSIONS];
    size_t n = 0;
    while (wire_rd_left(&list) > 0) {
        uint16_t group;
        struct wire_rd share;
        DEC(wire_rd_u16(&list, &group));
        DEC(wire_rd_vec16(&list, &share));
        if (share.len == 0)
            return DECODE_ERROR;
        for (size_t i = 0; i < n; i++)
            if (seen[i] == group)
                return ILLEGAL;
        if (n == TLS13_MAX_EXTENSIONS)
            return DECODE_ERROR;
        seen[n++] = group;
    }
    return 0;
}

static int parse_ch_ext(struct tls13_client_hello *ch, uint16_t type, struct wire_rd *d)
{
    struct wire_rd v;
    switch (type) {
    case EXT_SERVER_NAME:
        return parse_sni(d, ch);
    case EXT_SUPPORTED_GROUPS:
        return u16_list16(d, &ch->supported_groups);
    case EXT_SIGNATURE_ALGORITHMS:
        return u16_list16(d, &ch->signature_algorithms);
    case EXT_ALPN:
        return parse_alpn_list(d, &ch->alpn);
    case EXT_SUPPORTED_VERSIONS:
        DEC(wire_rd_vec8(d, &v));
        if (v.len == 0 || v.len % 2 != 0)
            return DECODE_ERROR;
        ch->supported_versions = bytes_of(v.p, v.len);
        return 0;
    case EXT_PSK_MODES:
        DEC(wire_rd_vec8(d, &v));
        if (v.len == 0)
            return DECODE_ERROR;
        ch->psk_modes = bytes_of(v.p, v.len);
        return 0;
    case EXT_KEY_SHARE:
        return parse_key_shares(d, &ch->key_shares);
    case EXT_PRE_SHARED_KEY:
        ch->has_pre_shared_key = true;
        return wire_rd_skip(d, wire_rd_left(d));
    case EXT_EARLY_DATA:
        ch->has_early_data = true;
        return 0;
    default:
        return wire_rd_skip(d, wire_rd_left(d));
    }
}

int tls13_parse_client_hello(const uint8_t *msg, size_t len, struct tls13_client_hello *ch)
{
    memset(ch, 0, sizeof(*ch));
    ch->msg = bytes_of(msg, len);
    struct wire_rd r = wire_rd_init(msg, len), v;
    uint8_t type;
    uint32_t blen;
    struct bytes random;
    DEC(wire_rd_u8(&r, &type));
    if (type != TLS13_HS_CLIENT_HELLO)
        return TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE);
    DEC(wire_rd_u24(&r, &blen));
    if (blen != wire_rd_left(&r))
        return DECODE_ERROR;
    DEC(wire_rd_u16(&r, &ch->legacy_version));
    DEC(wire_rd_bytes(&r, 32, &random));
    ch->random = random.p;
    DEC(wire_rd_vec8(&r, &v));
    if (v.len > 32)
        return DECODE_ERROR;
    ch->session_id = bytes_of(v.p, v.len);
    TRY(u16_list16(&r, &ch->cipher_suites));
    DEC(wire_rd_vec8(&r, &v));
    if (v.len == 0)
        return DECODE_ERROR;
    ch->compression = bytes_of(v.p, v.len);
    if (wire_rd_left(&r) == 0)
        return 0; /* no extensions: a pre-1.3 hello, refused later for its version */
    struct wire_rd exts;
    DEC(wire_rd_vec16(&r, &exts));
    DEC(wire_rd_done(&r));
    while (wire_rd_left(&exts) > 0) {
        uint16_t et;
        struct wire_rd d;
        DEC(wire_rd_u16(&exts, &et));
        DEC(wire_rd_vec16(&exts, &d));
        if (ch->has_pre_shared_key) /* pre_shared_key must be the last extension */
            return ILLEGAL;
        for (size_t i = 0; i < ch->n_ext; i++)
            if (ch->ext[i].type == et)
                return ILLEGAL;
        if (ch->n_ext == TLS13_MAX_EXTENSIONS)
            return DECODE_ERROR;
        ch->ext[ch->n_ext].type = et;
        ch->ext[ch->n_ext].data = bytes_of(d.p, d.len);
        ch->n_ext++;
        int rc = parse_ch_ext(ch, et, &d);
        if (rc == ERR_NEED_MORE || rc == ERR_MALFORMED)
            return DECODE_ERROR;
        TRY(rc);
        DEC(wire_rd_done(&d));
    }
    return 0;
}

bool tls13_client_hello_key_share(const struct tls13_client_hello *ch, uint16_t group, struct bytes *share)
{
    struct wire_rd r = wire_rd_init(ch->key_shares.p, ch->key_shares.len);
    while (wire_rd_left(&r) > 0) {
        uint16_t g;
        struct wire_rd s;
        if (wire_rd_u16(&r, &g) < 0 || wire_rd_vec16(&r, &s) < 0)
            return false;
        if (g == group) {
            *share = bytes_of(s.p, s.len);
            return true;
        }
    }
    return false;
}

static int parse_sh_ext(struct tls13__server_hello *sh, const uint8_t *msg, uint16_t type, struct wire_rd *d)
{
    switch (type) {
    case EXT_SUPPORTED_VERSIONS:
        DEC(wire_rd_u16(d, &sh->version));
        sh->has_version = true;
        return 0;
    case EXT_KEY_SHARE: {
        DEC(wire_rd_u16(d, &sh->group));
        sh->has_key_share = true;
        if (sh->is_hrr)
            return 0;
        struct wire_rd s;
        DEC(wire_rd_vec16(d, &s));
        if (s.len == 0)
            return DECODE_ERROR;
        sh->share = bytes_of(s.p, s.len);
        sh->share_offset = (size_t)(s.p - msg);
        return 0;
    }
    case EXT_COOKIE: {
        struct wire_rd s;
        DEC(wire_rd_vec16(d, &s));
        if (s.len == 0)
            return DECODE_ERROR;
        sh->has_cookie = true;
        return 0;
    }
    default:
        return wire_rd_skip(d, wire_rd_left(d));
    }
}

int tls13__parse_server_hello(const uint8_t *msg, size_t len, struct tls13__server_hello *sh)
{
    memset(sh, 0, sizeof(*sh));
    struct wire_rd r = wire_rd_init(msg, len), v;
    uint8_t type, comp;
    uint32_t blen;
    struct bytes random;
    DEC(wire_rd_u8(&r, &type));
    if (type != TLS13_HS_SERVER_HELLO)
        return TLS13_ERR_SEND(TLS13_ALERT_UNEXPECTED_MESSAGE);
    DEC(wire_rd_u24(&r, &blen));
    if (blen != wire_rd_left(&r))
        return DECODE_ERROR;
    DEC(wire_rd_u16(&r, &sh->legacy_version));
    DEC(wire_rd_bytes(&r, 32, &random));
    sh->random = random.p;
    sh->is_hrr = memcmp(random.p, hrr_random, 32) == 0;
    DEC(wire_rd_vec8(&r, &v));
    if (v.len > 32)
        return DECODE_ERROR;
    sh->session_id = bytes_of(v.p, v.len);
    DEC(wire_rd_u16(&r, &sh->suite));
    DEC(wire_rd_u8(&r, &comp));
    if (comp != 0)
        return ILLEGAL;
    if (wire_rd_left(&r) == 0)
        return 0; /* no extensions: TLS 1.2 or older; refused by the caller */
    struct wire_rd exts;
    DEC(wire_rd_vec16(&r, &exts));
    DEC(wire_rd_done(&r));
    while (wire_rd_left(&exts) > 0) {
        uint16_t et;
        struct wire_rd d;
        DEC(wire_rd_u16(&exts, &et));
        DEC(wire_rd_vec16(&exts, &d));
        for (size_t i = 0; i < sh->n_ext; i++)
            if (sh->ext_types[i] == et)
                return ILLEGAL;
        if (sh->n_ext == TLS13_MAX_EXTENSIONS)
            return DECODE_ERROR;
        sh->ext_types[sh->n_ext++] = et;
        int rc = parse_sh_ext(sh, msg, et, &d);
        if (rc == ERR_NEED_MORE || rc == ERR_MALFORMED)
            return DECODE_ERROR;
        TRY(rc);
        DEC(wire_rd_done(&d));
    }
    return 0;
}

static const uint16_t default_suites[] = {TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384,
                                          TLS13_CHACHA20_POLY1305_SHA256};

static int ext_begin(struct buf *b, uint16_t type, struct wire_block *blk)
{
    TRY(wire_wr_u16(b, type));
    return wire_wr_open(b, 2, blk);
}

static int build_ch_exts(struct tls13_conn *c, struct buf *b, const uint8_t *const *shares)
{
    const struct tls13_ctx *ctx = c->ctx;
    struct wire_block e, l, l2;
    if (ctx->server_name != NULL) {
        size_t n = strlen(ctx->server_name);
        TRY(ext_begin(b, EXT_SERVER_NAME, &e));
        TRY(wire_wr_open(b, 2, &l));
        TRY(wire_wr_u8(b, 0));
        TRY(wire_wr_open(b, 2, &l2));
        TRY(wire_wr_bytes(b, ctx->server_name, n));
        TRY(wire_wr_close(b, &l2));
        TRY(wire_wr_close(b, &l));
        TRY(wire_wr_close(b, &e));
    }
    TRY(ext_begin(b, EXT_SUPPORTED_GROUPS, &e));
    TRY(wire_wr_open(b, 2, &l));
    for (size_t i = 0; i < c->hs->n_keys; i++)
        TRY(wire_wr_u16(b, c->hs->keys[i].ops->group));
    TRY(wire_wr_close(b, &l));
    TRY(wire_wr_close(b, &e));

    /* Ed25519 is all we verify; the others are offered only when not verifying so that
     * any test server can answer. */
    static const uint16_t sigs_all[] = {0x0807, 0x0403, 0x0804, 0x0805, 0x0806, 0x0503, 0x0401, 0x0501, 0x0601};
    size_t nsigs = ctx->insecure_skip_verify ? sizeof(sigs_all) / 2 : 1;
    TRY(ext_begin(b, EXT_SIGNATURE_ALGORITHMS, &e));
    TRY(wire_wr_open(b, 2, &l));
    for (size_t i = 0; i < nsigs; i++)
        TRY(wire_wr_u16(b, sigs_all[i]));
    TRY(wire_wr_close(b, &l));
    TRY(wire_wr_close(b, &e));

    TRY(ext_begin(b, EXT_SUPPORTED_VERSIONS, &e));
    TRY(wire_wr_u8(b, 2));
    TRY(wire_wr_u16(b, 0x0304));
    TRY(wire_wr_close(b, &e));

    if (ctx->n_alpn > 0) {
        TRY(ext_begin(b, EXT_ALPN, &e));
        TRY(wire_wr_open(b, 2, &l));
        for (size_t i = 0; i < ctx->n_alpn; i++) {
            if (ctx->alpn[i].len == 0 || ctx->alpn[i].len > 255)
                return ERR_CONFIG;
            TRY(wire_wr_u8(b, (uint8_t)ctx->alpn[i].len));
            TRY(wire_wr_bytes(b, ctx->alpn[i].p, ctx->alpn[i].len));
        }
        TRY(wire_wr_close(b, &l));
        TRY(wire_wr_close(b, &e));
    }

    TRY(ext_begin(b, EXT_KEY_SHARE, &e));
    TRY(wire_wr_open(b, 2, &l));
    for (size_t i = 0; i < c->hs->n_keys; i++) {
        TRY(wire_wr_u16(b, c->hs->keys[i].ops->group));
        TRY(wire_wr_u16(b, (uint16_t)c->hs->keys[i].ops->client_share_len));
        TRY(wire_wr_bytes(b, shares[i], c->hs->keys[i].ops->client_share_len));
    }
    TRY(wire_wr_close(b, &l));
    return wire_wr_close(b, &e);
}

int tls13__build_client_hello(struct tls13_conn *c, struct buf *msg)
{
    const struct tls13_ctx *ctx = c->ctx;
    uint8_t share_mem[TLS13__MAX_CLIENT_KEYS][TLS13_KEX_SHARE_MAX];
    const uint8_t *shares[TLS13__MAX_CLIENT_KEYS];
    size_t ng = ctx->groups != NULL ? ctx->n_groups : 1;
    if (ng == 0 || ng > TLS13__MAX_CLIENT_KEYS)
        return ERR_CONFIG;
    for (size_t i = 0; i < ng; i++) {
        const struct tls13_kex_ops *ops = ctx->groups != NULL ? ctx->groups[i] : &tls13_kex_x25519;
        if (ops->client_share_len > TLS13_KEX_SHARE_MAX)
            return ERR_CONFIG;
        c->hs->keys[i].ops = ops;
        TRY(ops->client_keygen(ctx->random, &c->hs->keys[i].state, share_mem[i]));
        shares[i] = share_mem[i];
        c->hs->n_keys = i + 1;
    }
    uint8_t random[32], sid[32];
    TRY(tls13_random_bytes(ctx->random, random, sizeof(random)));
    TRY(tls13_random_bytes(ctx->random, sid, sizeof(sid))); /* middlebox compatibility mode */

    struct wire_block m, l, e;
    TRY(tls13__msg_begin(msg, TLS13_HS_CLIENT_HELLO, &m));
    TRY(wire_wr_u16(msg, 0x0303));
    TRY(wire_wr_bytes(msg, random, 32));
    TRY(wire_wr_u8(msg, 32));
    TRY(wire_wr_bytes(msg, sid, 32));
    TRY(wire_wr_open(msg, 2, &l));
    const uint16_t *suites = ctx->cipher_suites != NULL ? ctx->cipher_suites : default_suites;
    size_t ns = ctx->cipher_suites != NULL ? ctx->n_cipher_suites : 3;
    for (size_t i = 0; i < ns; i++)
        TRY(wire_wr_u16(msg, suites[i]));
    TRY(wire_wr_close(msg, &l));
    TRY(wire_wr_u8(msg, 1));
    TRY(wire_wr_u8(msg, 0));
    TRY(wire_wr_open(msg, 2, &e));
    TRY(build_ch_exts(c, msg, shares));
    TRY(wire_wr_close(msg, &e));
    return wire_wr_close(msg, &m);
}
