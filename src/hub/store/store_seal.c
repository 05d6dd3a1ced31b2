/* Column encryption inside the store (store.h "column encryption"): the wrapped keys in
 * seal_keys, sealing and opening of the personal columns, the blind-index lookups, sealing the
 * plaintext rows of a database that gets a master key, and key rotation in batches.
 *
 * Sealed columns, with the associated data each value is bound to:
 *   users.username     "users.username:<id>"     (+ username_hmac, blind index "username")
 *   users.telegram_id  in telegram_enc, "users.telegram_id:<id>" (+ telegram_hmac, "telegram_id",
 *                      and telegram_ref, its first 63 bits, which the bot's tables store instead
 *                      of the id); the plaintext column is NULL on a sealed row
 *   user_tombstones.username  a copy of the user's sealed username (same associated data)
 *   payments.raw       "payments.raw:<id>" (the provider's payment object: payment method,
 *                      card details, receipt contact)
 *   api_tokens.totp_secret  "api_tokens.totp_secret:<id>" (the TOTP key, hex; the data key is in
 *                      totp_sealed_key rather than sealed_key)
 * sealed_key on each row names the data key it was sealed under (0: plaintext), which is what
 * rotation walks. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secmem.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/seal/seal.h"
#include "hub/store/store_int.h"

#define SEAL_BATCH_DEFAULT 500

static void key_ad(char out[static 32], const char *kind, int64_t id)
{
    snprintf(out, 32, "seal_keys:%s:%" PRId64, kind, id);
}

bool store__sealed(const struct store_conn *sc)
{
    return sc->st->seal != NULL;
}

/* (Re)reads seal_keys into ring under master: adds every data key the ring lacks and makes the
 * newest the current one. ERR_DECRYPT when master does not open them. *n_keys counts rows. */
static int load_keys(struct store_conn *sc, const uint8_t *master, struct seal_ring *ring, size_t *n_keys)
{
    struct store_res r;
    TRY(store__exec(sc, "SELECT id, kind, wrapped FROM seal_keys ORDER BY id", NULL, 0, &r));
    int rc = 0;
    uint8_t newest = 0;
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        int64_t id = store__cell_i64(&r, i, 0);
        const char *kind = store__cell(&r, i, 1), *wrapped = store__cell(&r, i, 2);
        char ad[32];
        uint8_t key[SEAL_KEY_LEN];
        bool index = kind != NULL && strcmp(kind, "index") == 0;
        if (kind == NULL || wrapped == NULL || id < 0 || id > SEAL_KEY_ID_MAX || (!index && id == 0)) {
            rc = ERR_MALFORMED;
            break;
        }
        key_ad(ad, kind, id);
        if ((rc = seal_unwrap(master, ad, wrapped, key)) < 0)
            break;
        if (index) {
            seal_ring_set_index_key(ring, key);
        } else {
            rc = seal_ring_add(ring, (uint8_t)id, key);
            if (rc == ERR_EXISTS)
                rc = 0;
            newest = (uint8_t)id;
        }
        secure_wipe(key, sizeof key);
    }
    if (rc == 0 && newest != 0)
        rc = seal_ring_set_current(ring, newest);
    *n_keys = r.nrows;
    store__res_free(&r);
    return rc;
}

/* Makes a random key, wraps it under master and inserts it as (kind, id). */
static int insert_key(struct store_conn *sc, const uint8_t *master, const char *kind, int64_t id, int64_t now)
{
    uint8_t key[SEAL_KEY_LEN];
    char ad[32], *wrapped = NULL;
    key_ad(ad, kind, id);
    int rc = crypto_random(key, sizeof key);
    if (rc == 0)
        rc = seal_wrap(master, ad, key, &wrapped);
    secure_wipe(key, sizeof key);
    if (rc == 0) {
        struct store_val p[] = {SV_I(id), SV_T(kind), SV_T(wrapped), SV_I(now)};
        rc = store__exec(sc, "INSERT INTO seal_keys (id, kind, wrapped, created_at) VALUES ($1, $2, $3, $4)", p, 4,
                         NULL);
    }
    free(wrapped);
    return rc;
}

struct open_arg {
    const uint8_t *master;
    struct seal_ring *ring;
    int64_t now;
};

/* First use of a master key on this database: an index key and data key 1. */
static int keys_body(struct store_conn *sc, void *arg)
{
    struct open_arg *a = arg;
    size_t n;
    TRY(load_keys(sc, a->master, a->ring, &n));
    if (n > 0)
        return 0;
    TRY(insert_key(sc, a->master, "index", 0, a->now));
    TRY(insert_key(sc, a->master, "data", 1, a->now));
    return load_keys(sc, a->master, a->ring, &n);
}

/* ---- values ---- */

int store__seal(struct store_conn *sc, const char *col, int64_t id, const char *pt, char **out)
{
    char ad[64];
    snprintf(ad, sizeof ad, "%s:%" PRId64, col, id);
    return seal_ring_seal(sc->st->seal, ad, pt, out);
}

/* The ring lacks the key a value names: another process (--rotate-key) added it. Reloads. */
static int reload_keys(struct store_conn *sc)
{
    struct store *st = sc->st;
    if (st->seal_master == NULL)
        return ERR_NOT_FOUND;
    size_t n;
    return load_keys(sc, st->seal_master, st->seal, &n);
}

int store__unseal(struct store_conn *sc, const char *col, int64_t id, const char *ct, char **out)
{
    *out = NULL;
    if (sc->st->seal == NULL)
        return ERR_BAD_STATE; /* a sealed row and no key: store_seal_check refuses this at start */
    char ad[64];
    snprintf(ad, sizeof ad, "%s:%" PRId64, col, id);
    int rc = seal_ring_open(sc->st->seal, ad, ct, out);
    if (rc == ERR_NOT_FOUND && reload_keys(sc) == 0)
        rc = seal_ring_open(sc->st->seal, ad, ct, out);
    return rc;
}

int store__unseal_into(struct store_conn *sc, const char *col, int64_t id, const char *ct, char *out, size_t cap)
{
    char *pt;
    TRY(store__unseal(sc, col, id, ct, &pt));
    snprintf(out, cap, "%s", pt);
    seal_free_text(pt);
    return 0;
}

int store__blind(struct store_conn *sc, const char *field, const char *value, char out[static 65])
{
    return seal_ring_blind(sc->st->seal, field, value, out);
}

int store__blind_telegram(struct store_conn *sc, int64_t telegram_id, char out[static 65])
{
    char v[24];
    snprintf(v, sizeof v, "%" PRId64, telegram_id);
    return store__blind(sc, "telegram_id", v, out);
}

/* The 63-bit ref of a Telegram id: the first 8 bytes of its blind index, positive. */
static int ref_of_blind(const char *hex, int64_t *ref)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
    v &= (uint64_t)INT64_MAX;
    *ref = v != 0 ? (int64_t)v : 1;
    return 0;
}

int store_telegram_ref(struct store *st, int64_t telegram_id, int64_t *ref)
{
    if (st->seal == NULL || telegram_id == 0) {
        *ref = telegram_id;
        return 0;
    }
    char v[24], h[65];
    snprintf(v, sizeof v, "%" PRId64, telegram_id);
    TRY(seal_ring_blind(st->seal, "telegram_id", v, h));
    return ref_of_blind(h, ref);
}

/* The bot's rows that name plaintext Telegram id tg now name its ref (first sealing of the user). */
static int bot_rows_to_ref(struct store_conn *sc, int64_t tg, int64_t ref)
{
    static const char *const sql[] = {
        "UPDATE bot_trials SET telegram_id = $2 WHERE telegram_id = $1",
        "UPDATE bot_chats SET telegram_id = $2 WHERE telegram_id = $1",
        "UPDATE bot_notices SET telegram_id = $2 WHERE telegram_id = $1",
    };
    struct store_val p[] = {SV_I(tg), SV_I(ref)};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
        TRY(store__exec(sc, sql[i], p, 2, NULL));
    char from[40], to[40];
    snprintf(from, sizeof from, "promo:%" PRId64, tg);
    snprintf(to, sizeof to, "promo:%" PRId64, ref);
    struct store_val n[] = {SV_T(from), SV_T(to)};
    return store__exec(sc, "UPDATE bot_state SET name = $2 WHERE name = $1", n, 2, NULL);
}

int store__user_seal_tx(struct store_conn *sc, int64_t id, int64_t telegram_id, const char *username)
{
    char uh[65], th[65], *uct = NULL, *tct = NULL;
    int rc = store__blind(sc, "username", username, uh);
    if (rc == 0)
        rc = store__seal(sc, "users.username", id, username, &uct);
    if (rc == 0 && telegram_id != 0) {
        char v[24];
        snprintf(v, sizeof v, "%" PRId64, telegram_id);
        rc = store__blind_telegram(sc, telegram_id, th);
        if (rc == 0)
            rc = store__seal(sc, "users.telegram_id", id, v, &tct);
    }
    int64_t ref = 0;
    if (rc == 0 && telegram_id != 0)
        rc = ref_of_blind(th, &ref);
    if (rc == 0) {
        struct store_val p[] = {SV_T(uct),
                                SV_T(uh),
                                telegram_id != 0 ? SV_T(tct) : SV_NULL,
                                telegram_id != 0 ? SV_T(th) : SV_NULL,
                                SV_I(seal_ring_current(sc->st->seal)),
                                SV_I(id),
                                SV_IN(ref)};
        struct store_res r;
        rc = store__exec(sc,
                         "UPDATE users SET username = $1, username_hmac = $2, telegram_id = NULL, telegram_enc = $3,"
                         " telegram_hmac = $4, sealed_key = $5, telegram_ref = $7 WHERE id = $6",
                         p, 7, &r);
        if (rc == 0 && r.changes != 1)
            rc = ERR_NOT_FOUND;
        store__res_free(&r);
    }
    free(uct);
    free(tct);
    return rc;
}

int store__payment_raw_tx(struct store_conn *sc, int64_t id, const char *raw)
{
    if (!store__sealed(sc) || raw == NULL || raw[0] == '\0')
        return 0;
    char *ct;
    TRY(store__seal(sc, "payments.raw", id, raw, &ct));
    struct store_val p[] = {SV_T(ct), SV_I(seal_ring_current(sc->st->seal)), SV_I(id)};
    int rc = store__exec(sc, "UPDATE payments SET raw = $1, sealed_key = $2 WHERE id = $3", p, 3, NULL);
    free(ct);
    return rc;
}

int store__user_telegram(struct store_conn *sc, const struct store_res *r, size_t i, size_t id_col, size_t tg_col,
                         size_t enc_col, int64_t *out)
{
    *out = store__cell_i64(r, i, tg_col);
    const char *enc = store__cell(r, i, enc_col);
    if (enc == NULL)
        return 0;
    char *pt;
    TRY(store__unseal(sc, "users.telegram_id", store__cell_i64(r, i, id_col), enc, &pt));
    *out = strtoll(pt, NULL, 10);
    seal_free_text(pt);
    return 0;
}

/* ---- batches: sealing plaintext rows, re-sealing under the current key ---- */

/* One batch of users whose sealed_key is not `cur` (only plaintext rows when plain_only). */
static int users_batch(struct store_conn *sc, uint8_t cur, bool plain_only, int64_t limit, int64_t *done)
{
    const char *lock = sc->st->ops->dialect == STORE_DIALECT_PG ? " FOR UPDATE" : "";
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT id, telegram_id, username, telegram_enc, sealed_key FROM users WHERE %s"
             " ORDER BY id LIMIT $2%s",
             plain_only ? "sealed_key = 0 AND $1 >= 0" : "sealed_key <> $1", lock);
    struct store_val p[] = {SV_I(cur), SV_I(limit)};
    struct store_res r;
    TRY(store__exec(sc, sql, p, 2, &r));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        int64_t id = store__cell_i64(&r, i, 0), tg = 0;
        char *name = NULL;
        if (store__cell_i64(&r, i, 4) != 0)
            rc = store__unseal(sc, "users.username", id, store__cell(&r, i, 2), &name);
        else if ((name = strdup(store__cell(&r, i, 2) ? store__cell(&r, i, 2) : "")) == NULL)
            rc = ERR_NOMEM;
        if (rc == 0)
            rc = store__user_telegram(sc, &r, i, 0, 1, 3, &tg);
        if (rc == 0)
            rc = store__user_seal_tx(sc, id, tg, name);
        int64_t ref;
        if (rc == 0 && tg != 0 && store__cell_i64(&r, i, 4) == 0 && (rc = store_telegram_ref(sc->st, tg, &ref)) == 0)
            rc = bot_rows_to_ref(sc, tg, ref);
        seal_free_text(name);
    }
    *done = (int64_t)r.nrows;
    store__res_free(&r);
    return rc;
}

/* A sealed column rewritten under the current data key: plaintext rows sealed, rows under
 * another key re-sealed (store_seal_batch). select ends with "WHERE ... AND" or "WHERE". */
struct sealed_column {
    const char *select, *key_col, *order_col, *ad;
    int (*write)(struct store_conn *sc, int64_t id, const char *plain, uint8_t cur);
};

static int column_batch(struct store_conn *sc, const struct sealed_column *c, uint8_t cur, bool plain_only,
                        int64_t limit, int64_t *done)
{
    const char *lock = sc->st->ops->dialect == STORE_DIALECT_PG ? " FOR UPDATE" : "";
    char sql[320];
    snprintf(sql, sizeof sql, "%s %s%s ORDER BY %s LIMIT $2%s", c->select, c->key_col,
             plain_only ? " = 0 AND $1 >= 0" : " <> $1", c->order_col, lock);
    struct store_val p[] = {SV_I(cur), SV_I(limit)};
    struct store_res r;
    TRY(store__exec(sc, sql, p, 2, &r));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        int64_t id = store__cell_i64(&r, i, 0);
        const char *v = store__cell(&r, i, 1);
        char *plain = NULL;
        if (store__cell_i64(&r, i, 2) != 0)
            rc = store__unseal(sc, c->ad, id, v, &plain);
        else if ((plain = strdup(v ? v : "")) == NULL)
            rc = ERR_NOMEM;
        if (rc == 0)
            rc = c->write(sc, id, plain, cur);
        seal_free_text(plain);
    }
    *done = (int64_t)r.nrows;
    store__res_free(&r);
    return rc;
}

static int tombstone_write(struct store_conn *sc, int64_t id, const char *name, uint8_t cur)
{
    char *ct = NULL;
    int rc = store__seal(sc, "users.username", id, name, &ct);
    if (rc == 0) {
        struct store_val u[] = {SV_T(ct), SV_I(cur), SV_I(id)};
        rc =
            store__exec(sc, "UPDATE user_tombstones SET username = $1, sealed_key = $2 WHERE user_id = $3", u, 3, NULL);
    }
    free(ct);
    return rc;
}

static int payment_raw_write(struct store_conn *sc, int64_t id, const char *raw, uint8_t cur)
{
    (void)cur; /* store__payment_raw_tx seals under the current key itself */
    return store__payment_raw_tx(sc, id, raw);
}

static int token_totp_write(struct store_conn *sc, int64_t id, const char *hex, uint8_t cur)
{
    (void)cur;
    return store__token_totp_write(sc, id, hex);
}

static const struct sealed_column TOMBSTONES = {"SELECT user_id, username, sealed_key FROM user_tombstones WHERE",
                                                "sealed_key", "user_id", "users.username", tombstone_write};
static const struct sealed_column PAYMENTS_RAW = {
    "SELECT id, raw, sealed_key FROM payments WHERE raw IS NOT NULL AND raw <> '' AND", "sealed_key", "id",
    "payments.raw", payment_raw_write};
/* Only tokens with a second factor; the column naming the key is totp_sealed_key. */
static const struct sealed_column TOKENS_TOTP = {
    "SELECT id, totp_secret, totp_sealed_key FROM api_tokens WHERE totp_secret IS NOT NULL AND", "totp_sealed_key",
    "id", "api_tokens.totp_secret", token_totp_write};

static int tombstones_batch(struct store_conn *sc, uint8_t cur, bool plain_only, int64_t limit, int64_t *done)
{
    return column_batch(sc, &TOMBSTONES, cur, plain_only, limit, done);
}

static int payments_batch(struct store_conn *sc, uint8_t cur, bool plain_only, int64_t limit, int64_t *done)
{
    return column_batch(sc, &PAYMENTS_RAW, cur, plain_only, limit, done);
}

static int tokens_batch(struct store_conn *sc, uint8_t cur, bool plain_only, int64_t limit, int64_t *done)
{
    return column_batch(sc, &TOKENS_TOTP, cur, plain_only, limit, done);
}

typedef int batch_fn(struct store_conn *sc, uint8_t cur, bool plain_only, int64_t limit, int64_t *done);

struct batch_arg {
    batch_fn *fn;
    uint8_t cur;
    bool plain_only;
    int64_t limit, done;
};

static int batch_body(struct store_conn *sc, void *arg)
{
    struct batch_arg *a = arg;
    return a->fn(sc, a->cur, a->plain_only, a->limit, &a->done);
}

/* Runs batches (each its own transaction, so rows stay readable and writers wait at most one
 * batch) until none is left; counts the rows in out[0..3]. */
static int run_batches(struct store *st, bool plain_only, int64_t limit, int64_t out[4])
{
    batch_fn *const fns[] = {users_batch, tombstones_batch, payments_batch, tokens_batch};
    for (size_t k = 0; k < 4; k++) {
        out[k] = 0;
        for (;;) {
            struct batch_arg a = {
                .fn = fns[k], .cur = seal_ring_current(st->seal), .plain_only = plain_only, .limit = limit};
            TRY(store__tx(st, batch_body, &a));
            out[k] += a.done;
            if (a.done < limit)
                break;
        }
    }
    return 0;
}

/* ---- public ---- */

static void set_why(char *why, size_t cap, const char *msg)
{
    if (why != NULL && cap > 0)
        snprintf(why, cap, "%s", msg);
}

static int keyed_body(struct store_conn *sc, void *arg)
{
    struct store_res r;
    TRY(store__exec(sc, "SELECT count(*) FROM seal_keys", NULL, 0, &r));
    *(bool *)arg = r.nrows == 1 && store__cell_i64(&r, 0, 0) > 0;
    store__res_free(&r);
    return 0;
}

int store_seal_keyed(struct store *st, bool *keyed)
{
    *keyed = false;
    return store__ro(st, keyed_body, keyed);
}

bool store_seal_enabled(const struct store *st)
{
    return st->seal != NULL;
}

int store_seal_open(struct store *st, const uint8_t master[static 32], int64_t now, int64_t *sealed_rows, char *why,
                    size_t whycap)
{
    if (st->seal != NULL)
        return ERR_BAD_STATE;
    struct seal_ring *ring = seal_ring_new();
    uint8_t *m = secmem_alloc(SEAL_KEY_LEN);
    if (ring == NULL || m == NULL) {
        seal_ring_free(ring);
        secmem_free(m, SEAL_KEY_LEN);
        set_why(why, whycap, "out of memory");
        return ERR_NOMEM;
    }
    memcpy(m, master, SEAL_KEY_LEN);
    struct open_arg a = {.master = m, .ring = ring, .now = now};
    int rc = store__tx(st, keys_body, &a);
    if (rc == ERR_EXISTS) /* another hub made the first keys at the same moment: read theirs */
        rc = store__tx(st, keys_body, &a);
    if (rc < 0) {
        seal_ring_free(ring);
        secmem_free(m, SEAL_KEY_LEN);
        if (rc == ERR_DECRYPT)
            set_why(why, whycap,
                    "the master key does not open this database's data keys: it is not the key the database was "
                    "encrypted with (check store master_key_file)");
        else if (rc == ERR_MALFORMED)
            set_why(why, whycap, "seal_keys holds a malformed row");
        else
            snprintf(why, whycap, "cannot read the data keys: %s", err_str(rc));
        return rc;
    }
    st->seal = ring;
    st->seal_master = m;
    int64_t n[4] = {0, 0, 0, 0};
    rc = run_batches(st, true, SEAL_BATCH_DEFAULT, n);
    if (rc == 0 && n[0] > 0)
        rc = store__tx(st, store__users_search_purge, NULL);
    if (rc < 0)
        snprintf(why, whycap, "sealing the plaintext rows failed: %s", err_str(rc));
    if (sealed_rows != NULL)
        *sealed_rows = n[0] + n[1] + n[2] + n[3];
    return rc;
}

struct rotate_arg {
    const uint8_t *old_master, *new_master;
    struct seal_ring *ring;
    int64_t now;
    int64_t new_id;
};

static int rewrap_body(struct store_conn *sc, void *arg)
{
    struct rotate_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT id, kind, wrapped FROM seal_keys ORDER BY id", NULL, 0, &r));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        int64_t id = store__cell_i64(&r, i, 0);
        const char *kind = store__cell(&r, i, 1);
        char ad[32], *w = NULL;
        uint8_t key[SEAL_KEY_LEN];
        key_ad(ad, kind, id);
        rc = seal_unwrap(a->old_master, ad, store__cell(&r, i, 2), key);
        if (rc == 0)
            rc = seal_wrap(a->new_master, ad, key, &w);
        secure_wipe(key, sizeof key);
        if (rc == 0) {
            struct store_val p[] = {SV_T(w), SV_I(id)};
            rc = store__exec(sc, "UPDATE seal_keys SET wrapped = $1 WHERE id = $2", p, 2, NULL);
        }
        free(w);
    }
    store__res_free(&r);
    return rc;
}

static int new_key_body(struct store_conn *sc, void *arg)
{
    struct rotate_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, "SELECT max(id) FROM seal_keys WHERE kind = 'data'", NULL, 0, &r));
    int64_t max = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    if (max >= SEAL_KEY_ID_MAX)
        return ERR_LIMIT;
    a->new_id = max + 1;
    TRY(insert_key(sc, a->old_master, "data", a->new_id, a->now));
    size_t n;
    return load_keys(sc, a->old_master, a->ring, &n);
}

/* Deletes data keys no row refers to any more (the current one stays). */
static int retire_body(struct store_conn *sc, void *arg)
{
    struct store_rotation *o = arg;
    struct store_val p[] = {SV_I(o->key_id)};
    struct store_res r;
    TRY(store__exec(sc,
                    "DELETE FROM seal_keys WHERE kind = 'data' AND id <> $1"
                    " AND id NOT IN (SELECT sealed_key FROM users)"
                    " AND id NOT IN (SELECT sealed_key FROM user_tombstones)"
                    " AND id NOT IN (SELECT sealed_key FROM payments)"
                    " AND id NOT IN (SELECT totp_sealed_key FROM api_tokens)",
                    p, 1, &r));
    o->retired = r.changes;
    store__res_free(&r);
    return 0;
}

int store_seal_rotate(struct store *st, const uint8_t *new_master, bool new_data_key, int64_t batch, int64_t now,
                      struct store_rotation *out, char *why, size_t whycap)
{
    memset(out, 0, sizeof *out);
    if (st->seal == NULL) {
        set_why(why, whycap, "no master key configured: nothing is encrypted to rotate");
        return ERR_BAD_STATE;
    }
    if (batch <= 0)
        batch = SEAL_BATCH_DEFAULT;
    struct rotate_arg a = {.old_master = st->seal_master, .new_master = new_master, .ring = st->seal, .now = now};
    int rc;
    if (new_master != NULL) {
        if ((rc = store__tx(st, rewrap_body, &a)) < 0) {
            snprintf(why, whycap, "re-wrapping the keys under the new master key failed: %s", err_str(rc));
            return rc;
        }
        memcpy(st->seal_master, new_master, SEAL_KEY_LEN);
        out->rewrapped = true;
    }
    if (new_data_key) {
        a.old_master = st->seal_master;
        if ((rc = store__tx(st, new_key_body, &a)) < 0) {
            snprintf(why, whycap, "adding a data key failed: %s%s", err_str(rc),
                     rc == ERR_LIMIT ? " (255 data keys used)" : "");
            return rc;
        }
    }
    out->key_id = seal_ring_current(st->seal);
    int64_t n[4];
    if ((rc = run_batches(st, false, batch, n)) < 0) {
        snprintf(why, whycap, "re-encrypting failed (rows done so far stay readable; run it again): %s", err_str(rc));
        return rc;
    }
    out->users = n[0];
    out->tombstones = n[1];
    out->payments = n[2];
    out->totp_secrets = n[3];
    if ((rc = store__tx(st, retire_body, out)) < 0)
        snprintf(why, whycap, "retiring old data keys failed: %s", err_str(rc));
    return rc;
}
