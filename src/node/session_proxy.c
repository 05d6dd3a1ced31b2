/* The PROXY protocol around a session: HAProxy's header in front of the client's bytes
 * (acceptProxyProtocol), and ours in front of the mirror to the target (inbound xver). */
#include <sys/socket.h>

#include "core/err.h"
#include "net/proxy_proto.h"
#include "node/session_int.h"

bool session_proxy_header(struct session *s)
{
    struct proxy_header h;
    int rc = proxy_header_parse(buf_data(&s->hs->cin), buf_len(&s->hs->cin), &h);
    if (rc == ERR_NEED_MORE)
        return false;
    if (rc < 0) {
        session_close(s, NODE_CR_PROXY_HEADER, rc);
        return false;
    }
    if (!h.local) {
        s->peer = h.src;
        s->local = h.dst;
        if (!node_limits_handshake(s->w->rt->limits, &s->peer, loop_now(s->w->loop))) {
            session_close(s, NODE_CR_LIMIT, ERR_LIMIT); /* before any REALITY work */
            return false;
        }
    }
    buf_consume(&s->hs->cin, h.len);
    /* A target connected before the header was complete got no header of ours yet: it carries
     * the source just learned, and goes out before any mirrored byte. */
    s->state = NODE_SS_PEEK_HELLO;
    return !s->target_up || session_proxy_to_target(s, s->tfd) >= 0;
}

int session_proxy_to_target(struct session *s, int tfd)
{
    const struct node_inbound *ib = s->in->ib;
    if (!ib->xver || s->state == NODE_SS_PROXY_HEADER) /* the client's source is not known yet */
        return 0;
    struct sock_addr target_peer;
    if (sock_peer_addr(tfd, &target_peer) != 0 || ib->xver > 2)
        return 0;
    if (s->local.u.sa.sa_family == AF_UNSPEC) /* not from HAProxy's header: the socket's own */
        (void)sock_local_addr(s->cfd, &s->local);
    /* source = the client, destination = our address it reached (spec/reality.md §4.1 step 2) */
    int rc = proxy_header_write(&s->hs->tout, ib->xver, &s->peer, &s->local);
    if (rc < 0)
        session_close(s, NODE_CR_TARGET_DIAL, rc);
    return rc;
}
