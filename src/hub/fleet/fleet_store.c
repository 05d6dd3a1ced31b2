/* The fleet's rows (schema migration 18): nodes.handshake_at / silent_since, users.country /
 * plans.country, user_holds; through store_sql.h. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "hub/fleet/fleet_int.h"
#include "hub/store/store_sql.h"

/* ---- client handshakes and the silent mark ---- */

struct heard_arg {
    const struct hub_node *n;
    int64_t now;
    bool back;
};

static int heard_body(struct store_conn *sc, void *arg)
{
    struct heard_arg *a = arg;
    int64_t changes = 0;
    /* Cleared only when set: the audit row is written once, by the hub that cleared it. */
    TRY(store__exec_changes(sc,
                            "UPDATE nodes SET handshake_at = $1, silent_since = 0 WHERE id = $2 AND silent_since > 0",
                            (struct store_val[]){SV_I(a->now), SV_I(a->n->id)}, 2, &changes));
    if (changes == 0)
        return store__exec(sc, "UPDATE nodes SET handshake_at = $1 WHERE id = $2",
                           (struct store_val[]){SV_I(a->now), SV_I(a->n->id)}, 2, NULL);
    a->back = true;
    char target[32];
    snprintf(target, sizeof target, "node:%lld", (long long)a->n->id);
    struct store_audit au = {
        .actor = "fleet", .action = "node.clients_back", .target = target, .details = "{\"reason\":\"handshakes\"}"};
    return store__audit(sc, &au, a->now, NULL, 0);
}

int fleet_heard(struct store *st, const struct hub_node *n, int64_t now, bool *back)
{
    struct heard_arg a = {.n = n, .now = now};
    int rc = store__tx(st, heard_body, &a);
    *back = rc == 0 && a.back;
    return rc;
}

static int returned_body(struct store_conn *sc, void *arg)
{
    const struct heard_arg *a = arg;
    return store__exec(sc, "UPDATE nodes SET handshake_at = $1 WHERE id = $2 AND handshake_at > 0",
                       (struct store_val[]){SV_I(a->now), SV_I(a->n->id)}, 2, NULL);
}

int fleet_node_returned(struct store *st, const struct hub_node *n, int64_t now)
{
    if (n->handshake_at <= 0)
        return 0;
    struct heard_arg a = {.n = n, .now = now};
    return store__tx(st, returned_body, &a);
}

struct silence_arg {
    int64_t node_id, now;
    bool mark, fresh, changed;
    const char *reason, *details;
};

static int silence_body(struct store_conn *sc, void *arg)
{
    struct silence_arg *a = arg;
    int64_t changes = 0;
    if (a->mark)
        TRY(store__exec_changes(sc, "UPDATE nodes SET silent_since = $1 WHERE id = $2 AND silent_since = 0",
                                (struct store_val[]){SV_I(a->now), SV_I(a->node_id)}, 2, &changes));
    else if (a->fresh)
        TRY(store__exec_changes(
            sc, "UPDATE nodes SET silent_since = 0, handshake_at = $1 WHERE id = $2 AND silent_since > 0",
            (struct store_val[]){SV_I(a->now), SV_I(a->node_id)}, 2, &changes));
    else
        TRY(store__exec_changes(sc, "UPDATE nodes SET silent_since = 0 WHERE id = $1 AND silent_since > 0",
                                (struct store_val[]){SV_I(a->node_id)}, 1, &changes));
    a->changed = changes > 0;
    if (!a->changed)
        return 0;
    char target[32];
    snprintf(target, sizeof target, "node:%lld", (long long)a->node_id);
    struct store_audit au = {.actor = "fleet",
                             .action = a->mark ? "node.clients_silent" : "node.clients_back",
                             .target = target,
                             .details = a->details};
    return store__audit(sc, &au, a->now, NULL, 0);
}

int fleet__silence_set(struct store *st, int64_t node_id, bool mark, bool fresh_window, const char *reason,
                       const char *details, int64_t now, bool *changed)
{
    struct silence_arg a = {
        .node_id = node_id, .now = now, .mark = mark, .fresh = fresh_window, .reason = reason, .details = details};
    int rc = store__tx(st, silence_body, &a);
    *changed = rc == 0 && a.changed;
    return rc;
}

/* ---- preferred countries ---- */

struct country_arg {
    const char *table, *country;
    int64_t id, now;
    const struct store_audit *audit;
    char out[3];
};

static int country_set_body(struct store_conn *sc, void *arg)
{
    struct country_arg *a = arg;
    char sql[96];
    snprintf(sql, sizeof sql, "UPDATE %s SET country = $1 WHERE id = $2", a->table);
    int64_t changes = 0;
    TRY(store__exec_changes(sc, sql, (struct store_val[]){SV_T(a->country), SV_I(a->id)}, 2, &changes));
    if (changes == 0)
        return ERR_NOT_FOUND;
    return store__audit(sc, a->audit, a->now, strcmp(a->table, "users") == 0 ? "user" : "plan", a->id);
}

int fleet__country_set(struct store *st, const char *table, int64_t id, const char *country,
                       const struct store_audit *audit, int64_t now)
{
    if (strcmp(table, "users") != 0 && strcmp(table, "plans") != 0)
        return ERR_RANGE;
    struct country_arg a = {.table = table, .country = country, .id = id, .now = now, .audit = audit};
    return store__tx(st, country_set_body, &a);
}

static int country_get_body(struct store_conn *sc, void *arg)
{
    struct country_arg *a = arg;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT country FROM %s WHERE id = $1", a->table);
    struct store_res r;
    TRY(store__exec(sc, sql, (struct store_val[]){SV_I(a->id)}, 1, &r));
    int rc = r.nrows == 1 ? 0 : ERR_NOT_FOUND;
    if (rc == 0)
        store__cell_str(&r, 0, 0, a->out, sizeof a->out);
    store__res_free(&r);
    return rc;
}

int fleet__country_get(struct store *st, const char *table, int64_t id, char out[3])
{
    out[0] = '\0';
    if (strcmp(table, "users") != 0 && strcmp(table, "plans") != 0)
        return ERR_RANGE;
    struct country_arg a = {.table = table, .id = id};
    TRY(store__ro(st, country_get_body, &a));
    memcpy(out, a.out, sizeof a.out);
    return 0;
}

int fleet_country_for(struct store *st, int64_t user_id, int64_t plan_id, char out[3])
{
    int rc = fleet__country_get(st, "users", user_id, out);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    if (out[0] != '\0' || plan_id <= 0)
        return 0;
    rc = fleet__country_get(st, "plans", plan_id, out);
    return rc == ERR_NOT_FOUND ? 0 : rc;
}

/* ---- holds ---- */

struct hold_arg {
    int64_t user_id, attempts, until, now;
    const char *reason;
    struct fleet_hold h;
    bool held;
    int n;
};

static int hold_get_body(struct store_conn *sc, void *arg)
{
    struct hold_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT user_id, attempts, since, until, released_at, reason FROM user_holds WHERE user_id = $1",
                    (struct store_val[]){SV_I(a->user_id)}, 1, &r));
    int rc = r.nrows == 1 ? 0 : ERR_NOT_FOUND;
    if (rc == 0) {
        a->h.user_id = store__cell_i64(&r, 0, 0);
        a->h.attempts = store__cell_i64(&r, 0, 1);
        a->h.since = store__cell_i64(&r, 0, 2);
        a->h.until = store__cell_i64(&r, 0, 3);
        a->h.released_at = store__cell_i64(&r, 0, 4);
        store__cell_str(&r, 0, 5, a->h.reason, sizeof a->h.reason);
    }
    store__res_free(&r);
    return rc;
}

int fleet__hold_get(struct store *st, int64_t user_id, struct fleet_hold *out)
{
    struct hold_arg a = {.user_id = user_id};
    TRY(store__ro(st, hold_get_body, &a));
    *out = a.h;
    return 0;
}

static int hold_start_body(struct store_conn *sc, void *arg)
{
    struct hold_arg *a = arg;
    a->held = false;
    int64_t changes = 0;
    /* Only an enabled user: one an operator disabled is not ours to enable later. */
    TRY(store__exec_changes(sc, "UPDATE users SET enabled = 0, updated_at = $1 WHERE id = $2 AND enabled = 1",
                            (struct store_val[]){SV_I(a->now), SV_I(a->user_id)}, 2, &changes));
    if (changes == 0)
        return 0;
    TRY(store__user_touch(sc, a->user_id)); /* nodes drop the user's UUID at their next pull */
    TRY(store__exec(
        sc,
        "INSERT INTO user_holds (user_id, reason, attempts, since, until, released_at)"
        " VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (user_id) DO UPDATE SET reason = $2, attempts = $3,"
        " since = $4, until = $5, released_at = 0",
        (struct store_val[]){SV_I(a->user_id), SV_T(a->reason), SV_I(a->attempts), SV_I(a->now), SV_I(a->until)}, 5,
        NULL));
    char details[128];
    snprintf(details, sizeof details, "{\"reason\":\"%s\",\"attempts\":%lld,\"until\":%lld}", a->reason,
             (long long)a->attempts, (long long)a->until);
    struct store_audit au = {.actor = "fleet", .action = "user.hold", .details = details};
    TRY(store__audit(sc, &au, a->now, "user", a->user_id));
    a->held = true;
    return 0;
}

int fleet__hold_start(struct store *st, int64_t user_id, const char *reason, int64_t attempts, int64_t until,
                      int64_t now, bool *held)
{
    struct hold_arg a = {.user_id = user_id, .reason = reason, .attempts = attempts, .until = until, .now = now};
    int rc = store__tx(st, hold_start_body, &a);
    *held = rc == 0 && a.held;
    return rc;
}

static int release_body(struct store_conn *sc, void *arg)
{
    struct hold_arg *a = arg;
    a->n = 0;
    struct store_res r;
    TRY(store__exec(sc, "SELECT user_id, reason FROM user_holds WHERE released_at = 0 AND until <= $1 ORDER BY user_id",
                    (struct store_val[]){SV_I(a->now)}, 1, &r));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
        int64_t uid = store__cell_i64(&r, i, 0);
        int64_t changes = 0;
        rc = store__exec(sc, "UPDATE user_holds SET released_at = $1 WHERE user_id = $2",
                         (struct store_val[]){SV_I(a->now), SV_I(uid)}, 2, NULL);
        if (rc == 0)
            rc = store__exec_changes(sc, "UPDATE users SET enabled = 1, updated_at = $1 WHERE id = $2 AND enabled = 0",
                                     (struct store_val[]){SV_I(a->now), SV_I(uid)}, 2, &changes);
        if (rc == 0 && changes > 0) {
            rc = store__user_touch(sc, uid);
            char details[64];
            snprintf(details, sizeof details, "{\"reason\":\"%s\"}",
                     store__cell(&r, i, 1) ? store__cell(&r, i, 1) : "");
            struct store_audit au = {.actor = "fleet", .action = "user.hold_end", .details = details};
            if (rc == 0)
                rc = store__audit(sc, &au, a->now, "user", uid);
            a->n++;
        }
    }
    store__res_free(&r);
    return rc;
}

int fleet__holds_release(struct store *st, int64_t now, int *n)
{
    struct hold_arg a = {.now = now};
    int rc = store__tx(st, release_body, &a);
    *n = rc == 0 ? a.n : 0;
    return rc;
}
