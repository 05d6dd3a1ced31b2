#include "net/sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

/* ---------------- parsing and formatting ---------------- */

int sock_port_parse(const char *s, uint16_t *port)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return ERR_MALFORMED;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ERR_MALFORMED;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return ERR_MALFORMED;
    *port = (uint16_t)v;
    return 0;
}

static bool host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

int sock_hostport_split(const char *s, char *host, size_t host_cap, uint16_t *port)
{
    const char *h, *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return ERR_MALFORMED;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
        if (hlen == 0 || memchr(h, ':', hlen) == NULL)
            return ERR_MALFORMED; /* brackets are for IPv6 literals only */
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return ERR_MALFORMED;
        h = s;
        hlen = (size_t)(colon - s);
        if (hlen == 0)
            return ERR_MALFORMED;
        for (size_t i = 0; i < hlen; i++) {
            if (!host_char_ok(h[i]))
                return ERR_MALFORMED; /* includes a second ':' (unbracketed IPv6) */
        }
        if (hlen > SOCK_HOST_MAX)
            return ERR_TOO_LONG;
    }
    TRY(sock_port_parse(colon + 1, port));
    if (hlen + 1 > host_cap)
        return ERR_TOO_LONG;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return 0;
}

int sock_addr_from_ip(struct sock_addr *a, const char *ip, uint16_t port)
{
    *a = (struct sock_addr){0};
    if (inet_pton(AF_INET, ip, &a->u.in4.sin_addr) == 1) {
        a->u.in4.sin_family = AF_INET;
        a->u.in4.sin_port = htons(port);
        a->len = sizeof(a->u.in4);
        return 0;
    }
    char buf[INET6_ADDRSTRLEN + 1];
    const char *pct = strchr(ip, '%');
    size_t n = pct != NULL ? (size_t)(pct - ip) : strlen(ip);
    if (n >= sizeof(buf))
        return ERR_MALFORMED;
    memcpy(buf, ip, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, &a->u.in6.sin6_addr) != 1)
        return ERR_MALFORMED;
    if (pct != NULL) {
        const char *scope = pct + 1;
        unsigned long id = 0;
        if (*scope == '\0')
            return ERR_MALFORMED;
        if (scope[0] >= '0' && scope[0] <= '9') {
            for (const char *c = scope; *c; c++) {
                if (*c < '0' || *c > '9' || id > 0xFFFFFFFFul / 10)
                    return ERR_MALFORMED;
                id = id * 10 + (unsigned long)(*c - '0');
            }
            if (id > 0xFFFFFFFFul)
                return ERR_MALFORMED;
        } else {
            id = if_nametoindex(scope);
            if (id == 0)
                return ERR_MALFORMED;
        }
        a->u.in6.sin6_scope_id = (uint32_t)id;
    }
    a->u.in6.sin6_family = AF_INET6;
    a->u.in6.sin6_port = htons(port);
    a->len = sizeof(a->u.in6);
    return 0;
}

int sock_addr_parse(struct sock_addr *a, const char *s)
{
    char host[INET6_ADDRSTRLEN + 1 + IF_NAMESIZE + 1];
    uint16_t port;
    int rc = sock_hostport_split(s, host, sizeof(host), &port);
    if (rc < 0)
        return ERR_MALFORMED;
    /* A bracketed host must be IPv6 and an unbracketed one IPv4. */
    bool bracketed = s[0] == '[';
    TRY(sock_addr_from_ip(a, host, port));
    if (bracketed != (a->u.sa.sa_family == AF_INET6)) {
        *a = (struct sock_addr){0};
        return ERR_MALFORMED;
    }
    return 0;
}

int sock_addr_format_ip(const struct sock_addr *a, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    int n;
    if (a->len == 0)
        return ERR_MALFORMED;
    if (a->u.sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &a->u.in4.sin_addr, ip, sizeof(ip));
        n = snprintf(out, cap, "%s", ip);
    } else if (a->u.sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->u.in6.sin6_addr, ip, sizeof(ip));
        if (a->u.in6.sin6_scope_id != 0)
            n = snprintf(out, cap, "%s%%%u", ip, (unsigned)a->u.in6.sin6_scope_id);
        else
            n = snprintf(out, cap, "%s", ip);
    } else {
        return ERR_MALFORMED;
    }
    if (n < 0 || (size_t)n >= cap)
        return ERR_TOO_LONG;
    return n;
}

int sock_addr_format(const struct sock_addr *a, char *out, size_t cap)
{
    char ip[SOCK_ADDR_STRLEN];
    TRY(sock_addr_format_ip(a, ip, sizeof(ip)));
    int n;
    if (a->u.sa.sa_family == AF_INET6)
        n = snprintf(out, cap, "[%s]:%u", ip, (unsigned)sock_addr_port(a));
    else
        n = snprintf(out, cap, "%s:%u", ip, (unsigned)sock_addr_port(a));
    if (n < 0 || (size_t)n >= cap)
        return ERR_TOO_LONG;
    return n;
}

void sock_addr_from_v4(struct sock_addr *a, const uint8_t ip[static 4], uint16_t port)
{
    *a = (struct sock_addr){0};
    a->u.in4.sin_family = AF_INET;
    memcpy(&a->u.in4.sin_addr, ip, 4);
    a->u.in4.sin_port = htons(port);
    a->len = sizeof(a->u.in4);
}

void sock_addr_from_v6(struct sock_addr *a, const uint8_t ip[static 16], uint16_t port)
{
    *a = (struct sock_addr){0};
    a->u.in6.sin6_family = AF_INET6;
    memcpy(&a->u.in6.sin6_addr, ip, 16);
    a->u.in6.sin6_port = htons(port);
    a->len = sizeof(a->u.in6);
}

uint16_t sock_addr_port(const struct sock_addr *a)
{
    if (a->len != 0 && a->u.sa.sa_family == AF_INET)
        return ntohs(a->u.in4.sin_port);
    if (a->len != 0 && a->u.sa.sa_family == AF_INET6)
        return ntohs(a->u.in6.sin6_port);
    return 0;
}

void sock_addr_set_port(struct sock_addr *a, uint16_t port)
{
    if (a->u.sa.sa_family == AF_INET)
        a->u.in4.sin_port = htons(port);
    else if (a->u.sa.sa_family == AF_INET6)
        a->u.in6.sin6_port = htons(port);
}

int sock_addr_family(const struct sock_addr *a)
{
    if (a->len == 0)
        return AF_UNSPEC;
    return a->u.sa.sa_family;
}

bool sock_addr_equal(const struct sock_addr *a, const struct sock_addr *b)
{
    int fa = sock_addr_family(a);
    if (fa != sock_addr_family(b))
        return false;
    if (fa == AF_INET)
        return a->u.in4.sin_port == b->u.in4.sin_port && a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
    if (fa == AF_INET6)
        return a->u.in6.sin6_port == b->u.in6.sin6_port && a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id &&
               memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    return fa == AF_UNSPEC;
}

/* ---------------- classification ---------------- */

struct v4_range {
    uint32_t net;
    unsigned prefix;
    enum sock_addr_class cls;
};

static const struct v4_range v4_ranges[] = {
    {0x00000000u, 8, SOCK_CLASS_UNSPECIFIED}, /* 0.0.0.0/8 "this network" */
    {0x7F000000u, 8, SOCK_CLASS_LOOPBACK},    /* 127/8 */
    {0x0A000000u, 8, SOCK_CLASS_PRIVATE},     /* 10/8 */
    {0xAC100000u, 12, SOCK_CLASS_PRIVATE},    /* 172.16/12 */
    {0xC0A80000u, 16, SOCK_CLASS_PRIVATE},    /* 192.168/16 */
    {0x64400000u, 10, SOCK_CLASS_PRIVATE},    /* 100.64/10 shared address space (CGNAT) */
    {0xA9FE0000u, 16, SOCK_CLASS_LINK_LOCAL}, /* 169.254/16 */
    {0xE0000000u, 4, SOCK_CLASS_MULTICAST},   /* 224/4 */
    {0xF0000000u, 4, SOCK_CLASS_RESERVED},    /* 240/4 incl. 255.255.255.255 */
    {0xC0000000u, 24, SOCK_CLASS_RESERVED},   /* 192.0.0/24 IETF protocol assignments */
    {0xC0000200u, 24, SOCK_CLASS_RESERVED},   /* 192.0.2/24 TEST-NET-1 */
    {0xC6120000u, 15, SOCK_CLASS_RESERVED},   /* 198.18/15 benchmarking */
    {0xC6336400u, 24, SOCK_CLASS_RESERVED},   /* 198.51.100/24 TEST-NET-2 */
    {0xCB007100u, 24, SOCK_CLASS_RESERVED},   /* 203.0.113/24 TEST-NET-3 */
};

static enum sock_addr_class classify_v4(const uint8_t ip[4])
{
    uint32_t v = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
    for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++) {
        uint32_t mask = 0xFFFFFFFFu << (32 - v4_ranges[i].prefix);
        if ((v & mask) == v4_ranges[i].net)
            return v4_ranges[i].cls;
    }
    return SOCK_CLASS_PUBLIC;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

static enum sock_addr_class classify_v6(const uint8_t ip[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const uint8_t nat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t nat64_local[6] = {0, 0x64, 0xFF, 0x9B, 0, 0x01};
    static const uint8_t discard[8] = {0x01, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t doc[4] = {0x20, 0x01, 0x0D, 0xB8};

    if (all_zero(ip, 16))
        return SOCK_CLASS_UNSPECIFIED;
    if (all_zero(ip, 15) && ip[15] == 1)
        return SOCK_CLASS_LOOPBACK;
    if (memcmp(ip, mapped, 12) == 0 || memcmp(ip, nat64, 12) == 0 || all_zero(ip, 12))
        return classify_v4(ip + 12); /* v4-mapped, NAT64 well-known prefix, v4-compatible */
    if (memcmp(ip, nat64_local, 6) == 0)
        return SOCK_CLASS_PRIVATE; /* 64:ff9b:1::/48 local-use NAT64 */
    if (ip[0] == 0x20 && ip[1] == 0x02) {
        enum sock_addr_class c = classify_v4(ip + 2); /* 6to4 2002::/16 embeds an IPv4 */
        if (c != SOCK_CLASS_PUBLIC)
            return c;
    }
    if (ip[0] == 0xFF)
        return SOCK_CLASS_MULTICAST;
    if (ip[0] == 0xFE && (ip[1] & 0xC0) == 0x80)
        return SOCK_CLASS_LINK_LOCAL;
    if (ip[0] == 0xFE && (ip[1] & 0xC0) == 0xC0)
        return SOCK_CLASS_PRIVATE; /* fec0::/10 deprecated site-local */
    if ((ip[0] & 0xFE) == 0xFC)
        return SOCK_CLASS_PRIVATE; /* fc00::/7 unique local */
    if (memcmp(ip, doc, 4) == 0 || memcmp(ip, discard, 8) == 0)
        return SOCK_CLASS_RESERVED;
    return SOCK_CLASS_PUBLIC;
}

enum sock_addr_class sock_ip_classify(const uint8_t *ip, size_t len)
{
    if (len == 4)
        return classify_v4(ip);
    if (len == 16)
        return classify_v6(ip);
    return SOCK_CLASS_RESERVED;
}

enum sock_addr_class sock_addr_classify(const struct sock_addr *a)
{
    switch (sock_addr_family(a)) {
    case AF_INET:
        return classify_v4((const uint8_t *)&a->u.in4.sin_addr);
    case AF_INET6:
        return classify_v6(a->u.in6.sin6_addr.s6_addr);
    default:
        return SOCK_CLASS_RESERVED;
    }
}

const char *sock_addr_class_str(enum sock_addr_class c)
{
    static const char *const names[SOCK_CLASS__COUNT] = {
        [SOCK_CLASS_PUBLIC] = "public",         [SOCK_CLASS_UNSPECIFIED] = "unspecified",
        [SOCK_CLASS_LOOPBACK] = "loopback",     [SOCK_CLASS_PRIVATE] = "private",
        [SOCK_CLASS_LINK_LOCAL] = "link-local", [SOCK_CLASS_MULTICAST] = "multicast",
        [SOCK_CLASS_RESERVED] = "reserved",
    };
    if ((unsigned)c >= SOCK_CLASS__COUNT)
        return "invalid";
    return names[c];
}

/* ---------------- sockets ---------------- */

static int set_int_opt(int fd, int level, int name, int v)
{
    if (setsockopt(fd, level, name, &v, sizeof(v)) == -1)
        return -errno;
    return 0;
}

static int close_with(int fd, int rc)
{
    close(fd);
    return rc;
}

int sock_listen(const struct sock_addr *a, int backlog, unsigned flags)
{
    int fam = sock_addr_family(a);
    if (fam != AF_INET && fam != AF_INET6)
        return -EAFNOSUPPORT;
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    int rc = set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0 && (flags & SOCK_LISTEN_REUSEPORT))
        rc = set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (rc == 0 && fam == AF_INET6)
        rc = set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, (flags & SOCK_LISTEN_V6ONLY) ? 1 : 0);
    if (rc < 0)
        return close_with(fd, rc);
    if (bind(fd, &a->u.sa, a->len) == -1)
        return close_with(fd, -errno);
    if (listen(fd, backlog) == -1)
        return close_with(fd, -errno);
    return fd;
}

int sock_accept(int lfd, struct sock_addr *peer)
{
    struct sock_addr tmp;
    struct sock_addr *p = peer != NULL ? peer : &tmp;
    for (;;) {
        *p = (struct sock_addr){0};
        socklen_t len = sizeof(p->u);
        int fd = accept4(lfd, &p->u.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd != -1) {
            p->len = len < sizeof(p->u) ? len : sizeof(p->u); /* another family: truncated */
            return fd;
        }
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return -EAGAIN;
        return -errno;
    }
}

int sock_connect(const struct sock_addr *a, int *fd_out)
{
    *fd_out = -1;
    int fam = sock_addr_family(a);
    if (fam != AF_INET && fam != AF_INET6)
        return -EAFNOSUPPORT;
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    if (connect(fd, &a->u.sa, a->len) == 0) {
        *fd_out = fd;
        return 0;
    }
    /* EINTR: the connect keeps going asynchronously, as with EINPROGRESS. */
    if (errno == EINPROGRESS || errno == EINTR) {
        *fd_out = fd;
        return -EINPROGRESS;
    }
    return close_with(fd, -errno);
}

int sock_connect_result(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        return -errno;
    return -err;
}

int sock_set_nodelay(int fd, bool on)
{
    return set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

int sock_set_keepalive(int fd, bool on, int idle_s, int intvl_s, int cnt)
{
    TRY(set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0));
    if (!on)
        return 0;
    if (idle_s > 0)
        TRY(set_int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s));
    if (intvl_s > 0)
        TRY(set_int_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl_s));
    if (cnt > 0)
        TRY(set_int_opt(fd, IPPROTO_TCP, TCP_KEEPCNT, cnt));
    return 0;
}

int sock_set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1)
        return -errno;
    int nfl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    if (nfl != fl && fcntl(fd, F_SETFL, nfl) == -1)
        return -errno;
    return 0;
}

int sock_shutdown_wr(int fd)
{
    if (shutdown(fd, SHUT_WR) == -1)
        return -errno;
    return 0;
}

static int get_name(int fd, struct sock_addr *a, bool peer)
{
    *a = (struct sock_addr){0};
    socklen_t len = sizeof(a->u);
    int rc = peer ? getpeername(fd, &a->u.sa, &len) : getsockname(fd, &a->u.sa, &len);
    if (rc == -1)
        return -errno;
    a->len = len < sizeof(a->u) ? len : sizeof(a->u); /* another family: truncated */
    return 0;
}

int sock_peer_addr(int fd, struct sock_addr *a)
{
    return get_name(fd, a, true);
}

int sock_local_addr(int fd, struct sock_addr *a)
{
    return get_name(fd, a, false);
}
