/* The hub's storage: one interface over SQLite (embedded default) and PostgreSQL.
 *
 *   store_open("sqlite::memory:" | "sqlite:/var/lib/veil/hub.db" | "postgresql://..." |
 *              "postgres://..." | "host=... dbname=...", pool, &st)
 *   store_migrate(st)   - applies versioned migrations in one transaction; refuses (ERR_UNSUPPORTED)
 *                         to run against a database whose schema is newer than this binary's
 *
 * All functions are thread-safe: each call checks a connection out of a small pool (one
 * connection for SQLite in-memory databases) and every multi-row change runs in one
 * transaction, together with its audit row when `audit` is given. Times are UTC unix seconds
 * passed in by the caller. Errors: ERR_NOT_FOUND, ERR_EXISTS (unique key taken), ERR_BAD_STATE
 * (the change is not allowed in the current state), ERR_RANGE, ERR_TIMEOUT (busy, retry),
 * ERR_IO (database failure), ERR_NOMEM. */
#ifndef VEIL_HUB_STORE_STORE_H
#define VEIL_HUB_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/domain/model.h"

#define STORE_SCHEMA_VERSION 20

struct store;

/* Who changed what, written in the same transaction as the change. Strings are borrowed;
 * details is a JSON object text or NULL. */
struct store_audit {
    const char *actor;  /* "token:<id>" / "node:<id>" / "scheduler" */
    const char *action; /* "user.create", ... */
    const char *target; /* "user:42" */
    const char *source_ip;
    const char *details;
};

int store_open(const char *url, size_t pool, struct store **out);
void store_close(struct store *st);
/* Applies pending migrations; *version (optional) receives the schema version now in place. */
int store_migrate(struct store *st, int *version);
const char *store_backend(const struct store *st);
/* Pool size and connections checked out right now (for metrics). */
void store_pool_stats(struct store *st, size_t *size, size_t *busy);

/* ---- column encryption at rest (store_seal.c; docs/security.md §2) ----
 * With a master key, the personal columns (username, Telegram id, a payment's provider object)
 * are sealed with AES-256-GCM under a data key wrapped by the master key in seal_keys, and
 * looked up by HMAC blind indexes. Without one they stay in plaintext. */
/* Turns sealing on with the master key: on first use creates the index key and data key 1,
 * else unwraps the stored keys (ERR_DECRYPT: not the key the database was encrypted with), then
 * seals every plaintext row in batches (*sealed_rows counts them, may be NULL). Call after
 * store_migrate and before serving. why (whycap bytes) explains a failure, never with key bytes. */
int store_seal_open(struct store *st, const uint8_t master[static 32], int64_t now, int64_t *sealed_rows, char *why,
                    size_t whycap);
/* Whether the database holds sealing keys (then a hub without the master key must not start). */
int store_seal_keyed(struct store *st, bool *keyed);
bool store_seal_enabled(const struct store *st);
/* How a feature's own table stores a Telegram id (the bot's chats, trials, notices): the id
 * itself without sealing, else a positive 63-bit keyed hash of it (no plaintext id, same for the
 * same user, equal to users.telegram_ref). Join such a table to users on
 * COALESCE(u.telegram_ref, u.telegram_id). 0, or ERR_CRYPTO. */
int store_telegram_ref(struct store *st, int64_t telegram_id, int64_t *ref);

struct store_rotation {
    bool rewrapped;                      /* the keys are now wrapped under the new master key */
    uint8_t key_id;                      /* the data key every row is sealed under now */
    int64_t users, tombstones, payments; /* rows re-encrypted */
    int64_t totp_secrets;                /* API tokens' TOTP secrets re-encrypted */
    int64_t retired;                     /* old data keys deleted (no row used them any more) */
};
/* Rotation on a store opened with store_seal_open, while other hubs keep serving: with
 * new_master, re-wraps every key under it (one transaction; the file then replaces the old one
 * on every hub); with new_data_key, adds a data key and makes it current. Then re-seals every
 * row not under the current key, `batch` rows per transaction (0: 500), and deletes data keys no
 * row uses. Running hubs read rows under the new key by reloading seal_keys on the first miss. */
int store_seal_rotate(struct store *st, const uint8_t *new_master, bool new_data_key, int64_t batch, int64_t now,
                      struct store_rotation *out, char *why, size_t whycap);

/* ---- users ---- */
/* Inserts u (id, revision are assigned; uuid, sub_token, referral_code are the caller's).
 * ERR_EXISTS when username, telegram id, uuid, token or referral code is taken; ERR_NOT_FOUND
 * when referrer_id names no user. */
int store_user_create(struct store *st, struct hub_user *u, int64_t now, const struct store_audit *audit);
int store_user_get(struct store *st, int64_t id, struct hub_user *out);
int store_user_by_token(struct store *st, const char *sub_token, struct hub_user *out);
int store_user_by_telegram(struct store *st, int64_t telegram_id, struct hub_user *out);
/* Users whose username or referral code contains q (case-insensitive), or whose telegram id
 * equals q, ordered by id. *out is malloc'd (free it). *total counts all matches. */
int store_user_list(struct store *st, const char *q, int64_t offset, int64_t limit, struct hub_user **out, size_t *n,
                    int64_t *total);
/* The same for the dashboard, where every search must be served by an index: a search's matches
 * are counted only up to offset + cap (one that matches most users costs a page, not a count of
 * them): *more says the count stopped there and *total is then a lower bound. A q under 3
 * characters matches a whole username (as typed) or the Telegram id only. Without q the count is
 * exact. */
int store_user_list_capped(struct store *st, const char *q, int64_t offset, int64_t limit, int64_t cap,
                           struct hub_user **out, size_t *n, int64_t *total, bool *more);
/* Writes only the fields of v named by `fields` (HUB_USER_F_* bits: telegram_id, username,
 * language, currency, balance_minor, enabled) in one UPDATE inside one transaction, bumps the
 * revision and returns the row as written in *out (may be NULL). A concurrent change of other
 * fields is never undone. ERR_NOT_FOUND, ERR_EXISTS (username or telegram id taken). */
int store_user_patch(struct store *st, int64_t id, const struct hub_user *v, unsigned fields, int64_t now,
                     const struct store_audit *audit, struct hub_user *out);
int store_user_set_enabled(struct store *st, int64_t id, bool enabled, int64_t now, const struct store_audit *audit);
/* Deletes the user with subscriptions and devices, leaving a tombstone so nodes drop it. */
int store_user_delete(struct store *st, int64_t id, int64_t now, const struct store_audit *audit);
/* Replaces the subscription token (the old link stops working at once). */
int store_user_set_token(struct store *st, int64_t id, const char *token, const struct store_audit *audit);
int store_user_set_uuid(struct store *st, int64_t id, const char *uuid, int64_t now, const struct store_audit *audit);
/* The user row for an explicit credentials read (GET /users/{id}/secrets): read and audited in
 * one transaction, so the secrets are never shown without an audit row. ERR_NOT_FOUND. */
int store_user_secrets_read(struct store *st, int64_t id, int64_t now, const struct store_audit *audit,
                            struct hub_user *out);
/* Adds delta (may be negative) to the balance; ERR_RANGE if it would go negative. */
int store_user_add_balance(struct store *st, int64_t id, int64_t delta, int64_t now, int64_t *balance,
                           const struct store_audit *audit);

/* ---- plans ---- */
int store_plan_create(struct store *st, struct hub_plan *p, int64_t now, const struct store_audit *audit);
int store_plan_get(struct store *st, int64_t id, struct hub_plan *out);
int store_plan_list(struct store *st, struct hub_plan **out, size_t *n);
/* Replaces name, duration, quota, device limit, reset, enabled and the price list. */
int store_plan_update(struct store *st, const struct hub_plan *p, int64_t now, const struct store_audit *audit);
/* ERR_BAD_STATE while any subscription refers to the plan (disable it instead). */
int store_plan_delete(struct store *st, int64_t id, int64_t now, const struct store_audit *audit);

/* ---- subscriptions ---- */
/* Starts a subscription of plan for user from now (plan limits are copied). ERR_EXISTS when
 * the user already has an active or limited one (extend it instead); ERR_NOT_FOUND. */
int store_sub_grant(struct store *st, int64_t user_id, int64_t plan_id, int64_t now, struct hub_sub *out,
                    const struct store_audit *audit);
int store_sub_extend(struct store *st, int64_t sub_id, int64_t days, int64_t now, struct hub_sub *out,
                     const struct store_audit *audit);
int store_sub_revoke(struct store *st, int64_t sub_id, int64_t now, struct hub_sub *out,
                     const struct store_audit *audit);
int store_sub_get(struct store *st, int64_t sub_id, struct hub_sub *out);
/* The user's current subscription (active or limited, else the latest one). ERR_NOT_FOUND. */
int store_sub_current(struct store *st, int64_t user_id, struct hub_sub *out);
int store_sub_list(struct store *st, int64_t user_id, struct hub_sub **out, size_t *n);
/* The subscription endpoint's lookup in one round trip: the user owning sub_token and their
 * current subscription (*has_sub false when they never had one). ERR_NOT_FOUND. */
int store_sub_view(struct store *st, const char *sub_token, struct hub_user *u, struct hub_sub *s, bool *has_sub);
/* The same, plus in the same round trip what the node order needs (hub/domain/placement.h):
 * the user's preferred country and their current plan's node groups and country ("" when there
 * is no subscription or its plan was deleted). */
struct store_sub_place {
    char user_country[3];
    char plan_node_groups[HUB_NODE_GROUPS_MAX + 1];
    char plan_country[3];
};
int store_sub_view_ex(struct store *st, const char *sub_token, struct hub_user *u, struct hub_sub *s, bool *has_sub,
                      struct store_sub_place *place);

/* ---- devices (HWIDs seen on subscription fetches) ---- */
#define STORE_HWID_MAX 64
struct store_device {
    int64_t id, user_id;
    char hwid[STORE_HWID_MAX + 1];
    char user_agent[129];
    char last_ip[65];
    int64_t first_seen, last_seen;
};
/* Records a fetch by device hwid. A known device is refreshed and allowed; a new one is added
 * and allowed unless the user already has `limit` devices (limit 0: no limit), in which case
 * *allowed is false and nothing is stored. ERR_NOT_FOUND for an unknown user. */
int store_device_seen(struct store *st, int64_t user_id, const char *hwid, const char *user_agent, const char *ip,
                      int64_t now, int64_t limit, bool *allowed);
int store_device_list(struct store *st, int64_t user_id, struct store_device **out, size_t *n);
/* Frees a slot (the user removed a device). */
int store_device_delete(struct store *st, int64_t id, int64_t now, const struct store_audit *audit);

/* ---- nodes ---- */
/* Inserts n with the SHA-256 (hex) of its token. ERR_EXISTS on a taken name. */
int store_node_create(struct store *st, struct hub_node *n, const char *token_hash, int64_t now,
                      const struct store_audit *audit);
int store_node_get(struct store *st, int64_t id, struct hub_node *out);
int store_node_by_token(struct store *st, const char *token_hash, struct hub_node *out);
int store_node_list(struct store *st, struct hub_node **out, size_t *n);
/* Updates whichever of weight (>= 0), draining (0/1) and health (>= 0) is not -1. */
int store_node_set(struct store *st, int64_t id, int64_t weight, int draining, int health, int64_t now,
                   const struct store_audit *audit);
int store_node_delete(struct store *st, int64_t id, int64_t now, const struct store_audit *audit);
/* Replaces name, address, port, country, public key, short ids, server names, weight and usage
 * percent of node n->id (e.g. after the node re-keyed). ERR_EXISTS on a taken name. */
int store_node_update(struct store *st, const struct hub_node *n, int64_t now, const struct store_audit *audit);
/* Replaces the node's token hash (the old token stops working at once). */
int store_node_set_token(struct store *st, int64_t id, const char *token_hash, int64_t now,
                         const struct store_audit *audit);
/* Marks nodes "down" whose last check-in (pull or push) is older than now - stale_after (nodes that never
 * pushed keep their health); *n receives how many changed. Subscriptions stop listing them. */
int store_node_mark_stale(struct store *st, int64_t now, int64_t stale_after, int64_t *n);
/* The node checked in (a user-table pull): last_seen = now and health up, as a usage push does. */
int store_node_touch(struct store *st, int64_t id, int64_t now);
/* Stores the live load a node reported with its last usage push and whether that makes it hot
 * (placement, hub_node_hot_next). Negative: ERR_RANGE. */
int store_node_set_load(struct store *st, int64_t id, int64_t connections, int64_t cpu, int64_t bps, bool hot);

/* ---- API tokens ---- */
int store_token_add(struct store *st, const char *name, const char *token_hash, enum hub_role role, int64_t now,
                    int64_t *id);
/* ERR_NOT_FOUND (also for revoked tokens). */
int store_token_lookup(struct store *st, const char *token_hash, enum hub_role *role, int64_t *id);
/* Inserts unless a token with that hash exists (bootstrap token from the config). */
int store_token_ensure(struct store *st, const char *name, const char *token_hash, enum hub_role role, int64_t now);

struct store_token {
    int64_t id;
    char name[65];
    enum hub_role role;
    int64_t created_at;
    bool revoked;
    int64_t expires_at;    /* 0: never */
    char scopes[96];       /* comma list; "": all the role allows */
    int64_t parent_id;     /* session tokens: the token that logged in; 0: none */
    bool totp;             /* a second factor is enrolled */
    int64_t recovery_left; /* unused recovery codes */
};

/* A new token with the optional limits (store_tokens.c). */
struct store_token_new {
    const char *name, *hash;
    enum hub_role role;
    int64_t now, expires_at; /* expires_at 0: never */
    const char *scopes;      /* NULL/"": none */
    int64_t parent_id;       /* 0: none */
};
int store_token_add_ex(struct store *st, const struct store_token_new *t, int64_t *id);
/* What the router needs of a presented token (by hash): ERR_NOT_FOUND when unknown, revoked or
 * its parent revoked. Expired tokens are returned (the caller answers 401 with a reason). */
struct store_token_auth {
    int64_t id, expires_at, parent_id;
    enum hub_role role;
    char scopes[96];
    bool totp;
};
int store_token_auth(struct store *st, const char *token_hash, struct store_token_auth *out);
/* Enrols (secret_hex, the TOTP key as hex) or removes (NULL) a token's second factor, audited
 * (a is the caller's row, written in the same transaction). ERR_NOT_FOUND, ERR_BAD_STATE when
 * revoked. */
int store_token_totp_set(struct store *st, int64_t id, const char *secret_hex, int64_t now,
                         const struct store_audit *a);
/* The token's TOTP secret (hex, cap >= 129) and the last step accepted. ERR_NOT_FOUND (also
 * when none is enrolled). */
int store_token_totp_get(struct store *st, int64_t id, char *secret_hex, size_t cap, int64_t *last_step);
/* Records step as used, only when it is newer than the stored one: ERR_BAD_STATE otherwise
 * (another hub took the same code first). */
int store_token_totp_accept(struct store *st, int64_t id, int64_t step);
/* Recovery codes of a token's second factor (store_recovery.c): set replaces the token's codes
 * with the n given (stored hashed, audited with a); ERR_NOT_FOUND, ERR_BAD_STATE when revoked or
 * without a second factor. use spends one matching unused code, writing a's audit row with the
 * codes left ({"left": N}) in the same transaction: ERR_AUTH when none matches, ERR_BAD_STATE
 * when another hub spent it first. left counts the unused codes. */
#define STORE_RECOVERY_CODES 10
int store_token_recovery_set(struct store *st, int64_t id, const char *const *codes, size_t n, int64_t now,
                             const struct store_audit *a);
int store_token_recovery_use(struct store *st, int64_t id, const char *code, int64_t now, const struct store_audit *a,
                             int64_t *left);
int store_token_recovery_left(struct store *st, int64_t id, int64_t *left);
/* 0 when token id is not revoked, nor its parent, and not expired at now; ERR_NOT_FOUND otherwise. */
int store_token_live(struct store *st, int64_t id, int64_t now);
/* All tokens (never their hashes), oldest first. */
int store_token_list(struct store *st, struct store_token **out, size_t *n);
/* Revokes a token (it stops working at once). ERR_NOT_FOUND, ERR_BAD_STATE when already revoked. */
int store_token_revoke(struct store *st, int64_t id, int64_t now, const struct store_audit *audit);

/* ---- audit ---- */
struct store_audit_row {
    int64_t id;
    char actor[65], action[65], target[65], source_ip[65];
    int64_t at;
    char *details; /* malloc'd JSON text or NULL */
};
/* A token (actor "token:<id>" or "node:<id>") was used from ip: the first time for that pair,
 * remembers it and writes a "token.new_ip" audit row (target the actor, source_ip ip) in one
 * transaction. 1 when it was new, 0 when known, or a negative store error. */
int store_audit_token_ip(struct store *st, const char *actor, const char *ip, int64_t now);
/* Writes one audit row in its own transaction (chained like every row). */
int store_audit_add(struct store *st, const struct store_audit *a, int64_t now);
/* An audit row as stored, for the chain and the export: strings are borrowed, NULL for SQL NULL. */
struct store_audit_cells {
    int64_t id, at;
    const char *actor, *action, *target, *source_ip, *details;
    const char *prev_hash, *row_hash; /* 64 hex digits each */
};
/* The result of walking the hash chain (store_audit.c says how it is built). */
struct store_audit_verify {
    bool ok;
    int64_t rows;      /* rows that verified before the first broken link (all of them when ok) */
    int64_t last_id;   /* the last row that verified (0: none) */
    char head[65];     /* its hash: publish it elsewhere to anchor the log */
    int64_t broken_id; /* the first row whose link is broken (when !ok) */
    char why[200];     /* what is wrong there, e.g. "row 7 was changed after it was written" */
};
/* Walks the chain from the first row to the recorded head. 0 with *v filled (v->ok says whether
 * it holds), or a negative store error. */
int store_audit_verify(struct store *st, struct store_audit_verify *v);
/* Hands every row with id > after_id to fn in id order; fn returns 0 to go on, anything else
 * stops the walk and is returned. */
typedef int store_audit_export_fn(void *arg, const struct store_audit_cells *row);
int store_audit_export(struct store *st, int64_t after_id, store_audit_export_fn *fn, void *arg);
/* Newest first. Free with store_audit_rows_free. */
int store_audit_list(struct store *st, int64_t limit, struct store_audit_row **out, size_t *n);
/* One page of rows with id < before_id (0: from the newest), newest first: keyset paging on the
 * primary key, as fast on the last page as on the first. */
int store_audit_page(struct store *st, int64_t before_id, int64_t limit, struct store_audit_row **out, size_t *n);
void store_audit_rows_free(struct store_audit_row *rows, size_t n);

/* ---- node sync ---- */
struct store_sync_user {
    int64_t user_id;
    char uuid[37];
    char username[HUB_NAME_MAX + 1];
    bool active; /* false: the node must drop it */
    int64_t device_limit;
    int64_t revision;
};
/* Users changed after revision `since` (all users when since == 0) and deleted users (active =
 * false), ordered by revision; *rev receives the current global revision. */
int store_sync_users(struct store *st, int64_t since, int64_t now, struct store_sync_user **out, size_t *n,
                     int64_t *rev);
int store_revision(struct store *st, int64_t *rev);

struct store_usage {
    int64_t user_id;
    int64_t up, down;
};
/* Applies one usage push exactly once per (node, push_id): adds the bytes to each user's
 * current subscription and the node's totals, marks quota-exhausted subscriptions limited
 * (bumping the revision) and records last_seen. *duplicate is set, and nothing changes, when
 * the push was applied before. Unknown user ids are skipped. */
int store_usage_push(struct store *st, int64_t node_id, const char *push_id, const struct store_usage *u, size_t n,
                     int64_t now, bool *duplicate, int64_t *rev);

/* ---- payments ---- */
/* Records a payment once: ERR_EXISTS (and *existing filled) when the idempotency key or the
 * provider's external id was seen. raw is the notification as received. */
int store_payment_record(struct store *st, struct hub_payment *p, const char *raw, int64_t now,
                         struct hub_payment *existing);

/* How a succeeded payment takes effect. */
struct store_settle {
    int64_t plan_id;      /* > 0: extend the user's current subscription by the plan's days, or grant it */
    bool credit_balance;  /* add the amount to the user's balance (a top-up) */
    int referral_percent; /* 0..100: share of the amount credited to the user's referrer */
};
struct store_settle_result {
    bool duplicate; /* this payment was already settled (or recorded in a final state) */
    bool applied;   /* effects were applied by this call */
    int64_t payment_id;
    struct hub_sub sub; /* the subscription after the change (plan_id > 0) */
    int64_t referrer_id, reward_minor;
};
/* Records a payment and, when its status is succeeded, applies its effects, all in one
 * transaction and exactly once per payment: a retried notification (same idempotency key or
 * provider + external id) changes nothing, and a payment first recorded as pending is settled
 * once when it later succeeds. The referral reward is stored with a unique payment id and
 * credited only in the referrer's currency. */
int store_payment_settle(struct store *st, struct hub_payment *p, const char *raw, const struct store_settle *how,
                         int64_t now, const struct store_audit *audit, struct store_settle_result *out);

/* A user's payments, newest first (at most 500). *out is malloc'd. */
int store_payment_list(struct store *st, int64_t user_id, struct hub_payment **out, size_t *n);

/* ---- billing: invoices, transitions, the balance ledger, promo codes (store_payments.c,
 * store_balance.c, store_promo.c) ---- */
/* Creates an invoice: one pending payments row per attempt, written before the provider is
 * called. The caller fills user_id, provider, amount_minor, currency, idempotency_key (unique,
 * reused when retrying this attempt at the provider), plan_id (0: top-up), bonus_days,
 * discount_minor, promo_id, expires_at. external_id starts as the idempotency key until the
 * provider's id is known. Fills id, created_at, status. ERR_NOT_FOUND (user, plan). */
int store_invoice_create(struct store *st, struct hub_payment *p, int64_t now, const struct store_audit *audit);
/* Stores the provider's id and pay URL of a pending payment. ERR_EXISTS when another payment
 * of that provider has the id; ERR_BAD_STATE when the payment is no longer pending. */
int store_payment_set_provider(struct store *st, int64_t id, const char *external_id, const char *pay_url, int64_t now);
int store_payment_get(struct store *st, int64_t id, struct hub_payment *out);
int store_payment_by_external(struct store *st, const char *provider, const char *external_id, struct hub_payment *out);

struct store_pay_filter {
    const char *status;   /* NULL: any */
    const char *provider; /* NULL: any */
    int64_t since;        /* created_at >= since (0: any) */
    int64_t before;       /* created_at < before (0: any) */
    int64_t limit;        /* 1..1000, 0 -> 100 */
};
/* Payments matching f, newest first. *out is malloc'd. */
int store_payment_query(struct store *st, const struct store_pay_filter *f, struct hub_payment **out, size_t *n);

/* Payments counted by provider and outcome (the status, or "flagged" for rows with a flag,
 * counted in addition), for the metrics scrape. *out is malloc'd. */
struct store_pay_count {
    char provider[33];
    char outcome[16];
    int64_t n;
};
int store_payment_counts(struct store *st, struct store_pay_count **out, size_t *n);

/* Operator rules applied when a payment succeeds (config "billing"). */
struct store_billing_rules {
    int referral_percent;    /* 0..100: the referrer's commission on every succeeded payment */
    int first_bonus_percent; /* 0..100: credited to a referred customer on their first payment */
};

/* What a provider says happened to one of our payments. */
struct store_pay_event {
    int64_t payment_id;
    enum hub_pay_status status; /* SUCCEEDED, CANCELED, EXPIRED, FAILED or REFUNDED */
    const char *external_id;    /* the provider's id, or NULL to keep the stored one */
    int64_t amount_minor;       /* SUCCEEDED: the amount paid, must equal the row's */
    const char *currency;       /* SUCCEEDED: must equal the row's */
    const char *charge_id;      /* may be NULL */
    const char *raw;            /* the provider's object as fetched/received, may be NULL */
};

struct store_pay_result {
    bool applied;   /* this call changed the state (and granted what the payment buys) */
    bool duplicate; /* the payment was already in this or a final state: nothing changed */
    bool flagged;   /* not credited: amount/currency mismatch or a grant that could not be made */
    char flag[33];
    struct hub_payment pay; /* the row after the call */
    bool has_sub;
    struct hub_sub sub; /* the subscription after the grant */
    int64_t referrer_id, reward_minor, bonus_minor;
};

/* Moves a payment along pending -> succeeded | canceled | expired | failed, succeeded ->
 * refunded (an expired payment that is paid late still succeeds: the money arrived), exactly
 * once and in one transaction with what the change grants: the plan (extended by its days plus
 * bonus_days, or granted), a top-up to the balance ledger, the promo use, the referral
 * commission and first-payment bonus. A succeeded event whose amount or currency differs from
 * the row flags it and credits nothing; so does a grant that cannot be made (plan deleted,
 * balance bound). Every flag writes a "payment.flagged" audit row. ERR_NOT_FOUND. */
int store_payment_transition(struct store *st, const struct store_pay_event *ev,
                             const struct store_billing_rules *rules, int64_t now, const struct store_audit *audit,
                             struct store_pay_result *out);

/* Pays an invoice row from the user's balance in one transaction: records p (provider
 * "balance"), debits the ledger and grants. ERR_RANGE when the balance is short,
 * ERR_UNSUPPORTED when p->currency is not the balance's currency. */
int store_payment_from_balance(struct store *st, struct hub_payment *p, const struct store_billing_rules *rules,
                               int64_t now, const struct store_audit *audit, struct store_pay_result *out);

struct store_ledger_row {
    int64_t id;
    char currency[HUB_CURRENCY_LEN + 1];
    int64_t delta_minor, balance_after;
    char reason[17]; /* "topup", "purchase", "referral", "referral_bonus", "refund", "admin" */
    int64_t payment_id;
    int64_t created_at;
};
/* The user's ledger, newest first (limit 1..1000, 0 -> 100). *out is malloc'd. */
int store_ledger_list(struct store *st, int64_t user_id, int64_t limit, struct store_ledger_row **out, size_t *n);

/* Promo codes. create: ERR_EXISTS on a taken code. get: by code (case as stored). */
int store_promo_create(struct store *st, struct hub_promo *p, int64_t now, const struct store_audit *audit);
int store_promo_get(struct store *st, const char *code, struct hub_promo *out);
/* All promo codes, newest first (at most 1000). *out is malloc'd. */
int store_promo_list(struct store *st, struct hub_promo **out, size_t *n);
/* Whether user_id already used promo_id on a succeeded payment. */
int store_promo_used_by(struct store *st, int64_t promo_id, int64_t user_id, bool *used);

/* Revenue analytics over payments settled in [since, until). Balance purchases are not revenue
 * (the top-up that funded them was). Rows are malloc'd (store_revenue_free). */
struct store_revenue_day {
    int64_t day; /* unix day number (settled_at / 86400) */
    char provider[33];
    char currency[HUB_CURRENCY_LEN + 1];
    int64_t amount_minor, payments;
};
struct store_revenue_cur {
    char currency[HUB_CURRENCY_LEN + 1];
    int64_t amount_minor, payers;        /* revenue and distinct paying customers */
    int64_t referral_minor, bonus_minor; /* referral commission and first-payment bonuses paid */
};
struct store_revenue {
    struct store_revenue_day *days;
    size_t n_days;
    struct store_revenue_cur *cur;
    size_t n_cur;
    int64_t users, paying_users; /* registered, and with at least one succeeded payment (ever) */
    int64_t expired, churned;    /* ended in [since, until - 7 d), and of them not renewed within 7 days */
    int64_t refunded, flagged;   /* payments in the window */
};
int store_revenue_get(struct store *st, int64_t since, int64_t until, struct store_revenue *out);
/* Only days[] and cur[].amount_minor/payers of the above (two indexed queries on payments, no
 * scan of users or subscriptions): the dashboard's charts. */
int store_revenue_daily(struct store *st, int64_t since, int64_t until, struct store_revenue *out);
void store_revenue_free(struct store_revenue *r);

/* ---- stats ---- */
struct store_stats {
    int64_t users, users_enabled, subs_active, subs_limited, subs_expired, nodes, nodes_up, nodes_draining;
    int64_t traffic_up, traffic_down; /* all nodes, all time */
    int64_t payments_succeeded, revision;
};
int store_stats_get(struct store *st, struct store_stats *out);
/* The dashboard's "now" figures: open client connections summed over the nodes up, as each
 * reported with its last usage push (stale nodes are marked down), how many nodes that is,
 * users with traffic in the current UTC hour and bytes since 00:00 UTC (usage_hourly: real
 * bytes, before a node's usage_percent). */
struct store_live {
    int64_t connections, nodes_reporting, users_this_hour, bytes_today;
};
int store_live_get(struct store *st, int64_t now, struct store_live *out);

/* ---- scheduler ---- */
/* Takes or renews the named lock for `holder` until now + ttl. *held = whether we own it now. */
int store_lock_try(struct store *st, const char *name, const char *holder, int64_t ttl, int64_t now, bool *held);
struct store_sched_result {
    int64_t expired, reset, limited;
    int64_t pruned; /* usage push ids older than STORE_PUSH_ID_TTL removed */
};
#define STORE_PUSH_ID_TTL (14 * 86400)
/* One scheduler pass: expires ended subscriptions, resets traffic whose reset period passed
 * (re-activating limited ones), marks over-quota ones limited; bumps the revision for every
 * user whose node view changed; forgets usage push ids older than STORE_PUSH_ID_TTL. */
int store_sched_run(struct store *st, int64_t now, struct store_sched_result *out);

#endif
