/* Fuzz target: bytes from the network into a tls13 server handshake (ClientHello
 * parsing, negotiation, record layer), then into tls13_recv if a handshake completes.
 * The first byte picks how the input is split into tls13_handshake calls, so record and
 * message reassembly across calls is exercised too. RNG is deterministic. */
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
    static const uint8_t cert[] = {0x30, 0x0b, 0x30, 0x03, 0x02, 0x01, 0x00, 0x30, 0x00, 0x03, 0x01, 0x00, 0x00};
    static const uint8_t seed[32] = {1};
    struct fuzz_rng rng = {{fuzz_rng_cb}, 0};
    const struct bytes chain[1] = {{cert, sizeof(cert)}};
    const struct bytes alpn[2] = {{(const uint8_t *)"h2", 2}, {(const uint8_t *)"http/1.1", 8}};
    struct tls13_ctx ctx = {0};
    ctx.random = &rng.base;
    ctx.cert_chain = chain;
    ctx.n_certs = 1;
    ctx.sign_key = seed;
    ctx.alpn = alpn;
    ctx.n_alpn = 2;
    if (size < 1)
        return 0;
    size_t chunk = data[0] == 0 ? size : data[0];
    data++;
    size--;

    /* the parser alone, on the raw bytes as one message */
    struct tls13_client_hello ch;
    (void)tls13_parse_client_hello(data, size, &ch);

    struct tls13_conn *c = tls13_conn_new(&ctx, true);
    struct buf in, out, app;
    buf_init(&in);
    buf_init(&out);
    buf_init(&app);
    int rc = ERR_NEED_MORE;
    for (size_t pos = 0; pos < size && (rc == ERR_NEED_MORE || rc == 0);) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        buf_append(&in, data + pos, n);
        pos += n;
        size_t used = 0;
        if (!tls13_handshake_done(c))
            rc = tls13_handshake(c, buf_data(&in), buf_len(&in), &used, &out);
        else
            rc = tls13_recv(c, buf_data(&in), buf_len(&in), &used, &app, &out);
        if (used > buf_len(&in))
            abort(); /* never consume more than was given */
        buf_consume(&in, used);
        buf_reset(&out);
    }
    tls13_conn_free(c);
    buf_dispose(&in);
    buf_dispose(&out);
    buf_dispose(&app);
    return 0;
}
