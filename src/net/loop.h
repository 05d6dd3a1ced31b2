/* Event loop: epoll (level-triggered by default) + a min-heap of timers on monotonic ms +
 * before-sleep hooks + deferred tasks + a thread-safe wakeup with posted callbacks.
 * One loop per worker thread, no globals. Everything except loop_post()/loop_wakeup() must be
 * called on the loop's own thread.
 *
 * Watchers (struct loop_io, loop_timer, loop_task, loop_hook) are embedded in their owner and
 * initialised with *_init(); callbacks get the watcher pointer and use container_of() (core/
 * container.h) to reach the owner. The loop never allocates or frees watchers.
 *
 * One iteration:  io callbacks -> expired timers -> "soon" tasks -> deferred tasks ->
 *                 before-sleep hooks -> deferred tasks -> epoll_wait (timeout = next timer,
 *                 0 if soon tasks are queued). loop_now() is refreshed after epoll_wait.
 *
 * Freeing an object from inside its own callback is unsafe for the caller chain: instead stop
 * its watchers and queue it with loop_defer(); deferred tasks run at the end of the iteration,
 * after every callback of that iteration. Stopping an io watcher also drops any not yet
 * dispatched events for it from the current epoll batch. */
#ifndef VEIL_NET_LOOP_H
#define VEIL_NET_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct loop_io;
struct loop_timer;
struct loop_task;
struct loop_hook;

/* Interest and readiness bits. LOOP_ERROR / LOOP_HUP are only reported (never requested); when
 * they occur the callback also gets whichever of LOOP_READ/LOOP_WRITE it asked for, so the
 * handler discovers the error from its next syscall. */
enum loop_ev {
    LOOP_NONE = 0,
    LOOP_READ = 1u << 0,
    LOOP_WRITE = 1u << 1,
    LOOP_ERROR = 1u << 2,
    LOOP_HUP = 1u << 3,
    LOOP_EDGE = 1u << 4, /* request edge-triggered mode (needs a benchmark to justify it) */
    LOOP_EV__COUNT = 5,  /* sentinel: number of bits */
};

typedef void loop_io_cb(struct loop *loop, struct loop_io *io, unsigned revents);
typedef void loop_timer_cb(struct loop *loop, struct loop_timer *t);
typedef void loop_task_cb(struct loop *loop, struct loop_task *task);
typedef void loop_hook_cb(struct loop *loop, struct loop_hook *hook);
/* Posted from any thread; runs on the loop thread. Called with loop == NULL when the loop is
 * freed before running it, so `arg` can still be released. */
typedef void loop_post_cb(struct loop *loop, void *arg);

struct loop_io {
    int fd;
    unsigned events; /* current interest (LOOP_READ/WRITE/EDGE); 0 = not watching */
    loop_io_cb *cb;
};

struct loop_timer {
    uint64_t deadline; /* loop_now() ms at which it fires */
    uint64_t repeat;   /* ms; 0 = one-shot */
    uint64_t seq;      /* start order: equal deadlines fire in start order */
    size_t heap_idx;   /* position in the heap; SIZE_MAX when inactive */
    loop_timer_cb *cb;
};

struct loop_task {
    struct loop_task *next, *prev;
    loop_task_cb *cb;
    uint8_t queue; /* which queue it is on (0 = none); internal */
};

struct loop_hook {
    struct loop_hook *next, *prev;
    loop_hook_cb *cb;
    bool active;
};

/* A new loop (epoll fd + eventfd). NULL on failure (errno set). */
struct loop *loop_new(void);
/* Closes the loop's fds and runs pending posted callbacks with loop == NULL. The owner must
 * have stopped its watchers first (loop_io_count()/loop_timer_count() report leftovers); queued
 * deferred tasks are run. loop_free(NULL) is a no-op. */
void loop_free(struct loop *loop);

/* Runs iterations until loop_stop(). Returns 0, or a negative errno if epoll_wait fails. */
int loop_run(struct loop *loop);
/* One iteration; waits at most timeout_ms for events (-1 = until the next timer or forever). */
int loop_run_once(struct loop *loop, int timeout_ms);
/* Makes loop_run() return after the current iteration. Loop thread only. */
void loop_stop(struct loop *loop);
/* Monotonic milliseconds, cached once per iteration. */
uint64_t loop_now(const struct loop *loop);
/* Refreshes the cached time (e.g. after a long computation inside a callback). */
void loop_update_time(struct loop *loop);
/* Monotonic clock in ms, uncached. */
uint64_t loop_clock_ms(void);

/* --- fd watchers --- */
void loop_io_init(struct loop_io *io, int fd, loop_io_cb *cb);
/* Sets the interest to exactly `events` (LOOP_READ|LOOP_WRITE[|LOOP_EDGE]): adds, modifies or,
 * for 0, removes the fd from epoll. Returns 0 or -errno from epoll_ctl. */
int loop_io_set(struct loop *loop, struct loop_io *io, unsigned events);
/* Adds/removes interest bits; conveniences over loop_io_set(). */
int loop_io_add(struct loop *loop, struct loop_io *io, unsigned events);
int loop_io_del(struct loop *loop, struct loop_io *io, unsigned events);
/* Removes the fd from the loop (no-op when not registered). Call before close(fd). */
void loop_io_stop(struct loop *loop, struct loop_io *io);

/* Fewer epoll_ctl calls (the loop keys registrations by fd, so they outlive a watcher):
 * - loop_io_release(): the watcher stops, the kernel registration stays for the fd's next
 *   watcher (another owner taking the fd over: one MOD at most, instead of DEL + ADD). If an
 *   event arrives before anyone takes it, the registration is removed then.
 * - loop_io_pause(): the watcher stops getting events but keeps the registration; setting its
 *   interest again costs nothing if it did not change. If the fd has news meanwhile, the
 *   registration goes (level-triggered, it would wake every wait) and is added again then.
 * - loop_io_close() / loop_fd_close(): close the fd without EPOLL_CTL_DEL (close() removes
 *   it). Only when no dup or forked child shares the open file; otherwise stop, then close.
 * A registration left by a plain close() is harmless: the next watcher of a reused fd number
 * finds the kernel without it and adds it. */
void loop_io_release(struct loop *loop, struct loop_io *io);
void loop_io_pause(struct loop *loop, struct loop_io *io);
void loop_io_close(struct loop *loop, struct loop_io *io);
/* `to` (initialised, inactive) takes over from's fd, interest and registration, no syscall;
 * from becomes inactive. For an owner handing its fd to another on the same loop. */
void loop_io_move(struct loop *loop, struct loop_io *to, struct loop_io *from);
void loop_fd_close(struct loop *loop, int fd);
static inline bool loop_io_active(const struct loop_io *io)
{
    return (io->events & (LOOP_READ | LOOP_WRITE)) != 0;
}

/* --- timers (min-heap; start/stop O(log n)) --- */
void loop_timer_init(struct loop_timer *t, loop_timer_cb *cb);
/* (Re)starts the timer to fire after timeout_ms, then every repeat_ms if non-zero. ERR_NOMEM. */
int loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t timeout_ms, uint64_t repeat_ms);
/* No-op when inactive. */
void loop_timer_stop(struct loop *loop, struct loop_timer *t);
/* Restarts a repeating timer to fire `repeat` ms from now (ERR_BAD_STATE if repeat is 0). */
int loop_timer_again(struct loop *loop, struct loop_timer *t);
static inline bool loop_timer_active(const struct loop_timer *t)
{
    return t->heap_idx != SIZE_MAX;
}

/* --- tasks: run soon (next iteration, without sleeping) or deferred (end of this iteration) --- */
void loop_task_init(struct loop_task *task, loop_task_cb *cb);
/* Queues the task to run at the start of the next iteration's callbacks; epoll_wait does not
 * block while such tasks exist. Queuing an already queued task is a no-op. */
void loop_soon(struct loop *loop, struct loop_task *task);
/* Queues the task to run at the end of the current iteration, after all io and timer callbacks
 * (deferred close/free). No-op if already queued. */
void loop_defer(struct loop *loop, struct loop_task *task);
/* Unqueues a task (no-op if not queued). */
void loop_task_cancel(struct loop *loop, struct loop_task *task);
static inline bool loop_task_queued(const struct loop_task *task)
{
    return task->queue != 0;
}

/* --- before-sleep hooks: run once per iteration just before epoll_wait --- */
void loop_hook_init(struct loop_hook *hook, loop_hook_cb *cb);
void loop_hook_add(struct loop *loop, struct loop_hook *hook);
void loop_hook_remove(struct loop *loop, struct loop_hook *hook);

/* --- cross-thread --- */
/* Thread-safe: queues cb(loop, arg) to run on the loop thread and wakes the loop. Callbacks run
 * in posting order. 0 or ERR_NOMEM. */
int loop_post(struct loop *loop, loop_post_cb *cb, void *arg);
/* Thread-safe: wakes the loop from epoll_wait. */
void loop_wakeup(struct loop *loop);

/* --- introspection (tests, metrics) --- */
size_t loop_io_count(const struct loop *loop);    /* registered fd watchers (wakeup fd excluded) */
size_t loop_timer_count(const struct loop *loop); /* active timers */
size_t loop_task_count(const struct loop *loop);  /* queued soon + deferred tasks */
size_t loop_hook_count(const struct loop *loop);
uint64_t loop_iterations(const struct loop *loop);
uint64_t loop_ctl_count(const struct loop *loop); /* epoll_ctl calls so far */

#endif
