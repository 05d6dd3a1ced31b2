/* node/usage.c: per-user counters (exact under concurrent reporters), atomic read-and-reset,
 * open tunnels and users online, top-N by total bytes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "node/usage.h"

#define THREADS 8
#define USERS 300 /* several stripes, each table grown a few times */
#define ROUNDS 2000

static void key_of(unsigned i, uint8_t key[16])
{
    memset(key, 0, 16);
    key[0] = (uint8_t)(i >> 8);
    key[1] = (uint8_t)i;
    key[15] = 0x5a;
    key[9] = (uint8_t)(i * 37);
}

static void test_key(void **state)
{
    (void)state;
    uint8_t id[16], key[16];
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(0xa0 + i);
    node_usage_key(id, key);
    assert_int_equal(key[6], 0);
    assert_int_equal(key[7], 0);
    assert_int_equal(key[5], 0xa5);
    assert_int_equal(key[8], 0xa8);
}

static void test_basic(void **state)
{
    (void)state;
    struct node_usage *u = node_usage_new();
    assert_non_null(u);
    uint8_t a[16], b[16];
    key_of(1, a);
    key_of(2, b);
    struct node_usage_entry e;
    assert_int_equal(node_usage_get(u, a, false, &e), ERR_NOT_FOUND);
    assert_int_equal(e.up + e.down, 0);
    node_usage_add(u, a, 0, 100, 2000);
    node_usage_add(u, a, 7, 1, 0);
    node_usage_add(u, b, 0, 0, 0); /* nothing: no entry */
    assert_int_equal(node_usage_users(u), 1);
    assert_int_equal(node_usage_get(u, a, false, &e), 0);
    assert_int_equal(e.up, 101);
    assert_int_equal(e.down, 2000);
    assert_int_equal(e.hub_id, 7);
    /* read-and-reset returns the values and zeroes only the "since reset" counters */
    assert_int_equal(node_usage_get(u, a, true, &e), 0);
    assert_int_equal(e.up, 101);
    assert_int_equal(e.down, 2000);
    assert_int_equal(node_usage_get(u, a, false, &e), 0);
    assert_int_equal(e.up, 0);
    assert_int_equal(e.down, 0);
    assert_int_equal(e.total_up, 101);
    assert_int_equal(e.total_down, 2000);
    /* open tunnels and users online */
    assert_true(node_usage_open(u, a, 0));
    assert_true(node_usage_open(u, a, 0));
    assert_true(node_usage_open(u, b, 0));
    assert_int_equal(node_usage_online(u), 2);
    node_usage_close(u, a);
    assert_int_equal(node_usage_online(u), 2);
    node_usage_close(u, a);
    assert_int_equal(node_usage_online(u), 1);
    node_usage_close(u, a); /* unbalanced: ignored */
    node_usage_close(u, b);
    assert_int_equal(node_usage_online(u), 0);
    assert_int_equal(node_usage_get(u, b, false, &e), 0);
    assert_int_equal(e.active, 0);
    assert_int_equal(node_usage_lost(u), 0);
    node_usage_free(u);
    /* NULL = accounting off */
    node_usage_add(NULL, a, 0, 1, 1);
    assert_false(node_usage_open(NULL, a, 0));
    node_usage_close(NULL, a);
    assert_int_equal(node_usage_online(NULL), 0);
    node_usage_free(NULL);
}

struct worker_arg {
    struct node_usage *u;
    unsigned seed;
};

/* Each thread adds (t+1) up and 2(t+1) down per user per round, and opens/closes tunnels. */
static void *adder(void *p)
{
    struct worker_arg *a = p;
    uint8_t key[16];
    for (unsigned r = 0; r < ROUNDS; r++) {
        unsigned i = (r * 7919u + a->seed * 104729u) % USERS;
        key_of(i, key);
        for (unsigned k = 0; k < USERS / 10; k++) {
            unsigned j = (i + k * 13u) % USERS;
            key_of(j, key);
            node_usage_add(a->u, key, 0, a->seed + 1, 2 * (a->seed + 1));
            bool counted = node_usage_open(a->u, key, 0);
            node_usage_close(a->u, key);
            assert_true(counted);
        }
    }
    return NULL;
}

struct resetter_arg {
    struct node_usage *u;
    _Atomic int *stop;
    uint64_t up, down;
};

/* Resets everything in a loop while the adders run; sums what it took. */
static void *resetter(void *p)
{
    struct resetter_arg *a = p;
    while (!atomic_load(a->stop)) {
        struct node_usage_entry *v;
        size_t n;
        assert_int_equal(node_usage_list(a->u, true, &v, &n), 0);
        for (size_t i = 0; i < n; i++) {
            a->up += v[i].up;
            a->down += v[i].down;
        }
        free(v);
        /* one user on its own too */
        uint8_t key[16];
        key_of((unsigned)(a->up % USERS), key);
        struct node_usage_entry e;
        if (node_usage_get(a->u, key, true, &e) == 0) {
            a->up += e.up;
            a->down += e.down;
        }
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct node_usage *u = node_usage_new();
    assert_non_null(u);
    pthread_t th[THREADS], rt;
    struct worker_arg wa[THREADS];
    _Atomic int stop = 0;
    struct resetter_arg ra = {.u = u, .stop = &stop};
    assert_int_equal(pthread_create(&rt, NULL, resetter, &ra), 0);
    for (unsigned t = 0; t < THREADS; t++) {
        wa[t] = (struct worker_arg){u, t};
        assert_int_equal(pthread_create(&th[t], NULL, adder, &wa[t]), 0);
    }
    for (unsigned t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    atomic_store(&stop, 1);
    pthread_join(rt, NULL);
    /* Expected: every thread adds USERS/10 reports per round. */
    uint64_t per_thread_reports = (uint64_t)ROUNDS * (USERS / 10);
    uint64_t want_up = 0;
    for (unsigned t = 0; t < THREADS; t++)
        want_up += per_thread_reports * (t + 1);
    struct node_usage_entry *v;
    size_t n;
    assert_int_equal(node_usage_list(u, false, &v, &n), 0);
    assert_int_equal(n, USERS);
    uint64_t left_up = 0, left_down = 0, total_up = 0, total_down = 0;
    for (size_t i = 0; i < n; i++) {
        left_up += v[i].up;
        left_down += v[i].down;
        total_up += v[i].total_up;
        total_down += v[i].total_down;
        assert_int_equal(v[i].active, 0);
    }
    free(v);
    /* every byte once: monotonic totals exact, resets + what is left = the same */
    assert_int_equal(total_up, want_up);
    assert_int_equal(total_down, 2 * want_up);
    assert_int_equal(ra.up + left_up, want_up);
    assert_int_equal(ra.down + left_down, 2 * want_up);
    assert_int_equal(node_usage_online(u), 0);
    assert_int_equal(node_usage_users(u), USERS);
    node_usage_free(u);
}

static void test_top(void **state)
{
    (void)state;
    struct node_usage *u = node_usage_new();
    uint8_t key[16];
    for (unsigned i = 0; i < 100; i++) {
        key_of(i, key);
        node_usage_add(u, key, 0, i * 10, i); /* weight 11 i */
    }
    key_of(500, key);
    node_usage_open(u, key, 0); /* no bytes: never in the top */
    struct node_usage_entry top[5];
    assert_int_equal(node_usage_top(u, 5, top), 5);
    for (unsigned k = 0; k < 5; k++) {
        uint8_t want[16];
        key_of(99 - k, want);
        assert_memory_equal(top[k].key, want, 16);
        assert_int_equal(top[k].total_up + top[k].total_down, 11 * (99 - k));
    }
    /* resets do not change the ranking (totals) */
    struct node_usage_entry *v;
    size_t n;
    assert_int_equal(node_usage_list(u, true, &v, &n), 0);
    free(v);
    assert_int_equal(n, 100); /* user 0 reported nothing: no entry */
    struct node_usage_entry all[200];
    assert_int_equal(node_usage_top(u, 200, all), 99); /* user 0 and the idle one have 0 bytes */
    for (size_t k = 1; k < 99; k++)
        assert_true(all[k - 1].total_up >= all[k].total_up);
    assert_int_equal(node_usage_top(u, 0, all), 0);
    node_usage_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_top),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
