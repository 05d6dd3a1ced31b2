/* Loopback sockets for the node suites that dial: a listener on an ephemeral port, and a port
 * with nothing behind it (for refused dials). */
#ifndef VEIL_TEST_NODE_NET_H
#define VEIL_TEST_NODE_NET_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/sock.h"

/* Listens on 127.0.0.1 with the kernel's choice of port; returns the fd and sets *port. */
static inline int node_test_listen(int backlog, uint16_t *port)
{
    struct sock_addr a;
    assert_int_equal(sock_addr_parse(&a, "127.0.0.1:0"), 0);
    int fd = sock_listen(&a, backlog, SOCK_LISTEN_NONE);
    assert_true(fd >= 0);
    assert_int_equal(sock_local_addr(fd, &a), 0);
    *port = sock_addr_port(&a);
    return fd;
}

/* A loopback port with nothing listening: bound, read, closed. */
static inline uint16_t node_test_closed_port(void)
{
    uint16_t port;
    close(node_test_listen(1, &port));
    return port;
}

#endif
