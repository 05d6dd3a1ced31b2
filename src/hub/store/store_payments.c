/* Payments: invoices (one row per attempt), their state changes, and the one grant step that
 * turns a succeeded payment into service (plan, top-up, promo use, referral rewards) inside the
 * same transaction as the state change, so it happens exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

/* payments.raw as written by the statement itself: NULL when the store seals it, which
 * store__payment_raw_tx then does once the row id (its associated data) is known. */
#define RAW_PARAM(sc, raw) (store__sealed(sc) ? SV_NULL : SV_TN(raw))

#define PAY_COLS                                                                                                       \
    "id, user_id, provider, external_id, idempotency_key, amount_minor, currency, status, created_at, plan_id, "       \
    "bonus_days, discount_minor, promo_id, pay_url, flag, charge_id, expires_at, settled_at, updated_at"

static void pay_from_row(const struct store_res *r, size_t i, struct hub_payment *e)
{
    char status[16];
    memset(e, 0, sizeof *e);
    e->id = store__cell_i64(r, i, 0);
    e->user_id = store__cell_i64(r, i, 1);
    store__cell_str(r, i, 2, e->provider, sizeof e->provider);
    store__cell_str(r, i, 3, e->external_id, sizeof e->external_id);
    store__cell_str(r, i, 4, e->idempotency_key, sizeof e->idempotency_key);
    e->amount_minor = store__cell_i64(r, i, 5);
    store__cell_str(r, i, 6, e->currency, sizeof e->currency);
    store__cell_str(r, i, 7, status, sizeof status);
    int st = hub_pay_status_parse(status);
    e->status = st < 0 ? HUB_PAY_PENDING : (enum hub_pay_status)st;
    e->created_at = store__cell_i64(r, i, 8);
    e->plan_id = store__cell_i64(r, i, 9);
    e->bonus_days = store__cell_i64(r, i, 10);
    e->discount_minor = store__cell_i64(r, i, 11);
    e->promo_id = store__cell_i64(r, i, 12);
    store__cell_str(r, i, 13, e->pay_url, sizeof e->pay_url);
    store__cell_str(r, i, 14, e->flag, sizeof e->flag);
    store__cell_str(r, i, 15, e->charge_id, sizeof e->charge_id);
    e->expires_at = store__cell_i64(r, i, 16);
    e->settled_at = store__cell_i64(r, i, 17);
    e->updated_at = store__cell_i64(r, i, 18);
}

static int load_pay(struct store_conn *sc, int64_t id, struct hub_payment *out)
{
    struct store_val p[] = {SV_I(id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT " PAY_COLS " FROM payments WHERE id = $1", p, 1, &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows == 1) {
        pay_from_row(&r, 0, out);
        rc = 0;
    }
    store__res_free(&r);
    return rc;
}

/* ---- the grant step ---- */

struct grant {
    int64_t pay_id, user_id, plan_id, bonus_days, amount, promo_id;
    const char *currency;
    bool topup;
    int referral_percent, first_bonus_percent;
};

struct grant_out {
    bool has_sub;
    struct hub_sub sub;
    int64_t referrer_id, reward_minor, bonus_minor;
};

static int grant_plan(struct store_conn *sc, const struct grant *g, int64_t now, struct grant_out *o)
{
    struct store_res r;
    struct hub_sub cur;
    int rc = store__sub_current_tx(sc, g->user_id, &cur);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    enum hub_plan_grant what = hub_plan_grant_for(rc == 0 ? &cur : NULL, g->plan_id, now);
    if (what == HUB_GRANT_EXTEND_CURRENT) {
        struct store_val pp[] = {SV_I(g->plan_id)};
        TRY(store__exec(sc, "SELECT duration_days FROM plans WHERE id = $1", pp, 1, &r));
        int64_t days = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
        store__res_free(&r);
        if (days <= 0)
            return ERR_NOT_FOUND;
        TRY(store__sub_extend_tx(sc, cur.id, days + g->bonus_days, now, &o->sub));
    } else {
        if (what == HUB_GRANT_REPLACE) {
            struct store_val pc[] = {SV_I(now), SV_I(cur.id)};
            TRY(store__exec(sc, "UPDATE subscriptions SET state = 'revoked', updated_at = $1 WHERE id = $2", pc, 2,
                            NULL));
        }
        TRY(store__sub_grant_tx(sc, g->user_id, g->plan_id, now, &o->sub));
        if (g->bonus_days > 0)
            TRY(store__sub_extend_tx(sc, o->sub.id, g->bonus_days, now, &o->sub));
    }
    o->has_sub = true;
    return 0;
}

/* The referrer's commission, once per payment, credited only in the referrer's currency. */
static int grant_commission(struct store_conn *sc, const struct grant *g, int64_t now, struct grant_out *o)
{
    struct store_res r;
    struct store_val pu[] = {SV_I(g->user_id)};
    TRY(store__exec(sc, "SELECT r.id, r.currency FROM users u JOIN users r ON r.id = u.referrer_id WHERE u.id = $1", pu,
                    1, &r));
    int64_t ref = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    bool same = r.nrows == 1 && store__cell(&r, 0, 1) != NULL && strcmp(store__cell(&r, 0, 1), g->currency) == 0;
    store__res_free(&r);
    int64_t reward = 0;
    if (ref == 0 || !same || hub_referral_reward(g->amount, g->referral_percent, &reward) < 0 || reward <= 0)
        return 0;
    struct store_val pr[] = {SV_I(ref), SV_I(g->user_id), SV_I(g->pay_id), SV_I(reward), SV_T(g->currency), SV_I(now)};
    int64_t added = 0;
    TRY(store__exec_changes(sc,
                            "INSERT INTO referral_rewards (referrer_id, referee_id, payment_id, amount_minor, currency,"
                            " created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                            pr, 6, &added));
    if (added != 1)
        return 0;
    int rc = store__ledger_add_tx(sc, ref, g->currency, reward, "referral", g->pay_id, now, NULL);
    if (rc == ERR_RANGE || rc == ERR_UNSUPPORTED) {
        /* The referrer's balance is at its bound: no reward rather than a lost payment. */
        struct store_val pd[] = {SV_I(g->pay_id)};
        return store__exec(sc, "DELETE FROM referral_rewards WHERE payment_id = $1", pd, 1, NULL);
    }
    TRY(rc);
    o->referrer_id = ref;
    o->reward_minor = reward;
    return 0;
}

/* The referred customer's bonus on their first succeeded payment: the referral_bonuses primary
 * key (the customer) makes it once per customer. */
static int grant_first_bonus(struct store_conn *sc, const struct grant *g, int64_t now, struct grant_out *o)
{
    struct store_res r;
    struct store_val pu[] = {SV_I(g->user_id)};
    TRY(store__exec(sc, "SELECT referrer_id, currency FROM users WHERE id = $1", pu, 1, &r));
    bool referred = r.nrows == 1 && store__cell_i64(&r, 0, 0) != 0;
    bool same = r.nrows == 1 && store__cell(&r, 0, 1) != NULL && strcmp(store__cell(&r, 0, 1), g->currency) == 0;
    store__res_free(&r);
    int64_t bonus = 0;
    if (!referred || hub_referral_reward(g->amount, g->first_bonus_percent, &bonus) < 0)
        return 0;
    if (!same)
        bonus = 0; /* the first payment still counts; a bonus in another currency is not given */
    struct store_val pb[] = {SV_I(g->user_id), SV_I(g->pay_id), SV_I(bonus), SV_T(g->currency), SV_I(now)};
    int64_t added = 0;
    TRY(store__exec_changes(sc,
                            "INSERT INTO referral_bonuses (referee_id, payment_id, amount_minor, currency, created_at)"
                            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                            pb, 5, &added));
    if (added != 1 || bonus <= 0)
        return 0;
    int rc = store__ledger_add_tx(sc, g->user_id, g->currency, bonus, "referral_bonus", g->pay_id, now, NULL);
    if (rc == ERR_RANGE)
        return 0;
    TRY(rc);
    o->bonus_minor = bonus;
    return 0;
}

/* Everything a succeeded payment grants. Errors other than I/O mean "cannot be granted as
 * asked" (plan gone or disabled, balance bound, other currency): the caller flags the payment. */
static int grant_apply(struct store_conn *sc, const struct grant *g, int64_t now, struct grant_out *o)
{
    memset(o, 0, sizeof *o);
    if (g->user_id == 0)
        return 0; /* nobody to credit (user deleted): the money stays recorded */
    if (g->plan_id > 0)
        TRY(grant_plan(sc, g, now, o));
    if (g->topup && g->amount > 0)
        TRY(store__ledger_add_tx(sc, g->user_id, g->currency, g->amount, "topup", g->pay_id, now, NULL));
    if (g->promo_id > 0) {
        struct store_val pp[] = {SV_I(g->promo_id), SV_I(g->user_id), SV_I(g->pay_id), SV_I(now)};
        int64_t added = 0;
        TRY(store__exec_changes(
            sc,
            "INSERT INTO promo_uses (promo_id, user_id, payment_id, used_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING",
            pp, 4, &added));
        if (added == 1) {
            struct store_val pc[] = {SV_I(g->promo_id)};
            TRY(store__exec(sc, "UPDATE promo_codes SET used = used + 1 WHERE id = $1", pc, 1, NULL));
        }
    }
    if (g->referral_percent > 0)
        TRY(grant_commission(sc, g, now, o));
    if (g->first_bonus_percent > 0)
        TRY(grant_first_bonus(sc, g, now, o));
    return 0;
}

/* I/O-level failures are retried by the caller; anything else is a business refusal. */
static bool is_io_error(int rc)
{
    return rc == ERR_IO || rc == ERR_TIMEOUT || rc == ERR_NOMEM || rc == ERR_INTERNAL;
}

/* ---- the manual payment path (POST /api/v1/payments) ---- */

struct settle_arg {
    struct hub_payment *p;
    const char *raw;
    const struct store_settle *how;
    int64_t now;
    const struct store_audit *audit;
    struct store_settle_result res;
};

static int settle_apply(struct store_conn *sc, struct settle_arg *a, int64_t pay_id, int64_t user_id, int64_t amount,
                        const char *currency)
{
    struct grant g = {.pay_id = pay_id,
                      .user_id = user_id,
                      .plan_id = a->how->plan_id,
                      .amount = amount,
                      .currency = currency,
                      .topup = a->how->credit_balance,
                      .referral_percent = a->how->referral_percent};
    struct grant_out o;
    TRY(grant_apply(sc, &g, a->now, &o));
    if (o.has_sub)
        a->res.sub = o.sub;
    a->res.referrer_id = o.referrer_id;
    a->res.reward_minor = o.reward_minor;
    a->res.applied = user_id != 0;
    return 0;
}

static int settle_body(struct store_conn *sc, void *arg)
{
    struct settle_arg *a = arg;
    struct hub_payment *p = a->p;
    struct store_res r;
    memset(&a->res, 0, sizeof a->res);
    if (p->user_id != 0) {
        struct store_val pu[] = {SV_I(p->user_id)};
        TRY(store__exec(sc, "SELECT id FROM users WHERE id = $1", pu, 1, &r));
        size_t found = r.nrows;
        store__res_free(&r);
        if (found != 1)
            return ERR_NOT_FOUND;
    }
    const char *status = hub_pay_status_name(p->status);
    struct store_val v[] = {SV_IN(p->user_id), SV_T(p->provider),     SV_T(p->external_id),     SV_I(p->amount_minor),
                            SV_T(p->currency), SV_T(status),          SV_T(p->idempotency_key), RAW_PARAM(sc, a->raw),
                            SV_I(a->now),      SV_IN(a->how->plan_id)};
    /* Any unique conflict (idempotency key or provider + external id) means "seen before". */
    TRY(store__exec(sc,
                    "INSERT INTO payments (user_id, provider, external_id, amount_minor, currency, status,"
                    " idempotency_key, raw, created_at, updated_at, plan_id, settled_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $9)"
                    " ON CONFLICT DO NOTHING RETURNING id",
                    v, 10, &r));
    if (r.nrows == 1) {
        a->res.payment_id = store__cell_i64(&r, 0, 0);
        store__res_free(&r);
        p->id = a->res.payment_id;
        TRY(store__payment_raw_tx(sc, p->id, a->raw));
        if (p->status == HUB_PAY_SUCCEEDED)
            TRY(settle_apply(sc, a, p->id, p->user_id, p->amount_minor, p->currency));
        return store__audit(sc, a->audit, a->now, "payment", p->id);
    }
    store__res_free(&r);
    /* Seen before: only the pending -> final transition does anything, and only once (the row
     * lock of this UPDATE serialises concurrent notifications). */
    struct store_val u[] = {SV_T(status), SV_I(a->now), SV_T(p->idempotency_key), SV_T(p->provider),
                            SV_T(p->external_id)};
    TRY(store__exec(sc,
                    "UPDATE payments SET status = $1, updated_at = $2, settled_at = $2 WHERE (idempotency_key = $3"
                    " OR (provider = $4 AND external_id = $5)) AND status = 'pending' AND $1 <> 'pending'"
                    " RETURNING id, user_id, amount_minor, currency",
                    u, 5, &r));
    if (r.nrows != 1) {
        store__res_free(&r);
        struct store_val f[] = {SV_T(p->idempotency_key), SV_T(p->provider), SV_T(p->external_id)};
        TRY(store__exec(sc,
                        "SELECT id FROM payments WHERE idempotency_key = $1 OR (provider = $2 AND external_id = $3)"
                        " ORDER BY id LIMIT 1",
                        f, 3, &r));
        a->res.payment_id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
        store__res_free(&r);
        a->res.duplicate = true;
        return 0;
    }
    int64_t id = store__cell_i64(&r, 0, 0), user_id = store__cell_i64(&r, 0, 1), amount = store__cell_i64(&r, 0, 2);
    char currency[HUB_CURRENCY_LEN + 1];
    store__cell_str(&r, 0, 3, currency, sizeof currency);
    store__res_free(&r);
    a->res.payment_id = id;
    p->id = id;
    if (p->status == HUB_PAY_SUCCEEDED)
        TRY(settle_apply(sc, a, id, user_id, amount, currency));
    return store__audit(sc, a->audit, a->now, "payment", id);
}

int store_payment_settle(struct store *st, struct hub_payment *p, const char *raw, const struct store_settle *how,
                         int64_t now, const struct store_audit *audit, struct store_settle_result *out)
{
    static const struct store_settle none = {0};
    if (how == NULL)
        how = &none;
    if (how->referral_percent < 0 || how->referral_percent > 100 || p->amount_minor < 0 ||
        p->amount_minor > HUB_MAX_MONEY)
        return ERR_RANGE;
    struct settle_arg a = {.p = p, .raw = raw, .how = how, .now = now, .audit = audit};
    TRY(store__tx(st, settle_body, &a));
    if (out != NULL)
        *out = a.res;
    return 0;
}

/* ---- invoices ---- */

struct inv_arg {
    struct hub_payment *p;
    int64_t id, now;
    const char *s1, *s2;
    const struct store_audit *audit;
};

static int invoice_body(struct store_conn *sc, void *arg)
{
    struct inv_arg *a = arg;
    struct hub_payment *p = a->p;
    struct store_res r;
    struct store_val pu[] = {SV_I(p->user_id)};
    TRY(store__exec(sc, "SELECT id FROM users WHERE id = $1", pu, 1, &r));
    size_t found = r.nrows;
    store__res_free(&r);
    if (found != 1)
        return ERR_NOT_FOUND;
    struct store_val v[] = {SV_I(p->user_id),      SV_T(p->provider),   SV_T(p->idempotency_key),
                            SV_I(p->amount_minor), SV_T(p->currency),   SV_I(a->now),
                            SV_IN(p->plan_id),     SV_I(p->bonus_days), SV_I(p->discount_minor),
                            SV_IN(p->promo_id),    SV_I(p->expires_at)};
    TRY(store__exec(sc,
                    "INSERT INTO payments (user_id, provider, external_id, amount_minor, currency, status,"
                    " idempotency_key, created_at, updated_at, plan_id, bonus_days, discount_minor, promo_id,"
                    " expires_at) VALUES ($1, $2, $3, $4, $5, 'pending', $3, $6, $6, $7, $8, $9, $10, $11)"
                    " RETURNING id",
                    v, 11, &r));
    p->id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    if (p->id == 0)
        return ERR_IO;
    p->status = HUB_PAY_PENDING;
    p->created_at = p->updated_at = a->now;
    memcpy(p->external_id, p->idempotency_key, sizeof p->external_id);
    return store__audit(sc, a->audit, a->now, "payment", p->id);
}

int store_invoice_create(struct store *st, struct hub_payment *p, int64_t now, const struct store_audit *audit)
{
    if (p->amount_minor < 0 || p->amount_minor > HUB_MAX_MONEY || p->bonus_days < 0 ||
        p->bonus_days > HUB_MAX_DURATION_DAYS || p->user_id <= 0 || p->plan_id < 0)
        return ERR_RANGE;
    struct inv_arg a = {.p = p, .now = now, .audit = audit};
    int rc = store__tx(st, invoice_body, &a);
    /* A plan that disappeared is a foreign key failure on PostgreSQL and none on SQLite. */
    return rc == ERR_BAD_STATE && p->plan_id > 0 ? ERR_NOT_FOUND : rc;
}

static int set_provider_body(struct store_conn *sc, void *arg)
{
    struct inv_arg *a = arg;
    struct store_val v[] = {SV_T(a->s1), SV_TN(a->s2), SV_I(a->now), SV_I(a->id)};
    int64_t changed = 0;
    TRY(store__exec_changes(sc,
                            "UPDATE payments SET external_id = $1, pay_url = $2, updated_at = $3 WHERE id = $4"
                            " AND status = 'pending'",
                            v, 4, &changed));
    if (changed == 1)
        return 0;
    struct hub_payment cur;
    TRY(load_pay(sc, a->id, &cur));
    return ERR_BAD_STATE;
}

int store_payment_set_provider(struct store *st, int64_t id, const char *external_id, const char *pay_url, int64_t now)
{
    if (external_id == NULL || external_id[0] == '\0' || strlen(external_id) > 128 ||
        (pay_url != NULL && strlen(pay_url) >= sizeof((struct hub_payment *)0)->pay_url))
        return ERR_RANGE;
    struct inv_arg a = {.id = id, .now = now, .s1 = external_id, .s2 = pay_url};
    return store__tx(st, set_provider_body, &a);
}

static int get_body(struct store_conn *sc, void *arg)
{
    struct inv_arg *a = arg;
    if (a->s1 == NULL)
        return load_pay(sc, a->id, a->p);
    struct store_val p[] = {SV_T(a->s1), SV_T(a->s2)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT " PAY_COLS " FROM payments WHERE provider = $1 AND external_id = $2", p, 2, &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows == 1) {
        pay_from_row(&r, 0, a->p);
        rc = 0;
    }
    store__res_free(&r);
    return rc;
}

int store_payment_get(struct store *st, int64_t id, struct hub_payment *out)
{
    struct inv_arg a = {.id = id, .p = out};
    return store__ro(st, get_body, &a);
}

int store_payment_by_external(struct store *st, const char *provider, const char *external_id, struct hub_payment *out)
{
    struct inv_arg a = {.p = out, .s1 = provider, .s2 = external_id};
    return store__ro(st, get_body, &a);
}

/* ---- lists ---- */

struct plist_arg {
    const struct store_pay_filter *f;
    int64_t user_id;
    struct hub_payment *list;
    size_t n;
};

static int plist_fill(struct plist_arg *a, struct store_res *r)
{
    a->list = r->nrows ? calloc(r->nrows, sizeof *a->list) : NULL;
    if (r->nrows && a->list == NULL) {
        store__res_free(r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r->nrows; i++)
        pay_from_row(r, i, &a->list[i]);
    a->n = r->nrows;
    store__res_free(r);
    return 0;
}

static int plist_body(struct store_conn *sc, void *arg)
{
    struct plist_arg *a = arg;
    struct store_val p[] = {SV_I(a->user_id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT " PAY_COLS " FROM payments WHERE user_id = $1 ORDER BY id DESC LIMIT 500", p, 1, &r));
    return plist_fill(a, &r);
}

static int plist_run(struct store *st, store_tx_fn *body, struct plist_arg *a, struct hub_payment **out, size_t *n)
{
    int rc = store__ro(st, body, a);
    if (rc < 0) {
        free(a->list);
        a->list = NULL;
        a->n = 0;
    }
    *out = a->list;
    *n = a->n;
    return rc;
}

int store_payment_list(struct store *st, int64_t user_id, struct hub_payment **out, size_t *n)
{
    struct plist_arg a = {.user_id = user_id};
    return plist_run(st, plist_body, &a, out, n);
}

static int pquery_body(struct store_conn *sc, void *arg)
{
    struct plist_arg *a = arg;
    const struct store_pay_filter *f = a->f;
    int64_t limit = f->limit > 0 && f->limit <= 1000 ? f->limit : 100;
    /* NULL parameters switch a condition off, so one statement (one prepared plan) serves all. */
    struct store_val p[] = {SV_TN(f->status), SV_TN(f->provider), SV_I(f->since), SV_I(f->before), SV_I(limit)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT " PAY_COLS " FROM payments WHERE (CAST($1 AS TEXT) IS NULL OR status = $1)"
                    " AND (CAST($2 AS TEXT) IS NULL OR provider = $2) AND created_at >= $3"
                    " AND (CAST($4 AS BIGINT) = 0 OR created_at < $4) ORDER BY id DESC LIMIT $5",
                    p, 5, &r));
    return plist_fill(a, &r);
}

int store_payment_query(struct store *st, const struct store_pay_filter *f, struct hub_payment **out, size_t *n)
{
    struct plist_arg a = {.f = f};
    return plist_run(st, pquery_body, &a, out, n);
}

struct count_arg {
    struct store_pay_count *rows;
    size_t n;
};

static int count_body(struct store_conn *sc, void *arg)
{
    struct count_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT provider, status, COUNT(*) FROM payments GROUP BY provider, status"
                    " UNION ALL SELECT provider, 'flagged', COUNT(*) FROM payments WHERE flag IS NOT NULL"
                    " GROUP BY provider",
                    NULL, 0, &r));
    a->rows = r.nrows ? calloc(r.nrows, sizeof *a->rows) : NULL;
    if (r.nrows && a->rows == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        store__cell_str(&r, i, 0, a->rows[i].provider, sizeof a->rows[i].provider);
        store__cell_str(&r, i, 1, a->rows[i].outcome, sizeof a->rows[i].outcome);
        a->rows[i].n = store__cell_i64(&r, i, 2);
    }
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_payment_counts(struct store *st, struct store_pay_count **out, size_t *n)
{
    struct count_arg a = {0};
    int rc = store__ro(st, count_body, &a);
    if (rc < 0) {
        free(a.rows);
        a.rows = NULL;
        a.n = 0;
    }
    *out = a.rows;
    *n = a.n;
    return rc;
}

/* ---- state changes ---- */

struct trans_arg {
    const struct store_pay_event *ev;
    const struct store_billing_rules *rules;
    struct hub_payment *newpay; /* from_balance: the row to insert */
    int64_t now;
    const struct store_audit *audit;
    struct store_pay_result res;
    int grant_rc; /* a business refusal of the grant: flag in a second transaction */
};

static int flag_row(struct store_conn *sc, struct trans_arg *a, int64_t id, const char *flag, bool mark_succeeded)
{
    struct store_val v[] = {SV_T(flag), SV_I(a->now), SV_I(id), SV_I(mark_succeeded)};
    TRY(store__exec(sc,
                    "UPDATE payments SET flag = $1, updated_at = $2,"
                    " status = CASE WHEN $4 = 1 THEN 'succeeded' ELSE status END,"
                    " settled_at = CASE WHEN $4 = 1 THEN $2 ELSE settled_at END WHERE id = $3",
                    v, 4, NULL));
    char details[96];
    snprintf(details, sizeof details, "{\"flag\":\"%s\"}", flag);
    struct store_audit au = {.actor = a->audit && a->audit->actor ? a->audit->actor : "billing",
                             .action = "payment.flagged",
                             .source_ip = a->audit ? a->audit->source_ip : NULL,
                             .details = details};
    TRY(store__audit(sc, &au, a->now, "payment", id));
    a->res.flagged = true;
    snprintf(a->res.flag, sizeof a->res.flag, "%s", flag);
    return 0;
}

static int succeed(struct store_conn *sc, struct trans_arg *a, struct hub_payment *row)
{
    const struct store_pay_event *ev = a->ev;
    struct store_val v[] = {SV_I(a->now), SV_TN(ev->external_id), SV_TN(ev->charge_id), RAW_PARAM(sc, ev->raw),
                            SV_I(row->id)};
    int64_t changed = 0;
    TRY(store__exec_changes(sc,
                            "UPDATE payments SET status = 'succeeded', settled_at = $1, updated_at = $1,"
                            " external_id = COALESCE($2, external_id), charge_id = COALESCE($3, charge_id),"
                            " raw = COALESCE($4, raw) WHERE id = $5 AND status IN ('pending', 'expired')",
                            v, 5, &changed));
    if (changed != 1) {
        a->res.duplicate = true; /* a concurrent notification won */
        return 0;
    }
    TRY(store__payment_raw_tx(sc, row->id, ev->raw));
    bool from_balance = strcmp(row->provider, "balance") == 0;
    struct grant g = {.pay_id = row->id,
                      .user_id = row->user_id,
                      .plan_id = row->plan_id,
                      .bonus_days = row->bonus_days,
                      .amount = row->amount_minor,
                      .promo_id = row->promo_id,
                      .currency = row->currency,
                      .topup = row->plan_id == 0,
                      /* Balance purchases spend money that already paid its commission. */
                      .referral_percent = from_balance ? 0 : a->rules->referral_percent,
                      .first_bonus_percent = from_balance ? 0 : a->rules->first_bonus_percent};
    struct grant_out o;
    int rc = grant_apply(sc, &g, a->now, &o);
    if (rc < 0) {
        if (!is_io_error(rc))
            a->grant_rc = rc;
        return rc;
    }
    a->res.applied = true;
    a->res.has_sub = o.has_sub;
    a->res.sub = o.sub;
    a->res.referrer_id = o.referrer_id;
    a->res.reward_minor = o.reward_minor;
    a->res.bonus_minor = o.bonus_minor;
    return 0;
}

static int refund(struct store_conn *sc, struct trans_arg *a, struct hub_payment *row)
{
    struct store_val v[] = {SV_I(a->now), SV_I(row->id)};
    int64_t changed = 0;
    TRY(store__exec_changes(
        sc, "UPDATE payments SET status = 'refunded', updated_at = $1 WHERE id = $2 AND status = 'succeeded'", v, 2,
        &changed));
    if (changed != 1) {
        a->res.duplicate = true;
        return 0;
    }
    /* A refunded balance purchase returns the money to the balance; a refunded top-up takes it
     * back out (a refused debit, already spent, refuses the refund). A refunded plan purchase
     * leaves the subscription to the admin. */
    if (strcmp(row->provider, "balance") == 0 && row->user_id != 0 && row->amount_minor > 0)
        TRY(store__ledger_add_tx(sc, row->user_id, row->currency, row->amount_minor, "refund", row->id, a->now, NULL));
    else if (row->plan_id == 0 && row->user_id != 0 && row->amount_minor > 0 && row->flag[0] == '\0')
        TRY(store__ledger_add_tx(sc, row->user_id, row->currency, -row->amount_minor, "refund", row->id, a->now, NULL));
    a->res.applied = true;
    return 0;
}

static int transition_body(struct store_conn *sc, void *arg)
{
    struct trans_arg *a = arg;
    const struct store_pay_event *ev = a->ev;
    struct hub_payment row;
    memset(&a->res, 0, sizeof a->res);
    a->grant_rc = 0;
    TRY(load_pay(sc, ev->payment_id, &row));
    switch (ev->status) {
    case HUB_PAY_SUCCEEDED:
        if (row.status == HUB_PAY_SUCCEEDED || row.status == HUB_PAY_REFUNDED) {
            a->res.duplicate = true;
            break;
        }
        if (ev->amount_minor != row.amount_minor || ev->currency == NULL || strcmp(ev->currency, row.currency) != 0) {
            TRY(flag_row(sc, a, row.id, "amount_mismatch", false));
            break;
        }
        if (row.status == HUB_PAY_CANCELED || row.status == HUB_PAY_FAILED) {
            /* Money for an attempt we consider closed: record it, let a human decide. */
            TRY(flag_row(sc, a, row.id, "paid_after_close", false));
            break;
        }
        TRY(succeed(sc, a, &row));
        break;
    case HUB_PAY_CANCELED:
    case HUB_PAY_EXPIRED:
    case HUB_PAY_FAILED: {
        struct store_val v[] = {SV_T(hub_pay_status_name(ev->status)), SV_I(a->now), SV_I(row.id),
                                RAW_PARAM(sc, ev->raw)};
        struct store_res r;
        TRY(store__exec(sc,
                        "UPDATE payments SET status = $1, updated_at = $2, raw = COALESCE($4, raw)"
                        " WHERE id = $3 AND status = 'pending'",
                        v, 4, &r));
        a->res.applied = r.changes == 1;
        a->res.duplicate = r.changes != 1;
        store__res_free(&r);
        if (a->res.applied)
            TRY(store__payment_raw_tx(sc, row.id, ev->raw));
        break;
    }
    case HUB_PAY_REFUNDED:
        TRY(refund(sc, a, &row));
        break;
    case HUB_PAY_PENDING:
    case HUB_PAY__COUNT:
    default:
        a->res.duplicate = true; /* nothing moves back to pending */
        break;
    }
    TRY(load_pay(sc, row.id, &a->res.pay));
    if (a->res.applied)
        TRY(store__audit(sc, a->audit, a->now, "payment", row.id));
    return 0;
}

static int flag_body(struct store_conn *sc, void *arg)
{
    struct trans_arg *a = arg;
    struct hub_payment row;
    memset(&a->res, 0, sizeof a->res);
    TRY(load_pay(sc, a->ev->payment_id, &row));
    if (row.status != HUB_PAY_PENDING && row.status != HUB_PAY_EXPIRED) {
        a->res.duplicate = true;
        a->res.pay = row;
        return 0;
    }
    const char *flag = a->grant_rc == ERR_UNSUPPORTED ? "currency_mismatch"
                       : a->grant_rc == ERR_RANGE     ? "balance_bound"
                                                      : "grant_failed";
    TRY(flag_row(sc, a, row.id, flag, true));
    return load_pay(sc, row.id, &a->res.pay);
}

int store_payment_transition(struct store *st, const struct store_pay_event *ev,
                             const struct store_billing_rules *rules, int64_t now, const struct store_audit *audit,
                             struct store_pay_result *out)
{
    static const struct store_billing_rules none = {0};
    if (rules == NULL)
        rules = &none;
    if (rules->referral_percent < 0 || rules->referral_percent > 100 || rules->first_bonus_percent < 0 ||
        rules->first_bonus_percent > 100)
        return ERR_RANGE;
    struct trans_arg a = {.ev = ev, .rules = rules, .now = now, .audit = audit};
    int rc = store__tx(st, transition_body, &a);
    if (rc < 0 && a.grant_rc != 0)
        rc = store__tx(st, flag_body, &a); /* paid, but what it buys cannot be granted */
    if (rc < 0)
        return rc;
    if (out != NULL)
        *out = a.res;
    return 0;
}

static int from_balance_body(struct store_conn *sc, void *arg)
{
    struct trans_arg *a = arg;
    struct inv_arg ia = {.p = a->newpay, .now = a->now, .audit = NULL};
    TRY(invoice_body(sc, &ia));
    struct hub_payment *p = a->newpay;
    TRY(store__ledger_add_tx(sc, p->user_id, p->currency, -p->amount_minor, "purchase", p->id, a->now, NULL));
    struct store_pay_event ev = {
        .payment_id = p->id, .status = HUB_PAY_SUCCEEDED, .amount_minor = p->amount_minor, .currency = p->currency};
    a->ev = &ev;
    int rc = transition_body(sc, a);
    a->ev = NULL;
    TRY(rc);
    return a->res.applied ? 0 : ERR_BAD_STATE;
}

int store_payment_from_balance(struct store *st, struct hub_payment *p, const struct store_billing_rules *rules,
                               int64_t now, const struct store_audit *audit, struct store_pay_result *out)
{
    static const struct store_billing_rules none = {0};
    if (p->plan_id <= 0 || p->amount_minor <= 0 || p->amount_minor > HUB_MAX_MONEY || p->bonus_days < 0 ||
        p->bonus_days > HUB_MAX_DURATION_DAYS)
        return ERR_RANGE;
    snprintf(p->provider, sizeof p->provider, "balance");
    struct trans_arg a = {.rules = rules ? rules : &none, .newpay = p, .now = now, .audit = audit};
    TRY(store__tx(st, from_balance_body, &a));
    if (out != NULL)
        *out = a.res;
    return 0;
}

/* ---- recording a provider's payment as it is (store_payment_record) ---- */

struct pay_arg {
    struct hub_payment *p;
    const char *raw;
    int64_t now;
    struct hub_payment *existing;
};

static int pay_body(struct store_conn *sc, void *arg)
{
    struct pay_arg *a = arg;
    struct hub_payment *p = a->p;
    struct store_val v[] = {SV_IN(p->user_id),        SV_T(p->provider),     SV_T(p->external_id),
                            SV_I(p->amount_minor),    SV_T(p->currency),     SV_T(hub_pay_status_name(p->status)),
                            SV_T(p->idempotency_key), RAW_PARAM(sc, a->raw), SV_I(a->now)};
    struct store_res r;
    TRY(store__exec(sc,
                    "INSERT INTO payments (user_id, provider, external_id, amount_minor, currency, status,"
                    " idempotency_key, raw, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
                    " RETURNING id",
                    v, 9, &r));
    p->id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    p->created_at = a->now;
    store__res_free(&r);
    return store__payment_raw_tx(sc, p->id, a->raw);
}

static int pay_find_body(struct store_conn *sc, void *arg)
{
    struct pay_arg *a = arg;
    struct store_val v[] = {SV_T(a->p->idempotency_key), SV_T(a->p->provider), SV_T(a->p->external_id)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, user_id, provider, external_id, idempotency_key, amount_minor, currency, status,"
                    " created_at FROM payments WHERE idempotency_key = $1 OR (provider = $2 AND external_id = $3)"
                    " ORDER BY id LIMIT 1",
                    v, 3, &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows == 1) {
        struct hub_payment *e = a->existing;
        char status[16];
        memset(e, 0, sizeof *e);
        e->id = store__cell_i64(&r, 0, 0);
        e->user_id = store__cell_i64(&r, 0, 1);
        store__cell_str(&r, 0, 2, e->provider, sizeof e->provider);
        store__cell_str(&r, 0, 3, e->external_id, sizeof e->external_id);
        store__cell_str(&r, 0, 4, e->idempotency_key, sizeof e->idempotency_key);
        e->amount_minor = store__cell_i64(&r, 0, 5);
        store__cell_str(&r, 0, 6, e->currency, sizeof e->currency);
        store__cell_str(&r, 0, 7, status, sizeof status);
        int s = hub_pay_status_parse(status);
        e->status = s < 0 ? HUB_PAY_PENDING : (enum hub_pay_status)s;
        e->created_at = store__cell_i64(&r, 0, 8);
        rc = 0;
    }
    store__res_free(&r);
    return rc;
}

int store_payment_record(struct store *st, struct hub_payment *p, const char *raw, int64_t now,
                         struct hub_payment *existing)
{
    struct hub_payment tmp;
    struct pay_arg a = {.p = p, .raw = raw, .now = now, .existing = existing ? existing : &tmp};
    int rc = store__tx(st, pay_body, &a);
    if (rc != ERR_EXISTS)
        return rc;
    /* The failed insert aborted its transaction; look the first copy up in a new one. */
    int frc = store__ro(st, pay_find_body, &a);
    return frc < 0 && frc != ERR_NOT_FOUND ? frc : ERR_EXISTS;
}
