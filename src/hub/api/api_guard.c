/* The connection guard (api_guard.h): a list of open connections under one mutex, checked at
 * accept, at open and by a watchdog thread four times a second. */
#include "hub/api/api_guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define GUARD_TICK_MS 250
#define GUARD_LOG_EVERY_MS 10000 /* closings are summed up in one log line at most this often */

struct guard_conn {
    struct guard_conn *prev, *next;
    int fd;
    uint8_t family, addr[16];
    bool in_request; /* waiting for (the rest of) a request: the deadline runs */
    bool closing;    /* shut down by us; libmicrohttpd has not freed it yet */
    int64_t since_ms;
};

struct api_guard {
    struct api_conn_limits lim;
    const struct client_ip_net *trusted;
    size_t n_trusted;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t watchdog;
    bool stop;
    struct guard_conn head; /* circular list sentinel */
    size_t open, closing;
    uint64_t n_deadline, n_evicted, n_refused; /* since the last log line */
    int64_t logged_ms;
};

struct api_conn_limits api_conn_limits_effective(const struct api_conn_limits *in)
{
    struct api_conn_limits l = in ? *in : (struct api_conn_limits){0};
    if (l.max_connections == 0)
        l.max_connections = 1024;
    if (l.per_ip == 0)
        l.per_ip = 256; /* room for a busy client's parallel requests and closing sockets */
    if (l.reserve == 0)
        l.reserve = l.max_connections / 8 ? l.max_connections / 8 : 1;
    if (l.reserve >= l.max_connections)
        l.reserve = l.max_connections / 2;
    if (l.request_timeout == 0)
        l.request_timeout = 30;
    if (l.idle_timeout == 0)
        l.idle_timeout = 15;
    return l;
}

/* Family and address bytes of a peer; IPv4-mapped IPv6 counts as IPv4. */
static bool addr_of(const struct sockaddr *sa, uint8_t *family, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        *family = 4;
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const uint8_t *a6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a6, mapped, 12) == 0) {
        memcpy(addr, a6 + 12, 4);
        *family = 4;
    } else {
        memcpy(addr, a6, 16);
        *family = 6;
    }
    return true;
}

static bool is_trusted(const struct api_guard *g, uint8_t family, const uint8_t addr[16])
{
    if (g->n_trusted == 0)
        return false;
    char text[CLIENT_IP_MAX];
    if (inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, text, sizeof text) == NULL)
        return false;
    return client_ip_in_nets(text, g->trusted, g->n_trusted);
}

/* Shuts the socket down (mu held): the connection stays listed until libmicrohttpd, seeing EOF,
 * reports it closed, which happens before it closes the descriptor. */
static void close_conn(struct api_guard *g, struct guard_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    g->closing++;
    shutdown(c->fd, SHUT_RDWR);
}

/* Keeps `reserve` slots free by closing the oldest unfinished requests. No minimum age: new
 * connections queue in the kernel behind the attacker's, so slots must turn over as fast as
 * they are taken; a quick request finishes long before it could be the oldest. */
static void keep_reserve(struct api_guard *g)
{
    size_t room = g->lim.max_connections - g->lim.reserve;
    while (g->open - g->closing > room) {
        struct guard_conn *oldest = NULL;
        for (struct guard_conn *c = g->head.next; c != &g->head; c = c->next)
            if (c->in_request && !c->closing && (oldest == NULL || c->since_ms < oldest->since_ms))
                oldest = c;
        if (oldest == NULL)
            return; /* all busy with real work: nothing to shed */
        close_conn(g, oldest);
        g->n_evicted++;
    }
}

static void tick(struct api_guard *g, int64_t now)
{
    int64_t deadline = (int64_t)g->lim.request_timeout * 1000;
    for (struct guard_conn *c = g->head.next; c != &g->head; c = c->next) {
        if (c->in_request && !c->closing && now - c->since_ms >= deadline) {
            close_conn(g, c);
            g->n_deadline++;
        }
    }
    keep_reserve(g);
    if ((g->n_deadline || g->n_evicted || g->n_refused) && now - g->logged_ms >= GUARD_LOG_EVERY_MS) {
        log_warn("api", 0, "slow_clients_closed", LF_UINT("deadline", g->n_deadline), LF_UINT("evicted", g->n_evicted),
                 LF_UINT("refused_per_ip", g->n_refused), LF_UINT("open", g->open),
                 LF_UINT("request_timeout", g->lim.request_timeout));
        g->n_deadline = g->n_evicted = g->n_refused = 0;
        g->logged_ms = now;
    }
}

static void *watchdog_main(void *arg)
{
    struct api_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts = clock_after_ms(CLOCK_MONOTONIC, GUARD_TICK_MS);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (!g->stop)
            tick(g, (int64_t)clock_mono_ms());
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int api_guard_start(const struct api_conn_limits *lim, const struct client_ip_net *trusted, size_t n,
                    struct api_guard **out)
{
    *out = NULL;
    struct api_guard *g = calloc(1, sizeof *g);
    if (g == NULL)
        return ERR_NOMEM;
    g->lim = api_conn_limits_effective(lim);
    g->trusted = trusted;
    g->n_trusted = trusted ? n : 0;
    g->head.next = g->head.prev = &g->head;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&g->watchdog, NULL, watchdog_main, g);
    if (rc != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return -rc;
    }
    *out = g;
    return 0;
}

void api_guard_stop(struct api_guard *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->watchdog, NULL);
    while (g->head.next != &g->head) { /* none after MHD_stop_daemon; kept safe anyway */
        struct guard_conn *c = g->head.next;
        c->prev->next = c->next;
        c->next->prev = c->prev;
        free(c);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

bool api_guard_accept(struct api_guard *g, const struct sockaddr *addr, socklen_t len)
{
    (void)len;
    uint8_t fam, a[16];
    if (!addr_of(addr, &fam, a) || is_trusted(g, fam, a))
        return true;
    pthread_mutex_lock(&g->mu);
    size_t same = 0;
    for (struct guard_conn *c = g->head.next; c != &g->head; c = c->next)
        if (!c->closing && c->family == fam && memcmp(c->addr, a, 16) == 0)
            same++;
    bool ok = same < g->lim.per_ip;
    if (!ok)
        g->n_refused++;
    pthread_mutex_unlock(&g->mu);
    return ok;
}

void api_guard_opened(struct api_guard *g, struct MHD_Connection *conn, void **socket_context)
{
    *socket_context = NULL;
    struct guard_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return; /* untracked: it still has libmicrohttpd's idle timeout */
    const union MHD_ConnectionInfo *fi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    c->fd = fi ? fi->connect_fd : -1;
    if (c->fd < 0 || ai == NULL || !addr_of(ai->client_addr, &c->family, c->addr)) {
        free(c);
        return;
    }
    c->in_request = true;
    c->since_ms = (int64_t)clock_mono_ms();
    pthread_mutex_lock(&g->mu);
    c->next = &g->head;
    c->prev = g->head.prev;
    g->head.prev->next = c;
    g->head.prev = c;
    g->open++;
    keep_reserve(g);
    pthread_mutex_unlock(&g->mu);
    *socket_context = c;
}

static struct guard_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void api_guard_request_received(struct api_guard *g, struct MHD_Connection *conn)
{
    struct guard_conn *c = conn_of(conn);
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    c->in_request = false;
    pthread_mutex_unlock(&g->mu);
}

void api_guard_request_finished(struct api_guard *g, struct MHD_Connection *conn)
{
    struct guard_conn *c = conn_of(conn);
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    c->in_request = true;
    c->since_ms = (int64_t)clock_mono_ms();
    pthread_mutex_unlock(&g->mu);
}

void api_guard_closed(struct api_guard *g, void **socket_context)
{
    struct guard_conn *c = *socket_context;
    if (c == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    c->prev->next = c->next;
    c->next->prev = c->prev;
    g->open--;
    if (c->closing)
        g->closing--;
    pthread_mutex_unlock(&g->mu);
    free(c);
    *socket_context = NULL;
}
