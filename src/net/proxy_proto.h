/* PROXY protocol v1 (text) and v2 (binary) headers, as HAProxy defines them
 * (doc/proxy-protocol.txt). Sans-IO: the parser reads from the start of a connection's
 * bytes; the writer appends a header for an outgoing connection (REALITY `xver`).
 *
 * Used on two sides of the node: behind HAProxy (`acceptProxyProtocol`), where the header
 * tells us the customer's real address; and towards the REALITY target (`xver` 1 or 2). */
#ifndef VEIL_NET_PROXY_PROTO_H
#define VEIL_NET_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/sock.h"

#define PROXY_V1_MAX 107 /* longest v1 line including CRLF */
#define PROXY_V2_SIG_LEN 12
#define PROXY_V2_MAX (16 + 1024) /* we refuse TLV blocks larger than this */

struct proxy_header {
    uint8_t version;           /* 1 or 2 */
    bool local;                /* v2 LOCAL command or v1 UNKNOWN: keep the connection's own addresses */
    struct sock_addr src, dst; /* set unless local */
    size_t len;                /* bytes the header occupies */
};

/* Parses a header at the start of p. 0 (h->len bytes consumed), ERR_NEED_MORE, or
 * ERR_MALFORMED (not a PROXY header, a bad field, an unsupported family such as AF_UNIX, or
 * a v1 line longer than 107 bytes). Stops asking for more as soon as the prefix cannot be a
 * header, so a non-PROXY client is refused after at most 16 bytes. */
int proxy_header_parse(const uint8_t *p, size_t len, struct proxy_header *h);

/* Appends a v1 or v2 PROXY header (TCP over IPv4 or IPv6). src and dst must be the same
 * family; a mix is written as v1 "UNKNOWN" / v2 LOCAL as HAProxy does. ERR_RANGE, ERR_NOMEM. */
int proxy_header_write(struct buf *out, int version, const struct sock_addr *src, const struct sock_addr *dst);

#endif
