/* Users: create, read, search, update, delete (with tombstones for node sync), rotations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/store/store_int.h"

#define USER_COLS                                                                                                      \
    "id, telegram_id, username, language, vless_uuid, sub_token, referral_code, referrer_id, balance_minor, "          \
    "currency, enabled, created_at, revision, telegram_enc, sealed_key"
#define USER_NCOLS 15

int store__user_from_row(struct store_conn *sc, const struct store_res *r, size_t i, struct hub_user *u)
{
    memset(u, 0, sizeof *u);
    u->id = store__cell_i64(r, i, 0);
    TRY(store__user_telegram(sc, r, i, 0, 1, 13, &u->telegram_id));
    if (store__cell_i64(r, i, 14) != 0)
        TRY(store__unseal_into(sc, "users.username", u->id, store__cell(r, i, 2), u->username, sizeof u->username));
    else
        store__cell_str(r, i, 2, u->username, sizeof u->username);
    store__cell_str(r, i, 3, u->language, sizeof u->language);
    store__cell_str(r, i, 4, u->uuid, sizeof u->uuid);
    store__cell_str(r, i, 5, u->sub_token, sizeof u->sub_token);
    store__cell_str(r, i, 6, u->referral_code, sizeof u->referral_code);
    u->referrer_id = store__cell_i64(r, i, 7);
    u->balance_minor = store__cell_i64(r, i, 8);
    store__cell_str(r, i, 9, u->currency, sizeof u->currency);
    u->enabled = store__cell_i64(r, i, 10) != 0;
    u->created_at = store__cell_i64(r, i, 11);
    u->revision = store__cell_i64(r, i, 12);
    return 0;
}

/* Runs a query expected to return at most one user row. */
static int user_query(struct store_conn *sc, const char *sql, const struct store_val *p, size_t n, struct hub_user *out)
{
    struct store_res r;
    TRY(store__exec(sc, sql, p, n, &r));
    int rc = r.nrows == 1 ? store__user_from_row(sc, &r, 0, out) : ERR_NOT_FOUND;
    store__res_free(&r);
    return rc;
}

struct user_arg {
    struct hub_user *u;
    const struct hub_user *cu;
    int64_t id, now, i64, result;
    const char *s;
    bool b;
    const struct store_audit *audit;
    struct hub_user *out;
};

static int user_exists(struct store_conn *sc, int64_t id)
{
    struct store_res r;
    struct store_val p[] = {SV_I(id)};
    TRY(store__exec(sc, "SELECT id FROM users WHERE id = $1", p, 1, &r));
    int rc = r.nrows == 1 ? 0 : ERR_NOT_FOUND;
    store__res_free(&r);
    return rc;
}

static int create_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    struct hub_user *u = a->u;
    int64_t rev;
    if (u->referrer_id != 0)
        TRY(user_exists(sc, u->referrer_id));
    TRY(store__bump_revision(sc, &rev));
    /* Sealed: the row is written with a placeholder name (its blind index, unique as the name
     * is), then sealed once its id, the associated data, is known. */
    bool sealed = store__sealed(sc);
    char ph[66] = "";
    if (sealed) {
        ph[0] = '~';
        TRY(store__blind(sc, "username", u->username, ph + 1));
    }
    struct store_val p[] = {sealed ? SV_NULL : SV_IN(u->telegram_id),
                            SV_T(sealed ? ph : u->username),
                            SV_T(u->language),
                            SV_T(u->uuid),
                            SV_T(u->sub_token),
                            SV_T(u->referral_code),
                            SV_IN(u->referrer_id),
                            SV_I(u->balance_minor),
                            SV_T(u->currency),
                            SV_I(u->enabled),
                            SV_I(a->now),
                            SV_I(rev)};
    struct store_res r;
    TRY(store__exec(sc,
                    "INSERT INTO users (telegram_id, username, language, vless_uuid, sub_token, referral_code,"
                    " referrer_id, balance_minor, currency, enabled, created_at, updated_at, revision)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id",
                    p, 12, &r));
    if (r.nrows != 1) {
        store__res_free(&r);
        return ERR_INTERNAL;
    }
    u->id = store__cell_i64(&r, 0, 0);
    store__res_free(&r);
    if (sealed)
        TRY(store__user_seal_tx(sc, u->id, u->telegram_id, u->username));
    u->revision = rev;
    u->created_at = a->now;
    TRY(store__ledger_opening_tx(sc, u->id, u->currency, u->balance_minor, a->now));
    return store__audit(sc, a->audit, a->now, "user", u->id);
}

int store_user_create(struct store *st, struct hub_user *u, int64_t now, const struct store_audit *audit)
{
    struct user_arg a = {.u = u, .now = now, .audit = audit};
    return store__tx(st, create_body, &a);
}

static int get_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    return user_query(sc, "SELECT " USER_COLS " FROM users WHERE id = $1", p, 1, a->out);
}

int store_user_get(struct store *st, int64_t id, struct hub_user *out)
{
    struct user_arg a = {.id = id, .out = out};
    return store__ro(st, get_body, &a);
}

static int secrets_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    TRY(user_query(sc, "SELECT " USER_COLS " FROM users WHERE id = $1", p, 1, a->out));
    return store__audit(sc, a->audit, a->now, "user", a->id);
}

int store_user_secrets_read(struct store *st, int64_t id, int64_t now, const struct store_audit *audit,
                            struct hub_user *out)
{
    struct user_arg a = {.id = id, .now = now, .audit = audit, .out = out};
    return store__tx(st, secrets_body, &a);
}

static int by_token_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    struct store_val p[] = {SV_T(a->s)};
    return user_query(sc, "SELECT " USER_COLS " FROM users WHERE sub_token = $1", p, 1, a->out);
}

int store_user_by_token(struct store *st, const char *sub_token, struct hub_user *out)
{
    struct user_arg a = {.s = sub_token, .out = out};
    return store__ro(st, by_token_body, &a);
}

static int by_tg_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    if (store__sealed(sc)) {
        char h[65];
        TRY(store__blind_telegram(sc, a->id, h));
        struct store_val ph[] = {SV_T(h)};
        return user_query(sc, "SELECT " USER_COLS " FROM users WHERE telegram_hmac = $1", ph, 1, a->out);
    }
    struct store_val p[] = {SV_I(a->id)};
    return user_query(sc, "SELECT " USER_COLS " FROM users WHERE telegram_id = $1", p, 1, a->out);
}

int store_user_by_telegram(struct store *st, int64_t telegram_id, struct hub_user *out)
{
    struct user_arg a = {.id = telegram_id, .out = out};
    return store__ro(st, by_tg_body, &a);
}

struct list_arg {
    const char *q;
    int64_t offset, limit, total;
    int64_t cap; /* > 0: count a search's matches only up to offset + cap (store_user_list_capped) */
    bool more;   /* the count stopped at the cap */
    struct hub_user *users;
    size_t n;
};

/* LIKE pattern with the search text escaped ('\' is the escape character). */
static char *like_pattern(const char *q)
{
    size_t n = strlen(q);
    char *p = malloc(2 * n + 3);
    if (p == NULL)
        return NULL;
    char *o = p;
    *o++ = '%';
    for (size_t i = 0; i < n; i++) {
        char c = q[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == '%' || c == '_' || c == '\\')
            *o++ = '\\';
        *o++ = c;
    }
    *o++ = '%';
    *o = '\0';
    return p;
}

/* FTS5 query for the users_search trigram index: the text as one phrase (a substring), '"'
 * doubled; sealed usernames are ciphertext, so only the referral code column is searched. */
static char *fts_phrase(const char *q, bool sealed)
{
    static const char col[] = "referral_code : ";
    size_t n = strlen(q);
    char *p = malloc(sizeof col + 2 * n + 3);
    if (p == NULL)
        return NULL;
    char *o = p;
    if (sealed)
        o += sprintf(o, "%s", col);
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '"')
            *o++ = '"';
        *o++ = q[i];
    }
    *o++ = '"';
    *o = '\0';
    return p;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* The ids a search matches, as a CTE m(id): a substring of the username or the referral code
 * (served by the trigram index: FTS5 on SQLite for 3+ characters, pg_trgm on PostgreSQL), or
 * exactly the Telegram id or the UUID. Sealed usernames and Telegram ids match exactly, through
 * their blind index ($3, $4). $1: the FTS5 phrase or the LIKE pattern; $2: the UUID (lower case).
 * SQLite's LIKE ignores ASCII case by itself (lower() would triple a short search's scan);
 * PostgreSQL's does not, and its trigram indexes are on lower(). The FTS5 match stops after
 * $4 ($5 sealed) ids, which FTS5 yields lazily in rowid order: offset + cap for the dashboard, so
 * a search matching every user reads a page's worth, not every match. */
static const char *search_cte(enum store_dialect d, bool sealed, bool fts)
{
    static const char *const cte[2][3] = {
        {/* plaintext: FTS5, SQLite LIKE, PostgreSQL LIKE */
         "WITH m(id) AS (SELECT id FROM (SELECT rowid AS id FROM users_search WHERE users_search MATCH $1"
         " ORDER BY rowid LIMIT $4) f"
         " UNION SELECT id FROM users WHERE vless_uuid = $2 UNION SELECT id FROM users WHERE telegram_id = $3)",
         "WITH m(id) AS (SELECT id FROM users WHERE username LIKE $1 ESCAPE '\\' OR referral_code LIKE $1 ESCAPE '\\'"
         " UNION SELECT id FROM users WHERE vless_uuid = $2 UNION SELECT id FROM users WHERE telegram_id = $3)",
         "WITH m(id) AS (SELECT id FROM users WHERE lower(username) LIKE $1 ESCAPE '\\'"
         " OR lower(referral_code) LIKE $1 ESCAPE '\\'"
         " UNION SELECT id FROM users WHERE vless_uuid = $2 UNION SELECT id FROM users WHERE telegram_id = $3)"},
        {/* sealed */
         "WITH m(id) AS (SELECT id FROM (SELECT rowid AS id FROM users_search WHERE users_search MATCH $1"
         " ORDER BY rowid LIMIT $5) f"
         " UNION SELECT id FROM users WHERE vless_uuid = $2 UNION SELECT id FROM users WHERE telegram_hmac = $3"
         " UNION SELECT id FROM users WHERE username_hmac = $4)",
         "WITH m(id) AS (SELECT id FROM users WHERE referral_code LIKE $1 ESCAPE '\\'"
         " UNION SELECT id FROM users WHERE vless_uuid = $2 UNION SELECT id FROM users WHERE telegram_hmac = $3"
         " UNION SELECT id FROM users WHERE username_hmac = $4)",
         "WITH m(id) AS (SELECT id FROM users WHERE lower(referral_code) LIKE $1 ESCAPE '\\'"
         " UNION SELECT id FROM users WHERE vless_uuid = $2 UNION SELECT id FROM users WHERE telegram_hmac = $3"
         " UNION SELECT id FROM users WHERE username_hmac = $4)"},
    };
    return cte[sealed][fts ? 0 : d == STORE_DIALECT_SQLITE ? 1 : 2];
}

/* PostgreSQL, count capped: the match as one OR over indexed terms, so the planner picks per
 * search either the trigram and key indexes (few matches) or a walk of the primary key that
 * stops after the page (many); the count, stopping at offset + cap, rides along as a column. A
 * search that matches every user then reads a page's worth, not 100k rows. */
static int search_page_pg_capped(struct store_conn *sc, struct list_arg *a, bool sealed, struct store_val *p, size_t np,
                                 struct store_res *r)
{
    const char *where = sealed ? " WHERE lower(referral_code) LIKE $1 ESCAPE '\\' OR vless_uuid = $2"
                                 " OR telegram_hmac = $3 OR username_hmac = $4"
                               : " WHERE lower(username) LIKE $1 ESCAPE '\\' OR lower(referral_code) LIKE $1"
                                 " ESCAPE '\\' OR vless_uuid = $2 OR telegram_id = $3";
    char sql[1024];
    p[np] = SV_I(a->limit);
    p[np + 1] = SV_I(a->offset);
    p[np + 2] = SV_I(a->offset + a->cap);
    snprintf(sql, sizeof sql,
             "SELECT " USER_COLS ", (SELECT count(*) FROM (SELECT 1 FROM users%s LIMIT $%zu) c) FROM users%s"
             " ORDER BY id LIMIT $%zu OFFSET $%zu",
             where, np + 3, where, np + 1, np + 2);
    TRY(store__exec(sc, sql, p, np + 3, r));
    if (r->nrows > 0) {
        a->total = store__cell_i64(r, 0, USER_NCOLS);
    } else if (a->offset > 0) { /* past the last page: the count alone */
        struct store_res c;
        p[np] = p[np + 2];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT 1 FROM users%s LIMIT $%zu) c", where, np + 1);
        int rc = store__exec(sc, sql, p, np + 1, &c);
        if (rc < 0) {
            store__res_free(r);
            return rc;
        }
        a->total = c.nrows == 1 ? store__cell_i64(&c, 0, 0) : 0;
        store__res_free(&c);
    }
    a->more = a->total >= a->offset + a->cap;
    return 0;
}

/* The dashboard's searches under 3 characters: no trigram can serve a part that short, so they
 * match a whole name (or the Telegram id) only, from the unique indexes, never a scan. */
static int search_short(struct store_conn *sc, struct list_arg *a, struct store_res *r)
{
    bool sealed = store__sealed(sc);
    char uh[65] = "", th[65] = "";
    char *end;
    long long v = strtoll(a->q, &end, 10);
    int64_t tg = *end == '\0' && v > 0 ? v : -1;
    if (sealed) {
        TRY(store__blind(sc, "username", a->q, uh));
        if (tg > 0)
            TRY(store__blind_telegram(sc, tg, th));
    }
    struct store_val p[] = {SV_T(sealed ? uh : a->q), sealed ? SV_T(th) : SV_I(tg), SV_I(a->limit), SV_I(a->offset)};
    TRY(store__exec(sc,
                    sealed ? "SELECT " USER_COLS ", 0 FROM users WHERE username_hmac = $1 OR telegram_hmac = $2"
                             " ORDER BY id LIMIT $3 OFFSET $4"
                           : "SELECT " USER_COLS ", 0 FROM users WHERE username = $1 OR telegram_id = $2"
                             " ORDER BY id LIMIT $3 OFFSET $4",
                    p, 4, r));
    a->total = a->offset + (int64_t)r->nrows;
    return 0;
}

/* One page of a search and the number of matches in one statement: the matching ids come from
 * indexes (never a scan of the users, except SQLite's 1-2 character searches), the page's ids are
 * cut from them and only those rows are read, by primary key. */
static int search_page(struct store_conn *sc, struct list_arg *a, struct store_res *r)
{
    const char *q = a->q;
    if (a->cap > 0 && utf8_chars(q) < 3)
        return search_short(sc, a, r);
    bool sealed = store__sealed(sc);
    bool fts = sc->st->ops->dialect == STORE_DIALECT_SQLITE && utf8_chars(q) >= 3;
    char *pat = fts ? fts_phrase(q, sealed) : like_pattern(q);
    char uuid[64] = "", th[65] = "", uh[65] = "";
    int64_t tg = -1;
    int rc = 0;
    if (pat == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; q[i] && i + 1 < sizeof uuid; i++)
        uuid[i] = (char)(q[i] >= 'A' && q[i] <= 'Z' ? q[i] - 'A' + 'a' : q[i]);
    char *end;
    long long v = strtoll(q, &end, 10);
    if (*end == '\0' && v > 0)
        tg = v;
    if (sealed && tg > 0)
        rc = store__blind_telegram(sc, tg, th);
    if (sealed && rc == 0)
        rc = store__blind(sc, "username", q, uh);
    if (rc < 0)
        goto out;
    struct store_val p[7] = {SV_T(pat), SV_T(uuid), sealed ? SV_T(th) : SV_I(tg), SV_T(uh)};
    size_t np = sealed ? 4 : 3;
    if (a->cap > 0 && sc->st->ops->dialect == STORE_DIALECT_PG) {
        rc = search_page_pg_capped(sc, a, sealed, p, np, r);
        goto out;
    }
    /* The count, capped or not, rides along as a constant column of the page. $np+1: how far
     * the FTS5 match and the count go. */
    const char *cte = search_cte(sc->st->ops->dialect, sealed, fts);
    char sql[1280];
    p[np] = SV_I(a->cap > 0 ? a->offset + a->cap : (int64_t)1 << 62);
    p[np + 1] = SV_I(a->limit);
    p[np + 2] = SV_I(a->offset);
    snprintf(sql, sizeof sql,
             "%s SELECT " USER_COLS ", (SELECT count(*) FROM (SELECT 1 FROM m LIMIT $%zu) c) FROM users"
             " WHERE id IN (SELECT id FROM m ORDER BY id LIMIT $%zu OFFSET $%zu) ORDER BY id",
             cte, np + 1, np + 2, np + 3);
    if ((rc = store__exec(sc, sql, p, np + 3, r)) < 0)
        goto out;
    if (r->nrows > 0) {
        a->total = store__cell_i64(r, 0, USER_NCOLS);
    } else if (a->offset > 0) { /* past the last page: the count alone */
        struct store_res c;
        snprintf(sql, sizeof sql, "%s SELECT count(*) FROM (SELECT 1 FROM m LIMIT $%zu) c", cte, np + 1);
        if ((rc = store__exec(sc, sql, p, np + 1, &c)) < 0) {
            store__res_free(r);
            goto out;
        }
        a->total = c.nrows == 1 ? store__cell_i64(&c, 0, 0) : 0;
        store__res_free(&c);
    }
    a->more = a->cap > 0 && a->total >= a->offset + a->cap;
out:
    free(pat);
    return rc;
}

/* PostgreSQL plans a prepared statement generically after a few runs: for a LIKE pattern that
 * means a plan that fits no search (a walk of every user for a name that matches none). The
 * search is planned for its own pattern, in a read-only transaction that scopes the setting. */
static int search_page_planned(struct store_conn *sc, struct list_arg *a, struct store_res *r)
{
    if (sc->st->ops->dialect != STORE_DIALECT_PG)
        return search_page(sc, a, r);
    /* BEGIN and the setting in one round trip (a multi-statement exec). */
    int rc = store__exec(sc, "BEGIN READ ONLY; SELECT set_config('plan_cache_mode', 'force_custom_plan', true)", NULL,
                         0, NULL);
    if (rc == 0)
        rc = search_page(sc, a, r);
    if (rc < 0) {
        store__rollback(sc);
        return rc;
    }
    if ((rc = store__commit(sc)) < 0) /* it rolled back */
        store__res_free(r);
    return rc;
}

static int list_body(struct store_conn *sc, void *arg)
{
    struct list_arg *a = arg;
    struct store_res r;
    int rc;
    if (a->q != NULL && a->q[0] != '\0') {
        TRY(search_page_planned(sc, a, &r));
    } else {
        struct store_val p[] = {SV_I(a->limit), SV_I(a->offset)};
        TRY(store__exec(sc,
                        "SELECT " USER_COLS ", (SELECT count(*) FROM users) FROM users ORDER BY id LIMIT $1 OFFSET $2",
                        p, 2, &r));
        if (r.nrows > 0)
            a->total = store__cell_i64(&r, 0, USER_NCOLS);
        else if (a->offset > 0) {
            store__res_free(&r);
            TRY(store__exec(sc, "SELECT count(*) FROM users", NULL, 0, &r));
            a->total = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
            store__res_free(&r);
            return 0;
        }
    }
    rc = 0;
    if (r.nrows > 0) {
        a->users = calloc(r.nrows, sizeof *a->users);
        if (a->users == NULL) {
            store__res_free(&r);
            return ERR_NOMEM;
        }
        for (size_t i = 0; rc == 0 && i < r.nrows; i++)
            rc = store__user_from_row(sc, &r, i, &a->users[i]);
    }
    a->n = r.nrows;
    store__res_free(&r);
    return rc;
}

int store__users_search_purge(struct store_conn *sc, void *arg)
{
    (void)arg;
    if (sc->st->ops->dialect != STORE_DIALECT_SQLITE)
        return 0;
    return store__exec(sc, "INSERT INTO users_search (users_search) VALUES ('optimize')", NULL, 0, NULL);
}

static int user_list(struct store *st, struct list_arg a, struct hub_user **out, size_t *n, int64_t *total, bool *more)
{
    *out = NULL;
    *n = 0;
    int rc = store__ro(st, list_body, &a);
    if (rc < 0) {
        free(a.users);
        return rc;
    }
    *out = a.users;
    *n = a.n;
    if (total != NULL)
        *total = a.total;
    if (more != NULL)
        *more = a.more;
    return 0;
}

int store_user_list(struct store *st, const char *q, int64_t offset, int64_t limit, struct hub_user **out, size_t *n,
                    int64_t *total)
{
    struct list_arg a = {.q = q, .offset = offset < 0 ? 0 : offset, .limit = limit <= 0 ? 50 : limit};
    return user_list(st, a, out, n, total, NULL);
}

int store_user_list_capped(struct store *st, const char *q, int64_t offset, int64_t limit, int64_t cap,
                           struct hub_user **out, size_t *n, int64_t *total, bool *more)
{
    struct list_arg a = {.q = q, .offset = offset < 0 ? 0 : offset, .limit = limit <= 0 ? 50 : limit};
    a.cap = cap > a.limit ? cap : a.limit; /* the page is always whole */
    return user_list(st, a, out, n, total, more);
}

/* Runs an UPDATE of one user that must hit a row; bumps the revision first when asked. */
static int update_one(struct store_conn *sc, const char *sql, struct store_val *p, size_t n, bool bump, size_t rev_slot)
{
    if (bump) {
        int64_t rev;
        TRY(store__bump_revision(sc, &rev));
        p[rev_slot] = SV_I(rev);
    }
    struct store_res r;
    TRY(store__exec(sc, sql, p, n, &r));
    int rc = r.changes == 1 ? 0 : ERR_NOT_FOUND;
    store__res_free(&r);
    return rc;
}

/* One UPDATE naming only the patched columns: the row is never read and written back, so a
 * concurrent patch of another field (or a balance delta) survives. */
static int patch_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    const struct hub_user *v = a->cu;
    unsigned f = (unsigned)a->i64;
    int64_t rev;
    if (f & (HUB_USER_F_BALANCE | HUB_USER_F_CURRENCY))
        TRY(store__ledger_before_patch_tx(sc, a->id, (f & HUB_USER_F_BALANCE) ? &v->balance_minor : NULL,
                                          (f & HUB_USER_F_CURRENCY) ? v->currency : NULL, a->now));
    TRY(store__bump_revision(sc, &rev));
    struct store_val p[9] = {SV_I(a->now), SV_I(rev), SV_I(a->id)};
    size_t n = 3;
    char sql[512] = "UPDATE users SET updated_at = $1, revision = $2";
    size_t len = strlen(sql);
    const struct {
        unsigned bit;
        const char *col;
        struct store_val val;
    } cols[] = {
        {HUB_USER_F_TELEGRAM_ID, "telegram_id", SV_IN(v->telegram_id)},
        {HUB_USER_F_USERNAME, "username", SV_T(v->username)},
        {HUB_USER_F_LANGUAGE, "language", SV_T(v->language)},
        {HUB_USER_F_CURRENCY, "currency", SV_T(v->currency)},
        {HUB_USER_F_BALANCE, "balance_minor", SV_I(v->balance_minor)},
        {HUB_USER_F_ENABLED, "enabled", SV_I(v->enabled)},
    };
    /* Sealed columns are written by store__user_seal_tx once the row is read back. */
    bool sealed = store__sealed(sc);
    unsigned sealed_bits = sealed ? f & (HUB_USER_F_TELEGRAM_ID | HUB_USER_F_USERNAME) : 0;
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        if (!(f & cols[i].bit) || (sealed_bits & cols[i].bit))
            continue;
        p[n++] = cols[i].val;
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s = $%zu", cols[i].col, n);
    }
    snprintf(sql + len, sizeof sql - len, " WHERE id = $3 RETURNING " USER_COLS);
    struct hub_user row;
    TRY(user_query(sc, sql, p, n, &row));
    if (sealed_bits != 0) {
        if (sealed_bits & HUB_USER_F_TELEGRAM_ID)
            row.telegram_id = v->telegram_id;
        if (sealed_bits & HUB_USER_F_USERNAME)
            snprintf(row.username, sizeof row.username, "%s", v->username);
        TRY(store__user_seal_tx(sc, a->id, row.telegram_id, row.username));
    }
    if (a->out != NULL)
        *a->out = row;
    return store__audit(sc, a->audit, a->now, "user", a->id);
}

int store_user_patch(struct store *st, int64_t id, const struct hub_user *v, unsigned fields, int64_t now,
                     const struct store_audit *audit, struct hub_user *out)
{
    struct user_arg a = {.cu = v, .id = id, .i64 = (int64_t)fields, .now = now, .audit = audit, .out = out};
    return store__tx(st, patch_body, &a);
}

static int enable_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    struct store_val p[] = {SV_I(a->b), SV_I(a->now), SV_NULL, SV_I(a->id)};
    TRY(update_one(sc, "UPDATE users SET enabled = $1, updated_at = $2, revision = $3 WHERE id = $4", p, 4, true, 2));
    return store__audit(sc, a->audit, a->now, "user", a->id);
}

int store_user_set_enabled(struct store *st, int64_t id, bool enabled, int64_t now, const struct store_audit *audit)
{
    struct user_arg a = {.id = id, .b = enabled, .now = now, .audit = audit};
    return store__tx(st, enable_body, &a);
}

static int delete_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    struct store_val pid[] = {SV_I(a->id)};
    TRY(user_exists(sc, a->id));
    int64_t rev;
    TRY(store__bump_revision(sc, &rev));
    /* The name is copied as stored: a sealed one stays sealed (its associated data names the
     * user id, which the tombstone keeps). */
    struct store_val pt[] = {SV_I(a->id), SV_I(rev), SV_I(a->now)};
    TRY(store__exec(sc,
                    "INSERT INTO user_tombstones (user_id, vless_uuid, username, revision, deleted_at, sealed_key)"
                    " SELECT id, vless_uuid, username, $2, $3, sealed_key FROM users WHERE id = $1",
                    pt, 3, NULL));
    /* Children first: SQLite only cascades with foreign_keys on, and we do not rely on it. */
    TRY(store__exec(sc, "DELETE FROM subscriptions WHERE user_id = $1", pid, 1, NULL));
    TRY(store__exec(sc, "DELETE FROM devices WHERE user_id = $1", pid, 1, NULL));
    TRY(store__exec(sc, "UPDATE users SET referrer_id = NULL WHERE referrer_id = $1", pid, 1, NULL));
    TRY(store__exec(sc, "UPDATE payments SET user_id = NULL WHERE user_id = $1", pid, 1, NULL));
    TRY(store__exec(sc, "DELETE FROM users WHERE id = $1", pid, 1, NULL));
    return store__audit(sc, a->audit, a->now, "user", a->id);
}

int store_user_delete(struct store *st, int64_t id, int64_t now, const struct store_audit *audit)
{
    struct user_arg a = {.id = id, .now = now, .audit = audit};
    return store__tx(st, delete_body, &a);
}

static int token_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    struct store_val p[] = {SV_T(a->s), SV_I(a->id)};
    TRY(update_one(sc, "UPDATE users SET sub_token = $1 WHERE id = $2", p, 2, false, 0));
    return store__audit(sc, a->audit, a->now, "user", a->id);
}

int store_user_set_token(struct store *st, int64_t id, const char *token, const struct store_audit *audit)
{
    struct user_arg a = {.id = id, .s = token, .audit = audit};
    return store__tx(st, token_body, &a);
}

static int uuid_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    struct store_val p[] = {SV_T(a->s), SV_I(a->now), SV_NULL, SV_I(a->id)};
    TRY(update_one(sc, "UPDATE users SET vless_uuid = $1, updated_at = $2, revision = $3 WHERE id = $4", p, 4, true,
                   2));
    return store__audit(sc, a->audit, a->now, "user", a->id);
}

int store_user_set_uuid(struct store *st, int64_t id, const char *uuid, int64_t now, const struct store_audit *audit)
{
    struct user_arg a = {.id = id, .s = uuid, .now = now, .audit = audit};
    return store__tx(st, uuid_body, &a);
}

static int balance_body(struct store_conn *sc, void *arg)
{
    struct user_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT currency FROM users WHERE id = $1", p, 1, &r));
    char currency[HUB_CURRENCY_LEN + 1];
    int rc = r.nrows == 1 ? 0 : ERR_NOT_FOUND;
    if (rc == 0)
        store__cell_str(&r, 0, 0, currency, sizeof currency);
    store__res_free(&r);
    TRY(rc);
    /* Through the ledger: one bounded atomic statement, so concurrent top-ups never lose an
     * update and the balance stays within 0..HUB_MAX_MONEY. */
    TRY(store__ledger_add_tx(sc, a->id, currency, a->i64, "admin", 0, a->now, &a->result));
    return store__audit(sc, a->audit, a->now, "user", a->id);
}

int store_user_add_balance(struct store *st, int64_t id, int64_t delta, int64_t now, int64_t *balance,
                           const struct store_audit *audit)
{
    struct user_arg a = {.id = id, .i64 = delta, .now = now, .audit = audit};
    TRY(store__tx(st, balance_body, &a));
    if (balance != NULL)
        *balance = a.result;
    return 0;
}
