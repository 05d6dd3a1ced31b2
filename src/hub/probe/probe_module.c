/* The probe module: a thread that probes every served node's public address each
 * fleet.probe_interval seconds (probe.h) and tells the API which nodes it cannot reach. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "hub/api/api.h"
#include "hub/domain/node_health.h"
#include "hub/module.h"
#include "hub/probe/probe.h"
#include "hub/store/store.h"

struct probe_node {
    int64_t id;
    struct hub_probe p;
};

struct probe_svc {
    struct store *st;
    struct api_server *api;
    unsigned interval_s, failures, timeout_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    struct probe_node *nodes; /* results of the previous round, by node id */
    size_t n_nodes;
};

static struct hub_probe *prev_state(struct probe_svc *s, int64_t id)
{
    for (size_t i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].id == id)
            return &s->nodes[i].p;
    return NULL;
}

/* Probes each node that could be served (the liveness rule decides the rest) once. */
static void probe_round(struct probe_svc *s)
{
    struct hub_node *all;
    size_t n;
    if (store_node_list(s->st, &all, &n) < 0) {
        log_warn("probe", 0, "node_list_failed");
        return;
    }
    struct probe_node *next = n ? calloc(n, sizeof *next) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < n && (next != NULL || n == 0); i++) {
        const struct hub_node *node = &all[i];
        if (node->weight <= 0 || node->draining || node->last_seen <= 0)
            continue;
        struct hub_probe *was = prev_state(s, node->id);
        next[k] = (struct probe_node){.id = node->id, .p = was ? *was : (struct hub_probe){0}};
        int rc =
            probe_tls(node->address, node->port, node->n_server_names ? node->server_names[0] : "", (int)s->timeout_ms);
        if (hub_probe_record(&next[k].p, rc == 0, (int)s->failures)) {
            api_node_reachable(s->api, node->id, !next[k].p.down);
            if (next[k].p.down)
                log_warn("probe", 0, "node_unreachable", LF_INT("node", node->id), LF_STR("name", node->name),
                         LF_STR("err", err_str(rc)), LF_INT("failures", next[k].p.fails));
            else
                log_info("probe", 0, "node_reachable", LF_INT("node", node->id), LF_STR("name", node->name));
        }
        k++;
    }
    /* Nodes no longer probed (removed, drained, weight 0) must not stay marked. */
    for (size_t i = 0; i < s->n_nodes; i++) {
        bool kept = false;
        for (size_t j = 0; j < k && !kept; j++)
            kept = next[j].id == s->nodes[i].id;
        if (!kept && s->nodes[i].p.down)
            api_node_reachable(s->api, s->nodes[i].id, true);
    }
    free(all);
    if (next == NULL && n > 0)
        return; /* out of memory: keep the previous round's results */
    free(s->nodes);
    s->nodes = next;
    s->n_nodes = k;
}

static void *probe_thread(void *arg)
{
    struct probe_svc *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        probe_round(s);
        pthread_mutex_lock(&s->mu);
        struct timespec until = clock_after_ms(CLOCK_REALTIME, (uint64_t)s->interval_s * 1000);
        while (!s->stop && pthread_cond_timedwait(&s->cond, &s->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int probe_start(struct hub_env *env, void **state)
{
    const struct hub_cfg *cfg = env->cfg;
    if (cfg->probe_interval == 0 || env->api == NULL)
        return 0;
    struct probe_svc *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    s->st = env->st;
    s->api = env->api;
    s->interval_s = cfg->probe_interval;
    s->failures = cfg->probe_failures;
    s->timeout_ms = cfg->probe_timeout_ms;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (pthread_create(&s->thread, NULL, probe_thread, s) != 0) {
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return ERR_NOMEM;
    }
    *state = s;
    return 0;
}

static void probe_stop(struct hub_env *env, void *state)
{
    (void)env;
    struct probe_svc *s = state;
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s->nodes);
    free(s);
}

HUB_MODULE(probe) = {
    .name = "probe",
    .order = 55, /* after the api (30): it reports to it */
    .start = probe_start,
    .stop = probe_stop,
};
