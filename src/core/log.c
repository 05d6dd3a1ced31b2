#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/json_esc.h"

_Atomic int log__min_level = LOG_LEVEL_INFO;
_Atomic bool log__routed = false;
static int log_fd = 2;
static char route_mod[32];
static int route_fd = -1;

static const char *const level_names[LOG_LEVEL__COUNT] = {"debug", "info", "warn", "error", "none"};

void log_setup(enum log_level min, int fd)
{
    atomic_store(&log__min_level, (int)min);
    log_fd = fd;
}

void log_set_level(enum log_level min)
{
    atomic_store(&log__min_level, (int)min);
}

void log_route_mod(const char *mod, int fd)
{
    if (mod == NULL || fd < 0 || strlen(mod) >= sizeof(route_mod)) {
        log__routed = false;
        route_fd = -1;
        return;
    }
    memcpy(route_mod, mod, strlen(mod) + 1);
    route_fd = fd;
    log__routed = true;
}

int log_level_parse(const char *name)
{
    if (name == NULL)
        return -1;
    if (!strcasecmp(name, "debug"))
        return LOG_LEVEL_DEBUG;
    if (!strcasecmp(name, "info"))
        return LOG_LEVEL_INFO;
    if (!strcasecmp(name, "warning") || !strcasecmp(name, "warn"))
        return LOG_LEVEL_WARN;
    if (!strcasecmp(name, "error"))
        return LOG_LEVEL_ERR;
    if (!strcasecmp(name, "none"))
        return LOG_LEVEL_NONE;
    return -1;
}

const char *log_level_name(enum log_level level)
{
    return (unsigned)level < LOG_LEVEL__COUNT ? level_names[level] : "unknown";
}

/* Appends printf output, tracking the position; truncation is harmless (checked at the end). */
struct out {
    char *p;
    size_t cap, len;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
    if (o->len >= o->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

static void out_str(struct out *o, const char *s)
{
    if (o->len >= o->cap)
        return;
    o->len += json_escape(o->p + o->len, o->cap - o->len, s ? s : "", s ? strlen(s) : 0);
}

/* Field keys callers use that Elastic Common Schema names otherwise: the client's address, the
 * customer, and error text (which must not collide with ECS's top-level "message"). */
static const struct {
    const char *ours, *ecs;
} ecs_keys[] = {
    {"ip", "source.ip"},      {"user", "user.id"},          {"email", "user.email"},
    {"msg", "error.message"}, {"message", "error.message"},
};

static const char *ecs_key(const char *key)
{
    for (size_t i = 0; i < sizeof ecs_keys / sizeof ecs_keys[0]; i++)
        if (strcmp(key, ecs_keys[i].ours) == 0)
            return ecs_keys[i].ecs;
    return key;
}

size_t log_format(char *buf, size_t cap, int64_t now_ms, enum log_level level, const char *mod, uint64_t conn,
                  const char *event, const struct log_field *fields)
{
    if (cap == 0)
        return 0;
    struct out o = {buf, cap - 1, 0}; /* keep room for the newline */
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    out_printf(&o, "{\"@timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"log.level\":\"%s\",\"message\":",
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now_ms % 1000),
               log_level_name(level));
    out_str(&o, event);
    out_printf(&o, ",\"log.logger\":");
    out_str(&o, mod);
    if (conn)
        out_printf(&o, ",\"conn\":%" PRIu64, conn);
    out_printf(&o, ",\"event.action\":");
    out_str(&o, event);
    for (const struct log_field *f = fields; f && f->key; f++) {
        out_printf(&o, ",");
        out_str(&o, ecs_key(f->key));
        out_printf(&o, ":");
        switch (f->type) {
        case LOG_FT_STR:
            if (f->v.s)
                out_str(&o, f->v.s);
            else
                out_printf(&o, "null");
            break;
        case LOG_FT_INT:
            out_printf(&o, "%" PRId64, f->v.i);
            break;
        case LOG_FT_UINT:
            out_printf(&o, "%" PRIu64, f->v.u);
            break;
        case LOG_FT_BOOL:
            out_printf(&o, "%s", f->v.b ? "true" : "false");
            break;
        case LOG_FT_DOUBLE:
            if (isfinite(f->v.d))
                out_printf(&o, "%.6g", f->v.d);
            else
                out_printf(&o, "null");
            break;
        case LOG_FT_END:
        default:
            out_printf(&o, "null");
            break;
        }
    }
    out_printf(&o, "}");
    if (o.len >= o.cap && fields != NULL && fields->key != NULL) {
        /* Too long: keep the line valid JSON by dropping the fields and saying so (or, in a buffer
         * too small even for that, dropping the fields silently). */
        static const struct log_field trunc[] = {{.key = "truncated", .type = LOG_FT_BOOL, .v.b = true}, {0}};
        return log_format(buf, cap, now_ms, level, mod, conn, event, fields == trunc ? NULL : trunc);
    }
    if (o.len > o.cap)
        o.len = o.cap;
    buf[o.len++] = '\n';
    return o.len;
}

void log__emit(enum log_level level, const char *mod, uint64_t conn, const char *event, const struct log_field *fields)
{
    int fd = log_fd;
    if (log__routed && mod != NULL && strcmp(mod, route_mod) == 0)
        fd = route_fd; /* routed lines ignore the level */
    else if (!log_enabled(level))
        return;
    char line[4096];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    size_t n = log_format(line, sizeof(line), now_ms, level, mod, conn, event, fields);
    int saved = errno;
    ssize_t w;
    do {
        w = write(fd, line, n);
    } while (w == -1 && errno == EINTR);
    errno = saved;
}
