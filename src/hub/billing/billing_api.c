/* The billing routes: invoices and payments for the admin (and the bot/web page through the
 * same code path), and the providers' webhooks. Handlers find the running billing instance
 * through billing_module.c; without one (billing not started) they answer 503 / 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_route.h"
#include "hub/billing/billing_api.h"
#include "hub/billing/billing_int.h"
#include "hub/domain/rules.h"

json_t *billing_payment_json(const struct hub_payment *p)
{
    json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "payment_id", (json_int_t)p->id,
                          "user_id", (json_int_t)p->user_id, "provider", p->provider, "external_id", p->external_id,
                          "amount_minor", (json_int_t)p->amount_minor, "currency", p->currency, "status",
                          hub_pay_status_name(p->status), "discount_minor", (json_int_t)p->discount_minor, "bonus_days",
                          (json_int_t)p->bonus_days, "created_at", (json_int_t)p->created_at, "expires_at",
                          (json_int_t)p->expires_at, "settled_at", (json_int_t)p->settled_at);
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "plan_id", p->plan_id ? json_integer(p->plan_id) : json_null());
    json_object_set_new(j, "pay_url", p->pay_url[0] ? json_string(p->pay_url) : json_null());
    json_object_set_new(j, "flag", p->flag[0] ? json_string(p->flag) : json_null());
    return j;
}

static void reply_err(struct api_call *c, const struct billing_err *e)
{
    api_reply_error(c, e->http ? e->http : 500, e->code[0] ? e->code : "internal",
                    e->message[0] ? e->message : "internal error");
}

static struct billing *running(struct api_call *c)
{
    struct billing *b = billing_module_current();
    if (b == NULL)
        api_reply_error(c, 503, "billing_off", "billing is not running on this hub");
    return b;
}

/* {"user_id", "plan_id"?, "provider", "promo_code"?, "amount_minor"? (top-ups)} */
static int parse_invoice(struct api_call *c, struct billing_invoice_req *in, char promo[static HUB_PROMO_CODE_MAX + 1])
{
    static const char *const keys[] = {"user_id", "plan_id", "provider", "promo_code", "amount_minor", NULL};
    size_t n;
    const char *body = api_call_body(c, &n);
    json_error_t je;
    json_t *j = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        api_reply_error(c, 400, "invalid_json", "body: a JSON object is expected");
        return ERR_MALFORMED;
    }
    const char *k;
    json_t *v;
    const char *bad = NULL;
    json_object_foreach(j, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = strcmp(keys[i], k) == 0;
        if (!known)
            bad = "unknown field";
    }
    json_t *uid = json_object_get(j, "user_id"), *pid = json_object_get(j, "plan_id"),
           *prov = json_object_get(j, "provider"), *pc = json_object_get(j, "promo_code"),
           *amt = json_object_get(j, "amount_minor");
    int p = json_is_string(prov) ? billing_prov_parse(json_string_value(prov)) : -1;
    if (bad == NULL && (!json_is_integer(uid) || json_integer_value(uid) < 1))
        bad = "user_id: a positive integer is required";
    if (bad == NULL && pid != NULL && (!json_is_integer(pid) || json_integer_value(pid) < 1))
        bad = "plan_id: a positive integer";
    if (bad == NULL && p < 0)
        bad = "provider: one of yookassa, robokassa, cryptobot, stars, balance";
    if (bad == NULL && pc != NULL &&
        (!json_is_string(pc) || json_string_length(pc) == 0 || json_string_length(pc) > HUB_PROMO_CODE_MAX))
        bad = "promo_code: 1..32 characters";
    if (bad == NULL && amt != NULL &&
        (!json_is_integer(amt) || json_integer_value(amt) < 1 || json_integer_value(amt) > HUB_MAX_MONEY))
        bad = "amount_minor: 1..2^50";
    if (bad == NULL && (pid == NULL) == (amt == NULL))
        bad = "plan_id or amount_minor: an invoice buys a plan or tops up the balance";
    if (bad != NULL) {
        json_decref(j);
        api_reply_error(c, 422, "invalid_field", bad);
        return ERR_MALFORMED;
    }
    memset(in, 0, sizeof *in);
    in->user_id = json_integer_value(uid);
    in->plan_id = pid ? json_integer_value(pid) : 0;
    in->amount_minor = amt ? json_integer_value(amt) : 0;
    in->provider = (enum billing_prov)p;
    if (pc != NULL) {
        snprintf(promo, HUB_PROMO_CODE_MAX + 1, "%s", json_string_value(pc));
        in->promo_code = promo;
    }
    json_decref(j);
    return 0;
}

static void on_invoice_create(struct api_call *c)
{
    struct billing *b = running(c);
    if (b == NULL)
        return;
    struct billing_invoice_req in;
    char promo[HUB_PROMO_CODE_MAX + 1];
    if (parse_invoice(c, &in, promo) < 0)
        return;
    in.actor = api_call_actor(c);
    in.source_ip = api_call_ip(c);
    struct hub_payment p;
    struct billing_err e = {0};
    if (billing_invoice_create(b, &in, api_call_now(c), &p, &e) < 0) {
        reply_err(c, &e);
        return;
    }
    api_reply_json(c, 201, billing_payment_json(&p));
}

static void on_payment_get(struct api_call *c)
{
    struct hub_payment p;
    int rc = store_payment_get(api_call_store(c), api_call_id(c), &p);
    if (rc == ERR_NOT_FOUND)
        api_reply_error(c, 404, "not_found", "payment not found");
    else if (rc < 0)
        api_reply_error(c, 503, "busy", "database busy, retry");
    else
        api_reply_json(c, 200, billing_payment_json(&p));
}

static int query_int(struct api_call *c, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const char *s = api_call_query(c, key);
    if (s == NULL || s[0] == '\0')
        return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return ERR_RANGE;
    *out = v;
    return 0;
}

static void on_payment_list(struct api_call *c)
{
    struct store_pay_filter f = {0};
    f.status = api_call_query(c, "status");
    f.provider = api_call_query(c, "provider");
    if (f.status != NULL && f.status[0] == '\0')
        f.status = NULL;
    if (f.provider != NULL && f.provider[0] == '\0')
        f.provider = NULL;
    if ((f.status != NULL && hub_pay_status_parse(f.status) < 0) ||
        (f.provider != NULL && billing_prov_parse(f.provider) < 0 && strcmp(f.provider, "manual") != 0)) {
        api_reply_error(c, 422, "invalid_query", "status or provider: not a known value");
        return;
    }
    if (query_int(c, "since", 0, INT64_MAX / 2, &f.since) < 0 || query_int(c, "limit", 1, 1000, &f.limit) < 0) {
        api_reply_error(c, 422, "invalid_query", "since: unix seconds; limit: 1..1000");
        return;
    }
    struct hub_payment *list;
    size_t n;
    if (store_payment_query(api_call_store(c), &f, &list, &n) < 0) {
        api_reply_error(c, 503, "busy", "database busy, retry");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, billing_payment_json(&list[i]));
    free(list);
    api_reply_json(c, 200, json_pack("{s:o}", "payments", arr));
}

static void on_refund(struct api_call *c)
{
    struct billing *b = running(c);
    if (b == NULL)
        return;
    struct store_pay_result res;
    struct billing_err e = {0};
    if (billing_refund(b, api_call_id(c), api_call_now(c), api_call_actor(c), &res, &e) < 0) {
        reply_err(c, &e);
        return;
    }
    api_reply_json(c, 200, billing_payment_json(&res.pay));
}

static const char *hook_header(void *arg, const char *name)
{
    return api_call_header(arg, name);
}

static const char *hook_query(void *arg, const char *key)
{
    return api_call_query(arg, key);
}

static void webhook(struct api_call *c, enum billing_prov p)
{
    struct billing *b = billing_module_current();
    if (b == NULL) {
        api_reply(c, 404, "text/plain; charset=utf-8", "billing is off\n", 15);
        return;
    }
    size_t n;
    const char *body = api_call_body(c, &n);
    struct billing_hook_req req = {.ip = api_call_ip(c),
                                   .content_type = api_call_header(c, "Content-Type"),
                                   .header = hook_header,
                                   .query = hook_query,
                                   .arg = c,
                                   .body = body,
                                   .body_len = n};
    struct billing_hook_resp out;
    billing_webhook(b, p, &req, api_call_now(c), &out);
    api_reply(c, out.status, out.content_type ? out.content_type : "text/plain; charset=utf-8", out.body,
              strlen(out.body));
}

static void on_yookassa(struct api_call *c)
{
    webhook(c, BILLING_YOOKASSA);
}

static void on_robokassa(struct api_call *c)
{
    webhook(c, BILLING_ROBOKASSA);
}

static void on_cryptobot(struct api_call *c)
{
    webhook(c, BILLING_CRYPTOBOT);
}

void billing_api_register(void)
{
    api_route_add_scoped("POST", "/api/v1/invoices", API_AUTH_ADMIN, API_SCOPE_BILLING, on_invoice_create);
    api_route_add_scoped("GET", "/api/v1/payments", API_AUTH_READ, API_SCOPE_BILLING, on_payment_list);
    api_route_add_scoped("GET", "/api/v1/payments/{id}", API_AUTH_READ, API_SCOPE_BILLING, on_payment_get);
    api_route_add_scoped("POST", "/api/v1/payments/{id}/refund", API_AUTH_ADMIN, API_SCOPE_BILLING, on_refund);
    /* Webhooks: any body type, a limit above BILLING_WEBHOOK_MAX so oversized ones reach the
     * handler and are refused with an audit row. */
    static const struct api_route hooks[] = {
        {"POST", "/webhooks/yookassa", API_AUTH_NONE, on_yookassa, 4 * BILLING_WEBHOOK_MAX, API_ROUTE_ANY_BODY,
         API_SCOPE_ADMIN},
        {"POST", "/webhooks/robokassa", API_AUTH_NONE, on_robokassa, 4 * BILLING_WEBHOOK_MAX, API_ROUTE_ANY_BODY,
         API_SCOPE_ADMIN},
        {"GET", "/webhooks/robokassa", API_AUTH_NONE, on_robokassa, 4 * BILLING_WEBHOOK_MAX, API_ROUTE_ANY_BODY,
         API_SCOPE_ADMIN},
        {"POST", "/webhooks/cryptobot", API_AUTH_NONE, on_cryptobot, 4 * BILLING_WEBHOOK_MAX, API_ROUTE_ANY_BODY,
         API_SCOPE_ADMIN},
    };
    for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++)
        api_route_add_ex(&hooks[i]);
    billing_admin_register();
}
