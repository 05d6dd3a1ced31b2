/* node/http + node/admin: the request parser (valid requests, every truncation, bad lines,
 * limits, refused features) and the loopback endpoints end to end (/metrics, admin handler,
 * errors, limits). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/metrics.h"
#include "net/loop.h"
#include "node/admin.h"
#include "node/http.h"

static int parse(const char *s, struct node_http_req *req)
{
    return node_http_parse((const uint8_t *)s, strlen(s), req);
}

static void test_parse_ok(void **state)
{
    struct node_http_req req;
    const char *get = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: prom\r\n\r\n";
    assert_int_equal(parse(get, &req), 0);
    assert_string_equal(req.method, "GET");
    assert_string_equal(req.path, "/metrics");
    assert_int_equal(req.body_len, 0);
    assert_int_equal(req.total_len, strlen(get));
    assert_string_equal(req.authorization, "");

    const char *post =
        "POST /users?x=1 HTTP/1.0\r\ncontent-length: 5\r\nAuthorization:  Bearer abc \r\n\r\nhello+extra";
    assert_int_equal(parse(post, &req), 0);
    assert_string_equal(req.method, "POST");
    assert_string_equal(req.path, "/users?x=1");
    assert_int_equal(req.body_len, 5);
    assert_memory_equal(req.body, "hello", 5);
    assert_string_equal(req.authorization, "Bearer abc");
    assert_int_equal(req.total_len, strlen(post) - 6);
}

static void test_parse_truncations(void **state)
{
    const char *post = "POST /u HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    size_t n = strlen(post);
    struct node_http_req req;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(node_http_parse((const uint8_t *)post, i, &req), ERR_NEED_MORE);
    assert_int_equal(node_http_parse((const uint8_t *)post, n, &req), 0);
}

static void test_parse_errors(void **state)
{
    struct node_http_req req;
    static const struct {
        const char *text;
        int rc;
    } cases[] = {
        {"GET /x HTTP/2.0\r\n\r\n", ERR_MALFORMED},
        {"GET x HTTP/1.1\r\n\r\n", ERR_MALFORMED},
        {"GET  /x HTTP/1.1\r\n\r\n", ERR_MALFORMED},
        {"GET /x HTTP/1.1 \r\n\r\n", ERR_MALFORMED},
        {"G(T /x HTTP/1.1\r\n\r\n", ERR_MALFORMED},
        {"\x16\x03\x01\x02", ERR_MALFORMED}, /* a TLS record: refused before any line end */
        {"GETTTTTTTTTTTTTTTTTTTTT", ERR_MALFORMED},
        {"GET /x HTTP/1.1\r\nNoColon\r\n\r\n", ERR_MALFORMED},
        {"GET /x HTTP/1.1\r\n: v\r\n\r\n", ERR_MALFORMED},
        {"GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n", ERR_MALFORMED},
        {"GET /x HTTP/1.1\r\nX: a\x01"
         "b\r\n\r\n",
         ERR_MALFORMED},
        {"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", ERR_MALFORMED},
        {"POST /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", ERR_MALFORMED},
        {"POST /x HTTP/1.1\r\nContent-Length:\r\n\r\n", ERR_MALFORMED},
        {"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", ERR_MALFORMED},
        {"POST /x HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", ERR_MALFORMED},
        {"POST /x HTTP/1.1\r\nContent-Length: 65537\r\n\r\n", ERR_TOO_LONG},
        {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", ERR_UNSUPPORTED},
        {"POST /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", ERR_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(cases[i].text, &req);
        if (rc != cases[i].rc)
            fail_msg("case %zu: got %d want %d", i, rc, cases[i].rc);
    }
    /* long path, long authorization, head without end */
    char *big = malloc(NODE_HTTP_HEAD_MAX + 64);
    snprintf(big, NODE_HTTP_HEAD_MAX + 64, "GET /%0*d HTTP/1.1\r\n\r\n", NODE_HTTP_PATH_MAX + 1, 0);
    assert_int_equal(parse(big, &req), ERR_TOO_LONG);
    snprintf(big, NODE_HTTP_HEAD_MAX + 64, "GET / HTTP/1.1\r\nAuthorization: %0*d\r\n\r\n", NODE_HTTP_AUTH_MAX + 1, 0);
    assert_int_equal(parse(big, &req), ERR_TOO_LONG);
    memset(big, 'a', NODE_HTTP_HEAD_MAX + 10);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    assert_int_equal(node_http_parse((const uint8_t *)big, NODE_HTTP_HEAD_MAX + 10, &req), ERR_TOO_LONG);
    free(big);
}

static void test_write_response(void **state)
{
    struct node_http_resp r = {.status = 404, .content_type = "application/json"};
    buf_init(&r.body);
    buf_append(&r.body, "{}", 2);
    struct buf out;
    buf_init(&out);
    assert_int_equal(node_http_write_response(&out, &r), 0);
    const char want[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                        "Connection: close\r\nCache-Control: no-store\r\n\r\n{}";
    assert_int_equal(buf_len(&out), sizeof(want) - 1);
    assert_memory_equal(buf_data(&out), want, sizeof(want) - 1);
    buf_dispose(&out);
    buf_dispose(&r.body);
}

/* Blocking client: sends req, returns the whole response (malloc'd, NUL-terminated). */
static char *roundtrip(const struct sock_addr *a, const char *req, size_t len)
{
    int fd = socket(sock_addr_family(a), SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, &a->u.sa, a->len), 0);
    assert_int_equal(write(fd, req, len), (ssize_t)len);
    size_t cap = 65536, n = 0;
    char *out = malloc(cap + 1);
    for (;;) {
        ssize_t r = read(fd, out + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
    close(fd);
    return out;
}

static int handler_calls;

static void admin_handler(void *arg, const struct node_http_req *req, struct node_http_resp *resp)
{
    handler_calls++;
    assert_string_equal((const char *)arg, "ctx");
    resp->status = strcmp(req->method, "POST") == 0 ? 201 : 200;
    resp->content_type = "application/json";
    buf_append(&resp->body, "{\"path\":\"", 9);
    buf_append(&resp->body, req->path, strlen(req->path));
    buf_append(&resp->body, "\"}", 2);
    buf_append(&resp->body, req->body, req->body_len);
}

static void test_admin_endpoints(void **state)
{
    struct metrics_registry *reg = metrics_registry_new();
    assert_non_null(reg);
    struct metrics_family *f =
        metrics_family_new(reg, METRICS_COUNTER, "veil_node_test_total", "A test counter.", NULL, 0, NULL, 0, 0);
    assert_non_null(f);
    metrics_add(metrics_series(f, NULL), 7);

    struct node_admin_opts o = {"127.0.0.1:0", "127.0.0.1:0", reg, admin_handler, (void *)"ctx"};
    struct node_admin *a = NULL;
    assert_int_equal(node_admin_start(&o, &a), 0);
    assert_non_null(a);
    struct sock_addr ma, aa;
    assert_int_equal(node_admin_metrics_addr(a, &ma), 0);
    assert_int_equal(node_admin_api_addr(a, &aa), 0);

    const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    char *r = roundtrip(&ma, get, sizeof(get) - 1);
    assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(r, "veil_node_test_total 7"));
    free(r);

    const char bad[] = "GET /other HTTP/1.1\r\n\r\n";
    r = roundtrip(&ma, bad, sizeof(bad) - 1);
    assert_non_null(strstr(r, "HTTP/1.1 404 Not Found"));
    free(r);
    const char post_metrics[] = "POST /metrics HTTP/1.1\r\n\r\n";
    r = roundtrip(&ma, post_metrics, sizeof(post_metrics) - 1);
    assert_non_null(strstr(r, "HTTP/1.1 405"));
    free(r);
    const char garbage[] = "\x16\x03\x01\x00\x05hello\r\n\r\n";
    r = roundtrip(&ma, garbage, sizeof(garbage) - 1);
    assert_non_null(strstr(r, "HTTP/1.1 400 Bad Request"));
    free(r);
    const char chunked[] = "POST /users HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    r = roundtrip(&aa, chunked, sizeof(chunked) - 1);
    assert_non_null(strstr(r, "HTTP/1.1 501"));
    free(r);

    const char post[] = "POST /users HTTP/1.1\r\nContent-Length: 4\r\n\r\n[42]";
    r = roundtrip(&aa, post, sizeof(post) - 1);
    assert_non_null(strstr(r, "HTTP/1.1 201 Created\r\n"));
    assert_non_null(strstr(r, "\r\n\r\n{\"path\":\"/users\"}[42]"));
    free(r);
    assert_int_equal(handler_calls, 1);

    node_admin_stop(a);
    metrics_registry_free(reg);

    /* off, bad address, port in use */
    struct node_admin_opts off = {NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(node_admin_start(&off, &a), 0);
    assert_null(a);
    node_admin_stop(NULL);
    struct node_admin_opts badaddr = {"localhost:80", NULL, NULL, NULL, NULL};
    assert_int_equal(node_admin_start(&badaddr, &a), ERR_MALFORMED);
    struct node_admin_opts noreg = {"127.0.0.1:0", NULL, NULL, NULL, NULL};
    assert_int_equal(node_admin_start(&noreg, &a), 0);
    assert_int_equal(node_admin_api_addr(a, &aa), ERR_NOT_FOUND);
    assert_int_equal(node_admin_metrics_addr(a, &ma), 0);
    char used[64];
    sock_addr_format(&ma, used, sizeof(used));
    struct node_admin *b = NULL;
    struct node_admin_opts clash = {used, NULL, NULL, NULL, NULL};
    assert_int_equal(node_admin_start(&clash, &b), -EADDRINUSE);
    r = roundtrip(&ma, get, sizeof(get) - 1);
    assert_non_null(strstr(r, "HTTP/1.1 200 OK"));
    free(r);
    node_admin_stop(a);
}

static int connect_to(const struct sock_addr *a)
{
    int fd = socket(sock_addr_family(a), SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, &a->u.sa, a->len), 0);
    return fd;
}

/* Issue 10 item 11: idle connections (more than the old 32 slots) never lock a scrape out, and
 * an idle connection is closed after the idle limit, long before the whole-request deadline. */
static void test_idle_connections(void **state)
{
    struct metrics_registry *reg = metrics_registry_new();
    assert_non_null(reg);
    struct node_admin_opts o = {"127.0.0.1:0", NULL, reg, NULL, NULL};
    struct node_admin *a = NULL;
    assert_int_equal(node_admin_start(&o, &a), 0);
    struct sock_addr ma;
    assert_int_equal(node_admin_metrics_addr(a, &ma), 0);

    enum { IDLE = 300 };
    static int idle[IDLE];
    for (int i = 0; i < IDLE; i++)
        idle[i] = connect_to(&ma);
    /* a partial request holds a slot too */
    assert_int_equal(write(idle[0], "GET /met", 8), 8);
    const char get[] = "GET /metrics HTTP/1.1\r\n\r\n";
    for (int k = 0; k < 5; k++) {
        uint64_t t0 = loop_clock_ms();
        char *r = roundtrip(&ma, get, sizeof(get) - 1);
        if (strstr(r, "HTTP/1.1 200 OK") == NULL)
            fail_msg("scrape %d behind %d idle connections: [%s]", k, IDLE, r);
        assert_true(loop_clock_ms() - t0 < 2000);
        free(r);
    }
    for (int i = 0; i < IDLE; i++)
        close(idle[i]);

    /* one idle connection: closed by the server within the idle limit (3 s), not the 10 s deadline */
    int fd = connect_to(&ma);
    struct timeval tv = {6, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    uint64_t t0 = loop_clock_ms();
    char b[16];
    ssize_t n = read(fd, b, sizeof(b));
    uint64_t took = loop_clock_ms() - t0;
    assert_int_equal(n, 0);
    if (took < 2500 || took > 5000)
        fail_msg("idle connection closed after %llu ms", (unsigned long long)took);
    close(fd);
    node_admin_stop(a);
    metrics_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),        cmocka_unit_test(test_parse_truncations),
        cmocka_unit_test(test_parse_errors),    cmocka_unit_test(test_write_response),
        cmocka_unit_test(test_admin_endpoints), cmocka_unit_test(test_idle_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
