/* Client address resolution behind trusted proxies (see client_ip.h). */
#include "hub/api/client_ip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* Parses exactly one address (len bytes, no NUL needed) into 4 or 16 bytes; mapped IPv6 -> IPv4. */
static bool parse_addr(const char *s, size_t len, uint8_t *family, uint8_t addr[16])
{
    char buf[CLIENT_IP_MAX];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, buf, addr) != 1)
        return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, 12) == 0) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = 4;
    } else {
        *family = 6;
    }
    return true;
}

static void format_addr(uint8_t family, const uint8_t addr[16], char out[static CLIENT_IP_MAX])
{
    if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, out, CLIENT_IP_MAX) == NULL)
        out[0] = '\0';
}

bool client_ip_normalise(const char *s, size_t len, char out[static CLIENT_IP_MAX])
{
    uint8_t fam, a[16];
    if (s == NULL || !parse_addr(s, len, &fam, a))
        return false;
    format_addr(fam, a, out);
    return out[0] != '\0';
}

int client_ip_net_parse(const char *s, struct client_ip_net *out)
{
    memset(out, 0, sizeof *out);
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (!parse_addr(s, alen, &out->family, out->addr))
        return ERR_MALFORMED;
    unsigned max = out->family == 4 ? 32 : 128, prefix = max;
    if (slash != NULL) {
        const char *p = slash + 1;
        if (*p < '0' || *p > '9' || strlen(p) > 3 || (p[0] == '0' && p[1] != '\0'))
            return ERR_MALFORMED;
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (*end != '\0' || v > max)
            return ERR_MALFORMED;
        prefix = (unsigned)v;
    }
    out->prefix = (uint8_t)prefix;
    for (unsigned bit = prefix; bit < max; bit++)
        if (out->addr[bit / 8] & (0x80u >> (bit % 8)))
            return ERR_MALFORMED;
    return 0;
}

static bool in_net(uint8_t family, const uint8_t a[16], const struct client_ip_net *net)
{
    if (family != net->family)
        return false;
    unsigned full = net->prefix / 8, rest = net->prefix % 8;
    if (memcmp(a, net->addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[full] & mask) == (net->addr[full] & mask);
}

static bool addr_in_nets(uint8_t family, const uint8_t a[16], const struct client_ip_net *nets, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (in_net(family, a, &nets[i]))
            return true;
    return false;
}

bool client_ip_in_nets(const char *ip, const struct client_ip_net *nets, size_t n)
{
    uint8_t fam, a[16];
    return ip != NULL && parse_addr(ip, strlen(ip), &fam, a) && addr_in_nets(fam, a, nets, n);
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

void client_ip_resolve(const char *peer, const char *xff, const struct client_ip_net *trusted, size_t n,
                       char out[static CLIENT_IP_MAX])
{
    out[0] = '\0';
    if (peer == NULL)
        return;
    if (!client_ip_normalise(peer, strlen(peer), out))
        snprintf(out, CLIENT_IP_MAX, "%s", peer); /* not an IP (a Unix socket?): keep as given */
    if (xff == NULL || n == 0 || !client_ip_in_nets(out, trusted, n))
        return;
    /* Right to left: skip our proxies; the first other entry is the client. */
    const char *end = xff + strlen(xff);
    uint8_t fam, a[16];
    char last_trusted[CLIENT_IP_MAX] = "";
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        const char *s = start, *e = end;
        while (s < e && is_ows(*s))
            s++;
        while (e > s && is_ows(e[-1]))
            e--;
        end = start > xff ? start - 1 : xff;
        if (s == e)
            continue; /* empty list element ("a,,b"): RFC 9110 allows and ignores it */
        if (!parse_addr(s, (size_t)(e - s), &fam, a))
            return; /* garbage where the client should be: the peer is all we know */
        if (!addr_in_nets(fam, a, trusted, n)) {
            format_addr(fam, a, out);
            return;
        }
        format_addr(fam, a, last_trusted);
    }
    /* Every entry is one of ours: the left-most one is where the request came from. */
    if (last_trusted[0])
        memcpy(out, last_trusted, CLIENT_IP_MAX);
}
