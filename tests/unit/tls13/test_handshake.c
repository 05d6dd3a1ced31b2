/* Self-talk: our client and server in memory, every suite, ALPN, app data both ways,
 * KeyUpdate, and the REALITY hooks (ServerHello template, record layout, custom
 * ClientHello with caller-held key, certificate callback, padded post-handshake records). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls13_test_common.h"
#include "core/err.h"
#include "core/wire.h"
#include "crypto/crypto.h"
#include "tls13/record.h"

static void exchange(struct test_env *e, size_t n)
{
    uint8_t *msg = malloc(n);
    assert_non_null(msg);
    for (size_t i = 0; i < n; i++)
        msg[i] = (uint8_t)(i * 7);
    struct buf app;
    buf_init(&app);
    size_t used;
    assert_int_equal(tls13_send(e->cli, msg, n, &e->c2s), 0);
    assert_int_equal(tls13_recv(e->srv, buf_data(&e->c2s), buf_len(&e->c2s), &used, &app, &e->s2c), 0);
    assert_int_equal(used, buf_len(&e->c2s));
    buf_reset(&e->c2s);
    assert_int_equal(buf_len(&app), n);
    assert_memory_equal(buf_data(&app), msg, n);
    buf_reset(&app);
    assert_int_equal(tls13_send(e->srv, msg, n, &e->s2c), 0);
    assert_int_equal(tls13_recv(e->cli, buf_data(&e->s2c), buf_len(&e->s2c), &used, &app, &e->c2s), 0);
    assert_int_equal(used, buf_len(&e->s2c));
    buf_reset(&e->s2c);
    assert_int_equal(buf_len(&app), n);
    assert_memory_equal(buf_data(&app), msg, n);
    buf_dispose(&app);
    free(msg);
}

static void test_each_suite(void **state)
{
    (void)state;
    static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};
    for (size_t i = 0; i < 3; i++) {
        struct test_env e;
        test_env_init(&e);
        e.sctx.cipher_suites = &suites[i];
        e.sctx.n_cipher_suites = 1;
        test_env_conns(&e);
        test_pump(&e);
        assert_int_equal(tls13_conn_suite(e.cli)->id, suites[i]);
        assert_int_equal(tls13_conn_suite(e.srv)->id, suites[i]);
        assert_int_equal(tls13_conn_group(e.cli), TLS13_GROUP_X25519);
        struct bytes sni = tls13_conn_server_name(e.srv);
        assert_int_equal(sni.len, 11);
        assert_memory_equal(sni.p, "example.com", 11);
        exchange(&e, 1);
        exchange(&e, 40000); /* several records */
        /* KeyUpdate with a request: the peer answers on its next send */
        assert_int_equal(tls13_key_update(e.cli, true, &e.c2s), 0);
        exchange(&e, 100);
        assert_int_equal(tls13_read_seq(e.cli), 1);
        /* close_notify */
        struct buf app;
        buf_init(&app);
        size_t used;
        assert_int_equal(tls13_close(e.cli, &e.c2s), 0);
        assert_int_equal(tls13_recv(e.srv, buf_data(&e.c2s), buf_len(&e.c2s), &used, &app, NULL), ERR_CLOSED);
        assert_int_equal(used, buf_len(&e.c2s));
        assert_int_equal(tls13_conn_state(e.srv), TLS13_ST_CLOSED);
        /* half-close: the server can still send, the client still reads */
        buf_reset(&e.c2s);
        assert_int_equal(tls13_send(e.srv, "bye", 3, &e.s2c), 0);
        assert_int_equal(tls13_recv(e.cli, buf_data(&e.s2c), buf_len(&e.s2c), &used, &app, NULL), 0);
        assert_int_equal(buf_len(&app), 3);
        assert_int_equal(tls13_recv(e.srv, buf_data(&e.s2c), buf_len(&e.s2c), &used, &app, NULL), ERR_CLOSED);
        buf_reset(&e.s2c);
        buf_dispose(&app);
        test_env_dispose(&e);
    }
}

static void test_hybrid_group(void **state)
{
    (void)state;
    /* client offers hybrid + x25519 shares; the server prefers the hybrid group */
    static const struct tls13_kex_ops *const both[] = {&tls13_kex_x25519mlkem768, &tls13_kex_x25519};
    struct test_env e;
    test_env_init(&e);
    e.cctx.groups = both;
    e.cctx.n_groups = 2;
    e.sctx.groups = both;
    e.sctx.n_groups = 2;
    test_env_conns(&e);
    test_pump(&e);
    assert_int_equal(tls13_conn_group(e.cli), TLS13_GROUP_X25519MLKEM768);
    assert_int_equal(tls13_conn_group(e.srv), TLS13_GROUP_X25519MLKEM768);
    assert_int_equal(tls13_conn_server_hello(e.srv).len, 4 + 2 + 32 + 33 + 3 + 2 + 6 + 8 + 1120);
    exchange(&e, 1000);
    test_env_dispose(&e);
    /* a server that only does X25519 picks it from the same hello */
    test_env_init(&e);
    e.cctx.groups = both;
    e.cctx.n_groups = 2;
    test_env_conns(&e);
    test_pump(&e);
    assert_int_equal(tls13_conn_group(e.cli), TLS13_GROUP_X25519);
    test_env_dispose(&e);
}

static void test_alpn_and_byte_by_byte(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    const struct bytes calpn[] = {{(const uint8_t *)"h2", 2}, {(const uint8_t *)"http/1.1", 8}};
    const struct bytes salpn[] = {{(const uint8_t *)"http/1.1", 8}};
    e.cctx.alpn = calpn;
    e.cctx.n_alpn = 2;
    e.sctx.alpn = salpn;
    e.sctx.n_alpn = 1;
    test_env_conns(&e);
    /* feed the server one byte at a time: only whole records are consumed */
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    struct buf one;
    buf_init(&one);
    int rc = ERR_NEED_MORE;
    while (buf_len(&e.c2s) > 0) {
        buf_append(&one, buf_data(&e.c2s), 1);
        buf_consume(&e.c2s, 1);
        rc = test_feed(e.srv, &one, &e.s2c);
        assert_int_equal(rc, ERR_NEED_MORE);
    }
    assert_int_equal(buf_len(&one), 0);
    buf_dispose(&one);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), 0);
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), 0);
    struct bytes a = tls13_conn_alpn(e.cli);
    assert_int_equal(a.len, 8);
    assert_memory_equal(a.p, "http/1.1", 8);
    a = tls13_conn_alpn(e.srv);
    assert_int_equal(a.len, 8);
    test_env_dispose(&e);
}

/* ---- REALITY hooks ---- */

/* ClientHello of spec/reality.md §13 with its sealed session id. */
static const char reality_ch_hex[] = "010000c40303a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf20"
                                     "4dd950d94a19f664dcb6745819a1ccef7abd7519b1d978c29fdf45d1e01ff3a5"
                                     "000613011302130301"
                                     "00007500000014001200000f7777772e6578616d706c652e636f6d000a00040002001d000d000800"
                                     "060403080408070010000e000c02683208687474702f312e31002b0003020304002d000201010033"
                                     "00260024001d002079a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a";
static const char reality_priv_hex[] = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";

struct reality_hooks {
    struct tls13_on_client_hello och;
    struct tls13_emit_certificate emit;
    struct tls13_verify_certificate verify;
    struct test_env *e;
    uint8_t template_sh[128];
    size_t template_len;
    size_t lens[4];
    size_t n_lens;
    int hello_calls, emit_calls, verify_calls;
    int mutate; /* test_template_errors: which field of the template to break */
};

static int on_hello(struct tls13_on_client_hello *self, struct tls13_conn *conn, const struct tls13_client_hello *ch)
{
    struct reality_hooks *h = (struct reality_hooks *)self;
    h->hello_calls++;
    assert_int_equal(ch->session_id.len, 32);
    assert_int_equal(ch->session_id.p - ch->msg.p, 39);
    assert_int_equal(ch->server_name.len, 15);
    /* the "target's" ServerHello: suite 0x1302, key_share before supported_versions */
    struct buf b;
    buf_init_fixed(&b, h->template_sh, sizeof(h->template_sh));
    struct wire_block m, ex, k, ks;
    wire_wr_u8(&b, 2);
    wire_wr_open(&b, 3, &m);
    wire_wr_u16(&b, 0x0303);
    for (int i = 0; i < 32; i++)
        wire_wr_u8(&b, (uint8_t)(0x70 + i));
    wire_wr_u8(&b, 32);
    wire_wr_bytes(&b, ch->session_id.p, 32);
    wire_wr_u16(&b, 0x1302);
    wire_wr_u8(&b, 0);
    wire_wr_open(&b, 2, &ex);
    wire_wr_u16(&b, 51);
    wire_wr_open(&b, 2, &k);
    wire_wr_u16(&b, 0x001d);
    wire_wr_open(&b, 2, &ks);
    for (int i = 0; i < 32; i++)
        wire_wr_u8(&b, 0xee);
    wire_wr_close(&b, &ks);
    wire_wr_close(&b, &k);
    wire_wr_u16(&b, 43);
    wire_wr_u16(&b, 2);
    wire_wr_u16(&b, 0x0304);
    wire_wr_close(&b, &ex);
    assert_int_equal(wire_wr_close(&b, &m), 0);
    h->template_len = buf_len(&b);
    uint8_t *t = h->template_sh;
    switch (h->mutate) {
    case 1: /* a suite we do not implement */
        t[72] = 0x04;
        break;
    case 2: /* session id not echoed */
        t[39] ^= 1;
        break;
    case 3: /* a group without ops in ctx->groups */
        t[81] = 0x17;
        break;
    case 4: /* a HelloRetryRequest is refused as a template; we answer on our own */
        memcpy(t + 6,
               "\xcf\x21\xad\x74\xe5\x9a\x61\x11\xbe\x1d\x8c\x02\x1e\x65\xb8\x91"
               "\xc2\xa2\x11\x16\x7a\xbb\x8c\x5e\x07\x9e\x09\xe2\xc8\xa8\x33\x9c",
               32);
        assert_int_equal(tls13_server_set_hello_template(conn, t, h->template_len), ERR_MALFORMED);
        return 0;
    case 5: /* truncated */
        assert_int_equal(tls13_server_set_hello_template(conn, t, h->template_len - 1), ERR_MALFORMED);
        return 0;
    default:
        break;
    }
    assert_int_equal(tls13_server_set_hello_template(conn, h->template_sh, h->template_len), 0);
    if (h->n_lens > 0)
        assert_int_equal(tls13_server_set_record_layout(conn, h->lens, h->n_lens), 0);
    return 0;
}

static int on_emit(struct tls13_emit_certificate *self, struct tls13_conn *conn)
{
    struct reality_hooks *h = (struct reality_hooks *)((char *)self - offsetof(struct reality_hooks, emit));
    h->emit_calls++;
    /* both hellos are final here (REALITY's ML-DSA input) */
    assert_int_equal(tls13_conn_client_hello(conn).len, 200);
    assert_int_equal(tls13_conn_server_hello(conn).len, h->template_len);
    return tls13_server_set_certificate(conn, h->e->chain, 1, h->e->seed);
}

static int on_verify(struct tls13_verify_certificate *self, struct tls13_conn *conn, const struct bytes *chain,
                     size_t n)
{
    struct reality_hooks *h = (struct reality_hooks *)((char *)self - offsetof(struct reality_hooks, verify));
    h->verify_calls++;
    assert_int_equal(n, 1);
    struct bytes sig;
    assert_int_equal(tls13_cert_signature(chain[0].p, chain[0].len, &sig), 0);
    assert_int_equal(sig.len, 64);
    assert_memory_equal(sig.p, h->e->cert + 114, 64); /* the HMAC slot */
    return 0;
}

static void run_reality(size_t n_lens, const size_t *lens)
{
    struct test_env e;
    struct reality_hooks h;
    memset(&h, 0, sizeof(h));
    test_env_init(&e);
    h.och.cb = on_hello;
    h.emit.cb = on_emit;
    h.verify.cb = on_verify;
    h.e = &e;
    h.n_lens = n_lens;
    if (n_lens > 0)
        memcpy(h.lens, lens, n_lens * sizeof(size_t));
    e.sctx.on_client_hello = &h.och;
    e.sctx.emit_certificate = &h.emit;
    e.sctx.n_certs = 0;
    e.cctx.verify_certificate = &h.verify;
    e.cctx.insecure_skip_verify = false;
    test_env_conns(&e);

    size_t chlen, plen;
    uint8_t *ch = tu_hex(reality_ch_hex, &chlen), *priv = tu_hex(reality_priv_hex, &plen);
    struct tls13_client_key key = {&tls13_kex_x25519, priv, plen};
    assert_int_equal(tls13_client_set_hello(e.cli, ch, chlen, &key, 1), 0);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    /* the exact bytes go out behind a 16 03 01 header */
    assert_int_equal(buf_len(&e.c2s), 5 + chlen);
    assert_memory_equal(buf_data(&e.c2s) + 5, ch, chlen);
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), ERR_NEED_MORE);

    /* ServerHello record = template with only the key share replaced */
    const uint8_t *p = buf_data(&e.s2c);
    assert_int_equal(p[0], 22);
    assert_int_equal(wire_be16(p + 3), h.template_len);
    size_t share_at = 5 + h.template_len - 6 - 32;
    assert_memory_equal(p + 5, h.template_sh, share_at - 5);
    assert_memory_not_equal(p + share_at, h.template_sh + share_at - 5, 32);
    assert_memory_equal(p + share_at + 32, h.template_sh + share_at - 5 + 32, 6);
    p += 5 + h.template_len;
    assert_memory_equal(p, "\x14\x03\x03\x00\x01\x01", 6);
    p += 6;
    size_t left = buf_len(&e.s2c) - 5 - h.template_len - 6;
    for (size_t i = 0; i < n_lens; i++) {
        assert_int_equal(p[0], 23);
        assert_int_equal(5 + wire_be16(p + 3), lens[i]);
        p += lens[i];
        left -= lens[i];
    }
    if (n_lens == 0) { /* default: one unpadded record */
        assert_int_equal(p[0], 23);
        left -= 5 + wire_be16(p + 3);
    }
    assert_int_equal(left, 0);
    /* the server may already send a padded record under its application key */
    assert_int_equal(tls13_write_seq(e.srv), 0);
    assert_int_equal(tls13_seal_record(e.srv, TLS13_CT_APPLICATION_DATA, NULL, 0, 251, &e.s2c), 0);

    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), 0);
    assert_int_equal(buf_len(&e.s2c), 251); /* left for tls13_recv */
    assert_int_equal(tls13_conn_suite(e.cli)->id, 0x1302);
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), 0);
    assert_int_equal(h.hello_calls, 1);
    assert_int_equal(h.emit_calls, 1);
    assert_int_equal(h.verify_calls, 1);

    struct buf app;
    buf_init(&app);
    size_t used;
    uint8_t type = 0;
    assert_int_equal(tls13_recv_record(e.cli, buf_data(&e.s2c), buf_len(&e.s2c), &used, &app, NULL, &type), 0);
    assert_int_equal(used, 251);
    assert_int_equal(type, TLS13_CT_APPLICATION_DATA);
    assert_int_equal(buf_len(&app), 0);
    buf_reset(&e.s2c);
    /* post-handshake records padded to the target's lengths, then data; hand-off: the
     * unconsumed tail after one record is the caller's */
    assert_int_equal(tls13_seal_record(e.srv, TLS13_CT_APPLICATION_DATA, NULL, 0, 100, &e.s2c), 0);
    assert_int_equal(tls13_send(e.srv, "vless", 5, &e.s2c), 0);
    assert_int_equal(buf_append(&e.s2c, "RAW", 3), 0);
    assert_int_equal(tls13_recv_record(e.cli, buf_data(&e.s2c), buf_len(&e.s2c), &used, &app, NULL, &type), 0);
    assert_int_equal(used, 100);
    buf_consume(&e.s2c, used);
    assert_int_equal(tls13_recv_record(e.cli, buf_data(&e.s2c), buf_len(&e.s2c), &used, &app, NULL, &type), 0);
    buf_consume(&e.s2c, used);
    assert_int_equal(buf_len(&app), 5);
    assert_int_equal(tls13_read_seq(e.cli), 3);
    assert_int_equal(buf_len(&e.s2c), 3);
    assert_memory_equal(buf_data(&e.s2c), "RAW", 3);
    buf_dispose(&app);
    free(ch);
    free(priv);
    test_env_dispose(&e);
}

static void test_reality_separate(void **state)
{
    (void)state;
    const size_t lens[4] = {40, 300, 120, 80};
    run_reality(4, lens);
}

static void test_reality_combined(void **state)
{
    (void)state;
    const size_t lens[1] = {1500};
    run_reality(1, lens);
}

static void test_reality_default_layout(void **state)
{
    (void)state;
    run_reality(0, NULL);
}

static void test_reality_too_small(void **state)
{
    (void)state;
    struct test_env e;
    struct reality_hooks h;
    memset(&h, 0, sizeof(h));
    test_env_init(&e);
    h.och.cb = on_hello;
    h.e = &e;
    h.n_lens = 4;
    h.lens[0] = 40;
    h.lens[1] = 100; /* the Certificate record needs more */
    h.lens[2] = 120;
    h.lens[3] = 80;
    e.sctx.on_client_hello = &h.och;
    test_env_conns(&e);
    size_t chlen, plen;
    uint8_t *ch = tu_hex(reality_ch_hex, &chlen), *priv = tu_hex(reality_priv_hex, &plen);
    struct tls13_client_key key = {&tls13_kex_x25519, priv, plen};
    assert_int_equal(tls13_client_set_hello(e.cli, ch, chlen, &key, 1), 0);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), ERR_RANGE);
    assert_int_equal(tls13_conn_state(e.srv), TLS13_ST_FAILED);
    free(ch);
    free(priv);
    test_env_dispose(&e);
}

static void test_template_errors(void **state)
{
    (void)state;
    static const int want[] = {0,
                               TLS13_ERR_SEND(TLS13_ALERT_HANDSHAKE_FAILURE),
                               ERR_CONFIG,
                               TLS13_ERR_SEND(TLS13_ALERT_HANDSHAKE_FAILURE),
                               ERR_NEED_MORE,
                               ERR_NEED_MORE};
    for (int m = 1; m <= 5; m++) {
        struct test_env e;
        struct reality_hooks h;
        memset(&h, 0, sizeof(h));
        test_env_init(&e);
        h.och.cb = on_hello;
        h.e = &e;
        h.mutate = m;
        e.sctx.on_client_hello = &h.och;
        test_env_conns(&e);
        size_t chlen, plen;
        uint8_t *ch = tu_hex(reality_ch_hex, &chlen), *priv = tu_hex(reality_priv_hex, &plen);
        struct tls13_client_key key = {&tls13_kex_x25519, priv, plen};
        assert_int_equal(tls13_client_set_hello(e.cli, ch, chlen, &key, 1), 0);
        assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
        assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), want[m]);
        if (want[m] == ERR_NEED_MORE) { /* no template: our own ServerHello, 0x1301 */
            assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), 0);
            assert_int_equal(tls13_conn_suite(e.cli)->id, 0x1301);
        }
        free(ch);
        free(priv);
        test_env_dispose(&e);
    }
}

/* A client that offers early_data: the server does not accept it and skips 0-RTT records
 * it cannot decrypt, within a budget (RFC 8446 §4.2.10). */
static void run_early_data(size_t junk_records, int want)
{
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    size_t chlen, plen;
    uint8_t *ch = tu_hex(reality_ch_hex, &chlen), *priv = tu_hex(reality_priv_hex, &plen);
    uint8_t *ch2 = malloc(chlen + 4);
    memcpy(ch2, ch, chlen);
    memcpy(ch2 + chlen, "\x00\x2a\x00\x00", 4);
    wire_put_be24(ch2 + 1, (uint32_t)(chlen + 4 - 4));
    wire_put_be16(ch2 + 81, (uint16_t)(wire_be16(ch2 + 81) + 4));
    struct tls13_client_key key = {&tls13_kex_x25519, priv, plen};
    assert_int_equal(tls13_client_set_hello(e.cli, ch2, chlen + 4, &key, 1), 0);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    /* 0-RTT records follow the hello */
    for (size_t i = 0; i < junk_records; i++) {
        uint8_t rec[5 + 1000];
        memset(rec, (int)i, sizeof(rec));
        rec[0] = 23;
        wire_put_be16(rec + 1, 0x0303);
        wire_put_be16(rec + 3, 1000);
        buf_append(&e.c2s, rec, sizeof(rec));
    }
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), want);
    if (want == ERR_NEED_MORE) {
        assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), 0);
        assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), 0);
    }
    free(ch);
    free(ch2);
    free(priv);
    test_env_dispose(&e);
}

static void test_early_data_skipped(void **state)
{
    (void)state;
    run_early_data(3, ERR_NEED_MORE);
    run_early_data(70, TLS13_ERR_SEND(TLS13_ALERT_BAD_RECORD_MAC)); /* over 64 KiB */
}

static void test_client_set_hello_checks(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    size_t chlen, plen;
    uint8_t *ch = tu_hex(reality_ch_hex, &chlen), *priv = tu_hex(reality_priv_hex, &plen);
    struct tls13_client_key key = {&tls13_kex_x25519, priv, 31};
    assert_int_equal(tls13_client_set_hello(e.cli, ch, chlen, &key, 1), ERR_RANGE);
    key.priv_len = 32;
    assert_int_equal(tls13_client_set_hello(e.cli, ch, chlen - 1, &key, 1), ERR_MALFORMED);
    assert_int_equal(tls13_client_set_hello(e.cli, ch, chlen, &key, 1), 0);
    assert_int_equal(tls13_client_set_hello(e.cli, ch, chlen, &key, 1), ERR_BAD_STATE);
    free(ch);
    free(priv);
    test_env_dispose(&e);
}

/* Releasing the handshake copies of an idle server connection keeps it working: records both
 * ways and a KeyUpdate; only the ClientHello / ServerHello views become empty. Releasing before
 * the handshake completes does nothing. */
static void test_release_handshake(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    tls13_conn_release_handshake(e.srv); /* not established yet: a no-op */
    test_pump(&e);
    assert_true(tls13_conn_client_hello(e.srv).len > 0);
    assert_int_equal(tls13_conn_server_name(e.srv).len, 11);
    tls13_conn_release_handshake(e.srv);
    tls13_conn_release_handshake(e.cli);
    assert_int_equal(tls13_conn_client_hello(e.srv).len, 0);
    assert_int_equal(tls13_conn_server_hello(e.srv).len, 0);
    assert_int_equal(tls13_conn_server_name(e.srv).len, 0);
    exchange(&e, 1);
    exchange(&e, 40000);
    assert_int_equal(tls13_key_update(e.srv, true, &e.s2c), 0);
    exchange(&e, 100);
    test_env_dispose(&e);
}

/* An established connection has given its handshake-only state back (secrets, certificate
 * flight, record layout, key shares: ~700 B on the heap): per-connection handshake settings
 * are refused from then on, and records and KeyUpdates keep working both ways. */
static void test_handshake_state_dropped(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    size_t one = 100;
    assert_int_equal(tls13_server_set_record_layout(e.srv, &one, 1), 0); /* before: accepted */
    assert_int_equal(tls13_server_set_record_layout(e.srv, &one, 0), 0);
    test_pump(&e);
    assert_int_equal(tls13_server_set_record_layout(e.srv, &one, 1), ERR_BAD_STATE);
    uint8_t key[32] = {1};
    struct bytes cert = bytes_of((const uint8_t *)"x", 1);
    assert_int_equal(tls13_server_set_certificate(e.srv, &cert, 1, key), ERR_BAD_STATE);
    exchange(&e, 3000);
    assert_int_equal(tls13_key_update(e.cli, true, &e.c2s), 0);
    exchange(&e, 100);
    test_env_dispose(&e);
}

/* Parked connections (idle tunnels) give their AEAD contexts back and rebuild them on the next
 * record, in both directions and across a KeyUpdate. */
static void test_park(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    tls13_conn_park(e.srv); /* not established yet: a no-op */
    test_pump(&e);
    exchange(&e, 100);
    tls13_conn_park(e.srv);
    tls13_conn_park(e.cli);
    assert_true(crypto_aead_parked(tls13_conn_write_cipher(e.srv)->aead));
    assert_true(crypto_aead_parked(tls13_conn_read_cipher(e.srv)->aead));
    exchange(&e, 40000);
    assert_false(crypto_aead_parked(tls13_conn_write_cipher(e.srv)->aead));
    tls13_conn_park(e.srv);
    assert_int_equal(tls13_key_update(e.srv, true, &e.s2c), 0);
    tls13_conn_park(e.srv);
    tls13_conn_park(e.cli);
    exchange(&e, 100);
    test_env_dispose(&e);
}

/* The agreed ALPN lives on the heap only when there is one (REALITY connections never have
 * one): the longest name, a replacement, clearing, and a name too long. */
static void test_alpn_storage(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    uint8_t longest[255];
    memset(longest, 'a', sizeof longest);
    assert_int_equal(tls13_conn_alpn(e.srv).len, 0);
    assert_int_equal(tls13_server_set_alpn(e.srv, longest, sizeof longest), 0);
    struct bytes a = tls13_conn_alpn(e.srv);
    assert_int_equal(a.len, 255);
    assert_memory_equal(a.p, longest, 255);
    assert_int_equal(tls13_server_set_alpn(e.srv, (const uint8_t *)"h2", 2), 0);
    a = tls13_conn_alpn(e.srv);
    assert_int_equal(a.len, 2);
    assert_memory_equal(a.p, "h2", 2);
    assert_int_equal(tls13_server_set_alpn(e.srv, longest, 256), ERR_RANGE);
    assert_int_equal(tls13_server_set_alpn(e.srv, NULL, 0), 0);
    assert_int_equal(tls13_conn_alpn(e.srv).len, 0);
    test_pump(&e);
    exchange(&e, 100);
    assert_int_equal(tls13_conn_alpn(e.cli).len, 0);
    test_env_dispose(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_suite),
        cmocka_unit_test(test_hybrid_group),
        cmocka_unit_test(test_alpn_and_byte_by_byte),
        cmocka_unit_test(test_alpn_storage),
        cmocka_unit_test(test_reality_separate),
        cmocka_unit_test(test_reality_combined),
        cmocka_unit_test(test_reality_default_layout),
        cmocka_unit_test(test_reality_too_small),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_early_data_skipped),
        cmocka_unit_test(test_client_set_hello_checks),
        cmocka_unit_test(test_release_handshake),
        cmocka_unit_test(test_handshake_state_dropped),
        cmocka_unit_test(test_park),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
