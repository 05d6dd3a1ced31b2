/* Inside the store: the backend vtable, the pool, migrations and the helpers only the
 * operation files use. What a feature folder may use to keep its own tables is store_sql.h.
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
#include "hub/store/store_sql.h"

struct seal_ring;

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
    struct seal_ring *seal; /* column encryption keys (store_seal.c), NULL: columns in plaintext */
    uint8_t *seal_master;   /* the master key (a secmem buffer) to reload keys added by a rotation */
};

int store__acquire(struct store *st, struct store_conn *out);
void store__release(struct store_conn *sc);

int store__begin(struct store_conn *sc);
int store__commit(struct store_conn *sc);
void store__rollback(struct store_conn *sc);

/* The chain hash of an audit row (its fields, not its stored hashes) after prev_hash:
 * SHA-256 over a length-prefixed encoding, as 64 lowercase hex digits. 0, ERR_NOMEM, ERR_CRYPTO. */
int store__audit_hash(const struct store_audit_cells *c, const char *prev_hash, char out[static 65]);
/* Migration step: chains the rows that exist (in id order) and sets the head. */
int store__audit_chain_backfill(struct store_conn *sc);
/* Rewrites the user search's index without the entries of rows since sealed (FTS5 keeps a
 * deleted row's terms until its segments merge); a no-op on PostgreSQL. arg unused (store__tx). */
int store__users_search_purge(struct store_conn *sc, void *arg);

/* A user's current subscription: active/limited first, then the latest end. Spelled once: the
 * index subscriptions_user_current (schema 20) matches this text, so SQLite reads the first row
 * of the index instead of sorting into a temporary B-tree on every uncached /sub. */
#define STORE_SUB_CURRENT_RANK "CASE WHEN state IN ('active', 'limited') THEN 0 ELSE 1 END"
#define STORE_SUB_CURRENT_ORDER STORE_SUB_CURRENT_RANK ", ends_at DESC, id DESC"

/* Row readers shared between operation files. The user columns are USER_COLS (store_users.c)
 * from column `at` on; sealed values are opened (ERR_DECRYPT and the like when they do not). */
#define STORE_USER_NCOLS 15
int store__user_from_row(struct store_conn *sc, const struct store_res *r, size_t i, struct hub_user *u);

/* ---- column encryption (store_seal.c) ---- */
/* Whether this store seals its personal columns (a master key was given). */
bool store__sealed(const struct store_conn *sc);
/* Seals pt for column col ("users.username") of row id under the current data key; *out malloc'd. */
int store__seal(struct store_conn *sc, const char *col, int64_t id, const char *pt, char **out);
/* Opens a sealed value of column col of row id; *out malloc'd (free with seal_free_text). A
 * value under a key this process lacks reloads seal_keys once (a rotation by another process). */
int store__unseal(struct store_conn *sc, const char *col, int64_t id, const char *ct, char **out);
int store__unseal_into(struct store_conn *sc, const char *col, int64_t id, const char *ct, char *out, size_t cap);
/* Blind index (64 hex digits) of a value, and of a Telegram id (field "telegram_id"). */
int store__blind(struct store_conn *sc, const char *field, const char *value, char out[static 65]);
int store__blind_telegram(struct store_conn *sc, int64_t telegram_id, char out[static 65]);
/* Writes the sealed columns of user id (username, telegram id; 0 = none) and their blind
 * indexes under the current data key, in the caller's transaction. */
int store__user_seal_tx(struct store_conn *sc, int64_t id, int64_t telegram_id, const char *username);
/* Seals payments.raw of payment id when the store seals (no-op otherwise or for NULL raw). */
int store__payment_raw_tx(struct store_conn *sc, int64_t id, const char *raw);
/* Writes token id's TOTP secret (hex; NULL removes it), sealed when the store seals, in the
 * caller's transaction (store_tokens.c; rotation re-writes the same secret). */
int store__token_totp_write(struct store_conn *sc, int64_t id, const char *secret_hex);

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
