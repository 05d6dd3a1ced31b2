/* PostgreSQL backend over libpq: one blocking connection per pool slot, parameters sent as
 * text, SQLSTATE mapped onto our error codes. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/store/store_int.h"

#define PG_MAX_PARAMS 32
#define PG_CACHE 64

/* One connection with the statements it has prepared (named "v<n>"), so the server parses and
 * plans each query once per connection instead of once per call. */
struct pg_conn {
    PGconn *db;
    unsigned next_name;
    size_t next_slot;
    struct {
        uint64_t hash;
        char *sql;
        char name[16];
    } cache[PG_CACHE];
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static void cache_clear(struct pg_conn *c)
{
    for (size_t i = 0; i < PG_CACHE; i++) {
        free(c->cache[i].sql);
        c->cache[i].sql = NULL;
    }
}

static int map_state(PGconn *db, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state != NULL) {
        if (strcmp(state, "23505") == 0)
            return ERR_EXISTS;
        if (strncmp(state, "23", 2) == 0)
            return ERR_BAD_STATE;
        if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
            return ERR_TIMEOUT;
        if (strcmp(state, "22003") == 0)
            return ERR_RANGE;
        /* Connection exceptions, the server shutting down or starting, and a read-only server
         * (a primary that was demoted under us): the database is unavailable here for now,
         * another connection (after a failover) may succeed. */
        if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 || strcmp(state, "25006") == 0)
            return ERR_CLOSED;
    }
    /* No SQLSTATE: libpq lost the connection (the server died mid-query). */
    if (PQstatus(db) != CONNECTION_OK) {
        log_warn("store", 0, "pg_connection_lost", LF_STR("msg", PQerrorMessage(db)));
        return ERR_CLOSED;
    }
    log_warn("store", 0, "pg_error", LF_STR("sqlstate", state ? state : ""), LF_STR("msg", PQerrorMessage(db)));
    return ERR_IO;
}

static void pg_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* "relation already exists, skipping" and friends: not worth a log line */
}

static int pg_connect(const char *target, void **conn)
{
    PGconn *db = PQconnectdb(target);
    if (db == NULL)
        return ERR_NOMEM;
    if (PQstatus(db) != CONNECTION_OK) {
        log_err("store", 0, "pg_connect_failed", LF_STR("msg", PQerrorMessage(db)));
        PQfinish(db);
        return ERR_IO;
    }
    PQsetNoticeProcessor(db, pg_notice, NULL);
    PGresult *r = PQexec(db, "SET TIME ZONE 'UTC'");
    PQclear(r);
    struct pg_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        PQfinish(db);
        return ERR_NOMEM;
    }
    c->db = db;
    *conn = c;
    return 0;
}

static void pg_disconnect(void *conn)
{
    struct pg_conn *c = conn;
    if (c == NULL)
        return;
    cache_clear(c);
    PQfinish(c->db);
    free(c);
}

/* The name of the prepared statement for sql, preparing it on first use. NULL on failure (a
 * failed prepare inside a transaction aborts it, like a failed query would). */
static const char *prepared(struct pg_conn *c, const char *sql, size_t n, int *rc)
{
    uint64_t h = fnv1a(sql);
    for (size_t i = 0; i < PG_CACHE; i++)
        if (c->cache[i].sql != NULL && c->cache[i].hash == h && strcmp(c->cache[i].sql, sql) == 0)
            return c->cache[i].name;
    size_t slot = c->next_slot;
    c->next_slot = (c->next_slot + 1) % PG_CACHE;
    if (c->cache[slot].sql != NULL) {
        char dealloc[48];
        snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", c->cache[slot].name);
        PQclear(PQexec(c->db, dealloc));
        free(c->cache[slot].sql);
        c->cache[slot].sql = NULL;
    }
    char name[16];
    snprintf(name, sizeof name, "v%u", c->next_name++);
    PGresult *r = PQprepare(c->db, name, sql, (int)n, NULL);
    if (r == NULL) {
        *rc = ERR_NOMEM;
        return NULL;
    }
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        *rc = map_state(c->db, r);
        PQclear(r);
        return NULL;
    }
    PQclear(r);
    char *key = strdup(sql);
    if (key == NULL) {
        *rc = ERR_NOMEM;
        return NULL;
    }
    c->cache[slot].hash = h;
    c->cache[slot].sql = key;
    memcpy(c->cache[slot].name, name, sizeof name);
    return c->cache[slot].name;
}

static int pg_exec(void *conn, const char *sql, const struct store_val *params, size_t n, struct store_res *res)
{
    struct pg_conn *c = conn;
    PGconn *db = c->db;
    if (n > PG_MAX_PARAMS)
        return ERR_LIMIT;
    /* A dropped connection (server restart, failover) is re-established once before giving up;
     * its prepared statements died with the old session. With a multi-host URL and
     * target_session_attrs=read-write, PQreset tries every host and keeps the one that is
     * primary now. ERR_CLOSED (503, retry) while none is. */
    if (PQstatus(db) != CONNECTION_OK) {
        PQreset(db);
        cache_clear(c);
        if (PQstatus(db) != CONNECTION_OK) {
            log_warn("store", 0, "pg_reconnect_failed", LF_STR("msg", PQerrorMessage(db)));
            return ERR_CLOSED;
        }
        PQclear(PQexec(db, "SET TIME ZONE 'UTC'"));
        log_info("store", 0, "pg_reconnected", LF_STR("host", PQhost(db)), LF_STR("port", PQport(db)));
    }
    PGresult *r;
    if (n == 0 && res == NULL) {
        r = PQexec(db, sql);
    } else {
        char ints[PG_MAX_PARAMS][24];
        const char *vals[PG_MAX_PARAMS];
        for (size_t i = 0; i < n; i++) {
            switch (params[i].t) {
            case STORE_V_INT:
                snprintf(ints[i], sizeof ints[i], "%" PRId64, params[i].i);
                vals[i] = ints[i];
                break;
            case STORE_V_TEXT:
                vals[i] = params[i].s;
                break;
            case STORE_V_NULL:
            case STORE_V__COUNT:
                vals[i] = NULL;
                break;
            }
        }
        int prc = 0;
        const char *name = prepared(c, sql, n, &prc);
        if (name == NULL)
            return prc;
        r = PQexecPrepared(db, name, (int)n, vals, NULL, NULL, 0);
    }
    if (r == NULL)
        return ERR_NOMEM;
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        int rc = map_state(db, r);
        PQclear(r);
        return rc;
    }
    if (res != NULL) {
        const char *ct = PQcmdTuples(r);
        res->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
        res->nrows = (size_t)PQntuples(r);
        res->ncols = (size_t)PQnfields(r);
        if (res->nrows * res->ncols > 0) {
            res->cells = calloc(res->nrows * res->ncols, sizeof *res->cells);
            if (res->cells == NULL) {
                PQclear(r);
                memset(res, 0, sizeof *res);
                return ERR_NOMEM;
            }
            for (size_t i = 0; i < res->nrows; i++) {
                for (size_t k = 0; k < res->ncols; k++) {
                    if (PQgetisnull(r, (int)i, (int)k))
                        continue;
                    char *v = strdup(PQgetvalue(r, (int)i, (int)k));
                    if (v == NULL) {
                        PQclear(r);
                        store__res_free(res);
                        return ERR_NOMEM;
                    }
                    res->cells[i * res->ncols + k] = v;
                }
            }
        }
    }
    PQclear(r);
    return 0;
}

static size_t pg_max_pool(const char *target)
{
    (void)target;
    return 32;
}

const struct store_ops store__pg_ops = {
    .name = "postgresql",
    .dialect = STORE_DIALECT_PG,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .begin_sql = "BEGIN",
    /* Two replicas starting at once must not both create the tables. */
    .migrate_lock_sql = "SELECT pg_advisory_xact_lock(7403021)",
    .id_column = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .max_pool = pg_max_pool,
};
