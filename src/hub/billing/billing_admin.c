/* Admin views around billing: promo codes, a customer's balance ledger (top-ups, purchases,
 * referral rewards), revenue analytics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_route.h"
#include "hub/billing/billing_api.h"
#include "hub/domain/rules.h"

static const char *const kind_names[HUB_PROMO__COUNT] = {"money", "days", "percent"};

static json_t *promo_json(const struct hub_promo *p)
{
    json_t *j = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:b,s:I}", "id", (json_int_t)p->id, "code", p->code, "kind",
                          (unsigned)p->kind < HUB_PROMO__COUNT ? kind_names[p->kind] : "?", "value",
                          (json_int_t)p->value, "max_uses", (json_int_t)p->max_uses, "used", (json_int_t)p->used,
                          "valid_from", (json_int_t)p->valid_from, "valid_until", (json_int_t)p->valid_until, "enabled",
                          p->enabled, "created_at", (json_int_t)p->created_at);
    if (j != NULL)
        json_object_set_new(j, "currency", p->currency[0] ? json_string(p->currency) : json_null());
    return j;
}

static bool code_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > HUB_PROMO_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static int get_i64(json_t *j, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(j, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return ERR_RANGE;
    *out = json_integer_value(v);
    return 0;
}

/* {"code", "kind": "money"|"days"|"percent", "value", "currency"?, "max_uses"?, "valid_from"?,
 *  "valid_until"?, "enabled"?} */
static void on_promo_create(struct api_call *c)
{
    static const char *const keys[] = {"code",       "kind",        "value",   "currency", "max_uses",
                                       "valid_from", "valid_until", "enabled", NULL};
    size_t n;
    const char *body = api_call_body(c, &n);
    json_t *j = json_loadb(body, n, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        api_reply_error(c, 400, "invalid_json", "body: a JSON object is expected");
        return;
    }
    struct hub_promo p = {.enabled = true, .kind = HUB_PROMO__COUNT};
    const char *bad = NULL, *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = strcmp(keys[i], k) == 0;
        if (!known)
            bad = "unknown field";
    }
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *kind = json_string_value(json_object_get(j, "kind"));
    const char *cur = json_string_value(json_object_get(j, "currency"));
    for (int i = 0; kind != NULL && i < HUB_PROMO__COUNT; i++)
        if (strcmp(kind, kind_names[i]) == 0)
            p.kind = (enum hub_promo_kind)i;
    if (bad == NULL && (code == NULL || !code_valid(code)))
        bad = "code: 3..32 of [A-Z0-9_-]";
    if (bad == NULL && p.kind == HUB_PROMO__COUNT)
        bad = "kind: money, days or percent";
    int64_t hi = p.kind == HUB_PROMO_PERCENT ? 100 : p.kind == HUB_PROMO_DAYS ? HUB_MAX_DURATION_DAYS : HUB_MAX_MONEY;
    if (bad == NULL && (json_object_get(j, "value") == NULL || get_i64(j, "value", 1, hi, &p.value) < 0))
        bad = "value: money 1..2^50 minor units, days 1..3660, percent 1..100";
    if (bad == NULL && p.kind == HUB_PROMO_MONEY && (cur == NULL || !hub_currency_valid(cur)))
        bad = "currency: a money promo needs its currency (three uppercase letters)";
    if (bad == NULL && p.kind != HUB_PROMO_MONEY && cur != NULL)
        bad = "currency: only for money promos";
    if (bad == NULL && (get_i64(j, "max_uses", 0, INT64_MAX / 2, &p.max_uses) < 0 ||
                        get_i64(j, "valid_from", 0, INT64_MAX / 2, &p.valid_from) < 0 ||
                        get_i64(j, "valid_until", 0, INT64_MAX / 2, &p.valid_until) < 0))
        bad = "max_uses, valid_from, valid_until: non-negative integers";
    if (bad == NULL && p.valid_until != 0 && p.valid_until <= p.valid_from)
        bad = "valid_until: after valid_from";
    json_t *en = json_object_get(j, "enabled");
    if (bad == NULL && en != NULL && !json_is_boolean(en))
        bad = "enabled: true or false";
    if (bad != NULL) {
        json_decref(j);
        api_reply_error(c, 422, "invalid_field", bad);
        return;
    }
    p.enabled = en == NULL || json_is_true(en);
    snprintf(p.code, sizeof p.code, "%s", code);
    if (cur != NULL)
        snprintf(p.currency, sizeof p.currency, "%s", cur);
    json_decref(j);
    struct store_audit au = {.actor = api_call_actor(c), .action = "promo.create", .source_ip = api_call_ip(c)};
    int rc = store_promo_create(api_call_store(c), &p, api_call_now(c), &au);
    if (rc == ERR_EXISTS)
        api_reply_error(c, 409, "conflict", "code: already exists");
    else if (rc < 0)
        api_reply_error(c, 503, "busy", "database busy, retry");
    else
        api_reply_json(c, 201, promo_json(&p));
}

static void on_promo_list(struct api_call *c)
{
    struct hub_promo *list;
    size_t n;
    if (store_promo_list(api_call_store(c), &list, &n) < 0) {
        api_reply_error(c, 503, "busy", "database busy, retry");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, promo_json(&list[i]));
    free(list);
    api_reply_json(c, 200, json_pack("{s:o}", "promo_codes", arr));
}

static void on_ledger(struct api_call *c)
{
    struct hub_user u;
    int rc = store_user_get(api_call_store(c), api_call_id(c), &u);
    if (rc < 0) {
        api_reply_error(c, rc == ERR_NOT_FOUND ? 404 : 503, rc == ERR_NOT_FOUND ? "not_found" : "busy",
                        rc == ERR_NOT_FOUND ? "user not found" : "database busy, retry");
        return;
    }
    struct store_ledger_row *rows;
    size_t n;
    if (store_ledger_list(api_call_store(c), u.id, 500, &rows, &n) < 0) {
        api_reply_error(c, 503, "busy", "database busy, retry");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_pack("{s:I,s:s,s:I,s:I,s:s,s:I}", "id", (json_int_t)rows[i].id, "currency", rows[i].currency,
                              "delta_minor", (json_int_t)rows[i].delta_minor, "balance_after",
                              (json_int_t)rows[i].balance_after, "reason", rows[i].reason, "created_at",
                              (json_int_t)rows[i].created_at);
        if (e != NULL)
            json_object_set_new(e, "payment_id", rows[i].payment_id ? json_integer(rows[i].payment_id) : json_null());
        json_array_append_new(arr, e);
    }
    free(rows);
    api_reply_json(c, 200,
                   json_pack("{s:I,s:s,s:I,s:o}", "user_id", (json_int_t)u.id, "currency", u.currency, "balance_minor",
                             (json_int_t)u.balance_minor, "entries", arr));
}

static int query_time(struct api_call *c, const char *key, int64_t *out)
{
    const char *s = api_call_query(c, key);
    if (s == NULL || s[0] == '\0')
        return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || v < 0 || v > INT64_MAX / 4)
        return ERR_RANGE;
    *out = v;
    return 0;
}

static void on_revenue(struct api_call *c)
{
    int64_t until = api_call_now(c) + 1, since = until - 30 * HUB_DAY;
    if (since < 0)
        since = 0;
    if (query_time(c, "since", &since) < 0 || query_time(c, "until", &until) < 0 || until <= since) {
        api_reply_error(c, 422, "invalid_query", "since, until: unix seconds, since < until");
        return;
    }
    struct store_revenue r;
    if (store_revenue_get(api_call_store(c), since, until, &r) < 0) {
        api_reply_error(c, 503, "busy", "database busy, retry");
        return;
    }
    json_t *days = json_array(), *cur = json_array();
    for (size_t i = 0; i < r.n_days; i++) {
        int64_t y;
        unsigned m, d;
        hub_civil_from_days(r.days[i].day, &y, &m, &d);
        char date[16];
        snprintf(date, sizeof date, "%04lld-%02u-%02u", (long long)y, m, d);
        json_array_append_new(days, json_pack("{s:s,s:s,s:s,s:I,s:I}", "date", date, "provider", r.days[i].provider,
                                              "currency", r.days[i].currency, "amount_minor",
                                              (json_int_t)r.days[i].amount_minor, "payments",
                                              (json_int_t)r.days[i].payments));
    }
    for (size_t i = 0; i < r.n_cur; i++)
        json_array_append_new(
            cur, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "currency", r.cur[i].currency, "revenue_minor",
                           (json_int_t)r.cur[i].amount_minor, "paying_customers", (json_int_t)r.cur[i].payers,
                           "arpu_minor", (json_int_t)(r.cur[i].payers ? r.cur[i].amount_minor / r.cur[i].payers : 0),
                           "referral_commission_minor", (json_int_t)r.cur[i].referral_minor, "referral_bonus_minor",
                           (json_int_t)r.cur[i].bonus_minor));
    json_t *doc = json_pack("{s:I,s:I,s:o,s:o,s:{s:I,s:I,s:f},s:{s:I,s:I,s:f},s:I,s:I}", "since", (json_int_t)since,
                            "until", (json_int_t)until, "revenue_by_day", days, "by_currency", cur, "conversion",
                            "registered", (json_int_t)r.users, "paid", (json_int_t)r.paying_users, "rate",
                            r.users ? (double)r.paying_users / (double)r.users : 0.0, "churn", "expired",
                            (json_int_t)r.expired, "not_renewed_7d", (json_int_t)r.churned, "rate",
                            r.expired ? (double)r.churned / (double)r.expired : 0.0, "refunded", (json_int_t)r.refunded,
                            "flagged", (json_int_t)r.flagged);
    store_revenue_free(&r);
    api_reply_json(c, 200, doc);
}

void billing_admin_register(void)
{
    api_route_add_scoped("POST", "/api/v1/promo-codes", API_AUTH_ADMIN, API_SCOPE_BILLING, on_promo_create);
    api_route_add_scoped("GET", "/api/v1/promo-codes", API_AUTH_READ, API_SCOPE_BILLING, on_promo_list);
    api_route_add_scoped("GET", "/api/v1/users/{id}/ledger", API_AUTH_READ, API_SCOPE_BILLING, on_ledger);
    api_route_add_scoped("GET", "/api/v1/stats/revenue", API_AUTH_READ, API_SCOPE_BILLING, on_revenue);
}
