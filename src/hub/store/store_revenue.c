/* Revenue analytics for the admin: revenue per day, provider and currency, paying customers,
 * conversion, churn, referral payouts. Read-only, one query per figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

#define CHURN_GRACE (7 * HUB_DAY)

struct rev_arg {
    int64_t since, until;
    struct store_revenue *out;
    bool daily_only; /* days and per-currency sums only (store_revenue_daily) */
};

static int64_t one_int(struct store_conn *sc, const char *sql, const struct store_val *p, size_t n, int *rc)
{
    struct store_res r;
    if (*rc < 0)
        return 0;
    if ((*rc = store__exec(sc, sql, p, n, &r)) < 0)
        return 0;
    int64_t v = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    return v;
}

static int cur_index(struct store_revenue *o, const char *currency)
{
    for (size_t i = 0; i < o->n_cur; i++)
        if (strcmp(o->cur[i].currency, currency) == 0)
            return (int)i;
    struct store_revenue_cur *c = realloc(o->cur, (o->n_cur + 1) * sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    o->cur = c;
    memset(&c[o->n_cur], 0, sizeof c[0]);
    snprintf(c[o->n_cur].currency, sizeof c[0].currency, "%s", currency);
    return (int)o->n_cur++;
}

static int rev_body(struct store_conn *sc, void *arg)
{
    struct rev_arg *a = arg;
    struct store_revenue *o = a->out;
    struct store_val w[] = {SV_I(a->since), SV_I(a->until)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT settled_at / 86400, provider, currency, SUM(amount_minor), COUNT(*) FROM payments"
                    " WHERE status = 'succeeded' AND provider <> 'balance' AND settled_at >= $1 AND settled_at < $2"
                    " GROUP BY settled_at / 86400, provider, currency ORDER BY 1, 2, 3",
                    w, 2, &r));
    o->days = r.nrows ? calloc(r.nrows, sizeof *o->days) : NULL;
    if (r.nrows && o->days == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct store_revenue_day *d = &o->days[i];
        d->day = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, d->provider, sizeof d->provider);
        store__cell_str(&r, i, 2, d->currency, sizeof d->currency);
        d->amount_minor = store__cell_i64(&r, i, 3);
        d->payments = store__cell_i64(&r, i, 4);
    }
    o->n_days = r.nrows;
    store__res_free(&r);

    TRY(store__exec(sc,
                    "SELECT currency, SUM(amount_minor), COUNT(DISTINCT user_id) FROM payments WHERE status ="
                    " 'succeeded' AND provider <> 'balance' AND settled_at >= $1 AND settled_at < $2 GROUP BY currency",
                    w, 2, &r));
    for (size_t i = 0; i < r.nrows; i++) {
        int k = cur_index(o, store__cell(&r, i, 0) ? store__cell(&r, i, 0) : "");
        if (k < 0) {
            store__res_free(&r);
            return k;
        }
        o->cur[k].amount_minor = store__cell_i64(&r, i, 1);
        o->cur[k].payers = store__cell_i64(&r, i, 2);
    }
    store__res_free(&r);
    if (a->daily_only)
        return 0;
    static const char *const payouts[2] = {
        "SELECT currency, SUM(amount_minor) FROM referral_rewards WHERE created_at >= $1 AND created_at < $2"
        " GROUP BY currency",
        "SELECT currency, SUM(amount_minor) FROM referral_bonuses WHERE created_at >= $1 AND created_at < $2"
        " GROUP BY currency"};
    for (int q = 0; q < 2; q++) {
        TRY(store__exec(sc, payouts[q], w, 2, &r));
        for (size_t i = 0; i < r.nrows; i++) {
            int k = cur_index(o, store__cell(&r, i, 0) ? store__cell(&r, i, 0) : "");
            if (k < 0) {
                store__res_free(&r);
                return k;
            }
            if (q == 0)
                o->cur[k].referral_minor = store__cell_i64(&r, i, 1);
            else
                o->cur[k].bonus_minor = store__cell_i64(&r, i, 1);
        }
        store__res_free(&r);
    }

    int rc = 0;
    o->users = one_int(sc, "SELECT COUNT(*) FROM users", NULL, 0, &rc);
    o->paying_users = one_int(sc,
                              "SELECT COUNT(DISTINCT user_id) FROM payments WHERE status IN ('succeeded', 'refunded')"
                              " AND provider <> 'balance'",
                              NULL, 0, &rc);
    /* Churn: customers whose latest subscription ended in the window, at least 7 days ago. */
    struct store_val cw[] = {SV_I(a->since), SV_I(a->until - CHURN_GRACE)};
    o->expired = one_int(sc,
                         "SELECT COUNT(DISTINCT user_id) FROM subscriptions WHERE ends_at >= $1 AND ends_at < $2"
                         " AND state <> 'revoked'",
                         cw, 2, &rc);
    /* Renewing extends the subscription or starts a later one, so the latest end is enough. */
    o->churned = one_int(sc,
                         "SELECT COUNT(*) FROM (SELECT user_id, MAX(ends_at) AS e FROM subscriptions"
                         " WHERE state <> 'revoked' GROUP BY user_id) t WHERE t.e >= $1 AND t.e < $2",
                         cw, 2, &rc);
    o->refunded = one_int(sc,
                          "SELECT COUNT(*) FROM payments WHERE status = 'refunded' AND updated_at >= $1"
                          " AND updated_at < $2",
                          w, 2, &rc);
    o->flagged = one_int(
        sc, "SELECT COUNT(*) FROM payments WHERE flag IS NOT NULL AND updated_at >= $1 AND updated_at < $2", w, 2, &rc);
    return rc;
}

int store_revenue_get(struct store *st, int64_t since, int64_t until, struct store_revenue *out)
{
    memset(out, 0, sizeof *out);
    if (since < 0 || until <= since)
        return ERR_RANGE;
    struct rev_arg a = {.since = since, .until = until, .out = out};
    int rc = store__ro(st, rev_body, &a);
    if (rc < 0)
        store_revenue_free(out);
    return rc;
}

int store_revenue_daily(struct store *st, int64_t since, int64_t until, struct store_revenue *out)
{
    memset(out, 0, sizeof *out);
    if (since < 0 || until <= since)
        return ERR_RANGE;
    struct rev_arg a = {.since = since, .until = until, .out = out, .daily_only = true};
    int rc = store__ro(st, rev_body, &a);
    if (rc < 0)
        store_revenue_free(out);
    return rc;
}

void store_revenue_free(struct store_revenue *r)
{
    free(r->days);
    free(r->cur);
    memset(r, 0, sizeof *r);
}
