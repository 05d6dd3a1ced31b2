/* Socket addresses and nonblocking TCP sockets: parse/format "1.2.3.4:443", "[::1]:443" and
 * "host:port", listeners with SO_REUSEPORT (one listening socket per worker thread on the same
 * port), accept4, nonblocking connect, socket options, half-close, and address classification
 * for the node's destination policy (no SSRF into loopback/private ranges unless allowed).
 * All fds are created nonblocking and close-on-exec. Functions return 0/fd or -errno. */
#ifndef VEIL_NET_SOCK_H
#define VEIL_NET_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <sys/socket.h>

/* IPv4 or IPv6 only: 32 bytes, not sockaddr_storage's 128 (two per connection on the node). An
 * address of another family read from the kernel (a socketpair's AF_UNIX) keeps its family and
 * a length clamped to the union, and is never formatted or dialed. */
struct sock_addr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } u;
    socklen_t len; /* 0 = unset */
};

/* "[ffff:...:ffff%scope]:65535" plus NUL, with room to spare. */
#define SOCK_ADDR_STRLEN 80
#define SOCK_HOST_MAX 255 /* longest DNS name */

/* A decimal port of 1 to 5 digits, 0..65535, nothing else. ERR_MALFORMED. */
int sock_port_parse(const char *s, uint16_t *port);
/* Splits "host:port", "[v6]:port" or "v4:port" into host (without brackets, NUL-terminated)
 * and port. A bare IPv6 literal without brackets is rejected (ambiguous). The port must be
 * 0..65535 in decimal. ERR_MALFORMED, or ERR_TOO_LONG when host does not fit host_cap. */
int sock_hostport_split(const char *s, char *host, size_t host_cap, uint16_t *port);
/* An IP literal ("1.2.3.4", "::1", "fe80::1%2") and a port into an address. ERR_MALFORMED. */
int sock_addr_from_ip(struct sock_addr *a, const char *ip, uint16_t port);
/* "1.2.3.4:443" or "[::1]:443" (no DNS; hostnames give ERR_MALFORMED). */
int sock_addr_parse(struct sock_addr *a, const char *s);
/* Formats as "1.2.3.4:443" / "[::1]:443" into out (cap >= SOCK_ADDR_STRLEN is always enough).
 * Returns the length, or ERR_TOO_LONG / ERR_MALFORMED (unset or unknown family). */
int sock_addr_format(const struct sock_addr *a, char *out, size_t cap);
/* The IP alone, without port or brackets. Same returns as sock_addr_format(). */
int sock_addr_format_ip(const struct sock_addr *a, char *out, size_t cap);
/* From a raw IPv4 (4 bytes) or IPv6 (16 bytes) address, as carried in VLESS headers. */
void sock_addr_from_v4(struct sock_addr *a, const uint8_t ip[static 4], uint16_t port);
void sock_addr_from_v6(struct sock_addr *a, const uint8_t ip[static 16], uint16_t port);
uint16_t sock_addr_port(const struct sock_addr *a);
void sock_addr_set_port(struct sock_addr *a, uint16_t port);
int sock_addr_family(const struct sock_addr *a); /* AF_INET, AF_INET6 or AF_UNSPEC */
bool sock_addr_equal(const struct sock_addr *a, const struct sock_addr *b);

/* Address classes for the destination policy. v4-mapped (::ffff:a.b.c.d), v4-compatible and
 * NAT64 (64:ff9b::/96) IPv6 addresses are classified by their embedded IPv4 address. */
enum sock_addr_class {
    SOCK_CLASS_PUBLIC = 0,
    SOCK_CLASS_UNSPECIFIED, /* 0.0.0.0/8, :: */
    SOCK_CLASS_LOOPBACK,    /* 127/8, ::1 */
    SOCK_CLASS_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7, fec0::/10 */
    SOCK_CLASS_LINK_LOCAL,  /* 169.254/16, fe80::/10 */
    SOCK_CLASS_MULTICAST,   /* 224/4, ff00::/8 */
    SOCK_CLASS_RESERVED,    /* 240/4 incl. broadcast, 192.0.0/24, 198.18/15, documentation
                               nets (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32),
                               100::/64 discard */
    SOCK_CLASS__COUNT,      /* sentinel */
};

enum sock_addr_class sock_addr_classify(const struct sock_addr *a);
/* Same, on a raw address of 4 or 16 bytes (SOCK_CLASS_RESERVED for any other length). */
enum sock_addr_class sock_ip_classify(const uint8_t *ip, size_t len);
const char *sock_addr_class_str(enum sock_addr_class c);

/* --- sockets --- */

enum sock_listen_flags {
    SOCK_LISTEN_NONE = 0,
    SOCK_LISTEN_REUSEPORT = 1u << 0, /* SO_REUSEPORT: several listeners share the port */
    SOCK_LISTEN_V6ONLY = 1u << 1,    /* IPV6_V6ONLY on; otherwise "[::]" also accepts IPv4 */
    SOCK_LISTEN__COUNT = 2,          /* sentinel: number of flags */
};

/* A nonblocking TCP listener bound to `a` (SO_REUSEADDR always). Returns the fd or -errno. */
int sock_listen(const struct sock_addr *a, int backlog, unsigned flags);
/* accept4(NONBLOCK|CLOEXEC); retries EINTR. The fd, -EAGAIN when none is pending, or -errno.
 * `peer` may be NULL. */
int sock_accept(int lfd, struct sock_addr *peer);
/* Starts a nonblocking TCP connect. Returns 0 with *fd set when connected at once,
 * -EINPROGRESS with *fd set (watch LOOP_WRITE, then call sock_connect_result()), or another
 * -errno with *fd = -1 (the socket is closed). */
int sock_connect(const struct sock_addr *a, int *fd);
/* After writability: 0 when the connect succeeded, else -errno (e.g. -ECONNREFUSED). */
int sock_connect_result(int fd);

int sock_set_nodelay(int fd, bool on);
/* SO_KEEPALIVE plus TCP_KEEPIDLE/KEEPINTVL/KEEPCNT (each 0 = leave the system default). */
int sock_set_keepalive(int fd, bool on, int idle_s, int intvl_s, int cnt);
int sock_set_nonblock(int fd, bool on);
/* shutdown(SHUT_WR): half-close, the peer reads EOF and can keep sending. */
int sock_shutdown_wr(int fd);
int sock_peer_addr(int fd, struct sock_addr *a);
int sock_local_addr(int fd, struct sock_addr *a);

#endif
