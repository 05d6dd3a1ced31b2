/* The admin commands' database steps (bot_admin_store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/bot/bot_admin_store.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"
#include "hub/store/store_sql.h"

#define GIFT_PLAN "Gift"

static int find_gift(struct store *st, int64_t *id)
{
    struct hub_plan *plans;
    size_t n;
    TRY(store_plan_list(st, &plans, &n));
    int rc = ERR_NOT_FOUND;
    for (size_t i = 0; i < n && rc != 0; i++)
        if (strcmp(plans[i].name, GIFT_PLAN) == 0 && plans[i].duration_days == 1) {
            *id = plans[i].id;
            rc = 0;
        }
    free(plans);
    return rc;
}

int bot_admin_store_gift_plan(struct store *st, int64_t now, int64_t *plan_id)
{
    int rc = find_gift(st, plan_id);
    if (rc != ERR_NOT_FOUND)
        return rc;
    struct hub_plan p = {.duration_days = 1, .enabled = true, .reset = HUB_RESET_NONE};
    snprintf(p.name, sizeof p.name, "%s", GIFT_PLAN);
    struct store_audit au = {.actor = "bot", .action = "plan.create"};
    rc = store_plan_create(st, &p, now, &au);
    if (rc == ERR_EXISTS) /* another replica made it meanwhile */
        return find_gift(st, plan_id);
    TRY(rc);
    *plan_id = p.id;
    return 0;
}

struct grant_arg {
    int64_t user_id, days, plan, now;
    const char *actor;
    struct hub_sub sub;
    bool created;
};

static int grant_body(struct store_conn *sc, void *arg)
{
    struct grant_arg *a = arg;
    struct hub_sub cur;
    int rc = store__sub_current_tx(sc, a->user_id, &cur);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    a->created = rc == ERR_NOT_FOUND || cur.state == HUB_SUB_REVOKED;
    if (!a->created) {
        TRY(store__sub_extend_tx(sc, cur.id, a->days, a->now, &a->sub));
    } else {
        /* The gift plan runs one day from now; the rest is the same extend step. */
        TRY(store__sub_grant_tx(sc, a->user_id, a->plan, a->now, &a->sub));
        if (a->days > 1)
            TRY(store__sub_extend_tx(sc, a->sub.id, a->days - 1, a->now, &a->sub));
    }
    char target[40], details[96];
    snprintf(target, sizeof target, "user:%lld", (long long)a->user_id);
    snprintf(details, sizeof details, "{\"days\":%lld,\"subscription_id\":%lld,\"created\":%s}", (long long)a->days,
             (long long)a->sub.id, a->created ? "true" : "false");
    struct store_audit au = {.actor = a->actor, .action = "bot.grant", .target = target, .details = details};
    return store__audit(sc, &au, a->now, NULL, 0);
}

int bot_admin_store_grant(struct store *st, int64_t user_id, int64_t days, int64_t gift_plan, int64_t now,
                          const char *actor, struct hub_sub *out, bool *created)
{
    if (days < 1 || days > HUB_MAX_DURATION_DAYS)
        return ERR_RANGE;
    struct hub_user u;
    TRY(store_user_get(st, user_id, &u));
    struct grant_arg a = {.user_id = user_id, .days = days, .plan = gift_plan, .now = now, .actor = actor};
    TRY(store__tx(st, grant_body, &a));
    if (out != NULL)
        *out = a.sub;
    if (created != NULL)
        *created = a.created;
    return 0;
}

struct uuid_arg {
    const char *uuid;
    int64_t id;
};

static int uuid_body(struct store_conn *sc, void *arg)
{
    struct uuid_arg *a = arg;
    struct store_val p[] = {SV_T(a->uuid)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT id FROM users WHERE vless_uuid = $1", p, 1, &r));
    int rc = r.nrows == 1 ? 0 : ERR_NOT_FOUND;
    if (rc == 0)
        a->id = store__cell_i64(&r, 0, 0);
    store__res_free(&r);
    return rc;
}

int bot_admin_store_user_by_uuid(struct store *st, const char *uuid, int64_t *user_id)
{
    struct uuid_arg a = {.uuid = uuid};
    TRY(store__ro(st, uuid_body, &a));
    *user_id = a.id;
    return 0;
}
