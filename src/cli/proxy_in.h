/* The local inbound of `veil client`: SOCKS5 (RFC 1928, CONNECT, no authentication) and
 * HTTP CONNECT (RFC 9110 §9.3.6), detected from the first byte. Sans-IO: the caller feeds
 * everything received so far; the parser says how much it consumed, what to answer, and
 * where to connect. */
#ifndef VEIL_CLI_PROXY_IN_H
#define VEIL_CLI_PROXY_IN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
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
    PROXY_IN_ST_DONE,  /* destination known; the reply is sent after the tunnel is up */
    PROXY_IN_ST_FAILED,
    PROXY_IN_ST__COUNT, /* sentinel */
};

#define PROXY_IN_HTTP_MAX 8192 /* longest CONNECT request head we accept */

struct proxy_in {
    enum proxy_in_state state;
    enum proxy_in_kind kind;
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

#endif
