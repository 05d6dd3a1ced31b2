/* GET /api/v1/stats: counts of users, subscriptions, nodes, traffic and payments. */
#include "core/err.h"
#include "hub/api/api_int.h"

void api__stats(struct api_call *c)
{
    struct store_stats s;
    int rc = store_stats_get(c->ctx->st, &s);
    if (rc < 0) {
        api__store_error(c, rc, "stats");
        return;
    }
    api__json(c, 200,
              json_pack("{s:{s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I},s:I,s:I}", "users", "total",
                        (json_int_t)s.users, "enabled", (json_int_t)s.users_enabled, "subscriptions", "active",
                        (json_int_t)s.subs_active, "limited", (json_int_t)s.subs_limited, "expired",
                        (json_int_t)s.subs_expired, "nodes", "total", (json_int_t)s.nodes, "up", (json_int_t)s.nodes_up,
                        "draining", (json_int_t)s.nodes_draining, "traffic", "up", (json_int_t)s.traffic_up, "down",
                        (json_int_t)s.traffic_down, "payments_succeeded", (json_int_t)s.payments_succeeded, "revision",
                        (json_int_t)s.revision));
}
