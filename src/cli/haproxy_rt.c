/* HAProxy runtime API client and `show stat` parser (cli/haproxy_rt.h). */
#include "cli/haproxy_rt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/err.h"

int haproxy_rt_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

/* A connected socket to a UNIX path, or to "host:port" when the path has no '/' and a ':'. */
static int rt_connect(const char *where, char *err, size_t cap)
{
    if (strchr(where, '/') == NULL && strrchr(where, ':') != NULL) {
        char host[256];
        const char *colon = strrchr(where, ':');
        size_t hl = (size_t)(colon - where);
        if (hl >= sizeof host) {
            snprintf(err, cap, "address too long");
            return ERR_IO;
        }
        memcpy(host, where, hl);
        host[hl] = '\0';
        if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
            memmove(host, host + 1, hl - 2);
            host[hl - 2] = '\0';
        }
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV}, *ai;
        int g = getaddrinfo(host, colon + 1, &hints, &ai);
        if (g != 0) {
            snprintf(err, cap, "%s: %s (expected a UNIX socket path or IP:PORT)", where, gai_strerror(g));
            return ERR_IO;
        }
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            snprintf(err, cap, "%s: %s", where, strerror(errno));
            if (fd >= 0)
                close(fd);
            freeaddrinfo(ai);
            return ERR_IO;
        }
        freeaddrinfo(ai);
        return fd;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(where) >= sizeof sa.sun_path) {
        snprintf(err, cap, "%s: path too long", where);
        return ERR_IO;
    }
    memcpy(sa.sun_path, where, strlen(where) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, cap, "%s: %s", where, strerror(errno));
        if (fd >= 0)
            close(fd);
        return ERR_IO;
    }
    return fd;
}

int haproxy_rt_command(const char *socket_path, const char *cmd, int timeout_ms, char **answer, char *err,
                       size_t err_cap)
{
    *answer = NULL;
    int fd = rt_connect(socket_path, err, err_cap);
    if (fd < 0)
        return fd;
    size_t cl = strlen(cmd);
    char *line = malloc(cl + 2);
    if (line == NULL) {
        close(fd);
        return ERR_NOMEM;
    }
    memcpy(line, cmd, cl);
    line[cl] = '\n';
    size_t off = 0;
    int rc = 0;
    while (off < cl + 1) {
        ssize_t w = send(fd, line + off, cl + 1 - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, err_cap, "%s: send: %s", socket_path, strerror(errno));
            rc = ERR_IO;
            break;
        }
        off += (size_t)w;
    }
    free(line);
    size_t cap = 4096, len = 0;
    char *buf = rc == 0 ? malloc(cap) : NULL;
    if (rc == 0 && buf == NULL)
        rc = ERR_NOMEM;
    /* Without `prompt` mode HAProxy answers one command and closes: read to EOF. */
    while (rc == 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            snprintf(err, err_cap, "%s: no answer within %d ms", socket_path, timeout_ms);
            rc = ERR_TIMEOUT;
            break;
        }
        if (len + 1 >= cap) {
            if (cap >= HAPROXY_RT_ANSWER_MAX) {
                snprintf(err, err_cap, "%s: answer longer than %u bytes", socket_path, HAPROXY_RT_ANSWER_MAX);
                rc = ERR_TOO_LONG;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, err_cap, "%s: recv: %s", socket_path, strerror(errno));
            rc = ERR_IO;
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *answer = buf;
    return 0;
}

/* Field k (0-based) of the CSV line [s, e) into out; fields never contain commas in `show stat`. */
static int field(const char *s, const char *e, size_t k, char *out, size_t cap)
{
    for (size_t i = 0; i < k; i++) {
        const char *c = memchr(s, ',', (size_t)(e - s));
        if (c == NULL)
            return -1;
        s = c + 1;
    }
    const char *c = memchr(s, ',', (size_t)(e - s));
    size_t n = (size_t)((c ? c : e) - s);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int64_t to_i64(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0)
        return -1;
    return (int64_t)v;
}

int haproxy_rt_server_stat(const char *csv, size_t len, const char *backend, const char *server,
                           struct haproxy_server_stat *out)
{
    const char *p = csv, *end = csv + len;
    const char *nl = memchr(p, '\n', len);
    const char *he = nl ? nl : end;
    if ((size_t)(he - p) < 2 || p[0] != '#' || p[1] != ' ')
        return ERR_MALFORMED;
    /* Column positions from the header, so a newer HAProxy with more columns still parses. */
    size_t col_scur = SIZE_MAX, col_weight = SIZE_MAX, col_status = SIZE_MAX, k = 0;
    const char *s = p + 2;
    while (s <= he) {
        const char *c = memchr(s, ',', (size_t)(he - s));
        const char *fe = c ? c : he;
        size_t n = (size_t)(fe - s);
        if (n == 4 && memcmp(s, "scur", 4) == 0)
            col_scur = k;
        else if (n == 6 && memcmp(s, "weight", 6) == 0)
            col_weight = k;
        else if (n == 6 && memcmp(s, "status", 6) == 0)
            col_status = k;
        k++;
        if (c == NULL)
            break;
        s = c + 1;
    }
    if (col_scur == SIZE_MAX || col_weight == SIZE_MAX || col_status == SIZE_MAX)
        return ERR_MALFORMED;
    for (p = nl ? nl + 1 : end; p < end;) {
        nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char px[128], sv[128], v[64];
        if (field(p, le, 0, px, sizeof px) == 0 && field(p, le, 1, sv, sizeof sv) == 0 && strcmp(px, backend) == 0 &&
            strcmp(sv, server) == 0) {
            if (field(p, le, col_scur, v, sizeof v) < 0)
                return ERR_MALFORMED;
            out->scur = to_i64(v);
            if (field(p, le, col_weight, v, sizeof v) < 0)
                return ERR_MALFORMED;
            out->weight = to_i64(v);
            if (field(p, le, col_status, out->status, sizeof out->status) < 0)
                return ERR_MALFORMED;
            if (out->scur < 0 || out->weight < 0)
                return ERR_MALFORMED;
            return 0;
        }
        p = nl ? nl + 1 : end;
    }
    return ERR_NOT_FOUND;
}
