/* Plans, /admin/plans: the list with prices in each currency, a form to create one, an edit
 * form per plan (/admin/plans/{id}) and delete. Prices are typed as money ("RUB 199.00,
 * XTR 150"), quotas in GiB; the form is turned into the REST API's JSON and checked by the same
 * api_parse_plan, then written by the same store calls with the same audit actions. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/html.h"
#include "hub/admin/admin_http.h"
#include "hub/admin/admin_pages.h"
#include "hub/admin/admin_routes.h"
#include "hub/api/api_valid.h"
#include "hub/billing/billing.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"

/* The form's fields as text, from a plan or from what was posted. */
struct plan_form {
    char name[ADMIN_FORM_MAX], days[24], quota[32], devices[24], reset[16], prices[ADMIN_FORM_MAX],
        groups[ADMIN_FORM_MAX];
    bool enabled;
};

static void form_of_plan(const struct hub_plan *p, struct plan_form *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", p->name);
    snprintf(f->days, sizeof f->days, "%" PRId64, p->duration_days);
    admin_gib_text(p->quota_bytes, f->quota);
    snprintf(f->devices, sizeof f->devices, "%" PRId64, p->device_limit);
    snprintf(f->reset, sizeof f->reset, "%s", hub_reset_name(p->reset));
    size_t k = 0;
    for (size_t i = 0; i < p->n_prices; i++) {
        char dec[32];
        billing_minor_to_decimal(p->prices[i].amount_minor, billing_currency_exp(p->prices[i].currency), dec);
        int n = snprintf(f->prices + k, sizeof f->prices - k, "%s%s %s", i ? ", " : "", p->prices[i].currency, dec);
        if (n > 0 && (size_t)n < sizeof f->prices - k)
            k += (size_t)n;
    }
    snprintf(f->groups, sizeof f->groups, "%s", p->node_groups);
    f->enabled = p->enabled;
}

static void form_of_post(struct api_call *c, struct plan_form *f)
{
    memset(f, 0, sizeof *f);
    admin_field(c, "name", f->name, sizeof f->name);
    admin_field(c, "duration_days", f->days, sizeof f->days);
    admin_field(c, "quota_gib", f->quota, sizeof f->quota);
    admin_field(c, "device_limit", f->devices, sizeof f->devices);
    admin_field(c, "reset_strategy", f->reset, sizeof f->reset);
    admin_field(c, "prices", f->prices, sizeof f->prices);
    admin_field(c, "node_groups", f->groups, sizeof f->groups);
    char on[8];
    f->enabled = admin_field(c, "enabled", on, sizeof on) && strcmp(on, "on") == 0;
}

static int int_field(json_t *j, const char *key, const char *text, int64_t max, char *err, size_t cap)
{
    int64_t v;
    if (api_parse_uint_param(text, 0, max, &v) < 0) {
        snprintf(err, cap, "%s: a whole number from 0 to %" PRId64, key, max);
        return ERR_MALFORMED;
    }
    json_object_set_new(j, key, json_integer(v));
    return 0;
}

/* "RUB 199.00, XTR 150" -> {"RUB": 19900, "XTR": 150}. */
static int prices_json(const char *text, json_t *j, char *err, size_t cap)
{
    struct hub_price pr[HUB_PLAN_PRICES_MAX];
    size_t n;
    int rc = admin_prices_parse(text, pr, HUB_PLAN_PRICES_MAX, &n);
    if (rc < 0) {
        snprintf(err, cap, "%s",
                 rc == ERR_EXISTS  ? "prices: each currency once"
                 : rc == ERR_RANGE ? "prices: at most 8 currencies, amounts in whole minor units (RUB 199.99, XTR 150)"
                                   : "prices: write each as a currency code and an amount, e.g. RUB 199.00, XTR 150");
        return rc;
    }
    json_t *obj = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(obj, pr[i].currency, json_integer(pr[i].amount_minor));
    json_object_set_new(j, "prices", obj);
    return 0;
}

/* The posted form as the API's plan JSON; for an edit the quota is kept when its text is the
 * one the form showed (GiB with three decimals may not be the exact byte count). */
static json_t *form_json(const struct plan_form *f, const struct hub_plan *old, char *err, size_t cap)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(f->name));
    json_object_set_new(j, "reset_strategy", json_string(f->reset));
    json_object_set_new(j, "enabled", json_boolean(f->enabled));
    int rc = int_field(j, "duration_days", f->days, HUB_MAX_DURATION_DAYS, err, cap);
    if (rc == 0)
        rc = int_field(j, "device_limit", f->devices, 1000, err, cap);
    char shown[32];
    if (old != NULL)
        admin_gib_text(old->quota_bytes, shown);
    if (rc == 0 && old != NULL && strcmp(shown, f->quota) == 0) {
        json_object_set_new(j, "quota_bytes", json_integer(old->quota_bytes));
    } else if (rc == 0) {
        int64_t bytes;
        if (admin_gib_parse(f->quota, &bytes) < 0) {
            snprintf(err, cap, "quota: GiB as a number (0 = unlimited), up to three decimals");
            rc = ERR_MALFORMED;
        } else {
            json_object_set_new(j, "quota_bytes", json_integer(bytes));
        }
    }
    if (rc == 0)
        rc = prices_json(f->prices, j, err, cap);
    if (rc == 0) {
        json_t *g = json_array();
        char copy[ADMIN_FORM_MAX], *save = NULL;
        snprintf(copy, sizeof copy, "%s", f->groups);
        for (char *t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save))
            json_array_append_new(g, json_string(t));
        json_object_set_new(j, "node_groups", g);
    }
    if (rc < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int text_input(struct buf *out, const char *id, const char *label, const char *type, const char *value,
                      const char *extra)
{
    TRY(admin_putf(out, "<div><label for=\"%s\">%s</label><input id=\"%s\" name=\"%s\" type=\"%s\" %s value=\"", id,
                   label, id, id, type, extra));
    TRY(html_escape_str(out, value));
    return admin_put(out, "\"></div>");
}

static int plan_form_html(struct buf *out, const struct admin_session *s, const struct plan_form *f, const char *action,
                          const char *button)
{
    TRY(admin_putf(out, "<form class=\"card\" id=\"plan-form\" method=\"post\" action=\"%s\">", action));
    TRY(admin_csrf_input(out, s));
    TRY(admin_put(out, "<div class=\"row\">"));
    TRY(text_input(out, "name", "Name", "text", f->name, "required maxlength=\"64\""));
    TRY(text_input(out, "duration_days", "Days", "number", f->days, "min=\"1\" max=\"3660\" required"));
    TRY(text_input(out, "quota_gib", "Quota, GiB (0: unlimited)", "text", f->quota, "inputmode=\"decimal\" required"));
    TRY(text_input(out, "device_limit", "Devices (0: any)", "number", f->devices, "min=\"0\" max=\"1000\" required"));
    TRY(admin_put(out, "<div><label for=\"reset_strategy\">Traffic reset</label><select id=\"reset_strategy\" "
                       "name=\"reset_strategy\">"));
    for (int r = 0; r < HUB_RESET__COUNT; r++) {
        const char *n = hub_reset_name((enum hub_reset)r);
        TRY(admin_putf(out, "<option%s>%s</option>", strcmp(n, f->reset) == 0 ? " selected" : "", n));
    }
    TRY(admin_put(out, "</select></div>"));
    TRY(text_input(out, "prices", "Prices (e.g. RUB 199.00, XTR 150)", "text", f->prices, "required"));
    TRY(text_input(out, "node_groups", "Node groups (empty: all)", "text", f->groups, ""));
    TRY(admin_putf(out,
                   "<div><label for=\"enabled\">Enabled</label><input id=\"enabled\" name=\"enabled\" "
                   "type=\"checkbox\"%s></div>",
                   f->enabled ? " checked" : ""));
    return admin_putf(out, "<button id=\"plan-save\" type=\"submit\">%s</button></div></form>\n", button);
}

static int prices_html(struct buf *out, const struct hub_plan *p)
{
    for (size_t i = 0; i < p->n_prices; i++) {
        TRY(admin_put(out, i ? ", " : ""));
        TRY(admin_money(out, p->prices[i].amount_minor, p->prices[i].currency));
    }
    return 0;
}

static int plans_table(struct buf *out, const struct admin_session *s, const struct hub_plan *plans, size_t n)
{
    TRY(admin_put(out, "<div class=\"card\"><table><caption class=\"muted\">Plans</caption><thead><tr>"
                       "<th scope=\"col\">Id</th><th scope=\"col\">Name</th><th scope=\"col\">Days</th>"
                       "<th scope=\"col\">Quota</th><th scope=\"col\">Devices</th><th scope=\"col\">Reset</th>"
                       "<th scope=\"col\">Prices</th><th scope=\"col\">State</th><th scope=\"col\">Actions</th></tr>"
                       "</thead><tbody>"));
    for (size_t i = 0; i < n; i++) {
        const struct hub_plan *p = &plans[i];
        TRY(admin_putf(out, "<tr id=\"plan-%" PRId64 "\"><td>%" PRId64 "</td><td><a href=\"/admin/plans/%" PRId64 "\">",
                       p->id, p->id, p->id));
        TRY(html_escape_str(out, p->name));
        TRY(admin_putf(out, "</a></td><td>%" PRId64 "</td><td>", p->duration_days));
        TRY(p->quota_bytes > 0 ? admin_bytes(out, p->quota_bytes) : admin_put(out, "unlimited"));
        TRY(admin_put(out, "</td><td>"));
        TRY(p->device_limit > 0 ? admin_putf(out, "%" PRId64, p->device_limit) : admin_put(out, "any"));
        TRY(admin_putf(out, "</td><td>%s</td><td class=\"prices\">", hub_reset_name(p->reset)));
        TRY(prices_html(out, p));
        TRY(admin_putf(out, "</td><td>%s</td><td>", p->enabled ? "enabled" : "disabled"));
        if (s->role == HUB_ROLE_ADMIN) {
            TRY(admin_putf(out, "<form class=\"inline\" method=\"post\" action=\"/admin/plans/%" PRId64 "/delete\">",
                           p->id));
            TRY(admin_csrf_input(out, s));
            TRY(admin_putf(out,
                           "<button class=\"danger\" type=\"submit\" aria-label=\"Delete plan %" PRId64
                           "\">Delete</button></form>",
                           p->id));
        }
        TRY(admin_put(out, "</td></tr>\n"));
    }
    return admin_put(out, "</tbody></table></div>\n");
}

static const char *const outcomes[][2] = {
    {"created", "Plan created."},
    {"saved", "Plan saved."},
    {"deleted", "Plan deleted."},
    {"in-use", "Subscriptions refer to this plan: disable it instead of deleting it."},
};

static const char *outcome(const char *code)
{
    for (size_t i = 0; code != NULL && i < sizeof outcomes / sizeof outcomes[0]; i++)
        if (strcmp(code, outcomes[i][0]) == 0)
            return outcomes[i][1];
    return NULL;
}

/* The list page; f (NULL: an empty form) and error come back after a refused create. */
static void list_page(struct api_call *c, const struct admin_session *s, int status, const struct plan_form *f,
                      const char *error)
{
    struct hub_plan *plans = NULL;
    size_t n = 0;
    int rc = store_plan_list(api_call_store(c), &plans, &n);
    if (rc < 0) {
        admin_store_error(c, rc, "plans");
        return;
    }
    struct plan_form empty = {.days = "30", .quota = "0", .devices = "0", .reset = "none", .enabled = true};
    const char *done = api_call_query(c, "done");
    struct buf b;
    buf_init(&b);
    rc = admin_layout_top(&b, "Plans", s);
    if (rc == 0)
        rc = error ? admin_notice(&b, error, true)
                   : admin_notice(&b, outcome(done), strcmp(done ? done : "", "in-use") == 0);
    if (rc == 0)
        rc = plans_table(&b, s, plans, n);
    if (rc == 0 && s->role == HUB_ROLE_ADMIN) {
        rc = admin_put(&b, "<h2>New plan</h2>");
        if (rc == 0)
            rc = plan_form_html(&b, s, f ? f : &empty, "/admin/plans", "Create plan");
    }
    if (rc == 0)
        rc = admin_layout_end(&b);
    free(plans);
    admin_send_page(c, status, &b, rc);
}

static void on_list(struct api_call *c)
{
    struct admin_session s;
    if (admin_viewer(c, &s))
        list_page(c, &s, 200, NULL, NULL);
}

static void edit_page(struct api_call *c, const struct admin_session *s, int status, int64_t id,
                      const struct plan_form *f, const char *error)
{
    char action[48], title[ADMIN_FORM_MAX + 8];
    snprintf(action, sizeof action, "/admin/plans/%" PRId64, id);
    snprintf(title, sizeof title, "Plan %s", f->name);
    struct buf b;
    buf_init(&b);
    int rc = admin_layout_top(&b, title, s);
    if (rc == 0)
        rc = admin_notice(&b, error, true);
    if (rc == 0 && s->role == HUB_ROLE_ADMIN)
        rc = plan_form_html(&b, s, f, action, "Save plan");
    if (rc == 0 && s->role != HUB_ROLE_ADMIN)
        rc = admin_put(&b, "<p>The support role sees plans in the list and cannot change them.</p>");
    if (rc == 0)
        rc = admin_put(&b, "<p><a href=\"/admin/plans\">All plans</a></p>");
    if (rc == 0)
        rc = admin_layout_end(&b);
    admin_send_page(c, status, &b, rc);
}

static void on_edit(struct api_call *c)
{
    struct admin_session s;
    if (!admin_viewer(c, &s))
        return;
    struct hub_plan p;
    int rc = store_plan_get(api_call_store(c), api_call_id(c), &p);
    if (rc < 0) {
        admin_store_error(c, rc, "plan");
        return;
    }
    struct plan_form f;
    form_of_plan(&p, &f);
    edit_page(c, &s, 200, p.id, &f, NULL);
}

/* Create (id 0) or update a plan from the posted form. */
static void save(struct api_call *c, int64_t id)
{
    struct admin_session s;
    if (!admin_changer(c, &s))
        return;
    struct plan_form f;
    form_of_post(c, &f);
    struct hub_plan p, old;
    int rc = id ? store_plan_get(api_call_store(c), id, &old) : 0;
    if (rc < 0) {
        admin_store_error(c, rc, "plan");
        return;
    }
    char err[192] = "";
    json_t *j = form_json(&f, id ? &old : NULL, err, sizeof err);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    /* The audit row carries what was sent, marked as coming from the dashboard. */
    if (j != NULL)
        json_object_set_new(j, "via", json_string("dashboard"));
    char *det = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct api_verr e = {0};
    if (body != NULL) {
        if (id)
            p = old;
        if (api_parse_plan(body, strlen(body), id == 0, &p, &e) < 0)
            snprintf(err, sizeof err, "%s", e.msg);
    } else if (err[0] == '\0') {
        snprintf(err, sizeof err, "out of memory");
    }
    free(body);
    if (err[0] != '\0') {
        free(det);
        if (id)
            edit_page(c, &s, 422, id, &f, err);
        else
            list_page(c, &s, 422, &f, err);
        return;
    }
    char actor[32];
    admin_actor(&s, actor);
    struct store_audit a = {
        .actor = actor, .action = id ? "plan.update" : "plan.create", .source_ip = api_call_ip(c), .details = det};
    p.id = id;
    rc = id ? store_plan_update(api_call_store(c), &p, api_call_now(c), &a)
            : store_plan_create(api_call_store(c), &p, api_call_now(c), &a);
    free(det);
    if (rc == ERR_EXISTS) {
        if (id)
            edit_page(c, &s, 409, id, &f, "A plan with this name exists.");
        else
            list_page(c, &s, 409, &f, "A plan with this name exists.");
        return;
    }
    if (rc < 0) {
        admin_store_error(c, rc, "plan");
        return;
    }
    api_call_changed(c, false);
    admin_redirect(c, id ? "/admin/plans?done=saved" : "/admin/plans?done=created");
}

static void on_create(struct api_call *c)
{
    save(c, 0);
}

static void on_update(struct api_call *c)
{
    save(c, api_call_id(c));
}

static void on_delete(struct api_call *c)
{
    struct admin_session s;
    if (!admin_changer(c, &s))
        return;
    char actor[32];
    admin_actor(&s, actor);
    struct store_audit a = {
        .actor = actor, .action = "plan.delete", .source_ip = api_call_ip(c), .details = "{\"via\":\"dashboard\"}"};
    int rc = store_plan_delete(api_call_store(c), api_call_id(c), api_call_now(c), &a);
    if (rc == ERR_BAD_STATE) {
        admin_redirect(c, "/admin/plans?done=in-use");
        return;
    }
    if (rc < 0) {
        admin_store_error(c, rc, "plan");
        return;
    }
    api_call_changed(c, false);
    admin_redirect(c, "/admin/plans?done=deleted");
}

void admin_plans_routes(void)
{
    api_route_add("GET", "/admin/plans", API_AUTH_NONE, on_list);
    api_route_add("GET", "/admin/plans/{id}", API_AUTH_NONE, on_edit);
    static const struct admin_post posts[] = {
        {"/admin/plans", on_create},
        {"/admin/plans/{id}", on_update},
        {"/admin/plans/{id}/delete", on_delete},
    };
    ADMIN_POSTS(posts);
}
