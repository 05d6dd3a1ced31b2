/* Robokassa (spec/ecosystem.md §b.2): the classic payment link signed with Password #1; the
 * ResultURL callback signed with Password #2 over the exact OutSum text received, answered
 * "OK<InvId>" only once the payment is recorded. InvId is our payment id. No refund API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/billing/billing_int.h"

static const char *rk_currency(const struct billing_cfg *cfg)
{
    return cfg->robokassa.currency;
}

/* Appends "key=urlencoded(value)" with a separator. */
static void add_param(char *out, size_t cap, const char *key, const char *value)
{
    size_t o = strlen(out);
    o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s=", strchr(out, '?') ? "&" : "?", key);
    for (const unsigned char *s = (const unsigned char *)value; *s && o + 4 < cap; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
            *s == '.' || *s == '_' || *s == '~')
            out[o++] = (char)*s;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", *s);
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static int rk_create(struct billing *b, const struct hub_payment *p, const struct hub_user *u,
                     const struct hub_plan *plan, char external_id[static 129], char pay_url[static 512])
{
    (void)u;
    char sum[32], inv[24], sig[129], desc[128];
    billing_minor_to_decimal(p->amount_minor, billing_currency_exp(p->currency), sum);
    snprintf(inv, sizeof inv, "%lld", (long long)p->id);
    const char *parts[] = {b->cfg.robokassa.merchant_login, sum, inv, b->cfg.robokassa.password1};
    TRY(billing_robokassa_sign(b->cfg.robokassa.hash, parts, 4, NULL, 0, sig));
    if (plan != NULL)
        snprintf(desc, sizeof desc, "%.100s (#%s)", plan->name, inv);
    else
        snprintf(desc, sizeof desc, "Balance top-up (#%s)", inv);
    snprintf(pay_url, 512, "%s", b->cfg.robokassa.pay_url);
    add_param(pay_url, 512, "MerchantLogin", b->cfg.robokassa.merchant_login);
    add_param(pay_url, 512, "OutSum", sum);
    add_param(pay_url, 512, "InvId", inv);
    add_param(pay_url, 512, "Description", desc);
    add_param(pay_url, 512, "SignatureValue", sig);
    if (b->cfg.robokassa.test)
        add_param(pay_url, 512, "IsTest", "1");
    snprintf(external_id, 129, "%s", inv);
    return strlen(pay_url) + 8 < 512 ? 0 : ERR_TOO_LONG;
}

/* GET callbacks: the three fields from the query (we send no Shp_ parameters, so a GET carries
 * none that are signed). */
static int form_from_query(const struct billing_hook_req *req, char *out, size_t cap)
{
    static const char *const keys[] = {"OutSum", "InvId", "SignatureValue"};
    out[0] = '\0';
    for (size_t i = 0; i < 3; i++) {
        const char *v = req->query ? req->query(req->arg, keys[i]) : NULL;
        if (v == NULL)
            return ERR_MALFORMED;
        size_t o = strlen(out);
        snprintf(out + o, cap - o, "%s%s=", i ? "&" : "", keys[i]);
        for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
            o = strlen(out);
            if (o + 4 >= cap)
                return ERR_TOO_LONG;
            snprintf(out + o, cap - o, "%%%02X", *s);
        }
    }
    return 0;
}

static void rk_webhook(struct billing *b, const struct billing_hook_req *req, int64_t now,
                       struct billing_hook_resp *out)
{
    if (b->cfg.robokassa.n_trusted > 0 &&
        (req->ip == NULL || !client_ip_in_nets(req->ip, b->cfg.robokassa.trusted, b->cfg.robokassa.n_trusted))) {
        billing__reject(b, BILLING_ROBOKASSA, req, now, 403, "untrusted_source", out);
        return;
    }
    struct billing_robo_result r;
    int rc;
    if (req->body_len > 0) {
        rc = billing_robo_parse_form(req->body, req->body_len, &r);
    } else {
        char q[1024];
        rc = form_from_query(req, q, sizeof q);
        if (rc == 0)
            rc = billing_robo_parse_form(q, strlen(q), &r);
    }
    if (rc < 0) {
        billing__reject(b, BILLING_ROBOKASSA, req, now, 400, "malformed", out);
        return;
    }
    char sig[129];
    const char *parts[] = {r.out_sum, r.inv_id, b->cfg.robokassa.password2};
    if (billing_robokassa_sign(b->cfg.robokassa.hash, parts, 3, r.shp, r.n_shp, sig) < 0 ||
        !billing_hex_equal(sig, r.signature)) {
        billing__reject(b, BILLING_ROBOKASSA, req, now, 403, "bad_signature", out);
        return;
    }
    int64_t id = 0;
    struct hub_payment p;
    if (billing_parse_id(r.inv_id, &id) < 0 || store_payment_get(b->st, id, &p) < 0 ||
        strcmp(p.provider, "robokassa") != 0) {
        billing__reject(b, BILLING_ROBOKASSA, req, now, 404, "unknown_payment", out);
        return;
    }
    struct billing_remote rm = {.status = HUB_PAY_SUCCEEDED, .final = true, .our_id = id};
    snprintf(rm.currency, sizeof rm.currency, "%s", p.currency); /* OutSum is in the shop's currency */
    snprintf(rm.external_id, sizeof rm.external_id, "%s", r.inv_id);
    if (billing_decimal_to_minor(r.out_sum, strlen(r.out_sum), billing_currency_exp(p.currency), &rm.amount_minor) < 0)
        rm.amount_minor = -1; /* unreadable sum: flagged as a mismatch below */
    char *raw = strndup(req->body ? req->body : "", req->body_len);
    rc = billing__apply_remote(b, id, &rm, raw, now, "webhook:robokassa", req->ip, NULL);
    free(raw);
    if (rc < 0) {
        out->status = 503;
        out->content_type = "text/plain; charset=utf-8";
        snprintf(out->body, sizeof out->body, "retry later\n");
        return;
    }
    out->status = 200;
    out->content_type = "text/plain; charset=utf-8";
    snprintf(out->body, sizeof out->body, "OK%s", r.inv_id);
}

const struct billing_prov_ops billing__robokassa = {
    .id = BILLING_ROBOKASSA,
    .currency = rk_currency,
    .create = rk_create,
    .webhook = rk_webhook,
};
