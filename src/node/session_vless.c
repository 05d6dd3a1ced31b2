/* The VLESS request of an authenticated session: decrypt up to the header, parse it, check the
 * user's flow (spec/vision.md), then admission by the user's limits (node/limits.h) before the
 * tunnel starts (node/session_tunnel.c). */
#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "node/bt_guard.h"
#include "vless/vision.h"
#include "node/session_int.h"
#include "node/telemetry.h"

/* Device and connection limits of the user (node/limits.h); a refusal closes without a response,
 * as for an unknown user. 1: go on; 0: waiting for the shared device set (limit_timer retries);
 * -1: refused and closed. */
static int admit(struct session *s)
{
    const struct node_inbound *ib = s->in->ib;
    uint64_t tag = s->user->tag;
    if (tag >= ib->n_users)
        return 1;
    const struct node_user *u = &ib->users[tag];
    struct node_user_limits ul = {u->device_limit, u->max_conns, u->speed_limit};
    struct node_limits *l = s->w->rt->limits;
    uint64_t now = loop_now(s->w->loop);
    if (s->limit_until == 0)
        s->limit_until = now + node_limits_wait_ms(l);
    enum node_limit_kind kind;
    int rc = node_limits_admit(l, s->user->key, &ul, &s->peer, now, now < s->limit_until, &s->ticket, &kind);
    if (rc == 0)
        return 1;
    if (rc == ERR_NEED_MORE) {
        loop_io_pause(s->w->loop, &s->cio);
        if (loop_timer_start(s->w->loop, &s->limit_timer, 10, 0) == 0)
            return 0;
        rc = node_limits_admit(l, s->user->key, &ul, &s->peer, now, false, &s->ticket, &kind);
        if (rc == 0)
            return 1;
    }
    log_debug("node", s->id, "limit_refused", LF_STR("kind", node_limit_kind_str(kind)));
    session_close(s, NODE_CR_LIMIT, ERR_LIMIT);
    return -1;
}

/* veil.blockBitTorrent on a TCP request: the first payload bytes (unframed when Vision pads
 * them). true when the flow is refused (closed here). Bytes that arrive after the header's
 * record are not looked at. */
static bool bittorrent_refused(struct session *s, const struct vless_flow_decision *d)
{
    enum node_bt_mode mode = s->snap->cfg->block_bittorrent;
    const uint8_t *body = buf_data(&s->hs->app) + s->hs->req.header_len;
    size_t body_len = buf_len(&s->hs->app) - s->hs->req.header_len;
    if (mode == NODE_BT_MODE_OFF || s->hs->req.cmd != VLESS_CMD_TCP || body_len == 0)
        return false;
    struct node_bt_flow f = {mode, s->w->rt->usage, s->user->key, session_hub_id(s), s->id};
    bool refuse;
    if (d->vision) {
        struct vless_vision_shared sh;
        struct vless_vision_reader r;
        struct vless_vision_rres res;
        struct buf plain;
        buf_init(&plain);
        vless_vision_shared_init(&sh);
        vless_vision_reader_init(&r, &sh, s->hs->req.id);
        if (vless_vision_read(&r, body, body_len, &plain, &res) < 0) {
            buf_dispose(&plain);
            return false; /* the relay reports the bad framing */
        }
        refuse = node_bt_guard(&f, true, buf_data(&plain), buf_len(&plain));
        buf_dispose_secret(&plain);
    } else {
        refuse = node_bt_guard(&f, true, body, body_len);
    }
    if (refuse)
        session_close(s, NODE_CR_BITTORRENT, ERR_AUTH);
    return refuse;
}

/* The request is valid and its flow allowed: limits, then UDP or a destination dial. */
static void accept_tunnel(struct session *s)
{
    if (admit(s) <= 0)
        return;
    const struct vless_flow_decision d = s->flow_d;
    if (s->hs->req.cmd != VLESS_CMD_TCP) {
        session_start_udp(s, &d); /* UDP (command 2) and Mux/XUDP: node/udp.h */
        return;
    }
    s->vision = d.vision;
    session_dial_dest(s);
}

void session_on_limit_timer(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    accept_tunnel(container_of(t, struct session, limit_timer));
}

/* Client bytes after the handshake: VLESS header, then hand-off to the tunnel. */
void session_vless_header(struct session *s)
{
    const struct node_inbound_rt *in = s->in;
    while (buf_len(&s->hs->app) < SESSION_MAX_HEADER_PLAIN) {
        size_t used = 0;
        size_t before = buf_len(&s->hs->app);
        int rc = tls13_recv_record(s->tls, buf_data(&s->hs->cin), buf_len(&s->hs->cin), &used, &s->hs->app,
                                   &s->hs->cout, NULL);
        buf_consume(&s->hs->cin, used);
        if (rc == ERR_NEED_MORE)
            break;
        if (rc < 0) {
            session_fail_tls(s, rc);
            return;
        }
        if (s->hs->first_len == 0 && buf_len(&s->hs->app) > before)
            s->hs->first_len = buf_len(&s->hs->app) - before;
        if (s->hs->first_len)
            break; /* the header is in the first record: parse before decrypting more */
    }
    if (s->hs->first_len == 0)
        return;
    int rc = vless_request_parse(&s->hs->req, buf_data(&s->hs->app), buf_len(&s->hs->app), s->hs->first_len, in->users,
                                 false);
    if (rc == ERR_NEED_MORE) {
        if (buf_len(&s->hs->app) >= SESSION_MAX_HEADER_PLAIN)
            session_close(s, NODE_CR_VLESS, ERR_TOO_LONG);
        return;
    }
    if (rc < 0 || s->hs->req.action != VLESS_ACT_ACCEPT) {
        uint64_t sup;
        node_tm_vless_reject(s->hs->req.reason); /* VLESS_HR_OK: malformed */
        if (session_probe_log(s, &sup))
            log_debug("node", s->id, "vless_rejected", LF_STR("reason", vless_hdr_reason_str(s->hs->req.reason)),
                      LF_UINT("suppressed", sup));
        session_close(s, NODE_CR_VLESS, rc < 0 ? rc : ERR_AUTH);
        return;
    }
    s->user = s->hs->req.user;
    const uint8_t *body = buf_data(&s->hs->app) + s->hs->req.header_len;
    size_t body_len = buf_len(&s->hs->app) - s->hs->req.header_len;
    struct vless_flow_decision d =
        vless_flow_decide(s->user->flow, s->hs->req.addons.flow, s->hs->req.cmd, body, body_len);
    if (!d.allow) {
        uint64_t sup;
        node_tm_flow_reject(d.reason);
        if (session_probe_log(s, &sup))
            log_debug("node", s->id, "flow_refused", LF_STR("reason", vless_flow_reason_str(d.reason)),
                      LF_UINT("suppressed", sup));
        session_close(s, NODE_CR_FLOW, ERR_AUTH);
        return;
    }
    if (bittorrent_refused(s, &d))
        return;
    s->flow_d = d;
    accept_tunnel(s);
}
