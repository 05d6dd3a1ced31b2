/* Telegram Stars (spec/ecosystem.md §b.4): the bot sends the invoice (sendInvoice, currency XTR,
 * one price, payload = our payment id), answers pre_checkout_query from
 * billing_stars_precheckout within Telegram's 10 s, and settles successful_payment through
 * billing_stars_paid. Refunds (refundStarPayment) are the bot's call, then billing marks them. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "hub/billing/billing_int.h"

static const char *stars_currency(const struct billing_cfg *cfg)
{
    (void)cfg;
    return "XTR";
}

/* The payment a Stars payload names, if it is a Stars invoice. */
static int stars_payment(struct billing *b, const char *payload, struct hub_payment *p)
{
    int64_t id;
    if (billing_parse_id(payload, &id) < 0)
        return ERR_MALFORMED;
    TRY(store_payment_get(b->st, id, p));
    return strcmp(p->provider, "stars") == 0 ? 0 : ERR_NOT_FOUND;
}

int billing_stars_precheckout(struct billing *b, const char *payload, const char *currency, int64_t total_amount,
                              int64_t now, bool *ok, char reason[static 128])
{
    struct hub_payment p;
    *ok = false;
    reason[0] = '\0';
    if (!b->cfg.enabled[BILLING_STARS]) {
        snprintf(reason, 128, "Payments in Stars are not available right now.");
        return 0;
    }
    int rc = stars_payment(b, payload, &p);
    if (rc == ERR_MALFORMED || rc == ERR_NOT_FOUND) {
        snprintf(reason, 128, "This invoice is not known. Please request a new one.");
        return 0;
    }
    TRY(rc);
    if (p.status != HUB_PAY_PENDING || (p.expires_at != 0 && now >= p.expires_at)) {
        snprintf(reason, 128, "This invoice is no longer payable. Please request a new one.");
        return 0;
    }
    if (currency == NULL || strcmp(currency, "XTR") != 0 || total_amount != p.amount_minor) {
        snprintf(reason, 128, "The amount does not match the invoice. Please request a new one.");
        return 0;
    }
    *ok = true;
    return 0;
}

int billing_stars_paid(struct billing *b, const char *payload, const char *currency, int64_t total_amount,
                       const char *charge_id, int64_t now, struct store_pay_result *out)
{
    struct hub_payment p;
    TRY(stars_payment(b, payload, &p));
    if (charge_id == NULL || charge_id[0] == '\0' || strlen(charge_id) > 128)
        return ERR_MALFORMED;
    struct billing_remote rm = {
        .status = HUB_PAY_SUCCEEDED, .final = true, .amount_minor = total_amount, .our_id = p.id};
    snprintf(rm.currency, sizeof rm.currency, "%s", currency ? currency : "");
    snprintf(rm.external_id, sizeof rm.external_id, "%s", charge_id);
    struct store_pay_result res;
    if (out == NULL)
        out = &res;
    struct store_pay_event ev = {.payment_id = p.id,
                                 .status = HUB_PAY_SUCCEEDED,
                                 .external_id = rm.external_id,
                                 .amount_minor = rm.amount_minor,
                                 .currency = rm.currency,
                                 .charge_id = charge_id};
    struct store_billing_rules rules = {.referral_percent = b->cfg.referral_percent,
                                        .first_bonus_percent = b->cfg.first_bonus_percent};
    struct store_audit au = {.actor = "bot:stars", .action = "payment.succeeded"};
    return store_payment_transition(b->st, &ev, &rules, now, &au, out);
}

int billing_stars_refunded(struct billing *b, int64_t payment_id, int64_t now, struct store_pay_result *out)
{
    struct hub_payment p;
    TRY(store_payment_get(b->st, payment_id, &p));
    if (strcmp(p.provider, "stars") != 0)
        return ERR_NOT_FOUND;
    struct store_pay_event ev = {.payment_id = p.id, .status = HUB_PAY_REFUNDED};
    struct store_billing_rules rules = {.referral_percent = b->cfg.referral_percent,
                                        .first_bonus_percent = b->cfg.first_bonus_percent};
    struct store_audit au = {.actor = "bot:stars", .action = "payment.refund"};
    return store_payment_transition(b->st, &ev, &rules, now, &au, out);
}

const struct billing_prov_ops billing__stars = {
    .id = BILLING_STARS,
    .currency = stars_currency,
};
