/* libmicrohttpd glue: collects the request (with a body limit), hands it to api_dispatch and
 * queues the answer. A thread pool serves connections; handlers reach SQL only via the store. */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/file.h"
#include "core/log.h"
#include "core/secure.h"
#include "hub/api/api.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"

struct api_server {
    struct MHD_Daemon *d;
    struct api_guard *guard;
    struct api_ctx ctx;
    uint16_t port;
    struct buf tls_cert, tls_key, tls_ca; /* PEM text, NUL-terminated; the key is wiped at stop */
};

/* Per-connection request state, from the first callback to completion. */
struct req_state {
    char *body;
    size_t len, cap, limit;
    bool too_large;
    bool started;   /* the first on_request call happened */
    char *raw_path; /* the path as sent (uri_log), before MHD decodes it */
};

/* Each connection's MHD memory pool (request line, headers, read buffer, answer headers). MHD
 * zeroes it at every keep-alive request, so its size is paid per request (the default 32 KiB:
 * ~49k instructions of memset per /sub hit). A request head may use about half of it: 24 KiB
 * takes heads up to ~11 kB (the 32 KiB default ~16 kB; nginx and Apache refuse a header line
 * over 8 kB), a bigger head gets 431. Bodies are streamed to on_request, not kept in the pool. */
#define API_CONN_POOL_BYTES 24576

static const char TOO_LARGE[] = "{\"error\":{\"code\":\"body_too_large\",\"message\":\"request body too large\"}}";

static enum MHD_Result send_static(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static const char *query_get(void *arg, const char *key)
{
    return MHD_lookup_connection_value(arg, MHD_GET_ARGUMENT_KIND, key);
}

static const char *header_get(void *arg, const char *name)
{
    return MHD_lookup_connection_value(arg, MHD_HEADER_KIND, name);
}

static enum MHD_Result find_nul(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size, const char *value,
                                size_t value_size)
{
    (void)kind;
    bool *nul = cls;
    if (strlen(key) != key_size || (value != NULL && strlen(value) != value_size)) {
        *nul = true;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Called with the undecoded URI before on_request; its result is the request's first state. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct req_state *rs = calloc(1, sizeof *rs);
    if (rs != NULL && uri != NULL)
        rs->raw_path = strndup(uri, strcspn(uri, "?"));
    return rs;
}

/* All X-Forwarded-For header lines joined with "," in arrival order: a proxy may add its own
 * line instead of appending to the client's. */
struct xff_acc {
    char *s;
    size_t len;
    bool failed;
};

static enum MHD_Result xff_collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct xff_acc *x = cls;
    if (key == NULL || value == NULL || strcasecmp(key, "X-Forwarded-For") != 0)
        return MHD_YES;
    size_t n = strlen(value);
    char *s = realloc(x->s, x->len + n + 2);
    if (s == NULL) {
        x->failed = true;
        return MHD_NO;
    }
    if (x->len > 0)
        s[x->len++] = ',';
    memcpy(s + x->len, value, n + 1);
    x->len += n;
    x->s = s;
    return MHD_YES;
}

static void client_ip(struct MHD_Connection *conn, const struct api_cfg *cfg, char out[static CLIENT_IP_MAX])
{
    out[0] = '\0';
    char peer[CLIENT_IP_MAX] = "";
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, peer, sizeof peer);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, peer, sizeof peer);
    struct xff_acc x = {0};
    if (cfg->n_trusted_proxies > 0 && client_ip_in_nets(peer, cfg->trusted_proxies, cfg->n_trusted_proxies))
        MHD_get_connection_values(conn, MHD_HEADER_KIND, xff_collect, &x);
    client_ip_resolve(peer, x.failed ? NULL : x.s, cfg->trusted_proxies, cfg->n_trusted_proxies, out);
    free(x.s);
}

static size_t limit_for(const struct api_ctx *ctx, const char *method, const char *url)
{
    int64_t id;
    return api__route_body_max(ctx, api__route_find(method, url, &id, NULL, 0));
}

/* Mutual TLS: the peer sent a certificate that chains to the configured client CA. */
static bool client_cert_ok(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (ci == NULL || ci->tls_session == NULL)
        return false;
    gnutls_session_t ts = (gnutls_session_t)ci->tls_session;
    unsigned n = 0, status = 1;
    return gnutls_certificate_get_peers(ts, &n) != NULL && n > 0 &&
           gnutls_certificate_verify_peers2(ts, &status) == 0 && status == 0;
}

/* A PEM file for the TLS options into out (NUL-terminated). A key readable by group or others
 * is refused, as secret files are (core/secret_file.h). */
static int read_pem(const char *path, bool secret, struct buf *out)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        log_err("api", 0, "tls_file_unreadable", LF_STR("file", path));
        return ERR_CONFIG;
    }
    if (secret && (st.st_mode & 077) != 0) {
        log_err("api", 0, "tls_key_exposed", LF_STR("file", path), LF_UINT("mode", (unsigned)(st.st_mode & 0777)),
                LF_STR("fix", "chmod 600"));
        return ERR_CONFIG;
    }
    int rc = file_read_all(path, 1u << 20, out);
    if (rc == 0)
        rc = buf_append(out, "", 1);
    if (rc < 0)
        log_err("api", 0, "tls_file_unreadable", LF_STR("file", path), LF_STR("err", err_str(rc)));
    return rc < 0 ? ERR_CONFIG : 0;
}

static void tls_dispose(struct api_server *srv)
{
    if (buf_len(&srv->tls_key) > 0)
        secure_wipe(buf_data(&srv->tls_key), buf_len(&srv->tls_key));
    buf_dispose(&srv->tls_key);
    buf_dispose(&srv->tls_cert);
    buf_dispose(&srv->tls_ca);
}

/* The TLS options (an MHD_OPTION_ARRAY ending in MHD_OPTION_END); no TLS: just the end. */
static int tls_options(struct api_server *srv, const struct api_access_cfg *a, unsigned *flags,
                       struct MHD_OptionItem opt[static 4])
{
    size_t n = 0;
    buf_init(&srv->tls_cert);
    buf_init(&srv->tls_key);
    buf_init(&srv->tls_ca);
    if (a->tls_cert[0] != '\0') {
        TRY(read_pem(a->tls_cert, false, &srv->tls_cert));
        TRY(read_pem(a->tls_key, true, &srv->tls_key));
        if (a->tls_client_ca[0] != '\0')
            TRY(read_pem(a->tls_client_ca, false, &srv->tls_ca));
        *flags |= MHD_USE_TLS;
        opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, buf_data(&srv->tls_key)};
        opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, buf_data(&srv->tls_cert)};
        if (buf_len(&srv->tls_ca) > 0)
            opt[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, buf_data(&srv->tls_ca)};
    }
    opt[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct api_server *srv = cls;
    struct req_state *rs = *con_cls;
    if (rs == NULL || !rs->started) {
        if (rs == NULL && (rs = calloc(1, sizeof *rs)) == NULL)
            return MHD_NO;
        rs->started = true;
        rs->limit = limit_for(&srv->ctx, method, url);
        *con_cls = rs;
        /* Refuse a declared oversized body before reading any of it. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            if (*end != '\0' || v > rs->limit) {
                rs->too_large = true;
                api_guard_request_received(srv->guard, conn); /* answered now: its deadline stops */
                return send_static(conn, MHD_HTTP_CONTENT_TOO_LARGE, TOO_LARGE);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rs->too_large)
            return MHD_YES;
        if (n > rs->limit - rs->len) {
            rs->too_large = true; /* chunked upload past the limit: drop the rest, answer 413 */
            free(rs->body);
            rs->body = NULL;
            rs->len = rs->cap = 0;
            return MHD_YES;
        }
        if (rs->len + n + 1 > rs->cap) {
            size_t cap = rs->cap ? rs->cap : 1024;
            while (cap < rs->len + n + 1)
                cap *= 2;
            char *b = realloc(rs->body, cap);
            if (b == NULL)
                return MHD_NO;
            rs->body = b;
            rs->cap = cap;
        }
        memcpy(rs->body + rs->len, upload_data, n);
        rs->len += n;
        rs->body[rs->len] = '\0';
        return MHD_YES;
    }
    api_guard_request_received(srv->guard, conn);
    if (rs->too_large)
        return send_static(conn, MHD_HTTP_CONTENT_TOO_LARGE, TOO_LARGE);

    char ip[CLIENT_IP_MAX];
    client_ip(conn, &srv->ctx.cfg, ip);
    struct api_req req = {
        .client_cert = srv->ctx.cfg.access.tls_client_ca[0] != '\0' && client_cert_ok(conn),
        .method = method,
        .path = url,
        .query = query_get,
        .query_arg = conn,
        .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        .user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT),
        .accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
        .hwid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-hwid"),
        .ip = ip,
        .body = rs->body ? rs->body : "",
        .body_len = rs->len,
        .header = header_get,
        .header_arg = conn,
        .raw_path = rs->raw_path,
    };
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, find_nul, &req.header_nul);
    struct api_resp out;
    api_dispatch(&srv->ctx, &req, &out);
    struct MHD_Response *r = MHD_create_response_from_buffer(out.body_len, out.body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        api_resp_dispose(&out);
        return MHD_NO;
    }
    out.body = NULL; /* owned by MHD now */
    if (out.content_type != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, out.content_type);
    for (size_t i = 0; i < out.n_headers; i++)
        MHD_add_response_header(r, out.headers[i].name, out.headers[i].value);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)out.status, r);
    MHD_destroy_response(r);
    if (out.status >= 500)
        log_warn("api", 0, "server_error", LF_STR("method", method), LF_INT("status", out.status));
    api_resp_dispose(&out);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)t;
    struct api_server *srv = cls;
    api_guard_request_finished(srv->guard, conn); /* a keep-alive client's next request starts now */
    struct req_state *rs = *con_cls;
    if (rs != NULL) {
        free(rs->body);
        free(rs->raw_path);
        free(rs);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct api_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        api_guard_opened(srv->guard, conn, socket_context);
    else
        api_guard_closed(srv->guard, socket_context);
}

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct api_server *srv = cls;
    return api_guard_accept(srv->guard, addr, len) ? MHD_YES : MHD_NO;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("api", 0, "mhd", LF_STR("msg", msg));
}

int api_start(const struct api_cfg *cfg, struct store *st, struct api_server **out)
{
    *out = NULL;
    struct api_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return ERR_NOMEM;
    api_ctx_init(&srv->ctx, st, cfg);
    const char *addr = cfg->listen_addr && cfg->listen_addr[0] ? cfg->listen_addr : "127.0.0.1";
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_ERROR_LOG;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(cfg->port);
    } else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(cfg->port);
        flags |= MHD_USE_IPv6;
    } else {
        api_ctx_dispose(&srv->ctx);
        free(srv);
        return ERR_CONFIG;
    }
    unsigned threads = cfg->threads ? cfg->threads : 4;
    struct api_conn_limits lim = api_conn_limits_effective(&cfg->limits);
    struct MHD_OptionItem tls[4];
    int rc = tls_options(srv, &cfg->access, &flags, tls);
    if (rc == 0)
        rc = api_guard_start(&lim, cfg->trusted_proxies, cfg->n_trusted_proxies, &srv->guard);
    if (rc < 0) {
        tls_dispose(srv);
        api_ctx_dispose(&srv->ctx);
        free(srv);
        return rc;
    }
    /* MHD's own timeout is an idle timeout (any byte resets it); the guard adds the per-IP cap,
     * the whole-request deadline and the reserve. */
    srv->d = MHD_start_daemon(
        flags, cfg->port, accept_policy, srv, on_request, srv, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)API_CONN_POOL_BYTES, MHD_OPTION_CONNECTION_TIMEOUT, lim.idle_timeout, MHD_OPTION_CONNECTION_LIMIT,
        lim.max_connections, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (srv->d == NULL) {
        log_err("api", 0, "listen_failed", LF_STR("addr", addr), LF_UINT("port", cfg->port));
        api_guard_stop(srv->guard);
        tls_dispose(srv);
        api_ctx_dispose(&srv->ctx);
        free(srv);
        return ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : cfg->port;
    *out = srv;
    return 0;
}

int api_reconfigure(struct api_server *s, const struct api_settings *set)
{
    return api_ctx_reconfigure(&s->ctx, set);
}

void api_node_reachable(struct api_server *s, int64_t node_id, bool reachable)
{
    api_ctx_node_reachable(&s->ctx, node_id, reachable);
}

uint16_t api_port(const struct api_server *s)
{
    return s->port;
}

void api_stop(struct api_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->d);
    api_guard_stop(s->guard);
    tls_dispose(s);
    api_ctx_dispose(&s->ctx);
    free(s);
}
