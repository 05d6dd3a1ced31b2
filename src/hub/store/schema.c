/* Versioned schema migrations. Migration i (1-based) moves the schema from version i-1 to i.
 * DDL is written once for both backends; @ID@ becomes the backend's auto-increment key.
 * Integers are BIGINT (SQLite stores any INTEGER as 64-bit), booleans INTEGER 0/1, times
 * BIGINT unix seconds UTC, JSON as TEXT. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/store/store_int.h"

static const char *const migrations[] = {
    /* 1: the initial model */
    "CREATE TABLE sync_state (id INTEGER PRIMARY KEY, revision BIGINT NOT NULL);"
    "INSERT INTO sync_state (id, revision) VALUES (1, 0);"
    "CREATE TABLE users ("
    " id @ID@, telegram_id BIGINT UNIQUE, username TEXT NOT NULL UNIQUE, language TEXT NOT NULL,"
    " vless_uuid TEXT NOT NULL UNIQUE, sub_token TEXT NOT NULL UNIQUE, referral_code TEXT NOT NULL UNIQUE,"
    " referrer_id BIGINT REFERENCES users(id) ON DELETE SET NULL, balance_minor BIGINT NOT NULL DEFAULT 0,"
    " currency TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1, created_at BIGINT NOT NULL,"
    " updated_at BIGINT NOT NULL, revision BIGINT NOT NULL);"
    "CREATE INDEX users_revision ON users (revision);"
    "CREATE TABLE user_tombstones (user_id BIGINT PRIMARY KEY, vless_uuid TEXT NOT NULL, username TEXT NOT NULL,"
    " revision BIGINT NOT NULL, deleted_at BIGINT NOT NULL);"
    "CREATE INDEX user_tombstones_revision ON user_tombstones (revision);"
    "CREATE TABLE plans ("
    " id @ID@, name TEXT NOT NULL UNIQUE, duration_days BIGINT NOT NULL, quota_bytes BIGINT NOT NULL DEFAULT 0,"
    " device_limit BIGINT NOT NULL DEFAULT 0, reset_strategy TEXT NOT NULL DEFAULT 'none',"
    " enabled INTEGER NOT NULL DEFAULT 1, created_at BIGINT NOT NULL);"
    "CREATE TABLE plan_prices (plan_id BIGINT NOT NULL REFERENCES plans(id) ON DELETE CASCADE,"
    " currency TEXT NOT NULL, amount_minor BIGINT NOT NULL, PRIMARY KEY (plan_id, currency));"
    "CREATE TABLE subscriptions ("
    " id @ID@, user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " plan_id BIGINT NOT NULL REFERENCES plans(id), starts_at BIGINT NOT NULL, ends_at BIGINT NOT NULL,"
    " used_up BIGINT NOT NULL DEFAULT 0, used_down BIGINT NOT NULL DEFAULT 0, state TEXT NOT NULL,"
    " last_reset_at BIGINT NOT NULL, quota_bytes BIGINT NOT NULL, device_limit BIGINT NOT NULL,"
    " reset_strategy TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE INDEX subscriptions_user ON subscriptions (user_id, state);"
    "CREATE INDEX subscriptions_state_end ON subscriptions (state, ends_at);"
    "CREATE TABLE devices ("
    " id @ID@, user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE, hwid TEXT NOT NULL,"
    " user_agent TEXT, last_ip TEXT, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,"
    " UNIQUE (user_id, hwid));"
    "CREATE TABLE nodes ("
    " id @ID@, name TEXT NOT NULL UNIQUE, address TEXT NOT NULL, port INTEGER NOT NULL, country TEXT NOT NULL,"
    " public_key TEXT NOT NULL, short_ids TEXT NOT NULL, server_names TEXT NOT NULL,"
    " weight BIGINT NOT NULL DEFAULT 100, health TEXT NOT NULL DEFAULT 'unknown',"
    " draining INTEGER NOT NULL DEFAULT 0, token_hash TEXT NOT NULL UNIQUE, last_seen BIGINT NOT NULL DEFAULT 0,"
    " traffic_up BIGINT NOT NULL DEFAULT 0, traffic_down BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);"
    "CREATE TABLE payments ("
    " id @ID@, user_id BIGINT REFERENCES users(id) ON DELETE SET NULL, provider TEXT NOT NULL,"
    " external_id TEXT NOT NULL, amount_minor BIGINT NOT NULL, currency TEXT NOT NULL, status TEXT NOT NULL,"
    " idempotency_key TEXT NOT NULL UNIQUE, raw TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    " UNIQUE (provider, external_id));"
    "CREATE TABLE referral_rewards ("
    " id @ID@, referrer_id BIGINT REFERENCES users(id) ON DELETE SET NULL,"
    " referee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,"
    " payment_id BIGINT NOT NULL UNIQUE REFERENCES payments(id), amount_minor BIGINT NOT NULL,"
    " currency TEXT NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE TABLE audit_log ("
    " id @ID@, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT, at BIGINT NOT NULL, source_ip TEXT,"
    " details TEXT);"
    "CREATE INDEX audit_log_at ON audit_log (at);"
    "CREATE TABLE api_tokens ("
    " id @ID@, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, role TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE usage_pushes (node_id BIGINT NOT NULL, push_id TEXT NOT NULL, received_at BIGINT NOT NULL,"
    " PRIMARY KEY (node_id, push_id));"
    "CREATE TABLE locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL);",

    /* 2: per-node usage coefficient in percent (premium or cheap locations bill traffic x k) */
    "ALTER TABLE nodes ADD COLUMN usage_percent BIGINT NOT NULL DEFAULT 100;",

    /* 3: billing. A payments row per attempt says what it grants (plan_id; NULL tops up the
     * balance) and carries the promo applied; the balance ledger holds every credit and debit
     * with the balance after it, bounded by HUB_MAX_MONEY (2^50) so no sum can overflow;
     * promo codes with use limits; the referred customer's first-payment bonus, once each. */
    "ALTER TABLE payments ADD COLUMN plan_id BIGINT REFERENCES plans(id) ON DELETE SET NULL;"
    "ALTER TABLE payments ADD COLUMN bonus_days BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE payments ADD COLUMN discount_minor BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE payments ADD COLUMN promo_id BIGINT;"
    "ALTER TABLE payments ADD COLUMN pay_url TEXT;"
    "ALTER TABLE payments ADD COLUMN flag TEXT;"
    "ALTER TABLE payments ADD COLUMN charge_id TEXT;"
    "ALTER TABLE payments ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE payments ADD COLUMN settled_at BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX payments_status ON payments (status, provider, created_at);"
    "CREATE INDEX payments_user ON payments (user_id, id);"
    "CREATE TABLE balance_ledger ("
    " id @ID@, user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE, currency TEXT NOT NULL,"
    " delta_minor BIGINT NOT NULL, balance_after BIGINT NOT NULL, reason TEXT NOT NULL,"
    " payment_id BIGINT REFERENCES payments(id), created_at BIGINT NOT NULL,"
    " CHECK (balance_after >= 0 AND balance_after <= 1125899906842624),"
    " CHECK (delta_minor >= -1125899906842624 AND delta_minor <= 1125899906842624),"
    " UNIQUE (payment_id, reason));"
    "CREATE INDEX balance_ledger_user ON balance_ledger (user_id, id);"
    "CREATE TABLE promo_codes ("
    " id @ID@, code TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, value BIGINT NOT NULL, currency TEXT,"
    " max_uses BIGINT NOT NULL DEFAULT 0, used BIGINT NOT NULL DEFAULT 0, valid_from BIGINT NOT NULL DEFAULT 0,"
    " valid_until BIGINT NOT NULL DEFAULT 0, enabled INTEGER NOT NULL DEFAULT 1, created_at BIGINT NOT NULL);"
    "CREATE TABLE promo_uses ("
    " promo_id BIGINT NOT NULL REFERENCES promo_codes(id) ON DELETE CASCADE,"
    " user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE, payment_id BIGINT NOT NULL,"
    " used_at BIGINT NOT NULL, PRIMARY KEY (promo_id, user_id));"
    "CREATE TABLE referral_bonuses ("
    " referee_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
    " payment_id BIGINT NOT NULL REFERENCES payments(id), amount_minor BIGINT NOT NULL, currency TEXT NOT NULL,"
    " created_at BIGINT NOT NULL);",

    /* 4: the Telegram bot: the getUpdates offset (bot_state), one trial per Telegram user
     * (bot_trials), chats that blocked the bot (bot_chats). IF NOT EXISTS: the bot's first slice
     * created these itself at start, so a database it ran on already has them. */
    "CREATE TABLE IF NOT EXISTS bot_state (name TEXT PRIMARY KEY, value BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS bot_trials (telegram_id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL,"
    " subscription_id BIGINT NOT NULL, at BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS bot_chats (telegram_id BIGINT PRIMARY KEY, blocked INTEGER NOT NULL,"
    " updated_at BIGINT NOT NULL);",

    /* 5: the audit log becomes a hash chain (store_audit.c): each row carries its predecessor's
     * hash and its own; audit_chain holds the head, which every writer locks. The rows already
     * there are chained by store__audit_chain_backfill in the same transaction. */
    "ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;"
    "ALTER TABLE audit_log ADD COLUMN row_hash TEXT;"
    "CREATE TABLE audit_chain (id INTEGER PRIMARY KEY, last_id BIGINT NOT NULL, last_hash TEXT NOT NULL);"
    "INSERT INTO audit_chain (id, last_id, last_hash) VALUES (1, 0, "
    "'0000000000000000000000000000000000000000000000000000000000000000');",

    /* 6: what the bot told whom, once per event (kind "paid": ref_id is the payment); the bot
     * finds settled payments to announce by settled_at. */
    "CREATE TABLE bot_notices (kind TEXT NOT NULL, ref_id BIGINT NOT NULL, telegram_id BIGINT NOT NULL,"
    " at BIGINT NOT NULL, PRIMARY KEY (kind, ref_id));"
    "CREATE INDEX payments_settled ON payments (settled_at);",

    /* 7: load-aware placement (hub/domain/placement.h): a node's group and its live load from
     * the last usage push; the node groups a plan may use ('' = every node). */
    "ALTER TABLE nodes ADD COLUMN node_group TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE nodes ADD COLUMN load_connections BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE nodes ADD COLUMN load_cpu BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE nodes ADD COLUMN load_bps BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE plans ADD COLUMN node_groups TEXT NOT NULL DEFAULT '';",

    /* 8: the addresses each API or node token was used from, so the first use from a new one
     * writes a "token.new_ip" audit row (store_audit_token_ip). */
    "CREATE TABLE token_ips (actor TEXT NOT NULL, ip TEXT NOT NULL,"
    " first_seen BIGINT NOT NULL,"
    " PRIMARY KEY (actor, ip));",

    /* 9: suspicious-activity analysis (hub/analysis/): findings, one row per (kind, subject)
     * updated while the activity persists; the addresses each user's /sub was fetched from. */
    "CREATE TABLE findings (id @ID@, kind TEXT NOT NULL, subject TEXT NOT NULL, severity TEXT NOT NULL,"
    " details TEXT, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, count BIGINT NOT NULL DEFAULT 1,"
    " state TEXT NOT NULL DEFAULT 'open', UNIQUE (kind, subject));"
    "CREATE INDEX findings_last_seen ON findings (last_seen);"
    "CREATE TABLE sub_fetch_ips (user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " ip TEXT NOT NULL, user_agent TEXT, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,"
    " fetches BIGINT NOT NULL DEFAULT 1, PRIMARY KEY (user_id, ip));"
    "CREATE INDEX sub_fetch_ips_last_seen ON sub_fetch_ips (last_seen);",

    /* 10: column encryption at rest (store_seal.c): the data and blind-index keys wrapped by the
     * master key; per sealed row the data key used (0: plaintext); the Telegram id sealed in
     * telegram_enc and the blind indexes that replace lookups by the plaintext. Rows stay in
     * plaintext until a hub starts with a master key. */
    "CREATE TABLE seal_keys (id BIGINT PRIMARY KEY, kind TEXT NOT NULL, wrapped TEXT NOT NULL,"
    " created_at BIGINT NOT NULL);"
    "ALTER TABLE users ADD COLUMN telegram_enc TEXT;"
    "ALTER TABLE users ADD COLUMN telegram_hmac TEXT;"
    "ALTER TABLE users ADD COLUMN username_hmac TEXT;"
    "ALTER TABLE users ADD COLUMN sealed_key BIGINT NOT NULL DEFAULT 0;"
    "CREATE UNIQUE INDEX users_telegram_hmac ON users (telegram_hmac);"
    "CREATE UNIQUE INDEX users_username_hmac ON users (username_hmac);"
    "CREATE INDEX users_sealed_key ON users (sealed_key);"
    "ALTER TABLE user_tombstones ADD COLUMN sealed_key BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE payments ADD COLUMN sealed_key BIGINT NOT NULL DEFAULT 0;",

    /* 11: bot broadcasts (hub/bot/bot_broadcast.h): the text and, per recipient, where its
     * message stands (0 pending, 1 sending, 2 delivered, 3 blocked, 4 failed, 5 unknown), so a
     * restart continues without sending anyone the same broadcast twice. Recipients are user ids:
     * the Telegram id is read (and opened, when sealed) at send time. */
    "CREATE TABLE bot_broadcasts (id @ID@, admin_id BIGINT NOT NULL, html TEXT NOT NULL,"
    " done INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, finished_at BIGINT);"
    "CREATE TABLE bot_broadcast_recipients (broadcast_id BIGINT NOT NULL REFERENCES bot_broadcasts(id)"
    " ON DELETE CASCADE, user_id BIGINT NOT NULL, state INTEGER NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL,"
    " PRIMARY KEY (broadcast_id, user_id));"
    "CREATE INDEX bot_broadcast_recipients_state ON bot_broadcast_recipients (broadcast_id, state, user_id);",

    /* 12: how the bot's own tables (bot_trials, bot_chats, bot_notices, bot_state "promo:<id>")
     * name a Telegram user when the database seals Telegram ids: a 63-bit blind index
     * (store_telegram_ref), kept on the user row so joins still meet. NULL on plaintext rows,
     * whose bot rows keep the id itself. */
    ("ALTER TABLE users ADD COLUMN telegram_ref BIGINT;"
     "CREATE UNIQUE INDEX users_telegram_ref ON users (telegram_ref);"),

    /* 13: admin access hardening (docs/security.md §6): token expiry (0: never), scopes (comma
     * list; '' = whatever the role allows), the parent of a session token made by a TOTP login
     * (revoking the parent ends it), the TOTP secret (hex) and the last step accepted (replay). */
    ("ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;"
     "ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE api_tokens ADD COLUMN parent_id BIGINT;"
     "ALTER TABLE api_tokens ADD COLUMN totp_secret TEXT;"
     "ALTER TABLE api_tokens ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;"),

    /* 14: each user's real bytes (up + down, before the node's usage coefficient) per hour, from
     * the usage pushes, so the traffic_spike detector can compare an hour to the user's usual
     * ones; the analysis job forgets hours older than its window. */
    ("CREATE TABLE usage_hourly (user_id BIGINT NOT NULL, hour BIGINT NOT NULL, bytes BIGINT NOT NULL,"
     " PRIMARY KEY (user_id, hour));"
     "CREATE INDEX usage_hourly_hour ON usage_hourly (hour);"),

    /* 15: REALITY targets (hub/targets/): the pool of vetted candidates per node or region (fed by
     * `veil scan --json`), each node's assigned target with the names still in grace and what it
     * last reported, and the failures its pushes report (the rotation rule counts them). */
    ("CREATE TABLE targets (id @ID@, host TEXT NOT NULL, port INTEGER NOT NULL, sni TEXT NOT NULL,"
     " region TEXT NOT NULL DEFAULT '', node_id BIGINT NOT NULL DEFAULT 0, score BIGINT NOT NULL DEFAULT 0,"
     " state TEXT NOT NULL DEFAULT 'vetted', verdict TEXT NOT NULL DEFAULT 'suitable',"
     " rtt_ms BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
     " UNIQUE (host, port, sni, region, node_id));"
     "CREATE TABLE node_targets (node_id BIGINT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,"
     " target TEXT NOT NULL DEFAULT '', sni TEXT NOT NULL DEFAULT '', target_id BIGINT NOT NULL DEFAULT 0,"
     " rev BIGINT NOT NULL DEFAULT 0, pinned INTEGER NOT NULL DEFAULT 0, grace TEXT NOT NULL DEFAULT '',"
     " reported_target TEXT NOT NULL DEFAULT '', reported_sni TEXT NOT NULL DEFAULT '',"
     " verdict TEXT NOT NULL DEFAULT 'unknown', reported_at BIGINT NOT NULL DEFAULT 0,"
     " rotated_at BIGINT NOT NULL DEFAULT 0, health TEXT NOT NULL DEFAULT '');"
     "CREATE TABLE target_failures (node_id BIGINT NOT NULL, at BIGINT NOT NULL, failures BIGINT NOT NULL,"
     " verdict TEXT NOT NULL);"
     "CREATE INDEX target_failures_node_at ON target_failures (node_id, at);"),

    /* 16: the TOTP secret sealed like the personal columns (totp_sealed_key: the data key, 0 =
     * hex plaintext), and one-time recovery codes for the second factor, stored hashed
     * (store_recovery.c); used_at 0 = still usable. */
    ("ALTER TABLE api_tokens ADD COLUMN totp_sealed_key INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE api_token_recovery (token_id BIGINT NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,"
     " code_hash TEXT NOT NULL, created_at BIGINT NOT NULL, used_at BIGINT NOT NULL DEFAULT 0,"
     " PRIMARY KEY (token_id, code_hash));"),

    /* 17: the dashboard's budgets with 100k users (issue 17): disabled users counted from an
     * index; the substring search's trigram index is made per backend by users_search_index. */
    ("CREATE INDEX users_enabled ON users (enabled);"),

    /* 18: fleet intelligence (hub/fleet/): a node's hot mark with hysteresis (placement), the
     * last push that carried client handshakes and since when it is "unreachable from clients"
     * (0: not); the country a user or a plan prefers ('' none); temporary holds of users (the
     * BitTorrent auto-disable); target scans a node runs on request, with their results. */
    ("ALTER TABLE nodes ADD COLUMN hot INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE nodes ADD COLUMN handshake_at BIGINT NOT NULL DEFAULT 0;"
     "ALTER TABLE nodes ADD COLUMN silent_since BIGINT NOT NULL DEFAULT 0;"
     "ALTER TABLE users ADD COLUMN country TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE plans ADD COLUMN country TEXT NOT NULL DEFAULT '';"
     "CREATE TABLE user_holds (user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
     " reason TEXT NOT NULL, attempts BIGINT NOT NULL, since BIGINT NOT NULL, until BIGINT NOT NULL,"
     " released_at BIGINT NOT NULL DEFAULT 0);"
     "CREATE TABLE node_scans (id @ID@, node_id BIGINT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
     " candidates TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', results TEXT NOT NULL DEFAULT '',"
     " created_at BIGINT NOT NULL, sent_at BIGINT NOT NULL DEFAULT 0, done_at BIGINT NOT NULL DEFAULT 0);"
     "CREATE INDEX node_scans_node ON node_scans (node_id, state);"),

    /* 19: the dashboard's "traffic today" (store_live.c) sums bytes over today's hours: with
     * (hour, bytes) it reads the index alone, not a table row per user-hour. The new index
     * serves every lookup by hour the old one did, which goes (one index less per push). */
    ("CREATE INDEX usage_hourly_hour_bytes ON usage_hourly (hour, bytes);"
     "DROP INDEX usage_hourly_hour;"),

    /* 20: a user's current subscription (the uncached /sub, store_sub_current) in the index's
     * order: SQLite read every subscription of the user into a temporary B-tree to sort them
     * (about a tenth of an uncached /sub's instructions). */
    ("CREATE INDEX subscriptions_user_current ON subscriptions (user_id, (" STORE_SUB_CURRENT_RANK "), ends_at DESC,"
     " id DESC);"),
};

/* The user search's trigram index (store_user_list). SQLite: a contentless FTS5 table over the
 * username and the referral code, kept by triggers; a sealed row's username (ciphertext) is not
 * indexed (NULL), so the index never holds a fragment of a sealed name (store_seal_open purges
 * what plaintext rows left when they are sealed). PostgreSQL: pg_trgm GIN indexes on the
 * lower-cased columns; without the extension (a role that may not create it) the search still
 * works, by a scan, and the hub says so. */
static int users_search_index(struct store_conn *sc)
{
    if (sc->st->ops->dialect == STORE_DIALECT_SQLITE)
        return store__exec(
            sc,
            ("CREATE VIRTUAL TABLE users_search USING fts5(username, referral_code, content='',"
             " tokenize='trigram');"
             "CREATE TRIGGER users_search_ai AFTER INSERT ON users BEGIN"
             " INSERT INTO users_search (rowid, username, referral_code) VALUES (new.id,"
             " CASE WHEN new.sealed_key = 0 THEN new.username END, new.referral_code); END;"
             "CREATE TRIGGER users_search_ad AFTER DELETE ON users BEGIN"
             " INSERT INTO users_search (users_search, rowid, username, referral_code) VALUES ('delete',"
             " old.id, CASE WHEN old.sealed_key = 0 THEN old.username END, old.referral_code); END;"
             "CREATE TRIGGER users_search_au AFTER UPDATE OF username, referral_code, sealed_key ON users"
             " BEGIN"
             " INSERT INTO users_search (users_search, rowid, username, referral_code) VALUES ('delete',"
             " old.id, CASE WHEN old.sealed_key = 0 THEN old.username END, old.referral_code);"
             " INSERT INTO users_search (rowid, username, referral_code) VALUES (new.id,"
             " CASE WHEN new.sealed_key = 0 THEN new.username END, new.referral_code); END;"
             "INSERT INTO users_search (rowid, username, referral_code)"
             " SELECT id, CASE WHEN sealed_key = 0 THEN username END, referral_code FROM users;"),
            NULL, 0, NULL);
    TRY(store__exec(sc, "SAVEPOINT trgm", NULL, 0, NULL));
    if (store__exec(sc, "CREATE EXTENSION IF NOT EXISTS pg_trgm", NULL, 0, NULL) < 0) {
        log_warn("store", 0, "pg_trgm_missing",
                 LF_STR("why", "CREATE EXTENSION pg_trgm refused: the user search scans the users table"));
        return store__exec(sc, "ROLLBACK TO SAVEPOINT trgm", NULL, 0, NULL);
    }
    return store__exec(sc,
                       ("CREATE INDEX users_username_trgm ON users USING gin (lower(username) gin_trgm_ops);"
                        "CREATE INDEX users_referral_trgm ON users USING gin (lower(referral_code) gin_trgm_ops);"),
                       NULL, 0, NULL);
}

/* Code that runs right after a migration's SQL, in its transaction (data the SQL cannot compute). */
static const struct {
    int version;
    int (*run)(struct store_conn *sc);
} migration_steps[] = {
    {5, store__audit_chain_backfill},
    {17, users_search_index},
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(N_MIGRATIONS == STORE_SCHEMA_VERSION, "STORE_SCHEMA_VERSION must match the migration list");

/* Replaces every @ID@ with the backend's key column type. */
static char *expand(const char *sql, const char *id)
{
    size_t idn = strlen(id), n = strlen(sql), count = 0;
    for (const char *p = sql; (p = strstr(p, "@ID@")) != NULL; p += 4)
        count++;
    char *out = malloc(n + count * idn + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    for (const char *p = sql;;) {
        const char *q = strstr(p, "@ID@");
        if (q == NULL) {
            strcpy(o, p);
            break;
        }
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, id, idn);
        o += idn;
        p = q + 4;
    }
    return out;
}

int store__migrate(struct store_conn *sc, int *version)
{
    return store__migrate_to(sc, (int)N_MIGRATIONS, version);
}

int store__migrate_to(struct store_conn *sc, int target, int *version)
{
    const struct store_ops *ops = sc->st->ops;
    struct store_res r;
    int rc = store__begin(sc);
    if (rc < 0)
        return rc;
    if (ops->migrate_lock_sql != NULL && (rc = store__exec(sc, ops->migrate_lock_sql, NULL, 0, NULL)) < 0)
        goto fail;
    if ((rc = store__exec(sc, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", NULL, 0, NULL)) <
        0)
        goto fail;
    if ((rc = store__exec(sc, "SELECT max(version) FROM schema_version", NULL, 0, &r)) < 0)
        goto fail;
    int64_t cur = r.nrows == 1 ? store__cell_i64(&r, 0, 0) : 0;
    store__res_free(&r);
    if (cur > (int64_t)N_MIGRATIONS || cur < 0) {
        rc = ERR_UNSUPPORTED; /* written by a newer hub: do not touch it */
        goto fail;
    }
    if (target < 0 || target > (int)N_MIGRATIONS)
        target = (int)N_MIGRATIONS;
    if (cur > target)
        target = (int)cur;
    for (size_t v = (size_t)cur; v < (size_t)target; v++) {
        char *sql = expand(migrations[v], ops->id_column);
        if (sql == NULL) {
            rc = ERR_NOMEM;
            goto fail;
        }
        rc = store__exec(sc, sql, NULL, 0, NULL);
        free(sql);
        for (size_t k = 0; rc == 0 && k < sizeof migration_steps / sizeof migration_steps[0]; k++)
            if ((size_t)migration_steps[k].version == v + 1)
                rc = migration_steps[k].run(sc);
        if (rc < 0)
            goto fail;
    }
    if (cur < target) {
        struct store_val p[] = {SV_I(target)};
        if ((rc = store__exec(sc, "DELETE FROM schema_version", NULL, 0, NULL)) < 0 ||
            (rc = store__exec(sc, "INSERT INTO schema_version (version) VALUES ($1)", p, 1, NULL)) < 0)
            goto fail;
    }
    if ((rc = store__commit(sc)) < 0)
        return rc;
    if (version != NULL)
        *version = target;
    return 0;
fail:
    store__rollback(sc);
    return rc;
}
