/* The hub's data model: plain structs shared by domain rules, storage and the API.
 * Money is integer minor units; times are UTC unix seconds; 0 means "none" for ids. */
#ifndef VEIL_HUB_DOMAIN_MODEL_H
#define VEIL_HUB_DOMAIN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUB_NAME_MAX 64         /* usernames, plan and node names, bytes without NUL */
#define HUB_LANG_MAX 8          /* BCP 47-ish language tag: "en", "ru", "pt-br" */
#define HUB_CURRENCY_LEN 3      /* ISO 4217 code ("RUB") or "XTR" (Telegram Stars) */
#define HUB_TOKEN_MAX 64        /* subscription and API token text */
#define HUB_REFCODE_LEN 10      /* referral code characters */
#define HUB_HOST_MAX 253        /* DNS name or IP literal */
#define HUB_PLAN_PRICES_MAX 8   /* currencies per plan */
#define HUB_NODE_LIST_MAX 8     /* short ids / server names per node */
#define HUB_SHORT_ID_MAX 16     /* hex digits */
#define HUB_GROUP_MAX 32        /* node group name: [a-z0-9_-] */
#define HUB_NODE_GROUPS_MAX 255 /* a plan's node groups, comma-joined */

enum hub_reset {
    HUB_RESET_NONE = 0,
    HUB_RESET_DAILY,
    HUB_RESET_WEEKLY,
    HUB_RESET_MONTHLY,
    HUB_RESET__COUNT, /* sentinel */
};

enum hub_sub_state {
    HUB_SUB_ACTIVE = 0,
    HUB_SUB_LIMITED, /* quota reached; back to active on reset or extension of quota */
    HUB_SUB_EXPIRED,
    HUB_SUB_REVOKED,
    HUB_SUB__COUNT, /* sentinel */
};

enum hub_role {
    HUB_ROLE_ADMIN = 0,
    HUB_ROLE_SUPPORT, /* read-only */
    HUB_ROLE__COUNT,  /* sentinel */
};

enum hub_health {
    HUB_HEALTH_UNKNOWN = 0,
    HUB_HEALTH_UP,
    HUB_HEALTH_DOWN,
    HUB_HEALTH__COUNT, /* sentinel */
};

enum hub_pay_status {
    HUB_PAY_PENDING = 0,
    HUB_PAY_SUCCEEDED,
    HUB_PAY_FAILED,
    HUB_PAY_REFUNDED,
    HUB_PAY_CANCELED, /* the provider or the customer gave up */
    HUB_PAY_EXPIRED,  /* nobody paid before expires_at */
    HUB_PAY__COUNT,   /* sentinel */
};

struct hub_user {
    int64_t id;
    int64_t telegram_id; /* 0: none */
    char username[HUB_NAME_MAX + 1];
    char language[HUB_LANG_MAX + 1];
    char uuid[37];                     /* VLESS id, 8-4-4-4-12 lowercase */
    char sub_token[HUB_TOKEN_MAX + 1]; /* subscription URL token, base64url */
    char referral_code[HUB_REFCODE_LEN + 1];
    int64_t referrer_id; /* 0: none */
    int64_t balance_minor;
    char currency[HUB_CURRENCY_LEN + 1];
    bool enabled;
    int64_t created_at;
    int64_t revision; /* sync revision of the last change that nodes must see */
};

/* The fields a PATCH of a user may change, as bits: a patch writes only the fields it names. */
enum hub_user_field {
    HUB_USER_F_TELEGRAM_ID = 1u << 0,
    HUB_USER_F_USERNAME = 1u << 1,
    HUB_USER_F_LANGUAGE = 1u << 2,
    HUB_USER_F_CURRENCY = 1u << 3,
    HUB_USER_F_BALANCE = 1u << 4,
    HUB_USER_F_ENABLED = 1u << 5,
};

struct hub_price {
    char currency[HUB_CURRENCY_LEN + 1];
    int64_t amount_minor;
};

struct hub_plan {
    int64_t id;
    char name[HUB_NAME_MAX + 1];
    int64_t duration_days;
    int64_t quota_bytes;  /* 0: unlimited */
    int64_t device_limit; /* 0: unlimited */
    enum hub_reset reset;
    bool enabled;
    size_t n_prices;
    struct hub_price prices[HUB_PLAN_PRICES_MAX];
    int64_t created_at;
    char node_groups[HUB_NODE_GROUPS_MAX + 1]; /* "" : every node; else the groups it may use */
};

struct hub_sub {
    int64_t id;
    int64_t user_id;
    int64_t plan_id;
    int64_t starts_at;
    int64_t ends_at;
    int64_t used_up;
    int64_t used_down;
    enum hub_sub_state state;
    int64_t last_reset_at;
    int64_t quota_bytes;  /* copied from the plan at grant time */
    int64_t device_limit; /* copied from the plan at grant time */
    enum hub_reset reset; /* copied from the plan at grant time */
    int64_t created_at;
};

struct hub_node {
    int64_t id;
    char name[HUB_NAME_MAX + 1];
    char address[HUB_HOST_MAX + 1];
    uint16_t port;
    char country[3];     /* ISO 3166-1 alpha-2, uppercase; "" if unknown */
    char public_key[44]; /* X25519, base64url without padding (43 chars) */
    size_t n_short_ids;
    char short_ids[HUB_NODE_LIST_MAX][HUB_SHORT_ID_MAX + 1];
    size_t n_server_names;
    char server_names[HUB_NODE_LIST_MAX][HUB_HOST_MAX + 1];
    int64_t weight;        /* 0..1000, 0 = excluded from subscriptions */
    int64_t usage_percent; /* users are billed bytes x usage_percent / 100 (1..1000; 0 stores 100) */
    enum hub_health health;
    bool draining;
    int64_t last_seen;
    int64_t traffic_up, traffic_down;
    int64_t created_at;
    char group[HUB_GROUP_MAX + 1]; /* "" : no group (plans with node_groups do not use it) */
    /* Live load from the node's last usage push (hub/domain/placement.h). */
    int64_t load_connections; /* open client connections */
    int64_t load_cpu;         /* percent of all cores, 0..100 */
    int64_t load_bps;         /* bytes per second through the node, both directions */
    bool hot;                 /* attracts no new customers (placement, with hysteresis) */
    int64_t handshake_at;     /* last push that reported client handshakes (0: none ever) */
    int64_t silent_since;     /* "unreachable from clients" since (0: not; hub/domain/client_silence.h) */
};

struct hub_payment {
    int64_t id;
    int64_t user_id;
    char provider[33];
    char external_id[129];
    char idempotency_key[129];
    int64_t amount_minor;
    char currency[HUB_CURRENCY_LEN + 1];
    enum hub_pay_status status;
    int64_t created_at;
    /* Invoices (billing): what the attempt grants and how it was priced. */
    int64_t plan_id;        /* 0: a balance top-up */
    int64_t bonus_days;     /* promo days added to the plan's */
    int64_t discount_minor; /* promo discount already taken off amount_minor */
    int64_t promo_id;       /* 0: none */
    char pay_url[512];      /* where the customer pays ("" until the provider answered) */
    char flag[33];          /* "" or why it was not credited ("amount_mismatch", ...) */
    char charge_id[129];    /* provider charge id (Telegram Stars refunds) */
    int64_t expires_at;     /* 0: never */
    int64_t settled_at, updated_at;
};

enum hub_promo_kind {
    HUB_PROMO_MONEY = 0, /* value minor units off the price, in the promo's currency */
    HUB_PROMO_DAYS,      /* value days added to what the plan grants */
    HUB_PROMO_PERCENT,   /* value percent (1..100) off the price */
    HUB_PROMO__COUNT,    /* sentinel */
};

#define HUB_PROMO_CODE_MAX 32

struct hub_promo {
    int64_t id;
    char code[HUB_PROMO_CODE_MAX + 1];
    enum hub_promo_kind kind;
    int64_t value;
    char currency[HUB_CURRENCY_LEN + 1]; /* money promos only */
    int64_t max_uses;                    /* 0: unlimited */
    int64_t used;
    int64_t valid_from, valid_until; /* 0: open */
    bool enabled;
    int64_t created_at;
};

#endif
