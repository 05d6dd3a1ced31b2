/* REALITY hot paths on one core: ClientHello peek (parse), session-id auth (accepted, and
 * rejected by the AEAD as for every prober), client hello build (X25519 only and with the
 * ML-KEM hybrid share), per-connection certificate HMAC, target-flight classification.
 * Usage: bench_reality [seconds-per-case] (default 1). Time is process CPU time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/wire.h"
#include "crypto/crypto.h"
#include "reality/auth.h"
#include "reality/cert.h"
#include "reality/client.h"
#include "reality/client_hello.h"
#include "reality/session.h"
#include "reality/target.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_reality: %s: %s\n", what, err_str(rc));
    exit(1);
}

struct ctx {
    struct buf rec; /* client hello record */
    struct reality_server_cfg *good, *bad;
    struct reality_client_params params;
    struct x25519mlkem768_client hst;
    struct reality_cert cert;
    struct buf flight;
};

typedef void case_fn(struct ctx *c);

static void case_peek(struct ctx *c)
{
    struct buf scratch;
    buf_init(&scratch);
    struct reality_client_hello ch;
    int rc = reality_ch_peek(buf_data(&c->rec), buf_len(&c->rec), &scratch, &ch);
    if (rc < 0)
        die("peek", rc);
    buf_dispose(&scratch);
}

static void auth_with(struct ctx *c, const struct reality_server_cfg *cfg, enum reality_outcome want)
{
    struct buf scratch;
    buf_init(&scratch);
    struct reality_client_hello ch;
    struct reality_auth_result res;
    int rc = reality_ch_peek(buf_data(&c->rec), buf_len(&c->rec), &scratch, &ch);
    if (rc == 0)
        rc = reality_auth(cfg, &ch, c->params.now_ms, &res);
    if (rc < 0 || res.outcome != want)
        die("auth", rc < 0 ? rc : ERR_AUTH);
    reality_auth_result_wipe(&res);
}

static void case_auth_ok(struct ctx *c)
{
    auth_with(c, c->good, REALITY_OUTCOME_AUTHENTICATED);
}

static void case_auth_reject(struct ctx *c)
{
    auth_with(c, c->bad, REALITY_OUTCOME_DECRYPT_FAILED);
}

static void build(struct ctx *c, bool hybrid)
{
    struct reality_client_params p = c->params;
    if (hybrid) {
        p.hybrid_keygen = reality_hybrid_keygen;
        p.hybrid_arg = &c->hst;
    }
    struct buf out;
    buf_init(&out);
    struct reality_client_keys keys;
    int rc = reality_client_build(&p, &out, &keys);
    if (rc < 0)
        die("build", rc);
    buf_dispose(&out);
}

static void case_build_x25519(struct ctx *c)
{
    build(c, false);
}

static void case_build_hybrid(struct ctx *c)
{
    build(c, true);
}

static void case_cert(struct ctx *c)
{
    uint8_t ak[32] = {1}, der[REALITY_CERT_DER_LEN];
    int rc = reality_cert_for_conn(&c->cert, ak, der);
    if (rc < 0)
        die("cert", rc);
}

static void case_target(struct ctx *c)
{
    struct reality_target t;
    reality_target_init(&t);
    size_t used;
    int rc = reality_target_feed(&t, buf_data(&c->flight), buf_len(&c->flight), &used);
    if (rc < 0 || t.state != REALITY_TARGET_ST_READY)
        die("target", rc < 0 ? rc : ERR_MALFORMED);
    reality_target_dispose(&t);
}

static void record(struct buf *b, uint8_t type, size_t total)
{
    wire_wr_u8(b, type);
    wire_wr_u16(b, 0x0303);
    wire_wr_u16(b, (uint16_t)(total - 5));
    for (size_t i = 5; i < total; i++)
        wire_wr_u8(b, (uint8_t)i);
}

static void setup(struct ctx *c)
{
    memset(c, 0, sizeof(*c));
    uint8_t priv[32], pub[32], other[32];
    crypto_random(priv, 32);
    crypto_random(other, 32);
    crypto_x25519_public(priv, pub);
    memcpy(c->params.server_public_key, pub, 32);
    memcpy(c->params.short_id, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    c->params.server_name = "www.example.com";
    c->params.version[0] = 26;
    c->params.version[1] = 7;
    c->params.version[2] = 28;
    c->params.now_ms = 1767225600000ULL;
    c->params.hybrid_keygen = reality_hybrid_keygen;
    c->params.hybrid_arg = &c->hst;
    struct buf msg;
    buf_init(&msg);
    struct reality_client_keys keys;
    int rc = reality_client_build(&c->params, &msg, &keys);
    if (rc < 0)
        die("setup build", rc);
    c->params.hybrid_keygen = NULL;
    buf_init(&c->rec);
    wire_wr_bytes(&c->rec, "\x16\x03\x01", 3);
    wire_wr_u16(&c->rec, (uint16_t)buf_len(&msg));
    wire_wr_bytes(&c->rec, buf_data(&msg), buf_len(&msg));
    buf_dispose(&msg);
    for (int i = 0; i < 2; i++) {
        struct reality_server_cfg *cfg = reality_server_cfg_new(i == 0 ? priv : other);
        reality_server_cfg_add_server_name(cfg, "www.example.com", 15);
        reality_server_cfg_add_short_id(cfg, "0123456789abcdef");
        if (reality_server_cfg_freeze(cfg) < 0)
            die("cfg", ERR_CONFIG);
        *(i == 0 ? &c->good : &c->bad) = cfg;
    }
    if ((rc = reality_cert_init(&c->cert, NULL)) < 0)
        die("cert init", rc);
    /* A Go-style target flight: ServerHello, CCS, EE, Certificate, CertificateVerify, Finished. */
    buf_init(&c->flight);
    static const uint8_t sh_head[] = {0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03};
    wire_wr_bytes(&c->flight, sh_head, sizeof(sh_head));
    for (int i = 0; i < 32; i++)
        wire_wr_u8(&c->flight, (uint8_t)i);
    wire_wr_u8(&c->flight, 32);
    for (int i = 0; i < 32; i++)
        wire_wr_u8(&c->flight, 0x5e);
    wire_wr_bytes(&c->flight, "\x13\x01\x00\x00\x2e\x00\x33\x00\x24\x00\x1d\x00\x20", 13);
    for (int i = 0; i < 32; i++)
        wire_wr_u8(&c->flight, 0x77);
    wire_wr_bytes(&c->flight, "\x00\x2b\x00\x02\x03\x04", 6);
    wire_wr_bytes(&c->flight, "\x14\x03\x03\x00\x01\x01", 6);
    record(&c->flight, 23, 40);
    record(&c->flight, 23, 2100);
    record(&c->flight, 23, 286);
    record(&c->flight, 23, 74);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    struct ctx c;
    setup(&c);
    static const struct {
        const char *name;
        case_fn *fn;
    } cases[] = {
        {"peek_client_hello", case_peek},           {"auth_accept", case_auth_ok},
        {"auth_reject_decrypt", case_auth_reject},  {"client_build_x25519", case_build_x25519},
        {"client_build_hybrid", case_build_hybrid}, {"cert_for_conn", case_cert},
        {"target_feed_flight", case_target},
    };
    printf("hello record %zu bytes\n", buf_len(&c.rec));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t n = 0;
        double t0 = now(), t;
        do {
            for (int k = 0; k < 64; k++)
                cases[i].fn(&c);
            n += 64;
            t = now() - t0;
        } while (t < secs);
        printf("%-22s %10.0f ops/s  %8.2f us/op\n", cases[i].name, (double)n / t, t / (double)n * 1e6);
    }
    reality_server_cfg_unref(c.good);
    reality_server_cfg_unref(c.bad);
    reality_cert_dispose(&c.cert);
    x25519mlkem768_client_wipe(&c.hst);
    buf_dispose(&c.rec);
    buf_dispose(&c.flight);
    return 0;
}
