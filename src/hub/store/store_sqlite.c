/* SQLite backend (the embedded default): WAL mode, foreign keys on, a busy timeout, and
 * PostgreSQL-style $n placeholders rewritten to SQLite's ?n. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/store/store_int.h"

#define SQ_CACHE 64

/* One connection with a cache of prepared statements keyed by SQL text: parsing and planning
 * cost more than running most of our queries. */
struct sq_conn {
    sqlite3 *db;
    size_t next; /* round-robin victim when full */
    struct {
        uint64_t hash;
        char *sql;
        sqlite3_stmt *st;
    } cache[SQ_CACHE];
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int map_err(sqlite3 *db, int rc)
{
    int ext = sqlite3_extended_errcode(db);
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return ERR_EXISTS;
        return ERR_BAD_STATE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ERR_TIMEOUT;
    case SQLITE_NOMEM:
        return ERR_NOMEM;
    default:
        log_warn("store", 0, "sqlite_error", LF_INT("rc", ext), LF_STR("msg", sqlite3_errmsg(db)));
        return ERR_IO;
    }
}

/* Takes group and world access away from an existing file (the database and its WAL/SHM).
 * By path, never by opening it: closing any descriptor of a file drops every POSIX lock this
 * process holds on it, and SQLite's locks are POSIX locks. The pool's second connection used to
 * open and close the database and -shm files here, which dropped the first connection's locks: a
 * second process (--migrate, --backup-now, --verify-audit) then found the -shm unowned, rebuilt
 * it, and from then on did not see the hub's newer commits (its copies missed them). */
static int tighten_mode(const char *path, bool must_exist)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT && !must_exist ? 0 : -errno;
    if (S_ISLNK(sb.st_mode))
        return -ELOOP; /* as O_NOFOLLOW did: the database is not reached through a symlink */
    if ((sb.st_mode & 077) != 0 && chmod(path, sb.st_mode & 0700) == 0)
        log_warn("store", 0, "database_mode_tightened", LF_STR("path", path), LF_STR("mode", "0600"));
    return 0;
}

/* The database holds every UUID and subscription token: create it 0600 ourselves before SQLite
 * opens it (SQLite gives the WAL and SHM files the mode of the database file), and name a
 * missing folder instead of SQLite's "unable to open database file". Plain paths only:
 * ":memory:" and "file:" URIs are left to SQLite. */
static int prepare_db_file(const char *path)
{
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return 0;
    char folder[1024];
    const char *slash = strrchr(path, '/');
    size_t flen = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (flen >= sizeof folder)
        return -ENAMETOOLONG;
    memcpy(folder, slash == NULL ? "." : path, flen);
    folder[flen] = '\0';
    struct stat sb;
    int e = stat(folder, &sb) < 0 ? errno : S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
    if (e != 0) {
        log_err("store", 0, "database_folder_missing", LF_STR("folder", folder), LF_STR("err", strerror(e)),
                LF_STR("hint", "create the folder (mode 0700, owned by the hub's user) or fix \"database\""));
        return -e;
    }
    /* A new file can have no SQLite locks yet, so only here is a descriptor opened and closed. */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
        close(fd);
    int rc = fd >= 0 || errno == EEXIST ? tighten_mode(path, true) : -errno;
    if (rc < 0) {
        log_err("store", 0, "database_open_failed", LF_STR("path", path), LF_STR("err", strerror(-rc)));
        return rc;
    }
    static const char *const sidecars[] = {"-wal", "-shm"};
    for (size_t i = 0; i < sizeof sidecars / sizeof sidecars[0]; i++) {
        char side[1100];
        snprintf(side, sizeof side, "%s%s", path, sidecars[i]);
        (void)tighten_mode(side, false);
    }
    return 0;
}

static int sq_connect(const char *target, void **conn)
{
    TRY(prepare_db_file(target));
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    if (sqlite3_open_v2(target, &db, flags, NULL) != SQLITE_OK) {
        log_err("store", 0, "sqlite_open_failed", LF_STR("path", target), LF_STR("msg", sqlite3_errmsg(db)));
        sqlite3_close(db);
        return ERR_IO;
    }
    sqlite3_busy_timeout(db, 5000);
    /* WAL lets readers run beside the writer; it is ignored (stays "memory") for :memory:. */
    const char *pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
    if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        log_err("store", 0, "sqlite_pragma_failed", LF_STR("msg", sqlite3_errmsg(db)));
        sqlite3_close(db);
        return ERR_IO;
    }
    struct sq_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        sqlite3_close(db);
        return ERR_NOMEM;
    }
    c->db = db;
    *conn = c;
    return 0;
}

static void sq_disconnect(void *conn)
{
    struct sq_conn *c = conn;
    if (c == NULL)
        return;
    for (size_t i = 0; i < SQ_CACHE; i++) {
        sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
    }
    sqlite3_close(c->db);
    free(c);
}

/* "$12" -> "?12". Our SQL never has '$' and a digit inside string literals (JSON paths such as
 * '$[0]' are fine). */
static char *rewrite(const char *sql)
{
    char *out = strdup(sql);
    if (out == NULL)
        return NULL;
    for (char *p = out; *p; p++)
        if (*p == '$' && p[1] >= '0' && p[1] <= '9')
            *p = '?';
    return out;
}

/* Decimal text of v, as SQLite's own conversion writes it; returns the length. */
static size_t i64_text(int64_t v, char out[static 21])
{
    char rev[20];
    size_t n = 0, o = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        out[o++] = '-';
    while (n > 0)
        out[o++] = rev[--n];
    out[o] = '\0';
    return o;
}

/* One column of the row being collected: its text (or NULL) and length. */
struct sq_cell {
    const char *text;
    size_t len;
    char num[21];
};

#define SQ_ROW_INLINE 48

/* Copies the current row as text cells into one allocation (res->row_blocks): integers are
 * formatted here instead of by SQLite (which allocates a string per integer column), and one
 * malloc per row replaces one per cell. */
static int collect_row(sqlite3_stmt *st, struct store_res *res, size_t *cap)
{
    size_t nc = (size_t)sqlite3_column_count(st);
    if (res->nrows == 0 && res->cells == NULL) {
        res->ncols = nc;
        res->row_blocks = true;
    }
    if ((res->nrows + 1) * nc > *cap) {
        size_t ncap = *cap ? *cap * 2 : 16 * (nc ? nc : 1);
        while (ncap < (res->nrows + 1) * nc)
            ncap *= 2;
        char **cells = realloc(res->cells, ncap * sizeof *cells);
        if (cells == NULL)
            return ERR_NOMEM;
        res->cells = cells;
        *cap = ncap;
    }
    struct sq_cell inline_cols[SQ_ROW_INLINE];
    struct sq_cell *cols = nc <= SQ_ROW_INLINE ? inline_cols : malloc(nc * sizeof *cols);
    if (cols == NULL)
        return ERR_NOMEM;
    size_t total = 0;
    int rc = 0;
    for (size_t c = 0; c < nc; c++) {
        struct sq_cell *x = &cols[c];
        x->text = NULL;
        switch (sqlite3_column_type(st, (int)c)) {
        case SQLITE_NULL:
            continue;
        case SQLITE_INTEGER:
            x->len = i64_text(sqlite3_column_int64(st, (int)c), x->num);
            x->text = x->num;
            break;
        default:
            /* _text before _bytes: the length is of the text form. */
            x->text = (const char *)sqlite3_column_text(st, (int)c);
            if (x->text == NULL) {
                rc = ERR_NOMEM;
                goto out;
            }
            x->len = strlen(x->text); /* a cell ends at its first NUL, as strdup did */
            break;
        }
        total += x->len + 1;
    }
    char *block = total > 0 ? malloc(total) : NULL;
    if (total > 0 && block == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (size_t c = 0; c < nc; c++) {
        char **slot = &res->cells[res->nrows * nc + c];
        *slot = NULL;
        if (cols[c].text == NULL)
            continue;
        memcpy(block, cols[c].text, cols[c].len + 1);
        *slot = block;
        block += cols[c].len + 1;
    }
    res->nrows++;
out:
    if (cols != inline_cols)
        free(cols);
    return rc;
}

/* Finds or prepares the statement for sql. */
static int stmt_for(struct sq_conn *c, const char *sql, sqlite3_stmt **out)
{
    uint64_t h = fnv1a(sql);
    for (size_t i = 0; i < SQ_CACHE; i++) {
        if (c->cache[i].st != NULL && c->cache[i].hash == h && strcmp(c->cache[i].sql, sql) == 0) {
            *out = c->cache[i].st;
            return 0;
        }
    }
    char *text = rewrite(sql);
    if (text == NULL)
        return ERR_NOMEM;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, text, -1, &st, NULL);
    free(text);
    if (rc != SQLITE_OK)
        return map_err(c->db, rc);
    char *key = strdup(sql);
    if (key == NULL) {
        sqlite3_finalize(st);
        return ERR_NOMEM;
    }
    size_t slot = c->next;
    c->next = (c->next + 1) % SQ_CACHE;
    sqlite3_finalize(c->cache[slot].st);
    free(c->cache[slot].sql);
    c->cache[slot].hash = h;
    c->cache[slot].sql = key;
    c->cache[slot].st = st;
    *out = st;
    return 0;
}

static int sq_exec(void *conn, const char *sql, const struct store_val *params, size_t n, struct store_res *res)
{
    struct sq_conn *c = conn;
    sqlite3 *db = c->db;
    if (n == 0 && res == NULL) {
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? 0 : map_err(db, rc);
    }
    sqlite3_stmt *st = NULL;
    int rc = stmt_for(c, sql, &st);
    if (rc < 0)
        return rc;
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        int idx = (int)i + 1;
        switch (params[i].t) {
        case STORE_V_INT:
            rc = sqlite3_bind_int64(st, idx, params[i].i);
            break;
        case STORE_V_TEXT:
            rc = sqlite3_bind_text(st, idx, params[i].s, -1, SQLITE_STATIC);
            break;
        case STORE_V_NULL:
        case STORE_V__COUNT:
            rc = sqlite3_bind_null(st, idx);
            break;
        }
        if (rc != SQLITE_OK)
            ret = map_err(db, rc);
    }
    size_t cap = 0;
    while (ret == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            ret = map_err(db, rc);
            break;
        }
        if (res != NULL)
            ret = collect_row(st, res, &cap);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (ret < 0) {
        if (res != NULL)
            store__res_free(res);
        return ret;
    }
    if (res != NULL)
        res->changes = sqlite3_changes64(db);
    return 0;
}

static size_t sq_max_pool(const char *target)
{
    /* Every connection to ":memory:" is a new, empty database. */
    if (strcmp(target, ":memory:") == 0 || strstr(target, "mode=memory") != NULL)
        return 1;
    return 4;
}

const struct store_ops store__sqlite_ops = {
    .name = "sqlite",
    .dialect = STORE_DIALECT_SQLITE,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .begin_sql = "BEGIN IMMEDIATE",
    .migrate_lock_sql = NULL,
    .id_column = "INTEGER PRIMARY KEY AUTOINCREMENT", /* ids never reused: tombstones keep them */
    .max_pool = sq_max_pool,
};
