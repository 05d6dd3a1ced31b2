/* REALITY client hello builder (spec/reality.md §3; Chrome shape documented in client.h). */
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "core/wire.h"
#include "crypto/crypto.h"
#include "reality/auth.h"
#include "reality/client.h"
#include "reality/client_hello.h"

enum grease_index {
    GREASE_CIPHER = 0,
    GREASE_GROUP,
    GREASE_EXT1,
    GREASE_EXT2,
    GREASE_VERSION,
    GREASE__COUNT, /* sentinel */
};

/* The extensions Chrome shuffles (everything but the two GREASE ones and padding). */
enum chrome_ext {
    CX_SNI = 0,
    CX_EMS,
    CX_RENEGOTIATION,
    CX_GROUPS,
    CX_POINT_FORMATS,
    CX_SESSION_TICKET,
    CX_ALPN,
    CX_STATUS_REQUEST,
    CX_SIG_ALGS,
    CX_SCT,
    CX_KEY_SHARE,
    CX_PSK_MODES,
    CX_VERSIONS,
    CX_COMPRESS_CERT,
    CX_ALPS,
    CX_ECH,
    CX__COUNT, /* sentinel */
};

static const uint16_t chrome_suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                                         0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
static const uint16_t chrome_sigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
static const uint16_t ech_payload_lens[] = {128, 160, 192, 224}; /* + 16 bytes of AEAD tag */

struct hello_ctx {
    const struct reality_client_params *p;
    uint16_t grease[GREASE__COUNT];
    const uint8_t *x25519_pub;
    const uint8_t *hybrid_share; /* 1216 bytes or NULL */
    uint8_t ech_config_id;
    uint8_t ech_enc[32];
    size_t ech_payload_len;
    uint8_t ech_payload[240 + 16];
};

static int get_random(const struct reality_client_params *p, void *out, size_t n)
{
    if (p->random != NULL)
        return p->random(p->random_arg, out, n);
    return crypto_random(out, n);
}

/* BoringSSL ssl_get_grease_value: (seed & 0xf0) | 0x0a, doubled; extension 2 differs from 1. */
static int make_grease(const struct reality_client_params *p, uint16_t g[GREASE__COUNT])
{
    uint8_t seed[GREASE__COUNT];
    TRY(get_random(p, seed, sizeof(seed)));
    for (size_t i = 0; i < GREASE__COUNT; i++) {
        uint16_t v = (uint16_t)((seed[i] & 0xf0) | 0x0a);
        g[i] = (uint16_t)(v | v << 8);
    }
    if (g[GREASE_EXT2] == g[GREASE_EXT1])
        g[GREASE_EXT2] ^= 0x1010;
    return 0;
}

static int wr_u16_list(struct buf *b, const uint16_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        TRY(wire_wr_u16(b, v[i]));
    return 0;
}

static int wr_alpn_h2(struct buf *b, bool http11)
{
    struct wire_block l;
    TRY(wire_wr_open(b, 2, &l));
    TRY(wire_wr_bytes(b, "\x02h2", 3));
    if (http11)
        TRY(wire_wr_bytes(b, "\x08http/1.1", 9));
    return wire_wr_close(b, &l);
}

static int wr_ext_body(struct buf *b, enum chrome_ext x, const struct hello_ctx *h)
{
    struct wire_block l;
    switch (x) {
    case CX_SNI: {
        size_t n = strlen(h->p->server_name);
        TRY(wire_wr_u16(b, (uint16_t)(n + 3)));
        TRY(wire_wr_u8(b, 0)); /* host_name */
        TRY(wire_wr_u16(b, (uint16_t)n));
        return wire_wr_bytes(b, h->p->server_name, n);
    }
    case CX_EMS:
    case CX_SESSION_TICKET:
    case CX_SCT:
        return 0;
    case CX_RENEGOTIATION:
        return wire_wr_u8(b, 0);
    case CX_GROUPS:
        TRY(wire_wr_open(b, 2, &l));
        TRY(wire_wr_u16(b, h->grease[GREASE_GROUP]));
        if (h->hybrid_share != NULL)
            TRY(wire_wr_u16(b, REALITY_TLS_GROUP_X25519MLKEM768));
        TRY(wr_u16_list(b, (const uint16_t[]){0x001d, 0x0017, 0x0018}, 3));
        return wire_wr_close(b, &l);
    case CX_POINT_FORMATS:
        return wire_wr_bytes(b, "\x01\x00", 2);
    case CX_ALPN:
        return wr_alpn_h2(b, true);
    case CX_STATUS_REQUEST:
        return wire_wr_bytes(b, "\x01\x00\x00\x00\x00", 5); /* OCSP, no responders, no extensions */
    case CX_SIG_ALGS:
        TRY(wire_wr_open(b, 2, &l));
        TRY(wr_u16_list(b, chrome_sigalgs, sizeof(chrome_sigalgs) / sizeof(chrome_sigalgs[0])));
        return wire_wr_close(b, &l);
    case CX_KEY_SHARE:
        TRY(wire_wr_open(b, 2, &l));
        TRY(wire_wr_u16(b, h->grease[GREASE_GROUP]));
        TRY(wire_wr_bytes(b, "\x00\x01\x00", 3)); /* GREASE share: one zero byte */
        if (h->hybrid_share != NULL) {
            TRY(wire_wr_u16(b, REALITY_TLS_GROUP_X25519MLKEM768));
            TRY(wire_wr_u16(b, REALITY_X25519MLKEM768_CLIENT_SHARE_LEN));
            TRY(wire_wr_bytes(b, h->hybrid_share, REALITY_X25519MLKEM768_CLIENT_SHARE_LEN));
        }
        TRY(wire_wr_u16(b, REALITY_TLS_GROUP_X25519));
        TRY(wire_wr_u16(b, 32));
        TRY(wire_wr_bytes(b, h->x25519_pub, 32));
        return wire_wr_close(b, &l);
    case CX_PSK_MODES:
        return wire_wr_bytes(b, "\x01\x01", 2); /* psk_dhe_ke */
    case CX_VERSIONS:
        TRY(wire_wr_u8(b, 6));
        TRY(wire_wr_u16(b, h->grease[GREASE_VERSION]));
        return wr_u16_list(b, (const uint16_t[]){0x0304, 0x0303}, 2);
    case CX_COMPRESS_CERT:
        return wire_wr_bytes(b, "\x02\x00\x02", 3); /* brotli */
    case CX_ALPS:
        return wr_alpn_h2(b, false);
    case CX_ECH:
        TRY(wire_wr_u8(b, 0));       /* outer */
        TRY(wire_wr_u16(b, 0x0001)); /* HKDF-SHA256 */
        TRY(wire_wr_u16(b, 0x0001)); /* AES-128-GCM */
        TRY(wire_wr_u8(b, h->ech_config_id));
        TRY(wire_wr_u16(b, 32));
        TRY(wire_wr_bytes(b, h->ech_enc, 32));
        TRY(wire_wr_u16(b, (uint16_t)h->ech_payload_len));
        return wire_wr_bytes(b, h->ech_payload, h->ech_payload_len);
    default:
        return ERR_INTERNAL;
    }
}

static const uint16_t chrome_ext_type[CX__COUNT] = {
    [CX_SNI] = 0,       [CX_EMS] = 23,           [CX_RENEGOTIATION] = 0xff01,
    [CX_GROUPS] = 10,   [CX_POINT_FORMATS] = 11, [CX_SESSION_TICKET] = 35,
    [CX_ALPN] = 16,     [CX_STATUS_REQUEST] = 5, [CX_SIG_ALGS] = 13,
    [CX_SCT] = 18,      [CX_KEY_SHARE] = 51,     [CX_PSK_MODES] = 45,
    [CX_VERSIONS] = 43, [CX_COMPRESS_CERT] = 27, [CX_ALPS] = 0x44cd,
    [CX_ECH] = 0xfe0d,
};

static int wr_ext(struct buf *b, uint16_t type, enum chrome_ext x, const struct hello_ctx *h)
{
    struct wire_block l;
    TRY(wire_wr_u16(b, type));
    TRY(wire_wr_open(b, 2, &l));
    TRY(wr_ext_body(b, x, h));
    return wire_wr_close(b, &l);
}

/* Fisher-Yates over the shuffled extensions with the injected RNG. */
static int shuffle(const struct reality_client_params *p, enum chrome_ext *order, size_t n)
{
    uint8_t r[4 * CX__COUNT];
    TRY(get_random(p, r, sizeof(r)));
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = wire_be32(r + 4 * i) % (i + 1);
        enum chrome_ext t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return 0;
}

static int write_hello(struct buf *out, const struct hello_ctx *h, const uint8_t random[32],
                       const enum chrome_ext *order, size_t n_order)
{
    size_t start = buf_len(out);
    struct wire_block msg, l, exts;
    TRY(wire_wr_u8(out, 1));
    TRY(wire_wr_open(out, 3, &msg));
    TRY(wire_wr_u16(out, 0x0303));
    TRY(wire_wr_bytes(out, random, 32));
    TRY(wire_wr_u8(out, 32));
    static const uint8_t zero_sid[32];
    TRY(wire_wr_bytes(out, zero_sid, 32));
    TRY(wire_wr_open(out, 2, &l));
    TRY(wire_wr_u16(out, h->grease[GREASE_CIPHER]));
    TRY(wr_u16_list(out, chrome_suites, sizeof(chrome_suites) / sizeof(chrome_suites[0])));
    TRY(wire_wr_close(out, &l));
    TRY(wire_wr_bytes(out, "\x01\x00", 2));
    TRY(wire_wr_open(out, 2, &exts));
    TRY(wire_wr_u16(out, h->grease[GREASE_EXT1]));
    TRY(wire_wr_u16(out, 0));
    for (size_t i = 0; i < n_order; i++)
        TRY(wr_ext(out, chrome_ext_type[order[i]], order[i], h));
    TRY(wire_wr_u16(out, h->grease[GREASE_EXT2]));
    TRY(wire_wr_bytes(out, "\x00\x01\x00", 3));
    /* RFC 7685 padding as BoringSSL applies it: a message of 256..511 bytes grows to 512. */
    size_t unpadded = buf_len(out) - start;
    if (unpadded > 0xff && unpadded < 0x200) {
        size_t pad = 0x200 - unpadded;
        pad = pad >= 5 ? pad - 4 : 1;
        TRY(wire_wr_u16(out, 21));
        TRY(wire_wr_u16(out, (uint16_t)pad));
        static const uint8_t zeros[256];
        TRY(wire_wr_bytes(out, zeros, pad));
    }
    TRY(wire_wr_close(out, &exts));
    return wire_wr_close(out, &msg);
}

void reality_client_plain(const uint8_t version[static 3], uint32_t unix_time, const uint8_t short_id[static 8],
                          uint8_t out[static 16])
{
    memcpy(out, version, 3);
    out[3] = 0;
    wire_put_be32(out + 4, unix_time);
    memcpy(out + 8, short_id, 8);
}

int reality_client_seal(uint8_t *msg, size_t len, const uint8_t priv[static 32], const uint8_t server_pub[static 32],
                        const uint8_t plain[static 16], uint8_t auth_key[static 32])
{
    static const uint8_t zero[32];
    if (len < REALITY_CH_SESSION_ID_OFFSET + 32 || msg[0] != 1 || msg[REALITY_CH_SESSION_ID_OFFSET - 1] != 32 ||
        memcmp(msg + REALITY_CH_SESSION_ID_OFFSET, zero, 32) != 0)
        return ERR_MALFORMED;
    uint8_t shared[32], sid[32];
    int rc = crypto_x25519(shared, priv, server_pub);
    if (rc == 0)
        rc = reality_derive_auth_key(shared, msg + 6, auth_key);
    secure_wipe(shared, sizeof(shared));
    if (rc < 0)
        return rc;
    struct crypto_aead_ctx *a = crypto_aead_new(CRYPTO_AES_256_GCM, auth_key, true);
    if (a == NULL)
        return ERR_NOMEM;
    /* AAD is the hello with the zero session id, i.e. msg as it is now. */
    rc = crypto_aead_seal(a, msg + 6 + 20, msg, len, plain, 16, sid);
    crypto_aead_free(a);
    if (rc < 0)
        return rc;
    memcpy(msg + REALITY_CH_SESSION_ID_OFFSET, sid, 32);
    return 0;
}

void reality_client_keys_wipe(struct reality_client_keys *keys)
{
    secure_wipe(keys, sizeof(*keys));
}

int reality_client_build(const struct reality_client_params *p, struct buf *out, struct reality_client_keys *keys)
{
    memset(keys, 0, sizeof(*keys));
    struct hello_ctx h;
    memset(&h, 0, sizeof(h));
    h.p = p;
    uint8_t random[32], share[REALITY_X25519MLKEM768_CLIENT_SHARE_LEN], ech_priv[32], pick;
    size_t start = buf_len(out);
    int rc;
    bool sni = p->server_name != NULL && p->server_name[0] != '\0';
    if (sni && strlen(p->server_name) > 0xffff - 5)
        return ERR_RANGE;

    if ((rc = get_random(p, random, 32)) < 0 || (rc = make_grease(p, h.grease)) < 0 ||
        (rc = get_random(p, keys->x25519_priv, 32)) < 0 ||
        (rc = crypto_x25519_public(keys->x25519_priv, keys->x25519_pub)) < 0)
        goto out;
    h.x25519_pub = keys->x25519_pub;
    if (p->hybrid_keygen != NULL) {
        if ((rc = p->hybrid_keygen(p->hybrid_arg, share)) < 0)
            goto out;
        h.hybrid_share = share;
        keys->offered_hybrid = true;
    }
    /* GREASE ECH: a throwaway X25519 enc and random payload, as BoringSSL/uTLS send. */
    if ((rc = get_random(p, &h.ech_config_id, 1)) < 0 || (rc = get_random(p, ech_priv, 32)) < 0 ||
        (rc = crypto_x25519_public(ech_priv, h.ech_enc)) < 0 || (rc = get_random(p, &pick, 1)) < 0)
        goto out;
    h.ech_payload_len = ech_payload_lens[pick % 4] + 16;
    if ((rc = get_random(p, h.ech_payload, h.ech_payload_len)) < 0)
        goto out;

    enum chrome_ext order[CX__COUNT];
    size_t n = 0;
    for (int x = 0; x < CX__COUNT; x++)
        if (x != CX_SNI || sni)
            order[n++] = (enum chrome_ext)x;
    if ((rc = shuffle(p, order, n)) < 0 || (rc = write_hello(out, &h, random, order, n)) < 0)
        goto out;

    uint8_t plain[16];
    reality_client_plain(p->version, (uint32_t)(p->now_ms / 1000), p->short_id, plain);
    rc = reality_client_seal(buf_data(out) + start, buf_len(out) - start, keys->x25519_priv, p->server_public_key,
                             plain, keys->auth_key);
    secure_wipe(plain, sizeof(plain));
out:
    secure_wipe(ech_priv, sizeof(ech_priv));
    if (rc < 0) {
        out->wpos = out->rpos + start; /* drop a partial hello */
        reality_client_keys_wipe(keys);
    }
    return rc;
}
