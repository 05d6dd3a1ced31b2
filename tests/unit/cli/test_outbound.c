/* outbound_open() failure paths (cli/outbound.c): when the ClientHello cannot be built the TLS
 * object is never created, and the error path must not touch it (issue 10 item 10: it called
 * tls13_conn_state(NULL) before checking). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/outbound.h"
#include "core/err.h"

/* A loopback listener; the kernel completes the TCP handshake without accept(). */
static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* An all-zero server key is a low-order point: X25519 gives the all-zero secret, sealing the
 * session id fails, and no TLS object exists when the error path runs. */
static void test_hello_build_failure_no_tls(void **state)
{
    (void)state;
    uint16_t port;
    int lfd = listen_loopback(&port);
    struct outbound_cfg c;
    memset(&c, 0, sizeof(c));
    strcpy(c.host, "127.0.0.1");
    strcpy(c.sni, "www.example.com");
    c.port = port;
    c.timeout_ms = 2000;
    c.no_pq = true;
    struct outbound t;
    int rc = outbound_open(&t, &c, NULL);
    assert_true(rc < 0);
    assert_null(t.tls);
    outbound_close(&t);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_build_failure_no_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
