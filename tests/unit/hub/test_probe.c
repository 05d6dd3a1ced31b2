/* The hub's node probe against loopback servers that answer like a TLS server, like something
 * else, close at once or never answer, and against a closed port: only the first counts as
 * reachable, and nothing waits past the timeout. The ClientHello parses as one handshake record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "hub/probe/probe.h"

/* A one-connection server: accepts, reads the hello, writes `answer` (len bytes; SIZE_MAX: stay
 * silent until the client leaves), closes. */
struct server {
    int lfd;
    uint16_t port;
    const void *answer;
    size_t len;
    uint8_t hello[PROBE_HELLO_MAX];
    ssize_t hello_len;
    pthread_t thread;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    s->hello_len = recv(fd, s->hello, sizeof s->hello, 0);
    if (s->len == SIZE_MAX) {
        char b;
        while (recv(fd, &b, 1, 0) > 0) /* until the prober gives up and closes */
            ;
    } else if (s->len > 0) {
        (void)send(fd, s->answer, s->len, MSG_NOSIGNAL);
    }
    close(fd);
    return NULL;
}

static void server_start(struct server *s, const void *answer, size_t len)
{
    memset(s, 0, sizeof *s);
    s->answer = answer;
    s->len = len;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_join(struct server *s)
{
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_tls_server_is_reachable(void **state)
{
    (void)state;
    static const uint8_t server_hello[] = {22, 3, 3, 0, 90, 2, 0, 0, 86, 3, 3};
    struct server s;
    server_start(&s, server_hello, sizeof server_hello);
    assert_int_equal(probe_tls("127.0.0.1", s.port, "www.example.com", 2000), 0);
    server_join(&s);
    /* What the server got is one ClientHello record naming the SNI. */
    assert_true(s.hello_len > 9);
    assert_int_equal(s.hello[0], 22);
    assert_int_equal(s.hello[5], 1);
    assert_int_equal((size_t)(s.hello[3] << 8 | s.hello[4]), (size_t)s.hello_len - 5);
    assert_non_null(memmem(s.hello, (size_t)s.hello_len, "www.example.com", 15));
    /* An alert is a TLS server too (e.g. it refuses our groups). */
    static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 40};
    server_start(&s, alert, sizeof alert);
    assert_int_equal(probe_tls("127.0.0.1", s.port, "", 2000), 0);
    server_join(&s);
}

static void test_others_are_not(void **state)
{
    (void)state;
    static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    struct server s;
    server_start(&s, http, sizeof http - 1);
    assert_int_equal(probe_tls("127.0.0.1", s.port, "www.example.com", 2000), ERR_MALFORMED);
    server_join(&s);
    server_start(&s, "", 0); /* closes without a byte */
    assert_int_equal(probe_tls("127.0.0.1", s.port, "www.example.com", 2000), ERR_CLOSED);
    server_join(&s);
    static const uint8_t short_answer[] = {22, 3};
    server_start(&s, short_answer, sizeof short_answer);
    assert_int_equal(probe_tls("127.0.0.1", s.port, "www.example.com", 2000), ERR_MALFORMED);
    server_join(&s);
    /* Silent: the probe gives up at its timeout, not later. */
    server_start(&s, NULL, SIZE_MAX);
    int64_t t0 = now_ms();
    assert_int_equal(probe_tls("127.0.0.1", s.port, "www.example.com", 300), ERR_TIMEOUT);
    int64_t took = now_ms() - t0;
    assert_in_range(took, 250, 1500);
    server_join(&s);
    /* A closed port: refused at once. */
    server_start(&s, "", 0);
    uint16_t port = s.port;
    assert_int_equal(probe_tls("127.0.0.1", port, "", 2000), ERR_CLOSED);
    server_join(&s);
    assert_true(probe_tls("127.0.0.1", port, "", 2000) < 0);
}

static void test_hello_shape(void **state)
{
    (void)state;
    uint8_t rnd[PROBE_HELLO_RAND], out[PROBE_HELLO_MAX];
    memset(rnd, 0xab, sizeof rnd);
    size_t n = probe_client_hello(out, sizeof out, "www.example.com", rnd);
    assert_true(n > 100);
    size_t with_ip = probe_client_hello(out, sizeof out, "192.0.2.1", rnd);
    assert_int_equal(with_ip, n - (15 + 9)); /* no server_name for an IP literal */
    assert_int_equal(probe_client_hello(out, sizeof out, "2001:db8::1", rnd), with_ip);
    assert_int_equal(probe_client_hello(out, 50, "www.example.com", rnd), 0); /* too small */
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(probe_client_hello(out, sizeof out, longname, rnd), with_ip); /* > 253: no SNI */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_server_is_reachable),
        cmocka_unit_test(test_others_are_not),
        cmocka_unit_test(test_hello_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
