#include "node/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "net/relay.h"
#include "node/bt_guard.h"
#include "node/port_guard.h"
#include "node/mux.h"
#include "node/telemetry.h"
#include "node/usage.h"
#include "node/worker.h"
#include "tunnel/xprt.h"
#include "vless/header.h"
#include "vless/mux.h"
#include "vless/udp.h"

#define UDP_OUT_MAX (256 * 1024) /* downlink frames waiting for the client: beyond, drop */
#define UDP_IN_MAX (70 * 1024)   /* one frame: 2 + 512 metadata + 2 + 65535 */
#define UDP_READ_BURST 64        /* datagrams read per socket event (fairness) */
#define UDP_NAMES 4              /* resolved names remembered per association */
#define UDP_NAME_QUEUE 8         /* datagrams held per name while it resolves */
#define UDP_MAX_ASSOCS 256       /* Mux sessions per connection */
#define UDP_DGRAM_MAX 65535
#define UDP_KEEP_MS 60000 /* an ended XUDP association waits this long for its GlobalID */
#define UDP_KEEP_MAX 1024 /* kept associations per worker (each holds a socket) */

struct udp_pending {
    struct udp_pending *next;
    size_t len;
    uint8_t data[];
};

struct udp_assoc;

/* A domain destination: resolved once per association, its replies labelled with the name. */
struct udp_name {
    struct udp_assoc *a;
    struct vless_addr name;
    struct sock_addr ip; /* with the port; valid when ready */
    bool used, ready;
    struct node_dns_query *q;
    struct udp_pending *queue;
    size_t nq;
    uint64_t used_ms;
};

struct udp_sock {
    struct loop_io io;
    struct udp_assoc *a;
    int fd; /* -1 until first used */
};

/* One NAT association: the single flow of command 2, or one Mux session. */
struct udp_assoc {
    struct node_worker *w;
    struct node_udp *u; /* NULL while kept for its GlobalID */
    struct udp_assoc *next;
    uint16_t id;
    bool has_gid, in_reg, kept;
    uint8_t gid[8], user[16];
    struct udp_assoc *rprev, *rnext; /* the worker's registry of GlobalID associations */
    struct loop_timer keep;          /* kept: when to close */
    struct udp_sock sk[2];           /* IPv4, IPv6 */
    struct vless_addr dest;          /* the New's / request's destination */
    uint64_t last_ms;
    bool bt_logged; /* veil.blockBitTorrent log: this flow was counted once already */
    struct udp_name names[UDP_NAMES];
};

struct node_udp {
    struct node_worker *w;
    uint64_t id;
    int fd;
    struct loop_io io;
    struct tunnel_xprt x;
    bool mux, mux_udp_only, closed, rx_more;
    uint8_t user[16];
    uint64_t hub_id;
    const char *access_user; /* access log on: the user's email ("" without) */
    enum node_bt_mode bt_mode;
    struct buf in;  /* uplink plaintext: an incomplete frame */
    struct buf out; /* downlink plaintext not yet taken by the transport */
    struct udp_assoc *assocs;
    size_t n_assocs;
    struct node_mux *tcp; /* Mux TCP sub-connections (node/mux.h), made at the first TCP New */
    uint64_t tcp_idle_ms;
    struct relay_shared_rate rate[RELAY_DIR__COUNT];
    uint64_t idle_ms, last_ms;
    struct loop_timer tick;
    struct loop_task free_task;
    uint64_t up, down, dropped;
    uint64_t booked_up, booked_down, booked_dropped; /* already reported (node/usage.h, stats) */
    node_udp_done_cb *on_done;
    void *arg;
};

/* Every association with a GlobalID on one worker, live or kept (spec/mux-xudp.md §6). */
struct node_udp_registry {
    struct udp_assoc *head;
    size_t kept;
};

static void pump(struct node_udp *u);

/* A Mux TCP sub-connection's buffer is full (node/mux.h): the tunnel is not read meanwhile. */
static bool rx_blocked(const struct node_udp *u)
{
    return u->tcp != NULL && node_mux_blocked(u->tcp);
}

/* ---- ending ---- */

static void finish(struct node_udp *u, enum node_close_reason why, int err)
{
    if (u->closed)
        return;
    u->closed = true;
    loop_io_stop(u->w->loop, &u->io);
    loop_timer_stop(u->w->loop, &u->tick);
    u->on_done(u->arg, why, err);
}

static void name_clear(struct udp_name *n)
{
    if (n->q != NULL)
        node_dns_cancel(n->q);
    n->q = NULL;
    while (n->queue != NULL) {
        struct udp_pending *p = n->queue;
        n->queue = p->next;
        free(p);
    }
    n->nq = 0;
    n->used = n->ready = false;
}

/* Takes the association out of its tunnel (nothing is sent). */
static void assoc_detach(struct udp_assoc *a)
{
    struct node_udp *u = a->u;
    if (u == NULL)
        return;
    for (struct udp_assoc **pp = &u->assocs; *pp; pp = &(*pp)->next) {
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    }
    u->n_assocs--;
    a->u = NULL;
    a->next = NULL;
}

static void assoc_attach(struct node_udp *u, struct udp_assoc *a, uint16_t id, const struct vless_addr *dest)
{
    a->u = u;
    a->id = id;
    a->dest = *dest;
    a->last_ms = u->last_ms = loop_now(u->w->loop);
    a->next = u->assocs;
    u->assocs = a;
    u->n_assocs++;
}

static void reg_add(struct udp_assoc *a)
{
    struct node_worker *w = a->w;
    if (w->udp_reg == NULL)
        w->udp_reg = calloc(1, sizeof(*w->udp_reg));
    if (w->udp_reg == NULL)
        return; /* no reuse for this one, nothing else changes */
    a->rprev = NULL;
    a->rnext = w->udp_reg->head;
    if (a->rnext)
        a->rnext->rprev = a;
    w->udp_reg->head = a;
    a->in_reg = true;
}

static void reg_remove(struct udp_assoc *a)
{
    if (!a->in_reg)
        return;
    if (a->rprev)
        a->rprev->rnext = a->rnext;
    else
        a->w->udp_reg->head = a->rnext;
    if (a->rnext)
        a->rnext->rprev = a->rprev;
    a->in_reg = false;
}

static struct udp_assoc *reg_find(struct node_worker *w, const uint8_t user[16], const uint8_t gid[8])
{
    if (w->udp_reg == NULL)
        return NULL;
    for (struct udp_assoc *a = w->udp_reg->head; a; a = a->rnext)
        if (memcmp(a->gid, gid, 8) == 0 && memcmp(a->user, user, 16) == 0)
            return a;
    return NULL;
}

static void unkeep(struct udp_assoc *a)
{
    if (a->kept) {
        a->kept = false;
        a->w->udp_reg->kept--;
        loop_timer_stop(a->w->loop, &a->keep);
    }
}

/* Closes the association for good: sockets, lookups, registry entry. */
static void assoc_free(struct udp_assoc *a)
{
    struct loop *loop = a->w->loop;
    assoc_detach(a);
    unkeep(a);
    reg_remove(a);
    for (size_t i = 0; i < UDP_NAMES; i++)
        name_clear(&a->names[i]);
    for (int f = 0; f < 2; f++) {
        if (a->sk[f].fd >= 0) {
            loop_io_stop(loop, &a->sk[f].io);
            close(a->sk[f].fd);
        }
    }
    free(a);
}

static void keep_expired(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    assoc_free(container_of(t, struct udp_assoc, keep));
}

/* The session ended without an error of ours (client End, connection gone): an association with
 * a GlobalID is kept for a minute for the client's next connection, others close. */
static void assoc_release(struct udp_assoc *a)
{
    if (!a->in_reg || a->w->draining || a->sk[0].fd + a->sk[1].fd == -2 || a->w->udp_reg->kept >= UDP_KEEP_MAX) {
        assoc_free(a);
        return;
    }
    assoc_detach(a);
    for (size_t i = 0; i < UDP_NAMES; i++)
        if (!a->names[i].ready)
            name_clear(&a->names[i]); /* a lookup would call back into a tunnel that is gone */
    if (loop_timer_start(a->w->loop, &a->keep, UDP_KEEP_MS, 0) < 0) {
        assoc_free(a);
        return;
    }
    a->kept = true;
    a->w->udp_reg->kept++;
}

void node_udp_worker_close(struct node_worker *w)
{
    if (w->udp_reg == NULL)
        return;
    while (w->udp_reg->head != NULL)
        assoc_free(w->udp_reg->head);
    free(w->udp_reg);
    w->udp_reg = NULL;
}

/* Ends one association; Mux tells the client with an End frame (option ERROR when `error`). */
static void assoc_end(struct udp_assoc *a, bool error)
{
    struct node_udp *u = a->u;
    if (u->mux && vless_mux_encode_end(&u->out, a->id, error) < 0)
        u->dropped++;
    assoc_free(a);
    u->last_ms = loop_now(u->w->loop);
    pump(u);
}

static void free_task(struct loop *loop, struct loop_task *t)
{
    (void)loop;
    struct node_udp *u = container_of(t, struct node_udp, free_task);
    tunnel_xprt_dispose(&u->x);
    buf_dispose(&u->in);
    buf_dispose(&u->out);
    free(u);
}

/* Reports the bytes moved since the last report: to the user (node/usage.h, which feeds hub
 * sync; UDP counts like TCP for quotas) and the worker's totals. */
static void book(struct node_udp *u)
{
    uint64_t up = u->up - u->booked_up, down = u->down - u->booked_down;
    node_tm_add(NODE_TM_UDP_DROPPED, u->dropped - u->booked_dropped);
    u->booked_dropped = u->dropped;
    if (up == 0 && down == 0)
        return;
    u->booked_up = u->up;
    u->booked_down = u->down;
    atomic_fetch_add(&u->w->stats.bytes_up, up);
    atomic_fetch_add(&u->w->stats.bytes_down, down);
    node_usage_add(u->w->rt->usage, u->user, u->hub_id, up, down);
}

void node_udp_free(struct node_udp *u)
{
    if (u == NULL)
        return;
    u->closed = true;
    loop_io_stop(u->w->loop, &u->io);
    loop_timer_stop(u->w->loop, &u->tick);
    while (u->assocs != NULL)
        assoc_release(u->assocs);
    node_mux_free(u->tcp);
    u->tcp = NULL;
    book(u);
    log_debug("udp", u->id, "udp_end", LF_UINT("up", u->up), LF_UINT("down", u->down), LF_UINT("dropped", u->dropped));
    loop_defer(u->w->loop, &u->free_task);
}

/* ---- downlink: datagrams from the destinations, frames to the client ---- */

/* Mux with Vision never switches to direct copy (spec/vision.md §7.3): the content is Mux
 * frames, and a datagram that happens to look like inner TLS (the filter sees 8 KiB buffers cut
 * anywhere) must not make the transport believe otherwise. Cleared before every transport
 * call, so a TLS-looking datagram can only matter within one batch (a ServerHello and an
 * application-data record head both at 8 KiB cut points of the same write). */
static void never_direct(struct node_udp *u)
{
    u->x.vsh.is_tls = false;
    u->x.vsh.enable_xtls = false;
}

/* Hands queued frames to the transport and keeps the client socket's interest current. */
static void pump(struct node_udp *u)
{
    if (u->closed)
        return;
    never_direct(u);
    while (buf_len(&u->out) > 0) {
        ssize_t k = tunnel_xprt_ops.send(&u->x, u->fd, buf_data(&u->out), buf_len(&u->out));
        if (k == -EAGAIN)
            break;
        if (k < 0) {
            finish(u, NODE_CR_IO, (int)k);
            return;
        }
        buf_consume(&u->out, (size_t)k);
    }
    if (buf_len(&u->out) == 0)
        buf_dispose(&u->out);
    if (buf_len(&u->out) <= NODE_MUX_OUT_LOW)
        node_mux_out_drained(u->tcp);
    int rc = tunnel_xprt_ops.flush(&u->x, u->fd);
    if (rc < 0 && rc != -EAGAIN) {
        finish(u, NODE_CR_IO, rc);
        return;
    }
    /* rx_more: we stopped reading with decoded bytes possibly left in the transport; the
     * (normally writable) socket calls us back to continue without waiting for new bytes. */
    bool blocked = rx_blocked(u);
    bool want_write = rc == -EAGAIN || buf_len(&u->out) > 0 || (u->rx_more && !blocked);
    (void)loop_io_set(u->w->loop, &u->io, (blocked ? 0 : LOOP_READ) | (want_write ? LOOP_WRITE : 0));
}

static void vaddr_from_sock(struct vless_addr *v, const struct sock_addr *sa)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (sa->u.sa.sa_family == AF_INET) {
        vless_addr_ipv4(v, (const uint8_t *)&sa->u.in4.sin_addr, ntohs(sa->u.in4.sin_port));
        return;
    }
    const uint8_t *ip = sa->u.in6.sin6_addr.s6_addr;
    if (memcmp(ip, mapped, 12) == 0)
        vless_addr_ipv4(v, ip + 12, ntohs(sa->u.in6.sin6_port));
    else
        vless_addr_ipv6(v, ip, ntohs(sa->u.in6.sin6_port));
}

/* A reply from `src`: labelled with the name the client asked for when it came from a
 * resolved name's address (spec/mux-xudp.md §4), else with the address itself. */
static void deliver_down(struct udp_assoc *a, const struct sock_addr *src, const uint8_t *p, size_t n)
{
    struct node_udp *u = a->u;
    a->last_ms = u->last_ms = loop_now(u->w->loop);
    if (n == 0)
        return;
    if (buf_len(&u->out) > UDP_OUT_MAX) { /* the client does not keep up: drop, never buffer more */
        u->dropped++;
        return;
    }
    int rc;
    if (!u->mux) {
        rc = vless_udp_encode(&u->out, p, n);
    } else {
        if (n > VLESS_MUX_CLIENT_UDP_MAX) { /* Xray clients drop these anyway */
            u->dropped++;
            return;
        }
        struct vless_addr from;
        const struct vless_addr *label = NULL;
        for (size_t i = 0; i < UDP_NAMES && label == NULL; i++)
            if (a->names[i].ready && sock_addr_equal(&a->names[i].ip, src))
                label = &a->names[i].name;
        if (label == NULL) {
            vaddr_from_sock(&from, src);
            label = &from;
        }
        rc = vless_mux_encode_udp(&u->out, a->id, label, p, n);
    }
    if (rc < 0) {
        u->dropped++;
        return;
    }
    u->down += n;
}

static void on_udp(struct loop *loop, struct loop_io *io, unsigned ev)
{
    (void)loop;
    (void)ev;
    struct udp_sock *us = container_of(io, struct udp_sock, io);
    struct udp_assoc *a = us->a;
    struct node_udp *u = a->u;
    if (u == NULL) { /* kept for its GlobalID: nobody to deliver to */
        uint8_t sink[1];
        for (int i = 0; i < UDP_READ_BURST && recv(io->fd, sink, sizeof(sink), MSG_TRUNC) >= 0; i++)
            ;
        return;
    }
    static _Thread_local uint8_t tmp[UDP_DGRAM_MAX]; /* per worker thread, not on its stack */
    for (int i = 0; i < UDP_READ_BURST && !u->closed; i++) {
        struct sock_addr src;
        memset(&src, 0, sizeof(src));
        src.len = sizeof(src.u);
        ssize_t k = recvfrom(io->fd, tmp, sizeof(tmp), 0, &src.u.sa, &src.len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            break; /* EAGAIN, or an ICMP error reported late: nothing to do */
        }
        deliver_down(a, &src, tmp, (size_t)k);
    }
    pump(u);
}

/* ---- uplink: datagrams to destinations ---- */

static int ensure_socket(struct udp_assoc *a, int family)
{
    struct udp_sock *us = &a->sk[family == AF_INET ? 0 : 1];
    if (us->fd >= 0)
        return us->fd;
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    loop_io_init(&us->io, fd, on_udp);
    int rc = loop_io_set(a->u->w->loop, &us->io, LOOP_READ);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    us->fd = fd;
    us->a = a;
    return fd;
}

static void send_to(struct udp_assoc *a, const struct sock_addr *sa, const uint8_t *p, size_t n)
{
    struct node_udp *u = a->u;
    int fd = ensure_socket(a, sock_addr_family(sa));
    if (fd < 0) {
        u->dropped++;
        return;
    }
    ssize_t k;
    do
        k = sendto(fd, p, n, MSG_NOSIGNAL, &sa->u.sa, sa->len);
    while (k < 0 && errno == EINTR);
    if (k < 0) { /* EAGAIN (socket buffer full), unreachable, ...: a lost datagram */
        u->dropped++;
        return;
    }
    u->up += n;
    a->last_ms = u->last_ms = loop_now(u->w->loop);
}

/* The destination is not allowed or cannot be resolved: command 2 ends the tunnel, a Mux
 * session whose own destination failed gets an End with the error bit, other packets drop. */
static void dest_failed(struct udp_assoc *a, const struct vless_addr *dst, const char *why, int err)
{
    struct node_udp *u = a->u;
    char text[300];
    vless_addr_format(text, sizeof(text), dst);
    log_debug("udp", u->id, "udp_dest_failed", LF_STR("dest", text), LF_STR("why", why), LF_UINT("session", a->id));
    u->dropped++;
    if (strcmp(why, "dns") == 0)
        node_tm_add(NODE_TM_DNS_FAILURES, 1);
    if (!u->mux) {
        finish(u, strcmp(why, "port_blocked") == 0 ? NODE_CR_PORT_BLOCKED : NODE_CR_DIAL, err);
        return;
    }
    if (vless_addr_equal(dst, &a->dest))
        assoc_end(a, true);
}

/* Picks the first allowed address (IPv4 first, as the TCP dialer's default order). */
static bool pick_allowed(struct node_udp *u, const struct sock_addr *addrs, size_t n, struct sock_addr *out)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            int fam = sock_addr_family(&addrs[i]);
            if ((pass == 0) != (fam == AF_INET))
                continue;
            enum sock_addr_class cls;
            if (node_dial_allowed(u->w->dialer, &addrs[i], &cls)) {
                *out = addrs[i];
                return true;
            }
        }
    }
    return false;
}

static void name_resolved(void *arg, int status, const struct sock_addr *addrs, size_t n)
{
    struct udp_name *nm = arg;
    struct udp_assoc *a = nm->a;
    struct node_udp *u = a->u;
    nm->q = NULL;
    struct vless_addr name = nm->name;
    if (status < 0 || !pick_allowed(u, addrs, n, &nm->ip)) {
        name_clear(nm);
        dest_failed(a, &name, status < 0 ? "dns" : "policy", status < 0 ? status : ERR_AUTH);
        return;
    }
    sock_addr_set_port(&nm->ip, name.port);
    nm->ready = true;
    while (nm->queue != NULL) {
        struct udp_pending *p = nm->queue;
        nm->queue = p->next;
        send_to(a, &nm->ip, p->data, p->len);
        free(p);
    }
    nm->nq = 0;
    pump(u);
}

static void send_up(struct udp_assoc *a, const struct vless_addr *dst, const uint8_t *p, size_t n)
{
    struct node_udp *u = a->u;
    if (n == 0)
        return; /* a no-op packet (spec/vless.md §9) */
    struct node_port_flow pf = {u->w->rt->usage, u->user, u->hub_id, u->id, "udp"};
    if (dst->port != 0 && node_port_guard(u->w->dialer, &pf, dst->port)) {
        dest_failed(a, dst, "port_blocked", ERR_AUTH);
        return;
    }
    if (dst->type != VLESS_ATYP_DOMAIN) {
        struct sock_addr sa;
        if (dst->type == VLESS_ATYP_IPV4)
            sock_addr_from_v4(&sa, dst->ip, dst->port);
        else
            sock_addr_from_v6(&sa, dst->ip, dst->port);
        enum sock_addr_class cls;
        if (dst->port == 0 || !node_dial_allowed(u->w->dialer, &sa, &cls)) {
            dest_failed(a, dst, dst->port == 0 ? "port" : sock_addr_class_str(cls), ERR_AUTH);
            return;
        }
        send_to(a, &sa, p, n);
        return;
    }
    uint64_t now = loop_now(u->w->loop);
    struct udp_name *nm = NULL, *slot = NULL;
    for (size_t i = 0; i < UDP_NAMES && nm == NULL; i++) {
        struct udp_name *c = &a->names[i];
        if (c->used && vless_addr_equal(&c->name, dst))
            nm = c;
        else if (!c->used && slot == NULL)
            slot = c;
    }
    if (nm == NULL) {
        if (slot == NULL) { /* evict the least recently used resolved name */
            for (size_t i = 0; i < UDP_NAMES; i++)
                if (a->names[i].ready && (slot == NULL || a->names[i].used_ms < slot->used_ms))
                    slot = &a->names[i];
            if (slot == NULL) {
                u->dropped++;
                return;
            }
            name_clear(slot);
        }
        nm = slot;
        nm->a = a;
        nm->used = true;
        nm->name = *dst;
        int rc = node_dns_resolve(u->w->dns, dst->domain, AF_UNSPEC, name_resolved, nm, &nm->q);
        if (rc < 0) {
            nm->q = NULL;
            name_clear(nm);
            dest_failed(a, dst, "dns", rc);
            return;
        }
    }
    nm->used_ms = now;
    if (nm->ready) {
        send_to(a, &nm->ip, p, n);
        return;
    }
    if (nm->nq >= UDP_NAME_QUEUE) {
        u->dropped++;
        return;
    }
    struct udp_pending *pd = malloc(sizeof(*pd) + n);
    if (pd == NULL) {
        u->dropped++;
        return;
    }
    pd->next = NULL;
    pd->len = n;
    memcpy(pd->data, p, n);
    struct udp_pending **pp = &nm->queue;
    while (*pp)
        pp = &(*pp)->next;
    *pp = pd;
    nm->nq++;
    a->last_ms = now;
}

static struct node_bt_flow bt_flow(const struct node_udp *u)
{
    return (struct node_bt_flow){u->bt_mode, u->w->rt->usage, u->user, u->hub_id, u->id};
}

/* veil.blockBitTorrent on one client datagram. true: do not send it; the flow was refused
 * (command 2 ends the tunnel, a Mux session gets End with the error bit: `a` is gone). In log
 * mode a flow is counted once. */
static bool bt_refused(struct node_udp *u, struct udp_assoc *a, const uint8_t *p, size_t n)
{
    if (u->bt_mode == NODE_BT_MODE_OFF || a->bt_logged)
        return false;
    struct node_bt_flow f = bt_flow(u);
    if (!node_bt_guard(&f, false, p, n)) {
        a->bt_logged = u->bt_mode == NODE_BT_MODE_LOG && node_bt_detect_udp(p, n) != NODE_BT_NONE;
        return false;
    }
    u->dropped++;
    if (!u->mux)
        finish(u, NODE_CR_BITTORRENT, ERR_AUTH);
    else
        assoc_end(a, true);
    return true;
}

/* The first bytes of a Mux TCP sub-connection (node/mux.h refuse_first). */
static bool mux_refuse_first(void *arg, const uint8_t *p, size_t n)
{
    struct node_udp *u = arg;
    struct node_bt_flow f = bt_flow(u);
    return node_bt_guard(&f, true, p, n);
}

/* A Mux TCP sub-connection's destination port (node/mux.h refuse_port). */
static bool mux_refuse_port(void *arg, uint16_t port)
{
    struct node_udp *u = arg;
    struct node_port_flow f = {u->w->rt->usage, u->user, u->hub_id, u->id, "mux"};
    return node_port_guard(u->w->dialer, &f, port);
}

static struct udp_assoc *assoc_new(struct node_udp *u, uint16_t id, const struct vless_addr *dest)
{
    if (u->n_assocs >= UDP_MAX_ASSOCS)
        return NULL;
    struct udp_assoc *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    node_tm_add(NODE_TM_UDP_ASSOCS, 1);
    a->w = u->w;
    a->sk[0].fd = a->sk[1].fd = -1;
    loop_timer_init(&a->keep, keep_expired);
    assoc_attach(u, a, id, dest);
    return a;
}

static struct udp_assoc *assoc_find(struct node_udp *u, uint16_t id)
{
    for (struct udp_assoc *a = u->assocs; a; a = a->next)
        if (a->id == id)
            return a;
    return NULL;
}

static void mux_output(void *arg)
{
    pump(arg);
}

static int process_in(struct node_udp *u);

/* The Mux TCP sub-connection whose full buffer stopped the tunnel has drained: read on. */
static void mux_unblocked(void *arg)
{
    struct node_udp *u = arg;
    if (u->closed)
        return;
    int rc = process_in(u); /* frames read before the stop */
    if (rc < 0) {
        log_debug("udp", u->id, "udp_bad_frame", LF_STR("err", err_str(rc)));
        finish(u, rc == ERR_UNSUPPORTED ? NODE_CR_FLOW : NODE_CR_VLESS, rc);
        return;
    }
    u->rx_more = true; /* the transport may hold decoded bytes: pump asks for a callback */
    pump(u);
}

/* Frames of Mux TCP sub-connections go to node/mux.c. 1: taken there; 0: a UDP session's or
 * the tunnel's; or an error that ends the tunnel. */
static int tcp_frame(struct node_udp *u, const struct vless_mux_frame *f)
{
    if (f->status == VLESS_MUX_NEW && f->network == VLESS_MUX_NET_TCP) {
        if (u->mux_udp_only)
            return ERR_UNSUPPORTED; /* a Vision user: upstream's "unexpected network" closes all */
        struct udp_assoc *a = assoc_find(u, f->session_id);
        if (a != NULL)
            assoc_free(a); /* a reused id starts afresh */
        struct node_mux_cfg mc = {
            .loop = u->w->loop,
            .dialer = u->w->dialer,
            .out = &u->out,
            .idle_ms = u->tcp_idle_ms,
            .rate = {u->rate[RELAY_A_TO_B], u->rate[RELAY_B_TO_A]},
            .up = &u->up,
            .down = &u->down,
            .conn_id = u->id,
            .access_user = u->access_user,
            .refuse_new = &u->w->draining,
            .on_output = mux_output,
            .on_unblock = mux_unblocked,
            .refuse_first = mux_refuse_first,
            .refuse_port = mux_refuse_port,
            .arg = u,
        };
        if (u->tcp == NULL && node_mux_new(&mc, &u->tcp) < 0)
            return vless_mux_encode_end(&u->out, f->session_id, true);
    }
    return u->tcp != NULL ? node_mux_frame(u->tcp, f) : 0;
}

/* One Mux frame from the client (spec/mux-xudp.md §4). 0, or an error that ends the tunnel. */
static int on_frame(struct node_udp *u, const struct vless_mux_frame *f)
{
    static const uint8_t zero[8];
    int taken = tcp_frame(u, f);
    if (taken != 0)
        return taken < 0 ? taken : 0;
    struct udp_assoc *a = assoc_find(u, f->session_id);
    bool gid = f->status == VLESS_MUX_NEW && f->has_global_id && memcmp(f->global_id, zero, 8) != 0;
    struct udp_assoc *known = gid ? reg_find(u->w, u->user, f->global_id) : NULL;
    switch (f->status) {
    case VLESS_MUX_KEEPALIVE:
        return 0;
    case VLESS_MUX_END:
        if (a != NULL) {
            assoc_release(a); /* the client ended it: no End back */
            u->last_ms = loop_now(u->w->loop);
        }
        return 0;
    case VLESS_MUX_NEW: /* network UDP: TCP went to tcp_frame */
        if (a != NULL && a != known)
            assoc_free(a); /* a reused id starts afresh */
        if (known != NULL && known->u != u && u->n_assocs >= UDP_MAX_ASSOCS)
            return vless_mux_encode_end(&u->out, f->session_id, true);
        if (known != NULL) {
            /* §6: the client's association, live elsewhere (detached quietly) or kept */
            assoc_detach(known);
            unkeep(known);
            assoc_attach(u, known, f->session_id, &f->target);
            a = known;
            log_debug("udp", u->id, "xudp_reuse", LF_UINT("session", a->id));
        } else {
            a = assoc_new(u, f->session_id, &f->target);
            if (a == NULL)
                return vless_mux_encode_end(&u->out, f->session_id, true);
            if (u->access_user != NULL) {
                char dest[300];
                vless_addr_format(dest, sizeof(dest), &f->target);
                log_info("access", u->id, "udp_session", LF_STR("user", u->access_user), LF_STR("dest", dest),
                         LF_UINT("session", a->id));
            }
            if (gid) {
                a->has_gid = true;
                memcpy(a->gid, f->global_id, 8);
                memcpy(a->user, u->user, 16);
                reg_add(a);
            }
        }
        if (f->has_data && !bt_refused(u, a, f->data.p, f->data.len))
            send_up(a, &f->target, f->data.p, f->data.len);
        return 0;
    case VLESS_MUX_KEEP:
        if (!f->has_data)
            return 0;
        if (a == NULL)
            return vless_mux_encode_end(&u->out, f->session_id, false);
        if (!f->has_target && f->data.len > VLESS_MUX_UDP_MAX)
            return ERR_TOO_LONG;
        if (!bt_refused(u, a, f->data.p, f->data.len))
            send_up(a, f->has_target ? &f->target : &a->dest, f->data.p, f->data.len);
        return 0;
    default:
        return ERR_MALFORMED;
    }
}

/* Parses every whole frame / datagram in u->in. */
static int process_in(struct node_udp *u)
{
    size_t off = 0;
    int rc = 0;
    while (!u->closed && !rx_blocked(u) && off < buf_len(&u->in)) {
        const uint8_t *p = buf_data(&u->in) + off;
        size_t len = buf_len(&u->in) - off, used = 0;
        if (u->mux) {
            struct vless_mux_frame f;
            rc = vless_mux_parse(p, len, &f, &used);
            if (rc == 0)
                rc = on_frame(u, &f);
        } else {
            struct bytes d;
            rc = vless_udp_parse(p, len, &d, &used);
            if (rc == 0 && u->assocs != NULL && !bt_refused(u, u->assocs, d.p, d.len))
                send_up(u->assocs, &u->assocs->dest, d.p, d.len);
        }
        if (rc < 0)
            break;
        off += used;
    }
    buf_consume(&u->in, off);
    if (rc == ERR_NEED_MORE)
        rc = buf_len(&u->in) > UDP_IN_MAX ? ERR_TOO_LONG : 0;
    if (buf_len(&u->in) == 0)
        buf_dispose(&u->in);
    return rc;
}

static void on_client(struct loop *loop, struct loop_io *io, unsigned ev)
{
    (void)loop;
    struct node_udp *u = container_of(io, struct node_udp, io);
    (void)ev; /* always read: the transport may hold decoded bytes without the fd being readable */
    {
        u->rx_more = true; /* unless the transport runs dry below */
        for (int i = 0; i < 16 && !u->closed && !rx_blocked(u); i++) {
            if (buf_reserve(&u->in, 16384) < 0) {
                finish(u, NODE_CR_NOMEM, ERR_NOMEM);
                return;
            }
            never_direct(u);
            ssize_t k = tunnel_xprt_ops.recv(&u->x, u->fd, buf_tail(&u->in), buf_space(&u->in));
            if (k == -EAGAIN) {
                u->rx_more = false;
                break;
            }
            if (k == 0) {
                finish(u, NODE_CR_DONE, 0);
                return;
            }
            if (k < 0) {
                finish(u, NODE_CR_IO, (int)k);
                return;
            }
            buf_produce(&u->in, (size_t)k);
            u->last_ms = loop_now(u->w->loop);
            int rc = process_in(u);
            if (rc < 0) {
                log_debug("udp", u->id, "udp_bad_frame", LF_STR("err", err_str(rc)));
                finish(u, rc == ERR_UNSUPPORTED ? NODE_CR_FLOW : NODE_CR_VLESS, rc);
                return;
            }
        }
    }
    pump(u); /* frames we queued (End), and records the transport queued (KeyUpdate answers) */
}

static void on_tick(struct loop *loop, struct loop_timer *t)
{
    struct node_udp *u = container_of(t, struct node_udp, tick);
    uint64_t now = loop_now(loop);
    book(u); /* a long-lived tunnel shows in the counters as it goes */
    size_t tcp_subs = node_mux_count(u->tcp);
    if (tcp_subs > 0)
        u->last_ms = now; /* the idle clock of the tunnel starts when its last TCP sub-connection ends */
    if (u->w->draining && tcp_subs == 0) { /* UDP never "finishes": do not hold a drain until its deadline */
        finish(u, NODE_CR_SHUTDOWN, 0);
        return;
    }
    struct udp_assoc *next;
    for (struct udp_assoc *a = u->assocs; a; a = next) {
        next = a->next;
        if (now - a->last_ms >= u->idle_ms) {
            log_debug("udp", u->id, "udp_idle", LF_UINT("session", a->id));
            if (!u->mux) {
                finish(u, NODE_CR_DONE, 0);
                return;
            }
            assoc_end(a, false);
            if (u->closed)
                return;
        }
    }
    if (u->n_assocs == 0 && now - u->last_ms >= u->idle_ms)
        finish(u, NODE_CR_DONE, 0);
}

int node_udp_start(const struct node_udp_params *p, struct node_udp **out)
{
    struct node_udp *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return ERR_NOMEM;
    u->w = p->w;
    u->id = p->conn_id;
    u->fd = p->fd;
    u->mux = p->cmd == VLESS_CMD_MUX;
    u->mux_udp_only = p->mux_udp_only;
    memcpy(u->user, p->user_key, sizeof(u->user));
    u->hub_id = p->hub_id;
    u->access_user = p->access_user;
    u->bt_mode = p->bt_mode;
    u->idle_ms = p->idle_ms ? p->idle_ms : 60000;
    u->tcp_idle_ms = p->tcp_idle_ms;
    u->rate[RELAY_A_TO_B] = p->rate[RELAY_A_TO_B];
    u->rate[RELAY_B_TO_A] = p->rate[RELAY_B_TO_A];
    u->on_done = p->on_done;
    u->arg = p->arg;
    u->last_ms = loop_now(p->w->loop);
    buf_init(&u->in);
    buf_init(&u->out);
    loop_io_init(&u->io, p->fd, on_client);
    loop_timer_init(&u->tick, on_tick);
    loop_task_init(&u->free_task, free_task);
    /* The plaintext after the header goes through the transport (Vision unframing) into x.plain. */
    int rc = tunnel_xprt_init(&u->x, p->tls, p->vision, p->uuid, p->cin_left, p->cin_len, p->plain_left, p->plain_len);
    uint8_t resp[2];
    struct buf rb;
    buf_init_fixed(&rb, resp, sizeof(resp));
    if (rc == 0)
        rc = vless_response_encode(&rb, p->version);
    if (rc == 0)
        rc = tunnel_xprt_set_prefix(&u->x, resp, buf_len(&rb)); /* with the first reply */
    if (rc == 0 && p->out_len)
        rc = buf_append(&u->x.cout, p->out_left, p->out_len);
    if (rc == 0 && !u->mux && assoc_new(u, 0, p->dest) == NULL)
        rc = ERR_NOMEM;
    uint64_t period = u->idle_ms / 4;
    period = period < 250 ? 250 : period > 5000 ? 5000 : period;
    if (p->report_ms != 0 && p->report_ms < period)
        period = p->report_ms; /* usage as often as a TCP tunnel's */
    if (rc == 0)
        rc = loop_timer_start(p->w->loop, &u->tick, period, period);
    if (rc == 0)
        rc = loop_io_set(p->w->loop, &u->io, LOOP_READ);
    if (rc < 0) {
        node_udp_free(u);
        return rc;
    }
    node_tm_add(NODE_TM_UDP_TUNNELS, 1);
    /* Bytes that arrived with the header are decoded already: handle them from the loop. */
    u->rx_more = buf_len(&u->x.plain) > 0 || buf_len(&u->x.cin) > 0;
    if (u->rx_more)
        (void)loop_io_set(p->w->loop, &u->io, LOOP_READ | LOOP_WRITE);
    *out = u;
    return 0;
}
