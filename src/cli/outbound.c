#include "cli/outbound.h"

#include "cli/blocking.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/container.h"
#include "core/enc.h"
#include "core/err.h"
#include "crypto/uuid5.h"
#include "core/log.h"
#include "ctl/vlink.h"
#include "net/sock.h"
#include "reality/cert.h"
#include "reality/session.h"
#include "vless/header.h"

/* Session-id version bytes: we present ourselves as the Xray release our captures come from. */
static const uint8_t client_version[3] = {25, 9, 11};

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return ERR_TOO_LONG;
    memcpy(dst, src, n + 1);
    return 0;
}

static int fill_common(struct outbound_cfg *c, const char *id, const char *flow, const char *pbk, const char *sid,
                       char *err, size_t errlen)
{
    if (uuid_from_string(c->id, id, strlen(id)) < 0) {
        snprintf(err, errlen, "id: not a UUID (or a 1-30 byte string)");
        return ERR_MALFORMED;
    }
    if (flow[0] == '\0')
        c->flow = VLESS_FLOW_NONE;
    else if (!strcmp(flow, VLESS_FLOW_VISION_STR) || !strcmp(flow, VLESS_FLOW_VISION_UDP443_STR))
        c->flow = VLESS_FLOW_VISION;
    else {
        snprintf(err, errlen, "flow: unsupported \"%s\"", flow);
        return ERR_UNSUPPORTED;
    }
    size_t n = 0;
    if (b64_decode(c->pbk, sizeof(c->pbk), &n, pbk, strlen(pbk), B64_RAW_URL) < 0 || n != 32) {
        snprintf(err, errlen, "publicKey/pbk: expected 43 base64url characters (32 bytes)");
        return ERR_MALFORMED;
    }
    memset(c->sid, 0, sizeof(c->sid));
    size_t sl = strlen(sid);
    if (sl > 16 || sl % 2 || hex_decode(c->sid, sizeof(c->sid), &n, sid, sl) < 0) {
        snprintf(err, errlen, "shortId/sid: expected even-length hex of at most 16 digits");
        return ERR_MALFORMED;
    }
    return 0;
}

int outbound_cfg_from_link(struct outbound_cfg *c, const char *link, char *err, size_t errlen)
{
    static struct vlink l; /* large; the CLI parses one link at start */
    const char *why = NULL;
    memset(c, 0, sizeof(*c));
    int rc = vlink_parse(&l, link, strlen(link), &why);
    if (rc < 0) {
        snprintf(err, errlen, "link: %s", why ? why : err_str(rc));
        return rc;
    }
    if (strcmp(l.security, "reality") != 0 || !vlink_is_raw(&l)) {
        snprintf(err, errlen, "link: only security=reality over type=tcp/raw is supported");
        return ERR_UNSUPPORTED;
    }
    c->port = l.port;
    if (copy_str(c->host, sizeof(c->host), l.host) < 0 ||
        copy_str(c->sni, sizeof(c->sni), l.sni[0] ? l.sni : l.host) < 0) {
        snprintf(err, errlen, "link: host name too long");
        return ERR_TOO_LONG;
    }
    return fill_common(c, l.id, l.flow, l.pbk, l.sid, err, errlen);
}

/* ---- handshake ---- */

static int verify_cb(struct tls13_verify_certificate *self, struct tls13_conn *conn, const struct bytes *chain,
                     size_t n)
{
    (void)conn;
    struct outbound_verify *v = container_of(self, struct outbound_verify, base);
    v->reality = n > 0 && reality_cert_verify_der(chain[0].p, chain[0].len, v->auth_key) == REALITY_CERT_REALITY;
    /* A real website's certificate: refuse to proxy through it (spec/reality.md §9). */
    return v->reality ? 0 : TLS13_ERR_SEND(TLS13_ALERT_BAD_CERTIFICATE);
}

int outbound_open(struct outbound *t, const struct outbound_cfg *c, const struct vless_addr *dest)
{
    return outbound_open_cmd(t, c, VLESS_CMD_TCP, dest);
}

int outbound_open_cmd(struct outbound *t, const struct outbound_cfg *c, enum vless_cmd cmd,
                      const struct vless_addr *dest)
{
    memset(t, 0, sizeof(*t));
    int timeout = c->timeout_ms ? (int)c->timeout_ms : 10000;
    struct buf hello, out, in;
    buf_init(&hello);
    buf_init(&out);
    buf_init(&in);
    t->fd = cli_dial(c->host, c->port, c->bind_ip, timeout);
    if (t->fd < 0)
        return t->fd;
    struct reality_client_params p = {
        .server_name = c->sni,
        .now_ms = clock_unix_ms(),
    };
    memcpy(p.server_public_key, c->pbk, 32);
    memcpy(p.short_id, c->sid, 8);
    memcpy(p.version, client_version, 3);
    if (!c->no_pq) {
        p.hybrid_keygen = reality_hybrid_keygen; /* Chrome/Xray: hybrid share first, then X25519 */
        p.hybrid_arg = &t->hybrid;
    }
    int rc = reality_client_build(&p, &hello, &t->keys);
    t->verify.base.cb = verify_cb;
    t->verify.auth_key = t->keys.auth_key;
    t->ctx.server_name = c->sni;
    t->ctx.verify_certificate = &t->verify.base;
    if (rc == 0) {
        t->tls = tls13_conn_new(&t->ctx, false);
        rc = t->tls ? 0 : ERR_NOMEM;
    }
    if (rc == 0)
        rc = reality_client_prepare(t->tls, buf_data(&hello), buf_len(&hello), &t->keys,
                                    t->keys.offered_hybrid ? &t->hybrid : NULL);
    x25519mlkem768_client_wipe(&t->hybrid); /* imported into the conn (or unused) */
    size_t used = 0;
    if (rc == 0) {
        rc = tls13_handshake(t->tls, NULL, 0, &used, &out);
        if (rc == ERR_NEED_MORE)
            rc = 0;
    }
    while (rc == 0) {
        rc = cli_write_all(t->fd, &out, timeout);
        if (rc < 0)
            break;
        if (tls13_handshake_done(t->tls))
            break;
        struct pollfd pf = {.fd = t->fd, .events = POLLIN};
        int pr = poll(&pf, 1, timeout);
        if (pr <= 0) {
            rc = pr == 0 ? ERR_TIMEOUT : -errno;
            break;
        }
        if (buf_reserve(&in, 16384) < 0) {
            rc = ERR_NOMEM;
            break;
        }
        ssize_t k = recv(t->fd, buf_tail(&in), buf_space(&in), 0);
        if (k == 0) {
            rc = ERR_CLOSED;
            break;
        }
        if (k < 0) {
            rc = errno == EAGAIN || errno == EINTR ? 0 : -errno;
            continue;
        }
        buf_produce(&in, (size_t)k);
        rc = tls13_handshake(t->tls, buf_data(&in), buf_len(&in), &used, &out);
        buf_consume(&in, used);
        if (rc == ERR_NEED_MORE)
            rc = 0;
        else if (rc == 0)
            rc = cli_write_all(t->fd, &out, timeout); /* our Finished */
        if (rc == 0 && tls13_handshake_done(t->tls))
            break;
    }
    if (rc < 0) {
        (void)cli_write_all(t->fd, &out, 100); /* the alert, if any */
        if (t->tls != NULL && !t->verify.reality && tls13_conn_state(t->tls) != TLS13_ST_EXPECT_SERVER_HELLO)
            rc = rc == ERR_TIMEOUT || rc == ERR_CLOSED ? rc : ERR_AUTH;
    }
    if (rc == 0)
        log_debug("client", 0, "reality_handshake",
                  LF_STR("group", tls13_conn_group(t->tls) == TLS13_GROUP_X25519MLKEM768 ? "X25519MLKEM768" : "X25519"),
                  LF_BOOL("offered_hybrid", t->keys.offered_hybrid));
    if (rc == 0) {
        rc = tunnel_xprt_init(&t->xprt, t->tls, c->flow == VLESS_FLOW_VISION, c->id, buf_data(&in), buf_len(&in), NULL,
                              0);
        t->xprt_ready = true;
    }
    if (rc == 0) {
        struct buf req;
        buf_init(&req);
        rc = vless_request_encode(&req, c->id, c->flow, cmd, dest);
        if (rc == 0)
            rc = tunnel_xprt_set_prefix(&t->xprt, buf_data(&req), buf_len(&req));
        buf_dispose(&req);
        tunnel_xprt_expect_response(&t->xprt);
    }
    buf_dispose(&hello);
    buf_dispose(&out);
    buf_dispose(&in);
    if (rc < 0)
        outbound_close(t);
    return rc;
}

int outbound_send_request_now(struct outbound *t)
{
    TRY(tunnel_xprt_send_prefix_now(&t->xprt));
    return cli_write_all(t->fd, &t->xprt.cout, 10000);
}

void outbound_close(struct outbound *t)
{
    if (t->xprt_ready)
        tunnel_xprt_dispose(&t->xprt);
    t->xprt_ready = false;
    tls13_conn_free(t->tls);
    t->tls = NULL;
    reality_client_keys_wipe(&t->keys);
    x25519mlkem768_client_wipe(&t->hybrid);
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* ---- Xray client JSON (spec/config-and-links.md §2) ---- */

#include <jansson.h>

static const char *jstr(json_t *o, const char *k, const char *def)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : def;
}

int outbound_cfg_from_json(struct outbound_cfg *c, const char *text, size_t len, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
        return ERR_MALFORMED;
    }
    int rc = ERR_MALFORMED;
    json_t *obs = json_object_get(root, "outbounds"), *ob = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(obs, i, it)
    {
        if (json_is_object(it) && !strcmp(jstr(it, "protocol", ""), "vless")) {
            ob = it;
            break;
        }
    }
    json_t *settings = json_object_get(ob, "settings");
    json_t *stream = json_object_get(ob, "streamSettings");
    json_t *rs = json_object_get(stream, "realitySettings");
    json_t *server = settings, *user = settings;
    json_t *vnext = json_object_get(settings, "vnext");
    if (vnext != NULL) {
        if (!json_is_array(vnext) || json_array_size(vnext) != 1) {
            snprintf(err, errlen, "outbounds[%zu].settings.vnext: exactly one server is supported", i);
            goto out;
        }
        server = json_array_get(vnext, 0);
        json_t *users = json_object_get(server, "users");
        if (!json_is_array(users) || json_array_size(users) != 1) {
            snprintf(err, errlen, "outbounds[%zu].settings.vnext[0].users: exactly one user is required", i);
            goto out;
        }
        user = json_array_get(users, 0);
    }
    if (ob == NULL) {
        snprintf(err, errlen, "outbounds: no outbound with \"protocol\": \"vless\"");
        goto out;
    }
    if (strcmp(jstr(stream, "security", ""), "reality") != 0 || rs == NULL) {
        snprintf(err, errlen, "outbounds[%zu].streamSettings.security: only \"reality\" is supported", i);
        rc = ERR_UNSUPPORTED;
        goto out;
    }
    const char *net = jstr(stream, "network", "raw");
    if (strcmp(net, "raw") != 0 && strcmp(net, "tcp") != 0) {
        snprintf(err, errlen, "outbounds[%zu].streamSettings.network: only \"raw\"/\"tcp\" is supported", i);
        rc = ERR_UNSUPPORTED;
        goto out;
    }
    const char *addr = jstr(server, "address", "");
    json_t *port = json_object_get(server, "port");
    if (addr[0] == '\0' || !json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535) {
        snprintf(err, errlen, "outbounds[%zu].settings: address and port (1-65535) are required", i);
        goto out;
    }
    c->port = (uint16_t)json_integer_value(port);
    const char *sni = jstr(rs, "serverName", addr);
    if (copy_str(c->host, sizeof(c->host), addr) < 0 || copy_str(c->sni, sizeof(c->sni), sni) < 0) {
        snprintf(err, errlen, "outbounds[%zu]: address or serverName too long", i);
        goto out;
    }
    const char *pbk = jstr(rs, "password", jstr(rs, "publicKey", ""));
    rc = fill_common(c, jstr(user, "id", ""), jstr(user, "flow", ""), pbk, jstr(rs, "shortId", ""), err, errlen);
out:
    json_decref(root);
    return rc;
}
