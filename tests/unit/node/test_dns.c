/* node/dns: c-ares on the worker loop against a local UDP DNS stub: A/AAAA answers, family
 * selection, NXDOMAIN, SERVFAIL, timeouts, literals, cancel, teardown with pending lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "dns_stub.h"
#include "net/loop.h"
#include "net/sock.h"
#include "node/dns.h"

static const struct dns_stub_rule rules[] = {
    {"good.test", DNS_STUB_ANSWER, {93, 184, 216, 34}, 4},
    {"good.test", DNS_STUB_ANSWER, {0x26, 0x06, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 16},
    {"two.test", DNS_STUB_ANSWER, {1, 1, 1, 1}, 4},
    {"two.test", DNS_STUB_ANSWER, {1, 0, 0, 1}, 4},
    {"v6only.test", DNS_STUB_ANSWER, {0x20, 0x01, 0x48, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x88}, 16},
    {"slow.test", DNS_STUB_DROP, {0}, 0},
    {"broken.test", DNS_STUB_SERVFAIL, {0}, 0},
};

struct result {
    int calls;
    int status;
    size_t n;
    char addrs[NODE_DNS_MAX_ADDRS][SOCK_ADDR_STRLEN];
};

static void on_result(void *arg, int status, const struct sock_addr *addrs, size_t n)
{
    struct result *r = arg;
    r->calls++;
    r->status = status;
    r->n = n;
    for (size_t i = 0; i < n && i < NODE_DNS_MAX_ADDRS; i++)
        assert_true(sock_addr_format_ip(&addrs[i], r->addrs[i], sizeof(r->addrs[i])) > 0);
}

struct fixture {
    struct dns_stub *stub;
    struct loop *loop;
    struct node_dns *dns;
};

static int setup(void **state)
{
    static struct fixture f;
    uint16_t port;
    f.stub = dns_stub_start(rules, sizeof(rules) / sizeof(rules[0]), &port);
    assert_non_null(f.stub);
    f.loop = loop_new();
    assert_non_null(f.loop);
    char server[32];
    snprintf(server, sizeof(server), "127.0.0.1:%u", port);
    const char *servers[] = {server};
    struct node_dns_opts o = {servers, 1, 600, 0, 300};
    f.dns = node_dns_new(f.loop, &o);
    assert_non_null(f.dns);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    node_dns_free(f->dns);
    assert_int_equal(loop_io_count(f->loop), 0);
    assert_int_equal(loop_timer_count(f->loop), 0);
    loop_free(f->loop);
    dns_stub_stop(f->stub);
    return 0;
}

/* Runs the loop until r has been called back or max_ms passed. */
static void wait_for(struct fixture *f, struct result *r, int max_ms)
{
    uint64_t end = loop_clock_ms() + (uint64_t)max_ms;
    while (r->calls == 0 && loop_clock_ms() < end)
        loop_run_once(f->loop, 20);
}

static void test_a_and_aaaa(void **state)
{
    struct fixture *f = *state;
    struct result r = {0};
    assert_int_equal(node_dns_resolve(f->dns, "good.test", AF_UNSPEC, on_result, &r, NULL), 0);
    wait_for(f, &r, 2000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.n, 2);
    bool v4 = false, v6 = false;
    for (size_t i = 0; i < r.n; i++) {
        v4 |= strcmp(r.addrs[i], "93.184.216.34") == 0;
        v6 |= strcmp(r.addrs[i], "2606:2800::1") == 0;
    }
    assert_true(v4 && v6);

    struct result r4 = {0}, r6 = {0};
    assert_int_equal(node_dns_resolve(f->dns, "GOOD.test", AF_INET, on_result, &r4, NULL), 0);
    assert_int_equal(node_dns_resolve(f->dns, "good.test", AF_INET6, on_result, &r6, NULL), 0);
    wait_for(f, &r4, 2000);
    wait_for(f, &r6, 2000);
    assert_int_equal(r4.status, 0);
    assert_int_equal(r4.n, 1);
    assert_string_equal(r4.addrs[0], "93.184.216.34");
    assert_int_equal(r6.status, 0);
    assert_int_equal(r6.n, 1);
    assert_string_equal(r6.addrs[0], "2606:2800::1");

    struct result r2 = {0};
    assert_int_equal(node_dns_resolve(f->dns, "two.test", AF_INET, on_result, &r2, NULL), 0);
    wait_for(f, &r2, 2000);
    assert_int_equal(r2.n, 2);
    assert_int_equal(node_dns_pending(f->dns), 0);
}

static void test_not_found(void **state)
{
    struct fixture *f = *state;
    struct result r = {0};
    assert_int_equal(node_dns_resolve(f->dns, "nope.test", AF_UNSPEC, on_result, &r, NULL), 0);
    wait_for(f, &r, 2000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.status, ERR_NOT_FOUND);
    /* a name without the wanted family */
    struct result r6 = {0};
    assert_int_equal(node_dns_resolve(f->dns, "two.test", AF_INET6, on_result, &r6, NULL), 0);
    wait_for(f, &r6, 2000);
    assert_int_equal(r6.status, ERR_NOT_FOUND);
    struct result rv = {0};
    assert_int_equal(node_dns_resolve(f->dns, "v6only.test", AF_UNSPEC, on_result, &rv, NULL), 0);
    wait_for(f, &rv, 2000);
    assert_int_equal(rv.status, 0);
    assert_int_equal(rv.n, 1);
    assert_string_equal(rv.addrs[0], "2001:4860::8888");
}

static void test_servfail_and_timeout(void **state)
{
    struct fixture *f = *state;
    struct result r = {0};
    assert_int_equal(node_dns_resolve(f->dns, "broken.test", AF_INET, on_result, &r, NULL), 0);
    wait_for(f, &r, 3000);
    assert_int_equal(r.calls, 1);
    assert_int_not_equal(r.status, 0);

    struct result t = {0};
    uint64_t start = loop_clock_ms();
    assert_int_equal(node_dns_resolve(f->dns, "slow.test", AF_INET, on_result, &t, NULL), 0);
    wait_for(f, &t, 5000);
    uint64_t took = loop_clock_ms() - start;
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.status, ERR_TIMEOUT);
    assert_true(took >= 150 && took < 3000); /* budget 600 ms: 200 + 400 */
    assert_int_equal(loop_timer_count(f->loop), 0);
}

static void test_literals(void **state)
{
    struct fixture *f = *state;
    size_t before = dns_stub_queries(f->stub);
    struct result r = {0}, r6 = {0}, bad = {0};
    assert_int_equal(node_dns_resolve(f->dns, "10.0.0.1", AF_UNSPEC, on_result, &r, NULL), 0);
    assert_int_equal(node_dns_resolve(f->dns, "::1", AF_UNSPEC, on_result, &r6, NULL), 0);
    assert_int_equal(node_dns_resolve(f->dns, "10.0.0.1", AF_INET6, on_result, &bad, NULL), 0);
    assert_int_equal(r.calls, 0); /* never re-entrant */
    wait_for(f, &r, 1000);
    wait_for(f, &bad, 1000);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.addrs[0], "10.0.0.1");
    assert_int_equal(r6.status, 0);
    assert_string_equal(r6.addrs[0], "::1");
    assert_int_equal(bad.status, ERR_NOT_FOUND);
    assert_int_equal(dns_stub_queries(f->stub), before);

    struct result lh = {0}, lh4 = {0}, lh6 = {0}, notlh = {0};
    assert_int_equal(node_dns_resolve(f->dns, "localhost", AF_UNSPEC, on_result, &lh, NULL), 0);
    assert_int_equal(node_dns_resolve(f->dns, "foo.LOCALHOST.", AF_INET, on_result, &lh4, NULL), 0);
    assert_int_equal(node_dns_resolve(f->dns, "localhost", AF_INET6, on_result, &lh6, NULL), 0);
    assert_int_equal(node_dns_resolve(f->dns, "notlocalhost", AF_INET, on_result, &notlh, NULL), 0);
    assert_int_equal(lh.calls, 0);
    wait_for(f, &lh, 1000);
    wait_for(f, &lh4, 1000);
    wait_for(f, &lh6, 1000);
    wait_for(f, &notlh, 2000);
    assert_int_equal(lh.n, 2);
    assert_string_equal(lh.addrs[0], "127.0.0.1");
    assert_string_equal(lh.addrs[1], "::1");
    assert_int_equal(lh4.n, 1);
    assert_string_equal(lh4.addrs[0], "127.0.0.1");
    assert_int_equal(lh6.n, 1);
    assert_string_equal(lh6.addrs[0], "::1");
    assert_int_equal(notlh.status, ERR_NOT_FOUND);
    assert_int_equal(dns_stub_queries(f->stub), before + 1);

    assert_int_equal(node_dns_resolve(f->dns, "", AF_UNSPEC, on_result, &r, NULL), ERR_MALFORMED);
    assert_int_equal(node_dns_resolve(f->dns, "a.test", 12345, on_result, &r, NULL), ERR_MALFORMED);
}

static void test_cancel(void **state)
{
    struct fixture *f = *state;
    struct result r = {0}, lit = {0}, other = {0};
    struct node_dns_query *q = NULL, *ql = NULL;
    assert_int_equal(node_dns_resolve(f->dns, "good.test", AF_INET, on_result, &r, &q), 0);
    assert_int_equal(node_dns_resolve(f->dns, "1.2.3.4", AF_INET, on_result, &lit, &ql), 0);
    assert_int_equal(node_dns_resolve(f->dns, "two.test", AF_INET, on_result, &other, NULL), 0);
    node_dns_cancel(q);
    node_dns_cancel(ql);
    wait_for(f, &other, 2000);
    for (int i = 0; i < 10; i++)
        loop_run_once(f->loop, 20);
    assert_int_equal(other.calls, 1);
    assert_int_equal(r.calls, 0);
    assert_int_equal(lit.calls, 0);
    assert_int_equal(node_dns_pending(f->dns), 0);
}

/* Freeing the resolver with lookups in flight calls nobody back and leaks nothing. */
static void test_free_pending(void **state)
{
    struct fixture *f = *state;
    struct result r = {0}, lit = {0};
    assert_int_equal(node_dns_resolve(f->dns, "slow.test", AF_INET, on_result, &r, NULL), 0);
    assert_int_equal(node_dns_resolve(f->dns, "5.6.7.8", AF_INET, on_result, &lit, NULL), 0);
    loop_run_once(f->loop, 0);
    assert_true(node_dns_pending(f->dns) >= 1);
    /* teardown frees it */
    assert_int_equal(r.calls, 0);
}

/* Answers are cached per resolver (case-insensitively, per family) until their TTL, clamped to
 * cache_max_ttl_ms (300 ms in this fixture); NXDOMAIN too; timeouts are not. */
static void test_cache(void **state)
{
    struct fixture *f = *state;
    size_t q0 = dns_stub_queries(f->stub);
    struct result r1 = {0}, r2 = {0}, r3 = {0};
    assert_int_equal(node_dns_resolve(f->dns, "good.test", AF_INET, on_result, &r1, NULL), 0);
    wait_for(f, &r1, 2000);
    assert_int_equal(r1.status, 0);
    size_t q1 = dns_stub_queries(f->stub);
    assert_int_equal(q1, q0 + 1);
    assert_int_equal(node_dns_resolve(f->dns, "GOOD.TEST", AF_INET, on_result, &r2, NULL), 0);
    assert_int_equal(r2.calls, 0); /* never re-entrant, even from the cache */
    wait_for(f, &r2, 1000);
    assert_int_equal(r2.status, 0);
    assert_int_equal(r2.n, 1);
    assert_string_equal(r2.addrs[0], "93.184.216.34");
    assert_int_equal(dns_stub_queries(f->stub), q1);
    assert_int_equal(node_dns_cache_hits(f->dns), 1);
    /* another family is another entry */
    assert_int_equal(node_dns_resolve(f->dns, "good.test", AF_INET6, on_result, &r3, NULL), 0);
    wait_for(f, &r3, 2000);
    assert_int_equal(dns_stub_queries(f->stub), q1 + 1);

    struct result n1 = {0}, n2 = {0};
    assert_int_equal(node_dns_resolve(f->dns, "nx.test", AF_INET, on_result, &n1, NULL), 0);
    wait_for(f, &n1, 2000);
    assert_int_equal(n1.status, ERR_NOT_FOUND);
    size_t q2 = dns_stub_queries(f->stub);
    assert_int_equal(node_dns_resolve(f->dns, "nx.test", AF_INET, on_result, &n2, NULL), 0);
    wait_for(f, &n2, 1000);
    assert_int_equal(n2.status, ERR_NOT_FOUND);
    assert_int_equal(dns_stub_queries(f->stub), q2);

    /* expiry */
    uint64_t end = loop_clock_ms() + 350;
    while (loop_clock_ms() < end)
        loop_run_once(f->loop, 20);
    struct result r4 = {0};
    assert_int_equal(node_dns_resolve(f->dns, "good.test", AF_INET, on_result, &r4, NULL), 0);
    wait_for(f, &r4, 2000);
    assert_int_equal(r4.status, 0);
    assert_int_equal(dns_stub_queries(f->stub), q2 + 1);
    assert_int_equal(node_dns_queries(f->dns), 4);

    /* a timeout is not cached: the next lookup asks again */
    struct result t1 = {0}, t2 = {0};
    assert_int_equal(node_dns_resolve(f->dns, "slow.test", AF_INET, on_result, &t1, NULL), 0);
    wait_for(f, &t1, 3000);
    assert_int_equal(t1.status, ERR_TIMEOUT);
    assert_int_equal(node_dns_resolve(f->dns, "slow.test", AF_INET, on_result, &t2, NULL), 0);
    assert_int_equal(node_dns_pending(f->dns), 1);
    wait_for(f, &t2, 3000);
    assert_int_equal(t2.status, ERR_TIMEOUT);
}

/* Default servers from resolv.conf: creating the channel must work without a server list. */
static void test_default_servers(void **state)
{
    struct loop *loop = loop_new();
    assert_non_null(loop);
    struct node_dns *d = node_dns_new(loop, NULL);
    assert_non_null(d);
    node_dns_free(d);
    const char *bad[] = {"not an address"};
    struct node_dns_opts o = {bad, 1, 1000, 0, 0};
    assert_null(node_dns_new(loop, &o));
    const char *v6[] = {"::1", "[::1]:5353", "127.0.0.1"};
    struct node_dns_opts o6 = {v6, 3, 1000, SIZE_MAX, 0};
    d = node_dns_new(loop, &o6);
    assert_non_null(d);
    node_dns_free(d);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_and_aaaa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_servfail_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
        cmocka_unit_test(test_default_servers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
