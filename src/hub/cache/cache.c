/* The facade: Redis when configured and answering, the in-process store otherwise. */
#include "hub/cache/cache.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "hub/cache/cache_mem.h"
#include "hub/cache/cache_redis.h"

/* Local generations carry this bit, so hcache_gen_put knows where the entry belongs. */
#define GEN_LOCAL (1ull << 63)
#define KEY_MAX 512

struct hcache {
    struct hcmem *mem;
    struct hcredis *r; /* NULL: local only */
    char prefix[64];
    char scope[80]; /* "<prefix>g:" */
    _Atomic uint64_t local_gen;
    int64_t near_ms;
    hcache_clock_fn *clock;
    void *clock_arg;
};

static int64_t now_ms(const struct hcache *c)
{
    if (c->clock)
        return c->clock(c->clock_arg);
    return (int64_t)clock_unix_ms();
}

/* Entries kept locally while Redis was reachable may be stale by the time it is not. */
static void on_redis_down(void *arg)
{
    struct hcache *c = arg;
    atomic_fetch_add(&c->local_gen, 1);
}

int hcache_open(const struct hcache_cfg *cfg, struct hcache **out, char *err, size_t errcap)
{
    *out = NULL;
    struct redis_url u;
    bool shared = cfg->redis_url != NULL && cfg->redis_url[0] != '\0';
    if (shared) {
        char why[128];
        if (redis_url_parse(cfg->redis_url, &u, why, sizeof why) < 0) {
            snprintf(err, errcap, "redis_url: %s", why);
            return ERR_CONFIG;
        }
    }
    struct hcache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    snprintf(c->prefix, sizeof c->prefix, "%s", cfg->prefix ? cfg->prefix : "veil:");
    snprintf(c->scope, sizeof c->scope, "%sg:", c->prefix);
    c->clock = cfg->clock;
    c->clock_arg = cfg->clock_arg;
    c->near_ms = cfg->near_ms;
    atomic_store(&c->local_gen, 1);
    c->mem = hcmem_new(cfg->mem_max);
    int rc = c->mem ? 0 : ERR_NOMEM;
    if (rc == 0 && shared) {
        char gen_key[96];
        snprintf(gen_key, sizeof gen_key, "%sgen", c->prefix);
        rc = hcredis_new(&u, cfg->timeout_ms, cfg->pool, gen_key, on_redis_down, c, &c->r);
    }
    if (rc < 0) {
        hcache_close(c);
        return rc;
    }
    if (c->r != NULL) {
        /* Probe once, so the log says at start whether Redis is there. */
        uint64_t g = 0;
        char *v;
        size_t n;
        if (hcredis_gen_get(c->r, c->scope, "probe", &g, &v, &n) == 0) {
            free(v);
            log_info("cache", 0, "redis_connected", LF_UINT("generation", g));
        }
        if (c->near_ms > 0 && hcredis_watch_start(c->r) < 0)
            log_warn("cache", 0, "watcher_failed", LF_STR("why", "no thread; every lookup asks Redis"));
    }
    *out = c;
    return 0;
}

void hcache_close(struct hcache *c)
{
    if (c == NULL)
        return;
    hcredis_free(c->r);
    hcmem_free(c->mem);
    free(c);
}

bool hcache_shared(const struct hcache *c)
{
    return c->r != NULL;
}

bool hcache_redis_up(const struct hcache *c)
{
    return c->r != NULL && hcredis_up(c->r);
}

const char *hcache_mode(const struct hcache *c)
{
    if (c->r == NULL)
        return "local";
    return hcredis_up(c->r) ? "redis" : "local-fallback";
}

static bool mkkey(char *out, const char *a, uint64_t gen, const char *b)
{
    int n = snprintf(out, KEY_MAX, "%s%llu:%s", a, (unsigned long long)gen, b);
    return n > 0 && n < KEY_MAX;
}

/* The local copy's key: the watcher session keeps generations of an earlier Redis apart. */
static bool near_key(char *out, uint64_t session, uint64_t gen, const char *key)
{
    int n = snprintf(out, KEY_MAX, "n:%llu:%llu:%s", (unsigned long long)session, (unsigned long long)gen, key);
    return n > 0 && n < KEY_MAX;
}

int hcache_gen_get(struct hcache *c, const char *key, uint64_t *gen, char **val, size_t *len)
{
    *val = NULL;
    *len = 0;
    uint64_t wg, sess;
    char nk[KEY_MAX];
    if (c->r != NULL && c->near_ms > 0 && hcredis_watch_gen(c->r, &wg, &sess) && (wg & GEN_LOCAL) == 0 &&
        near_key(nk, sess, wg, key)) {
        int rc = hcmem_get(c->mem, nk, now_ms(c), val, len);
        if (rc == 0 || rc == ERR_NOMEM) {
            *gen = wg;
            return rc;
        }
        char k[KEY_MAX];
        if (mkkey(k, c->scope, wg, key)) {
            rc = hcredis_get(c->r, k, val, len);
            if (rc == 0 || rc == ERR_NOMEM) {
                *gen = wg;
                if (*val != NULL)
                    (void)hcmem_put(c->mem, nk, *val, *len, c->near_ms, now_ms(c));
                return rc;
            }
        }
    }
    if (c->r != NULL) {
        uint64_t g = 0;
        int rc = hcredis_gen_get(c->r, c->scope, key, &g, val, len);
        if (rc == 0 || rc == ERR_NOMEM) {
            *gen = g & ~GEN_LOCAL;
            return rc;
        }
    }
    uint64_t g = atomic_load(&c->local_gen);
    *gen = g | GEN_LOCAL;
    char k[KEY_MAX];
    if (!mkkey(k, "g:", g, key))
        return 0;
    int rc = hcmem_get(c->mem, k, now_ms(c), val, len);
    return rc == ERR_NOMEM ? rc : 0;
}

void hcache_gen_put(struct hcache *c, uint64_t gen, const char *key, const void *val, size_t len, int64_t ttl_ms)
{
    char k[KEY_MAX];
    if (ttl_ms <= 0)
        return;
    if (gen & GEN_LOCAL) {
        if (mkkey(k, "g:", gen & ~GEN_LOCAL, key))
            (void)hcmem_put(c->mem, k, val, len, ttl_ms, now_ms(c));
        return;
    }
    if (c->r != NULL && mkkey(k, c->scope, gen, key))
        (void)hcredis_set(c->r, k, val, len, ttl_ms); /* failures are logged inside; a miss is harmless */
    uint64_t g, sess;
    if (c->r != NULL && c->near_ms > 0 && hcredis_watch_gen(c->r, &g, &sess) && g == gen && near_key(k, sess, g, key))
        (void)hcmem_put(c->mem, k, val, len, ttl_ms < c->near_ms ? ttl_ms : c->near_ms, now_ms(c));
}

void hcache_gen_bump(struct hcache *c)
{
    atomic_fetch_add(&c->local_gen, 1);
    if (c->r != NULL) {
        (void)hcredis_gen_bump(c->r); /* when Redis is down, its recovery bumps it */
    }
}

int hcache_get(struct hcache *c, const char *key, char **val, size_t *len)
{
    *val = NULL;
    *len = 0;
    if (c->r != NULL) {
        char k[KEY_MAX];
        if (snprintf(k, sizeof k, "%sk:%s", c->prefix, key) >= (int)sizeof k)
            return 0;
        int rc = hcredis_get(c->r, k, val, len);
        if (rc == 0 || rc == ERR_NOMEM)
            return rc;
    }
    int rc = hcmem_get(c->mem, key, now_ms(c), val, len);
    return rc == ERR_NOMEM ? rc : 0;
}

void hcache_put(struct hcache *c, const char *key, const void *val, size_t len, int64_t ttl_ms)
{
    if (ttl_ms <= 0)
        return;
    if (c->r != NULL) {
        char k[KEY_MAX];
        if (snprintf(k, sizeof k, "%sk:%s", c->prefix, key) >= (int)sizeof k)
            return;
        if (hcredis_set(c->r, k, val, len, ttl_ms) == 0)
            return;
    }
    (void)hcmem_put(c->mem, key, val, len, ttl_ms, now_ms(c));
}

int hcache_rate(struct hcache *c, const char *key, unsigned limit, unsigned window_s, bool *allowed,
                unsigned *retry_after_s)
{
    *allowed = true;
    *retry_after_s = 0;
    if (limit == 0 || window_s == 0)
        return 0;
    int64_t win = (int64_t)window_s * 1000, now = now_ms(c);
    int64_t left = win - now % win;
    uint64_t count = 0;
    int rc = ERR_IO;
    if (c->r != NULL) {
        char k[KEY_MAX];
        if (snprintf(k, sizeof k, "%srl:%s:%lld", c->prefix, key, (long long)(now / win)) < (int)sizeof k)
            rc = hcredis_hit(c->r, k, left + 1000, &count); /* a second's grace for clock skew */
    }
    if (rc < 0) {
        char k[KEY_MAX];
        if (snprintf(k, sizeof k, "rl:%s", key) >= (int)sizeof k)
            return 0;
        TRY(hcmem_hit(c->mem, k, win, now, &count, &left));
    }
    if (count > limit) {
        *allowed = false;
        *retry_after_s = (unsigned)((left + 999) / 1000);
        if (*retry_after_s == 0)
            *retry_after_s = 1;
    }
    return 0;
}

int hcache_lock(struct hcache *c, const char *name, const char *holder, int64_t ttl_ms, bool *held)
{
    *held = false;
    if (c->r == NULL)
        return ERR_UNSUPPORTED;
    char k[KEY_MAX];
    snprintf(k, sizeof k, "%slock:%.200s", c->prefix, name);
    return hcredis_lock(c->r, k, holder, ttl_ms, held);
}

void hcache_unlock(struct hcache *c, const char *name, const char *holder)
{
    if (c->r == NULL)
        return;
    char k[KEY_MAX];
    snprintf(k, sizeof k, "%slock:%.200s", c->prefix, name);
    (void)hcredis_unlock(c->r, k, holder);
}
