/* The outbound HTTP client against a loopback server in a thread that answers each connection
 * with a scripted reply: JSON and form POSTs with headers both ways, statuses passed through,
 * the response size limit, the timeout and cancelling (a server that never answers), a refused
 * connection, bad URLs and no redirects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "httpc/httpc.h"

struct server {
    int lfd;
    uint16_t port;
    pthread_t th;
    const char *reply; /* sent after the request was read; NULL: never answer */
    size_t reply_len;
    size_t big;         /* > 0: answer 200 with this many body bytes instead */
    char request[8192]; /* what the last client sent */
    size_t request_len;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads until the headers and a Content-Length body are in, or 5 s pass. */
static void read_request(struct server *s, int fd)
{
    s->request_len = 0;
    int64_t until = mono_ms() + 5000;
    for (;;) {
        s->request[s->request_len] = '\0';
        const char *end = strstr(s->request, "\r\n\r\n");
        if (end != NULL) {
            const char *cl = strcasestr(s->request, "Content-Length:");
            size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
            if (s->request_len >= (size_t)(end + 4 - s->request) + want)
                return;
        }
        int64_t left = until - mono_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return;
        ssize_t n = recv(fd, s->request + s->request_len, sizeof s->request - 1 - s->request_len, 0);
        if (n <= 0)
            return;
        s->request_len += (size_t)n;
    }
}

static void *serve_one(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    read_request(s, fd);
    if (s->big > 0) {
        char head[128];
        int k =
            snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", s->big);
        send(fd, head, (size_t)k, MSG_NOSIGNAL);
        char chunk[4096];
        memset(chunk, 'x', sizeof chunk);
        for (size_t sent = 0; sent < s->big;) {
            size_t n = s->big - sent < sizeof chunk ? s->big - sent : sizeof chunk;
            ssize_t w = send(fd, chunk, n, MSG_NOSIGNAL);
            if (w <= 0)
                break;
            sent += (size_t)w;
        }
    } else if (s->reply != NULL) {
        send(fd, s->reply, s->reply_len, MSG_NOSIGNAL);
    } else {
        /* Never answers: wait for the client to give up (its close), at most 10 s. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char b[256];
        int64_t until = mono_ms() + 10000;
        while (mono_ms() < until && poll(&p, 1, 100) >= 0)
            if ((p.revents & POLLIN) && recv(fd, b, sizeof b, 0) <= 0)
                break;
    }
    close(fd);
    return NULL;
}

static void server_start(struct server *s, const char *reply)
{
    memset(s, 0, sizeof *s);
    s->reply = reply;
    s->reply_len = reply ? strlen(reply) : 0;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    socklen_t sl = sizeof sa;
    getsockname(s->lfd, (struct sockaddr *)&sa, &sl);
    s->port = ntohs(sa.sin_port);
}

static void server_run(struct server *s)
{
    assert_int_equal(pthread_create(&s->th, NULL, serve_one, s), 0);
}

static void server_stop(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static void url_of(const struct server *s, const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "http://127.0.0.1:%u%s", (unsigned)s->port, path);
}

static void test_post_json(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-Id:  abc \r\n"
                     "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
    server_run(&s);
    char url[128];
    url_of(&s, "/api/createInvoice", url, sizeof url);
    const char *hdr[] = {"Crypto-Pay-API-Token: t0k", NULL};
    struct httpc_resp r;
    assert_int_equal(httpc_post_json(url, hdr, "{\"amount\":\"1.50\"}", &r), 0);
    server_stop(&s);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body_len, 11);
    assert_string_equal(r.body, "{\"ok\":true}");
    assert_string_equal(httpc_resp_header(&r, "x-request-id"), "abc");
    assert_string_equal(httpc_resp_header(&r, "Content-Type"), "application/json");
    assert_null(httpc_resp_header(&r, "Missing"));
    httpc_resp_dispose(&r);
    assert_non_null(strstr(s.request, "POST /api/createInvoice HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "\r\nCrypto-Pay-API-Token: t0k\r\n"));
    assert_non_null(strstr(s.request, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(s.request, "\r\n\r\n{\"amount\":\"1.50\"}"));
}

static void test_post_form_and_status(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy");
    server_run(&s);
    char url[128];
    url_of(&s, "/robokassa", url, sizeof url);
    const char *kv[] = {"OutSum", "10.00", "Desc", "a b&c=d/é", NULL};
    struct httpc_resp r;
    assert_int_equal(httpc_post_form(url, NULL, kv, &r), 0);
    server_stop(&s);
    assert_int_equal(r.status, 503); /* an answer, not an error */
    assert_string_equal(r.body, "busy");
    httpc_resp_dispose(&r);
    assert_non_null(strstr(s.request, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(s.request, "\r\n\r\nOutSum=10.00&Desc=a+b%26c%3Dd%2F%C3%A9"));
    const char *odd[] = {"name", NULL};
    char *enc;
    assert_int_equal(httpc_form_encode(odd, &enc), ERR_MALFORMED);
}

/* multipart/form-data: a field and a binary file with NULs, framed so a reader gets both back. */
static void test_multipart(void **state)
{
    (void)state;
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0xd, '-', '-'};
    const struct httpc_part parts[] = {
        {.name = "chat_id", .data = "7001", .len = 4},
        {.name = "photo", .filename = "qr.png", .content_type = "image/png", .data = png, .len = sizeof png}};
    char *body;
    size_t len;
    char ctype[96];
    assert_int_equal(httpc_multipart_encode(parts, 2, &body, &len, ctype), 0);
    assert_true(strncmp(ctype, "multipart/form-data; boundary=", 30) == 0);
    const char *b = ctype + 30;
    char want[512];
    snprintf(want, sizeof want,
             "--%s\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n7001\r\n--%s\r\n"
             "Content-Disposition: form-data; name=\"photo\"; filename=\"qr.png\"\r\nContent-Type: image/png\r\n\r\n",
             b, b);
    size_t wl = strlen(want);
    assert_true(len == wl + sizeof png + 2 + 2 + strlen(b) + 4);
    assert_memory_equal(body, want, wl);
    assert_memory_equal(body + wl, png, sizeof png);
    snprintf(want, sizeof want, "\r\n--%s--\r\n", b);
    assert_memory_equal(body + wl + sizeof png, want, strlen(want));
    free(body);
    /* A boundary is never inside the data; unsafe names are refused. */
    const struct httpc_part bad[] = {{.name = "a\"b", .data = "x", .len = 1}};
    assert_int_equal(httpc_multipart_encode(bad, 1, &body, &len, ctype), ERR_MALFORMED);
    const struct httpc_part crlf[] = {{.name = "a", .filename = "x\r\ny", .data = "x", .len = 1}};
    assert_int_equal(httpc_multipart_encode(crlf, 1, &body, &len, ctype), ERR_MALFORMED);
    assert_int_equal(httpc_multipart_encode(parts, 0, &body, &len, ctype), ERR_MALFORMED);

    /* Over the wire: the server sees the multipart content type and the body. */
    struct server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    server_run(&s);
    char url[128];
    url_of(&s, "/bot1:x/sendPhoto", url, sizeof url);
    struct httpc_resp r;
    assert_int_equal(httpc_post_multipart(url, NULL, parts, 2, 0, &r), 0);
    server_stop(&s);
    assert_int_equal(r.status, 200);
    httpc_resp_dispose(&r);
    assert_non_null(strstr(s.request, "POST /bot1:x/sendPhoto HTTP/1.1\r\n"));
    assert_non_null(strstr(s.request, "\r\nContent-Type: multipart/form-data; boundary=veil-"));
    assert_non_null(strstr(s.request, "name=\"chat_id\"\r\n\r\n7001\r\n"));
    assert_non_null(memmem(s.request, s.request_len, png, sizeof png));
}

static void test_get_empty_body(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    server_run(&s);
    char url[128];
    url_of(&s, "/getMe?x=1", url, sizeof url);
    struct httpc_resp r;
    assert_int_equal(httpc_get(url, NULL, &r), 0);
    server_stop(&s);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    assert_string_equal(r.body, "");
    httpc_resp_dispose(&r);
    assert_non_null(strstr(s.request, "GET /getMe?x=1 HTTP/1.1\r\n"));
}

static int64_t cancel_at;

static bool cancel_after(void *arg)
{
    (void)arg;
    return mono_ms() >= cancel_at;
}

static void test_limits(void **state)
{
    (void)state;
    struct server s;
    char url[128];
    struct httpc_resp r;
    /* Larger than max_response: refused, nothing returned. */
    server_start(&s, NULL);
    s.big = 100000;
    server_run(&s);
    url_of(&s, "/", url, sizeof url);
    assert_int_equal(httpc_do(&(struct httpc_req){.url = url, .max_response = 65536}, &r), ERR_TOO_LONG);
    server_stop(&s);
    assert_null(r.body);
    assert_string_equal(r.error, "response larger than 65536 bytes");
    /* Exactly at the limit is fine. */
    server_start(&s, NULL);
    s.big = 65536;
    server_run(&s);
    url_of(&s, "/", url, sizeof url);
    assert_int_equal(httpc_do(&(struct httpc_req){.url = url, .max_response = 65536}, &r), 0);
    server_stop(&s);
    assert_int_equal(r.body_len, 65536);
    httpc_resp_dispose(&r);
    /* A server that never answers: ERR_TIMEOUT after about timeout_ms. */
    server_start(&s, NULL);
    server_run(&s);
    url_of(&s, "/", url, sizeof url);
    int64_t t0 = mono_ms();
    assert_int_equal(httpc_do(&(struct httpc_req){.url = url, .timeout_ms = 300}, &r), ERR_TIMEOUT);
    int64_t took = mono_ms() - t0;
    server_stop(&s);
    assert_true(took >= 250 && took < 5000);
    /* The same, cancelled from another thread's flag well before the timeout. */
    server_start(&s, NULL);
    server_run(&s);
    url_of(&s, "/", url, sizeof url);
    cancel_at = mono_ms() + 200;
    t0 = mono_ms();
    assert_int_equal(httpc_do(&(struct httpc_req){.url = url, .timeout_ms = 8000, .cancel = cancel_after}, &r),
                     ERR_CLOSED);
    took = mono_ms() - t0;
    server_stop(&s);
    assert_true(took >= 150 && took < 4000);
}

static void test_errors(void **state)
{
    (void)state;
    struct httpc_resp r;
    /* A port nobody listens on. */
    struct server s;
    server_start(&s, NULL);
    char url[128];
    url_of(&s, "/", url, sizeof url);
    close(s.lfd);
    assert_int_equal(httpc_get(url, NULL, &r), ERR_IO);
    assert_non_null(strstr(r.error, "onnect")); /* curl's reason, e.g. "Failed to connect to ..." */
    assert_int_equal(httpc_get("ftp://127.0.0.1/", NULL, &r), ERR_MALFORMED);
    assert_int_equal(httpc_get("file:///etc/passwd", NULL, &r), ERR_MALFORMED);
    assert_int_equal(httpc_get(NULL, NULL, &r), ERR_MALFORMED);
    assert_int_equal(httpc_post_json(url, NULL, NULL, &r), ERR_MALFORMED);
    httpc_resp_dispose(&r); /* harmless after an error */
    /* Redirects are answers, not followed. */
    server_start(&s, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n");
    server_run(&s);
    url_of(&s, "/", url, sizeof url);
    assert_int_equal(httpc_get(url, NULL, &r), 0);
    server_stop(&s);
    assert_int_equal(r.status, 302);
    assert_string_equal(httpc_resp_header(&r, "Location"), "http://127.0.0.1:1/elsewhere");
    httpc_resp_dispose(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_post_json), cmocka_unit_test(test_post_form_and_status),
                                       cmocka_unit_test(test_multipart), cmocka_unit_test(test_get_empty_body),
                                       cmocka_unit_test(test_limits),    cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
