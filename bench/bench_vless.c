/* vless hot paths on one core: user lookup in a 100k-user snapshot, request header parse,
 * Vision framing (writer) and unframing (reader) of 16 KiB records, Mux/XUDP frame parse.
 * Usage: bench_vless [seconds-per-case] (default 1). Build with the release preset for real
 * numbers. Time is process CPU time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "vless/header.h"
#include "vless/mux.h"
#include "vless/users.h"
#include "vless/vision.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rs = 88172645463325252ULL;
static int rng(void *arg, void *out, size_t n)
{
    (void)arg;
    uint8_t *o = out;
    for (size_t i = 0; i < n; i++) {
        rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
        o[i] = (uint8_t)rs;
    }
    return 0;
}

static void mkid(uint8_t id[16], uint32_t i)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL * (i + 1);
    for (int k = 0; k < 16; k++) {
        x ^= x >> 29;
        x *= 0xbf58476d1ce4e5b9ULL;
        id[k] = (uint8_t)(x >> 56);
    }
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    enum { NUSERS = 100000 };
    struct vless_users_builder *b = vless_users_builder_new(12345);
    uint8_t id[16];
    for (uint32_t i = 0; i < NUSERS; i++) {
        mkid(id, i);
        if (vless_users_builder_add(b, id, VLESS_FLOW_VISION, NULL, i) < 0)
            abort();
    }
    struct vless_users *u;
    double t0 = now();
    if (vless_users_freeze(b, &u) < 0)
        abort();
    printf("users: freeze %d users: %.1f ms\n", NUSERS, (now() - t0) * 1e3);

    uint64_t n = 0, hit = 0;
    t0 = now();
    while (now() - t0 < secs) {
        for (int k = 0; k < 10000; k++, n++) {
            mkid(id, (uint32_t)(n % (2 * NUSERS)));
            hit += vless_users_lookup(u, id) != NULL;
        }
    }
    double dt = now() - t0;
    printf("users: lookup %.1f M/s (hits %.0f%%)\n", (double)n / dt / 1e6, 100.0 * (double)hit / (double)n);

    struct buf hb;
    buf_init(&hb);
    struct vless_addr a;
    vless_addr_domain(&a, "example.com", 11, 443);
    mkid(id, 7);
    vless_request_encode(&hb, id, VLESS_FLOW_VISION, VLESS_CMD_TCP, &a);
    n = 0;
    t0 = now();
    while (now() - t0 < secs) {
        for (int k = 0; k < 10000; k++, n++) {
            struct vless_request req;
            if (vless_request_parse(&req, buf_data(&hb), buf_len(&hb), buf_len(&hb), u, true) != 0)
                abort();
        }
    }
    printf("header: parse %.1f M/s\n", (double)n / (now() - t0) / 1e6);

    /* Vision: frame 16 KiB batches (writer kept in padding mode), then unframe them. */
    static uint8_t rec[16384];
    rng(NULL, rec, sizeof(rec));
    rec[0] = 0x42;
    struct buf wire;
    buf_init(&wire);
    size_t bytes = 0;
    t0 = now();
    while (now() - t0 < secs) {
        for (int k = 0; k < 100; k++) {
            struct vless_vision_shared sh;
            struct vless_vision_writer w;
            vless_vision_shared_init(&sh);
            vless_vision_writer_init(&w, &sh, id, rng, NULL);
            sh.filter_count = 0;
            sh.is_tls12_or_above = true; /* never ends padding */
            buf_reset(&wire);
            if (vless_vision_write(&w, rec, sizeof(rec), &wire, NULL) != 0)
                abort();
            bytes += sizeof(rec);
        }
    }
    dt = now() - t0;
    printf("vision: writer %.0f MB/s (padding mode)\n", (double)bytes / dt / 1e6);

    /* A stream of 64 framed batches for the reader. */
    struct vless_vision_shared sh;
    struct vless_vision_writer w;
    vless_vision_shared_init(&sh);
    vless_vision_writer_init(&w, &sh, id, rng, NULL);
    sh.filter_count = 0;
    sh.is_tls12_or_above = true;
    buf_reset(&wire);
    for (int k = 0; k < 64; k++)
        vless_vision_write(&w, rec, sizeof(rec), &wire, NULL);
    struct buf out;
    buf_init(&out);
    bytes = 0;
    t0 = now();
    while (now() - t0 < secs) {
        struct vless_vision_shared rsh;
        struct vless_vision_reader r;
        vless_vision_shared_init(&rsh);
        rsh.filter_count = 0;
        vless_vision_reader_init(&r, &rsh, id);
        buf_reset(&out);
        for (size_t off = 0; off < buf_len(&wire); off += 16384) {
            size_t k = buf_len(&wire) - off < 16384 ? buf_len(&wire) - off : 16384;
            if (vless_vision_read(&r, buf_data(&wire) + off, k, &out, NULL) != 0)
                abort();
        }
        bytes += buf_len(&out);
    }
    dt = now() - t0;
    printf("vision: reader %.0f MB/s (unframing, 16 KiB records)\n", (double)bytes / dt / 1e6);

    /* XUDP Keep frames with a 1200-byte datagram. */
    struct buf mb;
    buf_init(&mb);
    uint8_t dg[1200] = {0};
    uint8_t ip[4] = {8, 8, 8, 8};
    vless_addr_ipv4(&a, ip, 53);
    for (int k = 0; k < 100; k++)
        vless_mux_encode_udp(&mb, 0, &a, dg, sizeof(dg));
    n = 0;
    t0 = now();
    while (now() - t0 < secs) {
        size_t pos = 0;
        while (pos < buf_len(&mb)) {
            struct vless_mux_frame f;
            size_t c;
            if (vless_mux_parse(buf_data(&mb) + pos, buf_len(&mb) - pos, &f, &c) != 0)
                abort();
            pos += c;
            n++;
        }
    }
    printf("mux: parse %.1f M frames/s (1200-byte XUDP datagrams)\n", (double)n / (now() - t0) / 1e6);

    buf_dispose(&mb);
    buf_dispose(&out);
    buf_dispose(&wire);
    buf_dispose(&hb);
    vless_users_unref(u);
    return 0;
}
