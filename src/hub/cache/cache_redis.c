#include "hub/cache/cache_redis.h"
#include "net/redis_dial.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define POOL_MAX 64
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define LOG_EVERY_MS 10000

struct hcredis {
    struct redis_url u;
    struct timeval tv;
    char gen_key[160];
    void (*on_down)(void *arg);
    void *arg;
    pthread_mutex_t mu; /* guards idle and n_open */
    redisContext *idle[POOL_MAX];
    size_t n_idle, n_open, pool;
    _Atomic int64_t retry_at_ms; /* monotonic: no attempts before this while down */
    _Atomic int64_t backoff_ms;
    _Atomic bool down;
    _Atomic int64_t last_log_ms;
    _Atomic uint64_t suppressed;
    /* generation watcher */
    pthread_t watch_th;
    bool watch_started;
    _Atomic bool watch_stop, watching;
    _Atomic uint64_t watch_gen, watch_session;
};

/* At most one warning per LOG_EVERY_MS; the rest are counted and reported with the next one. */
static void warn_limited(struct hcredis *r, const char *event, const char *why)
{
    int64_t now = (int64_t)clock_mono_ms(), last = atomic_load(&r->last_log_ms);
    if (now - last < LOG_EVERY_MS || !atomic_compare_exchange_strong(&r->last_log_ms, &last, now)) {
        atomic_fetch_add(&r->suppressed, 1);
        return;
    }
    log_warn("cache", 0, event, LF_STR("why", why), LF_UINT("suppressed", atomic_exchange(&r->suppressed, 0)),
             LF_INT("retry_ms", atomic_load(&r->backoff_ms)));
}

int hcredis_new(const struct redis_url *u, unsigned timeout_ms, unsigned pool, const char *gen_key,
                void (*on_down)(void *arg), void *arg, struct hcredis **out)
{
    struct hcredis *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ERR_NOMEM;
    r->u = *u;
    unsigned t = timeout_ms ? timeout_ms : 250;
    r->tv.tv_sec = t / 1000;
    r->tv.tv_usec = (suseconds_t)(t % 1000) * 1000;
    snprintf(r->gen_key, sizeof r->gen_key, "%s", gen_key);
    r->on_down = on_down;
    r->arg = arg;
    r->pool = pool == 0 ? 8 : pool > POOL_MAX ? POOL_MAX : pool;
    pthread_mutex_init(&r->mu, NULL);
    atomic_store(&r->backoff_ms, BACKOFF_MIN_MS);
    atomic_store(&r->last_log_ms, -LOG_EVERY_MS);
    *out = r;
    return 0;
}

void hcredis_free(struct hcredis *r)
{
    if (r == NULL)
        return;
    if (r->watch_started) {
        atomic_store(&r->watch_stop, true);
        pthread_join(r->watch_th, NULL);
    }
    for (size_t i = 0; i < r->n_idle; i++)
        redisFree(r->idle[i]);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

bool hcredis_up(const struct hcredis *r)
{
    return !atomic_load(&r->down);
}

static void mark_down(struct hcredis *r, const char *why)
{
    int64_t b = atomic_load(&r->backoff_ms);
    atomic_store(&r->retry_at_ms, (int64_t)clock_mono_ms() + b);
    atomic_store(&r->backoff_ms, b * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b * 2);
    /* Pooled connections are as dead as this one (a restarted server dropped them all). */
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n_idle; i++)
        redisFree(r->idle[i]);
    r->n_open -= r->n_idle;
    r->n_idle = 0;
    pthread_mutex_unlock(&r->mu);
    if (!atomic_exchange(&r->down, true) && r->on_down)
        r->on_down(r->arg);
    warn_limited(r, "redis_unavailable", why);
}

static redisReply *run_argv(redisContext *ctx, int argc, const char **argv, const size_t *lens)
{
    return redisCommandArgv(ctx, argc, argv, lens);
}

/* A connection that has authenticated and selected its database, or NULL (marked down). With
 * sentinel:// the sentinels name the master, so a dial after a failover reaches the new one. */
static redisContext *dial(struct hcredis *r)
{
    char why[300];
    redisContext *ctx = redis_dial(&r->u, r->tv, why, sizeof why);
    if (ctx == NULL)
        mark_down(r, why);
    return ctx;
}

/* A pooled or new connection; NULL while backing off or when none can be made. */
static redisContext *acquire(struct hcredis *r)
{
    if (atomic_load(&r->down) && (int64_t)clock_mono_ms() < atomic_load(&r->retry_at_ms))
        return NULL;
    pthread_mutex_lock(&r->mu);
    if (r->n_idle > 0) {
        redisContext *ctx = r->idle[--r->n_idle];
        pthread_mutex_unlock(&r->mu);
        return ctx;
    }
    if (r->n_open >= r->pool) {
        pthread_mutex_unlock(&r->mu);
        return NULL; /* every connection busy: this call uses the fallback */
    }
    r->n_open++;
    pthread_mutex_unlock(&r->mu);
    redisContext *ctx = dial(r);
    if (ctx == NULL) {
        pthread_mutex_lock(&r->mu);
        r->n_open--;
        pthread_mutex_unlock(&r->mu);
    }
    return ctx;
}

static const char GEN_BUMP[] = "local g = redis.call('INCR', KEYS[1])\n"
                               "redis.call('PUBLISH', KEYS[1], g) return g";

static redisReply *gen_bump_on(struct hcredis *r, redisContext *ctx)
{
    const char *av[4] = {"EVAL", GEN_BUMP, "1", r->gen_key};
    size_t al[4] = {4, sizeof GEN_BUMP - 1, 1, strlen(r->gen_key)};
    return run_argv(ctx, 4, av, al);
}

static void recovered(struct hcredis *r, redisContext *ctx)
{
    if (!atomic_load(&r->down) || !atomic_exchange(&r->down, false))
        return;
    atomic_store(&r->backoff_ms, BACKOFF_MIN_MS);
    /* Changes made while Redis was away did not bump its counter: do it now. */
    freeReplyObject(gen_bump_on(r, ctx));
    log_info("cache", 0, "redis_available", LF_UINT("suppressed", atomic_exchange(&r->suppressed, 0)));
}

/* Returns the connection after a call: kept when it still works, else closed (and Redis marked
 * down when the failure was the connection's). */
static void release(struct hcredis *r, redisContext *ctx, bool conn_ok)
{
    if (conn_ok) {
        recovered(r, ctx);
        pthread_mutex_lock(&r->mu);
        r->idle[r->n_idle++] = ctx;
        pthread_mutex_unlock(&r->mu);
        return;
    }
    char why[160];
    snprintf(why, sizeof why, "%s", ctx->errstr[0] ? ctx->errstr : "connection error");
    redisFree(ctx);
    pthread_mutex_lock(&r->mu);
    r->n_open--;
    pthread_mutex_unlock(&r->mu);
    mark_down(r, why);
}

/* One command: the reply (caller frees) or NULL with ERR_IO. Error replies count as failures
 * but keep the connection. */
static int call(struct hcredis *r, int argc, const char **argv, const size_t *lens, redisReply **out)
{
    *out = NULL;
    redisContext *ctx = acquire(r);
    if (ctx == NULL)
        return ERR_IO;
    redisReply *rep = run_argv(ctx, argc, argv, lens);
    if (rep == NULL) {
        release(r, ctx, false);
        return ERR_IO;
    }
    if (redis_reply_not_master(rep)) {
        /* A master turned replica (failover): drop the connection, the next dial asks the sentinels. */
        snprintf(ctx->errstr, sizeof ctx->errstr, "%.100s", rep->str);
        freeReplyObject(rep);
        release(r, ctx, false);
        return ERR_IO;
    }
    release(r, ctx, true);
    if (rep->type == REDIS_REPLY_ERROR) {
        warn_limited(r, "redis_error", rep->str);
        freeReplyObject(rep);
        return ERR_IO;
    }
    *out = rep;
    return 0;
}

static int copy_str(const redisReply *rep, char **val, size_t *len)
{
    *val = NULL;
    *len = 0;
    if (rep->type != REDIS_REPLY_STRING)
        return 0;
    char *v = malloc(rep->len + 1);
    if (v == NULL)
        return ERR_NOMEM;
    memcpy(v, rep->str, rep->len);
    v[rep->len] = '\0';
    *val = v;
    *len = rep->len;
    return 0;
}

static const char GEN_GET[] = "local g = redis.call('GET', KEYS[1]) or '0'\n"
                              "return {g, redis.call('GET', ARGV[1] .. g .. ':' .. ARGV[2])}";

int hcredis_gen_get(struct hcredis *r, const char *scope_prefix, const char *key, uint64_t *gen, char **val,
                    size_t *len)
{
    *val = NULL;
    *len = 0;
    const char *av[6] = {"EVAL", GEN_GET, "1", r->gen_key, scope_prefix, key};
    size_t al[6] = {4, sizeof GEN_GET - 1, 1, strlen(r->gen_key), strlen(scope_prefix), strlen(key)};
    redisReply *rep;
    TRY(call(r, 6, av, al, &rep));
    int rc = ERR_IO;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 && rep->element[0]->type == REDIS_REPLY_STRING) {
        *gen = strtoull(rep->element[0]->str, NULL, 10);
        rc = rep->elements >= 2 ? copy_str(rep->element[1], val, len) : 0;
    }
    freeReplyObject(rep);
    return rc;
}

int hcredis_get(struct hcredis *r, const char *key, char **val, size_t *len)
{
    const char *av[2] = {"GET", key};
    size_t al[2] = {3, strlen(key)};
    redisReply *rep;
    TRY(call(r, 2, av, al, &rep));
    int rc = copy_str(rep, val, len);
    freeReplyObject(rep);
    return rc;
}

int hcredis_set(struct hcredis *r, const char *key, const void *val, size_t len, int64_t ttl_ms)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    const char *av[5] = {"SET", key, val, "PX", ttl};
    size_t al[5] = {3, strlen(key), len, 2, strlen(ttl)};
    redisReply *rep;
    TRY(call(r, 5, av, al, &rep));
    freeReplyObject(rep);
    return 0;
}

int hcredis_incr(struct hcredis *r, const char *key, uint64_t *out)
{
    const char *av[2] = {"INCR", key};
    size_t al[2] = {4, strlen(key)};
    redisReply *rep;
    TRY(call(r, 2, av, al, &rep));
    int rc = rep->type == REDIS_REPLY_INTEGER ? 0 : ERR_IO;
    if (out != NULL)
        *out = (uint64_t)rep->integer;
    freeReplyObject(rep);
    return rc;
}

int hcredis_hit(struct hcredis *r, const char *key, int64_t ttl_ms, uint64_t *count)
{
    redisContext *ctx = acquire(r);
    if (ctx == NULL)
        return ERR_IO;
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    const char *a1[2] = {"INCR", key}, *a2[3] = {"PEXPIRE", key, ttl};
    size_t l1[2] = {4, strlen(key)}, l2[3] = {7, strlen(key), strlen(ttl)};
    redisReply *r1 = NULL, *r2 = NULL;
    bool ok = redisAppendCommandArgv(ctx, 2, a1, l1) == REDIS_OK &&
              redisAppendCommandArgv(ctx, 3, a2, l2) == REDIS_OK && redisGetReply(ctx, (void **)&r1) == REDIS_OK &&
              redisGetReply(ctx, (void **)&r2) == REDIS_OK;
    release(r, ctx, ok);
    int rc = ERR_IO;
    if (ok && r1 != NULL && r1->type == REDIS_REPLY_INTEGER) {
        *count = (uint64_t)r1->integer;
        rc = 0;
    }
    freeReplyObject(r1);
    freeReplyObject(r2);
    return rc;
}

static const char RENEW[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                            "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1\n"
                            "end return 0";
static const char UNLOCK[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                             "  return redis.call('DEL', KEYS[1])\n"
                             "end return 0";

int hcredis_lock(struct hcredis *r, const char *key, const char *holder, int64_t ttl_ms, bool *held)
{
    *held = false;
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    const char *av[6] = {"SET", key, holder, "NX", "PX", ttl};
    size_t al[6] = {3, strlen(key), strlen(holder), 2, 2, strlen(ttl)};
    redisReply *rep;
    TRY(call(r, 6, av, al, &rep));
    bool got = rep->type == REDIS_REPLY_STATUS;
    freeReplyObject(rep);
    if (got) {
        *held = true;
        return 0;
    }
    const char *bv[5] = {"EVAL", RENEW, "1", key, holder};
    size_t bl[5] = {4, sizeof RENEW - 1, 1, strlen(key), strlen(holder)};
    const char *cv[6] = {bv[0], bv[1], bv[2], bv[3], bv[4], ttl};
    size_t cl[6] = {bl[0], bl[1], bl[2], bl[3], bl[4], strlen(ttl)};
    TRY(call(r, 6, cv, cl, &rep));
    *held = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    return 0;
}

int hcredis_unlock(struct hcredis *r, const char *key, const char *holder)
{
    const char *av[5] = {"EVAL", UNLOCK, "1", key, holder};
    size_t al[5] = {4, sizeof UNLOCK - 1, 1, strlen(key), strlen(holder)};
    redisReply *rep;
    TRY(call(r, 5, av, al, &rep));
    freeReplyObject(rep);
    return 0;
}

static void raise_gen(struct hcredis *r, uint64_t g)
{
    uint64_t cur = atomic_load(&r->watch_gen);
    while (g > cur && !atomic_compare_exchange_weak(&r->watch_gen, &cur, g)) {
    }
}

int hcredis_gen_bump(struct hcredis *r)
{
    const char *av[4] = {"EVAL", GEN_BUMP, "1", r->gen_key};
    size_t al[4] = {4, sizeof GEN_BUMP - 1, 1, strlen(r->gen_key)};
    redisReply *rep;
    TRY(call(r, 4, av, al, &rep));
    /* This hub's own next request must not wait for the message to come back. */
    if (rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
        raise_gen(r, (uint64_t)rep->integer);
    freeReplyObject(rep);
    return 0;
}

bool hcredis_watch_gen(struct hcredis *r, uint64_t *gen, uint64_t *session)
{
    if (!atomic_load(&r->watching) || atomic_load(&r->down))
        return false;
    *session = atomic_load(&r->watch_session);
    *gen = atomic_load(&r->watch_gen);
    return true;
}

static void sleep_unless_stopped(struct hcredis *r, int64_t ms)
{
    for (int64_t t = 0; t < ms && !atomic_load(&r->watch_stop); t += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Applies the replies buffered in ctx; false on a protocol error. */
static bool drain(struct hcredis *r, redisContext *ctx, int64_t *last_rx)
{
    void *rp = NULL;
    for (;;) {
        if (redisGetReplyFromReader(ctx, &rp) != REDIS_OK)
            return false;
        if (rp == NULL)
            return true;
        redisReply *m = rp;
        *last_rx = (int64_t)clock_mono_ms();
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 && m->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(m->element[0]->str, "message") == 0 && m->element[2]->type == REDIS_REPLY_STRING) {
            raise_gen(r, strtoull(m->element[2]->str, NULL, 10));
        }
        freeReplyObject(m);
    }
}

/* One subscribed session: until the connection breaks, stays silent for 3 s, or stop. */
static void watch_session(struct hcredis *r, redisContext *ctx)
{
    const char *av[2] = {"SUBSCRIBE", r->gen_key};
    size_t al[2] = {9, strlen(r->gen_key)};
    redisReply *rep = run_argv(ctx, 2, av, al);
    bool ok = rep != NULL && rep->type == REDIS_REPLY_ARRAY;
    freeReplyObject(rep);
    /* Subscribed first, then read: no bump can fall between the two. */
    char *val = NULL;
    size_t len;
    if (!ok || hcredis_get(r, r->gen_key, &val, &len) < 0)
        return;
    atomic_fetch_add(&r->watch_session, 1);
    atomic_store(&r->watch_gen, val ? strtoull(val, NULL, 10) : 0);
    free(val);
    atomic_store(&r->watching, true);
    int64_t last_rx = (int64_t)clock_mono_ms(), last_ping = last_rx;
    while (!atomic_load(&r->watch_stop)) {
        if (!drain(r, ctx, &last_rx))
            break;
        struct pollfd p = {.fd = ctx->fd, .events = POLLIN};
        int n = poll(&p, 1, 200);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && redisBufferRead(ctx) != REDIS_OK)
            break;
        int64_t now = (int64_t)clock_mono_ms();
        if (now - last_ping >= 1000) { /* a silent peer is found by unanswered pings */
            int done = 0;
            if (redisAppendCommand(ctx, "PING") != REDIS_OK)
                break;
            while (!done)
                if (redisBufferWrite(ctx, &done) != REDIS_OK)
                    break;
            if (!done)
                break;
            last_ping = now;
        }
        if (now - last_rx > 3000)
            break;
    }
    atomic_store(&r->watching, false);
}

static void *watch_run(void *arg)
{
    struct hcredis *r = arg;
    while (!atomic_load(&r->watch_stop)) {
        redisContext *ctx = NULL;
        if (!atomic_load(&r->down) || (int64_t)clock_mono_ms() >= atomic_load(&r->retry_at_ms))
            ctx = dial(r);
        if (ctx != NULL) {
            watch_session(r, ctx);
            redisFree(ctx);
        }
        sleep_unless_stopped(r, ctx ? BACKOFF_MIN_MS : atomic_load(&r->backoff_ms));
    }
    return NULL;
}

int hcredis_watch_start(struct hcredis *r)
{
    if (r->watch_started)
        return 0;
    if (pthread_create(&r->watch_th, NULL, watch_run, r) != 0)
        return ERR_INTERNAL;
    r->watch_started = true;
    return 0;
}
