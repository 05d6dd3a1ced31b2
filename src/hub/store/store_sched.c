/* The scheduler's subscription pass: expire, reset traffic by strategy, limit over-quota (the
 * states hub_sub_evaluate decides), prune old usage push ids. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

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
            rc = store__user_touch(sc, s.user_id);
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
