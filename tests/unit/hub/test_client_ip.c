/* client_ip: CIDR parsing and the right-most-untrusted X-Forwarded-For rule (issue 10 #3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/client_ip.h"

static void test_net_parse(void **state)
{
    (void)state;
    struct client_ip_net n;
    assert_int_equal(client_ip_net_parse("10.0.0.0/8", &n), 0);
    assert_int_equal(n.family, 4);
    assert_int_equal(n.prefix, 8);
    assert_int_equal(client_ip_net_parse("127.0.0.1", &n), 0);
    assert_int_equal(n.prefix, 32);
    assert_int_equal(client_ip_net_parse("2001:db8::/32", &n), 0);
    assert_int_equal(n.family, 6);
    assert_int_equal(client_ip_net_parse("::ffff:10.1.0.0/16", &n), 0); /* mapped: kept as IPv4 */
    assert_int_equal(n.family, 4);
    assert_int_equal(client_ip_net_parse("0.0.0.0/0", &n), 0);
    static const char *const bad[] = {
        "",       "10.0.0.0/", "10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0/8",
        "host/8", "::/129",    "10.0.0.0/8 ", " 10.0.0.0",  "10.0.0.0/8x", "[::1]/128"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (client_ip_net_parse(bad[i], &n) != ERR_MALFORMED)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

static void test_in_nets(void **state)
{
    (void)state;
    struct client_ip_net nets[2];
    assert_int_equal(client_ip_net_parse("192.168.4.0/22", &nets[0]), 0);
    assert_int_equal(client_ip_net_parse("fd00::/8", &nets[1]), 0);
    assert_true(client_ip_in_nets("192.168.7.255", nets, 2));
    assert_false(client_ip_in_nets("192.168.8.0", nets, 2));
    assert_true(client_ip_in_nets("::ffff:192.168.5.1", nets, 2));
    assert_true(client_ip_in_nets("fd12::1", nets, 2));
    assert_false(client_ip_in_nets("fe80::1", nets, 2));
    assert_false(client_ip_in_nets("not-an-ip", nets, 2));
    assert_false(client_ip_in_nets(NULL, nets, 2));
    assert_false(client_ip_in_nets("192.168.5.1", nets, 0));
}

static const char *resolve(const char *peer, const char *xff, const char *const *trusted, size_t n)
{
    static char out[CLIENT_IP_MAX];
    struct client_ip_net nets[8];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(client_ip_net_parse(trusted[i], &nets[i]), 0);
    client_ip_resolve(peer, xff, nets, n, out);
    return out;
}

static void test_resolve(void **state)
{
    (void)state;
    static const char *const lb[] = {"127.0.0.2/32"};
    static const char *const two[] = {"127.0.0.2/32", "10.0.0.0/8"};
    /* The attack, straight at the hub: the header is not read from an untrusted peer. */
    assert_string_equal(resolve("127.0.0.1", "10.9.0.7, 127.0.0.1", lb, 1), "127.0.0.1");
    /* The same header through our proxy, which appended the real client: the right-most entry. */
    assert_string_equal(resolve("127.0.0.2", "10.9.0.7, 127.0.0.1, 203.0.113.9", lb, 1), "203.0.113.9");
    /* Two proxy hops (edge 10.1.2.3 then the local one): both skipped. */
    assert_string_equal(resolve("127.0.0.2", "6.6.6.6, 198.51.100.4, 10.1.2.3", two, 2), "198.51.100.4");
    /* Several header lines joined by the server; empty elements are ignored. */
    assert_string_equal(resolve("127.0.0.2", "6.6.6.6,,198.51.100.4 ,\t", lb, 1), "198.51.100.4");
    /* Not an IP where the client should be: the peer. */
    assert_string_equal(resolve("127.0.0.2", "<script>x</script>'--", lb, 1), "127.0.0.2");
    assert_string_equal(resolve("127.0.0.2", "1.2.3.4, 198.51.100.4:443", lb, 1), "127.0.0.2");
    assert_string_equal(resolve("127.0.0.2", "1.2.3.4, [2001:db8::1]", lb, 1), "127.0.0.2");
    assert_string_equal(resolve("127.0.0.2", "1.2.3.4, unknown", lb, 1), "127.0.0.2");
    /* Garbage left of a valid client entry is never reached. */
    assert_string_equal(resolve("127.0.0.2", "<script>, 198.51.100.4", lb, 1), "198.51.100.4");
    /* Normalised text: IPv6 compressed, mapped IPv4 as IPv4. */
    assert_string_equal(resolve("127.0.0.2", "2001:DB8:0:0::1", lb, 1), "2001:db8::1");
    assert_string_equal(resolve("::ffff:127.0.0.2", "::ffff:198.51.100.4", lb, 1), "198.51.100.4");
    /* Only proxies in the list: the left-most one sent it. */
    assert_string_equal(resolve("127.0.0.2", "10.0.0.5, 10.0.0.6", two, 2), "10.0.0.5");
    /* No header, empty header, no trusted list. */
    assert_string_equal(resolve("127.0.0.2", NULL, lb, 1), "127.0.0.2");
    assert_string_equal(resolve("127.0.0.2", "", lb, 1), "127.0.0.2");
    assert_string_equal(resolve("127.0.0.2", " , ", lb, 1), "127.0.0.2");
    assert_string_equal(resolve("127.0.0.2", "198.51.100.4", NULL, 0), "127.0.0.2");
    /* A 50-character entry must not overflow the address buffer. */
    assert_string_equal(resolve("127.0.0.2", "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa", lb, 1), "127.0.0.2");
    char out[CLIENT_IP_MAX];
    client_ip_resolve(NULL, "1.2.3.4", NULL, 0, out);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_parse),
        cmocka_unit_test(test_in_nets),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
