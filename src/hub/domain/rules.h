/* Pure business rules of the hub: validation of names and codes, subscription state,
 * expiry and extension, quota and traffic-reset periods, money arithmetic, token and
 * code formatting from caller-supplied random bytes. No I/O, no clock, no RNG: the
 * caller passes `now` (UTC unix seconds) and random bytes. */
#ifndef VEIL_HUB_DOMAIN_RULES_H
#define VEIL_HUB_DOMAIN_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/domain/model.h"

#define HUB_DAY 86400
#define HUB_MAX_DURATION_DAYS 3660       /* ten years */
#define HUB_MAX_QUOTA ((int64_t)1 << 56) /* 64 PiB: far from int64 overflow when summed */
#define HUB_MAX_MONEY ((int64_t)1 << 50) /* minor units */
#define HUB_SUB_TOKEN_RAND 24            /* random bytes in a subscription token (192 bits) */
#define HUB_API_TOKEN_RAND 32

/* Names of the enums (stable strings used in the API and the database) and their parsers.
 * Parsers return the value or -1 when unknown. */
const char *hub_reset_name(enum hub_reset r);
int hub_reset_parse(const char *s);
const char *hub_sub_state_name(enum hub_sub_state s);
int hub_sub_state_parse(const char *s);
const char *hub_role_name(enum hub_role r);
int hub_role_parse(const char *s);
const char *hub_health_name(enum hub_health h);
int hub_health_parse(const char *s);
const char *hub_pay_status_name(enum hub_pay_status s);
int hub_pay_status_parse(const char *s);

/* Usernames: 1..64 bytes of [A-Za-z0-9_.-], starting with a letter or digit. */
bool hub_username_valid(const char *s);
/* Names of plans and nodes: 1..64 bytes, printable UTF-8 (no control characters). */
bool hub_name_valid(const char *s);
/* Language tags: 2..8 of [a-z] with an optional "-xx" region ("en", "ru", "pt-br"). */
bool hub_language_valid(const char *s);
/* Currency: three uppercase ASCII letters. */
bool hub_currency_valid(const char *s);
/* Country: "" or two uppercase ASCII letters. */
bool hub_country_valid(const char *s);
/* Host: a DNS name ([A-Za-z0-9.-], labels 1..63) or an IPv4/IPv6 literal, 1..253 bytes. */
bool hub_host_valid(const char *s);
/* REALITY short id: 0..16 hex digits, even count. */
bool hub_short_id_valid(const char *s);
/* X25519 public key as base64url without padding (43 characters, 32 bytes). */
bool hub_public_key_valid(const char *s);

/* Adds with overflow and bound checks (|result| <= HUB_MAX_MONEY). ERR_RANGE. */
int hub_money_add(int64_t a, int64_t b, int64_t *out);
/* floor(amount * percent / 100) for a referral reward; percent 0..100. ERR_RANGE. */
int hub_referral_reward(int64_t amount_minor, int percent, int64_t *out);

/* The end of a period of `days` days starting at `start`. ERR_RANGE on bad days or overflow. */
int hub_period_end(int64_t start, int64_t days, int64_t *out);
/* Extends a subscription by `days`: from its end if still running, otherwise from now.
 * A revoked subscription cannot be extended (ERR_BAD_STATE). Expired becomes active again. */
int hub_sub_extend(struct hub_sub *s, int64_t days, int64_t now);
/* The state a subscription should be in at `now`: revoked stays revoked; past its end it is
 * expired; at or over its quota it is limited; otherwise active. */
enum hub_sub_state hub_sub_evaluate(const struct hub_sub *s, int64_t now);
/* Whether up + down bytes reach a quota (0: unlimited), without overflow for any inputs. */
bool hub_quota_reached(uint64_t up, uint64_t down, uint64_t quota);

/* "Can this user connect now": the one rule. Nodes get it through the sync query (a SQL mirror,
 * store_sync.c, proven equal by test_hub_access on SQLite and PostgreSQL), /sub shows it, the
 * scheduler and usage pushes store the states it implies. */
enum hub_access {
    HUB_ACCESS_OK = 0,
    HUB_ACCESS_DISABLED,    /* the user is disabled, or has no subscription (s NULL or another user's) */
    HUB_ACCESS_REVOKED,     /* the subscription was revoked */
    HUB_ACCESS_EXPIRED,     /* now is at or past ends_at */
    HUB_ACCESS_NOT_STARTED, /* now is before starts_at */
    HUB_ACCESS_LIMITED,     /* the traffic quota is used up */
    HUB_ACCESS__COUNT,      /* sentinel */
};
/* The first reason in the order above, or HUB_ACCESS_OK. s may be NULL. */
enum hub_access hub_user_access(const struct hub_user *u, const struct hub_sub *s, int64_t now);
/* hub_user_access(...) == HUB_ACCESS_OK. */
bool hub_user_can_connect(const struct hub_user *u, const struct hub_sub *s, int64_t now);
/* Adds traffic to a subscription with saturation at HUB_MAX_QUOTA. Negative input: ERR_RANGE. */
int hub_sub_add_usage(struct hub_sub *s, int64_t up, int64_t down);

/* What a paid plan grants, given the buyer's current subscription (NULL: none): the same plan
 * still running is extended by the plan's days from its end; otherwise a running one is closed
 * (revoked) and the new plan starts now. Bonus days (promo) come on top in both cases. The one
 * rule billing's settle path (store_payments.c) carries out in its transaction. */
enum hub_plan_grant {
    HUB_GRANT_EXTEND_CURRENT, /* extend `cur` by the plan's duration + bonus days */
    HUB_GRANT_REPLACE,        /* revoke `cur`, grant the plan from now (+ bonus days) */
    HUB_GRANT_NEW,            /* nothing running: grant the plan from now (+ bonus days) */
};
enum hub_plan_grant hub_plan_grant_for(const struct hub_sub *cur, int64_t plan_id, int64_t now);

/* Bytes billed for raw bytes through a node with a usage coefficient in percent (0..1000):
 * floor(raw * percent / 100), saturating at HUB_MAX_QUOTA; out-of-range percent counts as 100. */
int64_t hub_usage_scale(int64_t raw, int64_t percent);

/* The first reset instant strictly after `t` for a strategy (UTC: next midnight, next Monday
 * 00:00, first of next month 00:00). HUB_RESET_NONE gives 0. */
int64_t hub_reset_next(enum hub_reset r, int64_t t);
/* Whether traffic should be reset at `now` for a subscription last reset at `last`. */
bool hub_reset_due(enum hub_reset r, int64_t last, int64_t now);

/* Formats a subscription token (base64url of HUB_SUB_TOKEN_RAND bytes) into out. */
void hub_sub_token_format(char out[static HUB_TOKEN_MAX + 1], const uint8_t rnd[static HUB_SUB_TOKEN_RAND]);
/* Formats an API or node token: prefix ("va_" admin API, "vn_" node) + base64url of 32 bytes. */
void hub_api_token_format(char out[static HUB_TOKEN_MAX + 1], const char *prefix,
                          const uint8_t rnd[static HUB_API_TOKEN_RAND]);
/* Formats a referral code of HUB_REFCODE_LEN characters from an unambiguous alphabet. */
void hub_refcode_format(char out[static HUB_REFCODE_LEN + 1], const uint8_t rnd[static HUB_REFCODE_LEN]);
/* Formats a random (version 4) UUID from 16 random bytes. */
void hub_uuid_v4_format(char out[static 37], const uint8_t rnd[static 16]);
/* Subscription token syntax check before any lookup: 16..64 base64url characters. */
bool hub_sub_token_valid(const char *s);

/* Days since 1970-01-01 for a civil date and back (proleptic Gregorian, UTC). */
int64_t hub_days_from_civil(int64_t y, unsigned m, unsigned d);
void hub_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
