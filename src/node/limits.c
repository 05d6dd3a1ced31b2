#include "node/limits.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/lazy_mutex.h"
#include "core/redis_url.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "net/redis_dial.h"

#define LIMITS_BUCKETS 1024u      /* power of two */
#define LIMITS_HS_SLOTS 8u        /* per-IP handshake buckets kept per table bucket */
#define LIMITS_MAX_IPS 256u       /* IPs tracked per user (beyond: admitted, not tracked) */
#define LIMITS_REMOTE_MAX 64u     /* IPs kept from one Redis answer */
#define LIMITS_REMOTE_TTL_MS 5000 /* a Redis answer older than this is ignored (Redis down) */
#define LIMITS_SYNC_TICK_MS 500
#define LIMITS_SYNC_MAX_USERS 4096u /* users synced per tick */

struct limits_ip {
    uint8_t ip[16];
    uint64_t last_ms; /* monotonic */
    uint32_t active;
};

struct limits_dir {
    pthread_mutex_t *mu; /* the entry's bucket lock */
    struct ratelimit rl;
};

struct limits_entry {
    struct limits_entry *next;
    uint8_t key[16];
    uint32_t bucket;
    struct node_user_limits lim;
    uint32_t active; /* tunnels */
    uint32_t refs;   /* tickets */
    uint64_t last_ms;
    bool dirty; /* a new IP not yet told to Redis */
    bool want;  /* an admission waits for this user's set from Redis */
    struct limits_ip *ips;
    size_t n_ips, cap_ips;
    uint8_t (*remote)[16]; /* from Redis */
    size_t n_remote;
    uint64_t remote_ms;
    struct limits_dir dir[RELAY_DIR__COUNT];
};

struct hs_slot {
    uint8_t ip[16];
    bool used;
    struct ratelimit rl;
};

struct limits_bucket {
    pthread_mutex_t mu;
    struct limits_entry *head;
    struct hs_slot hs[LIMITS_HS_SLOTS];
};

struct node_limits {
    struct limits_bucket b[LIMITS_BUCKETS];
    _Atomic uint32_t window_sec, hs_rate, hs_burst;
    _Atomic uint64_t hits[NODE_LIMIT__COUNT];
    _Atomic uint64_t log_ms; /* last refusal logged (rate-limited logging) */
    struct node_probe_guard *probe;
    /* Redis sync */
    char *redis_url;
    struct redis_url url;
    uint32_t timeout_ms;
    pthread_t thread;
    bool has_thread;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stop, wake;
    atomic_bool redis_up;
};

static uint32_t hash16(const uint8_t *p)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

/* IPv4 as v4-mapped IPv6, so both families share one 16-byte form. */
static void ip_key(const struct sock_addr *a, uint8_t out[16])
{
    memset(out, 0, 16);
    if (a->u.sa.sa_family == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a->u.in4.sin_addr, 4);
    } else if (a->u.sa.sa_family == AF_INET6) {
        memcpy(out, &a->u.in6.sin6_addr, 16);
    }
}

static void ip_text(const uint8_t ip[16], char *out, size_t cap)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(ip, mapped, 12) == 0)
        inet_ntop(AF_INET, ip + 12, out, (socklen_t)cap);
    else
        inet_ntop(AF_INET6, ip, out, (socklen_t)cap);
}

static bool ip_parse(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, s, out + 12) == 1) {
        out[10] = out[11] = 0xff;
        return true;
    }
    return inet_pton(AF_INET6, s, out) == 1;
}

const char *node_limit_kind_str(enum node_limit_kind kind)
{
    static const char *const names[NODE_LIMIT__COUNT] = {"device", "connections", "handshake_rate", "probe"};
    return (unsigned)kind < NODE_LIMIT__COUNT ? names[kind] : "unknown";
}

int node_limits_redis_url_check(const char *url, char *err, size_t errlen)
{
    struct redis_url u;
    return redis_url_parse(url, &u, err, errlen);
}

/* ---- table ---- */

static void rate_init(struct limits_entry *e, pthread_mutex_t *mu, uint64_t bps)
{
    uint64_t now = clock_mono_ms();
    for (int d = 0; d < RELAY_DIR__COUNT; d++) {
        e->dir[d].mu = mu;
        /* a quarter second of burst keeps the average within a few percent over seconds */
        ratelimit_init(&e->dir[d].rl, bps, bps / 4, 0, (int64_t)now);
        e->dir[d].rl.capacity = bps / 4 ? bps / 4 : 1;
        e->dir[d].rl.tokens_milli = (int64_t)e->dir[d].rl.capacity * 1000;
    }
}

static struct limits_entry *entry_find(struct limits_bucket *b, const uint8_t key[16])
{
    for (struct limits_entry *e = b->head; e; e = e->next)
        if (memcmp(e->key, key, 16) == 0)
            return e;
    return NULL;
}

static void entry_free(struct limits_entry *e)
{
    free(e->ips);
    free(e->remote);
    free(e);
}

static void prune_ips(struct limits_entry *e, uint64_t now, uint64_t window_ms)
{
    size_t k = 0;
    for (size_t i = 0; i < e->n_ips; i++) {
        if (e->ips[i].active == 0 && now - e->ips[i].last_ms >= window_ms)
            continue;
        e->ips[k++] = e->ips[i];
    }
    e->n_ips = k;
}

/* Drops entries of the bucket nobody holds whose sets are empty (called with the lock held). */
static void sweep_bucket(struct limits_bucket *b, uint64_t now, uint64_t window_ms)
{
    for (struct limits_entry **pp = &b->head; *pp;) {
        struct limits_entry *e = *pp;
        prune_ips(e, now, window_ms);
        if (e->refs == 0 && e->n_ips == 0 && now - e->last_ms >= window_ms) {
            *pp = e->next;
            entry_free(e);
        } else {
            pp = &e->next;
        }
    }
}

static size_t ip_index(const struct limits_entry *e, const uint8_t ip[16])
{
    for (size_t i = 0; i < e->n_ips; i++)
        if (memcmp(e->ips[i].ip, ip, 16) == 0)
            return i;
    return SIZE_MAX;
}

/* Is the last Redis answer recent? (The sync thread's clock may be ahead of a loop's cached one.) */
static bool remote_fresh(const struct limits_entry *e, uint64_t now)
{
    return e->remote_ms != 0 && (now <= e->remote_ms || now - e->remote_ms < LIMITS_REMOTE_TTL_MS);
}

static size_t count_devices(const struct limits_entry *e, uint64_t now)
{
    size_t n = e->n_ips;
    if (e->n_remote && remote_fresh(e, now)) {
        for (size_t r = 0; r < e->n_remote; r++)
            if (ip_index(e, e->remote[r]) == SIZE_MAX)
                n++;
    }
    return n;
}

static bool remote_has(const struct limits_entry *e, const uint8_t ip[16], uint64_t now)
{
    if (!remote_fresh(e, now))
        return false;
    for (size_t r = 0; r < e->n_remote; r++)
        if (memcmp(e->remote[r], ip, 16) == 0)
            return true;
    return false;
}

static void log_refusal(struct node_limits *l, enum node_limit_kind kind, const uint8_t ip[16], uint64_t now)
{
    atomic_fetch_add(&l->hits[kind], 1);
    uint64_t last = atomic_load(&l->log_ms);
    if (now - last < 1000 || !atomic_compare_exchange_strong(&l->log_ms, &last, now))
        return; /* at most one line a second */
    char text[INET6_ADDRSTRLEN];
    ip_text(ip, text, sizeof(text));
    log_warn("limits", 0, "limit_refused", LF_STR("kind", node_limit_kind_str(kind)), LF_STR("ip", text),
             LF_UINT("total", atomic_load(&l->hits[kind])));
}

static void wake_sync(struct node_limits *l)
{
    pthread_mutex_lock(&l->stop_mu);
    l->wake = true;
    pthread_cond_signal(&l->stop_cv);
    pthread_mutex_unlock(&l->stop_mu);
}

int node_limits_admit(struct node_limits *l, const uint8_t key[16], const struct node_user_limits *ul,
                      const struct sock_addr *ip, uint64_t now_ms, bool may_wait, struct node_limits_ticket *t,
                      enum node_limit_kind *kind)
{
    t->e = NULL;
    t->rated = false;
    ip_key(ip, t->ip);
    if (l == NULL)
        return 0;
    if (ul->devices == 0 && ul->max_conns == 0 && ul->bytes_per_sec == 0)
        return 0;
    uint64_t window_ms = (uint64_t)atomic_load(&l->window_sec) * 1000;
    uint32_t bi = hash16(key) & (LIMITS_BUCKETS - 1);
    struct limits_bucket *b = &l->b[bi];
    pthread_mutex_lock(&b->mu);
    struct limits_entry *e = entry_find(b, key);
    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
            pthread_mutex_unlock(&b->mu);
            return 0; /* out of memory: admit rather than refuse a paying user */
        }
        memcpy(e->key, key, 16);
        e->bucket = bi;
        e->lim.bytes_per_sec = ul->bytes_per_sec;
        rate_init(e, &b->mu, ul->bytes_per_sec);
        e->next = b->head;
        b->head = e;
    }
    if (e->lim.bytes_per_sec != ul->bytes_per_sec) /* changed by a reload or the hub */
        rate_init(e, &b->mu, ul->bytes_per_sec);
    e->lim = *ul;
    e->last_ms = now_ms;
    prune_ips(e, now_ms, window_ms);
    int rc = 0;
    bool wake = false;
    size_t at = ip_index(e, t->ip);
    if (ul->max_conns && e->active >= ul->max_conns) {
        *kind = NODE_LIMIT_CONNS;
        rc = ERR_LIMIT;
    } else if (ul->devices && at == SIZE_MAX && !remote_has(e, t->ip, now_ms)) {
        if (may_wait && l->redis_url && atomic_load(&l->redis_up) && !remote_fresh(e, now_ms)) {
            /* a new IP and no recent word from the other nodes: ask Redis first */
            wake = !e->want;
            e->want = true;
            rc = ERR_NEED_MORE;
        } else if (count_devices(e, now_ms) >= ul->devices) {
            *kind = NODE_LIMIT_DEVICE;
            rc = ERR_LIMIT;
        }
    }
    if (rc == 0) {
        if (at == SIZE_MAX && e->n_ips < LIMITS_MAX_IPS) {
            if (e->n_ips == e->cap_ips) {
                size_t cap = e->cap_ips ? 2 * e->cap_ips : 4;
                struct limits_ip *v = realloc(e->ips, cap * sizeof(*v));
                if (v) {
                    e->ips = v;
                    e->cap_ips = cap;
                }
            }
            if (e->n_ips < e->cap_ips) {
                at = e->n_ips++;
                memcpy(e->ips[at].ip, t->ip, 16);
                e->ips[at].active = 0;
                e->dirty = true;
            }
        }
        if (at != SIZE_MAX) {
            e->ips[at].active++;
            e->ips[at].last_ms = now_ms;
        }
        e->active++;
        e->refs++;
        t->e = e;
        t->rated = ul->bytes_per_sec != 0;
    }
    pthread_mutex_unlock(&b->mu);
    if (wake)
        wake_sync(l);
    if (rc == ERR_LIMIT)
        log_refusal(l, *kind, t->ip, now_ms);
    return rc;
}

void node_limits_release(struct node_limits *l, struct node_limits_ticket *t, uint64_t now_ms)
{
    struct limits_entry *e = t->e;
    if (e == NULL)
        return;
    t->e = NULL;
    struct limits_bucket *b = &l->b[e->bucket];
    pthread_mutex_lock(&b->mu);
    size_t at = ip_index(e, t->ip);
    if (at != SIZE_MAX) {
        if (e->ips[at].active)
            e->ips[at].active--;
        e->ips[at].last_ms = now_ms;
    }
    if (e->active)
        e->active--;
    e->refs--;
    e->last_ms = now_ms;
    sweep_bucket(b, now_ms, (uint64_t)atomic_load(&l->window_sec) * 1000);
    pthread_mutex_unlock(&b->mu);
}

/* The relay's hook: the entry's bucket lock guards its buckets (only users hashed to the same
 * bucket share it). */
static uint64_t rate_take_locked(void *arg, size_t n)
{
    struct limits_dir *d = arg;
    pthread_mutex_t *mu = d->mu;
    pthread_mutex_lock(mu);
    int64_t wait = ratelimit_charge(&d->rl, n, (int64_t)clock_mono_ms()); /* n == 0: the debt left */
    pthread_mutex_unlock(mu);
    return wait > 0 ? (uint64_t)wait : 0;
}

struct relay_shared_rate node_limits_rate(const struct node_limits_ticket *t, enum relay_dir dir)
{
    struct relay_shared_rate r = {0};
    if (t->e == NULL || !t->rated || (unsigned)dir >= RELAY_DIR__COUNT)
        return r;
    r.take = rate_take_locked;
    r.arg = &t->e->dir[dir];
    return r;
}

/* ---- handshake rate ---- */

bool node_limits_handshake(struct node_limits *l, const struct sock_addr *ip, uint64_t now_ms)
{
    enum node_probe_refusal why;
    if (l != NULL && !node_probe_admit(l->probe, ip, now_ms, &why)) {
        uint8_t k[16];
        ip_key(ip, k);
        log_refusal(l, NODE_LIMIT_PROBE, k, now_ms);
        return false;
    }
    uint32_t rate = l ? atomic_load(&l->hs_rate) : 0;
    if (rate == 0)
        return true;
    uint32_t burst = atomic_load(&l->hs_burst);
    uint8_t k[16];
    ip_key(ip, k);
    struct limits_bucket *b = &l->b[hash16(k) & (LIMITS_BUCKETS - 1)];
    pthread_mutex_lock(&b->mu);
    struct hs_slot *slot = NULL, *victim = &b->hs[0];
    for (unsigned i = 0; i < LIMITS_HS_SLOTS; i++) {
        struct hs_slot *s = &b->hs[i];
        if (s->used && memcmp(s->ip, k, 16) == 0) {
            slot = s;
            break;
        }
        /* replace a free slot, else the one that refilled longest ago */
        if (!s->used || (victim->used && s->rl.last_ms < victim->rl.last_ms))
            victim = s;
    }
    if (slot == NULL) {
        slot = victim;
        slot->used = true;
        memcpy(slot->ip, k, 16);
        ratelimit_init(&slot->rl, rate, burst, 0, (int64_t)now_ms);
    }
    slot->rl.rate = rate;
    slot->rl.capacity = burst > rate ? burst : rate;
    /* one connection = 1 token; refused ones are not charged (a flood does not lock out forever) */
    bool ok = ratelimit_available(&slot->rl, (int64_t)now_ms) >= 1;
    if (ok)
        (void)ratelimit_charge(&slot->rl, 1, (int64_t)now_ms);
    pthread_mutex_unlock(&b->mu);
    if (!ok)
        log_refusal(l, NODE_LIMIT_HANDSHAKE, k, now_ms);
    return ok;
}

void node_limits_note_fallback(struct node_limits *l, const struct sock_addr *ip, uint64_t now_ms)
{
    if (l != NULL)
        (void)node_probe_note_fallback(l->probe, ip, now_ms);
}

struct node_probe_guard *node_limits_probe(const struct node_limits *l)
{
    return l ? l->probe : NULL;
}

/* ---- Redis sync thread ---- */

static redisContext *redis_connect(struct node_limits *l)
{
    struct timeval tv = {l->timeout_ms / 1000, (long)(l->timeout_ms % 1000) * 1000};
    char why[300];
    return redis_dial(&l->url, tv, why, sizeof why); /* sentinel://: the current master */
}

struct sync_job {
    uint8_t key[16];
    uint32_t bucket;
    size_t n;
    char ips[LIMITS_REMOTE_MAX][INET6_ADDRSTRLEN];
    uint64_t score[LIMITS_REMOTE_MAX];
};

/* Collects users with a device limit that were active within the window. */
static size_t collect_jobs(struct node_limits *l, struct sync_job *jobs, size_t max, uint64_t now, uint64_t unow,
                           uint64_t window_ms, bool only_want)
{
    size_t n = 0;
    for (uint32_t bi = 0; bi < LIMITS_BUCKETS && n < max; bi++) {
        struct limits_bucket *b = &l->b[bi];
        pthread_mutex_lock(&b->mu);
        for (struct limits_entry *e = b->head; e && n < max; e = e->next) {
            if (e->lim.devices == 0 || (e->refs == 0 && !e->want && now - e->last_ms >= window_ms) ||
                (only_want && !e->want))
                continue;
            struct sync_job *j = &jobs[n++];
            memcpy(j->key, e->key, 16);
            j->bucket = bi;
            j->n = 0;
            for (size_t i = 0; i < e->n_ips && j->n < LIMITS_REMOTE_MAX; i++) {
                const struct limits_ip *ip = &e->ips[i];
                ip_text(ip->ip, j->ips[j->n], sizeof(j->ips[0]));
                j->score[j->n++] = ip->active ? unow : unow - (now - ip->last_ms);
            }
            e->dirty = e->want = false;
        }
        pthread_mutex_unlock(&b->mu);
    }
    return n;
}

static void store_remote(struct node_limits *l, const struct sync_job *j, redisReply *r, uint64_t now)
{
    uint8_t(*v)[16] = NULL;
    size_t n = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements) {
        size_t cap = r->elements < LIMITS_REMOTE_MAX ? r->elements : LIMITS_REMOTE_MAX;
        v = malloc(cap * sizeof(*v));
        for (size_t i = 0; v && i < r->elements && n < cap; i++)
            if (r->element[i]->type == REDIS_REPLY_STRING && ip_parse(r->element[i]->str, v[n]))
                n++;
    }
    struct limits_bucket *b = &l->b[j->bucket];
    pthread_mutex_lock(&b->mu);
    struct limits_entry *e = entry_find(b, j->key);
    if (e) {
        free(e->remote);
        e->remote = v;
        e->n_remote = n;
        e->remote_ms = now;
        v = NULL;
    }
    pthread_mutex_unlock(&b->mu);
    free(v);
}

/* One pipelined round per user: ZADD our IPs, drop expired members, refresh the key's TTL and
 * read the set back. false when Redis failed. */
static bool sync_round(struct node_limits *l, redisContext *c, struct sync_job *jobs, size_t n, uint64_t unow,
                       uint64_t window_ms)
{
    char key[64];
    for (size_t i = 0; i < n; i++) {
        struct sync_job *j = &jobs[i];
        int k = snprintf(key, sizeof(key), "veil:dev:");
        for (int b = 0; b < 16; b++)
            k += snprintf(key + k, sizeof(key) - (size_t)k, "%02x", j->key[b]);
        for (size_t m = 0; m < j->n; m++)
            redisAppendCommand(c, "ZADD %s GT %llu %s", key, (unsigned long long)j->score[m], j->ips[m]);
        redisAppendCommand(c, "ZREMRANGEBYSCORE %s -inf %llu", key, (unsigned long long)(unow - window_ms));
        redisAppendCommand(c, "PEXPIRE %s %llu", key, (unsigned long long)(2 * window_ms));
        redisAppendCommand(c, "ZRANGEBYSCORE %s %llu +inf", key, (unsigned long long)(unow - window_ms));
    }
    uint64_t now = clock_mono_ms();
    bool not_master = false;
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < jobs[i].n + 3; m++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL)
                return false;
            /* Read every pending reply first; a master turned replica then means dial again. */
            not_master = not_master || redis_reply_not_master(r);
            if (m == jobs[i].n + 2 && !not_master)
                store_remote(l, &jobs[i], r, now);
            freeReplyObject(r);
        }
    }
    return !not_master;
}

static void *sync_main(void *arg)
{
    struct node_limits *l = arg;
    redisContext *c = NULL;
    struct sync_job *jobs = malloc(LIMITS_SYNC_MAX_USERS * sizeof(*jobs));
    uint64_t backoff_until = 0, next_full = 0;
    bool was_up = false;
    for (;;) {
        pthread_mutex_lock(&l->stop_mu);
        if (!l->stop && !l->wake) {
            struct timespec ts = clock_after_ms(CLOCK_REALTIME, LIMITS_SYNC_TICK_MS);
            pthread_cond_timedwait(&l->stop_cv, &l->stop_mu, &ts);
        }
        bool stop = l->stop;
        l->wake = false;
        pthread_mutex_unlock(&l->stop_mu);
        if (stop || jobs == NULL)
            break;
        uint64_t now = clock_mono_ms();
        if (c == NULL && now >= backoff_until) {
            c = redis_connect(l);
            if (c == NULL)
                backoff_until = now + 2000;
        }
        atomic_store(&l->redis_up, c != NULL);
        if (c != NULL && !was_up)
            log_info("limits", 0, "redis_up");
        if (c == NULL && was_up)
            log_warn("limits", 0, "redis_down", LF_STR("fallback", "local device sets"));
        was_up = c != NULL;
        if (c == NULL)
            continue;
        uint64_t window_ms = (uint64_t)atomic_load(&l->window_sec) * 1000;
        uint64_t unow = clock_unix_ms();
        /* a wake-up between ticks serves only the admissions waiting for a set */
        bool full = now >= next_full;
        if (full)
            next_full = now + LIMITS_SYNC_TICK_MS;
        size_t n = collect_jobs(l, jobs, LIMITS_SYNC_MAX_USERS, now, unow, window_ms, !full);
        if (n && !sync_round(l, c, jobs, n, unow, window_ms)) {
            redisFree(c);
            c = NULL;
            backoff_until = clock_mono_ms() + 1000;
        }
    }
    if (c)
        redisFree(c);
    free(jobs);
    return NULL;
}

/* ---- lifecycle ---- */

static void apply_cfg(struct node_limits *l, const struct node_limits_cfg *cfg)
{
    atomic_store(&l->window_sec, cfg->device_window_sec ? cfg->device_window_sec : 300);
    atomic_store(&l->hs_rate, cfg->handshakes_per_sec_per_ip);
    atomic_store(&l->hs_burst, cfg->handshake_burst);
    if (l->probe)
        node_probe_set_cfg(l->probe, &cfg->probe);
}

int node_limits_new(const struct node_limits_cfg *cfg, struct node_limits **out)
{
    struct node_limits *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return ERR_NOMEM;
    for (unsigned i = 0; i < LIMITS_BUCKETS; i++)
        lazy_mutex_init_zeroed(&l->b[i].mu); /* ~640 kB of buckets resident only once used */
    pthread_mutex_init(&l->stop_mu, NULL);
    pthread_cond_init(&l->stop_cv, NULL);
    l->probe = node_probe_new(&cfg->probe);
    if (l->probe == NULL) {
        node_limits_free(l);
        return ERR_NOMEM;
    }
    apply_cfg(l, cfg);
    l->timeout_ms = cfg->redis_timeout_ms ? cfg->redis_timeout_ms : 200;
    if (cfg->redis_url && *cfg->redis_url) {
        char err[128];
        int rc = redis_url_parse(cfg->redis_url, &l->url, err, sizeof(err));
        l->redis_url = rc == 0 ? strdup(cfg->redis_url) : NULL;
        if (rc == 0 && l->redis_url == NULL)
            rc = ERR_NOMEM;
        if (rc == 0) {
            rc = -pthread_create(&l->thread, NULL, sync_main, l);
            l->has_thread = rc == 0;
        }
        if (rc < 0) {
            node_limits_free(l);
            return rc;
        }
    }
    *out = l;
    return 0;
}

void node_limits_set_cfg(struct node_limits *l, const struct node_limits_cfg *cfg)
{
    apply_cfg(l, cfg);
    const char *now = cfg->redis_url && *cfg->redis_url ? cfg->redis_url : NULL;
    if ((now == NULL) != (l->redis_url == NULL) || (now && strcmp(now, l->redis_url) != 0))
        log_warn("limits", 0, "redis_change_needs_restart");
}

void node_limits_free(struct node_limits *l)
{
    if (l == NULL)
        return;
    if (l->has_thread) {
        pthread_mutex_lock(&l->stop_mu);
        l->stop = true;
        pthread_cond_signal(&l->stop_cv);
        pthread_mutex_unlock(&l->stop_mu);
        pthread_join(l->thread, NULL);
    }
    for (unsigned i = 0; i < LIMITS_BUCKETS; i++) {
        struct limits_entry *e = l->b[i].head;
        while (e) {
            struct limits_entry *next = e->next;
            entry_free(e);
            e = next;
        }
        pthread_mutex_destroy(&l->b[i].mu);
    }
    pthread_mutex_destroy(&l->stop_mu);
    pthread_cond_destroy(&l->stop_cv);
    node_probe_free(l->probe);
    free(l->redis_url);
    free(l);
}

uint32_t node_limits_wait_ms(const struct node_limits *l)
{
    return l && l->redis_url ? l->timeout_ms + LIMITS_SYNC_TICK_MS / 10 : 0;
}

uint64_t node_limits_hits(const struct node_limits *l, enum node_limit_kind kind)
{
    return l && (unsigned)kind < NODE_LIMIT__COUNT ? atomic_load(&l->hits[kind]) : 0;
}

bool node_limits_redis_up(const struct node_limits *l)
{
    return l && atomic_load(&l->redis_up);
}

size_t node_limits_devices(struct node_limits *l, const uint8_t key[16], uint64_t now_ms)
{
    struct limits_bucket *b = &l->b[hash16(key) & (LIMITS_BUCKETS - 1)];
    pthread_mutex_lock(&b->mu);
    struct limits_entry *e = entry_find(b, key);
    size_t n = 0;
    if (e) {
        prune_ips(e, now_ms, (uint64_t)atomic_load(&l->window_sec) * 1000);
        n = count_devices(e, now_ms);
    }
    pthread_mutex_unlock(&b->mu);
    return n;
}
