/* node/limits.c: device sets with a window, max connections, shared speed buckets, per-IP
 * handshake rate, Redis URL checks. (Redis sharing itself: tests/integration/test_node_limits.sh.) */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "node/limits.h"

static const uint8_t KEY_A[16] = {1, 2, 3, 4, 5, 6, 0, 0, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t KEY_B[16] = {9, 9, 9, 9, 9, 9, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9};

static struct sock_addr v4(const char *ip)
{
    struct sock_addr a;
    assert_int_equal(sock_addr_parse(&a, ip), 0);
    return a;
}

static struct node_limits *mk(uint32_t window, uint32_t hs)
{
    struct node_limits_cfg cfg = {.device_window_sec = window, .handshakes_per_sec_per_ip = hs};
    struct node_limits *l = NULL;
    assert_int_equal(node_limits_new(&cfg, &l), 0);
    return l;
}

static void test_device_limit(void **state)
{
    (void)state;
    struct node_limits *l = mk(60, 0);
    struct node_user_limits ul = {.devices = 2};
    struct sock_addr a = v4("127.0.0.2:1000"), b = v4("127.0.0.3:1000"), c = v4("127.0.0.4:1000");
    struct node_limits_ticket t1, t2, t3, t4;
    enum node_limit_kind kind = NODE_LIMIT__COUNT;
    uint64_t now = 1000000;
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, now, false, &t1, &kind), 0);
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &b, now, false, &t2, &kind), 0);
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &c, now, false, &t3, &kind), ERR_LIMIT);
    assert_int_equal(kind, NODE_LIMIT_DEVICE);
    assert_null(t3.e);
    /* an IP in the set keeps working; another user is independent */
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, now, false, &t4, &kind), 0);
    assert_int_equal(node_limits_admit(l, KEY_B, &ul, &c, now, false, &t3, &kind), 0);
    assert_int_equal(node_limits_devices(l, KEY_A, now), 2);
    /* closed tunnels keep their IP for the window... */
    node_limits_release(l, &t1, now);
    node_limits_release(l, &t2, now);
    node_limits_release(l, &t4, now);
    node_limits_release(l, &t4, now); /* idempotent */
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &c, now + 59000, false, &t1, &kind), ERR_LIMIT);
    /* ...and no longer after it */
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &c, now + 60000, false, &t1, &kind), 0);
    assert_int_equal(node_limits_devices(l, KEY_A, now + 60000), 1);
    node_limits_release(l, &t1, now + 60000);
    node_limits_release(l, &t3, now + 60000);
    assert_int_equal(node_limits_hits(l, NODE_LIMIT_DEVICE), 2);
    node_limits_free(l);
}

static void test_active_ip_never_expires(void **state)
{
    (void)state;
    struct node_limits *l = mk(10, 0);
    struct node_user_limits ul = {.devices = 1};
    struct sock_addr a = v4("10.0.0.1:1"), b = v4("10.0.0.2:1");
    struct node_limits_ticket t1, t2;
    enum node_limit_kind kind;
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, 5000, false, &t1, &kind), 0);
    /* a tunnel still open an hour later still holds its device slot */
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &b, 5000 + 3600000, false, &t2, &kind), ERR_LIMIT);
    node_limits_release(l, &t1, 5000 + 3600000);
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &b, 5000 + 3600000 + 10000, false, &t2, &kind), 0);
    node_limits_release(l, &t2, 0);
    node_limits_free(l);
}

static void test_max_conns(void **state)
{
    (void)state;
    struct node_limits *l = mk(0, 0);
    struct node_user_limits ul = {.max_conns = 2};
    struct sock_addr a = v4("127.0.0.2:1");
    struct node_limits_ticket t[3];
    enum node_limit_kind kind;
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, 1, false, &t[0], &kind), 0);
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, 1, false, &t[1], &kind), 0);
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, 1, false, &t[2], &kind), ERR_LIMIT);
    assert_int_equal(kind, NODE_LIMIT_CONNS);
    node_limits_release(l, &t[0], 2);
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, 2, false, &t[2], &kind), 0);
    node_limits_release(l, &t[1], 2);
    node_limits_release(l, &t[2], 2);
    assert_int_equal(node_limits_hits(l, NODE_LIMIT_CONNS), 1);
    /* a user without limits takes no entry */
    struct node_user_limits none = {0};
    assert_int_equal(node_limits_admit(l, KEY_B, &none, &a, 2, false, &t[0], &kind), 0);
    assert_null(t[0].e);
    assert_null(node_limits_rate(&t[0], RELAY_A_TO_B).take);
    node_limits_free(l);
}

static void test_speed_shared(void **state)
{
    (void)state;
    struct node_limits *l = mk(0, 0);
    struct node_user_limits ul = {.bytes_per_sec = 100000};
    struct sock_addr a = v4("127.0.0.2:1");
    struct node_limits_ticket t1, t2;
    enum node_limit_kind kind;
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, 1, false, &t1, &kind), 0);
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, 1, false, &t2, &kind), 0);
    struct relay_shared_rate r1 = node_limits_rate(&t1, RELAY_B_TO_A), r2 = node_limits_rate(&t2, RELAY_B_TO_A);
    struct relay_shared_rate up = node_limits_rate(&t1, RELAY_A_TO_B);
    assert_non_null(r1.take);
    assert_ptr_equal(r1.arg, r2.arg); /* one bucket for all the user's tunnels */
    assert_ptr_not_equal(r1.arg, up.arg);
    /* the burst (a quarter second) passes, then both tunnels share the debt */
    assert_int_equal(r1.take(r1.arg, 25000), 0);
    uint64_t w1 = r1.take(r1.arg, 50000);
    assert_true(w1 >= 450 && w1 <= 510);
    uint64_t w2 = r2.take(r2.arg, 50000); /* the other tunnel waits for both */
    assert_true(w2 >= 950 && w2 <= 1010);
    assert_true(r2.take(r2.arg, 0) > 900);      /* asking again books nothing */
    assert_int_equal(up.take(up.arg, 1000), 0); /* the other direction is separate */
    node_limits_release(l, &t1, 1);
    node_limits_release(l, &t2, 1);
    node_limits_free(l);
}

static void test_handshake_rate(void **state)
{
    (void)state;
    struct node_limits *l = mk(0, 5);
    struct sock_addr a = v4("192.0.2.1:1"), b = v4("192.0.2.2:1");
    uint64_t now = 100000;
    for (int i = 0; i < 5; i++)
        assert_true(node_limits_handshake(l, &a, now));
    assert_false(node_limits_handshake(l, &a, now));
    assert_true(node_limits_handshake(l, &b, now)); /* per IP */
    assert_false(node_limits_handshake(l, &a, now + 100));
    assert_true(node_limits_handshake(l, &a, now + 200)); /* refilled one */
    assert_int_equal(node_limits_hits(l, NODE_LIMIT_HANDSHAKE), 2);
    /* many IPs: the table forgets old ones rather than growing */
    char ip[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.1:1", i / 256, i % 256);
        struct sock_addr x = v4(ip);
        assert_true(node_limits_handshake(l, &x, now + 300));
    }
    struct node_limits_cfg off = {.device_window_sec = 60};
    node_limits_set_cfg(l, &off);
    for (int i = 0; i < 50; i++)
        assert_true(node_limits_handshake(l, &a, now + 300));
    assert_true(node_limits_handshake(NULL, &a, now));
    node_limits_free(l);
}

static void test_redis_url(void **state)
{
    (void)state;
    char err[128];
    assert_int_equal(node_limits_redis_url_check("redis://127.0.0.1:6379/2", err, sizeof(err)), 0);
    assert_int_equal(node_limits_redis_url_check("redis://:secret@[::1]:7000", err, sizeof(err)), 0);
    assert_int_equal(node_limits_redis_url_check("redis://localhost", err, sizeof(err)), 0);
    assert_int_equal(node_limits_redis_url_check("unix:/run/redis.sock", err, sizeof(err)), 0);
    assert_int_equal(node_limits_redis_url_check("http://x", err, sizeof(err)), ERR_CONFIG);
    assert_int_equal(node_limits_redis_url_check("redis://", err, sizeof(err)), ERR_CONFIG);
    assert_int_equal(node_limits_redis_url_check("redis://h:99999", err, sizeof(err)), ERR_CONFIG);
    assert_int_equal(node_limits_redis_url_check("redis://h/x", err, sizeof(err)), ERR_CONFIG);
    assert_int_equal(node_limits_redis_url_check("unix:rel", err, sizeof(err)), ERR_CONFIG);
    assert_int_equal(node_limits_redis_url_check("redis://[::1", err, sizeof(err)), ERR_CONFIG);
}

static void test_redis_down_falls_back(void **state)
{
    (void)state;
    /* nothing listens on port 1: the sync thread keeps retrying, decisions stay local */
    struct node_limits_cfg cfg = {.device_window_sec = 60, .redis_url = "redis://127.0.0.1:1", .redis_timeout_ms = 50};
    struct node_limits *l = NULL;
    assert_int_equal(node_limits_new(&cfg, &l), 0);
    struct node_user_limits ul = {.devices = 1};
    struct sock_addr a = v4("127.0.0.2:1"), b = v4("127.0.0.3:1");
    struct node_limits_ticket t1, t2;
    enum node_limit_kind kind;
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, 1000, true, &t1, &kind), 0);
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &b, 1000, true, &t2, &kind), ERR_LIMIT);
    assert_false(node_limits_redis_up(l));
    node_limits_release(l, &t1, 1000);
    node_limits_free(l);
    struct node_limits_cfg bad = {.redis_url = "nope"};
    assert_int_equal(node_limits_new(&bad, &l), ERR_CONFIG);
}

/* Worker threads admitting, throttling and releasing the same users at once (TSan/ASan food). */
struct hammer {
    struct node_limits *l;
    int seed;
    int refused;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    struct node_user_limits ul = {.devices = 3, .max_conns = 50, .bytes_per_sec = 1u << 30};
    char ip[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(ip, sizeof(ip), "127.0.%d.%d:1", h->seed, i % 4);
        struct sock_addr a;
        sock_addr_parse(&a, ip);
        uint8_t key[16] = {(uint8_t)(i % 7)};
        struct node_limits_ticket t;
        enum node_limit_kind kind;
        if (node_limits_admit(h->l, key, &ul, &a, 1000 + (uint64_t)i, true, &t, &kind) < 0) {
            h->refused++;
            continue;
        }
        struct relay_shared_rate r = node_limits_rate(&t, RELAY_B_TO_A);
        (void)r.take(r.arg, 1000);
        (void)node_limits_handshake(h->l, &a, 1000 + (uint64_t)i);
        node_limits_release(h->l, &t, 1000 + (uint64_t)i);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct node_limits *l = mk(60, 1000);
    pthread_t th[4];
    struct hammer h[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){l, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
    }
    int refused = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        refused += h[i].refused;
    }
    /* 16 IPs per user over a limit of 3: most tunnels from the other threads' IPs are refused */
    assert_true(refused > 0);
    assert_int_equal((uint64_t)refused, node_limits_hits(l, NODE_LIMIT_DEVICE));
    for (int k = 0; k < 7; k++) {
        uint8_t key[16] = {(uint8_t)k};
        assert_true(node_limits_devices(l, key, 6000) <= 3);
    }
    node_limits_free(l);
}

static long resident_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = -1;
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = -1;
        fclose(f);
    }
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The per-IP table (~640 kB of buckets) and the probe guard's stripes (~160 kB) are resident
 * only once used: a fresh node holding a few users does not pay for them. */
static void test_tables_resident_lazily(void **state)
{
    (void)state;
    long before = resident_kb();
    if (before < 0)
        skip();
    struct node_limits *l = mk(300, 0);
    long grew = resident_kb() - before;
    assert_true(grew < 300); /* ~800 kB when every bucket's mutex was initialised */
    struct sock_addr a = v4("127.0.0.2:1000");
    struct node_user_limits ul = {.devices = 1};
    struct node_limits_ticket t;
    enum node_limit_kind kind = NODE_LIMIT__COUNT;
    assert_int_equal(node_limits_admit(l, KEY_A, &ul, &a, 1000000, false, &t, &kind), 0); /* its mutex works */
    node_limits_release(l, &t, 1000000);
    node_limits_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_resident_lazily), /* first: fresh memory, not a freed table's pages */
        cmocka_unit_test(test_device_limit),
        cmocka_unit_test(test_active_ip_never_expires),
        cmocka_unit_test(test_max_conns),
        cmocka_unit_test(test_speed_shared),
        cmocka_unit_test(test_handshake_rate),
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_redis_down_falls_back),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
