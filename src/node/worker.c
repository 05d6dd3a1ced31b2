#include "node/worker.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "net/sock.h"
#include "node/session.h"

#define WORKER_BACKLOG 1024
#define WORKER_POOL_CACHE 16
/* Relay blocks of 64 KiB: a third less node CPU per GB than one TLS record (bench/README.md);
 * idle tunnels still hold none, and the per-worker cache stays near 1 MiB. */
#define WORKER_RELAY_BLOCK (65536 + 256)
/* Tunnels quiet this long park their AES-GCM contexts; checked every WORKER_PARK_TICK_MS. */
#define WORKER_PARK_QUIET_MS 1000
#define WORKER_PARK_TICK_MS 1000

/* ---- snapshot ---- */

static void inbound_rt_dispose(struct node_inbound_rt *in)
{
    reality_server_cfg_unref(in->reality);
    vless_users_unref(in->users);
}

static void format_ver(uint32_t v, char *out, size_t cap)
{
    snprintf(out, cap, "%u.%u.%u", (unsigned)(v >> 16) & 255, (unsigned)(v >> 8) & 255, (unsigned)v & 255);
}

static int build_inbound(const struct node_inbound *ib, struct node_inbound_rt *in, char *err, size_t errlen)
{
    in->ib = ib;
    in->reality = reality_server_cfg_new(ib->private_key);
    if (in->reality == NULL)
        return ERR_NOMEM;
    int rc = 0;
    for (size_t i = 0; i < ib->n_server_names && rc == 0; i++)
        rc = reality_server_cfg_add_server_name(in->reality, ib->server_names[i], strlen(ib->server_names[i]));
    for (size_t i = 0; i < ib->n_short_ids && rc == 0; i++)
        rc = reality_server_cfg_add_short_id(in->reality, ib->short_id_text[i]);
    char minv[16] = "", maxv[16] = "";
    if (ib->has_min_client_ver)
        format_ver(ib->min_client_ver, minv, sizeof(minv));
    if (ib->has_max_client_ver)
        format_ver(ib->max_client_ver, maxv, sizeof(maxv));
    if (rc == 0)
        rc = reality_server_cfg_set_client_ver(in->reality, minv, maxv);
    if (rc == 0)
        rc = reality_server_cfg_set_max_time_diff(in->reality, ib->max_time_diff_ms);
    if (rc == 0)
        rc = reality_server_cfg_freeze(in->reality);
    if (rc < 0) {
        snprintf(err, errlen, "realitySettings: %s", err_str(rc));
        return rc;
    }
    uint64_t seed;
    if (crypto_random(&seed, sizeof(seed)) < 0)
        return ERR_CRYPTO;
    struct vless_users_builder *b = vless_users_builder_new(seed);
    if (b == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < ib->n_users && rc == 0; i++) {
        const struct node_user *u = &ib->users[i];
        rc = vless_users_builder_add(b, u->id, u->flow == NODE_FLOW_VISION ? VLESS_FLOW_VISION : VLESS_FLOW_NONE,
                                     u->email, i);
    }
    if (rc < 0) {
        vless_users_builder_free(b);
        snprintf(err, errlen, "settings.clients: %s", err_str(rc));
        return rc;
    }
    rc = vless_users_freeze(b, &in->users);
    if (rc < 0)
        snprintf(err, errlen, "settings.clients: %s", rc == ERR_EXISTS ? "two clients share an email" : err_str(rc));
    return rc;
}

int node_snapshot_new(struct node_cfg *cfg, struct node_snapshot **out, char *err, size_t errlen)
{
    struct node_snapshot *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ERR_NOMEM;
    atomic_init(&s->refs, 1);
    s->cfg = node_cfg_ref(cfg);
    s->inbounds = calloc(cfg->n_inbounds ? cfg->n_inbounds : 1, sizeof(*s->inbounds));
    if (s->inbounds == NULL) {
        node_snapshot_unref(s);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < cfg->n_inbounds; i++) {
        int rc = build_inbound(&cfg->inbounds[i], &s->inbounds[i], err, errlen);
        s->n_inbounds = i + 1;
        if (rc < 0) {
            node_snapshot_unref(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

struct node_snapshot *node_snapshot_ref(struct node_snapshot *s)
{
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void node_snapshot_unref(struct node_snapshot *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->n_inbounds; i++)
        inbound_rt_dispose(&s->inbounds[i]);
    free(s->inbounds);
    node_cfg_unref(s->cfg);
    free(s);
}

/* ---- workers ---- */

/* File descriptors kept free for handshakes that authenticate (each needs the target's and
 * then the destination's socket): an fd at or above rlimit - reserve means the table is that
 * full, because the kernel hands out the lowest free number. */
#define FD_RESERVE_MIN 32
#define FD_RESERVE_MAX 512
#define ACCEPT_PAUSE_MS 100
#define FD_LOG_INTERVAL_MS 10000

static int fd_reserve_line(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT_MAX)
        return INT_MAX;
    int limit = (int)rl.rlim_cur, reserve = limit / 8;
    reserve = reserve < FD_RESERVE_MIN ? FD_RESERVE_MIN : reserve > FD_RESERVE_MAX ? FD_RESERVE_MAX : reserve;
    return limit > reserve ? limit - reserve : limit;
}

static void set_listening(struct node_worker *w, bool on)
{
    for (size_t i = 0; i < w->n_listeners; i++)
        if (w->listeners[i].fd >= 0)
            (void)loop_io_set(w->loop, &w->listeners[i].io, on ? LOOP_READ : 0);
}

static void on_park_timer(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    node_session_park_quiet(container_of(t, struct node_worker, park_timer), WORKER_PARK_QUIET_MS);
}

static void on_accept_timer(struct loop *loop, struct loop_timer *t)
{
    struct node_worker *w = container_of(t, struct node_worker, accept_timer);
    w->accept_paused = false;
    if (!w->draining)
        set_listening(w, true);
}

/* EMFILE/ENFILE: one warning per FD_LOG_INTERVAL_MS per worker with the count of the others
 * (a level-triggered listener would otherwise log in a tight loop: 55,931 lines in 10 s). */
static void log_fd_limit(struct node_worker *w, int err, bool shed)
{
    uint64_t now = loop_now(w->loop);
    if (w->fd_log_ms != 0 && now - w->fd_log_ms < FD_LOG_INTERVAL_MS) {
        w->fd_log_suppressed++;
        return;
    }
    log_warn("node", 0, "accept_fd_limit", LF_STR("err", err_str(err)), LF_BOOL("shed_unauthenticated", shed),
             LF_UINT("suppressed", w->fd_log_suppressed));
    w->fd_log_ms = now;
    w->fd_log_suppressed = 0;
}

static void on_accept(struct loop *loop, struct loop_io *io, unsigned ev)
{
    (void)ev;
    struct node_listener *l = container_of(io, struct node_listener, io);
    struct node_worker *w = l->w;
    for (int i = 0; i < 64 && !w->draining && !w->accept_paused; i++) { /* bounded: other fds get their turn */
        struct sock_addr peer;
        int fd = sock_accept(l->fd, &peer);
        if (fd == -EAGAIN)
            return;
        if (fd == -EMFILE || fd == -ENFILE) {
            /* Make room by dropping a probe; with none to drop, stop accepting for a moment
             * instead of spinning on a listener that stays readable. */
            bool shed = node_session_shed_unauthenticated(w);
            log_fd_limit(w, fd, shed);
            if (!shed) {
                w->accept_paused = true;
                set_listening(w, false);
                (void)loop_timer_start(loop, &w->accept_timer, ACCEPT_PAUSE_MS, 0);
            }
            return; /* the freed fd is closed at the end of this iteration */
        }
        if (fd < 0)
            return;
        /* Below the reserve: the oldest unauthenticated connection makes way for this one. */
        if (fd >= w->rt->fd_reserve_at)
            (void)node_session_shed_unauthenticated(w);
        (void)node_session_start(w, l->inbound, fd, &peer);
    }
}

static void worker_close_listeners(struct node_worker *w)
{
    for (size_t i = 0; i < w->n_listeners; i++) {
        struct node_listener *l = &w->listeners[i];
        if (l->fd >= 0) {
            loop_io_stop(w->loop, &l->io);
            close(l->fd);
            l->fd = -1;
        }
    }
}

static void worker_dispose(struct node_worker *w)
{
    if (w->loop != NULL) {
        loop_timer_stop(w->loop, &w->accept_timer);
        loop_timer_stop(w->loop, &w->park_timer);
        worker_close_listeners(w);
        node_session_close_all(w);
        loop_run_once(w->loop, 0); /* run the deferred frees */
    }
    node_dialer_free(w->dialer);
    node_dns_free(w->dns);
    loop_free(w->loop);
    pool_free(w->pool);
    node_snapshot_unref(w->snap);
    free(w->listeners);
    w->loop = NULL;
}

static int listen_addr(const struct node_inbound *ib, struct sock_addr *a)
{
    const char *host = ib->listen;
    if (host == NULL || !strcmp(host, "0.0.0.0") || !strcmp(host, "::"))
        return sock_addr_from_ip(a, "::", ib->port) == 0 ? 0 : sock_addr_from_ip(a, "0.0.0.0", ib->port);
    if (!strcmp(host, "localhost"))
        host = "127.0.0.1";
    return sock_addr_from_ip(a, host, ib->port);
}

static int worker_init(struct node_runtime *rt, struct node_worker *w, unsigned index, struct node_snapshot *snap)
{
    const struct node_cfg *cfg = snap->cfg;
    w->rt = rt;
    w->index = index;
    loop_timer_init(&w->accept_timer, on_accept_timer); /* before any failure: worker_dispose stops them */
    loop_timer_init(&w->park_timer, on_park_timer);
    w->sessions.next = w->sessions.prev = &w->sessions;
    w->snap = node_snapshot_ref(snap);
    w->loop = loop_new();
    w->pool = pool_new(WORKER_RELAY_BLOCK, WORKER_POOL_CACHE);
    if (w->loop == NULL || w->pool == NULL)
        return ERR_NOMEM;
    int prc = loop_timer_start(w->loop, &w->park_timer, WORKER_PARK_TICK_MS, WORKER_PARK_TICK_MS);
    if (prc < 0)
        return prc;
    struct node_dns_opts dopts = {
        .servers = (const char *const *)cfg->dns_servers,
        .n_servers = cfg->n_dns_servers,
        .timeout_ms = cfg->dns_timeout_ms,
    };
    w->dns = node_dns_new(w->loop, &dopts);
    if (w->dns == NULL)
        return ERR_CONFIG;
    struct sock_addr *own = NULL;
    size_t n_own = 0;
    (void)node_local_addrs(&own, &n_own);
    uint16_t own_ports[64];
    struct node_dialer_opts o = {
        .allow_private = cfg->allow_private_destinations,
        .timeout_ms = cfg->dial_timeout_ms,
        .order = cfg->dial_order,
        .own = own,
        .n_own = n_own,
        .own_ports = own_ports,
        .n_own_ports = node_dial_own_ports(cfg, own_ports, sizeof(own_ports) / sizeof(own_ports[0])),
        .blocked_ports = cfg->blocked_ports,
        .n_blocked_ports = cfg->n_blocked_ports,
    };
    w->dialer = node_dialer_new(w->loop, w->dns, &o);
    free(own);
    if (w->dialer == NULL)
        return ERR_NOMEM;
    w->groups[0] = &tls13_kex_x25519;
    w->groups[1] = &tls13_kex_x25519mlkem768; /* targets that pick the hybrid group (Google, Cloudflare) */
    w->tls_server.groups = w->groups;
    w->tls_server.n_groups = 2;
    w->listeners = calloc(snap->n_inbounds, sizeof(*w->listeners));
    if (w->listeners == NULL)
        return ERR_NOMEM;
    w->n_listeners = snap->n_inbounds;
    for (size_t i = 0; i < w->n_listeners; i++)
        w->listeners[i].fd = -1;
    for (size_t i = 0; i < w->n_listeners; i++) {
        struct node_listener *l = &w->listeners[i];
        struct sock_addr a;
        int rc = listen_addr(snap->inbounds[i].ib, &a);
        if (rc < 0)
            return rc;
        int fd = sock_listen(&a, WORKER_BACKLOG, SOCK_LISTEN_REUSEPORT);
        if (fd < 0) {
            char as[SOCK_ADDR_STRLEN];
            (void)sock_addr_format(&a, as, sizeof(as));
            log_err("node", 0, "listen_failed", LF_STR("addr", as), LF_STR("err", err_str(fd)));
            return fd;
        }
        /* Accepted sockets inherit it (test_sock: accepted_inherits_nodelay): one setsockopt
         * per listener instead of one per connection. */
        (void)sock_set_nodelay(fd, true);
        *l = (struct node_listener){.w = w, .inbound = i, .fd = fd};
        loop_io_init(&l->io, fd, on_accept);
        rc = loop_io_set(w->loop, &l->io, LOOP_READ);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct node_worker *w = arg;
    (void)loop_run(w->loop);
    return NULL;
}

int node_runtime_start(struct node_runtime *rt, struct node_snapshot *snap, unsigned n_workers)
{
    memset(rt, 0, sizeof(*rt));
    pthread_mutex_init(&rt->lock, NULL);
    if (n_workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_workers = n > 0 && n < 256 ? (unsigned)n : 1;
    }
    int rc = reality_cert_init(&rt->cert, NULL);
    if (rc < 0)
        return rc;
    rt->snap = node_snapshot_ref(snap);
    rt->fd_reserve_at = fd_reserve_line();
    struct node_limits_cfg lc;
    node_runtime_limits_cfg(snap->cfg, &lc);
    rc = node_limits_new(&lc, &rt->limits);
    if (rc < 0) {
        node_runtime_stop(rt, 0);
        return rc;
    }
    rt->usage = node_usage_new();
    rt->workers = rt->usage ? calloc(n_workers, sizeof(*rt->workers)) : NULL;
    if (rt->workers == NULL) {
        node_runtime_stop(rt, 0);
        return ERR_NOMEM;
    }
    rt->n_workers = n_workers;
    for (unsigned i = 0; i < n_workers; i++) {
        rc = worker_init(rt, &rt->workers[i], i, snap);
        if (rc < 0) {
            node_runtime_stop(rt, 0);
            return rc;
        }
    }
    for (unsigned i = 0; i < n_workers; i++) {
        rc = -pthread_create(&rt->workers[i].thread, NULL, worker_main, &rt->workers[i]);
        if (rc < 0) {
            rt->n_workers = i; /* only started ones are joined */
            node_runtime_stop(rt, 0);
            return rc;
        }
    }
    return 0;
}

struct swap_msg {
    struct node_worker *w;
    struct node_snapshot *snap;
};

static void worker_swap(struct loop *loop, void *arg)
{
    struct swap_msg *m = arg;
    if (loop != NULL) {
        struct node_snapshot *old = m->w->snap;
        m->w->snap = m->snap; /* new sessions use it; old ones hold their own reference */
        const struct node_cfg *cfg = m->snap->cfg;
        node_dialer_set_policy(m->w->dialer, cfg->allow_private_destinations, cfg->dial_timeout_ms, cfg->dial_order);
        node_dialer_set_blocked_ports(m->w->dialer, cfg->blocked_ports, cfg->n_blocked_ports);
        node_snapshot_unref(old);
    } else {
        node_snapshot_unref(m->snap);
    }
    free(m);
}

void node_runtime_reload(struct node_runtime *rt, struct node_snapshot *snap)
{
    pthread_mutex_lock(&rt->lock);
    struct node_snapshot *old = rt->snap;
    rt->snap = node_snapshot_ref(snap);
    pthread_mutex_unlock(&rt->lock);
    node_snapshot_unref(old);
    struct node_limits_cfg lc;
    node_runtime_limits_cfg(snap->cfg, &lc);
    node_limits_set_cfg(rt->limits, &lc);
    for (size_t i = 0; i < rt->n_workers; i++) {
        struct swap_msg *m = malloc(sizeof(*m));
        if (m == NULL)
            continue;
        m->w = &rt->workers[i];
        m->snap = node_snapshot_ref(snap);
        if (loop_post(rt->workers[i].loop, worker_swap, m) < 0) {
            node_snapshot_unref(m->snap);
            free(m);
        }
    }
}

static void worker_drain(struct loop *loop, void *arg)
{
    struct node_worker *w = arg;
    if (loop == NULL)
        return;
    w->draining = true;
    worker_close_listeners(w);
}

static void worker_stop(struct loop *loop, void *arg)
{
    (void)arg;
    if (loop != NULL)
        loop_stop(loop);
}

static uint64_t active_sessions(const struct node_runtime *rt)
{
    uint64_t n = 0;
    for (size_t i = 0; i < rt->n_workers; i++)
        n += atomic_load(&rt->workers[i].stats.active);
    return n;
}

static bool runtime_started(const struct node_runtime *rt)
{
    return rt->workers != NULL && rt->n_workers > 0 && rt->workers[0].thread != 0;
}

void node_runtime_drain(struct node_runtime *rt, uint64_t drain_ms)
{
    if (atomic_exchange(&rt->stopping, true) || !runtime_started(rt))
        return;
    for (size_t i = 0; i < rt->n_workers; i++)
        (void)loop_post(rt->workers[i].loop, worker_drain, &rt->workers[i]);
    for (uint64_t waited = 0; waited < drain_ms && active_sessions(rt) > 0; waited += 50)
        usleep(50 * 1000);
}

void node_runtime_stop(struct node_runtime *rt, uint64_t drain_ms)
{
    node_runtime_drain(rt, drain_ms);
    bool started = runtime_started(rt);
    if (started) {
        for (size_t i = 0; i < rt->n_workers; i++)
            (void)loop_post(rt->workers[i].loop, worker_stop, NULL);
        for (size_t i = 0; i < rt->n_workers; i++)
            pthread_join(rt->workers[i].thread, NULL);
    }
    if (rt->workers != NULL) {
        /* Free every allocated worker, started or not. */
        size_t n = rt->n_workers;
        for (size_t i = 0; i < n; i++)
            worker_dispose(&rt->workers[i]);
        free(rt->workers);
        rt->workers = NULL;
    }
    rt->n_workers = 0;
    node_limits_free(rt->limits); /* every session (and ticket) is gone */
    rt->limits = NULL;
    node_usage_free(rt->usage); /* after the workers: no report runs */
    rt->usage = NULL;
    node_snapshot_unref(rt->snap);
    rt->snap = NULL;
    reality_cert_dispose(&rt->cert);
    pthread_mutex_destroy(&rt->lock);
}

void node_runtime_limits_cfg(const struct node_cfg *cfg, struct node_limits_cfg *out)
{
    *out = (struct node_limits_cfg){
        .device_window_sec = cfg->device_window_sec,
        .handshakes_per_sec_per_ip = cfg->handshakes_per_sec_per_ip,
        .handshake_burst = cfg->handshake_burst,
        .redis_url = cfg->redis_url,
        .redis_timeout_ms = cfg->redis_timeout_ms,
        .probe = {cfg->probe_fallbacks, cfg->probe_window_sec, cfg->probe_ban_sec, cfg->probe_dials_per_sec},
    };
}

void node_runtime_stats(const struct node_runtime *rt, struct node_worker_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < rt->n_workers; i++) {
        const struct node_worker_stats *s = &rt->workers[i].stats;
        atomic_fetch_add(&out->accepted, atomic_load(&s->accepted));
        atomic_fetch_add(&out->authenticated, atomic_load(&s->authenticated));
        atomic_fetch_add(&out->fallback, atomic_load(&s->fallback));
        atomic_fetch_add(&out->closed, atomic_load(&s->closed));
        atomic_fetch_add(&out->bytes_up, atomic_load(&s->bytes_up));
        atomic_fetch_add(&out->bytes_down, atomic_load(&s->bytes_down));
        atomic_fetch_add(&out->active, atomic_load(&s->active));
        for (size_t k = 0; k < NODE_CR__COUNT; k++)
            atomic_fetch_add(&out->close_reasons[k], atomic_load(&s->close_reasons[k]));
    }
}
