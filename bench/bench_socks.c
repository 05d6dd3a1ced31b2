/* Load driver for the node benchmarks (bench/run-node): many tunnels through a local SOCKS5
 * proxy (`veil client`) to bench_origin on 127.0.0.1.
 *
 *   bench_socks tunnels SOCKS_PORT ORIGIN_PORT N CONC
 *       N tunnels, CONC at a time; each: SOCKS5 CONNECT, GET /hello, read the response, close.
 *       Prints "tunnels N failed F seconds S per_sec R".
 *   bench_socks hold SOCKS_PORT ORIGIN_PORT N
 *       Opens N tunnels to GET /hold, waits for each response header, prints "held N" (or
 *       "held K failed F"), then keeps them open and idle until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int g_socks_port, g_origin_port, g_n;
static atomic_int g_next, g_failed;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_full(int fd, void *p, size_t n)
{
    unsigned char *b = p;
    while (n > 0) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 30000) <= 0)
            return -1;
        ssize_t k = recv(fd, b, n, 0);
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A connected tunnel to the origin with `req` sent, or -1. */
static int open_tunnel(const char *req)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_socks_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned char m[16];
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto fail;
    if (send(fd, "\x05\x01\x00", 3, MSG_NOSIGNAL) != 3 || read_full(fd, m, 2) < 0 || m[0] != 5 || m[1] != 0)
        goto fail;
    unsigned char c[10] = {5, 1, 0, 1, 127, 0, 0, 1, (unsigned char)(g_origin_port >> 8), (unsigned char)g_origin_port};
    if (send(fd, c, sizeof(c), MSG_NOSIGNAL) != (ssize_t)sizeof(c) || read_full(fd, m, 4) < 0 || m[1] != 0)
        goto fail;
    size_t rest = m[3] == 1 ? 6 : m[3] == 4 ? 18 : 0;
    if (rest == 0 || read_full(fd, m, rest) < 0)
        goto fail;
    size_t rl = strlen(req);
    if (send(fd, req, rl, MSG_NOSIGNAL) != (ssize_t)rl)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

/* Bytes of a complete HTTP/1.1 response at the head of buf[0..got) (header + Content-Length
 * body), or 0 while it is incomplete. */
static size_t response_len(const char *buf, size_t got)
{
    const char *end = memmem(buf, got, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - buf) + 4;
    const char *cl = memmem(buf, head, "Content-Length:", 15);
    size_t body = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
    return got >= head + body ? head + body : 0;
}

/* Each tunnel ends the way a browser ends it: the client closes once the whole response is in.
 * (Waiting for the server's EOF instead measures the Xray-core client's uplink-only timer, which
 * holds a finished tunnel open 1-2 s, and makes the figure a wall-clock one.) */
static void *tunnels_main(void *arg)
{
    (void)arg;
    char buf[4096];
    while (atomic_fetch_add(&g_next, 1) < g_n) {
        int fd = open_tunnel("GET /hello HTTP/1.1\r\nHost: origin\r\n\r\n");
        size_t got = 0, want = 0;
        if (fd >= 0) {
            while (want == 0 && got < sizeof(buf)) {
                struct pollfd pf = {.fd = fd, .events = POLLIN};
                if (poll(&pf, 1, 30000) <= 0)
                    break;
                ssize_t k = recv(fd, buf + got, sizeof(buf) - got, 0);
                if (k <= 0)
                    break;
                got += (size_t)k;
                want = response_len(buf, got);
            }
            close(fd);
        }
        if (want == 0 || memcmp(buf, "HTTP/1.1 200", 12) != 0)
            atomic_fetch_add(&g_failed, 1);
    }
    return NULL;
}

static _Noreturn void hold(void)
{
    int held = 0;
    for (int i = 0; i < g_n; i++) {
        int fd = open_tunnel("GET /hold HTTP/1.1\r\nHost: origin\r\n\r\n");
        char h[64];
        if (fd >= 0 && read_full(fd, h, 12) == 0 && memcmp(h, "HTTP/1.1 200", 12) == 0) {
            held++;
            continue; /* the fd stays open until we exit */
        }
        if (fd >= 0)
            close(fd);
        atomic_fetch_add(&g_failed, 1);
    }
    printf("held %d failed %d\n", held, atomic_load(&g_failed));
    fflush(stdout);
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[1], "tunnels") == 0 && argc != 6)) {
        fprintf(stderr, "usage: bench_socks tunnels SOCKS_PORT ORIGIN_PORT N CONC\n"
                        "       bench_socks hold SOCKS_PORT ORIGIN_PORT N\n");
        return 2;
    }
    g_socks_port = atoi(argv[2]);
    g_origin_port = atoi(argv[3]);
    g_n = atoi(argv[4]);
    if (strcmp(argv[1], "hold") == 0)
        hold();
    int conc = atoi(argv[5]);
    if (conc < 1 || conc > 256)
        conc = 1;
    pthread_t th[256];
    double t0 = mono();
    for (int i = 0; i < conc; i++)
        pthread_create(&th[i], NULL, tunnels_main, NULL);
    for (int i = 0; i < conc; i++)
        pthread_join(th[i], NULL);
    double dt = mono() - t0;
    printf("tunnels %d failed %d seconds %.3f per_sec %.0f\n", g_n, atomic_load(&g_failed), dt, g_n / dt);
    return atomic_load(&g_failed) ? 1 : 0;
}
