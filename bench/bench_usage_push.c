/* Usage-push load on the hub's store (bench/run-usage-push): NODES threads, each a node, push
 * batches of BATCH users' byte deltas through store_usage_push (the hub's own code path for
 * POST /api/v1/node/usage: one transaction per push, one UPDATE per user) until every one of
 * USERS users got one row; prints rows/s, pushes/s and push latency percentiles.
 *   bench_usage_push <database-url> <users> <nodes> <batch>
 * The users (ids 1..USERS, each with an active subscription) must exist: run-usage-push seeds
 * them with SQL. Users are spread over the nodes in shuffled order, so concurrent pushes touch
 * rows all over the table as real nodes do. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub/store/store.h"

struct worker {
    struct store *st;
    int64_t node_id;
    const int64_t *ids; /* this node's users */
    size_t n, batch;
    double *lat; /* seconds per push */
    size_t pushes;
    int rc;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct store_usage *u = malloc(w->batch * sizeof *u);
    if (u == NULL) {
        w->rc = -1;
        return NULL;
    }
    for (size_t off = 0; off < w->n && w->rc == 0; off += w->batch) {
        size_t k = w->n - off < w->batch ? w->n - off : w->batch;
        for (size_t i = 0; i < k; i++)
            u[i] = (struct store_usage){w->ids[off + i], 1000 + (int64_t)i, 50000 + (int64_t)i};
        char push_id[48];
        snprintf(push_id, sizeof push_id, "bench-%" PRId64 "-%zu", w->node_id, w->pushes);
        double t0 = now_s();
        bool dup = false;
        w->rc = store_usage_push(w->st, w->node_id, push_id, u, k, (int64_t)time(NULL), &dup, NULL);
        w->lat[w->pushes++] = now_s() - t0;
        if (dup)
            w->rc = -1;
    }
    free(u);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_usage_push <database-url> <users> <nodes> <batch>\n");
        return 2;
    }
    size_t users = strtoul(argv[2], NULL, 10), nodes = strtoul(argv[3], NULL, 10), batch = strtoul(argv[4], NULL, 10);
    if (users == 0 || nodes == 0 || nodes > 64 || batch == 0) {
        fprintf(stderr, "bench_usage_push: users > 0, nodes 1..64, batch > 0\n");
        return 2;
    }
    struct store *st;
    if (store_open(argv[1], nodes, &st) < 0 || store_migrate(st, NULL) < 0) {
        fprintf(stderr, "bench_usage_push: cannot open %s\n", argv[1]);
        return 1;
    }
    int64_t *ids = malloc(users * sizeof *ids);
    struct worker *w = calloc(nodes, sizeof *w);
    pthread_t *th = calloc(nodes, sizeof *th);
    if (ids == NULL || w == NULL || th == NULL)
        return 1;
    for (size_t i = 0; i < users; i++)
        ids[i] = (int64_t)i + 1;
    srand(7);
    for (size_t i = users - 1; i > 0; i--) { /* shuffle: nodes see users in no particular order */
        size_t j = (size_t)rand() % (i + 1);
        int64_t t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    int64_t now = (int64_t)time(NULL);
    size_t per = (users + nodes - 1) / nodes;
    for (size_t k = 0; k < nodes; k++) {
        struct hub_node n = {.port = 443, .weight = 100};
        snprintf(n.name, sizeof n.name, "push-node-%zu-%" PRId64, k, now);
        snprintf(n.address, sizeof n.address, "n%zu.vpn.example.com", k);
        strcpy(n.public_key, "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw");
        n.n_short_ids = 1;
        strcpy(n.short_ids[0], "6ba85179e30d4fc2");
        char hash[80];
        snprintf(hash, sizeof hash, "bench-push-node-%zu-%" PRId64, k, now);
        if (store_node_create(st, &n, hash, now, NULL) < 0) {
            fprintf(stderr, "bench_usage_push: node create failed\n");
            return 1;
        }
        size_t from = k * per < users ? k * per : users, to = (k + 1) * per < users ? (k + 1) * per : users;
        w[k] = (struct worker){.st = st, .node_id = n.id, .ids = ids + from, .n = to - from, .batch = batch};
        w[k].lat = calloc((w[k].n + batch - 1) / batch + 1, sizeof(double));
        if (w[k].lat == NULL)
            return 1;
    }
    double t0 = now_s();
    for (size_t k = 0; k < nodes; k++)
        pthread_create(&th[k], NULL, run, &w[k]);
    size_t pushes = 0;
    int failed = 0;
    for (size_t k = 0; k < nodes; k++) {
        pthread_join(th[k], NULL);
        pushes += w[k].pushes;
        failed |= w[k].rc != 0;
    }
    double secs = now_s() - t0;
    double *all = malloc((pushes + 1) * sizeof *all);
    size_t m = 0;
    for (size_t k = 0; k < nodes; k++)
        for (size_t i = 0; i < w[k].pushes; i++)
            all[m++] = w[k].lat[i];
    qsort(all, m, sizeof *all, cmp_double);
    printf("usage push: %zu rows in %zu pushes of <= %zu from %zu nodes: %.1f s, %.0f rows/s, %.1f pushes/s, "
           "push p50 %.0f ms p99 %.0f ms%s\n",
           users, pushes, batch, nodes, secs, (double)users / secs, (double)pushes / secs, all[m / 2] * 1e3,
           all[m * 99 / 100] * 1e3, failed ? " (FAILED pushes)" : "");
    store_close(st);
    return failed ? 1 : 0;
}
