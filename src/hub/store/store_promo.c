/* Promo codes: created by the admin, looked up when an invoice is priced, counted once per
 * customer when the payment that used them succeeds (store_payments.c). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

static const char *const kind_names[HUB_PROMO__COUNT] = {"money", "days", "percent"};

struct promo_arg {
    struct hub_promo *p;
    const char *code;
    int64_t promo_id, user_id, now;
    bool used;
    const struct store_audit *audit;
};

static int create_body(struct store_conn *sc, void *arg)
{
    struct promo_arg *a = arg;
    struct hub_promo *p = a->p;
    struct store_val v[] = {SV_T(p->code),        SV_T(kind_names[p->kind]), SV_I(p->value),
                            SV_TN(p->currency),   SV_I(p->max_uses),         SV_I(p->valid_from),
                            SV_I(p->valid_until), SV_I(p->enabled),          SV_I(a->now)};
    struct store_res r;
    TRY(store__exec(sc,
                    "INSERT INTO promo_codes (code, kind, value, currency, max_uses, valid_from, valid_until, enabled,"
                    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    v, 9, &r));
    p->id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    p->used = 0;
    p->created_at = a->now;
    return store__audit(sc, a->audit, a->now, "promo", p->id);
}

int store_promo_create(struct store *st, struct hub_promo *p, int64_t now, const struct store_audit *audit)
{
    if ((unsigned)p->kind >= HUB_PROMO__COUNT || p->value <= 0 || p->max_uses < 0 || p->code[0] == '\0')
        return ERR_RANGE;
    struct promo_arg a = {.p = p, .now = now, .audit = audit};
    return store__tx(st, create_body, &a);
}

static int get_body(struct store_conn *sc, void *arg)
{
    struct promo_arg *a = arg;
    struct store_val v[] = {SV_T(a->code)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, code, kind, value, currency, max_uses, used, valid_from, valid_until, enabled,"
                    " created_at FROM promo_codes WHERE code = $1",
                    v, 1, &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows == 1) {
        struct hub_promo *p = a->p;
        char kind[16];
        memset(p, 0, sizeof *p);
        p->id = store__cell_i64(&r, 0, 0);
        store__cell_str(&r, 0, 1, p->code, sizeof p->code);
        store__cell_str(&r, 0, 2, kind, sizeof kind);
        p->kind = HUB_PROMO__COUNT;
        for (int k = 0; k < HUB_PROMO__COUNT; k++)
            if (strcmp(kind, kind_names[k]) == 0)
                p->kind = (enum hub_promo_kind)k;
        p->value = store__cell_i64(&r, 0, 3);
        store__cell_str(&r, 0, 4, p->currency, sizeof p->currency);
        p->max_uses = store__cell_i64(&r, 0, 5);
        p->used = store__cell_i64(&r, 0, 6);
        p->valid_from = store__cell_i64(&r, 0, 7);
        p->valid_until = store__cell_i64(&r, 0, 8);
        p->enabled = store__cell_i64(&r, 0, 9) != 0;
        p->created_at = store__cell_i64(&r, 0, 10);
        rc = p->kind == HUB_PROMO__COUNT ? ERR_MALFORMED : 0;
    }
    store__res_free(&r);
    return rc;
}

int store_promo_get(struct store *st, const char *code, struct hub_promo *out)
{
    struct promo_arg a = {.p = out, .code = code};
    return store__ro(st, get_body, &a);
}

static int used_body(struct store_conn *sc, void *arg)
{
    struct promo_arg *a = arg;
    struct store_val v[] = {SV_I(a->promo_id), SV_I(a->user_id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT 1 FROM promo_uses WHERE promo_id = $1 AND user_id = $2", v, 2, &r));
    a->used = r.nrows > 0;
    store__res_free(&r);
    return 0;
}

int store_promo_used_by(struct store *st, int64_t promo_id, int64_t user_id, bool *used)
{
    struct promo_arg a = {.promo_id = promo_id, .user_id = user_id};
    TRY(store__ro(st, used_body, &a));
    *used = a.used;
    return 0;
}

struct plist {
    struct hub_promo *list;
    size_t n;
};

static int list_body(struct store_conn *sc, void *arg)
{
    struct plist *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT code FROM promo_codes ORDER BY id DESC LIMIT 1000", NULL, 0, &r));
    a->list = r.nrows ? calloc(r.nrows, sizeof *a->list) : NULL;
    if (r.nrows && a->list == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < r.nrows && rc == 0; i++) {
        struct promo_arg pa = {.p = &a->list[i], .code = store__cell(&r, i, 0)};
        rc = get_body(sc, &pa);
        a->n = i + 1;
    }
    store__res_free(&r);
    return rc;
}

int store_promo_list(struct store *st, struct hub_promo **out, size_t *n)
{
    struct plist a = {0};
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
