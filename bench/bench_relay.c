/* bench_relay: loopback TCP throughput through net/relay, COPY vs SPLICE vs a direct connection.
 *   bench_relay [MiB per run (default 1024)] [runs (default 3)]
 * A writer thread sends MiB of data into side A, a reader thread drains side B; the relay runs
 * on the main thread's loop. "direct" connects writer and reader without a relay. Prints the
 * best MB/s of the runs per mode and the ratios ("splice-1M": 1 MiB pipes via F_SETPIPE_SZ). One direction at a time
 * (the upload case). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/container.h"
#include "core/pool.h"
#include "net/loop.h"
#include "net/relay.h"
#include "net/sock.h"

#define CHUNK (1u << 20)

struct job {
    int fd;
    uint64_t bytes;
    uint64_t done;
};

static void *writer(void *arg)
{
    struct job *j = arg;
    uint8_t *buf = malloc(CHUNK);
    memset(buf, 0x5A, CHUNK);
    sock_set_nonblock(j->fd, false);
    while (j->done < j->bytes) {
        size_t n = j->bytes - j->done < CHUNK ? (size_t)(j->bytes - j->done) : CHUNK;
        ssize_t k = write(j->fd, buf, n);
        if (k <= 0) {
            if (k == -1 && errno == EINTR)
                continue;
            break;
        }
        j->done += (uint64_t)k;
    }
    shutdown(j->fd, SHUT_WR);
    free(buf);
    return NULL;
}

static void *reader(void *arg)
{
    struct job *j = arg;
    uint8_t *buf = malloc(CHUNK);
    sock_set_nonblock(j->fd, false);
    for (;;) {
        ssize_t k = read(j->fd, buf, CHUNK);
        if (k == 0)
            break;
        if (k < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        j->done += (uint64_t)k;
    }
    free(buf);
    return NULL;
}

static void tcp_pair(int lfd, int *cli, int *srv)
{
    struct sock_addr bound;
    sock_local_addr(lfd, &bound);
    int rc = sock_connect(&bound, cli);
    if (rc != 0 && rc != -EINPROGRESS)
        abort();
    sock_set_nonblock(*cli, false);
    for (;;) {
        *srv = sock_accept(lfd, NULL);
        if (*srv >= 0)
            break;
        if (*srv != -EAGAIN)
            abort();
        usleep(100);
    }
    sock_set_nonblock(*cli, true);
    sock_set_nodelay(*cli, true);
    sock_set_nodelay(*srv, true);
}

struct bench_relay {
    struct relay relay;
    bool done;
    enum relay_reason reason;
};

static void on_done(struct relay *r, enum relay_reason reason, int err)
{
    struct bench_relay *b = container_of(r, struct bench_relay, relay);
    b->done = true;
    b->reason = reason;
    loop_stop(r->loop);
}

/* mode: -1 direct, else enum relay_mode; pipe_size for SPLICE (0 = default 64 KiB).
 * Returns MB/s (1 MB = 10^6 bytes). */
static double run(int lfd, int mode, size_t pipe_size, uint64_t bytes)
{
    int a_peer, a_relay, b_relay, b_peer;
    tcp_pair(lfd, &a_peer, &a_relay);
    struct job w = {.bytes = bytes}, rd = {0};
    struct loop *loop = NULL;
    struct pool *pool = NULL;
    struct bench_relay br = {0};
    if (mode < 0) {
        w.fd = a_peer;
        rd.fd = a_relay;
        b_relay = b_peer = -1;
    } else {
        tcp_pair(lfd, &b_relay, &b_peer);
        w.fd = a_peer;
        rd.fd = b_peer;
        loop = loop_new();
        pool = pool_new(0, 16);
        struct relay_cfg cfg = {
            .mode = (enum relay_mode)mode, .pool = pool, .pipe_size = pipe_size, .on_done = on_done};
        relay_init(&br.relay, loop, &cfg);
        if (relay_start(&br.relay, a_relay, b_relay) != 0)
            abort();
    }
    uint64_t t0 = loop_clock_ms();
    pthread_t tw, tr;
    pthread_create(&tr, NULL, reader, &rd);
    pthread_create(&tw, NULL, writer, &w);
    if (loop != NULL) {
        /* The reader thread keeps the B->A direction open; end when A->B is done and B's peer got
         * everything, by closing B's peer write side after the reader saw EOF. */
        while (!br.done && loop_run_once(loop, 100) == 0) {
            if (rd.done == bytes)
                shutdown(b_peer, SHUT_WR);
        }
    }
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    uint64_t ms = loop_clock_ms() - t0;
    if (loop != NULL) {
        relay_dispose(&br.relay);
        loop_free(loop);
        pool_free(pool);
        close(b_relay);
        close(b_peer);
    }
    close(a_peer);
    close(a_relay);
    if (rd.done != bytes) {
        fprintf(stderr, "short transfer: %llu of %llu\n", (unsigned long long)rd.done, (unsigned long long)bytes);
        exit(1);
    }
    return ms == 0 ? 0 : (double)bytes / 1e3 / (double)ms;
}

int main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 1024;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    signal(SIGPIPE, SIG_IGN);
    struct sock_addr a;
    sock_addr_parse(&a, "127.0.0.1:0");
    int lfd = sock_listen(&a, 16, SOCK_LISTEN_NONE);
    if (lfd < 0) {
        fprintf(stderr, "listen: %s\n", strerror(-lfd));
        return 1;
    }
    const char *names[] = {"direct", "copy", "splice", "splice-1M"};
    const int modes[] = {-1, RELAY_MODE_COPY, RELAY_MODE_SPLICE, RELAY_MODE_SPLICE};
    const size_t pipes[] = {0, 0, 0, 1u << 20};
    double best[4] = {0};
    for (int r = 0; r < runs; r++) {
        for (int m = 0; m < 4; m++) {
            double v = run(lfd, modes[m], pipes[m], mib << 20);
            if (v > best[m])
                best[m] = v;
        }
    }
    close(lfd);
    printf("bench_relay: %llu MiB x %d runs, loopback TCP, one direction, best of runs\n", (unsigned long long)mib,
           runs);
    for (int i = 0; i < 4; i++)
        printf("  %-9s %9.1f MB/s  (%.2f x direct)\n", names[i], best[i], best[0] > 0 ? best[i] / best[0] : 0);
    printf("  splice/copy ratio: %.2f\n", best[1] > 0 ? best[2] / best[1] : 0);
    return 0;
}
