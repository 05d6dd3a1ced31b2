/* The audit log reader (rows are written by store__audit with each change). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/store/store_int.h"

struct audit_list_arg {
    int64_t limit;
    struct store_audit_row *rows;
    size_t n;
};

static int audit_list_body(struct store_conn *sc, void *arg)
{
    struct audit_list_arg *a = arg;
    struct store_val p[] = {SV_I(a->limit)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, actor, action, target, at, source_ip, details FROM audit_log ORDER BY id DESC LIMIT $1",
                    p, 1, &r));
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
    struct audit_list_arg a = {.limit = limit <= 0 ? 100 : limit};
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
