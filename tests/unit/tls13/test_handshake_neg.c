/* Negative handshake tests: truncations and mutations of the ClientHello, duplicate
 * extensions, out-of-order messages, tampered Finished (decrypt_error) and records
 * (bad_record_mac), unknown content types, HelloRetryRequest, peer alerts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls13_test_common.h"
#include "core/wire.h"

#define SEND(a) TLS13_ERR_SEND(TLS13_ALERT_##a)

/* A fresh server fed with one plaintext handshake record holding msg. */
static int server_gets(const uint8_t *msg, size_t len, uint8_t rtype)
{
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    struct buf in;
    buf_init(&in);
    assert_int_equal(tls13_record_plain(rtype, 0x0301, msg, len, &in), 0);
    int rc = test_feed(e.srv, &in, &e.s2c);
    if (rc < 0 && rc != ERR_NEED_MORE) {
        uint8_t a;
        bool peer;
        /* a plaintext fatal alert record went out */
        if (tls13_err_is_alert(rc, &a, &peer) && !peer) {
            assert_int_equal(buf_len(&e.s2c), 7);
            assert_int_equal(buf_data(&e.s2c)[0], TLS13_CT_ALERT);
            assert_int_equal(buf_data(&e.s2c)[5], 2);
            assert_int_equal(buf_data(&e.s2c)[6], a);
        }
        assert_int_equal(tls13_conn_state(e.srv), TLS13_ST_FAILED);
        /* sticky */
        size_t used;
        assert_int_equal(tls13_handshake(e.srv, NULL, 0, &used, &e.s2c), rc);
    }
    buf_dispose(&in);
    test_env_dispose(&e);
    return rc;
}

/* Our client's ClientHello message. */
static uint8_t *client_hello(size_t *len)
{
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    struct bytes ch = tls13_conn_client_hello(e.cli);
    uint8_t *p = malloc(ch.len);
    assert_non_null(p);
    memcpy(p, ch.p, ch.len);
    *len = ch.len;
    test_env_dispose(&e);
    return p;
}

static void test_ch_ok(void **state)
{
    (void)state;
    size_t n;
    uint8_t *ch = client_hello(&n);
    assert_int_equal(server_gets(ch, n, TLS13_CT_HANDSHAKE), ERR_NEED_MORE);
    free(ch);
}

static void test_ch_truncations(void **state)
{
    (void)state;
    size_t n;
    uint8_t *ch = client_hello(&n);
    uint8_t *t = malloc(n);
    assert_non_null(t);
    for (size_t k = 4; k < n; k++) {
        memcpy(t, ch, k);
        wire_put_be24(t + 1, (uint32_t)(k - 4));
        struct tls13_client_hello p;
        int prc = tls13_parse_client_hello(t, k, &p);
        int rc = server_gets(t, k, TLS13_CT_HANDSHAKE);
        if (prc == 0) {
            /* only the cut right after compression methods is a (pre-1.3) hello */
            assert_int_equal(k, 4 + 2 + 32 + 33 + 2 + 6 + 2);
            assert_int_equal(rc, SEND(PROTOCOL_VERSION));
        } else {
            assert_int_equal(prc, SEND(DECODE_ERROR));
            assert_int_equal(rc, SEND(DECODE_ERROR));
        }
    }
    /* a handshake message cut by the record: wait for the rest */
    for (size_t k = 1; k < n; k++)
        assert_int_equal(server_gets(ch, k, TLS13_CT_HANDSHAKE), ERR_NEED_MORE);
    free(t);
    free(ch);
}

static void test_ch_mutations(void **state)
{
    (void)state;
    size_t n;
    uint8_t *ch = client_hello(&n);
    for (size_t i = 0; i < n; i++) {
        static const uint8_t flips[] = {0x01, 0x80, 0xff};
        for (size_t f = 0; f < 3; f++) {
            ch[i] ^= flips[f];
            int rc = server_gets(ch, n, TLS13_CT_HANDSHAKE);
            uint8_t a;
            bool peer;
            /* either accepted (random, shares...) or a clean alert; never anything else */
            assert_true(rc == ERR_NEED_MORE || (tls13_err_is_alert(rc, &a, &peer) && !peer));
            ch[i] ^= flips[f];
        }
    }
    free(ch);
}

/* Appends raw extension bytes to a ClientHello, fixing both lengths. */
static uint8_t *with_ext(const uint8_t *ch, size_t n, const uint8_t *ext, size_t elen, size_t *outlen)
{
    uint8_t *t = malloc(n + elen);
    assert_non_null(t);
    memcpy(t, ch, n);
    memcpy(t + n, ext, elen);
    wire_put_be24(t + 1, (uint32_t)(n + elen - 4));
    size_t at = 4 + 2 + 32 + 1 + t[38];
    at += 2 + wire_be16(t + at);
    at += 1 + t[at];
    wire_put_be16(t + at, (uint16_t)(wire_be16(t + at) + elen));
    *outlen = n + elen;
    return t;
}

static void test_ch_extensions(void **state)
{
    (void)state;
    size_t n, m;
    uint8_t *ch = client_hello(&n), *t;
    static const uint8_t dup_versions[] = {0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04};
    t = with_ext(ch, n, dup_versions, sizeof(dup_versions), &m);
    assert_int_equal(server_gets(t, m, TLS13_CT_HANDSHAKE), SEND(ILLEGAL_PARAMETER));
    free(t);
    /* pre_shared_key not last */
    static const uint8_t psk_then[] = {0x00, 0x29, 0x00, 0x00, 0x00, 0x15, 0x00, 0x00};
    t = with_ext(ch, n, psk_then, sizeof(psk_then), &m);
    assert_int_equal(server_gets(t, m, TLS13_CT_HANDSHAKE), SEND(ILLEGAL_PARAMETER));
    free(t);
    /* an unknown extension is fine */
    static const uint8_t grease[] = {0x1a, 0x1a, 0x00, 0x01, 0x00};
    t = with_ext(ch, n, grease, sizeof(grease), &m);
    assert_int_equal(server_gets(t, m, TLS13_CT_HANDSHAKE), ERR_NEED_MORE);
    free(t);
    /* extension data longer than its block */
    static const uint8_t bad_len[] = {0x1a, 0x1a, 0x00, 0x05, 0x00};
    t = with_ext(ch, n, bad_len, sizeof(bad_len), &m);
    assert_int_equal(server_gets(t, m, TLS13_CT_HANDSHAKE), SEND(DECODE_ERROR));
    free(t);
    free(ch);
}

static void test_ch_negotiation(void **state)
{
    (void)state;
    /* spec/reality.md §13 hello, modified: no supported_versions / no x25519 share */
    static const char base[] = "010000c40303a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf20"
                               "0000000000000000000000000000000000000000000000000000000000000000"
                               "000613011302130301"
                               "00007500000014001200000f7777772e6578616d706c652e636f6d000a00040002001d000d000800"
                               "060403080408070010000e000c02683208687474702f312e31002b0003020304002d000201010033"
                               "00260024001d002079a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a";
    size_t n;
    uint8_t *ch = tu_hex(base, &n);
    assert_int_equal(server_gets(ch, n, TLS13_CT_HANDSHAKE), ERR_NEED_MORE);
    /* supported_versions lists only TLS 1.2 */
    uint8_t *v = memmem(ch, n, "\x00\x2b\x00\x03\x02\x03\x04", 7);
    assert_non_null(v);
    v[6] = 3;
    assert_int_equal(server_gets(ch, n, TLS13_CT_HANDSHAKE), SEND(PROTOCOL_VERSION));
    v[6] = 4;
    /* the key share is for secp256r1 only: no HRR from us */
    uint8_t *k = memmem(ch, n, "\x00\x24\x00\x1d\x00\x20", 6);
    assert_non_null(k);
    k[3] = 0x17;
    assert_int_equal(server_gets(ch, n, TLS13_CT_HANDSHAKE), SEND(HANDSHAKE_FAILURE));
    k[3] = 0x1d;
    /* a low-order X25519 point */
    memset(k + 6, 0, 32);
    assert_int_equal(server_gets(ch, n, TLS13_CT_HANDSHAKE), SEND(ILLEGAL_PARAMETER));
    free(ch);
}

static void test_record_level(void **state)
{
    (void)state;
    size_t n;
    uint8_t *ch = client_hello(&n);
    /* unknown content types and a stray application_data record */
    assert_int_equal(server_gets(ch, n, 24), SEND(UNEXPECTED_MESSAGE));
    assert_int_equal(server_gets(ch, n, 0), SEND(UNEXPECTED_MESSAGE));
    assert_int_equal(server_gets(ch, n, 255), SEND(UNEXPECTED_MESSAGE));
    /* CCS before the ClientHello */
    assert_int_equal(server_gets((const uint8_t *)"\x01", 1, TLS13_CT_CHANGE_CIPHER_SPEC), SEND(UNEXPECTED_MESSAGE));
    /* an alert from the peer: nothing sent back */
    assert_int_equal(server_gets((const uint8_t *)"\x02\x28", 2, TLS13_CT_ALERT), TLS13_ERR_PEER(40));
    assert_int_equal(server_gets((const uint8_t *)"\x02\x28\x00", 3, TLS13_CT_ALERT), SEND(DECODE_ERROR));
    /* Finished first */
    static const uint8_t fin[36] = {20, 0, 0, 32};
    assert_int_equal(server_gets(fin, sizeof(fin), TLS13_CT_HANDSHAKE), SEND(UNEXPECTED_MESSAGE));
    /* ClientHello followed by more handshake bytes in the same record: key change
     * must be on a record boundary */
    uint8_t *two = malloc(n + 4);
    memcpy(two, ch, n);
    memcpy(two + n, "\x14\x00\x00\x20", 4);
    assert_int_equal(server_gets(two, n + 4, TLS13_CT_HANDSHAKE), SEND(UNEXPECTED_MESSAGE));
    free(two);
    free(ch);
}

static void test_client_side(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), ERR_NEED_MORE);
    /* drop the ServerHello record: CCS is tolerated, the encrypted record is not */
    size_t shlen = 5 + wire_be16(buf_data(&e.s2c) + 3);
    struct buf rest;
    buf_init(&rest);
    buf_append(&rest, buf_data(&e.s2c) + shlen, buf_len(&e.s2c) - shlen);
    struct tls13_conn *c2 = tls13_conn_new(&e.cctx, false);
    struct buf out2, none;
    buf_init(&out2);
    buf_init(&none);
    assert_int_equal(test_feed(c2, &none, &out2), ERR_NEED_MORE); /* sends its hello */
    assert_int_equal(test_feed(c2, &rest, &out2), SEND(UNEXPECTED_MESSAGE));
    tls13_conn_free(c2);
    buf_dispose(&rest);
    buf_dispose(&out2);

    /* tamper the last byte of the encrypted flight: bad_record_mac, and the alert
     * goes out under the client's handshake key, which the server can read */
    buf_data(&e.s2c)[buf_len(&e.s2c) - 1] ^= 1;
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), SEND(BAD_RECORD_MAC));
    assert_int_equal(buf_data(&e.c2s)[0], TLS13_CT_APPLICATION_DATA);
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), TLS13_ERR_PEER(TLS13_ALERT_BAD_RECORD_MAC));
    test_env_dispose(&e);
}

static void test_tampered_finished(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), ERR_NEED_MORE);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), 0);
    /* c2s = CCS + Finished record. Re-encrypt Finished with one bit flipped in
     * verify_data, using the server's client-handshake read secret. */
    uint8_t *p = buf_data(&e.c2s);
    assert_memory_equal(p, "\x14\x03\x03\x00\x01\x01", 6);
    p += 6;
    size_t rlen = 5 + wire_be16(p + 3);
    struct tls13_cipher *rd = tls13_conn_read_cipher(e.srv);
    struct tls13_cipher dec = {0}, enc = {0};
    assert_int_equal(tls13_cipher_init(&dec, rd->suite, rd->secret, false), 0);
    assert_int_equal(tls13_cipher_init(&enc, rd->suite, rd->secret, true), 0);
    uint8_t pt[128], type;
    size_t n;
    assert_int_equal(tls13_record_open(&dec, p, rlen, pt, &type, &n), 0);
    assert_int_equal(pt[0], TLS13_HS_FINISHED);
    pt[n - 1] ^= 1;
    struct buf forged;
    buf_init(&forged);
    assert_int_equal(tls13_record_seal(&enc, type, pt, n, 0, &forged), 0);
    assert_int_equal(test_feed(e.srv, &forged, &e.s2c), SEND(DECRYPT_ERROR));
    tls13_cipher_dispose(&dec);
    tls13_cipher_dispose(&enc);
    buf_dispose(&forged);
    test_env_dispose(&e);
}

static void test_wrong_signature_key(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    e.seed[0] ^= 1; /* CertificateVerify no longer matches the certificate */
    test_env_conns(&e);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), ERR_NEED_MORE);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), SEND(DECRYPT_ERROR));
    test_env_dispose(&e);
}

struct reject {
    struct tls13_verify_certificate v;
};
static int reject_cb(struct tls13_verify_certificate *self, struct tls13_conn *conn, const struct bytes *chain,
                     size_t n)
{
    (void)self;
    (void)conn;
    (void)chain;
    (void)n;
    return SEND(BAD_CERTIFICATE);
}

static void test_verify_rejects(void **state)
{
    (void)state;
    struct test_env e;
    struct reject r = {{reject_cb}};
    test_env_init(&e);
    e.cctx.verify_certificate = &r.v;
    test_env_conns(&e);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), ERR_NEED_MORE);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), SEND(BAD_CERTIFICATE));
    assert_int_equal(test_feed(e.srv, &e.c2s, &e.s2c), TLS13_ERR_PEER(TLS13_ALERT_BAD_CERTIFICATE));
    test_env_dispose(&e);
}

/* A ServerHello for the client's hello, with the given random and extensions. */
static void sh_to_client(const uint8_t *random, const uint8_t *ext, size_t elen, int want)
{
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), ERR_NEED_MORE);
    struct tls13_client_hello ch;
    struct bytes m = tls13_conn_client_hello(e.cli);
    assert_int_equal(tls13_parse_client_hello(m.p, m.len, &ch), 0);
    struct buf sh;
    buf_init(&sh);
    struct wire_block b, x;
    wire_wr_u8(&sh, 2);
    wire_wr_open(&sh, 3, &b);
    wire_wr_u16(&sh, 0x0303);
    wire_wr_bytes(&sh, random, 32);
    wire_wr_u8(&sh, 32);
    wire_wr_bytes(&sh, ch.session_id.p, 32);
    wire_wr_u16(&sh, 0x1301);
    wire_wr_u8(&sh, 0);
    wire_wr_open(&sh, 2, &x);
    wire_wr_bytes(&sh, ext, elen);
    wire_wr_close(&sh, &x);
    wire_wr_close(&sh, &b);
    tls13_record_plain(TLS13_CT_HANDSHAKE, 0x0303, buf_data(&sh), buf_len(&sh), &e.s2c);
    assert_int_equal(test_feed(e.cli, &e.s2c, &e.c2s), want);
    buf_dispose(&sh);
    test_env_dispose(&e);
}

static void test_server_hello_checks(void **state)
{
    (void)state;
    static const uint8_t hrr[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                                    0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                                    0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
    uint8_t rnd[32];
    memset(rnd, 0x42, 32);
    static const uint8_t sv[] = {0, 43, 0, 2, 3, 4};
    uint8_t ext[64];
    /* HRR asking for x25519 we already sent */
    memcpy(ext, sv, 6);
    memcpy(ext + 6, "\x00\x33\x00\x02\x00\x1d", 6);
    sh_to_client(hrr, ext, 12, SEND(ILLEGAL_PARAMETER));
    /* HRR with only a cookie: legal, unsupported */
    memcpy(ext + 6, "\x00\x2c\x00\x04\x00\x02\xab\xcd", 8);
    sh_to_client(hrr, ext, 14, SEND(HANDSHAKE_FAILURE));
    /* no supported_versions: a TLS 1.2 answer */
    sh_to_client(rnd, NULL, 0, SEND(PROTOCOL_VERSION));
    /* supported_versions only, no key share */
    sh_to_client(rnd, sv, 6, SEND(MISSING_EXTENSION));
    /* key share for a group we did not offer */
    memcpy(ext + 6, "\x00\x33\x00\x24\x00\x17\x00\x20", 8);
    memset(ext + 14, 9, 32);
    sh_to_client(rnd, ext, 46, SEND(ILLEGAL_PARAMETER));
    /* an extension we never offered */
    memcpy(ext + 6, "\x00\x17\x00\x00", 4);
    sh_to_client(rnd, ext, 10, SEND(UNSUPPORTED_EXTENSION));
    /* duplicate */
    memcpy(ext + 6, sv, 6);
    sh_to_client(rnd, ext, 12, SEND(ILLEGAL_PARAMETER));
}

static void test_post_handshake(void **state)
{
    (void)state;
    struct test_env e;
    test_env_init(&e);
    test_env_conns(&e);
    test_pump(&e);
    struct buf app;
    buf_init(&app);
    size_t used;
    /* a NewSessionTicket split over two records is fine and ignored */
    static const uint8_t nst[] = {4, 0, 0, 14, 0, 0, 0, 60, 1, 2, 3, 4, 0, 0, 1, 0xaa, 0, 0};
    assert_int_equal(tls13_seal_record(e.srv, TLS13_CT_HANDSHAKE, nst, 7, 0, &e.s2c), 0);
    assert_int_equal(tls13_seal_record(e.srv, TLS13_CT_HANDSHAKE, nst + 7, sizeof(nst) - 7, 0, &e.s2c), 0);
    assert_int_equal(tls13_recv(e.cli, buf_data(&e.s2c), buf_len(&e.s2c), &used, &app, &e.c2s), 0);
    assert_int_equal(used, buf_len(&e.s2c));
    assert_int_equal(buf_len(&app), 0);
    buf_reset(&e.s2c);
    /* application data inside a split handshake message: unexpected_message */
    assert_int_equal(tls13_seal_record(e.srv, TLS13_CT_HANDSHAKE, nst, 7, 0, &e.s2c), 0);
    assert_int_equal(tls13_send(e.srv, "x", 1, &e.s2c), 0);
    assert_int_equal(tls13_recv(e.cli, buf_data(&e.s2c), buf_len(&e.s2c), &used, &app, &e.c2s),
                     SEND(UNEXPECTED_MESSAGE));
    /* the client's protected alert reaches the server as a peer alert */
    assert_int_equal(tls13_recv(e.srv, buf_data(&e.c2s), buf_len(&e.c2s), &used, &app, NULL),
                     TLS13_ERR_PEER(TLS13_ALERT_UNEXPECTED_MESSAGE));
    test_env_dispose(&e);
    test_env_init(&e);
    test_env_conns(&e);
    test_pump(&e);
    /* a second ClientHello to an established server */
    struct bytes ch = tls13_conn_client_hello(e.cli);
    assert_int_equal(tls13_seal_record(e.cli, TLS13_CT_HANDSHAKE, ch.p, ch.len, 0, &e.c2s), 0);
    assert_int_equal(tls13_recv(e.srv, buf_data(&e.c2s), buf_len(&e.c2s), &used, &app, &e.s2c),
                     SEND(UNEXPECTED_MESSAGE));
    /* the alert went out protected; the client reads it as the server's fatal alert */
    assert_int_equal(buf_data(&e.s2c)[0], TLS13_CT_APPLICATION_DATA);
    buf_dispose(&app);
    test_env_dispose(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ch_ok),
        cmocka_unit_test(test_ch_truncations),
        cmocka_unit_test(test_ch_mutations),
        cmocka_unit_test(test_ch_extensions),
        cmocka_unit_test(test_ch_negotiation),
        cmocka_unit_test(test_record_level),
        cmocka_unit_test(test_client_side),
        cmocka_unit_test(test_tampered_finished),
        cmocka_unit_test(test_wrong_signature_key),
        cmocka_unit_test(test_verify_rejects),
        cmocka_unit_test(test_server_hello_checks),
        cmocka_unit_test(test_post_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
