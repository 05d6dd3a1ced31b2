#include "cli/blocking.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "net/sock.h"

/* Like sock_connect, bound to bind_ip first when one is given. */
static int connect_from(const char *bind_ip, const struct sock_addr *a, int *out)
{
    if (bind_ip == NULL || bind_ip[0] == '\0')
        return sock_connect(a, out);
    struct sock_addr b = {0};
    b.u.sa.sa_family = a->u.sa.sa_family;
    int ok = a->u.sa.sa_family == AF_INET ? inet_pton(AF_INET, bind_ip, &b.u.in4.sin_addr)
                                          : inet_pton(AF_INET6, bind_ip, &b.u.in6.sin6_addr);
    if (ok != 1)
        return -EAFNOSUPPORT; /* the bind address is of the other family: try the next address */
    b.len = a->u.sa.sa_family == AF_INET ? sizeof(b.u.in4) : sizeof(b.u.in6);
    int fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, &b.u.sa, b.len) < 0 || (connect(fd, &a->u.sa, a->len) < 0 && errno != EINPROGRESS)) {
        int e = -errno;
        close(fd);
        return e;
    }
    *out = fd;
    return -EINPROGRESS;
}

int cli_dial(const char *host, uint16_t port, const char *bind_ip, int timeout_ms)
{
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", (unsigned)port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC}, *res = NULL;
    if (getaddrinfo(host, ps, &hints, &res) != 0)
        return ERR_NOT_FOUND;
    int rc = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        struct sock_addr a;
        if (ai->ai_addrlen > sizeof(a.u))
            continue; /* not IPv4/IPv6 */
        memcpy(&a.u, ai->ai_addr, ai->ai_addrlen);
        a.len = ai->ai_addrlen;
        int fd = -1;
        rc = connect_from(bind_ip, &a, &fd);
        if (rc < 0 && rc != -EINPROGRESS)
            continue;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int pr = poll(&p, 1, timeout_ms);
        rc = pr == 0 ? -ETIMEDOUT : pr < 0 ? -errno : sock_connect_result(fd);
        if (rc == 0) {
            freeaddrinfo(res);
            (void)sock_set_nodelay(fd, true);
            return fd;
        }
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

int cli_write_all(int fd, struct buf *b, int timeout_ms)
{
    while (buf_len(b) > 0) {
        ssize_t k = send(fd, buf_data(b), buf_len(b), MSG_NOSIGNAL);
        if (k >= 0) {
            buf_consume(b, (size_t)k);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, timeout_ms) <= 0)
            return -ETIMEDOUT;
    }
    return 0;
}
