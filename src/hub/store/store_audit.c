/* The audit log: rows written with each change (store__audit), a hash chain over them, its
 * verification and the export for a SIEM.
 *
 * Chain: row_hash = SHA-256(canonical encoding of the row's fields and prev_hash), prev_hash is
 * the row_hash of the row before it (by id), 64 zeros for the first. The head (the last row's id
 * and hash) lives in audit_chain, updated in the same transaction as the row: every writer locks
 * it first (SELECT ... FOR UPDATE on PostgreSQL; SQLite has one writer at a time), so concurrent
 * writers append one after the other and never fork the chain, and deleting the newest rows is
 * caught by comparing the walk's end with the head. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/crypto.h"
#include "hub/store/store_int.h"

#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_BATCH 1000 /* rows per read while walking the chain */

/* One field: 0x00 for NULL, or 0x01, its length as 8 bytes big-endian, its bytes. Lengths make
 * the encoding unambiguous ("ab","c" differs from "a","bc"). */
static int put_field(struct buf *b, const char *s, size_t n)
{
    uint8_t h[9] = {s != NULL};
    for (int i = 0; i < 8; i++)
        h[1 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    return buf_append(b, h, s != NULL ? 9 : 1) < 0 || (n > 0 && buf_append(b, s, n) < 0) ? ERR_NOMEM : 0;
}

static int put_str(struct buf *b, const char *s)
{
    return put_field(b, s, s != NULL ? strlen(s) : 0);
}

static int put_int(struct buf *b, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    return put_field(b, t, (size_t)n);
}

int store__audit_hash(const struct store_audit_cells *c, const char *prev_hash, char out[static 65])
{
    struct buf b;
    buf_init(&b);
    int rc = put_str(&b, "veil-audit-v1");
    rc = rc ? rc : put_int(&b, c->id);
    rc = rc ? rc : put_int(&b, c->at);
    rc = rc ? rc : put_str(&b, c->actor);
    rc = rc ? rc : put_str(&b, c->action);
    rc = rc ? rc : put_str(&b, c->target);
    rc = rc ? rc : put_str(&b, c->source_ip);
    rc = rc ? rc : put_str(&b, c->details);
    rc = rc ? rc : put_str(&b, prev_hash);
    uint8_t md[32];
    if (rc == 0 && crypto_hash(CRYPTO_SHA256, buf_data(&b), buf_len(&b), md) < 0)
        rc = ERR_CRYPTO;
    buf_dispose(&b);
    for (size_t i = 0; rc == 0 && i < sizeof md; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return rc;
}

/* Locks the chain head for this transaction and reads it. */
static int head_lock(struct store_conn *sc, int64_t *last_id, char last_hash[static 65])
{
    const char *sql = sc->st->ops->dialect == STORE_DIALECT_PG
                          ? "SELECT last_id, last_hash FROM audit_chain WHERE id = 1 FOR UPDATE"
                          : "SELECT last_id, last_hash FROM audit_chain WHERE id = 1";
    struct store_res r;
    TRY(store__exec(sc, sql, NULL, 0, &r));
    int rc = r.nrows == 1 ? 0 : ERR_INTERNAL;
    if (rc == 0) {
        *last_id = store__cell_i64(&r, 0, 0);
        store__cell_str(&r, 0, 1, last_hash, 65);
    }
    store__res_free(&r);
    return rc;
}

/* Hashes the row c (its id known), stores both hashes on it and moves the head to it. */
static int chain_row(struct store_conn *sc, const struct store_audit_cells *c, char prev[static 65])
{
    char h[65];
    TRY(store__audit_hash(c, prev, h));
    struct store_val p[] = {SV_T(prev), SV_T(h), SV_I(c->id)};
    TRY(store__exec(sc, "UPDATE audit_log SET prev_hash = $1, row_hash = $2 WHERE id = $3", p, 3, NULL));
    struct store_val q[] = {SV_I(c->id), SV_T(h)};
    TRY(store__exec(sc, "UPDATE audit_chain SET last_id = $1, last_hash = $2 WHERE id = 1", q, 2, NULL));
    memcpy(prev, h, 65);
    return 0;
}

int store__audit(struct store_conn *sc, const struct store_audit *a, int64_t now, const char *kind, int64_t id)
{
    if (a == NULL)
        return 0;
    char target[96];
    if (a->target != NULL)
        snprintf(target, sizeof target, "%s", a->target);
    else if (kind != NULL)
        snprintf(target, sizeof target, "%s:%" PRId64, kind, id);
    else
        target[0] = '\0';
    int64_t last_id;
    char prev[65];
    TRY(head_lock(sc, &last_id, prev));
    /* The row as stored: empty optional strings become NULL (SV_TN), and are hashed so. */
    struct store_audit_cells c = {.at = now,
                                  .actor = a->actor ? a->actor : "?",
                                  .action = a->action ? a->action : "?",
                                  .target = target[0] ? target : NULL,
                                  .source_ip = a->source_ip && a->source_ip[0] ? a->source_ip : NULL,
                                  .details = a->details && a->details[0] ? a->details : NULL};
    struct store_val p[] = {SV_T(c.actor), SV_T(c.action),     SV_TN(c.target),
                            SV_I(now),     SV_TN(c.source_ip), SV_TN(c.details)};
    struct store_res r;
    TRY(store__exec(sc,
                    "INSERT INTO audit_log (actor, action, target, at, source_ip, details) "
                    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    p, 6, &r));
    int rc = r.nrows == 1 ? 0 : ERR_INTERNAL;
    if (rc == 0)
        c.id = store__cell_i64(&r, 0, 0);
    store__res_free(&r);
    return rc < 0 ? rc : chain_row(sc, &c, prev);
}

struct audit_add_arg {
    const struct store_audit *a;
    int64_t now;
};

static int audit_add_body(struct store_conn *sc, void *arg)
{
    struct audit_add_arg *x = arg;
    return store__audit(sc, x->a, x->now, NULL, 0);
}

int store_audit_add(struct store *st, const struct store_audit *a, int64_t now)
{
    struct audit_add_arg x = {a, now};
    return store__tx(st, audit_add_body, &x);
}

struct token_ip_arg {
    const char *actor, *ip;
    int64_t now;
    bool added;
};

static int token_ip_body(struct store_conn *sc, void *arg)
{
    struct token_ip_arg *x = arg;
    struct store_val p[] = {SV_T(x->actor), SV_T(x->ip), SV_I(x->now)};
    struct store_res r;
    TRY(store__exec(sc, "INSERT INTO token_ips (actor, ip, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", p,
                    3, &r));
    x->added = r.changes == 1;
    store__res_free(&r);
    if (!x->added)
        return 0; /* another request recorded it first */
    struct store_audit a = {.actor = x->actor, .action = "token.new_ip", .target = x->actor, .source_ip = x->ip};
    return store__audit(sc, &a, x->now, NULL, 0);
}

int store_audit_token_ip(struct store *st, const char *actor, const char *ip, int64_t now)
{
    if (actor == NULL || ip == NULL || ip[0] == '\0')
        return 0;
    /* The common case, a known address, is one read; only a new one takes the write path. */
    struct store_conn sc;
    TRY(store__acquire(st, &sc));
    struct store_val p[] = {SV_T(actor), SV_T(ip)};
    struct store_res r;
    int rc = store__exec(&sc, "SELECT 1 FROM token_ips WHERE actor = $1 AND ip = $2", p, 2, &r);
    bool known = rc == 0 && r.nrows > 0;
    if (rc == 0)
        store__res_free(&r);
    store__release(&sc);
    if (rc < 0 || known)
        return rc;
    struct token_ip_arg x = {actor, ip, now, false};
    TRY(store__tx(st, token_ip_body, &x));
    return x.added;
}

static void cells_from_row(const struct store_res *r, size_t i, struct store_audit_cells *c)
{
    c->id = store__cell_i64(r, i, 0);
    c->actor = store__cell(r, i, 1);
    c->action = store__cell(r, i, 2);
    c->target = store__cell(r, i, 3);
    c->at = store__cell_i64(r, i, 4);
    c->source_ip = store__cell(r, i, 5);
    c->details = store__cell(r, i, 6);
    c->prev_hash = store__cell(r, i, 7);
    c->row_hash = store__cell(r, i, 8);
}

/* Rows with id in (after, upto], in id order, AUDIT_BATCH at a time, each handed to fn. */
static int walk(struct store_conn *sc, int64_t after, int64_t upto,
                int (*fn)(struct store_conn *sc, const struct store_audit_cells *c, void *arg), void *arg)
{
    for (;;) {
        struct store_val p[] = {SV_I(after), SV_I(upto), SV_I(AUDIT_BATCH)};
        struct store_res r;
        TRY(store__exec(sc,
                        "SELECT id, actor, action, target, at, source_ip, details, prev_hash, row_hash FROM audit_log "
                        "WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
                        p, 3, &r));
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
            struct store_audit_cells c;
            cells_from_row(&r, i, &c);
            rc = fn(sc, &c, arg);
            after = c.id;
        }
        size_t n = r.nrows;
        store__res_free(&r);
        if (rc != 0 || n < AUDIT_BATCH)
            return rc;
    }
}

/* ---- migration: chain the rows written before the chain existed ---- */

static int backfill_row(struct store_conn *sc, const struct store_audit_cells *c, void *arg)
{
    return chain_row(sc, c, arg);
}

int store__audit_chain_backfill(struct store_conn *sc)
{
    char prev[65] = AUDIT_GENESIS;
    return walk(sc, 0, INT64_MAX, backfill_row, prev);
}

/* ---- verification ---- */

struct verify_arg {
    struct store_audit_verify *v;
    char prev[65];
    int64_t prev_id;
};

static int verify_row(struct store_conn *sc, const struct store_audit_cells *c, void *arg)
{
    (void)sc;
    struct verify_arg *a = arg;
    struct store_audit_verify *v = a->v;
    char h[65];
    if (c->prev_hash == NULL || c->row_hash == NULL) {
        snprintf(v->why, sizeof v->why, "row %" PRId64 " has no hash (written outside the chain)", c->id);
    } else if (strcmp(c->prev_hash, a->prev) != 0) {
        if (a->prev_id == 0)
            snprintf(v->why, sizeof v->why,
                     "row %" PRId64 " links to a row that is gone: the first row(s) of the log were deleted", c->id);
        else
            snprintf(v->why, sizeof v->why,
                     "row %" PRId64 " does not link to row %" PRId64 ": a row between them was deleted or changed",
                     c->id, a->prev_id);
    } else {
        TRY(store__audit_hash(c, c->prev_hash, h));
        if (strcmp(h, c->row_hash) != 0)
            snprintf(v->why, sizeof v->why, "row %" PRId64 " was changed after it was written (its hash differs)",
                     c->id);
    }
    if (v->why[0]) {
        v->broken_id = c->id;
        return 1; /* stop at the first broken link */
    }
    memcpy(a->prev, c->row_hash, 65);
    a->prev_id = c->id;
    v->rows++;
    return 0;
}

int store_audit_verify(struct store *st, struct store_audit_verify *v)
{
    memset(v, 0, sizeof *v);
    struct store_conn sc;
    TRY(store__acquire(st, &sc));
    struct store_res r;
    int64_t head_id = 0;
    char head[65] = "";
    int rc = store__exec(&sc, "SELECT last_id, last_hash FROM audit_chain WHERE id = 1", NULL, 0, &r);
    if (rc == 0) {
        if (r.nrows == 1) {
            head_id = store__cell_i64(&r, 0, 0);
            store__cell_str(&r, 0, 1, head, sizeof head);
        } else {
            rc = ERR_INTERNAL;
        }
        store__res_free(&r);
    }
    struct verify_arg a = {.v = v, .prev = AUDIT_GENESIS};
    if (rc == 0)
        rc = walk(&sc, 0, head_id, verify_row, &a);
    store__release(&sc);
    if (rc < 0)
        return rc;
    if (rc == 0 && (a.prev_id != head_id || strcmp(a.prev, head) != 0)) {
        v->broken_id = a.prev_id + 1;
        snprintf(v->why, sizeof v->why,
                 "the log ends at row %" PRId64 " but the chain head is row %" PRId64
                 ": the newest row(s) were deleted or the head was changed",
                 a.prev_id, head_id);
    }
    v->ok = v->why[0] == '\0';
    v->last_id = a.prev_id;
    memcpy(v->head, a.prev, sizeof v->head);
    return 0;
}

/* ---- export ---- */

struct export_arg {
    store_audit_export_fn *fn;
    void *arg;
};

static int export_row(struct store_conn *sc, const struct store_audit_cells *c, void *arg)
{
    (void)sc;
    struct export_arg *a = arg;
    return a->fn(a->arg, c);
}

int store_audit_export(struct store *st, int64_t after_id, store_audit_export_fn *fn, void *arg)
{
    struct store_conn sc;
    TRY(store__acquire(st, &sc));
    struct export_arg a = {fn, arg};
    int rc = walk(&sc, after_id, INT64_MAX, export_row, &a);
    store__release(&sc);
    return rc;
}

/* ---- the admin API's reader ---- */

struct audit_list_arg {
    int64_t before, limit;
    struct store_audit_row *rows;
    size_t n;
};

static int audit_list_body(struct store_conn *sc, void *arg)
{
    struct audit_list_arg *a = arg;
    struct store_val p[] = {SV_I(a->before), SV_I(a->limit)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, actor, action, target, at, source_ip, details FROM audit_log WHERE id < $1 "
                    "ORDER BY id DESC LIMIT $2",
                    p, 2, &r));
    if (r.nrows > 0 && (a->rows = calloc(r.nrows, sizeof *a->rows)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct store_audit_row *w = &a->rows[i];
        w->id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, w->actor, sizeof w->actor);
        store__cell_str(&r, i, 2, w->action, sizeof w->action);
        store__cell_str(&r, i, 3, w->target, sizeof w->target);
        w->at = store__cell_i64(&r, i, 4);
        store__cell_str(&r, i, 5, w->source_ip, sizeof w->source_ip);
        const char *d = store__cell(&r, i, 6);
        w->details = d ? strdup(d) : NULL;
        a->n++;
    }
    store__res_free(&r);
    return 0;
}

int store_audit_list(struct store *st, int64_t limit, struct store_audit_row **out, size_t *n)
{
    return store_audit_page(st, 0, limit, out, n);
}

int store_audit_page(struct store *st, int64_t before_id, int64_t limit, struct store_audit_row **out, size_t *n)
{
    struct audit_list_arg a = {.before = before_id > 0 ? before_id : INT64_MAX, .limit = limit <= 0 ? 100 : limit};
    int rc = store__ro(st, audit_list_body, &a);
    if (rc < 0) {
        store_audit_rows_free(a.rows, a.n);
        a.rows = NULL;
        a.n = 0;
    }
    *out = a.rows;
    *n = a.n;
    return rc;
}

void store_audit_rows_free(struct store_audit_row *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++)
        free(rows[i].details);
    free(rows);
}
