/* REALITY target health (node/target_health.h). */
#include "node/target_health.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "node/worker.h"
#include "reality/check.h"
#include "tls13/tls13.h"

#define CHECK_TIMEOUT_MS 5000

struct slot {
    /* workers */
    _Atomic uint64_t dial_ok, dial_failed, rtt_sum, rtt_n, layout, layout_changes;
    /* under `lock`: identity, the last check, what the last push reported */
    char target[SYNC_HOSTPORT_MAX + 1], sni[SYNC_SNI_MAX + 1];
    bool checked;
    struct reality_check_result last;
    int64_t checked_at;
    uint64_t checks_ok, checks_failed;
    uint64_t sent_ok, sent_failed, sent_checks_ok, sent_checks_failed;
};

static struct slot slots[NODE_TARGET_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t load(_Atomic uint64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

void node_target_note_dial(size_t inbound, bool ok)
{
    if (inbound < NODE_TARGET_SLOTS)
        atomic_fetch_add_explicit(ok ? &slots[inbound].dial_ok : &slots[inbound].dial_failed, 1, memory_order_relaxed);
}

void node_target_note_flight(size_t inbound, uint64_t rtt_ms, const struct reality_target_plan *plan)
{
    if (inbound >= NODE_TARGET_SLOTS || plan == NULL)
        return;
    struct slot *s = &slots[inbound];
    atomic_fetch_add_explicit(&s->rtt_sum, rtt_ms, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->rtt_n, 1, memory_order_relaxed);
    uint64_t fp = reality_plan_fingerprint(plan);
    uint64_t was = atomic_exchange_explicit(&s->layout, fp, memory_order_relaxed);
    if (was != 0 && was != fp) /* the target now answers with other record sizes */
        atomic_fetch_add_explicit(&s->layout_changes, 1, memory_order_relaxed);
}

/* What each inbound's target is in the snapshot running now. */
struct target_ref {
    char host[256];
    uint16_t port;
    char target[SYNC_HOSTPORT_MAX + 1], sni[SYNC_SNI_MAX + 1];
};

static size_t current_targets(struct node_runtime *rt, struct target_ref *out)
{
    size_t n = 0;
    pthread_mutex_lock(&rt->lock);
    const struct node_cfg *cfg = rt->snap->cfg;
    for (size_t i = 0; i < cfg->n_inbounds && i < NODE_TARGET_SLOTS; i++) {
        const struct node_inbound *ib = &cfg->inbounds[i];
        struct target_ref *r = &out[n++];
        snprintf(r->host, sizeof(r->host), "%s", ib->target_host ? ib->target_host : "");
        r->port = ib->target_port;
        snprintf(r->target, sizeof(r->target), strchr(r->host, ':') ? "[%s]:%u" : "%s:%u", r->host, (unsigned)r->port);
        snprintf(r->sni, sizeof(r->sni), "%s", ib->n_server_names ? ib->server_names[0] : "");
    }
    pthread_mutex_unlock(&rt->lock);
    return n;
}

/* Under `lock`: a slot whose target changed (a reload, a hub rotation) starts from zero. */
static void follow(const struct target_ref *refs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        if (strcmp(s->target, refs[i].target) == 0 && strcmp(s->sni, refs[i].sni) == 0)
            continue;
        memcpy(s->target, refs[i].target, sizeof(s->target));
        memcpy(s->sni, refs[i].sni, sizeof(s->sni));
        s->checked = false;
        s->checked_at = 0;
        s->checks_ok = s->checks_failed = s->sent_checks_ok = s->sent_checks_failed = 0;
        s->sent_ok = load(&s->dial_ok);
        s->sent_failed = load(&s->dial_failed);
        atomic_store(&s->layout, 0);
    }
}

/* ---- the active check over a blocking socket ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int dial(const char *host, uint16_t port, int64_t deadline)
{
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", (unsigned)port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, ps, &hints, &res) != 0)
        return ERR_NOT_FOUND;
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd == -1)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof(err);
        int64_t left = deadline - mono_ms();
        if (errno != EINPROGRESS || left <= 0 || poll(&pf, 1, (int)left) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1 || err != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd >= 0 ? fd : ERR_IO;
}

static int send_all(int fd, struct buf *b, int64_t deadline)
{
    while (buf_len(b) > 0) {
        ssize_t k = send(fd, buf_data(b), buf_len(b), MSG_NOSIGNAL);
        if (k > 0) {
            buf_consume(b, (size_t)k);
            continue;
        }
        if (k == -1 && errno != EAGAIN && errno != EINTR)
            return -errno;
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int64_t left = deadline - mono_ms();
        if (left <= 0 || poll(&pf, 1, (int)left) == 0)
            return -ETIMEDOUT;
    }
    return 0;
}

static void check_one(const struct target_ref *r, struct reality_check_result *res)
{
    int64_t deadline = mono_ms() + CHECK_TIMEOUT_MS;
    memset(res, 0, sizeof(*res));
    int fd = dial(r->host, r->port, deadline);
    if (fd < 0) {
        res->verdict = REALITY_V_UNREACHABLE;
        return;
    }
    static struct reality_check k; /* one checker thread; large (hybrid key state) */
    struct buf out;
    buf_init(&out);
    uint8_t tmp[16384];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int rc = reality_check_begin(&k, r->sni, true, (uint64_t)now.tv_sec * 1000, &out);
    if (rc == 0)
        rc = send_all(fd, &out, deadline);
    while (rc == 0 && !reality_check_settled(&k)) {
        int64_t left = deadline - mono_ms();
        if (reality_check_tls_done(&k) && left > 1000)
            left = 1000; /* the node's view may want more than the client: a second, then judge */
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
            break;
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n == -1 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        buf_reset(&out);
        if ((rc = reality_check_feed(&k, tmp, (size_t)n, &out)) == 0 && buf_len(&out) > 0)
            (void)send_all(fd, &out, deadline);
    }
    close(fd);
    reality_check_judge(&k, now.tv_sec, res);
    reality_check_dispose(&k);
    buf_dispose(&out);
}

struct node_target_checker {
    struct node_runtime *rt;
    unsigned interval_sec;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
};

static void *checker_run(void *arg)
{
    struct node_target_checker *c = arg;
    for (;;) {
        struct target_ref refs[NODE_TARGET_SLOTS];
        size_t n = current_targets(c->rt, refs);
        pthread_mutex_lock(&lock);
        follow(refs, n);
        pthread_mutex_unlock(&lock);
        for (size_t i = 0; i < n; i++) {
            struct reality_check_result res;
            check_one(&refs[i], &res);
            pthread_mutex_lock(&lock);
            struct slot *s = &slots[i];
            if (strcmp(s->target, refs[i].target) == 0) { /* not swapped meanwhile */
                bool was_ok = s->checked && s->last.verdict == REALITY_V_SUITABLE;
                s->last = res;
                s->checked = true;
                s->checked_at = time(NULL);
                if (res.verdict == REALITY_V_SUITABLE)
                    s->checks_ok++;
                else
                    s->checks_failed++;
                if (res.verdict != REALITY_V_SUITABLE && (was_ok || s->checks_failed == 1))
                    log_warn("node", 0, "target_unsuitable", LF_STR("target", s->target), LF_STR("sni", s->sni),
                             LF_STR("verdict", reality_verdict_code(res.verdict)),
                             LF_STR("why", reality_verdict_text(res.verdict)));
            }
            pthread_mutex_unlock(&lock);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += c->interval_sec;
        pthread_mutex_lock(&c->mu);
        while (!c->stop && pthread_cond_timedwait(&c->cond, &c->mu, &ts) != ETIMEDOUT)
            ;
        bool stop = c->stop;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            return NULL;
    }
}

int node_target_checker_start(struct node_runtime *rt, unsigned interval_sec, struct node_target_checker **out)
{
    *out = NULL;
    if (interval_sec == 0)
        return 0;
    struct node_target_checker *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ERR_NOMEM;
    c->rt = rt;
    c->interval_sec = interval_sec;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pthread_create(&c->thread, NULL, checker_run, c) != 0) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cond);
        free(c);
        return ERR_NOMEM;
    }
    *out = c;
    return 0;
}

void node_target_checker_stop(struct node_target_checker *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}

/* ---- reports ---- */

static const char *group_name(uint16_t g)
{
    return g == TLS13_GROUP_X25519MLKEM768 ? "X25519MLKEM768" : g == TLS13_GROUP_X25519 ? "X25519" : g ? "other" : "";
}

/* Under `lock`: the verdict the node stands by: the last check's, else "down" when client dials
 * only fail, else "unknown". */
static const char *verdict_of(struct slot *s)
{
    if (s->checked)
        return reality_verdict_code(s->last.verdict);
    return load(&s->dial_failed) > s->sent_failed && load(&s->dial_ok) == s->sent_ok ? "down" : "unknown";
}

void node_target_health_fill(struct node_runtime *rt, struct sync_health *h)
{
    struct target_ref refs[NODE_TARGET_SLOTS];
    size_t n = current_targets(rt, refs);
    pthread_mutex_lock(&lock);
    follow(refs, n);
    h->n_targets = n;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        struct sync_target_health *t = &h->targets[i];
        memset(t, 0, sizeof(*t));
        memcpy(t->target, s->target, sizeof(t->target));
        memcpy(t->sni, s->sni, sizeof(t->sni));
        snprintf(t->verdict, sizeof(t->verdict), "%s", verdict_of(s));
        uint64_t ok = load(&s->dial_ok), failed = load(&s->dial_failed), rn = load(&s->rtt_n);
        t->dial_ok = ok - s->sent_ok;
        t->dial_failed = failed - s->sent_failed;
        t->checks_ok = s->checks_ok - s->sent_checks_ok;
        t->checks_failed = s->checks_failed - s->sent_checks_failed;
        s->sent_ok = ok;
        s->sent_failed = failed;
        s->sent_checks_ok = s->checks_ok;
        s->sent_checks_failed = s->checks_failed;
        t->rtt_ms = rn ? load(&s->rtt_sum) / rn : 0;
        t->layout_changes = load(&s->layout_changes);
        if (s->checked) {
            t->tls13 = s->last.tls13;
            snprintf(t->group, sizeof(t->group), "%s", group_name(s->last.group));
            t->cert_not_after = s->last.cert_not_after > 0 ? (uint64_t)s->last.cert_not_after : 0;
            t->cert_names_sni = s->last.cert_names_sni;
            t->checked_at = (uint64_t)s->checked_at;
        }
    }
    pthread_mutex_unlock(&lock);
}

/* ---- /metrics ---- */

struct target_metrics {
    struct node_runtime *rt;
    struct metrics_family *dials, *checks, *verdict, *rtt, *expiry, *layout;
};

static void add_total(struct metrics_family *f, const char *const *labels, uint64_t v)
{
    struct metrics_series *x = metrics_series(f, labels);
    if (x != NULL && v)
        metrics_add(x, v);
}

static void set_gauge(struct metrics_family *f, const char *const *labels, int64_t v)
{
    struct metrics_series *x = metrics_series(f, labels);
    if (x != NULL)
        metrics_set(x, v);
}

static void collect(struct metrics_family *f, void *arg)
{
    struct target_metrics *m = arg;
    if (f != m->dials)
        return; /* one refresh per scrape */
    struct target_ref refs[NODE_TARGET_SLOTS];
    size_t n = current_targets(m->rt, refs);
    struct metrics_family *all[] = {m->dials, m->checks, m->verdict, m->rtt, m->expiry, m->layout};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        metrics_family_clear(all[i]); /* a rotated target's series go away */
    pthread_mutex_lock(&lock);
    follow(refs, n);
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        const char *ok[] = {s->target, "ok"}, *failed[] = {s->target, "failed"};
        add_total(m->dials, ok, load(&s->dial_ok));
        add_total(m->dials, failed, load(&s->dial_failed));
        const char *cs[] = {s->target, "suitable"}, *cu[] = {s->target, "unsuitable"};
        add_total(m->checks, cs, s->checks_ok);
        add_total(m->checks, cu, s->checks_failed);
        const char *v[] = {s->target, s->sni, verdict_of(s)};
        set_gauge(m->verdict, v, 1);
        const char *t[] = {s->target};
        uint64_t rn = load(&s->rtt_n);
        if (rn)
            set_gauge(m->rtt, t, (int64_t)(load(&s->rtt_sum) / rn));
        if (s->checked && s->last.cert_not_after > 0)
            set_gauge(m->expiry, t, s->last.cert_not_after);
        add_total(m->layout, t, load(&s->layout_changes));
    }
    pthread_mutex_unlock(&lock);
}

int node_target_metrics_register(struct metrics_registry *reg, struct node_runtime *rt)
{
    static struct target_metrics m; /* one registry per process */
    static const char *const tr[] = {"target", "result"}, *const tv[] = {"target", "sni", "verdict"},
                             *const t[] = {"target"};
    m.rt = rt;
    m.dials =
        metrics_family_new(reg, METRICS_COUNTER, "veil_node_target_dials_total",
                           "Client connections' dials of the REALITY target.", tr, 2, NULL, 0, 2 * NODE_TARGET_SLOTS);
    m.checks =
        metrics_family_new(reg, METRICS_COUNTER, "veil_node_target_checks_total",
                           "Active checks of the REALITY target by result.", tr, 2, NULL, 0, 2 * NODE_TARGET_SLOTS);
    m.verdict = metrics_family_new(reg, METRICS_GAUGE, "veil_node_target_verdict",
                                   "1 for the current verdict on each REALITY target (suitable, down, no_tls13, ...).",
                                   tv, 3, NULL, 0, NODE_TARGET_SLOTS);
    m.rtt = metrics_family_new(reg, METRICS_GAUGE, "veil_node_target_rtt_ms",
                               "Mean time from the target dial to its ServerHello flight (authenticated clients).", t,
                               1, NULL, 0, NODE_TARGET_SLOTS);
    m.expiry = metrics_family_new(reg, METRICS_GAUGE, "veil_node_target_cert_not_after_seconds",
                                  "Expiry (Unix time) of the target's leaf certificate seen by the last check.", t, 1,
                                  NULL, 0, NODE_TARGET_SLOTS);
    m.layout = metrics_family_new(reg, METRICS_COUNTER, "veil_node_target_layout_changes_total",
                                  "Times the target's flight record layout changed.", t, 1, NULL, 0, NODE_TARGET_SLOTS);
    if (!m.dials || !m.checks || !m.verdict || !m.rtt || !m.expiry || !m.layout)
        return ERR_NOMEM;
    metrics_family_on_collect(m.dials, collect, &m);
    return 0;
}
