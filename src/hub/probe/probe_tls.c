/* One probe of one node (probe.h): resolve, connect, send a ClientHello, read 5 bytes, each step
 * bounded by what is left of the timeout. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "hub/domain/node_health.h"
#include "hub/probe/probe.h"

/* Waits for events on fd until the deadline: 0, ERR_TIMEOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - (int64_t)clock_mono_ms();
        if (left <= 0)
            return ERR_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int connect_one(const struct addrinfo *ai, int64_t deadline, int *out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        rc = errno == EINPROGRESS ? wait_fd(fd, POLLOUT, deadline) : -errno;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (rc == 0 && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0))
            rc = soerr ? -soerr : -errno;
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

static int exchange(int fd, const uint8_t *hello, size_t n, int64_t deadline)
{
    size_t off = 0;
    while (off < n) {
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc < 0)
            return rc;
        ssize_t w = send(fd, hello + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (w > 0)
            off += (size_t)w;
    }
    uint8_t head[5];
    size_t got = 0;
    while (got < sizeof head) {
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc < 0)
            return rc;
        ssize_t r = recv(fd, head + got, sizeof head - got, 0);
        if (r == 0)
            return got ? ERR_MALFORMED : ERR_CLOSED;
        if (r < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (r > 0)
            got += (size_t)r;
    }
    return hub_probe_answer_is_tls(head, got) ? 0 : ERR_MALFORMED;
}

int probe_tls(const char *host, uint16_t port, const char *sni, int timeout_ms)
{
    int64_t deadline = (int64_t)clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    uint8_t rnd[PROBE_HELLO_RAND], hello[PROBE_HELLO_MAX];
    if (crypto_random(rnd, sizeof rnd) < 0)
        return ERR_INTERNAL;
    size_t n = probe_client_hello(hello, sizeof hello, sni, rnd);
    if (n == 0)
        return ERR_INTERNAL;
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, service, &hints, &res) != 0 || res == NULL)
        return ERR_NOT_FOUND;
    int rc = ERR_NOT_FOUND;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = -1; /* set by connect_one on success; gcc -O2 cannot see that */
        if ((rc = connect_one(ai, deadline, &fd)) < 0)
            continue;
        rc = exchange(fd, hello, n, deadline);
        close(fd);
        break;
    }
    freeaddrinfo(res);
    return rc;
}
