/* GET /sub/<token> throughput and latency: 10k users and 5 nodes in a SQLite file, the API
 * server in-process, N keep-alive libcurl clients fetching random users' subscriptions.
 *   bench_hub_sub [seconds=5] [clients=4] [server_threads=2] [users=10000] [db=sqlite:/tmp/...]
 * BENCH_SEAL=1 in the environment turns column encryption on (each /sub opens the sealed name).
 * Prints requests/s and p50/p99/max latency. Compare with TARGETS.md (>= 20k req/s, p99 < 5 ms). */
#include <curl/curl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hub/api/api.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"

struct client {
    const char *base;
    char (*tokens)[HUB_TOKEN_MAX + 1];
    size_t n_tokens;
    double until;
    unsigned seed;
    double *lat;
    size_t n, cap;
    size_t errors;
    double cpu; /* this client thread's CPU seconds */
};

static double cpu_of(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t sink(char *p, size_t sz, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return sz * n;
}

static void *client_run(void *arg)
{
    struct client *c = arg;
    CURL *h = curl_easy_init();
    char url[256];
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "v2rayNG/1.8.5");
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    while (now_s() < c->until) {
        size_t i = (size_t)rand_r(&c->seed) % c->n_tokens;
        snprintf(url, sizeof url, "%s/sub/%s", c->base, c->tokens[i]);
        curl_easy_setopt(h, CURLOPT_URL, url);
        double t = now_s();
        CURLcode rc = curl_easy_perform(h);
        double dt = now_s() - t;
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200) {
            c->errors++;
            continue;
        }
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 65536;
            c->lat = realloc(c->lat, c->cap * sizeof *c->lat);
        }
        c->lat[c->n++] = dt;
    }
    curl_easy_cleanup(h);
    c->cpu = cpu_of(RUSAGE_THREAD);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 5;
    int nclients = argc > 2 ? atoi(argv[2]) : 4;
    unsigned sthreads = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
    size_t nusers = argc > 4 ? (size_t)atol(argv[4]) : 10000;
    char dbpath[256];
    snprintf(dbpath, sizeof dbpath, "/tmp/bench_hub_sub_%d.db", (int)getpid());
    char url[300];
    snprintf(url, sizeof url, "sqlite:%s", dbpath);
    const char *db = argc > 5 ? argv[5] : url;

    struct store *st;
    if (store_open(db, 4, &st) < 0 || store_migrate(st, NULL) < 0) {
        fprintf(stderr, "store open failed\n");
        return 1;
    }
    int64_t now = (int64_t)time(NULL);
    if (getenv("BENCH_SEAL") != NULL) { /* personal columns encrypted at rest (docs/security.md §2) */
        static const uint8_t master[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                           17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
        char why[256];
        if (store_seal_open(st, master, now, NULL, why, sizeof why) < 0) {
            fprintf(stderr, "store_seal_open: %s\n", why);
            return 1;
        }
        printf("column encryption on\n");
    }
    struct hub_plan plan = {.duration_days = 30, .quota_bytes = 100LL << 30, .enabled = true};
    strcpy(plan.name, "Month");
    store_plan_create(st, &plan, now, NULL);
    for (int i = 0; i < 5; i++) {
        struct hub_node n = {.port = 443, .weight = 100};
        snprintf(n.name, sizeof n.name, "node-%d", i);
        snprintf(n.address, sizeof n.address, "n%d.vpn.example.com", i);
        strcpy(n.public_key, "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw");
        n.n_short_ids = 1;
        strcpy(n.short_ids[0], "6ba85179e30d4fc2");
        n.n_server_names = 1;
        strcpy(n.server_names[0], "www.microsoft.com");
        char hash[65];
        snprintf(hash, sizeof hash, "bench-node-%d", i);
        store_node_create(st, &n, hash, now, NULL);
    }
    char(*tokens)[HUB_TOKEN_MAX + 1] = calloc(nusers, sizeof *tokens);
    double t0 = now_s();
    for (size_t i = 0; i < nusers; i++) {
        struct hub_user u = {.enabled = true};
        uint8_t rnd[64];
        for (size_t k = 0; k < sizeof rnd; k++)
            rnd[k] = (uint8_t)rand();
        snprintf(u.username, sizeof u.username, "user%06zu", i);
        strcpy(u.language, "ru");
        strcpy(u.currency, "RUB");
        hub_uuid_v4_format(u.uuid, rnd);
        hub_sub_token_format(u.sub_token, rnd + 16);
        snprintf(u.referral_code, sizeof u.referral_code, "R%07u", (unsigned)(i % 10000000));
        if (store_user_create(st, &u, now, NULL) < 0 || store_sub_grant(st, u.id, plan.id, now, NULL, NULL) < 0) {
            fprintf(stderr, "seeding failed at %zu\n", i);
            return 1;
        }
        memcpy(tokens[i], u.sub_token, sizeof tokens[i]);
    }
    fprintf(stderr, "seeded %zu users in %.1f s\n", nusers, now_s() - t0);

    struct api_cfg cfg = {.threads = sthreads, .profile_title = "Bench", .update_interval_hours = 12};
    struct api_server *srv;
    if (api_start(&cfg, st, &srv) < 0)
        return 1;
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)api_port(srv));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t *th = calloc((size_t)nclients, sizeof *th);
    struct client *cs = calloc((size_t)nclients, sizeof *cs);
    double start = now_s();
    double cpu0 = cpu_of(RUSAGE_SELF);
    for (int i = 0; i < nclients; i++) {
        cs[i] = (struct client){
            .base = base, .tokens = tokens, .n_tokens = nusers, .until = start + secs, .seed = (unsigned)i * 7919u + 1};
        pthread_create(&th[i], NULL, client_run, &cs[i]);
    }
    size_t total = 0, errors = 0;
    for (int i = 0; i < nclients; i++) {
        pthread_join(th[i], NULL);
        total += cs[i].n;
        errors += cs[i].errors;
    }
    double elapsed = now_s() - start;
    /* Server CPU = process CPU during the run minus what the client threads used. */
    double client_cpu = 0;
    for (int i = 0; i < nclients; i++)
        client_cpu += cs[i].cpu;
    double server_cpu = cpu_of(RUSAGE_SELF) - cpu0 - client_cpu;
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < nclients; i++) {
        memcpy(all + k, cs[i].lat, cs[i].n * sizeof *all);
        k += cs[i].n;
        free(cs[i].lat);
    }
    qsort(all, total, sizeof *all, cmp_d);
    if (total > 0)
        printf("sub: %zu requests in %.2f s = %.0f req/s; p50 %.3f ms, p99 %.3f ms, max %.3f ms; errors %zu "
               "(%d clients, %u server threads, %zu users)\n",
               total, elapsed, (double)total / elapsed, all[total / 2] * 1e3, all[total * 99 / 100] * 1e3,
               all[total - 1] * 1e3, errors, nclients, sthreads, nusers);
    if (total > 0)
        printf("server CPU %.1f us per request (%.2f s total) -> %.0f req/s per core; clients used %.2f s CPU\n",
               server_cpu / (double)total * 1e6, server_cpu, (double)total / server_cpu, client_cpu);
    free(all);
    free(th);
    free(cs);
    api_stop(srv);
    store_close(st);
    free(tokens);
    curl_global_cleanup();
    if (strncmp(db, "sqlite:/tmp/bench_hub_sub_", 26) == 0) {
        unlink(dbpath);
        char side[300];
        snprintf(side, sizeof side, "%s-wal", dbpath);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", dbpath);
        unlink(side);
    }
    return 0;
}
