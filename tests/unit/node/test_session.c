/* node/session: one connection driven by a real loop, the client on a socketpair and a local TCP
 * listener as the REALITY target. Every unauthenticated path must end as a transparent relay to
 * the target with the client's bytes unchanged: a non-TLS probe behind a PROXY v2 header (whose
 * source the target then sees in our own PROXY header), a malformed ClientHello, a target that
 * speaks before the hello is complete (spec/reality.md §4.4), a Chrome-shaped REALITY hello
 * sealed for another server key, and a client silent until the handshake deadline. A client that leaves cleanly is
 * counted as such, not as an I/O error. And the authenticated path end to end: our own REALITY
 * client finishes the handshake against the node's temporary certificate and runs VLESS with
 * Vision to a destination on loopback (issue 11 #9). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cfg.h"
#include "core/container.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "net/loop.h"
#include "net/proxy_proto.h"
#include "net/sock.h"
#include "node/session.h"
#include "node/session_int.h"
#include "node/worker.h"
#include "reality/cert.h"
#include "reality/client.h"
#include "reality/client_hello.h"
#include "reality/outcome.h"
#include "reality/session.h"
#include "test_tls_target.h"
#include "test_util.h"
#include "tls13/tls13.h"
#include "vless/header.h"
#include "vless/vision.h"

#define WAIT_MS 5000

struct fixture {
    struct node_runtime rt;
    struct node_worker w;
    struct node_snapshot *snap;
    int lfd;            /* the REALITY target's listener */
    struct loop_io lio; /* accepts into tfd */
    int tfd;            /* the target's side of the one connection */
    int cfd;            /* the client's side of the socketpair */
    int dlfd, dfd;      /* the VLESS destination's listener and its one connection */
    struct buf at_target, at_client, at_dest;
    uint64_t outcomes[REALITY_OUTCOME__COUNT]; /* before the test: the counters are process-wide */
};

static struct fixture fx;
static bool allow_private_dest; /* the authenticated test's destination is on loopback */
static bool tcp_client;         /* the client reaches the node over loopback TCP, not a socketpair */

static void on_target_accept(struct loop *loop, struct loop_io *io, unsigned ev)
{
    (void)loop;
    (void)ev;
    struct sock_addr peer;
    int fd = sock_accept(fx.lfd, &peer);
    if (fd < 0)
        return;
    assert_int_equal(fx.tfd, -1); /* one connection per test */
    fx.tfd = fd;
    loop_io_stop(fx.w.loop, io);
}

static struct node_cfg *load_cfg(uint16_t target_port, bool proxy_in, int xver, unsigned hs_ms)
{
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"inbounds\": [{\"port\": 8443, \"protocol\": \"vless\", \"settings\": {\"clients\": [{\"id\": "
             "\"b831381d-6324-4d53-ad4f-8cda48b30811\", \"flow\": \"xtls-rprx-vision\"}], \"decryption\": "
             "\"none\"}, \"streamSettings\": {\"network\": \"raw\", \"rawSettings\": {\"acceptProxyProtocol\": %s}, "
             "\"security\": \"reality\", \"realitySettings\": {\"target\": \"127.0.0.1:%u\", \"xver\": %d, "
             "\"serverNames\": [\"www.example.com\"], \"privateKey\": "
             "\"EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8\", \"shortIds\": [\"\"]}}}], "
             "\"veil\": {\"handshakeTimeoutMs\": %u, \"dnsServers\": [\"127.0.0.1\"]}}",
             proxy_in ? "true" : "false", target_port, xver, hs_ms);
    struct cfg_ctx c;
    cfg_init(&c, "node.json");
    struct node_cfg *cfg = node_cfg_load(&c, json, strlen(json));
    if (cfg == NULL)
        cfg_print(&c, stderr);
    cfg_dispose(&c);
    assert_non_null(cfg);
    return cfg;
}

/* A worker as node/worker.c builds it, without its listeners and thread: the test is the loop. */
static void start_with(bool proxy_in, int xver, unsigned hs_ms)
{
    memset(&fx, 0, sizeof(fx));
    fx.tfd = fx.cfd = fx.dlfd = fx.dfd = -1;
    buf_init(&fx.at_target);
    buf_init(&fx.at_client);
    buf_init(&fx.at_dest);
    struct sock_addr a;
    assert_int_equal(sock_addr_parse(&a, "127.0.0.1:0"), 0);
    fx.lfd = sock_listen(&a, 16, SOCK_LISTEN_NONE);
    assert_true(fx.lfd >= 0);
    assert_int_equal(sock_local_addr(fx.lfd, &a), 0);

    struct node_cfg *cfg = load_cfg(sock_addr_port(&a), proxy_in, xver, hs_ms);
    char err[256];
    assert_int_equal(node_snapshot_new(cfg, &fx.snap, err, sizeof(err)), 0);
    node_cfg_unref(cfg);

    struct node_runtime *rt = &fx.rt;
    assert_int_equal(reality_cert_init(&rt->cert, NULL), 0);
    struct node_limits_cfg lc;
    node_runtime_limits_cfg(fx.snap->cfg, &lc);
    assert_int_equal(node_limits_new(&lc, &rt->limits), 0);
    rt->usage = node_usage_new();
    assert_non_null(rt->usage);
    rt->workers = &fx.w;
    rt->n_workers = 1;

    struct node_worker *w = &fx.w;
    w->rt = rt;
    w->sessions.next = w->sessions.prev = &w->sessions;
    w->snap = node_snapshot_ref(fx.snap);
    w->loop = loop_new();
    w->pool = pool_new(16384, 4);
    assert_non_null(w->loop);
    assert_non_null(w->pool);
    const char *servers[] = {"127.0.0.1"}; /* never asked: the target is an address */
    struct node_dns_opts dopts = {.servers = servers, .n_servers = 1, .timeout_ms = 1000};
    w->dns = node_dns_new(w->loop, &dopts);
    assert_non_null(w->dns);
    struct node_dialer_opts o = {
        .allow_private = allow_private_dest, .timeout_ms = 3000, .order = NODE_DIAL_ORDER_IPV4_FIRST};
    w->dialer = node_dialer_new(w->loop, w->dns, &o);
    assert_non_null(w->dialer);
    w->groups[0] = &tls13_kex_x25519;
    w->tls_server.groups = w->groups;
    w->tls_server.n_groups = 1;
    reality_outcome_snapshot(fx.outcomes);

    loop_io_init(&fx.lio, fx.lfd, on_target_accept);
    assert_int_equal(loop_io_set(w->loop, &fx.lio, LOOP_READ), 0);

    int sv[2];
    if (tcp_client) {
        struct sock_addr la;
        assert_int_equal(sock_addr_parse(&la, "127.0.0.1:0"), 0);
        int l = sock_listen(&la, 1, SOCK_LISTEN_NONE);
        assert_true(l >= 0);
        assert_int_equal(sock_local_addr(l, &la), 0);
        sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(connect(sv[1], &la.u.sa, la.len), 0);
        struct pollfd p = {.fd = l, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
        sv[0] = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        assert_true(sv[0] >= 0);
        close(l);
    } else {
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    }
    fx.cfd = sv[1];
    struct sock_addr peer;
    assert_int_equal(sock_addr_parse(&peer, "192.0.2.10:50000"), 0);
    assert_int_equal(node_session_start(w, 0, sv[0], &peer), 0);
}

static void start(bool proxy_in, int xver)
{
    start_with(proxy_in, xver, 10000);
}

static int teardown(void **state)
{
    (void)state;
    struct node_worker *w = &fx.w;
    node_session_close_all(w);
    loop_io_stop(w->loop, &fx.lio);
    loop_run_once(w->loop, 0); /* deferred frees */
    assert_int_equal(loop_io_count(w->loop), 0);
    assert_int_equal(loop_timer_count(w->loop), 0);
    node_dialer_free(w->dialer);
    node_dns_free(w->dns);
    loop_free(w->loop);
    pool_free(w->pool);
    node_snapshot_unref(w->snap);
    node_snapshot_unref(fx.snap);
    node_limits_free(fx.rt.limits);
    node_usage_free(fx.rt.usage);
    reality_cert_dispose(&fx.rt.cert);
    if (fx.tfd >= 0)
        close(fx.tfd);
    if (fx.cfd >= 0)
        close(fx.cfd);
    if (fx.dfd >= 0)
        close(fx.dfd);
    if (fx.dlfd >= 0)
        close(fx.dlfd);
    close(fx.lfd);
    buf_dispose(&fx.at_target);
    buf_dispose(&fx.at_client);
    buf_dispose(&fx.at_dest);
    allow_private_dest = false;
    return 0;
}

/* ---- driving ---- */

static void drain(int fd, struct buf *into)
{
    if (fd < 0)
        return;
    uint8_t tmp[4096];
    ssize_t k;
    while ((k = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0)
        assert_int_equal(buf_append(into, tmp, (size_t)k), 0);
}

/* Runs the loop and collects what reaches each end until pred() holds; fails at the deadline. */
static void run_until(bool (*pred)(const void *), const void *arg)
{
    uint64_t end = loop_clock_ms() + WAIT_MS;
    for (;;) {
        drain(fx.tfd, &fx.at_target);
        drain(fx.cfd, &fx.at_client);
        if (fx.dlfd >= 0 && fx.dfd < 0)
            fx.dfd = accept4(fx.dlfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        drain(fx.dfd, &fx.at_dest);
        if (pred(arg))
            return;
        assert_true(loop_clock_ms() < end);
        loop_run_once(fx.w.loop, 10);
    }
}

static bool target_has(const void *n)
{
    return buf_len(&fx.at_target) >= *(const size_t *)n;
}

static bool client_has(const void *n)
{
    return buf_len(&fx.at_client) >= *(const size_t *)n;
}

static bool target_connected(const void *arg)
{
    (void)arg;
    return fx.tfd >= 0;
}

static bool session_closed(const void *arg)
{
    (void)arg;
    return atomic_load(&fx.w.stats.closed) == 1;
}

static struct session *the_session(void)
{
    assert_true(fx.w.sessions.next != &fx.w.sessions);
    return container_of(fx.w.sessions.next, struct session, link);
}

static bool in_fallback(const void *arg)
{
    (void)arg;
    return the_session()->state == NODE_SS_FALLBACK_RELAY;
}

static bool target_spoke(const void *arg)
{
    (void)arg;
    return the_session()->target_spoke;
}

static void send_all(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n); /* small: fits the socket buffer */
}

static uint64_t outcome_delta(enum reality_outcome o)
{
    return reality_outcome_get(o) - fx.outcomes[o];
}

/* The client sent `sent` and must reach the target unchanged; the target's answer must reach the
 * client; both closing ends the session as a finished fallback. */
static void expect_fallback(const uint8_t *sent, size_t n, enum reality_outcome why)
{
    run_until(target_has, &n);
    assert_int_equal(buf_len(&fx.at_target), n);
    if (n)
        assert_memory_equal(buf_data(&fx.at_target), sent, n);
    assert_int_equal(the_session()->state, NODE_SS_FALLBACK_RELAY);
    static const char answer[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    size_t have = buf_len(&fx.at_client), want = have + sizeof(answer) - 1;
    send_all(fx.tfd, answer, sizeof(answer) - 1);
    run_until(client_has, &want);
    assert_memory_equal(buf_data(&fx.at_client) + have, answer, sizeof(answer) - 1);

    shutdown(fx.cfd, SHUT_WR);
    shutdown(fx.tfd, SHUT_WR);
    run_until(session_closed, NULL);
    assert_int_equal(atomic_load(&fx.w.stats.fallback), 1);
    assert_int_equal(atomic_load(&fx.w.stats.authenticated), 0);
    assert_int_equal(atomic_load(&fx.w.stats.close_reasons[NODE_CR_FALLBACK_DONE]), 1);
    assert_int_equal(outcome_delta(why), 1);
    assert_int_equal(outcome_delta(REALITY_OUTCOME_AUTHENTICATED), 0);
}

/* ---- tests ---- */

/* HAProxy's v2 header, then plain HTTP: the header is stripped, its source is the client from
 * then on (our xver 2 header to the target carries it), and the probe goes to the target. The
 * header arrives in two pieces with the target already connected: none of its bytes may be
 * mirrored, and our header must wait for the source it carries. */
static void test_proxy_v2_then_http_probe(void **state)
{
    (void)state;
    start(true, 2);
    struct sock_addr src, dst;
    assert_int_equal(sock_addr_parse(&src, "203.0.113.7:4242"), 0);
    assert_int_equal(sock_addr_parse(&dst, "198.51.100.1:443"), 0);
    struct buf hdr;
    buf_init(&hdr);
    assert_true(proxy_header_write(&hdr, 2, &src, &dst) >= 0);
    static const char probe[] = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
    send_all(fx.cfd, buf_data(&hdr), 7); /* a header in pieces waits for the rest */
    run_until(target_connected, NULL);
    for (int i = 0; i < 5; i++)
        loop_run_once(fx.w.loop, 5);
    assert_int_equal(the_session()->state, NODE_SS_PROXY_HEADER);
    send_all(fx.cfd, buf_data(&hdr) + 7, buf_len(&hdr) - 7);
    send_all(fx.cfd, probe, sizeof(probe) - 1);

    /* Our PROXY header first, with HAProxy's source and destination. */
    size_t want = buf_len(&hdr);
    run_until(target_has, &want);
    struct proxy_header got;
    assert_int_equal(proxy_header_parse(buf_data(&fx.at_target), buf_len(&fx.at_target), &got), 0);
    assert_false(got.local);
    char s1[SOCK_ADDR_STRLEN], s2[SOCK_ADDR_STRLEN];
    assert_true(sock_addr_format(&got.src, s1, sizeof(s1)) >= 0);
    assert_true(sock_addr_format(&got.dst, s2, sizeof(s2)) >= 0);
    assert_string_equal(s1, "203.0.113.7:4242");
    assert_string_equal(s2, "198.51.100.1:443");
    buf_consume(&fx.at_target, got.len);
    buf_dispose(&hdr);

    expect_fallback((const uint8_t *)probe, sizeof(probe) - 1, REALITY_OUTCOME_MALFORMED);
}

/* xver without HAProxy in front: our header to the target carries the client's address (here
 * the one node_session_start was given) and the node address it reached, the latter read from the socket only now that
 * it is needed (no getsockname per connection otherwise). */
static void test_xver_own_addresses(void **state)
{
    (void)state;
    tcp_client = true;
    start(false, 1);
    tcp_client = false;
    static const char probe[] = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
    send_all(fx.cfd, probe, sizeof(probe) - 1);
    size_t want = 20;
    run_until(target_has, &want);
    struct proxy_header got;
    assert_int_equal(proxy_header_parse(buf_data(&fx.at_target), buf_len(&fx.at_target), &got), 0);
    assert_false(got.local);
    struct sock_addr client, node;
    assert_int_equal(sock_peer_addr(fx.cfd, &node), 0);
    char s1[SOCK_ADDR_STRLEN], s2[SOCK_ADDR_STRLEN], w1[SOCK_ADDR_STRLEN], w2[SOCK_ADDR_STRLEN];
    assert_true(sock_addr_format(&got.src, s1, sizeof(s1)) >= 0);
    assert_true(sock_addr_format(&got.dst, s2, sizeof(s2)) >= 0);
    assert_int_equal(sock_addr_parse(&client, "192.0.2.10:50000"), 0); /* the accepted peer */
    assert_true(sock_addr_format(&client, w1, sizeof(w1)) >= 0);
    assert_true(sock_addr_format(&node, w2, sizeof(w2)) >= 0);
    assert_string_equal(s1, w1);
    assert_string_equal(s2, w2);
    buf_consume(&fx.at_target, got.len);
    expect_fallback((const uint8_t *)probe, sizeof(probe) - 1, REALITY_OUTCOME_MALFORMED);
}

/* A bad PROXY header closes at once, without a byte to the target. */
static void test_bad_proxy_header_closes(void **state)
{
    (void)state;
    start(true, 0);
    static const char junk[] = "PROXY NONSENSE\r\n";
    send_all(fx.cfd, junk, sizeof(junk) - 1);
    run_until(session_closed, NULL);
    assert_int_equal(atomic_load(&fx.w.stats.close_reasons[NODE_CR_PROXY_HEADER]), 1);
    assert_int_equal(atomic_load(&fx.w.stats.fallback), 0);
    drain(fx.tfd, &fx.at_target);
    assert_int_equal(buf_len(&fx.at_target), 0);
}

/* A TLS handshake record whose ClientHello does not parse: a probe, relayed as it came. */
static void test_malformed_client_hello(void **state)
{
    (void)state;
    start(false, 0);
    static const uint8_t bad[] = {0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0x03, 0x03, 0xff, 0xff};
    send_all(fx.cfd, bad, sizeof(bad));
    expect_fallback(bad, sizeof(bad), REALITY_OUTCOME_MALFORMED);
}

/* The target talks before the ClientHello is complete (§4.4): whatever the hello, the session
 * falls back, and the target's early bytes reach the client first. */
static void test_target_spoke_first(void **state)
{
    (void)state;
    start(false, 0);
    size_t len;
    uint8_t *rec = tu_read_hex_file(tu_testdata("reality-clienthello/clienthello-chrome.hex"), &len);
    assert_non_null(rec);
    assert_true(len > 5);
    send_all(fx.cfd, rec, 5); /* the record header only */
    size_t five = 5;
    run_until(target_connected, NULL);
    run_until(target_has, &five);
    static const char banner[] = "220 early banner\r\n";
    send_all(fx.tfd, banner, sizeof(banner) - 1);
    run_until(target_spoke, NULL);
    assert_int_equal(the_session()->state, NODE_SS_PEEK_HELLO);
    send_all(fx.cfd, rec + 5, len - 5);

    size_t want = sizeof(banner) - 1;
    run_until(client_has, &want);
    assert_memory_equal(buf_data(&fx.at_client), banner, sizeof(banner) - 1);
    expect_fallback(rec, len, REALITY_OUTCOME_TARGET_FIRST);
    free(rec);
}

static int test_random(void *arg, void *out, size_t n)
{
    uint8_t *p = out;
    uint32_t *seed = arg;
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(*seed >> 16);
    }
    return 0;
}

/* A REALITY hello in every respect (Chrome shape, right SNI, shortId, current time) sealed for
 * another server's public key: the session id does not open, so it is a probe like any other. */
static void test_wrong_key_falls_back(void **state)
{
    (void)state;
    start(false, 0);
    uint32_t seed = 11;
    struct reality_client_params p = {
        .server_name = "www.example.com",
        .version = {26, 7, 28},
        .now_ms = (uint64_t)time(NULL) * 1000,
        .random = test_random,
        .random_arg = &seed,
    };
    memset(p.server_public_key, 0x42, sizeof(p.server_public_key));
    struct buf rec;
    buf_init(&rec);
    struct reality_client_keys keys;
    assert_int_equal(buf_append(&rec, "\x16\x03\x01\x00\x00", 5), 0);
    assert_int_equal(reality_client_build(&p, &rec, &keys), 0);
    reality_client_keys_wipe(&keys);
    size_t msg = buf_len(&rec) - 5;
    buf_data(&rec)[3] = (uint8_t)(msg >> 8);
    buf_data(&rec)[4] = (uint8_t)msg;
    send_all(fx.cfd, buf_data(&rec), buf_len(&rec));
    expect_fallback(buf_data(&rec), buf_len(&rec), REALITY_OUTCOME_DECRYPT_FAILED);
    buf_dispose(&rec);
}

/* A client that sends nothing before the handshake deadline is a probe too: the target gets
 * the connection (and answers it), nothing is closed early. */
static void test_silent_client_falls_back_at_deadline(void **state)
{
    (void)state;
    start_with(false, 0, 200);
    run_until(target_connected, NULL);
    assert_int_equal(the_session()->state, NODE_SS_PEEK_HELLO);
    run_until(in_fallback, NULL);
    expect_fallback(NULL, 0, REALITY_OUTCOME_MALFORMED);
    assert_int_equal(atomic_load(&fx.w.stats.close_reasons[NODE_CR_TIMEOUT]), 0);
}

/* A client that closes cleanly before deciding anything is a clean close, not an I/O error. */
static void test_client_eof_is_not_io_error(void **state)
{
    (void)state;
    start(false, 0);
    send_all(fx.cfd, "\x16\x03", 2);
    run_until(target_connected, NULL);
    shutdown(fx.cfd, SHUT_WR);
    run_until(session_closed, NULL);
    assert_int_equal(atomic_load(&fx.w.stats.close_reasons[NODE_CR_CLIENT_CLOSED]), 1);
    assert_int_equal(atomic_load(&fx.w.stats.close_reasons[NODE_CR_IO]), 0);
    assert_string_equal(node_close_reason_str(NODE_CR_CLIENT_CLOSED), "client_closed");
    assert_int_equal(atomic_load(&fx.w.stats.active), 0);
}

/* ---- the authenticated path ---- */

/* Our own client (REALITY hello, tls13 engine, VLESS + Vision) on the client's socket. */
struct client_side {
    struct tls13_conn *tls;
    struct reality_verifier verifier;
    struct buf out, app, got;
    bool got_response;
    struct vless_vision_shared sh;
    struct vless_vision_reader reader;
};

static struct client_side cs;

/* Feeds what reached the client to its handshake; true once the handshake is complete. */
static bool client_handshake_done(const void *arg)
{
    (void)arg;
    size_t used = 0;
    if (buf_len(&fx.at_client) == 0)
        return false;
    int rc = tls13_handshake(cs.tls, buf_data(&fx.at_client), buf_len(&fx.at_client), &used, &cs.out);
    buf_consume(&fx.at_client, used);
    if (rc != 0 && rc != ERR_NEED_MORE)
        fail_msg("client handshake: %s", err_str(rc));
    return rc == 0;
}

/* Opens what reached the client: the VLESS response header, then Vision frames; true once `n`
 * bytes of the destination's answer are out. */
static bool client_got(const void *n)
{
    size_t used = 0;
    if (buf_len(&fx.at_client) > 0) {
        int rc = tls13_recv(cs.tls, buf_data(&fx.at_client), buf_len(&fx.at_client), &used, &cs.app, NULL);
        buf_consume(&fx.at_client, used);
        if (rc != 0 && rc != ERR_NEED_MORE)
            fail_msg("client recv: %s", err_str(rc));
    }
    if (!cs.got_response && buf_len(&cs.app) >= 2) {
        size_t hdr = 0;
        assert_int_equal(vless_response_parse(buf_data(&cs.app), buf_len(&cs.app), 0, &hdr, NULL), 0);
        buf_consume(&cs.app, hdr);
        cs.got_response = true;
    }
    if (cs.got_response && buf_len(&cs.app) > 0) {
        struct vless_vision_rres rres;
        assert_int_equal(vless_vision_read(&cs.reader, buf_data(&cs.app), buf_len(&cs.app), &cs.got, &rres), 0);
        buf_reset(&cs.app);
    }
    return buf_len(&cs.got) >= *(const size_t *)n;
}

static bool dest_has(const void *n)
{
    return buf_len(&fx.at_dest) >= *(const size_t *)n;
}

/* A client that holds the server's public key: the hello authenticates, the node learns the
 * target's flight (a stand-in TLS 1.3 site on the target socket), answers with its own flight
 * and temporary certificate, reads the VLESS request with Vision, dials the destination and
 * relays both ways, all over the session's sockets with the real loop. */
static void run_vision_tunnel(bool park)
{
    allow_private_dest = true;
    start(false, 0);
    struct sock_addr a;
    assert_int_equal(sock_addr_parse(&a, "127.0.0.1:0"), 0);
    fx.dlfd = sock_listen(&a, 4, SOCK_LISTEN_NONE);
    assert_true(fx.dlfd >= 0);
    assert_int_equal(fcntl(fx.dlfd, F_SETFL, fcntl(fx.dlfd, F_GETFL) | O_NONBLOCK), 0);
    assert_int_equal(sock_local_addr(fx.dlfd, &a), 0);

    /* The client's hello, sealed for the node's key (privateKey in load_cfg). */
    memset(&cs, 0, sizeof cs);
    buf_init(&cs.out);
    buf_init(&cs.app);
    buf_init(&cs.got);
    size_t n;
    uint8_t *pub = tu_hex("d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff66", &n);
    struct reality_client_params p = {
        .server_name = "www.example.com", .version = {26, 7, 28}, .now_ms = (uint64_t)time(NULL) * 1000};
    memcpy(p.server_public_key, pub, 32);
    free(pub);
    struct buf hello;
    buf_init(&hello);
    struct reality_client_keys keys;
    assert_int_equal(reality_client_build(&p, &hello, &keys), 0);
    reality_verifier_init(&cs.verifier, keys.auth_key);
    static const struct tls13_kex_ops *const groups[] = {&tls13_kex_x25519};
    struct tls13_ctx cctx = {.groups = groups, .n_groups = 1, .verify_certificate = &cs.verifier.base};
    cs.tls = tls13_conn_new(&cctx, false);
    assert_non_null(cs.tls);
    assert_int_equal(reality_client_prepare(cs.tls, buf_data(&hello), buf_len(&hello), &keys, NULL), 0);
    reality_client_keys_wipe(&keys);
    size_t used;
    assert_int_equal(tls13_handshake(cs.tls, NULL, 0, &used, &cs.out), ERR_NEED_MORE);
    size_t hello_len = buf_len(&cs.out);
    send_all(fx.cfd, buf_data(&cs.out), hello_len);

    /* The target gets the hello unchanged and answers as a TLS 1.3 site would. */
    run_until(target_has, &hello_len);
    assert_memory_equal(buf_data(&fx.at_target), buf_data(&cs.out), hello_len);
    buf_reset(&cs.out);
    struct reality_client_hello ch;
    struct buf scratch, tsh, t2c;
    buf_init(&scratch);
    buf_init(&tsh);
    buf_init(&t2c);
    assert_int_equal(reality_ch_peek(buf_data(&fx.at_target), hello_len, &scratch, &ch), 0);
    struct reality_cert tcert;
    static const uint8_t tseed[32] = {0x71};
    assert_int_equal(reality_cert_init(&tcert, tseed), 0);
    struct bytes tchain = bytes_of(tcert.der, sizeof tcert.der);
    struct tls13_ctx tctx = {
        .groups = groups, .n_groups = 1, .cert_chain = &tchain, .n_certs = 1, .sign_key = tcert.ed_priv};
    struct tls13_conn *tgt = tls13_conn_new(&tctx, true);
    assert_non_null(tgt);
    tu_target_server_hello(&tsh, ch.session_id, 0x1303, 0x001d);
    assert_int_equal(tls13_server_set_hello_template(tgt, buf_data(&tsh), buf_len(&tsh)), 0);
    static const size_t separate[4] = {0, 0, 0, 0};
    assert_int_equal(tls13_server_set_record_layout(tgt, separate, 4), 0);
    assert_int_equal(tls13_handshake(tgt, buf_data(&fx.at_target), hello_len, &used, &t2c), ERR_NEED_MORE);
    send_all(fx.tfd, buf_data(&t2c), buf_len(&t2c));

    /* Our flight reaches the client, which recognises the temporary certificate. */
    run_until(client_handshake_done, NULL);
    assert_int_equal(cs.verifier.verdict, REALITY_CERT_REALITY);
    assert_int_equal(atomic_load(&fx.w.stats.authenticated), 1);
    assert_int_equal(outcome_delta(REALITY_OUTCOME_AUTHENTICATED), 1);

    /* The VLESS request (Vision) with the first bytes for the destination, after Finished. */
    static const uint8_t id[16] = {0xb8, 0x31, 0x38, 0x1d, 0x63, 0x24, 0x4d, 0x53,
                                   0xad, 0x4f, 0x8c, 0xda, 0x48, 0xb3, 0x08, 0x11};
    struct vless_addr dest;
    static const uint8_t lo[4] = {127, 0, 0, 1};
    vless_addr_ipv4(&dest, lo, sock_addr_port(&a));
    struct buf req;
    buf_init(&req);
    assert_int_equal(vless_request_encode(&req, id, VLESS_FLOW_VISION, VLESS_CMD_TCP, &dest), 0);
    struct vless_vision_writer w;
    struct vless_vision_wres wres;
    uint32_t seed = 7;
    vless_vision_shared_init(&cs.sh);
    vless_vision_writer_init(&w, &cs.sh, id, test_random, &seed);
    vless_vision_reader_init(&cs.reader, &cs.sh, id);
    assert_int_equal(vless_vision_write(&w, (const uint8_t *)"ping", 4, &req, &wres), 0);
    assert_int_equal(tls13_send(cs.tls, buf_data(&req), buf_len(&req), &cs.out), 0);
    send_all(fx.cfd, buf_data(&cs.out), buf_len(&cs.out));
    buf_reset(&cs.out);

    /* The node dials the destination and relays both ways. */
    size_t four = 4;
    run_until(dest_has, &four);
    assert_int_equal(buf_len(&fx.at_dest), 4);
    assert_memory_equal(buf_data(&fx.at_dest), "ping", 4);
    assert_int_equal(the_session()->state, NODE_SS_RELAY);
    assert_null(the_session()->hs);       /* an idle tunnel carries no handshake state */
    assert_non_null(the_session()->user); /* but its user, for the bytes it books */
    send_all(fx.dfd, "pong", 4);
    run_until(client_got, &four);
    assert_int_equal(buf_len(&cs.got), 4);
    assert_memory_equal(buf_data(&cs.got), "pong", 4);
    assert_int_equal(atomic_load(&fx.w.stats.fallback), 0);

    if (park) {
        /* The worker's tick: a tunnel active a moment ago keeps its AES-GCM contexts, a quiet
         * one gives both back; the next records rebuild them from the kept keys. */
        struct tls13_conn *tls = the_session()->tls;
        node_session_park_quiet(&fx.w, 60000);
        assert_false(crypto_aead_parked(tls13_conn_read_cipher(tls)->aead));
        assert_false(crypto_aead_parked(tls13_conn_write_cipher(tls)->aead));
        node_session_park_quiet(&fx.w, 0);
        assert_true(crypto_aead_parked(tls13_conn_read_cipher(tls)->aead));
        assert_true(crypto_aead_parked(tls13_conn_write_cipher(tls)->aead));
        buf_reset(&req);
        assert_int_equal(vless_vision_write(&w, (const uint8_t *)"again", 5, &req, &wres), 0);
        assert_int_equal(tls13_send(cs.tls, buf_data(&req), buf_len(&req), &cs.out), 0);
        send_all(fx.cfd, buf_data(&cs.out), buf_len(&cs.out));
        buf_reset(&cs.out);
        size_t nine = 9;
        run_until(dest_has, &nine);
        assert_memory_equal(buf_data(&fx.at_dest), "pingagain", 9);
        assert_false(crypto_aead_parked(tls13_conn_read_cipher(tls)->aead));
        send_all(fx.dfd, "back", 4);
        size_t eight = 8;
        run_until(client_got, &eight);
        assert_memory_equal(buf_data(&cs.got), "pongback", 8);
        assert_false(crypto_aead_parked(tls13_conn_write_cipher(tls)->aead));
    }

    buf_dispose(&req);
    buf_dispose(&hello);
    buf_dispose(&scratch);
    buf_dispose(&tsh);
    buf_dispose(&t2c);
    tls13_conn_free(tgt);
    reality_cert_dispose(&tcert);
    tls13_conn_free(cs.tls);
    reality_verifier_wipe(&cs.verifier);
    buf_dispose(&cs.out);
    buf_dispose(&cs.app);
    buf_dispose(&cs.got);
}

static void test_authenticated_vless_vision(void **state)
{
    (void)state;
    run_vision_tunnel(false);
}

/* Idle tunnels hold no AES-GCM context; a rebuilt one seals and opens the next records. */
static void test_idle_tunnel_parks_aead(void **state)
{
    (void)state;
    run_vision_tunnel(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_proxy_v2_then_http_probe, teardown),
        cmocka_unit_test_teardown(test_xver_own_addresses, teardown),
        cmocka_unit_test_teardown(test_bad_proxy_header_closes, teardown),
        cmocka_unit_test_teardown(test_malformed_client_hello, teardown),
        cmocka_unit_test_teardown(test_target_spoke_first, teardown),
        cmocka_unit_test_teardown(test_wrong_key_falls_back, teardown),
        cmocka_unit_test_teardown(test_silent_client_falls_back_at_deadline, teardown),
        cmocka_unit_test_teardown(test_client_eof_is_not_io_error, teardown),
        cmocka_unit_test_teardown(test_authenticated_vless_vision, teardown),
        cmocka_unit_test_teardown(test_idle_tunnel_parks_aead, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
