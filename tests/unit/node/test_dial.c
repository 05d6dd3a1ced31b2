/* node/dial: resolve + policy + nonblocking connect on loopback, against the local DNS stub:
 * success, policy refusals (loopback, private via DNS, own address), fallback to the next
 * address, connection refused, overall timeout, cancel, ordering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cfg.h"
#include "core/err.h"
#include "dns_stub.h"
#include "net/loop.h"
#include "net/sock.h"
#include "node/dial.h"
#include "node/dns.h"
#include "node/port_guard.h"
#include "node/usage.h"
#include "node_test_net.h"

static const struct dns_stub_rule rules[] = {
    {"private.test", DNS_STUB_ANSWER, {10, 0, 0, 1}, 4},
    {"loop.test", DNS_STUB_ANSWER, {127, 0, 0, 1}, 4},
    /* first address has no listener (refused at once), the second one has */
    {"fallback.test", DNS_STUB_ANSWER, {127, 0, 0, 2}, 4},
    {"fallback.test", DNS_STUB_ANSWER, {127, 0, 0, 1}, 4},
    {"mixed.test", DNS_STUB_ANSWER, {10, 1, 2, 3}, 4},
    {"mixed.test", DNS_STUB_ANSWER, {93, 184, 216, 34}, 4},
    {"own.test", DNS_STUB_ANSWER, {93, 184, 216, 34}, 4},
    {"slow.test", DNS_STUB_DROP, {0}, 0},
    {"rebind.test", DNS_STUB_ANSWER, {127, 0, 0, 1}, 4},
    {"rebind.test", DNS_STUB_ANSWER, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 16},
};

struct result {
    int calls;
    enum node_dial_result res;
    int err;
    int fd;
    char peer[SOCK_ADDR_STRLEN];
};

static void on_dial(void *arg, enum node_dial_result res, int err, int fd, const struct sock_addr *peer)
{
    struct result *r = arg;
    r->calls++;
    r->res = res;
    r->err = err;
    r->fd = fd;
    r->peer[0] = '\0';
    if (peer)
        sock_addr_format(peer, r->peer, sizeof(r->peer));
}

struct fixture {
    struct dns_stub *stub;
    struct loop *loop;
    struct node_dns *dns;
    int lfd;
    uint16_t lport;
    uint16_t closed_port;
};

static struct fixture fx;

static int setup(void **state)
{
    uint16_t port;
    fx.stub = dns_stub_start(rules, sizeof(rules) / sizeof(rules[0]), &port);
    assert_non_null(fx.stub);
    fx.loop = loop_new();
    assert_non_null(fx.loop);
    char server[32];
    snprintf(server, sizeof(server), "127.0.0.1:%u", port);
    const char *servers[] = {server};
    struct node_dns_opts o = {servers, 1, 3000, 0, 0};
    fx.dns = node_dns_new(fx.loop, &o);
    assert_non_null(fx.dns);

    fx.lfd = node_test_listen(16, &fx.lport);
    fx.closed_port = node_test_closed_port();
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    node_dns_free(fx.dns);
    loop_run_once(fx.loop, 0); /* deferred frees */
    assert_int_equal(loop_io_count(fx.loop), 0);
    assert_int_equal(loop_timer_count(fx.loop), 0);
    loop_free(fx.loop);
    close(fx.lfd);
    dns_stub_stop(fx.stub);
    return 0;
}

static struct node_dialer *dialer(bool allow_private, uint32_t timeout_ms, enum node_dial_order order,
                                  const struct sock_addr *own, size_t n_own)
{
    struct node_dialer_opts o = {allow_private, timeout_ms, order, own, n_own, NULL, 0, NULL, 0};
    struct node_dialer *d = node_dialer_new(fx.loop, fx.dns, &o);
    assert_non_null(d);
    return d;
}

static void wait_for(struct result *r, int max_ms)
{
    uint64_t end = loop_clock_ms() + (uint64_t)max_ms;
    while (r->calls == 0 && loop_clock_ms() < end)
        loop_run_once(fx.loop, 20);
}

static void expect_accept(void)
{
    struct sock_addr peer;
    int c = -1;
    for (int i = 0; i < 100 && c < 0; i++) {
        c = sock_accept(fx.lfd, &peer);
        if (c < 0)
            usleep(1000);
    }
    assert_true(c >= 0);
    close(c);
}

static void test_connect_ip_and_name(void **state)
{
    struct node_dialer *d = dialer(true, 3000, NODE_DIAL_ORDER_IPV4_FIRST, NULL, 0);
    struct result r = {0};
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.lport, 0, on_dial, &r, NULL), 0);
    assert_int_equal(r.calls, 0);
    wait_for(&r, 2000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.res, NODE_DIAL_OK);
    assert_true(r.fd >= 0);
    char want[32];
    snprintf(want, sizeof(want), "127.0.0.1:%u", fx.lport);
    assert_string_equal(r.peer, want);
    close(r.fd);
    expect_accept();

    struct result rl = {0};
    assert_int_equal(node_dial_start(d, "localhost", fx.lport, 0, on_dial, &rl, NULL), 0);
    wait_for(&rl, 2000);
    assert_int_equal(rl.res, NODE_DIAL_OK);
    close(rl.fd);
    expect_accept();

    struct result rn = {0};
    assert_int_equal(node_dial_start(d, "loop.test", fx.lport, 0, on_dial, &rn, NULL), 0);
    wait_for(&rn, 2000);
    assert_int_equal(rn.res, NODE_DIAL_OK);
    close(rn.fd);
    expect_accept();
    assert_int_equal(node_dialer_pending(d), 0);
    node_dialer_free(d);
}

/* veil.blockedPorts: the dialer refuses a blocked port (not the operator's target), the guard
 * counts it by port and books port 25 as an SMTP attempt of the user; a reload lifts it. */
static void test_blocked_ports(void **state)
{
    uint16_t blocked[] = {25, fx.lport};
    struct node_dialer_opts o = {true, 3000, NODE_DIAL_ORDER_IPV4_FIRST, NULL, 0, NULL, 0, blocked, 2};
    struct node_dialer *d = node_dialer_new(fx.loop, fx.dns, &o);
    assert_non_null(d);
    assert_true(node_dial_port_blocked(d, 25));
    assert_true(node_dial_port_blocked(d, fx.lport));
    assert_false(node_dial_port_blocked(d, 443));
    struct result r = {0};
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.lport, 0, on_dial, &r, NULL), ERR_AUTH);
    assert_int_equal(node_dial_start(d, "127.0.0.1", 25, 0, on_dial, &r, NULL), ERR_AUTH);
    assert_int_equal(node_dialer_pending(d), 0);
    /* the REALITY target is the operator's choice */
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.lport, NODE_DIAL_TRUSTED, on_dial, &r, NULL), 0);
    wait_for(&r, 2000);
    assert_int_equal(r.res, NODE_DIAL_OK);
    close(r.fd);
    expect_accept();

    struct node_usage *u = node_usage_new();
    assert_non_null(u);
    uint8_t key[16] = {1, 2, 3};
    struct node_port_flow f = {u, key, 0, 7, "tcp"};
    uint16_t ports[8];
    uint64_t counts[8];
    size_t before = node_port_refusals(ports, counts, 8);
    assert_int_equal(before, 0);
    assert_true(node_port_guard(d, &f, 25));
    assert_true(node_port_guard(d, &f, 25));
    assert_true(node_port_guard(d, &f, fx.lport));
    assert_false(node_port_guard(d, &f, 443));
    struct node_usage_entry e;
    assert_int_equal(node_usage_get(u, key, false, &e), 0);
    assert_int_equal(e.smtp, 2); /* only port 25 is SMTP */
    assert_int_equal(node_port_refusals(ports, counts, 8), 2);
    assert_int_equal(ports[0], 25);
    assert_int_equal(counts[0], 2);
    assert_int_equal(ports[1], fx.lport);
    assert_int_equal(counts[1], 1);

    node_dialer_set_blocked_ports(d, NULL, 0); /* "blockedPorts": [] */
    assert_false(node_port_guard(d, &f, 25));
    struct result r2 = {0};
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.lport, 0, on_dial, &r2, NULL), 0);
    wait_for(&r2, 2000);
    assert_int_equal(r2.res, NODE_DIAL_OK);
    close(r2.fd);
    expect_accept();
    node_usage_free(u);
    node_dialer_free(d);
}

static void test_policy(void **state)
{
    uint8_t own_ip[4] = {93, 184, 216, 34};
    struct sock_addr own;
    sock_addr_from_v4(&own, own_ip, 0);
    struct node_dialer *d = dialer(false, 3000, NODE_DIAL_ORDER_AS_RESOLVED, &own, 1);

    struct result r = {0};
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.lport, 0, on_dial, &r, NULL), 0);
    wait_for(&r, 2000);
    assert_int_equal(r.res, NODE_DIAL_REFUSED);
    assert_int_equal(r.err, ERR_AUTH);
    assert_int_equal(r.fd, -1);

    struct result rp = {0};
    assert_int_equal(node_dial_start(d, "private.test", 443, 0, on_dial, &rp, NULL), 0);
    wait_for(&rp, 2000);
    assert_int_equal(rp.res, NODE_DIAL_REFUSED);
    assert_string_equal(rp.peer, "10.0.0.1:443");

    /* localhost names resolve to loopback without DNS, and are refused */
    struct result rl = {0};
    assert_int_equal(node_dial_start(d, "localhost", 443, 0, on_dial, &rl, NULL), 0);
    wait_for(&rl, 2000);
    assert_int_equal(rl.res, NODE_DIAL_REFUSED);

    /* the node's own public address */
    struct result ro = {0};
    assert_int_equal(node_dial_start(d, "own.test", 443, 0, on_dial, &ro, NULL), 0);
    wait_for(&ro, 2000);
    assert_int_equal(ro.res, NODE_DIAL_REFUSED);

    /* v4-mapped IPv6 of a private address, and of the own address */
    struct result rm = {0}, rm2 = {0};
    assert_int_equal(node_dial_start(d, "::ffff:192.168.1.1", 80, 0, on_dial, &rm, NULL), 0);
    assert_int_equal(node_dial_start(d, "::ffff:93.184.216.34", 80, 0, on_dial, &rm2, NULL), 0);
    wait_for(&rm, 2000);
    wait_for(&rm2, 2000);
    assert_int_equal(rm.res, NODE_DIAL_REFUSED);
    assert_int_equal(rm2.res, NODE_DIAL_REFUSED);

    /* trusted (the REALITY target) skips the policy */
    struct result rt = {0};
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.lport, NODE_DIAL_TRUSTED, on_dial, &rt, NULL), 0);
    wait_for(&rt, 2000);
    assert_int_equal(rt.res, NODE_DIAL_OK);
    close(rt.fd);
    expect_accept();

    /* node_dial_allowed classes */
    static const struct {
        const char *ip;
        bool ok;
        enum sock_addr_class cls;
    } cases[] = {
        {"1.1.1.1", true, SOCK_CLASS_PUBLIC},         {"93.184.216.34", false, SOCK_CLASS_PUBLIC},
        {"127.0.0.1", false, SOCK_CLASS_LOOPBACK},    {"10.9.8.7", false, SOCK_CLASS_PRIVATE},
        {"172.16.0.1", false, SOCK_CLASS_PRIVATE},    {"192.168.0.1", false, SOCK_CLASS_PRIVATE},
        {"100.64.0.1", false, SOCK_CLASS_PRIVATE},    {"169.254.169.254", false, SOCK_CLASS_LINK_LOCAL},
        {"0.0.0.0", false, SOCK_CLASS_UNSPECIFIED},   {"224.0.0.1", false, SOCK_CLASS_MULTICAST},
        {"::1", false, SOCK_CLASS_LOOPBACK},          {"fd00::1", false, SOCK_CLASS_PRIVATE},
        {"fe80::1", false, SOCK_CLASS_LINK_LOCAL},    {"::", false, SOCK_CLASS_UNSPECIFIED},
        {"2606:4700::1111", true, SOCK_CLASS_PUBLIC}, {"::ffff:10.0.0.1", false, SOCK_CLASS_PRIVATE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sock_addr a;
        assert_int_equal(sock_addr_from_ip(&a, cases[i].ip, 1), 0);
        enum sock_addr_class cls;
        bool ok = node_dial_allowed(d, &a, &cls);
        if (ok != cases[i].ok || cls != cases[i].cls)
            fail_msg("%s: allowed %d class %d", cases[i].ip, ok, cls);
    }
    node_dialer_free(d);

    /* allowPrivateDestinations: everything goes */
    d = dialer(true, 3000, NODE_DIAL_ORDER_AS_RESOLVED, &own, 1);
    struct sock_addr a;
    assert_int_equal(sock_addr_from_ip(&a, "127.0.0.1", 1), 0);
    assert_true(node_dial_allowed(d, &a, NULL));
    assert_int_equal(sock_addr_from_ip(&a, "93.184.216.34", 1), 0);
    assert_true(node_dial_allowed(d, &a, NULL));
    node_dialer_free(d);
}

/* Issue 10 item 1: the node's own listeners (here fx.lport) are refused in every spelling even
 * with allowPrivateDestinations, while other loopback ports still connect. */
static void test_own_listeners_refused(void **state)
{
    uint8_t own_ip[4] = {93, 184, 216, 34};
    struct sock_addr own;
    sock_addr_from_v4(&own, own_ip, 0);
    uint16_t ports[] = {fx.lport};
    struct node_dialer_opts o = {true, 3000, NODE_DIAL_ORDER_AS_RESOLVED, &own, 1, ports, 1, NULL, 0};
    struct node_dialer *d = node_dialer_new(fx.loop, fx.dns, &o);
    assert_non_null(d);
    /* These resolve to this host and must be refused by the policy... */
    static const char *const hosts[] = {
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "::",
        "localhost",
        "127.0.0.2",
        "127.1.2.3",
        "loop.test",
        "rebind.test",
        "own.test",
        "::ffff:93.184.216.34",
        "::ffff:0.0.0.0",
        /* ...these numeric spellings either resolve (then refused) or do not: never connected */
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "localhost.",
    };
    const size_t must_refuse = 13;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct result r = {0};
        assert_int_equal(node_dial_start(d, hosts[i], fx.lport, 0, on_dial, &r, NULL), 0);
        wait_for(&r, 3000);
        assert_int_equal(r.calls, 1);
        if (r.res == NODE_DIAL_OK) {
            close(r.fd);
            expect_accept();
            fail_msg("%s:%u reached the node's own listener", hosts[i], fx.lport);
        }
        if (i < must_refuse && r.res != NODE_DIAL_REFUSED)
            fail_msg("%s: result %s", hosts[i], node_dial_result_str(r.res));
    }
    /* a loopback port that is not the node's own still works with allowPrivateDestinations */
    struct sock_addr a;
    assert_int_equal(sock_addr_from_ip(&a, "127.0.0.1", fx.closed_port), 0);
    assert_false(node_dial_is_own_listener(d, &a));
    assert_int_equal(sock_addr_from_ip(&a, "1.1.1.1", fx.lport), 0);
    assert_false(node_dial_is_own_listener(d, &a)); /* another host on the same port */
    assert_int_equal(sock_addr_from_ip(&a, "::ffff:127.0.0.1", fx.lport), 0);
    assert_true(node_dial_is_own_listener(d, &a));
    /* the REALITY target is the operator's choice */
    struct result rt = {0};
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.lport, NODE_DIAL_TRUSTED, on_dial, &rt, NULL), 0);
    wait_for(&rt, 2000);
    assert_int_equal(rt.res, NODE_DIAL_OK);
    close(rt.fd);
    expect_accept();
    node_dialer_free(d);
}

static void test_own_ports_from_cfg(void **state)
{
    static const char json[] =
        "{\"inbounds\": [{\"port\": 8443, \"protocol\": \"vless\", \"settings\": {\"clients\": [{\"id\": "
        "\"b831381d-6324-4d53-ad4f-8cda48b30811\"}], \"decryption\": \"none\"}, \"streamSettings\": {\"network\": "
        "\"raw\", \"security\": \"reality\", \"realitySettings\": {\"target\": \"www.example.com:443\", "
        "\"serverNames\": [\"www.example.com\"], \"privateKey\": \"EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8\", "
        "\"shortIds\": [\"\"]}}}], \"veil\": {\"adminListen\": \"[::1]:9551\", \"adminToken\": "
        "\"0123456789abcdef0123\", \"metricsListen\": \"127.0.0.1:9550\", \"hub\": {\"url\": "
        "\"http://127.0.0.1:8080/\", \"token\": \"node-token-0123456789abcdef\"}}}";
    struct cfg_ctx c;
    cfg_init(&c, "node.json");
    struct node_cfg *cfg = node_cfg_load(&c, json, sizeof(json) - 1);
    if (cfg == NULL)
        cfg_print(&c, stderr);
    assert_non_null(cfg);
    uint16_t p[8];
    size_t n = node_dial_own_ports(cfg, p, 8);
    assert_int_equal(n, 4);
    assert_int_equal(p[0], 8443);
    assert_int_equal(p[1], 9551);
    assert_int_equal(p[2], 9550);
    assert_int_equal(p[3], 8080);
    node_cfg_unref(cfg);
    cfg_dispose(&c);
}

/* mixed.test: the private address is skipped and only the public one is tried. Whether that
 * attempt connects depends on the sandbox, so only the address used is checked. */
static void test_policy_filters_some(void **state)
{
    struct node_dialer *d = dialer(false, 300, NODE_DIAL_ORDER_AS_RESOLVED, NULL, 0);
    struct result r = {0};
    assert_int_equal(node_dial_start(d, "mixed.test", 9, 0, on_dial, &r, NULL), 0);
    wait_for(&r, 3000);
    assert_int_equal(r.calls, 1);
    assert_int_not_equal(r.res, NODE_DIAL_REFUSED);
    assert_string_equal(r.peer, "93.184.216.34:9");
    if (r.res == NODE_DIAL_OK)
        close(r.fd);
    node_dialer_free(d);
}

static void test_fallback_and_refused(void **state)
{
    struct node_dialer *d = dialer(true, 3000, NODE_DIAL_ORDER_AS_RESOLVED, NULL, 0);
    struct result r = {0};
    assert_int_equal(node_dial_start(d, "fallback.test", fx.lport, 0, on_dial, &r, NULL), 0);
    wait_for(&r, 3000);
    assert_int_equal(r.res, NODE_DIAL_OK);
    char want[32];
    snprintf(want, sizeof(want), "127.0.0.1:%u", fx.lport);
    assert_string_equal(r.peer, want);
    close(r.fd);
    expect_accept();

    struct result rc = {0};
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.closed_port, 0, on_dial, &rc, NULL), 0);
    wait_for(&rc, 3000);
    assert_int_equal(rc.res, NODE_DIAL_CONNECT_FAILED);
    assert_int_equal(rc.err, -ECONNREFUSED);
    assert_int_equal(rc.fd, -1);

    struct result rn = {0};
    assert_int_equal(node_dial_start(d, "nxdomain.test", 443, 0, on_dial, &rn, NULL), 0);
    wait_for(&rn, 3000);
    assert_int_equal(rn.res, NODE_DIAL_DNS_FAILED);
    assert_int_equal(rn.err, ERR_NOT_FOUND);

    /* ipv6Only: an IPv4-only name has no usable address */
    node_dialer_free(d);
    d = dialer(true, 3000, NODE_DIAL_ORDER_IPV6_ONLY, NULL, 0);
    struct result r6 = {0};
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.lport, 0, on_dial, &r6, NULL), 0);
    wait_for(&r6, 3000);
    assert_int_equal(r6.res, NODE_DIAL_DNS_FAILED);
    node_dialer_free(d);

    assert_int_equal(node_dial_start(d = dialer(true, 1000, 0, NULL, 0), "", 443, 0, on_dial, &r, NULL), ERR_MALFORMED);
    assert_int_equal(node_dial_start(d, "a.test", 0, 0, on_dial, &r, NULL), ERR_MALFORMED);
    node_dialer_free(d);
}

static void test_timeout(void **state)
{
    struct node_dialer *d = dialer(true, 300, NODE_DIAL_ORDER_AS_RESOLVED, NULL, 0);
    struct result r = {0};
    uint64_t start = loop_clock_ms();
    assert_int_equal(node_dial_start(d, "slow.test", 443, 0, on_dial, &r, NULL), 0);
    wait_for(&r, 3000);
    uint64_t took = loop_clock_ms() - start;
    assert_int_equal(r.res, NODE_DIAL_TIMEOUT);
    assert_int_equal(r.err, ERR_TIMEOUT);
    assert_true(took >= 250 && took < 1500);
    assert_int_equal(node_dialer_pending(d), 0);
    node_dialer_free(d);
}

static void test_cancel_and_free_pending(void **state)
{
    struct node_dialer *d = dialer(true, 3000, NODE_DIAL_ORDER_AS_RESOLVED, NULL, 0);
    struct result r1 = {0}, r2 = {0}, r3 = {0};
    struct node_dial *h1, *h2;
    assert_int_equal(node_dial_start(d, "slow.test", 443, 0, on_dial, &r1, &h1), 0);
    assert_int_equal(node_dial_start(d, "127.0.0.1", fx.lport, 0, on_dial, &r2, &h2), 0);
    node_dial_cancel(h1);
    node_dial_cancel(h2);
    assert_int_equal(node_dial_start(d, "slow.test", 443, 0, on_dial, &r3, NULL), 0);
    for (int i = 0; i < 5; i++)
        loop_run_once(fx.loop, 10);
    assert_int_equal(node_dialer_pending(d), 1);
    node_dialer_free(d); /* r3 never called back */
    for (int i = 0; i < 3; i++)
        loop_run_once(fx.loop, 10);
    assert_int_equal(r1.calls + r2.calls + r3.calls, 0);
}

static void test_local_addrs(void **state)
{
    struct sock_addr *v = NULL;
    size_t n = 0;
    assert_int_equal(node_local_addrs(&v, &n), 0);
    bool loopback = false;
    for (size_t i = 0; i < n; i++)
        loopback |= sock_addr_classify(&v[i]) == SOCK_CLASS_LOOPBACK;
    assert_true(loopback);
    free(v);
    assert_string_equal(node_dial_result_str(NODE_DIAL_REFUSED), "refused");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_ip_and_name),
        cmocka_unit_test(test_blocked_ports),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_policy_filters_some),
        cmocka_unit_test(test_own_listeners_refused),
        cmocka_unit_test(test_own_ports_from_cfg),
        cmocka_unit_test(test_fallback_and_refused),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_cancel_and_free_pending),
        cmocka_unit_test(test_local_addrs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
