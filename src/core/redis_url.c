#include "core/redis_url.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/err.h"

__attribute__((format(printf, 3, 4))) static int ufail(char *err, size_t cap, const char *fmt, ...)
{
    if (cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return ERR_CONFIG;
}

static int copy_part(char *out, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static bool host_char_ok(char ch, bool bracketed)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
           ch == '_' || (ch == ':' && bracketed);
}

/* One sentinel, host[:port] or [v6][:port], in [p, end). */
static int parse_sentinel(const char *p, const char *end, struct redis_sentinel_addr *a, char *err, size_t errcap)
{
    const char *hend;
    bool bracketed = p < end && *p == '[';
    a->port = 26379;
    if (bracketed) {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (rb == NULL || copy_part(a->host, sizeof a->host, p + 1, (size_t)(rb - p - 1)) < 0)
            return ufail(err, errcap, "sentinel: bad [IPv6] host");
        hend = rb + 1;
    } else {
        hend = memchr(p, ':', (size_t)(end - p));
        if (hend == NULL)
            hend = end;
        if (copy_part(a->host, sizeof a->host, p, (size_t)(hend - p)) < 0)
            return ufail(err, errcap, "sentinel: host too long");
    }
    if (a->host[0] == '\0')
        return ufail(err, errcap, "sentinel: host missing");
    for (const char *h = a->host; *h; h++)
        if (!host_char_ok(*h, bracketed))
            return ufail(err, errcap, "sentinel: bad character in host");
    if (hend < end && *hend == ':') {
        unsigned long v = 0;
        const char *d = hend + 1;
        if (d == end)
            return ufail(err, errcap, "sentinel: bad port: must be 1..65535");
        for (; d < end; d++) {
            if (*d < '0' || *d > '9' || v > 65535)
                return ufail(err, errcap, "sentinel: bad port: must be 1..65535");
            v = v * 10 + (unsigned long)(*d - '0');
        }
        if (v == 0 || v > 65535)
            return ufail(err, errcap, "sentinel: bad port: must be 1..65535");
        a->port = (uint16_t)v;
    } else if (hend != end) {
        return ufail(err, errcap, "sentinel: unexpected text after the host");
    }
    return 0;
}

/* sentinel://[[user]:password@]h[:p],h[:p],.../master[/db] */
static int parse_sentinel_url(const char *p, struct redis_url *out, char *err, size_t errcap)
{
    const char *end = p + strcspn(p, "/");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL)
            return ufail(err, errcap, "sentinel: credentials are [user]:password@");
        if (copy_part(out->user, sizeof out->user, p, (size_t)(colon - p)) < 0 ||
            copy_part(out->pass, sizeof out->pass, colon + 1, (size_t)(at - colon - 1)) < 0)
            return ufail(err, errcap, "credentials too long");
        p = at + 1;
    }
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        if (out->n_sentinels == REDIS_SENTINELS_MAX)
            return ufail(err, errcap, "sentinel: at most %d sentinels", REDIS_SENTINELS_MAX);
        TRY(parse_sentinel(p, e, &out->sentinels[out->n_sentinels], err, errcap));
        out->n_sentinels++;
        p = comma ? comma + 1 : end;
        if (comma && p == end)
            return ufail(err, errcap, "sentinel: empty entry after a comma");
    }
    if (out->n_sentinels == 0)
        return ufail(err, errcap, "sentinel: no sentinel host:port given");
    if (*end != '/' || end[1] == '\0' || end[1] == '/')
        return ufail(err, errcap, "sentinel: the master's name is missing (sentinel://h:p,h:p/mymaster)");
    const char *name = end + 1, *nend = name + strcspn(name, "/");
    if (copy_part(out->master, sizeof out->master, name, (size_t)(nend - name)) < 0)
        return ufail(err, errcap, "sentinel: master name too long");
    for (const char *c = out->master; *c; c++)
        if (!host_char_ok(*c, false))
            return ufail(err, errcap, "sentinel: master name: letters, digits, '.', '-', '_'");
    if (*nend == '/' && nend[1] != '\0') {
        char *e;
        unsigned long v = strtoul(nend + 1, &e, 10);
        if (*e != '\0' || v > 15 || nend[1] < '0' || nend[1] > '9')
            return ufail(err, errcap, "database must be 0..15");
        out->db = (unsigned)v;
    }
    return 0;
}

int redis_url_parse(const char *url, struct redis_url *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (strncmp(url, "unix:", 5) == 0) {
        const char *p = url + 5;
        while (p[0] == '/' && p[1] == '/')
            p++; /* unix:///path and unix:/path alike */
        if (p[0] != '/' || copy_part(out->path, sizeof out->path, p, strlen(p)) < 0)
            return ufail(err, errcap, "unix: needs an absolute socket path");
        return 0;
    }
    if (strncmp(url, "sentinel://", 11) == 0)
        return parse_sentinel_url(url + 11, out, err, errcap);
    if (strncmp(url, "rediss://", 9) == 0) /* Debian 12's hiredis 0.14 has no TLS */
        return ufail(err, errcap,
                     "rediss:// (TLS) is not built in: run the TLS tunnel of deploy/redis-tls/ and give its "
                     "local address as redis://");
    if (strncmp(url, "redis://", 8) != 0)
        return ufail(err, errcap, "must start with redis://, sentinel:// or unix:");
    const char *p = url + 8;
    const char *end = p + strcspn(p, "/");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pe = colon ? colon : at;
        if (copy_part(out->user, sizeof out->user, p, (size_t)(pe - p)) < 0 ||
            (colon && copy_part(out->pass, sizeof out->pass, colon + 1, (size_t)(at - colon - 1)) < 0))
            return ufail(err, errcap, "credentials too long");
        if (colon == NULL) { /* redis://password@host: a bare word is the password */
            memcpy(out->pass, out->user, sizeof out->pass < sizeof out->user ? sizeof out->pass : sizeof out->user);
            out->user[0] = '\0';
        }
        p = at + 1;
    }
    const char *hend;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (rb == NULL || copy_part(out->host, sizeof out->host, p + 1, (size_t)(rb - p - 1)) < 0)
            return ufail(err, errcap, "bad [IPv6] host");
        hend = rb + 1;
    } else {
        hend = p + strcspn(p, ":/");
        if (hend > end)
            hend = end;
        if (copy_part(out->host, sizeof out->host, p, (size_t)(hend - p)) < 0)
            return ufail(err, errcap, "host too long");
    }
    if (out->host[0] == '\0')
        return ufail(err, errcap, "host missing");
    for (const char *h = out->host; *h; h++) {
        char ch = *h;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '-' || ch == '_' || (ch == ':' && *p == '[');
        if (!ok)
            return ufail(err, errcap, "bad character in host");
    }
    if (*hend == ':') {
        char *e;
        unsigned long v = strtoul(hend + 1, &e, 10);
        if (e == hend + 1 || e != end || v == 0 || v > 65535)
            return ufail(err, errcap, "bad port: must be 1..65535");
        out->port = (uint16_t)v;
    } else if (hend != end) {
        return ufail(err, errcap, "unexpected text after the host");
    }
    if (*end == '/' && end[1] != '\0') {
        char *e;
        unsigned long v = strtoul(end + 1, &e, 10);
        if (*e != '\0' || v > 15)
            return ufail(err, errcap, "database must be 0..15");
        out->db = (unsigned)v;
    }
    return 0;
}
