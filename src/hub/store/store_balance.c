/* The balance ledger: every credit and debit is a row with the balance after it, written in the
 * same transaction as the users.balance_minor change it mirrors. A balance is held in the
 * user's currency only: a credit or debit in another currency is refused (ERR_UNSUPPORTED),
 * never added as if it were the same money. The bound |delta|, balance <= HUB_MAX_MONEY is
 * checked in the UPDATE itself, so concurrent writers cannot pass it together and neither
 * backend ever computes a sum near the 64-bit limit (SQLite would silently turn it into REAL). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

int store__ledger_add_tx(struct store_conn *sc, int64_t user_id, const char *currency, int64_t delta,
                         const char *reason, int64_t payment_id, int64_t now, int64_t *balance_after)
{
    if (delta < -HUB_MAX_MONEY || delta > HUB_MAX_MONEY || delta == 0)
        return ERR_RANGE;
    struct store_val p[] = {SV_I(delta), SV_I(user_id), SV_T(currency), SV_I(HUB_MAX_MONEY)};
    struct store_res r;
    TRY(store__exec(sc,
                    "UPDATE users SET balance_minor = balance_minor + $1 WHERE id = $2 AND currency = $3"
                    " AND balance_minor >= 0 - CAST($1 AS BIGINT) AND balance_minor <= CAST($4 AS BIGINT) - $1"
                    " RETURNING balance_minor",
                    p, 4, &r));
    if (r.nrows != 1) {
        store__res_free(&r);
        struct store_val pu[] = {SV_I(user_id)};
        TRY(store__exec(sc, "SELECT currency FROM users WHERE id = $1", pu, 1, &r));
        int rc = ERR_NOT_FOUND;
        if (r.nrows == 1)
            rc = store__cell(&r, 0, 0) != NULL && strcmp(store__cell(&r, 0, 0), currency) == 0 ? ERR_RANGE
                                                                                               : ERR_UNSUPPORTED;
        store__res_free(&r);
        return rc;
    }
    int64_t after = store__cell_i64(&r, 0, 0);
    store__res_free(&r);
    struct store_val pl[] = {SV_I(user_id), SV_T(currency),    SV_I(delta), SV_I(after),
                             SV_T(reason),  SV_IN(payment_id), SV_I(now)};
    TRY(store__exec(sc,
                    "INSERT INTO balance_ledger (user_id, currency, delta_minor, balance_after, reason, payment_id,"
                    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    pl, 7, NULL));
    if (balance_after != NULL)
        *balance_after = after;
    return 0;
}

struct ledger_arg {
    int64_t user_id, limit;
    struct store_ledger_row *rows;
    size_t n;
};

static int ledger_list_body(struct store_conn *sc, void *arg)
{
    struct ledger_arg *a = arg;
    struct store_val p[] = {SV_I(a->user_id), SV_I(a->limit)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, currency, delta_minor, balance_after, reason, payment_id, created_at"
                    " FROM balance_ledger WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                    p, 2, &r));
    a->rows = r.nrows ? calloc(r.nrows, sizeof *a->rows) : NULL;
    if (r.nrows && a->rows == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct store_ledger_row *e = &a->rows[i];
        e->id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, e->currency, sizeof e->currency);
        e->delta_minor = store__cell_i64(&r, i, 2);
        e->balance_after = store__cell_i64(&r, i, 3);
        store__cell_str(&r, i, 4, e->reason, sizeof e->reason);
        e->payment_id = store__cell_i64(&r, i, 5);
        e->created_at = store__cell_i64(&r, i, 6);
    }
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_ledger_list(struct store *st, int64_t user_id, int64_t limit, struct store_ledger_row **out, size_t *n)
{
    struct ledger_arg a = {.user_id = user_id, .limit = limit > 0 && limit <= 1000 ? limit : 100};
    int rc = store__ro(st, ledger_list_body, &a);
    if (rc < 0) {
        free(a.rows);
        a.rows = NULL;
        a.n = 0;
    }
    *out = a.rows;
    *n = a.n;
    return rc;
}

int store__ledger_opening_tx(struct store_conn *sc, int64_t user_id, const char *currency, int64_t balance, int64_t now)
{
    if (balance == 0)
        return 0;
    struct store_val p[] = {SV_I(user_id), SV_T(currency), SV_I(balance), SV_I(now)};
    return store__exec(sc,
                       "INSERT INTO balance_ledger (user_id, currency, delta_minor, balance_after, reason, created_at)"
                       " VALUES ($1, $2, $3, $3, 'opening', $4)",
                       p, 4, NULL);
}

int store__ledger_before_patch_tx(struct store_conn *sc, int64_t user_id, const int64_t *new_balance,
                                  const char *new_currency, int64_t now)
{
    struct store_val pid[] = {SV_I(user_id)};
    struct store_res r;
    /* Lock the row first (a no-op UPDATE): the balance read next cannot change before ours. */
    TRY(store__exec(sc, "UPDATE users SET balance_minor = balance_minor WHERE id = $1", pid, 1, NULL));
    TRY(store__exec(sc, "SELECT balance_minor, currency FROM users WHERE id = $1", pid, 1, &r));
    if (r.nrows != 1) {
        store__res_free(&r);
        return ERR_NOT_FOUND;
    }
    int64_t cur = store__cell_i64(&r, 0, 0);
    char currency[HUB_CURRENCY_LEN + 1];
    store__cell_str(&r, 0, 1, currency, sizeof currency);
    store__res_free(&r);
    int64_t after = new_balance != NULL ? *new_balance : cur;
    /* A balance is money in its currency: switching the currency of a non-zero balance would
     * turn 500 RUB into 500 USD. Zero it (or spend it) first. */
    if (new_currency != NULL && strcmp(new_currency, currency) != 0 && after != 0)
        return ERR_BAD_STATE;
    if (new_balance == NULL || after == cur)
        return 0;
    if (after < 0 || after > HUB_MAX_MONEY)
        return ERR_RANGE;
    struct store_val p[] = {SV_I(user_id), SV_T(currency), SV_I(after - cur), SV_I(after), SV_I(now)};
    return store__exec(sc,
                       "INSERT INTO balance_ledger (user_id, currency, delta_minor, balance_after, reason, created_at)"
                       " VALUES ($1, $2, $3, $4, 'admin_set', $5)",
                       p, 5, NULL);
}
