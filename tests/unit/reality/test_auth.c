/* reality/auth + client_hello over the real Xray-core / sing-box captures and spec §13. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/enc.h"
#include "core/err.h"
#include "core/metrics.h"
#include "crypto/crypto.h"
#include "reality/auth.h"
#include "reality/client_hello.h"
#include "reality/outcome.h"
#include "test_util.h"

struct capture {
    const char *file, *key_b64, *short_id, *sni;
    uint32_t time;
    size_t record_len;
    const char *plain_hex;
    uint8_t ver[3];
    size_t n_groups;
    uint16_t groups[4];
    size_t n_ext;
    uint16_t ext[24];
};

static const struct capture captures[] = {
#include "captures.inc"
};
#define N_CAPTURES (sizeof(captures) / sizeof(captures[0]))

static uint8_t *load_capture(const struct capture *c, size_t *len)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "reality-clienthello/%s", c->file);
    uint8_t *rec = tu_read_hex_file(tu_testdata(rel), len);
    assert_non_null(rec);
    return rec;
}

static void capture_key(const struct capture *c, uint8_t key[32])
{
    size_t n = 0;
    assert_int_equal(b64_decode(key, 32, &n, c->key_b64, strlen(c->key_b64), B64_RAW_URL), 0);
    assert_int_equal(n, 32);
}

/* Config as the capture's server had it, with optional overrides. */
static struct reality_server_cfg *make_cfg(const uint8_t key[32], const char *sni, const char *sid, const char *min,
                                           const char *max, uint64_t max_diff)
{
    struct reality_server_cfg *cfg = reality_server_cfg_new(key);
    assert_non_null(cfg);
    assert_int_equal(reality_server_cfg_add_server_name(cfg, sni, strlen(sni)), 0);
    assert_int_equal(reality_server_cfg_add_short_id(cfg, sid), 0);
    assert_int_equal(reality_server_cfg_set_client_ver(cfg, min, max), 0);
    assert_int_equal(reality_server_cfg_set_max_time_diff(cfg, max_diff), 0);
    assert_int_equal(reality_server_cfg_freeze(cfg), 0);
    return cfg;
}

static enum reality_outcome run_auth(const struct reality_server_cfg *cfg, const struct reality_client_hello *ch,
                                     uint64_t now_ms, struct reality_auth_result *res)
{
    assert_int_equal(reality_auth(cfg, ch, now_ms, res), 0);
    return res->outcome;
}

static void test_captures_parse_exactly(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CAPTURES; i++) {
        const struct capture *c = &captures[i];
        size_t len;
        uint8_t *rec = load_capture(c, &len);
        assert_int_equal(len, c->record_len);
        struct buf scratch;
        buf_init(&scratch);
        struct reality_client_hello ch;
        /* Every proper prefix needs more; the whole record parses. */
        for (size_t n = 0; n < len; n++)
            assert_int_equal(reality_ch_peek(rec, n, &scratch, &ch), ERR_NEED_MORE);
        assert_int_equal(reality_ch_peek(rec, len, &scratch, &ch), 0);
        assert_int_equal(ch.record_bytes, len);
        assert_int_equal(ch.trailing_hs, 0);
        assert_ptr_equal(ch.msg.p, rec + 5);
        assert_int_equal(ch.msg.len, len - 5);
        assert_int_equal(ch.session_id.len, 32);
        assert_int_equal(ch.session_id_offset, 39);
        assert_ptr_equal(ch.session_id.p, ch.msg.p + 39);
        assert_ptr_equal(ch.random, ch.msg.p + 6);
        assert_true(ch.has_sni);
        assert_int_equal(ch.sni.len, strlen(c->sni));
        assert_memory_equal(ch.sni.p, c->sni, ch.sni.len);
        assert_true(ch.offers_tls13);
        assert_int_equal(ch.n_key_shares, c->n_groups);
        for (size_t k = 0; k < c->n_groups; k++)
            assert_int_equal(ch.key_shares[k].group, c->groups[k]);
        assert_int_equal(ch.n_extensions, c->n_ext);
        for (size_t k = 0; k < c->n_ext; k++)
            assert_int_equal(ch.ext_types[k], c->ext[k]);
        assert_non_null(ch.x25519_share);
        assert_int_equal(ch.x25519_share_group, REALITY_TLS_GROUP_X25519);
        /* Iterator agrees with the recorded list. */
        size_t pos = 0, n = 0;
        struct reality_key_share ks;
        while (reality_ch_next_key_share(&ch, &pos, &ks) == 0)
            assert_int_equal(ks.group, c->groups[n++]);
        assert_int_equal(n, c->n_groups);
        buf_dispose(&scratch);
        free(rec);
    }
}

static void test_captures_authenticate(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CAPTURES; i++) {
        const struct capture *c = &captures[i];
        size_t len;
        uint8_t *rec = load_capture(c, &len);
        uint8_t key[32];
        capture_key(c, key);
        struct buf scratch;
        buf_init(&scratch);
        struct reality_client_hello ch;
        assert_int_equal(reality_ch_peek(rec, len, &scratch, &ch), 0);
        struct reality_server_cfg *cfg = make_cfg(key, c->sni, c->short_id, NULL, NULL, 0);
        struct reality_auth_result res;
        uint64_t now = (uint64_t)c->time * 1000;
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_AUTHENTICATED);
        size_t plen;
        uint8_t *plain = tu_hex(c->plain_hex, &plen);
        assert_int_equal(plen, 16);
        assert_memory_equal(res.plain, plain, 16);
        assert_memory_equal(res.version, c->ver, 3);
        assert_int_equal(res.client_ver, (uint32_t)c->ver[0] << 16 | c->ver[1] << 8 | c->ver[2]);
        assert_int_equal(res.client_time, c->time);
        uint8_t sid[8];
        assert_int_equal(reality_parse_short_id(c->short_id, sid), 0);
        assert_memory_equal(res.short_id, sid, 8);
        assert_int_equal(res.share_group, REALITY_TLS_GROUP_X25519);
        assert_false(res.used_chacha);
        reality_auth_result_wipe(&res);
        reality_server_cfg_unref(cfg);

        /* A 5 s window around the capture time accepts; just outside rejects. */
        cfg = make_cfg(key, c->sni, c->short_id, NULL, NULL, 5000);
        assert_int_equal(run_auth(cfg, &ch, now + 5000, &res), REALITY_OUTCOME_AUTHENTICATED);
        assert_int_equal(run_auth(cfg, &ch, now - 5000, &res), REALITY_OUTCOME_AUTHENTICATED);
        assert_int_equal(run_auth(cfg, &ch, now + 5001, &res), REALITY_OUTCOME_TIME);
        assert_int_equal(run_auth(cfg, &ch, now - 5001, &res), REALITY_OUTCOME_TIME);
        assert_int_equal(run_auth(cfg, &ch, 0, &res), REALITY_OUTCOME_TIME);
        reality_server_cfg_unref(cfg);

        /* Wrong private key: the session id does not open. */
        uint8_t bad[32];
        memcpy(bad, key, 32);
        bad[7] ^= 0x40;
        cfg = make_cfg(bad, c->sni, c->short_id, NULL, NULL, 0);
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_DECRYPT_FAILED);
        assert_false(res.opened);
        reality_server_cfg_unref(cfg);

        /* Unknown shortId (and "" means all zeros, which is not the capture's). */
        cfg = make_cfg(key, c->sni, "0123456789abcdee", NULL, NULL, 0);
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_SHORT_ID);
        assert_true(res.opened);
        reality_server_cfg_unref(cfg);
        cfg = make_cfg(key, c->sni, "", NULL, NULL, 0);
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_SHORT_ID);
        reality_server_cfg_unref(cfg);

        /* Version bounds: exactly the client's version passes, one off fails. */
        char v[16], lo[16], hi[16];
        snprintf(v, sizeof(v), "%u.%u.%u", c->ver[0], c->ver[1], c->ver[2]);
        snprintf(lo, sizeof(lo), "%u.%u.%u", c->ver[0], c->ver[1], c->ver[2] + 1);
        snprintf(hi, sizeof(hi), "%u.%u.%u", c->ver[0], c->ver[1], c->ver[2] - 1);
        cfg = make_cfg(key, c->sni, c->short_id, v, v, 0);
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_AUTHENTICATED);
        reality_server_cfg_unref(cfg);
        cfg = make_cfg(key, c->sni, c->short_id, lo, NULL, 0);
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_CLIENT_VERSION);
        reality_server_cfg_unref(cfg);
        cfg = make_cfg(key, c->sni, c->short_id, NULL, hi, 0);
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_CLIENT_VERSION);
        reality_server_cfg_unref(cfg);
        /* Xray's default minimum 26.3.27 rejects these 25.x / 1.8.1 clients (spec §12.1). */
        cfg = make_cfg(key, c->sni, c->short_id, "26.3.27", NULL, 0);
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_CLIENT_VERSION);
        reality_server_cfg_unref(cfg);

        /* Server name not listed; names are case-sensitive and exact. */
        cfg = make_cfg(key, "WWW.EXAMPLE.COM", c->short_id, NULL, NULL, 0);
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_SNI_MISMATCH);
        reality_server_cfg_unref(cfg);
        cfg = make_cfg(key, "", c->short_id, NULL, NULL, 0);
        assert_int_equal(run_auth(cfg, &ch, now, &res), REALITY_OUTCOME_SNI_MISMATCH);
        reality_server_cfg_unref(cfg);

        /* One flipped bit anywhere in the AAD or session id breaks the tag. */
        cfg = make_cfg(key, c->sni, c->short_id, NULL, NULL, 0);
        uint8_t *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, rec, len);
        size_t flips[] = {5 + 10, 5 + 39, 5 + 39 + 31, len - 1};
        for (size_t f = 0; f < sizeof(flips) / sizeof(flips[0]); f++) {
            copy[flips[f]] ^= 0x01;
            struct reality_client_hello ch2;
            if (reality_ch_peek(copy, len, &scratch, &ch2) == 0)
                assert_int_not_equal(run_auth(cfg, &ch2, now, &res), REALITY_OUTCOME_AUTHENTICATED);
            copy[flips[f]] ^= 0x01;
        }
        free(copy);
        reality_server_cfg_unref(cfg);

        free(plain);
        buf_dispose(&scratch);
        free(rec);
    }
}

/* The chrome capture re-framed into several records (1..50-byte fragments) still parses and
 * authenticates from the scratch buffer. */
static void test_capture_multi_record(void **state)
{
    (void)state;
    const struct capture *c = &captures[0];
    size_t len;
    uint8_t *rec = load_capture(c, &len);
    const uint8_t *msg = rec + 5;
    size_t mlen = len - 5;
    uint8_t key[32];
    capture_key(c, key);
    struct reality_server_cfg *cfg = make_cfg(key, c->sni, c->short_id, NULL, NULL, 0);
    size_t frags[] = {1, 3, 4, 39, 50, 1000};
    for (size_t f = 0; f < sizeof(frags) / sizeof(frags[0]); f++) {
        struct buf in;
        buf_init(&in);
        /* An empty handshake record first: Go skips it. */
        assert_int_equal(buf_append(&in, "\x16\x03\x01\x00\x00", 5), 0);
        for (size_t off = 0; off < mlen; off += frags[f]) {
            size_t n = mlen - off < frags[f] ? mlen - off : frags[f];
            uint8_t hdr[5] = {0x16, 0x03, 0x03, (uint8_t)(n >> 8), (uint8_t)n};
            assert_int_equal(buf_append(&in, hdr, 5), 0);
            assert_int_equal(buf_append(&in, msg + off, n), 0);
        }
        /* Something after the hello (the client's CCS) is left alone. */
        assert_int_equal(buf_append(&in, "\x14\x03\x03\x00\x01\x01", 6), 0);
        struct buf scratch;
        buf_init(&scratch);
        struct reality_client_hello ch;
        assert_int_equal(reality_ch_peek(buf_data(&in), buf_len(&in) - 7, &scratch, &ch), ERR_NEED_MORE);
        assert_int_equal(reality_ch_peek(buf_data(&in), buf_len(&in), &scratch, &ch), 0);
        assert_int_equal(ch.record_bytes, buf_len(&in) - 6);
        assert_int_equal(ch.msg.len, mlen);
        assert_memory_equal(ch.msg.p, msg, mlen);
        struct reality_auth_result res;
        assert_int_equal(run_auth(cfg, &ch, (uint64_t)c->time * 1000, &res), REALITY_OUTCOME_AUTHENTICATED);
        buf_dispose(&scratch);
        buf_dispose(&in);
    }
    reality_server_cfg_unref(cfg);
    free(rec);
}

static const char *spec_hello_hex = "010000c40303a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf2000"
                                    "00000000000000000000000000000000000000000000000000000000000000000613011302130301"
                                    "00007500000014001200000f7777772e6578616d706c652e636f6d000a00040002001d000d000800"
                                    "060403080408070010000e000c02683208687474702f312e31002b0003020304002d000201010033"
                                    "00260024001d002079a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a";

/* Spec §13: AuthKey and sealed session id for the fixed keys. */
static void test_spec_vector(void **state)
{
    (void)state;
    size_t n, klen, alen, slen;
    uint8_t *msg = tu_hex(spec_hello_hex, &n);
    assert_int_equal(n, 200);
    uint8_t *sealed = tu_hex("4dd950d94a19f664dcb6745819a1ccef7abd7519b1d978c29fdf45d1e01ff3a5", &slen);
    memcpy(msg + 39, sealed, 32);
    uint8_t *priv = tu_hex("101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e6f", &klen);
    uint8_t *ak = tu_hex("6d1789eeccfffa456b641d2da0cb5a3479d44187fdb9a4d69c471811be745f43", &alen);
    struct reality_client_hello ch;
    assert_int_equal(reality_ch_parse_msg(msg, n, &ch), 0);
    assert_true(ch.has_alpn);
    assert_int_equal(ch.alpn_first.len, 2);
    assert_memory_equal(ch.alpn_first.p, "h2", 2);
    struct reality_server_cfg *cfg = make_cfg(priv, "www.example.com", "0123456789abcdef", NULL, NULL, 1000);
    struct reality_auth_result res;
    assert_int_equal(run_auth(cfg, &ch, 1767225600000ULL + 999, &res), REALITY_OUTCOME_AUTHENTICATED);
    assert_memory_equal(res.auth_key, ak, 32);
    assert_int_equal(res.client_ver, 0x1a071c);
    assert_int_equal(res.client_time, 1767225600u);
    /* Exact derivation helper. */
    uint8_t shared_exp[32], shared[32], out[32];
    size_t sl;
    uint8_t *sh = tu_hex("0b7480daab7ce8926aaf208e30ef89c8403f7d00aa3db0428f914ead05c85e09", &sl);
    memcpy(shared_exp, sh, 32);
    assert_int_equal(crypto_x25519(shared, priv, ch.x25519_share), 0);
    assert_memory_equal(shared, shared_exp, 32);
    assert_int_equal(reality_derive_auth_key(shared, ch.random, out), 0);
    assert_memory_equal(out, ak, 32);
    /* The key pair and its link encodings (privateKey / password = pbk). */
    uint8_t pub[32], b64key[32];
    size_t bl = 0;
    uint8_t *pub_exp = tu_hex("d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff66", &sl);
    assert_int_equal(crypto_x25519_public(priv, pub), 0);
    assert_memory_equal(pub, pub_exp, 32);
    assert_memory_equal(ch.x25519_share, "\x79\xa6\x31\xee", 4); /* client share of the vector */
    assert_int_equal(b64_decode(b64key, 32, &bl, "EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8", 43, B64_RAW_URL), 0);
    assert_memory_equal(b64key, priv, 32);
    assert_int_equal(b64_decode(b64key, 32, &bl, "2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y", 43, B64_RAW_URL), 0);
    assert_memory_equal(b64key, pub, 32);
    free(pub_exp);
    reality_server_cfg_unref(cfg);
    free(sh);
    free(msg);
    free(sealed);
    free(priv);
    free(ak);
}

static void test_config_rules(void **state)
{
    (void)state;
    uint8_t id[8], zero[8] = {0};
    assert_int_equal(reality_parse_short_id("", id), 0);
    assert_memory_equal(id, zero, 8);
    assert_int_equal(reality_parse_short_id("AA12", id), 0);
    assert_memory_equal(id, "\xaa\x12\0\0\0\0\0\0", 8);
    assert_int_equal(reality_parse_short_id("abc", id), ERR_CONFIG);
    assert_int_equal(reality_parse_short_id("0123456789abcdef01", id), ERR_CONFIG);
    assert_int_equal(reality_parse_short_id("zz", id), ERR_CONFIG);
    uint32_t v;
    assert_int_equal(reality_parse_version("26", &v), 0);
    assert_int_equal(v, 0x1a0000);
    assert_int_equal(reality_parse_version("26.3", &v), 0);
    assert_int_equal(v, 0x1a0300);
    assert_int_equal(reality_parse_version("26.3.27", &v), 0);
    assert_int_equal(v, 0x1a031b);
    assert_int_equal(reality_parse_version("1.2.3.4", &v), ERR_CONFIG);
    assert_int_equal(reality_parse_version("256", &v), ERR_CONFIG);
    assert_int_equal(reality_parse_version("1..2", &v), ERR_CONFIG);
    assert_int_equal(reality_parse_version("1.", &v), ERR_CONFIG);
    assert_int_equal(reality_parse_version("-1", &v), ERR_CONFIG);

    uint8_t key[32] = {1};
    struct reality_server_cfg *cfg = reality_server_cfg_new(key);
    assert_int_equal(reality_server_cfg_freeze(cfg), ERR_CONFIG); /* no names, no shortIds */
    struct reality_client_hello empty_ch;
    memset(&empty_ch, 0, sizeof(empty_ch));
    struct reality_auth_result res;
    assert_int_equal(reality_auth(cfg, &empty_ch, 0, &res), ERR_BAD_STATE); /* not frozen */
    assert_int_not_equal(res.outcome, REALITY_OUTCOME_AUTHENTICATED);
    assert_int_equal(reality_server_cfg_add_server_name(cfg, "a", 1), 0);
    assert_int_equal(reality_server_cfg_freeze(cfg), ERR_CONFIG);
    assert_int_equal(reality_server_cfg_add_short_id(cfg, "x"), ERR_CONFIG);
    assert_int_equal(reality_server_cfg_add_short_id(cfg, "00"), 0);
    assert_int_equal(reality_server_cfg_freeze(cfg), 0);
    assert_int_equal(reality_server_cfg_add_short_id(cfg, "01"), ERR_BAD_STATE);
    assert_int_equal(reality_server_cfg_set_max_time_diff(cfg, 1), ERR_BAD_STATE);
    struct reality_server_cfg *ref = reality_server_cfg_ref(cfg);
    reality_server_cfg_unref(cfg);
    reality_server_cfg_unref(ref);
    reality_server_cfg_unref(NULL);
}

static void test_outcome_counters(void **state)
{
    (void)state;
    uint64_t before = reality_outcome_get(REALITY_OUTCOME_SHORT_ID);
    reality_outcome_count(REALITY_OUTCOME_SHORT_ID);
    reality_outcome_count(REALITY_OUTCOME__COUNT); /* ignored */
    assert_int_equal(reality_outcome_get(REALITY_OUTCOME_SHORT_ID), before + 1);
    uint64_t snap[REALITY_OUTCOME__COUNT];
    reality_outcome_snapshot(snap);
    assert_int_equal(snap[REALITY_OUTCOME_SHORT_ID], before + 1);
    for (int o = 0; o < REALITY_OUTCOME__COUNT; o++)
        assert_string_not_equal(reality_outcome_str((enum reality_outcome)o), "unknown");
    assert_string_equal(reality_outcome_str(REALITY_OUTCOME__COUNT), "unknown");
    assert_string_equal(reality_outcome_upstream_str(REALITY_OUTCOME_TIME), "auth_failed");
    assert_string_equal(reality_outcome_upstream_str(REALITY_OUTCOME_SNI_MISMATCH), "sni_mismatch");

    /* Prometheus export reflects the counters at render time. */
    struct metrics_registry *reg = metrics_registry_new();
    assert_non_null(reg);
    assert_int_equal(reality_outcome_register_metrics(reg), 0);
    assert_int_equal(reality_outcome_register_metrics(reg), ERR_EXISTS);
    reality_outcome_count(REALITY_OUTCOME_TIME);
    uint64_t t = reality_outcome_get(REALITY_OUTCOME_TIME);
    for (int round = 0; round < 2; round++) {
        struct buf out;
        buf_init(&out);
        assert_int_equal(metrics_render(reg, &out), 0);
        assert_int_equal(buf_append(&out, "", 1), 0);
        char want[96];
        snprintf(want, sizeof(want), "veil_reality_outcomes_total{outcome=\"time_diff\"} %llu\n",
                 (unsigned long long)t);
        assert_non_null(strstr((const char *)buf_data(&out), want));
        buf_dispose(&out);
    }
    metrics_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captures_parse_exactly), cmocka_unit_test(test_captures_authenticate),
        cmocka_unit_test(test_capture_multi_record),   cmocka_unit_test(test_spec_vector),
        cmocka_unit_test(test_config_rules),           cmocka_unit_test(test_outcome_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
