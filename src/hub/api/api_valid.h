/* Validators for admin API request bodies: JSON text in, a checked request struct or a stable
 * error code and message out. Pure (no store, no clock); the fuzzer drives them directly.
 * All of them reject: non-JSON, non-object bodies, duplicate keys, unknown keys, wrong types,
 * out-of-range numbers and invalid strings. Return 0 or ERR_MALFORMED with e filled. */
#ifndef VEIL_HUB_API_VALID_H
#define VEIL_HUB_API_VALID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/domain/model.h"

struct api_verr {
    const char *code; /* "invalid_json" | "invalid_field" | "missing_field" | "unknown_field" */
    char msg[192];
};

/* POST /users: username required; telegram_id, language ("en"), currency ("RUB"), referrer_id,
 * balance_minor (0), enabled (true) optional. Generated fields are left empty. */
int api_parse_user_create(const char *body, size_t len, struct hub_user *u, struct api_verr *e);

/* PATCH /users/{id}: any of telegram_id (0 or null clears), username, language, currency,
 * enabled, balance_minor; at least one key. The values go into *u and *fields gets one
 * HUB_USER_F_* bit per key sent (the store writes only those, so concurrent patches of other
 * fields are not undone). */
int api_parse_user_patch(const char *body, size_t len, struct hub_user *u, unsigned *fields, struct api_verr *e);

/* POST /plans (create: name and duration_days required) and PATCH /plans/{id} (create = false:
 * fields applied onto *p). prices is an object {"RUB": 29900, ...}. */
int api_parse_plan(const char *body, size_t len, bool create, struct hub_plan *p, struct api_verr *e);

/* POST /subscriptions: {"user_id": n, "plan_id": n}. */
int api_parse_grant(const char *body, size_t len, int64_t *user_id, int64_t *plan_id, struct api_verr *e);
/* POST /subscriptions/{id}/extend: {"days": 1..3660}. */
int api_parse_extend(const char *body, size_t len, int64_t *days, struct api_verr *e);

/* POST /nodes: name, address, public_key required; port (443), country (""), short_ids ([""]),
 * server_names ([]), weight (100) optional. */
int api_parse_node(const char *body, size_t len, struct hub_node *n, struct api_verr *e);
/* PATCH /nodes/{id}: any of the fields above, applied onto *n (the current row); at least one. */
int api_parse_node_patch(const char *body, size_t len, struct hub_node *n, struct api_verr *e);
/* POST /nodes/{id}/weight {"weight": 0..1000}, /health {"health": "up"|"down"|"unknown"},
 * /drain {"draining": bool} (empty body = true). */
int api_parse_weight(const char *body, size_t len, int64_t *weight, struct api_verr *e);
int api_parse_health(const char *body, size_t len, enum hub_health *h, struct api_verr *e);
int api_parse_drain(const char *body, size_t len, bool *draining, struct api_verr *e);
/* POST /users/{id}/balance: {"delta": n} with |n| <= HUB_MAX_MONEY, n != 0. */
int api_parse_balance(const char *body, size_t len, int64_t *delta, struct api_verr *e);

/* POST /payments (a manual payment: cash, bank transfer, goodwill): user_id, amount_minor
 * (0..2^50), currency and idempotency_key ([A-Za-z0-9_.:-]{8,128}) required; plan_id (grant or
 * extend that plan) and credit_balance (top-up) optional, at least one of them. */
struct api_payment_in {
    int64_t user_id, amount_minor, plan_id;
    char currency[HUB_CURRENCY_LEN + 1];
    char idempotency_key[129];
    bool credit_balance;
};
int api_parse_payment(const char *body, size_t len, struct api_payment_in *p, struct api_verr *e);

/* POST /tokens: {"name": 1..64 printable UTF-8, "role": "admin"|"support", "scopes": [names]
 * (api_scope.h; optional), "expires_at": unix seconds in the future or "ttl": seconds (60 s to
 * 10 years), optional}. expires_at 0: never; scopes 0: unrestricted. */
struct api_token_in {
    char name[HUB_NAME_MAX + 1];
    enum hub_role role;
    uint32_t scopes;
    int64_t expires_at;
};
int api_parse_token_ex(const char *body, size_t len, int64_t now, struct api_token_in *t, struct api_verr *e);
/* The name and role only (the other fields are checked and dropped). */
int api_parse_token(const char *body, size_t len, char name[static HUB_NAME_MAX + 1], enum hub_role *role,
                    struct api_verr *e);

/* Paging query values: decimal, offset 0..10^9, limit 1..500. ERR_MALFORMED. */
int api_parse_uint_param(const char *s, int64_t min, int64_t max, int64_t *out);

#endif
