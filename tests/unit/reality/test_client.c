/* reality/client: the Chrome-shaped hello parses with our parser, authenticates with our
 * server code, and matches the structure of the real Chrome (uTLS) capture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/wire.h"
#include "crypto/crypto.h"
#include "reality/auth.h"
#include "reality/client.h"
#include "reality/client_hello.h"
#include "test_util.h"

/* Deterministic RNG: SHA-256(seed || counter) blocks. */
struct test_rng {
    uint32_t seed, counter;
    size_t calls;
};

static int test_random(void *arg, void *out, size_t n)
{
    struct test_rng *r = arg;
    uint8_t *o = out;
    r->calls++;
    while (n > 0) {
        uint8_t in[8], h[32];
        wire_put_be32(in, r->seed);
        wire_put_be32(in + 4, r->counter++);
        assert_int_equal(crypto_hash(CRYPTO_SHA256, in, 8, h), 0);
        size_t k = n < 32 ? n : 32;
        memcpy(o, h, k);
        o += k;
        n -= k;
    }
    return 0;
}

static int failing_random(void *arg, void *out, size_t n)
{
    size_t *budget = arg;
    if (*budget == 0)
        return ERR_CRYPTO;
    (*budget)--;
    memset(out, 0x5a, n);
    return 0;
}

/* Fake hybrid keygen: random "ek" and the X25519 public key of a known private key. */
struct fake_hybrid {
    uint8_t x_priv[32];
    uint8_t x_pub[32];
    int calls;
};

static int fake_hybrid_keygen(void *arg, uint8_t share[static 1216])
{
    struct fake_hybrid *f = arg;
    f->calls++;
    memset(share, 0x77, 1184);
    memcpy(share + 1184, f->x_pub, 32);
    return 0;
}

static const char *server_priv_hex = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e6f";
static const char *server_pub_hex = "d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff66";

static void params_init(struct reality_client_params *p, struct test_rng *rng, const char *sni)
{
    memset(p, 0, sizeof(*p));
    size_t n;
    uint8_t *pub = tu_hex(server_pub_hex, &n);
    memcpy(p->server_public_key, pub, 32);
    free(pub);
    memcpy(p->short_id, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    p->server_name = sni;
    p->version[0] = 26;
    p->version[1] = 7;
    p->version[2] = 28;
    p->now_ms = 1767225600123ULL;
    p->random = test_random;
    p->random_arg = rng;
}

static struct reality_server_cfg *server_cfg(void)
{
    size_t n;
    uint8_t *priv = tu_hex(server_priv_hex, &n);
    struct reality_server_cfg *cfg = reality_server_cfg_new(priv);
    free(priv);
    assert_int_equal(reality_server_cfg_add_server_name(cfg, "www.example.com", 15), 0);
    assert_int_equal(reality_server_cfg_add_server_name(cfg, "", 0), 0);
    assert_int_equal(reality_server_cfg_add_short_id(cfg, "0123456789abcdef"), 0);
    assert_int_equal(reality_server_cfg_set_max_time_diff(cfg, 60000), 0);
    assert_int_equal(reality_server_cfg_freeze(cfg), 0);
    return cfg;
}

/* Finds an extension body in a parsed hello. */
static bool ext_body(const struct reality_client_hello *ch, uint16_t type, struct bytes *body)
{
    struct wire_rd r = wire_rd_init(ch->msg.p, ch->msg.len), e, exts;
    struct bytes skip;
    wire_rd_skip(&r, 4 + 2 + 32);
    wire_rd_vec8(&r, &e);
    wire_rd_vec16(&r, &e);
    wire_rd_vec8(&r, &e);
    if (wire_rd_vec16(&r, &exts) < 0)
        return false;
    while (wire_rd_left(&exts) > 0) {
        uint16_t t;
        assert_int_equal(wire_rd_u16(&exts, &t), 0);
        assert_int_equal(wire_rd_vec16(&exts, &e), 0);
        if (t == type) {
            *body = bytes_of(wire_rd_ptr(&e), wire_rd_left(&e));
            return true;
        }
        (void)skip;
    }
    return false;
}

/* GREASE code points replaced by 0x0a0a so bodies compare across hellos. */
static void normalize_grease(uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (reality_is_grease(wire_be16(p + i)))
            p[i] = p[i + 1] = 0x0a;
}

static void assert_same_body(const struct reality_client_hello *a, const struct reality_client_hello *b, uint16_t t)
{
    struct bytes x, y;
    assert_true(ext_body(a, t, &x));
    assert_true(ext_body(b, t, &y));
    assert_int_equal(x.len, y.len);
    uint8_t *cx = malloc(x.len + 1), *cy = malloc(y.len + 1);
    memcpy(cx, x.p, x.len);
    memcpy(cy, y.p, y.len);
    normalize_grease(cx, x.len);
    normalize_grease(cy, y.len);
    if (memcmp(cx, cy, x.len) != 0)
        fail_msg("extension 0x%04x differs from Chrome's", t);
    free(cx);
    free(cy);
}

static void check_chrome_shape(const struct reality_client_hello *ch, bool hybrid, bool sni)
{
    assert_int_equal(ch->legacy_version, 0x0303);
    assert_int_equal(ch->session_id.len, 32);
    assert_int_equal(ch->compression.len, 1);
    assert_int_equal(ch->compression.p[0], 0);
    /* Suites: GREASE first, then Chrome's 15. */
    assert_int_equal(ch->cipher_suites.len, 32);
    assert_true(reality_is_grease(wire_be16(ch->cipher_suites.p)));
    assert_int_equal(wire_be16(ch->cipher_suites.p + 2), 0x1301);
    /* Extension list: GREASE first (empty), GREASE last (one zero byte) unless padded after. */
    size_t n = ch->n_extensions;
    bool padded = ch->ext_types[n - 1] == 21;
    size_t last = padded ? n - 2 : n - 1;
    assert_true(reality_is_grease(ch->ext_types[0]));
    assert_true(reality_is_grease(ch->ext_types[last]));
    assert_int_not_equal(ch->ext_types[0], ch->ext_types[last]);
    assert_int_equal(n, (sni ? 18u : 17u) + (padded ? 1u : 0u));
    static const uint16_t expect[] = {0, 23, 0xff01, 10, 11, 35, 16, 5, 13, 18, 51, 45, 43, 27, 0x44cd, 0xfe0d};
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        bool found = false;
        for (size_t k = 1; k < last; k++)
            found |= ch->ext_types[k] == expect[i];
        assert_true(found == (expect[i] != 0 || sni));
    }
    /* Key shares: GREASE (1 byte), [hybrid], X25519; the GREASE group matches supported_groups. */
    assert_int_equal(ch->n_key_shares, hybrid ? 3 : 2);
    assert_true(reality_is_grease(ch->key_shares[0].group));
    assert_int_equal(ch->key_shares[0].data.len, 1);
    assert_int_equal(wire_be16(ch->supported_groups.p), ch->key_shares[0].group);
    if (hybrid) {
        assert_int_equal(ch->key_shares[1].group, 0x11ec);
        assert_int_equal(ch->key_shares[1].data.len, 1216);
        assert_int_equal(wire_be16(ch->supported_groups.p + 2), 0x11ec);
    }
    assert_int_equal(ch->key_shares[hybrid ? 2 : 1].group, 0x001d);
    assert_int_equal(ch->supported_groups.len, hybrid ? 10 : 8);
    assert_true(ch->offers_tls13);
    assert_true(ch->has_alpn);
    assert_int_equal(ch->alpn_list.len, 12);
    assert_memory_equal(ch->alpn_list.p, "\x02h2\x08http/1.1", 12);
    assert_true(ch->has_ech);
    /* BoringSSL never leaves a message of 256..511 bytes. */
    assert_false(ch->msg.len > 0xff && ch->msg.len < 0x200);
    if (padded)
        assert_int_equal(ch->msg.len, 0x200);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct reality_server_cfg *cfg = server_cfg();
    for (uint32_t seed = 0; seed < 64; seed++) {
        for (int variant = 0; variant < 3; variant++) {
            bool hybrid = variant == 1, sni = variant != 2;
            struct test_rng rng = {seed, 0, 0};
            struct fake_hybrid fh;
            memset(fh.x_priv, 0x33, 32);
            assert_int_equal(crypto_x25519_public(fh.x_priv, fh.x_pub), 0);
            fh.calls = 0;
            struct reality_client_params p;
            params_init(&p, &rng, sni ? "www.example.com" : NULL);
            if (hybrid) {
                p.hybrid_keygen = fake_hybrid_keygen;
                p.hybrid_arg = &fh;
            }
            struct buf out;
            buf_init(&out);
            assert_int_equal(buf_append(&out, "xx", 2), 0); /* appends after existing data */
            struct reality_client_keys keys;
            assert_int_equal(reality_client_build(&p, &out, &keys), 0);
            assert_int_equal(keys.offered_hybrid, hybrid);
            assert_int_equal(fh.calls, hybrid ? 1 : 0);
            struct reality_client_hello ch;
            assert_int_equal(reality_ch_parse_msg(buf_data(&out) + 2, buf_len(&out) - 2, &ch), 0);
            check_chrome_shape(&ch, hybrid, sni);
            assert_memory_equal(ch.x25519_share, keys.x25519_pub, 32);
            struct reality_auth_result res;
            assert_int_equal(reality_auth(cfg, &ch, p.now_ms + 30000, &res), 0);
            assert_int_equal(res.outcome, REALITY_OUTCOME_AUTHENTICATED);
            assert_int_equal(res.share_group, 0x001d); /* the plain share wins over the hybrid one */
            assert_memory_equal(res.auth_key, keys.auth_key, 32);
            assert_int_equal(res.client_ver, 0x1a071c);
            assert_int_equal(res.client_time, 1767225600u);
            assert_memory_equal(res.short_id, p.short_id, 8);
            /* The same seed gives the same bytes: everything random comes from the RNG. */
            struct test_rng rng2 = {seed, 0, 0};
            p.random_arg = &rng2;
            struct buf again;
            buf_init(&again);
            struct reality_client_keys keys2;
            assert_int_equal(reality_client_build(&p, &again, &keys2), 0);
            assert_int_equal(buf_len(&again), buf_len(&out) - 2);
            assert_memory_equal(buf_data(&again), buf_data(&out) + 2, buf_len(&again));
            reality_client_keys_wipe(&keys);
            reality_client_keys_wipe(&keys2);
            buf_dispose(&again);
            buf_dispose(&out);
        }
    }
    reality_server_cfg_unref(cfg);
}

/* Extension bodies equal the real uTLS Chrome 133 capture's (GREASE normalized), and the set
 * of extension types is identical. */
static void test_matches_chrome_capture(void **state)
{
    (void)state;
    size_t len;
    uint8_t *rec = tu_read_hex_file(tu_testdata("reality-clienthello/clienthello-chrome.hex"), &len);
    assert_non_null(rec);
    struct reality_client_hello chrome, ours;
    assert_int_equal(reality_ch_parse_msg(rec + 5, len - 5, &chrome), 0);
    struct test_rng rng = {7, 0, 0};
    struct fake_hybrid fh;
    memset(fh.x_priv, 0x33, 32);
    assert_int_equal(crypto_x25519_public(fh.x_priv, fh.x_pub), 0);
    struct reality_client_params p;
    params_init(&p, &rng, "www.example.com");
    p.hybrid_keygen = fake_hybrid_keygen;
    p.hybrid_arg = &fh;
    struct buf out;
    buf_init(&out);
    struct reality_client_keys keys;
    assert_int_equal(reality_client_build(&p, &out, &keys), 0);
    assert_int_equal(reality_ch_parse_msg(buf_data(&out), buf_len(&out), &ours), 0);
    assert_int_equal(ours.n_extensions, chrome.n_extensions);
    for (size_t i = 0; i < chrome.n_extensions; i++) {
        uint16_t t = chrome.ext_types[i];
        if (reality_is_grease(t))
            continue;
        struct bytes b;
        assert_true(ext_body(&ours, t, &b));
        if (t != 0x0033 && t != 0xfe0d)
            assert_same_body(&ours, &chrome, t);
    }
    assert_int_equal(ours.cipher_suites.len, chrome.cipher_suites.len);
    assert_memory_equal(ours.cipher_suites.p + 2, chrome.cipher_suites.p + 2, chrome.cipher_suites.len - 2);
    /* Same key share layout (sizes) and total length within the ECH payload choice. */
    assert_int_equal(ours.key_share_list.len, chrome.key_share_list.len);
    struct bytes e1, e2;
    assert_true(ext_body(&ours, 0xfe0d, &e1));
    assert_true(ext_body(&chrome, 0xfe0d, &e2));
    assert_memory_equal(e1.p, e2.p, 5); /* outer, HKDF-SHA256, AES-128-GCM */
    assert_int_equal(ours.msg.len - e1.len, chrome.msg.len - e2.len);
    reality_client_keys_wipe(&keys);
    buf_dispose(&out);
    free(rec);
}

static void test_shuffle_varies(void **state)
{
    (void)state;
    bool differs = false;
    uint16_t first[24];
    for (uint32_t seed = 0; seed < 8; seed++) {
        struct test_rng rng = {seed, 0, 0};
        struct reality_client_params p;
        params_init(&p, &rng, "www.example.com");
        struct buf out;
        buf_init(&out);
        struct reality_client_keys keys;
        assert_int_equal(reality_client_build(&p, &out, &keys), 0);
        struct reality_client_hello ch;
        assert_int_equal(reality_ch_parse_msg(buf_data(&out), buf_len(&out), &ch), 0);
        if (seed == 0)
            memcpy(first, ch.ext_types, sizeof(first));
        else
            differs |= memcmp(first + 1, ch.ext_types + 1, 16 * sizeof(uint16_t)) != 0;
        buf_dispose(&out);
    }
    assert_true(differs);
}

/* The padding rule: with no SNI and no hybrid, small ECH payloads land in 256..511. */
static void test_padding(void **state)
{
    (void)state;
    int padded = 0;
    for (uint32_t seed = 0; seed < 64; seed++) {
        struct test_rng rng = {seed, 0, 0};
        struct reality_client_params p;
        params_init(&p, &rng, NULL);
        struct buf out;
        buf_init(&out);
        struct reality_client_keys keys;
        assert_int_equal(reality_client_build(&p, &out, &keys), 0);
        struct reality_client_hello ch;
        assert_int_equal(reality_ch_parse_msg(buf_data(&out), buf_len(&out), &ch), 0);
        if (ch.ext_types[ch.n_extensions - 1] == 21) {
            padded++;
            assert_int_equal(buf_len(&out), 512);
        }
        buf_dispose(&out);
    }
    assert_true(padded > 0);
}

static void test_rng_failure_and_zero_key(void **state)
{
    (void)state;
    struct test_rng rng = {1, 0, 0};
    struct reality_client_params p;
    params_init(&p, &rng, "www.example.com");
    /* Fail each RNG call in turn: the error is returned and nothing is appended. */
    for (size_t budget = 0; budget < 7; budget++) {
        size_t b = budget;
        p.random = failing_random;
        p.random_arg = &b;
        struct buf out;
        buf_init(&out);
        struct reality_client_keys keys;
        assert_int_equal(reality_client_build(&p, &out, &keys), ERR_CRYPTO);
        assert_int_equal(buf_len(&out), 0);
        buf_dispose(&out);
    }
    /* A low-order server key gives an all-zero secret: refuse (spec §3.2 step 3). */
    p.random = test_random;
    p.random_arg = &rng;
    memset(p.server_public_key, 0, 32);
    struct buf out;
    buf_init(&out);
    struct reality_client_keys keys;
    assert_int_not_equal(reality_client_build(&p, &out, &keys), 0);
    assert_int_equal(buf_len(&out), 0);
    buf_dispose(&out);
}

/* A hello whose only usable share is the hybrid one: the server uses its X25519 tail (§4.3),
 * and the legacy ChaCha20 deviation (§12.3) only when enabled. */
static void test_hybrid_only_and_chacha(void **state)
{
    (void)state;
    uint8_t x_priv[32], x_pub[32], random[32];
    memset(x_priv, 0x44, 32);
    memset(random, 0xa5, 32);
    assert_int_equal(crypto_x25519_public(x_priv, x_pub), 0);
    struct buf b;
    buf_init(&b);
    struct wire_block msg, l, exts, e, e2;
    assert_int_equal(wire_wr_u8(&b, 1), 0);
    assert_int_equal(wire_wr_open(&b, 3, &msg), 0);
    assert_int_equal(wire_wr_u16(&b, 0x0303), 0);
    assert_int_equal(wire_wr_bytes(&b, random, 32), 0);
    uint8_t zero[32] = {0};
    assert_int_equal(wire_wr_u8(&b, 32), 0);
    assert_int_equal(wire_wr_bytes(&b, zero, 32), 0);
    assert_int_equal(wire_wr_bytes(&b, "\x00\x02\x13\x01\x01\x00", 6), 0);
    assert_int_equal(wire_wr_open(&b, 2, &exts), 0);
    assert_int_equal(wire_wr_bytes(&b, "\x00\x2b\x00\x03\x02\x03\x04", 7), 0);
    assert_int_equal(wire_wr_u16(&b, 51), 0);
    assert_int_equal(wire_wr_open(&b, 2, &e), 0);
    assert_int_equal(wire_wr_open(&b, 2, &l), 0);
    assert_int_equal(wire_wr_bytes(&b, "\x00\x17\x00\x01\x04", 5), 0); /* P-256 share: ignored */
    assert_int_equal(wire_wr_bytes(&b, "\x00\x1d\x00\x01\x09", 5), 0); /* X25519 of wrong size: ignored */
    assert_int_equal(wire_wr_u16(&b, 0x11ec), 0);
    assert_int_equal(wire_wr_open(&b, 2, &e2), 0);
    uint8_t ek[1184];
    memset(ek, 0x11, sizeof(ek));
    assert_int_equal(wire_wr_bytes(&b, ek, sizeof(ek)), 0);
    assert_int_equal(wire_wr_bytes(&b, x_pub, 32), 0);
    assert_int_equal(wire_wr_close(&b, &e2), 0);
    assert_int_equal(wire_wr_close(&b, &l), 0);
    assert_int_equal(wire_wr_close(&b, &e), 0);
    assert_int_equal(wire_wr_close(&b, &exts), 0);
    assert_int_equal(wire_wr_close(&b, &msg), 0);

    size_t n;
    uint8_t *spub = tu_hex(server_pub_hex, &n);
    uint8_t plain[16], ak[32];
    reality_client_plain((const uint8_t[]){1, 8, 1}, 1767225600u, (const uint8_t *)"\x01\x23\x45\x67\x89\xab\xcd\xef",
                         plain);
    uint8_t *copy = malloc(buf_len(&b));
    memcpy(copy, buf_data(&b), buf_len(&b));
    assert_int_equal(reality_client_seal(buf_data(&b), buf_len(&b), x_priv, spub, plain, ak), 0);
    assert_int_equal(reality_client_seal(buf_data(&b), buf_len(&b), x_priv, spub, plain, ak), ERR_MALFORMED);

    struct reality_server_cfg *cfg = server_cfg();
    struct reality_client_hello ch;
    struct reality_auth_result res;
    assert_int_equal(reality_ch_parse_msg(buf_data(&b), buf_len(&b), &ch), 0);
    assert_false(ch.has_sni); /* "" is listed in server_cfg() */
    assert_int_equal(ch.x25519_share_group, 0x11ec);
    assert_int_equal(reality_auth(cfg, &ch, 1767225600000ULL, &res), 0);
    assert_int_equal(res.outcome, REALITY_OUTCOME_AUTHENTICATED);
    assert_int_equal(res.share_group, 0x11ec);
    assert_memory_equal(res.auth_key, ak, 32);
    assert_int_equal(res.client_ver, 0x010801);

    /* Same hello sealed with ChaCha20-Poly1305 as pre-25.5.16 clients could. */
    struct crypto_aead_ctx *a = crypto_aead_new(CRYPTO_CHACHA20_POLY1305, ak, true);
    uint8_t sid[32];
    assert_int_equal(crypto_aead_seal(a, copy + 26, copy, buf_len(&b), plain, 16, sid), 0);
    crypto_aead_free(a);
    memcpy(copy + 39, sid, 32);
    assert_int_equal(reality_ch_parse_msg(copy, buf_len(&b), &ch), 0);
    assert_int_equal(reality_auth(cfg, &ch, 1767225600000ULL, &res), 0);
    assert_int_equal(res.outcome, REALITY_OUTCOME_DECRYPT_FAILED);
    reality_server_cfg_unref(cfg);
    size_t kl;
    uint8_t *priv = tu_hex(server_priv_hex, &kl);
    cfg = reality_server_cfg_new(priv);
    assert_int_equal(reality_server_cfg_add_server_name(cfg, "", 0), 0);
    assert_int_equal(reality_server_cfg_add_short_id(cfg, "0123456789abcdef"), 0);
    assert_int_equal(reality_server_cfg_set_legacy_chacha(cfg, true), 0);
    assert_int_equal(reality_server_cfg_freeze(cfg), 0);
    assert_int_equal(reality_auth(cfg, &ch, 0, &res), 0);
    assert_int_equal(res.outcome, REALITY_OUTCOME_AUTHENTICATED);
    assert_true(res.used_chacha);
    reality_server_cfg_unref(cfg);

    /* No usable share at all: drop the hybrid entry by renaming its group. */
    wire_put_be16(copy + (ch.key_shares[2].data.p - copy) - 4, 0x6399);
    assert_int_equal(reality_ch_parse_msg(copy, buf_len(&b), &ch), 0);
    assert_null(ch.x25519_share);
    cfg = server_cfg();
    assert_int_equal(reality_auth(cfg, &ch, 0, &res), 0);
    assert_int_equal(res.outcome, REALITY_OUTCOME_NO_X25519_SHARE);
    reality_server_cfg_unref(cfg);
    free(priv);
    free(copy);
    free(spub);
    buf_dispose(&b);
}

/* Spec §13: sealing the vector hello with the vector keys gives exactly the vector sid. */
static void test_spec_seal_vector(void **state)
{
    (void)state;
    static const char *hello_hex = "010000c40303a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf2000"
                                   "00000000000000000000000000000000000000000000000000000000000000000613011302130301"
                                   "00007500000014001200000f7777772e6578616d706c652e636f6d000a00040002001d000d000800"
                                   "060403080408070010000e000c02683208687474702f312e31002b0003020304002d000201010033"
                                   "00260024001d002079a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a";
    size_t n, k, s, a;
    uint8_t *msg = tu_hex(hello_hex, &n);
    uint8_t *cpriv = tu_hex("404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f", &k);
    uint8_t *spub = tu_hex(server_pub_hex, &k);
    uint8_t *sid = tu_hex("4dd950d94a19f664dcb6745819a1ccef7abd7519b1d978c29fdf45d1e01ff3a5", &s);
    uint8_t *ak = tu_hex("6d1789eeccfffa456b641d2da0cb5a3479d44187fdb9a4d69c471811be745f43", &a);
    uint8_t plain[16], auth_key[32];
    reality_client_plain((const uint8_t[]){26, 7, 28}, 1767225600u, (const uint8_t *)"\x01\x23\x45\x67\x89\xab\xcd\xef",
                         plain);
    assert_memory_equal(plain, "\x1a\x07\x1c\x00\x69\x55\xb9\x00\x01\x23\x45\x67\x89\xab\xcd\xef", 16);
    assert_int_equal(reality_client_seal(msg, n, cpriv, spub, plain, auth_key), 0);
    assert_memory_equal(auth_key, ak, 32);
    assert_memory_equal(msg + 39, sid, 32);
    free(msg);
    free(cpriv);
    free(spub);
    free(sid);
    free(ak);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_matches_chrome_capture),
        cmocka_unit_test(test_shuffle_varies),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_rng_failure_and_zero_key),
        cmocka_unit_test(test_hybrid_only_and_chacha),
        cmocka_unit_test(test_spec_seal_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
