/* The local inbound of `veil client`: SOCKS5 (RFC 1928, CONNECT and UDP ASSOCIATE, no
 * authentication) and
 * HTTP CONNECT (RFC 9110 §9.3.6), detected from the first byte. Sans-IO: the caller feeds
 * everything received so far; the parser says how much it consumed, what to answer, and
 * where to connect. */
#ifndef VEIL_CLI_PROXY_IN_H
#define VEIL_CLI_PROXY_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/bytes.h"
#include "vless/addr.h"

enum proxy_in_kind {
    PROXY_IN_SOCKS5 = 0,
    PROXY_IN_HTTP_CONNECT,
    PROXY_IN__COUNT, /* sentinel */
};

enum proxy_in_state {
    PROXY_IN_ST_EXPECT_FIRST = 0, /* [transient] nothing seen yet */
    PROXY_IN_ST_SOCKS_GREETING,
    PROXY_IN_ST_SOCKS_REQUEST,
    PROXY_IN_ST_HTTP_REQUEST,
    PROXY_IN_ST_DONE, /* destination known; the reply is sent after the tunnel is up */
    PROXY_IN_ST_FAILED,
    PROXY_IN_ST__COUNT, /* sentinel */
};

#define PROXY_IN_HTTP_MAX 8192 /* longest CONNECT request head we accept */

struct proxy_in {
    enum proxy_in_state state;
    enum proxy_in_kind kind;
    bool udp; /* SOCKS5 UDP ASSOCIATE: dest is what the client named (often 0.0.0.0:0) */
    struct vless_addr dest;
};

void proxy_in_init(struct proxy_in *p);
/* Consumes from in[0..len): *consumed bytes are used up (the caller drops them), replies that
 * must be sent now are appended to `reply` (the SOCKS method selection; error replies).
 * Returns 0 when the destination is known (state DONE), ERR_NEED_MORE, or ERR_MALFORMED /
 * ERR_UNSUPPORTED / ERR_TOO_LONG (state FAILED; an error reply, if the protocol has one, is in
 * `reply`: send it and close). */
int proxy_in_feed(struct proxy_in *p, const uint8_t *in, size_t len, size_t *consumed, struct buf *reply);
/* Appends the final answer once the tunnel is up (ok) or failed (!ok). */
int proxy_in_reply(const struct proxy_in *p, int ok, struct buf *reply);
/* SOCKS5 UDP ASSOCIATE success answer naming the relay socket `bnd` (IPv4 or IPv6). */
int proxy_in_reply_bound(const struct vless_addr *bnd, struct buf *reply);

/* ---- SOCKS5 UDP relay datagrams (RFC 1928 §7): RSV(2)=0 | FRAG(1) | ATYP | DST | PORT | DATA ---- */

/* Parses one whole datagram: 0 with *dst and *payload (borrowed from p). ERR_MALFORMED
 * (truncated, bad ATYP, invalid or empty domain, RSV not zero), ERR_UNSUPPORTED (FRAG != 0:
 * fragments are dropped, as the RFC allows). */
int proxy_in_udp_parse(const uint8_t *p, size_t len, struct vless_addr *dst, struct bytes *payload);
/* Appends a datagram for the application: header naming `src`, then the payload. ERR_RANGE for
 * an address of type NONE, ERR_NOMEM. */
int proxy_in_udp_encode(struct buf *out, const struct vless_addr *src, const uint8_t *p, size_t n);

#endif
