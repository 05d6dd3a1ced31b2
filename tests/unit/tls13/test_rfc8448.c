/* RFC 8448 §3 "Simple 1-RTT Handshake": key schedule, traffic keys and record protection
 * of the trace must match byte for byte (vectors in tests/vectors/rfc8448/). */
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
#include "crypto/crypto.h"
#include "tls13/alert.h"
#include "tls13/keysched.h"
#include "tls13/record.h"
#include "tls13/tls13.h"
#include "test_util.h"

static uint8_t *vec(const char *name, size_t *len)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "rfc8448/%s.hex", name);
    size_t n = 0;
    uint8_t *p = tu_read_hex_file(tu_vectors(rel), &n);
    assert_non_null(p);
    if (len != NULL)
        *len = n;
    return p;
}

static void assert_vec(const char *name, const uint8_t *got, size_t len)
{
    size_t n;
    uint8_t *want = vec(name, &n);
    assert_int_equal(n, len);
    assert_memory_equal(got, want, n);
    free(want);
}

/* Transcript hash of the concatenation of messages a and b. */
static void thash2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, uint8_t *out)
{
    struct crypto_hash_ctx *h = crypto_hash_new(CRYPTO_SHA256);
    assert_non_null(h);
    assert_int_equal(crypto_hash_update(h, a, alen), 0);
    assert_int_equal(crypto_hash_update(h, b, blen), 0);
    assert_int_equal(crypto_hash_peek(h, out), 0);
    crypto_hash_free(h);
}

static void test_labels(void **state)
{
    (void)state;
    /* "derived" from the early secret (the RFC's salt for the handshake extract). */
    uint8_t *early = vec("early_secret", NULL), empty[32], out[32];
    assert_int_equal(crypto_hash(CRYPTO_SHA256, "", 0, empty), 0);
    assert_int_equal(tls13_derive_secret(CRYPTO_SHA256, early, "derived", empty, out), 0);
    assert_vec("derived_early", out, 32);
    free(early);
    /* Label longer than 255 bytes is refused. */
    char lbl[300];
    memset(lbl, 'a', sizeof(lbl) - 1);
    lbl[sizeof(lbl) - 1] = 0;
    assert_int_equal(tls13_hkdf_expand_label(CRYPTO_SHA256, out, lbl, NULL, 0, out, 32), ERR_RANGE);
}

static void test_key_schedule(void **state)
{
    (void)state;
    const struct tls13_suite *s = tls13_suite_by_id(TLS13_AES_128_GCM_SHA256);
    assert_non_null(s);
    assert_null(tls13_suite_by_id(0x1304));

    size_t chlen, shrlen;
    uint8_t *ch = vec("client_hello", &chlen), *shr = vec("server_hello_record", &shrlen);
    uint8_t *cpriv = vec("client_priv", NULL), *spub = vec("server_pub", NULL), *spriv = vec("server_priv", NULL);
    uint8_t *cpub = vec("client_pub", NULL);

    /* Both sides' X25519 agree with the trace. */
    uint8_t ecdhe[32], ecdhe2[32], pub[32];
    assert_int_equal(crypto_x25519_public(cpriv, pub), 0);
    assert_memory_equal(pub, cpub, 32);
    assert_int_equal(crypto_x25519(ecdhe, cpriv, spub), 0);
    assert_int_equal(crypto_x25519(ecdhe2, spriv, cpub), 0);
    assert_memory_equal(ecdhe, ecdhe2, 32);
    assert_vec("ecdhe", ecdhe, 32);

    struct tls13_keysched ks;
    assert_int_equal(tls13_ks_init(&ks, s), 0);
    assert_vec("early_secret", ks.secret, 32);
    assert_int_equal(tls13_ks_handshake(&ks, ecdhe, 32), 0);
    assert_vec("handshake_secret", ks.secret, 32);

    uint8_t th[32], chs[32], shs[32], key[16], iv[12], fk[32];
    thash2(ch, chlen, shr + 5, shrlen - 5, th);
    assert_vec("hs_hash", th, 32);
    assert_int_equal(tls13_ks_derive(&ks, "c hs traffic", th, chs), 0);
    assert_vec("c_hs_traffic", chs, 32);
    assert_int_equal(tls13_ks_derive(&ks, "s hs traffic", th, shs), 0);
    assert_vec("s_hs_traffic", shs, 32);
    assert_int_equal(tls13_traffic_keys(s, shs, key, iv), 0);
    assert_vec("s_hs_key", key, 16);
    assert_vec("s_hs_iv", iv, 12);
    assert_int_equal(tls13_traffic_keys(s, chs, key, iv), 0);
    assert_vec("c_hs_key", key, 16);
    assert_vec("c_hs_iv", iv, 12);
    assert_int_equal(tls13_finished_key(CRYPTO_SHA256, shs, fk), 0);
    assert_vec("s_finished_key", fk, 32);
    assert_int_equal(tls13_finished_key(CRYPTO_SHA256, chs, fk), 0);
    assert_vec("c_finished_key", fk, 32);

    assert_int_equal(tls13_ks_master(&ks), 0);
    assert_vec("master_secret", ks.secret, 32);
    uint8_t *aph = vec("ap_hash", NULL), cap[32], sap[32], exp[32];
    assert_int_equal(tls13_ks_derive(&ks, "c ap traffic", aph, cap), 0);
    assert_vec("c_ap_traffic", cap, 32);
    assert_int_equal(tls13_ks_derive(&ks, "s ap traffic", aph, sap), 0);
    assert_vec("s_ap_traffic", sap, 32);
    assert_int_equal(tls13_ks_derive(&ks, "exp master", aph, exp), 0);
    assert_vec("exp_master", exp, 32);
    assert_int_equal(tls13_traffic_keys(s, sap, key, iv), 0);
    assert_vec("s_ap_key", key, 16);
    assert_vec("s_ap_iv", iv, 12);
    assert_int_equal(tls13_traffic_keys(s, cap, key, iv), 0);
    assert_vec("c_ap_key", key, 16);
    assert_vec("c_ap_iv", iv, 12);
    tls13_ks_dispose(&ks);

    free(ch);
    free(shr);
    free(cpriv);
    free(spub);
    free(spriv);
    free(cpub);
    free(aph);
}

/* Opens a trace record with the secret, checks type, then re-seals it and compares. */
static void roundtrip(const char *secret_name, uint64_t seq, const char *record_name, uint8_t want_type,
                      uint8_t *content, size_t *content_len)
{
    const struct tls13_suite *s = tls13_suite_by_id(TLS13_AES_128_GCM_SHA256);
    size_t rlen;
    uint8_t *sec = vec(secret_name, NULL), *rec = vec(record_name, &rlen);
    struct tls13_record_hdr hdr;
    assert_int_equal(tls13_record_parse_header(rec, rlen, &hdr), 0);
    assert_int_equal(hdr.len + 5, rlen);

    struct tls13_cipher rd = {0}, wr = {0};
    assert_int_equal(tls13_cipher_init(&rd, s, sec, false), 0);
    assert_int_equal(tls13_cipher_init(&wr, s, sec, true), 0);
    rd.seq = wr.seq = seq;
    uint8_t type = 0;
    size_t n = 0;
    assert_int_equal(tls13_record_open(&rd, rec, rlen, content, &type, &n), 0);
    assert_int_equal(type, want_type);
    assert_int_equal(rd.seq, seq + 1);

    struct buf out;
    buf_init(&out);
    assert_int_equal(tls13_record_seal(&wr, type, content, n, 0, &out), 0);
    assert_int_equal(buf_len(&out), rlen);
    assert_memory_equal(buf_data(&out), rec, rlen);

    /* The same record must not open one sequence number later. */
    uint8_t scratch[TLS13_MAX_CIPHERTEXT];
    rd.seq = seq + 1;
    assert_int_equal(tls13_record_open(&rd, rec, rlen, scratch, &type, &n), TLS13_ERR_SEND(TLS13_ALERT_BAD_RECORD_MAC));
    buf_dispose(&out);
    tls13_cipher_dispose(&rd);
    tls13_cipher_dispose(&wr);
    *content_len = n;
    free(sec);
    free(rec);
}

static void test_server_flight(void **state)
{
    (void)state;
    uint8_t flight[TLS13_MAX_CIPHERTEXT];
    size_t flen;
    roundtrip("s_hs_traffic", 0, "server_flight_record", TLS13_CT_HANDSHAKE, flight, &flen);
    assert_int_equal(flen, 657);
    /* EE, Certificate, CertificateVerify, Finished; Finished is the last 36 bytes. */
    assert_int_equal(flight[0], 8);
    const uint8_t *fin = flight + flen - 36;
    assert_int_equal(fin[0], 20);
    assert_int_equal(fin[3], 32);

    /* Server Finished verify_data = HMAC(finished_key, H(CH..CV)). */
    size_t chlen, shrlen;
    uint8_t *ch = vec("client_hello", &chlen), *shr = vec("server_hello_record", &shrlen);
    uint8_t *shs = vec("s_hs_traffic", NULL);
    struct crypto_hash_ctx *h = crypto_hash_new(CRYPTO_SHA256);
    assert_non_null(h);
    crypto_hash_update(h, ch, chlen);
    crypto_hash_update(h, shr + 5, shrlen - 5);
    crypto_hash_update(h, flight, flen - 36);
    uint8_t th[32], vd[32];
    assert_int_equal(crypto_hash_peek(h, th), 0);
    assert_int_equal(tls13_verify_data(CRYPTO_SHA256, shs, th, vd), 0);
    assert_memory_equal(vd, fin + 4, 32);
    /* Transcript through the server Finished is the trace's application hash. */
    crypto_hash_update(h, fin, 36);
    assert_int_equal(crypto_hash_peek(h, th), 0);
    assert_vec("ap_hash", th, 32);
    crypto_hash_free(h);
    free(ch);
    free(shr);
    free(shs);
}

static void test_client_records(void **state)
{
    (void)state;
    uint8_t pt[TLS13_MAX_CIPHERTEXT];
    size_t n;
    roundtrip("c_hs_traffic", 0, "client_finished_record", TLS13_CT_HANDSHAKE, pt, &n);
    assert_int_equal(pt[0], 20);
    roundtrip("c_ap_traffic", 0, "client_appdata_record", TLS13_CT_APPLICATION_DATA, pt, &n);
    for (uint8_t i = 0; i < 50; i++)
        assert_int_equal(pt[i], i);
    roundtrip("s_ap_traffic", 0, "server_nst_record", TLS13_CT_HANDSHAKE, pt, &n);
    assert_int_equal(pt[0], 4); /* NewSessionTicket */
    roundtrip("s_ap_traffic", 1, "server_appdata_record_seq1", TLS13_CT_APPLICATION_DATA, pt, &n);
    roundtrip("c_ap_traffic", 1, "client_alert_record", TLS13_CT_ALERT, pt, &n);
    assert_int_equal(pt[0], 1);
    assert_int_equal(pt[1], 0); /* warning close_notify */
}

/* The engine as client, replaying the trace: our Finished and application data records
 * must be the RFC's bytes. The RFC server signs with RSA-PSS, which we do not verify, so
 * insecure_skip_verify is set; the server Finished is still checked. */
static void test_client_engine(void **state)
{
    (void)state;
    size_t chlen, shlen, flen, cfl, nstl, sapl, capl;
    uint8_t *ch = vec("client_hello", &chlen), *priv = vec("client_priv", NULL);
    uint8_t *sh = vec("server_hello_record", &shlen), *fl = vec("server_flight_record", &flen);
    uint8_t *cfin = vec("client_finished_record", &cfl), *nst = vec("server_nst_record", &nstl);
    uint8_t *sap = vec("server_appdata_record_seq1", &sapl), *cap = vec("client_appdata_record", &capl);
    struct tls13_ctx ctx = {0};
    ctx.insecure_skip_verify = true;
    struct tls13_conn *c = tls13_conn_new(&ctx, false);
    assert_non_null(c);
    struct tls13_client_key key = {&tls13_kex_x25519, priv, 32};
    assert_int_equal(tls13_client_set_hello(c, ch, chlen, &key, 1), 0);
    struct buf out, in, app;
    buf_init(&out);
    buf_init(&in);
    buf_init(&app);
    size_t used;
    assert_int_equal(tls13_handshake(c, NULL, 0, &used, &out), ERR_NEED_MORE);
    assert_int_equal(buf_len(&out), 5 + chlen);
    assert_memory_equal(buf_data(&out) + 5, ch, chlen);
    buf_reset(&out);
    buf_append(&in, sh, shlen);
    buf_append(&in, fl, flen);
    buf_append(&in, nst, nstl);
    buf_append(&in, sap, sapl);
    assert_int_equal(tls13_handshake(c, buf_data(&in), buf_len(&in), &used, &out), 0);
    assert_int_equal(used, shlen + flen);
    /* no CCS (empty session id): exactly the RFC's client Finished record */
    assert_int_equal(buf_len(&out), cfl);
    assert_memory_equal(buf_data(&out), cfin, cfl);
    buf_consume(&in, used);
    /* NewSessionTicket is dropped, then the 50-byte application data */
    assert_int_equal(tls13_recv(c, buf_data(&in), buf_len(&in), &used, &app, &out), 0);
    assert_int_equal(used, nstl + sapl);
    assert_int_equal(buf_len(&app), 50);
    for (uint8_t i = 0; i < 50; i++)
        assert_int_equal(buf_data(&app)[i], i);
    buf_reset(&out);
    assert_int_equal(tls13_send(c, buf_data(&app), 50, &out), 0);
    assert_int_equal(buf_len(&out), capl);
    assert_memory_equal(buf_data(&out), cap, capl);
    assert_int_equal(tls13_conn_suite(c)->id, TLS13_AES_128_GCM_SHA256);
    tls13_conn_free(c);
    buf_dispose(&out);
    buf_dispose(&in);
    buf_dispose(&app);
    free(ch);
    free(priv);
    free(sh);
    free(fl);
    free(cfin);
    free(nst);
    free(sap);
    free(cap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),        cmocka_unit_test(test_key_schedule),
        cmocka_unit_test(test_server_flight), cmocka_unit_test(test_client_records),
        cmocka_unit_test(test_client_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
