#include "net/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "core/pool.h"

/* Reads per direction per wakeup before yielding to other connections. */
#define RELAY_MAX_ROUNDS 16
/* Bytes asked of splice(2) per read. */
#define RELAY_SPLICE_CHUNK (1u << 20)
/* A splice read this large filled a default pipe (16 pages), or nearly: grow it to pipe_size. */
#define RELAY_PIPE_GROW_AT (48 * 1024)
/* Grown pipes at once in the process. Pipe pages count against the user's
 * fs.pipe-user-pages-soft (16384 pages by default); past it an unprivileged user's new pipes
 * get 2 pages, which would slow every other spliced tunnel: 16 grown 1 MiB pipes use a quarter. */
#define RELAY_GROWN_PIPES_MAX 16

static atomic_int grown_pipes;

static enum relay_side dir_src(enum relay_dir d)
{
    return d == RELAY_A_TO_B ? RELAY_SIDE_A : RELAY_SIDE_B;
}

static enum relay_side dir_dst(enum relay_dir d)
{
    return d == RELAY_A_TO_B ? RELAY_SIDE_B : RELAY_SIDE_A;
}

static enum relay_reason side_err(enum relay_side s)
{
    return s == RELAY_SIDE_A ? RELAY_REASON_ERR_A : RELAY_REASON_ERR_B;
}

const char *relay_reason_str(enum relay_reason reason)
{
    static const char *const names[RELAY_REASON__COUNT] = {
        [RELAY_REASON_DONE] = "done",     [RELAY_REASON_IDLE] = "idle",       [RELAY_REASON_ERR_A] = "error_a",
        [RELAY_REASON_ERR_B] = "error_b", [RELAY_REASON_NOMEM] = "no_memory",
    };
    if ((unsigned)reason >= RELAY_REASON__COUNT)
        return "invalid";
    return names[reason];
}

const char *relay_mode_str(enum relay_mode mode)
{
    switch (mode) {
    case RELAY_MODE_COPY:
        return "copy";
    case RELAY_MODE_SPLICE:
        return "splice";
    case RELAY_MODE__COUNT:
        break;
    }
    return "invalid";
}

/* ---------------- plain fd transport ---------------- */

static ssize_t raw_recv(int fd, uint8_t *p, size_t n)
{
    for (;;) {
        ssize_t k = recv(fd, p, n, 0);
        if (k == -1 && errno == ENOTSOCK)
            k = read(fd, p, n);
        if (k >= 0)
            return k;
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return -EAGAIN;
        return -errno;
    }
}

static ssize_t raw_send(int fd, const uint8_t *p, size_t n)
{
    for (;;) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k == -1 && errno == ENOTSOCK)
            k = write(fd, p, n);
        if (k >= 0)
            return k;
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return -EAGAIN;
        return -errno;
    }
}

static ssize_t splice_io(int in, int out, size_t n)
{
    for (;;) {
        ssize_t k = splice(in, NULL, out, NULL, n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (k >= 0)
            return k;
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return -EAGAIN;
        return -errno;
    }
}

/* ---------------- lifecycle ---------------- */

static void relay_io_cb(struct loop *loop, struct loop_io *io, unsigned revents);
static void relay_idle_cb(struct loop *loop, struct loop_timer *t);
static void relay_rate_cb(struct loop *loop, struct loop_timer *t);
static void relay_resume_cb(struct loop *loop, struct loop_task *task);
static int relay_side_io(struct relay *r, enum relay_side s);

void relay_init(struct relay *r, struct loop *loop, const struct relay_cfg *cfg)
{
    *r = (struct relay){
        .loop = loop,
        .pool = cfg->pool,
        .mode = cfg->mode,
        .state = RELAY_ST_IDLE,
        .idle_ms = cfg->idle_ms,
        .pipe_size = cfg->pipe_size,
        .splice_after = cfg->splice_after,
        .on_done = cfg->on_done,
    };
    for (int s = 0; s < RELAY_SIDE__COUNT; s++) {
        loop_io_init(&r->end[s].io, -1, relay_io_cb);
        r->end[s].r = r;
        r->end[s].side = (enum relay_side)s;
    }
    for (int d = 0; d < RELAY_DIR__COUNT; d++) {
        struct relay_half *h = &r->half[d];
        h->r = r;
        h->dir = (enum relay_dir)d;
        h->pipe[0] = h->pipe[1] = -1;
        h->rate = cfg->rate[d];
        h->shared = cfg->shared[d];
        loop_timer_init(&h->rate_timer, relay_rate_cb);
    }
    loop_timer_init(&r->idle_timer, relay_idle_cb);
    loop_task_init(&r->resume_task, relay_resume_cb);
}

int relay_set_xprt(struct relay *r, enum relay_side side, const struct relay_xprt_ops *ops, void *arg)
{
    if (r->state != RELAY_ST_IDLE)
        return ERR_BAD_STATE;
    if (r->mode == RELAY_MODE_SPLICE && ops != NULL)
        return ERR_UNSUPPORTED;
    r->end[side].ops = ops;
    r->end[side].arg = arg;
    return 0;
}

int relay_take_watcher(struct relay *r, enum relay_side side, struct loop_io *from)
{
    if (r->state != RELAY_ST_IDLE)
        return ERR_BAD_STATE;
    loop_io_move(r->loop, &r->end[side].io, from);
    return 0;
}

int relay_preload(struct relay *r, enum relay_dir dir, const void *p, size_t n)
{
    struct relay_half *h = &r->half[dir];
    if (r->state != RELAY_ST_IDLE)
        return ERR_BAD_STATE;
    if (n == 0)
        return 0;
    if (h->len + n > pool_block_size(r->pool))
        return ERR_TOO_LONG;
    if (h->buf == NULL) {
        h->buf = pool_get(r->pool);
        if (h->buf == NULL)
            return ERR_NOMEM;
    }
    memcpy(h->buf + h->len, p, n);
    h->len += n;
    return 0;
}

static void half_release_buf(struct relay *r, struct relay_half *h)
{
    pool_put(r->pool, h->buf);
    h->buf = NULL;
    h->off = h->len = 0;
}

static void half_close_pipe(struct relay_half *h)
{
    for (int i = 0; i < 2; i++) {
        if (h->pipe[i] != -1)
            close(h->pipe[i]);
        h->pipe[i] = -1;
    }
    if (h->pipe_grown)
        atomic_fetch_sub(&grown_pipes, 1);
    h->pipe_grown = false;
}

static int half_open_pipe(struct relay_half *h)
{
    if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
        h->pipe[0] = h->pipe[1] = -1;
        return -errno;
    }
    return 0;
}

void relay_dispose(struct relay *r)
{
    /* The fds stay open: whoever watches them next (or closes them) takes over the
     * registrations, one epoll_ctl at most instead of DEL + ADD. (A no-op for a watcher that
     * holds none, as before relay_start without relay_take_watcher.) */
    for (int s = 0; s < RELAY_SIDE__COUNT; s++)
        loop_io_release(r->loop, &r->end[s].io);
    loop_timer_stop(r->loop, &r->idle_timer);
    loop_task_cancel(r->loop, &r->resume_task);
    for (int d = 0; d < RELAY_DIR__COUNT; d++) {
        struct relay_half *h = &r->half[d];
        loop_timer_stop(r->loop, &h->rate_timer);
        half_release_buf(r, h);
        half_close_pipe(h);
        h->in_pipe = 0;
        h->spliced = h->pipe_no_grow = false;
    }
    r->state = RELAY_ST_DONE;
}

static void relay_finish(struct relay *r, enum relay_reason reason, int err)
{
    if (r->state != RELAY_ST_RUNNING)
        return;
    relay_dispose(r);
    if (r->on_done != NULL)
        r->on_done(r, reason, err); /* may free r: touch nothing afterwards */
}

int relay_start(struct relay *r, int fd_a, int fd_b)
{
    if (r->state != RELAY_ST_IDLE)
        return ERR_BAD_STATE;
    r->end[RELAY_SIDE_A].io.fd = fd_a;
    r->end[RELAY_SIDE_B].io.fd = fd_b;
    int rc = 0;
    if (r->mode == RELAY_MODE_SPLICE) {
        for (int d = 0; d < RELAY_DIR__COUNT && rc == 0; d++) {
            r->half[d].spliced = true;
            rc = half_open_pipe(&r->half[d]);
        }
    }
    r->state = RELAY_ST_RUNNING;
    r->last_active = loop_now(r->loop);
    for (int d = 0; d < RELAY_DIR__COUNT; d++) {
        struct relay_half *h = &r->half[d];
        h->tokens = (double)(h->rate.burst_bytes_per_sec > h->rate.bytes_per_sec ? h->rate.burst_bytes_per_sec
                                                                                 : h->rate.bytes_per_sec);
        h->tokens_ms = r->last_active;
    }
    if (rc == 0 && r->idle_ms != 0)
        rc = loop_timer_start(r->loop, &r->idle_timer, r->idle_ms, 0);
    /* Watch now, not from the first pump: a registration the fd's previous watcher left
     * (loop_io_release) is taken over before the loop waits, instead of dropped and re-added. */
    for (int s = 0; s < RELAY_SIDE__COUNT && rc == 0; s++)
        rc = relay_side_io(r, (enum relay_side)s);
    if (rc < 0) {
        relay_dispose(r);
        return rc;
    }
    loop_soon(r->loop, &r->resume_task); /* first pump from the loop, never from here */
    return 0;
}

int relay_splice_dir(struct relay *r, enum relay_dir d)
{
    struct relay_half *h = &r->half[d];
    if (r->state != RELAY_ST_RUNNING)
        return ERR_BAD_STATE;
    if (h->spliced)
        return 0; /* already */
    int rc = half_open_pipe(h);
    if (rc < 0)
        return rc; /* the direction keeps copying */
    h->spliced = true;
    /* Bytes already read into the block still go out first (half_write), then the pipe's. */
    loop_soon(r->loop, &r->resume_task);
    return 0;
}

size_t relay_park_pipes(struct relay *r)
{
    size_t n = 0;
    for (int d = 0; d < RELAY_DIR__COUNT; d++) {
        struct relay_half *h = &r->half[d];
        if (h->pipe[0] != -1 && h->in_pipe == 0) {
            half_close_pipe(h);
            n++;
        }
    }
    return n;
}

size_t relay_buffers_held(const struct relay *r)
{
    return (r->half[0].buf != NULL) + (r->half[1].buf != NULL);
}

bool relay_quiet(const struct relay *r)
{
    if (relay_buffers_held(r) != 0)
        return false;
    for (int d = 0; d < RELAY_DIR__COUNT; d++) {
        const struct relay_half *h = &r->half[d];
        if (h->eof || h->shut || h->throttled || h->len != h->off || h->in_pipe != 0)
            return false;
    }
    return true;
}

/* ---------------- pumping ---------------- */

static bool half_pending(const struct relay_half *h)
{
    return h->len > h->off || h->in_pipe > 0;
}

/* Sets side s's watcher to the interest its halves' state asks for. 0 or -errno. */
static int relay_side_io(struct relay *r, enum relay_side s)
{
    /* Side s is the source of one direction and the sink of the other. */
    enum relay_dir as_src = s == RELAY_SIDE_A ? RELAY_A_TO_B : RELAY_B_TO_A;
    const struct relay_half *in = &r->half[as_src], *out = &r->half[1 - as_src];
    unsigned ev = 0;
    if (!in->eof && !in->blocked && !in->throttled && !half_pending(in))
        ev |= LOOP_READ;
    if (out->blocked)
        ev |= LOOP_WRITE;
    if (ev == 0) {
        /* Often the last word before the relay ends and its fds close: keep the registration
         * rather than pay an EPOLL_CTL_DEL now (the loop drops it if the fd wakes). */
        loop_io_pause(r->loop, &r->end[s].io);
        return 0;
    }
    return loop_io_set(r->loop, &r->end[s].io, ev);
}

/* Recomputes both watchers' interest from the halves' state. False if the relay ended. */
static bool relay_update_io(struct relay *r)
{
    for (int s = 0; s < RELAY_SIDE__COUNT; s++) {
        int rc = relay_side_io(r, (enum relay_side)s);
        if (rc < 0) {
            relay_finish(r, side_err((enum relay_side)s), rc);
            return false;
        }
    }
    return true;
}

static void half_charge(struct relay *r, enum relay_dir d, size_t n)
{
    struct relay_half *h = &r->half[d];
    if (h->shared.take != NULL)
        h->shared_wait = h->shared.take(h->shared.arg, n);
    uint64_t before = h->nread - n;
    if (h->rate.bytes_per_sec == 0 || before < h->rate.after_bytes)
        return;
    h->tokens -= (double)n;
}

/* Refills the bucket; when still negative, arms the rate timer and returns true (throttled). */
static bool half_throttle(struct relay *r, enum relay_dir d)
{
    struct relay_half *h = &r->half[d];
    uint64_t shared_wait = h->shared_wait;
    h->shared_wait = 0;
    if (h->rate.bytes_per_sec == 0) {
        h->throttled = shared_wait != 0;
        if (h->throttled)
            (void)loop_timer_start(r->loop, &h->rate_timer, shared_wait, 0);
        return h->throttled;
    }
    uint64_t now = loop_now(r->loop);
    double cap = (double)(h->rate.burst_bytes_per_sec > h->rate.bytes_per_sec ? h->rate.burst_bytes_per_sec
                                                                              : h->rate.bytes_per_sec);
    h->tokens += (double)(now - h->tokens_ms) * (double)h->rate.bytes_per_sec / 1000.0;
    if (h->tokens > cap)
        h->tokens = cap;
    h->tokens_ms = now;
    if (h->tokens >= 0 && shared_wait == 0) {
        h->throttled = false;
        return false;
    }
    uint64_t wait = h->tokens >= 0 ? 0 : (uint64_t)(-h->tokens * 1000.0 / (double)h->rate.bytes_per_sec) + 1;
    if (shared_wait > wait)
        wait = shared_wait;
    h->throttled = true;
    (void)loop_timer_start(r->loop, &h->rate_timer, wait, 0); /* the heap rarely grows; retried on io */
    return true;
}

/* Writes pending bytes of direction d. 0 when all were written, -EAGAIN when the sink is full,
 * or another negative error. */
static int half_write(struct relay *r, enum relay_dir d)
{
    struct relay_half *h = &r->half[d];
    struct relay_end *dst = &r->end[dir_dst(d)];
    while (h->len > h->off) {
        ssize_t k = dst->ops != NULL ? dst->ops->send(dst->arg, dst->io.fd, h->buf + h->off, h->len - h->off)
                                     : raw_send(dst->io.fd, h->buf + h->off, h->len - h->off);
        if (k < 0)
            return (int)k;
        if (k == 0)
            return -EAGAIN; /* a transport that took nothing */
        h->off += (size_t)k;
        h->nwritten += (uint64_t)k;
        r->last_active = loop_now(r->loop);
    }
    if (h->buf != NULL)
        half_release_buf(r, h); /* drained: idle relays hold no buffer */
    while (h->in_pipe > 0) {
        ssize_t k = splice_io(h->pipe[0], dst->io.fd, h->in_pipe);
        if (k < 0)
            return (int)k;
        if (k == 0)
            return -EIO; /* pipe lost data: cannot happen */
        h->in_pipe -= (size_t)k;
        h->nwritten += (uint64_t)k;
        r->last_active = loop_now(r->loop);
    }
    if (dst->ops != NULL && dst->ops->flush != NULL)
        return dst->ops->flush(dst->arg, dst->io.fd);
    return 0;
}

/* A bulk transfer: a bigger pipe moves more per splice and per wakeup (1 MiB: ~12x fewer
 * splice calls than 64 KiB on loopback). Only once a transfer proves bulk, and only up to
 * RELAY_GROWN_PIPES_MAX in the process, because pipe pages are a per-user budget. Best effort
 * (EPERM past the user's limit). The pipe is empty here or holds less than its old size. */
static void half_grow_pipe(struct relay *r, struct relay_half *h)
{
    if (atomic_fetch_add(&grown_pipes, 1) >= RELAY_GROWN_PIPES_MAX) {
        atomic_fetch_sub(&grown_pipes, 1);
        return; /* try again on a later read */
    }
    h->pipe_grown = true;
    if (fcntl(h->pipe[1], F_SETPIPE_SZ, (int)r->pipe_size) == -1) {
        h->pipe_grown = false;
        h->pipe_no_grow = true; /* not one fcntl per read from now on */
        atomic_fetch_sub(&grown_pipes, 1);
    }
}

/* One read from the source of d into its block or pipe: > 0 bytes, 0 EOF, negative error. */
static ssize_t half_read(struct relay *r, enum relay_dir d)
{
    struct relay_half *h = &r->half[d];
    struct relay_end *src = &r->end[dir_src(d)];
    ssize_t k;
    /* A parked pipe comes back on the next read; without one (EMFILE) this read copies. */
    if (h->spliced && (h->pipe[1] != -1 || half_open_pipe(h) == 0)) {
        /* A rate-limited direction reads no more per call than it would copy, so the limiter
         * holds and releases the same amounts (what a throttled peer sees does not change). */
        k = splice_io(src->io.fd, h->pipe[1],
                      h->rate.bytes_per_sec != 0 ? pool_block_size(r->pool) : RELAY_SPLICE_CHUNK);
        if (k > 0)
            h->in_pipe = (size_t)k;
        if (k >= RELAY_PIPE_GROW_AT && !h->pipe_grown && !h->pipe_no_grow && r->pipe_size != 0)
            half_grow_pipe(r, h);
        return k;
    }
    if (h->buf == NULL) {
        h->buf = pool_get(r->pool);
        if (h->buf == NULL)
            return ERR_NOMEM;
    }
    size_t cap = pool_block_size(r->pool);
    k = src->ops != NULL ? src->ops->recv(src->arg, src->io.fd, h->buf, cap) : raw_recv(src->io.fd, h->buf, cap);
    if (k > 0) {
        h->off = 0;
        h->len = (size_t)k;
    } else {
        half_release_buf(r, h);
    }
    return k;
}

static void half_shutdown(struct relay *r, enum relay_dir d)
{
    struct relay_end *dst = &r->end[dir_dst(d)];
    /* Errors (the peer already gone) surface on the other direction's next read or write. */
    if (dst->ops != NULL && dst->ops->shutdown_wr != NULL)
        (void)dst->ops->shutdown_wr(dst->arg, dst->io.fd);
    else
        (void)shutdown(dst->io.fd, SHUT_WR);
    r->half[d].shut = true;
}

/* Moves data in direction d until the source is empty, the sink is full, the direction ends
 * or the round budget is spent. False if the relay ended (r may be gone). */
static bool half_pump(struct relay *r, enum relay_dir d)
{
    struct relay_half *h = &r->half[d];
    for (int rounds = 0; !h->shut; rounds++) {
        if (h->throttled)
            break;
        int rc = half_write(r, d);
        if (rc == -EAGAIN) {
            h->blocked = true;
            break;
        }
        if (rc < 0) {
            relay_finish(r, side_err(dir_dst(d)), rc);
            return false;
        }
        h->blocked = false;
        if (h->eof) {
            half_shutdown(r, d);
            if (r->half[1 - d].shut) {
                relay_finish(r, RELAY_REASON_DONE, 0);
                return false;
            }
            break;
        }
        if (rounds >= RELAY_MAX_ROUNDS) {
            loop_soon(r->loop, &r->resume_task); /* yield; transports may hold decoded data */
            break;
        }
        ssize_t k = half_read(r, d);
        if (k == -EAGAIN)
            break;
        if (k == ERR_NOMEM) {
            relay_finish(r, RELAY_REASON_NOMEM, ERR_NOMEM);
            return false;
        }
        if (k < 0) {
            relay_finish(r, side_err(dir_src(d)), (int)k);
            return false;
        }
        if (k == 0) {
            h->eof = true;
            continue;
        }
        h->nread += (uint64_t)k;
        r->last_active = loop_now(r->loop);
        if (!h->spliced && r->splice_after != 0 && h->nread >= r->splice_after && r->end[dir_src(d)].ops == NULL &&
            r->end[dir_dst(d)].ops == NULL)
            h->spliced = true; /* bulk: the block just read goes out first, then the pipe's */
        half_charge(r, d, (size_t)k);
        (void)half_throttle(r, d); /* held data waits for tokens before it is written */
    }
    return true;
}

static void relay_io_cb(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct relay_end *end = container_of(io, struct relay_end, io);
    struct relay *r = end->r;
    enum relay_dir as_src = end->side == RELAY_SIDE_A ? RELAY_A_TO_B : RELAY_B_TO_A;
    if ((revents & LOOP_READ) && !half_pump(r, as_src))
        return;
    if ((revents & LOOP_WRITE) && !half_pump(r, (enum relay_dir)(1 - as_src)))
        return;
    (void)relay_update_io(r);
}

static void relay_resume_cb(struct loop *loop, struct loop_task *task)
{
    struct relay *r = container_of(task, struct relay, resume_task);
    for (int d = 0; d < RELAY_DIR__COUNT; d++) {
        if (!half_pump(r, (enum relay_dir)d))
            return;
    }
    (void)relay_update_io(r);
}

static void relay_rate_cb(struct loop *loop, struct loop_timer *t)
{
    struct relay_half *h = container_of(t, struct relay_half, rate_timer);
    struct relay *r = h->r;
    if (h->shared.take != NULL)
        h->shared_wait = h->shared.take(h->shared.arg, 0); /* still in debt? */
    if (half_throttle(r, h->dir))
        return;
    if (!half_pump(r, h->dir))
        return;
    (void)relay_update_io(r);
}

static void relay_idle_cb(struct loop *loop, struct loop_timer *t)
{
    struct relay *r = container_of(t, struct relay, idle_timer);
    uint64_t idle = loop_now(loop) - r->last_active;
    /* Lazy re-arm: activity only stamps last_active; check it here. Data held by the rate
     * limiter counts as activity. */
    if (idle < r->idle_ms || r->half[0].throttled || r->half[1].throttled) {
        uint64_t left = idle < r->idle_ms ? r->idle_ms - idle : r->idle_ms;
        if (loop_timer_start(loop, t, left, 0) == 0)
            return;
    }
    relay_finish(r, RELAY_REASON_IDLE, ERR_TIMEOUT);
}
