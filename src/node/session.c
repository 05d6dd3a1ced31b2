#include "node/session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "net/proxy_proto.h"
#include "net/relay.h"
#include "node/telemetry.h"
#include "node/udp.h"
#include "node/usage.h"
#include "node/worker.h"
#include "tunnel/xprt.h"
#include "reality/client_hello.h"
#include "reality/outcome.h"
#include "reality/target.h"
#include "vless/header.h"

#define SESSION_READ_CHUNK 16384
#define SESSION_MAX_CLIENT_PREFIX (70 * 1024) /* ClientHello records + anything before a decision */
#define SESSION_MAX_HEADER_PLAIN 4096         /* VLESS header arrives in the first records */

enum session_decision {
    DECIDE_NONE = 0,
    DECIDE_FALLBACK,
    DECIDE_AUTHENTICATED,
};

struct session {
    struct node_session_link link; /* first: the worker's list */
    struct node_worker *w;
    struct node_snapshot *snap;
    const struct node_inbound_rt *in;
    uint64_t id;
    enum node_session_state state;
    enum session_decision decision;
    int cfd, tfd, dfd;
    struct loop_io cio, tio;
    struct loop_timer deadline;
    struct loop_task free_task;
    struct sock_addr peer, local;

    struct buf cin;   /* client bytes not yet handed on (all of them while peeking) */
    size_t cin_fwd;   /* cin bytes already written to the target (mirroring) */
    size_t fwd_limit; /* stop mirroring here (end of the ClientHello records once authenticated) */
    struct buf tout;  /* bytes for the target: PROXY header, then the mirror */
    struct buf cout;  /* bytes for the client during our handshake */
    struct buf scratch;
    struct reality_client_hello ch;
    struct reality_auth_result auth;
    enum reality_outcome outcome;
    struct reality_target target;
    bool target_up, target_spoke;
    struct node_dial *tdial, *ddial;

    struct tls13_conn *tls;
    struct buf app; /* decrypted application bytes before the VLESS header is complete */
    size_t first_len;
    struct vless_request req;
    bool vision;

    struct relay relay;
    bool relay_started;
    struct tunnel_xprt xprt;
    bool xprt_ready;
    struct relay_cfg relay_cfg;  /* kept to restart the relay in splice mode (Vision direct copy) */
    struct loop_timer splice_timer;
    unsigned splice_tries;
    uint64_t moved_up, moved_down; /* bytes moved by relays already replaced */
    struct node_udp *udp; /* UDP / Mux tunnels (node/udp.h) */
    struct node_limits_ticket ticket; /* device / connection slot while the tunnel lives */
    struct loop_timer acct;           /* books the tunnel's bytes every veil.usageReportSec */
    uint64_t acct_up, acct_down;      /* bytes booked so far (moved_* + the relay's) */
    bool acct_open;                   /* counted as an open tunnel of the user (node/usage.h) */
    struct vless_flow_decision flow_d;  /* kept while admission waits for Redis */
    struct loop_timer limit_timer;      /* retries that admission */
    uint64_t limit_until;               /* then decides without waiting */
};

static const char *const state_names[NODE_SS__COUNT] = {
    "proxy_header", "peek_hello", "wait_target", "target_flight", "tls_handshake",
    "vless_header", "dialing",    "relay",       "fallback_relay", "closed",
};

static const char *const reason_names[NODE_CR__COUNT] = {
    "done", "fallback_done", "target_dial", "target_flight", "tls",   "vless",   "flow",
    "dial", "timeout",       "proxy_header", "io",         "nomem", "shutdown", "limit", "fd_reserve",
};

const char *node_session_state_str(enum node_session_state s)
{
    return (unsigned)s < NODE_SS__COUNT ? state_names[s] : "unknown";
}

const char *node_close_reason_str(enum node_close_reason r)
{
    return (unsigned)r < NODE_CR__COUNT ? reason_names[r] : "unknown";
}

static uint64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void session_free_task(struct loop *loop, struct loop_task *t)
{
    (void)loop;
    struct session *s = container_of(t, struct session, free_task);
    buf_dispose(&s->cin);
    buf_dispose(&s->tout);
    buf_dispose(&s->cout);
    buf_dispose(&s->scratch);
    buf_dispose_secret(&s->app);
    reality_target_dispose(&s->target);
    reality_auth_result_wipe(&s->auth);
    if (s->xprt_ready)
        tunnel_xprt_dispose(&s->xprt);
    tls13_conn_free(s->tls);
    node_snapshot_unref(s->snap);
    free(s);
}

static void close_fd(struct session *s, struct loop_io *io, int *fd)
{
    if (*fd < 0)
        return;
    if (io != NULL)
        loop_io_stop(s->w->loop, io);
    close(*fd);
    *fd = -1;
}

static void account(struct session *s);

/* Debug lines whose volume a prober controls (fallback reasons, failed handshakes, refused
 * requests) pass the process-wide limit of node/telemetry.h; *suppressed = lines dropped since
 * the last one that passed. */
static bool probe_log(struct session *s, uint64_t *suppressed)
{
    *suppressed = 0;
    return log_enabled(LOG_LEVEL_DEBUG) && node_tm_log_allow(loop_now(s->w->loop), suppressed);
}

/* Ends the session: everything is released at the end of the loop iteration. */
static void session_close(struct session *s, enum node_close_reason why, int err)
{
    if (s->state == NODE_SS_CLOSED)
        return;
    struct node_worker *w = s->w;
    account(s); /* bytes since the last tick, e.g. closed with the relay running (node stopping) */
    loop_timer_stop(w->loop, &s->acct);
    if (s->acct_open)
        node_usage_close(w->rt->usage, s->req.user->key);
    s->acct_open = false;
    enum node_session_state was = s->state;
    s->state = NODE_SS_CLOSED;
    loop_timer_stop(w->loop, &s->deadline);
    loop_timer_stop(w->loop, &s->splice_timer);
    loop_timer_stop(w->loop, &s->limit_timer);
    if (s->tdial)
        node_dial_cancel(s->tdial);
    if (s->ddial)
        node_dial_cancel(s->ddial);
    s->tdial = s->ddial = NULL;
    if (s->relay_started)
        relay_dispose(&s->relay);
    node_udp_free(s->udp);
    s->udp = NULL;
    node_limits_release(w->rt->limits, &s->ticket, loop_now(w->loop));
    close_fd(s, &s->cio, &s->cfd);
    close_fd(s, &s->tio, &s->tfd);
    close_fd(s, NULL, &s->dfd);
    atomic_fetch_add(&w->stats.closed, 1);
    atomic_fetch_sub(&w->stats.active, 1);
    if ((unsigned)why < 16)
        atomic_fetch_add(&w->stats.close_reasons[why], 1);
    uint64_t sup = 0; /* sessions that never authenticated are probes: rate-limited lines */
    if (s->decision == DECIDE_AUTHENTICATED || probe_log(s, &sup))
        log_debug("node", s->id, "close", LF_STR("reason", node_close_reason_str(why)),
                  LF_STR("state", node_session_state_str(was)), LF_STR("err", err ? err_str(err) : ""),
                  LF_UINT("suppressed", sup));
    s->link.prev->next = s->link.next;
    s->link.next->prev = s->link.prev;
    s->link.prev = s->link.next = &s->link;
    loop_defer(w->loop, &s->free_task);
}

bool node_session_shed_unauthenticated(struct node_worker *w)
{
    struct session *victim = NULL; /* the list runs oldest first */
    for (struct node_session_link *l = w->sessions.next; l != &w->sessions; l = l->next) {
        struct session *s = container_of(l, struct session, link);
        if (s->decision == DECIDE_AUTHENTICATED || s->state == NODE_SS_CLOSED)
            continue;
        if (s->state == NODE_SS_FALLBACK_RELAY) {
            victim = s;
            break;
        }
        if (victim == NULL)
            victim = s;
    }
    if (victim == NULL)
        return false;
    session_close(victim, NODE_CR_FD_RESERVE, ERR_LIMIT);
    return true;
}

void node_session_close_all(struct node_worker *w)
{
    while (w->sessions.next != &w->sessions) {
        struct session *s = container_of(w->sessions.next, struct session, link);
        session_close(s, NODE_CR_SHUTDOWN, 0);
    }
    node_udp_worker_close(w); /* XUDP associations kept for reuse */
}

/* ---- plumbing ---- */

/* Writes as much of b as the socket takes. 0, or -errno (not EAGAIN). */
static int write_some(int fd, struct buf *b)
{
    while (buf_len(b) > 0) {
        ssize_t k = send(fd, buf_data(b), buf_len(b), MSG_NOSIGNAL);
        if (k == -1) {
            if (errno == EINTR)
                continue;
            return errno == EWOULDBLOCK ? 0 : -errno;
        }
        buf_consume(b, (size_t)k);
    }
    return 0;
}

/* Reads what is there into b (at most one chunk). >0 bytes, 0 at EOF, -EAGAIN, -errno. */
static ssize_t read_some(int fd, struct buf *b)
{
    if (buf_reserve(b, SESSION_READ_CHUNK) < 0)
        return ERR_NOMEM;
    for (;;) {
        ssize_t k = recv(fd, buf_tail(b), buf_space(b), 0);
        if (k == -1 && errno == EINTR)
            continue;
        if (k == -1)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        buf_produce(b, (size_t)k);
        return k;
    }
}

static void update_interest(struct session *s)
{
    struct loop *loop = s->w->loop;
    if (s->cfd >= 0)
        (void)loop_io_set(loop, &s->cio, LOOP_READ | (buf_len(&s->cout) ? LOOP_WRITE : 0));
    if (s->tfd >= 0 && s->target_up)
        (void)loop_io_set(loop, &s->tio, LOOP_READ | (buf_len(&s->tout) ? LOOP_WRITE : 0));
}

/* Mirroring (spec/reality.md §4.1): client bytes up to fwd_limit go to the target. */
static int mirror(struct session *s)
{
    if (!s->target_up)
        return 0;
    size_t limit = s->fwd_limit < buf_len(&s->cin) ? s->fwd_limit : buf_len(&s->cin);
    if (s->cin_fwd < limit) {
        TRY(buf_append(&s->tout, buf_data(&s->cin) + s->cin_fwd, limit - s->cin_fwd));
        s->cin_fwd = limit;
    }
    return write_some(s->tfd, &s->tout);
}

/* ---- fallback: a transparent relay to the target (spec/reality.md §6) ---- */

/* Books the bytes moved and not booked yet (application bytes each way, Vision direct copy and
 * splice included): a tunnel's go to its user (node/usage.h, which feeds hub sync) and the
 * worker's totals, a probe's to the fallback volume. Runs on the periodic tick, when the relay
 * ends and when the session closes, so every byte is booked exactly once. */
static void account(struct session *s)
{
    if (s->state != NODE_SS_RELAY && s->state != NODE_SS_FALLBACK_RELAY)
        return;
    struct node_worker *w = s->w;
    uint64_t up = s->moved_up + relay_bytes(&s->relay, RELAY_A_TO_B);
    uint64_t down = s->moved_down + relay_bytes(&s->relay, RELAY_B_TO_A);
    uint64_t dup = up - s->acct_up, ddown = down - s->acct_down;
    if (dup == 0 && ddown == 0)
        return;
    s->acct_up = up;
    s->acct_down = down;
    if (s->state == NODE_SS_FALLBACK_RELAY) {
        node_tm_add(NODE_TM_FALLBACK_UP, dup);
        node_tm_add(NODE_TM_FALLBACK_DOWN, ddown);
        return;
    }
    atomic_fetch_add(&w->stats.bytes_up, dup);
    atomic_fetch_add(&w->stats.bytes_down, ddown);
    const struct node_inbound *ib = s->in->ib;
    uint64_t tag = s->req.user->tag;
    node_usage_add(w->rt->usage, s->req.user->key, tag < ib->n_users ? ib->users[tag].hub_id : 0, dup, ddown);
}

static void on_acct(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    account(container_of(t, struct session, acct));
}

/* The user has one more tunnel up (closed in session_close). */
static void open_tunnel(struct session *s)
{
    const struct node_inbound *ib = s->in->ib;
    uint64_t tag = s->req.user->tag;
    s->acct_open = node_usage_open(s->w->rt->usage, s->req.user->key, tag < ib->n_users ? ib->users[tag].hub_id : 0);
}

static void start_acct(struct session *s)
{
    uint32_t sec = s->snap->cfg->usage_report_sec ? s->snap->cfg->usage_report_sec : 5;
    (void)loop_timer_start(s->w->loop, &s->acct, (uint64_t)sec * 1000, (uint64_t)sec * 1000); /* best effort */
}

static void relay_done(struct relay *r, enum relay_reason reason, int err)
{
    struct session *s = container_of(r, struct session, relay);
    account(s);
    s->relay_started = false; /* already stopped */
    enum node_close_reason why = s->state == NODE_SS_FALLBACK_RELAY ? NODE_CR_FALLBACK_DONE : NODE_CR_DONE;
    if (reason == RELAY_REASON_NOMEM)
        why = NODE_CR_NOMEM;
    else if (reason == RELAY_REASON_ERR_A || reason == RELAY_REASON_ERR_B)
        why = why == NODE_CR_DONE ? NODE_CR_IO : why;
    session_close(s, why, reason == RELAY_REASON_DONE ? 0 : err);
}

static void start_fallback(struct session *s)
{
    struct node_worker *w = s->w;
    const struct node_inbound *ib = s->in->ib;
    loop_timer_stop(w->loop, &s->deadline);
    loop_io_stop(w->loop, &s->cio);
    loop_io_stop(w->loop, &s->tio);
    s->state = NODE_SS_FALLBACK_RELAY;
    atomic_fetch_add(&w->stats.fallback, 1);
    reality_outcome_count(s->outcome);
    struct relay_cfg rc = {
        /* Copy, not splice: two fds per fallback instead of six (two pipes each way would be
         * four more), so a flood of probes cannot take the fd table; their volume is small and
         * capped by limitFallback*. Buffers are only held while bytes are in flight. */
        .mode = RELAY_MODE_COPY,
        .pool = w->pool,
        .idle_ms = (uint64_t)s->snap->cfg->fallback_idle_sec * 1000,
        .rate = {[RELAY_A_TO_B] = {ib->fallback_upload.after_bytes, ib->fallback_upload.bytes_per_sec,
                                   ib->fallback_upload.burst_bytes_per_sec},
                 [RELAY_B_TO_A] = {ib->fallback_download.after_bytes, ib->fallback_download.bytes_per_sec,
                                   ib->fallback_download.burst_bytes_per_sec}},
        .on_done = relay_done,
    };
    relay_init(&s->relay, w->loop, &rc);
    /* Unsent mirror bytes first, then whatever the client sent that was not mirrored yet. */
    int err = 0;
    if (buf_len(&s->tout))
        err = relay_preload(&s->relay, RELAY_A_TO_B, buf_data(&s->tout), buf_len(&s->tout));
    if (err == 0 && s->cin_fwd < buf_len(&s->cin))
        err = relay_preload(&s->relay, RELAY_A_TO_B, buf_data(&s->cin) + s->cin_fwd, buf_len(&s->cin) - s->cin_fwd);
    struct bytes got = reality_target_received(&s->target);
    if (err == 0 && got.len)
        err = relay_preload(&s->relay, RELAY_B_TO_A, got.p, got.len);
    if (err == 0)
        err = relay_start(&s->relay, s->cfd, s->tfd);
    if (err < 0) {
        relay_dispose(&s->relay);
        session_close(s, err == ERR_NOMEM ? NODE_CR_NOMEM : NODE_CR_IO, err);
        return;
    }
    s->relay_started = true;
    start_acct(s);
    buf_dispose(&s->cin);
    buf_dispose(&s->tout);
    reality_target_dispose(&s->target);
}

/* ---- authenticated path ---- */

static void fail_tls(struct session *s, int err)
{
    /* An alert the engine chose is already in cout; best effort. */
    if (s->cfd >= 0)
        (void)write_some(s->cfd, &s->cout);
    uint64_t sup;
    if (probe_log(s, &sup))
        log_debug("node", s->id, "tls_failed", LF_STR("err", tls13_err_str(err)), LF_UINT("suppressed", sup));
    reality_outcome_count(REALITY_OUTCOME_HANDSHAKE_FAILED);
    session_close(s, NODE_CR_TLS, err);
}

/* Builds and queues our flight from the target's (spec/reality.md §7.1, §7.2). */
static void send_flight(struct session *s)
{
    struct node_worker *w = s->w;
    const struct reality_target_plan *plan = &s->target.plan;
    if (plan->group != TLS13_GROUP_X25519 && w->groups[1] == NULL) {
        log_warn("node", s->id, "target_group_unsupported", LF_UINT("group", plan->group),
                 LF_STR("hint", "the target chose X25519MLKEM768, which this build cannot answer"));
        session_close(s, NODE_CR_TARGET_FLIGHT, ERR_UNSUPPORTED);
        return;
    }
    s->tls = tls13_conn_new(&w->tls_server, true);
    if (s->tls == NULL) {
        session_close(s, NODE_CR_NOMEM, ERR_NOMEM);
        return;
    }
    uint8_t der[REALITY_CERT_DER_LEN];
    size_t lens[4], n = 0;
    reality_plan_flight_layout(plan, lens, &n);
    struct bytes sh = reality_target_server_hello_msg(&s->target);
    int rc = reality_cert_for_conn(&w->rt->cert, s->auth.auth_key, der);
    struct bytes chain = {der, sizeof(der)};
    if (rc == 0)
        rc = tls13_server_set_hello_template(s->tls, sh.p, sh.len);
    if (rc == 0)
        rc = tls13_server_set_certificate(s->tls, &chain, 1, w->rt->cert.ed_priv);
    if (rc == 0)
        rc = tls13_server_set_record_layout(s->tls, lens, n);
    if (rc == 0)
        rc = tls13_server_set_alpn(s->tls, NULL, 0); /* REALITY never selects ALPN (§7.2) */
    if (rc == 0) {
        size_t used = 0;
        /* Exactly the ClientHello records; later client bytes are its second flight. */
        rc = tls13_handshake(s->tls, buf_data(&s->cin), s->ch.record_bytes, &used, &s->cout);
        if (rc == ERR_NEED_MORE)
            rc = 0;
        buf_consume(&s->cin, used);
    }
    if (rc == 0 && plan->lens[REALITY_SLOT_NEW_SESSION_TICKET] != 0) /* shaped like the target's ticket */
        rc = tls13_seal_record(s->tls, 23, NULL, 0, plan->lens[REALITY_SLOT_NEW_SESSION_TICKET], &s->cout);
    memset(der, 0, sizeof(der));
    if (rc < 0) {
        fail_tls(s, rc);
        return;
    }
    s->state = NODE_SS_TLS_HANDSHAKE;
    rc = write_some(s->cfd, &s->cout);
    if (rc < 0) {
        session_close(s, NODE_CR_IO, rc);
        return;
    }
    update_interest(s);
}

/* Device and connection limits of the user (node/limits.h); a refusal closes without a response,
 * as for an unknown user. 1: go on; 0: waiting for the shared device set (limit_timer retries);
 * -1: refused and closed. */
static int admit(struct session *s)
{
    const struct node_inbound *ib = s->in->ib;
    uint64_t tag = s->req.user->tag;
    if (tag >= ib->n_users)
        return 1;
    const struct node_user *u = &ib->users[tag];
    struct node_user_limits ul = {u->device_limit, u->max_conns, u->speed_limit};
    struct node_limits *l = s->w->rt->limits;
    uint64_t now = loop_now(s->w->loop);
    if (s->limit_until == 0)
        s->limit_until = now + node_limits_wait_ms(l);
    enum node_limit_kind kind;
    int rc = node_limits_admit(l, s->req.user->key, &ul, &s->peer, now, now < s->limit_until, &s->ticket, &kind);
    if (rc == 0)
        return 1;
    if (rc == ERR_NEED_MORE) {
        loop_io_stop(s->w->loop, &s->cio);
        if (loop_timer_start(s->w->loop, &s->limit_timer, 10, 0) == 0)
            return 0;
        rc = node_limits_admit(l, s->req.user->key, &ul, &s->peer, now, false, &s->ticket, &kind);
        if (rc == 0)
            return 1;
    }
    log_debug("node", s->id, "limit_refused", LF_STR("kind", node_limit_kind_str(kind)));
    session_close(s, NODE_CR_LIMIT, ERR_LIMIT);
    return -1;
}

static void dest_dialed(void *arg, enum node_dial_result res, int err, int fd, const struct sock_addr *peer);
static void accept_tunnel(struct session *s);
static void start_udp(struct session *s, const struct vless_flow_decision *d);

/* Client bytes after the handshake: VLESS header, then hand-off to the relay. */
static void on_vless_bytes(struct session *s)
{
    const struct node_inbound_rt *in = s->in;
    while (buf_len(&s->app) < SESSION_MAX_HEADER_PLAIN) {
        size_t used = 0;
        size_t before = buf_len(&s->app);
        int rc = tls13_recv_record(s->tls, buf_data(&s->cin), buf_len(&s->cin), &used, &s->app, &s->cout, NULL);
        buf_consume(&s->cin, used);
        if (rc == ERR_NEED_MORE)
            break;
        if (rc < 0) {
            fail_tls(s, rc);
            return;
        }
        if (s->first_len == 0 && buf_len(&s->app) > before)
            s->first_len = buf_len(&s->app) - before;
        if (s->first_len)
            break; /* the header is in the first record: parse before decrypting more */
    }
    if (s->first_len == 0)
        return;
    int rc = vless_request_parse(&s->req, buf_data(&s->app), buf_len(&s->app), s->first_len, in->users, false);
    if (rc == ERR_NEED_MORE) {
        if (buf_len(&s->app) >= SESSION_MAX_HEADER_PLAIN)
            session_close(s, NODE_CR_VLESS, ERR_TOO_LONG);
        return;
    }
    if (rc < 0 || s->req.action != VLESS_ACT_ACCEPT) {
        uint64_t sup;
        node_tm_vless_reject(s->req.reason); /* VLESS_HR_OK: malformed */
        if (probe_log(s, &sup))
            log_debug("node", s->id, "vless_rejected", LF_STR("reason", vless_hdr_reason_str(s->req.reason)),
                      LF_UINT("suppressed", sup));
        session_close(s, NODE_CR_VLESS, rc < 0 ? rc : ERR_AUTH);
        return;
    }
    const uint8_t *body = buf_data(&s->app) + s->req.header_len;
    size_t body_len = buf_len(&s->app) - s->req.header_len;
    struct vless_flow_decision d =
        vless_flow_decide(s->req.user->flow, s->req.addons.flow, s->req.cmd, body, body_len);
    if (!d.allow) {
        uint64_t sup;
        node_tm_flow_reject(d.reason);
        if (probe_log(s, &sup))
            log_debug("node", s->id, "flow_refused", LF_STR("reason", vless_flow_reason_str(d.reason)),
                      LF_UINT("suppressed", sup));
        session_close(s, NODE_CR_FLOW, ERR_AUTH);
        return;
    }
    s->flow_d = d;
    accept_tunnel(s);
}

static void on_limit_timer(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    accept_tunnel(container_of(t, struct session, limit_timer));
}

/* The request is valid and its flow allowed: limits, then UDP or a destination dial. */
static void accept_tunnel(struct session *s)
{
    if (admit(s) <= 0)
        return;
    const struct vless_flow_decision d = s->flow_d;
    if (s->req.cmd != VLESS_CMD_TCP) {
        start_udp(s, &d); /* UDP (command 2) and Mux/XUDP: node/udp.h */
        return;
    }
    s->vision = d.vision;
    s->state = NODE_SS_DIALING;
    loop_io_stop(s->w->loop, &s->cio); /* the relay owns the client fd from here */
    char host[VLESS_DOMAIN_MAX + 1];
    const struct vless_addr *a = &s->req.dest;
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

/* Vision direct copy (spec/vision.md §7.4): once both directions are raw and nothing is buffered,
 * the tunnel is two plain sockets, so the relay restarts in splice mode and the bytes no longer
 * pass through user space. Only an optimisation: until the relay is quiet it keeps copying. */
static void on_splice_timer(struct loop *loop, struct loop_timer *t)
{
    struct session *s = container_of(t, struct session, splice_timer);
    struct relay *r = &s->relay;
    if (s->state != NODE_SS_RELAY || !s->relay_started || !relay_running(r))
        return;
    bool quiet = tunnel_xprt_idle(&s->xprt) && relay_buffers_held(r) == 0;
    for (int d = 0; d < RELAY_DIR__COUNT; d++)
        quiet = quiet && !r->half[d].eof && !r->half[d].shut && !r->half[d].throttled &&
                r->half[d].len == r->half[d].off && r->half[d].in_pipe == 0;
    if (!quiet) {
        if (++s->splice_tries < 200) /* busy now: look again soon; give up on a flapping tunnel */
            (void)loop_timer_start(loop, t, 5, 0);
        return;
    }
    s->moved_up += relay_bytes(r, RELAY_A_TO_B);
    s->moved_down += relay_bytes(r, RELAY_B_TO_A);
    relay_dispose(r);
    struct relay_cfg cfg = s->relay_cfg;
    cfg.mode = RELAY_MODE_SPLICE;
    relay_init(r, loop, &cfg);
    int rc = relay_start(r, s->cfd, s->dfd);
    if (rc < 0) {
        relay_dispose(r);
        s->relay_started = false;
        session_close(s, NODE_CR_IO, rc);
        return;
    }
    log_debug("node", s->id, "direct_splice", LF_UINT("after_up", s->moved_up), LF_UINT("after_down", s->moved_down));
}

static void on_both_raw(void *arg)
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
        if (res == NODE_DIAL_DNS_FAILED)
            node_tm_add(NODE_TM_DNS_FAILURES, 1);
        log_debug("node", s->id, "dial_failed", LF_STR("result", node_dial_result_str(res)),
                  LF_STR("err", err_str(err)));
        session_close(s, NODE_CR_DIAL, err);
        return;
    }
    s->dfd = fd;
    (void)sock_set_nodelay(fd, true);
    const uint8_t *body = buf_data(&s->app) + s->req.header_len;
    size_t body_len = buf_len(&s->app) - s->req.header_len;
    int rc = tunnel_xprt_init(&s->xprt, s->tls, s->vision, s->req.id, buf_data(&s->cin), buf_len(&s->cin), body,
                            body_len);
    s->xprt_ready = true;
    uint8_t resp[2];
    struct buf rb;
    buf_init_fixed(&rb, resp, sizeof(resp));
    if (rc == 0)
        rc = vless_response_encode(&rb, s->req.version);
    if (rc == 0)
        rc = tunnel_xprt_set_prefix(&s->xprt, resp, buf_len(&rb)); /* sent with the first downlink data */
    if (rc == 0 && buf_len(&s->cout)) /* e.g. a KeyUpdate answer queued while reading the header */
        rc = buf_append(&s->xprt.cout, buf_data(&s->cout), buf_len(&s->cout));
    buf_dispose_secret(&s->app);
    buf_dispose(&s->cin);
    buf_dispose(&s->cout);
    if (rc < 0) {
        session_close(s, NODE_CR_NOMEM, rc);
        return;
    }
    struct relay_cfg cfg = {
        .mode = RELAY_MODE_COPY,
        .pool = w->pool,
        .idle_ms = (uint64_t)s->snap->cfg->idle_timeout_sec * 1000,
        .shared = {node_limits_rate(&s->ticket, RELAY_A_TO_B), node_limits_rate(&s->ticket, RELAY_B_TO_A)},
        .on_done = relay_done,
    };
    s->relay_cfg = cfg;
    s->xprt.on_both_raw = on_both_raw;
    s->xprt.on_both_raw_arg = s;
    relay_init(&s->relay, w->loop, &cfg);
    rc = relay_set_xprt(&s->relay, RELAY_SIDE_A, &tunnel_xprt_ops, &s->xprt);
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
    start_acct(s);
    open_tunnel(s);
    if (s->snap->cfg->access_log != NULL) {
        char dest[300], from[64] = "";
        vless_addr_format(dest, sizeof(dest), &s->req.dest);
        (void)sock_addr_format_ip(&s->peer, from, sizeof(from)); /* the PROXY header's source when present */
        log_info("access", s->id, "tunnel", LF_STR("user", s->req.user->email ? s->req.user->email : ""),
                 LF_STR("from", from), LF_STR("dest", dest), LF_BOOL("vision", s->vision));
    }
}

static void udp_done(void *arg, enum node_close_reason why, int err)
{
    session_close(arg, why, err);
}

/* Hands the connection to the UDP relay (the session keeps the fd, TLS and bookkeeping). */
static void start_udp(struct session *s, const struct vless_flow_decision *d)
{
    loop_io_stop(s->w->loop, &s->cio);
    struct node_udp_params p = {
        .w = s->w,
        .conn_id = s->id,
        .fd = s->cfd,
        .tls = s->tls,
        .vision = d->vision,
        .mux_udp_only = d->mux_udp_only,
        .uuid = s->req.id,
        .user_key = s->req.user->key,
        .hub_id = s->req.user->tag < s->in->ib->n_users ? s->in->ib->users[s->req.user->tag].hub_id : 0,
        .cmd = s->req.cmd,
        .dest = &s->req.dest,
        .version = s->req.version,
        .cin_left = buf_data(&s->cin),
        .cin_len = buf_len(&s->cin),
        .plain_left = buf_data(&s->app) + s->req.header_len,
        .plain_len = buf_len(&s->app) - s->req.header_len,
        .out_left = buf_data(&s->cout),
        .out_len = buf_len(&s->cout),
        .idle_ms = s->snap->cfg->udp_idle_timeout_sec * 1000u,
        .tcp_idle_ms = s->snap->cfg->idle_timeout_sec * 1000u,
        .report_ms = (s->snap->cfg->usage_report_sec ? s->snap->cfg->usage_report_sec : 5) * 1000u,
        .rate = {node_limits_rate(&s->ticket, RELAY_A_TO_B), node_limits_rate(&s->ticket, RELAY_B_TO_A)},
        .access_user = s->snap->cfg->access_log == NULL ? NULL : s->req.user->email ? s->req.user->email : "",
        .on_done = udp_done,
        .arg = s,
    };
    int rc = node_udp_start(&p, &s->udp);
    buf_dispose_secret(&s->app);
    buf_dispose(&s->cin);
    buf_dispose(&s->cout);
    if (rc < 0) {
        session_close(s, rc == ERR_NOMEM ? NODE_CR_NOMEM : NODE_CR_IO, rc);
        return;
    }
    s->state = NODE_SS_RELAY;
    loop_timer_stop(s->w->loop, &s->deadline);
    open_tunnel(s); /* node/udp.c books the bytes */
    if (s->snap->cfg->access_log != NULL) {
        char dest[300] = "mux";
        if (s->req.cmd == VLESS_CMD_UDP)
            vless_addr_format(dest, sizeof(dest), &s->req.dest);
        log_info("access", s->id, "tunnel", LF_STR("user", s->req.user->email ? s->req.user->email : ""),
                 LF_STR("dest", dest), LF_STR("network", s->req.cmd == VLESS_CMD_MUX ? "mux" : "udp"),
                 LF_BOOL("vision", d->vision));
    }
}

/* ---- the decision (spec/reality.md §4.3) ---- */

static void decide(struct session *s)
{
    if (s->target_spoke) { /* §4.4: the target answered before we decided */
        s->outcome = REALITY_OUTCOME_TARGET_FIRST;
        s->decision = DECIDE_FALLBACK;
        return;
    }
    int rc = reality_auth(s->in->reality, &s->ch, unix_ms(), &s->auth);
    s->outcome = rc < 0 ? REALITY_OUTCOME_MALFORMED : s->auth.outcome;
    if (rc < 0 || s->auth.outcome != REALITY_OUTCOME_AUTHENTICATED) {
        s->decision = DECIDE_FALLBACK;
        uint64_t sup;
        if (probe_log(s, &sup))
            log_debug("node", s->id, "reality_fallback", LF_STR("reason", reality_outcome_str(s->outcome)),
                      LF_UINT("suppressed", sup));
        return;
    }
    s->decision = DECIDE_AUTHENTICATED;
    s->fwd_limit = s->ch.record_bytes; /* the hello goes to the target, nothing after it */
    atomic_fetch_add(&s->w->stats.authenticated, 1);
    reality_outcome_count(REALITY_OUTCOME_AUTHENTICATED);
}

/* Moves the session forward after any event. */
static void advance(struct session *s)
{
    int rc;
    switch (s->state) {
    case NODE_SS_PEEK_HELLO:
        rc = reality_ch_peek(buf_data(&s->cin), buf_len(&s->cin), &s->scratch, &s->ch);
        if (rc == ERR_NEED_MORE) {
            if (buf_len(&s->cin) > SESSION_MAX_CLIENT_PREFIX)
                rc = ERR_TOO_LONG;
            else
                return;
        }
        if (rc < 0) {
            s->outcome = REALITY_OUTCOME_MALFORMED;
            s->decision = DECIDE_FALLBACK;
        } else {
            decide(s);
        }
        s->state = NODE_SS_WAIT_TARGET;
        /* fall through */
    case NODE_SS_WAIT_TARGET:
        if (!s->target_up)
            return;
        if (s->decision == DECIDE_FALLBACK) {
            start_fallback(s);
            return;
        }
        rc = mirror(s);
        if (rc < 0) {
            session_close(s, NODE_CR_TARGET_DIAL, rc);
            return;
        }
        s->state = NODE_SS_TARGET_FLIGHT;
        /* fall through */
    case NODE_SS_TARGET_FLIGHT:
        switch (s->target.state) {
        case REALITY_TARGET_ST_EXPECT_RECORDS:
            return;
        case REALITY_TARGET_ST_FALLBACK: {
            uint64_t sup;
            if (probe_log(s, &sup))
                log_debug("node", s->id, "target_flight_fallback", LF_STR("why", s->target.why ? s->target.why : ""),
                          LF_UINT("suppressed", sup));
            s->outcome = REALITY_OUTCOME_TARGET_BAD_SERVER_HELLO;
            start_fallback(s);
            return;
        }
        case REALITY_TARGET_ST_CLOSE:
            reality_outcome_count(REALITY_OUTCOME_TARGET_BAD_FLIGHT);
            session_close(s, NODE_CR_TARGET_FLIGHT, ERR_MALFORMED);
            return;
        case REALITY_TARGET_ST_READY:
            send_flight(s);
            if (s->state != NODE_SS_TLS_HANDSHAKE)
                return;
            break;
        case REALITY_TARGET_ST__COUNT:
        default:
            session_close(s, NODE_CR_TARGET_FLIGHT, ERR_INTERNAL);
            return;
        }
        /* fall through */
    case NODE_SS_TLS_HANDSHAKE: {
        size_t used = 0;
        rc = tls13_handshake(s->tls, buf_data(&s->cin), buf_len(&s->cin), &used, &s->cout);
        buf_consume(&s->cin, used);
        if (rc == ERR_NEED_MORE) {
            update_interest(s);
            return;
        }
        if (rc < 0) {
            fail_tls(s, rc);
            return;
        }
        /* Handshake complete: the target has served its purpose (§7.3). */
        close_fd(s, &s->tio, &s->tfd);
        reality_target_dispose(&s->target);
        buf_dispose(&s->tout);
        buf_dispose(&s->scratch);
        reality_auth_result_wipe(&s->auth); /* the AuthKey's job ended with our certificate */
        s->state = NODE_SS_VLESS_HEADER;
    }
        /* fall through */
    case NODE_SS_VLESS_HEADER:
        on_vless_bytes(s);
        if (s->state == NODE_SS_VLESS_HEADER)
            update_interest(s);
        return;
    case NODE_SS_PROXY_HEADER:
    case NODE_SS_DIALING:
    case NODE_SS_RELAY:
    case NODE_SS_FALLBACK_RELAY:
    case NODE_SS_CLOSED:
    case NODE_SS__COUNT:
    default:
        return;
    }
}

/* ---- events ---- */

static void on_client(struct loop *loop, struct loop_io *io, unsigned ev)
{
    (void)loop;
    struct session *s = container_of(io, struct session, cio);
    if (ev & LOOP_WRITE) {
        int rc = write_some(s->cfd, &s->cout);
        if (rc < 0) {
            session_close(s, NODE_CR_IO, rc);
            return;
        }
    }
    if (ev & (LOOP_READ | LOOP_HUP | LOOP_ERROR)) {
        ssize_t k = read_some(s->cfd, &s->cin);
        if (k == -EAGAIN) {
            update_interest(s);
            return;
        }
        if (k <= 0) {
            /* A client that leaves before authenticating leaves the target too (§6 half-close
             * is for the relay phase; here nothing was relayed back yet). */
            session_close(s, k == 0 ? NODE_CR_IO : NODE_CR_IO, (int)k);
            return;
        }
        if (s->state == NODE_SS_PROXY_HEADER) {
            struct proxy_header h;
            int rc = proxy_header_parse(buf_data(&s->cin), buf_len(&s->cin), &h);
            if (rc == ERR_NEED_MORE)
                return;
            if (rc < 0) {
                session_close(s, NODE_CR_PROXY_HEADER, rc);
                return;
            }
            if (!h.local) {
                s->peer = h.src;
                s->local = h.dst;
                if (!node_limits_handshake(s->w->rt->limits, &s->peer, loop_now(s->w->loop))) {
                    session_close(s, NODE_CR_LIMIT, ERR_LIMIT); /* before any REALITY work */
                    return;
                }
            }
            buf_consume(&s->cin, h.len);
            s->state = NODE_SS_PEEK_HELLO;
        }
        if (s->state == NODE_SS_PEEK_HELLO || s->state == NODE_SS_WAIT_TARGET) {
            int rc = mirror(s);
            if (rc < 0) {
                session_close(s, NODE_CR_TARGET_DIAL, rc);
                return;
            }
        }
    }
    advance(s);
    if (s->state != NODE_SS_CLOSED && s->state < NODE_SS_DIALING)
        update_interest(s);
}

static void on_target(struct loop *loop, struct loop_io *io, unsigned ev)
{
    (void)loop;
    struct session *s = container_of(io, struct session, tio);
    if (ev & LOOP_WRITE) {
        int rc = write_some(s->tfd, &s->tout);
        if (rc < 0) {
            session_close(s, NODE_CR_TARGET_DIAL, rc);
            return;
        }
    }
    if (ev & (LOOP_READ | LOOP_HUP | LOOP_ERROR)) {
        uint8_t tmp[8192];
        ssize_t k = recv(s->tfd, tmp, sizeof(tmp), 0);
        if (k == -1 && (errno == EAGAIN || errno == EINTR)) {
            update_interest(s);
            return;
        }
        if (k <= 0) {
            /* The target hung up: before the handshake completed, so does the client (§7.3),
             * and a target that closes while we peek makes a fallback that ends at once. */
            if (s->state == NODE_SS_PEEK_HELLO || s->state == NODE_SS_WAIT_TARGET) {
                s->target_spoke = true;
                close_fd(s, &s->tio, &s->tfd);
                session_close(s, NODE_CR_TARGET_DIAL, k == 0 ? ERR_CLOSED : -errno);
                return;
            }
            session_close(s, NODE_CR_TARGET_FLIGHT, k == 0 ? ERR_CLOSED : -errno);
            return;
        }
        if (s->state == NODE_SS_TLS_HANDSHAKE)
            return; /* late target bytes (ticket tail) are not for the client */
        size_t used = 0;
        if (s->state == NODE_SS_PEEK_HELLO || s->state == NODE_SS_WAIT_TARGET)
            s->target_spoke = true;
        if (s->target.state == REALITY_TARGET_ST_EXPECT_RECORDS &&
            reality_target_feed(&s->target, tmp, (size_t)k, &used) < 0) {
            session_close(s, NODE_CR_NOMEM, ERR_NOMEM);
            return;
        }
    }
    advance(s);
    if (s->state != NODE_SS_CLOSED && s->state < NODE_SS_DIALING)
        update_interest(s);
}

static void target_dialed(void *arg, enum node_dial_result res, int err, int fd, const struct sock_addr *peer)
{
    struct session *s = arg;
    s->tdial = NULL;
    (void)peer;
    if (res != NODE_DIAL_OK) {
        reality_outcome_count(REALITY_OUTCOME_DIAL_FAILED);
        log_warn("node", s->id, "target_unreachable", LF_STR("result", node_dial_result_str(res)),
                 LF_STR("err", err_str(err)));
        session_close(s, NODE_CR_TARGET_DIAL, err);
        return;
    }
    s->tfd = fd;
    s->target_up = true;
    loop_io_init(&s->tio, fd, on_target);
    const struct node_inbound *ib = s->in->ib;
    if (ib->xver) {
        struct sock_addr target_peer;
        if (sock_peer_addr(fd, &target_peer) == 0 && ib->xver <= 2) {
            /* source = the client, destination = our address it reached (§4.1 step 2) */
            int rc = proxy_header_write(&s->tout, ib->xver, &s->peer, &s->local);
            if (rc < 0) {
                session_close(s, NODE_CR_TARGET_DIAL, rc);
                return;
            }
        }
    }
    int rc = mirror(s);
    if (rc < 0) {
        session_close(s, NODE_CR_TARGET_DIAL, rc);
        return;
    }
    advance(s);
    if (s->state != NODE_SS_CLOSED && s->state < NODE_SS_DIALING)
        update_interest(s);
}

static void on_deadline(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct session *s = container_of(t, struct session, deadline);
    if ((s->state == NODE_SS_PEEK_HELLO || s->state == NODE_SS_WAIT_TARGET) && s->target_up) {
        /* A slow or silent client is a probe like any other: let the target handle it. */
        if (s->decision == DECIDE_NONE)
            s->outcome = REALITY_OUTCOME_MALFORMED;
        start_fallback(s);
        return;
    }
    session_close(s, NODE_CR_TIMEOUT, ERR_TIMEOUT);
}

int node_session_start(struct node_worker *w, size_t inbound, int fd, const struct sock_addr *peer)
{
    bool proxied = w->snap->inbounds[inbound < w->snap->n_inbounds ? inbound : 0].ib->accept_proxy_protocol;
    if (!proxied && !node_limits_handshake(w->rt->limits, peer, loop_now(w->loop))) {
        close(fd); /* before any REALITY work: no session, no target dial */
        atomic_fetch_add(&w->stats.close_reasons[NODE_CR_LIMIT], 1);
        return ERR_LIMIT;
    }
    struct session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        close(fd);
        return ERR_NOMEM;
    }
    s->w = w;
    s->link.next = &w->sessions;
    s->link.prev = w->sessions.prev;
    w->sessions.prev->next = &s->link;
    w->sessions.prev = &s->link;
    s->snap = node_snapshot_ref(w->snap);
    s->in = &s->snap->inbounds[inbound < s->snap->n_inbounds ? inbound : 0];
    s->id = ((uint64_t)w->index << 48) | ++w->next_id;
    s->cfd = fd;
    s->tfd = s->dfd = -1;
    s->peer = *peer;
    (void)sock_local_addr(fd, &s->local);
    s->fwd_limit = SIZE_MAX;
    s->state = s->in->ib->accept_proxy_protocol ? NODE_SS_PROXY_HEADER : NODE_SS_PEEK_HELLO;
    buf_init(&s->cin);
    buf_init(&s->tout);
    buf_init(&s->cout);
    buf_init(&s->scratch);
    buf_init(&s->app);
    reality_target_init(&s->target);
    loop_io_init(&s->cio, fd, on_client);
    loop_timer_init(&s->deadline, on_deadline);
    loop_timer_init(&s->acct, on_acct);
    loop_timer_init(&s->limit_timer, on_limit_timer);
    loop_timer_init(&s->splice_timer, on_splice_timer);
    loop_task_init(&s->free_task, session_free_task);
    atomic_fetch_add(&w->stats.accepted, 1);
    atomic_fetch_add(&w->stats.active, 1);
    (void)sock_set_nodelay(fd, true);
    uint32_t hs_ms = s->snap->cfg->handshake_timeout_ms ? s->snap->cfg->handshake_timeout_ms : 4000;
    int rc = loop_timer_start(w->loop, &s->deadline, hs_ms, 0);
    if (rc == 0)
        rc = loop_io_set(w->loop, &s->cio, LOOP_READ);
    if (rc == 0)
        rc = node_dial_start(w->dialer, s->in->ib->target_host, s->in->ib->target_port, NODE_DIAL_TRUSTED,
                             target_dialed, s, &s->tdial);
    if (rc < 0) {
        session_close(s, rc == ERR_NOMEM ? NODE_CR_NOMEM : NODE_CR_TARGET_DIAL, rc);
        return rc;
    }
    return 0;
}
