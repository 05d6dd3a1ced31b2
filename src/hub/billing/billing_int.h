/* Inside billing: the provider ops table, the pure helpers (money text, signatures, parsers)
 * that unit tests and fuzzers reach without a database or a socket. */
#ifndef VEIL_HUB_BILLING_INT_H
#define VEIL_HUB_BILLING_INT_H

#include <pthread.h>

#include "hub/billing/billing.h"

struct billing {
    struct billing_cfg cfg;
    struct store *st;
    billing_http_fn *http;
    void *http_arg;
};

/* What a provider says about one payment (a fetched object or a verified notification). */
struct billing_remote {
    char external_id[129];
    enum hub_pay_status status;
    bool final; /* status is final at the provider (else: still pending) */
    int64_t amount_minor;
    char currency[HUB_CURRENCY_LEN + 1];
    int64_t our_id; /* our payment id from the provider's metadata/payload; 0 when absent */
};

struct billing_prov_ops {
    enum billing_prov id;
    /* The currency invoices are priced in (the balance: the user's own). */
    const char *(*currency)(const struct billing_cfg *cfg);
    /* Asks the provider for an invoice for p (already stored, pending); fills external_id and
     * pay_url. NULL: the provider has no server-side invoice (Stars: the bot sends it). */
    int (*create)(struct billing *b, const struct hub_payment *p, const struct hub_user *u, const struct hub_plan *plan,
                  char external_id[static 129], char pay_url[static 512]);
    /* create may be repeated for the same payment and returns the same invoice (YooKassa's
     * Idempotence-Key): reconciliation uses it to recover an id lost in a crash. */
    bool create_idempotent;
    /* Asks the provider about p (reconciliation). NULL: nothing to ask. */
    int (*fetch)(struct billing *b, const struct hub_payment *p, struct billing_remote *out);
    int (*refund)(struct billing *b, const struct hub_payment *p);
    void (*webhook)(struct billing *b, const struct billing_hook_req *req, int64_t now, struct billing_hook_resp *out);
};

extern const struct billing_prov_ops billing__yookassa, billing__robokassa, billing__cryptobot, billing__stars,
    billing__balance;
const struct billing_prov_ops *billing__ops(enum billing_prov p);

/* ---- prices and promo codes (billing_price.c) ---- */
/* The plan's price in currency. ERR_NOT_FOUND when the plan has none (never a guess). */
int billing_price_for(const struct hub_plan *plan, const char *currency, int64_t *amount);
/* Applies a promo to a price at `now`: *amount (what is charged), *discount, *bonus_days.
 * ERR_BAD_STATE when the promo is disabled, not yet or no longer valid, or used up;
 * ERR_UNSUPPORTED for a money promo in another currency. */
int billing_promo_apply(const struct hub_promo *p, int64_t now, const char *currency, int64_t price, int64_t *amount,
                        int64_t *discount, int64_t *bonus_days);

/* ---- signatures (billing_sign.c) ---- */
struct billing_kv {
    char key[64];
    char value[256];
};
#define BILLING_SHP_MAX 8
/* Robokassa: hex hash of the parts joined with ':' then ":Shp_a=1:Shp_b=2" (sorted by name).
 * out holds 2 * 64 + 1 bytes. */
int billing_robokassa_sign(enum crypto_hash h, const char *const *parts, size_t n, const struct billing_kv *shp,
                           size_t n_shp, char out[static 129]);
/* Compares a received hex signature with ours: case-insensitive, constant time. */
bool billing_hex_equal(const char *expected, const char *received);
/* Crypto Pay: hex HMAC-SHA256(key = SHA-256(token), body). */
int billing_cryptobot_sign(const char *token, const void *body, size_t len, char out[static 65]);

/* ---- parsers of provider bytes (billing_parse.c; fuzzed) ---- */
/* A YooKassa payment object ({"id", "status", "amount": {"value", "currency"}, "metadata":
 * {"payment_id"}}), alone or inside a notification's "object". */
int billing_yk_parse_payment(const char *json, size_t len, struct billing_remote *out);
/* A YooKassa notification: the event name and the payment id. */
int billing_yk_parse_notification(const char *json, size_t len, char event[static 64], char id[static 129]);

/* Robokassa's ResultURL parameters (form body or query string). OutSum is kept as received
 * (the signature covers the exact text). */
struct billing_robo_result {
    char out_sum[32];
    char inv_id[24];
    char signature[129];
    size_t n_shp;
    struct billing_kv shp[BILLING_SHP_MAX];
};
int billing_robo_parse_form(const char *s, size_t len, struct billing_robo_result *out);

/* Crypto Pay: a webhook update {"update_type": "invoice_paid", "payload": <Invoice>}, or one
 * Invoice object (createInvoice / getInvoices items). pay_url receives bot_invoice_url. */
int billing_cb_parse_update(const char *json, size_t len, struct billing_remote *out);
int billing_cb_parse_invoice_obj(const json_t *inv, struct billing_remote *out, char pay_url[static 512]);
/* The {"ok": true, "result": ...} envelope of every Crypto Pay answer; *result borrowed from *doc. */
int billing_cb_result(const char *body, size_t len, json_t **doc, json_t **result);

/* Our payment id in decimal text ("42") -> 42; ERR_MALFORMED otherwise. */
int billing_parse_id(const char *s, int64_t *out);

/* ---- the shared flow (billing.c) ---- */
/* Applies what a provider reported for payment `id`, writing audit rows as `actor`. */
int billing__apply_remote(struct billing *b, int64_t id, const struct billing_remote *rm, const char *raw, int64_t now,
                          const char *actor, const char *ip, struct store_pay_result *out);
/* Refuses a webhook: answer status and an audit row (provider, reason, source IP). */
void billing__reject(struct billing *b, enum billing_prov p, const struct billing_hook_req *req, int64_t now,
                     int status, const char *reason, struct billing_hook_resp *out);
/* Applies a verified webhook's report for payment `id` (audit actor "webhook:<provider>", the
 * raw body kept) and answers: 200 "ok", or 503 "retry later" so that the provider sends it again. */
void billing__apply_webhook(struct billing *b, enum billing_prov p, int64_t id, const struct billing_remote *rm,
                            const struct billing_hook_req *req, int64_t now, struct billing_hook_resp *out);
/* One HTTP exchange through the configured transport. */
int billing__http(struct billing *b, const struct billing_http_req *req, struct billing_http_resp *resp);

#endif
