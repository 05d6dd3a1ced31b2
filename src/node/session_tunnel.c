/* An authenticated session's tunnel: the destination dial, the relay between the client's
 * TLS/Vision transport and the destination, the switch to splice once Vision goes raw both ways
 * (spec/vision.md §7.4), and the hand-off of UDP and Mux requests to node/udp.c. */
#include <errno.h>
#include <string.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "node/session_int.h"
#include "node/port_guard.h"
#include "node/telemetry.h"
#include "node/udp.h"

void session_relay_done(struct relay *r, enum relay_reason reason, int err)
{
    struct session *s = container_of(r, struct session, relay);
    session_account(s);
    s->relay_started = false; /* already stopped */
    enum node_close_reason why = s->state == NODE_SS_FALLBACK_RELAY ? NODE_CR_FALLBACK_DONE : NODE_CR_DONE;
    if (reason == RELAY_REASON_NOMEM)
        why = NODE_CR_NOMEM;
    else if (reason == RELAY_REASON_ERR_A || reason == RELAY_REASON_ERR_B)
        why = why == NODE_CR_DONE ? NODE_CR_IO : why;
    session_close(s, why, reason == RELAY_REASON_DONE ? 0 : err);
}

/* Vision direct copy (spec/vision.md §7.4): each direction that went raw is two plain sockets,
 * so the relay moves it to splice and its bytes no longer pass through user space. Per direction,
 * as Xray-core does: a client whose inner stream puts the Finished and the request in one write
 * keeps its uplink padded until the end, and the download must not wait for it. Only the
 * transport must be empty in that direction (bytes the relay itself holds are written first). */
void session_on_splice_timer(struct loop *loop, struct loop_timer *t)
{
    struct session *s = container_of(t, struct session, splice_timer);
    struct relay *r = &s->relay;
    if (s->state != NODE_SS_RELAY || !s->relay_started || !relay_running(r))
        return;
    bool want[RELAY_DIR__COUNT] = {
        [RELAY_A_TO_B] = s->xprt.rx_direct && !relay_dir_spliced(r, RELAY_A_TO_B),
        [RELAY_B_TO_A] = s->xprt.tx_direct && !relay_dir_spliced(r, RELAY_B_TO_A),
    };
    bool ready[RELAY_DIR__COUNT] = {
        [RELAY_A_TO_B] = tunnel_xprt_rx_spliceable(&s->xprt),
        [RELAY_B_TO_A] = tunnel_xprt_tx_spliceable(&s->xprt),
    };
    bool retry = false;
    for (int d = 0; d < RELAY_DIR__COUNT; d++) {
        if (!want[d])
            continue;
        if (!ready[d]) {
            retry = true;
            continue;
        }
        int rc = relay_splice_dir(r, (enum relay_dir)d);
        if (rc < 0) {
            log_debug("node", s->id, "direct_splice_failed", LF_STR("err", err_str(rc)));
            continue; /* keeps copying */
        }
        log_debug("node", s->id, "direct_splice", LF_STR("dir", d == RELAY_A_TO_B ? "up" : "down"),
                  LF_UINT("after", relay_bytes(r, (enum relay_dir)d)));
    }
    if (retry && ++s->splice_tries < 200) /* busy now: look again soon; give up on a flapping tunnel */
        (void)loop_timer_start(loop, t, 5, 0);
}

static void on_raw(void *arg)
{
    struct session *s = arg;
    (void)loop_timer_start(s->w->loop, &s->splice_timer, 0, 0); /* never inside the relay's own callback */
}

static void dest_dialed(void *arg, enum node_dial_result res, int err, int fd, const struct sock_addr *peer)
{
    struct session *s = arg;
    struct node_worker *w = s->w;
    s->ddial = NULL;
    (void)peer;
    if (res != NODE_DIAL_OK) {
        /* Out of fds while unauthenticated connections (probes, a flood) hold them: a customer's
         * tunnel gets room the way accept and the target dial get it, once. */
        if ((err == -EMFILE || err == -ENFILE) && !s->dest_redialed && session_shed_unauthenticated_except(w, s)) {
            s->dest_redialed = true;
            session_dial_dest(s);
            return;
        }
        if (res == NODE_DIAL_DNS_FAILED)
            node_tm_add(NODE_TM_DNS_FAILURES, 1);
        log_debug("node", s->id, "dial_failed", LF_STR("result", node_dial_result_str(res)),
                  LF_STR("err", err_str(err)));
        session_close(s, NODE_CR_DIAL, err);
        return;
    }
    s->dfd = fd;
    (void)sock_set_nodelay(fd, true);
    const uint8_t *body = buf_data(&s->hs->app) + s->hs->req.header_len;
    size_t body_len = buf_len(&s->hs->app) - s->hs->req.header_len;
    int rc = tunnel_xprt_init(&s->xprt, s->tls, s->vision, s->hs->req.id, buf_data(&s->hs->cin), buf_len(&s->hs->cin),
                              body, body_len);
    s->xprt_ready = true;
    uint8_t resp[2];
    struct buf rb;
    buf_init_fixed(&rb, resp, sizeof(resp));
    if (rc == 0)
        rc = vless_response_encode(&rb, s->hs->req.version);
    if (rc == 0)
        rc = tunnel_xprt_set_prefix(&s->xprt, resp, buf_len(&rb)); /* sent with the first downlink data */
    if (rc == 0 && buf_len(&s->hs->cout)) /* e.g. a KeyUpdate answer queued while reading the header */
        rc = buf_append(&s->xprt.cout, buf_data(&s->hs->cout), buf_len(&s->hs->cout));
    if (rc < 0) {
        session_close(s, NODE_CR_NOMEM, rc);
        return;
    }
    struct relay_cfg cfg = {
        .mode = RELAY_MODE_COPY,
        .pool = w->pool,
        .idle_ms = (uint64_t)s->snap->cfg->idle_timeout_sec * 1000,
        .shared = {node_limits_rate(&s->ticket, RELAY_A_TO_B), node_limits_rate(&s->ticket, RELAY_B_TO_A)},
        .pipe_size = 1u << 20,
        .on_done = session_relay_done,
    };
    s->relay_cfg = cfg;
    s->xprt.on_raw = on_raw;
    s->xprt.on_raw_arg = s;
    relay_init(&s->relay, w->loop, &cfg);
    rc = relay_set_xprt(&s->relay, RELAY_SIDE_A, &tunnel_xprt_ops, &s->xprt);
    if (rc == 0)
        rc = relay_take_watcher(&s->relay, RELAY_SIDE_A, &s->cio);
    if (rc == 0)
        rc = relay_start(&s->relay, s->cfd, s->dfd);
    if (rc < 0) {
        relay_dispose(&s->relay);
        session_close(s, NODE_CR_IO, rc);
        return;
    }
    s->relay_started = true;
    s->state = NODE_SS_RELAY;
    loop_timer_stop(w->loop, &s->deadline);
    session_start_acct(s);
    session_open_tunnel(s);
    if (s->snap->cfg->access_log != NULL) {
        char dest[300], from[64] = "";
        vless_addr_format(dest, sizeof(dest), &s->hs->req.dest);
        (void)sock_addr_format_ip(&s->peer, from, sizeof(from)); /* the PROXY header's source when present */
        log_info("access", s->id, "tunnel", LF_STR("user", s->user->email ? s->user->email : ""), LF_STR("from", from),
                 LF_STR("dest", dest), LF_BOOL("vision", s->vision));
    }
    session_drop_hs(s); /* an idle tunnel carries no handshake state */
}

/* A TCP request: dial its destination (policy and DNS in node/dial.c). */
void session_dial_dest(struct session *s)
{
    s->state = NODE_SS_DIALING;
    loop_io_pause(s->w->loop, &s->cio); /* the relay takes it (and its registration) over */
    char host[VLESS_DOMAIN_MAX + 1];
    const struct vless_addr *a = &s->hs->req.dest;
    struct node_port_flow pf = {s->w->rt->usage, s->user->key, session_hub_id(s), s->id, "tcp"};
    if (node_port_guard(s->w->dialer, &pf, a->port)) {
        session_close(s, NODE_CR_PORT_BLOCKED, ERR_AUTH);
        return;
    }
    if (a->type == VLESS_ATYP_DOMAIN) {
        memcpy(host, a->domain, (size_t)a->domain_len + 1);
    } else {
        struct sock_addr sa;
        if (a->type == VLESS_ATYP_IPV4)
            sock_addr_from_v4(&sa, a->ip, a->port);
        else
            sock_addr_from_v6(&sa, a->ip, a->port);
        if (sock_addr_format_ip(&sa, host, sizeof(host)) < 0) {
            session_close(s, NODE_CR_VLESS, ERR_MALFORMED);
            return;
        }
    }
    int rc = node_dial_start(s->w->dialer, host, a->port, NODE_DIAL_DEFAULT, dest_dialed, s, &s->ddial);
    if (rc < 0)
        session_close(s, NODE_CR_DIAL, rc);
}

static void udp_done(void *arg, enum node_close_reason why, int err)
{
    session_close(arg, why, err);
}

/* Hands the connection to the UDP relay (the session keeps the fd, TLS and bookkeeping). */
void session_start_udp(struct session *s, const struct vless_flow_decision *d)
{
    loop_io_release(s->w->loop, &s->cio);
    struct node_udp_params p = {
        .w = s->w,
        .conn_id = s->id,
        .fd = s->cfd,
        .tls = s->tls,
        .vision = d->vision,
        .mux_udp_only = d->mux_udp_only,
        .uuid = s->hs->req.id,
        .user_key = s->user->key,
        .hub_id = session_hub_id(s),
        .cmd = s->hs->req.cmd,
        .dest = &s->hs->req.dest,
        .version = s->hs->req.version,
        .cin_left = buf_data(&s->hs->cin),
        .cin_len = buf_len(&s->hs->cin),
        .plain_left = buf_data(&s->hs->app) + s->hs->req.header_len,
        .plain_len = buf_len(&s->hs->app) - s->hs->req.header_len,
        .out_left = buf_data(&s->hs->cout),
        .out_len = buf_len(&s->hs->cout),
        .idle_ms = s->snap->cfg->udp_idle_timeout_sec * 1000u,
        .tcp_idle_ms = s->snap->cfg->idle_timeout_sec * 1000u,
        .report_ms = (s->snap->cfg->usage_report_sec ? s->snap->cfg->usage_report_sec : 5) * 1000u,
        .rate = {node_limits_rate(&s->ticket, RELAY_A_TO_B), node_limits_rate(&s->ticket, RELAY_B_TO_A)},
        .access_user = s->snap->cfg->access_log == NULL ? NULL
                       : s->user->email                 ? s->user->email
                                                        : "",
        .bt_mode = s->snap->cfg->block_bittorrent,
        .on_done = udp_done,
        .arg = s,
    };
    int rc = node_udp_start(&p, &s->udp);
    if (rc < 0) {
        session_close(s, rc == ERR_NOMEM ? NODE_CR_NOMEM : NODE_CR_IO, rc);
        return;
    }
    s->state = NODE_SS_RELAY;
    loop_timer_stop(s->w->loop, &s->deadline);
    session_open_tunnel(s); /* node/udp.c books the bytes */
    if (s->snap->cfg->access_log != NULL) {
        char dest[300] = "mux";
        if (s->hs->req.cmd == VLESS_CMD_UDP)
            vless_addr_format(dest, sizeof(dest), &s->hs->req.dest);
        log_info("access", s->id, "tunnel", LF_STR("user", s->user->email ? s->user->email : ""), LF_STR("dest", dest),
                 LF_STR("network", s->hs->req.cmd == VLESS_CMD_MUX ? "mux" : "udp"), LF_BOOL("vision", d->vision));
    }
    session_drop_hs(s); /* the UDP relay copied what it needs */
}
