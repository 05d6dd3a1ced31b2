/* Full TLS 1.3 handshakes per second on one core: our client <-> our server in memory,
 * next to OpenSSL libssl (client <-> server over a BIO pair) in the same run. Both use
 * TLS_AES_128_GCM_SHA256, X25519 and an Ed25519 certificate, no session tickets.
 * Also: bulk record sealing throughput (16 KiB records) for each suite.
 * Usage: bench_tls13 [seconds-per-case]   (default 2). Build without sanitizers
 * (release preset) for real numbers. Time is process CPU time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/buf.h"
#include "core/err.h"
#include "tls13/tls13.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *pkey;
static X509 *x509;
static uint8_t cert_der[512], seed[32];
static size_t cert_len;

static void make_cert(void)
{
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (kc == NULL || EVP_PKEY_keygen_init(kc) <= 0 || EVP_PKEY_keygen(kc, &pkey) <= 0)
        abort();
    EVP_PKEY_CTX_free(kc);
    x509 = X509_new();
    X509_set_version(x509, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
    X509_gmtime_adj(X509_getm_notBefore(x509), 0);
    X509_gmtime_adj(X509_getm_notAfter(x509), 86400);
    X509_NAME *name = X509_get_subject_name(x509);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"bench.test", -1, -1, 0);
    X509_set_issuer_name(x509, name);
    X509_set_pubkey(x509, pkey);
    if (X509_sign(x509, pkey, NULL) <= 0)
        abort();
    unsigned char *p = cert_der;
    int n = i2d_X509(x509, NULL);
    if (n <= 0 || (size_t)n > sizeof(cert_der))
        abort();
    cert_len = (size_t)i2d_X509(x509, &p);
    size_t sl = sizeof(seed);
    if (EVP_PKEY_get_raw_private_key(pkey, seed, &sl) <= 0 || sl != 32)
        abort();
}

static int feed(struct tls13_conn *c, struct buf *from, struct buf *to)
{
    size_t used = 0;
    int rc = tls13_handshake(c, buf_len(from) ? buf_data(from) : NULL, buf_len(from), &used, to);
    buf_consume(from, used);
    return rc;
}

static double bench_ours(double secs)
{
    struct bytes chain[1] = {{cert_der, cert_len}};
    static const uint16_t suite = TLS13_AES_128_GCM_SHA256;
    struct tls13_ctx sctx = {0}, cctx = {0};
    sctx.cert_chain = chain;
    sctx.n_certs = 1;
    sctx.sign_key = seed;
    cctx.insecure_skip_verify = true; /* CertificateVerify is still verified (Ed25519) */
    cctx.cipher_suites = &suite;
    cctx.n_cipher_suites = 1;
    struct buf c2s, s2c;
    buf_init(&c2s);
    buf_init(&s2c);
    size_t n = 0;
    double t0 = now(), t;
    do {
        struct tls13_conn *cli = tls13_conn_new(&cctx, false), *srv = tls13_conn_new(&sctx, true);
        if (feed(cli, &s2c, &c2s) != ERR_NEED_MORE || feed(srv, &c2s, &s2c) != ERR_NEED_MORE ||
            feed(cli, &s2c, &c2s) != 0 || feed(srv, &c2s, &s2c) != 0)
            abort();
        tls13_conn_free(cli);
        tls13_conn_free(srv);
        n++;
        t = now();
    } while (t - t0 < secs);
    buf_dispose(&c2s);
    buf_dispose(&s2c);
    return (double)n / (t - t0);
}

struct det_rng {
    struct tls13_random base;
    uint64_t ctr;
};

static int det_rng_cb(struct tls13_random *self, void *out, size_t n)
{
    struct det_rng *r = (struct det_rng *)self;
    uint8_t *p = out;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(r->ctr++ * 131 + 7);
    return 0;
}

/* Server side only: the client's two flights are recorded once against a server with a
 * deterministic RNG, then replayed to fresh servers with the same RNG. */
static double bench_server_only(double secs)
{
    struct bytes chain[1] = {{cert_der, cert_len}};
    static const uint16_t suite = TLS13_AES_128_GCM_SHA256;
    struct det_rng rng = {{det_rng_cb}, 0};
    struct tls13_ctx sctx = {0}, cctx = {0};
    sctx.cert_chain = chain;
    sctx.n_certs = 1;
    sctx.sign_key = seed;
    sctx.random = &rng.base;
    cctx.insecure_skip_verify = true;
    cctx.cipher_suites = &suite;
    cctx.n_cipher_suites = 1;
    struct buf c2s, s2c, hello, fin;
    buf_init(&c2s);
    buf_init(&s2c);
    buf_init(&hello);
    buf_init(&fin);
    struct tls13_conn *cli = tls13_conn_new(&cctx, false), *srv = tls13_conn_new(&sctx, true);
    if (feed(cli, &s2c, &c2s) != ERR_NEED_MORE)
        abort();
    buf_append(&hello, buf_data(&c2s), buf_len(&c2s));
    if (feed(srv, &c2s, &s2c) != ERR_NEED_MORE || feed(cli, &s2c, &c2s) != 0)
        abort();
    buf_append(&fin, buf_data(&c2s), buf_len(&c2s));
    tls13_conn_free(cli);
    tls13_conn_free(srv);
    size_t n = 0;
    double t0 = now(), t;
    do {
        size_t used;
        rng.ctr = 0;
        buf_reset(&s2c);
        srv = tls13_conn_new(&sctx, true);
        if (tls13_handshake(srv, buf_data(&hello), buf_len(&hello), &used, &s2c) != ERR_NEED_MORE ||
            tls13_handshake(srv, buf_data(&fin), buf_len(&fin), &used, &s2c) != 0)
            abort();
        tls13_conn_free(srv);
        n++;
        t = now();
    } while (t - t0 < secs);
    buf_dispose(&c2s);
    buf_dispose(&s2c);
    buf_dispose(&hello);
    buf_dispose(&fin);
    return (double)n / (t - t0);
}

static double bench_openssl(double secs)
{
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
    SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(sctx, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set_ciphersuites(cctx, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set1_groups_list(sctx, "X25519");
    SSL_CTX_set1_groups_list(cctx, "X25519");
    SSL_CTX_set_num_tickets(sctx, 0);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_use_certificate(sctx, x509) != 1 || SSL_CTX_use_PrivateKey(sctx, pkey) != 1)
        abort();
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
    size_t n = 0;
    double t0 = now(), t;
    do {
        SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
        BIO *bc, *bs;
        if (BIO_new_bio_pair(&bc, 0, &bs, 0) != 1)
            abort();
        SSL_set_bio(c, bc, bc);
        SSL_set_bio(s, bs, bs);
        SSL_set_connect_state(c);
        SSL_set_accept_state(s);
        int cdone = 0, sdone = 0;
        for (int i = 0; i < 20 && !(cdone && sdone); i++) {
            if (!cdone) {
                int r = SSL_do_handshake(c);
                if (r == 1)
                    cdone = 1;
                else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
                    abort();
            }
            if (!sdone) {
                int r = SSL_do_handshake(s);
                if (r == 1)
                    sdone = 1;
                else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
                    abort();
            }
        }
        if (!cdone || !sdone)
            abort();
        SSL_free(c);
        SSL_free(s);
        n++;
        t = now();
    } while (t - t0 < secs);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return (double)n / (t - t0);
}

static double bench_seal(uint16_t id, double secs)
{
    static uint8_t data[TLS13_MAX_PLAINTEXT];
    uint8_t secret[48] = {7};
    struct tls13_cipher wr = {0};
    if (tls13_cipher_init(&wr, tls13_suite_by_id(id), secret, true) < 0)
        abort();
    struct buf out;
    buf_init(&out);
    size_t bytes = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 64; i++) {
            buf_reset(&out);
            if (tls13_record_seal(&wr, TLS13_CT_APPLICATION_DATA, data, sizeof(data), 0, &out) < 0)
                abort();
            bytes += sizeof(data);
        }
        t = now();
    } while (t - t0 < secs);
    buf_dispose(&out);
    tls13_cipher_dispose(&wr);
    return (double)bytes / (t - t0) / 1e6;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    if (secs <= 0)
        secs = 2.0;
    make_cert();
    printf("full handshakes/s (client+server on one core, AES-128-GCM, X25519, Ed25519):\n");
    printf("  veil tls13        %9.0f\n", bench_ours(secs));
    printf("  OpenSSL %-9s %9.0f\n", OpenSSL_version(OPENSSL_VERSION_STRING), bench_openssl(secs));
    double so = bench_server_only(secs);
    printf("server side only (replayed client flights): %.0f handshakes/s = %.3f s CPU per 1000\n", so, 1000.0 / so);
    printf("record seal, 16 KiB records (MB/s):\n");
    static const uint16_t ids[] = {0x1301, 0x1302, 0x1303};
    for (size_t i = 0; i < 3; i++)
        printf("  %-30s %8.0f\n", tls13_suite_by_id(ids[i])->name, bench_seal(ids[i], secs / 2));
    X509_free(x509);
    EVP_PKEY_free(pkey);
    return 0;
}
