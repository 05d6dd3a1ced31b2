/* Dial state per attempt: RESOLVING (dns query out) -> CONNECTING (one nonblocking connect at a
 * time, per-attempt timer) -> done (callback, then the object is freed at the end of the loop
 * iteration). One timer serves both the per-attempt and the overall deadline. */
#include "node/dial.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"

#define ATTEMPT_MIN_MS 1000 /* an address gets at least this long unless the deadline is nearer */

struct node_dialer {
    struct loop *loop;
    struct node_dns *dns;
    bool allow_private;
    uint32_t timeout_ms;
    enum node_dial_order order;
    struct sock_addr *own;
    size_t n_own;
    uint16_t *own_ports;
    size_t n_own_ports;
    uint16_t blocked_ports[NODE_BLOCKED_PORTS_MAX]; /* veil.blockedPorts */
    size_t n_blocked_ports;
    struct node_dial *dials; /* pending, doubly linked */
    size_t pending;
};

struct node_dial {
    struct node_dial *next, *prev;
    struct node_dialer *d;
    node_dial_cb *cb;
    void *arg;
    unsigned flags;
    uint16_t port;
    struct node_dns_query *query; /* while resolving */
    struct sock_addr addrs[NODE_DNS_MAX_ADDRS];
    size_t n_addrs, next_addr;
    int fd;
    struct loop_io io;
    struct loop_timer timer;
    uint64_t deadline;
    int last_err;
    struct sock_addr last;
    bool have_last;
    struct loop_task free_task;
};

static const char *const result_names[NODE_DIAL__COUNT] = {"ok", "dns_failed", "refused", "connect_failed", "timeout"};

const char *node_dial_result_str(enum node_dial_result r)
{
    return (unsigned)r < NODE_DIAL__COUNT ? result_names[r] : "unknown";
}

/* The address as 4 (IPv4, also v4-mapped IPv6) or 16 raw bytes; returns the length. */
static size_t raw_ip(const struct sock_addr *a, const uint8_t **p)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (sock_addr_family(a) == AF_INET) {
        *p = (const uint8_t *)&a->u.in4.sin_addr;
        return 4;
    }
    if (sock_addr_family(a) == AF_INET6) {
        const uint8_t *b = (const uint8_t *)&a->u.in6.sin6_addr;
        if (memcmp(b, mapped, 12) == 0) {
            *p = b + 12;
            return 4;
        }
        *p = b;
        return 16;
    }
    return 0;
}

static bool same_ip(const struct sock_addr *a, const struct sock_addr *b)
{
    const uint8_t *pa = NULL, *pb = NULL;
    size_t la = raw_ip(a, &pa), lb = raw_ip(b, &pb);
    return la != 0 && la == lb && memcmp(pa, pb, la) == 0;
}

bool node_dial_allowed(const struct node_dialer *d, const struct sock_addr *a, enum sock_addr_class *cls)
{
    enum sock_addr_class c = sock_addr_classify(a);
    if (cls)
        *cls = c;
    if (d->allow_private)
        return true;
    if (c != SOCK_CLASS_PUBLIC)
        return false;
    for (size_t i = 0; i < d->n_own; i++)
        if (same_ip(a, &d->own[i]))
            return false;
    return true;
}

/* An address that reaches this host: loopback, unspecified (0.0.0.0 and :: connect to the
 * host itself on Linux) or one of its interface addresses. */
static bool reaches_this_host(const struct node_dialer *d, const struct sock_addr *a)
{
    enum sock_addr_class c = sock_addr_classify(a);
    if (c == SOCK_CLASS_LOOPBACK || c == SOCK_CLASS_UNSPECIFIED)
        return true;
    for (size_t i = 0; i < d->n_own; i++)
        if (same_ip(a, &d->own[i]))
            return true;
    return false;
}

bool node_dial_is_own_listener(const struct node_dialer *d, const struct sock_addr *a)
{
    uint16_t port = sock_addr_port(a);
    for (size_t i = 0; i < d->n_own_ports; i++)
        if (d->own_ports[i] == port)
            return reaches_this_host(d, a);
    return false;
}

void node_dialer_set_policy(struct node_dialer *d, bool allow_private, uint32_t timeout_ms, enum node_dial_order order)
{
    d->allow_private = allow_private;
    d->timeout_ms = timeout_ms ? timeout_ms : 10000;
    d->order = order;
}

void node_dialer_set_blocked_ports(struct node_dialer *d, const uint16_t *ports, size_t n)
{
    d->n_blocked_ports = n < NODE_BLOCKED_PORTS_MAX ? n : NODE_BLOCKED_PORTS_MAX;
    if (d->n_blocked_ports)
        memcpy(d->blocked_ports, ports, d->n_blocked_ports * sizeof(*ports));
}

bool node_dial_port_blocked(const struct node_dialer *d, uint16_t port)
{
    for (size_t i = 0; i < d->n_blocked_ports; i++)
        if (d->blocked_ports[i] == port)
            return true;
    return false;
}

static void add_port(uint16_t *out, size_t cap, size_t *n, uint16_t port)
{
    if (port == 0 || *n >= cap)
        return;
    for (size_t i = 0; i < *n; i++)
        if (out[i] == port)
            return;
    out[(*n)++] = port;
}

/* The port of a "host:port" / "[v6]:port" listen address, or of an http(s):// URL. */
static uint16_t port_of(const char *s, uint16_t dflt)
{
    if (s == NULL)
        return 0;
    const char *host = strstr(s, "://");
    host = host ? host + 3 : s;
    size_t n = strcspn(host, "/?#");
    const char *end = host + n, *colon = NULL;
    for (const char *p = host; p < end; p++)
        if (*p == ':')
            colon = p;
    if (colon == NULL || (host[0] == '[' && colon < (const char *)memchr(host, ']', n)))
        return dflt;
    unsigned long v = 0;
    for (const char *p = colon + 1; p < end; p++) {
        if (*p < '0' || *p > '9' || (v = v * 10 + (unsigned long)(*p - '0')) > 65535)
            return dflt;
    }
    return colon + 1 < end ? (uint16_t)v : dflt;
}

size_t node_dial_own_ports(const struct node_cfg *cfg, uint16_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_inbounds; i++)
        add_port(out, cap, &n, cfg->inbounds[i].port);
    add_port(out, cap, &n, port_of(cfg->admin_listen, 0));
    add_port(out, cap, &n, port_of(cfg->metrics_listen, 0));
    if (cfg->hub_url)
        add_port(out, cap, &n, port_of(cfg->hub_url, strncmp(cfg->hub_url, "https:", 6) == 0 ? 443 : 80));
    return n;
}

int node_local_addrs(struct sock_addr **out, size_t *n)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) == -1)
        return -errno;
    size_t cap = 0;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
        cap++;
    struct sock_addr *v = calloc(cap ? cap : 1, sizeof(*v));
    if (v == NULL) {
        freeifaddrs(ifs);
        return -ENOMEM;
    }
    size_t k = 0;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (i->ifa_addr == NULL)
            continue;
        if (i->ifa_addr->sa_family == AF_INET)
            sock_addr_from_v4(&v[k++], (const uint8_t *)&((const struct sockaddr_in *)i->ifa_addr)->sin_addr, 0);
        else if (i->ifa_addr->sa_family == AF_INET6)
            sock_addr_from_v6(&v[k++], (const uint8_t *)&((const struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 0);
    }
    freeifaddrs(ifs);
    *out = v;
    *n = k;
    return 0;
}

struct node_dialer *node_dialer_new(struct loop *loop, struct node_dns *dns, const struct node_dialer_opts *o)
{
    struct node_dialer *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->loop = loop;
    d->dns = dns;
    d->allow_private = o->allow_private;
    d->timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
    d->order = o->order;
    if (o->n_own) {
        d->own = malloc(o->n_own * sizeof(*d->own));
        if (d->own == NULL) {
            free(d);
            return NULL;
        }
        memcpy(d->own, o->own, o->n_own * sizeof(*d->own));
        d->n_own = o->n_own;
    }
    if (o->n_own_ports) {
        d->own_ports = malloc(o->n_own_ports * sizeof(*d->own_ports));
        if (d->own_ports == NULL) {
            free(d->own);
            free(d);
            return NULL;
        }
        memcpy(d->own_ports, o->own_ports, o->n_own_ports * sizeof(*d->own_ports));
        d->n_own_ports = o->n_own_ports;
    }
    node_dialer_set_blocked_ports(d, o->blocked_ports, o->n_blocked_ports);
    return d;
}

static void free_task_cb(struct loop *loop, struct loop_task *task)
{
    free(container_of(task, struct node_dial, free_task));
}

/* Stops everything, unlinks, and queues the free; the object stays readable until the end of
 * the iteration. */
static void dial_stop(struct node_dial *dl)
{
    struct node_dialer *d = dl->d;
    if (dl->query) {
        node_dns_cancel(dl->query);
        dl->query = NULL;
    }
    if (dl->fd != -1) {
        loop_io_close(d->loop, &dl->io);
        dl->fd = -1;
    }
    loop_timer_stop(d->loop, &dl->timer);
    if (dl->prev)
        dl->prev->next = dl->next;
    else
        d->dials = dl->next;
    if (dl->next)
        dl->next->prev = dl->prev;
    d->pending--;
    loop_defer(d->loop, &dl->free_task);
}

static void finish(struct node_dial *dl, enum node_dial_result res, int err)
{
    int fd = -1;
    if (res == NODE_DIAL_OK) {
        fd = dl->fd;
        loop_io_release(dl->d->loop, &dl->io); /* its next watcher takes the registration over */
        dl->fd = -1;                           /* handed over */
    }
    dial_stop(dl);
    dl->cb(dl->arg, res, err, fd, dl->have_last ? &dl->last : NULL);
}

static void arm_timer(struct node_dial *dl, uint64_t now)
{
    uint64_t remaining = dl->deadline > now ? dl->deadline - now : 0;
    uint64_t wait = remaining;
    if (dl->fd != -1) {
        size_t left = dl->n_addrs - dl->next_addr + 1; /* this attempt and the ones after it */
        uint64_t per = remaining / left;
        if (per < ATTEMPT_MIN_MS)
            per = remaining < ATTEMPT_MIN_MS ? remaining : ATTEMPT_MIN_MS;
        wait = per;
    }
    loop_timer_start(dl->d->loop, &dl->timer, wait, 0);
}

static void on_connect(struct loop *loop, struct loop_io *io, unsigned revents);

/* Starts connects until one is in progress or done; finishes when the list is exhausted. */
static void try_next(struct node_dial *dl)
{
    struct node_dialer *d = dl->d;
    while (dl->next_addr < dl->n_addrs) {
        const struct sock_addr *a = &dl->addrs[dl->next_addr++];
        dl->last = *a;
        dl->have_last = true;
        int fd;
        int rc = sock_connect(a, &fd);
        if (rc == 0) {
            dl->fd = fd;
            finish(dl, NODE_DIAL_OK, 0);
            return;
        }
        if (rc == -EINPROGRESS) {
            dl->fd = fd;
            loop_io_init(&dl->io, fd, on_connect);
            if (loop_io_set(d->loop, &dl->io, LOOP_WRITE) < 0) {
                close(fd);
                dl->fd = -1;
                dl->last_err = -ENOMEM;
                continue;
            }
            arm_timer(dl, loop_now(d->loop));
            return;
        }
        dl->last_err = rc;
    }
    finish(dl, NODE_DIAL_CONNECT_FAILED, dl->last_err ? dl->last_err : -ECONNREFUSED);
}

static void on_connect(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct node_dial *dl = container_of(io, struct node_dial, io);
    /* Writable without an error or hang-up is a completed connect (Linux reports a failed one
     * with EPOLLERR): SO_ERROR is read only then, one getsockopt less per dial. */
    int rc = (revents & (LOOP_ERROR | LOOP_HUP)) ? sock_connect_result(dl->fd) : 0;
    if (rc == 0) {
        finish(dl, NODE_DIAL_OK, 0);
        return;
    }
    loop_io_close(loop, &dl->io);
    dl->fd = -1;
    dl->last_err = rc;
    try_next(dl);
}

static void on_timer(struct loop *loop, struct loop_timer *t)
{
    struct node_dial *dl = container_of(t, struct node_dial, timer);
    if (loop_now(loop) >= dl->deadline || dl->fd == -1) {
        finish(dl, NODE_DIAL_TIMEOUT, ERR_TIMEOUT);
        return;
    }
    /* This address took its share of the time: move on. */
    loop_io_close(loop, &dl->io);
    dl->fd = -1;
    dl->last_err = -ETIMEDOUT;
    try_next(dl);
}

static bool family_wanted(enum node_dial_order order, int family)
{
    if (order == NODE_DIAL_ORDER_IPV4_ONLY)
        return family == AF_INET;
    if (order == NODE_DIAL_ORDER_IPV6_ONLY)
        return family == AF_INET6;
    return true;
}

/* Stable partition: the preferred family first. */
static void order_addrs(struct sock_addr *v, size_t n, enum node_dial_order order)
{
    int first;
    if (order == NODE_DIAL_ORDER_IPV4_FIRST)
        first = AF_INET;
    else if (order == NODE_DIAL_ORDER_IPV6_FIRST)
        first = AF_INET6;
    else
        return;
    struct sock_addr tmp[NODE_DNS_MAX_ADDRS];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (sock_addr_family(&v[i]) == first)
            tmp[k++] = v[i];
    for (size_t i = 0; i < n; i++)
        if (sock_addr_family(&v[i]) != first)
            tmp[k++] = v[i];
    memcpy(v, tmp, n * sizeof(*v));
}

static void on_resolved(void *arg, int status, const struct sock_addr *addrs, size_t n)
{
    struct node_dial *dl = arg;
    struct node_dialer *d = dl->d;
    dl->query = NULL;
    if (status < 0) {
        finish(dl, NODE_DIAL_DNS_FAILED, status);
        return;
    }
    size_t refused = 0;
    dl->n_addrs = 0;
    for (size_t i = 0; i < n && dl->n_addrs < NODE_DNS_MAX_ADDRS; i++) {
        if (!family_wanted(d->order, sock_addr_family(&addrs[i])))
            continue;
        struct sock_addr a = addrs[i];
        sock_addr_set_port(&a, dl->port);
        if (!(dl->flags & NODE_DIAL_TRUSTED) && (!node_dial_allowed(d, &a, NULL) || node_dial_is_own_listener(d, &a))) {
            refused++;
            dl->last = a;
            dl->have_last = true;
            continue;
        }
        dl->addrs[dl->n_addrs++] = a;
    }
    if (dl->n_addrs == 0) {
        if (refused)
            finish(dl, NODE_DIAL_REFUSED, ERR_AUTH);
        else
            finish(dl, NODE_DIAL_DNS_FAILED, ERR_NOT_FOUND);
        return;
    }
    order_addrs(dl->addrs, dl->n_addrs, d->order);
    try_next(dl);
}

int node_dial_start(struct node_dialer *d, const char *host, uint16_t port, unsigned flags, node_dial_cb *cb, void *arg,
                    struct node_dial **out)
{
    if (host == NULL || *host == '\0' || port == 0)
        return ERR_MALFORMED;
    /* callers count the refusal first (node/port_guard.h); this is the backstop */
    if (!(flags & NODE_DIAL_TRUSTED) && node_dial_port_blocked(d, port))
        return ERR_AUTH;
    struct node_dial *dl = calloc(1, sizeof(*dl));
    if (dl == NULL)
        return ERR_NOMEM;
    dl->d = d;
    dl->cb = cb;
    dl->arg = arg;
    dl->flags = flags;
    dl->port = port;
    dl->fd = -1;
    loop_timer_init(&dl->timer, on_timer);
    loop_task_init(&dl->free_task, free_task_cb);
    int family = d->order == NODE_DIAL_ORDER_IPV4_ONLY   ? AF_INET
                 : d->order == NODE_DIAL_ORDER_IPV6_ONLY ? AF_INET6
                                                         : AF_UNSPEC;
    int rc = node_dns_resolve(d->dns, host, family, on_resolved, dl, &dl->query);
    if (rc < 0) {
        free(dl);
        return rc;
    }
    dl->next = d->dials;
    if (d->dials)
        d->dials->prev = dl;
    d->dials = dl;
    d->pending++;
    dl->deadline = loop_now(d->loop) + d->timeout_ms;
    arm_timer(dl, loop_now(d->loop));
    if (out)
        *out = dl;
    return 0;
}

void node_dial_cancel(struct node_dial *dl)
{
    dial_stop(dl);
}

void node_dialer_free(struct node_dialer *d)
{
    if (d == NULL)
        return;
    while (d->dials)
        dial_stop(d->dials);
    free(d->own);
    free(d->own_ports);
    free(d);
}

size_t node_dialer_pending(const struct node_dialer *d)
{
    return d->pending;
}
