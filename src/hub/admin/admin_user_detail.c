/* One user's page, /admin/users/{id}: the account, the current subscription with its traffic,
 * every subscription's traffic as a chart, devices, payments; and the actions (admin role, CSRF
 * token): extend, grant a plan, disable/enable (admin_routes.c), rotate the subscription link,
 * free a device. Each change calls the store function the REST API calls, with the same audit
 * action and {"via":"dashboard"} in its details, then drops cached /sub answers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/html.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/admin/admin_http.h"
#include "hub/admin/admin_pages.h"
#include "hub/admin/admin_routes.h"
#include "hub/api/api_valid.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"

#define CHART_SUBS 24 /* the newest subscriptions in the traffic chart */

/* What ?done= and ?error= say after a change (fixed words: nothing from the URL is echoed). */
static const char *const outcomes[][2] = {
    {"extended", "Subscription extended."},
    {"granted", "Plan granted."},
    {"enabled", "User enabled."},
    {"disabled", "User disabled."},
    {"rotated", "Subscription link rotated: the old link stopped working."},
    {"freed", "Device removed: its slot is free."},
    {"no-sub", "The user has no subscription to extend: grant a plan."},
    {"has-sub", "The user already has a current subscription: extend it instead."},
    {"bad-days", "Days: a whole number from 1 to 3660."},
    {"bad-plan", "Choose an enabled plan."},
    {"revoked", "A revoked subscription cannot be extended: grant a plan."},
};

static const char *outcome(const char *code)
{
    for (size_t i = 0; code != NULL && i < sizeof outcomes / sizeof outcomes[0]; i++)
        if (strcmp(code, outcomes[i][0]) == 0)
            return outcomes[i][1];
    return NULL;
}

struct detail {
    struct hub_user u;
    struct hub_sub *subs;
    size_t n_subs;
    struct store_device *devs;
    size_t n_devs;
    struct hub_payment *pays;
    size_t n_pays;
    struct hub_plan *plans;
    size_t n_plans;
};

static void detail_free(struct detail *d)
{
    free(d->subs);
    free(d->devs);
    free(d->pays);
    free(d->plans);
}

static const char *plan_name(const struct detail *d, int64_t id)
{
    for (size_t i = 0; i < d->n_plans; i++)
        if (d->plans[i].id == id)
            return d->plans[i].name;
    return "(deleted plan)";
}

/* The subscription that counts: the live one (active or limited), else the newest. */
static const struct hub_sub *current_sub(const struct detail *d)
{
    const struct hub_sub *best = NULL;
    for (size_t i = 0; i < d->n_subs; i++) {
        const struct hub_sub *s = &d->subs[i];
        bool live = s->state == HUB_SUB_ACTIVE || s->state == HUB_SUB_LIMITED;
        bool best_live = best && (best->state == HUB_SUB_ACTIVE || best->state == HUB_SUB_LIMITED);
        if (best == NULL || (live && !best_live) || (live == best_live && s->id > best->id))
            best = s;
    }
    return best;
}

static int post_form(struct buf *out, const struct admin_session *s, const char *action)
{
    TRY(admin_putf(out, "<form class=\"inline\" method=\"post\" action=\"/admin/%s\">", action));
    return admin_csrf_input(out, s);
}

static int account_card(struct buf *out, const struct admin_session *s, const struct detail *d)
{
    const struct hub_user *u = &d->u;
    TRY(admin_put(out, "<section class=\"card\" aria-labelledby=\"h-account\"><h2 id=\"h-account\">Account</h2><dl>"
                       "<dt>Name</dt><dd id=\"username\">"));
    TRY(html_escape_str(out, u->username));
    TRY(admin_put(out, "</dd><dt>State</dt><dd id=\"user-state\">"));
    TRY(admin_put(out, u->enabled ? "enabled" : "disabled"));
    TRY(admin_put(out, "</dd><dt>Telegram</dt><dd>"));
    if (u->telegram_id != 0)
        TRY(admin_putf(out, "%" PRId64, u->telegram_id));
    TRY(admin_put(out, "</dd><dt>VLESS id</dt><dd><code>"));
    TRY(html_escape_str(out, u->uuid));
    TRY(admin_put(out, "</code></dd><dt>Language</dt><dd>"));
    TRY(html_escape_str(out, u->language));
    TRY(admin_put(out, "</dd><dt>Balance</dt><dd id=\"balance\">"));
    TRY(admin_money(out, u->balance_minor, u->currency));
    TRY(admin_put(out, "</dd><dt>Referral code</dt><dd>"));
    TRY(html_escape_str(out, u->referral_code));
    TRY(admin_put(out, "</dd><dt>Created</dt><dd>"));
    TRY(admin_time(out, u->created_at));
    TRY(admin_put(out, "</dd></dl>"));
    if (s->role == HUB_ROLE_ADMIN) {
        TRY(admin_putf(
            out, "<div class=\"row\"><form class=\"inline\" method=\"post\" action=\"/admin/users/%" PRId64 "/%s\">",
            u->id, u->enabled ? "disable" : "enable"));
        TRY(admin_csrf_input(out, s));
        TRY(admin_putf(out,
                       "<input type=\"hidden\" name=\"from\" value=\"detail\"><button id=\"toggle\" class=\"%s\" "
                       "type=\"submit\">%s user</button></form>",
                       u->enabled ? "danger" : "", u->enabled ? "Disable" : "Enable"));
        char action[64];
        snprintf(action, sizeof action, "users/%" PRId64 "/rotate-link", u->id);
        TRY(post_form(out, s, action));
        TRY(admin_put(out, "<button id=\"rotate\" class=\"danger\" type=\"submit\">Rotate subscription link</button>"
                           "</form></div>"));
    }
    return admin_put(out, "</section>\n");
}

static int sub_card(struct buf *out, const struct admin_session *s, const struct detail *d)
{
    const struct hub_sub *cur = current_sub(d);
    TRY(admin_put(out, "<section class=\"card\" aria-labelledby=\"h-sub\"><h2 id=\"h-sub\">Subscription</h2>"));
    if (cur == NULL) {
        TRY(admin_put(out, "<p id=\"sub-none\">No subscription yet.</p>"));
    } else {
        TRY(admin_put(out, "<dl><dt>Plan</dt><dd id=\"sub-plan\">"));
        TRY(html_escape_str(out, plan_name(d, cur->plan_id)));
        TRY(admin_putf(out, "</dd><dt>State</dt><dd id=\"sub-state\">%s</dd><dt>Started</dt><dd>",
                       hub_sub_state_name(cur->state)));
        TRY(admin_time(out, cur->starts_at));
        TRY(admin_put(out, "</dd><dt>Ends</dt><dd id=\"sub-ends\">"));
        TRY(admin_time(out, cur->ends_at));
        TRY(admin_put(out, "</dd><dt>Traffic</dt><dd id=\"sub-traffic\">"));
        TRY(admin_bytes(out, cur->used_up + cur->used_down));
        TRY(admin_put(out, " of "));
        TRY(cur->quota_bytes > 0 ? admin_bytes(out, cur->quota_bytes) : admin_put(out, "unlimited"));
        TRY(admin_putf(out, " (reset: %s)</dd><dt>Devices</dt><dd>", hub_reset_name(cur->reset)));
        TRY(cur->device_limit > 0 ? admin_putf(out, "%" PRId64, cur->device_limit) : admin_put(out, "unlimited"));
        TRY(admin_put(out, "</dd></dl>"));
    }
    if (s->role == HUB_ROLE_ADMIN) {
        char action[64];
        TRY(admin_put(out, "<div class=\"row\">"));
        if (cur != NULL) {
            snprintf(action, sizeof action, "users/%" PRId64 "/extend", d->u.id);
            TRY(post_form(out, s, action));
            TRY(admin_put(out, "<div><label for=\"days\">Days</label><input id=\"days\" name=\"days\" type=\"number\" "
                               "min=\"1\" max=\"3660\" value=\"30\" required></div> <button id=\"extend\" "
                               "type=\"submit\">Extend</button></form>"));
        }
        snprintf(action, sizeof action, "users/%" PRId64 "/grant", d->u.id);
        TRY(post_form(out, s, action));
        TRY(admin_put(out, "<div><label for=\"plan\">Plan</label><select id=\"plan\" name=\"plan\">"));
        for (size_t i = 0; i < d->n_plans; i++) {
            if (!d->plans[i].enabled)
                continue;
            TRY(admin_putf(out, "<option value=\"%" PRId64 "\">", d->plans[i].id));
            TRY(html_escape_str(out, d->plans[i].name));
            TRY(admin_putf(out, " (%" PRId64 " days)</option>", d->plans[i].duration_days));
        }
        TRY(admin_put(out, "</select></div> <button id=\"grant\" type=\"submit\">Grant plan</button></form></div>"));
    }
    /* Traffic of every subscription, oldest to newest: the history the hub keeps. */
    if (d->n_subs > 0) {
        size_t n = d->n_subs < CHART_SUBS ? d->n_subs : CHART_SUBS;
        int64_t vals[CHART_SUBS];
        char lab[CHART_SUBS][24];
        const char *labels[CHART_SUBS];
        /* d->subs is in id order (on_detail sorts it): the newest n */
        for (size_t i = 0; i < n; i++) {
            const struct hub_sub *x = &d->subs[d->n_subs - n + i];
            vals[i] = x->used_up + x->used_down;
            snprintf(lab[i], sizeof lab[i], "#%" PRId64, x->id);
            labels[i] = lab[i];
        }
        TRY(admin_chart(out, &(struct admin_series){.id = "usage-chart",
                                                    .label = "Traffic per subscription",
                                                    .unit = "B",
                                                    .values = vals,
                                                    .labels = labels,
                                                    .n = n}));
    }
    return admin_put(out, "</section>\n");
}

static int devices_card(struct buf *out, const struct admin_session *s, const struct detail *d)
{
    TRY(admin_putf(out, "<section class=\"card\" aria-labelledby=\"h-dev\"><h2 id=\"h-dev\">Devices (%zu)</h2>",
                   d->n_devs));
    if (d->n_devs == 0)
        return admin_put(out,
                         "<p class=\"muted\">No device fetched the subscription with a device id.</p></section>\n");
    TRY(admin_put(out, "<table><thead><tr><th scope=\"col\">Device</th><th scope=\"col\">App</th><th scope=\"col\">"
                       "Last address</th><th scope=\"col\">Last seen</th><th scope=\"col\">Actions</th></tr></thead>"
                       "<tbody>"));
    for (size_t i = 0; i < d->n_devs; i++) {
        const struct store_device *v = &d->devs[i];
        TRY(admin_putf(out, "<tr id=\"device-%" PRId64 "\"><td><code>", v->id));
        TRY(html_escape_str(out, v->hwid));
        TRY(admin_put(out, "</code></td><td>"));
        TRY(html_escape_str(out, v->user_agent));
        TRY(admin_put(out, "</td><td>"));
        TRY(html_escape_str(out, v->last_ip));
        TRY(admin_put(out, "</td><td>"));
        TRY(admin_time(out, v->last_seen));
        TRY(admin_put(out, "</td><td>"));
        if (s->role == HUB_ROLE_ADMIN) {
            char action[64];
            snprintf(action, sizeof action, "devices/%" PRId64 "/free", v->id);
            TRY(post_form(out, s, action));
            TRY(admin_putf(out,
                           "<input type=\"hidden\" name=\"user\" value=\"%" PRId64 "\"><button type=\"submit\" "
                           "aria-label=\"Free device %" PRId64 "\">Free</button></form>",
                           d->u.id, v->id));
        }
        TRY(admin_put(out, "</td></tr>"));
    }
    return admin_put(out, "</tbody></table></section>\n");
}

static int payments_card(struct buf *out, const struct detail *d)
{
    TRY(admin_putf(out, "<section class=\"card\" aria-labelledby=\"h-pay\"><h2 id=\"h-pay\">Payments (%zu)</h2>",
                   d->n_pays));
    if (d->n_pays == 0)
        return admin_put(out, "<p class=\"muted\">No payments.</p></section>\n");
    TRY(admin_put(out, "<table><thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Created</th><th scope=\"col\">"
                       "Provider</th><th scope=\"col\">Amount</th><th scope=\"col\">State</th></tr></thead><tbody>"));
    for (size_t i = 0; i < d->n_pays && i < 50; i++) {
        const struct hub_payment *p = &d->pays[i];
        TRY(admin_putf(out,
                       "<tr id=\"upay-%" PRId64 "\"><td><a href=\"/admin/payments?user=%" PRId64 "\">%" PRId64
                       "</a></td><td>",
                       p->id, p->user_id, p->id));
        TRY(admin_time(out, p->created_at));
        TRY(admin_put(out, "</td><td>"));
        TRY(html_escape_str(out, p->provider));
        TRY(admin_put(out, "</td><td>"));
        TRY(admin_money(out, p->amount_minor, p->currency));
        TRY(admin_putf(out, "</td><td>%s</td></tr>", hub_pay_status_name(p->status)));
    }
    return admin_put(out, "</tbody></table></section>\n");
}

static int by_id(const void *a, const void *b)
{
    const struct hub_sub *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static void on_detail(struct api_call *c)
{
    struct admin_session s;
    if (!admin_viewer(c, &s))
        return;
    struct store *st = api_call_store(c);
    struct detail d = {0};
    int64_t id = api_call_id(c);
    int rc = store_user_get(st, id, &d.u);
    if (rc == 0)
        rc = store_sub_list(st, id, &d.subs, &d.n_subs);
    if (rc == 0)
        rc = store_device_list(st, id, &d.devs, &d.n_devs);
    if (rc == 0)
        rc = store_payment_list(st, id, &d.pays, &d.n_pays);
    if (rc == 0)
        rc = store_plan_list(st, &d.plans, &d.n_plans);
    if (rc < 0) {
        detail_free(&d);
        admin_store_error(c, rc, "user");
        return;
    }
    if (d.n_subs > 1)
        qsort(d.subs, d.n_subs, sizeof *d.subs, by_id);
    const char *err = outcome(api_call_query(c, "error")), *done = outcome(api_call_query(c, "done"));
    char title[HUB_NAME_MAX + 16];
    snprintf(title, sizeof title, "User %s", d.u.username);
    struct buf b;
    buf_init(&b);
    int prc = admin_layout_top(&b, title, &s);
    if (prc == 0)
        prc = admin_notice(&b, err ? err : done, err != NULL);
    if (prc == 0)
        prc = account_card(&b, &s, &d);
    if (prc == 0)
        prc = sub_card(&b, &s, &d);
    if (prc == 0)
        prc = devices_card(&b, &s, &d);
    if (prc == 0)
        prc = payments_card(&b, &d);
    if (prc == 0)
        prc = admin_layout_end(&b);
    detail_free(&d);
    admin_send_page(c, 200, &b, prc);
}

/* The audit record of a dashboard change; details is a JSON object text with "via". */
struct change {
    struct admin_session s;
    char actor[32], target[48];
    struct store_audit a;
};

static void change_audit(struct api_call *c, struct change *ch, const char *action, const char *target_kind,
                         int64_t target_id, const char *details)
{
    admin_actor(&ch->s, ch->actor);
    snprintf(ch->target, sizeof ch->target, "%s:%" PRId64, target_kind, target_id);
    ch->a = (struct store_audit){
        .actor = ch->actor, .action = action, .target = ch->target, .source_ip = api_call_ip(c), .details = details};
}

static void back(struct api_call *c, int64_t user_id, const char *key, const char *code)
{
    admin_redirectf(c, "/admin/users/%" PRId64 "?%s=%s", user_id, key, code);
}

static void on_extend(struct api_call *c)
{
    int64_t id = api_call_id(c), days;
    char v[ADMIN_FORM_MAX], det[64];
    struct change ch;
    if (!admin_changer(c, &ch.s))
        return;
    if (!admin_field(c, "days", v, sizeof v) || api_parse_uint_param(v, 1, HUB_MAX_DURATION_DAYS, &days) < 0) {
        back(c, id, "error", "bad-days");
        return;
    }
    struct hub_sub cur;
    int rc = store_sub_current(api_call_store(c), id, &cur);
    if (rc == ERR_NOT_FOUND) {
        back(c, id, "error", "no-sub");
        return;
    }
    if (rc < 0) {
        admin_store_error(c, rc, "subscription");
        return;
    }
    snprintf(det, sizeof det, "{\"days\":%" PRId64 ",\"via\":\"dashboard\"}", days);
    change_audit(c, &ch, "subscription.extend", "subscription", cur.id, det);
    rc = store_sub_extend(api_call_store(c), cur.id, days, api_call_now(c), &cur, &ch.a);
    if (rc == ERR_BAD_STATE) {
        back(c, id, "error", "revoked");
        return;
    }
    if (rc < 0) {
        admin_store_error(c, rc, "subscription");
        return;
    }
    api_call_changed(c, false);
    back(c, id, "done", "extended");
}

static void on_grant(struct api_call *c)
{
    int64_t id = api_call_id(c), plan;
    char v[ADMIN_FORM_MAX], det[96];
    struct change ch;
    if (!admin_changer(c, &ch.s))
        return;
    if (!admin_field(c, "plan", v, sizeof v) || api_parse_uint_param(v, 1, INT64_MAX, &plan) < 0) {
        back(c, id, "error", "bad-plan");
        return;
    }
    snprintf(det, sizeof det, "{\"user_id\":%" PRId64 ",\"plan_id\":%" PRId64 ",\"via\":\"dashboard\"}", id, plan);
    change_audit(c, &ch, "subscription.grant", "user", id, det);
    struct hub_sub sub;
    int rc = store_sub_grant(api_call_store(c), id, plan, api_call_now(c), &sub, &ch.a);
    if (rc == ERR_EXISTS) {
        back(c, id, "error", "has-sub");
        return;
    }
    if (rc == ERR_BAD_STATE) { /* the plan is disabled */
        back(c, id, "error", "bad-plan");
        return;
    }
    if (rc < 0) {
        admin_store_error(c, rc, "user or plan");
        return;
    }
    api_call_changed(c, false);
    back(c, id, "done", "granted");
}

static void on_rotate_link(struct api_call *c)
{
    int64_t id = api_call_id(c);
    struct change ch;
    if (!admin_changer(c, &ch.s))
        return;
    change_audit(c, &ch, "user.rotate_token", "user", id, "{\"via\":\"dashboard\"}");
    uint8_t rnd[HUB_SUB_TOKEN_RAND];
    char tok[HUB_TOKEN_MAX + 1];
    if (crypto_random(rnd, sizeof rnd) < 0) {
        api_reply_error(c, 500, "internal", "random generator failed");
        return;
    }
    hub_sub_token_format(tok, rnd);
    secure_wipe(rnd, sizeof rnd);
    int rc = store_user_set_token(api_call_store(c), id, tok, &ch.a);
    secure_wipe(tok, sizeof tok);
    if (rc < 0) {
        admin_store_error(c, rc, "user");
        return;
    }
    api_call_changed(c, false);
    back(c, id, "done", "rotated");
}

static void on_device_free(struct api_call *c)
{
    int64_t dev = api_call_id(c), user = 0;
    char v[ADMIN_FORM_MAX];
    struct change ch;
    if (!admin_changer(c, &ch.s))
        return;
    change_audit(c, &ch, "device.delete", "device", dev, "{\"via\":\"dashboard\"}");
    if (admin_field(c, "user", v, sizeof v))
        (void)api_parse_uint_param(v, 1, INT64_MAX, &user);
    int rc = store_device_delete(api_call_store(c), dev, api_call_now(c), &ch.a);
    if (rc < 0) {
        admin_store_error(c, rc, "device");
        return;
    }
    api_call_changed(c, false);
    if (user > 0)
        back(c, user, "done", "freed");
    else
        admin_redirect(c, "/admin/users");
}

void admin_user_detail_routes(void)
{
    api_route_add("GET", "/admin/users/{id}", API_AUTH_NONE, on_detail);
    static const struct admin_post posts[] = {
        {"/admin/users/{id}/extend", on_extend},
        {"/admin/users/{id}/grant", on_grant},
        {"/admin/users/{id}/rotate-link", on_rotate_link},
        {"/admin/devices/{id}/free", on_device_free},
    };
    ADMIN_POSTS(posts);
}
