/* Usage pushes from nodes: applied once per (node, push id), billed by the node's usage
 * coefficient, limiting subscriptions that reach their quota. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store_int.h"

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

/* The hour's real bytes per user, for the traffic_spike detector (hub/analysis): one statement
 * for the whole push (a JSON list of [user_id, bytes], users in order, each once) instead of an
 * upsert per user on the push path. An hour saturates at HOUR_CAP bytes (256 TiB, beyond any
 * link) so a month of hours sums without overflow. */
#define HOUR_CAP ((int64_t)1 << 48)

static int64_t add_capped(int64_t x, int64_t y)
{
    return x > HOUR_CAP - y ? HOUR_CAP : x + y;
}

static int hourly_add(struct store_conn *sc, const struct usage_arg *a)
{
    static const char *const sql[STORE_DIALECT__COUNT] = {
        [STORE_DIALECT_SQLITE] = "INSERT INTO usage_hourly (user_id, hour, bytes)"
                                 " SELECT json_extract(value, '$[0]'), $2, json_extract(value, '$[1]')"
                                 " FROM json_each($1) WHERE true"
                                 " ON CONFLICT (user_id, hour) DO UPDATE SET bytes = CASE"
                                 " WHEN usage_hourly.bytes > $3 - excluded.bytes THEN $3"
                                 " ELSE usage_hourly.bytes + excluded.bytes END",
        [STORE_DIALECT_PG] = "INSERT INTO usage_hourly (user_id, hour, bytes)"
                             " SELECT (e->>0)::bigint, $2::bigint, (e->>1)::bigint FROM json_array_elements($1::json) e"
                             " ON CONFLICT (user_id, hour) DO UPDATE SET bytes = CASE"
                             " WHEN usage_hourly.bytes > $3::bigint - excluded.bytes THEN $3::bigint"
                             " ELSE usage_hourly.bytes + excluded.bytes END",
    };
    struct buf list;
    buf_init(&list);
    int rc = buf_append(&list, "[", 1);
    size_t rows = 0;
    for (size_t i = 0; i < a->n && rc == 0;) {
        int64_t user = a->u[i].user_id, bytes = 0;
        for (; i < a->n && a->u[i].user_id == user; i++) /* a user listed twice: one row, the sum */
            bytes = add_capped(bytes, add_capped(a->u[i].up, a->u[i].down));
        if (bytes == 0)
            continue;
        char row[48];
        int len = snprintf(row, sizeof row, "%s[%" PRId64 ",%" PRId64 "]", rows ? "," : "", user, bytes);
        rc = buf_append(&list, row, (size_t)len);
        rows++;
    }
    if (rc == 0)
        rc = buf_append(&list, "]", 2); /* and the NUL */
    if (rc == 0 && rows > 0) {
        struct store_val p[] = {SV_T((const char *)buf_data(&list)), SV_I(a->now - a->now % 3600), SV_I(HOUR_CAP)};
        rc = store__exec(sc, sql[sc->st->ops->dialect], p, 3, NULL);
    }
    buf_dispose(&list);
    return rc;
}

static int usage_body(struct store_conn *sc, void *arg)
{
    struct usage_arg *a = arg;
    struct store_res r;
    a->duplicate = false;
    struct store_val pp[] = {SV_I(a->node_id), SV_T(a->push_id), SV_I(a->now)};
    int64_t inserted = 0;
    TRY(store__exec_changes(sc,
                            "INSERT INTO usage_pushes (node_id, push_id, received_at) VALUES ($1, $2, $3)"
                            " ON CONFLICT DO NOTHING",
                            pp, 3, &inserted));
    if (inserted != 1) {
        a->duplicate = true;
        return store__revision_read(sc, &a->rev);
    }
    struct store_val pk[] = {SV_I(a->node_id)};
    TRY(store__exec(sc, "SELECT usage_percent FROM nodes WHERE id = $1", pk, 1, &r));
    int64_t pct = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 100;
    store__res_free(&r);
    TRY(hourly_add(sc, a));
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
            TRY(store__user_touch(sc, e->user_id));
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
    return store__revision_read(sc, &a->rev);
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
