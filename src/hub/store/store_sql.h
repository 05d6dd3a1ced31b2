/* The store's SQL for the hub's feature folders that keep tables of their own (the bot's
 * bot_store.c, ...): statements with $n parameters in SQL that SQLite and PostgreSQL both
 * accept, run in a write transaction (store__tx) or alone (store__ro); results as text cells.
 * Inside a transaction a feature may add the audit row and reuse the store's subscription and
 * ledger steps, so its change and theirs commit together. The backends, the pool and the
 * migrations stay private to src/hub/store (store_int.h). */
#ifndef VEIL_HUB_STORE_SQL_H
#define VEIL_HUB_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/store/store.h"

enum store_vt {
    STORE_V_NULL = 0,
    STORE_V_INT,
    STORE_V_TEXT,
    STORE_V__COUNT, /* sentinel */
};

struct store_val {
    enum store_vt t;
    int64_t i;
    const char *s;
};

#define SV_NULL ((struct store_val){.t = STORE_V_NULL})
#define SV_I(x) ((struct store_val){.t = STORE_V_INT, .i = (int64_t)(x)})
#define SV_T(x) ((struct store_val){.t = STORE_V_TEXT, .s = (x)})
/* Text, or NULL for an empty string. */
#define SV_TN(x) ((x) != NULL && (x)[0] ? SV_T(x) : SV_NULL)
/* Integer, or NULL for 0 (optional foreign keys). */
#define SV_IN(x) ((x) != 0 ? SV_I(x) : SV_NULL)

/* A materialised result: nrows x ncols cells, NULL for SQL NULL. */
struct store_res {
    size_t nrows, ncols;
    char **cells;
    int64_t changes; /* rows changed by INSERT/UPDATE/DELETE */
    /* Set by a backend that keeps each row's text in one allocation (SQLite): a row's first
     * non-NULL cell owns it. Clear: every cell is its own allocation. */
    bool row_blocks;
};

/* A checked-out connection. */
struct store_conn {
    struct store *st;
    void *c;
    size_t slot;
};

int store__exec(struct store_conn *sc, const char *sql, const struct store_val *p, size_t n, struct store_res *res);
void store__res_free(struct store_res *r);
/* A statement whose only answer is how many rows it changed (INSERT/UPDATE/DELETE), in *changes. */
int store__exec_changes(struct store_conn *sc, const char *sql, const struct store_val *p, size_t n, int64_t *changes);
static inline const char *store__cell(const struct store_res *r, size_t row, size_t col)
{
    return r->cells[row * r->ncols + col];
}
int64_t store__cell_i64(const struct store_res *r, size_t row, size_t col);
/* Copies a cell into a fixed buffer (truncating; "" for NULL). */
void store__cell_str(const struct store_res *r, size_t row, size_t col, char *out, size_t cap);

/* Bumps the global sync revision inside the current transaction; returns the new value. */
int store__bump_revision(struct store_conn *sc, int64_t *rev);
/* The committed global sync revision (store_sync.c). */
int store__revision_read(struct store_conn *sc, int64_t *rev);
/* Marks a user changed for node sync (a new revision on the user row), in the current transaction. */
int store__user_touch(struct store_conn *sc, int64_t user_id);
/* Writes an audit row inside the current transaction (no-op when a == NULL). When a->target
 * is NULL and kind is given, the target is "<kind>:<id>". */
int store__audit(struct store_conn *sc, const struct store_audit *a, int64_t now, const char *kind, int64_t id);

/* Runs body in one write transaction on a pooled connection: commit on success, rollback on
 * failure, up to three attempts when the backend reports a retryable conflict (ERR_TIMEOUT). */
typedef int store_tx_fn(struct store_conn *sc, void *arg);
int store__tx(struct store *st, store_tx_fn *body, void *arg);
/* Runs body on a pooled connection without a transaction (single-statement reads). */
int store__ro(struct store *st, store_tx_fn *body, void *arg);

/* Subscription steps inside a caller's transaction (no audit row). */
int store__sub_grant_tx(struct store_conn *sc, int64_t user_id, int64_t plan_id, int64_t now, struct hub_sub *out);
int store__sub_extend_tx(struct store_conn *sc, int64_t sub_id, int64_t days, int64_t now, struct hub_sub *out);
int store__sub_current_tx(struct store_conn *sc, int64_t user_id, struct hub_sub *out);

/* Adds delta (|delta| <= HUB_MAX_MONEY, not 0) to the user's balance in `currency` and writes
 * the ledger row, inside the caller's transaction. ERR_RANGE when the balance would leave
 * 0..HUB_MAX_MONEY; ERR_UNSUPPORTED when currency is not the user's; ERR_NOT_FOUND. */
int store__ledger_add_tx(struct store_conn *sc, int64_t user_id, const char *currency, int64_t delta,
                         const char *reason, int64_t payment_id, int64_t now, int64_t *balance_after);

/* A user's Telegram id from a result row holding its id, telegram_id and telegram_enc columns
 * (a query joining users): the plaintext column, or the opened sealed one when the database
 * encrypts it (store_seal.c; select all three, never telegram_id alone). 0 when the user has
 * none. ERR_DECRYPT and the like when a sealed value does not open. */
int store__user_telegram(struct store_conn *sc, const struct store_res *r, size_t i, size_t id_col, size_t tg_col,
                         size_t enc_col, int64_t *out);

#endif
