/* Test tool: a synthetic REALITY target that prefers the X25519MLKEM768 hybrid group, since
 * no Debian 12 package offers one (OpenSSL 3.0 has no ML-KEM). A TLS 1.3 server on our tls13
 * engine: groups {X25519MLKEM768, X25519} in that order (--hybrid-only: the hybrid alone), an
 * Ed25519 leaf plus any extra chain certificates (make the chain big so the encrypted flight
 * is one record > 512 bytes, REALITY's combined mode), ALPN http/1.1, and a fixed HTTP
 * response after the handshake. For every ClientHello it prints the group it chose:
 *   hybrid_target: group=X25519MLKEM768 suite=0x1301 sni=example.com
 * Usage: hybrid_target --port P --cert leaf.der --key key.der [--chain more.der]... [--hybrid-only]
 * key.der: PKCS#8 Ed25519 (openssl pkey -outform DER, 48 bytes) or the raw 32-byte seed.
 *
 * Our engine signs with Ed25519 only and a Chrome hello does not list it, so the server runs
 * in template mode: the ServerHello (suite, group) is chosen here, as a real site would. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/wire.h"
#include "crypto/crypto.h"
#include "net/sock.h"
#include "tls13/tls13.h"

#define MAX_CHAIN 8

static const char response[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
                               "Connection: close\r\n\r\nveil hybrid target\n";
static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};

static const struct tls13_kex_ops *groups[2];
static size_t n_groups;

static bool list_has_u16(struct bytes list, uint16_t v)
{
    for (size_t i = 0; i + 1 < list.len; i += 2)
        if (wire_be16(list.p + i) == v)
            return true;
    return false;
}

/* The target's own choice: our suite and group order, a ServerHello template carrying it. */
static int on_hello(struct tls13_on_client_hello *self, struct tls13_conn *conn, const struct tls13_client_hello *ch)
{
    (void)self;
    uint16_t suite = 0;
    for (size_t i = 0; i < 3 && suite == 0; i++)
        if (list_has_u16(ch->cipher_suites, suites[i]))
            suite = suites[i];
    const struct tls13_kex_ops *kex = NULL;
    struct bytes share;
    for (size_t i = 0; i < n_groups && kex == NULL; i++)
        if (tls13_client_hello_key_share(ch, groups[i]->group, &share))
            kex = groups[i];
    printf("hybrid_target: group=%s suite=0x%04x sni=%.*s\n",
           kex == NULL                        ? "none"
           : kex->group == TLS13_GROUP_X25519 ? "X25519"
                                              : "X25519MLKEM768",
           suite, (int)ch->server_name.len, ch->server_name.p ? (const char *)ch->server_name.p : "");
    fflush(stdout);
    if (kex == NULL || suite == 0 ||
        !list_has_u16(ch->supported_versions.p ? ch->supported_versions : (struct bytes){0}, 0x0304))
        return TLS13_ERR_SEND(TLS13_ALERT_HANDSHAKE_FAILURE); /* no HelloRetryRequest */
    struct buf b;
    struct wire_block m, e, x, k;
    uint8_t random[32];
    buf_init(&b);
    int rc = crypto_random(random, sizeof(random));
    if (rc == 0) {
        rc = wire_wr_u8(&b, TLS13_HS_SERVER_HELLO);
        rc = rc ? rc : wire_wr_open(&b, 3, &m);
        rc = rc ? rc : wire_wr_u16(&b, 0x0303);
        rc = rc ? rc : wire_wr_bytes(&b, random, 32);
        rc = rc ? rc : wire_wr_u8(&b, (uint8_t)ch->session_id.len);
        rc = rc ? rc : wire_wr_bytes(&b, ch->session_id.p, ch->session_id.len);
        rc = rc ? rc : wire_wr_u16(&b, suite);
        rc = rc ? rc : wire_wr_u8(&b, 0);
        rc = rc ? rc : wire_wr_open(&b, 2, &e);
        rc = rc ? rc : wire_wr_u16(&b, 51); /* key_share first, as OpenSSL orders them */
        rc = rc ? rc : wire_wr_open(&b, 2, &x);
        rc = rc ? rc : wire_wr_u16(&b, kex->group);
        rc = rc ? rc : wire_wr_open(&b, 2, &k);
        for (size_t i = 0; rc == 0 && i < kex->server_share_len; i++)
            rc = wire_wr_u8(&b, 0); /* replaced by the engine's real share */
        rc = rc ? rc : wire_wr_close(&b, &k);
        rc = rc ? rc : wire_wr_close(&b, &x);
        rc = rc ? rc : wire_wr_bytes(&b, "\x00\x2b\x00\x02\x03\x04", 6);
        rc = rc ? rc : wire_wr_close(&b, &e);
        rc = rc ? rc : wire_wr_close(&b, &m);
    }
    if (rc == 0)
        rc = tls13_server_set_hello_template(conn, buf_data(&b), buf_len(&b));
    buf_dispose(&b);
    return rc;
}

static struct tls13_on_client_hello hello_cb = {on_hello};
static struct tls13_ctx ctx;

static int send_all(int fd, struct buf *b)
{
    while (buf_len(b) > 0) {
        ssize_t k = send(fd, buf_data(b), buf_len(b), MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return ERR_IO;
        buf_consume(b, (size_t)k);
    }
    return 0;
}

static int recv_some(int fd, struct buf *in)
{
    TRY(buf_reserve(in, 16384));
    ssize_t k = recv(fd, buf_tail(in), buf_space(in), 0);
    if (k == 0)
        return ERR_CLOSED;
    if (k < 0)
        return ERR_IO;
    buf_produce(in, (size_t)k);
    return 0;
}

/* One connection: handshake, read a request up to its blank line, answer, close_notify. */
static void serve(int fd)
{
    struct tls13_conn *c = tls13_conn_new(&ctx, true);
    struct buf in, out, app;
    buf_init(&in);
    buf_init(&out);
    buf_init(&app);
    int rc = c ? ERR_NEED_MORE : ERR_NOMEM;
    while (rc == ERR_NEED_MORE) {
        size_t used = 0;
        if ((rc = recv_some(fd, &in)) < 0)
            break;
        rc = tls13_handshake(c, buf_data(&in), buf_len(&in), &used, &out);
        buf_consume(&in, used);
        if (send_all(fd, &out) < 0)
            rc = ERR_IO;
    }
    while (rc == 0 && memmem(buf_data(&app), buf_len(&app), "\r\n\r\n", 4) == NULL) {
        size_t used = 0;
        rc = buf_len(&in) > 0 ? tls13_recv(c, buf_data(&in), buf_len(&in), &used, &app, &out) : ERR_NEED_MORE;
        buf_consume(&in, used);
        if (rc == ERR_NEED_MORE)
            rc = recv_some(fd, &in);
    }
    if (rc == 0) {
        rc = tls13_send(c, response, sizeof(response) - 1, &out);
        rc = rc ? rc : tls13_close(c, &out);
    }
    (void)send_all(fd, &out);
    if (rc < 0 && rc != ERR_CLOSED)
        fprintf(stderr, "hybrid_target: connection ended: %s\n", err_str(rc));
    tls13_conn_free(c);
    buf_dispose(&in);
    buf_dispose(&out);
    buf_dispose(&app);
    shutdown(fd, SHUT_WR);
    close(fd);
}

static void *conn_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    serve(fd);
    return NULL;
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ERR_NOT_FOUND;
    uint8_t *p = malloc(65536);
    size_t n = p ? fread(p, 1, 65536, f) : 0;
    fclose(f);
    if (p == NULL || n == 0 || n == 65536) {
        free(p);
        return ERR_MALFORMED;
    }
    *data = p;
    *len = n;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},  {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},   {"chain", required_argument, NULL, 'C'},
        {"hybrid-only", no_argument, NULL, 'H'}, {NULL, 0, NULL, 0},
    };
    static const uint8_t pkcs8_ed25519[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                              0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    static struct bytes chain[MAX_CHAIN];
    static uint8_t seed[32];
    static const struct bytes alpn[] = {{(const uint8_t *)"http/1.1", 8}};
    const char *port = NULL, *cert = NULL, *key = NULL, *more[MAX_CHAIN - 1];
    size_t n_more = 0;
    bool hybrid_only = false;
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (ch == 'p')
            port = optarg;
        else if (ch == 'c')
            cert = optarg;
        else if (ch == 'k')
            key = optarg;
        else if (ch == 'C' && n_more < MAX_CHAIN - 1)
            more[n_more++] = optarg;
        else if (ch == 'H')
            hybrid_only = true;
        else
            return 2;
    }
    if (port == NULL || cert == NULL || key == NULL) {
        fprintf(stderr, "usage: hybrid_target --port P --cert leaf.der --key key.der [--chain c.der]... "
                        "[--hybrid-only]\n");
        return 2;
    }
    uint8_t *kd = NULL, *cd = NULL;
    size_t kl = 0, cl = 0;
    if (read_file(key, &kd, &kl) < 0 || !(kl == 32 || (kl == 48 && memcmp(kd, pkcs8_ed25519, 16) == 0)) ||
        read_file(cert, &cd, &cl) < 0) {
        fprintf(stderr, "hybrid_target: cannot load an Ed25519 key and certificate (DER)\n");
        return 2;
    }
    memcpy(seed, kd + kl - 32, 32);
    free(kd);
    chain[0] = bytes_of(cd, cl);
    for (size_t i = 0; i < n_more; i++) {
        uint8_t *d = NULL;
        size_t l = 0;
        if (read_file(more[i], &d, &l) < 0) {
            fprintf(stderr, "hybrid_target: cannot read %s\n", more[i]);
            return 2;
        }
        chain[1 + i] = bytes_of(d, l);
    }
    groups[n_groups++] = &tls13_kex_x25519mlkem768;
    if (!hybrid_only)
        groups[n_groups++] = &tls13_kex_x25519;
    ctx.groups = groups;
    ctx.n_groups = n_groups;
    ctx.alpn = alpn;
    ctx.n_alpn = 1;
    ctx.cert_chain = chain;
    ctx.n_certs = 1 + n_more;
    ctx.sign_key = seed;
    ctx.on_client_hello = &hello_cb;

    char at[64];
    snprintf(at, sizeof(at), "127.0.0.1:%s", port);
    struct sock_addr la;
    int lfd = sock_addr_parse(&la, at) < 0 ? -1 : sock_listen(&la, 128, SOCK_LISTEN_NONE);
    if (lfd < 0) {
        fprintf(stderr, "hybrid_target: cannot listen on %s\n", at);
        return 1;
    }
    (void)sock_set_nonblock(lfd, false);
    signal(SIGPIPE, SIG_IGN);
    printf("hybrid_target: listening on %s, groups %s\n", at, hybrid_only ? "X25519MLKEM768" : "X25519MLKEM768 X25519");
    fflush(stdout);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return 1;
        }
        struct timeval tv = {.tv_sec = 10};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        pthread_t th;
        if (pthread_create(&th, NULL, conn_thread, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        pthread_detach(th);
    }
}
