/* Seeds a hub database for bench/run-hub: one plan, 5 nodes and N users with an active
 * subscription each; writes the users' subscription tokens to a file, one per line.
 *   bench_hub_seed <database-url> <users> <tokens-file>
 * (sqlite:/path or postgresql://...; the schema is migrated first, as veil-hub would.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_hub_seed <database-url> <users> <tokens-file>\n");
        return 2;
    }
    size_t nusers = (size_t)strtoul(argv[2], NULL, 10);
    struct store *st;
    if (store_open(argv[1], 4, &st) < 0 || store_migrate(st, NULL) < 0) {
        fprintf(stderr, "bench_hub_seed: cannot open %s\n", argv[1]);
        return 1;
    }
    FILE *out = fopen(argv[3], "w");
    if (out == NULL) {
        fprintf(stderr, "bench_hub_seed: cannot write %s\n", argv[3]);
        store_close(st);
        return 1;
    }
    int64_t now = (int64_t)time(NULL);
    struct hub_plan plan = {.duration_days = 30, .quota_bytes = 100LL << 30, .enabled = true};
    strcpy(plan.name, "Month");
    int rc = store_plan_create(st, &plan, now, NULL);
    for (int i = 0; rc == 0 && i < 5; i++) {
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
        rc = store_node_create(st, &n, hash, now, NULL);
    }
    double t0 = now_s();
    for (size_t i = 0; rc == 0 && i < nusers; i++) {
        struct hub_user u = {.enabled = true};
        uint8_t rnd[64];
        if ((rc = crypto_random(rnd, sizeof rnd)) < 0)
            break;
        snprintf(u.username, sizeof u.username, "user%06zu", i);
        strcpy(u.language, "ru");
        strcpy(u.currency, "RUB");
        hub_uuid_v4_format(u.uuid, rnd);
        hub_sub_token_format(u.sub_token, rnd + 16);
        snprintf(u.referral_code, sizeof u.referral_code, "R%07u", (unsigned)(i % 10000000));
        rc = store_user_create(st, &u, now, NULL);
        if (rc == 0)
            rc = store_sub_grant(st, u.id, plan.id, now, NULL, NULL);
        if (rc == 0)
            fprintf(out, "%s\n", u.sub_token);
    }
    fclose(out);
    store_close(st);
    if (rc < 0) {
        fprintf(stderr, "bench_hub_seed: seeding failed\n");
        return 1;
    }
    fprintf(stderr, "seeded %zu users in %.1f s\n", nusers, now_s() - t0);
    return 0;
}
