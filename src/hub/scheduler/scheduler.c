#include "hub/scheduler/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "hub/cache/cache.h"
#include "hub/module.h"
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

struct job {
    char name[48];
    unsigned period;
    sched_job_fn *fn;
    void *ctx;
    bool needs_lock, used;
    int64_t last; /* when it last ran (0: never) */
};

static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t pass_mu = PTHREAD_MUTEX_INITIALIZER; /* one pass at a time; removal waits */
static struct job jobs[SCHED_JOBS_MAX];

int sched_job_add(const char *name, unsigned period_sec, sched_job_fn *fn, void *ctx, bool needs_lock)
{
    if (name == NULL || fn == NULL || strlen(name) >= sizeof jobs[0].name)
        return ERR_MALFORMED;
    int rc = ERR_RANGE;
    pthread_mutex_lock(&jobs_mu);
    struct job *free_slot = NULL;
    for (size_t i = 0; i < SCHED_JOBS_MAX; i++) {
        if (jobs[i].used && strcmp(jobs[i].name, name) == 0) {
            pthread_mutex_unlock(&jobs_mu);
            return ERR_EXISTS;
        }
        if (!jobs[i].used && free_slot == NULL)
            free_slot = &jobs[i];
    }
    if (free_slot != NULL) {
        *free_slot = (struct job){.period = period_sec, .fn = fn, .ctx = ctx, .needs_lock = needs_lock, .used = true};
        memcpy(free_slot->name, name, strlen(name) + 1);
        rc = 0;
    }
    pthread_mutex_unlock(&jobs_mu);
    return rc;
}

int sched_job_remove(const char *name)
{
    int rc = ERR_NOT_FOUND;
    pthread_mutex_lock(&pass_mu);
    pthread_mutex_lock(&jobs_mu);
    for (size_t i = 0; i < SCHED_JOBS_MAX; i++)
        if (jobs[i].used && strcmp(jobs[i].name, name) == 0) {
            jobs[i].used = false;
            rc = 0;
        }
    pthread_mutex_unlock(&jobs_mu);
    pthread_mutex_unlock(&pass_mu);
    return rc;
}

int sched_tick(struct store *st, const char *holder, unsigned interval, int64_t node_stale, int64_t now, bool *ran)
{
    const char *via;
    return sched_tick_cached(st, NULL, holder, interval, node_stale, now, ran, &via);
}

/* Runs the due jobs (the locked ones only when held); the first error is returned. */
static int run_jobs(struct sched_pass *pass, bool held)
{
    struct job due[SCHED_JOBS_MAX];
    size_t slot[SCHED_JOBS_MAX], n = 0;
    pthread_mutex_lock(&jobs_mu);
    for (size_t i = 0; i < SCHED_JOBS_MAX; i++) {
        const struct job *j = &jobs[i];
        if (!j->used || (j->needs_lock && !held))
            continue;
        if (j->period != 0 && j->last != 0 && pass->now - j->last < (int64_t)j->period && pass->now >= j->last)
            continue;
        slot[n] = i;
        due[n++] = *j;
    }
    pthread_mutex_unlock(&jobs_mu);
    int first = 0;
    for (size_t k = 0; k < n; k++) {
        int rc = due[k].fn(pass, due[k].ctx);
        if (rc < 0) {
            log_warn("sched", 0, "job_failed", LF_STR("job", due[k].name), LF_STR("err", err_str(rc)));
            if (first == 0)
                first = rc;
            continue;
        }
        pthread_mutex_lock(&jobs_mu);
        if (jobs[slot[k]].used && strcmp(jobs[slot[k]].name, due[k].name) == 0)
            jobs[slot[k]].last = pass->now;
        pthread_mutex_unlock(&jobs_mu);
    }
    return first;
}

int sched_tick_cached(struct store *st, struct hcache *cache, const char *holder, unsigned interval, int64_t node_stale,
                      int64_t now, bool *ran, const char **via)
{
    hub_modules_register(); /* the jobs of every module, also when a test drives the ticks */
    bool held = false;
    *ran = false;
    /* The lock outlives a missed tick or two, so a slow pass does not hand it over mid-way. */
    int rc = cache ? hcache_lock(cache, "scheduler", holder, (int64_t)interval * 3000, &held) : ERR_UNSUPPORTED;
    *via = "redis";
    if (rc < 0) {
        *via = "database";
        rc = store_lock_try(st, "scheduler", holder, (int64_t)interval * 3, now, &held);
    }
    if (rc < 0 || !held)
        *via = NULL;
    struct sched_pass pass = {.st = st, .cache = cache, .now = now, .node_stale = node_stale};
    pthread_mutex_lock(&pass_mu);
    int jrc = run_jobs(&pass, rc == 0 && held);
    pthread_mutex_unlock(&pass_mu);
    *ran = rc == 0 && held;
    if (pass.changed && cache != NULL)
        hcache_gen_bump(cache);
    return rc < 0 ? rc : jrc;
}

static void *run(void *arg)
{
    struct sched *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        bool ran;
        const char *via = NULL;
        int rc =
            sched_tick_cached(s->st, s->cache, s->holder, s->interval, s->node_stale, (int64_t)time(NULL), &ran, &via);
        if (rc < 0)
            log_warn("sched", 0, "pass_failed", LF_STR("err", err_str(rc)));
        else if (via != s->held_via)
            log_info("sched", 0, via ? "lock_acquired" : "lock_lost", LF_STR("via", via ? via : s->held_via),
                     LF_STR("holder", s->holder));
        if (rc == 0)
            s->held_via = via;
        pthread_mutex_lock(&s->mu);
        struct timespec until = clock_after_ms(CLOCK_REALTIME, (uint64_t)s->interval * 1000);
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
