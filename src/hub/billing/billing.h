/* Billing: invoices paid through YooKassa, Robokassa, Crypto Pay (@CryptoBot), Telegram Stars
 * or the customer's balance turn into service exactly once (spec/ecosystem.md §b).
 *
 *   billing_invoice_create   a payments row (pending) first, then the provider's invoice; the
 *                            answer carries the pay URL. Price = the plan's price in the
 *                            provider's currency (XTR for Stars), minus a promo.
 *   billing_webhook          one provider notification: verified (signature, or source network +
 *                            re-fetch from the provider), size-limited, idempotent; forgeries are
 *                            4xx with a "webhook_rejected" audit row, never 5xx for bad input.
 *   billing_reconcile        the scheduler job: asks providers about pending payments older than a
 *                            minute (a lost webhook never loses a payment) and expires old ones.
 *   billing_stars_*          what the Telegram bot calls for pre_checkout_query and
 *                            successful_payment.
 *
 * Every state change goes through store_payment_transition (one transaction with what it
 * grants). Providers are one file each behind struct billing_prov_ops (billing_int.h); the
 * HTTP transport is injected (billing_set_http) so tests and fakes can stand in. */
#ifndef VEIL_HUB_BILLING_BILLING_H
#define VEIL_HUB_BILLING_BILLING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "hub/api/client_ip.h"
#include "hub/domain/model.h"
#include "hub/store/store.h"

enum billing_prov {
    BILLING_YOOKASSA = 0,
    BILLING_ROBOKASSA,
    BILLING_CRYPTOBOT,
    BILLING_STARS,
    BILLING_BALANCE,
    BILLING__COUNT, /* sentinel */
};

const char *billing_prov_name(enum billing_prov p);
/* The provider for a name, or -1. */
int billing_prov_parse(const char *s);

#define BILLING_NETS_MAX 16
#define BILLING_WEBHOOK_MAX (64u * 1024) /* bytes: larger notifications are refused (413) */

/* The "billing" section of hub.json (billing_cfg_parse documents the keys). */
struct billing_cfg {
    bool enabled[BILLING__COUNT];
    int referral_percent;       /* 0..100 */
    int first_bonus_percent;    /* 0..100 */
    int64_t invoice_ttl;        /* seconds an invoice stays payable (default 3600) */
    int64_t reconcile_after;    /* seconds before a pending payment is polled (default 60) */
    int64_t reconcile_interval; /* seconds between reconciliation passes (default 60) */
    struct {
        char shop_id[64], secret_key[256], api_url[256], return_url[512], currency[HUB_CURRENCY_LEN + 1];
        struct client_ip_net trusted[BILLING_NETS_MAX];
        size_t n_trusted;
        bool receipt;
        int tax_system_code; /* 0: not sent */
        int vat_code;
        char payment_subject[32], payment_mode[32];
    } yookassa;
    struct {
        char merchant_login[64], password1[256], password2[256], pay_url[256], currency[HUB_CURRENCY_LEN + 1];
        enum crypto_hash hash;
        bool test;
        struct client_ip_net trusted[BILLING_NETS_MAX]; /* n_trusted == 0: any source */
        size_t n_trusted;
    } robokassa;
    struct {
        char token[256], api_url[256], fiat[HUB_CURRENCY_LEN + 1], accepted_assets[128];
    } cryptobot;
};

/* Parses the section (NULL: billing off). Keys, all optional:
 *   "referral_percent", "first_payment_bonus_percent", "invoice_ttl", "reconcile_after",
 *   "reconcile_interval",
 *   "yookassa": {"shop_id", "secret_key", "api_url", "return_url", "currency", "trusted_networks",
 *                "receipt": {"tax_system_code", "vat_code", "payment_subject", "payment_mode"}},
 *   "robokassa": {"merchant_login", "password1", "password2", "hash", "test", "pay_url",
 *                 "currency", "trusted_networks"},
 *   "cryptobot": {"token", "api_url", "fiat", "accepted_assets": [...]},
 *   "stars": {"enabled"}, "balance": {"enabled"}.
 * A provider is enabled by its section. Unknown keys are errors. ERR_CONFIG with err filled. */
int billing_cfg_parse(const json_t *section, struct billing_cfg *out, char *err, size_t errcap);
/* Wipes the secrets of a parsed configuration. */
void billing_cfg_wipe(struct billing_cfg *c);

/* One HTTP exchange with a provider (the transport; libcurl by default). headers is a
 * NULL-terminated list of "Name: value". The response body is malloc'd (free it). Returns 0
 * when an HTTP answer arrived (any status), ERR_TIMEOUT / ERR_IO otherwise. */
struct billing_http_req {
    const char *method, *url;
    const char *const *headers;
    const char *body;
    size_t body_len;
    const char *userpwd; /* HTTP Basic "user:password" or NULL */
};
struct billing_http_resp {
    int status;
    char *body;
    size_t body_len;
};
typedef int billing_http_fn(void *arg, const struct billing_http_req *req, struct billing_http_resp *resp);

/* Money text (billing_money.c), for providers and for pages that show prices. */
/* Digits after the point for a currency: 0 for XTR (whole stars), 2 otherwise. */
int billing_currency_exp(const char *currency);
/* "199.00", "199.5", "199", "100.000000" -> minor units with exp digits; more digits than exp
 * are accepted only when they are zeros. No sign, no exponent, no spaces. ERR_MALFORMED/RANGE. */
int billing_decimal_to_minor(const char *s, size_t len, int exp, int64_t *out);
/* minor units -> "199.00" (exp 2) / "199" (exp 0). */
void billing_minor_to_decimal(int64_t minor, int exp, char out[static 32]);

struct billing;

int billing_new(const struct billing_cfg *cfg, struct store *st, struct billing **out);
void billing_free(struct billing *b);
void billing_set_http(struct billing *b, billing_http_fn *fn, void *arg);
const struct billing_cfg *billing_cfg_of(const struct billing *b);

/* The currency an invoice of provider p is priced in for user_currency's owner (the balance:
 * the user's own; the others: the provider's configured one, XTR for Stars). */
const char *billing_prov_currency(const struct billing *b, enum billing_prov p, const char *user_currency);

/* Why a request was refused, for the API's error answer. */
struct billing_err {
    int http;      /* 404, 409, 422, 502, ... */
    char code[32]; /* "no_price", "promo_invalid", "provider_disabled", ... */
    char message[160];
};

struct billing_invoice_req {
    int64_t user_id, plan_id; /* plan_id 0: a top-up of amount_minor */
    int64_t amount_minor;     /* top-ups only, in the provider's currency */
    enum billing_prov provider;
    const char *promo_code; /* NULL: none */
    const char *actor, *source_ip;
};
/* Whether user_id may use promo code now: known, enabled, within its dates and uses, not used by
 * this customer on a succeeded payment. *out is the promo. Errors (e filled, as an invoice with
 * the code would fail): ERR_NOT_FOUND "promo_invalid" (unknown), ERR_BAD_STATE "promo_used" or
 * "promo_invalid" (disabled, not yet or no longer valid, used up), "busy" on database trouble. */
int billing_promo_check(struct billing *b, const char *code, int64_t user_id, int64_t now, struct hub_promo *out,
                        struct billing_err *e);
/* Creates the invoice. On success *out is the payments row (pay_url filled for providers that
 * have one; status succeeded for "balance"). Errors return < 0 with e filled. */
int billing_invoice_create(struct billing *b, const struct billing_invoice_req *in, int64_t now,
                           struct hub_payment *out, struct billing_err *e);

/* A webhook request as the HTTP layer saw it. */
struct billing_hook_req {
    const char *ip; /* the client address (after the trusted-proxy rules) */
    const char *method;
    const char *content_type;
    const char *(*header)(void *arg, const char *name); /* any header, NULL if absent */
    const char *(*query)(void *arg, const char *key);   /* URL query values, may be NULL */
    void *arg;
    const char *body;
    size_t body_len;
};
struct billing_hook_resp {
    int status;
    const char *content_type; /* static */
    char body[96];
};
void billing_webhook(struct billing *b, enum billing_prov p, const struct billing_hook_req *req, int64_t now,
                     struct billing_hook_resp *out);

/* Refunds a succeeded payment at its provider (YooKassa, Stars via the bot, balance) and marks
 * it refunded. ERR_UNSUPPORTED for providers without refunds (Robokassa, Crypto Pay). */
int billing_refund(struct billing *b, int64_t payment_id, int64_t now, const char *actor, struct store_pay_result *out,
                   struct billing_err *e);

struct billing_reconcile_stats {
    int64_t checked, settled, closed, errors;
};
/* Polls the providers about pending payments older than reconcile_after and closes invoices
 * past their expiry. */
int billing_reconcile(struct billing *b, int64_t now, struct billing_reconcile_stats *out);

/* Telegram Stars (the bot calls these). payload is our payment id as sent in sendInvoice.
 * precheckout: *ok false with a customer-facing reason when the invoice is not payable. */
int billing_stars_precheckout(struct billing *b, const char *payload, const char *currency, int64_t total_amount,
                              int64_t now, bool *ok, char reason[static 128]);
/* successful_payment: settles once, stores telegram_payment_charge_id. */
int billing_stars_paid(struct billing *b, const char *payload, const char *currency, int64_t total_amount,
                       const char *charge_id, int64_t now, struct store_pay_result *out);
/* After the bot's refundStarPayment(user_id, telegram_payment_charge_id) succeeded: marks the
 * Stars payment refunded (once). ERR_NOT_FOUND when it is not a Stars payment. */
int billing_stars_refunded(struct billing *b, int64_t payment_id, int64_t now, struct store_pay_result *out);

#endif
