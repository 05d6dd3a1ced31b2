/* ClientHello record reassembly and strict parsing (spec/reality.md §4.2; Go crypto/tls
 * readRecordOrCCS + clientHelloMsg.unmarshal + parseECHExt, restated). */
#include <string.h>

#include "core/err.h"
#include "core/wire.h"
#include "reality/client_hello.h"

enum {
    CT_ALERT = 21,
    CT_HANDSHAKE = 22,
    HS_CLIENT_HELLO = 1,
};

enum {
    EXT_SERVER_NAME = 0,
    EXT_STATUS_REQUEST = 5,
    EXT_SUPPORTED_GROUPS = 10,
    EXT_EC_POINT_FORMATS = 11,
    EXT_SIGNATURE_ALGORITHMS = 13,
    EXT_ALPN = 16,
    EXT_SCT = 18,
    EXT_EXTENDED_MASTER_SECRET = 23,
    EXT_SESSION_TICKET = 35,
    EXT_PRE_SHARED_KEY = 41,
    EXT_EARLY_DATA = 42,
    EXT_SUPPORTED_VERSIONS = 43,
    EXT_COOKIE = 44,
    EXT_PSK_MODES = 45,
    EXT_SIGNATURE_ALGORITHMS_CERT = 50,
    EXT_KEY_SHARE = 51,
    EXT_QUIC_TRANSPORT_PARAMETERS = 57,
    EXT_ECH = 0xfe0d,
    EXT_RENEGOTIATION_INFO = 0xff01,
};

bool reality_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* A non-empty list of u16 values inside a vec16, as Go reads curves and signature schemes. */
static int rd_u16_list16(struct wire_rd *r, struct bytes *out)
{
    struct wire_rd l;
    TRY(wire_rd_vec16(r, &l));
    if (wire_rd_left(&l) == 0 || wire_rd_left(&l) % 2 != 0)
        return ERR_MALFORMED;
    *out = bytes_of(wire_rd_ptr(&l), wire_rd_left(&l));
    return 0;
}

static int parse_sni(struct wire_rd *e, struct reality_client_hello *ch)
{
    struct wire_rd list;
    TRY(wire_rd_vec16(e, &list));
    if (wire_rd_left(&list) == 0)
        return ERR_MALFORMED;
    while (wire_rd_left(&list) > 0) {
        uint8_t type;
        struct wire_rd name;
        TRY(wire_rd_u8(&list, &type));
        TRY(wire_rd_vec16(&list, &name));
        if (wire_rd_left(&name) == 0)
            return ERR_MALFORMED;
        if (type != 0)
            continue;
        if (ch->has_sni)
            return ERR_MALFORMED; /* two host_name entries */
        ch->has_sni = true;
        ch->sni = bytes_of(wire_rd_ptr(&name), wire_rd_left(&name));
        if (ch->sni.p[ch->sni.len - 1] == '.')
            return ERR_MALFORMED;
    }
    return 0;
}

static int parse_alpn(struct wire_rd *e, struct reality_client_hello *ch)
{
    struct wire_rd list;
    TRY(wire_rd_vec16(e, &list));
    if (wire_rd_left(&list) == 0)
        return ERR_MALFORMED;
    ch->has_alpn = true;
    ch->alpn_list = bytes_of(wire_rd_ptr(&list), wire_rd_left(&list));
    bool first = true;
    while (wire_rd_left(&list) > 0) {
        struct wire_rd proto;
        TRY(wire_rd_vec8(&list, &proto));
        if (wire_rd_left(&proto) == 0)
            return ERR_MALFORMED;
        if (first)
            ch->alpn_first = bytes_of(wire_rd_ptr(&proto), wire_rd_left(&proto));
        first = false;
    }
    return 0;
}

static int parse_supported_versions(struct wire_rd *e, struct reality_client_hello *ch)
{
    struct wire_rd list;
    TRY(wire_rd_vec8(e, &list));
    if (wire_rd_left(&list) == 0 || wire_rd_left(&list) % 2 != 0)
        return ERR_MALFORMED;
    ch->has_supported_versions = true;
    ch->supported_versions = bytes_of(wire_rd_ptr(&list), wire_rd_left(&list));
    while (wire_rd_left(&list) > 0) {
        uint16_t v;
        TRY(wire_rd_u16(&list, &v));
        if (v == 0x0304)
            ch->offers_tls13 = true;
    }
    return 0;
}

static int parse_key_share(struct wire_rd *e, struct reality_client_hello *ch)
{
    struct wire_rd list;
    TRY(wire_rd_vec16(e, &list));
    ch->has_key_share = true;
    ch->key_share_list = bytes_of(wire_rd_ptr(&list), wire_rd_left(&list));
    const uint8_t *hybrid = NULL;
    while (wire_rd_left(&list) > 0) {
        uint16_t group;
        struct wire_rd data;
        TRY(wire_rd_u16(&list, &group));
        TRY(wire_rd_vec16(&list, &data));
        size_t n = wire_rd_left(&data);
        if (n == 0)
            return ERR_MALFORMED;
        if (ch->n_key_shares < REALITY_CH_MAX_SHARES_RECORDED)
            ch->key_shares[ch->n_key_shares] = (struct reality_key_share){group, bytes_of(wire_rd_ptr(&data), n)};
        ch->n_key_shares++;
        if (group == REALITY_TLS_GROUP_X25519 && n == 32 && ch->x25519_share == NULL)
            ch->x25519_share = wire_rd_ptr(&data);
        if (group == REALITY_TLS_GROUP_X25519MLKEM768 && n == REALITY_X25519MLKEM768_CLIENT_SHARE_LEN && hybrid == NULL)
            hybrid = wire_rd_ptr(&data) + n - 32;
    }
    if (ch->x25519_share != NULL) {
        ch->x25519_share_group = REALITY_TLS_GROUP_X25519;
    } else if (hybrid != NULL) {
        ch->x25519_share = hybrid;
        ch->x25519_share_group = REALITY_TLS_GROUP_X25519MLKEM768;
    }
    return 0;
}

static int parse_psk(struct wire_rd *e)
{
    struct wire_rd ids, binders;
    TRY(wire_rd_vec16(e, &ids));
    if (wire_rd_left(&ids) == 0)
        return ERR_MALFORMED;
    while (wire_rd_left(&ids) > 0) {
        struct wire_rd label;
        uint32_t age;
        TRY(wire_rd_vec16(&ids, &label));
        TRY(wire_rd_u32(&ids, &age));
        if (wire_rd_left(&label) == 0)
            return ERR_MALFORMED;
    }
    TRY(wire_rd_vec16(e, &binders));
    if (wire_rd_left(&binders) == 0)
        return ERR_MALFORMED;
    while (wire_rd_left(&binders) > 0) {
        struct wire_rd b;
        TRY(wire_rd_vec8(&binders, &b));
        if (wire_rd_left(&b) == 0)
            return ERR_MALFORMED;
    }
    return 0;
}

/* Go's parseECHExt: syntax only. Outer: kdf, aead, config id, enc, payload (the rest is not
 * checked); inner: nothing after the type; other types are invalid. */
static int parse_ech(struct wire_rd *e)
{
    uint8_t type;
    TRY(wire_rd_u8(e, &type));
    if (type == 1)
        return wire_rd_left(e) == 0 ? 0 : ERR_MALFORMED;
    if (type != 0)
        return ERR_MALFORMED;
    uint16_t kdf, aead;
    uint8_t config_id;
    struct wire_rd enc, payload;
    TRY(wire_rd_u16(e, &kdf));
    TRY(wire_rd_u16(e, &aead));
    TRY(wire_rd_u8(e, &config_id));
    TRY(wire_rd_vec16(e, &enc));
    TRY(wire_rd_vec16(e, &payload));
    wire_rd_skip(e, wire_rd_left(e));
    return 0;
}

/* One extension body. Known ones must be consumed exactly (checked by the caller). */
static int parse_extension(uint16_t type, struct wire_rd *e, bool last, struct reality_client_hello *ch)
{
    struct bytes ignored;
    struct wire_rd v;
    uint8_t u8;
    switch (type) {
    case EXT_SERVER_NAME:
        return parse_sni(e, ch);
    case EXT_STATUS_REQUEST:
        TRY(wire_rd_u8(e, &u8));
        TRY(wire_rd_vec16(e, &v));
        return wire_rd_vec16(e, &v);
    case EXT_SUPPORTED_GROUPS:
        TRY(rd_u16_list16(e, &ch->supported_groups));
        ch->has_supported_groups = true;
        return 0;
    case EXT_EC_POINT_FORMATS:
        TRY(wire_rd_vec8(e, &v));
        return wire_rd_left(&v) == 0 ? ERR_MALFORMED : 0;
    case EXT_SESSION_TICKET:
    case EXT_QUIC_TRANSPORT_PARAMETERS:
        return wire_rd_skip(e, wire_rd_left(e));
    case EXT_SIGNATURE_ALGORITHMS:
    case EXT_SIGNATURE_ALGORITHMS_CERT:
        return rd_u16_list16(e, &ignored);
    case EXT_RENEGOTIATION_INFO:
        return wire_rd_vec8(e, &v);
    case EXT_EXTENDED_MASTER_SECRET:
    case EXT_SCT:
    case EXT_EARLY_DATA:
        return 0; /* must be empty */
    case EXT_ALPN:
        return parse_alpn(e, ch);
    case EXT_SUPPORTED_VERSIONS:
        return parse_supported_versions(e, ch);
    case EXT_COOKIE:
        TRY(wire_rd_vec16(e, &v));
        return wire_rd_left(&v) == 0 ? ERR_MALFORMED : 0;
    case EXT_KEY_SHARE:
        return parse_key_share(e, ch);
    case EXT_PSK_MODES:
        return wire_rd_vec8(e, &v);
    case EXT_PRE_SHARED_KEY:
        if (!last)
            return ERR_MALFORMED;
        ch->has_psk = true;
        return parse_psk(e);
    case EXT_ECH:
        ch->has_ech = true;
        return parse_ech(e);
    default:
        return wire_rd_skip(e, wire_rd_left(e)); /* unknown or GREASE: ignored */
    }
}

static int parse_extensions(struct wire_rd *exts, struct reality_client_hello *ch)
{
    uint64_t seen[65536 / 64];
    memset(seen, 0, sizeof(seen));
    while (wire_rd_left(exts) > 0) {
        uint16_t type;
        struct wire_rd e;
        if (wire_rd_u16(exts, &type) < 0 || wire_rd_vec16(exts, &e) < 0)
            return ERR_MALFORMED;
        if (seen[type / 64] & (UINT64_C(1) << (type % 64)))
            return ERR_MALFORMED;
        seen[type / 64] |= UINT64_C(1) << (type % 64);
        if (ch->n_extensions < REALITY_CH_MAX_EXT_RECORDED)
            ch->ext_types[ch->n_extensions] = type;
        ch->n_extensions++;
        int rc = parse_extension(type, &e, wire_rd_left(exts) == 0, ch);
        if (rc < 0 || wire_rd_done(&e) < 0)
            return ERR_MALFORMED;
    }
    return 0;
}

int reality_ch_parse_msg(const uint8_t *msg, size_t len, struct reality_client_hello *out)
{
    memset(out, 0, sizeof(*out));
    struct wire_rd r = wire_rd_init(msg, len);
    uint8_t type;
    uint32_t body_len;
    struct wire_rd body, sid, suites, comp;
    if (wire_rd_u8(&r, &type) < 0 || wire_rd_u24(&r, &body_len) < 0)
        return ERR_MALFORMED;
    if (type != HS_CLIENT_HELLO || body_len != wire_rd_left(&r))
        return ERR_MALFORMED;
    body = r;
    out->msg = bytes_of(msg, len);
    if (wire_rd_u16(&body, &out->legacy_version) < 0 || wire_rd_left(&body) < 32)
        return ERR_MALFORMED;
    out->random = wire_rd_ptr(&body);
    wire_rd_skip(&body, 32);
    if (wire_rd_vec8(&body, &sid) < 0)
        return ERR_MALFORMED;
    out->session_id = bytes_of(wire_rd_ptr(&sid), wire_rd_left(&sid));
    out->session_id_offset = REALITY_CH_SESSION_ID_OFFSET;
    if (wire_rd_vec16(&body, &suites) < 0 || wire_rd_left(&suites) % 2 != 0)
        return ERR_MALFORMED;
    out->cipher_suites = bytes_of(wire_rd_ptr(&suites), wire_rd_left(&suites));
    if (wire_rd_vec8(&body, &comp) < 0)
        return ERR_MALFORMED;
    out->compression = bytes_of(wire_rd_ptr(&comp), wire_rd_left(&comp));
    if (wire_rd_left(&body) == 0)
        return 0; /* no extensions at all: legal, negotiates TLS 1.2 at most */
    struct wire_rd exts;
    if (wire_rd_vec16(&body, &exts) < 0 || wire_rd_done(&body) < 0)
        return ERR_MALFORMED;
    return parse_extensions(&exts, out);
}

/* Walks the records in `in`. On success *msg_len is the ClientHello size and *rec_end the input
 * offset just past the record holding its last byte; *single says the message lies inside one
 * record payload starting at *first_off. */
static int scan_records(const uint8_t *in, size_t len, size_t *msg_len, size_t *rec_end, size_t *trailing, bool *single,
                        size_t *first_off)
{
    size_t pos = 0, have = 0, need = 0, useless = 0;
    uint8_t hdr[4];
    *single = false;
    for (;;) {
        if (len - pos < 5)
            return ERR_NEED_MORE;
        uint8_t type = in[pos];
        uint16_t vers = wire_be16(in + pos + 1);
        size_t n = wire_be16(in + pos + 3);
        if ((type != CT_HANDSHAKE && type != CT_ALERT) || vers >= 0x1000)
            return ERR_MALFORMED; /* "first record does not look like a TLS handshake" */
        if (n > REALITY_CH_MAX_RECORD_PAYLOAD)
            return ERR_TOO_LONG;
        const uint8_t *pl = in + pos + 5;
        size_t avail = len - pos - 5 < n ? len - pos - 5 : n;
        if (type == CT_ALERT) {
            if (avail < n)
                return ERR_NEED_MORE;
            /* Go tolerates warning alerts (not close_notify) before a version is chosen. */
            if (n != 2 || pl[0] != 1 || pl[1] == 0 || ++useless > REALITY_CH_MAX_USELESS_RECORDS)
                return ERR_MALFORMED;
            pos += 5 + n;
            continue;
        }
        if (n == 0) {
            if (++useless > REALITY_CH_MAX_USELESS_RECORDS)
                return ERR_MALFORMED;
            pos += 5;
            continue;
        }
        if (avail == 0)
            return ERR_NEED_MORE;
        /* Check the handshake header as soon as its 4 bytes exist. */
        for (size_t i = 0; i < avail && have + i < 4; i++)
            hdr[have + i] = pl[i];
        if (have == 0) {
            *first_off = pos + 5;
            if (pl[0] != HS_CLIENT_HELLO)
                return ERR_MALFORMED;
        }
        if (have + avail >= 4 && need == 0) {
            size_t body = wire_be24(hdr + 1);
            if (body > REALITY_CH_MAX_MESSAGE)
                return ERR_TOO_LONG;
            need = 4 + body;
        }
        if (need != 0 && have + avail >= need) {
            *msg_len = need;
            *rec_end = pos + 5 + n;
            *trailing = have + n - need;
            *single = have == 0;
            return avail == n ? 0 : ERR_NEED_MORE; /* Go reads whole records */
        }
        if (avail < n)
            return ERR_NEED_MORE;
        have += n;
        useless = 0;
        pos += 5 + n;
    }
}

int reality_ch_peek(const uint8_t *in, size_t len, struct buf *scratch, struct reality_client_hello *out)
{
    size_t msg_len = 0, rec_end = 0, trailing = 0, first_off = 0;
    bool single;
    int rc = scan_records(in, len, &msg_len, &rec_end, &trailing, &single, &first_off);
    if (rc < 0)
        return rc;
    const uint8_t *msg = in + first_off;
    if (!single) {
        buf_reset(scratch);
        TRY(buf_reserve(scratch, msg_len));
        size_t pos = 0;
        while (buf_len(scratch) < msg_len) {
            size_t n = wire_be16(in + pos + 3);
            if (in[pos] == CT_HANDSHAKE) {
                size_t take = msg_len - buf_len(scratch) < n ? msg_len - buf_len(scratch) : n;
                TRY(buf_append(scratch, in + pos + 5, take));
            }
            pos += 5 + n;
        }
        msg = buf_data(scratch);
    }
    TRY(reality_ch_parse_msg(msg, msg_len, out));
    out->record_bytes = rec_end;
    out->trailing_hs = trailing;
    return 0;
}

int reality_ch_next_key_share(const struct reality_client_hello *ch, size_t *pos, struct reality_key_share *ks)
{
    if (*pos >= ch->key_share_list.len)
        return ERR_NOT_FOUND;
    struct wire_rd r = wire_rd_init(ch->key_share_list.p, ch->key_share_list.len);
    struct wire_rd data;
    wire_rd_skip(&r, *pos);
    if (wire_rd_u16(&r, &ks->group) < 0 || wire_rd_vec16(&r, &data) < 0)
        return ERR_MALFORMED;
    ks->data = bytes_of(wire_rd_ptr(&data), wire_rd_left(&data));
    *pos = r.pos;
    return 0;
}
