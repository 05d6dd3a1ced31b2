/* HTTP/1.1 and HTTP/2 answers to the check's GET / (reality/http_answer.h). */
#include "reality/http_answer.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define H2_FRAME_MAX 16384 /* SETTINGS_MAX_FRAME_SIZE we leave at its default */
#define H2_DATA 0x0
#define H2_HEADERS 0x1
#define H2_RST_STREAM 0x3
#define H2_SETTINGS 0x4
#define H2_PUSH_PROMISE 0x5
#define H2_GOAWAY 0x7
#define H2_CONTINUATION 0x9
#define H2_END_HEADERS 0x4
#define H2_PADDED 0x8
#define H2_PRIORITY 0x20
#define H2_ACK 0x1

/* RFC 7541 Appendix B: code lengths of symbols 0..256 (256 = EOS). The code is canonical (codes
 * assigned in order of length, then symbol), so the lengths are the whole table. */
static const uint8_t huff_len[257] = {
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28,
    28, 28, 28, 6,  10, 10, 12, 13, 6,  8,  11, 10, 10, 8,  11, 8,  6,  6,  6,  5,  5,  5,  6,  6,  6,  6,  6,  6,  6,
    7,  8,  15, 6,  12, 10, 13, 6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,
    7,  8,  7,  8,  13, 19, 13, 14, 6,  15, 5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5,  6,  7,  6,  5,
    5,  6,  7,  7,  7,  7,  7,  15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24,
    24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22,
    23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26,
    27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23,
    22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
};

/* Canonical decoding tables, built once: for each length, the first code and where its
 * symbols start in the sorted list. */
static struct {
    bool ready;
    uint32_t first[31];
    uint16_t count[31], start[31];
    uint16_t sym[257];
} huff;

static void huff_build(void)
{
    uint16_t k = 0;
    uint32_t code = 0;
    for (int len = 1; len <= 30; len++) {
        huff.start[len] = k;
        huff.first[len] = code;
        for (int s = 0; s < 257; s++)
            if (huff_len[s] == len)
                huff.sym[k++] = (uint16_t)s;
        huff.count[len] = (uint16_t)(k - huff.start[len]);
        code = (code + huff.count[len]) << 1;
    }
    huff.ready = true;
}

int reality_hpack_huffman_decode(const uint8_t *p, size_t n, struct buf *out)
{
    if (!huff.ready)
        huff_build(); /* idempotent: racing threads write the same values */
    uint32_t code = 0;
    int len = 0;
    for (size_t i = 0; i < n; i++) {
        for (int b = 7; b >= 0; b--) {
            code = (code << 1) | ((p[i] >> b) & 1u);
            len++;
            if (len > 30)
                return ERR_MALFORMED;
            if (code - huff.first[len] < huff.count[len]) {
                uint16_t s = huff.sym[huff.start[len] + (code - huff.first[len])];
                if (s == 256)
                    return ERR_MALFORMED; /* EOS inside a string (§5.2) */
                uint8_t c = (uint8_t)s;
                TRY(buf_append(out, &c, 1));
                code = 0;
                len = 0;
            }
        }
    }
    /* padding: the most significant bits of EOS (all ones), at most 7 */
    if (len > 7 || code != (1u << len) - 1u)
        return ERR_MALFORMED;
    return 0;
}

/* ---- request ---- */

static int append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

static int h2_frame_header(struct buf *b, size_t len, uint8_t type, uint8_t flags, uint32_t stream)
{
    uint8_t h[9] = {(uint8_t)(len >> 16),    (uint8_t)(len >> 8),     (uint8_t)len,           type,           flags,
                    (uint8_t)(stream >> 24), (uint8_t)(stream >> 16), (uint8_t)(stream >> 8), (uint8_t)stream};
    return buf_append(b, h, sizeof h);
}

int reality_http_request(struct buf *out, bool h2, const char *authority)
{
    size_t al = authority ? strlen(authority) : 0;
    if (al == 0 || al > 253)
        return ERR_RANGE;
    for (size_t i = 0; i < al; i++)
        if (authority[i] <= ' ' || authority[i] == 0x7f)
            return ERR_RANGE;
    static const char ua[] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                             "Chrome/131.0.0.0 Safari/537.36";
    if (!h2) {
        TRY(append_str(out, "GET / HTTP/1.1\r\nHost: "));
        TRY(buf_append(out, authority, al));
        TRY(append_str(out, "\r\nUser-Agent: "));
        TRY(append_str(out, ua));
        return append_str(out, "\r\nAccept: text/html,*/*\r\nConnection: close\r\n\r\n");
    }
    TRY(append_str(out, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    static const uint8_t settings[] = {0x00, 0x02, 0, 0, 0, 0}; /* ENABLE_PUSH = 0 */
    TRY(h2_frame_header(out, sizeof settings, H2_SETTINGS, 0, 0));
    TRY(buf_append(out, settings, sizeof settings));
    /* HPACK without Huffman: :method GET (2), :scheme https (7), :path / (4), then literals
     * without indexing with indexed names :authority (1) and user-agent (58). */
    uint8_t block[512];
    size_t k = 0;
    block[k++] = 0x82;
    block[k++] = 0x87;
    block[k++] = 0x84;
    block[k++] = 0x01;
    if (al < 127) { /* the length on a 7-bit prefix (no Huffman) */
        block[k++] = (uint8_t)al;
    } else {
        block[k++] = 0x7f;
        block[k++] = (uint8_t)(al - 127); /* al <= 253 */
    }
    memcpy(block + k, authority, al);
    k += al;
    block[k++] = 0x0f; /* name index 58 = 15 + 43 on a 4-bit prefix */
    block[k++] = 43;
    block[k++] = (uint8_t)(sizeof ua - 1);
    memcpy(block + k, ua, sizeof ua - 1);
    k += sizeof ua - 1;
    TRY(h2_frame_header(out, k, H2_HEADERS, 0x1 | H2_END_HEADERS, 1)); /* END_STREAM */
    return buf_append(out, block, k);
}

/* ---- answer ---- */

void reality_http_answer_init(struct reality_http_answer *a, bool h2)
{
    memset(a, 0, sizeof(*a));
    a->h2 = h2;
    a->dyn_max = REALITY_HPACK_TABLE_MAX;
    buf_init(&a->in);
    buf_init(&a->block);
}

static void dyn_evict(struct reality_http_answer *a, size_t limit)
{
    while (a->n_dyn > 0 && a->dyn_size > limit) {
        struct reality_hpack_entry *e = &a->dyn[--a->n_dyn];
        a->dyn_size -= e->size;
        free(e->name);
        free(e->value);
        e->name = e->value = NULL;
    }
}

void reality_http_answer_dispose(struct reality_http_answer *a)
{
    dyn_evict(a, 0);
    buf_dispose(&a->in);
    buf_dispose(&a->block);
}

static void keep_header(struct reality_http_answer *a, const char *name, size_t nl, const char *value, size_t vl)
{
    if (nl == 7 && memcmp(name, ":status", 7) == 0) {
        a->status = 0;
        if (vl == 3 && isdigit((unsigned char)value[0]) && isdigit((unsigned char)value[1]) &&
            isdigit((unsigned char)value[2]))
            a->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    } else if (nl == 8 && strncasecmp(name, "location", 8) == 0 && vl <= REALITY_HTTP_LOCATION_MAX) {
        memcpy(a->location, value, vl);
        a->location[vl] = '\0';
        a->has_location = memchr(value, '\0', vl) == NULL;
    }
}

/* ---- HTTP/1.1 ---- */

static int h1_feed(struct reality_http_answer *a)
{
    for (;;) {
        const char *s = (const char *)buf_data(&a->in);
        size_t n = buf_len(&a->in), end = 0;
        for (size_t i = 3; i < n && end == 0; i++)
            if (memcmp(s + i - 3, "\r\n\r\n", 4) == 0)
                end = i + 1;
        if (end == 0)
            return n > REALITY_HTTP_HEAD_MAX ? ERR_TOO_LONG : ERR_NEED_MORE;
        if (end > REALITY_HTTP_HEAD_MAX)
            return ERR_TOO_LONG;
        /* status line: HTTP/1.x SP 3DIGIT (SP reason) */
        if (end < 14 || memcmp(s, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)s[7]) || s[8] != ' ' ||
            !isdigit((unsigned char)s[9]) || !isdigit((unsigned char)s[10]) || !isdigit((unsigned char)s[11]) ||
            (s[12] != ' ' && s[12] != '\r'))
            return ERR_MALFORMED;
        a->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
        if (a->status < 100)
            return ERR_MALFORMED; /* "041" is three digits, not a status */
        a->has_location = false;
        const char *line = memchr(s, '\n', end);
        while (line != NULL && (size_t)(line + 1 - s) < end - 2) {
            const char *ls = line + 1;
            const char *le = memchr(ls, '\n', end - (size_t)(ls - s));
            if (le == NULL)
                return ERR_MALFORMED;
            size_t ll = (size_t)(le - ls);
            if (ll > 0 && ls[ll - 1] == '\r')
                ll--;
            const char *colon = memchr(ls, ':', ll);
            if (colon != NULL && ls[0] != ' ' && ls[0] != '\t') {
                const char *v = colon + 1, *ve = ls + ll;
                while (v < ve && (*v == ' ' || *v == '\t'))
                    v++;
                while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                    ve--;
                keep_header(a, ls, (size_t)(colon - ls), v, (size_t)(ve - v));
            }
            line = le;
        }
        buf_consume(&a->in, end);
        if (a->status >= 100 && a->status < 200 && a->status != 101)
            continue; /* an interim answer: the final one follows */
        a->done = true;
        return 0;
    }
}

/* ---- HPACK (RFC 7541) ---- */

static const char *const static_names[62] = {
    NULL,
    ":authority",
    ":method",
    ":method",
    ":path",
    ":path",
    ":scheme",
    ":scheme",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    ":status",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "accept",
    "access-control-allow-origin",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-range",
    "content-type",
    "cookie",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "link",
    "location",
    "max-forwards",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "refresh",
    "retry-after",
    "server",
    "set-cookie",
    "strict-transport-security",
    "transfer-encoding",
    "user-agent",
    "vary",
    "via",
    "www-authenticate",
};
static const char *const static_values[62] = {
    [2] = "GET", [3] = "POST", [4] = "/",    [5] = "/index.html", [6] = "http", [7] = "https", [8] = "200",
    [9] = "204", [10] = "206", [11] = "304", [12] = "400",        [13] = "404", [14] = "500",  [16] = "gzip, deflate",
};

struct hp {
    const uint8_t *p;
    size_t n, i;
};

/* §5.1 integer with an N-bit prefix (the prefix byte's other bits are the caller's). */
static int hp_int(struct hp *h, unsigned prefix, size_t *out)
{
    if (h->i >= h->n)
        return ERR_MALFORMED;
    size_t max = (1u << prefix) - 1, v = h->p[h->i++] & max;
    if (v < max) {
        *out = v;
        return 0;
    }
    for (unsigned shift = 0; shift <= 21; shift += 7) { /* values up to 2^28: plenty */
        if (h->i >= h->n)
            return ERR_MALFORMED;
        uint8_t b = h->p[h->i++];
        v += (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return ERR_MALFORMED;
}

/* §5.2 string literal, appended to out (NUL-terminated there). */
static int hp_str(struct hp *h, struct buf *out)
{
    if (h->i >= h->n)
        return ERR_MALFORMED;
    bool huffman = h->p[h->i] & 0x80;
    size_t len;
    TRY(hp_int(h, 7, &len));
    if (len > h->n - h->i)
        return ERR_MALFORMED;
    int rc = huffman ? reality_hpack_huffman_decode(h->p + h->i, len, out) : buf_append(out, h->p + h->i, len);
    h->i += len;
    return rc;
}

/* Index 1..61 static, 62.. dynamic (newest first). */
static int hp_lookup(const struct reality_http_answer *a, size_t idx, const char **name, const char **value)
{
    if (idx >= 1 && idx <= 61) {
        *name = static_names[idx];
        *value = static_values[idx] ? static_values[idx] : "";
        return 0;
    }
    if (idx >= 62 && idx - 62 < a->n_dyn) {
        *name = a->dyn[idx - 62].name;
        *value = a->dyn[idx - 62].value;
        return 0;
    }
    return ERR_MALFORMED;
}

static int dyn_add(struct reality_http_answer *a, const char *name, size_t nl, const char *value, size_t vl)
{
    size_t size = nl + vl + 32;
    if (size > a->dyn_max) { /* §4.4: an entry larger than the table empties it */
        dyn_evict(a, 0);
        return 0;
    }
    dyn_evict(a, a->dyn_max - size);
    if (a->n_dyn == sizeof(a->dyn) / sizeof(a->dyn[0]))
        return ERR_MALFORMED; /* cannot happen: every entry is at least 32 bytes */
    char *n = malloc(nl + 1), *v = malloc(vl + 1);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return ERR_NOMEM;
    }
    memcpy(n, name, nl);
    n[nl] = '\0';
    memcpy(v, value, vl);
    v[vl] = '\0';
    memmove(&a->dyn[1], &a->dyn[0], a->n_dyn * sizeof(a->dyn[0]));
    a->dyn[0] = (struct reality_hpack_entry){n, v, size};
    a->n_dyn++;
    a->dyn_size += size;
    return 0;
}

static int hpack_block(struct reality_http_answer *a, const uint8_t *p, size_t n)
{
    struct hp h = {p, n, 0};
    struct buf name, value;
    buf_init(&name);
    buf_init(&value);
    int rc = 0;
    a->status = 0;
    a->has_location = false;
    while (rc == 0 && h.i < h.n) {
        uint8_t b = h.p[h.i];
        size_t idx;
        buf_reset(&name);
        buf_reset(&value);
        if (b & 0x80) { /* §6.1 indexed field */
            const char *nm, *vl;
            if ((rc = hp_int(&h, 7, &idx)) == 0 && (rc = hp_lookup(a, idx, &nm, &vl)) == 0)
                keep_header(a, nm, strlen(nm), vl, strlen(vl));
            continue;
        }
        if ((b & 0xe0) == 0x20) { /* §6.3 dynamic table size update */
            if ((rc = hp_int(&h, 5, &idx)) == 0 && idx > REALITY_HPACK_TABLE_MAX)
                rc = ERR_MALFORMED;
            if (rc == 0) {
                a->dyn_max = idx;
                dyn_evict(a, idx);
            }
            continue;
        }
        bool incremental = (b & 0xc0) == 0x40; /* §6.2.1; else §6.2.2 / §6.2.3 */
        if ((rc = hp_int(&h, incremental ? 6 : 4, &idx)) < 0)
            break;
        if (idx == 0) {
            rc = hp_str(&h, &name);
        } else {
            const char *nm, *unused;
            if ((rc = hp_lookup(a, idx, &nm, &unused)) == 0)
                rc = buf_append(&name, nm, strlen(nm));
        }
        if (rc == 0)
            rc = hp_str(&h, &value);
        if (rc < 0)
            break;
        const char *nm = (const char *)buf_data(&name), *vl = (const char *)buf_data(&value);
        keep_header(a, nm ? nm : "", buf_len(&name), vl ? vl : "", buf_len(&value));
        if (incremental)
            rc = dyn_add(a, nm ? nm : "", buf_len(&name), vl ? vl : "", buf_len(&value));
    }
    buf_dispose(&name);
    buf_dispose(&value);
    if (rc == 0 && (a->status < 100 || a->status > 999))
        rc = ERR_MALFORMED; /* a response header block without :status */
    return rc;
}

/* ---- HTTP/2 frames ---- */

static int h2_feed(struct reality_http_answer *a, struct buf *out)
{
    while (buf_len(&a->in) >= 9) {
        const uint8_t *f = buf_data(&a->in);
        size_t len = (size_t)f[0] << 16 | (size_t)f[1] << 8 | f[2];
        uint8_t type = f[3], flags = f[4];
        uint32_t stream = ((uint32_t)f[5] << 24 | (uint32_t)f[6] << 16 | (uint32_t)f[7] << 8 | f[8]) & 0x7fffffffu;
        if (len > H2_FRAME_MAX)
            return ERR_MALFORMED;
        if (buf_len(&a->in) < 9 + len)
            return ERR_NEED_MORE;
        const uint8_t *pl = f + 9;
        if (a->in_block && type != H2_CONTINUATION)
            return ERR_MALFORMED; /* §6.10: nothing between HEADERS and its CONTINUATIONs */
        int rc = 0;
        switch (type) {
        case H2_SETTINGS:
            if (stream != 0 || len % 6 != 0 || ((flags & H2_ACK) && len != 0))
                return ERR_MALFORMED;
            if (!(flags & H2_ACK)) {
                TRY(h2_frame_header(out, 0, H2_SETTINGS, H2_ACK, 0));
            }
            break;
        case H2_GOAWAY:
            return ERR_CLOSED;
        case H2_RST_STREAM:
            if (stream == 1)
                return ERR_CLOSED;
            break;
        case H2_PUSH_PROMISE:
            return ERR_MALFORMED; /* we turned push off */
        case H2_HEADERS:
        case H2_CONTINUATION: {
            if (stream != 1)
                return type == H2_CONTINUATION ? ERR_MALFORMED : ERR_UNSUPPORTED;
            if (type == H2_CONTINUATION && !a->in_block)
                return ERR_MALFORMED;
            size_t off = 0, pad = 0;
            if (type == H2_HEADERS) {
                if (flags & H2_PADDED) {
                    if (len < 1)
                        return ERR_MALFORMED;
                    pad = pl[0];
                    off = 1;
                }
                if (flags & H2_PRIORITY)
                    off += 5;
                if (off + pad > len)
                    return ERR_MALFORMED;
            }
            if (buf_len(&a->block) + (len - off - pad) > REALITY_HTTP_HEAD_MAX)
                return ERR_TOO_LONG;
            TRY(buf_append(&a->block, pl + off, len - off - pad));
            a->in_block = !(flags & H2_END_HEADERS);
            if (!a->in_block) {
                rc = hpack_block(a, buf_data(&a->block), buf_len(&a->block));
                buf_reset(&a->block);
                if (rc < 0)
                    return rc;
                if (a->status >= 200 || a->status == 101) {
                    a->done = true;
                    buf_consume(&a->in, 9 + len);
                    return 0;
                }
            }
            break;
        }
        default:
            break; /* DATA, PRIORITY, PING, WINDOW_UPDATE, unknown types: not our question */
        }
        buf_consume(&a->in, 9 + len);
    }
    return ERR_NEED_MORE;
}

int reality_http_answer_feed(struct reality_http_answer *a, const uint8_t *p, size_t n, struct buf *out)
{
    if (a->done)
        return 0;
    if (buf_len(&a->in) + n > REALITY_HTTP_HEAD_MAX + H2_FRAME_MAX + 9)
        return ERR_TOO_LONG;
    TRY(buf_append(&a->in, p, n));
    return a->h2 ? h2_feed(a, out) : h1_feed(a);
}

/* ---- same site ---- */

/* The host of an absolute or scheme-relative URL, lowercased, without port, userinfo or a
 * trailing dot; false for a relative reference. */
static bool url_host(const char *url, char *host, size_t cap)
{
    const char *s = url;
    if (s[0] == '/' && s[1] == '/') {
        s += 2;
    } else {
        const char *colon = strchr(s, ':');
        const char *slash = strchr(s, '/');
        if (colon == NULL || (slash != NULL && slash < colon) || colon[1] != '/' || colon[2] != '/')
            return false;
        for (const char *c = s; c < colon; c++)
            if (!isalnum((unsigned char)*c) && *c != '+' && *c != '-' && *c != '.')
                return false;
        s = colon + 3;
    }
    size_t end = strcspn(s, "/?#");
    const char *at = memchr(s, '@', end);
    if (at != NULL) {
        end -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    size_t hl = end;
    if (s[0] == '[') { /* [v6]:port */
        const char *rb = memchr(s, ']', end);
        hl = rb ? (size_t)(rb + 1 - s) : end;
    } else {
        const char *pc = memchr(s, ':', end);
        if (pc != NULL)
            hl = (size_t)(pc - s);
    }
    while (hl > 0 && s[hl - 1] == '.')
        hl--;
    if (hl == 0 || hl >= cap)
        return hl == 0 ? false : (host[0] = '\0', true);
    for (size_t i = 0; i < hl; i++)
        host[i] = (char)tolower((unsigned char)s[i]);
    host[hl] = '\0';
    return true;
}

static const char *registrable(const char *host)
{
    size_t n = strlen(host);
    if (n == 0 || host[0] == '[' || strspn(host, "0123456789.") == n)
        return host; /* an IP literal is its own site */
    const char *last = strrchr(host, '.');
    if (last == NULL)
        return host;
    const char *second = NULL;
    for (const char *c = last; c > host; c--)
        if (c[-1] == '.') {
            second = c - 1;
            break;
        }
    if (second == NULL)
        return host;
    static const char *const slds[] = {"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", NULL};
    size_t tld = strlen(last + 1), sl = (size_t)(last - second - 1);
    bool country_sld = false;
    for (int i = 0; slds[i] && tld == 2; i++)
        if (strlen(slds[i]) == sl && memcmp(second + 1, slds[i], sl) == 0)
            country_sld = true;
    if (!country_sld)
        return second + 1;
    for (const char *c = second; c > host; c--)
        if (c[-1] == '.')
            return c;
    return host;
}

bool reality_http_same_site(const char *sni, const char *location)
{
    char host[256], site[256];
    if (!url_host(location, host, sizeof host))
        return true; /* relative: the same host */
    if (host[0] == '\0')
        return false; /* a host too long to be a DNS name is not ours */
    size_t sl = strlen(sni);
    if (sl == 0 || sl >= sizeof site)
        return false;
    for (size_t i = 0; i <= sl; i++)
        site[i] = (char)tolower((unsigned char)sni[i]);
    while (sl > 0 && site[sl - 1] == '.')
        site[--sl] = '\0';
    return strcmp(registrable(host), registrable(site)) == 0;
}
