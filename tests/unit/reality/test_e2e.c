/* In-process REALITY: our client's Chrome-shaped hello -> parse + auth -> a tls13 "target"
 * answers the same hello -> the target's flight is classified -> our tls13 server answers
 * with the target's ServerHello (our key share in it) and record sizes -> the client
 * recognises the temporary certificate, finishes, and application data flows. Also the
 * unauthenticated path: the client sees the target's own certificate and refuses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/wire.h"
#include "reality/auth.h"
#include "reality/cert.h"
#include "reality/client.h"
#include "reality/client_hello.h"
#include "reality/session.h"
#include "reality/target.h"
#include "test_tls_target.h"
#include "test_util.h"
#include "tls13/tls13.h"

static const char *server_priv_hex = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e6f";
static const char *server_pub_hex = "d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff66";
static const uint64_t now_ms = 1767225600500ULL;

enum layout {
    LAYOUT_SEPARATE = 0, /* Go/OpenSSL target */
    LAYOUT_COMBINED,     /* BoringSSL target */
    LAYOUT_SEPARATE_NST, /* separate, and something follows Finished in the same read */
};

static const struct tls13_kex_ops *const groups_x25519[] = {&tls13_kex_x25519};
static const struct tls13_kex_ops *const groups_both[] = {&tls13_kex_x25519mlkem768, &tls13_kex_x25519};

/* Walks records: returns the count and fills lens. */
static size_t record_lens(const uint8_t *p, size_t n, size_t *lens, size_t max)
{
    size_t k = 0, off = 0;
    while (off + 5 <= n && k < max) {
        lens[k++] = 5 + (size_t)wire_be16(p + off + 3);
        off += lens[k - 1];
    }
    assert_int_equal(off, n);
    return k;
}

static void run(bool hybrid, enum layout layout, bool authentic)
{
    size_t n;
    uint8_t *priv = tu_hex(server_priv_hex, &n);
    uint8_t *pub = tu_hex(server_pub_hex, &n);

    /* Client hello. */
    struct reality_client_params p;
    memset(&p, 0, sizeof(p));
    memcpy(p.server_public_key, pub, 32);
    if (!authentic)
        p.server_public_key[0] ^= 0x55; /* a client with the wrong public key */
    memcpy(p.short_id, "\xaa\xbb\0\0\0\0\0\0", 8);
    p.server_name = "www.example.com";
    p.version[0] = 26;
    p.version[1] = 7;
    p.version[2] = 28;
    p.now_ms = now_ms;
    struct x25519mlkem768_client hst;
    if (hybrid) {
        p.hybrid_keygen = reality_hybrid_keygen;
        p.hybrid_arg = &hst;
    }
    struct buf hello;
    buf_init(&hello);
    struct reality_client_keys keys;
    assert_int_equal(reality_client_build(&p, &hello, &keys), 0);

    struct reality_verifier verifier;
    reality_verifier_init(&verifier, keys.auth_key);
    struct tls13_ctx cctx;
    memset(&cctx, 0, sizeof(cctx));
    cctx.groups = hybrid ? groups_both : groups_x25519;
    cctx.n_groups = hybrid ? 2 : 1;
    cctx.verify_certificate = &verifier.base;
    struct tls13_conn *cli = tls13_conn_new(&cctx, false);
    assert_non_null(cli);
    assert_int_equal(reality_client_prepare(cli, buf_data(&hello), buf_len(&hello), &keys, hybrid ? &hst : NULL), 0);
    struct buf c2s, s2c, t2c;
    buf_init(&c2s);
    buf_init(&s2c);
    buf_init(&t2c);
    size_t used;
    assert_int_equal(tls13_handshake(cli, NULL, 0, &used, &c2s), ERR_NEED_MORE);
    assert_int_equal(buf_len(&c2s), 5 + buf_len(&hello));
    assert_memory_equal(buf_data(&c2s), "\x16\x03\x01", 3);
    assert_memory_equal(buf_data(&c2s) + 5, buf_data(&hello), buf_len(&hello));

    /* Server: peek + auth. */
    struct reality_server_cfg *cfg = reality_server_cfg_new(priv);
    assert_int_equal(reality_server_cfg_add_server_name(cfg, "www.example.com", 15), 0);
    assert_int_equal(reality_server_cfg_add_short_id(cfg, "aabb"), 0);
    assert_int_equal(reality_server_cfg_set_max_time_diff(cfg, 1000), 0);
    assert_int_equal(reality_server_cfg_freeze(cfg), 0);
    struct buf scratch;
    buf_init(&scratch);
    struct reality_client_hello ch;
    assert_int_equal(reality_ch_peek(buf_data(&c2s), buf_len(&c2s), &scratch, &ch), 0);
    struct reality_auth_result res;
    assert_int_equal(reality_auth(cfg, &ch, now_ms + 400, &res), 0);
    assert_int_equal(res.outcome, authentic ? REALITY_OUTCOME_AUTHENTICATED : REALITY_OUTCOME_DECRYPT_FAILED);

    /* The target answers the mirrored hello with its own certificate. */
    struct reality_cert tcert;
    uint8_t tseed[32];
    memset(tseed, 0x71, sizeof(tseed));
    assert_int_equal(reality_cert_init(&tcert, tseed), 0);
    struct bytes tchain = bytes_of(tcert.der, sizeof(tcert.der));
    struct tls13_ctx tctx;
    memset(&tctx, 0, sizeof(tctx));
    tctx.groups = hybrid ? groups_both : groups_x25519;
    tctx.n_groups = hybrid ? 2 : 1;
    tctx.cert_chain = &tchain;
    tctx.n_certs = 1;
    tctx.sign_key = tcert.ed_priv;
    struct tls13_conn *tgt = tls13_conn_new(&tctx, true);
    assert_non_null(tgt);
    struct buf tsh;
    buf_init(&tsh);
    tu_target_server_hello(&tsh, ch.session_id, hybrid ? 0x1302 : 0x1303, hybrid ? 0x11ec : 0x001d);
    assert_int_equal(tls13_server_set_hello_template(tgt, buf_data(&tsh), buf_len(&tsh)), 0);
    buf_dispose(&tsh);
    size_t zero4[4] = {0, 0, 0, 0}, big[1] = {1500};
    if (layout == LAYOUT_COMBINED)
        assert_int_equal(tls13_server_set_record_layout(tgt, big, 1), 0);
    else
        assert_int_equal(tls13_server_set_record_layout(tgt, zero4, 4), 0);
    assert_int_equal(tls13_handshake(tgt, buf_data(&c2s), buf_len(&c2s), &used, &t2c), ERR_NEED_MORE);
    if (layout == LAYOUT_SEPARATE_NST)
        assert_int_equal(tls13_seal_record(tgt, TLS13_CT_APPLICATION_DATA, NULL, 0, 200, &t2c), 0);

    if (!authentic) {
        /* Fallback relay: the client gets the target's flight and refuses the real cert. */
        int rc = tls13_handshake(cli, buf_data(&t2c), buf_len(&t2c), &used, &s2c);
        assert_true(rc < 0 && rc != ERR_NEED_MORE);
        assert_int_equal(verifier.calls, 1);
        assert_int_equal(verifier.verdict, REALITY_CERT_NOT_REALITY);
        goto out;
    }

    /* Learn the flight. */
    struct reality_target t;
    reality_target_init(&t);
    assert_int_equal(reality_target_feed(&t, buf_data(&t2c), buf_len(&t2c), &used), 0);
    assert_int_equal(t.state, REALITY_TARGET_ST_READY);
    assert_int_equal(t.plan.group, hybrid ? 0x11ec : 0x001d);
    assert_int_equal(t.plan.combined, layout == LAYOUT_COMBINED);
    assert_int_equal(t.plan.lens[6], layout == LAYOUT_SEPARATE_NST ? 200 : 0);

    /* Our server: same hello, the target's ServerHello and sizes, our certificate. */
    struct reality_cert cert;
    assert_int_equal(reality_cert_init(&cert, NULL), 0);
    struct tls13_ctx sctx;
    memset(&sctx, 0, sizeof(sctx));
    sctx.groups = groups_both;
    sctx.n_groups = 2;
    struct tls13_conn *srv = tls13_conn_new(&sctx, true);
    assert_non_null(srv);
    assert_int_equal(reality_server_prepare(srv, &t, &cert, res.auth_key), 0);
    assert_int_equal(tls13_handshake(srv, buf_data(&c2s), buf_len(&c2s), &used, &s2c), ERR_NEED_MORE);
    assert_int_equal(used, buf_len(&c2s));
    assert_int_equal(reality_server_after_flight(srv, &t, &s2c), 0);
    buf_reset(&c2s);

    /* What a passive observer compares: identical record lengths, identical ServerHello
     * except the key share. */
    size_t want[8], got[8];
    size_t nw = record_lens(buf_data(&t2c), buf_len(&t2c), want, 8);
    size_t ng = record_lens(buf_data(&s2c), buf_len(&s2c), got, 8);
    assert_int_equal(ng, nw);
    assert_memory_equal(got, want, nw * sizeof(size_t));
    size_t ks = 5 + t.plan.sh_key_share_offset;
    assert_memory_equal(buf_data(&s2c), buf_data(&t2c), ks);
    assert_memory_not_equal(buf_data(&s2c) + ks, buf_data(&t2c) + ks, t.plan.key_share_len);
    assert_memory_equal(buf_data(&s2c) + ks + t.plan.key_share_len, buf_data(&t2c) + ks + t.plan.key_share_len,
                        want[0] - ks - t.plan.key_share_len + want[1]);

    /* The client recognises our certificate and finishes. */
    assert_int_equal(tls13_handshake(cli, buf_data(&s2c), buf_len(&s2c), &used, &c2s), 0);
    assert_int_equal(verifier.verdict, REALITY_CERT_REALITY);
    struct buf app;
    buf_init(&app);
    if (used < buf_len(&s2c)) { /* the NST-shaped empty record: dropped by the client */
        assert_int_equal(layout, LAYOUT_SEPARATE_NST);
        assert_int_equal(tls13_recv(cli, buf_data(&s2c) + used, buf_len(&s2c) - used, &used, &app, NULL), 0);
        assert_int_equal(buf_len(&app), 0);
    }
    buf_reset(&s2c);
    assert_int_equal(tls13_handshake(srv, buf_data(&c2s), buf_len(&c2s), &used, &s2c), 0);
    assert_int_equal(used, buf_len(&c2s));
    buf_reset(&c2s);
    assert_int_equal(tls13_conn_alpn(srv).len, 0);
    /* VLESS request and response. */
    assert_int_equal(tls13_send(cli, "vless request", 13, &c2s), 0);
    assert_int_equal(tls13_recv(srv, buf_data(&c2s), buf_len(&c2s), &used, &app, NULL), 0);
    assert_int_equal(buf_len(&app), 13);
    assert_memory_equal(buf_data(&app), "vless request", 13);
    buf_reset(&app);
    assert_int_equal(tls13_send(srv, "ok", 2, &s2c), 0);
    assert_int_equal(tls13_recv(cli, buf_data(&s2c), buf_len(&s2c), &used, &app, NULL), 0);
    assert_memory_equal(buf_data(&app), "ok", 2);
    buf_dispose(&app);
    tls13_conn_free(srv);
    reality_cert_dispose(&cert);
    reality_target_dispose(&t);
out:
    tls13_conn_free(tgt);
    tls13_conn_free(cli);
    reality_cert_dispose(&tcert);
    reality_auth_result_wipe(&res);
    reality_verifier_wipe(&verifier);
    reality_client_keys_wipe(&keys);
    if (hybrid)
        x25519mlkem768_client_wipe(&hst);
    reality_server_cfg_unref(cfg);
    buf_dispose(&scratch);
    buf_dispose(&hello);
    buf_dispose(&c2s);
    buf_dispose(&s2c);
    buf_dispose(&t2c);
    free(priv);
    free(pub);
}

static void test_x25519_separate(void **state)
{
    (void)state;
    run(false, LAYOUT_SEPARATE, true);
}

static void test_x25519_combined(void **state)
{
    (void)state;
    run(false, LAYOUT_COMBINED, true);
}

static void test_x25519_separate_nst(void **state)
{
    (void)state;
    run(false, LAYOUT_SEPARATE_NST, true);
}

static void test_hybrid_separate(void **state)
{
    (void)state;
    run(true, LAYOUT_SEPARATE, true);
}

static void test_hybrid_combined(void **state)
{
    (void)state;
    run(true, LAYOUT_COMBINED, true);
}

static void test_wrong_key_falls_back(void **state)
{
    (void)state;
    run(false, LAYOUT_SEPARATE, false);
    run(true, LAYOUT_COMBINED, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x25519_separate),     cmocka_unit_test(test_x25519_combined),
        cmocka_unit_test(test_x25519_separate_nst), cmocka_unit_test(test_hybrid_separate),
        cmocka_unit_test(test_hybrid_combined),     cmocka_unit_test(test_wrong_key_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
