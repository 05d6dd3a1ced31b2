#include "net/loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/container.h"
#include "core/err.h"

#define LOOP_BATCH 256
/* In loop_io.events: paused by loop_io_pause(), the registration kept. */
#define LOOP_PAUSED_ (1u << 7)

enum loop_queue {
    LOOP_Q_NONE = 0,
    LOOP_Q_SOON,
    LOOP_Q_DEFER,
    LOOP_Q__COUNT, /* sentinel */
};

struct loop_tasklist {
    struct loop_task *head, *tail;
    size_t n;
};

struct loop_post_node {
    struct loop_post_node *next;
    loop_post_cb *cb;
    void *arg;
};

/* What the kernel holds for one fd: its watcher (NULL once released) and the registered
 * interest (LOOP_READ/WRITE/EDGE; 0 = not in the epoll set). Indexed by fd, so a registration
 * can pass from one watcher to the next without an epoll_ctl. */
struct loop_slot {
    struct loop_io *owner;
    unsigned kmask;
};

struct loop {
    int epfd;
    uint64_t now;
    uint64_t iterations;
    bool stop;
    size_t n_io;             /* registered watchers, including wake_io */
    struct loop_slot *slots; /* by fd */
    size_t n_slots;
    uint64_t n_ctl; /* epoll_ctl calls made (introspection) */

    struct loop_timer **heap;
    size_t heap_len, heap_cap;
    uint64_t timer_seq;

    struct loop_tasklist queues[LOOP_Q__COUNT];
    struct loop_hook *hooks;
    size_t n_hooks;

    /* The batch being dispatched, so that stopping a watcher can drop its pending events. */
    struct epoll_event batch[LOOP_BATCH];
    int batch_n, batch_i;

    /* Cross-thread wakeup. */
    struct loop_io wake_io;
    pthread_mutex_t post_mu;
    struct loop_post_node *post_head, *post_tail;
};

uint64_t loop_clock_ms(void)
{
    return clock_mono_ms();
}

uint64_t loop_now(const struct loop *loop)
{
    return loop->now;
}

void loop_update_time(struct loop *loop)
{
    loop->now = loop_clock_ms();
}

static void loop_wake_cb(struct loop *loop, struct loop_io *io, unsigned revents);

struct loop *loop_new(void)
{
    struct loop *loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        return NULL;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd == -1)
        goto fail;
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd == -1)
        goto fail_ep;
    if (pthread_mutex_init(&loop->post_mu, NULL) != 0)
        goto fail_efd;
    loop_io_init(&loop->wake_io, efd, loop_wake_cb);
    if (loop_io_set(loop, &loop->wake_io, LOOP_READ) < 0)
        goto fail_slots;
    loop_update_time(loop);
    return loop;

fail_slots:
    free(loop->slots);
    pthread_mutex_destroy(&loop->post_mu);
fail_efd:
    close(efd);
fail_ep:
    close(loop->epfd);
fail:
    free(loop);
    return NULL;
}

static void loop_run_deferred(struct loop *loop);

void loop_free(struct loop *loop)
{
    if (loop == NULL)
        return;
    loop_run_deferred(loop);
    loop_io_stop(loop, &loop->wake_io);
    close(loop->wake_io.fd);
    close(loop->epfd);
    struct loop_post_node *p = loop->post_head;
    while (p != NULL) {
        struct loop_post_node *next = p->next;
        p->cb(NULL, p->arg);
        free(p);
        p = next;
    }
    pthread_mutex_destroy(&loop->post_mu);
    free(loop->heap);
    free(loop->slots);
    free(loop);
}

void loop_stop(struct loop *loop)
{
    loop->stop = true;
}

/* ---------------- fd watchers ---------------- */

void loop_io_init(struct loop_io *io, int fd, loop_io_cb *cb)
{
    *io = (struct loop_io){.fd = fd, .cb = cb};
}

/* Drops events for fd that are still waiting in the batch being dispatched. */
static void loop_fd_invalidate(struct loop *loop, int fd)
{
    for (int i = loop->batch_i + 1; i < loop->batch_n; i++) {
        if (loop->batch[i].data.fd == fd)
            loop->batch[i].data.fd = -1;
    }
}

static struct loop_slot *loop_slot(struct loop *loop, int fd, bool grow)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= loop->n_slots) {
        if (!grow)
            return NULL;
        size_t n = loop->n_slots ? loop->n_slots : 64;
        while (n <= (size_t)fd)
            n *= 2;
        struct loop_slot *p = realloc(loop->slots, n * sizeof(*p));
        if (p == NULL)
            return NULL;
        memset(p + loop->n_slots, 0, (n - loop->n_slots) * sizeof(*p));
        loop->slots = p;
        loop->n_slots = n;
    }
    return &loop->slots[fd];
}

static bool io_holds(const struct loop_io *io)
{
    return (io->events & (LOOP_READ | LOOP_WRITE | LOOP_PAUSED_)) != 0;
}

static int loop_ctl(struct loop *loop, int op, int fd, unsigned events)
{
    struct epoll_event ev = {.data.fd = fd};
    if (events & LOOP_READ)
        ev.events |= EPOLLIN;
    if (events & LOOP_WRITE)
        ev.events |= EPOLLOUT;
    if (events & LOOP_EDGE)
        ev.events |= EPOLLET;
    loop->n_ctl++;
    return epoll_ctl(loop->epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &ev);
}

/* The watcher that holds sl stops holding it (the kernel registration is not touched). */
static void slot_disown(struct loop *loop, struct loop_slot *sl)
{
    struct loop_io *o = sl->owner;
    if (o == NULL)
        return;
    if (o->events & (LOOP_READ | LOOP_WRITE))
        loop->n_io--;
    o->events = 0;
    sl->owner = NULL;
}

int loop_io_set(struct loop *loop, struct loop_io *io, unsigned events)
{
    events &= LOOP_READ | LOOP_WRITE | LOOP_EDGE;
    if ((events & (LOOP_READ | LOOP_WRITE)) == 0)
        events = 0; /* LOOP_EDGE alone means nothing */
    if (events == 0) {
        loop_io_stop(loop, io);
        return 0;
    }
    if (events == io->events)
        return 0;
    struct loop_slot *sl = loop_slot(loop, io->fd, true);
    if (sl == NULL)
        return io->fd < 0 ? -EBADF : -ENOMEM;
    bool mine = sl->owner == io && io_holds(io);
    /* Another watcher active on this fd number: either a genuine second watcher (the kernel
     * refuses the ADD, as it always did) or one whose fd was closed without stopping it. */
    bool other = sl->owner != NULL && sl->owner != io && loop_io_active(sl->owner);
    if (sl->kmask == 0 || other) {
        if (loop_ctl(loop, EPOLL_CTL_ADD, io->fd, events) == -1) {
            if (errno != EEXIST || other || loop_ctl(loop, EPOLL_CTL_MOD, io->fd, events) == -1)
                return -errno;
        }
    } else if (mine && sl->kmask == events) {
        /* Paused with the same interest still registered: no syscall. */
    } else if (loop_ctl(loop, EPOLL_CTL_MOD, io->fd, events) == -1) {
        /* Ours with other interest, or a registration a released watcher left. If that fd was
         * closed and its number reused since, the kernel dropped the old one: ADD. */
        if (errno != ENOENT || loop_ctl(loop, EPOLL_CTL_ADD, io->fd, events) == -1)
            return -errno;
    }
    if (sl->owner != io)
        slot_disown(loop, sl);
    sl->owner = io;
    sl->kmask = events;
    if ((io->events & (LOOP_READ | LOOP_WRITE)) == 0)
        loop->n_io++;
    io->events = events;
    return 0;
}

int loop_io_add(struct loop *loop, struct loop_io *io, unsigned events)
{
    return loop_io_set(loop, io, (io->events & ~LOOP_PAUSED_) | events);
}

int loop_io_del(struct loop *loop, struct loop_io *io, unsigned events)
{
    return loop_io_set(loop, io, (io->events & ~LOOP_PAUSED_) & ~events);
}

/* The slot io holds, or NULL. */
static struct loop_slot *held_slot(struct loop *loop, struct loop_io *io)
{
    if (!io_holds(io))
        return NULL;
    struct loop_slot *sl = loop_slot(loop, io->fd, false);
    return sl != NULL && sl->owner == io ? sl : NULL;
}

void loop_io_stop(struct loop *loop, struct loop_io *io)
{
    struct loop_slot *sl = held_slot(loop, io);
    if (sl == NULL) {
        io->events = 0;
        return;
    }
    /* Failure means the fd was already closed, which removed it from epoll anyway. */
    if (sl->kmask != 0)
        (void)loop_ctl(loop, EPOLL_CTL_DEL, io->fd, 0);
    sl->kmask = 0;
    slot_disown(loop, sl);
    loop_fd_invalidate(loop, io->fd);
}

void loop_io_release(struct loop *loop, struct loop_io *io)
{
    struct loop_slot *sl = held_slot(loop, io);
    if (sl == NULL) {
        io->events = 0;
        return;
    }
    slot_disown(loop, sl); /* kmask stays: the next watcher of this fd takes it over */
    loop_fd_invalidate(loop, io->fd);
}

void loop_io_pause(struct loop *loop, struct loop_io *io)
{
    struct loop_slot *sl = held_slot(loop, io);
    if (sl == NULL || (io->events & LOOP_PAUSED_))
        return;
    loop->n_io--;
    io->events = LOOP_PAUSED_;
}

void loop_io_move(struct loop *loop, struct loop_io *to, struct loop_io *from)
{
    struct loop_slot *sl = held_slot(loop, from);
    to->fd = from->fd;
    to->events = 0;
    if (sl == NULL) {
        from->events = 0;
        return;
    }
    to->events = from->events; /* active or paused, as it was: n_io unchanged */
    from->events = 0;
    sl->owner = to; /* events still in this batch go to the new watcher */
}

void loop_fd_close(struct loop *loop, int fd)
{
    if (fd < 0)
        return;
    struct loop_slot *sl = loop_slot(loop, fd, false);
    if (sl != NULL) {
        /* close() takes the fd out of the epoll set (no other process or dup holds it). */
        slot_disown(loop, sl);
        sl->kmask = 0;
        loop_fd_invalidate(loop, fd);
    }
    close(fd);
}

void loop_io_close(struct loop *loop, struct loop_io *io)
{
    if (held_slot(loop, io) == NULL)
        io->events = 0;
    loop_fd_close(loop, io->fd);
}

static void loop_dispatch(struct loop *loop)
{
    for (loop->batch_i = 0; loop->batch_i < loop->batch_n; loop->batch_i++) {
        struct epoll_event *ev = &loop->batch[loop->batch_i];
        int fd = ev->data.fd;
        if (fd < 0)
            continue; /* watcher stopped by an earlier callback of this batch */
        struct loop_slot *sl = loop_slot(loop, fd, false);
        struct loop_io *io = sl != NULL ? sl->owner : NULL;
        unsigned want = io != NULL ? io->events & (LOOP_READ | LOOP_WRITE) : 0;
        if (want == 0) {
            /* Released or paused and the fd has news: level-triggered, it would come back on
             * every wait, so the registration goes now (the next watcher adds it again). */
            if (sl != NULL && sl->kmask != 0) {
                (void)loop_ctl(loop, EPOLL_CTL_DEL, fd, 0);
                sl->kmask = 0;
            }
            continue;
        }
        unsigned rev = 0;
        if (ev->events & EPOLLIN)
            rev |= LOOP_READ;
        if (ev->events & EPOLLOUT)
            rev |= LOOP_WRITE;
        if (ev->events & EPOLLERR)
            rev |= LOOP_ERROR | want;
        if (ev->events & EPOLLHUP)
            rev |= LOOP_HUP | want;
        rev &= want | LOOP_ERROR | LOOP_HUP;
        if (rev != 0)
            io->cb(loop, io, rev);
    }
    loop->batch_n = 0;
    loop->batch_i = 0;
}

/* ---------------- timer heap ---------------- */

void loop_timer_init(struct loop_timer *t, loop_timer_cb *cb)
{
    *t = (struct loop_timer){.heap_idx = SIZE_MAX, .cb = cb};
}

static bool timer_less(const struct loop_timer *a, const struct loop_timer *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->seq < b->seq;
}

static void heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
    loop->heap[i] = t;
    t->heap_idx = i;
}

static void heap_up(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_less(t, loop->heap[parent]))
            break;
        heap_set(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, size_t i)
{
    struct loop_timer *t = loop->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct loop_timer *best = t;
        if (l < loop->heap_len && timer_less(loop->heap[l], best)) {
            m = l;
            best = loop->heap[l];
        }
        if (r < loop->heap_len && timer_less(loop->heap[r], best))
            m = r;
        if (m == i)
            break;
        heap_set(loop, i, loop->heap[m]);
        i = m;
    }
    heap_set(loop, i, t);
}

static void heap_remove(struct loop *loop, struct loop_timer *t)
{
    size_t i = t->heap_idx;
    struct loop_timer *last = loop->heap[--loop->heap_len];
    t->heap_idx = SIZE_MAX;
    if (last == t)
        return;
    heap_set(loop, i, last);
    if (i > 0 && timer_less(last, loop->heap[(i - 1) / 2]))
        heap_up(loop, i);
    else
        heap_down(loop, i);
}

static int heap_insert(struct loop *loop, struct loop_timer *t)
{
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
        struct loop_timer **h = realloc(loop->heap, cap * sizeof(*h));
        if (h == NULL)
            return ERR_NOMEM;
        loop->heap = h;
        loop->heap_cap = cap;
    }
    heap_set(loop, loop->heap_len++, t);
    heap_up(loop, t->heap_idx);
    return 0;
}

int loop_timer_start(struct loop *loop, struct loop_timer *t, uint64_t timeout_ms, uint64_t repeat_ms)
{
    if (loop_timer_active(t))
        heap_remove(loop, t);
    t->deadline = loop->now + timeout_ms;
    t->repeat = repeat_ms;
    t->seq = loop->timer_seq++;
    return heap_insert(loop, t);
}

void loop_timer_stop(struct loop *loop, struct loop_timer *t)
{
    if (loop_timer_active(t))
        heap_remove(loop, t);
}

int loop_timer_again(struct loop *loop, struct loop_timer *t)
{
    if (t->repeat == 0)
        return ERR_BAD_STATE;
    return loop_timer_start(loop, t, t->repeat, t->repeat);
}

static void loop_run_timers(struct loop *loop)
{
    /* Timers (re)started by these callbacks wait for the next iteration, so a zero timeout
     * restarted from its own callback cannot spin here. */
    uint64_t seq_limit = loop->timer_seq;
    while (loop->heap_len > 0) {
        struct loop_timer *t = loop->heap[0];
        if (t->deadline > loop->now || t->seq >= seq_limit)
            break;
        heap_remove(loop, t);
        if (t->repeat != 0)
            (void)loop_timer_start(loop, t, t->repeat, t->repeat); /* slot just freed: cannot fail */
        t->cb(loop, t);
    }
}

/* ---------------- tasks ---------------- */

void loop_task_init(struct loop_task *task, loop_task_cb *cb)
{
    *task = (struct loop_task){.cb = cb};
}

static void task_enqueue(struct loop *loop, struct loop_task *task, enum loop_queue q)
{
    if (task->queue != LOOP_Q_NONE)
        return;
    struct loop_tasklist *l = &loop->queues[q];
    task->next = NULL;
    task->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = task;
    else
        l->head = task;
    l->tail = task;
    l->n++;
    task->queue = (uint8_t)q;
}

void loop_task_cancel(struct loop *loop, struct loop_task *task)
{
    if (task->queue == LOOP_Q_NONE)
        return;
    struct loop_tasklist *l = &loop->queues[task->queue];
    if (task->prev != NULL)
        task->prev->next = task->next;
    else
        l->head = task->next;
    if (task->next != NULL)
        task->next->prev = task->prev;
    else
        l->tail = task->prev;
    l->n--;
    task->next = task->prev = NULL;
    task->queue = LOOP_Q_NONE;
}

void loop_soon(struct loop *loop, struct loop_task *task)
{
    task_enqueue(loop, task, LOOP_Q_SOON);
}

void loop_defer(struct loop *loop, struct loop_task *task)
{
    task_enqueue(loop, task, LOOP_Q_DEFER);
}

/* Runs at most `max` tasks from the head of queue q. */
static void run_queue(struct loop *loop, enum loop_queue q, size_t max)
{
    struct loop_tasklist *l = &loop->queues[q];
    while (max-- > 0 && l->head != NULL) {
        struct loop_task *task = l->head;
        loop_task_cancel(loop, task);
        task->cb(loop, task);
    }
}

static void loop_run_deferred(struct loop *loop)
{
    /* Deferred tasks may defer more (a parent freeing children): drain completely. */
    run_queue(loop, LOOP_Q_DEFER, SIZE_MAX);
}

/* ---------------- hooks ---------------- */

void loop_hook_init(struct loop_hook *hook, loop_hook_cb *cb)
{
    *hook = (struct loop_hook){.cb = cb};
}

void loop_hook_add(struct loop *loop, struct loop_hook *hook)
{
    if (hook->active)
        return;
    hook->prev = NULL;
    hook->next = loop->hooks;
    if (loop->hooks != NULL)
        loop->hooks->prev = hook;
    loop->hooks = hook;
    hook->active = true;
    loop->n_hooks++;
}

void loop_hook_remove(struct loop *loop, struct loop_hook *hook)
{
    if (!hook->active)
        return;
    if (hook->prev != NULL)
        hook->prev->next = hook->next;
    else
        loop->hooks = hook->next;
    if (hook->next != NULL)
        hook->next->prev = hook->prev;
    hook->next = hook->prev = NULL;
    hook->active = false;
    loop->n_hooks--;
}

static void loop_run_hooks(struct loop *loop)
{
    /* A hook may remove itself (its `next` is read first), not other hooks. */
    struct loop_hook *h = loop->hooks;
    while (h != NULL) {
        struct loop_hook *next = h->next;
        h->cb(loop, h);
        h = next;
    }
}

/* ---------------- cross-thread ---------------- */

void loop_wakeup(struct loop *loop)
{
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(loop->wake_io.fd, &one, sizeof(one));
    } while (n == -1 && errno == EINTR);
    /* EAGAIN means the counter is saturated: the loop is already due to wake. */
}

int loop_post(struct loop *loop, loop_post_cb *cb, void *arg)
{
    struct loop_post_node *p = malloc(sizeof(*p));
    if (p == NULL)
        return ERR_NOMEM;
    *p = (struct loop_post_node){.cb = cb, .arg = arg};
    pthread_mutex_lock(&loop->post_mu);
    if (loop->post_tail != NULL)
        loop->post_tail->next = p;
    else
        loop->post_head = p;
    loop->post_tail = p;
    pthread_mutex_unlock(&loop->post_mu);
    loop_wakeup(loop);
    return 0;
}

static void loop_wake_cb(struct loop *loop, struct loop_io *io, unsigned revents)
{
    uint64_t v;
    ssize_t n;
    do {
        n = read(io->fd, &v, sizeof(v));
    } while (n == -1 && errno == EINTR);

    pthread_mutex_lock(&loop->post_mu);
    struct loop_post_node *p = loop->post_head;
    loop->post_head = loop->post_tail = NULL;
    pthread_mutex_unlock(&loop->post_mu);
    while (p != NULL) {
        struct loop_post_node *next = p->next;
        p->cb(loop, p->arg);
        free(p);
        p = next;
    }
}

/* ---------------- running ---------------- */

static int loop_timeout(const struct loop *loop, int timeout_ms)
{
    if (loop->stop || loop->queues[LOOP_Q_SOON].n > 0)
        return 0;
    if (loop->heap_len == 0)
        return timeout_ms;
    uint64_t deadline = loop->heap[0]->deadline;
    uint64_t wait = deadline > loop->now ? deadline - loop->now : 0;
    if (wait > INT_MAX)
        wait = INT_MAX;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait)
        return timeout_ms;
    return (int)wait;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
    loop_run_hooks(loop);
    loop_run_deferred(loop);

    loop_update_time(loop);
    int n = epoll_wait(loop->epfd, loop->batch, LOOP_BATCH, loop_timeout(loop, timeout_ms));
    if (n == -1 && errno != EINTR)
        return -errno;
    loop->iterations++;
    loop_update_time(loop);
    loop->batch_n = n > 0 ? n : 0;
    loop_dispatch(loop);
    loop_run_timers(loop);
    run_queue(loop, LOOP_Q_SOON, loop->queues[LOOP_Q_SOON].n);
    loop_run_deferred(loop);
    return 0;
}

int loop_run(struct loop *loop)
{
    int rc = 0;
    while (!loop->stop) {
        rc = loop_run_once(loop, -1);
        if (rc < 0)
            break;
    }
    loop->stop = false;
    return rc;
}

/* ---------------- introspection ---------------- */

size_t loop_io_count(const struct loop *loop)
{
    return loop->n_io - loop_io_active(&loop->wake_io);
}

uint64_t loop_ctl_count(const struct loop *loop)
{
    return loop->n_ctl;
}

size_t loop_timer_count(const struct loop *loop)
{
    return loop->heap_len;
}

size_t loop_task_count(const struct loop *loop)
{
    return loop->queues[LOOP_Q_SOON].n + loop->queues[LOOP_Q_DEFER].n;
}

size_t loop_hook_count(const struct loop *loop)
{
    return loop->n_hooks;
}

uint64_t loop_iterations(const struct loop *loop)
{
    return loop->iterations;
}
