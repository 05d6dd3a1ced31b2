/* vless/vision: spec/vision.md §11 vector, reader split at every byte, padding rules and
 * distribution, reshape, End/Direct decisions, inner-TLS filter edge cases, error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "test_util.h"
#include "vless/vision.h"

static const uint8_t uid[16] = {0xb8, 0x31, 0x38, 0x1d, 0x63, 0x24, 0x4d, 0x53,
                                0xad, 0x4f, 0x8c, 0xda, 0x48, 0xb3, 0x08, 0x11};

#define SPEC_STREAM                                                                                                    \
    "b831381d63244d53ad4f8cda48b30811 00 0005 0003 68656c6c6f 000000"                                                  \
    "00 0001 0000 aa"                                                                                                  \
    "02 0006 0002 170303000100 0000"
#define SPEC_RAW "1703030002beef"
#define SPEC_OUT "68656c6c6f aa 170303000100 1703030002beef"

/* Deterministic RNG: xorshift, or a script of exact values. */
struct rng {
    uint64_t s;
    const uint32_t *script;
    size_t n, next;
    int fail;
};

static int rng_fn(void *arg, void *out, size_t n)
{
    struct rng *r = arg;
    if (r->fail)
        return ERR_CRYPTO;
    uint8_t *o = out;
    if (r->script != NULL) {
        assert_int_equal(n, 4);
        assert_true(r->next < r->n);
        uint32_t v = r->script[r->next++];
        o[0] = (uint8_t)(v >> 24), o[1] = (uint8_t)(v >> 16), o[2] = (uint8_t)(v >> 8), o[3] = (uint8_t)v;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        r->s ^= r->s << 13;
        r->s ^= r->s >> 7;
        r->s ^= r->s << 17;
        o[i] = (uint8_t)r->s;
    }
    return 0;
}

static void test_spec_vector_reader(void **state)
{
    (void)state;
    size_t n, rn, on;
    uint8_t *in = tu_hex(SPEC_STREAM, &n);
    uint8_t *raw = tu_hex(SPEC_RAW, &rn);
    uint8_t *want = tu_hex(SPEC_OUT, &on);
    /* Split the framed part at every pair of positions (covers UUID and header straddling). */
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b += (a < 30 ? 1 : 7)) {
            struct vless_vision_shared sh;
            struct vless_vision_reader r;
            vless_vision_shared_init(&sh);
            vless_vision_reader_init(&r, &sh, uid);
            struct buf out;
            buf_init(&out);
            size_t cuts[4] = {0, a, b, n};
            unsigned ev = 0;
            for (int c = 0; c < 3; c++) {
                size_t len = cuts[c + 1] - cuts[c];
                uint8_t *tmp = malloc(len ? len : 1);
                memcpy(tmp, in + cuts[c], len);
                struct vless_vision_rres res;
                assert_int_equal(vless_vision_read(&r, tmp, len, &out, &res), 0);
                if (res.events & VLESS_VISION_EV_DIRECT) /* switch exactly at the end */
                    assert_int_equal(cuts[c] + res.raw_from, n);
                ev |= res.events;
                free(tmp);
            }
            assert_int_equal(ev, VLESS_VISION_EV_DIRECT);
            assert_int_equal(vless_vision_reader_mode(&r), VLESS_VISION_MODE_DIRECT);
            assert_int_equal(r.frames, 3);
            assert_int_equal(vless_vision_read(&r, raw, rn, &out, NULL), 0); /* raw passes through */
            assert_int_equal(buf_len(&out), on);
            assert_memory_equal(buf_data(&out), want, on);
            buf_dispose(&out);
        }
    }
    /* All in one piece, raw tail included: raw_from points at it. */
    struct vless_vision_shared sh;
    struct vless_vision_reader r;
    vless_vision_shared_init(&sh);
    vless_vision_reader_init(&r, &sh, uid);
    uint8_t *all = malloc(n + rn);
    memcpy(all, in, n);
    memcpy(all + n, raw, rn);
    struct buf out;
    buf_init(&out);
    struct vless_vision_rres res;
    assert_int_equal(vless_vision_read(&r, all, n + rn, &out, &res), 0);
    assert_int_equal(res.events, VLESS_VISION_EV_DIRECT);
    assert_int_equal(res.raw_from, n);
    assert_int_equal(buf_len(&out), on);
    assert_memory_equal(buf_data(&out), want, on);
    buf_dispose(&out);
    free(all);
    free(in);
    free(raw);
    free(want);
}

static void test_spec_vector_writer(void **state)
{
    (void)state;
    /* Spec §3 example: first frame "hello" with 3 bytes of padding (short rule, not TLS). */
    struct vless_vision_shared sh;
    struct vless_vision_writer w;
    const uint32_t script[] = {3, 0};
    struct rng rg = {.script = script, .n = 2};
    vless_vision_shared_init(&sh);
    vless_vision_writer_init(&w, &sh, uid, rng_fn, &rg);
    struct buf out;
    buf_init(&out);
    assert_int_equal(buf_append(&out, "\x00\x00", 2), 0); /* response header first */
    struct vless_vision_wres res;
    assert_int_equal(vless_vision_write(&w, (const uint8_t *)"hello", 5, &out, &res), 0);
    size_t n;
    uint8_t *want = tu_hex("0000 b831381d63244d53ad4f8cda48b30811 00 0005 0003 68656c6c6f 000000", &n);
    assert_int_equal(buf_len(&out), n);
    assert_memory_equal(buf_data(&out), want, n);
    assert_int_equal(res.nframes, 1);
    assert_int_equal(res.frame_end[0], n); /* includes the header written before */
    assert_int_equal(res.events, 0);
    free(want);
    /* Second frame has no UUID. */
    buf_reset(&out);
    assert_int_equal(vless_vision_write(&w, (const uint8_t *)"\xaa", 1, &out, &res), 0);
    assert_int_equal(buf_len(&out), 6);
    assert_memory_equal(buf_data(&out), "\x00\x00\x01\x00\x00\xaa", 6);
    /* Empty batch: nothing. */
    buf_reset(&out);
    assert_int_equal(vless_vision_write(&w, NULL, 0, &out, &res), 0);
    assert_int_equal(buf_len(&out), 0);
    buf_dispose(&out);
}

/* A writer and a reader talk; the reader must return exactly what was written. */
static void test_roundtrip_random(void **state)
{
    (void)state;
    struct rng rg = {.s = 0x1234567};
    for (int iter = 0; iter < 50; iter++) {
        struct vless_vision_shared ws, rs;
        struct vless_vision_writer w;
        struct vless_vision_reader r;
        vless_vision_shared_init(&ws);
        vless_vision_shared_init(&rs);
        vless_vision_writer_init(&w, &ws, uid, rng_fn, &rg);
        vless_vision_reader_init(&r, &rs, uid);
        struct buf wire, got, sent;
        buf_init(&wire);
        buf_init(&got);
        buf_init(&sent);
        for (int b = 0; b < 12; b++) {
            uint8_t data[20000];
            uint8_t x;
            rng_fn(&rg, &x, 1);
            size_t len = (size_t)x * (iter % 3 == 0 ? 70 : 3) + 1;
            rng_fn(&rg, data, len);
            assert_int_equal(vless_vision_write(&w, data, len, &wire, NULL), 0);
            assert_int_equal(buf_append(&sent, data, len), 0);
        }
        /* Non-TLS: End after the filter budget; everything arrives. */
        assert_int_equal(w.mode, VLESS_VISION_MODE_PLAIN);
        size_t pos = 0;
        while (pos < buf_len(&wire)) {
            uint8_t x;
            rng_fn(&rg, &x, 1);
            size_t k = (size_t)x % 300 + 1;
            if (k > buf_len(&wire) - pos)
                k = buf_len(&wire) - pos;
            assert_int_equal(vless_vision_read(&r, buf_data(&wire) + pos, k, &got, NULL), 0);
            pos += k;
        }
        assert_int_equal(buf_len(&got), buf_len(&sent));
        assert_memory_equal(buf_data(&got), buf_data(&sent), buf_len(&sent));
        assert_int_equal(vless_vision_reader_mode(&r), VLESS_VISION_MODE_PLAIN);
        buf_dispose(&wire);
        buf_dispose(&got);
        buf_dispose(&sent);
    }
}

/* A minimal inner ServerHello record: TLS 1.3 marker and a chosen suite. */
static size_t server_hello(uint8_t *p, uint16_t suite, bool tls13, size_t sid)
{
    size_t n = 0;
    uint8_t body[200] = {0};
    size_t b = 0;
    body[b++] = 0x03, body[b++] = 0x03; /* legacy version */
    b += 32;                            /* random */
    body[b++] = (uint8_t)sid;
    b += sid;
    body[b++] = (uint8_t)(suite >> 8), body[b++] = (uint8_t)suite;
    body[b++] = 0;                 /* compression */
    body[b++] = 0, body[b++] = 12; /* extensions length */
    if (tls13) {
        const uint8_t sv[] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};
        memcpy(body + b, sv, 6);
    }
    b += 6;
    b += 6; /* another dummy extension */
    p[n++] = 0x16, p[n++] = 0x03, p[n++] = 0x03;
    p[n++] = (uint8_t)((b + 4) >> 8), p[n++] = (uint8_t)(b + 4);
    p[n++] = 0x02, p[n++] = 0, p[n++] = (uint8_t)(b >> 8), p[n++] = (uint8_t)b;
    memcpy(p + n, body, b);
    return n + b;
}

static void test_filter(void **state)
{
    (void)state;
    struct vless_vision_shared s;
    uint8_t sh[300];
    size_t n;
    static const struct {
        uint16_t suite;
        bool tls13;
        bool xtls;
    } cases[] = {
        {0x1301, true, true},  {0x1302, true, true},  {0x1303, true, true},   {0x1304, true, true},
        {0x1305, true, false}, {0xc02f, true, false}, {0x1301, false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vless_vision_shared_init(&s);
        n = server_hello(sh, cases[i].suite, cases[i].tls13, 32);
        vless_vision_filter_tls(&s, sh, n);
        assert_true(s.is_tls && s.is_tls12_or_above);
        assert_int_equal(s.enable_xtls, cases[i].xtls);
        assert_int_equal(s.cipher, cases[i].suite);
        assert_int_equal(s.filter_count, 0); /* decided either way */
    }
    /* ServerHello cut before 79 bytes: cipher unknown -> no Direct, but TLS 1.3 found later. */
    vless_vision_shared_init(&s);
    n = server_hello(sh, 0x1301, true, 32);
    vless_vision_filter_tls(&s, sh, 60);
    assert_true(s.is_tls12_or_above);
    assert_int_equal(s.filter_count, 7);
    vless_vision_filter_tls(&s, sh + 60, n - 60);
    assert_int_equal(s.filter_count, 0);
    assert_false(s.enable_xtls);
    /* Session id length pointing past the buffer: bounds-checked, cipher 0. */
    vless_vision_shared_init(&s);
    n = server_hello(sh, 0x1301, true, 32);
    sh[43] = 0xff;
    vless_vision_filter_tls(&s, sh, n);
    assert_int_equal(s.cipher, 0);
    assert_false(s.enable_xtls);
    /* ClientHello: TLS, nothing else. */
    vless_vision_shared_init(&s);
    vless_vision_filter_tls(&s, (const uint8_t *)"\x16\x03\x01\x02\x00\x01\x00", 7);
    assert_true(s.is_tls);
    assert_false(s.is_tls12_or_above);
    assert_int_equal(s.filter_count, 7);
    /* Short and non-TLS buffers only count. */
    vless_vision_filter_tls(&s, (const uint8_t *)"\x16\x03\x03", 3);
    vless_vision_filter_tls(&s, (const uint8_t *)"GET / HTTP/1.1", 14);
    assert_int_equal(s.filter_count, 5);
}

/* Padding lengths: long rule 900..1399 total for short content on the TLS path, short rule
 * 0..255 otherwise, capped at 8171 - content. */
static void test_padding_rules(void **state)
{
    (void)state;
    struct rng rg = {.s = 99};
    size_t min_long = SIZE_MAX, max_long = 0, max_short = 0;
    for (int i = 0; i < 2000; i++) {
        struct vless_vision_shared sh;
        struct vless_vision_writer w;
        vless_vision_shared_init(&sh);
        vless_vision_writer_init(&w, &sh, uid, rng_fn, &rg);
        struct buf out;
        buf_init(&out);
        /* ClientHello-like: is_tls, long padding. */
        uint8_t ch[517] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
        assert_int_equal(vless_vision_write(&w, ch, sizeof(ch), &out, NULL), 0);
        size_t pad = (size_t)buf_data(&out)[19] << 8 | buf_data(&out)[20];
        size_t total = sizeof(ch) + pad;
        min_long = total < min_long ? total : min_long;
        max_long = total > max_long ? total : max_long;
        buf_dispose(&out);
        /* Not TLS: short padding. */
        vless_vision_shared_init(&sh);
        vless_vision_writer_init(&w, &sh, uid, rng_fn, &rg);
        buf_init(&out);
        assert_int_equal(vless_vision_write(&w, (const uint8_t *)"GET /", 5, &out, NULL), 0);
        pad = (size_t)buf_data(&out)[19] << 8 | buf_data(&out)[20];
        max_short = pad > max_short ? pad : max_short;
        buf_dispose(&out);
    }
    assert_int_equal(min_long, 900);
    assert_int_equal(max_long, 1399);
    assert_int_equal(max_short, 255);

    /* Cap: 8000 bytes of content leave at most 171 bytes of padding; testseed applies. */
    struct vless_vision_shared sh;
    struct vless_vision_writer w;
    const uint32_t script[] = {250};
    struct rng sr = {.script = script, .n = 1};
    vless_vision_shared_init(&sh);
    vless_vision_writer_init(&w, &sh, uid, rng_fn, &sr);
    static uint8_t big[8000];
    struct buf out;
    buf_init(&out);
    assert_int_equal(vless_vision_write(&w, big, sizeof(big), &out, NULL), 0);
    assert_int_equal(buf_len(&out), 16 + 5 + 8000 + 171);
    buf_dispose(&out);
    /* testseed {100, 10, 50, 4}: long rule gives 50..59 total for short content. */
    const uint32_t s2[] = {9};
    sr = (struct rng){.script = s2, .n = 1};
    vless_vision_shared_init(&sh);
    vless_vision_writer_init(&w, &sh, uid, rng_fn, &sr);
    w.seed[0] = 100, w.seed[1] = 10, w.seed[2] = 50, w.seed[3] = 4;
    sh.is_tls = true;
    buf_init(&out);
    assert_int_equal(vless_vision_write(&w, (const uint8_t *)"abc", 3, &out, NULL), 0);
    assert_int_equal(buf_len(&out), 16 + 5 + 59);
    buf_dispose(&out);
}

static void test_empty_frame_and_errors(void **state)
{
    (void)state;
    struct vless_vision_shared sh;
    struct vless_vision_writer w;
    const uint32_t script[] = {0};
    struct rng rg = {.script = script, .n = 1};
    vless_vision_shared_init(&sh);
    vless_vision_writer_init(&w, &sh, uid, rng_fn, &rg);
    struct buf out;
    buf_init(&out);
    struct vless_vision_wres res;
    assert_int_equal(vless_vision_write_empty(&w, &out, &res), 0);
    /* UUID, Continue, content 0, padding 900 (long rule, zero content). */
    assert_int_equal(buf_len(&out), 16 + 5 + 900);
    assert_memory_equal(buf_data(&out) + 16, "\x00\x00\x00\x03\x84", 5);
    /* The reader yields nothing for it and the filter is not used. */
    struct vless_vision_shared rs;
    struct vless_vision_reader r;
    vless_vision_shared_init(&rs);
    vless_vision_reader_init(&r, &rs, uid);
    struct buf got;
    buf_init(&got);
    assert_int_equal(vless_vision_read(&r, buf_data(&out), buf_len(&out), &got, NULL), 0);
    assert_int_equal(buf_len(&got), 0);
    assert_int_equal(rs.filter_count, VLESS_VISION_FILTER_PACKETS);
    buf_dispose(&got);
    /* RNG failure: error, nothing written. */
    rg.fail = 1;
    buf_reset(&out);
    assert_int_equal(vless_vision_write(&w, (const uint8_t *)"x", 1, &out, NULL), ERR_CRYPTO);
    assert_int_equal(buf_len(&out), 0);
    /* Too large a batch. */
    rg.fail = 0;
    static uint8_t huge[VLESS_VISION_MAX_BATCH + 1];
    assert_int_equal(vless_vision_write(&w, huge, sizeof(huge), &out, NULL), ERR_TOO_LONG);
    buf_dispose(&out);
    /* After End, write_empty is refused and writes pass through. */
    w.mode = VLESS_VISION_MODE_PLAIN;
    buf_init(&out);
    assert_int_equal(vless_vision_write_empty(&w, &out, NULL), ERR_BAD_STATE);
    assert_int_equal(vless_vision_write(&w, (const uint8_t *)"xyz", 3, &out, NULL), 0);
    assert_int_equal(buf_len(&out), 3);
    buf_dispose(&out);
}

static void test_reader_errors(void **state)
{
    (void)state;
    struct vless_vision_shared sh;
    struct vless_vision_reader r;
    struct buf out;
    size_t n;
    /* Unknown command: error, and it sticks. */
    uint8_t *p = tu_hex("b831381d63244d53ad4f8cda48b30811 03 0001 0000 aa", &n);
    vless_vision_shared_init(&sh);
    vless_vision_reader_init(&r, &sh, uid);
    buf_init(&out);
    assert_int_equal(vless_vision_read(&r, p, n, &out, NULL), ERR_MALFORMED);
    assert_int_equal(vless_vision_read(&r, p, 1, &out, NULL), ERR_MALFORMED);
    free(p);
    /* Not UUID-framed: passed through unframed, with an event, decided at the first mismatch. */
    vless_vision_reader_init(&r, &sh, uid);
    buf_reset(&out);
    struct vless_vision_rres res;
    assert_int_equal(vless_vision_read(&r, (const uint8_t *)"\xb8\x31", 2, &out, &res), 0);
    assert_int_equal(res.events, 0);
    assert_int_equal(buf_len(&out), 0);
    assert_int_equal(vless_vision_read(&r, (const uint8_t *)"GET", 3, &out, &res), 0);
    assert_int_equal(res.events, VLESS_VISION_EV_UNFRAMED);
    assert_int_equal(buf_len(&out), 5);
    assert_memory_equal(buf_data(&out), "\xb8\x31GET", 5);
    assert_int_equal(vless_vision_reader_mode(&r), VLESS_VISION_MODE_PLAIN);
    buf_dispose(&out);
    /* End with zero content and padding, header split after its length bytes (spec §5
     * QUIRK): no padding leaks, the tail is unframed. */
    p = tu_hex("b831381d63244d53ad4f8cda48b30811 00 0001 0000 aa 01 0000 0000 7a7a", &n);
    for (size_t cut = 0; cut <= n; cut++) {
        vless_vision_shared_init(&sh);
        vless_vision_reader_init(&r, &sh, uid);
        buf_init(&out);
        unsigned ev = 0;
        assert_int_equal(vless_vision_read(&r, p, cut, &out, &res), 0);
        ev |= res.events;
        assert_int_equal(vless_vision_read(&r, p + cut, n - cut, &out, &res), 0);
        ev |= res.events;
        assert_int_equal(ev, VLESS_VISION_EV_END);
        assert_int_equal(buf_len(&out), 3);
        assert_memory_equal(buf_data(&out), "\xaa\x7a\x7a", 3);
        buf_dispose(&out);
    }
    free(p);
}

/* Writer decisions on the inner-TLS path. */
static void test_writer_switch(void **state)
{
    (void)state;
    struct rng rg = {.s = 7};
    struct vless_vision_shared sh;
    struct vless_vision_writer w;
    struct vless_vision_wres res;
    struct buf out;
    uint8_t rec[300];
    size_t shl = server_hello(rec, 0x1301, true, 32);

    /* Server: ServerHello batch (Continue, long), then complete app data -> Direct. */
    vless_vision_shared_init(&sh);
    vless_vision_writer_init(&w, &sh, uid, rng_fn, &rg);
    buf_init(&out);
    assert_int_equal(vless_vision_write(&w, rec, shl, &out, &res), 0);
    assert_true(sh.enable_xtls);
    assert_int_equal(res.events, 0);
    assert_int_equal(buf_data(&out)[16], VLESS_VISION_CONTINUE);
    buf_reset(&out);
    /* Incomplete app data record: keeps padding (newer rule). */
    uint8_t app[40] = {0x17, 0x03, 0x03, 0x00, 0x20};
    assert_int_equal(vless_vision_write(&w, app, 30, &out, &res), 0);
    assert_int_equal(res.events, 0);
    assert_int_equal(buf_data(&out)[0], VLESS_VISION_CONTINUE);
    buf_reset(&out);
    /* Two complete records in two buffers: Continue then Direct. */
    uint8_t two[2][37];
    for (int i = 0; i < 2; i++) {
        memset(two[i], 0x41, sizeof(two[i]));
        two[i][0] = 0x17, two[i][1] = 0x03, two[i][2] = 0x03, two[i][3] = 0, two[i][4] = 32;
    }
    struct bytes v[2] = {bytes_of(two[0], 37), bytes_of(two[1], 37)};
    assert_int_equal(vless_vision_writev(&w, v, 2, &out, &res), 0);
    assert_int_equal(res.events, VLESS_VISION_EV_DIRECT);
    assert_int_equal(res.nframes, 2);
    assert_int_equal(buf_data(&out)[0], VLESS_VISION_CONTINUE);
    assert_int_equal(buf_data(&out)[res.frame_end[0]], VLESS_VISION_DIRECT);
    assert_int_equal(res.frame_end[1], buf_len(&out));
    assert_int_equal(w.mode, VLESS_VISION_MODE_DIRECT);
    /* Raw afterwards. */
    buf_reset(&out);
    assert_int_equal(vless_vision_write(&w, app, 10, &out, &res), 0);
    assert_int_equal(buf_len(&out), 10);
    buf_dispose(&out);

    /* Same with a CCM_8 suite: End instead of Direct. */
    shl = server_hello(rec, 0x1305, true, 0);
    vless_vision_shared_init(&sh);
    vless_vision_writer_init(&w, &sh, uid, rng_fn, &rg);
    buf_init(&out);
    assert_int_equal(vless_vision_write(&w, rec, shl, &out, &res), 0);
    assert_int_equal(vless_vision_write(&w, two[0], 37, &out, &res), 0);
    assert_int_equal(res.events, VLESS_VISION_EV_END);
    assert_int_equal(w.mode, VLESS_VISION_MODE_PLAIN);
    buf_dispose(&out);

    /* Reshape: a 8192-byte buffer whose last record starts at 5000 splits there. */
    vless_vision_shared_init(&sh);
    vless_vision_writer_init(&w, &sh, uid, rng_fn, &rg);
    static uint8_t big[8192];
    memset(big, 0x42, sizeof(big));
    big[5000] = 0x17, big[5001] = 0x03, big[5002] = 0x03;
    buf_init(&out);
    assert_int_equal(vless_vision_write(&w, big, sizeof(big), &out, &res), 0);
    assert_int_equal(res.nframes, 2);
    assert_int_equal(buf_data(&out)[16 + 1], 5000 >> 8);
    assert_int_equal(buf_data(&out)[16 + 2], 5000 & 0xff);
    for (size_t f = 0; f < res.nframes; f++) /* every frame fits one 8192 buffer */
        assert_true(res.frame_end[f] - (f ? res.frame_end[f - 1] : 0) <= 8192);
    buf_dispose(&out);
    /* No usable 17 03 03: split at 4096. */
    big[5000] = 0;
    vless_vision_shared_init(&sh);
    vless_vision_writer_init(&w, &sh, uid, rng_fn, &rg);
    buf_init(&out);
    assert_int_equal(vless_vision_write(&w, big, sizeof(big), &out, &res), 0);
    assert_int_equal(res.nframes, 2);
    assert_int_equal(buf_data(&out)[16 + 1], 4096 >> 8);
    assert_int_equal(buf_data(&out)[16 + 2], 0);
    buf_dispose(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vector_reader), cmocka_unit_test(test_spec_vector_writer),
        cmocka_unit_test(test_roundtrip_random),   cmocka_unit_test(test_filter),
        cmocka_unit_test(test_padding_rules),      cmocka_unit_test(test_empty_frame_and_errors),
        cmocka_unit_test(test_reader_errors),      cmocka_unit_test(test_writer_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
