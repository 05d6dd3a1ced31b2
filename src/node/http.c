/* HTTP/1.1 request parsing (one request, Content-Length bodies) and a tiny loop-driven server:
 * accept -> read until the request is complete -> handler -> write the response -> close. */
#include "node/http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/container.h"
#include "core/err.h"

/* A slow or idle client must not hold a slot (issue 10 item 11: 32 idle connections locked
 * Prometheus out). Each connection gets IDLE_MS between reads and REQUEST_MS for everything;
 * a full pool (or one address holding PER_IP_MAX slots) sheds its oldest connection that is
 * still reading a request, so a new scrape always gets in. */
#define IDLE_MS 3000
#define REQUEST_MS 10000
#define MAX_CONNS 256
#define PER_IP_MAX 64

/* ---- parser ---- */

static bool is_tchar(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Finds "\r\n" at or after `from` within [0, len); returns its offset or len. */
static size_t find_crlf(const uint8_t *p, size_t from, size_t len)
{
    for (size_t i = from; i + 1 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            return i;
    return len;
}

static int parse_request_line(const uint8_t *p, size_t n, struct node_http_req *req)
{
    size_t i = 0, m = 0;
    while (i < n && is_tchar(p[i])) {
        if (m + 1 >= sizeof(req->method))
            return ERR_MALFORMED;
        req->method[m++] = (char)p[i++];
    }
    req->method[m] = '\0';
    if (m == 0 || i >= n || p[i++] != ' ')
        return ERR_MALFORMED;
    size_t start = i;
    while (i < n && p[i] != ' ') {
        if (p[i] <= 0x20 || p[i] >= 0x7f)
            return ERR_MALFORMED;
        i++;
    }
    size_t plen = i - start;
    if (plen == 0 || p[start] != '/')
        return ERR_MALFORMED;
    if (plen > NODE_HTTP_PATH_MAX)
        return ERR_TOO_LONG;
    memcpy(req->path, p + start, plen);
    req->path[plen] = '\0';
    if (i >= n || p[i++] != ' ')
        return ERR_MALFORMED;
    if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || (p[i + 7] != '0' && p[i + 7] != '1'))
        return ERR_MALFORMED;
    return 0;
}

/* One "Name: value" line. Sets *clen (-1 = none yet) and the authorization. */
static int parse_header(const uint8_t *p, size_t n, struct node_http_req *req, int64_t *clen)
{
    size_t i = 0;
    while (i < n && is_tchar(p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ':')
        return ERR_MALFORMED;
    size_t name_len = i++;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    size_t vend = n;
    while (vend > i && (p[vend - 1] == ' ' || p[vend - 1] == '\t'))
        vend--;
    for (size_t k = i; k < vend; k++)
        if ((p[k] < 0x20 && p[k] != '\t') || p[k] == 0x7f)
            return ERR_MALFORMED;
    const char *name = (const char *)p;
    const uint8_t *v = p + i;
    size_t vlen = vend - i;
    if (name_len == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
        if (*clen >= 0 || vlen == 0 || vlen > 10)
            return ERR_MALFORMED;
        int64_t x = 0;
        for (size_t k = 0; k < vlen; k++) {
            if (v[k] < '0' || v[k] > '9')
                return ERR_MALFORMED;
            x = x * 10 + (v[k] - '0');
        }
        *clen = x;
    } else if ((name_len == 17 && strncasecmp(name, "Transfer-Encoding", 17) == 0) ||
               (name_len == 6 && strncasecmp(name, "Expect", 6) == 0)) {
        return ERR_UNSUPPORTED;
    } else if (name_len == 13 && strncasecmp(name, "Authorization", 13) == 0) {
        if (vlen > NODE_HTTP_AUTH_MAX)
            return ERR_TOO_LONG;
        memcpy(req->authorization, v, vlen);
        req->authorization[vlen] = '\0';
    }
    return 0;
}

int node_http_parse(const uint8_t *p, size_t len, struct node_http_req *req)
{
    memset(req, 0, sizeof(*req));
    /* Not HTTP (e.g. a TLS ClientHello): say so at once instead of waiting for a line end. */
    for (size_t i = 0; i < len && p[i] != ' '; i++)
        if (!is_tchar(p[i]) || i >= sizeof(req->method))
            return ERR_MALFORMED;
    size_t scan = len < NODE_HTTP_HEAD_MAX ? len : NODE_HTTP_HEAD_MAX;
    size_t eol = find_crlf(p, 0, scan);
    if (eol == scan)
        return len >= NODE_HTTP_HEAD_MAX ? ERR_TOO_LONG : ERR_NEED_MORE;
    int rc = parse_request_line(p, eol, req);
    if (rc < 0)
        return rc;
    int64_t clen = -1;
    size_t pos = eol + 2;
    for (;;) {
        eol = find_crlf(p, pos, scan);
        if (eol == scan)
            return len >= NODE_HTTP_HEAD_MAX ? ERR_TOO_LONG : ERR_NEED_MORE;
        if (eol == pos) {
            pos += 2;
            break;
        }
        rc = parse_header(p + pos, eol - pos, req, &clen);
        if (rc < 0)
            return rc;
        pos = eol + 2;
    }
    size_t body = clen < 0 ? 0 : (size_t)clen;
    if (body > NODE_HTTP_BODY_MAX)
        return ERR_TOO_LONG;
    if (len - pos < body)
        return ERR_NEED_MORE;
    req->body = body ? p + pos : NULL;
    req->body_len = body;
    req->total_len = pos + body;
    return 0;
}

const char *node_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

int node_http_write_response(struct buf *out, const struct node_http_resp *resp)
{
    char head[256];
    int status = resp->status ? resp->status : 200;
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
                     "Cache-Control: no-store\r\n\r\n",
                     status, node_http_reason(status), resp->content_type ? resp->content_type : "text/plain",
                     buf_len(&resp->body));
    if (n < 0 || (size_t)n >= sizeof(head))
        return ERR_INTERNAL;
    TRY(buf_append(out, head, (size_t)n));
    return buf_append(out, buf_data(&resp->body), buf_len(&resp->body));
}

/* ---- server ---- */

struct http_conn {
    struct http_conn *next, *prev; /* newest first */
    struct node_http_server *s;
    int fd;
    struct sock_addr peer;
    uint64_t deadline; /* loop ms: the whole request and response */
    struct loop_io io;
    struct loop_timer timer;
    struct loop_task free_task;
    struct buf in, out;
    bool responding;
};

struct node_http_server {
    struct loop *loop;
    int lfd;
    struct loop_io lio;
    node_http_handler *handler;
    void *arg;
    struct http_conn *conns;
    size_t n_conns;
};

static void conn_free_task(struct loop *loop, struct loop_task *t)
{
    struct http_conn *c = container_of(t, struct http_conn, free_task);
    buf_dispose(&c->in);
    buf_dispose(&c->out);
    free(c);
}

static void conn_close(struct http_conn *c)
{
    struct node_http_server *s = c->s;
    loop_io_stop(s->loop, &c->io);
    loop_timer_stop(s->loop, &c->timer);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    loop_defer(s->loop, &c->free_task);
}

/* Writes what is pending; closes when everything is out or on error. */
static void conn_flush(struct http_conn *c)
{
    while (buf_len(&c->out)) {
        ssize_t n = write(c->fd, buf_data(&c->out), buf_len(&c->out));
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            loop_io_set(c->s->loop, &c->io, LOOP_WRITE);
            return;
        }
        if (n <= 0) {
            conn_close(c);
            return;
        }
        buf_consume(&c->out, (size_t)n);
    }
    conn_close(c);
}

static void respond_error(struct http_conn *c, int status)
{
    struct node_http_resp r = {.status = status, .content_type = "text/plain"};
    buf_init(&r.body);
    const char *msg = node_http_reason(status);
    if (buf_append(&r.body, msg, strlen(msg)) < 0 || buf_append(&r.body, "\n", 1) < 0 ||
        node_http_write_response(&c->out, &r) < 0) {
        buf_dispose(&r.body);
        conn_close(c);
        return;
    }
    buf_dispose(&r.body);
    c->responding = true;
    conn_flush(c);
}

static void handle_request(struct http_conn *c, const struct node_http_req *req)
{
    struct node_http_resp r = {.status = 200, .content_type = "text/plain"};
    buf_init(&r.body);
    c->s->handler(c->s->arg, req, &r);
    int rc = node_http_write_response(&c->out, &r);
    buf_dispose(&r.body);
    if (rc < 0) {
        conn_close(c);
        return;
    }
    c->responding = true;
    conn_flush(c);
}

/* The next read must come within IDLE_MS, and all of it before the deadline. */
static int arm_timer(struct http_conn *c)
{
    uint64_t now = loop_now(c->s->loop);
    uint64_t left = c->deadline > now ? c->deadline - now : 0;
    return loop_timer_start(c->s->loop, &c->timer, left < IDLE_MS ? left : IDLE_MS, 0);
}

static void on_conn(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct http_conn *c = container_of(io, struct http_conn, io);
    if (c->responding) {
        conn_flush(c);
        return;
    }
    if (buf_reserve(&c->in, 4096) < 0) {
        conn_close(c);
        return;
    }
    ssize_t n = read(c->fd, buf_tail(&c->in), buf_space(&c->in));
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    buf_produce(&c->in, (size_t)n);
    if (arm_timer(c) < 0) {
        conn_close(c);
        return;
    }
    struct node_http_req req;
    int rc = node_http_parse(buf_data(&c->in), buf_len(&c->in), &req);
    if (rc == ERR_NEED_MORE) {
        if (buf_len(&c->in) > NODE_HTTP_HEAD_MAX + NODE_HTTP_BODY_MAX)
            respond_error(c, 413);
        return;
    }
    if (rc == ERR_TOO_LONG)
        respond_error(c, 413);
    else if (rc == ERR_UNSUPPORTED)
        respond_error(c, 501);
    else if (rc < 0)
        respond_error(c, 400);
    else
        handle_request(c, &req);
}

static void on_conn_timer(struct loop *loop, struct loop_timer *t)
{
    conn_close(container_of(t, struct http_conn, timer));
}

static bool same_host(const struct sock_addr *a, const struct sock_addr *b)
{
    int f = sock_addr_family(a);
    if (f != sock_addr_family(b))
        return false;
    if (f == AF_INET)
        return memcmp(&a->u.in4.sin_addr, &b->u.in4.sin_addr, 4) == 0;
    if (f == AF_INET6)
        return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
    return true;
}

/* Makes room for a connection from peer: sheds the oldest one still reading its request (from
 * that address when it holds PER_IP_MAX). false when nothing can be shed. */
static bool make_room(struct node_http_server *s, const struct sock_addr *peer)
{
    size_t same = 0;
    struct http_conn *oldest = NULL, *oldest_same = NULL;
    for (struct http_conn *c = s->conns; c; c = c->next) {
        bool mine = same_host(&c->peer, peer);
        same += mine;
        if (!c->responding) {
            oldest = c;
            if (mine)
                oldest_same = c;
        }
    }
    if (same >= PER_IP_MAX) {
        if (oldest_same == NULL)
            return false;
        conn_close(oldest_same);
        return true;
    }
    if (s->n_conns < MAX_CONNS)
        return true;
    if (oldest == NULL)
        return false;
    conn_close(oldest);
    return true;
}

static void on_accept(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct node_http_server *s = container_of(io, struct node_http_server, lio);
    for (int i = 0; i < 16; i++) {
        struct sock_addr peer;
        memset(&peer, 0, sizeof(peer));
        int fd = sock_accept(s->lfd, &peer);
        if (fd < 0)
            return;
        struct http_conn *c = make_room(s, &peer) ? calloc(1, sizeof(*c)) : NULL;
        if (c == NULL) {
            close(fd); /* every slot is answering: the client retries */
            continue;
        }
        c->s = s;
        c->fd = fd;
        c->peer = peer;
        c->deadline = loop_now(loop) + REQUEST_MS;
        buf_init(&c->in);
        buf_init(&c->out);
        loop_io_init(&c->io, fd, on_conn);
        loop_timer_init(&c->timer, on_conn_timer);
        loop_task_init(&c->free_task, conn_free_task);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        if (loop_io_set(loop, &c->io, LOOP_READ) < 0 || arm_timer(c) < 0)
            conn_close(c);
    }
}

struct node_http_server *node_http_server_new(struct loop *loop, const struct sock_addr *addr, node_http_handler *h,
                                              void *arg, int *err)
{
    struct node_http_server *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        *err = ERR_NOMEM;
        return NULL;
    }
    s->loop = loop;
    s->handler = h;
    s->arg = arg;
    s->lfd = sock_listen(addr, 64, SOCK_LISTEN_NONE);
    if (s->lfd < 0) {
        *err = s->lfd;
        free(s);
        return NULL;
    }
    loop_io_init(&s->lio, s->lfd, on_accept);
    int rc = loop_io_set(loop, &s->lio, LOOP_READ);
    if (rc < 0) {
        close(s->lfd);
        free(s);
        *err = rc;
        return NULL;
    }
    return s;
}

void node_http_server_free(struct node_http_server *s)
{
    if (s == NULL)
        return;
    while (s->conns)
        conn_close(s->conns);
    loop_io_stop(s->loop, &s->lio);
    close(s->lfd);
    free(s);
}

int node_http_server_addr(const struct node_http_server *s, struct sock_addr *a)
{
    return sock_local_addr(s->lfd, a);
}
