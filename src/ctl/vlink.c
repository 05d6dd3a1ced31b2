/* vless:// share links: writer and parser (spec/config-and-links.md §5). */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "ctl/vlink.h"

#define FLOW_VISION "xtls-rprx-vision"
#define FLOW_VISION_UDP443 "xtls-rprx-vision-udp443"

static void copy_str(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

void vlink_init_reality(struct vlink *l)
{
    memset(l, 0, sizeof(*l));
    copy_str(l->encryption, sizeof(l->encryption), "none");
    copy_str(l->flow, sizeof(l->flow), FLOW_VISION);
    copy_str(l->security, sizeof(l->security), "reality");
    copy_str(l->fp, sizeof(l->fp), "chrome");
    copy_str(l->spx, sizeof(l->spx), "/");
    copy_str(l->type, sizeof(l->type), "tcp");
    copy_str(l->header_type, sizeof(l->header_type), "none");
}

bool vlink_is_raw(const struct vlink *l)
{
    return strcmp(l->type, "tcp") == 0 || strcmp(l->type, "raw") == 0;
}

/* ---- writer ---- */

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

/* Writes the percent-encoding of s[0..len) at p (room for 3 * len); returns the bytes written. */
static size_t pct_into(uint8_t *p, const char *s, size_t len)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c)) {
            p[n++] = c;
        } else {
            p[n++] = '%';
            p[n++] = (uint8_t)hexd[c >> 4];
            p[n++] = (uint8_t)hexd[c & 15];
        }
    }
    return n;
}

int vlink_pct_encode(struct buf *out, const char *s, size_t len)
{
    /* Worst case triples the length; reserve once so a failure leaves out unchanged. */
    if (len > (SIZE_MAX - 1) / 3)
        return ERR_TOO_LONG;
    TRY(buf_reserve(out, len * 3));
    buf_produce(out, pct_into(buf_tail(out), s, len));
    return 0;
}

static int put(struct buf *out, const char *s)
{
    return buf_append(out, s, strlen(s));
}

/* Appends "<sep><key>=<pct(value)>"; `*first` picks '?' or '&'. */
static int put_param(struct buf *out, bool *first, const char *key, const char *value)
{
    /* One reservation for the whole parameter: a link has a dozen of them. */
    size_t klen = strlen(key), vlen = strlen(value);
    if (vlen > (SIZE_MAX - 2 - klen) / 3)
        return ERR_TOO_LONG;
    TRY(buf_reserve(out, 2 + klen + 3 * vlen));
    uint8_t *p = buf_tail(out);
    size_t n = 0;
    p[n++] = *first ? '?' : '&';
    *first = false;
    memcpy(p + n, key, klen);
    n += klen;
    p[n++] = '=';
    n += pct_into(p + n, value, vlen);
    buf_produce(out, n);
    return 0;
}

static int format_into(const struct vlink *l, struct buf *out)
{
    TRY(put(out, "vless://"));
    TRY(vlink_pct_encode(out, l->id, strlen(l->id)));
    TRY(put(out, "@"));
    bool v6 = strchr(l->host, ':') != NULL;
    if (v6)
        TRY(put(out, "["));
    TRY(put(out, l->host));
    if (v6)
        TRY(put(out, "]"));
    char port[8];
    size_t pn = 0;
    char rev[6];
    size_t rn = 0;
    for (unsigned v = l->port; v > 0; v /= 10)
        rev[rn++] = (char)('0' + v % 10);
    port[pn++] = ':';
    while (rn > 0)
        port[pn++] = rev[--rn];
    TRY(buf_append(out, port, pn));

    bool first = true;
    TRY(put_param(out, &first, "encryption", l->encryption[0] ? l->encryption : "none"));
    if (l->flow[0])
        TRY(put_param(out, &first, "flow", l->flow));
    TRY(put_param(out, &first, "security", l->security[0] ? l->security : "none"));
    if (l->sni[0])
        TRY(put_param(out, &first, "sni", l->sni));
    if (l->fp[0])
        TRY(put_param(out, &first, "fp", l->fp));
    if (l->pbk[0])
        TRY(put_param(out, &first, "pbk", l->pbk));
    if (l->sid[0])
        TRY(put_param(out, &first, "sid", l->sid));
    if (l->spx[0])
        TRY(put_param(out, &first, "spx", l->spx));
    if (l->pqv[0])
        TRY(put_param(out, &first, "pqv", l->pqv));
    TRY(put_param(out, &first, "type", l->type[0] ? l->type : "tcp"));
    if (l->type[0] == '\0' || vlink_is_raw(l))
        TRY(put_param(out, &first, "headerType", l->header_type[0] ? l->header_type : "none"));
    if (l->host_header[0])
        TRY(put_param(out, &first, "host", l->host_header));
    if (l->path[0])
        TRY(put_param(out, &first, "path", l->path));
    if (l->alpn[0])
        TRY(put_param(out, &first, "alpn", l->alpn));
    if (l->remark[0]) {
        TRY(put(out, "#"));
        TRY(vlink_pct_encode(out, l->remark, strlen(l->remark)));
    }
    return 0;
}

static bool host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool vlink_host_valid(const char *host)
{
    uint8_t addr[16];
    if (strchr(host, ':') != NULL)
        return inet_pton(AF_INET6, host, addr) == 1;
    size_t n = strlen(host), label = 0;
    if (n == 0 || n > VLINK_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c == '.') {
            if (label == 0 || host[i - 1] == '-')
                return false; /* empty label, or one ending in '-' */
            label = 0;
        } else if (!host_char(c) || ++label > 63 || (label == 1 && c == '-')) {
            return false;
        }
    }
    return host[n - 1] != '-'; /* IPv4 dotted quads pass as labels of digits */
}

int vlink_format(const struct vlink *l, struct buf *out)
{
    if (l->id[0] == '\0' || !vlink_host_valid(l->host) || l->port == 0)
        return ERR_MALFORMED;
    size_t mark = out->wpos;
    int rc = format_into(l, out);
    if (rc < 0)
        out->wpos = mark; /* appends only ever grow wpos, so rewinding undoes them */
    return rc;
}

char *vlink_format_str(const struct vlink *l)
{
    struct buf b;
    buf_init(&b);
    if (vlink_format(l, &b) < 0 || buf_append(&b, "", 1) < 0) {
        buf_dispose(&b);
        return NULL;
    }
    char *s = malloc(buf_len(&b));
    if (s != NULL)
        memcpy(s, buf_data(&b), buf_len(&b));
    buf_dispose(&b);
    return s;
}

/* ---- parser ---- */

/* Percent-decodes s[0..len) into dst (cap bytes incl. NUL). A decoded NUL is refused: every
 * field is used as a C string. */
static int pct_decode(char *dst, size_t cap, const char *s, size_t len, const char **why)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            if (len - i < 3 || hex_digit_value(s[i + 1]) < 0 || hex_digit_value(s[i + 2]) < 0) {
                *why = "bad percent escape";
                return ERR_MALFORMED;
            }
            c = (char)(hex_digit_value(s[i + 1]) * 16 + hex_digit_value(s[i + 2]));
            i += 2;
        }
        if (c == '\0') {
            *why = "NUL byte";
            return ERR_MALFORMED;
        }
        if (n + 1 >= cap) {
            *why = "field too long";
            return ERR_TOO_LONG;
        }
        dst[n++] = c;
    }
    dst[n] = '\0';
    return 0;
}

/* true when every '%' starts a two-hex-digit escape. */
static bool pct_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '%' && (len - i < 3 || hex_digit_value(s[i + 1]) < 0 || hex_digit_value(s[i + 2]) < 0))
            return false;
    return true;
}

static bool is_hex_str(const char *s)
{
    for (; *s; s++)
        if (hex_digit_value(*s) < 0)
            return false;
    return true;
}

static bool is_b64url_str(const char *s)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

struct known_key {
    const char *name;
    size_t off, cap;
};

#define KK(name, field)                                                                                                \
    {                                                                                                                  \
        name, offsetof(struct vlink, field), sizeof(((struct vlink *)0)->field)                                        \
    }
static const struct known_key known_keys[] = {
    KK("encryption", encryption),
    KK("flow", flow),
    KK("security", security),
    KK("sni", sni),
    KK("fp", fp),
    KK("pbk", pbk),
    KK("sid", sid),
    KK("spx", spx),
    KK("pqv", pqv),
    KK("type", type),
    KK("headerType", header_type),
    KK("host", host_header),
    KK("path", path),
    KK("alpn", alpn),
};
#undef KK
#define N_KNOWN (sizeof(known_keys) / sizeof(known_keys[0]))

static int parse_query(struct vlink *l, const char *q, size_t qlen, const char **why)
{
    bool seen[N_KNOWN] = {false};
    size_t i = 0;
    while (i <= qlen) {
        size_t end = i;
        while (end < qlen && q[end] != '&')
            end++;
        const char *kv = q + i;
        size_t kvlen = end - i;
        i = end + 1;
        if (kvlen == 0)
            continue; /* "a=1&&b=2" or a trailing '&' */
        const char *eq = memchr(kv, '=', kvlen);
        size_t klen = eq ? (size_t)(eq - kv) : kvlen;
        const char *v = eq ? eq + 1 : kv + kvlen;
        size_t vlen = eq ? kvlen - klen - 1 : 0;
        char key[32];
        if (!pct_valid(kv, klen)) {
            *why = "bad percent escape";
            return ERR_MALFORMED;
        }
        if (pct_decode(key, sizeof(key), kv, klen, why) < 0)
            key[0] = '\0'; /* too long or NUL: cannot be a known key */
        for (size_t k = 0; k < N_KNOWN; k++) {
            if (strcmp(key, known_keys[k].name) != 0)
                continue;
            if (seen[k]) {
                *why = "repeated query key";
                return ERR_MALFORMED;
            }
            seen[k] = true;
            TRY(pct_decode((char *)l + known_keys[k].off, known_keys[k].cap, v, vlen, why));
            break;
        }
        if (!pct_valid(v, vlen)) { /* unknown keys are ignored, but must be well-formed */
            *why = "bad percent escape";
            return ERR_MALFORMED;
        }
    }
    return 0;
}

static int parse_port(const char *s, size_t len, uint16_t *port, const char **why)
{
    if (len == 0) {
        *why = "missing port";
        return ERR_MALFORMED;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            *why = "port is not a number";
            return ERR_MALFORMED;
        }
        v = v * 10 + (uint32_t)(s[i] - '0');
        if (v > 65535) {
            *why = "port out of range";
            return ERR_RANGE;
        }
    }
    if (v == 0) {
        *why = "port out of range";
        return ERR_RANGE;
    }
    *port = (uint16_t)v;
    return 0;
}

static int parse_authority(struct vlink *l, const char *a, size_t alen, const char **why)
{
    /* The id may hold a percent-encoded '@' but never a raw one: split at the last '@'. */
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (a[i] == '@')
            at = a + i;
    if (at == NULL) {
        *why = "missing '@'";
        return ERR_MALFORMED;
    }
    size_t idlen = (size_t)(at - a);
    if (idlen == 0) {
        *why = "missing user id";
        return ERR_MALFORMED;
    }
    TRY(pct_decode(l->id, sizeof(l->id), a, idlen, why));
    const char *h = at + 1;
    size_t hlen = alen - idlen - 1;
    const char *hs, *pe;
    size_t hn;
    if (hlen > 0 && h[0] == '[') {
        const char *rb = memchr(h, ']', hlen);
        if (rb == NULL) {
            *why = "unterminated '['";
            return ERR_MALFORMED;
        }
        hs = h + 1;
        hn = (size_t)(rb - hs);
        if (hn == 0 || memchr(hs, ':', hn) == NULL) {
            *why = "bad IPv6 literal";
            return ERR_MALFORMED;
        }
        pe = rb + 1;
        if (pe == h + hlen || *pe != ':') {
            *why = "missing port";
            return ERR_MALFORMED;
        }
    } else {
        const char *colon = memchr(h, ':', hlen);
        if (colon == NULL) {
            *why = "missing port";
            return ERR_MALFORMED;
        }
        hs = h;
        hn = (size_t)(colon - h);
        pe = colon;
        if (memchr(pe + 1, ':', (size_t)(h + hlen - pe - 1)) != NULL) {
            *why = "IPv6 address needs brackets";
            return ERR_MALFORMED;
        }
    }
    if (hn == 0) {
        *why = "missing host";
        return ERR_MALFORMED;
    }
    for (size_t i = 0; i < hn; i++) {
        unsigned char c = (unsigned char)hs[i];
        if (c <= ' ' || c == '%' || c == '[' || c == ']' || c == '/' || c == '\\' || c >= 0x7f) {
            *why = "bad character in host";
            return ERR_MALFORMED;
        }
    }
    if (hn > VLINK_HOST_MAX) {
        *why = "host too long";
        return ERR_TOO_LONG;
    }
    memcpy(l->host, hs, hn);
    l->host[hn] = '\0';
    /* The writer refuses what is neither a domain name nor an IP literal: so does the reader,
     * or a link we accept could not be written back (a subscription would lose the node). */
    if (!vlink_host_valid(l->host)) {
        *why = "host is not a domain name or IP address";
        l->host[0] = '\0';
        return ERR_MALFORMED;
    }
    return parse_port(pe + 1, (size_t)(h + hlen - pe - 1), &l->port, why);
}

static int validate(struct vlink *l, const char **why)
{
    if (l->encryption[0] == '\0')
        copy_str(l->encryption, sizeof(l->encryption), "none");
    if (l->security[0] == '\0')
        copy_str(l->security, sizeof(l->security), "none");
    if (l->type[0] == '\0')
        copy_str(l->type, sizeof(l->type), "tcp");
    if (strcmp(l->flow, FLOW_VISION_UDP443) == 0) {
        copy_str(l->flow, sizeof(l->flow), FLOW_VISION);
        l->udp443 = true;
    } else if (l->flow[0] != '\0' && strcmp(l->flow, FLOW_VISION) != 0) {
        *why = "unsupported flow";
        return ERR_UNSUPPORTED;
    }
    if (strcmp(l->security, "reality") != 0 && strcmp(l->security, "tls") != 0 && strcmp(l->security, "none") != 0) {
        *why = "unsupported security";
        return ERR_UNSUPPORTED;
    }
    size_t sl = strlen(l->sid);
    if (sl % 2 != 0 || !is_hex_str(l->sid)) {
        *why = "sid must be even-length hex";
        return ERR_MALFORMED;
    }
    if (strcmp(l->security, "reality") == 0) {
        if (l->pbk[0] == '\0') {
            *why = "security=reality needs pbk";
            return ERR_MALFORMED;
        }
        if (strlen(l->pbk) != 43 || !is_b64url_str(l->pbk)) {
            *why = "pbk must be 43 base64url characters";
            return ERR_MALFORMED;
        }
        if (l->pqv[0] != '\0' && !is_b64url_str(l->pqv)) {
            *why = "pqv must be base64url";
            return ERR_MALFORMED;
        }
    }
    if (l->sni[0] == '\0')
        copy_str(l->sni, sizeof(l->sni), l->host);
    return 0;
}

static int parse_inner(struct vlink *l, const char *s, size_t len, const char **why)
{
    static const char scheme[] = "vless://";
    const size_t sch = sizeof(scheme) - 1;
    if (len > VLINK_TEXT_MAX) {
        *why = "link too long";
        return ERR_TOO_LONG;
    }
    if (memchr(s, '\0', len) != NULL) {
        *why = "NUL byte";
        return ERR_MALFORMED;
    }
    if (len < sch) {
        *why = "not a vless:// link";
        return ERR_MALFORMED;
    }
    for (size_t i = 0; i < sch; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != scheme[i]) {
            *why = "not a vless:// link";
            return ERR_MALFORMED;
        }
    }
    const char *p = s + sch, *end = s + len;
    const char *hash = memchr(p, '#', (size_t)(end - p));
    const char *qend = hash ? hash : end;
    const char *qm = memchr(p, '?', (size_t)(qend - p));
    const char *aend = qm ? qm : qend;
    /* Tolerate "host:port/?query" as some writers emit it. */
    if (aend > p && aend[-1] == '/')
        aend--;
    TRY(parse_authority(l, p, (size_t)(aend - p), why));
    if (qm != NULL)
        TRY(parse_query(l, qm + 1, (size_t)(qend - qm - 1), why));
    if (hash != NULL)
        TRY(pct_decode(l->remark, sizeof(l->remark), hash + 1, (size_t)(end - hash - 1), why));
    return validate(l, why);
}

int vlink_parse(struct vlink *l, const char *s, size_t len, const char **why)
{
    const char *dummy = NULL;
    if (why == NULL)
        why = &dummy;
    *why = "ok";
    memset(l, 0, sizeof(*l));
    int rc = parse_inner(l, s, len, why);
    if (rc < 0)
        memset(l, 0, sizeof(*l));
    else
        *why = "ok";
    return rc;
}
