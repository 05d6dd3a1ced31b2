/* Findings of the suspicious-activity analysis: one row per (kind, subject). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/store/store_findings.h"
#include "hub/store/store_int.h"

struct raise_arg {
    const char *kind, *subject, *severity, *details;
    int64_t now, reopen_after;
    bool is_new;
};

static int raise_body(struct store_conn *sc, void *arg)
{
    struct raise_arg *a = arg;
    struct store_val pk[] = {SV_T(a->kind), SV_T(a->subject)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT id, state, last_seen FROM findings WHERE kind = $1 AND subject = $2", pk, 2, &r));
    if (r.nrows == 0) {
        store__res_free(&r);
        struct store_val pi[] = {SV_T(a->kind), SV_T(a->subject), SV_T(a->severity), SV_TN(a->details), SV_I(a->now)};
        TRY(store__exec(sc,
                        "INSERT INTO findings (kind, subject, severity, details, first_seen, last_seen, count, state)"
                        " VALUES ($1, $2, $3, $4, $5, $5, 1, 'open')",
                        pi, 5, NULL));
        a->is_new = true;
        return 0;
    }
    int64_t id = store__cell_i64(&r, 0, 0);
    const char *state = store__cell(&r, 0, 1);
    bool reopen = state != NULL && strcmp(state, "open") != 0 && store__cell_i64(&r, 0, 2) < a->now - a->reopen_after;
    store__res_free(&r);
    struct store_val pu[] = {SV_T(a->severity), SV_TN(a->details), SV_I(a->now), SV_I(id)};
    TRY(store__exec(sc,
                    reopen ? "UPDATE findings SET severity = $1, details = $2, last_seen = $3, count = count + 1,"
                             " state = 'open', first_seen = $3 WHERE id = $4"
                           : "UPDATE findings SET severity = $1, details = $2, last_seen = $3, count = count + 1"
                             " WHERE id = $4",
                    pu, 4, NULL));
    a->is_new = reopen;
    return 0;
}

int store_finding_raise(struct store *st, const char *kind, const char *subject, const char *severity,
                        const char *details, int64_t now, int64_t reopen_after, bool *is_new)
{
    if (kind == NULL || subject == NULL || severity == NULL || strlen(kind) > 32 || strlen(subject) > 96 ||
        strlen(severity) > 16)
        return ERR_MALFORMED;
    struct raise_arg a = {kind, subject, severity, details, now, reopen_after, false};
    TRY(store__tx(st, raise_body, &a));
    if (is_new != NULL)
        *is_new = a.is_new;
    return 0;
}

struct list_arg {
    const struct store_finding_filter *f;
    struct store_finding *list;
    size_t n;
};

static int list_body(struct store_conn *sc, void *arg)
{
    struct list_arg *a = arg;
    const struct store_finding_filter *f = a->f;
    /* A NULL filter value matches everything; the casts tell PostgreSQL the type of a NULL. */
    struct store_val p[] = {SV_TN(f->kind), SV_TN(f->state), SV_TN(f->subject), SV_I(f->limit)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, kind, subject, severity, state, details, first_seen, last_seen, count FROM findings"
                    " WHERE (CAST($1 AS TEXT) IS NULL OR kind = $1) AND (CAST($2 AS TEXT) IS NULL OR state = $2)"
                    " AND (CAST($3 AS TEXT) IS NULL OR subject = $3)"
                    " ORDER BY last_seen DESC, id DESC LIMIT $4",
                    p, 4, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct store_finding *x = &a->list[i];
        x->id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, x->kind, sizeof x->kind);
        store__cell_str(&r, i, 2, x->subject, sizeof x->subject);
        store__cell_str(&r, i, 3, x->severity, sizeof x->severity);
        store__cell_str(&r, i, 4, x->state, sizeof x->state);
        const char *d = store__cell(&r, i, 5);
        if (d != NULL && (x->details = strdup(d)) == NULL) {
            a->n = i;
            store__res_free(&r);
            return ERR_NOMEM;
        }
        x->first_seen = store__cell_i64(&r, i, 6);
        x->last_seen = store__cell_i64(&r, i, 7);
        x->count = store__cell_i64(&r, i, 8);
    }
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_finding_list(struct store *st, const struct store_finding_filter *f, struct store_finding **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (f == NULL || f->limit < 1 || f->limit > 1000)
        return ERR_RANGE;
    struct list_arg a = {.f = f};
    int rc = store__ro(st, list_body, &a);
    if (rc < 0) {
        store_findings_free(a.list, a.n);
        return rc;
    }
    *out = a.list;
    *n = a.n;
    return 0;
}

void store_findings_free(struct store_finding *f, size_t n)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(f[i].details);
    free(f);
}

struct ack_arg {
    int64_t id, now;
    const struct store_audit *audit;
};

static int ack_body(struct store_conn *sc, void *arg)
{
    struct ack_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    int64_t changed = 0;
    TRY(store__exec_changes(sc, "UPDATE findings SET state = 'acknowledged' WHERE id = $1", p, 1, &changed));
    if (changed != 1)
        return ERR_NOT_FOUND;
    return store__audit(sc, a->audit, a->now, "finding", a->id);
}

int store_finding_ack(struct store *st, int64_t id, int64_t now, const struct store_audit *audit)
{
    struct ack_arg a = {id, now, audit};
    return store__tx(st, ack_body, &a);
}

struct counts_arg {
    char (*kinds)[33];
    int64_t *counts;
    size_t cap, n;
};

static int counts_body(struct store_conn *sc, void *arg)
{
    struct counts_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT kind, count(*) FROM findings WHERE state = 'open' GROUP BY kind ORDER BY kind", NULL, 0,
                    &r));
    for (size_t i = 0; i < r.nrows && a->n < a->cap; i++, a->n++) {
        store__cell_str(&r, i, 0, a->kinds[a->n], sizeof a->kinds[a->n]);
        a->counts[a->n] = store__cell_i64(&r, i, 1);
    }
    store__res_free(&r);
    return 0;
}

int store_finding_open_counts(struct store *st, char (*kinds)[33], int64_t *counts, size_t cap, size_t *n)
{
    struct counts_arg a = {kinds, counts, cap, 0};
    int rc = store__ro(st, counts_body, &a);
    *n = rc < 0 ? 0 : a.n;
    return rc;
}
