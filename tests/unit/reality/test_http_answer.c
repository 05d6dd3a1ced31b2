/* reality/http_answer: the check's GET / and its answer, HTTP/1.1 and HTTP/2 (frames, HPACK with
 * Huffman, the dynamic table, CONTINUATION, padding), RFC 7541 vectors, every byte boundary,
 * malformed answers, and the same-site rule of the "redirects elsewhere" verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "reality/http_answer.h"

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static size_t frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream, const uint8_t *p, size_t n)
{
    out[0] = (uint8_t)(n >> 16);
    out[1] = (uint8_t)(n >> 8);
    out[2] = (uint8_t)n;
    out[3] = type;
    out[4] = flags;
    out[5] = (uint8_t)(stream >> 24);
    out[6] = (uint8_t)(stream >> 16);
    out[7] = (uint8_t)(stream >> 8);
    out[8] = (uint8_t)stream;
    memcpy(out + 9, p, n);
    return 9 + n;
}

/* Feeds in pieces of `step` bytes; returns the last result. */
static int feed(struct reality_http_answer *a, const uint8_t *p, size_t n, size_t step, struct buf *out)
{
    int rc = ERR_NEED_MORE;
    for (size_t i = 0; i < n && rc == ERR_NEED_MORE; i += step)
        rc = reality_http_answer_feed(a, p + i, n - i < step ? n - i : step, out);
    return rc;
}

static void test_huffman(void **state)
{
    (void)state;
    static const struct {
        const char *hex, *text;
    } v[] = {
        /* RFC 7541 C.4.1, C.4.2, C.6.1 */
        {"f1e3c2e5f23a6ba0ab90f4ff", "www.example.com"},
        {"a8eb10649cbf", "no-cache"},
        {"25a849e95ba97d7f", "custom-key"},
        {"6402", "302"},
        {"aec3771a4b", "private"},
        {"9d29ad171863c78f0b97c8e9ae82ae43d3", "https://www.example.com"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t in[64];
        size_t n = unhex(v[i].hex, in);
        struct buf out;
        buf_init(&out);
        assert_int_equal(reality_hpack_huffman_decode(in, n, &out), 0);
        assert_int_equal(buf_len(&out), strlen(v[i].text));
        assert_memory_equal(buf_data(&out), v[i].text, strlen(v[i].text));
        buf_dispose(&out);
    }
    static const char *const bad[] = {
        "ffffffff",               /* EOS (30 ones) inside the string */
        "f1e3c2e5f23a6ba0ab90f4", /* padding shorter than needed: the last code is cut */
        "640f",                   /* padding not all ones */
        "6402ff",                 /* 8 bits of padding: more than 7 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t in[64];
        size_t n = unhex(bad[i], in);
        struct buf out;
        buf_init(&out);
        if (reality_hpack_huffman_decode(in, n, &out) != ERR_MALFORMED)
            fail_msg("accepted %s", bad[i]);
        buf_dispose(&out);
    }
}

static void test_request(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(reality_http_request(&b, false, "www.example.com"), 0);
    assert_true(buf_len(&b) > 30);
    assert_memory_equal(buf_data(&b), "GET / HTTP/1.1\r\nHost: www.example.com\r\n", 39);
    buf_reset(&b);
    assert_int_equal(reality_http_request(&b, true, "www.example.com"), 0);
    const uint8_t *p = buf_data(&b);
    assert_memory_equal(p, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    assert_int_equal(p[24 + 3], 0x4);      /* SETTINGS */
    assert_int_equal(p[24 + 15 + 3], 0x1); /* HEADERS on stream 1, END_STREAM | END_HEADERS */
    assert_int_equal(p[24 + 15 + 4], 0x5);
    const uint8_t *blk = p + 24 + 15 + 9;
    assert_memory_equal(blk, "\x82\x87\x84\x01\x0fwww.example.com", 20);
    char longname[300];
    memset(longname, 'a', 200);
    longname[200] = '\0';
    buf_reset(&b);
    assert_int_equal(reality_http_request(&b, true, longname), 0); /* a length over the 7-bit prefix */
    memset(longname, 'a', 260);
    longname[260] = '\0';
    assert_int_equal(reality_http_request(&b, true, longname), ERR_RANGE);
    assert_int_equal(reality_http_request(&b, false, ""), ERR_RANGE);
    assert_int_equal(reality_http_request(&b, false, "a b"), ERR_RANGE);
    assert_int_equal(reality_http_request(&b, false, "a\r\nX: y"), ERR_RANGE);
    buf_dispose(&b);
}

static void test_h1(void **state)
{
    (void)state;
    static const char ans[] =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 301 Moved Permanently\r\nServer: x\r\nLOCATION:   https://other.example.net/x  \r\n"
        "Content-Length: 0\r\n\r\n<ignored>";
    for (size_t step = 1; step <= sizeof ans; step++) { /* every split */
        struct reality_http_answer a;
        reality_http_answer_init(&a, false);
        struct buf out;
        buf_init(&out);
        assert_int_equal(feed(&a, (const uint8_t *)ans, sizeof ans - 1, step, &out), 0);
        assert_int_equal(a.status, 301);
        assert_true(a.has_location);
        assert_string_equal(a.location, "https://other.example.net/x");
        assert_int_equal(buf_len(&out), 0);
        reality_http_answer_dispose(&a);
        buf_dispose(&out);
    }
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",   "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 abc\r\n\r\n",   "HTTP/1.0 041 x\r\n\r\n", /* found by fuzz_http_answer */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct reality_http_answer a;
        reality_http_answer_init(&a, false);
        struct buf out;
        buf_init(&out);
        assert_int_equal(reality_http_answer_feed(&a, (const uint8_t *)bad[i], strlen(bad[i]), &out), ERR_MALFORMED);
        reality_http_answer_dispose(&a);
        buf_dispose(&out);
    }
    /* a head that never ends is cut at the limit */
    struct reality_http_answer a;
    reality_http_answer_init(&a, false);
    struct buf out;
    buf_init(&out);
    static uint8_t junk[REALITY_HTTP_HEAD_MAX + 100];
    memset(junk, 'x', sizeof junk);
    assert_int_equal(reality_http_answer_feed(&a, junk, sizeof junk, &out), ERR_TOO_LONG);
    reality_http_answer_dispose(&a);
    buf_dispose(&out);
}

/* RFC 7541 C.6.1 as an HTTP/2 answer: SETTINGS (acked), PING, HEADERS (302, Location Huffman). */
static void test_h2_rfc_vector(void **state)
{
    (void)state;
    uint8_t blk[128], set[12], wire[512];
    size_t bn = unhex("488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad1718"
                      "63c78f0b97c8e9ae82ae43d3",
                      blk);
    unhex("000300000064000400010000", set);
    size_t n = frame(wire, 0x4, 0, 0, set, sizeof set);
    n += frame(wire + n, 0x6, 0, 0, (const uint8_t *)"12345678", 8);
    n += frame(wire + n, 0x1, 0x4, 1, blk, bn);
    for (size_t step = 1; step <= n; step += 7) {
        struct reality_http_answer a;
        reality_http_answer_init(&a, true);
        struct buf out;
        buf_init(&out);
        assert_int_equal(feed(&a, wire, n, step, &out), 0);
        assert_int_equal(a.status, 302);
        assert_string_equal(a.location, "https://www.example.com");
        assert_int_equal(buf_len(&out), 9); /* the SETTINGS ack */
        assert_memory_equal(buf_data(&out), "\x00\x00\x00\x04\x01\x00\x00\x00\x00", 9);
        assert_int_equal(a.n_dyn, 4); /* :status, cache-control, date, location: incremental indexing */
        reality_http_answer_dispose(&a);
        buf_dispose(&out);
    }
}

/* HEADERS padded with a priority, CONTINUATION, the dynamic table referenced, a size update. */
static void test_h2_blocks(void **state)
{
    (void)state;
    uint8_t loc[32], blk[128], p[160], wire[512];
    size_t ln = unhex("9d29ad171860e99cb62e5f23a6ba0abd454b1e7f", loc); /* https://other.example.net/x */
    size_t bn = 0;
    memcpy(blk, "\x3f\xe1\x1f", 3); /* size update to 4096 */
    bn = 3;
    memcpy(blk + bn,
           "\x40\x03"
           "foo"
           "\x03"
           "bar",
           9); /* foo: bar, indexed */
    bn += 9;
    blk[bn++] = 0xbe;                        /* index 62: foo: bar */
    memcpy(blk + bn, "\x48\x82\x64\x02", 4); /* :status 302 (Huffman) */
    bn += 4;
    blk[bn++] = 0x0f; /* location (46) without indexing */
    blk[bn++] = 46 - 15;
    blk[bn++] = (uint8_t)(0x80 | ln);
    memcpy(blk + bn, loc, ln);
    bn += ln;
    size_t cut = 10;
    p[0] = 4; /* pad length */
    memset(p + 1, 0, 5);
    memcpy(p + 6, blk, cut);
    memset(p + 6 + cut, 0, 4);
    size_t n = frame(wire, 0x1, 0x28, 1, p, 6 + cut + 4); /* PADDED | PRIORITY, no END_HEADERS */
    n += frame(wire + n, 0x9, 0x4, 1, blk + cut, bn - cut);
    struct reality_http_answer a;
    reality_http_answer_init(&a, true);
    struct buf out;
    buf_init(&out);
    int frc = feed(&a, wire, n, 3, &out);
    if (frc != 0)
        fail_msg("feed: %d (status %d)", frc, a.status);
    assert_int_equal(a.status, 302);
    assert_string_equal(a.location, "https://other.example.net/x");
    assert_false(reality_http_same_site("www.example.com", a.location));
    reality_http_answer_dispose(&a);
    buf_dispose(&out);
}

static void test_h2_malformed(void **state)
{
    (void)state;
    uint8_t wire[256];
    static const struct {
        uint8_t type, flags;
        uint32_t stream;
        const char *payload;
        size_t len;
        int rc;
    } cases[] = {
        {0x7, 0, 0, "\0\0\0\0\0\0\0\0", 8, ERR_CLOSED},              /* GOAWAY */
        {0x3, 0, 1, "\0\0\0\x07", 4, ERR_CLOSED},                    /* RST_STREAM 1 */
        {0x5, 0x4, 1, "\0\0\0\x02\x88", 5, ERR_MALFORMED},           /* PUSH_PROMISE: push is off */
        {0x4, 0, 0, "\0\x03\0", 3, ERR_MALFORMED},                   /* SETTINGS not a multiple of 6 */
        {0x4, 1, 0, "\0\x03\0\0\0\x64", 6, ERR_MALFORMED},           /* a SETTINGS ack with a payload */
        {0x9, 0x4, 1, "\x88", 1, ERR_MALFORMED},                     /* CONTINUATION without HEADERS */
        {0x1, 0x4, 3, "\x88", 1, ERR_UNSUPPORTED},                   /* another stream */
        {0x1, 0x4, 1, "\xff\xff\xff\xff\xff\xff", 6, ERR_MALFORMED}, /* integer overflow */
        {0x1, 0x4, 1, "\xc0", 1, ERR_MALFORMED},                     /* dynamic index not there */
        {0x1, 0x4, 1, "\x80", 1, ERR_MALFORMED},                     /* index 0 */
        {0x1, 0x4, 1, "\x5c", 1, ERR_MALFORMED},                     /* content-length without its value */
        {0x1, 0x4, 1,
         "\x40\x05"
         "ab",
         4, ERR_MALFORMED},                                  /* a string longer than the block */
        {0x1, 0x4, 1, "\x3f\xe2\x1f\x88", 4, ERR_MALFORMED}, /* table size over 4096 */
        {0x1, 0x4, 1,
         "\x5f\x1d\x03"
         "abc",
         6, ERR_MALFORMED},                                      /* no :status */
        {0x1, 0x4, 1, "\x08\x83\xff\xff\xff", 5, ERR_MALFORMED}, /* :status with EOS in Huffman */
        {0x1, 0x8 | 0x4, 1, "\x09\x88", 2, ERR_MALFORMED},       /* padding longer than the frame */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = frame(wire, cases[i].type, cases[i].flags, cases[i].stream, (const uint8_t *)cases[i].payload,
                         cases[i].len);
        struct reality_http_answer a;
        reality_http_answer_init(&a, true);
        struct buf out;
        buf_init(&out);
        int rc = reality_http_answer_feed(&a, wire, n, &out);
        if (rc != cases[i].rc)
            fail_msg("case %zu: %d, wanted %d", i, rc, cases[i].rc);
        reality_http_answer_dispose(&a);
        buf_dispose(&out);
    }
    /* a frame over 16384 bytes */
    uint8_t big[9] = {0x00, 0x40, 0x01, 0x0, 0, 0, 0, 0, 1};
    struct reality_http_answer a;
    reality_http_answer_init(&a, true);
    struct buf out;
    buf_init(&out);
    assert_int_equal(reality_http_answer_feed(&a, big, 9, &out), ERR_MALFORMED);
    reality_http_answer_dispose(&a);
    buf_dispose(&out);
}

static void test_same_site(void **state)
{
    (void)state;
    static const struct {
        const char *sni, *location;
        bool same;
    } v[] = {
        {"www.example.com", "/en/", true},
        {"www.example.com", "/", true},
        {"www.example.com", "index.html?a=b", true},
        {"www.example.com", "https://www.example.com/", true},
        {"example.com", "https://www.example.com/en", true}, /* http -> https, www */
        {"www.example.com", "HTTPS://EXAMPLE.COM./", true},
        {"www.example.com", "https://cdn.example.com:8443/x", true},
        {"www.example.com", "//static.example.com/a", true},
        {"www.example.com", "https://user@login.example.com/", true},
        {"www.example.co.uk", "https://shop.example.co.uk/", true},
        {"www.example.com", "https://www.example.net/", false},
        {"www.example.com", "https://example.com.evil.org/", false},
        {"www.example.com", "https://other.example.net/x", false},
        {"www.example.co.uk", "https://www.other.co.uk/", false}, /* co.uk is a suffix */
        {"www.example.com", "https://93.184.216.34/", false},
        {"www.example.com", "http://[2001:db8::1]:8080/", false},
        {"www.example.com", "https://www.example.com@evil.org/", false},
        {"www.example.com", "https:///nohost", true}, /* no host: stays here */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (reality_http_same_site(v[i].sni, v[i].location) != v[i].same)
            fail_msg("%s -> %s: wanted %s", v[i].sni, v[i].location, v[i].same ? "same" : "elsewhere");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huffman),       cmocka_unit_test(test_request),   cmocka_unit_test(test_h1),
        cmocka_unit_test(test_h2_rfc_vector), cmocka_unit_test(test_h2_blocks), cmocka_unit_test(test_h2_malformed),
        cmocka_unit_test(test_same_site),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
