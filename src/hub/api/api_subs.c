/* /api/v1/subscriptions: grant, read, extend, revoke; a user's subscriptions
 * (/users/{id}/subscriptions) and the JSON form of one. */
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "hub/api/api_int.h"
#include "hub/domain/rules.h"

json_t *api__sub_json(const struct hub_sub *s)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:I,s:I,s:s,s:I}", "id", (json_int_t)s->id, "user_id",
                     (json_int_t)s->user_id, "plan_id", (json_int_t)s->plan_id, "starts_at", (json_int_t)s->starts_at,
                     "ends_at", (json_int_t)s->ends_at, "used_up", (json_int_t)s->used_up, "used_down",
                     (json_int_t)s->used_down, "state", hub_sub_state_name(s->state), "quota_bytes",
                     (json_int_t)s->quota_bytes, "device_limit", (json_int_t)s->device_limit, "reset_strategy",
                     hub_reset_name(s->reset), "last_reset_at", (json_int_t)s->last_reset_at);
}

void api__users_subs(struct api_call *c)
{
    struct hub_user u;
    int rc = store_user_get(c->ctx->st, c->id, &u);
    if (rc < 0) {
        api__store_error(c, rc, "user");
        return;
    }
    struct hub_sub *list;
    size_t n;
    if ((rc = store_sub_list(c->ctx->st, c->id, &list, &n)) < 0) {
        api__store_error(c, rc, "subscriptions");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, api__sub_json(&list[i]));
    free(list);
    api__json(c, 200, json_pack("{s:o}", "subscriptions", arr));
}

void api__subs_grant(struct api_call *c)
{
    int64_t user_id, plan_id;
    struct api_verr e;
    if (api_parse_grant(c->req->body, c->req->body_len, &user_id, &plan_id, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char det[96];
    snprintf(det, sizeof det, "{\"user_id\":%lld,\"plan_id\":%lld}", (long long)user_id, (long long)plan_id);
    struct store_audit a = api__audit(c, "subscription.grant", det);
    struct hub_sub s;
    int rc = store_sub_grant(c->ctx->st, user_id, plan_id, c->now, &s, &a);
    if (rc < 0) {
        api__store_error(c, rc,
                         rc == ERR_EXISTS      ? "subscription (the user has a current one; extend it)"
                         : rc == ERR_BAD_STATE ? "plan (disabled)"
                                               : "user or plan");
        return;
    }
    api__json(c, 201, api__sub_json(&s));
}

void api__subs_get(struct api_call *c)
{
    struct hub_sub s;
    int rc = store_sub_get(c->ctx->st, c->id, &s);
    if (rc < 0) {
        api__store_error(c, rc, "subscription");
        return;
    }
    api__json(c, 200, api__sub_json(&s));
}

void api__subs_extend(struct api_call *c)
{
    int64_t days;
    struct api_verr e;
    if (api_parse_extend(c->req->body, c->req->body_len, &days, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char det[48];
    snprintf(det, sizeof det, "{\"days\":%lld}", (long long)days);
    struct store_audit a = api__audit(c, "subscription.extend", det);
    struct hub_sub s;
    int rc = store_sub_extend(c->ctx->st, c->id, days, c->now, &s, &a);
    if (rc < 0) {
        api__store_error(c, rc, "subscription");
        return;
    }
    api__json(c, 200, api__sub_json(&s));
}

void api__subs_revoke(struct api_call *c)
{
    struct store_audit a = api__audit(c, "subscription.revoke", NULL);
    struct hub_sub s;
    int rc = store_sub_revoke(c->ctx->st, c->id, c->now, &s, &a);
    if (rc < 0) {
        api__store_error(c, rc, "subscription");
        return;
    }
    api__json(c, 200, api__sub_json(&s));
}
