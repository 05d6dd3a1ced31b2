/* node/probe_guard: bursts of failed REALITY authentications per client network (/24, /48):
 * the threshold over a sliding window, bans of the failing addresses, the dial rate of a flagged
 * network, expiry, other networks untouched, the report for the hub push, table pressure and
 * the limiter that consults it (node/limits.h). Fake clock throughout. */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node/limits.h"
#include "node/probe_guard.h"

#define T0 1000000ull

static struct sock_addr addr(const char *ip)
{
    struct sock_addr a = {0};
    uint8_t raw[16];
    if (inet_pton(AF_INET, ip, raw) == 1)
        sock_addr_from_v4(&a, raw, 443);
    else if (inet_pton(AF_INET6, ip, raw) == 1)
        sock_addr_from_v6(&a, raw, 443);
    else
        fail_msg("bad test address %s", ip);
    return a;
}

static bool admit(struct node_probe_guard *g, const char *ip, uint64_t now, enum node_probe_refusal *why)
{
    struct sock_addr a = addr(ip);
    return node_probe_admit(g, &a, now, why);
}

static bool note(struct node_probe_guard *g, const char *ip, uint64_t now)
{
    struct sock_addr a = addr(ip);
    return node_probe_note_fallback(g, &a, now);
}

static void test_off(void **state)
{
    (void)state;
    struct node_probe_cfg cfg = {0, 60, 600, 2};
    struct node_probe_guard *g = node_probe_new(&cfg);
    assert_non_null(g);
    for (int i = 0; i < 1000; i++)
        assert_false(note(g, "198.51.100.7", T0 + (uint64_t)i));
    assert_true(admit(g, "198.51.100.7", T0 + 1000, NULL));
    struct node_probe_totals t;
    node_probe_totals(g, T0 + 1000, &t);
    assert_int_equal(t.fallbacks, 0);
    node_probe_free(g);
    assert_true(node_probe_admit(NULL, &(struct sock_addr){0}, T0, NULL)); /* no guard: admit */
}

/* A burst from one /24 bans the address that crossed the threshold and every one of that
 * network that fails afterwards; the network's new connections are paced; another /24 is
 * untouched; all of it ends after ban_sec. */
static void test_burst_bans(void **state)
{
    (void)state;
    struct node_probe_cfg cfg = {5, 60, 30, 2};
    struct node_probe_guard *g = node_probe_new(&cfg);
    assert_non_null(g);
    uint64_t t = T0;
    for (int i = 0; i < 4; i++)
        assert_false(note(g, "198.51.100.7", t += 100));
    assert_true(admit(g, "198.51.100.7", t, NULL)); /* below the threshold: nothing changes */
    assert_true(note(g, "198.51.100.7", t += 100)); /* the 5th: flagged, banned */
    enum node_probe_refusal why = NODE_PROBE__COUNT;
    assert_false(admit(g, "198.51.100.7", t += 10, &why));
    assert_int_equal(why, NODE_PROBE_BANNED);
    /* another address of the flagged network: paced at 2 a second (bucket of one second) */
    assert_true(admit(g, "198.51.100.9", t, NULL));
    assert_true(admit(g, "198.51.100.9", t, NULL));
    assert_false(admit(g, "198.51.100.9", t, &why));
    assert_int_equal(why, NODE_PROBE_NET_RATE);
    assert_true(admit(g, "198.51.100.9", t += 500, NULL)); /* one more token after half a second */
    /* ... and banned at its first failure */
    assert_true(note(g, "198.51.100.9", t));
    assert_false(admit(g, "198.51.100.9", t += 600, &why));
    assert_int_equal(why, NODE_PROBE_BANNED);
    /* other networks (a customer elsewhere) are never touched */
    for (int i = 0; i < 10; i++)
        assert_true(admit(g, "198.51.101.1", t, NULL));
    assert_true(admit(g, "203.0.113.5", t, NULL));
    struct node_probe_totals tot;
    node_probe_totals(g, t, &tot);
    assert_int_equal(tot.fallbacks, 6);
    assert_int_equal(tot.flags, 1);
    assert_int_equal(tot.bans, 2);
    assert_int_equal(tot.refused[NODE_PROBE_BANNED], 2);
    assert_int_equal(tot.refused[NODE_PROBE_NET_RATE], 1);
    assert_int_equal(tot.flagged_now, 1);
    assert_int_equal(tot.banned_now, 2);
    /* the report for the hub push: the flagged network with its counts, then nothing */
    struct node_probe_net_report r[4];
    assert_int_equal(node_probe_report(g, r, 4), 1);
    assert_string_equal(r[0].net, "198.51.100.0/24");
    assert_int_equal(r[0].fallbacks, 6);
    assert_int_equal(r[0].bans, 2);
    assert_int_equal(r[0].refused, 3);
    assert_int_equal(node_probe_report(g, r, 4), 0);
    /* ban_sec after the last failure: everything is open again */
    t += 30 * 1000 + 1;
    assert_true(admit(g, "198.51.100.7", t, NULL));
    assert_true(admit(g, "198.51.100.9", t, NULL));
    for (int i = 0; i < 5; i++)
        assert_true(admit(g, "198.51.100.10", t, NULL)); /* no pacing once the flag expired */
    node_probe_totals(g, t, &tot);
    assert_int_equal(tot.flagged_now, 0);
    assert_int_equal(tot.banned_now, 0);
    node_probe_free(g);
}

/* The window slides: a burst split over the boundary still counts, failures two windows
 * apart do not add up. */
static void test_window(void **state)
{
    (void)state;
    struct node_probe_cfg cfg = {8, 60, 30, 0};
    struct node_probe_guard *g = node_probe_new(&cfg);
    for (int i = 0; i < 4; i++)
        assert_false(note(g, "192.0.2.1", T0 + (uint64_t)i));
    for (int i = 0; i < 3; i++) /* 130 s later: the first four are two windows back */
        assert_false(note(g, "192.0.2.1", T0 + 130000 + (uint64_t)i));
    assert_false(note(g, "192.0.2.1", T0 + 130010)); /* 4 + 0: nothing */
    struct node_probe_guard *h = node_probe_new(&cfg);
    assert_false(note(h, "192.0.2.1", T0)); /* the first failure starts the window */
    for (int i = 0; i < 4; i++)
        assert_false(note(h, "192.0.2.1", T0 + 50000 + (uint64_t)i));
    /* 10 s into the next window the previous one still weighs 50/60: 5 x 50/60 + 4 >= 8 */
    for (int i = 0; i < 3; i++)
        assert_false(note(h, "192.0.2.1", T0 + 70000 + (uint64_t)i));
    assert_true(note(h, "192.0.2.1", T0 + 70010));
    assert_true(admit(h, "192.0.2.77", T0 + 70020, NULL)); /* dials_per_sec 0: the network is not paced */
    assert_false(admit(h, "192.0.2.1", T0 + 70020, NULL));
    node_probe_free(g);
    node_probe_free(h);
}

/* IPv6 networks are /48s; v4-mapped addresses are IPv4. */
static void test_ipv6(void **state)
{
    (void)state;
    struct node_probe_cfg cfg = {3, 60, 30, 1};
    struct node_probe_guard *g = node_probe_new(&cfg);
    assert_false(note(g, "2001:db8:1:2::1", T0));
    assert_false(note(g, "2001:db8:1:ffff::5", T0 + 1));
    assert_false(note(g, "2001:db8:2::1", T0 + 2)); /* another /48 */
    assert_true(note(g, "2001:db8:1:7::9", T0 + 3));
    assert_false(admit(g, "2001:db8:1:7::9", T0 + 4, NULL));
    assert_true(admit(g, "2001:db8:2::1", T0 + 4, NULL));
    struct node_probe_net_report r[2];
    assert_int_equal(node_probe_report(g, r, 2), 1);
    assert_string_equal(r[0].net, "2001:db8:1::/48");
    char text[NODE_PROBE_NET_TEXT];
    struct sock_addr m = addr("::ffff:198.51.100.200");
    node_probe_net_text(&m, text);
    assert_string_equal(text, "198.51.100.0/24");
    node_probe_free(g);
}

/* Thousands of networks failing once each (a wide scan) cannot evict a flagged network nor
 * grow memory; the report is capped and sorted by fallbacks. */
static void test_pressure(void **state)
{
    (void)state;
    struct node_probe_cfg cfg = {3, 60, 600, 2};
    struct node_probe_guard *g = node_probe_new(&cfg);
    for (int i = 0; i < 3; i++)
        note(g, "203.0.113.1", T0 + (uint64_t)i);
    for (int i = 0; i < 6; i++)
        note(g, "198.51.100.1", T0 + 10 + (uint64_t)i);
    char ip[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(ip, sizeof ip, "10.%d.%d.1", (i >> 8) & 255, i & 255);
        note(g, ip, T0 + 100 + (uint64_t)i);
    }
    assert_false(admit(g, "203.0.113.1", T0 + 30000, NULL));
    assert_false(admit(g, "198.51.100.1", T0 + 30000, NULL));
    struct node_probe_net_report r[1];
    assert_int_equal(node_probe_report(g, r, 1), 1);
    assert_string_equal(r[0].net, "198.51.100.0/24"); /* the busiest first */
    assert_int_equal(r[0].fallbacks, 6);
    node_probe_free(g);
}

struct race {
    struct node_probe_guard *g;
    int k;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    char ip[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(ip, sizeof ip, "192.0.%d.%d", (r->k * 7 + i) & 3, i & 255);
        struct sock_addr a = addr(ip);
        if ((i & 1) == 0)
            node_probe_note_fallback(r->g, &a, T0 + (uint64_t)i);
        else
            (void)node_probe_admit(r->g, &a, T0 + (uint64_t)i, NULL);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct node_probe_cfg cfg = {50, 60, 600, 5};
    struct node_probe_guard *g = node_probe_new(&cfg);
    pthread_t th[4];
    struct race r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct race){g, i};
        assert_int_equal(pthread_create(&th[i], NULL, racer, &r[i]), 0);
    }
    struct node_probe_net_report rep[16];
    for (int i = 0; i < 50; i++)
        (void)node_probe_report(g, rep, 16);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct node_probe_totals t;
    node_probe_totals(g, T0 + 20000, &t);
    assert_int_equal(t.fallbacks, 4 * 10000);
    assert_int_equal(t.flags, 4); /* four /24s, each flagged once */
    node_probe_free(g);
}

/* Through the node's limiter: a banned source is refused before any REALITY work, counted as
 * kind "probe"; the handshake rate limit still applies to the others. */
static void test_limits(void **state)
{
    (void)state;
    struct node_limits_cfg lc = {.handshakes_per_sec_per_ip = 0, .probe = {3, 60, 30, 0}};
    struct node_limits *l;
    assert_int_equal(node_limits_new(&lc, &l), 0);
    struct sock_addr p = addr("198.51.100.50"), c = addr("203.0.113.8");
    for (int i = 0; i < 3; i++) {
        assert_true(node_limits_handshake(l, &p, T0 + (uint64_t)i));
        node_limits_note_fallback(l, &p, T0 + (uint64_t)i);
    }
    assert_false(node_limits_handshake(l, &p, T0 + 10));
    assert_true(node_limits_handshake(l, &c, T0 + 10));
    assert_int_equal(node_limits_hits(l, NODE_LIMIT_PROBE), 1);
    assert_string_equal(node_limit_kind_str(NODE_LIMIT_PROBE), "probe");
    lc.probe.fallbacks = 0; /* a reload that turns the guard off lifts the bans */
    node_limits_set_cfg(l, &lc);
    assert_true(node_limits_handshake(l, &p, T0 + 20));
    node_limits_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off),    cmocka_unit_test(test_burst_bans), cmocka_unit_test(test_window),
        cmocka_unit_test(test_ipv6),   cmocka_unit_test(test_pressure),   cmocka_unit_test(test_threads),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
