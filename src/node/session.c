/* The session's lifecycle (start, close, shed), its socket plumbing and the pipeline driver;
 * each step lives in its own file (node/session_int.h). */
#include "node/session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "node/session_int.h"
#include "node/telemetry.h"
#include "node/udp.h"
#include "node/usage.h"
#include "node/worker.h"

static const char *const state_names[] = {
    "proxy_header", "peek_hello", "wait_target", "target_flight",  "tls_handshake",
    "vless_header", "dialing",    "relay",       "fallback_relay", "closed",
};

static const char *const reason_names[] = {
    "done",     "fallback_done", "target_dial", "target_flight", "tls",        "vless",
    "flow",     "dial",          "timeout",     "proxy_header",  "io",         "nomem",
    "shutdown", "limit",         "fd_reserve",  "client_closed", "bittorrent", "port_blocked",
};

/* A new state or reason needs its name (a log field and a metric label) in the same change. */
_Static_assert(sizeof(state_names) / sizeof(state_names[0]) == NODE_SS__COUNT, "a state without a name");
_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == NODE_CR__COUNT, "a close reason without a name");
_Static_assert(sizeof(((struct node_worker_stats *)0)->close_reasons) / sizeof(_Atomic uint64_t) == NODE_CR__COUNT,
               "a close reason without a counter");

const char *node_session_state_str(enum node_session_state s)
{
    return (unsigned)s < NODE_SS__COUNT ? state_names[s] : "unknown";
}

const char *node_close_reason_str(enum node_close_reason r)
{
    return (unsigned)r < NODE_CR__COUNT ? reason_names[r] : "unknown";
}

void session_drop_hs(struct session *s)
{
    struct session_hs *hs = s->hs;
    if (hs == NULL)
        return;
    buf_dispose(&hs->cin);
    buf_dispose(&hs->tout);
    buf_dispose(&hs->cout);
    buf_dispose(&hs->scratch);
    free(hs->ch);
    buf_dispose_secret(&hs->app);
    reality_target_dispose(&hs->target);
    reality_auth_result_wipe(&hs->auth);
    free(hs);
    s->hs = NULL;
}

static void session_free_task(struct loop *loop, struct loop_task *t)
{
    (void)loop;
    struct session *s = container_of(t, struct session, free_task);
    session_drop_hs(s);
    if (s->xprt_ready)
        tunnel_xprt_dispose(&s->xprt);
    tls13_conn_free(s->tls);
    node_snapshot_unref(s->snap);
    free(s);
}

void session_close_fd(struct session *s, struct loop_io *io, int *fd)
{
    if (*fd < 0)
        return;
    if (io != NULL)
        loop_io_close(s->w->loop, io); /* no EPOLL_CTL_DEL: close() does it */
    else
        loop_fd_close(s->w->loop, *fd);
    *fd = -1;
}

/* Debug lines whose volume a prober controls (fallback reasons, failed handshakes, refused
 * requests) pass the process-wide limit of node/telemetry.h; *suppressed = lines dropped since
 * the last one that passed. */
bool session_probe_log(struct session *s, uint64_t *suppressed)
{
    *suppressed = 0;
    return log_enabled(LOG_LEVEL_DEBUG) && node_tm_log_allow(loop_now(s->w->loop), suppressed);
}

/* Ends the session: everything is released at the end of the loop iteration. */
void session_close(struct session *s, enum node_close_reason why, int err)
{
    if (s->state == NODE_SS_CLOSED)
        return;
    struct node_worker *w = s->w;
    session_account(s); /* bytes since the last tick, e.g. closed with the relay running (node stopping) */
    loop_timer_stop(w->loop, &s->acct);
    if (s->acct_open)
        node_usage_close(w->rt->usage, s->user->key);
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
    session_close_fd(s, &s->cio, &s->cfd);
    session_close_fd(s, &s->tio, &s->tfd);
    session_close_fd(s, NULL, &s->dfd);
    atomic_fetch_add(&w->stats.closed, 1);
    atomic_fetch_sub(&w->stats.active, 1);
    if ((unsigned)why < NODE_CR__COUNT)
        atomic_fetch_add(&w->stats.close_reasons[why], 1);
    uint64_t sup = 0; /* sessions that never authenticated are probes: rate-limited lines */
    if (s->decision == DECIDE_AUTHENTICATED || session_probe_log(s, &sup))
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
    return session_shed_unauthenticated_except(w, NULL);
}

bool session_shed_unauthenticated_except(struct node_worker *w, const struct session *keep)
{
    struct session *victim = NULL; /* the list runs oldest first */
    for (struct node_session_link *l = w->sessions.next; l != &w->sessions; l = l->next) {
        struct session *s = container_of(l, struct session, link);
        if (s == keep || s->decision == DECIDE_AUTHENTICATED || s->state == NODE_SS_CLOSED)
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
int session_write_some(int fd, struct buf *b)
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
ssize_t session_read_some(int fd, struct buf *b)
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

void session_update_interest(struct session *s)
{
    struct loop *loop = s->w->loop;
    if (s->hs == NULL) /* the relay watches the sockets now */
        return;
    if (s->cfd >= 0)
        (void)loop_io_set(loop, &s->cio, LOOP_READ | (buf_len(&s->hs->cout) ? LOOP_WRITE : 0));
    if (s->tfd >= 0 && s->target_up)
        (void)loop_io_set(loop, &s->tio, LOOP_READ | (buf_len(&s->hs->tout) ? LOOP_WRITE : 0));
}

void session_after_event(struct session *s)
{
    session_advance(s);
    if (s->state != NODE_SS_CLOSED && s->state < NODE_SS_DIALING)
        session_update_interest(s);
}

/* Moves the session forward after any event: each step hands on to the next in the same
 * call when it can. */
void session_advance(struct session *s)
{
    switch (s->state) {
    case NODE_SS_PEEK_HELLO:
        if (!session_peek_hello(s))
            return;
        /* fall through */
    case NODE_SS_WAIT_TARGET:
        if (!session_wait_target(s))
            return;
        /* fall through */
    case NODE_SS_TARGET_FLIGHT:
        if (!session_target_flight(s))
            return;
        /* fall through */
    case NODE_SS_TLS_HANDSHAKE:
        if (!session_tls_handshake(s))
            return;
        /* fall through */
    case NODE_SS_VLESS_HEADER:
        session_vless_header(s);
        if (s->state == NODE_SS_VLESS_HEADER)
            session_update_interest(s);
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
        int rc = session_write_some(s->cfd, &s->hs->cout);
        if (rc < 0) {
            session_close(s, NODE_CR_IO, rc);
            return;
        }
    }
    if (ev & (LOOP_READ | LOOP_HUP | LOOP_ERROR)) {
        ssize_t k = session_read_some(s->cfd, &s->hs->cin);
        if (k == -EAGAIN) {
            session_update_interest(s);
            return;
        }
        if (k <= 0) {
            /* A client that leaves before authenticating leaves the target too (§6 half-close
             * is for the relay phase; here nothing was relayed back yet). A clean EOF is not
             * a socket error. */
            session_close(s, k == 0 ? NODE_CR_CLIENT_CLOSED : NODE_CR_IO, (int)k);
            return;
        }
        if (s->state == NODE_SS_PROXY_HEADER && !session_proxy_header(s))
            return;
        if (s->state == NODE_SS_PEEK_HELLO || s->state == NODE_SS_WAIT_TARGET) {
            int rc = session_mirror(s);
            if (rc < 0) {
                session_close(s, NODE_CR_TARGET_DIAL, rc);
                return;
            }
        }
    }
    session_after_event(s);
}

static void on_deadline(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct session *s = container_of(t, struct session, deadline);
    if ((s->state == NODE_SS_PEEK_HELLO || s->state == NODE_SS_WAIT_TARGET) && s->target_up) {
        /* A slow or silent client is a probe like any other: let the target handle it. */
        if (s->decision == DECIDE_NONE)
            s->outcome = REALITY_OUTCOME_MALFORMED;
        session_start_fallback(s);
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
    struct session_hs *hs = s != NULL ? calloc(1, sizeof(*hs)) : NULL;
    if (hs == NULL) {
        free(s);
        close(fd);
        return ERR_NOMEM;
    }
    s->hs = hs;
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
    s->peer = *peer; /* s->local: only for our PROXY header, read then (session_proxy.c) */
    s->hs->fwd_limit = SIZE_MAX;
    s->state = s->in->ib->accept_proxy_protocol ? NODE_SS_PROXY_HEADER : NODE_SS_PEEK_HELLO;
    buf_init(&s->hs->cin);
    buf_init(&s->hs->tout);
    buf_init(&s->hs->cout);
    buf_init(&s->hs->scratch);
    buf_init(&s->hs->app);
    reality_target_init(&s->hs->target);
    loop_io_init(&s->cio, fd, on_client);
    loop_timer_init(&s->deadline, on_deadline);
    loop_timer_init(&s->acct, session_on_acct);
    loop_timer_init(&s->limit_timer, session_on_limit_timer);
    loop_timer_init(&s->splice_timer, session_on_splice_timer);
    loop_task_init(&s->free_task, session_free_task);
    atomic_fetch_add(&w->stats.accepted, 1);
    atomic_fetch_add(&w->stats.active, 1);
    uint32_t hs_ms = s->snap->cfg->handshake_timeout_ms ? s->snap->cfg->handshake_timeout_ms : 4000;
    int rc = loop_timer_start(w->loop, &s->deadline, hs_ms, 0);
    if (rc == 0)
        rc = loop_io_set(w->loop, &s->cio, LOOP_READ);
    if (rc == 0)
        rc = session_dial_target(s);
    if (rc < 0) {
        session_close(s, rc == ERR_NOMEM ? NODE_CR_NOMEM : NODE_CR_TARGET_DIAL, rc);
        return rc;
    }
    return 0;
}
