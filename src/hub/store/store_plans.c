/* Plans and their per-currency prices. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

#define PLAN_COLS "id, name, duration_days, quota_bytes, device_limit, reset_strategy, enabled, created_at, node_groups"

static void plan_from_row(const struct store_res *r, size_t i, struct hub_plan *p)
{
    char reset[16];
    memset(p, 0, sizeof *p);
    p->id = store__cell_i64(r, i, 0);
    store__cell_str(r, i, 1, p->name, sizeof p->name);
    p->duration_days = store__cell_i64(r, i, 2);
    p->quota_bytes = store__cell_i64(r, i, 3);
    p->device_limit = store__cell_i64(r, i, 4);
    store__cell_str(r, i, 5, reset, sizeof reset);
    int rs = hub_reset_parse(reset);
    p->reset = rs < 0 ? HUB_RESET_NONE : (enum hub_reset)rs;
    p->enabled = store__cell_i64(r, i, 6) != 0;
    p->created_at = store__cell_i64(r, i, 7);
    store__cell_str(r, i, 8, p->node_groups, sizeof p->node_groups);
}

static int load_prices(struct store_conn *sc, struct hub_plan *p)
{
    struct store_val v[] = {SV_I(p->id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT currency, amount_minor FROM plan_prices WHERE plan_id = $1 ORDER BY currency", v, 1,
                    &r));
    p->n_prices = 0;
    for (size_t i = 0; i < r.nrows && i < HUB_PLAN_PRICES_MAX; i++) {
        store__cell_str(&r, i, 0, p->prices[i].currency, sizeof p->prices[i].currency);
        p->prices[i].amount_minor = store__cell_i64(&r, i, 1);
        p->n_prices++;
    }
    store__res_free(&r);
    return 0;
}

static int save_prices(struct store_conn *sc, const struct hub_plan *p)
{
    struct store_val v[] = {SV_I(p->id)};
    TRY(store__exec(sc, "DELETE FROM plan_prices WHERE plan_id = $1", v, 1, NULL));
    for (size_t i = 0; i < p->n_prices; i++) {
        struct store_val pv[] = {SV_I(p->id), SV_T(p->prices[i].currency), SV_I(p->prices[i].amount_minor)};
        TRY(store__exec(sc, "INSERT INTO plan_prices (plan_id, currency, amount_minor) VALUES ($1, $2, $3)", pv, 3,
                        NULL));
    }
    return 0;
}

struct plan_arg {
    struct hub_plan *p;
    const struct hub_plan *cp;
    int64_t id, now;
    const struct store_audit *audit;
    struct hub_plan *list;
    size_t n;
};

static int create_body(struct store_conn *sc, void *arg)
{
    struct plan_arg *a = arg;
    struct hub_plan *p = a->p;
    struct store_val v[] = {SV_T(p->name),
                            SV_I(p->duration_days),
                            SV_I(p->quota_bytes),
                            SV_I(p->device_limit),
                            SV_T(hub_reset_name(p->reset)),
                            SV_I(p->enabled),
                            SV_I(a->now),
                            SV_T(p->node_groups)};
    struct store_res r;
    TRY(store__exec(sc,
                    "INSERT INTO plans (name, duration_days, quota_bytes, device_limit, reset_strategy, enabled,"
                    " created_at, node_groups) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    v, 8, &r));
    if (r.nrows != 1) {
        store__res_free(&r);
        return ERR_INTERNAL;
    }
    p->id = store__cell_i64(&r, 0, 0);
    p->created_at = a->now;
    store__res_free(&r);
    TRY(save_prices(sc, p));
    return store__audit(sc, a->audit, a->now, "plan", p->id);
}

int store_plan_create(struct store *st, struct hub_plan *p, int64_t now, const struct store_audit *audit)
{
    struct plan_arg a = {.p = p, .now = now, .audit = audit};
    return store__tx(st, create_body, &a);
}

static int get_one(struct store_conn *sc, int64_t id, struct hub_plan *out)
{
    struct store_val v[] = {SV_I(id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT " PLAN_COLS " FROM plans WHERE id = $1", v, 1, &r));
    if (r.nrows != 1) {
        store__res_free(&r);
        return ERR_NOT_FOUND;
    }
    plan_from_row(&r, 0, out);
    store__res_free(&r);
    return load_prices(sc, out);
}

static int get_body(struct store_conn *sc, void *arg)
{
    struct plan_arg *a = arg;
    return get_one(sc, a->id, a->p);
}

int store_plan_get(struct store *st, int64_t id, struct hub_plan *out)
{
    struct plan_arg a = {.id = id, .p = out};
    return store__ro(st, get_body, &a);
}

static int list_body(struct store_conn *sc, void *arg)
{
    struct plan_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT " PLAN_COLS " FROM plans ORDER BY id", NULL, 0, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    a->n = r.nrows;
    for (size_t i = 0; i < r.nrows; i++)
        plan_from_row(&r, i, &a->list[i]);
    store__res_free(&r);
    for (size_t i = 0; i < a->n; i++)
        TRY(load_prices(sc, &a->list[i]));
    return 0;
}

int store_plan_list(struct store *st, struct hub_plan **out, size_t *n)
{
    struct plan_arg a = {0};
    int rc = store__ro(st, list_body, &a);
    if (rc < 0) {
        free(a.list);
        a.list = NULL;
        a.n = 0;
    }
    *out = a.list;
    *n = a.n;
    return rc;
}

static int update_body(struct store_conn *sc, void *arg)
{
    struct plan_arg *a = arg;
    const struct hub_plan *p = a->cp;
    struct store_val v[] = {SV_T(p->name),
                            SV_I(p->duration_days),
                            SV_I(p->quota_bytes),
                            SV_I(p->device_limit),
                            SV_T(hub_reset_name(p->reset)),
                            SV_I(p->enabled),
                            SV_I(p->id),
                            SV_T(p->node_groups)};
    int64_t changed = 0;
    TRY(store__exec_changes(sc,
                            "UPDATE plans SET name = $1, duration_days = $2, quota_bytes = $3, device_limit = $4,"
                            " reset_strategy = $5, enabled = $6, node_groups = $8 WHERE id = $7",
                            v, 8, &changed));
    if (changed != 1)
        return ERR_NOT_FOUND;
    TRY(save_prices(sc, p));
    return store__audit(sc, a->audit, a->now, "plan", p->id);
}

int store_plan_update(struct store *st, const struct hub_plan *p, int64_t now, const struct store_audit *audit)
{
    struct plan_arg a = {.cp = p, .audit = audit, .now = now};
    return store__tx(st, update_body, &a);
}

static int delete_body(struct store_conn *sc, void *arg)
{
    struct plan_arg *a = arg;
    struct store_val v[] = {SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT count(*) FROM subscriptions WHERE plan_id = $1", v, 1, &r));
    int64_t used = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    if (used > 0)
        return ERR_BAD_STATE;
    TRY(store__exec(sc, "DELETE FROM plan_prices WHERE plan_id = $1", v, 1, NULL));
    int64_t changed = 0;
    TRY(store__exec_changes(sc, "DELETE FROM plans WHERE id = $1", v, 1, &changed));
    if (changed != 1)
        return ERR_NOT_FOUND;
    return store__audit(sc, a->audit, a->now, "plan", a->id);
}

int store_plan_delete(struct store *st, int64_t id, int64_t now, const struct store_audit *audit)
{
    struct plan_arg a = {.id = id, .audit = audit, .now = now};
    return store__tx(st, delete_body, &a);
}
