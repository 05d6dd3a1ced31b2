#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "core/pool.h"
#include "net/loop.h"
#include "core/ratelimit.h"
#include "net/relay.h"
#include "net/sock.h"

/* ---- deterministic byte streams ---- */

struct gen {
    uint32_t x;
    uint32_t word;
    uint64_t pos;
};

static void gen_init(struct gen *g, uint32_t seed)
{
    *g = (struct gen){.x = seed | 1u};
}

static uint8_t gen_byte(struct gen *g)
{
    if ((g->pos & 3) == 0) {
        g->x ^= g->x << 13;
        g->x ^= g->x >> 17;
        g->x ^= g->x << 5;
        g->word = g->x;
    }
    uint8_t b = (uint8_t)(g->word >> (8 * (g->pos & 3)));
    g->pos++;
    return b;
}

static uint64_t fnv_step(uint64_t h, uint8_t b)
{
    return (h ^ b) * 0x100000001b3ull;
}

/* ---- test endpoints: the "client" behind side A and the "target" behind side B ---- */

struct endpoint {
    struct loop_io io;
    struct loop *loop;
    uint8_t xor_key; /* data on the wire is XORed (transport test) */
    /* sending */
    struct gen tx;
    uint64_t to_send, sent;
    uint64_t tx_sum;
    uint8_t chunk[65536];
    size_t chunk_off, chunk_len;
    bool shut_when_done, shut;
    bool send_after_eof; /* start sending only after reading EOF */
    /* receiving */
    struct gen rx;
    uint64_t received;
    uint64_t rx_sum;
    bool eof, mismatch, paused;
    int err;
    const uint8_t *expect_prefix;
    size_t prefix_len;
};

static void ep_update(struct endpoint *e);

static void ep_cb(struct loop *loop, struct loop_io *io, unsigned rev)
{
    struct endpoint *e = container_of(io, struct endpoint, io);
    if (rev & LOOP_READ) {
        uint8_t buf[65536];
        ssize_t n = read(io->fd, buf, sizeof(buf));
        if (n > 0) {
            for (ssize_t i = 0; i < n; i++) {
                uint8_t b = buf[i] ^ e->xor_key;
                uint8_t want;
                if (e->received < e->prefix_len)
                    want = e->expect_prefix[e->received];
                else
                    want = gen_byte(&e->rx);
                if (b != want)
                    e->mismatch = true;
                e->rx_sum = fnv_step(e->rx_sum, b);
                e->received++;
            }
        } else if (n == 0) {
            e->eof = true;
        } else if (errno != EAGAIN) {
            e->err = -errno;
            e->eof = true;
        }
    }
    if (rev & LOOP_WRITE) {
        while (e->sent < e->to_send) {
            if (e->chunk_off == e->chunk_len) {
                uint64_t left = e->to_send - e->sent;
                size_t n = left < sizeof(e->chunk) ? (size_t)left : sizeof(e->chunk);
                for (size_t i = 0; i < n; i++) {
                    uint8_t b = gen_byte(&e->tx);
                    e->tx_sum = fnv_step(e->tx_sum, b);
                    e->chunk[i] = b ^ e->xor_key;
                }
                e->chunk_off = 0;
                e->chunk_len = n;
            }
            ssize_t k = write(io->fd, e->chunk + e->chunk_off, e->chunk_len - e->chunk_off);
            if (k <= 0)
                break;
            e->chunk_off += (size_t)k;
            e->sent += (uint64_t)k;
        }
        if (e->sent == e->to_send && e->shut_when_done && !e->shut) {
            shutdown(io->fd, SHUT_WR);
            e->shut = true;
        }
    }
    ep_update(e);
}

static bool ep_sending(const struct endpoint *e)
{
    if (e->send_after_eof && !e->eof)
        return false;
    return e->sent < e->to_send || (e->shut_when_done && !e->shut);
}

static void ep_update(struct endpoint *e)
{
    unsigned ev = 0;
    if (!e->eof && !e->paused)
        ev |= LOOP_READ;
    if (ep_sending(e))
        ev |= LOOP_WRITE;
    assert_int_equal(loop_io_set(e->loop, &e->io, ev), 0);
}

static void ep_init(struct endpoint *e, struct loop *loop, int fd, uint32_t tx_seed, uint64_t to_send, uint32_t rx_seed)
{
    memset(e, 0, sizeof(*e));
    e->loop = loop;
    loop_io_init(&e->io, fd, ep_cb);
    gen_init(&e->tx, tx_seed);
    gen_init(&e->rx, rx_seed);
    e->to_send = to_send;
    e->shut_when_done = true;
    e->tx_sum = e->rx_sum = 0xcbf29ce484222325ull;
}

/* ---- fixture ---- */

struct fixture {
    struct loop *loop;
    struct pool *pool;
    int lfd;
    int a_peer, a_relay, b_relay, b_peer;
    struct relay relay;
    bool done;
    enum relay_reason reason;
    int err;
    uint64_t done_at;
};

static void tcp_pair(int lfd, int *cli, int *srv, int bufsize)
{
    struct sock_addr bound;
    assert_int_equal(sock_local_addr(lfd, &bound), 0);
    int rc = sock_connect(&bound, cli);
    assert_true(rc == 0 || rc == -EINPROGRESS);
    if (bufsize > 0) {
        setsockopt(*cli, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
        setsockopt(*cli, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    }
    struct pollfd p = {.fd = *cli, .events = POLLOUT};
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_int_equal(sock_connect_result(*cli), 0);
    p = (struct pollfd){.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    *srv = sock_accept(lfd, NULL);
    assert_true(*srv >= 0);

    if (bufsize > 0) {
        setsockopt(*srv, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
        setsockopt(*srv, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    }
}

static void on_done(struct relay *r, enum relay_reason reason, int err)
{
    struct fixture *f = container_of(r, struct fixture, relay);
    assert_false(f->done); /* exactly once */
    assert_false(relay_running(r));
    assert_int_equal(relay_buffers_held(r), 0);
    f->done = true;
    f->reason = reason;
    f->err = err;
    f->done_at = loop_now(r->loop);
}

static void fixture_setup(struct fixture *f, const struct relay_cfg *cfg_in, int bufsize)
{
    memset(f, 0, sizeof(*f));
    f->loop = loop_new();
    assert_non_null(f->loop);
    f->pool = pool_new(0, 8);
    struct sock_addr a;
    assert_int_equal(sock_addr_parse(&a, "127.0.0.1:0"), 0);
    f->lfd = sock_listen(&a, 8, SOCK_LISTEN_NONE);
    assert_true(f->lfd >= 0);
    tcp_pair(f->lfd, &f->a_peer, &f->a_relay, bufsize);
    tcp_pair(f->lfd, &f->b_relay, &f->b_peer, bufsize);
    struct relay_cfg cfg = *cfg_in;
    cfg.pool = f->pool;
    cfg.on_done = on_done;
    relay_init(&f->relay, f->loop, &cfg);
}

static void fixture_teardown(struct fixture *f, struct endpoint *ea, struct endpoint *eb)
{
    relay_dispose(&f->relay);
    if (ea != NULL)
        loop_io_stop(f->loop, &ea->io);
    if (eb != NULL)
        loop_io_stop(f->loop, &eb->io);
    assert_int_equal(loop_io_count(f->loop), 0);
    assert_int_equal(loop_timer_count(f->loop), 0);
    assert_int_equal(loop_task_count(f->loop), 0);
    struct pool_stats st;
    pool_get_stats(f->pool, &st);
    assert_int_equal(st.in_use, 0);
    close(f->a_peer);
    close(f->a_relay);
    close(f->b_relay);
    close(f->b_peer);
    close(f->lfd);
    pool_free(f->pool);
    loop_free(f->loop);
}

/* Runs the loop until cond(arg) or the deadline; fails on timeout. */
static void run_until(struct fixture *f, bool (*cond)(void *), void *arg, uint64_t max_ms)
{
    uint64_t deadline = loop_clock_ms() + max_ms;
    while (!cond(arg)) {
        assert_int_equal(loop_run_once(f->loop, 50), 0);
        if (loop_clock_ms() > deadline)
            fail_msg("timeout: done=%d reason=%s a2b=%llu/%llu b2a=%llu/%llu", f->done, relay_reason_str(f->reason),
                     (unsigned long long)relay_bytes_read(&f->relay, RELAY_A_TO_B),
                     (unsigned long long)relay_bytes(&f->relay, RELAY_A_TO_B),
                     (unsigned long long)relay_bytes_read(&f->relay, RELAY_B_TO_A),
                     (unsigned long long)relay_bytes(&f->relay, RELAY_B_TO_A));
    }
}

static void run_for(struct fixture *f, uint64_t ms)
{
    uint64_t end = loop_clock_ms() + ms;
    while (loop_clock_ms() < end)
        assert_int_equal(loop_run_once(f->loop, 10), 0);
}

struct both {
    struct fixture *f;
    struct endpoint *a, *b;
};

static bool all_done(void *arg)
{
    struct both *x = arg;
    return x->f->done && x->a->eof && x->b->eof;
}

/* ---- tests ---- */

static void transfer(enum relay_mode mode, uint64_t up, uint64_t down)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = mode, .idle_ms = 10000};
    fixture_setup(&f, &cfg, 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 111, up, 222);
    ep_init(&eb, f.loop, f.b_peer, 222, down, 111);
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), ERR_BAD_STATE);
    struct both x = {&f, &ea, &eb};
    run_until(&f, all_done, &x, 30000);

    assert_int_equal(f.reason, RELAY_REASON_DONE);
    assert_int_equal(f.err, 0);
    assert_false(ea.mismatch);
    assert_false(eb.mismatch);
    assert_int_equal(eb.received, up);
    assert_int_equal(ea.received, down);
    assert_true(eb.rx_sum == ea.tx_sum); /* checksums over the whole streams */
    assert_true(ea.rx_sum == eb.tx_sum);
    assert_int_equal(relay_bytes(&f.relay, RELAY_A_TO_B), up);
    assert_int_equal(relay_bytes_read(&f.relay, RELAY_A_TO_B), up);
    assert_int_equal(relay_bytes(&f.relay, RELAY_B_TO_A), down);
    assert_int_equal(relay_bytes_read(&f.relay, RELAY_B_TO_A), down);
    fixture_teardown(&f, &ea, &eb);
}

static void test_copy_both_directions(void **state)
{
    transfer(RELAY_MODE_COPY, 6u << 20, (5u << 20) + 12345);
}

static void test_splice_both_directions(void **state)
{
    transfer(RELAY_MODE_SPLICE, 6u << 20, (5u << 20) + 12345);
}

static void test_empty_streams(void **state)
{
    transfer(RELAY_MODE_COPY, 0, 0);
    transfer(RELAY_MODE_SPLICE, 0, 1);
}

/* A sends and half-closes; B sees all data and EOF while the relay still runs, and only then
 * answers; A gets the answer. */
static void half_close(enum relay_mode mode)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = mode};
    fixture_setup(&f, &cfg, 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 5, 300000, 6);
    ep_init(&eb, f.loop, f.b_peer, 6, 200000, 5);
    eb.send_after_eof = true;
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    while (!eb.eof)
        assert_int_equal(loop_run_once(f.loop, 1000), 0);
    assert_int_equal(eb.received, 300000);
    assert_false(f.done);
    assert_true(relay_running(&f.relay));
    assert_false(relay_quiet(&f.relay)); /* one direction half-closed: not replaceable */
    assert_int_equal(ea.received, 0);
    ep_update(&eb); /* B now starts answering */
    struct both x = {&f, &ea, &eb};
    run_until(&f, all_done, &x, 10000);
    assert_int_equal(f.reason, RELAY_REASON_DONE);
    assert_int_equal(ea.received, 200000);
    assert_false(ea.mismatch);
    assert_false(eb.mismatch);
    fixture_teardown(&f, &ea, &eb);
}

static void test_half_close_copy(void **state)
{
    half_close(RELAY_MODE_COPY);
}

static void test_half_close_splice(void **state)
{
    half_close(RELAY_MODE_SPLICE);
}

/* B's reader pauses: the relay must stop reading A (bounded in-flight data, A's writer blocks),
 * then deliver everything when B reads again. */
struct slow {
    struct loop_timer t;
    struct endpoint *e;
    int fd;
};

static void slow_read_cb(struct loop *loop, struct loop_timer *t)
{
    struct slow *s = container_of(t, struct slow, t);
    ep_cb(loop, &s->e->io, LOOP_READ); /* one read of at most 64 KiB per tick */
}

static bool b_eof(void *arg)
{
    struct both *x = arg;
    return x->b->eof && x->f->done;
}

/* This process's user + system CPU time in ms. */
static uint64_t cpu_ms(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static void backpressure(enum relay_mode mode)
{
    const uint64_t total = 4u << 20;
    struct fixture f;
    struct relay_cfg cfg = {.mode = mode};
    fixture_setup(&f, &cfg, 32768);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 9, total, 10);
    ep_init(&eb, f.loop, f.b_peer, 10, 0, 9);
    eb.paused = true;
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    uint64_t r1, r2, give_up = loop_clock_ms() + 10000;
    do {
        r1 = relay_bytes_read(&f.relay, RELAY_A_TO_B);
        run_for(&f, 100);
        r2 = relay_bytes_read(&f.relay, RELAY_A_TO_B);
    } while ((r1 != r2 || r1 == 0) && loop_clock_ms() < give_up);
    /* Stalled: nothing more read, the sender is stuck, at most one block in flight. */
    assert_int_equal(r1, r2);
    assert_true(r2 < total / 2);
    assert_true(ea.sent < total);
    assert_true(relay_buffers_held(&f.relay) <= 1);
    assert_false(relay_quiet(&f.relay)); /* bytes held for a stalled sink */
    assert_true(f.relay.half[RELAY_A_TO_B].blocked);
    assert_true(f.relay.end[RELAY_SIDE_B].io.events & LOOP_WRITE);
    assert_false(f.relay.end[RELAY_SIDE_A].io.events & LOOP_READ);
    struct pool_stats st;
    pool_get_stats(f.pool, &st);
    assert_true(st.in_use <= 1);
    /* Stalled means asleep: no wakeup spinning on a readable source or a full sink. */
    uint64_t cpu0 = cpu_ms();
    run_for(&f, 300);
    assert_true(cpu_ms() - cpu0 < 60);
    assert_int_equal(relay_bytes_read(&f.relay, RELAY_A_TO_B), r2);
    if (mode == RELAY_MODE_SPLICE) {
        /* Parking closes only the empty pipe (B to A); the one holding stalled bytes stays. */
        assert_true(f.relay.half[RELAY_A_TO_B].in_pipe > 0);
        assert_int_equal(relay_park_pipes(&f.relay), 1);
        assert_true(f.relay.half[RELAY_A_TO_B].pipe[0] != -1);
        assert_int_equal(f.relay.half[RELAY_B_TO_A].pipe[0], -1);
        assert_true(relay_dir_spliced(&f.relay, RELAY_B_TO_A));
    }

    /* Slow reader: one read per millisecond. */
    eb.paused = true;
    ep_update(&eb);
    struct slow s = {.e = &eb};
    loop_timer_init(&s.t, slow_read_cb);
    loop_timer_start(f.loop, &s.t, 1, 1);
    struct both x = {&f, &ea, &eb};
    run_until(&f, b_eof, &x, 30000);
    loop_timer_stop(f.loop, &s.t);
    assert_int_equal(eb.received, total);
    assert_false(eb.mismatch);
    assert_true(eb.rx_sum == ea.tx_sum);
    assert_int_equal(relay_bytes(&f.relay, RELAY_A_TO_B), total);
    fixture_teardown(&f, &ea, &eb);
}

static void test_backpressure_copy(void **state)
{
    backpressure(RELAY_MODE_COPY);
}

static void test_backpressure_splice(void **state)
{
    backpressure(RELAY_MODE_SPLICE);
}

static bool relay_done(void *arg)
{
    return ((struct fixture *)arg)->done;
}

static void test_idle_timeout(void **state)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_COPY, .idle_ms = 100};
    fixture_setup(&f, &cfg, 0);
    loop_update_time(f.loop);
    uint64_t t0 = loop_now(f.loop); /* the relay arms its timer from the loop's clock, not a later reading */
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    run_until(&f, relay_done, &f, 5000);
    assert_int_equal(f.reason, RELAY_REASON_IDLE);
    assert_int_equal(f.err, ERR_TIMEOUT);
    assert_true(loop_clock_ms() - t0 >= 100);
    assert_true(loop_clock_ms() - t0 < 5000); /* generous: CI machines are loaded */
    fixture_teardown(&f, NULL, NULL);
}

/* Traffic every 50 ms keeps it alive (lazy re-arm); it dies idle_ms after the last byte. */
struct ticker {
    struct loop_timer t;
    int fd;
    int left;
    uint64_t last;
};

static void tick_cb(struct loop *loop, struct loop_timer *t)
{
    struct ticker *k = container_of(t, struct ticker, t);
    assert_int_equal(write(k->fd, "x", 1), 1);
    k->last = loop_now(loop);
    if (--k->left == 0)
        loop_timer_stop(loop, t);
}

static void test_idle_rearm(void **state)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_COPY, .idle_ms = 400};
    fixture_setup(&f, &cfg, 0);
    struct ticker k = {.fd = f.a_peer, .left = 6};
    loop_timer_init(&k.t, tick_cb);
    loop_timer_start(f.loop, &k.t, 50, 50);
    uint64_t t0 = loop_now(f.loop);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    run_until(&f, relay_done, &f, 5000);
    assert_int_equal(f.reason, RELAY_REASON_IDLE);
    assert_int_equal(k.left, 0);
    assert_true(f.done_at - t0 >= 300 + 400);
    assert_true(f.done_at >= k.last + 400);
    assert_int_equal(relay_bytes(&f.relay, RELAY_A_TO_B), 6);
    fixture_teardown(&f, NULL, NULL);
}

/* Mid-connection with nothing in flight, the relay holds no pool block. */
static bool got_small(void *arg)
{
    struct both *x = arg;
    return x->b->received == 100000 && x->a->received == 70000;
}

static void test_no_buffers_when_idle(void **state)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_COPY};
    fixture_setup(&f, &cfg, 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 1, 100000, 2);
    ep_init(&eb, f.loop, f.b_peer, 2, 70000, 1);
    ea.shut_when_done = eb.shut_when_done = false;
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    struct both x = {&f, &ea, &eb};
    run_until(&f, got_small, &x, 5000);
    run_for(&f, 20);
    assert_true(relay_running(&f.relay));
    assert_int_equal(relay_buffers_held(&f.relay), 0);
    struct pool_stats st;
    pool_get_stats(f.pool, &st);
    assert_int_equal(st.in_use, 0);
    assert_true(st.gets > 0);
    assert_int_equal(relay_bytes(&f.relay, RELAY_A_TO_B), 100000);
    assert_int_equal(relay_bytes(&f.relay, RELAY_B_TO_A), 70000);
    assert_true(relay_quiet(&f.relay)); /* it could be replaced now (node/session_tunnel.c) */
    /* Both sides still registered for reading, nothing for writing. */
    assert_int_equal(f.relay.end[RELAY_SIDE_A].io.events, LOOP_READ);
    assert_int_equal(f.relay.end[RELAY_SIDE_B].io.events, LOOP_READ);
    fixture_teardown(&f, &ea, &eb);
}

/* A reset on B ends the relay with ERR_B, and preloaded bytes go out first. */
static void test_reset_and_preload(void **state)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_SPLICE};
    fixture_setup(&f, &cfg, 0);
    static const uint8_t hello[] = "already-received-target-bytes";
    assert_int_equal(relay_preload(&f.relay, RELAY_B_TO_A, hello, 10), 0);
    assert_int_equal(relay_preload(&f.relay, RELAY_B_TO_A, hello + 10, sizeof(hello) - 10), 0);
    uint8_t big[POOL_BLOCK_DEFAULT];
    memset(big, 0, sizeof(big));
    assert_int_equal(relay_preload(&f.relay, RELAY_B_TO_A, big, sizeof(big)), ERR_TOO_LONG);
    struct endpoint ea;
    ep_init(&ea, f.loop, f.a_peer, 1, 0, 77);
    ea.shut_when_done = false;
    ea.expect_prefix = hello;
    ea.prefix_len = sizeof(hello);
    ep_update(&ea);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    assert_int_equal(relay_preload(&f.relay, RELAY_B_TO_A, hello, 1), ERR_BAD_STATE);
    while (ea.received < sizeof(hello))
        assert_int_equal(loop_run_once(f.loop, 1000), 0);
    assert_false(ea.mismatch);
    assert_int_equal(relay_bytes(&f.relay, RELAY_B_TO_A), sizeof(hello));
    assert_int_equal(relay_buffers_held(&f.relay), 0);

    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(f.b_peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(f.b_peer);
    f.b_peer = socket(AF_INET, SOCK_STREAM, 0); /* keep teardown's close() valid */
    run_until(&f, relay_done, &f, 5000);
    assert_int_equal(f.reason, RELAY_REASON_ERR_B);
    assert_true(f.err == -ECONNRESET || f.err == -EPIPE);
    assert_string_equal(relay_reason_str(f.reason), "error_b");
    fixture_teardown(&f, &ea, NULL);
}

/* Rate limit on A->B: after_bytes free, then a full bucket, then bytes_per_sec. With
 * splice_after the direction splices past it and the limit holds the same. */
static void rate_limit(uint64_t splice_after)
{
    const uint64_t after = 65536, bps = 4u << 20, extra = 2u << 20;
    const uint64_t total = after + bps + extra;
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_COPY, .splice_after = splice_after};
    cfg.rate[RELAY_A_TO_B] = (struct relay_rate){.after_bytes = after, .bytes_per_sec = bps};
    fixture_setup(&f, &cfg, 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 3, total, 4);
    ep_init(&eb, f.loop, f.b_peer, 4, 1000, 3);
    ep_update(&ea);
    ep_update(&eb);
    uint64_t t0 = loop_clock_ms();
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    bool spliced = false;
    while (!(f.done && ea.eof && eb.eof) && loop_clock_ms() - t0 < 10000) {
        assert_int_equal(loop_run_once(f.loop, 50), 0);
        spliced |= relay_dir_spliced(&f.relay, RELAY_A_TO_B);
    }
    uint64_t elapsed = loop_clock_ms() - t0;
    assert_int_equal(f.reason, RELAY_REASON_DONE);
    assert_true(spliced == (splice_after != 0));
    assert_int_equal(eb.received, total);
    assert_false(eb.mismatch);
    /* (extra - one block) at bps takes >= ~496 ms; the unlimited direction is not slowed. */
    assert_true(elapsed >= 450);
    assert_true(elapsed < 20000);
    assert_int_equal(ea.received, 1000);
    fixture_teardown(&f, &ea, &eb);
}

static void test_rate_limit(void **state)
{
    rate_limit(0);
}

static void test_rate_limit_spliced(void **state)
{
    rate_limit(32768);
}

/* Shared limiter hook on B->A (a user's bucket shared by several relays): every byte read is
 * booked, and held data waits for the time the hook names. */
struct shared_bucket {
    struct ratelimit rl;
    uint64_t booked, asks;
};

static uint64_t shared_take(void *arg, size_t n)
{
    struct shared_bucket *b = arg;
    b->booked += n;
    b->asks += n == 0;
    int64_t w = ratelimit_charge(&b->rl, n, (int64_t)loop_clock_ms());
    return w > 0 ? (uint64_t)w : 0;
}

static void test_shared_rate(void **state)
{
    (void)state;
    const uint64_t bps = 2u << 20, total = 4u << 20;
    struct shared_bucket sb = {0};
    ratelimit_init(&sb.rl, bps, 0, 0, (int64_t)loop_clock_ms()); /* bucket = one second */
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_COPY};
    cfg.shared[RELAY_B_TO_A] = (struct relay_shared_rate){shared_take, &sb};
    fixture_setup(&f, &cfg, 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 5, 1000, 6);
    ep_init(&eb, f.loop, f.b_peer, 6, total, 5);
    ep_update(&ea);
    ep_update(&eb);
    uint64_t t0 = loop_clock_ms();
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    struct both x = {&f, &ea, &eb};
    run_until(&f, all_done, &x, 10000);
    uint64_t elapsed = loop_clock_ms() - t0;
    assert_int_equal(f.reason, RELAY_REASON_DONE);
    assert_int_equal(ea.received, total);
    assert_false(ea.mismatch);
    assert_int_equal(sb.booked, total); /* every byte of that direction, nothing of the other */
    assert_true(sb.asks > 0);           /* held data asked again before moving on */
    /* (4 MiB - 2 MiB bucket) at 2 MiB/s: >= ~1 s */
    assert_true(elapsed >= 900);
    assert_true(elapsed < 5000);
    assert_int_equal(eb.received, 1000);
    fixture_teardown(&f, &ea, &eb);
}

/* A transport on side B (XOR 0x5A both ways) stands in for a TLS/Vision layer. */
static ssize_t xor_recv(void *arg, int fd, uint8_t *p, size_t n)
{
    ssize_t k = read(fd, p, n);
    if (k == -1)
        return -errno;
    for (ssize_t i = 0; i < k; i++)
        p[i] ^= 0x5A;
    (*(int *)arg)++;
    return k;
}

static ssize_t xor_send(void *arg, int fd, const uint8_t *p, size_t n)
{
    uint8_t tmp[4096];
    if (n > sizeof(tmp))
        n = sizeof(tmp);
    for (size_t i = 0; i < n; i++)
        tmp[i] = p[i] ^ 0x5A;
    ssize_t k = write(fd, tmp, n);
    return k == -1 ? -errno : k;
}

static const struct relay_xprt_ops xor_ops = {.recv = xor_recv, .send = xor_send};

static void test_transport_hooks(void **state)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_COPY};
    fixture_setup(&f, &cfg, 0);
    int recv_calls = 0;
    assert_int_equal(relay_set_xprt(&f.relay, RELAY_SIDE_B, &xor_ops, &recv_calls), 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 7, 1u << 20, 8);
    ep_init(&eb, f.loop, f.b_peer, 8, 1u << 19, 7);
    eb.xor_key = 0x5A;
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    struct both x = {&f, &ea, &eb};
    run_until(&f, all_done, &x, 10000);
    assert_int_equal(f.reason, RELAY_REASON_DONE);
    assert_false(ea.mismatch);
    assert_false(eb.mismatch);
    assert_int_equal(eb.received, 1u << 20);
    assert_int_equal(ea.received, 1u << 19);
    assert_true(recv_calls > 0);
    fixture_teardown(&f, &ea, &eb);

    /* Not in splice mode. */
    struct loop *loop = loop_new();
    struct relay r;
    relay_init(&r, loop, &(struct relay_cfg){.mode = RELAY_MODE_SPLICE});
    assert_int_equal(relay_set_xprt(&r, RELAY_SIDE_A, &xor_ops, NULL), ERR_UNSUPPORTED);
    relay_dispose(&r);
    loop_free(loop);
    assert_string_equal(relay_mode_str(RELAY_MODE_SPLICE), "splice");
}

/* A transport on side A that buffers output internally (like a TLS layer sealing records):
 * send() only fills its buffer, flush() pushes it; shutdown_wr is called once, after flushing. */
struct buffered {
    uint8_t out[3000];
    size_t len;
    int flushes, shutdowns;
    bool flushed_at_shutdown;
};

static ssize_t buf_recv(void *arg, int fd, uint8_t *p, size_t n)
{
    if (n > 700)
        n = 700; /* small reads: exercises the round budget and soon-task yield */
    ssize_t k = read(fd, p, n);
    return k == -1 ? -errno : k;
}

static int buf_flush(void *arg, int fd)
{
    struct buffered *b = arg;
    b->flushes++;
    while (b->len > 0) {
        ssize_t k = write(fd, b->out, b->len);
        if (k == -1)
            return errno == EAGAIN ? -EAGAIN : -errno;
        memmove(b->out, b->out + k, b->len - (size_t)k);
        b->len -= (size_t)k;
    }
    return 0;
}

static ssize_t buf_send(void *arg, int fd, const uint8_t *p, size_t n)
{
    struct buffered *b = arg;
    if (b->len == sizeof(b->out)) {
        int rc = buf_flush(arg, fd);
        if (rc < 0 && b->len == sizeof(b->out))
            return rc;
    }
    size_t room = sizeof(b->out) - b->len;
    if (n > room)
        n = room;
    memcpy(b->out + b->len, p, n);
    b->len += n;
    return (ssize_t)n;
}

static int buf_shutdown(void *arg, int fd)
{
    struct buffered *b = arg;
    b->shutdowns++;
    b->flushed_at_shutdown = b->len == 0;
    return shutdown(fd, SHUT_WR) == -1 ? -errno : 0;
}

static const struct relay_xprt_ops buffered_ops = {
    .recv = buf_recv, .send = buf_send, .flush = buf_flush, .shutdown_wr = buf_shutdown};

static void test_transport_flush(void **state)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_COPY};
    fixture_setup(&f, &cfg, 0);
    struct buffered b = {.len = 0};
    assert_int_equal(relay_set_xprt(&f.relay, RELAY_SIDE_A, &buffered_ops, &b), 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 21, 777777, 22);
    ep_init(&eb, f.loop, f.b_peer, 22, (2u << 20) + 3, 21);
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    struct both x = {&f, &ea, &eb};
    run_until(&f, all_done, &x, 20000);
    assert_int_equal(f.reason, RELAY_REASON_DONE);
    assert_false(ea.mismatch);
    assert_false(eb.mismatch);
    assert_int_equal(eb.received, 777777);
    assert_int_equal(ea.received, (2u << 20) + 3);
    assert_int_equal(relay_bytes(&f.relay, RELAY_B_TO_A), (2u << 20) + 3);
    assert_int_equal(b.shutdowns, 1);
    assert_true(b.flushed_at_shutdown);
    assert_true(b.flushes > 0);
    fixture_teardown(&f, &ea, &eb);
}

/* A raw transport on side A that counts what passes through it (Vision after its switch). */
struct counting {
    uint64_t recv_bytes, send_bytes;
};

static ssize_t count_recv(void *arg, int fd, uint8_t *p, size_t n)
{
    ssize_t k = read(fd, p, n);
    if (k > 0)
        ((struct counting *)arg)->recv_bytes += (uint64_t)k;
    return k == -1 ? -errno : k;
}

static ssize_t count_send(void *arg, int fd, const uint8_t *p, size_t n)
{
    ssize_t k = write(fd, p, n);
    if (k > 0)
        ((struct counting *)arg)->send_bytes += (uint64_t)k;
    return k == -1 ? -errno : k;
}

static const struct relay_xprt_ops counting_ops = {.recv = count_recv, .send = count_send};

static bool down_half_way(void *arg)
{
    struct fixture *f = arg;
    return relay_bytes(&f->relay, RELAY_B_TO_A) >= (3u << 20);
}

/* One direction of a running COPY relay moves to splice in place: no byte lost or reordered,
 * counters go on, the transport no longer sees that direction's bytes (except those already
 * read into the block), the other direction keeps using the transport. */
static void test_splice_one_direction(void **state)
{
    const uint64_t up = 2u << 20, down = (6u << 20) + 777;
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_COPY, .pipe_size = 1u << 20};
    fixture_setup(&f, &cfg, 0);
    struct counting c = {0};
    assert_int_equal(relay_set_xprt(&f.relay, RELAY_SIDE_A, &counting_ops, &c), 0);
    assert_int_equal(relay_splice_dir(&f.relay, RELAY_B_TO_A), ERR_BAD_STATE); /* not started */
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 31, up, 32);
    ep_init(&eb, f.loop, f.b_peer, 32, down, 31);
    ea.send_after_eof = true; /* the upload runs after the download, through the transport */
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    run_until(&f, down_half_way, &f, 20000);
    assert_false(relay_dir_spliced(&f.relay, RELAY_B_TO_A));
    assert_int_equal(relay_splice_dir(&f.relay, RELAY_B_TO_A), 0);
    assert_int_equal(relay_splice_dir(&f.relay, RELAY_B_TO_A), 0); /* idempotent */
    assert_true(relay_dir_spliced(&f.relay, RELAY_B_TO_A));
    assert_false(relay_dir_spliced(&f.relay, RELAY_A_TO_B));
    uint64_t sent_at_switch = c.send_bytes;
    bool grown = false;
    while (!(f.done && ea.eof && eb.eof)) {
        assert_int_equal(loop_run_once(f.loop, 50), 0);
        if (relay_running(&f.relay) && !grown)
            grown = fcntl(f.relay.half[RELAY_B_TO_A].pipe[0], F_GETPIPE_SZ) >= (1 << 20);
    }
    assert_int_equal(f.reason, RELAY_REASON_DONE);
    assert_false(ea.mismatch);
    assert_false(eb.mismatch);
    assert_int_equal(ea.received, down);
    assert_int_equal(eb.received, up);
    assert_true(ea.rx_sum == eb.tx_sum);
    assert_true(eb.rx_sum == ea.tx_sum);
    assert_int_equal(relay_bytes(&f.relay, RELAY_B_TO_A), down);
    assert_int_equal(relay_bytes_read(&f.relay, RELAY_B_TO_A), down);
    assert_int_equal(relay_bytes(&f.relay, RELAY_A_TO_B), up);
    /* At most the block already read went through the transport after the switch. */
    assert_true(c.send_bytes - sent_at_switch <= pool_block_size(f.pool));
    assert_true(c.send_bytes < down);
    assert_int_equal(c.recv_bytes, up); /* the upload still went through the transport */
    assert_true(grown);                 /* a bulk direction gets the bigger pipe */
    fixture_teardown(&f, &ea, &eb);
}

/* Small exchanges keep the default pipe (pipe pages are a per-user budget). */
static void test_splice_small_keeps_default_pipe(void **state)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_SPLICE, .pipe_size = 1u << 20};
    fixture_setup(&f, &cfg, 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 41, 3000, 42);
    ep_init(&eb, f.loop, f.b_peer, 42, 0, 41);
    eb.shut_when_done = false;
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    uint64_t give_up = loop_clock_ms() + 10000;
    while (eb.received < 3000 && loop_clock_ms() < give_up)
        assert_int_equal(loop_run_once(f.loop, 50), 0);
    assert_int_equal(eb.received, 3000);
    assert_true(relay_running(&f.relay));
    int size = fcntl(f.relay.half[RELAY_A_TO_B].pipe[0], F_GETPIPE_SZ);
    assert_true(size > 0 && size < (1 << 20));
    assert_false(f.relay.half[RELAY_A_TO_B].pipe_grown);
    fixture_teardown(&f, &ea, &eb);
}

static bool got_3000(void *arg)
{
    struct both *x = arg;
    return x->b->received == 3000 && x->a->received == 2000;
}

/* An idle spliced relay gives its pipes back and opens fresh ones when bytes come again. */
static void test_splice_parks_idle_pipes(void **state)
{
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_SPLICE};
    fixture_setup(&f, &cfg, 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 51, 3000, 52);
    ep_init(&eb, f.loop, f.b_peer, 52, 2000, 51);
    ea.shut_when_done = eb.shut_when_done = false;
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    struct both x = {&f, &ea, &eb};
    run_until(&f, got_3000, &x, 10000);
    assert_int_equal(relay_park_pipes(&f.relay), 2);
    assert_int_equal(relay_park_pipes(&f.relay), 0);
    for (int d = 0; d < RELAY_DIR__COUNT; d++) {
        assert_int_equal(f.relay.half[d].pipe[0], -1);
        assert_true(relay_dir_spliced(&f.relay, (enum relay_dir)d));
    }
    /* More bytes both ways, then EOF: all delivered through fresh pipes. */
    ea.to_send += 100000, eb.to_send += 70000;
    ea.shut_when_done = eb.shut_when_done = true;
    ep_update(&ea);
    ep_update(&eb);
    run_until(&f, all_done, &x, 10000);
    assert_int_equal(f.reason, RELAY_REASON_DONE);
    assert_false(ea.mismatch);
    assert_false(eb.mismatch);
    assert_int_equal(eb.received, 103000);
    assert_int_equal(ea.received, 72000);
    assert_int_equal(relay_bytes(&f.relay, RELAY_A_TO_B), 103000);
    fixture_teardown(&f, &ea, &eb);
}

static bool down_spliced_bulk(void *arg)
{
    struct fixture *f = arg;
    const struct relay_half *h = &f->relay.half[RELAY_B_TO_A];
    return f->done || (h->spliced && h->pipe_grown);
}

/* The fallback relay's shape (node/session_reality.c): COPY with splice_after, bytes already
 * received preloaded. The preloads arrive first and in order; the bulk download moves to splice
 * (a splice read of >= 48 KiB grows the pipe); the small upload never opens a pipe. */
static void test_copy_splices_bulk(void **state)
{
    const uint64_t up = 3000, down = (6u << 20) + 123;
    struct fixture f;
    struct relay_cfg cfg = {.mode = RELAY_MODE_COPY, .pipe_size = 1u << 20, .splice_after = 65536};
    fixture_setup(&f, &cfg, 0);
    static const uint8_t target_bytes[] = "server-hello-already-mirrored";
    static const uint8_t client_bytes[] = "client-hello-not-yet-forwarded";
    assert_int_equal(relay_preload(&f.relay, RELAY_B_TO_A, target_bytes, sizeof(target_bytes)), 0);
    assert_int_equal(relay_preload(&f.relay, RELAY_A_TO_B, client_bytes, sizeof(client_bytes)), 0);
    struct endpoint ea, eb;
    ep_init(&ea, f.loop, f.a_peer, 61, up, 62);
    ep_init(&eb, f.loop, f.b_peer, 62, down, 61);
    ea.expect_prefix = target_bytes;
    ea.prefix_len = sizeof(target_bytes);
    eb.expect_prefix = client_bytes;
    eb.prefix_len = sizeof(client_bytes);
    ep_update(&ea);
    ep_update(&eb);
    assert_int_equal(relay_start(&f.relay, f.a_relay, f.b_relay), 0);
    assert_false(relay_dir_spliced(&f.relay, RELAY_B_TO_A)); /* copies first */
    run_until(&f, down_spliced_bulk, &f, 20000);
    assert_true(relay_running(&f.relay));
    assert_true(relay_dir_spliced(&f.relay, RELAY_B_TO_A));
    assert_false(relay_dir_spliced(&f.relay, RELAY_A_TO_B));
    assert_int_equal(f.relay.half[RELAY_A_TO_B].pipe[0], -1);
    struct both x = {&f, &ea, &eb};
    run_until(&f, all_done, &x, 20000);
    assert_int_equal(f.reason, RELAY_REASON_DONE);
    assert_false(ea.mismatch);
    assert_false(eb.mismatch);
    assert_int_equal(ea.received, sizeof(target_bytes) + down);
    assert_int_equal(eb.received, sizeof(client_bytes) + up);
    assert_int_equal(relay_bytes(&f.relay, RELAY_B_TO_A), sizeof(target_bytes) + down);
    fixture_teardown(&f, &ea, &eb);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_both_directions),
        cmocka_unit_test(test_splice_both_directions),
        cmocka_unit_test(test_empty_streams),
        cmocka_unit_test(test_half_close_copy),
        cmocka_unit_test(test_half_close_splice),
        cmocka_unit_test(test_backpressure_copy),
        cmocka_unit_test(test_backpressure_splice),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_idle_rearm),
        cmocka_unit_test(test_no_buffers_when_idle),
        cmocka_unit_test(test_reset_and_preload),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_rate_limit_spliced),
        cmocka_unit_test(test_shared_rate),
        cmocka_unit_test(test_transport_hooks),
        cmocka_unit_test(test_transport_flush),
        cmocka_unit_test(test_splice_one_direction),
        cmocka_unit_test(test_splice_small_keeps_default_pipe),
        cmocka_unit_test(test_splice_parks_idle_pipes),
        cmocka_unit_test(test_copy_splices_bulk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
