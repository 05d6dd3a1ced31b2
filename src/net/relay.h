/* relay: a bidirectional byte relay between two connected nonblocking fds on one loop.
 *
 * Sides A and B; direction A_TO_B reads A and writes B, B_TO_A the reverse. Per direction:
 *  - COPY mode: one pool block (POOL_BLOCK_DEFAULT = one TLS record) taken when a read is about
 *    to happen and given back as soon as it has been written out, so an idle relay holds no
 *    buffer. SPLICE mode: a pipe pair per direction and splice(2), no user-space copy; the same
 *    interface and semantics (preloaded bytes still go through one pool block).
 *  - Backpressure: after a read the data is written at once; on a short write or EAGAIN the
 *    rest is kept, the source is no longer read and the sink is watched for writability; reading
 *    resumes when the sink drained it. So at most one block (or one pipe) is in flight.
 *  - Half-close: EOF on the source -> once everything pending is written, shutdown(SHUT_WR) on
 *    the sink; the other direction keeps going. The relay ends (RELAY_REASON_DONE) when both
 *    directions are done.
 *  - Errors: a failed read or write on a side ends the relay at once (RELAY_REASON_ERR_A/B with
 *    the -errno), as an RST does.
 *  - Idle timeout: no byte read or written in either direction for idle_ms ends the relay
 *    (RELAY_REASON_IDLE). Lazy: one timer, re-armed for the remainder when it fires.
 *  - Counters: bytes read from the source and written to the sink, per direction, exact.
 *  - Rate limits (REALITY limitFallbackUpload/Download, per direction, spec/reality.md §6): the
 *    first after_bytes bytes pass unthrottled (the read that crosses the threshold is not
 *    charged); then a token bucket with rate bytes_per_sec and capacity
 *    max(burst_bytes_per_sec, bytes_per_sec), initially full, is charged the size of every read;
 *    when it goes negative the data just read is held (not written, nothing more read) until
 *    the bucket is back to >= 0. bytes_per_sec == 0 disables the limit. These are rate limits,
 *    not byte caps; per-user quotas are enforced by the owner from the counters.
 *
 * The relay does not own the fds: it never closes them; the owner closes them after the done
 * callback (or after relay_dispose()).
 *
 * Transforms: in COPY mode each side may have a transport (relay_xprt_ops), e.g. a TLS or
 * Vision layer: the relay then calls ops->recv/send/flush/shutdown_wr instead of the syscalls and
 * moves plaintext. To switch a connection from a transport to raw copying (Vision direct copy),
 * relay_splice_dir() per direction once its transports are raw and empty. */
#ifndef VEIL_NET_RELAY_H
#define VEIL_NET_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/loop.h"

struct pool;
struct relay;

enum relay_side {
    RELAY_SIDE_A = 0,
    RELAY_SIDE_B,
    RELAY_SIDE__COUNT, /* sentinel */
};

enum relay_dir {
    RELAY_A_TO_B = 0, /* e.g. client -> target: upload */
    RELAY_B_TO_A,     /* target -> client: download */
    RELAY_DIR__COUNT, /* sentinel */
};

enum relay_mode {
    RELAY_MODE_COPY = 0,
    RELAY_MODE_SPLICE,
    RELAY_MODE__COUNT, /* sentinel */
};

enum relay_reason {
    RELAY_REASON_DONE = 0, /* both directions reached EOF and were half-closed */
    RELAY_REASON_IDLE,     /* nothing moved for idle_ms */
    RELAY_REASON_ERR_A,    /* a read/write/flush on side A failed; err has the -errno */
    RELAY_REASON_ERR_B,
    RELAY_REASON_NOMEM,  /* no buffer could be taken from the pool */
    RELAY_REASON__COUNT, /* sentinel */
};

/* Called once when the relay ends. It has already stopped (watchers, timers, buffers, pipes
 * released). The owner may close the fds here; free the owner with loop_defer() rather than
 * here (freeing here is tolerated by the relay itself). */
typedef void relay_done_cb(struct relay *r, enum relay_reason reason, int err);

/* A transport on one side (COPY mode only). All return >= 0 or a negative errno/ERR_*;
 * -EAGAIN means "try again when the fd is ready" (readable for recv, writable otherwise). */
struct relay_xprt_ops {
    /* Up to n plaintext bytes into p: > 0 bytes, 0 at EOF, -EAGAIN if none yet. A transport
     * that holds more decoded bytes than n must return them on the next call (the relay keeps
     * calling until -EAGAIN, or schedules itself again, so no readiness edge is needed). */
    ssize_t (*recv)(void *arg, int fd, uint8_t *p, size_t n);
    /* Takes up to n bytes: > 0 accepted (may be fewer), -EAGAIN if none could be taken. */
    ssize_t (*send)(void *arg, int fd, const uint8_t *p, size_t n);
    /* Optional: pushes bytes the transport buffered inside: 0 when empty, -EAGAIN while some
     * remain (the relay waits for writability and calls again). */
    int (*flush)(void *arg, int fd);
    /* Optional: ends the write side (e.g. close_notify + shutdown); default shutdown(SHUT_WR). */
    int (*shutdown_wr)(void *arg, int fd);
};

struct relay_rate {
    uint64_t after_bytes;
    uint64_t bytes_per_sec; /* 0 = unlimited */
    uint64_t burst_bytes_per_sec;
};

/* Optional limiter shared with other relays (e.g. one user's speed limit across all their
 * tunnels): take(arg, n) books n bytes just read in this direction (n may be 0: "may I go on?")
 * and returns 0 to go on, or the milliseconds to hold the data before asking again (with n = 0).
 * Called on the relay's loop thread; must be thread-safe if arg is shared between loops. */
struct relay_shared_rate {
    uint64_t (*take)(void *arg, size_t n);
    void *arg;
};

struct relay_cfg {
    enum relay_mode mode;
    struct pool *pool; /* per-thread pool; its block size is the copy buffer size */
    uint64_t idle_ms;  /* 0 = no idle timeout */
    struct relay_rate rate[RELAY_DIR__COUNT];
    struct relay_shared_rate shared[RELAY_DIR__COUNT]; /* take == NULL: none */
    size_t pipe_size; /* SPLICE: F_SETPIPE_SZ to this once a read fills the default pipe; 0 = never */
    /* COPY: a direction with no transport on either side moves to splice(2) by itself once it
     * has read this many bytes (as relay_splice_dir; the pipe opens on its next read, and a
     * pipe2 failure makes that read copy); 0 = never. Short exchanges stay at two fds. */
    uint64_t splice_after;
    relay_done_cb *on_done;
};

/* Internal state, embedded in the owner. Read it through the accessors below. */
enum relay_state {
    RELAY_ST_IDLE = 0, /* initialised, not started */
    RELAY_ST_RUNNING,
    RELAY_ST_DONE,   /* finished or disposed */
    RELAY_ST__COUNT, /* sentinel */
};

struct relay_end {
    struct loop_io io;
    struct relay *r;
    enum relay_side side;
    const struct relay_xprt_ops *ops; /* NULL: plain fd */
    void *arg;
};

struct relay_half {
    struct relay *r;
    enum relay_dir dir;
    uint8_t *buf; /* pool block or NULL */
    size_t off, len;
    int pipe[2]; /* SPLICE: read end, write end; -1 when unused */
    size_t in_pipe;
    uint64_t nread, nwritten;
    bool eof;          /* source reported EOF */
    bool shut;         /* sink half-closed: direction done */
    bool blocked;      /* waiting for the sink to become writable */
    bool throttled;    /* waiting for rate tokens; data (if any) held */
    bool spliced;      /* read/written with splice(2) (the pipe may be parked: -1) */
    bool pipe_grown;   /* SPLICE: the pipe has pipe_size (counted in the process-wide cap) */
    bool pipe_no_grow; /* SPLICE: growing failed, do not ask again */
    double tokens;
    uint64_t tokens_ms;
    struct relay_rate rate;
    struct relay_shared_rate shared;
    uint64_t shared_wait; /* last answer of shared.take, consumed by the throttle check */
    struct loop_timer rate_timer;
};

struct relay {
    struct loop *loop;
    struct pool *pool;
    enum relay_mode mode;
    enum relay_state state;
    struct relay_end end[RELAY_SIDE__COUNT];
    struct relay_half half[RELAY_DIR__COUNT];
    uint64_t idle_ms, last_active;
    struct loop_timer idle_timer;
    struct loop_task resume_task;
    size_t pipe_size;
    uint64_t splice_after;
    relay_done_cb *on_done;
};

/* Prepares a relay (no fds yet, nothing registered). */
void relay_init(struct relay *r, struct loop *loop, const struct relay_cfg *cfg);
/* Installs a transport on one side before relay_start(). ERR_UNSUPPORTED in SPLICE mode,
 * ERR_BAD_STATE once started. */
int relay_set_xprt(struct relay *r, enum relay_side side, const struct relay_xprt_ops *ops, void *arg);
/* Queues bytes to be written to the direction's sink before anything read from its source
 * (e.g. the target's bytes already received during REALITY mirroring). Before relay_start()
 * only; may be called several times. ERR_TOO_LONG past one pool block, ERR_NOMEM, ERR_BAD_STATE. */
int relay_preload(struct relay *r, enum relay_dir dir, const void *p, size_t n);
/* Before relay_start: side's watcher takes over `from` (the owner's watcher of that same fd,
 * active or paused) with its epoll registration, so starting costs no epoll_ctl when the
 * interest is unchanged (loop_io_move). ERR_BAD_STATE once started. */
int relay_take_watcher(struct relay *r, enum relay_side side, struct loop_io *from);
/* Starts relaying between fd_a and fd_b (connected, nonblocking). The first pump runs from the
 * loop (never inside this call), so on_done is never called from relay_start().
 * 0, or -errno (pipe creation, epoll) with nothing left registered. */
int relay_start(struct relay *r, int fd_a, int fd_b);
/* Moves direction d of a running relay to splice(2) in place, keeping its state, counters and
 * any bytes already read (they are written first, through the sink's transport if any). From then
 * on d reads its source fd and writes its sink fd directly, bypassing their transports' recv and
 * send (their flush and shutdown_wr still run): call it only once the source's transport returns
 * raw bytes and holds none, and the sink's writes raw and holds none (Vision direct copy, per
 * direction). Not from inside the relay's own callbacks. 0 (also when already spliced),
 * ERR_BAD_STATE, or -errno from pipe2 (the direction keeps copying). */
int relay_splice_dir(struct relay *r, enum relay_dir d);
static inline bool relay_dir_spliced(const struct relay *r, enum relay_dir d)
{
    return r->half[d].spliced;
}
/* Closes the pipes of spliced directions that hold nothing (an idle tunnel: 2 fds and 16+ pages
 * of the user's pipe budget each); the next read opens a fresh one. Returns how many it closed. */
size_t relay_park_pipes(struct relay *r);
/* Stops everything without calling on_done: unregisters, releases buffers, closes pipes.
 * Idempotent; fine after the relay ended. The fds stay open. */
void relay_dispose(struct relay *r);

static inline bool relay_running(const struct relay *r)
{
    return r->state == RELAY_ST_RUNNING;
}
/* Bytes written to the sink / read from the source in one direction (with a transport:
 * plaintext accepted by send() / returned by recv()). */
static inline uint64_t relay_bytes(const struct relay *r, enum relay_dir dir)
{
    return r->half[dir].nwritten;
}
static inline uint64_t relay_bytes_read(const struct relay *r, enum relay_dir dir)
{
    return r->half[dir].nread;
}
/* Pool blocks currently held (0 when idle). */
size_t relay_buffers_held(const struct relay *r);
/* Nothing in flight and nothing pending: no buffer held, no byte waiting in a buffer or pipe,
 * no direction throttled, at EOF or half-closed. Such a relay can be disposed and replaced
 * (e.g. by one in SPLICE mode) without losing or reordering a byte. */
bool relay_quiet(const struct relay *r);
const char *relay_reason_str(enum relay_reason reason);
const char *relay_mode_str(enum relay_mode mode);

#endif
