/* Node sync: the global revision and the users changed since a revision. */
#include <stdlib.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

int store__revision_read(struct store_conn *sc, int64_t *rev)
{
    struct store_res r;
    TRY(store__exec(sc, "SELECT revision FROM sync_state WHERE id = 1", NULL, 0, &r));
    *rev = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    return 0;
}

static int rev_body(struct store_conn *sc, void *arg)
{
    return store__revision_read(sc, arg);
}

int store_revision(struct store *st, int64_t *rev)
{
    return store__ro(st, rev_body, rev);
}

/* The SQL mirror of hub_user_access(u, s, now) == HUB_ACCESS_OK for a subscription row s at
 * now = $3 (domain/rules.c decides; nodes pull thousands of users, so the filter runs in SQL).
 * test_hub_access runs the same cases through both, on SQLite and PostgreSQL. */
#define SUB_CONNECTS_AT_3                                                                                              \
    "s.state <> 'revoked' AND s.ends_at > $3 AND s.starts_at <= $3"                                                    \
    " AND NOT (s.quota_bytes > 0 AND s.used_up + s.used_down >= s.quota_bytes)"

struct sync_arg {
    int64_t since, now, rev;
    struct store_sync_user *list;
    size_t n;
};

/* The user's name as nodes see it: opened when the row is sealed. */
static int sync_name(struct store_conn *sc, const struct store_res *r, size_t i, size_t name_col, size_t key_col,
                     struct store_sync_user *u)
{
    if (store__cell_i64(r, i, key_col) == 0) {
        store__cell_str(r, i, name_col, u->username, sizeof u->username);
        return 0;
    }
    return store__unseal_into(sc, "users.username", u->user_id, store__cell(r, i, name_col), u->username,
                              sizeof u->username);
}

static int sync_body(struct store_conn *sc, void *arg)
{
    struct sync_arg *a = arg;
    /* Revisions are handed out under the sync_state row lock and committed in order, so every
     * change up to the committed revision is visible and later ones wait for the next pull. */
    TRY(store__revision_read(sc, &a->rev));
    struct store_val p[] = {SV_I(a->since), SV_I(a->rev), SV_I(a->now)};
    struct store_res r, t;
    TRY(store__exec(sc,
                    "SELECT u.id, u.vless_uuid, u.username, u.enabled, u.revision,"
                    " (SELECT s.device_limit FROM subscriptions s WHERE s.user_id = u.id AND " SUB_CONNECTS_AT_3
                    "  ORDER BY s.ends_at DESC LIMIT 1), u.sealed_key"
                    " FROM users u WHERE u.revision > $1 AND u.revision <= $2 ORDER BY u.revision",
                    p, 3, &r));
    int rc = store__exec(sc,
                         "SELECT user_id, vless_uuid, username, revision, sealed_key FROM user_tombstones"
                         " WHERE revision > $1 AND revision <= $2 AND $1 > 0 ORDER BY revision",
                         p, 2, &t);
    if (rc < 0) {
        store__res_free(&r);
        return rc;
    }
    size_t total = r.nrows + t.nrows;
    if (total > 0 && (a->list = calloc(total, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        store__res_free(&t);
        return ERR_NOMEM;
    }
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        struct store_sync_user *u = &a->list[a->n++];
        u->user_id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, u->uuid, sizeof u->uuid);
        rc = sync_name(sc, &r, i, 2, 6, u);
        u->active = store__cell_i64(&r, i, 3) != 0 && store__cell(&r, i, 5) != NULL;
        u->revision = store__cell_i64(&r, i, 4);
        u->device_limit = store__cell_i64(&r, i, 5);
    }
    for (size_t i = 0; rc == 0 && i < t.nrows; i++) {
        struct store_sync_user *u = &a->list[a->n++];
        u->user_id = store__cell_i64(&t, i, 0);
        store__cell_str(&t, i, 1, u->uuid, sizeof u->uuid);
        rc = sync_name(sc, &t, i, 2, 4, u);
        u->active = false;
        u->revision = store__cell_i64(&t, i, 3);
    }
    store__res_free(&r);
    store__res_free(&t);
    return rc;
}

int store_sync_users(struct store *st, int64_t since, int64_t now, struct store_sync_user **out, size_t *n,
                     int64_t *rev)
{
    struct sync_arg a = {.since = since < 0 ? 0 : since, .now = now};
    /* A transaction gives one snapshot for the revision and both reads. */
    int rc = store__tx(st, sync_body, &a);
    if (rc < 0) {
        free(a.list);
        *out = NULL;
        *n = 0;
        return rc;
    }
    *out = a.list;
    *n = a.n;
    *rev = a.rev;
    return 0;
}
