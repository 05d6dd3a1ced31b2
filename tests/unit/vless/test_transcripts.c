/* Every capture in tests/testdata/vless-transcripts (genuine Xray-core 25.9.11 client and
 * server) parsed end to end:
 *   - VLESS request header (c2s) and response header (s2c), flow decision;
 *   - Vision reader, both directions: frame list, exact inner byte stream (sha256 from the
 *     capture), End/Direct events on the exact record and byte where upstream switched;
 *   - Vision writer, both endpoints, replayed in capture order with a scripted RNG that
 *     returns the captured padding draws: the output must equal the captured bytes;
 *   - Mux/XUDP frames (s3a, s3b, s5b) and command-2 UDP datagrams (s5), re-encoded
 *     byte-exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/enc.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "test_util.h"
#include "vless/header.h"
#include "vless/mux.h"
#include "vless/udp.h"
#include "vless/users.h"
#include "vless/vision.h"

#define MAX_SEGS 64
#define MAX_FRAMES 32

struct seg {
    bool raw;
    double t;
    size_t len;
    uint8_t *p;
};

struct dir {
    struct seg seg[MAX_SEGS];
    size_t nseg, nouter;
    uint8_t *stream; /* outer plaintext concatenated */
    size_t slen;
};

struct scen {
    const char *name;
    json_t *j;
    struct dir d[2]; /* 0 = c2s, 1 = s2c */
    struct vless_request req;
    size_t hdr_len[2]; /* VLESS request / response header size */
};

static const char *dname[2] = {"c2s", "s2c"};

static uint8_t *hex_dup(const char *hex, size_t *n)
{
    size_t len = strlen(hex);
    uint8_t *p = malloc(len / 2 + 1);
    assert_non_null(p);
    assert_int_equal(hex_decode(p, len / 2 + 1, n, hex, len), 0);
    return p;
}

static void load(struct scen *s, const char *name, const struct vless_users *users)
{
    memset(s, 0, sizeof(*s));
    s->name = name;
    char rel[256];
    snprintf(rel, sizeof(rel), "vless-transcripts/%s.json", name);
    json_error_t err;
    s->j = json_load_file(tu_testdata(rel), 0, &err);
    if (s->j == NULL)
        fail_msg("cannot load %s: %s", rel, err.text);
    for (int k = 0; k < 2; k++) {
        struct dir *d = &s->d[k];
        json_t *segs = json_object_get(s->j, dname[k]);
        size_t i;
        json_t *v;
        json_array_foreach(segs, i, v)
        {
            assert_true(d->nseg < MAX_SEGS);
            struct seg *g = &d->seg[d->nseg++];
            g->raw = strcmp(json_string_value(json_object_get(v, "layer")), "raw-tcp") == 0;
            g->t = json_real_value(json_object_get(v, "t"));
            g->p = hex_dup(json_string_value(json_object_get(v, "hex")), &g->len);
            assert_int_equal(g->len, (size_t)json_integer_value(json_object_get(v, "len")));
            if (!g->raw) {
                assert_int_equal(d->nouter, d->nseg - 1); /* raw only after all outer records */
                d->nouter++;
                d->stream = realloc(d->stream, d->slen + g->len);
                memcpy(d->stream + d->slen, g->p, g->len);
                d->slen += g->len;
            }
        }
    }
    /* Request header: everything the server received so far, first chunk = record 0. */
    struct dir *c = &s->d[0];
    int rc = vless_request_parse(&s->req, c->stream, c->slen, c->seg[0].len, users, true);
    assert_int_equal(rc, 0);
    s->hdr_len[0] = s->req.header_len;
    size_t consumed;
    enum vless_flow f;
    assert_int_equal(vless_response_parse(s->d[1].stream, s->d[1].slen, 0, &consumed, &f), 0);
    assert_int_equal(consumed, 2);
    assert_int_equal(f, VLESS_FLOW_NONE);
    s->hdr_len[1] = consumed;
}

static void unload(struct scen *s)
{
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < s->d[k].nseg; i++)
            free(s->d[k].seg[i].p);
        free(s->d[k].stream);
    }
    json_decref(s->j);
}

static json_t *dec(const struct scen *s, const char *key)
{
    return json_object_get(json_object_get(s->j, "decoded"), key);
}

static json_t *dec_dir(const struct scen *s, const char *prefix, int k)
{
    char key[64];
    snprintf(key, sizeof(key), "%s%s", prefix, dname[k]);
    return dec(s, key);
}

static size_t jint(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_non_null(v);
    return (size_t)json_integer_value(v);
}

static void check_app_stream(const struct scen *s, int k, const uint8_t *p, size_t n)
{
    char key[64];
    snprintf(key, sizeof(key), "application_stream_%s_len", dname[k]);
    assert_int_equal(n, jint(json_object_get(s->j, "decoded"), key));
    snprintf(key, sizeof(key), "application_stream_%s_sha256", dname[k]);
    uint8_t md[32];
    char hex[65];
    assert_int_equal(crypto_hash(CRYPTO_SHA256, p, n, md), 0);
    hex_encode(hex, md, 32);
    assert_string_equal(hex, json_string_value(dec(s, key)));
}

static struct vless_users *transcript_users(void)
{
    struct vless_users_builder *b = vless_users_builder_new(99);
    uint8_t id[16];
    assert_int_equal(uuid_parse(id, "2bdadecc-25ca-4fcc-a471-b59481d99b48", 36), 0);
    assert_int_equal(vless_users_builder_add(b, id, VLESS_FLOW_VISION, "vision@test", 1), 0);
    assert_int_equal(uuid_parse(id, "6af7a94f-ee73-427c-9215-8274873f1ca5", 36), 0);
    assert_int_equal(vless_users_builder_add(b, id, VLESS_FLOW_NONE, "plain@test", 2), 0);
    struct vless_users *u;
    assert_int_equal(vless_users_freeze(b, &u), 0);
    return u;
}

/* ---- header checks ---- */

static void check_request(const struct scen *s)
{
    json_t *r = dec(s, "vless_request");
    const struct vless_request *q = &s->req;
    assert_int_equal(q->header_len, jint(r, "header_len"));
    assert_int_equal(q->cmd, jint(r, "command"));
    char hex[33];
    hex_encode(hex, q->id, 16);
    assert_string_equal(hex, json_string_value(json_object_get(r, "uuid_hex")));
    const char *flow = json_string_value(json_object_get(s->j, "request_flow_addon"));
    assert_int_equal(q->addons.flow, vless_flow_from_str(flow, strlen(flow)));
    if (q->cmd != VLESS_CMD_MUX) {
        assert_int_equal(q->dest.port, jint(r, "port"));
        char a[300], want[300];
        vless_addr_format(a, sizeof(a), &q->dest);
        snprintf(want, sizeof(want), "%s:%zu", json_string_value(json_object_get(r, "address")), jint(r, "port"));
        assert_string_equal(a, want);
    }
    /* Re-encode byte-exact. */
    struct buf b;
    buf_init(&b);
    assert_int_equal(vless_request_encode(&b, q->id, q->addons.flow, q->cmd, &q->dest), 0);
    assert_int_equal(buf_len(&b), q->header_len);
    assert_memory_equal(buf_data(&b), s->d[0].stream, q->header_len);
    buf_dispose(&b);
    /* The server's flow decision allows every captured session. */
    const struct dir *c = &s->d[0];
    size_t body = c->seg[0].len - q->header_len;
    struct vless_flow_decision fd =
        vless_flow_decide(q->user->flow, q->addons.flow, q->cmd, c->seg[0].p + q->header_len, body);
    assert_true(fd.allow);
    assert_int_equal(fd.vision, q->addons.flow == VLESS_FLOW_VISION);
    assert_int_equal(fd.direct_ok, fd.vision && q->cmd == VLESS_CMD_TCP);
}

/* ---- Vision reader ---- */

struct frame_log {
    size_t n;
    int cmd[MAX_FRAMES];
    size_t content[MAX_FRAMES], padding[MAX_FRAMES];
};

static void on_frame(void *arg, enum vless_vision_cmd cmd, size_t c, size_t p)
{
    struct frame_log *l = arg;
    assert_true(l->n < MAX_FRAMES);
    l->cmd[l->n] = cmd;
    l->content[l->n] = c;
    l->padding[l->n] = p;
    l->n++;
}

/* Feeds one direction record by record; returns the inner stream in *out. */
static void read_direction(const struct scen *s, int k, struct buf *out, size_t chunk)
{
    const struct dir *d = &s->d[k];
    json_t *frames = dec_dir(s, "vision_frames_", k);
    json_t *sw = json_object_get(json_object_get(s->j, "switch"), dname[k]);
    const char *last = json_string_value(json_object_get(sw, "vision_last_command"));
    struct vless_vision_shared sh;
    struct vless_vision_reader r;
    struct frame_log log = {0};
    vless_vision_shared_init(&sh);
    vless_vision_reader_init(&r, &sh, s->req.id);
    r.on_frame = on_frame;
    r.cb_arg = &log;

    size_t nfr = json_array_size(frames);
    json_t *lastf = json_array_get(frames, nfr - 1);
    size_t frames_end = jint(lastf, "offset") + jint(lastf, "total_len");
    bool expect_end = strcmp(last, "End") == 0, expect_direct = strcmp(last, "Direct") == 0;
    size_t pos = 0; /* offset in the direction's outer stream */
    bool saw_switch = false;
    for (size_t i = 0; i < d->nseg; i++) {
        const struct seg *g = &d->seg[i];
        size_t from = 0;
        if (!g->raw && pos < s->hdr_len[k])
            from = s->hdr_len[k] - pos; /* the VLESS header is not Vision data */
        if (g->raw)
            assert_true(saw_switch && expect_direct); /* raw only after Direct */
        for (size_t off = from, n = 0; off < g->len; off += n) {
            n = g->len - off < chunk ? g->len - off : chunk;
            /* Copy to an exact-size buffer so ASan catches overreads. */
            uint8_t *tmp = malloc(n);
            memcpy(tmp, g->p + off, n);
            struct vless_vision_rres res;
            assert_int_equal(vless_vision_read(&r, tmp, n, out, &res), 0);
            free(tmp);
            if (res.events & (VLESS_VISION_EV_END | VLESS_VISION_EV_DIRECT)) {
                assert_false(saw_switch);
                saw_switch = true;
                /* The switch happens exactly where the last frame ends. */
                assert_int_equal(pos + off + res.raw_from, frames_end);
                assert_true(expect_end ? res.events == VLESS_VISION_EV_END : res.events == VLESS_VISION_EV_DIRECT);
                if (expect_direct) /* the Direct record is the last outer record */
                    assert_true(off + n == g->len && res.raw_from == n && i == d->nouter - 1);
            }
            assert_int_equal(res.events & VLESS_VISION_EV_UNFRAMED, 0);
        }
        if (!g->raw)
            pos += g->len;
    }
    assert_int_equal(saw_switch, expect_end || expect_direct);
    if (expect_end || expect_direct) {
        assert_int_equal(json_integer_value(json_object_get(sw, "unframed_bytes_after_last_frame_in_outer_tls")),
                         d->slen - frames_end);
        assert_int_equal(vless_vision_reader_mode(&r),
                         expect_direct ? VLESS_VISION_MODE_DIRECT : VLESS_VISION_MODE_PLAIN);
    } else {
        assert_int_equal(frames_end, d->slen);
        assert_int_equal(vless_vision_reader_mode(&r), VLESS_VISION_MODE_PADDING);
    }
    /* Every frame as the capture shows it. */
    assert_int_equal(log.n, nfr);
    for (size_t i = 0; i < nfr; i++) {
        json_t *f = json_array_get(frames, i);
        assert_int_equal(log.cmd[i], jint(f, "command"));
        assert_int_equal(log.content[i], jint(f, "content_len"));
        assert_int_equal(log.padding[i], jint(f, "padding_len"));
    }
}

static void check_vision_reader(const struct scen *s)
{
    static const size_t chunks[] = {SIZE_MAX, 1, 7, 1186};
    for (int k = 0; k < 2; k++) {
        for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            struct buf out;
            buf_init(&out);
            read_direction(s, k, &out, chunks[c]);
            check_app_stream(s, k, buf_data(&out), buf_len(&out));
            /* Independently: frame contents + everything after the last frame + raw. */
            json_t *frames = dec_dir(s, "vision_frames_", k);
            size_t i, at = 0;
            json_t *f;
            json_array_foreach(frames, i, f)
            {
                size_t co = jint(f, "content_offset"), cl = jint(f, "content_len");
                assert_memory_equal(buf_data(&out) + at, s->d[k].stream + co, cl);
                at += cl;
            }
            buf_dispose(&out);
        }
    }
}

/* ---- Vision writer replay ---- */

struct script {
    uint32_t v[MAX_FRAMES];
    size_t n, next;
};

static int scripted_rand(void *arg, void *out, size_t n)
{
    struct script *sc = arg;
    assert_int_equal(n, 4);
    assert_true(sc->next < sc->n);
    uint32_t v = sc->v[sc->next++];
    uint8_t *o = out;
    o[0] = (uint8_t)(v >> 24);
    o[1] = (uint8_t)(v >> 16);
    o[2] = (uint8_t)(v >> 8);
    o[3] = (uint8_t)v;
    return 0;
}

struct batch {
    double t;
    struct bytes buf[4];
    size_t nbuf;
};

/* The sender's batches: frames whose headers sit in the same record were one write; two
 * frames whose contents add up to 8192 are one reshaped buffer; bytes that follow an End
 * frame in its record were the unframed rest of that batch. Afterwards (End), each later
 * record is one plain batch. */
static size_t make_batches(const struct scen *s, int k, struct batch *b, size_t max, struct script *sc)
{
    const struct dir *d = &s->d[k];
    json_t *frames = dec_dir(s, "vision_frames_", k);
    size_t nfr = json_array_size(frames), nb = 0;
    size_t rec_start[MAX_SEGS + 1], acc = 0;
    for (size_t i = 0; i < d->nouter; i++) {
        rec_start[i] = acc;
        acc += d->seg[i].len;
    }
    rec_start[d->nouter] = acc;
    long prev_rec = -1;
    size_t end_of_frames = 0;
    for (size_t i = 0; i < nfr; i++) {
        json_t *f = json_array_get(frames, i);
        size_t rec = jint(f, "header_record"), co = jint(f, "content_offset"), cl = jint(f, "content_len");
        size_t pl = jint(f, "padding_len");
        const char *rule = json_string_value(json_object_get(f, "padding_rule"));
        sc->v[sc->n++] = strncmp(rule, "long", 4) == 0 ? (uint32_t)(pl + cl - 900) : (uint32_t)pl;
        struct bytes content = bytes_of(s->d[k].stream + co, cl);
        if (nb > 0 && (long)rec == prev_rec) {
            b[nb - 1].buf[b[nb - 1].nbuf++] = content;
        } else if (nb > 0 && b[nb - 1].nbuf == 1 && b[nb - 1].buf[0].len + cl == VLESS_VISION_BUF_SIZE) {
            /* reshaped halves of one 8192-byte buffer: rebuild it contiguously */
            uint8_t *whole = malloc(VLESS_VISION_BUF_SIZE);
            memcpy(whole, b[nb - 1].buf[0].p, b[nb - 1].buf[0].len);
            memcpy(whole + b[nb - 1].buf[0].len, content.p, cl);
            b[nb - 1].buf[0] = bytes_of(whole, VLESS_VISION_BUF_SIZE);
            b[nb - 1].nbuf = 4; /* mark: owns buf[0]; only one buffer */
        } else {
            assert_true(nb < max);
            b[nb].t = d->seg[rec].t;
            b[nb].buf[0] = content;
            b[nb].nbuf = 1;
            nb++;
        }
        prev_rec = (long)rec;
        end_of_frames = jint(f, "offset") + jint(f, "total_len");
    }
    /* Unframed bytes after the last frame: rest of its record joins its batch, later
     * records are batches of their own. */
    size_t r = 0;
    while (r < d->nouter && rec_start[r + 1] <= end_of_frames)
        r++;
    if (r < d->nouter && end_of_frames > rec_start[r]) {
        struct bytes tail = bytes_of(s->d[k].stream + end_of_frames, rec_start[r + 1] - end_of_frames);
        b[nb - 1].buf[b[nb - 1].nbuf++] = tail;
        r++;
    }
    for (; r < d->nouter; r++) {
        assert_true(nb < max);
        b[nb].t = d->seg[r].t;
        b[nb].buf[0] = bytes_of(d->seg[r].p, d->seg[r].len);
        b[nb].nbuf = 1;
        nb++;
    }
    return nb;
}

/* Replays one endpoint: its reader takes the peer's records, its writer our batches, in
 * capture-time order, sharing the filter state. The writer's output must equal the
 * captured bytes of its direction (after the VLESS header). */
static void replay_endpoint(const struct scen *s, int wdir)
{
    int rdir = 1 - wdir;
    struct batch b[MAX_SEGS];
    struct script sc = {0};
    size_t nb = make_batches(s, wdir, b, MAX_SEGS, &sc);
    struct vless_vision_shared sh;
    struct vless_vision_reader r;
    struct vless_vision_writer w;
    vless_vision_shared_init(&sh);
    vless_vision_reader_init(&r, &sh, s->req.id);
    vless_vision_writer_init(&w, &sh, s->req.id, scripted_rand, &sc);
    w.check_complete = false; /* Xray 25.9.11 (README F2) */
    struct buf rout, wout;
    buf_init(&rout);
    buf_init(&wout);
    const struct dir *rd = &s->d[rdir];
    size_t ri = 0, bi = 0, rpos = 0;
    unsigned wev = 0;
    while (ri < rd->nouter || bi < nb) {
        bool take_read = bi == nb || (ri < rd->nouter && rd->seg[ri].t < b[bi].t);
        if (take_read) {
            const struct seg *g = &rd->seg[ri++];
            size_t from = rpos < s->hdr_len[rdir] ? s->hdr_len[rdir] - rpos : 0;
            rpos += g->len;
            assert_int_equal(vless_vision_read(&r, g->p + from, g->len - from, &rout, NULL), 0);
        } else {
            struct vless_vision_wres res;
            size_t n = b[bi].nbuf == 4 ? 1 : b[bi].nbuf;
            size_t before = buf_len(&wout);
            assert_int_equal(vless_vision_writev(&w, b[bi].buf, n, &wout, &res), 0);
            /* Frame ends are reported relative to the output start. */
            for (size_t f = 0; f < res.nframes; f++)
                assert_true(res.frame_end[f] > before && res.frame_end[f] <= buf_len(&wout));
            wev |= res.events;
            bi++;
        }
    }
    const struct dir *wd = &s->d[wdir];
    assert_int_equal(buf_len(&wout), wd->slen - s->hdr_len[wdir]);
    assert_memory_equal(buf_data(&wout), wd->stream + s->hdr_len[wdir], wd->slen - s->hdr_len[wdir]);
    assert_int_equal(sc.next, sc.n); /* one draw per frame */
    json_t *sw = json_object_get(json_object_get(s->j, "switch"), dname[wdir]);
    const char *last = json_string_value(json_object_get(sw, "vision_last_command"));
    if (strcmp(last, "Direct") == 0) {
        assert_int_equal(wev, VLESS_VISION_EV_DIRECT);
        assert_int_equal(w.mode, VLESS_VISION_MODE_DIRECT);
    } else if (strcmp(last, "End") == 0) {
        assert_int_equal(wev, VLESS_VISION_EV_END);
        assert_int_equal(w.mode, VLESS_VISION_MODE_PLAIN);
    } else {
        assert_int_equal(wev, 0);
        assert_int_equal(w.mode, VLESS_VISION_MODE_PADDING);
    }
    for (size_t i = 0; i < nb; i++)
        if (b[i].nbuf == 4)
            free((void *)b[i].buf[0].p);
    buf_dispose(&rout);
    buf_dispose(&wout);
}

/* ---- Mux / UDP ---- */

static void check_mux(const struct scen *s, int k, const uint8_t *app, size_t n)
{
    json_t *frames = dec_dir(s, "mux_frames_", k);
    size_t i, pos = 0;
    json_t *jf;
    struct buf enc;
    buf_init(&enc);
    json_array_foreach(frames, i, jf)
    {
        assert_int_equal(pos, jint(jf, "offset"));
        struct vless_mux_frame f;
        size_t c;
        /* Incremental: every prefix needs more. */
        for (size_t cut = 0; cut < 12 && pos + cut < n; cut++) {
            int rc = vless_mux_parse(app + pos, cut, &f, &c);
            assert_true(rc == ERR_NEED_MORE);
        }
        assert_int_equal(vless_mux_parse(app + pos, n - pos, &f, &c), 0);
        assert_int_equal(c, 2 + jint(jf, "meta_len") + (f.has_data ? 2 + f.data.len : 0));
        assert_int_equal(f.session_id, jint(jf, "session_id"));
        assert_int_equal(f.status, jint(jf, "status"));
        assert_int_equal(f.option, jint(jf, "option"));
        json_t *net = json_object_get(jf, "network");
        assert_int_equal(f.has_target, net != NULL);
        if (net != NULL) {
            assert_int_equal(f.network, json_integer_value(net));
            char a[300], want[300];
            vless_addr_format(a, sizeof(a), &f.target);
            snprintf(want, sizeof(want), "%s:%zu", json_string_value(json_object_get(jf, "address")), jint(jf, "port"));
            assert_string_equal(a, want);
        }
        json_t *gid = json_object_get(jf, "global_id_hex");
        assert_int_equal(f.has_global_id, gid != NULL);
        if (gid != NULL) {
            char h[17];
            hex_encode(h, f.global_id, 8);
            assert_string_equal(h, json_string_value(gid));
        }
        char *dh = malloc(2 * f.data.len + 1);
        hex_encode(dh, f.data.p, f.data.len);
        assert_string_equal(dh, json_string_value(json_object_get(jf, "data_hex")));
        free(dh);
        /* Byte-exact re-encoding. */
        buf_reset(&enc);
        assert_int_equal(vless_mux_encode(&enc, &f), 0);
        assert_int_equal(buf_len(&enc), c);
        assert_memory_equal(buf_data(&enc), app + pos, c);
        pos += c;
    }
    assert_true(i > 0);
    assert_int_equal(pos, n);
    buf_dispose(&enc);
}

static void check_udp(const struct scen *s, int k, const uint8_t *app, size_t n)
{
    json_t *pk = dec_dir(s, "udp_packets_", k);
    size_t i, pos = 0;
    json_t *jp;
    json_array_foreach(pk, i, jp)
    {
        assert_int_equal(pos, jint(jp, "offset"));
        struct bytes d;
        size_t c;
        assert_int_equal(vless_udp_parse(app + pos, n - pos, &d, &c), 0);
        assert_int_equal(d.len, jint(jp, "length"));
        char *dh = malloc(2 * d.len + 1);
        hex_encode(dh, d.p, d.len);
        assert_string_equal(dh, json_string_value(json_object_get(jp, "data_hex")));
        free(dh);
        struct buf enc;
        buf_init(&enc);
        assert_int_equal(vless_udp_encode(&enc, d.p, d.len), 0);
        assert_memory_equal(buf_data(&enc), app + pos, c);
        buf_dispose(&enc);
        pos += c;
    }
    assert_true(i > 0);
    assert_int_equal(pos, n);
}

static void run(const char *name)
{
    struct vless_users *u = transcript_users();
    struct scen s;
    load(&s, name, u);
    check_request(&s);
    bool vision = s.req.addons.flow == VLESS_FLOW_VISION;
    for (int k = 0; k < 2; k++) {
        struct buf app;
        buf_init(&app);
        if (vision) {
            read_direction(&s, k, &app, SIZE_MAX);
        } else {
            assert_int_equal(buf_append(&app, s.d[k].stream + s.hdr_len[k], s.d[k].slen - s.hdr_len[k]), 0);
            assert_int_equal(s.d[k].nseg, s.d[k].nouter);
        }
        check_app_stream(&s, k, buf_data(&app), buf_len(&app));
        if (s.req.cmd == VLESS_CMD_MUX)
            check_mux(&s, k, buf_data(&app), buf_len(&app));
        if (s.req.cmd == VLESS_CMD_UDP)
            check_udp(&s, k, buf_data(&app), buf_len(&app));
        buf_dispose(&app);
    }
    if (vision) {
        check_vision_reader(&s);
        replay_endpoint(&s, 0); /* client: writes c2s, reads s2c */
        replay_endpoint(&s, 1); /* server: writes s2c, reads c2s */
    }
    unload(&s);
    vless_users_unref(u);
}

#define SCEN(fn, name)                                                                                                 \
    static void fn(void **state)                                                                                       \
    {                                                                                                                  \
        (void)state;                                                                                                   \
        run(name);                                                                                                     \
    }
SCEN(test_s1, "s1-vision-https")
SCEN(test_s2, "s2-vision-http")
SCEN(test_s2b, "s2b-vision-http-keepalive")
SCEN(test_s3a, "s3a-vision-udp-socks")
SCEN(test_s3b1, "s3b-vision-udp-dokodemo.conn1")
SCEN(test_s3b2, "s3b-vision-udp-dokodemo.conn2")
SCEN(test_s4, "s4-plain-tcp")
SCEN(test_s5, "s5-plain-udp-cmd2")
SCEN(test_s5b, "s5b-plain-udp-xudp")
SCEN(test_s6, "s6-vision-inner-tls12")
SCEN(test_s7, "s7-vision-client-silent")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s1),  cmocka_unit_test(test_s2),   cmocka_unit_test(test_s2b),
        cmocka_unit_test(test_s3a), cmocka_unit_test(test_s3b1), cmocka_unit_test(test_s3b2),
        cmocka_unit_test(test_s4),  cmocka_unit_test(test_s5),   cmocka_unit_test(test_s5b),
        cmocka_unit_test(test_s6),  cmocka_unit_test(test_s7),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
