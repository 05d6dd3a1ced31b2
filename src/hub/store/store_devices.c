/* Devices: HWIDs seen on subscription fetches (spec/ecosystem.md §d.1), with the per-plan limit. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/store/store_int.h"

struct dev_arg {
    int64_t user_id, now, limit, id;
    const char *hwid, *ua, *ip;
    bool allowed;
    const struct store_audit *audit;
    struct store_device *list;
    size_t n;
};

static int seen_body(struct store_conn *sc, void *arg)
{
    struct dev_arg *a = arg;
    struct store_res r;
    /* Serialises concurrent first fetches of one user (a row lock on PostgreSQL; SQLite's write
     * transaction already excludes everyone), so the limit cannot be overshot. */
    struct store_val pu[] = {SV_I(a->user_id)};
    int64_t found = 0;
    TRY(store__exec_changes(sc, "UPDATE users SET updated_at = updated_at WHERE id = $1", pu, 1, &found));
    if (found != 1)
        return ERR_NOT_FOUND;
    struct store_val pk[] = {SV_TN(a->ua), SV_TN(a->ip), SV_I(a->now), SV_I(a->user_id), SV_T(a->hwid)};
    TRY(store__exec(sc,
                    "UPDATE devices SET user_agent = $1, last_ip = $2, last_seen = $3 WHERE user_id = $4 AND hwid = $5",
                    pk, 5, &r));
    found = r.changes;
    store__res_free(&r);
    if (found == 1) {
        a->allowed = true;
        return 0;
    }
    TRY(store__exec(sc, "SELECT count(*) FROM devices WHERE user_id = $1", pu, 1, &r));
    int64_t count = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    if (a->limit > 0 && count >= a->limit) {
        a->allowed = false;
        return 0;
    }
    struct store_val pi[] = {SV_I(a->user_id), SV_T(a->hwid), SV_TN(a->ua), SV_TN(a->ip), SV_I(a->now)};
    TRY(store__exec(sc,
                    "INSERT INTO devices (user_id, hwid, user_agent, last_ip, first_seen, last_seen)"
                    " VALUES ($1, $2, $3, $4, $5, $5)",
                    pi, 5, NULL));
    a->allowed = true;
    return 0;
}

int store_device_seen(struct store *st, int64_t user_id, const char *hwid, const char *user_agent, const char *ip,
                      int64_t now, int64_t limit, bool *allowed)
{
    struct dev_arg a = {.user_id = user_id, .hwid = hwid, .ua = user_agent, .ip = ip, .now = now, .limit = limit};
    TRY(store__tx(st, seen_body, &a));
    *allowed = a.allowed;
    return 0;
}

static int list_body(struct store_conn *sc, void *arg)
{
    struct dev_arg *a = arg;
    struct store_val p[] = {SV_I(a->user_id)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, user_id, hwid, user_agent, last_ip, first_seen, last_seen FROM devices"
                    " WHERE user_id = $1 ORDER BY id",
                    p, 1, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct store_device *d = &a->list[i];
        d->id = store__cell_i64(&r, i, 0);
        d->user_id = store__cell_i64(&r, i, 1);
        store__cell_str(&r, i, 2, d->hwid, sizeof d->hwid);
        store__cell_str(&r, i, 3, d->user_agent, sizeof d->user_agent);
        store__cell_str(&r, i, 4, d->last_ip, sizeof d->last_ip);
        d->first_seen = store__cell_i64(&r, i, 5);
        d->last_seen = store__cell_i64(&r, i, 6);
    }
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_device_list(struct store *st, int64_t user_id, struct store_device **out, size_t *n)
{
    struct dev_arg a = {.user_id = user_id};
    int rc = store__ro(st, list_body, &a);
    if (rc < 0) {
        free(a.list);
        a.list = NULL;
        a.n = 0;
    }
    *out = a.list;
    *n = a.n;
    return rc;
}

static int delete_body(struct store_conn *sc, void *arg)
{
    struct dev_arg *a = arg;
    struct store_val p[] = {SV_I(a->id)};
    int64_t changed = 0;
    TRY(store__exec_changes(sc, "DELETE FROM devices WHERE id = $1", p, 1, &changed));
    if (changed != 1)
        return ERR_NOT_FOUND;
    return store__audit(sc, a->audit, a->now, "device", a->id);
}

int store_device_delete(struct store *st, int64_t id, int64_t now, const struct store_audit *audit)
{
    struct dev_arg a = {.id = id, .now = now, .audit = audit};
    return store__tx(st, delete_body, &a);
}
