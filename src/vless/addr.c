#include "vless/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void set_ipv6(struct vless_addr *a, const uint8_t ip[16])
{
    if (memcmp(ip, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
        a->type = VLESS_ATYP_IPV4;
        memset(a->ip, 0, sizeof(a->ip));
        memcpy(a->ip, ip + 12, 4);
        return;
    }
    a->type = VLESS_ATYP_IPV6;
    memcpy(a->ip, ip, 16);
}

static bool domain_char_ok(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
           c == '_';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Upstream first tries the name as an IP literal when it starts with a digit or '['. */
static bool domain_as_ip(struct vless_addr *a, const char *s, size_t len)
{
    char tmp[VLESS_DOMAIN_MAX + 1];
    if (s[0] == '[') {
        if (len < 2 || s[len - 1] != ']')
            return false;
        s++;
        len -= 2;
    }
    /* Like Go's net.ParseAddress: trim spaces when the ends are not alphanumeric. */
    while (len > 0 && is_space(s[0]))
        s++, len--;
    while (len > 0 && is_space(s[len - 1]))
        len--;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    uint8_t ip[16];
    if (inet_pton(AF_INET, tmp, ip) == 1) {
        a->type = VLESS_ATYP_IPV4;
        memset(a->ip, 0, sizeof(a->ip));
        memcpy(a->ip, ip, 4);
        return true;
    }
    if (inet_pton(AF_INET6, tmp, ip) == 1) {
        set_ipv6(a, ip);
        return true;
    }
    return false;
}

int vless_addr_read(struct wire_rd *r, struct vless_addr *a)
{
    struct wire_rd c = *r;
    uint16_t port;
    uint8_t type;
    TRY(wire_rd_u16(&c, &port));
    TRY(wire_rd_u8(&c, &type));
    memset(a, 0, sizeof(*a));
    a->port = port;
    switch (type) {
    case VLESS_ATYP_IPV4:
        TRY(wire_rd_copy(&c, a->ip, 4));
        a->type = VLESS_ATYP_IPV4;
        break;
    case VLESS_ATYP_IPV6: {
        uint8_t ip[16];
        TRY(wire_rd_copy(&c, ip, 16));
        set_ipv6(a, ip);
        break;
    }
    case VLESS_ATYP_DOMAIN: {
        uint8_t n;
        struct bytes name;
        TRY(wire_rd_u8(&c, &n));
        TRY(wire_rd_bytes(&c, n, &name));
        if (n == 0) /* upstream panics here; we refuse */
            return ERR_MALFORMED;
        const char *s = (const char *)name.p;
        if (((s[0] >= '0' && s[0] <= '9') || s[0] == '[') && domain_as_ip(a, s, n))
            break;
        for (size_t i = 0; i < n; i++)
            if (!domain_char_ok(s[i]))
                return ERR_MALFORMED;
        a->type = VLESS_ATYP_DOMAIN;
        a->domain_len = n;
        memcpy(a->domain, s, n);
        a->domain[n] = '\0';
        break;
    }
    default:
        return ERR_MALFORMED;
    }
    *r = c;
    return 0;
}

int vless_addr_write(struct buf *out, const struct vless_addr *a)
{
    size_t mark = buf_len(out);
    int rc;
    switch (a->type) {
    case VLESS_ATYP_IPV4:
        if ((rc = wire_wr_u16(out, a->port)) < 0 || (rc = wire_wr_u8(out, VLESS_ATYP_IPV4)) < 0 ||
            (rc = wire_wr_bytes(out, a->ip, 4)) < 0)
            goto fail;
        return 0;
    case VLESS_ATYP_IPV6:
        if ((rc = wire_wr_u16(out, a->port)) < 0 || (rc = wire_wr_u8(out, VLESS_ATYP_IPV6)) < 0 ||
            (rc = wire_wr_bytes(out, a->ip, 16)) < 0)
            goto fail;
        return 0;
    case VLESS_ATYP_DOMAIN:
        if (a->domain_len == 0)
            return ERR_RANGE;
        if ((rc = wire_wr_u16(out, a->port)) < 0 || (rc = wire_wr_u8(out, VLESS_ATYP_DOMAIN)) < 0 ||
            (rc = wire_wr_u8(out, a->domain_len)) < 0 || (rc = wire_wr_bytes(out, a->domain, a->domain_len)) < 0)
            goto fail;
        return 0;
    default:
        return ERR_RANGE;
    }
fail:
    out->wpos = out->rpos + mark;
    return rc;
}

void vless_addr_ipv4(struct vless_addr *a, const uint8_t ip[static 4], uint16_t port)
{
    memset(a, 0, sizeof(*a));
    a->type = VLESS_ATYP_IPV4;
    a->port = port;
    memcpy(a->ip, ip, 4);
}

void vless_addr_ipv6(struct vless_addr *a, const uint8_t ip[static 16], uint16_t port)
{
    memset(a, 0, sizeof(*a));
    a->type = VLESS_ATYP_IPV6;
    a->port = port;
    memcpy(a->ip, ip, 16);
}

int vless_addr_domain(struct vless_addr *a, const char *name, size_t len, uint16_t port)
{
    if (len == 0)
        return ERR_MALFORMED;
    if (len > VLESS_DOMAIN_MAX)
        return ERR_TOO_LONG;
    memset(a, 0, sizeof(*a));
    a->type = VLESS_ATYP_DOMAIN;
    a->port = port;
    a->domain_len = (uint8_t)len;
    memcpy(a->domain, name, len);
    return 0;
}

bool vless_addr_equal(const struct vless_addr *a, const struct vless_addr *b)
{
    if (a->type != b->type || a->port != b->port)
        return false;
    switch (a->type) {
    case VLESS_ATYP_IPV4:
        return memcmp(a->ip, b->ip, 4) == 0;
    case VLESS_ATYP_IPV6:
        return memcmp(a->ip, b->ip, 16) == 0;
    case VLESS_ATYP_DOMAIN:
        return a->domain_len == b->domain_len && memcmp(a->domain, b->domain, a->domain_len) == 0;
    default:
        return true;
    }
}

void vless_addr_format(char *out, size_t cap, const struct vless_addr *a)
{
    char ip[INET6_ADDRSTRLEN];
    switch (a->type) {
    case VLESS_ATYP_IPV4:
        inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
        snprintf(out, cap, "%s:%u", ip, (unsigned)a->port);
        break;
    case VLESS_ATYP_IPV6:
        inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
        snprintf(out, cap, "[%s]:%u", ip, (unsigned)a->port);
        break;
    case VLESS_ATYP_DOMAIN:
        snprintf(out, cap, "%s:%u", a->domain, (unsigned)a->port);
        break;
    default:
        snprintf(out, cap, "none");
        break;
    }
}
