#include "net/proxy_proto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/wire.h"

static const uint8_t v2_sig[PROXY_V2_SIG_LEN] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                                 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

enum {
    V2_CMD_LOCAL = 0x20,
    V2_CMD_PROXY = 0x21,
    V2_FAM_UNSPEC = 0x00,
    V2_FAM_TCP4 = 0x11,
    V2_FAM_UDP4 = 0x12,
    V2_FAM_TCP6 = 0x21,
    V2_FAM_UDP6 = 0x22,
};

static int parse_v2(const uint8_t *p, size_t len, struct proxy_header *h)
{
    if (len < 16)
        return ERR_NEED_MORE;
    uint8_t vc = p[12], fam = p[13];
    size_t body = wire_be16(p + 14);
    if (vc != V2_CMD_LOCAL && vc != V2_CMD_PROXY)
        return ERR_MALFORMED;
    if (body > PROXY_V2_MAX - 16)
        return ERR_MALFORMED;
    if (len < 16 + body)
        return ERR_NEED_MORE;
    h->version = 2;
    h->len = 16 + body;
    if (vc == V2_CMD_LOCAL) {
        h->local = true; /* health checks from the balancer itself */
        return 0;
    }
    const uint8_t *a = p + 16;
    switch (fam) {
    case V2_FAM_TCP4:
    case V2_FAM_UDP4:
        if (body < 12)
            return ERR_MALFORMED;
        sock_addr_from_v4(&h->src, a, wire_be16(a + 8));
        sock_addr_from_v4(&h->dst, a + 4, wire_be16(a + 10));
        return 0;
    case V2_FAM_TCP6:
    case V2_FAM_UDP6:
        if (body < 36)
            return ERR_MALFORMED;
        sock_addr_from_v6(&h->src, a, wire_be16(a + 32));
        sock_addr_from_v6(&h->dst, a + 16, wire_be16(a + 34));
        return 0;
    case V2_FAM_UNSPEC:
        h->local = true;
        return 0;
    default:
        return ERR_MALFORMED; /* AF_UNIX and unknown families */
    }
}

/* Splits the v1 line into at most 6 space-separated fields. */
static size_t split_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (n < max)
            f[n] = t;
        n++;
    }
    return n;
}

/* PROXY v1 ports have no leading zeros (HAProxy's spec); otherwise sock_port_parse's rule. */
static int v1_port(const char *s, uint16_t *port)
{
    if (s[0] == '0' && s[1] != '\0')
        return ERR_MALFORMED;
    return sock_port_parse(s, port);
}

static int parse_v1(const uint8_t *p, size_t len, struct proxy_header *h)
{
    const uint8_t *lf = memchr(p, '\n', len < PROXY_V1_MAX ? len : PROXY_V1_MAX);
    if (lf == NULL)
        return len >= PROXY_V1_MAX ? ERR_MALFORMED : ERR_NEED_MORE;
    size_t n = (size_t)(lf - p) + 1;
    if (n < 8 || p[n - 2] != '\r')
        return ERR_MALFORMED;
    char line[PROXY_V1_MAX + 1];
    memcpy(line, p, n - 2);
    line[n - 2] = '\0';
    if (memchr(line, '\0', n - 2) != NULL)
        return ERR_MALFORMED;
    char *f[6];
    size_t nf = split_fields(line, f, 6);
    h->version = 1;
    h->len = n;
    if (nf >= 2 && !strcmp(f[1], "UNKNOWN")) {
        h->local = true;
        return 0;
    }
    if (nf != 6 || strcmp(f[0], "PROXY") != 0)
        return ERR_MALFORMED;
    int af = !strcmp(f[1], "TCP4") ? AF_INET : !strcmp(f[1], "TCP6") ? AF_INET6 : AF_UNSPEC;
    if (af == AF_UNSPEC)
        return ERR_MALFORMED;
    uint8_t s[16], d[16];
    uint16_t sp, dp;
    if (inet_pton(af, f[2], s) != 1 || inet_pton(af, f[3], d) != 1 || v1_port(f[4], &sp) < 0 || v1_port(f[5], &dp) < 0)
        return ERR_MALFORMED;
    if (af == AF_INET) {
        sock_addr_from_v4(&h->src, s, sp);
        sock_addr_from_v4(&h->dst, d, dp);
    } else {
        sock_addr_from_v6(&h->src, s, sp);
        sock_addr_from_v6(&h->dst, d, dp);
    }
    return 0;
}

int proxy_header_parse(const uint8_t *p, size_t len, struct proxy_header *h)
{
    memset(h, 0, sizeof(*h));
    size_t cmp = len < PROXY_V2_SIG_LEN ? len : PROXY_V2_SIG_LEN;
    if (cmp > 0 && memcmp(p, v2_sig, cmp) == 0)
        return len < PROXY_V2_SIG_LEN ? ERR_NEED_MORE : parse_v2(p, len, h);
    static const char v1_prefix[] = "PROXY ";
    cmp = len < 6 ? len : 6;
    if (memcmp(p, v1_prefix, cmp) != 0)
        return ERR_MALFORMED;
    return len < 6 ? ERR_NEED_MORE : parse_v1(p, len, h);
}

int proxy_header_write(struct buf *out, int version, const struct sock_addr *src, const struct sock_addr *dst)
{
    int fam = sock_addr_family(src);
    bool same = fam != AF_UNSPEC && fam == sock_addr_family(dst);
    if (version == 1) {
        char line[PROXY_V1_MAX + 1], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
        int n;
        if (!same) {
            n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
        } else {
            const void *sa = fam == AF_INET ? (const void *)&src->u.in4.sin_addr : (const void *)&src->u.in6.sin6_addr;
            const void *da = fam == AF_INET ? (const void *)&dst->u.in4.sin_addr : (const void *)&dst->u.in6.sin6_addr;
            uint16_t sp = ntohs(fam == AF_INET ? src->u.in4.sin_port : src->u.in6.sin6_port);
            uint16_t dp = ntohs(fam == AF_INET ? dst->u.in4.sin_port : dst->u.in6.sin6_port);
            if (inet_ntop(fam, sa, s, sizeof(s)) == NULL || inet_ntop(fam, da, d, sizeof(d)) == NULL)
                return ERR_RANGE;
            n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n", fam == AF_INET ? "TCP4" : "TCP6", s, d,
                         (unsigned)sp, (unsigned)dp);
        }
        if (n < 0 || (size_t)n >= sizeof(line))
            return ERR_RANGE;
        return buf_append(out, line, (size_t)n);
    }
    if (version != 2)
        return ERR_RANGE;
    uint8_t hdr[16 + 36];
    memcpy(hdr, v2_sig, PROXY_V2_SIG_LEN);
    size_t body = 0;
    if (!same) {
        hdr[12] = V2_CMD_LOCAL;
        hdr[13] = V2_FAM_UNSPEC;
    } else if (fam == AF_INET) {
        hdr[12] = V2_CMD_PROXY;
        hdr[13] = V2_FAM_TCP4;
        memcpy(hdr + 16, &src->u.in4.sin_addr, 4);
        memcpy(hdr + 20, &dst->u.in4.sin_addr, 4);
        memcpy(hdr + 24, &src->u.in4.sin_port, 2); /* already network order */
        memcpy(hdr + 26, &dst->u.in4.sin_port, 2);
        body = 12;
    } else {
        hdr[12] = V2_CMD_PROXY;
        hdr[13] = V2_FAM_TCP6;
        memcpy(hdr + 16, &src->u.in6.sin6_addr, 16);
        memcpy(hdr + 32, &dst->u.in6.sin6_addr, 16);
        memcpy(hdr + 48, &src->u.in6.sin6_port, 2);
        memcpy(hdr + 50, &dst->u.in6.sin6_port, 2);
        body = 36;
    }
    wire_put_be16(hdr + 14, (uint16_t)body);
    return buf_append(out, hdr, 16 + body);
}
