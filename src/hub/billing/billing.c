/* The provider-independent flow: invoices, applying what a provider reports, refusing forged
 * webhooks, refunds and reconciliation. Provider specifics live in prov_<name>.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/billing/billing_int.h"
#include "hub/domain/rules.h"

static const char *const prov_names[BILLING__COUNT] = {"yookassa", "robokassa", "cryptobot", "stars", "balance"};

const char *billing_prov_name(enum billing_prov p)
{
    return (unsigned)p < BILLING__COUNT ? prov_names[p] : "?";
}

int billing_prov_parse(const char *s)
{
    for (int i = 0; s != NULL && i < BILLING__COUNT; i++)
        if (strcmp(s, prov_names[i]) == 0)
            return i;
    return -1;
}

const struct billing_prov_ops *billing__ops(enum billing_prov p)
{
    switch (p) {
    case BILLING_YOOKASSA:
        return &billing__yookassa;
    case BILLING_ROBOKASSA:
        return &billing__robokassa;
    case BILLING_CRYPTOBOT:
        return &billing__cryptobot;
    case BILLING_STARS:
        return &billing__stars;
    case BILLING_BALANCE:
        return &billing__balance;
    case BILLING__COUNT:
    default:
        return NULL;
    }
}

int billing_new(const struct billing_cfg *cfg, struct store *st, struct billing **out)
{
    struct billing *b = calloc(1, sizeof *b);
    if (b == NULL)
        return ERR_NOMEM;
    b->cfg = *cfg;
    b->st = st;
    b->http = NULL; /* billing__http falls back to libcurl */
    *out = b;
    return 0;
}

void billing_free(struct billing *b)
{
    if (b == NULL)
        return;
    billing_cfg_wipe(&b->cfg);
    free(b);
}

void billing_cfg_wipe(struct billing_cfg *c)
{
    secure_wipe(c, sizeof *c); /* passwords and tokens */
}

void billing_set_http(struct billing *b, billing_http_fn *fn, void *arg)
{
    b->http = fn;
    b->http_arg = arg;
}

const struct billing_cfg *billing_cfg_of(const struct billing *b)
{
    return &b->cfg;
}

static int fail(struct billing_err *e, int http, const char *code, const char *msg, int rc)
{
    if (e != NULL) {
        e->http = http;
        snprintf(e->code, sizeof e->code, "%s", code);
        snprintf(e->message, sizeof e->message, "%s", msg);
    }
    return rc;
}

static struct store_billing_rules rules_of(const struct billing *b)
{
    return (struct store_billing_rules){.referral_percent = b->cfg.referral_percent,
                                        .first_bonus_percent = b->cfg.first_bonus_percent};
}

int billing_promo_check(struct billing *b, const char *code, int64_t user_id, int64_t now, struct hub_promo *out,
                        struct billing_err *e)
{
    int rc = store_promo_get(b->st, code, out);
    if (rc == ERR_NOT_FOUND)
        return fail(e, 422, "promo_invalid", "promo_code: unknown code", rc);
    if (rc < 0)
        return fail(e, 503, "busy", "database busy, retry", rc);
    bool used = false;
    if ((rc = store_promo_used_by(b->st, out->id, user_id, &used)) < 0)
        return fail(e, 503, "busy", "database busy, retry", rc);
    if (used)
        return fail(e, 422, "promo_used", "promo_code: already used by this customer", ERR_BAD_STATE);
    /* The same rule the invoice applies, on a nominal price (the currency only matters for money
     * promos, which the invoice checks against its own currency). */
    int64_t amount, discount, days;
    rc = billing_promo_apply(out, now, out->kind == HUB_PROMO_MONEY ? out->currency : "", HUB_MAX_MONEY, &amount,
                             &discount, &days);
    if (rc < 0)
        return fail(e, 422, "promo_invalid", "promo_code: disabled, expired or used up", rc);
    return 0;
}

/* Prices the invoice: the plan's price (or the top-up amount) in currency, minus the promo. */
static int price_invoice(struct billing *b, const struct billing_invoice_req *in, const struct hub_plan *plan,
                         const char *currency, int64_t now, struct hub_payment *p, struct billing_err *e)
{
    int64_t price = in->amount_minor;
    if (plan != NULL && billing_price_for(plan, currency, &price) < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "plan %lld has no price in %s (the currency of %s)", (long long)plan->id, currency,
                 billing_prov_name(in->provider));
        return fail(e, 422, "no_price", msg, ERR_NOT_FOUND);
    }
    if (price < 0 || price > HUB_MAX_MONEY || (plan == NULL && price == 0))
        return fail(e, 422, "invalid_amount", "amount_minor: must be 1..2^50", ERR_RANGE);
    p->amount_minor = price;
    if (in->promo_code == NULL || in->promo_code[0] == '\0')
        return 0;
    if (plan == NULL)
        return fail(e, 422, "promo_invalid", "promo_code: promos apply to plans, not to top-ups", ERR_BAD_STATE);
    struct hub_promo promo;
    TRY(billing_promo_check(b, in->promo_code, in->user_id, now, &promo, e));
    int rc = billing_promo_apply(&promo, now, currency, price, &p->amount_minor, &p->discount_minor, &p->bonus_days);
    if (rc == ERR_UNSUPPORTED)
        return fail(e, 422, "promo_currency", "promo_code: its discount is in another currency", rc);
    if (rc < 0)
        return fail(e, 422, "promo_invalid", "promo_code: disabled, expired or used up", rc);
    p->promo_id = promo.id;
    return 0;
}

const char *billing_prov_currency(const struct billing *b, enum billing_prov p, const char *user_currency)
{
    const struct billing_prov_ops *ops = billing__ops(p);
    if (ops == NULL)
        return "";
    return p == BILLING_BALANCE ? user_currency : ops->currency(&b->cfg);
}

int billing_invoice_create(struct billing *b, const struct billing_invoice_req *in, int64_t now,
                           struct hub_payment *out, struct billing_err *e)
{
    const struct billing_prov_ops *ops = billing__ops(in->provider);
    if (ops == NULL || !b->cfg.enabled[in->provider])
        return fail(e, 422, "provider_disabled", "provider: not configured on this hub", ERR_UNSUPPORTED);
    struct hub_user u;
    int rc = store_user_get(b->st, in->user_id, &u);
    if (rc < 0)
        return fail(e, rc == ERR_NOT_FOUND ? 404 : 503, rc == ERR_NOT_FOUND ? "not_found" : "busy", "user not found",
                    rc);
    struct hub_plan plan;
    if (in->plan_id > 0) {
        if ((rc = store_plan_get(b->st, in->plan_id, &plan)) < 0)
            return fail(e, rc == ERR_NOT_FOUND ? 404 : 503, rc == ERR_NOT_FOUND ? "not_found" : "busy",
                        "plan not found", rc);
        if (!plan.enabled)
            return fail(e, 409, "invalid_state", "plan: disabled", ERR_BAD_STATE);
    } else if (in->provider == BILLING_BALANCE) {
        return fail(e, 422, "invalid_field", "plan_id: the balance pays for plans, it cannot top itself up", ERR_RANGE);
    }
    const char *currency = billing_prov_currency(b, in->provider, u.currency);
    if (in->plan_id == 0 && strcmp(currency, u.currency) != 0)
        return fail(e, 422, "currency_mismatch", "a top-up must be in the balance's currency", ERR_UNSUPPORTED);

    struct hub_payment p;
    memset(&p, 0, sizeof p);
    p.user_id = u.id;
    p.plan_id = in->plan_id;
    snprintf(p.provider, sizeof p.provider, "%s", billing_prov_name(in->provider));
    snprintf(p.currency, sizeof p.currency, "%s", currency);
    TRY(price_invoice(b, in, in->plan_id > 0 ? &plan : NULL, currency, now, &p, e));
    uint8_t rnd[16];
    if ((rc = crypto_random(rnd, sizeof rnd)) < 0)
        return fail(e, 500, "internal", "no randomness", rc);
    hub_uuid_v4_format(p.idempotency_key, rnd);
    p.expires_at = now + b->cfg.invoice_ttl;
    struct store_audit au = {.actor = in->actor, .action = "invoice.create", .source_ip = in->source_ip};
    struct store_billing_rules rules = rules_of(b);
    struct store_pay_result res;

    if (in->provider == BILLING_BALANCE) {
        rc = store_payment_from_balance(b->st, &p, &rules, now, &au, &res);
        if (rc == ERR_RANGE)
            return fail(e, 409, "insufficient_balance", "balance: not enough to pay for the plan", rc);
        if (rc < 0)
            return fail(e, 503, "busy", "database busy, retry", rc);
        *out = res.pay;
        return 0;
    }
    if ((rc = store_invoice_create(b->st, &p, now, &au)) < 0)
        return fail(e, rc == ERR_NOT_FOUND ? 404 : 503, rc == ERR_NOT_FOUND ? "not_found" : "busy",
                    "cannot record the invoice", rc);
    if (p.amount_minor == 0) {
        /* A promo made it free: nothing to collect, granted now. */
        struct store_pay_event ev = {.payment_id = p.id, .status = HUB_PAY_SUCCEEDED, .currency = p.currency};
        TRY(store_payment_transition(b->st, &ev, &rules, now, &au, &res));
        *out = res.pay;
        return 0;
    }
    if (ops->create != NULL) {
        char ext[129] = "", url[512] = "";
        rc = ops->create(b, &p, &u, in->plan_id > 0 ? &plan : NULL, ext, url);
        if (rc < 0) {
            struct store_pay_event ev = {.payment_id = p.id, .status = HUB_PAY_FAILED};
            store_payment_transition(b->st, &ev, &rules, now, &au, NULL);
            log_warn("billing", 0, "provider_create_failed", LF_STR("provider", p.provider), LF_INT("payment", p.id),
                     LF_STR("err", err_str(rc)));
            return fail(e, 502, "provider_error", "the payment provider did not create the invoice", rc);
        }
        if ((rc = store_payment_set_provider(b->st, p.id, ext, url, now)) < 0)
            return fail(e, 503, "busy", "cannot record the provider's invoice", rc);
    }
    return store_payment_get(b->st, p.id, out) < 0 ? fail(e, 503, "busy", "database busy", ERR_TIMEOUT) : 0;
}

int billing__apply_remote(struct billing *b, int64_t id, const struct billing_remote *rm, const char *raw, int64_t now,
                          const char *actor, const char *ip, struct store_pay_result *out)
{
    struct store_pay_result tmp;
    if (out == NULL)
        out = &tmp;
    memset(out, 0, sizeof *out);
    if (rm->status == HUB_PAY_PENDING) {
        out->duplicate = true; /* still waiting at the provider: nothing to do */
        return store_payment_get(b->st, id, &out->pay);
    }
    char action[48];
    snprintf(action, sizeof action, "payment.%s", hub_pay_status_name(rm->status));
    struct store_audit au = {.actor = actor, .action = action, .source_ip = ip};
    struct store_pay_event ev = {.payment_id = id,
                                 .status = rm->status,
                                 .external_id = rm->external_id[0] ? rm->external_id : NULL,
                                 .amount_minor = rm->amount_minor,
                                 .currency = rm->currency,
                                 .raw = raw};
    struct store_billing_rules rules = rules_of(b);
    int rc = store_payment_transition(b->st, &ev, &rules, now, &au, out);
    if (rc == 0 && out->flagged)
        log_warn("billing", 0, "payment_flagged", LF_INT("payment", id), LF_STR("flag", out->flag),
                 LF_STR("actor", actor));
    return rc;
}

void billing__reject(struct billing *b, enum billing_prov p, const struct billing_hook_req *req, int64_t now,
                     int status, const char *reason, struct billing_hook_resp *out)
{
    char details[160], target[48];
    snprintf(details, sizeof details, "{\"provider\":\"%s\",\"reason\":\"%s\"}", billing_prov_name(p), reason);
    snprintf(target, sizeof target, "provider:%s", billing_prov_name(p));
    struct store_audit au = {
        .actor = "webhook", .action = "webhook_rejected", .target = target, .source_ip = req->ip, .details = details};
    if (store_audit_add(b->st, &au, now) < 0)
        log_warn("billing", 0, "audit_failed", LF_STR("action", "webhook_rejected"));
    log_warn("billing", 0, "webhook_rejected", LF_STR("provider", billing_prov_name(p)), LF_STR("reason", reason),
             LF_STR("ip", req->ip ? req->ip : ""));
    out->status = status;
    out->content_type = "text/plain; charset=utf-8";
    snprintf(out->body, sizeof out->body, "rejected: %s\n", reason);
}

void billing__apply_webhook(struct billing *b, enum billing_prov p, int64_t id, const struct billing_remote *rm,
                            const struct billing_hook_req *req, int64_t now, struct billing_hook_resp *out)
{
    char actor[32];
    snprintf(actor, sizeof actor, "webhook:%s", billing_prov_name(p));
    char *raw = strndup(req->body, req->body_len);
    int rc = billing__apply_remote(b, id, rm, raw, now, actor, req->ip, NULL);
    free(raw);
    if (rc < 0) {
        out->status = 503;
        snprintf(out->body, sizeof out->body, "retry later\n");
        return;
    }
    out->status = 200;
    snprintf(out->body, sizeof out->body, "ok\n");
}

void billing_webhook(struct billing *b, enum billing_prov p, const struct billing_hook_req *req, int64_t now,
                     struct billing_hook_resp *out)
{
    memset(out, 0, sizeof *out);
    const struct billing_prov_ops *ops = billing__ops(p);
    if (ops == NULL || ops->webhook == NULL || !b->cfg.enabled[p]) {
        billing__reject(b, p, req, now, 404, "provider_disabled", out);
        return;
    }
    if (req->body_len > BILLING_WEBHOOK_MAX) {
        billing__reject(b, p, req, now, 413, "too_large", out);
        return;
    }
    ops->webhook(b, req, now, out);
}

int billing_refund(struct billing *b, int64_t payment_id, int64_t now, const char *actor, struct store_pay_result *out,
                   struct billing_err *e)
{
    struct hub_payment p;
    int rc = store_payment_get(b->st, payment_id, &p);
    if (rc < 0)
        return fail(e, rc == ERR_NOT_FOUND ? 404 : 503, rc == ERR_NOT_FOUND ? "not_found" : "busy", "payment not found",
                    rc);
    if (p.status != HUB_PAY_SUCCEEDED)
        return fail(e, 409, "invalid_state", "payment: only a succeeded payment can be refunded", ERR_BAD_STATE);
    int prov = billing_prov_parse(p.provider);
    const struct billing_prov_ops *ops = prov < 0 ? NULL : billing__ops((enum billing_prov)prov);
    if (ops == NULL || ops->refund == NULL)
        return fail(e, 422, "refund_unsupported", "payment: its provider has no refunds through the API",
                    ERR_UNSUPPORTED);
    if ((rc = ops->refund(b, &p)) < 0)
        return fail(e, rc == ERR_UNSUPPORTED ? 422 : 502,
                    rc == ERR_UNSUPPORTED ? "refund_unsupported" : "provider_error",
                    "the payment provider did not refund", rc);
    struct store_audit au = {.actor = actor, .action = "payment.refund"};
    struct store_pay_event ev = {.payment_id = p.id, .status = HUB_PAY_REFUNDED};
    struct store_billing_rules rules = rules_of(b);
    rc = store_payment_transition(b->st, &ev, &rules, now, &au, out);
    if (rc == ERR_RANGE)
        return fail(e, 409, "balance_spent", "refunded at the provider, but the top-up was already spent", rc);
    return rc < 0 ? fail(e, 503, "busy", "database busy, retry", rc) : 0;
}

/* The hub stopped between the provider's answer to create and our record of its id: asking
 * again with the attempt's idempotency key returns the same payment, never a second one. */
static void recover_provider_id(struct billing *b, struct hub_payment *p, int64_t now)
{
    const struct billing_prov_ops *ops = billing__ops((enum billing_prov)billing_prov_parse(p->provider));
    struct hub_user u;
    struct hub_plan plan;
    if (ops == NULL || store_user_get(b->st, p->user_id, &u) < 0 ||
        (p->plan_id > 0 && store_plan_get(b->st, p->plan_id, &plan) < 0))
        return;
    char ext[129] = "", url[512] = "";
    if (ops->create(b, p, &u, p->plan_id > 0 ? &plan : NULL, ext, url) < 0)
        return;
    if (store_payment_set_provider(b->st, p->id, ext, url, now) == 0) {
        snprintf(p->external_id, sizeof p->external_id, "%s", ext);
        snprintf(p->pay_url, sizeof p->pay_url, "%s", url);
        log_info("billing", 0, "provider_id_recovered", LF_STR("provider", p->provider), LF_INT("payment", p->id));
    }
}

int billing_reconcile(struct billing *b, int64_t now, struct billing_reconcile_stats *out)
{
    struct billing_reconcile_stats s = {0};
    struct store_pay_filter f = {.status = "pending", .before = now - b->cfg.reconcile_after, .limit = 200};
    struct hub_payment *list;
    size_t n;
    TRY(store_payment_query(b->st, &f, &list, &n));
    for (size_t i = 0; i < n; i++) {
        struct hub_payment *p = &list[i];
        int prov = billing_prov_parse(p->provider);
        const struct billing_prov_ops *ops = prov < 0 ? NULL : billing__ops((enum billing_prov)prov);
        if (ops == NULL || p->flag[0] != '\0')
            continue; /* manual payments; flagged ones wait for a human */
        char actor[48];
        snprintf(actor, sizeof actor, "reconcile:%s", p->provider);
        struct store_pay_result res;
        if (ops->create_idempotent && b->cfg.enabled[prov] && strcmp(p->external_id, p->idempotency_key) == 0)
            recover_provider_id(b, p, now);
        if (ops->fetch != NULL && b->cfg.enabled[prov] && strcmp(p->external_id, p->idempotency_key) != 0) {
            struct billing_remote rm;
            s.checked++;
            int rc = ops->fetch(b, p, &rm);
            if (rc < 0) {
                s.errors++;
                continue;
            }
            if (rm.our_id != 0 && rm.our_id != p->id) {
                s.errors++; /* the provider's object names another payment: leave it to a human */
                continue;
            }
            if (rm.final) {
                if (billing__apply_remote(b, p->id, &rm, NULL, now, actor, NULL, &res) == 0 && res.applied)
                    rm.status == HUB_PAY_SUCCEEDED ? s.settled++ : s.closed++;
                continue;
            }
        }
        if (p->expires_at != 0 && now >= p->expires_at) {
            struct store_pay_event ev = {.payment_id = p->id, .status = HUB_PAY_EXPIRED};
            struct store_audit au = {.actor = actor, .action = "payment.expired"};
            struct store_billing_rules rules = rules_of(b);
            if (store_payment_transition(b->st, &ev, &rules, now, &au, &res) == 0 && res.applied)
                s.closed++;
        }
    }
    free(list);
    if (out != NULL)
        *out = s;
    return 0;
}
