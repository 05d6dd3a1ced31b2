/* Request body validators (see api_valid.h). */
#include "hub/api/api_valid.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/err.h"
#include "hub/api/api_scope.h"
#include "hub/domain/placement.h"
#include "hub/domain/rules.h"

__attribute__((format(printf, 3, 4))) static int verr(struct api_verr *e, const char *code, const char *fmt, ...)
{
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return ERR_MALFORMED;
}

/* Parses the body as a JSON object; an empty body is an empty object when allow_empty. */
static json_t *load_object(const char *body, size_t len, bool allow_empty, struct api_verr *e)
{
    if (len == 0 && allow_empty)
        return json_object();
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL) {
        verr(e, "invalid_json", "body is not valid JSON: %s", je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        verr(e, "invalid_json", "body must be a JSON object");
        return NULL;
    }
    return j;
}

/* The type and range checks are core/cfg's (one set for every JSON reader); a body answers its
 * first mistake with a stable code, so nothing is collected here. */
static int check_keys(json_t *o, const char *const *allowed, struct api_verr *e)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (!cfg_key_allowed(key, allowed))
            return verr(e, "unknown_field", "unknown field \"%.64s\"", key);
    }
    return 0;
}

/* Returns 1 when absent (and not required), 0 when read, ERR_MALFORMED otherwise. */
static int get_int(json_t *o, const char *key, bool required, int64_t min, int64_t max, int64_t *out,
                   struct api_verr *e)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return required ? verr(e, "missing_field", "%s: required", key) : 1;
    int rc = cfg_value_int(v, min, max, out);
    if (rc == ERR_MALFORMED)
        return verr(e, "invalid_field", "%s: must be an integer", key);
    if (rc < 0)
        return verr(e, "invalid_field", "%s: must be in %lld..%lld", key, (long long)min, (long long)max);
    return 0;
}

static int get_bool(json_t *o, const char *key, bool *out, struct api_verr *e)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 1;
    if (!json_is_boolean(v))
        return verr(e, "invalid_field", "%s: must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

typedef bool str_check_fn(const char *s);

/* Copies a string field that passes check into out (cap bytes). */
static int get_str(json_t *o, const char *key, bool required, str_check_fn *check, const char *what, char *out,
                   size_t cap, struct api_verr *e)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return required ? verr(e, "missing_field", "%s: required", key) : 1;
    if (!json_is_string(v))
        return verr(e, "invalid_field", "%s: must be a string", key);
    const char *s;
    size_t n;
    if (cfg_value_str(v, cap, &s, &n) < 0 || !check(s))
        return verr(e, "invalid_field", "%s: %s", key, what);
    memcpy(out, s, n + 1);
    return 0;
}

#define TRYV(expr)                                                                                                     \
    do {                                                                                                               \
        int tryv_rc_ = (expr);                                                                                         \
        if (tryv_rc_ < 0) {                                                                                            \
            json_decref(j);                                                                                            \
            return tryv_rc_;                                                                                           \
        }                                                                                                              \
    } while (0)

static const char USERNAME_RULE[] = "must be 1..64 characters of [A-Za-z0-9_.-] starting with a letter or digit";
static const char LANG_RULE[] = "must be a language tag such as \"en\", \"ru\" or \"pt-br\"";
static const char CURRENCY_RULE[] = "must be a three-letter upper-case currency code";

static int user_fields(json_t *j, struct hub_user *u, struct api_verr *e)
{
    json_t *tg = json_object_get(j, "telegram_id");
    if (tg != NULL && json_is_null(tg))
        u->telegram_id = 0;
    else
        TRY(get_int(j, "telegram_id", false, 1, INT64_MAX, &u->telegram_id, e));
    TRY(get_str(j, "language", false, hub_language_valid, LANG_RULE, u->language, sizeof u->language, e));
    TRY(get_str(j, "currency", false, hub_currency_valid, CURRENCY_RULE, u->currency, sizeof u->currency, e));
    TRY(get_int(j, "balance_minor", false, 0, HUB_MAX_MONEY, &u->balance_minor, e));
    TRY(get_bool(j, "enabled", &u->enabled, e));
    return 0;
}

int api_parse_user_create(const char *body, size_t len, struct hub_user *u, struct api_verr *e)
{
    static const char *const keys[] = {"username",      "telegram_id", "language",    "currency",
                                       "balance_minor", "enabled",     "referrer_id", NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    memset(u, 0, sizeof *u);
    strcpy(u->language, "en");
    strcpy(u->currency, "RUB");
    u->enabled = true;
    TRYV(check_keys(j, keys, e));
    TRYV(get_str(j, "username", true, hub_username_valid, USERNAME_RULE, u->username, sizeof u->username, e));
    TRYV(user_fields(j, u, e));
    TRYV(get_int(j, "referrer_id", false, 1, INT64_MAX, &u->referrer_id, e));
    json_decref(j);
    return 0;
}

int api_parse_user_patch(const char *body, size_t len, struct hub_user *u, unsigned *fields, struct api_verr *e)
{
    static const struct {
        const char *key;
        unsigned bit;
    } bits[] = {{"telegram_id", HUB_USER_F_TELEGRAM_ID}, {"username", HUB_USER_F_USERNAME},
                {"language", HUB_USER_F_LANGUAGE},       {"currency", HUB_USER_F_CURRENCY},
                {"balance_minor", HUB_USER_F_BALANCE},   {"enabled", HUB_USER_F_ENABLED}};
    static const char *const keys[] = {"username",      "telegram_id", "language", "currency",
                                       "balance_minor", "enabled",     NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    TRYV(check_keys(j, keys, e));
    if (json_object_size(j) == 0) {
        json_decref(j);
        return verr(e, "invalid_field", "nothing to change");
    }
    TRYV(get_str(j, "username", false, hub_username_valid, USERNAME_RULE, u->username, sizeof u->username, e));
    TRYV(user_fields(j, u, e));
    *fields = 0;
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (json_object_get(j, bits[i].key) != NULL)
            *fields |= bits[i].bit;
    json_decref(j);
    return 0;
}

static int plan_prices(json_t *j, struct hub_plan *p, struct api_verr *e)
{
    json_t *pr = json_object_get(j, "prices");
    if (pr == NULL)
        return 1;
    if (!json_is_object(pr))
        return verr(e, "invalid_field", "prices: must be an object of currency -> amount in minor units");
    if (json_object_size(pr) == 0) /* an empty map would make a plan nobody can buy */
        return verr(e, "invalid_field", "prices: at least one currency -> amount (omit prices to keep them)");
    if (json_object_size(pr) > HUB_PLAN_PRICES_MAX)
        return verr(e, "invalid_field", "prices: at most %d currencies", HUB_PLAN_PRICES_MAX);
    p->n_prices = 0;
    const char *cur;
    json_t *v;
    json_object_foreach(pr, cur, v)
    {
        if (!hub_currency_valid(cur))
            return verr(e, "invalid_field", "prices: \"%.16s\" %s", cur, CURRENCY_RULE);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > HUB_MAX_MONEY)
            return verr(e, "invalid_field", "prices.%s: must be an integer amount in minor units (0..2^50)", cur);
        struct hub_price *x = &p->prices[p->n_prices++];
        memcpy(x->currency, cur, HUB_CURRENCY_LEN + 1);
        x->amount_minor = (int64_t)json_integer_value(v);
    }
    return 0;
}

static int get_str_list(json_t *j, const char *key, str_check_fn *check, const char *what, size_t max_items,
                        size_t item_cap, char *items, size_t *n, struct api_verr *e);

#define PLAN_GROUPS_MAX 7 /* 7 names of up to 32 bytes and their commas fit HUB_NODE_GROUPS_MAX */
_Static_assert(PLAN_GROUPS_MAX *(HUB_GROUP_MAX + 1) <= HUB_NODE_GROUPS_MAX + 1, "node groups must fit");

/* "node_groups": ["premium", ...] (distinct group names; [] = every node), stored comma-joined. */
static int plan_node_groups(json_t *j, struct hub_plan *p, struct api_verr *e)
{
    char items[PLAN_GROUPS_MAX][HUB_GROUP_MAX + 1];
    size_t n = 0;
    int rc = get_str_list(j, "node_groups", hub_group_valid, "must be 1..32 of [a-z0-9_-]", PLAN_GROUPS_MAX,
                          sizeof items[0], items[0], &n, e);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    char joined[HUB_NODE_GROUPS_MAX + 1] = "";
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(joined + off, sizeof joined - off, "%s%s", i ? "," : "", items[i]);
    if (!hub_node_groups_valid(joined))
        return verr(e, "invalid_field", "node_groups: must not repeat a group");
    memcpy(p->node_groups, joined, off + 1);
    return 0;
}

int api_parse_plan(const char *body, size_t len, bool create, struct hub_plan *p, struct api_verr *e)
{
    static const char *const keys[] = {"name",         "duration_days",  "quota_bytes",
                                       "device_limit", "reset_strategy", "enabled",
                                       "prices",       "node_groups",    NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    if (create) {
        memset(p, 0, sizeof *p);
        p->enabled = true;
    }
    TRYV(check_keys(j, keys, e));
    if (!create && json_object_size(j) == 0) {
        json_decref(j);
        return verr(e, "invalid_field", "nothing to change");
    }
    TRYV(get_str(j, "name", create, hub_name_valid, "must be 1..64 bytes of printable UTF-8", p->name, sizeof p->name,
                 e));
    TRYV(get_int(j, "duration_days", create, 1, HUB_MAX_DURATION_DAYS, &p->duration_days, e));
    TRYV(get_int(j, "quota_bytes", false, 0, HUB_MAX_QUOTA, &p->quota_bytes, e));
    TRYV(get_int(j, "device_limit", false, 0, 1000, &p->device_limit, e));
    json_t *rs = json_object_get(j, "reset_strategy");
    if (rs != NULL) {
        int r = json_is_string(rs) ? hub_reset_parse(json_string_value(rs)) : -1;
        if (r < 0) {
            json_decref(j);
            return verr(e, "invalid_field", "reset_strategy: one of none, daily, weekly, monthly");
        }
        p->reset = (enum hub_reset)r;
    }
    TRYV(get_bool(j, "enabled", &p->enabled, e));
    TRYV(plan_prices(j, p, e));
    TRYV(plan_node_groups(j, p, e));
    json_decref(j);
    return 0;
}

int api_parse_grant(const char *body, size_t len, int64_t *user_id, int64_t *plan_id, struct api_verr *e)
{
    static const char *const keys[] = {"user_id", "plan_id", NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    TRYV(check_keys(j, keys, e));
    TRYV(get_int(j, "user_id", true, 1, INT64_MAX, user_id, e));
    TRYV(get_int(j, "plan_id", true, 1, INT64_MAX, plan_id, e));
    json_decref(j);
    return 0;
}

int api_parse_extend(const char *body, size_t len, int64_t *days, struct api_verr *e)
{
    static const char *const keys[] = {"days", NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    TRYV(check_keys(j, keys, e));
    TRYV(get_int(j, "days", true, 1, HUB_MAX_DURATION_DAYS, days, e));
    json_decref(j);
    return 0;
}

/* Reads an array of strings into a fixed table; each must pass check. */
static int get_str_list(json_t *j, const char *key, str_check_fn *check, const char *what, size_t max_items,
                        size_t item_cap, char *items, size_t *n, struct api_verr *e)
{
    json_t *a = json_object_get(j, key);
    if (a == NULL)
        return 1;
    if (!json_is_array(a) || json_array_size(a) > max_items)
        return verr(e, "invalid_field", "%s: must be an array of at most %zu strings", key, max_items);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (s == NULL || json_string_length(v) >= item_cap || strlen(s) != json_string_length(v) || !check(s) ||
            strchr(s, ',') != NULL)
            return verr(e, "invalid_field", "%s[%zu]: %s", key, i, what);
        memcpy(items + i * item_cap, s, strlen(s) + 1);
    }
    *n = json_array_size(a);
    return 0;
}

/* A node's group: "" (none) or a group name. */
static bool group_or_none(const char *s)
{
    return *s == '\0' || hub_group_valid(s);
}

/* Shared by create (required fields, defaults) and patch (fields applied onto *n). */
static int node_fields(const char *body, size_t len, bool create, struct hub_node *n, struct api_verr *e)
{
    static const char *const keys[] = {"name",         "address", "port",          "country", "public_key", "short_ids",
                                       "server_names", "weight",  "usage_percent", "group",   NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    if (create) {
        memset(n, 0, sizeof *n);
        n->port = 443;
        n->weight = 100;
        n->usage_percent = 100;
    }
    int64_t port = n->port;
    TRYV(check_keys(j, keys, e));
    if (!create && json_object_size(j) == 0) {
        json_decref(j);
        return verr(e, "invalid_field", "nothing to change");
    }
    TRYV(get_str(j, "name", create, hub_name_valid, "must be 1..64 bytes of printable UTF-8", n->name, sizeof n->name,
                 e));
    TRYV(get_str(j, "address", create, hub_host_valid, "must be a host name or IP address", n->address,
                 sizeof n->address, e));
    TRYV(get_int(j, "port", false, 1, 65535, &port, e));
    n->port = (uint16_t)port;
    TRYV(get_str(j, "country", false, hub_country_valid, "must be a two-letter upper-case country code", n->country,
                 sizeof n->country, e));
    TRYV(get_str(j, "public_key", create, hub_public_key_valid,
                 "must be an X25519 public key in base64url without padding (43 characters)", n->public_key,
                 sizeof n->public_key, e));
    TRYV(get_str_list(j, "short_ids", hub_short_id_valid, "must be 0..16 hex digits, even count", HUB_NODE_LIST_MAX,
                      sizeof n->short_ids[0], n->short_ids[0], &n->n_short_ids, e));
    TRYV(get_str_list(j, "server_names", hub_host_valid, "must be a host name", HUB_NODE_LIST_MAX,
                      sizeof n->server_names[0], n->server_names[0], &n->n_server_names, e));
    TRYV(get_int(j, "weight", false, 0, 1000, &n->weight, e));
    TRYV(get_int(j, "usage_percent", false, 1, 1000, &n->usage_percent, e));
    TRYV(
        get_str(j, "group", false, group_or_none, "must be \"\" or 1..32 of [a-z0-9_-]", n->group, sizeof n->group, e));
    json_decref(j);
    return 0;
}

int api_parse_node(const char *body, size_t len, struct hub_node *n, struct api_verr *e)
{
    return node_fields(body, len, true, n, e);
}

int api_parse_node_patch(const char *body, size_t len, struct hub_node *n, struct api_verr *e)
{
    return node_fields(body, len, false, n, e);
}

int api_parse_weight(const char *body, size_t len, int64_t *weight, struct api_verr *e)
{
    static const char *const keys[] = {"weight", NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    TRYV(check_keys(j, keys, e));
    TRYV(get_int(j, "weight", true, 0, 1000, weight, e));
    json_decref(j);
    return 0;
}

int api_parse_health(const char *body, size_t len, enum hub_health *h, struct api_verr *e)
{
    static const char *const keys[] = {"health", NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    TRYV(check_keys(j, keys, e));
    json_t *v = json_object_get(j, "health");
    int x = v && json_is_string(v) ? hub_health_parse(json_string_value(v)) : -1;
    json_decref(j);
    if (x < 0)
        return verr(e, v ? "invalid_field" : "missing_field", "health: one of unknown, up, down");
    *h = (enum hub_health)x;
    return 0;
}

int api_parse_drain(const char *body, size_t len, bool *draining, struct api_verr *e)
{
    static const char *const keys[] = {"draining", NULL};
    json_t *j = load_object(body, len, true, e);
    if (j == NULL)
        return ERR_MALFORMED;
    *draining = true;
    TRYV(check_keys(j, keys, e));
    TRYV(get_bool(j, "draining", draining, e));
    json_decref(j);
    return 0;
}

int api_parse_balance(const char *body, size_t len, int64_t *delta, struct api_verr *e)
{
    static const char *const keys[] = {"delta", NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    TRYV(check_keys(j, keys, e));
    TRYV(get_int(j, "delta", true, -HUB_MAX_MONEY, HUB_MAX_MONEY, delta, e));
    json_decref(j);
    if (*delta == 0)
        return verr(e, "invalid_field", "delta: must not be 0");
    return 0;
}

static bool idem_key_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 8 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == ':' || c == '-'))
            return false;
    }
    return true;
}

int api_parse_payment(const char *body, size_t len, struct api_payment_in *p, struct api_verr *e)
{
    static const char *const keys[] = {"user_id", "amount_minor",   "currency", "idempotency_key",
                                       "plan_id", "credit_balance", NULL};
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    memset(p, 0, sizeof *p);
    TRYV(check_keys(j, keys, e));
    TRYV(get_int(j, "user_id", true, 1, INT64_MAX, &p->user_id, e));
    TRYV(get_int(j, "amount_minor", true, 0, HUB_MAX_MONEY, &p->amount_minor, e));
    TRYV(get_str(j, "currency", true, hub_currency_valid, CURRENCY_RULE, p->currency, sizeof p->currency, e));
    TRYV(get_str(j, "idempotency_key", true, idem_key_valid, "must be 8..128 characters of [A-Za-z0-9_.:-]",
                 p->idempotency_key, sizeof p->idempotency_key, e));
    TRYV(get_int(j, "plan_id", false, 1, INT64_MAX, &p->plan_id, e));
    TRYV(get_bool(j, "credit_balance", &p->credit_balance, e));
    json_decref(j);
    if (p->plan_id == 0 && !p->credit_balance)
        return verr(e, "invalid_field", "plan_id or credit_balance: a payment must buy a plan or top up the balance");
    return 0;
}

int api_parse_token_ex(const char *body, size_t len, int64_t now, struct api_token_in *t, struct api_verr *e)
{
    static const char *const keys[] = {"name", "role", "scopes", "expires_at", "ttl", NULL};
    memset(t, 0, sizeof *t);
    json_t *j = load_object(body, len, false, e);
    if (j == NULL)
        return ERR_MALFORMED;
    TRYV(check_keys(j, keys, e));
    TRYV(get_str(j, "name", true, hub_name_valid, "must be 1..64 bytes of printable UTF-8", t->name, HUB_NAME_MAX + 1,
                 e));
    json_t *v = json_object_get(j, "role");
    int r = v && json_is_string(v) ? hub_role_parse(json_string_value(v)) : -1;
    if (r < 0) {
        json_decref(j);
        return verr(e, v ? "invalid_field" : "missing_field", "role: admin or support");
    }
    t->role = (enum hub_role)r;
    /* scopes: ["users", "read"]: each known name once (api_scope.h); [] or absent: unrestricted. */
    json_t *sc = json_object_get(j, "scopes");
    if (sc != NULL && !json_is_null(sc)) {
        bool ok = json_is_array(sc) && json_array_size(sc) <= API_SCOPE__COUNT;
        char text[API_SCOPES_TEXT_MAX * 2] = "";
        size_t i;
        json_t *x;
        json_array_foreach(sc, i, x)
        {
            if (!ok || !json_is_string(x) || json_string_length(x) > 16 || strchr(json_string_value(x), ',')) {
                ok = false;
                break;
            }
            if (i)
                strcat(text, ",");
            strcat(text, json_string_value(x));
        }
        if (!ok || api_scopes_parse(text, strlen(text), &t->scopes) < 0) {
            json_decref(j);
            return verr(e, "invalid_field",
                        "scopes: a list of distinct names out of read, users, billing, nodes, admin");
        }
    }
    int64_t ttl = 0;
    TRYV(get_int(j, "expires_at", false, 1, INT64_MAX / 2, &t->expires_at, e));
    TRYV(get_int(j, "ttl", false, 60, 10LL * 366 * 86400, &ttl, e));
    json_decref(j);
    if (ttl != 0 && t->expires_at != 0)
        return verr(e, "invalid_field", "give expires_at or ttl, not both");
    if (ttl != 0)
        t->expires_at = now + ttl;
    else if (t->expires_at != 0 && t->expires_at <= now)
        return verr(e, "invalid_field", "expires_at: must be in the future");
    return 0;
}

int api_parse_token(const char *body, size_t len, char name[static HUB_NAME_MAX + 1], enum hub_role *role,
                    struct api_verr *e)
{
    struct api_token_in t;
    TRY(api_parse_token_ex(body, len, 0, &t, e));
    memcpy(name, t.name, sizeof t.name);
    *role = t.role;
    return 0;
}

int api_parse_uint_param(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL || *s == '\0' || strlen(s) > 18)
        return ERR_MALFORMED;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return ERR_MALFORMED;
        v = v * 10 + (*p - '0');
    }
    if (v < min || v > max)
        return ERR_MALFORMED;
    *out = v;
    return 0;
}
