/* Node sync (users since a revision, usage pushes applied once), payments, statistics,
 * the audit log reader, the scheduler lock and the scheduler pass. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

static int read_revision(struct store_conn *sc, int64_t *rev)
{
    struct store_res r;
    TRY(store__exec(sc, "SELECT revision FROM sync_state WHERE id = 1", NULL, 0, &r));
    *rev = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    return 0;
}

static int rev_body(struct store_conn *sc, void *arg)
{
    return read_revision(sc, arg);
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

static int sync_body(struct store_conn *sc, void *arg)
{
    struct sync_arg *a = arg;
    /* Revisions are handed out under the sync_state row lock and committed in order, so every
     * change up to the committed revision is visible and later ones wait for the next pull. */
    TRY(read_revision(sc, &a->rev));
    struct store_val p[] = {SV_I(a->since), SV_I(a->rev), SV_I(a->now)};
    struct store_res r, t;
    TRY(store__exec(sc,
                    "SELECT u.id, u.vless_uuid, u.username, u.enabled, u.revision,"
                    " (SELECT s.device_limit FROM subscriptions s WHERE s.user_id = u.id AND " SUB_CONNECTS_AT_3
                    "  ORDER BY s.ends_at DESC LIMIT 1)"
                    " FROM users u WHERE u.revision > $1 AND u.revision <= $2 ORDER BY u.revision",
                    p, 3, &r));
    int rc = store__exec(sc,
                         "SELECT user_id, vless_uuid, username, revision FROM user_tombstones"
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
    for (size_t i = 0; i < r.nrows; i++) {
        struct store_sync_user *u = &a->list[a->n++];
        u->user_id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, u->uuid, sizeof u->uuid);
        store__cell_str(&r, i, 2, u->username, sizeof u->username);
        u->active = store__cell_i64(&r, i, 3) != 0 && store__cell(&r, i, 5) != NULL;
        u->revision = store__cell_i64(&r, i, 4);
        u->device_limit = store__cell_i64(&r, i, 5);
    }
    for (size_t i = 0; i < t.nrows; i++) {
        struct store_sync_user *u = &a->list[a->n++];
        u->user_id = store__cell_i64(&t, i, 0);
        store__cell_str(&t, i, 1, u->uuid, sizeof u->uuid);
        store__cell_str(&t, i, 2, u->username, sizeof u->username);
        u->active = false;
        u->revision = store__cell_i64(&t, i, 3);
    }
    store__res_free(&r);
    store__res_free(&t);
    return 0;
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

/* ---- usage ---- */

struct usage_arg {
    int64_t node_id, now;
    const char *push_id;
    struct store_usage *u;
    size_t n;
    bool duplicate;
    int64_t rev;
};

static int cmp_usage(const void *x, const void *y)
{
    const struct store_usage *a = x, *b = y;
    return (a->user_id > b->user_id) - (a->user_id < b->user_id);
}

static int touch_user(struct store_conn *sc, int64_t user_id)
{
    int64_t rev;
    TRY(store__bump_revision(sc, &rev));
    struct store_val p[] = {SV_I(rev), SV_I(user_id)};
    return store__exec(sc, "UPDATE users SET revision = $1 WHERE id = $2", p, 2, NULL);
}

static int usage_body(struct store_conn *sc, void *arg)
{
    struct usage_arg *a = arg;
    struct store_res r;
    a->duplicate = false;
    struct store_val pp[] = {SV_I(a->node_id), SV_T(a->push_id), SV_I(a->now)};
    TRY(store__exec(sc,
                    "INSERT INTO usage_pushes (node_id, push_id, received_at) VALUES ($1, $2, $3)"
                    " ON CONFLICT DO NOTHING",
                    pp, 3, &r));
    int64_t inserted = r.changes;
    store__res_free(&r);
    if (inserted != 1) {
        a->duplicate = true;
        return read_revision(sc, &a->rev);
    }
    struct store_val pk[] = {SV_I(a->node_id)};
    TRY(store__exec(sc, "SELECT usage_percent FROM nodes WHERE id = $1", pk, 1, &r));
    int64_t pct = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 100;
    store__res_free(&r);
    int64_t sum_up = 0, sum_down = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct store_usage *raw = &a->u[i];
        if (raw->up == 0 && raw->down == 0)
            continue;
        /* The node's totals count real bytes; the user is billed bytes x usage_percent / 100. */
        sum_up = sum_up > HUB_MAX_QUOTA - raw->up ? HUB_MAX_QUOTA : sum_up + raw->up;
        sum_down = sum_down > HUB_MAX_QUOTA - raw->down ? HUB_MAX_QUOTA : sum_down + raw->down;
        struct store_usage billed = {raw->user_id, hub_usage_scale(raw->up, pct), hub_usage_scale(raw->down, pct)};
        const struct store_usage *e = &billed;
        /* One atomic read-modify-write per user: concurrent pushes from other nodes add up. */
        struct store_val p[] = {SV_I(e->up),
                                SV_I(e->down),
                                SV_I(a->now),
                                SV_I(e->user_id),
                                SV_I(HUB_MAX_QUOTA - e->up),
                                SV_I(HUB_MAX_QUOTA - e->down),
                                SV_I(HUB_MAX_QUOTA)};
        TRY(store__exec(
            sc,
            "UPDATE subscriptions SET"
            " used_up = CASE WHEN used_up > $5 THEN $7 ELSE used_up + $1 END,"
            " used_down = CASE WHEN used_down > $6 THEN $7 ELSE used_down + $2 END,"
            " updated_at = $3"
            " WHERE id = (SELECT id FROM subscriptions WHERE user_id = $4 AND state IN ('active', 'limited')"
            "  ORDER BY ends_at DESC LIMIT 1)"
            " RETURNING id, used_up, used_down, quota_bytes, state, starts_at, ends_at",
            p, 7, &r));
        bool limit = false;
        int64_t sub_id = 0;
        if (r.nrows == 1) {
            /* Stored 'active' and now over quota by the domain's rule: store 'limited'. */
            const char *state = store__cell(&r, 0, 4);
            struct hub_sub cur = {.state = HUB_SUB_ACTIVE,
                                  .used_up = store__cell_i64(&r, 0, 1),
                                  .used_down = store__cell_i64(&r, 0, 2),
                                  .quota_bytes = store__cell_i64(&r, 0, 3),
                                  .starts_at = store__cell_i64(&r, 0, 5),
                                  .ends_at = store__cell_i64(&r, 0, 6)};
            sub_id = store__cell_i64(&r, 0, 0);
            limit = state != NULL && strcmp(state, "active") == 0 && hub_sub_evaluate(&cur, a->now) == HUB_SUB_LIMITED;
        }
        store__res_free(&r);
        if (limit) {
            struct store_val pl[] = {SV_I(sub_id)};
            TRY(store__exec(sc, "UPDATE subscriptions SET state = 'limited' WHERE id = $1", pl, 1, NULL));
            TRY(touch_user(sc, e->user_id));
        }
    }
    struct store_val pn[] = {SV_I(sum_up),
                             SV_I(sum_down),
                             SV_I(a->now),
                             SV_I(a->node_id),
                             SV_I(HUB_MAX_QUOTA - sum_up),
                             SV_I(HUB_MAX_QUOTA - sum_down),
                             SV_I(HUB_MAX_QUOTA)};
    TRY(store__exec(sc,
                    "UPDATE nodes SET traffic_up = CASE WHEN traffic_up > $5 THEN $7 ELSE traffic_up + $1 END,"
                    " traffic_down = CASE WHEN traffic_down > $6 THEN $7 ELSE traffic_down + $2 END,"
                    " last_seen = $3, health = 'up' WHERE id = $4",
                    pn, 7, NULL));
    return read_revision(sc, &a->rev);
}

int store_usage_push(struct store *st, int64_t node_id, const char *push_id, const struct store_usage *u, size_t n,
                     int64_t now, bool *duplicate, int64_t *rev)
{
    struct usage_arg a = {.node_id = node_id, .now = now, .push_id = push_id, .n = n};
    for (size_t i = 0; i < n; i++)
        if (u[i].up < 0 || u[i].down < 0 || u[i].up > HUB_MAX_QUOTA || u[i].down > HUB_MAX_QUOTA)
            return ERR_RANGE;
    if (n > 0) {
        /* Rows are locked in user order so that two pushes never deadlock. */
        a.u = malloc(n * sizeof *a.u);
        if (a.u == NULL)
            return ERR_NOMEM;
        memcpy(a.u, u, n * sizeof *a.u);
        qsort(a.u, n, sizeof *a.u, cmp_usage);
    }
    int rc = store__tx(st, usage_body, &a);
    free(a.u);
    if (rc < 0)
        return rc;
    if (duplicate != NULL)
        *duplicate = a.duplicate;
    if (rev != NULL)
        *rev = a.rev;
    return 0;
}

/* ---- payments ---- */

struct pay_arg {
    struct hub_payment *p;
    const char *raw;
    int64_t now;
    struct hub_payment *existing;
};

static int pay_body(struct store_conn *sc, void *arg)
{
    struct pay_arg *a = arg;
    struct hub_payment *p = a->p;
    struct store_val v[] = {SV_IN(p->user_id),        SV_T(p->provider), SV_T(p->external_id),
                            SV_I(p->amount_minor),    SV_T(p->currency), SV_T(hub_pay_status_name(p->status)),
                            SV_T(p->idempotency_key), SV_TN(a->raw),     SV_I(a->now)};
    struct store_res r;
    TRY(store__exec(sc,
                    "INSERT INTO payments (user_id, provider, external_id, amount_minor, currency, status,"
                    " idempotency_key, raw, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
                    " RETURNING id",
                    v, 9, &r));
    p->id = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    p->created_at = a->now;
    store__res_free(&r);
    return 0;
}

static int pay_find_body(struct store_conn *sc, void *arg)
{
    struct pay_arg *a = arg;
    struct store_val v[] = {SV_T(a->p->idempotency_key), SV_T(a->p->provider), SV_T(a->p->external_id)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, user_id, provider, external_id, idempotency_key, amount_minor, currency, status,"
                    " created_at FROM payments WHERE idempotency_key = $1 OR (provider = $2 AND external_id = $3)"
                    " ORDER BY id LIMIT 1",
                    v, 3, &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows == 1) {
        struct hub_payment *e = a->existing;
        char status[16];
        memset(e, 0, sizeof *e);
        e->id = store__cell_i64(&r, 0, 0);
        e->user_id = store__cell_i64(&r, 0, 1);
        store__cell_str(&r, 0, 2, e->provider, sizeof e->provider);
        store__cell_str(&r, 0, 3, e->external_id, sizeof e->external_id);
        store__cell_str(&r, 0, 4, e->idempotency_key, sizeof e->idempotency_key);
        e->amount_minor = store__cell_i64(&r, 0, 5);
        store__cell_str(&r, 0, 6, e->currency, sizeof e->currency);
        store__cell_str(&r, 0, 7, status, sizeof status);
        int s = hub_pay_status_parse(status);
        e->status = s < 0 ? HUB_PAY_PENDING : (enum hub_pay_status)s;
        e->created_at = store__cell_i64(&r, 0, 8);
        rc = 0;
    }
    store__res_free(&r);
    return rc;
}

int store_payment_record(struct store *st, struct hub_payment *p, const char *raw, int64_t now,
                         struct hub_payment *existing)
{
    struct hub_payment tmp;
    struct pay_arg a = {.p = p, .raw = raw, .now = now, .existing = existing ? existing : &tmp};
    int rc = store__tx(st, pay_body, &a);
    if (rc != ERR_EXISTS)
        return rc;
    /* The failed insert aborted its transaction; look the first copy up in a new one. */
    int frc = store__ro(st, pay_find_body, &a);
    return frc < 0 && frc != ERR_NOT_FOUND ? frc : ERR_EXISTS;
}

/* ---- stats ---- */

static int stats_body(struct store_conn *sc, void *arg)
{
    struct store_stats *s = arg;
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM users WHERE enabled = 1),"
                    " (SELECT count(*) FROM subscriptions WHERE state = 'active'),"
                    " (SELECT count(*) FROM subscriptions WHERE state = 'limited'),"
                    " (SELECT count(*) FROM subscriptions WHERE state = 'expired'),"
                    " (SELECT count(*) FROM nodes), (SELECT count(*) FROM nodes WHERE health = 'up'),"
                    " (SELECT count(*) FROM nodes WHERE draining = 1),"
                    " (SELECT coalesce(sum(traffic_up), 0) FROM nodes),"
                    " (SELECT coalesce(sum(traffic_down), 0) FROM nodes),"
                    " (SELECT count(*) FROM payments WHERE status = 'succeeded'),"
                    " (SELECT revision FROM sync_state WHERE id = 1)",
                    NULL, 0, &r));
    if (r.nrows == 1) {
        int64_t *f[] = {&s->users,        &s->users_enabled, &s->subs_active,        &s->subs_limited,
                        &s->subs_expired, &s->nodes,         &s->nodes_up,           &s->nodes_draining,
                        &s->traffic_up,   &s->traffic_down,  &s->payments_succeeded, &s->revision};
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            *f[i] = store__cell_i64(&r, 0, i);
    }
    store__res_free(&r);
    return 0;
}

int store_stats_get(struct store *st, struct store_stats *out)
{
    memset(out, 0, sizeof *out);
    return store__ro(st, stats_body, out);
}

/* ---- audit ---- */

struct audit_list_arg {
    int64_t limit;
    struct store_audit_row *rows;
    size_t n;
};

static int audit_list_body(struct store_conn *sc, void *arg)
{
    struct audit_list_arg *a = arg;
    struct store_val p[] = {SV_I(a->limit)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT id, actor, action, target, at, source_ip, details FROM audit_log ORDER BY id DESC LIMIT $1",
                    p, 1, &r));
    if (r.nrows > 0 && (a->rows = calloc(r.nrows, sizeof *a->rows)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct store_audit_row *w = &a->rows[i];
        w->id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, w->actor, sizeof w->actor);
        store__cell_str(&r, i, 2, w->action, sizeof w->action);
        store__cell_str(&r, i, 3, w->target, sizeof w->target);
        w->at = store__cell_i64(&r, i, 4);
        store__cell_str(&r, i, 5, w->source_ip, sizeof w->source_ip);
        const char *d = store__cell(&r, i, 6);
        w->details = d ? strdup(d) : NULL;
        a->n++;
    }
    store__res_free(&r);
    return 0;
}

int store_audit_list(struct store *st, int64_t limit, struct store_audit_row **out, size_t *n)
{
    struct audit_list_arg a = {.limit = limit <= 0 ? 100 : limit};
    int rc = store__ro(st, audit_list_body, &a);
    if (rc < 0) {
        store_audit_rows_free(a.rows, a.n);
        a.rows = NULL;
        a.n = 0;
    }
    *out = a.rows;
    *n = a.n;
    return rc;
}

void store_audit_rows_free(struct store_audit_row *rows, size_t n)
{
    for (size_t i = 0; rows != NULL && i < n; i++)
        free(rows[i].details);
    free(rows);
}

/* ---- scheduler ---- */

struct lock_arg {
    const char *name, *holder;
    int64_t ttl, now;
    bool held;
};

static int lock_body(struct store_conn *sc, void *arg)
{
    struct lock_arg *a = arg;
    struct store_val p[] = {SV_T(a->name), SV_T(a->holder), SV_I(a->now + a->ttl), SV_I(a->now)};
    TRY(store__exec(sc,
                    "INSERT INTO locks (name, holder, expires_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE"
                    " SET holder = excluded.holder, expires_at = excluded.expires_at"
                    " WHERE locks.holder = excluded.holder OR locks.expires_at < $4",
                    p, 4, NULL));
    struct store_res r;
    TRY(store__exec(sc, "SELECT holder FROM locks WHERE name = $1", p, 1, &r));
    a->held = r.nrows == 1 && store__cell(&r, 0, 0) != NULL && strcmp(store__cell(&r, 0, 0), a->holder) == 0;
    store__res_free(&r);
    return 0;
}

int store_lock_try(struct store *st, const char *name, const char *holder, int64_t ttl, int64_t now, bool *held)
{
    struct lock_arg a = {.name = name, .holder = holder, .ttl = ttl, .now = now};
    TRY(store__tx(st, lock_body, &a));
    *held = a.held;
    return 0;
}

struct sched_arg {
    int64_t now;
    struct store_sched_result res;
};

static int sched_body(struct store_conn *sc, void *arg)
{
    struct sched_arg *a = arg;
    struct store_res r;
    memset(&a->res, 0, sizeof a->res);
    TRY(store__exec(sc,
                    "SELECT id, user_id, state, used_up, used_down, quota_bytes, reset_strategy, last_reset_at,"
                    " ends_at, starts_at FROM subscriptions WHERE state IN ('active', 'limited') ORDER BY user_id",
                    NULL, 0, &r));
    int rc = 0;
    for (size_t i = 0; i < r.nrows && rc == 0; i++) {
        struct hub_sub s = {0};
        s.id = store__cell_i64(&r, i, 0);
        s.user_id = store__cell_i64(&r, i, 1);
        int stv = hub_sub_state_parse(store__cell(&r, i, 2));
        s.state = stv < 0 ? HUB_SUB_ACTIVE : (enum hub_sub_state)stv;
        s.used_up = store__cell_i64(&r, i, 3);
        s.used_down = store__cell_i64(&r, i, 4);
        s.quota_bytes = store__cell_i64(&r, i, 5);
        int rs = hub_reset_parse(store__cell(&r, i, 6));
        s.reset = rs < 0 ? HUB_RESET_NONE : (enum hub_reset)rs;
        s.last_reset_at = store__cell_i64(&r, i, 7);
        s.ends_at = store__cell_i64(&r, i, 8);
        s.starts_at = store__cell_i64(&r, i, 9);
        enum hub_sub_state before = s.state;
        bool reset = false;
        if (a->now < s.ends_at && hub_reset_due(s.reset, s.last_reset_at, a->now)) {
            s.used_up = s.used_down = 0;
            s.last_reset_at = a->now;
            if (s.state == HUB_SUB_LIMITED)
                s.state = HUB_SUB_ACTIVE;
            reset = true;
            a->res.reset++;
        }
        s.state = hub_sub_evaluate(&s, a->now);
        if (!reset && s.state == before)
            continue;
        if (s.state == HUB_SUB_EXPIRED)
            a->res.expired++;
        else if (s.state == HUB_SUB_LIMITED && before != HUB_SUB_LIMITED)
            a->res.limited++;
        struct store_val p[] = {SV_T(hub_sub_state_name(s.state)),
                                SV_I(s.used_up),
                                SV_I(s.used_down),
                                SV_I(s.last_reset_at),
                                SV_I(a->now),
                                SV_I(s.id)};
        rc = store__exec(sc,
                         "UPDATE subscriptions SET state = $1, used_up = $2, used_down = $3, last_reset_at = $4,"
                         " updated_at = $5 WHERE id = $6",
                         p, 6, NULL);
        if (rc == 0 && s.state != before)
            rc = touch_user(sc, s.user_id);
    }
    store__res_free(&r);
    if (rc < 0)
        return rc;
    /* Push ids only need to outlive a node's retry window (days); keep two weeks. */
    struct store_val pp[] = {SV_I(a->now - STORE_PUSH_ID_TTL)};
    TRY(store__exec(sc, "DELETE FROM usage_pushes WHERE received_at < $1", pp, 1, &r));
    a->res.pruned = r.changes;
    store__res_free(&r);
    return 0;
}

int store_sched_run(struct store *st, int64_t now, struct store_sched_result *out)
{
    struct sched_arg a = {.now = now};
    TRY(store__tx(st, sched_body, &a));
    if (out != NULL)
        *out = a.res;
    return 0;
}
