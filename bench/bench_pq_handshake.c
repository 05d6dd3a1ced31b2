/* What the hybrid group costs a whole TLS 1.3 handshake: our client <-> our server in
 * memory, Ed25519 certificate, TLS_AES_128_GCM_SHA256, three cases:
 *   x25519          client offers X25519 only, server picks it (the classic handshake);
 *   hybrid          client offers X25519MLKEM768 + X25519 (Chrome), server picks the hybrid;
 *   both -> x25519  client offers both, server knows only X25519 (cost of offering PQ).
 * Per case: handshakes/s on one core (both sides), CPU microseconds per handshake spent in
 * the client and in the server, and bytes on the wire each way.
 * Usage: bench_pq_handshake [seconds-per-case]   (default 2). Use the release preset.
 * Time is process CPU time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "reality/cert.h"
#include "tls13/tls13.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct tls13_kex_ops *const g_x25519[] = {&tls13_kex_x25519};
static const struct tls13_kex_ops *const g_both[] = {&tls13_kex_x25519mlkem768, &tls13_kex_x25519};

struct bench_case {
    const char *name;
    const struct tls13_kex_ops *const *client_groups, *const *server_groups;
    size_t n_client, n_server;
    uint16_t want_group;
};

static const struct bench_case cases[] = {
    {"x25519", g_x25519, g_x25519, 1, 1, TLS13_GROUP_X25519},
    {"hybrid", g_both, g_both, 2, 2, TLS13_GROUP_X25519MLKEM768},
    {"both -> x25519", g_both, g_x25519, 2, 1, TLS13_GROUP_X25519},
};

static struct bytes chain;
static uint8_t sign_seed[32];

struct totals {
    double client_s, server_s;
    size_t c2s, s2c;
};

/* One handshake; adds CPU time per side and wire bytes to t. */
static int handshake(const struct bench_case *bc, struct totals *t)
{
    struct tls13_ctx cctx = {.groups = bc->client_groups, .n_groups = bc->n_client, .insecure_skip_verify = true};
    struct tls13_ctx sctx = {.groups = bc->server_groups,
                             .n_groups = bc->n_server,
                             .cert_chain = &chain,
                             .n_certs = 1,
                             .sign_key = sign_seed};
    struct tls13_conn *cl = tls13_conn_new(&cctx, false), *sv = tls13_conn_new(&sctx, true);
    struct buf c2s, s2c;
    buf_init(&c2s);
    buf_init(&s2c);
    int rc = cl && sv ? 0 : ERR_NOMEM;
    size_t used = 0;
    double t0 = now();
    if (rc == 0 && (rc = tls13_handshake(cl, NULL, 0, &used, &c2s)) == ERR_NEED_MORE)
        rc = 0;
    double t1 = now();
    t->c2s += buf_len(&c2s);
    if (rc == 0 && (rc = tls13_handshake(sv, buf_data(&c2s), buf_len(&c2s), &used, &s2c)) == ERR_NEED_MORE)
        rc = 0;
    double t2 = now();
    t->s2c += buf_len(&s2c);
    buf_consume(&c2s, buf_len(&c2s));
    if (rc == 0)
        rc = tls13_handshake(cl, buf_data(&s2c), buf_len(&s2c), &used, &c2s);
    double t3 = now();
    t->c2s += buf_len(&c2s);
    if (rc == 0)
        rc = tls13_handshake(sv, buf_data(&c2s), buf_len(&c2s), &used, &s2c);
    double t4 = now();
    if (rc == 0 && tls13_conn_group(sv) != bc->want_group)
        rc = ERR_INTERNAL;
    t->client_s += (t1 - t0) + (t3 - t2);
    t->server_s += (t2 - t1) + (t4 - t3);
    tls13_conn_free(cl);
    tls13_conn_free(sv);
    buf_dispose(&c2s);
    buf_dispose(&s2c);
    return rc;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    static struct reality_cert cert;
    uint8_t der[REALITY_CERT_DER_LEN];
    static const uint8_t auth_key[32] = {1};
    if (reality_cert_init(&cert, NULL) < 0 || reality_cert_for_conn(&cert, auth_key, der) < 0) {
        fprintf(stderr, "certificate setup failed\n");
        return 1;
    }
    chain = bytes_of(der, sizeof(der));
    for (size_t i = 0; i < 32; i++)
        sign_seed[i] = cert.ed_priv[i];
    printf("%-16s %10s %12s %12s %10s %10s\n", "case", "hs/s", "client us", "server us", "c->s B", "s->c B");
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct totals t = {0};
        size_t n = 0;
        double start = now();
        while (now() - start < secs) {
            int rc = handshake(&cases[k], &t);
            if (rc < 0) {
                fprintf(stderr, "%s: handshake failed: %s\n", cases[k].name, tls13_err_str(rc));
                return 1;
            }
            n++;
        }
        double el = now() - start;
        printf("%-16s %10.0f %12.1f %12.1f %10zu %10zu\n", cases[k].name, (double)n / el, t.client_s / (double)n * 1e6,
               t.server_s / (double)n * 1e6, t.c2s / n, t.s2c / n);
    }
    reality_cert_dispose(&cert);
    return 0;
}
