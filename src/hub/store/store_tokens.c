/* Admin API tokens (hashed; role admin or support), looked up by hash on every admin request,
 * with their limits: expiry, scopes, session tokens under a parent, and the TOTP second factor
 * (docs/security.md §6).
 *
 * The TOTP secret cannot be hashed (the hub must compute codes from it): with a master key it is
 * sealed like the personal columns ("api_tokens.totp_secret:<id>", totp_sealed_key names the
 * data key; store_seal.c seals old hex rows and rotates them), without one it is hex. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/seal/seal.h"
#include "hub/store/store_int.h"

struct token_arg {
    const char *name, *hash;
    enum hub_role role;
    int64_t now, id;
    bool ensure;
};

static int token_add_body(struct store_conn *sc, void *arg)
{
    struct token_arg *a = arg;
    struct store_res r;
    struct store_val p[] = {SV_T(a->name), SV_T(a->hash), SV_T(hub_role_name(a->role)), SV_I(a->now)};
    /* ensure: hubs starting together insert the same bootstrap token; a check before the insert
     * does not see the other's uncommitted row, so the conflict is resolved by the insert itself. */
    TRY(store__exec(sc,
                    a->ensure ? "INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES ($1, $2, $3, $4)"
                                " ON CONFLICT (token_hash) DO NOTHING RETURNING id"
                              : "INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES ($1, $2, $3, $4)"
                                " RETURNING id",
                    p, 4, &r));
    a->id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    return 0;
}

int store_token_add(struct store *st, const char *name, const char *token_hash, enum hub_role role, int64_t now,
                    int64_t *id)
{
    struct token_arg a = {.name = name, .hash = token_hash, .role = role, .now = now};
    TRY(store__tx(st, token_add_body, &a));
    if (id != NULL)
        *id = a.id;
    return 0;
}

int store_token_ensure(struct store *st, const char *name, const char *token_hash, enum hub_role role, int64_t now)
{
    struct token_arg a = {.name = name, .hash = token_hash, .role = role, .now = now, .ensure = true};
    return store__tx(st, token_add_body, &a);
}

static int lookup_body(struct store_conn *sc, void *arg)
{
    struct token_arg *a = arg;
    struct store_val p[] = {SV_T(a->hash)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT id, role FROM api_tokens WHERE token_hash = $1 AND revoked = 0", p, 1, &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows == 1) {
        a->id = store__cell_i64(&r, 0, 0);
        int role = hub_role_parse(store__cell(&r, 0, 1));
        if (role >= 0) {
            a->role = (enum hub_role)role;
            rc = 0;
        }
    }
    store__res_free(&r);
    return rc;
}

int store_token_lookup(struct store *st, const char *token_hash, enum hub_role *role, int64_t *id)
{
    struct token_arg a = {.hash = token_hash};
    TRY(store__ro(st, lookup_body, &a));
    *role = a.role;
    if (id != NULL)
        *id = a.id;
    return 0;
}

struct tlist_arg {
    struct store_token *list;
    size_t n;
    int64_t id, now;
    const struct store_audit *audit;
};

static int tlist_body(struct store_conn *sc, void *arg)
{
    struct tlist_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, name, role, created_at, revoked, expires_at, scopes, parent_id,"
                    " CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END,"
                    " (SELECT count(*) FROM api_token_recovery c WHERE c.token_id = api_tokens.id AND c.used_at = 0)"
                    " FROM api_tokens ORDER BY id",
                    NULL, 0, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct store_token *t = &a->list[i];
        t->id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, t->name, sizeof t->name);
        int role = hub_role_parse(store__cell(&r, i, 2));
        t->role = role < 0 ? HUB_ROLE_SUPPORT : (enum hub_role)role;
        t->created_at = store__cell_i64(&r, i, 3);
        t->revoked = store__cell_i64(&r, i, 4) != 0;
        t->expires_at = store__cell_i64(&r, i, 5);
        store__cell_str(&r, i, 6, t->scopes, sizeof t->scopes);
        t->parent_id = store__cell_i64(&r, i, 7);
        t->totp = store__cell_i64(&r, i, 8) != 0;
        t->recovery_left = store__cell_i64(&r, i, 9);
    }
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_token_list(struct store *st, struct store_token **out, size_t *n)
{
    struct tlist_arg a = {0};
    int rc = store__ro(st, tlist_body, &a);
    if (rc < 0) {
        free(a.list);
        a.list = NULL;
        a.n = 0;
    }
    *out = a.list;
    *n = a.n;
    return rc;
}

static int revoke_body(struct store_conn *sc, void *arg)
{
    struct tlist_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT revoked FROM api_tokens WHERE id = $1", p, 1, &r));
    int rc = r.nrows != 1 ? ERR_NOT_FOUND : store__cell_i64(&r, 0, 0) != 0 ? ERR_BAD_STATE : 0;
    store__res_free(&r);
    if (rc < 0)
        return rc;
    TRY(store__exec(sc, "UPDATE api_tokens SET revoked = 1 WHERE id = $1", p, 1, NULL));
    return store__audit(sc, a->audit, a->now, "token", a->id);
}

int store_token_revoke(struct store *st, int64_t id, int64_t now, const struct store_audit *audit)
{
    struct tlist_arg a = {.id = id, .now = now, .audit = audit};
    return store__tx(st, revoke_body, &a);
}

static int live_body(struct store_conn *sc, void *arg)
{
    struct tlist_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT t.expires_at FROM api_tokens t LEFT JOIN api_tokens p ON p.id = t.parent_id"
                    " WHERE t.id = $1 AND t.revoked = 0 AND (p.id IS NULL OR p.revoked = 0)",
                    p, 1, &r));
    int64_t exp = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : -1;
    store__res_free(&r);
    return exp == 0 || exp > a->now ? 0 : ERR_NOT_FOUND;
}

int store_token_live(struct store *st, int64_t id, int64_t now)
{
    struct tlist_arg a = {.id = id, .now = now};
    return store__ro(st, live_body, &a);
}

/* ---- limits and the second factor ---- */

struct add_arg {
    const struct store_token_new *t;
    int64_t id;
};

static int add_body(struct store_conn *sc, void *arg)
{
    struct add_arg *a = arg;
    const struct store_token_new *t = a->t;
    struct store_val p[] = {SV_T(t->name),      SV_T(t->hash),       SV_T(hub_role_name(t->role)),
                            SV_I(t->now),       SV_I(t->expires_at), SV_T(t->scopes ? t->scopes : ""),
                            SV_IN(t->parent_id)};
    struct store_res r;
    TRY(store__exec(sc,
                    "INSERT INTO api_tokens (name, token_hash, role, created_at, expires_at, scopes, parent_id)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    p, 7, &r));
    a->id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    return 0;
}

int store_token_add_ex(struct store *st, const struct store_token_new *t, int64_t *id)
{
    if (t->expires_at < 0 || (t->scopes != NULL && strlen(t->scopes) >= sizeof((struct store_token *)0)->scopes))
        return ERR_RANGE;
    struct add_arg a = {.t = t};
    TRY(store__tx(st, add_body, &a));
    if (id != NULL)
        *id = a.id;
    return 0;
}

struct auth_arg {
    const char *hash;
    struct store_token_auth *out;
};

static int auth_body(struct store_conn *sc, void *arg)
{
    struct auth_arg *a = arg;
    struct store_val p[] = {SV_T(a->hash)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT t.id, t.role, t.expires_at, t.scopes, t.parent_id,"
                    " CASE WHEN t.totp_secret IS NULL THEN 0 ELSE 1 END"
                    " FROM api_tokens t LEFT JOIN api_tokens p ON p.id = t.parent_id"
                    " WHERE t.token_hash = $1 AND t.revoked = 0 AND (p.id IS NULL OR p.revoked = 0)",
                    p, 1, &r));
    int rc = ERR_NOT_FOUND;
    int role = r.nrows == 1 ? hub_role_parse(store__cell(&r, 0, 1)) : -1;
    if (role >= 0) {
        struct store_token_auth *o = a->out;
        o->id = store__cell_i64(&r, 0, 0);
        o->role = (enum hub_role)role;
        o->expires_at = store__cell_i64(&r, 0, 2);
        store__cell_str(&r, 0, 3, o->scopes, sizeof o->scopes);
        o->parent_id = store__cell_i64(&r, 0, 4);
        o->totp = store__cell_i64(&r, 0, 5) != 0;
        rc = 0;
    }
    store__res_free(&r);
    return rc;
}

int store_token_auth(struct store *st, const char *token_hash, struct store_token_auth *out)
{
    memset(out, 0, sizeof *out);
    struct auth_arg a = {.hash = token_hash, .out = out};
    return store__ro(st, auth_body, &a);
}

struct totp_arg {
    int64_t id, now, step;
    const char *secret;
    const struct store_audit *audit;
    char *out;
    size_t cap;
};

static int totp_set_body(struct store_conn *sc, void *arg)
{
    struct totp_arg *a = arg;
    struct store_val pid[] = {SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT revoked FROM api_tokens WHERE id = $1", pid, 1, &r));
    int rc = r.nrows != 1 ? ERR_NOT_FOUND : store__cell_i64(&r, 0, 0) != 0 ? ERR_BAD_STATE : 0;
    store__res_free(&r);
    TRY(rc);
    /* A new factor or none: the old factor's recovery codes go with it. */
    TRY(store__exec(sc, "DELETE FROM api_token_recovery WHERE token_id = $1", pid, 1, NULL));
    TRY(store__token_totp_write(sc, a->id, a->secret));
    TRY(store__exec(sc, "UPDATE api_tokens SET totp_step = 0 WHERE id = $1", pid, 1, NULL));
    return store__audit(sc, a->audit, a->now, "token", a->id);
}

int store__token_totp_write(struct store_conn *sc, int64_t id, const char *secret_hex)
{
    char *ct = NULL;
    if (secret_hex != NULL && store__sealed(sc))
        TRY(store__seal(sc, "api_tokens.totp_secret", id, secret_hex, &ct));
    uint8_t key_id = ct != NULL ? seal_ring_current(sc->st->seal) : 0;
    struct store_val p[] = {ct ? SV_T(ct) : secret_hex ? SV_T(secret_hex) : SV_NULL, SV_I(key_id), SV_I(id)};
    int rc = store__exec(sc, "UPDATE api_tokens SET totp_secret = $1, totp_sealed_key = $2 WHERE id = $3", p, 3, NULL);
    free(ct);
    return rc;
}

int store_token_totp_set(struct store *st, int64_t id, const char *secret_hex, int64_t now, const struct store_audit *a)
{
    struct totp_arg arg = {.id = id, .now = now, .secret = secret_hex, .audit = a};
    return store__tx(st, totp_set_body, &arg);
}

static int totp_get_body(struct store_conn *sc, void *arg)
{
    struct totp_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT totp_secret, totp_step, totp_sealed_key FROM api_tokens WHERE id = $1 AND revoked = 0",
                    p, 1, &r));
    int rc = ERR_NOT_FOUND;
    const char *v = r.nrows == 1 ? store__cell(&r, 0, 0) : NULL;
    if (v != NULL && store__cell_i64(&r, 0, 2) != 0) {
        char *pt = NULL;
        rc = store__unseal(sc, "api_tokens.totp_secret", a->id, v, &pt);
        if (rc == 0 && strlen(pt) >= a->cap)
            rc = ERR_MALFORMED;
        if (rc == 0)
            memcpy(a->out, pt, strlen(pt) + 1);
        seal_free_text(pt);
    } else if (v != NULL && strlen(v) < a->cap) {
        store__cell_str(&r, 0, 0, a->out, a->cap);
        rc = 0;
    }
    if (rc == 0)
        a->step = store__cell_i64(&r, 0, 1);
    store__res_free(&r);
    return rc;
}

int store_token_totp_get(struct store *st, int64_t id, char *secret_hex, size_t cap, int64_t *last_step)
{
    struct totp_arg a = {.id = id, .out = secret_hex, .cap = cap};
    TRY(store__ro(st, totp_get_body, &a));
    *last_step = a.step;
    return 0;
}

static int totp_accept_body(struct store_conn *sc, void *arg)
{
    struct totp_arg *a = arg;
    struct store_val p[] = {SV_I(a->step), SV_I(a->id)};
    struct store_res r;
    /* Conditional: of two hubs verifying the same code at once, one update wins. */
    TRY(store__exec(sc,
                    "UPDATE api_tokens SET totp_step = $1 WHERE id = $2 AND totp_step < $1 AND revoked = 0"
                    " RETURNING id",
                    p, 2, &r));
    int rc = r.nrows == 1 ? 0 : ERR_BAD_STATE;
    store__res_free(&r);
    return rc;
}

int store_token_totp_accept(struct store *st, int64_t id, int64_t step)
{
    struct totp_arg a = {.id = id, .step = step};
    return store__tx(st, totp_accept_body, &a);
}
