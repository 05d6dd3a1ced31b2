/* Subscriptions: grant, extend, revoke, read. Any change a node must see bumps the user's
 * revision in the same transaction. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

#define SUB_COLS                                                                                                       \
    "id, user_id, plan_id, starts_at, ends_at, used_up, used_down, state, last_reset_at, quota_bytes, "                \
    "device_limit, reset_strategy, created_at"

/* Reads the SUB_COLS starting at column off. */
static void sub_from_row_at(const struct store_res *r, size_t i, size_t off, struct hub_sub *s)
{
    char buf[16];
    memset(s, 0, sizeof *s);
    s->id = store__cell_i64(r, i, off + 0);
    s->user_id = store__cell_i64(r, i, off + 1);
    s->plan_id = store__cell_i64(r, i, off + 2);
    s->starts_at = store__cell_i64(r, i, off + 3);
    s->ends_at = store__cell_i64(r, i, off + 4);
    s->used_up = store__cell_i64(r, i, off + 5);
    s->used_down = store__cell_i64(r, i, off + 6);
    store__cell_str(r, i, off + 7, buf, sizeof buf);
    int st = hub_sub_state_parse(buf);
    s->state = st < 0 ? HUB_SUB_REVOKED : (enum hub_sub_state)st;
    s->last_reset_at = store__cell_i64(r, i, off + 8);
    s->quota_bytes = store__cell_i64(r, i, off + 9);
    s->device_limit = store__cell_i64(r, i, off + 10);
    store__cell_str(r, i, off + 11, buf, sizeof buf);
    int rs = hub_reset_parse(buf);
    s->reset = rs < 0 ? HUB_RESET_NONE : (enum hub_reset)rs;
    s->created_at = store__cell_i64(r, i, off + 12);
}

static void sub_from_row(const struct store_res *r, size_t i, struct hub_sub *s)
{
    sub_from_row_at(r, i, 0, s);
}

static int sub_query(struct store_conn *sc, const char *sql, const struct store_val *p, size_t n, struct hub_sub *out)
{
    struct store_res r;
    TRY(store__exec(sc, sql, p, n, &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows >= 1) {
        sub_from_row(&r, 0, out);
        rc = 0;
    }
    store__res_free(&r);
    return rc;
}

static int save_sub(struct store_conn *sc, const struct hub_sub *s, int64_t now)
{
    struct store_val p[] = {
        SV_I(s->ends_at),       SV_I(s->used_up), SV_I(s->used_down), SV_T(hub_sub_state_name(s->state)),
        SV_I(s->last_reset_at), SV_I(now),        SV_I(s->id)};
    return store__exec(sc,
                       "UPDATE subscriptions SET ends_at = $1, used_up = $2, used_down = $3, state = $4,"
                       " last_reset_at = $5, updated_at = $6 WHERE id = $7",
                       p, 7, NULL);
}

struct sub_arg {
    int64_t user_id, plan_id, sub_id, days, now;
    const struct store_audit *audit;
    struct hub_sub out;
    struct hub_sub *list;
    size_t n;
};

static int grant_body(struct store_conn *sc, void *arg)
{
    struct sub_arg *a = arg;
    struct store_res r;
    struct store_val pu[] = {SV_I(a->user_id)};
    TRY(store__exec(sc, "SELECT id FROM users WHERE id = $1", pu, 1, &r));
    size_t found = r.nrows;
    store__res_free(&r);
    if (found != 1)
        return ERR_NOT_FOUND;
    struct hub_plan plan;
    struct store_val pp[] = {SV_I(a->plan_id)};
    TRY(store__exec(sc,
                    "SELECT duration_days, quota_bytes, device_limit, reset_strategy, enabled FROM plans"
                    " WHERE id = $1",
                    pp, 1, &r));
    if (r.nrows != 1) {
        store__res_free(&r);
        return ERR_NOT_FOUND;
    }
    memset(&plan, 0, sizeof plan);
    plan.duration_days = store__cell_i64(&r, 0, 0);
    plan.quota_bytes = store__cell_i64(&r, 0, 1);
    plan.device_limit = store__cell_i64(&r, 0, 2);
    int rs = hub_reset_parse(store__cell(&r, 0, 3) ? store__cell(&r, 0, 3) : "");
    plan.reset = rs < 0 ? HUB_RESET_NONE : (enum hub_reset)rs;
    plan.enabled = store__cell_i64(&r, 0, 4) != 0;
    store__res_free(&r);
    if (!plan.enabled)
        return ERR_BAD_STATE;

    /* A current subscription that has run out in the meantime is closed first. */
    struct store_val pe[] = {SV_I(a->now), SV_I(a->user_id)};
    TRY(store__exec(sc,
                    "UPDATE subscriptions SET state = 'expired', updated_at = $1 WHERE user_id = $2"
                    " AND state IN ('active', 'limited') AND ends_at <= $1",
                    pe, 2, NULL));
    TRY(store__exec(sc, "SELECT id FROM subscriptions WHERE user_id = $1 AND state IN ('active', 'limited')", pu, 1,
                    &r));
    found = r.nrows;
    store__res_free(&r);
    if (found > 0)
        return ERR_EXISTS;

    struct hub_sub *s = &a->out;
    memset(s, 0, sizeof *s);
    s->user_id = a->user_id;
    s->plan_id = a->plan_id;
    s->starts_at = a->now;
    TRY(hub_period_end(a->now, plan.duration_days, &s->ends_at));
    s->state = HUB_SUB_ACTIVE;
    s->last_reset_at = a->now;
    s->quota_bytes = plan.quota_bytes;
    s->device_limit = plan.device_limit;
    s->reset = plan.reset;
    s->created_at = a->now;
    struct store_val pi[] = {SV_I(s->user_id),     SV_I(s->plan_id),      SV_I(s->starts_at),
                             SV_I(s->ends_at),     SV_T("active"),        SV_I(s->last_reset_at),
                             SV_I(s->quota_bytes), SV_I(s->device_limit), SV_T(hub_reset_name(s->reset)),
                             SV_I(a->now)};
    TRY(store__exec(sc,
                    "INSERT INTO subscriptions (user_id, plan_id, starts_at, ends_at, used_up, used_down, state,"
                    " last_reset_at, quota_bytes, device_limit, reset_strategy, created_at, updated_at)"
                    " VALUES ($1, $2, $3, $4, 0, 0, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                    pi, 10, &r));
    if (r.nrows != 1) {
        store__res_free(&r);
        return ERR_INTERNAL;
    }
    s->id = store__cell_i64(&r, 0, 0);
    store__res_free(&r);
    TRY(store__user_touch(sc, a->user_id));
    return store__audit(sc, a->audit, a->now, "subscription", s->id);
}

int store_sub_grant(struct store *st, int64_t user_id, int64_t plan_id, int64_t now, struct hub_sub *out,
                    const struct store_audit *audit)
{
    struct sub_arg a = {.user_id = user_id, .plan_id = plan_id, .now = now, .audit = audit};
    TRY(store__tx(st, grant_body, &a));
    if (out != NULL)
        *out = a.out;
    return 0;
}

static int load_sub(struct store_conn *sc, int64_t id, struct hub_sub *out)
{
    struct store_val p[] = {SV_I(id)};
    return sub_query(sc, "SELECT " SUB_COLS " FROM subscriptions WHERE id = $1", p, 1, out);
}

static int extend_body(struct store_conn *sc, void *arg)
{
    struct sub_arg *a = arg;
    TRY(load_sub(sc, a->sub_id, &a->out));
    TRY(hub_sub_extend(&a->out, a->days, a->now));
    TRY(save_sub(sc, &a->out, a->now));
    TRY(store__user_touch(sc, a->out.user_id));
    return store__audit(sc, a->audit, a->now, "subscription", a->sub_id);
}

int store_sub_extend(struct store *st, int64_t sub_id, int64_t days, int64_t now, struct hub_sub *out,
                     const struct store_audit *audit)
{
    struct sub_arg a = {.sub_id = sub_id, .days = days, .now = now, .audit = audit};
    TRY(store__tx(st, extend_body, &a));
    if (out != NULL)
        *out = a.out;
    return 0;
}

static int revoke_body(struct store_conn *sc, void *arg)
{
    struct sub_arg *a = arg;
    TRY(load_sub(sc, a->sub_id, &a->out));
    if (a->out.state == HUB_SUB_REVOKED)
        return ERR_BAD_STATE;
    a->out.state = HUB_SUB_REVOKED;
    TRY(save_sub(sc, &a->out, a->now));
    TRY(store__user_touch(sc, a->out.user_id));
    return store__audit(sc, a->audit, a->now, "subscription", a->sub_id);
}

int store_sub_revoke(struct store *st, int64_t sub_id, int64_t now, struct hub_sub *out,
                     const struct store_audit *audit)
{
    struct sub_arg a = {.sub_id = sub_id, .now = now, .audit = audit};
    TRY(store__tx(st, revoke_body, &a));
    if (out != NULL)
        *out = a.out;
    return 0;
}

static int get_body(struct store_conn *sc, void *arg)
{
    struct sub_arg *a = arg;
    return load_sub(sc, a->sub_id, &a->out);
}

int store_sub_get(struct store *st, int64_t sub_id, struct hub_sub *out)
{
    struct sub_arg a = {.sub_id = sub_id};
    TRY(store__ro(st, get_body, &a));
    *out = a.out;
    return 0;
}

static int current_body(struct store_conn *sc, void *arg)
{
    struct sub_arg *a = arg;
    struct store_val p[] = {SV_I(a->user_id)};
    /* Active/limited first, then the most recent by end. */
    return sub_query(
        sc, "SELECT " SUB_COLS " FROM subscriptions WHERE user_id = $1 ORDER BY " STORE_SUB_CURRENT_ORDER " LIMIT 1", p,
        1, &a->out);
}

int store_sub_current(struct store *st, int64_t user_id, struct hub_sub *out)
{
    struct sub_arg a = {.user_id = user_id};
    TRY(store__ro(st, current_body, &a));
    *out = a.out;
    return 0;
}

static int list_body(struct store_conn *sc, void *arg)
{
    struct sub_arg *a = arg;
    struct store_val p[] = {SV_I(a->user_id)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT " SUB_COLS " FROM subscriptions WHERE user_id = $1 ORDER BY id", p, 1, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++)
        sub_from_row(&r, i, &a->list[i]);
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_sub_list(struct store *st, int64_t user_id, struct hub_sub **out, size_t *n)
{
    struct sub_arg a = {.user_id = user_id};
    int rc = store__ro(st, list_body, &a);
    *out = a.list;
    *n = a.n;
    return rc;
}

struct view_arg {
    const char *token;
    struct hub_user *u;
    struct hub_sub *s;
    struct store_sub_place *place;
    bool has_sub;
};

#define STORE_VIEW_SUB_NCOLS 13 /* s.id .. s.created_at below */

static int view_body(struct store_conn *sc, void *arg)
{
    struct view_arg *a = arg;
    struct store_val p[] = {SV_T(a->token)};
    struct store_res r;
    /* One round trip for the hottest public path: the user and their current subscription. */
    TRY(store__exec(sc,
                    "SELECT u.id, u.telegram_id, u.username, u.language, u.vless_uuid, u.sub_token, u.referral_code,"
                    " u.referrer_id, u.balance_minor, u.currency, u.enabled, u.created_at, u.revision, u.telegram_enc,"
                    " u.sealed_key,"
                    " s.id, s.user_id, s.plan_id, s.starts_at, s.ends_at, s.used_up, s.used_down, s.state,"
                    " s.last_reset_at, s.quota_bytes, s.device_limit, s.reset_strategy, s.created_at,"
                    " u.country, p.node_groups, p.country"
                    " FROM users u LEFT JOIN subscriptions s ON s.id = (SELECT id FROM subscriptions"
                    "  WHERE user_id = u.id ORDER BY " STORE_SUB_CURRENT_ORDER " LIMIT 1)"
                    " LEFT JOIN plans p ON p.id = s.plan_id"
                    " WHERE u.sub_token = $1",
                    p, 1, &r));
    int rc = ERR_NOT_FOUND;
    if (r.nrows == 1 && (rc = store__user_from_row(sc, &r, 0, a->u)) == 0) {
        a->has_sub = store__cell(&r, 0, STORE_USER_NCOLS) != NULL;
        if (a->has_sub)
            sub_from_row_at(&r, 0, STORE_USER_NCOLS, a->s);
        else
            memset(a->s, 0, sizeof *a->s);
        if (a->place != NULL) {
            /* NULL cells (no subscription, or its plan deleted) read as "". */
            size_t at = STORE_USER_NCOLS + STORE_VIEW_SUB_NCOLS;
            store__cell_str(&r, 0, at, a->place->user_country, sizeof a->place->user_country);
            store__cell_str(&r, 0, at + 1, a->place->plan_node_groups, sizeof a->place->plan_node_groups);
            store__cell_str(&r, 0, at + 2, a->place->plan_country, sizeof a->place->plan_country);
        }
        rc = 0;
    }
    store__res_free(&r);
    return rc;
}

int store_sub_view_ex(struct store *st, const char *sub_token, struct hub_user *u, struct hub_sub *s, bool *has_sub,
                      struct store_sub_place *place)
{
    struct view_arg a = {.token = sub_token, .u = u, .s = s, .place = place};
    TRY(store__ro(st, view_body, &a));
    *has_sub = a.has_sub;
    return 0;
}

int store_sub_view(struct store *st, const char *sub_token, struct hub_user *u, struct hub_sub *s, bool *has_sub)
{
    return store_sub_view_ex(st, sub_token, u, s, has_sub, NULL);
}

int store__sub_grant_tx(struct store_conn *sc, int64_t user_id, int64_t plan_id, int64_t now, struct hub_sub *out)
{
    struct sub_arg a = {.user_id = user_id, .plan_id = plan_id, .now = now};
    TRY(grant_body(sc, &a));
    *out = a.out;
    return 0;
}

int store__sub_extend_tx(struct store_conn *sc, int64_t sub_id, int64_t days, int64_t now, struct hub_sub *out)
{
    struct sub_arg a = {.sub_id = sub_id, .days = days, .now = now};
    TRY(extend_body(sc, &a));
    *out = a.out;
    return 0;
}

int store__sub_current_tx(struct store_conn *sc, int64_t user_id, struct hub_sub *out)
{
    struct sub_arg a = {.user_id = user_id};
    TRY(current_body(sc, &a));
    *out = a.out;
    return 0;
}
