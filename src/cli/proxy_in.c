#include "cli/proxy_in.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/wire.h"

enum {
    SOCKS_VERSION = 5,
    SOCKS_METHOD_NONE = 0x00,
    SOCKS_METHOD_UNACCEPTABLE = 0xff,
    SOCKS_CMD_CONNECT = 1,
    SOCKS_CMD_UDP_ASSOCIATE = 3,
    SOCKS_ATYP_IPV4 = 1,
    SOCKS_ATYP_DOMAIN = 3,
    SOCKS_ATYP_IPV6 = 4,
    SOCKS_REP_OK = 0,
    SOCKS_REP_FAILURE = 1,
    SOCKS_REP_CMD_UNSUPPORTED = 7,
    SOCKS_REP_ATYP_UNSUPPORTED = 8,
};

void proxy_in_init(struct proxy_in *p)
{
    memset(p, 0, sizeof(*p));
}

static int socks_error(struct proxy_in *p, uint8_t rep, struct buf *reply, int rc)
{
    const uint8_t r[10] = {SOCKS_VERSION, rep, 0, SOCKS_ATYP_IPV4, 0, 0, 0, 0, 0, 0};
    p->state = PROXY_IN_ST_FAILED;
    int w = buf_append(reply, r, sizeof(r));
    return w < 0 ? w : rc;
}

static int socks_greeting(struct proxy_in *p, struct wire_rd *r, struct buf *reply)
{
    uint8_t ver, n;
    struct bytes methods;
    if (wire_rd_u8(r, &ver) < 0 || wire_rd_u8(r, &n) < 0 || wire_rd_bytes(r, n, &methods) < 0)
        return ERR_NEED_MORE;
    if (ver != SOCKS_VERSION || n == 0) {
        p->state = PROXY_IN_ST_FAILED;
        return ERR_MALFORMED;
    }
    bool none = memchr(methods.p, SOCKS_METHOD_NONE, methods.len) != NULL;
    const uint8_t ans[2] = {SOCKS_VERSION, none ? SOCKS_METHOD_NONE : SOCKS_METHOD_UNACCEPTABLE};
    TRY(buf_append(reply, ans, 2));
    if (!none) {
        p->state = PROXY_IN_ST_FAILED;
        return ERR_UNSUPPORTED;
    }
    p->state = PROXY_IN_ST_SOCKS_REQUEST;
    return 0;
}

static int socks_request(struct proxy_in *p, struct wire_rd *r, struct buf *reply)
{
    uint8_t ver, cmd, rsv, atyp;
    if (wire_rd_u8(r, &ver) < 0 || wire_rd_u8(r, &cmd) < 0 || wire_rd_u8(r, &rsv) < 0 || wire_rd_u8(r, &atyp) < 0)
        return ERR_NEED_MORE;
    if (ver != SOCKS_VERSION)
        return socks_error(p, SOCKS_REP_FAILURE, reply, ERR_MALFORMED);
    uint8_t ip[16], dlen = 0;
    struct bytes name = {0};
    switch (atyp) {
    case SOCKS_ATYP_IPV4:
        if (wire_rd_copy(r, ip, 4) < 0)
            return ERR_NEED_MORE;
        break;
    case SOCKS_ATYP_IPV6:
        if (wire_rd_copy(r, ip, 16) < 0)
            return ERR_NEED_MORE;
        break;
    case SOCKS_ATYP_DOMAIN:
        if (wire_rd_u8(r, &dlen) < 0 || wire_rd_bytes(r, dlen, &name) < 0)
            return ERR_NEED_MORE;
        break;
    default:
        return socks_error(p, SOCKS_REP_ATYP_UNSUPPORTED, reply, ERR_UNSUPPORTED);
    }
    uint16_t port;
    if (wire_rd_u16(r, &port) < 0)
        return ERR_NEED_MORE;
    if (cmd != SOCKS_CMD_CONNECT && cmd != SOCKS_CMD_UDP_ASSOCIATE)
        return socks_error(p, SOCKS_REP_CMD_UNSUPPORTED, reply, ERR_UNSUPPORTED);
    p->udp = cmd == SOCKS_CMD_UDP_ASSOCIATE;
    if (atyp == SOCKS_ATYP_DOMAIN && dlen == 0 && p->udp) /* "any": only the address matters to us */
        vless_addr_ipv4(&p->dest, (const uint8_t[4]){0}, port);
    else if (atyp == SOCKS_ATYP_IPV4)
        vless_addr_ipv4(&p->dest, ip, port);
    else if (atyp == SOCKS_ATYP_IPV6)
        vless_addr_ipv6(&p->dest, ip, port);
    else if (vless_addr_domain(&p->dest, (const char *)name.p, name.len, port) < 0)
        return socks_error(p, SOCKS_REP_FAILURE, reply, ERR_MALFORMED);
    p->state = PROXY_IN_ST_DONE;
    return 0;
}

/* "host:port" or "[v6]:port" from a CONNECT request target. */
static int parse_authority(struct proxy_in *p, const char *s, size_t len)
{
    const char *colon = NULL;
    size_t hlen;
    const char *host = s;
    if (len > 0 && s[0] == '[') {
        const char *end = memchr(s, ']', len);
        if (end == NULL || end + 1 >= s + len || end[1] != ':')
            return ERR_MALFORMED;
        host = s + 1;
        hlen = (size_t)(end - host);
        colon = end + 1;
    } else {
        for (size_t i = len; i > 0; i--)
            if (s[i - 1] == ':') {
                colon = s + i - 1;
                break;
            }
        if (colon == NULL)
            return ERR_MALFORMED;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL) /* bare IPv6 without brackets */
            return ERR_MALFORMED;
    }
    const char *ps = colon + 1;
    size_t plen = (size_t)(s + len - ps);
    if (plen == 0 || plen > 5 || hlen == 0 || hlen > 255)
        return ERR_MALFORMED;
    unsigned port = 0;
    for (size_t i = 0; i < plen; i++) {
        if (ps[i] < '0' || ps[i] > '9')
            return ERR_MALFORMED;
        port = port * 10 + (unsigned)(ps[i] - '0');
    }
    if (port == 0 || port > 65535)
        return ERR_MALFORMED;
    char name[256];
    memcpy(name, host, hlen);
    name[hlen] = '\0';
    uint8_t ip[16];
    if (inet_pton(AF_INET, name, ip) == 1) {
        vless_addr_ipv4(&p->dest, ip, (uint16_t)port);
        return 0;
    }
    if (inet_pton(AF_INET6, name, ip) == 1) {
        vless_addr_ipv6(&p->dest, ip, (uint16_t)port);
        return 0;
    }
    if (host != s) /* brackets around something that is not IPv6 */
        return ERR_MALFORMED;
    return vless_addr_domain(&p->dest, name, hlen, (uint16_t)port) < 0 ? ERR_MALFORMED : 0;
}

static int http_error(struct proxy_in *p, const char *status, struct buf *reply, int rc)
{
    p->state = PROXY_IN_ST_FAILED;
    char line[128];
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
    int w = buf_append(reply, line, (size_t)n);
    return w < 0 ? w : rc;
}

static int http_request(struct proxy_in *p, const uint8_t *in, size_t len, size_t *consumed, struct buf *reply)
{
    /* Find the end of the head: CRLF CRLF (bare LF LF tolerated). */
    size_t end = 0;
    for (size_t i = 0; i + 1 < len && end == 0; i++) {
        if (in[i] == '\n' && in[i + 1] == '\n')
            end = i + 2;
        else if (i + 3 < len && !memcmp(in + i, "\r\n\r\n", 4))
            end = i + 4;
    }
    if (end == 0) {
        if (len > PROXY_IN_HTTP_MAX)
            return http_error(p, "431 Request Header Fields Too Large", reply, ERR_TOO_LONG);
        return ERR_NEED_MORE;
    }
    if (end > PROXY_IN_HTTP_MAX)
        return http_error(p, "431 Request Header Fields Too Large", reply, ERR_TOO_LONG);
    const char *line = (const char *)in;
    const char *eol = memchr(line, '\n', end);
    size_t llen = (size_t)(eol - line);
    if (llen > 0 && line[llen - 1] == '\r')
        llen--;
    /* METHOD SP authority SP HTTP/1.x */
    const char *sp1 = memchr(line, ' ', llen);
    if (sp1 == NULL)
        return http_error(p, "400 Bad Request", reply, ERR_MALFORMED);
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', llen - (size_t)(target - line));
    if (sp2 == NULL)
        return http_error(p, "400 Bad Request", reply, ERR_MALFORMED);
    size_t vlen = llen - (size_t)(sp2 + 1 - line);
    if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return http_error(p, "400 Bad Request", reply, ERR_MALFORMED);
    if ((size_t)(sp1 - line) != 7 || memcmp(line, "CONNECT", 7) != 0)
        return http_error(p, "405 Method Not Allowed", reply, ERR_UNSUPPORTED);
    if (parse_authority(p, target, (size_t)(sp2 - target)) < 0)
        return http_error(p, "400 Bad Request", reply, ERR_MALFORMED);
    *consumed = end;
    p->state = PROXY_IN_ST_DONE;
    return 0;
}

int proxy_in_feed(struct proxy_in *p, const uint8_t *in, size_t len, size_t *consumed, struct buf *reply)
{
    *consumed = 0;
    for (;;) {
        struct wire_rd r = wire_rd_init(in + *consumed, len - *consumed);
        int rc;
        switch (p->state) {
        case PROXY_IN_ST_EXPECT_FIRST:
            if (len == 0)
                return ERR_NEED_MORE;
            if (in[0] == SOCKS_VERSION) {
                p->kind = PROXY_IN_SOCKS5;
                p->state = PROXY_IN_ST_SOCKS_GREETING;
            } else if (in[0] >= 'A' && in[0] <= 'Z') {
                p->kind = PROXY_IN_HTTP_CONNECT;
                p->state = PROXY_IN_ST_HTTP_REQUEST;
            } else {
                p->state = PROXY_IN_ST_FAILED;
                return ERR_MALFORMED;
            }
            continue;
        case PROXY_IN_ST_SOCKS_GREETING:
            rc = socks_greeting(p, &r, reply);
            if (rc < 0)
                return rc;
            *consumed += r.pos;
            continue;
        case PROXY_IN_ST_SOCKS_REQUEST:
            rc = socks_request(p, &r, reply);
            if (rc == 0)
                *consumed += r.pos;
            return rc;
        case PROXY_IN_ST_HTTP_REQUEST:
            return http_request(p, in, len, consumed, reply);
        case PROXY_IN_ST_DONE:
            return 0;
        case PROXY_IN_ST_FAILED:
        case PROXY_IN_ST__COUNT:
        default:
            return ERR_BAD_STATE;
        }
    }
}

int proxy_in_reply(const struct proxy_in *p, int ok, struct buf *reply)
{
    if (p->kind == PROXY_IN_SOCKS5) {
        /* BND.ADDR is not meaningful through a tunnel: 0.0.0.0:0, as most proxies answer. */
        const uint8_t r[10] = {
            SOCKS_VERSION, ok ? SOCKS_REP_OK : SOCKS_REP_FAILURE, 0, SOCKS_ATYP_IPV4, 0, 0, 0, 0, 0, 0};
        return buf_append(reply, r, sizeof(r));
    }
    const char *s = ok ? "HTTP/1.1 200 Connection established\r\n\r\n"
                       : "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    return buf_append(reply, s, strlen(s));
}

/* ATYP | address | port, SOCKS5 style (address before port, domain type 3). */
static int socks_addr_write(struct buf *out, const struct vless_addr *a)
{
    int rc;
    switch (a->type) {
    case VLESS_ATYP_IPV4:
        rc = wire_wr_u8(out, SOCKS_ATYP_IPV4) < 0 ? ERR_NOMEM : wire_wr_bytes(out, a->ip, 4);
        break;
    case VLESS_ATYP_IPV6:
        rc = wire_wr_u8(out, SOCKS_ATYP_IPV6) < 0 ? ERR_NOMEM : wire_wr_bytes(out, a->ip, 16);
        break;
    case VLESS_ATYP_DOMAIN:
        if (a->domain_len == 0)
            return ERR_RANGE;
        rc = wire_wr_u8(out, SOCKS_ATYP_DOMAIN) < 0 || wire_wr_u8(out, a->domain_len) < 0
                 ? ERR_NOMEM
                 : wire_wr_bytes(out, a->domain, a->domain_len);
        break;
    case VLESS_ATYP_NONE:
    case VLESS_ATYP__COUNT:
    default:
        return ERR_RANGE;
    }
    return rc < 0 ? rc : wire_wr_u16(out, a->port);
}

int proxy_in_reply_bound(const struct vless_addr *bnd, struct buf *reply)
{
    size_t mark = buf_len(reply);
    const uint8_t h[3] = {SOCKS_VERSION, SOCKS_REP_OK, 0};
    int rc = buf_append(reply, h, sizeof(h));
    if (rc == 0)
        rc = socks_addr_write(reply, bnd);
    if (rc < 0)
        reply->wpos = reply->rpos + mark;
    return rc;
}

int proxy_in_udp_parse(const uint8_t *p, size_t len, struct vless_addr *dst, struct bytes *payload)
{
    struct wire_rd r = wire_rd_init(p, len);
    uint16_t rsv, port;
    uint8_t frag, atyp, ip[16], dlen;
    struct bytes name = {0};
    if (wire_rd_u16(&r, &rsv) < 0 || wire_rd_u8(&r, &frag) < 0 || wire_rd_u8(&r, &atyp) < 0)
        return ERR_MALFORMED;
    if (rsv != 0)
        return ERR_MALFORMED;
    if (frag != 0)
        return ERR_UNSUPPORTED;
    switch (atyp) {
    case SOCKS_ATYP_IPV4:
        if (wire_rd_copy(&r, ip, 4) < 0)
            return ERR_MALFORMED;
        break;
    case SOCKS_ATYP_IPV6:
        if (wire_rd_copy(&r, ip, 16) < 0)
            return ERR_MALFORMED;
        break;
    case SOCKS_ATYP_DOMAIN:
        if (wire_rd_u8(&r, &dlen) < 0 || dlen == 0 || wire_rd_bytes(&r, dlen, &name) < 0)
            return ERR_MALFORMED;
        break;
    default:
        return ERR_MALFORMED;
    }
    if (wire_rd_u16(&r, &port) < 0)
        return ERR_MALFORMED;
    if (atyp == SOCKS_ATYP_IPV4)
        vless_addr_ipv4(dst, ip, port);
    else if (atyp == SOCKS_ATYP_IPV6)
        vless_addr_ipv6(dst, ip, port);
    else if (memchr(name.p, 0, name.len) != NULL || vless_addr_domain(dst, (const char *)name.p, name.len, port) < 0)
        return ERR_MALFORMED;
    payload->p = p + r.pos;
    payload->len = len - r.pos;
    return 0;
}

int proxy_in_udp_encode(struct buf *out, const struct vless_addr *src, const uint8_t *p, size_t n)
{
    size_t mark = buf_len(out);
    const uint8_t h[3] = {0, 0, 0};
    int rc = buf_append(out, h, sizeof(h));
    if (rc == 0)
        rc = socks_addr_write(out, src);
    if (rc == 0)
        rc = buf_append(out, p, n);
    if (rc < 0)
        out->wpos = out->rpos + mark;
    return rc;
}
