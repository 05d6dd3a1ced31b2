/* A fast HTTP/1.1 origin for the node benchmarks (bench/run-node): one blocking thread per
 * connection, big writes, no per-byte work, so that it is never the bottleneck it measures.
 * Loopback only. With --tls it speaks TLS 1.3 (OpenSSL, RSA or any key in KEY) and doubles as
 * a REALITY target.
 *
 *   GET  /bytes/N   N bytes (a fixed pattern)
 *   GET  /hello     a short body
 *   GET  /hold      a header, then nothing until the peer closes (idle tunnels)
 *   PUT|POST /sink  reads Content-Length bytes, answers their count
 *
 * Usage: bench_origin PORT [--tls CERT KEY]    (one response per connection) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define ORIGIN_CHUNK (256 * 1024)

static SSL_CTX *g_ctx; /* NULL: plain HTTP */
static unsigned char g_pattern[ORIGIN_CHUNK];

struct conn {
    int fd;
    SSL *ssl;
};

static ssize_t c_read(struct conn *c, void *p, size_t n)
{
    if (c->ssl != NULL) {
        int k = SSL_read(c->ssl, p, (int)n);
        return k > 0 ? k : (SSL_get_error(c->ssl, k) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
    }
    for (;;) {
        ssize_t k = recv(c->fd, p, n, 0);
        if (k == -1 && errno == EINTR)
            continue;
        return k;
    }
}

static int c_write(struct conn *c, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t k;
        if (c->ssl != NULL) {
            int w = SSL_write(c->ssl, b, (int)n);
            k = w > 0 ? w : -1;
        } else {
            k = send(c->fd, b, n, MSG_NOSIGNAL);
            if (k == -1 && errno == EINTR)
                continue;
        }
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Content-Length of a request header block, 0 if absent. */
static unsigned long long content_length(const char *hdr)
{
    for (const char *p = hdr; (p = strchr(p, '\n')) != NULL;) {
        p++;
        if (strncasecmp(p, "content-length:", 15) == 0)
            return strtoull(p + 15, NULL, 10);
    }
    return 0;
}

static void serve(struct conn *c)
{
    char req[8192];
    size_t len = 0;
    char *end = NULL;
    while (end == NULL) {
        if (len + 1 >= sizeof(req))
            return;
        ssize_t k = c_read(c, req + len, sizeof(req) - 1 - len);
        if (k <= 0)
            return;
        len += (size_t)k;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    size_t body_have = len - (size_t)(end + 4 - req);
    *end = '\0';
    char head[256];
    if (strncmp(req, "GET /bytes/", 11) == 0) {
        unsigned long long n = strtoull(req + 11, NULL, 10);
        int hl = snprintf(head, sizeof(head),
                          "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\nContent-Type: application/octet-stream\r\n"
                          "Connection: close\r\n\r\n",
                          n);
        if (c_write(c, head, (size_t)hl) < 0)
            return;
        while (n > 0) {
            size_t k = n < ORIGIN_CHUNK ? (size_t)n : ORIGIN_CHUNK;
            if (c_write(c, g_pattern, k) < 0)
                return;
            n -= k;
        }
    } else if (strncmp(req, "GET /hold", 9) == 0) {
        static const char h[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n";
        if (c_write(c, h, sizeof(h) - 1) < 0)
            return;
        char sink[64];
        while (c_read(c, sink, sizeof(sink)) > 0) {
        }
    } else if (strncmp(req, "PUT /sink", 9) == 0 || strncmp(req, "POST /sink", 10) == 0) {
        unsigned long long want = content_length(req), got = body_have;
        unsigned char *sink = malloc(ORIGIN_CHUNK);
        while (sink != NULL && got < want) {
            ssize_t k = c_read(c, sink, ORIGIN_CHUNK);
            if (k <= 0)
                break;
            got += (unsigned long long)k;
        }
        free(sink);
        if (got < want)
            return;
        char body[32];
        int bl = snprintf(body, sizeof(body), "%llu\n", got);
        int hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                          bl, body);
        (void)c_write(c, head, (size_t)hl);
    } else {
        static const char h[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n";
        (void)c_write(c, h, sizeof(h) - 1);
    }
}

static void *conn_main(void *arg)
{
    struct conn c = {.fd = (int)(intptr_t)arg};
    int one = 1;
    (void)setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (g_ctx != NULL) {
        c.ssl = SSL_new(g_ctx);
        if (c.ssl == NULL || SSL_set_fd(c.ssl, c.fd) != 1 || SSL_accept(c.ssl) != 1)
            goto out;
    }
    serve(&c);
    if (c.ssl != NULL)
        (void)SSL_shutdown(c.ssl);
out:
    SSL_free(c.ssl);
    close(c.fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 5 && strcmp(argv[2], "--tls") == 0)) {
        fprintf(stderr, "usage: bench_origin PORT [--tls CERT KEY]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof(g_pattern); i++)
        g_pattern[i] = (unsigned char)(i * 131 + (i >> 8));
    if (argc == 5) {
        g_ctx = SSL_CTX_new(TLS_server_method());
        if (g_ctx == NULL || SSL_CTX_set_min_proto_version(g_ctx, TLS1_3_VERSION) != 1 ||
            SSL_CTX_use_certificate_chain_file(g_ctx, argv[3]) != 1 ||
            SSL_CTX_use_PrivateKey_file(g_ctx, argv[4], SSL_FILETYPE_PEM) != 1) {
            ERR_print_errors_fp(stderr);
            return 1;
        }
    }
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    (void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(lfd, 4096) == -1) {
        perror("bench_origin: listen");
        return 1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
                continue;
            perror("bench_origin: accept");
            return 1;
        }
        pthread_t th;
        if (pthread_create(&th, &attr, conn_main, (void *)(intptr_t)fd) != 0)
            close(fd);
    }
}
