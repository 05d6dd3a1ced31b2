#include "hub/scheduler/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/store/store.h"

struct sched {
    struct store *st;
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
    bool held = false;
    *ran = false;
    /* The lock outlives a missed tick or two, so a slow pass does not hand it over mid-way. */
    TRY(store_lock_try(st, "scheduler", holder, (int64_t)interval * 3, now, &held));
    if (!held)
        return 0;
    struct store_sched_result r;
    TRY(store_sched_run(st, now, &r));
    int64_t down = 0;
    if (node_stale > 0)
        TRY(store_node_mark_stale(st, now, node_stale, &down));
    *ran = true;
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
        int rc = sched_tick(s->st, s->holder, s->interval, s->node_stale, (int64_t)time(NULL), &ran);
        if (rc < 0)
            log_warn("sched", 0, "pass_failed", LF_STR("err", err_str(rc)));
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
    struct sched *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->st = st;
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
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
