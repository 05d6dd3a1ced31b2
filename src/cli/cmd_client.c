/* `veil client`: a local SOCKS5 (CONNECT, UDP ASSOCIATE) and HTTP CONNECT proxy whose outbound is
 * VLESS + REALITY (+ Vision) to a veil-node or an Xray server.
 *
 *   veil client --link 'vless://...' [--listen 127.0.0.1:1080]
 *   veil client -c client.json       [--listen 127.0.0.1:1080]   (Xray client JSON)
 *
 * A tool for tests and power users: one thread per local connection. Each thread does the
 * blocking REALITY handshake, then runs a private event loop with the same relay and tunnel
 * transport as veil-node, so backpressure, half-close and Vision's direct copy behave alike. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/outbound.h"
#include "cli/proxy_in.h"
#include "cli/udp_assoc.h"
#include "core/err.h"
#include "core/file.h"
#include "core/log.h"
#include "core/pool.h"
#include "net/loop.h"
#include "net/relay.h"
#include "net/sock.h"

#define CLIENT_FIRST_DATA_WAIT_MS 500 /* spec/vision.md §4.5 */
#define CLIENT_IDLE_MS (300 * 1000)

struct client_conn {
    int local;
    struct outbound_cfg *cfg;
    struct loop *loop;
};

static void relay_finished(struct relay *r, enum relay_reason reason, int err)
{
    (void)err;
    (void)reason;
    loop_stop(r->loop);
}

/* Reads the SOCKS5 / HTTP CONNECT request (blocking, bounded). 0 with p->dest set. */
static int read_request(int fd, struct proxy_in *p, struct buf *early)
{
    struct buf in, reply;
    buf_init(&in);
    buf_init(&reply);
    proxy_in_init(p);
    int rc = ERR_NEED_MORE;
    while (rc == ERR_NEED_MORE) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 10000) <= 0) {
            rc = ERR_TIMEOUT;
            break;
        }
        if (buf_reserve(&in, 4096) < 0) {
            rc = ERR_NOMEM;
            break;
        }
        ssize_t k = recv(fd, buf_tail(&in), buf_space(&in), 0);
        if (k <= 0) {
            rc = ERR_CLOSED;
            break;
        }
        buf_produce(&in, (size_t)k);
        size_t used = 0;
        rc = proxy_in_feed(p, buf_data(&in), buf_len(&in), &used, &reply);
        buf_consume(&in, used);
        if (buf_len(&reply) > 0) {
            (void)!write(fd, buf_data(&reply), buf_len(&reply));
            buf_reset(&reply);
        }
    }
    if (rc == 0 && buf_len(&in) > 0) /* data sent right after the request (HTTP pipelining) */
        rc = buf_append(early, buf_data(&in), buf_len(&in));
    buf_dispose(&in);
    buf_dispose(&reply);
    return rc;
}

static void *conn_main(void *arg)
{
    struct client_conn *cc = arg;
    struct proxy_in p;
    struct buf early, reply;
    struct outbound ob;
    buf_init(&early);
    buf_init(&reply);
    memset(&ob, 0, sizeof(ob));
    ob.fd = -1;
    int rc = read_request(cc->local, &p, &early);
    if (rc == 0 && p.udp) {
        cli_udp_associate(cc->local, cc->cfg); /* SOCKS5 UDP ASSOCIATE: until the control connection closes */
        rc = ERR_CLOSED;
    } else if (rc == 0) {
        rc = outbound_open(&ob, cc->cfg, &p.dest);
        if (rc < 0) {
            char dest[300];
            vless_addr_format(dest, sizeof(dest), &p.dest);
            log_warn("client", 0, "tunnel_failed", LF_STR("dest", dest),
                     LF_STR("err", rc == ERR_AUTH ? "server is not a REALITY server for this key" : err_str(rc)));
        }
        (void)proxy_in_reply(&p, rc == 0, &reply);
        (void)!write(cc->local, buf_data(&reply), buf_len(&reply));
    }
    if (rc == 0) {
        /* The request header travels with the first data; if the application stays silent
         * (server-speaks-first protocols), send it alone after a short wait. */
        struct pollfd pf = {.fd = cc->local, .events = POLLIN};
        if (buf_len(&early) == 0 && poll(&pf, 1, CLIENT_FIRST_DATA_WAIT_MS) == 0)
            rc = outbound_send_request_now(&ob);
    }
    struct pool *pool = NULL;
    if (rc == 0) {
        cc->loop = loop_new();
        pool = pool_new(65536 + 256, 4); /* as the node: fewer, larger copies */
        (void)sock_set_nonblock(cc->local, true);
        (void)sock_set_nodelay(cc->local, true);
        struct relay r;
        struct relay_cfg cfg = {
            .mode = RELAY_MODE_COPY, .pool = pool, .idle_ms = CLIENT_IDLE_MS, .on_done = relay_finished};
        if (cc->loop != NULL && pool != NULL) {
            relay_init(&r, cc->loop, &cfg);
            rc = relay_set_xprt(&r, RELAY_SIDE_B, &tunnel_xprt_ops, &ob.xprt);
            if (rc == 0 && buf_len(&early) > 0)
                rc = relay_preload(&r, RELAY_A_TO_B, buf_data(&early), buf_len(&early));
            if (rc == 0)
                rc = relay_start(&r, cc->local, ob.fd);
            if (rc == 0)
                (void)loop_run(cc->loop);
            relay_dispose(&r);
        }
    }
    outbound_close(&ob);
    close(cc->local);
    loop_free(cc->loop);
    pool_free(pool);
    buf_dispose(&early);
    buf_dispose(&reply);
    free(cc);
    return NULL;
}

static int load_cfg(struct outbound_cfg *cfg, const char *link, const char *json_path)
{
    char err[256] = "";
    int rc;
    if (link != NULL) {
        rc = outbound_cfg_from_link(cfg, link, err, sizeof(err));
    } else {
        struct buf text;
        buf_init(&text);
        rc = file_read_all(json_path, (size_t)1 << 20, &text);
        if (rc < 0) {
            fprintf(stderr, "veil client: %s: %s\n", json_path,
                    rc == ERR_TOO_LONG ? "larger than 1 MiB"
                    : rc == ERR_NOMEM  ? "out of memory"
                                       : strerror(-rc));
            buf_dispose(&text);
            return -1;
        }
        rc = buf_append(&text, "", 1); /* the JSON reader wants a C string */
        if (rc == 0)
            rc = outbound_cfg_from_json(cfg, (const char *)buf_data(&text), buf_len(&text) - 1, err, sizeof(err));
        buf_dispose(&text);
    }
    if (rc < 0)
        fprintf(stderr, "veil client: %s%s%s\n", json_path ? json_path : "", json_path ? ": " : "", err);
    return rc;
}

int cli_client_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"link", required_argument, NULL, 'l'},   {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'L'}, {"verbose", no_argument, NULL, 'v'},
        {"no-pq", no_argument, NULL, 'P'},        {"bind", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *link = NULL, *json = NULL, *listen_at = "127.0.0.1:1080", *bind_ip = NULL;
    bool verbose = false, no_pq = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "l:c:L:vh", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            link = optarg;
            break;
        case 'c':
            json = optarg;
            break;
        case 'L':
            listen_at = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'P':
            no_pq = true;
            break;
        case 'B':
            bind_ip = optarg;
            break;
        case 'h':
        default:
            fputs("usage: veil client (--link 'vless://...' | -c client.json) [--listen 127.0.0.1:1080] [-v]\n"
                  "         [--no-pq] [--bind SOURCE_IP]\n"
                  "  A local SOCKS5 and HTTP CONNECT proxy (same port) tunnelling through VLESS + REALITY.\n"
                  "  SOCKS5 UDP ASSOCIATE: VLESS UDP without flow, Mux/XUDP with Vision.\n"
                  "  Offers X25519MLKEM768 and X25519 like Chrome; --no-pq offers X25519 only.\n"
                  "  --bind: source IP of the connections to the node (e.g. 127.0.0.2 in tests).\n",
                  ch == 'h' ? stdout : stderr);
            return ch == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
    }
    if ((link == NULL) == (json == NULL) || optind != argc) {
        fputs("veil client: give exactly one of --link or -c\n", stderr);
        return CLI_EXIT_USAGE;
    }
    log_setup(verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, 2);
    struct outbound_cfg *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || load_cfg(cfg, link, json) < 0) {
        free(cfg);
        return CLI_EXIT_USAGE;
    }
    cfg->no_pq = no_pq;
    if (bind_ip != NULL) {
        if (strlen(bind_ip) >= sizeof(cfg->bind_ip)) {
            fputs("veil client: --bind: expected an IP address\n", stderr);
            free(cfg);
            return CLI_EXIT_USAGE;
        }
        snprintf(cfg->bind_ip, sizeof(cfg->bind_ip), "%s", bind_ip);
    }
    struct sock_addr la;
    if (sock_addr_parse(&la, listen_at) < 0) {
        fprintf(stderr, "veil client: --listen: expected ip:port, got \"%s\"\n", listen_at);
        free(cfg);
        return CLI_EXIT_USAGE;
    }
    int lfd = sock_listen(&la, 128, SOCK_LISTEN_NONE);
    if (lfd < 0) {
        fprintf(stderr, "veil client: cannot listen on %s: %s\n", listen_at, err_str(lfd));
        free(cfg);
        return CLI_EXIT_FAIL;
    }
    (void)sock_set_nonblock(lfd, false);
    signal(SIGPIPE, SIG_IGN);
    log_info("client", 0, "listening", LF_STR("listen", listen_at), LF_STR("server", cfg->host),
             LF_UINT("port", cfg->port), LF_BOOL("vision", cfg->flow == VLESS_FLOW_VISION));
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "veil client: accept: %s\n", strerror(errno));
            break;
        }
        struct client_conn *cc = calloc(1, sizeof(*cc));
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (cc == NULL) {
            close(fd);
            continue;
        }
        cc->local = fd;
        cc->cfg = cfg;
        if (pthread_create(&th, &attr, conn_main, cc) != 0) {
            close(fd);
            free(cc);
        }
        pthread_attr_destroy(&attr);
    }
    close(lfd);
    free(cfg);
    return CLI_EXIT_FAIL;
}
