/* Payments, /admin/payments: filter by state, provider, user and dates (UTC days), newest first;
 * refund a succeeded payment through billing's refund path (the provider's refund, then the
 * store transition and its audit row), exactly as POST /api/v1/payments/{id}/refund does. */
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
#include "hub/billing/billing_api.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"

#define SHOWN 200 /* rows per answer */

struct filter {
    char status[16], provider[16], user[24], since[16], until[16];
    int64_t user_id, since_t, until_t;
};

static void copy_query(struct api_call *c, const char *key, char *out, size_t cap)
{
    const char *v = api_call_query(c, key);
    snprintf(out, cap, "%s", v && strlen(v) < cap ? v : "");
}

/* The filter from the query; false with why filled when a value is not valid. */
static bool filter_of(struct api_call *c, struct filter *f, const char **why)
{
    memset(f, 0, sizeof *f);
    copy_query(c, "status", f->status, sizeof f->status);
    copy_query(c, "provider", f->provider, sizeof f->provider);
    copy_query(c, "user", f->user, sizeof f->user);
    copy_query(c, "since", f->since, sizeof f->since);
    copy_query(c, "until", f->until, sizeof f->until);
    *why = NULL;
    if (f->status[0] && hub_pay_status_parse(f->status) < 0)
        *why = "State: not a known value.";
    else if (f->provider[0] && billing_prov_parse(f->provider) < 0 && strcmp(f->provider, "manual") != 0)
        *why = "Provider: not a known value.";
    else if (f->user[0] && api_parse_uint_param(f->user, 1, INT64_MAX, &f->user_id) < 0)
        *why = "User: a user id.";
    else if (f->since[0] && !admin_day_parse(f->since, &f->since_t))
        *why = "From: a date (YYYY-MM-DD).";
    else if (f->until[0] && !admin_day_parse(f->until, &f->until_t))
        *why = "To: a date (YYYY-MM-DD).";
    if (f->until_t)
        f->until_t += 86400; /* the whole last day */
    return *why == NULL;
}

static bool matches(const struct filter *f, const struct hub_payment *p)
{
    return (!f->status[0] || strcmp(hub_pay_status_name(p->status), f->status) == 0) &&
           (!f->provider[0] || strcmp(p->provider, f->provider) == 0) && (!f->user_id || p->user_id == f->user_id) &&
           (!f->since_t || p->created_at >= f->since_t) && (!f->until_t || p->created_at < f->until_t);
}

static int select_html(struct buf *out, const char *id, const char *label, const char *cur, const char *const *opts,
                       size_t n)
{
    TRY(admin_putf(out,
                   "<div><label for=\"%s\">%s</label><select id=\"%s\" name=\"%s\"><option value=\"\">any</option>", id,
                   label, id, id));
    for (size_t i = 0; i < n; i++)
        TRY(admin_putf(out, "<option%s>%s</option>", strcmp(cur, opts[i]) == 0 ? " selected" : "", opts[i]));
    return admin_put(out, "</select></div>");
}

static int input_html(struct buf *out, const char *id, const char *label, const char *type, const char *value)
{
    TRY(admin_putf(out, "<div><label for=\"%s\">%s</label><input id=\"%s\" name=\"%s\" type=\"%s\" value=\"", id, label,
                   id, id, type));
    TRY(html_escape_str(out, value));
    return admin_put(out, "\"></div>");
}

static int filter_form(struct buf *out, const struct filter *f)
{
    const char *states[HUB_PAY__COUNT], *provs[BILLING__COUNT + 1];
    for (int i = 0; i < HUB_PAY__COUNT; i++)
        states[i] = hub_pay_status_name((enum hub_pay_status)i);
    for (int i = 0; i < BILLING__COUNT; i++)
        provs[i] = billing_prov_name((enum billing_prov)i);
    provs[BILLING__COUNT] = "manual";
    TRY(admin_put(out, "<form class=\"card row\" id=\"pay-filter\" method=\"get\" action=\"/admin/payments\" "
                       "role=\"search\">"));
    TRY(select_html(out, "status", "State", f->status, states, HUB_PAY__COUNT));
    TRY(select_html(out, "provider", "Provider", f->provider, provs, BILLING__COUNT + 1));
    TRY(input_html(out, "user", "User id", "number", f->user));
    TRY(input_html(out, "since", "From", "date", f->since));
    TRY(input_html(out, "until", "To", "date", f->until));
    return admin_put(out, "<button type=\"submit\">Filter</button></form>\n");
}

static int pay_row(struct buf *out, const struct admin_session *s, const struct hub_payment *p)
{
    TRY(admin_putf(out, "<tr id=\"pay-%" PRId64 "\"><td>%" PRId64 "</td><td>", p->id, p->id));
    TRY(admin_time(out, p->created_at));
    TRY(admin_putf(out, "</td><td><a href=\"/admin/users/%" PRId64 "\">%" PRId64 "</a></td><td>", p->user_id,
                   p->user_id));
    TRY(html_escape_str(out, p->provider));
    TRY(admin_put(out, "</td><td class=\"amount\">"));
    TRY(admin_money(out, p->amount_minor, p->currency));
    TRY(admin_putf(out, "</td><td class=\"state\">%s", hub_pay_status_name(p->status)));
    if (p->flag[0]) {
        TRY(admin_put(out, " <span class=\"tag\">"));
        TRY(html_escape_str(out, p->flag));
        TRY(admin_put(out, "</span>"));
    }
    TRY(admin_put(out, "</td><td>"));
    TRY(p->plan_id ? admin_putf(out, "plan %" PRId64, p->plan_id) : admin_put(out, "top-up"));
    TRY(admin_put(out, "</td><td>"));
    if (s->role == HUB_ROLE_ADMIN && p->status == HUB_PAY_SUCCEEDED) {
        TRY(admin_putf(out, "<form class=\"inline\" method=\"post\" action=\"/admin/payments/%" PRId64 "/refund\">",
                       p->id));
        TRY(admin_csrf_input(out, s));
        TRY(admin_putf(out,
                       "<button class=\"danger\" type=\"submit\" aria-label=\"Refund payment %" PRId64
                       "\">Refund</button></form>",
                       p->id));
    }
    return admin_put(out, "</td></tr>\n");
}

static void list_page(struct api_call *c, const struct admin_session *s, int status, const char *notice, bool error)
{
    struct filter f;
    const char *why;
    bool ok = filter_of(c, &f, &why);
    struct hub_payment *list = NULL;
    size_t n = 0;
    int rc = 0;
    if (ok && f.user_id) {
        rc = store_payment_list(api_call_store(c), f.user_id, &list, &n); /* the index on (user_id, id) */
    } else if (ok) {
        struct store_pay_filter q = {.status = f.status[0] ? f.status : NULL,
                                     .provider = f.provider[0] ? f.provider : NULL,
                                     .since = f.since_t,
                                     .before = f.until_t,
                                     .limit = SHOWN};
        rc = store_payment_query(api_call_store(c), &q, &list, &n);
    }
    if (rc < 0) {
        admin_store_error(c, rc, "payments");
        return;
    }
    struct buf b;
    buf_init(&b);
    rc = admin_layout_top(&b, "Payments", s);
    if (rc == 0)
        rc = admin_notice(&b, ok ? notice : why, !ok || error);
    if (rc == 0)
        rc = filter_form(&b, &f);
    size_t shown = 0;
    if (rc == 0)
        rc = admin_put(&b,
                       "<div class=\"card\"><table><caption class=\"muted\" id=\"count\">Newest first</caption>"
                       "<thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Created</th><th scope=\"col\">User</th>"
                       "<th scope=\"col\">Provider</th><th scope=\"col\">Amount</th><th scope=\"col\">State</th>"
                       "<th scope=\"col\">For</th><th scope=\"col\">Actions</th></tr></thead><tbody>\n");
    for (size_t i = 0; rc == 0 && i < n && shown < SHOWN; i++)
        if (matches(&f, &list[i])) {
            rc = pay_row(&b, s, &list[i]);
            shown++;
        }
    if (rc == 0)
        rc = admin_putf(&b, "</tbody></table><p class=\"muted\" id=\"shown\">%zu shown (at most %d)</p></div>\n", shown,
                        SHOWN);
    if (rc == 0)
        rc = admin_layout_end(&b);
    free(list);
    admin_send_page(c, ok ? status : 422, &b, rc);
}

static void on_list(struct api_call *c)
{
    struct admin_session s;
    if (!admin_viewer(c, &s))
        return;
    const char *done = api_call_query(c, "done");
    list_page(c, &s, 200, done && strcmp(done, "refunded") == 0 ? "Payment refunded." : NULL, false);
}

static void on_refund(struct api_call *c)
{
    struct admin_session s;
    if (!admin_changer(c, &s))
        return;
    struct billing *b = billing_module_current();
    if (b == NULL) {
        list_page(c, &s, 503, "Billing is not running on this hub.", true);
        return;
    }
    char actor[32];
    admin_actor(&s, actor);
    struct store_pay_result res;
    struct billing_err e = {0};
    if (billing_refund(b, api_call_id(c), api_call_now(c), actor, &res, &e) < 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "Not refunded: %s", e.message[0] ? e.message : "billing error");
        list_page(c, &s, e.http ? e.http : 500, msg, true);
        return;
    }
    api_call_changed(c, false);
    admin_redirect(c, "/admin/payments?done=refunded");
}

void admin_payments_routes(void)
{
    api_route_add("GET", "/admin/payments", API_AUTH_NONE, on_list);
    static const struct admin_post posts[] = {{"/admin/payments/{id}/refund", on_refund}};
    ADMIN_POSTS(posts);
}
