/* Mux.Cool TCP sub-connections (node/mux.h). One sub-connection:
 *
 *   DIALING -> OPEN -> FLUSHING -> closed      (any state -> closed on an error)
 *
 * DIALING holds client bytes until the destination is connected. OPEN relays both ways.
 * FLUSHING: the sub-connection has ended towards the client (its End arrived, or the
 * destination closed and we sent End) and only the client bytes still held go out before the
 * socket closes, as Xray closes a sub-connection's pipe: data already accepted is delivered. */
#include "node/mux.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "net/sock.h"
#include "node/dial.h"
#include "node/telemetry.h"

#define MUX_BUCKETS 64                   /* id hash buckets (ids count up from 1 per tunnel) */
#define MUX_READ (2 * NODE_MUX_CHUNK)    /* destination bytes read per readiness event */
#define MUX_IDLE_DEFAULT_MS (300 * 1000) /* Xray's connIdle */

enum mux_sub_state {
    MUX_SUB_DIALING = 0, /* connecting; client bytes wait in `up` */
    MUX_SUB_OPEN,        /* relaying both ways */
    MUX_SUB_FLUSHING,    /* ended towards the client: the rest of `up` goes out, then close */
    MUX_SUB_CLOSED,
    MUX_SUB__COUNT, /* sentinel */
};

struct mux_sub {
    struct node_mux *m;
    struct mux_sub *next, *prev; /* every sub-connection of the tunnel */
    struct mux_sub *hnext;       /* id bucket: live ones only */
    uint16_t id;
    bool live;   /* reachable by id: the client's Keep frames still come here */
    bool paused; /* destination not read: the downlink queue is full */
    bool held;   /* destination not read: the user's speed limit */
    bool full;   /* `up` holds NODE_MUX_SUB_BUF or more */
    bool seen;   /* its first client bytes were judged (cfg.refuse_first) */
    enum mux_sub_state state;
    int fd;
    struct loop_io io;
    struct node_dial *dial;
    struct buf up;  /* client bytes the destination has not taken yet */
    size_t counted; /* buf_len(&up) as last added to m->held_bytes */
    struct loop_timer idle, hold;
    uint64_t last_ms;
    uint64_t nup, ndown;
    struct vless_addr dest;
    struct loop_task free_task;
};

struct node_mux {
    struct node_mux_cfg cfg;
    struct mux_sub *subs;
    struct mux_sub *bucket[MUX_BUCKETS];
    size_t n_live, n_all, n_full, n_paused;
    size_t held_bytes; /* client bytes held by all sub-connections */
    bool closed, was_blocked, up_held;
    struct loop_timer up_hold; /* speed limit on the uplink: the tunnel is not read until it fires */
    struct loop_task output_task, unblock_task, free_task;
};

static const char *const state_names[MUX_SUB__COUNT] = {"dialing", "open", "flushing", "closed"};

/* ---- bookkeeping ---- */

static struct mux_sub *find(const struct node_mux *m, uint16_t id)
{
    for (struct mux_sub *s = m->bucket[id % MUX_BUCKETS]; s; s = s->hnext)
        if (s->id == id)
            return s;
    return NULL;
}

/* The id no longer reaches this sub-connection. */
static void unhash(struct mux_sub *s)
{
    if (!s->live)
        return;
    struct mux_sub **pp = &s->m->bucket[s->id % MUX_BUCKETS];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    s->hnext = NULL;
    s->live = false;
    s->m->n_live--;
}

bool node_mux_blocked(const struct node_mux *m)
{
    return m->n_full > 0 || m->held_bytes >= NODE_MUX_TUNNEL_BUF || m->up_held;
}

/* Called after anything that changes node_mux_blocked(): tells the tunnel when it may read again. */
static void update_block(struct node_mux *m)
{
    if (m->closed)
        return;
    bool b = node_mux_blocked(m);
    if (m->was_blocked && !b)
        loop_soon(m->cfg.loop, &m->unblock_task);
    if (!m->was_blocked && b && !m->up_held)
        node_tm_add(NODE_TM_MUX_STALLS, 1);
    m->was_blocked = b;
}

/* `up` changed size: the tunnel's totals follow. */
static void up_changed(struct mux_sub *s)
{
    struct node_mux *m = s->m;
    size_t len = buf_len(&s->up);
    m->held_bytes = m->held_bytes - s->counted + len;
    s->counted = len;
    bool full = len >= NODE_MUX_SUB_BUF;
    if (full != s->full) {
        s->full = full;
        if (full)
            m->n_full++;
        else
            m->n_full--;
    }
    update_block(m);
}

static void output_soon(struct node_mux *m)
{
    if (!m->closed)
        loop_soon(m->cfg.loop, &m->output_task);
}

static void touch(struct mux_sub *s)
{
    s->last_ms = loop_now(s->m->cfg.loop);
}

static void sub_interest(struct mux_sub *s)
{
    if (s->fd < 0)
        return;
    unsigned ev = 0;
    if (s->state == MUX_SUB_OPEN && !s->paused && !s->held)
        ev |= LOOP_READ;
    if (buf_len(&s->up) > 0)
        ev |= LOOP_WRITE;
    (void)loop_io_set(s->m->cfg.loop, &s->io, ev); /* a failure shows as a stall, ended by the idle timer */
}

static void sub_free_task(struct loop *loop, struct loop_task *t)
{
    (void)loop;
    free(container_of(t, struct mux_sub, free_task));
}

/* Releases everything the sub-connection holds; no frame is sent. */
static void sub_close(struct mux_sub *s, const char *why)
{
    if (s->state == MUX_SUB_CLOSED)
        return;
    struct node_mux *m = s->m;
    struct loop *loop = m->cfg.loop;
    unhash(s);
    if (s->dial != NULL)
        node_dial_cancel(s->dial);
    s->dial = NULL;
    if (s->fd >= 0) {
        loop_io_stop(loop, &s->io);
        close(s->fd);
        s->fd = -1;
    }
    loop_timer_stop(loop, &s->idle);
    loop_timer_stop(loop, &s->hold);
    if (s->paused)
        m->n_paused--;
    s->paused = false;
    buf_dispose(&s->up);
    up_changed(s);
    if (s->prev)
        s->prev->next = s->next;
    else
        m->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    m->n_all--;
    log_debug("mux", m->cfg.conn_id, "mux_tcp_close", LF_UINT("session", s->id), LF_STR("why", why),
              LF_STR("state", state_names[s->state]), LF_UINT("up", s->nup), LF_UINT("down", s->ndown));
    s->state = MUX_SUB_CLOSED;
    loop_defer(loop, &s->free_task);
}

static void end_frame(struct node_mux *m, uint16_t id, bool error)
{
    /* Out of memory for 6 bytes: the client learns at its own idle timeout instead. */
    (void)vless_mux_encode_end(m->cfg.out, id, error);
}

/* The sub-connection failed: End with the error bit (if the client still knows it), then close. */
static void sub_fail(struct mux_sub *s, const char *why)
{
    if (s->live) {
        end_frame(s->m, s->id, true);
        output_soon(s->m);
    }
    sub_close(s, why);
}

/* ---- uplink: client bytes to the destination ---- */

static uint64_t rate_take(const struct relay_shared_rate *r, size_t n)
{
    return r->take != NULL ? r->take(r->arg, n) : 0;
}

/* Writes what the destination takes; closes a FLUSHING sub-connection once everything is out. */
static void sub_write(struct mux_sub *s)
{
    struct node_mux *m = s->m;
    while (buf_len(&s->up) > 0) {
        ssize_t k = send(s->fd, buf_data(&s->up), buf_len(&s->up), MSG_NOSIGNAL);
        if (k == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            sub_fail(s, "write");
            return;
        }
        buf_consume(&s->up, (size_t)k);
        s->nup += (uint64_t)k;
        *m->cfg.up += (uint64_t)k;
        touch(s);
    }
    if (buf_len(&s->up) == 0)
        buf_dispose(&s->up);
    up_changed(s);
    if (s->state == MUX_SUB_FLUSHING && buf_len(&s->up) == 0) {
        sub_close(s, "done");
        return;
    }
    sub_interest(s);
}

/* Client bytes for the sub-connection: straight to the socket when nothing waits, else queued. */
static void sub_take(struct mux_sub *s, const uint8_t *p, size_t n)
{
    struct node_mux *m = s->m;
    if (n == 0)
        return;
    touch(s);
    if (s->state == MUX_SUB_OPEN && buf_len(&s->up) == 0) {
        ssize_t k;
        do
            k = send(s->fd, p, n, MSG_NOSIGNAL);
        while (k == -1 && errno == EINTR);
        if (k == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
            sub_fail(s, "write");
            return;
        }
        if (k > 0) {
            s->nup += (uint64_t)k;
            *m->cfg.up += (uint64_t)k;
            p += k;
            n -= (size_t)k;
        }
    }
    if (n > 0) {
        if (buf_append(&s->up, p, n) < 0) {
            sub_fail(s, "nomem");
            return;
        }
        up_changed(s);
        sub_interest(s);
    }
}

static void on_up_hold(struct loop *loop, struct loop_timer *t)
{
    struct node_mux *m = container_of(t, struct node_mux, up_hold);
    uint64_t wait = rate_take(&m->cfg.rate[RELAY_A_TO_B], 0);
    if (wait > 0 && loop_timer_start(loop, &m->up_hold, wait, 0) == 0)
        return;
    m->up_held = false;
    update_block(m);
}

/* The user's speed limit on the uplink: n client bytes were accepted; the tunnel pauses if the
 * bucket is empty (a Mux tunnel cannot slow one sub-connection's uplink alone). */
static void charge_up(struct node_mux *m, size_t n)
{
    if (m->cfg.rate[RELAY_A_TO_B].take == NULL || n == 0 || m->closed)
        return;
    uint64_t wait = rate_take(&m->cfg.rate[RELAY_A_TO_B], n);
    if (wait > 0 && !m->up_held && loop_timer_start(m->cfg.loop, &m->up_hold, wait, 0) == 0) {
        m->up_held = true;
        update_block(m);
    }
}

/* ---- downlink: destination bytes to the client ---- */

static void on_hold(struct loop *loop, struct loop_timer *t)
{
    struct mux_sub *s = container_of(t, struct mux_sub, hold);
    uint64_t wait = rate_take(&s->m->cfg.rate[RELAY_B_TO_A], 0);
    if (wait > 0 && loop_timer_start(loop, &s->hold, wait, 0) == 0)
        return;
    s->held = false;
    sub_interest(s);
}

/* The destination closed its side: End to the client (no error), then deliver what is held. */
static void sub_dest_eof(struct mux_sub *s)
{
    struct node_mux *m = s->m;
    if (s->live) {
        end_frame(m, s->id, false);
        output_soon(m);
    }
    unhash(s);
    s->state = MUX_SUB_FLUSHING;
    if (buf_len(&s->up) == 0) {
        sub_close(s, "done");
        return;
    }
    sub_interest(s);
}

static void sub_read(struct mux_sub *s)
{
    struct node_mux *m = s->m;
    if (buf_len(m->cfg.out) >= NODE_MUX_OUT_HIGH) { /* the client is behind: wait for the queue */
        s->paused = true;
        m->n_paused++;
        sub_interest(s);
        return;
    }
    static _Thread_local uint8_t tmp[MUX_READ]; /* per worker thread, not on its stack */
    ssize_t k = recv(s->fd, tmp, sizeof(tmp), 0);
    if (k == -1) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        sub_fail(s, "read");
        return;
    }
    if (k == 0) {
        sub_dest_eof(s);
        return;
    }
    touch(s);
    for (size_t off = 0; off < (size_t)k; off += NODE_MUX_CHUNK) {
        size_t n = (size_t)k - off < NODE_MUX_CHUNK ? (size_t)k - off : NODE_MUX_CHUNK;
        struct vless_mux_frame f = {
            .session_id = s->id,
            .status = VLESS_MUX_KEEP,
            .option = VLESS_MUX_OPT_DATA,
            .data = bytes_of(tmp + off, n),
        };
        if (vless_mux_encode(m->cfg.out, &f) < 0) {
            sub_fail(s, "nomem");
            return;
        }
        s->ndown += n;
        *m->cfg.down += n;
    }
    output_soon(m);
    uint64_t wait = rate_take(&m->cfg.rate[RELAY_B_TO_A], (size_t)k);
    if (wait > 0 && loop_timer_start(m->cfg.loop, &s->hold, wait, 0) == 0) {
        s->held = true;
        sub_interest(s);
    }
}

static void on_sub(struct loop *loop, struct loop_io *io, unsigned ev)
{
    (void)loop;
    struct mux_sub *s = container_of(io, struct mux_sub, io);
    if (ev & (LOOP_WRITE | LOOP_ERROR | LOOP_HUP)) {
        if (buf_len(&s->up) > 0) {
            sub_write(s);
            if (s->state == MUX_SUB_CLOSED)
                return;
        }
    }
    if ((ev & (LOOP_READ | LOOP_ERROR | LOOP_HUP)) && s->state == MUX_SUB_OPEN && !s->paused && !s->held)
        sub_read(s);
}

static void on_idle(struct loop *loop, struct loop_timer *t)
{
    struct mux_sub *s = container_of(t, struct mux_sub, idle);
    uint64_t idle = s->m->cfg.idle_ms, quiet = loop_now(loop) - s->last_ms;
    if (quiet < idle && loop_timer_start(loop, &s->idle, idle - quiet, 0) == 0)
        return; /* lazily re-armed for the rest */
    sub_fail(s, "idle");
}

/* ---- dialing ---- */

static void sub_dialed(void *arg, enum node_dial_result res, int err, int fd, const struct sock_addr *peer)
{
    struct mux_sub *s = arg;
    struct node_mux *m = s->m;
    (void)peer;
    s->dial = NULL;
    if (res != NODE_DIAL_OK) {
        log_debug("mux", m->cfg.conn_id, "mux_tcp_dial_failed", LF_UINT("session", s->id),
                  LF_STR("result", node_dial_result_str(res)), LF_STR("err", err_str(err)));
        sub_fail(s, "dial");
        return;
    }
    s->fd = fd;
    (void)sock_set_nodelay(fd, true);
    loop_io_init(&s->io, fd, on_sub);
    s->state = s->live ? MUX_SUB_OPEN : MUX_SUB_FLUSHING; /* not live: the client's End came first */
    touch(s);
    sub_write(s); /* what arrived while dialing; also sets the interest or closes */
}

static int dest_host(const struct vless_addr *a, char *host, size_t cap)
{
    if (a->type == VLESS_ATYP_DOMAIN) {
        if ((size_t)a->domain_len + 1 > cap)
            return ERR_TOO_LONG;
        memcpy(host, a->domain, (size_t)a->domain_len + 1);
        return 0;
    }
    struct sock_addr sa;
    if (a->type == VLESS_ATYP_IPV4)
        sock_addr_from_v4(&sa, a->ip, a->port);
    else
        sock_addr_from_v6(&sa, a->ip, a->port);
    return sock_addr_format_ip(&sa, host, cap) < 0 ? ERR_MALFORMED : 0;
}

/* A New for TCP: the sub-connection starts dialing (the policy is the dialer's). */
static int sub_new(struct node_mux *m, const struct vless_mux_frame *f)
{
    const char *refused = NULL;
    if (m->cfg.refuse_new != NULL && *m->cfg.refuse_new)
        refused = "draining";
    else if (m->n_live >= NODE_MUX_SUBS)
        refused = "too_many";
    if (refused != NULL) {
        log_debug("mux", m->cfg.conn_id, "mux_tcp_refused", LF_UINT("session", f->session_id), LF_STR("why", refused));
        end_frame(m, f->session_id, true);
        return 1;
    }
    struct mux_sub *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        end_frame(m, f->session_id, true);
        return 1;
    }
    s->m = m;
    s->id = f->session_id;
    s->fd = -1;
    s->dest = f->target;
    s->seen = f->has_data && f->data.len > 0;
    s->state = MUX_SUB_DIALING;
    buf_init(&s->up);
    loop_timer_init(&s->idle, on_idle);
    loop_timer_init(&s->hold, on_hold);
    loop_task_init(&s->free_task, sub_free_task);
    s->next = m->subs;
    if (m->subs)
        m->subs->prev = s;
    m->subs = s;
    s->hnext = m->bucket[s->id % MUX_BUCKETS];
    m->bucket[s->id % MUX_BUCKETS] = s;
    s->live = true;
    m->n_live++;
    m->n_all++;
    node_tm_add(NODE_TM_MUX_TCP_SUBS, 1);
    touch(s);
    char dest[300];
    vless_addr_format(dest, sizeof(dest), &s->dest);
    log_debug("mux", m->cfg.conn_id, "mux_tcp_open", LF_UINT("session", s->id), LF_STR("dest", dest));
    if (m->cfg.access_user != NULL)
        log_info("access", m->cfg.conn_id, "tcp_session", LF_STR("user", m->cfg.access_user), LF_STR("dest", dest),
                 LF_UINT("session", s->id));
    char host[VLESS_DOMAIN_MAX + 1];
    int rc = dest_host(&s->dest, host, sizeof(host));
    if (rc == 0)
        rc = loop_timer_start(m->cfg.loop, &s->idle, m->cfg.idle_ms, 0);
    if (rc == 0)
        rc = node_dial_start(m->cfg.dialer, host, s->dest.port, NODE_DIAL_DEFAULT, sub_dialed, s, &s->dial);
    if (rc < 0) {
        s->dial = NULL;
        log_debug("mux", m->cfg.conn_id, "mux_tcp_dial_failed", LF_UINT("session", s->id), LF_STR("err", err_str(rc)));
        sub_fail(s, "dial");
        return 1;
    }
    if (f->has_data) {
        sub_take(s, f->data.p, f->data.len);
        charge_up(m, f->data.len);
    }
    return 1;
}

/* The client ended the sub-connection: no more downlink; held client bytes still go out. */
static void sub_client_end(struct mux_sub *s)
{
    unhash(s);
    if (buf_len(&s->up) == 0) {
        sub_close(s, "client_end");
        return;
    }
    if (s->state == MUX_SUB_OPEN)
        s->state = MUX_SUB_FLUSHING;
    sub_interest(s); /* DIALING: sub_dialed goes to FLUSHING */
}

/* ---- the engine ---- */

static void output_task(struct loop *loop, struct loop_task *t)
{
    (void)loop;
    struct node_mux *m = container_of(t, struct node_mux, output_task);
    if (!m->closed)
        m->cfg.on_output(m->cfg.arg);
}

static void unblock_task(struct loop *loop, struct loop_task *t)
{
    (void)loop;
    struct node_mux *m = container_of(t, struct node_mux, unblock_task);
    if (!m->closed && !node_mux_blocked(m))
        m->cfg.on_unblock(m->cfg.arg);
}

static void mux_free_task(struct loop *loop, struct loop_task *t)
{
    (void)loop;
    free(container_of(t, struct node_mux, free_task));
}

int node_mux_new(const struct node_mux_cfg *cfg, struct node_mux **out)
{
    struct node_mux *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return ERR_NOMEM;
    m->cfg = *cfg;
    if (m->cfg.idle_ms == 0)
        m->cfg.idle_ms = MUX_IDLE_DEFAULT_MS;
    loop_timer_init(&m->up_hold, on_up_hold);
    loop_task_init(&m->output_task, output_task);
    loop_task_init(&m->unblock_task, unblock_task);
    loop_task_init(&m->free_task, mux_free_task);
    *out = m;
    return 0;
}

void node_mux_free(struct node_mux *m)
{
    if (m == NULL || m->closed)
        return;
    while (m->subs != NULL)
        sub_close(m->subs, "tunnel_closed");
    m->closed = true;
    loop_timer_stop(m->cfg.loop, &m->up_hold);
    loop_task_cancel(m->cfg.loop, &m->output_task);
    loop_task_cancel(m->cfg.loop, &m->unblock_task);
    loop_defer(m->cfg.loop, &m->free_task);
}

static bool refused_first(struct node_mux *m, const uint8_t *p, size_t n)
{
    return m->cfg.refuse_first != NULL && m->cfg.refuse_first(m->cfg.arg, p, n);
}

int node_mux_frame(struct node_mux *m, const struct vless_mux_frame *f)
{
    struct mux_sub *s = find(m, f->session_id);
    switch (f->status) {
    case VLESS_MUX_NEW:
        if (s != NULL)
            sub_close(s, "id_reused"); /* a reused id starts afresh, whatever its network */
        if (f->network != VLESS_MUX_NET_TCP)
            return 0;
        if ((m->cfg.refuse_port != NULL && m->cfg.refuse_port(m->cfg.arg, f->target.port)) ||
            (f->has_data && f->data.len && refused_first(m, f->data.p, f->data.len))) {
            end_frame(m, f->session_id, true);
            return 1;
        }
        return sub_new(m, f);
    case VLESS_MUX_KEEP:
        if (s == NULL)
            return 0;
        if (f->has_data && f->data.len && !s->seen) {
            s->seen = true;
            if (refused_first(m, f->data.p, f->data.len)) {
                sub_fail(s, "bittorrent");
                return 1;
            }
        }
        if (f->has_data) {
            sub_take(s, f->data.p, f->data.len);
            charge_up(m, f->data.len);
        }
        return 1;
    case VLESS_MUX_END:
        if (s == NULL)
            return 0;
        sub_client_end(s);
        return 1;
    case VLESS_MUX_KEEPALIVE:
    case VLESS_MUX_NONE:
    case VLESS_MUX_STATUS__COUNT:
    default:
        return 0;
    }
}

void node_mux_out_drained(struct node_mux *m)
{
    if (m == NULL || m->n_paused == 0 || buf_len(m->cfg.out) > NODE_MUX_OUT_LOW)
        return;
    for (struct mux_sub *s = m->subs; s; s = s->next) {
        if (s->paused) {
            s->paused = false;
            sub_interest(s);
        }
    }
    m->n_paused = 0;
}

size_t node_mux_count(const struct node_mux *m)
{
    return m != NULL ? m->n_all : 0;
}
