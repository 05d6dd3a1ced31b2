#include "cli/udp_assoc.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/proxy_in.h"
#include "core/err.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "net/sock.h"
#include "vless/mux.h"
#include "vless/udp.h"

#define UA_IO_WAIT_MS 10000

static uint8_t gid_key[32];

static void gid_key_init(void)
{
    (void)crypto_random(gid_key, sizeof(gid_key));
}

struct ua {
    const struct outbound_cfg *cfg;
    int ctl, ufd;
    struct sock_addr app;  /* where the application's datagrams come from (replies go there) */
    struct sock_addr peer; /* the control connection's client: only its address may use the relay */
    bool have_app;
    struct outbound ob;
    bool up, mux, new_sent;
    struct vless_addr first; /* command 2: the destination; Mux: the session's */
    uint8_t gid[8];
    struct buf in; /* tunnel plaintext not yet parsed */
};

static void vaddr_from_sock(struct vless_addr *v, const struct sock_addr *sa)
{
    if (sa->u.sa.sa_family == AF_INET)
        vless_addr_ipv4(v, (const uint8_t *)&sa->u.in4.sin_addr, ntohs(sa->u.in4.sin_port));
    else
        vless_addr_ipv6(v, sa->u.in6.sin6_addr.s6_addr, ntohs(sa->u.in6.sin6_port));
}

/* XUDP GlobalID (spec/mux-xudp.md §6): a keyed hash of the application's UDP source, so the
 * same local socket keeps its association (and NAT port) on the node across connections. The
 * key is random per process; the node treats the value as opaque. */
static void global_id(const struct sock_addr *app, uint8_t out[8])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    (void)pthread_once(&once, gid_key_init);
    char text[80] = "udp:";
    uint8_t mac[32];
    (void)sock_addr_format(app, text + 4, sizeof(text) - 4);
    if (crypto_hmac(CRYPTO_SHA256, gid_key, sizeof(gid_key), text, strlen(text), mac) < 0)
        (void)crypto_random(mac, 8);
    memcpy(out, mac, 8);
}

static int wait_fd(int fd, short ev)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int r = poll(&p, 1, UA_IO_WAIT_MS);
    return r > 0 ? 0 : r == 0 ? ERR_TIMEOUT : -errno;
}

static void tunnel_down(struct ua *ua)
{
    if (ua->up)
        outbound_close(&ua->ob);
    ua->up = false;
    buf_reset(&ua->in);
}

/* Pushes plaintext through the transport, waiting for the socket when it is full. */
static int tunnel_send(struct ua *ua, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t k = tunnel_xprt_ops.send(&ua->ob.xprt, ua->ob.fd, p + off, n - off);
        if (k == -EAGAIN) {
            TRY(wait_fd(ua->ob.fd, POLLOUT));
            continue;
        }
        if (k < 0)
            return (int)k;
        off += (size_t)k;
    }
    for (;;) {
        int rc = tunnel_xprt_ops.flush(&ua->ob.xprt, ua->ob.fd);
        if (rc != -EAGAIN)
            return rc;
        TRY(wait_fd(ua->ob.fd, POLLOUT));
    }
}

static void to_app(struct ua *ua, const struct vless_addr *src, const uint8_t *p, size_t n)
{
    if (!ua->have_app || n == 0)
        return;
    struct buf b;
    buf_init(&b);
    if (proxy_in_udp_encode(&b, src, p, n) == 0)
        (void)sendto(ua->ufd, buf_data(&b), buf_len(&b), MSG_NOSIGNAL, &ua->app.u.sa, ua->app.len);
    buf_dispose(&b);
}

/* A datagram from the application. */
static void from_app(struct ua *ua, const uint8_t *p, size_t n)
{
    struct vless_addr dst;
    struct bytes data;
    if (proxy_in_udp_parse(p, n, &dst, &data) < 0 || data.len == 0)
        return; /* fragments and garbage are dropped (RFC 1928 §7) */
    if (!ua->up) {
        int rc = outbound_open_cmd(&ua->ob, ua->cfg, ua->mux ? VLESS_CMD_MUX : VLESS_CMD_UDP, &dst);
        if (rc < 0) {
            log_warn("client", 0, "udp_tunnel_failed", LF_STR("err", err_str(rc)));
            return;
        }
        ua->up = true;
        ua->new_sent = false;
        ua->first = dst;
        global_id(&ua->app, ua->gid);
    }
    struct buf b;
    buf_init(&b);
    int rc;
    if (!ua->mux) {
        if (!vless_addr_equal(&dst, &ua->first)) {
            log_debug("client", 0, "udp_dropped", LF_STR("why", "command 2 carries one destination"));
            return;
        }
        rc = vless_udp_encode(&b, data.p, data.len);
    } else {
        if (data.len > VLESS_MUX_CLIENT_UDP_MAX)
            return;
        struct vless_mux_frame f = {
            .session_id = 0,
            .status = ua->new_sent ? VLESS_MUX_KEEP : VLESS_MUX_NEW,
            .option = VLESS_MUX_OPT_DATA,
            .has_target = true,
            .network = VLESS_MUX_NET_UDP,
            .target = dst,
            .has_global_id = !ua->new_sent,
            .has_data = true,
            .data = data,
        };
        memcpy(f.global_id, ua->gid, sizeof(ua->gid));
        if (!ua->new_sent)
            ua->first = dst;
        rc = vless_mux_encode(&b, &f);
        ua->new_sent = true;
    }
    if (rc == 0)
        rc = tunnel_send(ua, buf_data(&b), buf_len(&b));
    buf_dispose(&b);
    if (rc < 0) {
        log_debug("client", 0, "udp_tunnel_lost", LF_STR("err", err_str(rc)));
        tunnel_down(ua);
    }
}

/* Decodes what the node sent. false when the tunnel ended. */
static bool from_tunnel(struct ua *ua)
{
    for (;;) {
        if (buf_reserve(&ua->in, 16384) < 0)
            return false;
        ssize_t k = tunnel_xprt_ops.recv(&ua->ob.xprt, ua->ob.fd, buf_tail(&ua->in), buf_space(&ua->in));
        if (k == -EAGAIN)
            break;
        if (k <= 0)
            return false;
        buf_produce(&ua->in, (size_t)k);
        size_t off = 0;
        for (;;) {
            const uint8_t *p = buf_data(&ua->in) + off;
            size_t len = buf_len(&ua->in) - off, used = 0;
            int rc;
            if (ua->mux) {
                struct vless_mux_frame f;
                rc = vless_mux_parse(p, len, &f, &used);
                if (rc == 0 && f.status == VLESS_MUX_END)
                    return false; /* the association ended (idle, refused destination) */
                if (rc == 0 && f.status == VLESS_MUX_KEEP && f.has_data)
                    to_app(ua, f.has_target ? &f.target : &ua->first, f.data.p, f.data.len);
            } else {
                struct bytes d;
                rc = vless_udp_parse(p, len, &d, &used);
                if (rc == 0)
                    to_app(ua, &ua->first, d.p, d.len);
            }
            if (rc == ERR_NEED_MORE)
                break;
            if (rc < 0)
                return false;
            off += used;
        }
        buf_consume(&ua->in, off);
    }
    int rc = tunnel_xprt_ops.flush(&ua->ob.xprt, ua->ob.fd); /* e.g. a KeyUpdate answer */
    return rc == 0 || rc == -EAGAIN;
}

/* RFC 1928 §7: datagrams are accepted only from the client's address. */
static bool same_host(const struct sock_addr *a, const struct sock_addr *b)
{
    struct sock_addr x = *a, y = *b;
    sock_addr_set_port(&x, 0);
    sock_addr_set_port(&y, 0);
    return sock_addr_equal(&x, &y);
}

static int open_relay_socket(struct ua *ua, struct vless_addr *bnd)
{
    struct sock_addr la;
    TRY(sock_local_addr(ua->ctl, &la));
    sock_addr_set_port(&la, 0);
    int fd = socket(sock_addr_family(&la), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, &la.u.sa, la.len) < 0 || sock_local_addr(fd, &la) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    ua->ufd = fd;
    vaddr_from_sock(bnd, &la);
    return 0;
}

void cli_udp_associate(int ctl, const struct outbound_cfg *cfg)
{
    struct ua ua;
    memset(&ua, 0, sizeof(ua));
    ua.cfg = cfg;
    ua.ctl = ctl;
    ua.ufd = -1;
    ua.ob.fd = -1;
    ua.mux = cfg->flow == VLESS_FLOW_VISION;
    buf_init(&ua.in);
    struct vless_addr bnd;
    struct buf reply;
    buf_init(&reply);
    int rc = sock_peer_addr(ctl, &ua.peer);
    if (rc == 0)
        rc = open_relay_socket(&ua, &bnd);
    if (rc == 0)
        rc = proxy_in_reply_bound(&bnd, &reply);
    else
        (void)buf_append(&reply, (const uint8_t[10]){5, 1, 0, 1}, 10);
    (void)!write(ctl, buf_data(&reply), buf_len(&reply));
    buf_dispose(&reply);
    static _Thread_local uint8_t dgram[65536];
    while (rc == 0) {
        struct pollfd pf[3] = {{.fd = ctl, .events = POLLIN},
                               {.fd = ua.ufd, .events = POLLIN},
                               {.fd = ua.up ? ua.ob.fd : -1, .events = POLLIN}};
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[0].revents) {
            ssize_t k = recv(ctl, dgram, sizeof(dgram), MSG_DONTWAIT);
            if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                break; /* the association ends with its control connection */
        }
        if (pf[2].revents && ua.up && !from_tunnel(&ua))
            tunnel_down(&ua);
        if (pf[1].revents) {
            struct sock_addr from;
            memset(&from, 0, sizeof(from));
            from.len = sizeof(from.u);
            ssize_t k = recvfrom(ua.ufd, dgram, sizeof(dgram), MSG_DONTWAIT, &from.u.sa, &from.len);
            if (k > 0 && same_host(&from, &ua.peer)) {
                ua.app = from;
                ua.have_app = true;
                from_app(&ua, dgram, (size_t)k);
            }
        }
    }
    tunnel_down(&ua);
    buf_dispose(&ua.in);
    if (ua.ufd >= 0)
        close(ua.ufd);
}
