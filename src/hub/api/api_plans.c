/* /api/v1/plans and /api/v1/subscriptions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_int.h"
#include "hub/domain/rules.h"

static json_t *plan_json(const struct hub_plan *p)
{
    json_t *prices = json_object();
    for (size_t i = 0; i < p->n_prices; i++)
        json_object_set_new(prices, p->prices[i].currency, json_integer(p->prices[i].amount_minor));
    return json_pack("{s:I,s:s,s:I,s:I,s:I,s:s,s:b,s:o,s:I}", "id", (json_int_t)p->id, "name", p->name, "duration_days",
                     (json_int_t)p->duration_days, "quota_bytes", (json_int_t)p->quota_bytes, "device_limit",
                     (json_int_t)p->device_limit, "reset_strategy", hub_reset_name(p->reset), "enabled", p->enabled,
                     "prices", prices, "created_at", (json_int_t)p->created_at);
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
    c->resp->status = 204;
    c->resp->content_type = "application/json";
    c->resp->body = strdup("");
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

void api__payments_create(struct api_call *c)
{
    struct api_payment_in in;
    struct api_verr e;
    if (api_parse_payment(c->req->body, c->req->body_len, &in, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    struct hub_payment p = {.user_id = in.user_id, .amount_minor = in.amount_minor, .status = HUB_PAY_SUCCEEDED};
    strcpy(p.provider, "manual");
    memcpy(p.currency, in.currency, sizeof p.currency);
    memcpy(p.idempotency_key, in.idempotency_key, sizeof p.idempotency_key);
    memcpy(p.external_id, in.idempotency_key, sizeof p.external_id);
    struct store_settle how = {.plan_id = in.plan_id, .credit_balance = in.credit_balance};
    char *det = strndup(c->req->body, c->req->body_len);
    struct store_audit a = api__audit(c, "payment.manual", det);
    struct store_settle_result res;
    int rc = store_payment_settle(c->ctx->st, &p, det, &how, c->now, &a, &res);
    free(det);
    if (rc == ERR_UNSUPPORTED) {
        api__error(c, 422, "currency_mismatch",
                   "credit_balance: the payment's currency is not the user's balance currency");
        return;
    }
    if (rc < 0) {
        api__store_error(c, rc, rc == ERR_NOT_FOUND ? "user or plan" : "payment");
        return;
    }
    json_t *j = json_pack("{s:I,s:b,s:b}", "payment_id", (json_int_t)res.payment_id, "applied", res.applied,
                          "duplicate", res.duplicate);
    if (j != NULL && res.applied && in.plan_id > 0)
        json_object_set_new(j, "subscription", api__sub_json(&res.sub));
    api__json(c, res.duplicate ? 200 : 201, j);
}

void api__users_payments(struct api_call *c)
{
    struct hub_user u;
    int rc = store_user_get(c->ctx->st, c->id, &u);
    if (rc < 0) {
        api__store_error(c, rc, "user");
        return;
    }
    struct hub_payment *list;
    size_t n;
    if ((rc = store_payment_list(c->ctx->st, c->id, &list, &n)) < 0) {
        api__store_error(c, rc, "payments");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:I,s:s,s:s,s:I}", "id", (json_int_t)list[i].id, "provider",
                                             list[i].provider, "external_id", list[i].external_id, "amount_minor",
                                             (json_int_t)list[i].amount_minor, "currency", list[i].currency, "status",
                                             hub_pay_status_name(list[i].status), "created_at",
                                             (json_int_t)list[i].created_at));
    free(list);
    api__json(c, 200, json_pack("{s:o}", "payments", arr));
}
