/* /api/v1/payments (manual payments) and a user's payment list. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_int.h"
#include "hub/domain/rules.h"

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
