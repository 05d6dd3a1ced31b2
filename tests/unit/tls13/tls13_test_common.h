/* Shared fixtures for the tls13 unit tests: a deterministic RNG, an Ed25519 test
 * certificate (the REALITY temporary-certificate layout of spec/reality.md §13), and a
 * pump that runs client and server against each other in memory. */
#ifndef VEIL_TESTS_TLS13_COMMON_H
#define VEIL_TESTS_TLS13_COMMON_H

#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "tls13/tls13.h"
#include "test_util.h"

struct test_rng {
    struct tls13_random base;
    uint64_t ctr;
};

static inline int test_rng_cb(struct tls13_random *self, void *out, size_t n)
{
    struct test_rng *r = (struct test_rng *)self;
    uint8_t *p = out;
    while (n > 0) {
        uint8_t block[32], ctr[8];
        for (int i = 0; i < 8; i++)
            ctr[i] = (uint8_t)(r->ctr >> (8 * i));
        r->ctr++;
        int rc = crypto_hash(CRYPTO_SHA256, ctr, sizeof(ctr), block);
        if (rc < 0)
            return rc;
        size_t k = n < 32 ? n : 32;
        memcpy(p, block, k);
        p += k;
        n -= k;
    }
    return 0;
}

/* 178-byte Ed25519 certificate for seed 00..1f (spec/reality.md §13). */
static const char test_cert_hex[] = "3081af3063a003020102020100300506032b657030003022180f3030303130313031303030303030"
                                    "5a180f30303031303130313030303030305a3000302a300506032b657003210003a107bff3ce10be"
                                    "1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8300506032b6570034100fcdc2c2eb92c"
                                    "69d7fa2a481bbde9633b63fb584229b58ad07aa51767ab75b2927ca6f50c5e181daac8c7bd535ed3"
                                    "8c0b25c242da65aba93ea9e2b2071af4ddad";

struct test_env {
    struct test_rng rng;
    uint8_t *cert;
    size_t cert_len;
    struct bytes chain[1];
    uint8_t seed[32];
    struct tls13_ctx sctx, cctx;
    struct tls13_conn *cli, *srv;
    struct buf c2s, s2c;
};

static inline void test_env_init(struct test_env *e)
{
    memset(e, 0, sizeof(*e));
    e->rng.base.cb = test_rng_cb;
    e->cert = tu_hex(test_cert_hex, &e->cert_len);
    e->chain[0] = bytes_of(e->cert, e->cert_len);
    for (int i = 0; i < 32; i++)
        e->seed[i] = (uint8_t)i;
    e->sctx.random = &e->rng.base;
    e->sctx.cert_chain = e->chain;
    e->sctx.n_certs = 1;
    e->sctx.sign_key = e->seed;
    e->cctx.random = &e->rng.base;
    e->cctx.insecure_skip_verify = true;
    e->cctx.server_name = "example.com";
    buf_init(&e->c2s);
    buf_init(&e->s2c);
}

static inline void test_env_conns(struct test_env *e)
{
    e->cli = tls13_conn_new(&e->cctx, false);
    e->srv = tls13_conn_new(&e->sctx, true);
    assert_non_null(e->cli);
    assert_non_null(e->srv);
}

static inline void test_env_dispose(struct test_env *e)
{
    tls13_conn_free(e->cli);
    tls13_conn_free(e->srv);
    buf_dispose(&e->c2s);
    buf_dispose(&e->s2c);
    free(e->cert);
}

/* Feeds everything in `from` to conn's handshake; returns its result. */
static inline int test_feed(struct tls13_conn *c, struct buf *from, struct buf *to)
{
    size_t used = 0;
    int rc = tls13_handshake(c, buf_len(from) > 0 ? buf_data(from) : NULL, buf_len(from), &used, to);
    buf_consume(from, used);
    return rc;
}

/* Full in-memory handshake; asserts success. */
static inline void test_pump(struct test_env *e)
{
    assert_int_equal(test_feed(e->cli, &e->s2c, &e->c2s), ERR_NEED_MORE);
    assert_int_equal(test_feed(e->srv, &e->c2s, &e->s2c), ERR_NEED_MORE);
    assert_int_equal(test_feed(e->cli, &e->s2c, &e->c2s), 0);
    assert_int_equal(test_feed(e->srv, &e->c2s, &e->s2c), 0);
    assert_int_equal(buf_len(&e->c2s), 0);
    assert_int_equal(buf_len(&e->s2c), 0);
}

#endif
