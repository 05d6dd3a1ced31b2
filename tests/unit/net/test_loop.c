#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"
#include "net/loop.h"

static void make_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* ---- io ---- */

struct io_probe {
    struct loop_io io;
    int reads, writes, hups;
    unsigned last;
    char got[16];
};

static void probe_cb(struct loop *loop, struct loop_io *io, unsigned rev)
{
    struct io_probe *p = container_of(io, struct io_probe, io);
    p->last = rev;
    if (rev & LOOP_READ) {
        p->reads++;
        ssize_t n = read(io->fd, p->got, sizeof(p->got) - 1);
        if (n == 0)
            loop_io_del(loop, io, LOOP_READ); /* EOF: stop reading, or level-trigger spins */
    }
    if (rev & LOOP_WRITE) {
        p->writes++;
        loop_io_del(loop, io, LOOP_WRITE);
    }
    if (rev & LOOP_HUP)
        p->hups++;
}

static void test_io_read_write(void **state)
{
    struct loop *loop = loop_new();
    int sv[2];
    make_pair(sv);
    struct io_probe p = {0};
    loop_io_init(&p.io, sv[0], probe_cb);

    /* Nothing readable: a bounded wait returns without callbacks. */
    assert_int_equal(loop_io_set(loop, &p.io, LOOP_READ), 0);
    assert_int_equal(loop_io_count(loop), 1);
    assert_int_equal(loop_run_once(loop, 10), 0);
    assert_int_equal(p.reads, 0);

    assert_int_equal(write(sv[1], "hi", 2), 2);
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(p.reads, 1);
    assert_string_equal(p.got, "hi");

    /* Writable interest added on top of read: fires once, callback drops it. */
    assert_int_equal(loop_io_add(loop, &p.io, LOOP_WRITE), 0);
    assert_int_equal(p.io.events, LOOP_READ | LOOP_WRITE);
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(p.writes, 1);
    assert_int_equal(p.io.events, LOOP_READ);
    assert_int_equal(loop_run_once(loop, 10), 0);
    assert_int_equal(p.writes, 1);

    /* Peer closes: read reports EOF and the watcher removes itself. */
    close(sv[1]);
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(p.reads, 2);
    assert_false(loop_io_active(&p.io));
    assert_int_equal(loop_io_count(loop), 0);

    /* Bad fd is reported, not hidden. */
    struct loop_io bad;
    loop_io_init(&bad, 1000000, probe_cb);
    assert_int_equal(loop_io_set(loop, &bad, LOOP_READ), -EBADF);
    assert_int_equal(loop_io_count(loop), 0);

    close(sv[0]);
    loop_free(loop);
}

/* Two watchers readable in the same batch; whichever runs first stops the other, which must
 * then not be called (its pending event is dropped from the batch). */
struct twin {
    struct loop_io io;
    struct twin *other;
    int calls;
};

static void twin_cb(struct loop *loop, struct loop_io *io, unsigned rev)
{
    struct twin *t = container_of(io, struct twin, io);
    t->calls++;
    loop_io_stop(loop, &t->other->io);
    loop_io_stop(loop, &t->io);
}

static void test_stop_drops_pending_events(void **state)
{
    struct loop *loop = loop_new();
    int a[2], b[2];
    make_pair(a);
    make_pair(b);
    struct twin t1 = {.calls = 0}, t2 = {.calls = 0};
    t1.other = &t2;
    t2.other = &t1;
    loop_io_init(&t1.io, a[0], twin_cb);
    loop_io_init(&t2.io, b[0], twin_cb);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    assert_int_equal(loop_io_set(loop, &t1.io, LOOP_READ), 0);
    assert_int_equal(loop_io_set(loop, &t2.io, LOOP_READ), 0);
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(t1.calls + t2.calls, 1);
    assert_int_equal(loop_io_count(loop), 0);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    loop_free(loop);
}

/* ---- timers ---- */

struct tprobe {
    struct loop_timer t;
    int id;
    int *log;
    size_t *nlog;
    uint64_t expect_deadline;
    bool stop_loop;
};

static void tprobe_cb(struct loop *loop, struct loop_timer *t)
{
    struct tprobe *p = container_of(t, struct tprobe, t);
    p->log[(*p->nlog)++] = p->id;
    if (p->stop_loop)
        loop_stop(loop);
}

static void test_timer_order(void **state)
{
    struct loop *loop = loop_new();
    int log[8];
    size_t nlog = 0;
    const uint64_t to[] = {30, 10, 20, 10, 0};
    struct tprobe p[5];
    for (int i = 0; i < 5; i++) {
        p[i] = (struct tprobe){.id = i, .log = log, .nlog = &nlog};
        loop_timer_init(&p[i].t, tprobe_cb);
        assert_int_equal(loop_timer_start(loop, &p[i].t, to[i], 0), 0);
    }
    p[0].stop_loop = true;
    assert_int_equal(loop_timer_count(loop), 5);
    uint64_t t0 = loop_now(loop);
    assert_int_equal(loop_run(loop), 0);
    assert_true(loop_now(loop) - t0 >= 30);
    assert_int_equal(nlog, 5);
    const int want[] = {4, 1, 3, 2, 0}; /* equal deadlines fire in start order */
    assert_memory_equal(log, want, sizeof(want));
    assert_int_equal(loop_timer_count(loop), 0);
    loop_free(loop);
}

struct many {
    struct loop_timer t;
    uint64_t deadline;
    bool cancelled;
    bool fired;
};

static uint64_t g_last_deadline;
static size_t g_fired;
static bool g_order_ok = true;

static void many_cb(struct loop *loop, struct loop_timer *t)
{
    struct many *m = container_of(t, struct many, t);
    if (m->cancelled || m->fired || m->deadline < g_last_deadline || loop_now(loop) < m->deadline)
        g_order_ok = false;
    g_last_deadline = m->deadline;
    m->fired = true;
    g_fired++;
}

static void test_many_timers(void **state)
{
    enum { N = 20000 };
    struct loop *loop = loop_new();
    struct many *m = calloc(N, sizeof(*m));
    uint32_t x = 12345;
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        loop_timer_init(&m[i].t, many_cb);
        assert_int_equal(loop_timer_start(loop, &m[i].t, (x >> 16) % 40, 0), 0);
        m[i].deadline = m[i].t.deadline;
    }
    /* Cancel every third, and restart every seventh with a new timeout (heap update). */
    size_t expect = 0;
    for (size_t i = 0; i < N; i++) {
        if (i % 3 == 0) {
            loop_timer_stop(loop, &m[i].t);
            loop_timer_stop(loop, &m[i].t); /* idempotent */
            m[i].cancelled = true;
            continue;
        }
        if (i % 7 == 0) {
            assert_int_equal(loop_timer_start(loop, &m[i].t, 45 - i % 5, 0), 0);
            m[i].deadline = m[i].t.deadline;
        }
        expect++;
    }
    assert_int_equal(loop_timer_count(loop), expect);
    g_last_deadline = 0;
    g_fired = 0;
    g_order_ok = true;
    while (loop_timer_count(loop) > 0)
        assert_int_equal(loop_run_once(loop, -1), 0);
    assert_true(g_order_ok);
    assert_int_equal(g_fired, expect);
    free(m);
    loop_free(loop);
}

struct rep {
    struct loop_timer t;
    int count;
    int limit;
};

static void rep_cb(struct loop *loop, struct loop_timer *t)
{
    struct rep *r = container_of(t, struct rep, t);
    if (++r->count == r->limit) {
        loop_timer_stop(loop, t);
        loop_stop(loop);
    }
}

static void test_timer_repeat_stop_again(void **state)
{
    struct loop *loop = loop_new();
    struct rep r = {.limit = 5};
    loop_timer_init(&r.t, rep_cb);
    assert_int_equal(loop_timer_again(loop, &r.t), ERR_BAD_STATE);
    assert_int_equal(loop_timer_start(loop, &r.t, 1, 2), 0);
    uint64_t t0 = loop_now(loop);
    assert_int_equal(loop_run(loop), 0);
    assert_int_equal(r.count, 5);
    assert_true(loop_now(loop) - t0 >= 1 + 4 * 2);
    assert_false(loop_timer_active(&r.t));

    /* again() pushes the deadline to now + repeat. */
    assert_int_equal(loop_timer_start(loop, &r.t, 1000, 50), 0);
    assert_int_equal(loop_timer_again(loop, &r.t), 0);
    assert_int_equal(r.t.deadline, loop_now(loop) + 50);
    loop_timer_stop(loop, &r.t);
    assert_int_equal(loop_timer_count(loop), 0);
    loop_free(loop);
}

/* A zero-timeout timer restarted from its own callback fires once per iteration, not forever. */
static void zero_cb(struct loop *loop, struct loop_timer *t)
{
    struct rep *r = container_of(t, struct rep, t);
    r->count++;
    if (r->count < r->limit)
        loop_timer_start(loop, t, 0, 0);
}

static void test_timer_zero_restart(void **state)
{
    struct loop *loop = loop_new();
    struct rep r = {.limit = 3};
    loop_timer_init(&r.t, zero_cb);
    loop_timer_start(loop, &r.t, 0, 0);
    assert_int_equal(loop_run_once(loop, -1), 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(loop_run_once(loop, -1), 0);
    assert_int_equal(r.count, 2);
    assert_int_equal(loop_run_once(loop, -1), 0);
    assert_int_equal(r.count, 3);
    assert_int_equal(loop_timer_count(loop), 0);
    loop_free(loop);
}

/* ---- deferred free, soon tasks, hooks ---- */

struct conn {
    struct loop_io io;
    struct loop_task free_task;
    int *freed;
    int *order;
};

static int g_step;

static void conn_free_cb(struct loop *loop, struct loop_task *task)
{
    struct conn *c = container_of(task, struct conn, free_task);
    *c->order = ++g_step;
    (*c->freed)++;
    free(c);
}

static void conn_io_cb(struct loop *loop, struct loop_io *io, unsigned rev)
{
    struct conn *c = container_of(io, struct conn, io);
    loop_io_stop(loop, io);
    loop_defer(loop, &c->free_task);
    loop_defer(loop, &c->free_task); /* second queueing is a no-op */
    assert_int_equal(*c->freed, 0);  /* never freed inside its own callback */
    /* Still safe to touch the object after deferring. */
    c->io.fd = -1;
    g_step++;
}

static void test_deferred_free(void **state)
{
    struct loop *loop = loop_new();
    int sv[2];
    make_pair(sv);
    int freed = 0, order = 0;
    struct conn *c = calloc(1, sizeof(*c));
    c->freed = &freed;
    c->order = &order;
    loop_io_init(&c->io, sv[0], conn_io_cb);
    loop_task_init(&c->free_task, conn_free_cb);
    assert_int_equal(loop_io_set(loop, &c->io, LOOP_WRITE), 0);
    g_step = 0;
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(freed, 1);
    assert_int_equal(order, 2); /* after the io callback */
    assert_int_equal(loop_task_count(loop), 0);
    assert_int_equal(loop_io_count(loop), 0);
    close(sv[0]);
    close(sv[1]);
    loop_free(loop);
}

struct counter_task {
    struct loop_task task;
    int runs;
};

static void counter_task_cb(struct loop *loop, struct loop_task *task)
{
    container_of(task, struct counter_task, task)->runs++;
}

static void test_soon_does_not_block(void **state)
{
    struct loop *loop = loop_new();
    struct counter_task a, b;
    loop_task_init(&a.task, counter_task_cb);
    loop_task_init(&b.task, counter_task_cb);
    a.runs = b.runs = 0;
    loop_soon(loop, &a.task);
    loop_soon(loop, &b.task);
    loop_task_cancel(loop, &b.task);
    assert_true(loop_task_queued(&a.task));
    assert_false(loop_task_queued(&b.task));
    uint64_t t0 = loop_clock_ms();
    assert_int_equal(loop_run_once(loop, 5000), 0); /* would block 5 s without the soon task */
    assert_true(loop_clock_ms() - t0 < 1000);
    assert_int_equal(a.runs, 1);
    assert_int_equal(b.runs, 0);
    assert_int_equal(loop_task_count(loop), 0);
    loop_free(loop);
}

struct hook_probe {
    struct loop_hook hook;
    int calls;
    int remove_after;
};

static void hook_cb(struct loop *loop, struct loop_hook *hook)
{
    struct hook_probe *h = container_of(hook, struct hook_probe, hook);
    if (++h->calls == h->remove_after)
        loop_hook_remove(loop, hook);
}

static void test_before_sleep_hooks(void **state)
{
    struct loop *loop = loop_new();
    struct hook_probe h1 = {.remove_after = 2}, h2 = {.remove_after = 0};
    loop_hook_init(&h1.hook, hook_cb);
    loop_hook_init(&h2.hook, hook_cb);
    loop_hook_add(loop, &h1.hook);
    loop_hook_add(loop, &h2.hook);
    loop_hook_add(loop, &h2.hook); /* idempotent */
    assert_int_equal(loop_hook_count(loop), 2);
    for (int i = 0; i < 4; i++)
        assert_int_equal(loop_run_once(loop, 0), 0);
    assert_int_equal(h1.calls, 2);
    assert_int_equal(h2.calls, 4);
    loop_hook_remove(loop, &h2.hook);
    assert_int_equal(loop_hook_count(loop), 0);
    loop_free(loop);
}

/* ---- cross-thread post ---- */

enum { POSTS = 2000 };

struct post_state {
    struct loop *loop;
    int next_expected;
    bool order_ok;
    pthread_t thread_id;
    bool on_loop_thread;
};

struct post_item {
    struct post_state *st;
    int seq;
};

static void post_cb(struct loop *loop, void *arg)
{
    struct post_item *it = arg;
    if (loop == NULL) { /* loop freed before running: release only */
        free(it);
        return;
    }
    struct post_state *st = it->st;
    if (it->seq != st->next_expected)
        st->order_ok = false;
    if (!pthread_equal(pthread_self(), st->thread_id))
        st->on_loop_thread = false;
    st->next_expected++;
    if (it->seq == POSTS - 1)
        loop_stop(loop);
    free(it);
}

static void *poster(void *arg)
{
    struct post_state *st = arg;
    for (int i = 0; i < POSTS; i++) {
        struct post_item *it = malloc(sizeof(*it));
        *it = (struct post_item){.st = st, .seq = i};
        if (loop_post(st->loop, post_cb, it) != 0)
            abort();
    }
    return NULL;
}

static void test_cross_thread_post(void **state)
{
    struct loop *loop = loop_new();
    struct post_state st = {.loop = loop, .order_ok = true, .thread_id = pthread_self(), .on_loop_thread = true};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, poster, &st), 0);
    assert_int_equal(loop_run(loop), 0);
    pthread_join(th, NULL);
    assert_int_equal(st.next_expected, POSTS);
    assert_true(st.order_ok);
    assert_true(st.on_loop_thread);
    assert_int_equal(loop_io_count(loop), 0);
    loop_free(loop);
}

static int g_cancelled;

static void cancel_cb(struct loop *loop, void *arg)
{
    assert_null(loop);
    g_cancelled += *(int *)arg;
}

static void test_post_pending_at_free(void **state)
{
    struct loop *loop = loop_new();
    int one = 1;
    g_cancelled = 0;
    assert_int_equal(loop_post(loop, cancel_cb, &one), 0);
    assert_int_equal(loop_post(loop, cancel_cb, &one), 0);
    loop_free(loop);
    assert_int_equal(g_cancelled, 2);
}

/* ---- teardown ---- */

static void test_teardown_clean(void **state)
{
    struct loop *loop = loop_new();
    int sv[2];
    make_pair(sv);
    struct io_probe p = {0};
    struct loop_timer t;
    loop_io_init(&p.io, sv[0], probe_cb);
    loop_timer_init(&t, NULL);
    loop_io_set(loop, &p.io, LOOP_READ | LOOP_WRITE);
    loop_timer_start(loop, &t, 100000, 0);
    assert_int_equal(loop_io_count(loop), 1);
    assert_int_equal(loop_timer_count(loop), 1);
    loop_io_stop(loop, &p.io);
    loop_io_stop(loop, &p.io);
    loop_timer_stop(loop, &t);
    assert_int_equal(loop_io_count(loop), 0);
    assert_int_equal(loop_timer_count(loop), 0);
    assert_int_equal(loop_task_count(loop), 0);
    close(sv[0]);
    close(sv[1]);
    loop_free(loop);
    loop_free(NULL);
}

/* ---- registrations that outlive a watcher (fewer epoll_ctl per connection) ---- */

static void send1(int fd)
{
    assert_int_equal(write(fd, "x", 1), 1);
}

/* Released: the next watcher of the same fd takes the registration with one MOD (not DEL+ADD)
 * and gets the events; the old one gets nothing. */
static void test_release_then_take_over(void **state)
{
    struct loop *loop = loop_new();
    int sv[2];
    make_pair(sv);
    struct io_probe a = {0}, b = {0};
    loop_io_init(&a.io, sv[0], probe_cb);
    assert_int_equal(loop_io_set(loop, &a.io, LOOP_READ), 0);
    uint64_t c0 = loop_ctl_count(loop);
    loop_io_release(loop, &a.io);
    assert_false(loop_io_active(&a.io));
    assert_int_equal(loop_io_count(loop), 0);
    loop_io_init(&b.io, sv[0], probe_cb);
    assert_int_equal(loop_io_set(loop, &b.io, LOOP_READ), 0);
    assert_int_equal(loop_ctl_count(loop) - c0, 1);
    send1(sv[1]);
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(a.reads, 0);
    assert_int_equal(b.reads, 1);
    loop_io_stop(loop, &b.io);
    close(sv[0]);
    close(sv[1]);
    loop_free(loop);
}

/* Moved: no epoll_ctl at all; setting the same interest again costs nothing either. */
static void test_move_costs_nothing(void **state)
{
    struct loop *loop = loop_new();
    int sv[2];
    make_pair(sv);
    struct io_probe a = {0}, b = {0};
    loop_io_init(&a.io, sv[0], probe_cb);
    assert_int_equal(loop_io_set(loop, &a.io, LOOP_READ), 0);
    uint64_t c0 = loop_ctl_count(loop);
    loop_io_init(&b.io, -1, probe_cb);
    loop_io_move(loop, &b.io, &a.io);
    assert_int_equal(b.io.fd, sv[0]);
    assert_true(loop_io_active(&b.io));
    assert_false(loop_io_active(&a.io));
    assert_int_equal(loop_io_count(loop), 1);
    assert_int_equal(loop_io_set(loop, &b.io, LOOP_READ), 0);
    assert_int_equal(loop_ctl_count(loop), c0);
    send1(sv[1]);
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(a.reads, 0);
    assert_int_equal(b.reads, 1);
    loop_io_close(loop, &b.io); /* no DEL: close() does it */
    assert_int_equal(loop_ctl_count(loop), c0);
    assert_int_equal(loop_io_count(loop), 0);
    close(sv[1]);
    loop_free(loop);
}

/* Paused: no callback while paused; resuming with the same interest costs nothing, and news
 * that came meanwhile is delivered after resuming (level-triggered: nothing lost). */
static void test_pause_resume(void **state)
{
    struct loop *loop = loop_new();
    int sv[2];
    make_pair(sv);
    struct io_probe a = {0};
    loop_io_init(&a.io, sv[0], probe_cb);
    assert_int_equal(loop_io_set(loop, &a.io, LOOP_READ), 0);
    uint64_t c0 = loop_ctl_count(loop);
    loop_io_pause(loop, &a.io);
    assert_false(loop_io_active(&a.io));
    assert_int_equal(loop_io_count(loop), 0);
    assert_int_equal(loop_io_set(loop, &a.io, LOOP_READ), 0);
    assert_int_equal(loop_ctl_count(loop), c0); /* still registered */

    loop_io_pause(loop, &a.io);
    send1(sv[1]);
    assert_int_equal(loop_run_once(loop, 1000), 0); /* wakes: the registration goes */
    assert_int_equal(a.reads, 0);
    assert_int_equal(loop_ctl_count(loop) - c0, 1);
    assert_int_equal(loop_run_once(loop, 20), 0); /* and does not wake again */
    assert_int_equal(a.reads, 0);
    assert_int_equal(loop_io_set(loop, &a.io, LOOP_READ), 0); /* ADD again */
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(a.reads, 1);
    loop_io_close(loop, &a.io);
    close(sv[1]);
    loop_free(loop);
}

/* A registration whose fd was closed with plain close() (released, or closed without
 * stopping) must not stop a new socket that gets the same fd number from being watched. */
static void test_reused_fd_number(void **state)
{
    struct loop *loop = loop_new();
    int sv[2], sw[2];
    make_pair(sv);
    struct io_probe a = {0}, b = {0}, c = {0};
    loop_io_init(&a.io, sv[0], probe_cb);
    assert_int_equal(loop_io_set(loop, &a.io, LOOP_READ), 0);
    loop_io_release(loop, &a.io);
    int num = sv[0];
    close(sv[0]);
    make_pair(sw);
    assert_int_equal(sw[0], num); /* lowest free number */
    loop_io_init(&b.io, sw[0], probe_cb);
    assert_int_equal(loop_io_set(loop, &b.io, LOOP_READ), 0);
    send1(sw[1]);
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(b.reads, 1);

    /* Closed while still watched, then reused. */
    close(sw[0]);
    close(sw[1]);
    make_pair(sw);
    assert_int_equal(sw[0], num);
    loop_io_init(&c.io, sw[0], probe_cb);
    assert_int_equal(loop_io_set(loop, &c.io, LOOP_READ), 0);
    assert_false(loop_io_active(&b.io));
    send1(sw[1]);
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(c.reads, 1);
    assert_int_equal(b.reads, 1);

    /* A genuine second watcher of a watched fd is refused, as epoll always did. */
    struct io_probe d = {0};
    loop_io_init(&d.io, sw[0], probe_cb);
    assert_int_equal(loop_io_set(loop, &d.io, LOOP_READ), -EEXIST);
    assert_true(loop_io_active(&c.io));
    loop_io_stop(loop, &c.io);
    assert_int_equal(loop_io_count(loop), 0);
    close(sw[0]);
    close(sw[1]);
    close(sv[1]);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_read_write),
        cmocka_unit_test(test_stop_drops_pending_events),
        cmocka_unit_test(test_timer_order),
        cmocka_unit_test(test_many_timers),
        cmocka_unit_test(test_timer_repeat_stop_again),
        cmocka_unit_test(test_timer_zero_restart),
        cmocka_unit_test(test_deferred_free),
        cmocka_unit_test(test_soon_does_not_block),
        cmocka_unit_test(test_before_sleep_hooks),
        cmocka_unit_test(test_cross_thread_post),
        cmocka_unit_test(test_post_pending_at_free),
        cmocka_unit_test(test_teardown_clean),
        cmocka_unit_test(test_release_then_take_over),
        cmocka_unit_test(test_move_costs_nothing),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_reused_fd_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
