#include "hub/scheduler/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/cache/cache.h"
#include "hub/store/store.h"

struct sched {
    struct store *st;
    struct hcache *cache;
    const char *held_via; /* the lock we hold, NULL when none */
    unsigned interval;
    int64_t node_stale;
    char holder[96];
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

int sched_tick(struct store *st, const char *holder, unsigned interval, int64_t node_stale, int64_t now, bool *ran)
{
    const char *via;
    return sched_tick_cached(st, NULL, holder, interval, node_stale, now, ran, &via);
}

int sched_tick_cached(struct store *st, struct hcache *cache, const char *holder, unsigned interval,
                      int64_t node_stale, int64_t now, bool *ran, const char **via)
{
    bool held = false;
    *ran = false;
    /* The lock outlives a missed tick or two, so a slow pass does not hand it over mid-way. */
    int rc = cache ? hcache_lock(cache, "scheduler", holder, (int64_t)interval * 3000, &held) : ERR_UNSUPPORTED;
    *via = "redis";
    if (rc < 0) {
        *via = "database";
        TRY(store_lock_try(st, "scheduler", holder, (int64_t)interval * 3, now, &held));
    }
    if (!held) {
        *via = NULL;
        return 0;
    }
    struct store_sched_result r;
    TRY(store_sched_run(st, now, &r));
    int64_t down = 0;
    if (node_stale > 0)
        TRY(store_node_mark_stale(st, now, node_stale, &down));
    *ran = true;
    if ((r.expired || r.reset || r.limited || down) && cache != NULL)
        hcache_gen_bump(cache);
    if (r.expired || r.reset || r.limited || down)
        log_info("sched", 0, "pass", LF_INT("expired", r.expired), LF_INT("reset", r.reset),
                 LF_INT("limited", r.limited), LF_INT("nodes_down", down));
    return 0;
}

static void *run(void *arg)
{
    struct sched *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        bool ran;
        const char *via = NULL;
        int rc = sched_tick_cached(s->st, s->cache, s->holder, s->interval, s->node_stale, (int64_t)time(NULL), &ran,
                                   &via);
        if (rc < 0)
            log_warn("sched", 0, "pass_failed", LF_STR("err", err_str(rc)));
        else if (via != s->held_via)
            log_info("sched", 0, via ? "lock_acquired" : "lock_lost", LF_STR("via", via ? via : s->held_via),
                     LF_STR("holder", s->holder));
        if (rc == 0)
            s->held_via = via;
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->interval;
        while (!s->stop) {
            int w = pthread_cond_timedwait(&s->cv, &s->mu, &until);
            if (w == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

struct sched *sched_start(struct store *st, unsigned interval, int64_t node_stale)
{
    return sched_start_cached(st, NULL, interval, node_stale);
}

struct sched *sched_start_cached(struct store *st, struct hcache *cache, unsigned interval, int64_t node_stale)
{
    struct sched *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->st = st;
    s->cache = cache;
    s->interval = interval ? interval : 60;
    s->node_stale = node_stale;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(s->holder, sizeof s->holder, "%s:%ld", host, (long)getpid());
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->th, NULL, run, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return NULL;
    }
    return s;
}

void sched_stop(struct sched *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    /* Another hub takes over at its next tick instead of after the lock's TTL. */
    if (s->cache != NULL && s->held_via != NULL && strcmp(s->held_via, "redis") == 0)
        hcache_unlock(s->cache, "scheduler", s->holder);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
