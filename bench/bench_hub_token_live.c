/* What the dashboard's per-request token check costs (admin_session_of -> store_token_live:
 * one primary-key lookup joined to the parent token), against a real database.
 *   bench_hub_token_live <database-url> [calls]
 * (sqlite:/path or postgresql://...; migrates the schema, adds one token, times the calls.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub/store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_hub_token_live <database-url> [calls]\n");
        return 2;
    }
    long calls = argc == 3 ? strtol(argv[2], NULL, 10) : 20000;
    struct store *st;
    if (store_open(argv[1], 1, &st) < 0 || store_migrate(st, NULL) < 0) {
        fprintf(stderr, "bench_hub_token_live: cannot open %s\n", argv[1]);
        return 1;
    }
    int64_t now = (int64_t)time(NULL), id = 0;
    char hash[65];
    snprintf(hash, sizeof hash, "%064lld", (long long)now);
    struct store_token_new t = {.name = "bench", .hash = hash, .role = HUB_ROLE_ADMIN, .now = now};
    if (store_token_add_ex(st, &t, &id) < 0) {
        fprintf(stderr, "bench_hub_token_live: cannot add a token\n");
        store_close(st);
        return 1;
    }
    for (long i = 0; i < 100; i++) /* warm: statement prepared, pages cached */
        (void)store_token_live(st, id, now);
    double w0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < calls; i++) {
        if (store_token_live(st, id, now) != 0) {
            fprintf(stderr, "bench_hub_token_live: the token is not live\n");
            store_close(st);
            return 1;
        }
    }
    double wall = now_s() - w0, cpu = cpu_s() - c0;
    printf("store_token_live on %s: %ld calls, %.1f us wall per call, %.1f us of this process's CPU per call\n",
           strncmp(argv[1], "sqlite", 6) == 0 ? "SQLite" : "PostgreSQL", calls, wall * 1e6 / (double)calls,
           cpu * 1e6 / (double)calls);
    store_close(st);
    return 0;
}
