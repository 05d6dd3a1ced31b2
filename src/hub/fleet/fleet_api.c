/* The fleet's routes: the country a user or a plan prefers (placement) and a user's hold. */
#include <jansson.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_route.h"
#include "hub/domain/rules.h"
#include "hub/fleet/fleet_int.h"
#include "hub/store/store.h"

static void store_fail(struct api_call *c, int rc, const char *what)
{
    if (rc == ERR_NOT_FOUND)
        api_reply_error(c, 404, "not_found", what);
    else
        api_reply_error(c, 500, "internal", "database error");
}

static void country_get(struct api_call *c, const char *table, const char *what)
{
    char cc[3];
    int rc = fleet__country_get(api_call_store(c), table, api_call_id(c), cc);
    if (rc < 0) {
        store_fail(c, rc, what);
        return;
    }
    api_reply_json(c, 200, json_pack("{s:I,s:s}", "id", (json_int_t)api_call_id(c), "country", cc));
}

/* PUT {"country": "DE"} (an ISO 3166-1 alpha-2 code, upper case) or {"country": ""} (none). */
static void country_put(struct api_call *c, const char *table, const char *what)
{
    size_t len;
    const char *body = api_call_body(c, &len);
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *v = doc ? json_object_get(doc, "country") : NULL;
    char cc[3] = "";
    bool ok = json_is_object(doc) && json_object_size(doc) == 1 && json_is_string(v) &&
              (json_string_length(v) == 0 || hub_country_valid(json_string_value(v)));
    if (ok)
        memcpy(cc, json_string_value(v), json_string_length(v) + 1);
    json_decref(doc);
    if (!ok) {
        api_reply_error(c, 422, "invalid_body", "body: {\"country\": a two-letter upper-case country code or \"\"}");
        return;
    }
    char details[32];
    snprintf(details, sizeof details, "{\"country\":\"%s\"}", cc);
    struct store_audit au = {.actor = api_call_actor(c),
                             .action = strcmp(table, "users") == 0 ? "user.country" : "plan.country",
                             .source_ip = api_call_ip(c),
                             .details = details};
    int rc = fleet__country_set(api_call_store(c), table, api_call_id(c), cc, &au, api_call_now(c));
    if (rc < 0) {
        store_fail(c, rc, what);
        return;
    }
    api_call_changed(c, false); /* the customers' server order changes at once */
    country_get(c, table, what);
}

static void on_user_country_get(struct api_call *c)
{
    country_get(c, "users", "user");
}
static void on_user_country_put(struct api_call *c)
{
    country_put(c, "users", "user");
}
static void on_plan_country_get(struct api_call *c)
{
    country_get(c, "plans", "plan");
}
static void on_plan_country_put(struct api_call *c)
{
    country_put(c, "plans", "plan");
}

/* GET /api/v1/users/{id}/hold: the user's last temporary hold (BitTorrent), 404 when none. */
static void on_hold_get(struct api_call *c)
{
    struct fleet_hold h;
    int rc = fleet__hold_get(api_call_store(c), api_call_id(c), &h);
    if (rc < 0) {
        store_fail(c, rc, "hold");
        return;
    }
    api_reply_json(c, 200,
                   json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:b}", "user_id", (json_int_t)h.user_id, "reason", h.reason,
                             "attempts", (json_int_t)h.attempts, "since", (json_int_t)h.since, "until",
                             (json_int_t)h.until, "released_at", (json_int_t)h.released_at, "active",
                             h.released_at == 0));
}

void fleet__routes(void)
{
    api_route_add_scoped("GET", "/api/v1/users/{id}/country", API_AUTH_READ, API_SCOPE_USERS, on_user_country_get);
    api_route_add_scoped("PUT", "/api/v1/users/{id}/country", API_AUTH_ADMIN, API_SCOPE_USERS, on_user_country_put);
    api_route_add_scoped("GET", "/api/v1/plans/{id}/country", API_AUTH_READ, API_SCOPE_BILLING, on_plan_country_get);
    api_route_add_scoped("PUT", "/api/v1/plans/{id}/country", API_AUTH_ADMIN, API_SCOPE_BILLING, on_plan_country_put);
    api_route_add_scoped("GET", "/api/v1/users/{id}/hold", API_AUTH_READ, API_SCOPE_USERS, on_hold_get);
    fleet__scan_routes();
}
