/* Counts for GET /api/v1/stats. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/store/store_int.h"

static int stats_body(struct store_conn *sc, void *arg)
{
    struct store_stats *s = arg;
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM users) - (SELECT count(*) FROM users "
                    "WHERE enabled = 0),"
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
