/* c-ares glued to the worker loop. c-ares tells us which sockets to watch (sock_state_cb);
 * we watch them with loop_io and call ares_process_fd on readiness, and keep one loop timer
 * armed at ares_timeout() so retries and timeouts happen without polling. */
#include "node/dns.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>

#include "core/container.h"
#include "core/err.h"

struct dns_sock {
    struct loop_io io;
    struct node_dns *d;
    bool used;
};

struct node_dns_query {
    struct node_dns_query *next, *prev;
    struct node_dns *d;
    node_dns_cb *cb; /* NULL once cancelled */
    void *arg;
    int family;
    bool literal;  /* answered without a query */
    bool starting; /* inside ares_getaddrinfo(): answers are delivered later, not re-entrantly */
    bool deferred; /* an answer waits in `task` */
    int status;
    struct loop_task task; /* literal and synchronous answers come from the next iteration */
    struct sock_addr addr;
    struct sock_addr *addrs; /* deferred answer (malloc'd) */
    size_t n_addrs;
    char name[SOCK_HOST_MAX + 1]; /* lower-cased, for the cache */
};

/* One cached answer. Addresses are kept compact (family + 16 bytes). */
struct cache_entry {
    char *name;
    int family;
    uint64_t expires; /* loop_now() ms */
    int status;       /* 0 or ERR_NOT_FOUND */
    uint8_t n;
    struct {
        uint8_t v6;
        uint8_t ip[16];
    } a[NODE_DNS_MAX_ADDRS];
};

struct node_dns {
    struct loop *loop;
    ares_channel channel;
    struct loop_timer timer;
    struct dns_sock **socks;
    size_t n_socks;
    struct node_dns_query *queries; /* pending, doubly linked */
    size_t pending;
    bool destroying;
    struct cache_entry **cache; /* direct-mapped; NULL = no cache */
    size_t cache_cap;           /* power of two */
    uint64_t max_ttl_ms;
    _Atomic uint64_t hits, queries_sent; /* read by the metrics thread */
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status = ARES_SUCCESS;

static void lib_init(void)
{
    lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static void query_link(struct node_dns *d, struct node_dns_query *q)
{
    q->prev = NULL;
    q->next = d->queries;
    if (d->queries)
        d->queries->prev = q;
    d->queries = q;
    d->pending++;
}

static void query_unlink(struct node_dns *d, struct node_dns_query *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        d->queries = q->next;
    if (q->next)
        q->next->prev = q->prev;
    d->pending--;
}

/* Re-arms the timer at c-ares' next deadline, or stops it when nothing is pending. */
static void update_timer(struct node_dns *d)
{
    struct timeval tv;
    if (ares_timeout(d->channel, NULL, &tv) == NULL) {
        loop_timer_stop(d->loop, &d->timer);
        return;
    }
    uint64_t ms = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
    loop_timer_start(d->loop, &d->timer, ms, 0);
}

static void on_timer(struct loop *loop, struct loop_timer *t)
{
    struct node_dns *d = container_of(t, struct node_dns, timer);
    ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    update_timer(d);
}

static void on_sock(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct dns_sock *s = container_of(io, struct dns_sock, io);
    struct node_dns *d = s->d;
    int fd = io->fd;
    bool rd = revents & (LOOP_READ | LOOP_ERROR | LOOP_HUP);
    bool wr = revents & LOOP_WRITE;
    ares_process_fd(d->channel, rd ? fd : ARES_SOCKET_BAD, wr ? fd : ARES_SOCKET_BAD);
    update_timer(d);
}

/* c-ares: start/stop watching a socket. Entries are reused, never freed before the channel,
 * because this may run inside that socket's own io callback. */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct node_dns *d = data;
    struct dns_sock *s = NULL;
    for (size_t i = 0; i < d->n_socks; i++)
        if (d->socks[i]->used && d->socks[i]->io.fd == fd)
            s = d->socks[i];
    unsigned ev = (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0);
    if (s == NULL) {
        if (ev == 0)
            return;
        for (size_t i = 0; i < d->n_socks && s == NULL; i++)
            if (!d->socks[i]->used)
                s = d->socks[i];
        if (s == NULL) {
            struct dns_sock **n = realloc(d->socks, (d->n_socks + 1) * sizeof(*n));
            if (n == NULL)
                return; /* the query times out rather than crash */
            d->socks = n;
            s = calloc(1, sizeof(*s));
            if (s == NULL)
                return;
            d->socks[d->n_socks++] = s;
        }
        s->d = d;
        s->used = true;
        loop_io_init(&s->io, fd, on_sock);
    }
    if (ev == 0) {
        loop_io_stop(d->loop, &s->io);
        s->used = false;
        return;
    }
    loop_io_set(d->loop, &s->io, ev);
}

static int map_status(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return 0;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
        return ERR_NOT_FOUND;
    case ARES_ETIMEOUT:
        return ERR_TIMEOUT;
    case ARES_ENOMEM:
        return ERR_NOMEM;
    case ARES_EBADNAME:
    case ARES_EBADFAMILY:
        return ERR_MALFORMED;
    default:
        return ERR_IO;
    }
}

static void finish(struct node_dns_query *q, int status, const struct sock_addr *addrs, size_t n)
{
    struct node_dns *d = q->d;
    node_dns_cb *cb = q->cb;
    void *arg = q->arg;
    query_unlink(d, q);
    free(q);
    if (cb && !d->destroying)
        cb(arg, status, addrs, n);
}

/* ---- answer cache ---- */

static size_t cache_slot(const struct node_dns *d, const char *name, int family)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)family;
    for (; *name; name++)
        h = (h ^ (uint8_t)*name) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29)) & (d->cache_cap - 1);
}

/* A live entry for (name, family), or NULL. */
static const struct cache_entry *cache_get(const struct node_dns *d, const char *name, int family)
{
    if (d->cache == NULL)
        return NULL;
    const struct cache_entry *e = d->cache[cache_slot(d, name, family)];
    if (e == NULL || e->family != family || strcmp(e->name, name) != 0 || e->expires <= loop_now(d->loop))
        return NULL;
    return e;
}

static void cache_put(struct node_dns *d, const char *name, int family, int status, const struct sock_addr *addrs,
                      size_t n, uint64_t ttl_ms)
{
    if (d->cache == NULL || (status != 0 && status != ERR_NOT_FOUND))
        return;
    if (ttl_ms > d->max_ttl_ms)
        ttl_ms = d->max_ttl_ms;
    size_t slot = cache_slot(d, name, family);
    struct cache_entry *e = d->cache[slot];
    if (e == NULL || strcmp(e->name, name) != 0) {
        char *copy = strdup(name);
        struct cache_entry *ne = copy ? calloc(1, sizeof(*ne)) : NULL;
        if (ne == NULL) {
            free(copy);
            return; /* no memory: just do not cache */
        }
        if (e) {
            free(e->name);
            free(e);
        }
        ne->name = copy;
        d->cache[slot] = e = ne;
    }
    e->family = family;
    e->status = status;
    e->expires = loop_now(d->loop) + ttl_ms;
    e->n = 0;
    for (size_t i = 0; i < n && e->n < NODE_DNS_MAX_ADDRS; i++) {
        const uint8_t *ip;
        if (sock_addr_family(&addrs[i]) == AF_INET) {
            ip = (const uint8_t *)&addrs[i].u.in4.sin_addr;
            e->a[e->n].v6 = 0;
            memcpy(e->a[e->n].ip, ip, 4);
        } else {
            ip = (const uint8_t *)&addrs[i].u.in6.sin6_addr;
            e->a[e->n].v6 = 1;
            memcpy(e->a[e->n].ip, ip, 16);
        }
        e->n++;
    }
}

static void cache_free(struct node_dns *d)
{
    for (size_t i = 0; d->cache && i < d->cache_cap; i++) {
        if (d->cache[i]) {
            free(d->cache[i]->name);
            free(d->cache[i]);
        }
    }
    free(d->cache);
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct node_dns_query *q = arg;
    struct sock_addr addrs[NODE_DNS_MAX_ADDRS];
    size_t n = 0;
    int rc = map_status(status);
    uint64_t ttl_ms = NODE_DNS_NEG_TTL_MS;
    if (rc == 0 && res) {
        int min_ttl = -1;
        for (struct ares_addrinfo_node *ai = res->nodes; ai; ai = ai->ai_next)
            if (min_ttl < 0 || ai->ai_ttl < min_ttl)
                min_ttl = ai->ai_ttl;
        ttl_ms = min_ttl > 0 ? (uint64_t)min_ttl * 1000 : 0;
        if (ttl_ms < NODE_DNS_MIN_TTL_MS)
            ttl_ms = NODE_DNS_MIN_TTL_MS;
        for (struct ares_addrinfo_node *ai = res->nodes; ai && n < NODE_DNS_MAX_ADDRS; ai = ai->ai_next) {
            if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
                sock_addr_from_v4(&addrs[n++], (const uint8_t *)&sin->sin_addr, 0);
            } else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ai->ai_addr;
                sock_addr_from_v6(&addrs[n++], (const uint8_t *)&sin6->sin6_addr, 0);
            }
        }
        if (n == 0)
            rc = ERR_NOT_FOUND;
    }
    if (res)
        ares_freeaddrinfo(res);
    if (!q->d->destroying)
        cache_put(q->d, q->name, q->family, rc, addrs, rc == 0 ? n : 0, ttl_ms);
    if (q->starting && !q->d->destroying) {
        q->deferred = true;
        q->status = rc;
        if (rc == 0) {
            q->addrs = malloc(n * sizeof(*q->addrs));
            if (q->addrs == NULL)
                q->status = ERR_NOMEM;
            else
                memcpy(q->addrs, addrs, n * sizeof(*q->addrs));
            q->n_addrs = q->addrs ? n : 0;
        }
        loop_soon(q->d->loop, &q->task);
        return;
    }
    finish(q, rc, rc == 0 ? addrs : NULL, rc == 0 ? n : 0);
}

static void on_task(struct loop *loop, struct loop_task *task)
{
    struct node_dns_query *q = container_of(task, struct node_dns_query, task);
    if (q->deferred) {
        struct sock_addr *addrs = q->addrs;
        finish(q, q->status, addrs, q->n_addrs);
        free(addrs);
        return;
    }
    bool ok = q->family == AF_UNSPEC || q->family == sock_addr_family(&q->addr);
    struct sock_addr a = q->addr;
    finish(q, ok ? 0 : ERR_NOT_FOUND, ok ? &a : NULL, ok ? 1 : 0);
}

/* "1.1.1.1" -> "1.1.1.1", "2606::1" -> "[2606::1]:53", "x:53" / "[v6]:53" as given. */
static int append_server(char *csv, size_t cap, size_t *len, const char *s)
{
    uint8_t b[16];
    bool bare6 = inet_pton(AF_INET6, s, b) == 1;
    int n = snprintf(csv + *len, cap - *len, "%s%s%s%s", *len ? "," : "", bare6 ? "[" : "", s, bare6 ? "]:53" : "");
    if (n < 0 || (size_t)n >= cap - *len)
        return ERR_TOO_LONG;
    *len += (size_t)n;
    return 0;
}

struct node_dns *node_dns_new(struct loop *loop, const struct node_dns_opts *o)
{
    pthread_once(&lib_once, lib_init);
    if (lib_status != ARES_SUCCESS)
        return NULL;
    struct node_dns *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->loop = loop;
    loop_timer_init(&d->timer, on_timer);

    size_t entries = o && o->cache_entries ? o->cache_entries : 4096;
    if (entries != SIZE_MAX) {
        d->cache_cap = 16;
        while (d->cache_cap < entries && d->cache_cap < ((size_t)1 << 20))
            d->cache_cap *= 2;
        d->cache = calloc(d->cache_cap, sizeof(*d->cache));
        if (d->cache == NULL) {
            free(d);
            return NULL;
        }
    }
    d->max_ttl_ms = o && o->cache_max_ttl_ms ? o->cache_max_ttl_ms : 600000;
    uint32_t budget = o && o->timeout_ms ? o->timeout_ms : 5000;
    struct ares_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
    opts.timeout = (int)(budget / 3 > 100 ? budget / 3 : 100); /* c-ares doubles it on the retry */
    opts.tries = 2;
    opts.ndots = 1;
    opts.lookups = (char *)"b"; /* DNS only: no /etc/hosts */
    opts.sock_state_cb = sock_state_cb;
    opts.sock_state_cb_data = d;
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS | ARES_OPT_LOOKUPS |
               ARES_OPT_SOCK_STATE_CB;
    if (ares_init_options(&d->channel, &opts, mask) != ARES_SUCCESS) {
        cache_free(d);
        free(d);
        return NULL;
    }
    if (o && o->n_servers) {
        char csv[1024];
        size_t len = 0;
        csv[0] = '\0';
        for (size_t i = 0; i < o->n_servers; i++) {
            if (append_server(csv, sizeof(csv), &len, o->servers[i]) < 0) {
                node_dns_free(d);
                return NULL;
            }
        }
        if (ares_set_servers_ports_csv(d->channel, csv) != ARES_SUCCESS) {
            node_dns_free(d);
            return NULL;
        }
    }
    return d;
}

void node_dns_free(struct node_dns *d)
{
    if (d == NULL)
        return;
    d->destroying = true;
    /* Answers still queued as tasks are ours to cancel. */
    for (struct node_dns_query *q = d->queries, *next; q; q = next) {
        next = q->next;
        if (q->literal || q->deferred) {
            loop_task_cancel(d->loop, &q->task);
            query_unlink(d, q);
            free(q->addrs);
            free(q);
        }
    }
    ares_destroy(d->channel); /* calls the remaining on_addrinfo with ARES_EDESTRUCTION */
    loop_timer_stop(d->loop, &d->timer);
    for (size_t i = 0; i < d->n_socks; i++) {
        if (d->socks[i]->used)
            loop_io_stop(d->loop, &d->socks[i]->io);
        free(d->socks[i]);
    }
    free(d->socks);
    cache_free(d);
    free(d);
}

/* "localhost", "x.localhost" (RFC 6761 §6.3), with or without the final dot. */
static bool is_localhost(const char *name, size_t len)
{
    if (len && name[len - 1] == '.')
        len--;
    static const char lh[] = "localhost";
    size_t n = sizeof(lh) - 1;
    if (len < n || strncasecmp(name + len - n, lh, n) != 0)
        return false;
    return len == n || name[len - n - 1] == '.';
}

/* Loopback answers without a query (the resolver reads no /etc/hosts), delivered next iteration. */
static void answer_localhost(struct node_dns_query *q)
{
    static const uint8_t v4[4] = {127, 0, 0, 1};
    static const uint8_t v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    q->deferred = true;
    q->addrs = calloc(2, sizeof(*q->addrs));
    if (q->addrs == NULL) {
        q->status = ERR_NOMEM;
    } else {
        if (q->family != AF_INET6)
            sock_addr_from_v4(&q->addrs[q->n_addrs++], v4, 0);
        if (q->family != AF_INET)
            sock_addr_from_v6(&q->addrs[q->n_addrs++], v6, 0);
    }
    loop_soon(q->d->loop, &q->task);
}

int node_dns_resolve(struct node_dns *d, const char *name, int family, node_dns_cb *cb, void *arg,
                     struct node_dns_query **qout)
{
    size_t len = strlen(name);
    if (len == 0 || len > SOCK_HOST_MAX)
        return ERR_MALFORMED;
    if (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC)
        return ERR_MALFORMED;
    struct node_dns_query *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return ERR_NOMEM;
    q->d = d;
    q->cb = cb;
    q->arg = arg;
    q->family = family;
    loop_task_init(&q->task, on_task);
    query_link(d, q);
    if (qout)
        *qout = q;
    if (sock_addr_from_ip(&q->addr, name, 0) == 0) {
        q->literal = true;
        loop_soon(d->loop, &q->task);
        return 0;
    }
    if (is_localhost(name, len)) {
        answer_localhost(q);
        return 0;
    }
    for (size_t i = 0; i <= len; i++)
        q->name[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    const struct cache_entry *e = cache_get(d, q->name, family);
    if (e) {
        atomic_fetch_add_explicit(&d->hits, 1, memory_order_relaxed);
        q->deferred = true;
        q->status = e->status;
        q->addrs = e->n ? calloc(e->n, sizeof(*q->addrs)) : NULL;
        if (e->n && q->addrs == NULL)
            q->status = ERR_NOMEM;
        for (size_t i = 0; q->addrs && i < e->n; i++) {
            if (e->a[i].v6)
                sock_addr_from_v6(&q->addrs[i], e->a[i].ip, 0);
            else
                sock_addr_from_v4(&q->addrs[i], e->a[i].ip, 0);
        }
        q->n_addrs = q->addrs ? e->n : 0;
        loop_soon(d->loop, &q->task);
        return 0;
    }
    atomic_fetch_add_explicit(&d->queries_sent, 1, memory_order_relaxed);
    struct ares_addrinfo_hints hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = ARES_AI_NOSORT;
    q->starting = true;
    ares_getaddrinfo(d->channel, name, NULL, &hints, on_addrinfo, q);
    q->starting = false;
    update_timer(d);
    return 0;
}

void node_dns_cancel(struct node_dns_query *q)
{
    if (q->literal || q->deferred) {
        loop_task_cancel(q->d->loop, &q->task);
        query_unlink(q->d, q);
        free(q->addrs);
        free(q);
        return;
    }
    q->cb = NULL; /* freed when c-ares reports it */
}

size_t node_dns_pending(const struct node_dns *d)
{
    return d->pending;
}

uint64_t node_dns_cache_hits(const struct node_dns *d)
{
    return atomic_load_explicit(&d->hits, memory_order_relaxed);
}

uint64_t node_dns_queries(const struct node_dns *d)
{
    return atomic_load_explicit(&d->queries_sent, memory_order_relaxed);
}
