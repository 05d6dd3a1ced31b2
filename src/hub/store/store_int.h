/* Inside the store: the backend vtable and the helpers the shared operation files use.
 * A backend only runs SQL: operations (store_users.c, ...) are written once, in SQL that both
 * SQLite and PostgreSQL accept, with PostgreSQL-style $1..$n placeholders (the SQLite backend
 * binds them as ?1..?n). Results are materialised as text cells. */
#ifndef VEIL_HUB_STORE_INT_H
#define VEIL_HUB_STORE_INT_H

#include <pthread.h>
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
};

enum store_dialect {
    STORE_DIALECT_SQLITE = 0,
    STORE_DIALECT_PG,
    STORE_DIALECT__COUNT, /* sentinel */
};

/* One backend. Connections are opaque; each is used by one thread at a time (the pool
 * guarantees it). exec runs one statement with parameters; with n == 0 and res == NULL it may
 * run several statements separated by ';' (migrations). Errors: ERR_EXISTS for a unique or
 * primary-key violation, ERR_TIMEOUT for busy / serialization failure / deadlock (retryable),
 * ERR_BAD_STATE for other constraint violations, ERR_IO otherwise. */
struct store_ops {
    const char *name;
    enum store_dialect dialect;
    /* Opens one connection to target (the URL without the "sqlite:" prefix for SQLite). */
    int (*connect)(const char *target, void **conn);
    void (*disconnect)(void *conn);
    int (*exec)(void *conn, const char *sql, const struct store_val *params, size_t n, struct store_res *res);
    /* Statement that starts a write transaction ("BEGIN IMMEDIATE" / "BEGIN"). */
    const char *begin_sql;
    /* Statement run inside the migration transaction to serialise concurrent migrators. */
    const char *migrate_lock_sql;
    /* Substitution for @ID@ in migration DDL: an auto-increment 64-bit primary key. */
    const char *id_column;
    /* Largest connection pool that makes sense for a target (1 for an in-memory SQLite). */
    size_t (*max_pool)(const char *target);
};

extern const struct store_ops store__sqlite_ops;
extern const struct store_ops store__pg_ops;

struct store {
    const struct store_ops *ops;
    char *target;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t n_conns;
    void **conns;
    bool *busy;
};

/* A checked-out connection. */
struct store_conn {
    struct store *st;
    void *c;
    size_t slot;
};

int store__acquire(struct store *st, struct store_conn *out);
void store__release(struct store_conn *sc);

int store__exec(struct store_conn *sc, const char *sql, const struct store_val *p, size_t n, struct store_res *res);
void store__res_free(struct store_res *r);
static inline const char *store__cell(const struct store_res *r, size_t row, size_t col)
{
    return r->cells[row * r->ncols + col];
}
int64_t store__cell_i64(const struct store_res *r, size_t row, size_t col);
/* Copies a cell into a fixed buffer (truncating; "" for NULL). */
void store__cell_str(const struct store_res *r, size_t row, size_t col, char *out, size_t cap);

int store__begin(struct store_conn *sc);
int store__commit(struct store_conn *sc);
void store__rollback(struct store_conn *sc);

/* Bumps the global sync revision inside the current transaction; returns the new value. */
int store__bump_revision(struct store_conn *sc, int64_t *rev);
/* The committed global sync revision (store_sync.c). */
int store__revision_read(struct store_conn *sc, int64_t *rev);
/* Marks a user changed for node sync (a new revision on the user row), in the current transaction. */
int store__user_touch(struct store_conn *sc, int64_t user_id);
/* Writes an audit row inside the current transaction (no-op when a == NULL). When a->target
 * is NULL and kind is given, the target is "<kind>:<id>". */
int store__audit(struct store_conn *sc, const struct store_audit *a, int64_t now, const char *kind, int64_t id);
/* The chain hash of an audit row (its fields, not its stored hashes) after prev_hash:
 * SHA-256 over a length-prefixed encoding, as 64 lowercase hex digits. 0, ERR_NOMEM, ERR_CRYPTO. */
int store__audit_hash(const struct store_audit_cells *c, const char *prev_hash, char out[static 65]);
/* Migration step: chains the rows that exist (in id order) and sets the head. */
int store__audit_chain_backfill(struct store_conn *sc);

/* Runs body in one write transaction on a pooled connection: commit on success, rollback on
 * failure, up to three attempts when the backend reports a retryable conflict (ERR_TIMEOUT). */
typedef int store_tx_fn(struct store_conn *sc, void *arg);
int store__tx(struct store *st, store_tx_fn *body, void *arg);
/* Runs body on a pooled connection without a transaction (single-statement reads). */
int store__ro(struct store *st, store_tx_fn *body, void *arg);

/* Row readers shared between operation files. */
void store__user_from_row(const struct store_res *r, size_t i, struct hub_user *u);

/* Subscription steps inside a caller's transaction (no audit row). */
int store__sub_grant_tx(struct store_conn *sc, int64_t user_id, int64_t plan_id, int64_t now, struct hub_sub *out);
int store__sub_extend_tx(struct store_conn *sc, int64_t sub_id, int64_t days, int64_t now, struct hub_sub *out);
int store__sub_current_tx(struct store_conn *sc, int64_t user_id, struct hub_sub *out);

/* Adds delta (|delta| <= HUB_MAX_MONEY, not 0) to the user's balance in `currency` and writes
 * the ledger row, inside the caller's transaction. ERR_RANGE when the balance would leave
 * 0..HUB_MAX_MONEY; ERR_UNSUPPORTED when currency is not the user's; ERR_NOT_FOUND. */
int store__ledger_add_tx(struct store_conn *sc, int64_t user_id, const char *currency, int64_t delta,
                         const char *reason, int64_t payment_id, int64_t now, int64_t *balance_after);

/* The ledger row for a user created with a non-zero balance ("opening"). */
int store__ledger_opening_tx(struct store_conn *sc, int64_t user_id, const char *currency, int64_t balance,
                             int64_t now);
/* Before a PATCH writes the balance (new_balance) and/or the currency (new_currency), either may
 * be NULL: locks the row, records the set balance as an "admin_set" ledger row, and refuses
 * (ERR_BAD_STATE) a currency change of a balance that is not zero. */
int store__ledger_before_patch_tx(struct store_conn *sc, int64_t user_id, const int64_t *new_balance,
                                  const char *new_currency, int64_t now);

/* Runs the migrations on one connection (in one transaction). _to stops at schema version
 * `target` (tests of the upgrade path). */
int store__migrate(struct store_conn *sc, int *version);
int store__migrate_to(struct store_conn *sc, int target, int *version);

#endif
