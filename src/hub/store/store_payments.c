/* Payment settlement: record once, apply once (subscription, balance, referral reward). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

struct settle_arg {
    struct hub_payment *p;
    const char *raw;
    const struct store_settle *how;
    int64_t now;
    const struct store_audit *audit;
    struct store_settle_result res;
};

/* The effects of a payment that just became succeeded. */
static int apply(struct store_conn *sc, struct settle_arg *a, int64_t pay_id, int64_t user_id, int64_t amount,
                 const char *currency)
{
    const struct store_settle *how = a->how;
    struct store_res r;
    if (user_id == 0)
        return 0; /* nobody to credit (user deleted): the money stays recorded */
    if (how->plan_id > 0) {
        struct hub_sub cur;
        int rc = store__sub_current_tx(sc, user_id, &cur);
        if (rc < 0 && rc != ERR_NOT_FOUND)
            return rc;
        if (rc == 0 && (cur.state == HUB_SUB_ACTIVE || cur.state == HUB_SUB_LIMITED) && cur.ends_at > a->now &&
            cur.plan_id == how->plan_id) {
            struct store_val pp[] = {SV_I(how->plan_id)};
            TRY(store__exec(sc, "SELECT duration_days FROM plans WHERE id = $1", pp, 1, &r));
            int64_t days = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
            store__res_free(&r);
            if (days <= 0)
                return ERR_NOT_FOUND;
            TRY(store__sub_extend_tx(sc, cur.id, days, a->now, &a->res.sub));
        } else {
            /* A different plan replaces the current one: it is closed, the new one starts now. */
            if (rc == 0 && (cur.state == HUB_SUB_ACTIVE || cur.state == HUB_SUB_LIMITED)) {
                struct store_val pc[] = {SV_I(a->now), SV_I(cur.id)};
                TRY(store__exec(sc, "UPDATE subscriptions SET state = 'revoked', updated_at = $1 WHERE id = $2", pc, 2,
                                NULL));
            }
            TRY(store__sub_grant_tx(sc, user_id, how->plan_id, a->now, &a->res.sub));
        }
    }
    if (how->credit_balance) {
        struct store_val pb[] = {SV_I(amount), SV_I(user_id)};
        TRY(store__exec(sc, "UPDATE users SET balance_minor = balance_minor + $1 WHERE id = $2", pb, 2, NULL));
    }
    if (how->referral_percent > 0) {
        struct store_val pu[] = {SV_I(user_id)};
        TRY(store__exec(sc, "SELECT r.id, r.currency FROM users u JOIN users r ON r.id = u.referrer_id WHERE u.id = $1",
                        pu, 1, &r));
        int64_t ref = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
        bool same = r.nrows == 1 && store__cell(&r, 0, 1) != NULL && strcmp(store__cell(&r, 0, 1), currency) == 0;
        store__res_free(&r);
        int64_t reward = 0;
        if (ref != 0 && same && hub_referral_reward(amount, how->referral_percent, &reward) == 0 && reward > 0) {
            struct store_val pr[] = {SV_I(ref),    SV_I(user_id),  SV_I(pay_id),
                                     SV_I(reward), SV_T(currency), SV_I(a->now)};
            TRY(store__exec(sc,
                            "INSERT INTO referral_rewards (referrer_id, referee_id, payment_id, amount_minor, currency,"
                            " created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                            pr, 6, &r));
            int64_t added = r.changes;
            store__res_free(&r);
            if (added == 1) {
                struct store_val pc[] = {SV_I(reward), SV_I(ref)};
                TRY(store__exec(sc, "UPDATE users SET balance_minor = balance_minor + $1 WHERE id = $2", pc, 2, NULL));
                a->res.referrer_id = ref;
                a->res.reward_minor = reward;
            }
        }
    }
    a->res.applied = true;
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
    struct store_val v[] = {SV_IN(p->user_id),        SV_T(p->provider), SV_T(p->external_id),
                            SV_I(p->amount_minor),    SV_T(p->currency), SV_T(status),
                            SV_T(p->idempotency_key), SV_TN(a->raw),     SV_I(a->now)};
    /* Any unique conflict (idempotency key or provider + external id) means "seen before". */
    TRY(store__exec(sc,
                    "INSERT INTO payments (user_id, provider, external_id, amount_minor, currency, status,"
                    " idempotency_key, raw, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
                    " ON CONFLICT DO NOTHING RETURNING id",
                    v, 9, &r));
    if (r.nrows == 1) {
        a->res.payment_id = store__cell_i64(&r, 0, 0);
        store__res_free(&r);
        p->id = a->res.payment_id;
        if (p->status == HUB_PAY_SUCCEEDED)
            TRY(apply(sc, a, p->id, p->user_id, p->amount_minor, p->currency));
        return store__audit(sc, a->audit, a->now, "payment", p->id);
    }
    store__res_free(&r);
    /* Seen before: only the pending -> final transition does anything, and only once (the row
     * lock of this UPDATE serialises concurrent notifications). */
    struct store_val u[] = {SV_T(status), SV_I(a->now), SV_T(p->idempotency_key), SV_T(p->provider),
                            SV_T(p->external_id)};
    TRY(store__exec(sc,
                    "UPDATE payments SET status = $1, updated_at = $2 WHERE (idempotency_key = $3"
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
        TRY(apply(sc, a, id, user_id, amount, currency));
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

struct plist_arg {
    int64_t user_id;
    struct hub_payment *list;
    size_t n;
};

static int plist_body(struct store_conn *sc, void *arg)
{
    struct plist_arg *a = arg;
    struct store_val v[] = {SV_I(a->user_id)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, user_id, provider, external_id, idempotency_key, amount_minor, currency, status,"
                    " created_at FROM payments WHERE user_id = $1 ORDER BY id DESC LIMIT 500",
                    v, 1, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct hub_payment *e = &a->list[i];
        char status[16];
        e->id = store__cell_i64(&r, i, 0);
        e->user_id = store__cell_i64(&r, i, 1);
        store__cell_str(&r, i, 2, e->provider, sizeof e->provider);
        store__cell_str(&r, i, 3, e->external_id, sizeof e->external_id);
        store__cell_str(&r, i, 4, e->idempotency_key, sizeof e->idempotency_key);
        e->amount_minor = store__cell_i64(&r, i, 5);
        store__cell_str(&r, i, 6, e->currency, sizeof e->currency);
        store__cell_str(&r, i, 7, status, sizeof status);
        int st = hub_pay_status_parse(status);
        e->status = st < 0 ? HUB_PAY_PENDING : (enum hub_pay_status)st;
        e->created_at = store__cell_i64(&r, i, 8);
    }
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_payment_list(struct store *st, int64_t user_id, struct hub_payment **out, size_t *n)
{
    struct plist_arg a = {.user_id = user_id};
    int rc = store__ro(st, plist_body, &a);
    if (rc < 0) {
        free(a.list);
        a.list = NULL;
        a.n = 0;
    }
    *out = a.list;
    *n = a.n;
    return rc;
}
