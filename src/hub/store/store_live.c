/* The dashboard's "now" figures (hub/admin overview): connections the nodes reported open,
 * users with traffic this hour and bytes since 00:00 UTC. Each sub-query reads an index range
 * (usage_hourly_hour_bytes: the sum of today's bytes from the index alone) or the small nodes
 * table, never the users. */
#include <string.h>

#include "core/err.h"
#include "hub/store/store_int.h"

struct live_arg {
    int64_t now;
    struct store_live *out;
};

static int live_body(struct store_conn *sc, void *arg)
{
    struct live_arg *a = arg;
    struct store_res r;
    int64_t hour = a->now - a->now % 3600, day = a->now - a->now % 86400;
    struct store_val p[] = {SV_I(hour), SV_I(day)};
    TRY(store__exec(sc,
                    "SELECT (SELECT coalesce(sum(load_connections), 0) FROM nodes WHERE health = 'up'),"
                    " (SELECT count(*) FROM nodes WHERE health = 'up'),"
                    " (SELECT count(*) FROM usage_hourly WHERE hour = $1),"
                    " (SELECT coalesce(sum(bytes), 0) FROM usage_hourly WHERE hour >= $2)",
                    p, 2, &r));
    if (r.nrows == 1) {
        a->out->connections = store__cell_i64(&r, 0, 0);
        a->out->nodes_reporting = store__cell_i64(&r, 0, 1);
        a->out->users_this_hour = store__cell_i64(&r, 0, 2);
        a->out->bytes_today = store__cell_i64(&r, 0, 3);
    }
    store__res_free(&r);
    return 0;
}

int store_live_get(struct store *st, int64_t now, struct store_live *out)
{
    memset(out, 0, sizeof *out);
    struct live_arg a = {.now = now, .out = out};
    return store__ro(st, live_body, &a);
}
