/* tunnel/xprt: where a Vision batch ends while padding (tunnel_xprt_vision_batch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "tunnel/xprt.h"
#include "vless/vision.h"

static const uint8_t uid[16] = {0xb8, 0x31, 0x38, 0x1d, 0x63, 0x24, 0x4d, 0x53,
                                0xad, 0x4f, 0x8c, 0xda, 0x48, 0xb3, 0x08, 0x11};

/* A minimal inner TLS 1.3 ServerHello record (suite 0x1301): what makes the filter see TLS. */
static size_t server_hello(uint8_t *p)
{
    uint8_t body[120] = {0x03, 0x03};
    size_t b = 2 + 32;
    body[b++] = 32; /* session id length (as browsers send) */
    b += 32;
    body[b++] = 0x13, body[b++] = 0x01; /* suite */
    body[b++] = 0;                      /* compression */
    body[b++] = 0, body[b++] = 6;       /* extensions length */
    const uint8_t sv[] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};
    memcpy(body + b, sv, sizeof(sv));
    b += sizeof(sv);
    size_t n = 0;
    p[n++] = 0x16, p[n++] = 0x03, p[n++] = 0x03;
    p[n++] = (uint8_t)((b + 4) >> 8), p[n++] = (uint8_t)(b + 4);
    p[n++] = 0x02, p[n++] = 0, p[n++] = (uint8_t)(b >> 8), p[n++] = (uint8_t)b;
    memcpy(p + n, body, b);
    return n + b;
}

/* Appends one application-data record with len body bytes. */
static size_t app_record(uint8_t *p, size_t len)
{
    p[0] = 0x17, p[1] = 0x03, p[2] = 0x03, p[3] = (uint8_t)(len >> 8), p[4] = (uint8_t)len;
    memset(p + 5, 0xa5, len);
    return 5 + len;
}

static void xprt_vision(struct tunnel_xprt *x)
{
    assert_int_equal(tunnel_xprt_init(x, NULL, true, uid, NULL, 0, NULL, 0), 0);
}

static void see_tls13(struct tunnel_xprt *x)
{
    uint8_t sh[160];
    vless_vision_filter_tls(&x->vsh, sh, server_hello(sh));
    assert_true(x->vsh.is_tls);
    assert_true(x->vsh.enable_xtls);
}

static uint8_t stream[1u << 20];

static void test_batch_ends_at_record(void **state)
{
    (void)state;
    struct tunnel_xprt x;
    xprt_vision(&x);
    size_t n = app_record(stream, 100);
    n += app_record(stream + n, 16000);
    size_t whole = n;
    n += app_record(stream + n, 16000) - 14000; /* the relay's read ended inside this one */

    /* Before the filter saw TLS: the whole offer. */
    assert_int_equal(tunnel_xprt_vision_batch(&x, stream, n), n);
    see_tls13(&x);
    assert_int_equal(tunnel_xprt_vision_batch(&x, stream, n), whole);
    assert_int_equal(tunnel_xprt_vision_batch(&x, stream, whole), whole);
    assert_int_equal(tunnel_xprt_vision_batch(&x, stream, 105), 105);
    /* No whole record at the front, or not application data: the whole offer. */
    assert_int_equal(tunnel_xprt_vision_batch(&x, stream, 104), 104);
    assert_int_equal(tunnel_xprt_vision_batch(&x, stream + 105, 3000), 3000);
    assert_int_equal(tunnel_xprt_vision_batch(&x, stream + 1, n - 1), n - 1);
    uint8_t hs[160];
    size_t hl = server_hello(hs);
    assert_int_equal(tunnel_xprt_vision_batch(&x, hs, hl), hl);
    uint8_t empty_rec[10] = {0x17, 0x03, 0x03, 0x00, 0x00, 0x17, 0x03, 0x03, 0x00, 0x01};
    assert_int_equal(tunnel_xprt_vision_batch(&x, empty_rec, sizeof(empty_rec)), sizeof(empty_rec));
    /* After padding ended: the whole offer. */
    x.vwr.mode = VLESS_VISION_MODE_DIRECT;
    assert_int_equal(tunnel_xprt_vision_batch(&x, stream, n), n);
    tunnel_xprt_dispose(&x);

    /* Not Vision: the whole offer. */
    assert_int_equal(tunnel_xprt_init(&x, NULL, false, uid, NULL, 0, NULL, 0), 0);
    assert_int_equal(tunnel_xprt_vision_batch(&x, stream, n), n);
    tunnel_xprt_dispose(&x);
}

/* A bulk inner download (records of 16 KiB + 22 back to back) offered in full relay blocks:
 * with batches cut at records the first batch ends padding with Direct; cut only at the block
 * size, no batch is ever whole records and the stream stays padded (the old behaviour). */
static int bulk_batches_until_direct(bool cut_at_records)
{
    struct tunnel_xprt x;
    xprt_vision(&x);
    see_tls13(&x);
    size_t n = 0;
    while (n + 16406 <= sizeof(stream))
        n += app_record(stream + n, 16401);
    size_t at = 0;
    int batches = 0, direct_at = -1;
    struct buf out;
    buf_init(&out);
    while (at < n && direct_at < 0) {
        size_t offer = n - at < VLESS_VISION_MAX_BATCH ? n - at : VLESS_VISION_MAX_BATCH;
        size_t k = cut_at_records ? tunnel_xprt_vision_batch(&x, stream + at, offer) : offer;
        struct vless_vision_wres res;
        buf_reset(&out);
        assert_int_equal(vless_vision_write(&x.vwr, stream + at, k, &out, &res), 0);
        batches++;
        if (res.events & VLESS_VISION_EV_DIRECT)
            direct_at = batches;
        at += k;
    }
    buf_dispose(&out);
    tunnel_xprt_dispose(&x);
    return direct_at;
}

static void test_bulk_stream_ends_padding(void **state)
{
    (void)state;
    assert_int_equal(bulk_batches_until_direct(true), 1);
    assert_int_equal(bulk_batches_until_direct(false), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_ends_at_record),
        cmocka_unit_test(test_bulk_stream_ends_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
