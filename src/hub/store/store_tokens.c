/* Admin API tokens (hashed; role admin or support), looked up by hash on every admin request. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
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
    TRY(store__exec(sc, "SELECT id, name, role, created_at, revoked FROM api_tokens ORDER BY id", NULL, 0, &r));
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
