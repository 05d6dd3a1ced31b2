/* VLESS / Mux.Cool destination addresses: port first, then type and address
 * (spec/vless.md §2, spec/mux-xudp.md §2). Shared by the request header and Mux frames. */
#ifndef VEIL_VLESS_ADDR_H
#define VEIL_VLESS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/wire.h"

/* Wire values of the address type byte. */
enum vless_atyp {
    VLESS_ATYP_NONE = 0, /* no address (Mux command); never valid on the wire */
    VLESS_ATYP_IPV4 = 1,
    VLESS_ATYP_DOMAIN = 2,
    VLESS_ATYP_IPV6 = 3,
    VLESS_ATYP__COUNT, /* sentinel */
};

#define VLESS_DOMAIN_MAX 255

struct vless_addr {
    enum vless_atyp type;
    uint16_t port;
    uint8_t ip[16];                    /* IPv4 in ip[0..4) */
    uint8_t domain_len;                /* DOMAIN only */
    char domain[VLESS_DOMAIN_MAX + 1]; /* NUL-terminated */
};

/* Reads port(2) | type(1) | address. A domain that is an IP literal (first char a digit or
 * '[') becomes that IP; other domains must be non-empty and use only 0-9 a-z A-Z - . _
 * IPv4-mapped IPv6 addresses become IPv4 (upstream's IPAddress()).
 * ERR_NEED_MORE (cursor unchanged) or ERR_MALFORMED (bad type, empty or invalid domain). */
int vless_addr_read(struct wire_rd *r, struct vless_addr *a);
/* Appends port | type | address. ERR_RANGE for type NONE or an empty domain; ERR_NOMEM. */
int vless_addr_write(struct buf *out, const struct vless_addr *a);
/* Builders for the three kinds. vless_addr_domain returns ERR_TOO_LONG above 255 bytes and
 * ERR_MALFORMED for an empty name. */
void vless_addr_ipv4(struct vless_addr *a, const uint8_t ip[static 4], uint16_t port);
void vless_addr_ipv6(struct vless_addr *a, const uint8_t ip[static 16], uint16_t port);
int vless_addr_domain(struct vless_addr *a, const char *name, size_t len, uint16_t port);
/* True when both name the same endpoint (type, port and address). */
bool vless_addr_equal(const struct vless_addr *a, const struct vless_addr *b);
/* "1.2.3.4:80", "[2001:db8::1]:53", "example.com:443" into out (cap >= 300 is always enough). */
void vless_addr_format(char *out, size_t cap, const struct vless_addr *a);

#endif
