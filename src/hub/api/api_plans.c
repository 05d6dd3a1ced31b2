/* /api/v1/plans. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"
#include "hub/domain/rules.h"

static json_t *plan_json(const struct hub_plan *p)
{
    json_t *prices = json_object();
    for (size_t i = 0; i < p->n_prices; i++)
        json_object_set_new(prices, p->prices[i].currency, json_integer(p->prices[i].amount_minor));
    json_t *groups = json_array();
    for (const char *g = p->node_groups; groups != NULL && *g;) {
        const char *comma = strchr(g, ',');
        size_t len = comma ? (size_t)(comma - g) : strlen(g);
        json_array_append_new(groups, json_stringn(g, len));
        g = comma ? comma + 1 : g + len;
    }
    return json_pack("{s:I,s:s,s:I,s:I,s:I,s:s,s:b,s:o,s:I,s:o}", "id", (json_int_t)p->id, "name", p->name,
                     "duration_days", (json_int_t)p->duration_days, "quota_bytes", (json_int_t)p->quota_bytes,
                     "device_limit", (json_int_t)p->device_limit, "reset_strategy", hub_reset_name(p->reset), "enabled",
                     p->enabled, "prices", prices, "created_at", (json_int_t)p->created_at, "node_groups", groups);
}

void api__plans_create(struct api_call *c)
{
    struct hub_plan p;
    struct api_verr e;
    if (api_parse_plan(c->req->body, c->req->body_len, true, &p, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    struct store_audit a = api__audit(c, "plan.create", NULL);
    int rc = store_plan_create(c->ctx->st, &p, c->now, &a);
    if (rc < 0) {
        api__store_error(c, rc, "plan (name)");
        return;
    }
    api__json(c, 201, plan_json(&p));
}

void api__plans_list(struct api_call *c)
{
    struct hub_plan *list;
    size_t n;
    int rc = store_plan_list(c->ctx->st, &list, &n);
    if (rc < 0) {
        api__store_error(c, rc, "plans");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, plan_json(&list[i]));
    free(list);
    api__json(c, 200, json_pack("{s:o}", "plans", arr));
}

void api__plans_get(struct api_call *c)
{
    struct hub_plan p;
    int rc = store_plan_get(c->ctx->st, c->id, &p);
    if (rc < 0) {
        api__store_error(c, rc, "plan");
        return;
    }
    api__json(c, 200, plan_json(&p));
}

void api__plans_patch(struct api_call *c)
{
    struct hub_plan p;
    struct api_verr e;
    int rc = store_plan_get(c->ctx->st, c->id, &p);
    if (rc < 0) {
        api__store_error(c, rc, "plan");
        return;
    }
    if (api_parse_plan(c->req->body, c->req->body_len, false, &p, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char *det = strndup(c->req->body, c->req->body_len);
    struct store_audit a = api__audit(c, "plan.update", det);
    rc = store_plan_update(c->ctx->st, &p, c->now, &a);
    free(det);
    if (rc < 0) {
        api__store_error(c, rc, "plan (name)");
        return;
    }
    api__json(c, 200, plan_json(&p));
}

void api__plans_delete(struct api_call *c)
{
    struct store_audit a = api__audit(c, "plan.delete", NULL);
    int rc = store_plan_delete(c->ctx->st, c->id, c->now, &a);
    if (rc < 0) {
        api__store_error(c, rc, rc == ERR_BAD_STATE ? "plan (in use; disable it instead)" : "plan");
        return;
    }
    api_reply(c, 204, "application/json", "", 0);
}
