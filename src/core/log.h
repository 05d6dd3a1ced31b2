/* JSON-lines logging. One object per line with stable fields:
 *   {"@timestamp":"2026-11-26T04:56:16.123Z","log.level":"info","message":"listen","log.logger":"node",
 *    "conn":42,"event.action":"listen", ...fields}
 * The names are Elastic Common Schema's (docs/deploy.md "Logs"); the field keys ip, user, email,
 * msg and message are written as source.ip, user.id, user.email and error.message.
 * Fields are typed key/value pairs, so values are always escaped correctly:
 *   log_info("node", conn_id, "listen", LF_STR("addr", addr), LF_INT("port", port));
 * The level is checked before anything is formatted. Never pass secrets (keys, full UUIDs,
 * tokens): log a short hash instead. Each line is written with a single write(2), so lines
 * from several threads never interleave. */
#ifndef VEIL_CORE_LOG_H
#define VEIL_CORE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERR,
    LOG_LEVEL_NONE,
    LOG_LEVEL__COUNT, /* sentinel */
};

enum log_field_type {
    LOG_FT_END = 0,
    LOG_FT_STR,
    LOG_FT_INT,
    LOG_FT_UINT,
    LOG_FT_BOOL,
    LOG_FT_DOUBLE,
};

struct log_field {
    const char *key;
    enum log_field_type type;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        double d;
        bool b;
    } v;
};

#define LF_STR(k, x) ((struct log_field){.key = (k), .type = LOG_FT_STR, .v.s = (x)})
#define LF_INT(k, x) ((struct log_field){.key = (k), .type = LOG_FT_INT, .v.i = (int64_t)(x)})
#define LF_UINT(k, x) ((struct log_field){.key = (k), .type = LOG_FT_UINT, .v.u = (uint64_t)(x)})
#define LF_BOOL(k, x) ((struct log_field){.key = (k), .type = LOG_FT_BOOL, .v.b = (x)})
#define LF_DBL(k, x) ((struct log_field){.key = (k), .type = LOG_FT_DOUBLE, .v.d = (double)(x)})

/* Atomic so a reload (SIGHUP) may change them while worker threads log; relaxed loads cost nothing. */
extern _Atomic int log__min_level;
extern _Atomic bool log__routed;

/* Sets the minimum level and the destination file descriptor (default: INFO on stderr). */
void log_setup(enum log_level min, int fd);
/* Changes only the minimum level (a reload), keeping the destination. */
void log_set_level(enum log_level min);
/* Sends every line of module `mod` (e.g. "access") to `fd` whatever the level, as Xray keeps its
 * access log apart from the error log; fd -1 removes the route. One route at a time. */
void log_route_mod(const char *mod, int fd);
/* Parses "debug", "info", "warning"/"warn", "error", "none" (Xray's names). -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);
static inline bool log_enabled(enum log_level level)
{
    return (int)level >= atomic_load_explicit(&log__min_level, memory_order_relaxed);
}

/* Formats one line into out (always NUL-terminated, truncated if needed); returns its length.
 * `fields` ends with an entry whose key is NULL. Exposed for tests. */
size_t log_format(char *out, size_t cap, int64_t now_ms, enum log_level level, const char *mod, uint64_t conn,
                  const char *event, const struct log_field *fields);
void log__emit(enum log_level level, const char *mod, uint64_t conn, const char *event, const struct log_field *fields);

/* The leading {0} keeps the array non-empty when no fields are given; log__emit skips it. */
#define LOG_AT_(lvl, mod, conn, event, ...)                                                                            \
    do {                                                                                                               \
        if (log_enabled(lvl) || atomic_load_explicit(&log__routed, memory_order_relaxed))                              \
            log__emit(lvl, mod, conn, event, (const struct log_field[]){{.key = ""}, __VA_ARGS__, {.key = NULL}} + 1); \
    } while (0)
#define log_debug(mod, conn, ...) LOG_AT_(LOG_LEVEL_DEBUG, mod, conn, __VA_ARGS__, {.key = NULL})
#define log_info(mod, conn, ...) LOG_AT_(LOG_LEVEL_INFO, mod, conn, __VA_ARGS__, {.key = NULL})
#define log_warn(mod, conn, ...) LOG_AT_(LOG_LEVEL_WARN, mod, conn, __VA_ARGS__, {.key = NULL})
#define log_err(mod, conn, ...) LOG_AT_(LOG_LEVEL_ERR, mod, conn, __VA_ARGS__, {.key = NULL})

#endif
