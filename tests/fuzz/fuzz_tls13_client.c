/* Fuzz target: a tls13 client that has sent its (deterministic) ClientHello, fed with
 * server bytes: ServerHello checks, record layer, then the encrypted flight parsers as
 * far as the fuzzer gets past the AEAD. Seeds are real server responses to that exact
 * ClientHello, so the ServerHello path is covered from the start. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "tls13/tls13.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_rng {
    struct tls13_random base;
    uint64_t ctr;
};

static int fuzz_rng_cb(struct tls13_random *self, void *out, size_t n)
{
    struct fuzz_rng *r = (struct fuzz_rng *)self;
    uint8_t *p = out;
    while (n > 0) {
        uint8_t block[32], ctr[8];
        for (int i = 0; i < 8; i++)
            ctr[i] = (uint8_t)(r->ctr >> (8 * i));
        r->ctr++;
        crypto_hash(CRYPTO_SHA256, ctr, sizeof(ctr), block);
        size_t k = n < 32 ? n : 32;
        memcpy(p, block, k);
        p += k;
        n -= k;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_rng rng = {{fuzz_rng_cb}, 0};
    const struct bytes alpn[2] = {{(const uint8_t *)"h2", 2}, {(const uint8_t *)"http/1.1", 8}};
    struct tls13_ctx ctx = {0};
    ctx.random = &rng.base;
    ctx.insecure_skip_verify = true;
    ctx.server_name = "example.com";
    ctx.alpn = alpn;
    ctx.n_alpn = 2;
    struct tls13_conn *c = tls13_conn_new(&ctx, false);
    struct buf out, app;
    buf_init(&out);
    buf_init(&app);
    size_t used = 0;
    int rc = tls13_handshake(c, NULL, 0, &used, &out);
    if (rc != ERR_NEED_MORE)
        abort();
    buf_reset(&out);
    rc = tls13_handshake(c, data, size, &used, &out);
    if (used > size)
        abort();
    if (rc == 0 && used < size)
        (void)tls13_recv(c, data + used, size - used, &used, &app, &out);
    (void)tls13_cert_ed25519_key(data, size, (uint8_t[32]){0});
    struct bytes sig;
    (void)tls13_cert_signature(data, size, &sig);
    tls13_conn_free(c);
    buf_dispose(&out);
    buf_dispose(&app);
    return 0;
}
