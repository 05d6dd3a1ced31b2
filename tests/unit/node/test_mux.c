/* node/mux: Mux.Cool TCP sub-connections driven frame by frame, in memory on the tunnel side and
 * over loopback TCP to real listeners on the destination side (the worker's dialer, its policy
 * and the DNS stub). Relay both ways with Xray's frame shapes, End in every direction, dial
 * failures and policy refusals as End+error, idle, id reuse, the per-tunnel limit, backpressure
 * (a stalled destination stops the tunnel only once its buffer is full, and the others' downlinks
 * go on), the bounded downlink queue, the speed limit, and teardown with everything open. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "dns_stub.h"
#include "net/loop.h"
#include "net/sock.h"
#include "node/dial.h"
#include "node/dns.h"
#include "node_test_net.h"
#include "node/mux.h"

static const struct dns_stub_rule rules[] = {
    {"loop.test", DNS_STUB_ANSWER, {127, 0, 0, 1}, 4},
    {"slow.test", DNS_STUB_DROP, {0}, 0},
};

struct fixture {
    struct dns_stub *stub;
    struct loop *loop;
    struct node_dns *dns;
    struct node_dialer *dialer; /* allowPrivateDestinations: true */
    int lfd;
    uint16_t lport, closed_port;
    struct buf out;
    uint64_t up, down;
    int outputs, unblocks;
    bool draining;
    struct node_mux *m;
    size_t seen; /* bytes of `out` already looked at by take_frame */
};

static struct fixture fx;

static void on_output(void *arg)
{
    ((struct fixture *)arg)->outputs++;
}

static void on_unblock(void *arg)
{
    ((struct fixture *)arg)->unblocks++;
}

static struct node_dialer *dialer(bool allow_private)
{
    struct node_dialer_opts o = {
        .allow_private = allow_private, .timeout_ms = 3000, .order = NODE_DIAL_ORDER_IPV4_FIRST};
    struct node_dialer *d = node_dialer_new(fx.loop, fx.dns, &o);
    assert_non_null(d);
    return d;
}

static struct node_mux *engine(struct node_dialer *d, uint64_t idle_ms)
{
    struct node_mux_cfg c = {
        .loop = fx.loop,
        .dialer = d,
        .out = &fx.out,
        .idle_ms = idle_ms,
        .up = &fx.up,
        .down = &fx.down,
        .conn_id = 1,
        .refuse_new = &fx.draining,
        .on_output = on_output,
        .on_unblock = on_unblock,
        .arg = &fx,
    };
    struct node_mux *m = NULL;
    assert_int_equal(node_mux_new(&c, &m), 0);
    return m;
}

static int setup(void **state)
{
    uint16_t port;
    memset(&fx, 0, sizeof(fx));
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
    fx.dialer = dialer(true);
    fx.lfd = node_test_listen(2048, &fx.lport);
    fx.closed_port = node_test_closed_port();
    buf_init(&fx.out);
    fx.m = engine(fx.dialer, 0);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    node_mux_free(fx.m);
    node_dialer_free(fx.dialer);
    node_dns_free(fx.dns);
    loop_run_once(fx.loop, 0); /* deferred frees */
    assert_int_equal(loop_io_count(fx.loop), 0);
    assert_int_equal(loop_timer_count(fx.loop), 0);
    loop_free(fx.loop);
    close(fx.lfd);
    dns_stub_stop(fx.stub);
    buf_dispose(&fx.out);
    return 0;
}

/* ---- helpers ---- */

static void run_ms(int ms)
{
    uint64_t end = loop_clock_ms() + (uint64_t)ms;
    while (loop_clock_ms() < end)
        loop_run_once(fx.loop, 5);
}

static int frame(uint16_t id, uint8_t status, const struct vless_addr *dest, const void *data, size_t len)
{
    struct vless_mux_frame f = {.session_id = id, .status = status};
    if (dest != NULL) {
        f.has_target = true;
        f.network = VLESS_MUX_NET_TCP;
        f.target = *dest;
    }
    if (data != NULL) {
        f.option = VLESS_MUX_OPT_DATA;
        f.has_data = true;
        f.data = bytes_of(data, len);
    }
    return node_mux_frame(fx.m, &f);
}

static struct vless_addr to_port(uint16_t port)
{
    static const uint8_t lo[4] = {127, 0, 0, 1};
    struct vless_addr a;
    vless_addr_ipv4(&a, lo, port);
    return a;
}

static int open_sub(uint16_t id, const void *data, size_t len)
{
    struct vless_addr a = to_port(fx.lport);
    return frame(id, VLESS_MUX_NEW, &a, data, len);
}

/* Runs the loop until the destination's connection can be accepted. */
static int accept_dest(void)
{
    for (int i = 0; i < 400; i++) {
        struct sock_addr peer;
        int c = sock_accept(fx.lfd, &peer);
        if (c >= 0) {
            run_ms(5); /* the dial callback */
            return c;
        }
        loop_run_once(fx.loop, 5);
    }
    fail_msg("no connection to the destination");
    return -1;
}

/* Reads exactly n bytes from a (nonblocking) destination socket while the loop runs. */
static void dest_expect(int fd, const void *want, size_t n)
{
    uint8_t *got = malloc(n ? n : 1);
    size_t have = 0;
    for (int i = 0; i < 2000 && have < n; i++) {
        ssize_t k = recv(fd, got + have, n - have, MSG_DONTWAIT);
        if (k > 0)
            have += (size_t)k;
        else
            loop_run_once(fx.loop, 2);
    }
    assert_int_equal(have, n);
    assert_memory_equal(got, want, n);
    free(got);
}

static bool dest_eof(int fd)
{
    for (int i = 0; i < 500; i++) {
        char c;
        ssize_t k = recv(fd, &c, 1, MSG_DONTWAIT);
        if (k == 0)
            return true;
        if (k > 0)
            return false;
        loop_run_once(fx.loop, 2);
    }
    return false;
}

/* The next frame the engine wrote to `out` (0), or ERR_NEED_MORE after running the loop a while. */
static int take_frame(struct vless_mux_frame *f, int wait_ms)
{
    uint64_t end = loop_clock_ms() + (uint64_t)wait_ms;
    for (;;) {
        size_t used = 0;
        int rc = vless_mux_parse(buf_data(&fx.out) + fx.seen, buf_len(&fx.out) - fx.seen, f, &used);
        if (rc == 0) {
            fx.seen += used;
            return 0;
        }
        assert_int_equal(rc, ERR_NEED_MORE);
        if (loop_clock_ms() >= end)
            return rc;
        loop_run_once(fx.loop, 2);
    }
}

static void out_reset(void)
{
    buf_reset(&fx.out);
    fx.seen = 0;
}

static void expect_end(uint16_t id, bool error, int wait_ms)
{
    struct vless_mux_frame f;
    assert_int_equal(take_frame(&f, wait_ms), 0);
    assert_int_equal(f.status, VLESS_MUX_END);
    assert_int_equal(f.session_id, id);
    assert_int_equal(f.option, error ? VLESS_MUX_OPT_ERROR : 0);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed);
}

/* Collects the Keep data of one session from `out` until `n` bytes came. */
static void expect_down(uint16_t id, const uint8_t *want, size_t n)
{
    uint8_t *got = malloc(n);
    size_t have = 0;
    while (have < n) {
        struct vless_mux_frame f;
        assert_int_equal(take_frame(&f, 3000), 0);
        assert_int_equal(f.session_id, id);
        assert_int_equal(f.status, VLESS_MUX_KEEP);
        assert_int_equal(f.option, VLESS_MUX_OPT_DATA); /* exactly 0x01: what Xray's client reader wants */
        assert_false(f.has_target);
        assert_true(f.data.len > 0 && f.data.len <= NODE_MUX_CHUNK);
        assert_true(have + f.data.len <= n);
        memcpy(got + have, f.data.p, f.data.len);
        have += f.data.len;
    }
    assert_memory_equal(got, want, n);
    free(got);
}

/* ---- tests ---- */

static void test_relay_both_ways_then_destination_end(void **state)
{
    (void)state;
    assert_int_equal(open_sub(1, "hello", 5), 1);
    assert_int_equal(node_mux_count(fx.m), 1);
    int d = accept_dest();
    dest_expect(d, "hello", 5);
    assert_int_equal(frame(1, VLESS_MUX_KEEP, NULL, " world", 6), 1);
    dest_expect(d, " world", 6);
    static uint8_t big[40000];
    fill(big, sizeof(big), 7);
    assert_int_equal(send(d, big, sizeof(big), 0), (ssize_t)sizeof(big));
    expect_down(1, big, sizeof(big));
    assert_true(fx.outputs > 0);
    close(d); /* the destination ends: End without error, the sub-connection is gone */
    expect_end(1, false, 3000);
    assert_int_equal(node_mux_count(fx.m), 0);
    assert_int_equal(fx.up, 11);
    assert_int_equal(fx.down, sizeof(big));
    /* A Keep for the ended id is no longer ours: the caller answers it with End. */
    assert_int_equal(frame(1, VLESS_MUX_KEEP, NULL, "late", 4), 0);
}

static void test_client_end_delivers_held_bytes(void **state)
{
    (void)state;
    static uint8_t body[300000];
    fill(body, sizeof(body), 3);
    /* New without data, then data while dialing, then End: everything reaches the destination. */
    assert_int_equal(open_sub(5, NULL, 0), 1);
    assert_int_equal(frame(5, VLESS_MUX_KEEP, NULL, body, 60000), 1);
    assert_int_equal(frame(5, VLESS_MUX_KEEP, NULL, body + 60000, sizeof(body) - 60000), 1);
    assert_int_equal(frame(5, VLESS_MUX_END, NULL, NULL, 0), 1);
    int d = accept_dest();
    dest_expect(d, body, sizeof(body));
    assert_true(dest_eof(d));
    close(d);
    run_ms(20);
    assert_int_equal(node_mux_count(fx.m), 0);
    assert_int_equal(fx.up, sizeof(body));
    struct vless_mux_frame f;
    assert_int_equal(take_frame(&f, 50), ERR_NEED_MORE); /* the client ended it: nothing back */
}

static void test_not_ours(void **state)
{
    (void)state;
    assert_int_equal(frame(9, VLESS_MUX_KEEP, NULL, "x", 1), 0);
    assert_int_equal(frame(9, VLESS_MUX_END, NULL, NULL, 0), 0);
    assert_int_equal(frame(9, VLESS_MUX_KEEPALIVE, NULL, NULL, 0), 0);
    struct vless_addr a = to_port(53);
    struct vless_mux_frame udp = {
        .session_id = 9, .status = VLESS_MUX_NEW, .has_target = true, .network = VLESS_MUX_NET_UDP, .target = a};
    assert_int_equal(node_mux_frame(fx.m, &udp), 0);
    /* A UDP New reusing a live TCP id ends the TCP sub-connection quietly and stays the caller's. */
    assert_int_equal(open_sub(3, "q", 1), 1);
    int d = accept_dest();
    dest_expect(d, "q", 1);
    udp.session_id = 3;
    assert_int_equal(node_mux_frame(fx.m, &udp), 0);
    assert_true(dest_eof(d));
    close(d);
    assert_int_equal(node_mux_count(fx.m), 0);
    assert_int_equal(buf_len(&fx.out), 0);
}

static void test_policy_and_dial_failures(void **state)
{
    (void)state;
    /* The destination policy of a plain VLESS TCP request: loopback refused, by IP and by name. */
    struct node_dialer *strict = dialer(false);
    node_mux_free(fx.m);
    fx.m = engine(strict, 0);
    struct vless_addr ip = to_port(fx.lport), name;
    assert_int_equal(vless_addr_domain(&name, "loop.test", 9, fx.lport), 0);
    assert_int_equal(frame(1, VLESS_MUX_NEW, &ip, "GET /", 5), 1);
    expect_end(1, true, 3000);
    assert_int_equal(frame(2, VLESS_MUX_NEW, &name, NULL, 0), 1);
    expect_end(2, true, 3000);
    struct sock_addr peer;
    assert_true(sock_accept(fx.lfd, &peer) < 0); /* nothing was connected */
    assert_int_equal(fx.up, 0);
    node_mux_free(fx.m);
    run_ms(5);
    node_dialer_free(strict);
    /* The node's own listeners are refused even with private destinations allowed. */
    out_reset();
    struct node_dialer_opts own = {.allow_private = true,
                                   .timeout_ms = 3000,
                                   .order = NODE_DIAL_ORDER_IPV4_FIRST,
                                   .own_ports = &fx.lport,
                                   .n_own_ports = 1};
    struct node_dialer *self = node_dialer_new(fx.loop, fx.dns, &own);
    assert_non_null(self);
    fx.m = engine(self, 0);
    assert_int_equal(frame(5, VLESS_MUX_NEW, &ip, "POST /api", 9), 1);
    expect_end(5, true, 3000);
    assert_true(sock_accept(fx.lfd, &peer) < 0);
    node_mux_free(fx.m);
    run_ms(5);
    node_dialer_free(self);
    /* Allowed, but nobody listens / port 0: End with the error bit as well. */
    out_reset();
    fx.m = engine(fx.dialer, 0);
    struct vless_addr closed = to_port(fx.closed_port), zero = to_port(0);
    assert_int_equal(frame(3, VLESS_MUX_NEW, &closed, NULL, 0), 1);
    expect_end(3, true, 3000);
    assert_int_equal(frame(4, VLESS_MUX_NEW, &zero, NULL, 0), 1);
    expect_end(4, true, 3000);
    assert_int_equal(node_mux_count(fx.m), 0);
}

static void test_idle_and_id_reuse(void **state)
{
    (void)state;
    node_mux_free(fx.m);
    fx.m = engine(fx.dialer, 150);
    assert_int_equal(open_sub(1, "a", 1), 1);
    int d1 = accept_dest();
    /* The same id again: the old one is closed (its destination sees EOF), the new one works. */
    assert_int_equal(open_sub(1, "b", 1), 1);
    dest_expect(d1, "a", 1);
    assert_true(dest_eof(d1));
    assert_int_equal(buf_len(&fx.out), 0); /* quietly: no End for the old one */
    int d2 = accept_dest();
    dest_expect(d2, "b", 1);
    assert_int_equal(node_mux_count(fx.m), 1);
    close(d1);
    /* Nothing moves for idle_ms: End with the error bit. */
    expect_end(1, true, 2000);
    assert_int_equal(node_mux_count(fx.m), 0);
    assert_true(dest_eof(d2));
    close(d2);
}

static void test_limit_per_tunnel(void **state)
{
    (void)state;
    /* Dials that never finish (the name is never answered) hold no socket. */
    struct vless_addr slow;
    assert_int_equal(vless_addr_domain(&slow, "slow.test", 9, 80), 0);
    for (unsigned i = 1; i <= NODE_MUX_SUBS; i++)
        assert_int_equal(frame((uint16_t)i, VLESS_MUX_NEW, &slow, NULL, 0), 1);
    assert_int_equal(node_mux_count(fx.m), NODE_MUX_SUBS);
    assert_int_equal(buf_len(&fx.out), 0);
    assert_int_equal(frame(NODE_MUX_SUBS + 1, VLESS_MUX_NEW, &slow, NULL, 0), 1);
    expect_end(NODE_MUX_SUBS + 1, true, 0);
    assert_int_equal(node_mux_count(fx.m), NODE_MUX_SUBS);
    /* One ends: room for one more. */
    assert_int_equal(frame(7, VLESS_MUX_END, NULL, NULL, 0), 1);
    assert_int_equal(frame(NODE_MUX_SUBS + 2, VLESS_MUX_NEW, &slow, NULL, 0), 1);
    assert_int_equal(buf_len(&fx.out) - fx.seen, 0);
    /* A draining node refuses new ones. */
    fx.draining = true;
    assert_int_equal(frame(NODE_MUX_SUBS + 3, VLESS_MUX_NEW, &slow, NULL, 0), 1);
    expect_end(NODE_MUX_SUBS + 3, true, 0);
}

/* A destination that does not read fills its sub-connection's buffer; only then does the tunnel
 * stop, and other sub-connections keep moving until then (and their downlinks after). */
static void test_slow_destination_backpressure(void **state)
{
    (void)state;
    assert_int_equal(open_sub(1, NULL, 0), 1);
    int slow = accept_dest();
    assert_int_equal(open_sub(2, NULL, 0), 1);
    int fast = accept_dest();
    static uint8_t chunk[60000];
    fill(chunk, sizeof(chunk), 1);
    size_t fed = 0;
    int frames = 0;
    while (!node_mux_blocked(fx.m)) {
        assert_true(fed < 64u << 20); /* bounded: it must block at some point */
        assert_int_equal(frame(1, VLESS_MUX_KEEP, NULL, chunk, sizeof(chunk)), 1);
        fed += sizeof(chunk);
        /* the other sub-connection still gets through */
        if (++frames % 4 == 0) {
            assert_int_equal(frame(2, VLESS_MUX_KEEP, NULL, "ping", 4), 1);
            dest_expect(fast, "ping", 4);
        }
        loop_run_once(fx.loop, 0);
    }
    /* Blocked exactly when the stalled one holds its whole buffer (beyond what its socket took). */
    size_t pings = (size_t)(frames / 4) * 4, held = fed + pings - fx.up;
    assert_true(held >= NODE_MUX_SUB_BUF);
    assert_true(held < NODE_MUX_SUB_BUF + sizeof(chunk));
    assert_int_equal(fx.unblocks, 0);
    /* While the tunnel is stopped, the fast one's downlink still flows. */
    assert_int_equal(send(fast, "pong", 4, 0), 4);
    expect_down(2, (const uint8_t *)"pong", 4);
    /* The slow destination reads everything: the tunnel may read again, told once. */
    uint8_t *all = malloc(fed);
    for (size_t i = 0; i < fed; i += sizeof(chunk))
        memcpy(all + i, chunk, sizeof(chunk));
    dest_expect(slow, all, fed);
    free(all);
    run_ms(20);
    assert_false(node_mux_blocked(fx.m));
    assert_int_equal(fx.unblocks, 1);
    assert_int_equal(fx.up, fed + pings);
    close(slow);
    close(fast);
    unsigned ended = 0;
    for (int i = 0; i < 2; i++) { /* either may be first */
        struct vless_mux_frame f;
        assert_int_equal(take_frame(&f, 3000), 0);
        assert_int_equal(f.status, VLESS_MUX_END);
        assert_int_equal(f.option, 0);
        ended |= 1u << f.session_id;
    }
    assert_int_equal(ended, 6);
}

/* The downlink queue stays bounded while the client does not take it, and refills once it does. */
static void test_downlink_queue_bounded(void **state)
{
    (void)state;
    assert_int_equal(open_sub(4, NULL, 0), 1);
    int d = accept_dest();
    int fl = fcntl(d, F_GETFL);
    assert_int_equal(fcntl(d, F_SETFL, fl | O_NONBLOCK), 0);
    static uint8_t big[8 << 20]; /* more than loopback socket buffers hold */
    fill(big, sizeof(big), 9);
    size_t sent = 0;
    for (int i = 0; i < 400; i++) {
        ssize_t k = send(d, big + sent, sizeof(big) - sent, MSG_DONTWAIT);
        if (k > 0)
            sent += (size_t)k;
        loop_run_once(fx.loop, 2);
    }
    assert_true(sent < sizeof(big)); /* the node stopped reading: the sender is blocked */
    assert_true(buf_len(&fx.out) < NODE_MUX_OUT_HIGH + 2 * (NODE_MUX_CHUNK + 8));
    /* Take everything, tell the engine, and the rest comes. */
    uint8_t *got = malloc(sizeof(big));
    size_t have = 0;
    while (have < sizeof(big)) {
        struct vless_mux_frame f;
        int rc = take_frame(&f, 0);
        if (rc == ERR_NEED_MORE) {
            out_reset();
            node_mux_out_drained(fx.m);
            if (sent < sizeof(big)) {
                ssize_t k = send(d, big + sent, sizeof(big) - sent, MSG_DONTWAIT);
                if (k > 0)
                    sent += (size_t)k;
            }
            loop_run_once(fx.loop, 2);
            continue;
        }
        assert_int_equal(f.session_id, 4);
        memcpy(got + have, f.data.p, f.data.len);
        have += f.data.len;
    }
    assert_memory_equal(got, big, sizeof(big));
    free(got);
    close(d);
}

/* ---- the user's speed limit ---- */

static int takes;
static uint64_t slow_take(void *arg, size_t n)
{
    (void)arg;
    takes++;
    return n > 0 ? 300 : 0; /* every charge holds 300 ms; asking again with 0 lets it go */
}

static void test_speed_limit_holds_the_tunnel(void **state)
{
    (void)state;
    node_mux_free(fx.m);
    struct node_mux_cfg c = {
        .loop = fx.loop,
        .dialer = fx.dialer,
        .out = &fx.out,
        .rate = {{slow_take, NULL}, {slow_take, NULL}},
        .up = &fx.up,
        .down = &fx.down,
        .on_output = on_output,
        .on_unblock = on_unblock,
        .arg = &fx,
    };
    assert_int_equal(node_mux_new(&c, &fx.m), 0);
    assert_int_equal(open_sub(1, "abc", 3), 1);
    assert_true(node_mux_blocked(fx.m)); /* the uplink bucket is empty: stop reading the tunnel */
    int d = accept_dest();
    dest_expect(d, "abc", 3);
    run_ms(400);
    assert_false(node_mux_blocked(fx.m));
    assert_int_equal(fx.unblocks, 1);
    /* Downlink: after a charged read the destination is not read until the hold ends. */
    assert_int_equal(send(d, "xy", 2, 0), 2);
    expect_down(1, (const uint8_t *)"xy", 2);
    assert_int_equal(send(d, "zz", 2, 0), 2);
    struct vless_mux_frame f;
    assert_int_equal(take_frame(&f, 50), ERR_NEED_MORE);
    expect_down(1, (const uint8_t *)"zz", 2);
    assert_true(takes >= 4);
    close(d);
}

/* Freeing the engine with sub-connections in every state leaves nothing registered. */
static void test_free_with_everything_open(void **state)
{
    (void)state;
    struct vless_addr slow;
    assert_int_equal(vless_addr_domain(&slow, "slow.test", 9, 80), 0);
    assert_int_equal(frame(1, VLESS_MUX_NEW, &slow, "held", 4), 1); /* dialing with bytes */
    assert_int_equal(open_sub(2, "x", 1), 1);                       /* open */
    int d = accept_dest();
    dest_expect(d, "x", 1);
    assert_int_equal(send(d, "down", 4, 0), 4);
    run_ms(10);
    assert_int_equal(node_mux_count(fx.m), 2);
    node_mux_free(fx.m);
    fx.m = NULL;
    assert_true(dest_eof(d));
    close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_relay_both_ways_then_destination_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_end_delivers_held_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_and_dial_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_and_id_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_per_tunnel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_destination_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_downlink_queue_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_speed_limit_holds_the_tunnel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_everything_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
