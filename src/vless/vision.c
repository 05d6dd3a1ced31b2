#include "vless/vision.h"

#include <string.h>

#include "core/err.h"
#include "core/wire.h"

enum rd_state {
    RS_EXPECT_UUID = 0, /* collecting UUID + first header (21 bytes) */
    RS_HEADER,          /* collecting a 5-byte header */
    RS_CONTENT,
    RS_PADDING,
    RS_PLAIN,  /* after End (or unframed peer): pass-through */
    RS_DIRECT, /* after Direct: pass-through, raw */
    RS_ERROR,  /* unknown command seen: sticky */
    RS__COUNT, /* sentinel */
};

static const uint8_t tls13_supported_versions[6] = {0x00, 0x2b, 0x00, 0x02, 0x03, 0x04};

/* ---- shared state and filter ---- */

void vless_vision_shared_init(struct vless_vision_shared *s)
{
    memset(s, 0, sizeof(*s));
    s->filter_count = VLESS_VISION_FILTER_PACKETS;
    s->remaining_server_hello = -1;
}

static bool contains(const uint8_t *h, size_t hlen, const uint8_t *n, size_t nlen)
{
    if (hlen < nlen)
        return false;
    for (size_t i = 0; i + nlen <= hlen; i++)
        if (memcmp(h + i, n, nlen) == 0)
            return true;
    return false;
}

void vless_vision_filter_tls(struct vless_vision_shared *s, const uint8_t *b, size_t len)
{
    s->filter_count--;
    if (len >= 6) {
        if (b[0] == 0x16 && b[1] == 0x03 && b[2] == 0x03 && b[5] == 0x02) { /* ServerHello */
            s->remaining_server_hello = (long)wire_be16(b + 3) + 5;
            s->is_tls12_or_above = true;
            s->is_tls = true;
            if (len >= 79 && s->remaining_server_hello >= 79) {
                size_t sid = b[43]; /* 5 record + 4 handshake + 2 version + 32 random */
                s->cipher = 46 + sid <= len ? wire_be16(b + 44 + sid) : 0;
            }
        } else if (b[0] == 0x16 && b[1] == 0x03 && b[5] == 0x01) { /* ClientHello */
            s->is_tls = true;
        }
    }
    if (s->remaining_server_hello > 0) {
        size_t end = (size_t)s->remaining_server_hello < len ? (size_t)s->remaining_server_hello : len;
        s->remaining_server_hello -= (long)len;
        if (contains(b, end, tls13_supported_versions, sizeof(tls13_supported_versions))) {
            /* TLS 1.3 (or a HelloRetryRequest): Direct only with the four AEAD suites, not CCM_8. */
            s->enable_xtls = s->cipher >= 0x1301 && s->cipher <= 0x1304;
            s->filter_count = 0;
        } else if (s->remaining_server_hello <= 0) {
            s->filter_count = 0; /* TLS 1.2 or older */
        }
    }
}

/* ---- writer ---- */

void vless_vision_writer_init(struct vless_vision_writer *w, struct vless_vision_shared *sh,
                              const uint8_t uuid[static VLESS_ID_LEN], vless_rand_fn *rand, void *rand_arg)
{
    memset(w, 0, sizeof(*w));
    w->sh = sh;
    memcpy(w->uuid, uuid, VLESS_ID_LEN);
    w->seed[0] = 900;
    w->seed[1] = 500;
    w->seed[2] = 900;
    w->seed[3] = 256;
    w->check_complete = true;
    w->rand = rand;
    w->rand_arg = rand_arg;
    w->is_padding = true;
    w->uuid_pending = true;
    w->mode = VLESS_VISION_MODE_PADDING;
}

/* Uniform in [0, bound) by rejection; a big-endian 32-bit draw below the bound is used
 * as is (deterministic tests script exact values). */
static int uniform(struct vless_vision_writer *w, uint32_t bound, uint32_t *v)
{
    if (bound == 0) {
        *v = 0;
        return 0;
    }
    uint64_t lim = ((uint64_t)1 << 32) / bound * bound;
    for (;;) {
        uint8_t b[4];
        TRY(w->rand(w->rand_arg, b, sizeof(b)));
        uint32_t x = wire_be32(b);
        if (x < lim) {
            *v = x % bound;
            return 0;
        }
    }
}

static int emit_frame(struct vless_vision_writer *w, const uint8_t *p, size_t n, enum vless_vision_cmd cmd, bool lng,
                      struct buf *out, struct vless_vision_wres *res)
{
    uint32_t r;
    size_t pad;
    if (n < w->seed[0] && lng) {
        TRY(uniform(w, w->seed[1], &r));
        pad = (size_t)r + w->seed[2] - n;
    } else {
        TRY(uniform(w, w->seed[3], &r));
        pad = r;
    }
    if (pad > VLESS_VISION_MAX_BODY - n)
        pad = VLESS_VISION_MAX_BODY - n;
    size_t need = (w->uuid_pending ? VLESS_ID_LEN : 0) + 5 + n + pad;
    TRY(buf_reserve(out, need));
    uint8_t *q = buf_tail(out);
    if (w->uuid_pending) {
        memcpy(q, w->uuid, VLESS_ID_LEN);
        q += VLESS_ID_LEN;
    }
    q[0] = (uint8_t)cmd;
    wire_put_be16(q + 1, (uint16_t)n);
    wire_put_be16(q + 3, (uint16_t)pad);
    if (n > 0)
        memcpy(q + 5, p, n);
    memset(q + 5 + n, 0, pad);
    buf_produce(out, need);
    w->uuid_pending = false;
    if (res->nframes < VLESS_VISION_MAX_FRAMES)
        res->frame_end[res->nframes++] = buf_len(out);
    return 0;
}

/* True iff the concatenated pieces are whole `17 03 03 LL LL` records with LL >= 1. */
static bool all_complete_appdata(const struct bytes *v, size_t n)
{
    uint8_t hdr[5];
    size_t hpos = 0, skip = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = v[i].p;
        size_t len = v[i].len;
        while (len > 0) {
            if (skip > 0) {
                size_t k = skip < len ? skip : len;
                skip -= k, p += k, len -= k;
                continue;
            }
            hdr[hpos++] = *p++;
            len--;
            if (hpos == 5) {
                if (hdr[0] != 0x17 || hdr[1] != 0x03 || hdr[2] != 0x03)
                    return false;
                skip = wire_be16(hdr + 3);
                if (skip == 0)
                    return false;
                hpos = 0;
            }
        }
    }
    return hpos == 0 && skip == 0;
}

static bool starts_appdata(struct bytes b)
{
    return b.len >= 6 && b.p[0] == 0x17 && b.p[1] == 0x03 && b.p[2] == 0x03;
}

/* Splits buffers of >= 8171 bytes at the last `17 03 03` (if at 21..8171) or at 4096. */
static size_t reshape(const struct bytes *in, size_t n, struct bytes *out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct bytes b = in[i];
        if (b.len < VLESS_VISION_MAX_BODY) {
            out[m++] = b;
            continue;
        }
        size_t k = SIZE_MAX;
        for (size_t j = b.len - 3 + 1; j-- > 0;)
            if (b.p[j] == 0x17 && b.p[j + 1] == 0x03 && b.p[j + 2] == 0x03) {
                k = j;
                break;
            }
        if (k < 21 || k > VLESS_VISION_MAX_BODY)
            k = VLESS_VISION_BUF_SIZE / 2;
        out[m++] = bytes_of(b.p, k);
        out[m++] = bytes_of(b.p + k, b.len - k);
    }
    return m;
}

static int pass_through(const struct bytes *bufs, size_t nbufs, struct buf *out)
{
    size_t mark = buf_len(out);
    for (size_t i = 0; i < nbufs; i++) {
        int rc = buf_append(out, bufs[i].p, bufs[i].len);
        if (rc < 0) {
            out->wpos = out->rpos + mark;
            return rc;
        }
    }
    return 0;
}

int vless_vision_writev(struct vless_vision_writer *w, const struct bytes *bufs, size_t nbufs, struct buf *out,
                        struct vless_vision_wres *res)
{
    struct vless_vision_wres dummy;
    if (res == NULL)
        res = &dummy;
    memset(res, 0, sizeof(*res));
    if (w->mode != VLESS_VISION_MODE_PADDING)
        return pass_through(bufs, nbufs, out);

    /* Cut into upstream-sized buffers. */
    struct bytes piece[VLESS_VISION_MAX_FRAMES / 2];
    size_t np = 0, total = 0;
    for (size_t i = 0; i < nbufs; i++) {
        total += bufs[i].len;
        for (size_t off = 0; off < bufs[i].len; off += VLESS_VISION_BUF_SIZE) {
            if (np == VLESS_VISION_MAX_FRAMES / 2 || total > VLESS_VISION_MAX_BATCH)
                return ERR_TOO_LONG;
            size_t k = bufs[i].len - off < VLESS_VISION_BUF_SIZE ? bufs[i].len - off : VLESS_VISION_BUF_SIZE;
            piece[np++] = bytes_of(bufs[i].p + off, k);
        }
    }
    if (np == 0)
        return 0;

    struct vless_vision_shared *sh = w->sh;
    if (sh->filter_count > 0)
        for (size_t i = 0; i < np; i++)
            vless_vision_filter_tls(sh, piece[i].p, piece[i].len);

    bool complete = !w->check_complete || all_complete_appdata(piece, np);
    struct bytes fr[VLESS_VISION_MAX_FRAMES];
    size_t nf = reshape(piece, np, fr);
    size_t mark = buf_len(out);
    bool lng = sh->is_tls, uuid_pending = w->uuid_pending, is_padding = w->is_padding;
    enum vless_vision_cmd last_cmd = VLESS_VISION_CONTINUE;
    int rc = 0;
    for (size_t i = 0; i < nf; i++) {
        bool last = i == nf - 1;
        enum vless_vision_cmd cmd;
        if (sh->is_tls && starts_appdata(fr[i]) && complete) {
            cmd = !last ? VLESS_VISION_CONTINUE : sh->enable_xtls ? VLESS_VISION_DIRECT : VLESS_VISION_END;
            if ((rc = emit_frame(w, fr[i].p, fr[i].len, cmd, true, out, res)) < 0)
                goto fail;
            w->is_padding = false;
            lng = false;
            last_cmd = cmd;
            continue;
        }
        if (!sh->is_tls12_or_above && sh->filter_count <= 1) {
            /* Finish one packet early for older receivers; the rest of the batch goes unframed. */
            w->is_padding = false;
            if ((rc = emit_frame(w, fr[i].p, fr[i].len, VLESS_VISION_END, lng, out, res)) < 0)
                goto fail;
            last_cmd = VLESS_VISION_END;
            for (size_t j = i + 1; j < nf; j++)
                if ((rc = buf_append(out, fr[j].p, fr[j].len)) < 0)
                    goto fail;
            break;
        }
        cmd = VLESS_VISION_CONTINUE;
        if (last && !w->is_padding)
            cmd = sh->enable_xtls ? VLESS_VISION_DIRECT : VLESS_VISION_END;
        if ((rc = emit_frame(w, fr[i].p, fr[i].len, cmd, lng, out, res)) < 0)
            goto fail;
        last_cmd = cmd;
    }
    if (!w->is_padding) {
        if (last_cmd == VLESS_VISION_DIRECT) {
            w->mode = VLESS_VISION_MODE_DIRECT;
            res->events |= VLESS_VISION_EV_DIRECT;
        } else {
            w->mode = VLESS_VISION_MODE_PLAIN;
            res->events |= VLESS_VISION_EV_END;
        }
    }
    return 0;
fail:
    out->wpos = out->rpos + mark;
    w->uuid_pending = uuid_pending;
    w->is_padding = is_padding;
    res->nframes = 0;
    return rc;
}

int vless_vision_write(struct vless_vision_writer *w, const uint8_t *p, size_t len, struct buf *out,
                       struct vless_vision_wres *res)
{
    struct bytes b = bytes_of(p, len);
    return vless_vision_writev(w, &b, len ? 1 : 0, out, res);
}

int vless_vision_write_empty(struct vless_vision_writer *w, struct buf *out, struct vless_vision_wres *res)
{
    struct vless_vision_wres dummy;
    if (res == NULL)
        res = &dummy;
    memset(res, 0, sizeof(*res));
    if (w->mode != VLESS_VISION_MODE_PADDING || !w->is_padding)
        return ERR_BAD_STATE;
    return emit_frame(w, NULL, 0, VLESS_VISION_CONTINUE, true, out, res);
}

/* ---- reader ---- */

void vless_vision_reader_init(struct vless_vision_reader *r, struct vless_vision_shared *sh,
                              const uint8_t uuid[static VLESS_ID_LEN])
{
    memset(r, 0, sizeof(*r));
    r->sh = sh;
    memcpy(r->uuid, uuid, VLESS_ID_LEN);
    r->st = RS_EXPECT_UUID;
}

/* A complete 5-byte header in h: start the frame. */
static int start_frame(struct vless_vision_reader *r, const uint8_t *h)
{
    if (h[0] >= VLESS_VISION_CMD__COUNT) {
        r->st = RS_ERROR;
        return ERR_MALFORMED;
    }
    r->cur_cmd = h[0];
    r->rem_content = wire_be16(h + 1);
    r->rem_padding = wire_be16(h + 3);
    r->frames++;
    if (r->on_frame != NULL)
        r->on_frame(r->cb_arg, (enum vless_vision_cmd)h[0], r->rem_content, r->rem_padding);
    r->st = r->rem_content > 0 ? RS_CONTENT : RS_PADDING;
    return 0;
}

/* Called when content and padding are both exhausted. */
static void end_frame(struct vless_vision_reader *r, struct vless_vision_rres *res, size_t at)
{
    switch (r->cur_cmd) {
    case VLESS_VISION_CONTINUE:
        r->st = RS_HEADER;
        r->hlen = 0;
        break;
    case VLESS_VISION_END:
        r->st = RS_PLAIN;
        res->events |= VLESS_VISION_EV_END;
        res->raw_from = at;
        break;
    default:
        r->st = RS_DIRECT;
        res->events |= VLESS_VISION_EV_DIRECT;
        res->raw_from = at;
        break;
    }
}

/* Unframes one slice; appends output. */
static int read_slice(struct vless_vision_reader *r, const uint8_t *p, size_t len, size_t base, struct buf *out,
                      struct vless_vision_rres *res)
{
    size_t i = 0;
    while (i < len) {
        switch (r->st) {
        case RS_EXPECT_UUID: {
            size_t k = sizeof(r->hdr) - r->hlen < len - i ? sizeof(r->hdr) - r->hlen : len - i;
            memcpy(r->hdr + r->hlen, p + i, k);
            r->hlen += k;
            i += k;
            size_t cmp = r->hlen < VLESS_ID_LEN ? r->hlen : VLESS_ID_LEN;
            if (memcmp(r->hdr, r->uuid, cmp) != 0) {
                /* Not framed (upstream passes such data through): deliver it as is. */
                TRY(buf_append(out, r->hdr, r->hlen));
                r->st = RS_PLAIN;
                res->events |= VLESS_VISION_EV_UNFRAMED;
                /* Where the unframed bytes start in this call's input (0: in an earlier call). */
                res->raw_from = base + i >= r->hlen ? base + i - r->hlen : 0;
                break;
            }
            if (r->hlen == sizeof(r->hdr)) {
                TRY(start_frame(r, r->hdr + VLESS_ID_LEN));
                if (r->st == RS_PADDING && r->rem_padding == 0)
                    end_frame(r, res, base + i);
            }
            break;
        }
        case RS_HEADER: {
            size_t k = 5 - r->hlen < len - i ? 5 - r->hlen : len - i;
            memcpy(r->hdr + r->hlen, p + i, k);
            r->hlen += k;
            i += k;
            if (r->hlen == 5) {
                TRY(start_frame(r, r->hdr));
                if (r->st == RS_PADDING && r->rem_padding == 0)
                    end_frame(r, res, base + i);
            }
            break;
        }
        case RS_CONTENT: {
            size_t k = r->rem_content < len - i ? r->rem_content : len - i;
            TRY(buf_append(out, p + i, k));
            r->rem_content -= k;
            i += k;
            if (r->rem_content == 0) {
                r->st = RS_PADDING;
                if (r->rem_padding == 0)
                    end_frame(r, res, base + i);
            }
            break;
        }
        case RS_PADDING: {
            size_t k = r->rem_padding < len - i ? r->rem_padding : len - i;
            r->rem_padding -= k;
            i += k;
            if (r->rem_padding == 0)
                end_frame(r, res, base + i);
            break;
        }
        case RS_PLAIN:
        case RS_DIRECT:
            TRY(buf_append(out, p + i, len - i));
            i = len;
            break;
        default:
            return ERR_MALFORMED;
        }
    }
    return 0;
}

int vless_vision_read(struct vless_vision_reader *r, const uint8_t *p, size_t len, struct buf *out,
                      struct vless_vision_rres *res)
{
    struct vless_vision_rres dummy;
    if (res == NULL)
        res = &dummy;
    memset(res, 0, sizeof(*res));
    if (r->st == RS_ERROR)
        return ERR_MALFORMED;
    for (size_t off = 0; off < len; off += VLESS_VISION_BUF_SIZE) {
        size_t k = len - off < VLESS_VISION_BUF_SIZE ? len - off : VLESS_VISION_BUF_SIZE;
        bool direct_before = r->st == RS_DIRECT;
        size_t before = buf_len(out);
        TRY(read_slice(r, p + off, k, off, out, res));
        /* Each non-empty unframed buffer is one packet for the filter (not after Direct). */
        size_t made = buf_len(out) - before;
        if (made > 0 && !direct_before && r->sh->filter_count > 0)
            vless_vision_filter_tls(r->sh, buf_data(out) + before, made);
    }
    return 0;
}

enum vless_vision_mode vless_vision_reader_mode(const struct vless_vision_reader *r)
{
    switch (r->st) {
    case RS_PLAIN:
        return VLESS_VISION_MODE_PLAIN;
    case RS_DIRECT:
        return VLESS_VISION_MODE_DIRECT;
    default:
        return VLESS_VISION_MODE_PADDING;
    }
}

const char *vless_vision_mode_str(enum vless_vision_mode m)
{
    switch (m) {
    case VLESS_VISION_MODE_PADDING:
        return "padding";
    case VLESS_VISION_MODE_PLAIN:
        return "plain";
    case VLESS_VISION_MODE_DIRECT:
        return "direct";
    default:
        return "?";
    }
}
