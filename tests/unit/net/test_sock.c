#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "net/sock.h"

static void roundtrip(const char *in, const char *want_out, int fam, uint16_t port)
{
    struct sock_addr a;
    char out[SOCK_ADDR_STRLEN];
    int rc = sock_addr_parse(&a, in);
    if (rc != 0)
        fail_msg("parse %s: %s", in, err_str(rc));
    assert_int_equal(sock_addr_family(&a), fam);
    assert_int_equal(sock_addr_port(&a), port);
    rc = sock_addr_format(&a, out, sizeof(out));
    assert_int_equal(rc, (int)strlen(want_out));
    assert_string_equal(out, want_out);
}

static void test_parse_format(void **state)
{
    roundtrip("1.2.3.4:443", "1.2.3.4:443", AF_INET, 443);
    roundtrip("0.0.0.0:0", "0.0.0.0:0", AF_INET, 0);
    roundtrip("255.255.255.255:65535", "255.255.255.255:65535", AF_INET, 65535);
    roundtrip("[::1]:443", "[::1]:443", AF_INET6, 443);
    roundtrip("[::]:8443", "[::]:8443", AF_INET6, 8443);
    roundtrip("[2001:DB8:0:0::1]:80", "[2001:db8::1]:80", AF_INET6, 80);
    roundtrip("[::ffff:10.0.0.1]:1", "[::ffff:10.0.0.1]:1", AF_INET6, 1);
    roundtrip("[fe80::1%7]:22", "[fe80::1%7]:22", AF_INET6, 22);
    roundtrip("[fe80::1%lo]:22", "[fe80::1%1]:22", AF_INET6, 22);

    struct sock_addr a;
    char ip[SOCK_ADDR_STRLEN];
    assert_int_equal(sock_addr_parse(&a, "[::1]:443"), 0);
    assert_int_equal(sock_addr_format_ip(&a, ip, sizeof(ip)), 3);
    assert_string_equal(ip, "::1");
    sock_addr_set_port(&a, 8080);
    assert_int_equal(sock_addr_port(&a), 8080);

    /* Output buffer too small, unset address. */
    assert_int_equal(sock_addr_parse(&a, "10.20.30.40:5000"), 0);
    char small[10];
    assert_int_equal(sock_addr_format(&a, small, sizeof(small)), ERR_TOO_LONG);
    assert_int_equal(sock_addr_format(&a, ip, 16), ERR_TOO_LONG); /* one short of 16 + NUL */
    assert_int_equal(sock_addr_format(&a, ip, 17), 16);
    struct sock_addr unset = {0};
    assert_int_equal(sock_addr_format(&unset, ip, sizeof(ip)), ERR_MALFORMED);
    assert_int_equal(sock_addr_family(&unset), AF_UNSPEC);
    assert_int_equal(sock_addr_port(&unset), 0);
}

static void test_parse_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        ":",
        ":443",
        "1.2.3.4",
        "1.2.3.4:",
        "1.2.3.4:65536",
        "1.2.3.4:-1",
        "1.2.3.4:+1",
        "1.2.3.4:123456",
        "1.2.3.4:44a",
        "1.2.3.4:4 4",
        "1.2.3.4: 4",
        "1.2.3:80",
        "256.1.1.1:80",
        "1.2.3.4.5:80",
        "::1:443",
        "::1",
        "[::1]",
        "[::1]443",
        "[::1]:",
        "[::1:443",
        "::1]:443",
        "[1.2.3.4]:80",
        "[]:80",
        "[::1%]:1",
        "[::1%nosuchif0]:1",
        "[::1%99999999999]:1",
        "[:::1]:1",
        "[::g]:1",
        "example.com:443", /* hostnames need DNS, not this function */
        "host name:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sock_addr a;
        int rc = sock_addr_parse(&a, bad[i]);
        if (rc != ERR_MALFORMED)
            fail_msg("'%s' gave %d", bad[i], rc);
    }
}

/* Every prefix of valid strings either parses (and then formats back to itself) or fails
 * cleanly. */
static void test_parse_truncation(void **state)
{
    static const char *const good[] = {"192.168.100.200:65535", "[2001:db8:1:2:3:4:5:6]:8443", "[::ffff:1.2.3.4]:9"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        size_t n = strlen(good[i]);
        for (size_t k = 0; k <= n; k++) {
            char s[64];
            memcpy(s, good[i], k);
            s[k] = '\0';
            struct sock_addr a;
            int rc = sock_addr_parse(&a, s);
            if (rc == 0) {
                char out[SOCK_ADDR_STRLEN];
                assert_true(sock_addr_format(&a, out, sizeof(out)) > 0);
                struct sock_addr b;
                assert_int_equal(sock_addr_parse(&b, out), 0);
                assert_true(sock_addr_equal(&a, &b));
            } else {
                assert_int_equal(rc, ERR_MALFORMED);
            }
        }
        struct sock_addr a;
        assert_int_equal(sock_addr_parse(&a, good[i]), 0);
    }
}

static void test_hostport_split(void **state)
{
    char host[SOCK_HOST_MAX + 1];
    uint16_t port = 0;
    assert_int_equal(sock_hostport_split("www.example.com:443", host, sizeof(host), &port), 0);
    assert_string_equal(host, "www.example.com");
    assert_int_equal(port, 443);
    assert_int_equal(sock_hostport_split("[2001:db8::1]:8443", host, sizeof(host), &port), 0);
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 8443);
    assert_int_equal(sock_hostport_split("10.0.0.1:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "10.0.0.1");
    assert_int_equal(port, 0);
    assert_int_equal(sock_hostport_split("a_b-c.d:1", host, sizeof(host), &port), 0);

    assert_int_equal(sock_hostport_split("www.example.com:443", host, 15, &port), ERR_TOO_LONG);
    assert_int_equal(sock_hostport_split("www.example.com:443", host, 16, &port), 0);
    char longname[300];
    memset(longname, 'a', 256);
    strcpy(longname + 256, ":1");
    assert_int_equal(sock_hostport_split(longname, host, sizeof(host), &port), ERR_TOO_LONG);
    assert_int_equal(sock_hostport_split("ex ample.com:1", host, sizeof(host), &port), ERR_MALFORMED);
    assert_int_equal(sock_hostport_split("example.com", host, sizeof(host), &port), ERR_MALFORMED);
    assert_int_equal(sock_hostport_split("example.com:x", host, sizeof(host), &port), ERR_MALFORMED);
    assert_int_equal(sock_hostport_split("[example.com]:1", host, sizeof(host), &port), ERR_MALFORMED);
    assert_int_equal(sock_hostport_split("a:b:1", host, sizeof(host), &port), ERR_MALFORMED);
}

struct class_case {
    const char *ip;
    enum sock_addr_class cls;
};

static void test_classify(void **state)
{
    static const struct class_case cases[] = {
        {"8.8.8.8", SOCK_CLASS_PUBLIC},
        {"1.1.1.1", SOCK_CLASS_PUBLIC},
        {"0.0.0.0", SOCK_CLASS_UNSPECIFIED},
        {"0.1.2.3", SOCK_CLASS_UNSPECIFIED},
        {"127.0.0.1", SOCK_CLASS_LOOPBACK},
        {"127.255.255.254", SOCK_CLASS_LOOPBACK},
        {"10.0.0.1", SOCK_CLASS_PRIVATE},
        {"172.16.0.1", SOCK_CLASS_PRIVATE},
        {"172.31.255.255", SOCK_CLASS_PRIVATE},
        {"172.32.0.1", SOCK_CLASS_PUBLIC},
        {"172.15.255.255", SOCK_CLASS_PUBLIC},
        {"192.168.1.1", SOCK_CLASS_PRIVATE},
        {"192.169.0.1", SOCK_CLASS_PUBLIC},
        {"100.64.0.1", SOCK_CLASS_PRIVATE},
        {"100.127.255.255", SOCK_CLASS_PRIVATE},
        {"100.128.0.1", SOCK_CLASS_PUBLIC},
        {"169.254.169.254", SOCK_CLASS_LINK_LOCAL},
        {"224.0.0.1", SOCK_CLASS_MULTICAST},
        {"239.255.255.250", SOCK_CLASS_MULTICAST},
        {"240.0.0.1", SOCK_CLASS_RESERVED},
        {"255.255.255.255", SOCK_CLASS_RESERVED},
        {"192.0.2.1", SOCK_CLASS_RESERVED},
        {"198.18.0.1", SOCK_CLASS_RESERVED},
        {"198.51.100.7", SOCK_CLASS_RESERVED},
        {"203.0.113.9", SOCK_CLASS_RESERVED},
        {"::", SOCK_CLASS_UNSPECIFIED},
        {"::1", SOCK_CLASS_LOOPBACK},
        {"2606:4700::1111", SOCK_CLASS_PUBLIC},
        {"fe80::1", SOCK_CLASS_LINK_LOCAL},
        {"febf::1", SOCK_CLASS_LINK_LOCAL},
        {"fec0::1", SOCK_CLASS_PRIVATE},
        {"fc00::1", SOCK_CLASS_PRIVATE},
        {"fd12:3456::1", SOCK_CLASS_PRIVATE},
        {"ff02::1", SOCK_CLASS_MULTICAST},
        {"2001:db8::1", SOCK_CLASS_RESERVED},
        {"100::1", SOCK_CLASS_RESERVED},
        {"::ffff:127.0.0.1", SOCK_CLASS_LOOPBACK},
        {"::ffff:10.1.2.3", SOCK_CLASS_PRIVATE},
        {"::ffff:169.254.1.1", SOCK_CLASS_LINK_LOCAL},
        {"::ffff:0.0.0.0", SOCK_CLASS_UNSPECIFIED},
        {"::ffff:8.8.8.8", SOCK_CLASS_PUBLIC},
        {"::127.0.0.1", SOCK_CLASS_LOOPBACK},
        {"64:ff9b::192.168.0.1", SOCK_CLASS_PRIVATE},
        {"64:ff9b::8.8.8.8", SOCK_CLASS_PUBLIC},
        {"64:ff9b:1::1", SOCK_CLASS_PRIVATE},
        {"2002:7f00:1::1", SOCK_CLASS_LOOPBACK},
        {"2002:0808:0808::1", SOCK_CLASS_PUBLIC},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sock_addr a;
        assert_int_equal(sock_addr_from_ip(&a, cases[i].ip, 80), 0);
        enum sock_addr_class c = sock_addr_classify(&a);
        if (c != cases[i].cls)
            fail_msg("%s: got %s want %s", cases[i].ip, sock_addr_class_str(c), sock_addr_class_str(cases[i].cls));
    }
    const uint8_t v4[4] = {192, 168, 0, 1};
    assert_int_equal(sock_ip_classify(v4, 4), SOCK_CLASS_PRIVATE);
    assert_int_equal(sock_ip_classify(v4, 3), SOCK_CLASS_RESERVED);
    struct sock_addr unset = {0};
    assert_int_equal(sock_addr_classify(&unset), SOCK_CLASS_RESERVED);
    assert_string_equal(sock_addr_class_str(SOCK_CLASS_LINK_LOCAL), "link-local");
    assert_string_equal(sock_addr_class_str(SOCK_CLASS__COUNT), "invalid");
}

static void test_raw_addrs(void **state)
{
    const uint8_t v4[4] = {127, 0, 0, 1};
    uint8_t v6[16] = {0};
    v6[15] = 1;
    struct sock_addr a, b;
    char out[SOCK_ADDR_STRLEN];
    sock_addr_from_v4(&a, v4, 1234);
    sock_addr_format(&a, out, sizeof(out));
    assert_string_equal(out, "127.0.0.1:1234");
    assert_int_equal(sock_addr_parse(&b, "127.0.0.1:1234"), 0);
    assert_true(sock_addr_equal(&a, &b));
    sock_addr_set_port(&b, 1235);
    assert_false(sock_addr_equal(&a, &b));
    sock_addr_from_v6(&a, v6, 53);
    sock_addr_format(&a, out, sizeof(out));
    assert_string_equal(out, "[::1]:53");
    assert_false(sock_addr_equal(&a, &b));
}

/* ---- sockets ---- */

static bool wait_fd(int fd, short ev, int ms)
{
    struct pollfd p = {.fd = fd, .events = ev};
    return poll(&p, 1, ms) == 1;
}

/* struct sock_addr holds IPv4/IPv6 only (two per node connection: 32 bytes each, not
 * sockaddr_storage's 128); another family read from the kernel keeps its family with the
 * length clamped to what the struct holds. */
static void test_addr_compact(void **state)
{
    (void)state;
    assert_true(sizeof(struct sock_addr) <= 32);
    struct sock_addr a;
    assert_int_equal(sock_addr_parse(&a, "[2001:db8::1%7]:443"), 0);
    char out[SOCK_ADDR_STRLEN];
    assert_true(sock_addr_format(&a, out, sizeof(out)) > 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(sock_local_addr(sv[0], &a), 0);
    assert_int_equal(sock_addr_family(&a), AF_UNIX);
    assert_true(a.len <= sizeof(a.u));
    assert_int_equal(sock_peer_addr(sv[0], &a), 0);
    assert_true(a.len <= sizeof(a.u));
    close(sv[0]);
    close(sv[1]);
}

static void test_reuseport(void **state)
{
    struct sock_addr a, bound;
    assert_int_equal(sock_addr_parse(&a, "127.0.0.1:0"), 0);
    int l1 = sock_listen(&a, 16, SOCK_LISTEN_REUSEPORT);
    assert_true(l1 >= 0);
    assert_int_equal(sock_local_addr(l1, &bound), 0);
    assert_int_not_equal(sock_addr_port(&bound), 0);

    /* Same port: a second REUSEPORT listener works, a plain one does not. */
    int l2 = sock_listen(&bound, 16, SOCK_LISTEN_REUSEPORT);
    assert_true(l2 >= 0);
    assert_int_equal(sock_listen(&bound, 16, SOCK_LISTEN_NONE), -EADDRINUSE);

    /* Connections get spread across both; every one is accepted by one of them. */
    int accepted = 0;
    for (int i = 0; i < 16; i++) {
        int c;
        int rc = sock_connect(&bound, &c);
        assert_true(rc == 0 || rc == -EINPROGRESS);
        assert_true(wait_fd(c, POLLOUT, 2000));
        assert_int_equal(sock_connect_result(c), 0);
        bool got = false;
        for (int tries = 0; tries < 200 && !got; tries++) {
            int lf[2] = {l1, l2};
            for (int k = 0; k < 2 && !got; k++) {
                struct sock_addr peer, local;
                int s = sock_accept(lf[k], &peer);
                if (s == -EAGAIN)
                    continue;
                assert_true(s >= 0);
                assert_int_equal(sock_local_addr(c, &local), 0);
                assert_true(sock_addr_equal(&peer, &local));
                close(s);
                got = true;
            }
            if (!got)
                usleep(1000);
        }
        assert_true(got);
        accepted++;
        close(c);
    }
    assert_int_equal(accepted, 16);
    assert_int_equal(sock_accept(l1, NULL), -EAGAIN);
    close(l1);
    close(l2);
}

static void test_connect_refused(void **state)
{
    struct sock_addr a, bound;
    assert_int_equal(sock_addr_parse(&a, "127.0.0.1:0"), 0);
    int l = sock_listen(&a, 1, SOCK_LISTEN_NONE);
    assert_true(l >= 0);
    assert_int_equal(sock_local_addr(l, &bound), 0);
    close(l); /* nothing listens there any more */
    int fd;
    int rc = sock_connect(&bound, &fd);
    if (rc == -EINPROGRESS) {
        assert_true(fd >= 0);
        assert_true(wait_fd(fd, POLLOUT, 2000));
        assert_int_equal(sock_connect_result(fd), -ECONNREFUSED);
        close(fd);
    } else {
        assert_int_equal(rc, -ECONNREFUSED);
        assert_int_equal(fd, -1);
    }
    struct sock_addr unset = {0};
    assert_int_equal(sock_connect(&unset, &fd), -EAFNOSUPPORT);
    assert_int_equal(sock_listen(&unset, 1, 0), -EAFNOSUPPORT);
}

static void connected_pair(const char *addr, int *cli, int *srv, int *lfd)
{
    struct sock_addr a, bound;
    assert_int_equal(sock_addr_parse(&a, addr), 0);
    *lfd = sock_listen(&a, 4, SOCK_LISTEN_V6ONLY);
    assert_true(*lfd >= 0);
    assert_int_equal(sock_local_addr(*lfd, &bound), 0);
    int rc = sock_connect(&bound, cli);
    assert_true(rc == 0 || rc == -EINPROGRESS);
    assert_true(wait_fd(*cli, POLLOUT, 2000));
    assert_int_equal(sock_connect_result(*cli), 0);
    assert_true(wait_fd(*lfd, POLLIN, 2000));
    *srv = sock_accept(*lfd, NULL);
    assert_true(*srv >= 0);
}

static void check_options_and_halfclose(const char *addr)
{
    int cli, srv, lfd;
    connected_pair(addr, &cli, &srv, &lfd);

    struct sock_addr peer, local;
    assert_int_equal(sock_peer_addr(srv, &peer), 0);
    assert_int_equal(sock_local_addr(cli, &local), 0);
    assert_true(sock_addr_equal(&peer, &local));
    assert_int_equal(sock_addr_classify(&peer), SOCK_CLASS_LOOPBACK);

    assert_int_equal(sock_set_nodelay(cli, true), 0);
    int v = 0;
    socklen_t len = sizeof(v);
    getsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &v, &len);
    assert_int_equal(v, 1);
    assert_int_equal(sock_set_keepalive(cli, true, 30, 10, 3), 0);
    getsockopt(cli, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len);
    assert_int_equal(v, 30);
    getsockopt(cli, SOL_SOCKET, SO_KEEPALIVE, &v, &len);
    assert_int_equal(v, 1);
    assert_int_equal(sock_set_keepalive(cli, false, 0, 0, 0), 0);
    assert_int_equal(sock_set_nonblock(cli, false), 0);
    assert_int_equal(sock_set_nonblock(cli, true), 0);

    /* Half-close: server sees data then EOF, and can still answer. */
    assert_int_equal(write(cli, "ping", 4), 4);
    assert_int_equal(sock_shutdown_wr(cli), 0);
    char buf[8];
    assert_true(wait_fd(srv, POLLIN, 2000));
    assert_int_equal(read(srv, buf, sizeof(buf)), 4);
    assert_true(wait_fd(srv, POLLIN, 2000));
    assert_int_equal(read(srv, buf, sizeof(buf)), 0);
    assert_int_equal(write(srv, "pong", 4), 4);
    assert_true(wait_fd(cli, POLLIN, 2000));
    assert_int_equal(read(cli, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "pong", 4);
    close(cli);
    close(srv);
    close(lfd);
    assert_int_equal(sock_shutdown_wr(cli), -EBADF);
}

static int nodelay_of(int fd)
{
    int v = -1;
    socklen_t len = sizeof(v);
    assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    return v;
}

/* Accepted sockets inherit TCP_NODELAY from the listener (Linux clones the listener's TCP
 * state), so the node sets it once per listener instead of once per connection. */
static void test_accepted_inherits_nodelay(void **state)
{
    for (int on = 0; on <= 1; on++) {
        struct sock_addr a, bound;
        assert_int_equal(sock_addr_parse(&a, "127.0.0.1:0"), 0);
        int l = sock_listen(&a, 4, SOCK_LISTEN_REUSEPORT);
        assert_true(l >= 0);
        assert_int_equal(sock_set_nodelay(l, on), 0);
        assert_int_equal(sock_local_addr(l, &bound), 0);
        int c;
        int rc = sock_connect(&bound, &c);
        assert_true(rc == 0 || rc == -EINPROGRESS);
        assert_true(wait_fd(l, POLLIN, 2000));
        int fd = sock_accept(l, NULL);
        assert_true(fd >= 0);
        assert_int_equal(nodelay_of(fd) != 0, on);
        close(fd);
        close(c);
        close(l);
    }
}

static void test_tcp_v4(void **state)
{
    check_options_and_halfclose("127.0.0.1:0");
}

static void test_tcp_v6(void **state)
{
    struct sock_addr a;
    assert_int_equal(sock_addr_parse(&a, "[::1]:0"), 0);
    int l = sock_listen(&a, 1, SOCK_LISTEN_NONE);
    if (l < 0)
        skip(); /* no IPv6 loopback in this environment */
    close(l);
    check_options_and_halfclose("[::1]:0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),     cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_truncation), cmocka_unit_test(test_hostport_split),
        cmocka_unit_test(test_classify),         cmocka_unit_test(test_raw_addrs),
        cmocka_unit_test(test_addr_compact),     cmocka_unit_test(test_reuseport),
        cmocka_unit_test(test_connect_refused),  cmocka_unit_test(test_tcp_v4),
        cmocka_unit_test(test_tcp_v6),           cmocka_unit_test(test_accepted_inherits_nodelay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
