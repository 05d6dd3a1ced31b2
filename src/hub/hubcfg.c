#include "hub/hubcfg.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/redis_url.h"
#include "core/err.h"
#include "core/file.h"
#include "core/log.h"
#include "core/secret_file.h"
#include "hub/domain/node_health.h"
#include "hub/domain/placement.h"
#include "hub/module.h"

__attribute__((format(printf, 3, 4))) static int cfail(char *err, size_t cap, const char *fmt, ...)
{
    if (cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return ERR_CONFIG;
}

/* Unknown keys are errors; at the top level (where[0] == '\0') a key a module owns is checked
 * by that module instead. */
static int check_keys(json_t *o, const char *const *allowed, const char *where, char *err, size_t cap)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], key) == 0;
        const struct hub_module *m = ok || where[0] ? NULL : hub_module_for_section(key);
        if (m != NULL) {
            ok = true;
            if (m->settings_check != NULL) {
                char why[200] = "";
                if (m->settings_check(v, why, sizeof why) < 0)
                    return cfail(err, cap, "%.64s: %s", key, why);
            }
        }
        if (!ok)
            return cfail(err, cap, "%sunknown key \"%.64s\"", where, key);
    }
    return 0;
}

static int get_str(json_t *o, const char *key, char *out, size_t outcap, char *err, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= outcap || strlen(json_string_value(v)) != json_string_length(v))
        return cfail(err, cap, "%s: must be a string of at most %zu bytes", key, outcap - 1);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_uint(json_t *o, const char *key, unsigned long long min, unsigned long long max, unsigned long long *out,
                    char *err, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (unsigned long long)json_integer_value(v) < min ||
        (unsigned long long)json_integer_value(v) > max)
        return cfail(err, cap, "%s: must be an integer in %llu..%llu", key, min, max);
    *out = (unsigned long long)json_integer_value(v);
    return 0;
}

static int get_bool(json_t *o, const char *key, bool *out, char *err, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v))
        return cfail(err, cap, "%s: must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* "trusted_proxies": ["10.0.0.0/8", "::1"]; the legacy "trust_forwarded": true trusted any peer's
 * header, so it is refused unless the proxies are named. */
static int get_proxies(json_t *j, struct hub_cfg *c, char *err, size_t cap)
{
    bool legacy = false;
    TRY(get_bool(j, "trust_forwarded", &legacy, err, cap));
    json_t *a = json_object_get(j, "trusted_proxies");
    if (a != NULL && !json_is_null(a)) {
        if (!json_is_array(a) || json_array_size(a) > HUBCFG_PROXIES_MAX)
            return cfail(err, cap, "trusted_proxies: must be an array of at most %d CIDR blocks", HUBCFG_PROXIES_MAX);
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            if (!json_is_string(v) || client_ip_net_parse(json_string_value(v), &c->trusted_proxies[i]) < 0)
                return cfail(err, cap, "trusted_proxies[%zu]: must be an address or CIDR block such as \"10.0.0.0/8\"",
                             i);
        }
        c->n_trusted_proxies = json_array_size(a);
    }
    if (legacy && c->n_trusted_proxies == 0)
        return cfail(err, cap,
                     "trust_forwarded: set trusted_proxies to your proxies' addresses instead (X-Forwarded-For "
                     "is honoured only from them)");
    return 0;
}

/* "fleet": how the hub judges nodes for subscriptions. */
static int parse_fleet(json_t *j, struct hub_cfg *c, char *err, size_t cap)
{
    static const char *const fleetk[] = {
        "dead_after", "hot_cpu_percent", "hot_connections", "probe_interval", "probe_failures", "probe_timeout_ms",
        NULL};
    json_t *f = json_object_get(j, "fleet");
    /* Unset: 30 s, or two push rounds when nodes are told to sync more slowly than that. */
    if (c->node_dead_after == HUB_NODE_DEAD_AFTER_DEFAULT && c->sync_interval * 2 > c->node_dead_after)
        c->node_dead_after = c->sync_interval * 2;
    if (f != NULL) {
        if (!json_is_object(f))
            return cfail(err, cap, "fleet: must be an object");
        TRY(check_keys(f, fleetk, "fleet: ", err, cap));
        unsigned long long v = c->node_dead_after;
        TRY(get_uint(f, "dead_after", 0, 86400, &v, err, cap));
        c->node_dead_after = (unsigned)v;
        v = c->hot_cpu_percent;
        TRY(get_uint(f, "hot_cpu_percent", 0, 100, &v, err, cap));
        c->hot_cpu_percent = (unsigned)v;
        v = c->hot_connections;
        TRY(get_uint(f, "hot_connections", 0, 10000000, &v, err, cap));
        c->hot_connections = (unsigned)v;
        struct {
            const char *key;
            unsigned *dst;
            unsigned long long min, max;
        } u[] = {{"probe_interval", &c->probe_interval, 0, 3600},
                 {"probe_failures", &c->probe_failures, 1, 100},
                 {"probe_timeout_ms", &c->probe_timeout_ms, 100, 60000}};
        for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
            v = *u[i].dst;
            TRY(get_uint(f, u[i].key, u[i].min, u[i].max, &v, err, cap));
            *u[i].dst = (unsigned)v;
        }
    }
    /* A node pushing every sync_interval must not look dead between two pushes. */
    if (c->node_dead_after != 0 && c->node_dead_after <= c->sync_interval)
        return cfail(err, cap,
                     "fleet.dead_after: must exceed sync_interval (%u s), or be 0 to serve nodes however long "
                     "they have been silent",
                     c->sync_interval);
    return 0;
}

/* The page's accent goes into its CSS: only "#rrggbb" is accepted. */
static int get_page_color(json_t *s, struct hub_cfg *c, char *err, size_t cap)
{
    char v[16] = "";
    TRY(get_str(s, "page_color", v, sizeof v, err, cap));
    if (v[0] == '\0')
        return 0;
    bool ok = strlen(v) == 7 && v[0] == '#';
    for (size_t i = 1; ok && i < 7; i++)
        ok = isxdigit((unsigned char)v[i]) != 0;
    if (!ok)
        return cfail(err, cap, "subscription: page_color: a colour as #rrggbb");
    memcpy(c->page_color, v, 8);
    return 0;
}

static int parse_obj(json_t *j, struct hub_cfg *c, char *err, size_t cap)
{
    static const char *const top[] = {"listen",          "port",          "threads",   "database",  "db_pool",
                                      "admin_token",     "sync_interval", "redis_url", "log_level", "trust_forwarded",
                                      "body_max",        "subscription",  "scheduler", "cache",     "rate_limit",
                                      "trusted_proxies", "http",          "fleet",     NULL};
    static const char *const subk[] = {"title",      "update_interval_hours", "support_url", "public_url", "xray_json",
                                       "page_color", "page_logo_url",         "renew_url",   NULL};
    static const char *const schk[] = {"enabled", "interval", NULL};
    static const char *const cachek[] = {"sub_ttl_ms", "sync_ttl_ms",  "memory_mb", "redis_timeout_ms",
                                         "redis_pool", "redis_prefix", NULL};
    static const char *const ratek[] = {"window", "per_ip", "per_token", NULL};
    unsigned long long v;
    TRY(check_keys(j, top, "", err, cap));
    TRY(get_str(j, "listen", c->listen, sizeof c->listen, err, cap));
    v = c->port;
    TRY(get_uint(j, "port", 0, 65535, &v, err, cap));
    c->port = (uint16_t)v;
    v = c->threads;
    TRY(get_uint(j, "threads", 1, 256, &v, err, cap));
    c->threads = (unsigned)v;
    TRY(get_str(j, "database", c->database, sizeof c->database, err, cap));
    if (c->database[0] == '\0')
        return cfail(err, cap, "database: required (\"sqlite:/path\" or \"postgresql://...\")");
    if (strncmp(c->database, "sqlite:", 7) != 0 && strncmp(c->database, "postgresql://", 13) != 0 &&
        strncmp(c->database, "postgres://", 11) != 0)
        return cfail(err, cap, "database: must start with sqlite:, postgresql:// or postgres://");
    v = c->db_pool;
    TRY(get_uint(j, "db_pool", 1, 64, &v, err, cap));
    c->db_pool = (unsigned)v;
    TRY(get_str(j, "admin_token", c->admin_token, sizeof c->admin_token, err, cap));
    if (c->admin_token[0] && strlen(c->admin_token) < 16)
        return cfail(err, cap, "admin_token: at least 16 characters");
    v = c->sync_interval;
    TRY(get_uint(j, "sync_interval", 1, 3600, &v, err, cap));
    c->sync_interval = (unsigned)v;
    TRY(get_str(j, "redis_url", c->redis_url, sizeof c->redis_url, err, cap));
    char level[16] = "";
    TRY(get_str(j, "log_level", level, sizeof level, err, cap));
    if (level[0]) {
        int l = log_level_parse(level);
        if (l < 0)
            return cfail(err, cap, "log_level: one of debug, info, warning, error, none");
        c->log_level = l;
    }
    TRY(get_proxies(j, c, err, cap));
    v = c->body_max;
    TRY(get_uint(j, "body_max", 1024, 16u << 20, &v, err, cap));
    c->body_max = (size_t)v;
    json_t *s = json_object_get(j, "subscription");
    if (s != NULL) {
        if (!json_is_object(s))
            return cfail(err, cap, "subscription: must be an object");
        TRY(check_keys(s, subk, "subscription: ", err, cap));
        TRY(get_str(s, "title", c->sub_title, sizeof c->sub_title, err, cap));
        v = c->sub_update_hours;
        TRY(get_uint(s, "update_interval_hours", 0, 168, &v, err, cap));
        c->sub_update_hours = (unsigned)v;
        TRY(get_str(s, "support_url", c->support_url, sizeof c->support_url, err, cap));
        TRY(get_str(s, "public_url", c->public_url, sizeof c->public_url, err, cap));
        TRY(get_bool(s, "xray_json", &c->xray_json, err, cap));
        TRY(get_page_color(s, c, err, cap));
        TRY(get_str(s, "page_logo_url", c->page_logo_url, sizeof c->page_logo_url, err, cap));
        if (c->page_logo_url[0] && strncmp(c->page_logo_url, "https://", 8) != 0 &&
            strncmp(c->page_logo_url, "http://", 7) != 0)
            return cfail(err, cap, "subscription: page_logo_url: an http(s):// address");
        TRY(get_str(s, "renew_url", c->renew_url, sizeof c->renew_url, err, cap));
        if (c->renew_url[0] && strncmp(c->renew_url, "https://", 8) != 0 && strncmp(c->renew_url, "http://", 7) != 0 &&
            strncmp(c->renew_url, "tg://", 5) != 0)
            return cfail(err, cap, "subscription: renew_url: an http(s):// or tg:// address");
    }
    json_t *sc = json_object_get(j, "scheduler");
    if (sc != NULL) {
        if (!json_is_object(sc))
            return cfail(err, cap, "scheduler: must be an object");
        TRY(check_keys(sc, schk, "scheduler: ", err, cap));
        TRY(get_bool(sc, "enabled", &c->sched_enabled, err, cap));
        v = c->sched_interval;
        TRY(get_uint(sc, "interval", 1, 86400, &v, err, cap));
        c->sched_interval = (unsigned)v;
    }
    if (c->redis_url[0]) { /* the one parser the cache and the node use (core/redis_url.h) */
        struct redis_url ru;
        char why[160];
        if (redis_url_parse(c->redis_url, &ru, why, sizeof why) < 0)
            return cfail(err, cap, "redis_url: %s", why);
    }
    json_t *ca = json_object_get(j, "cache");
    if (ca != NULL) {
        if (!json_is_object(ca))
            return cfail(err, cap, "cache: must be an object");
        TRY(check_keys(ca, cachek, "cache: ", err, cap));
        struct {
            const char *key;
            unsigned *dst;
            unsigned long long min, max;
        } u[] = {{"sub_ttl_ms", &c->sub_ttl_ms, 0, 3600000},
                 {"sync_ttl_ms", &c->sync_ttl_ms, 0, 3600000},
                 {"memory_mb", &c->cache_mb, 1, 65536},
                 {"redis_timeout_ms", &c->redis_timeout_ms, 10, 10000},
                 {"redis_pool", &c->redis_pool, 1, 64}};
        for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
            v = *u[i].dst;
            TRY(get_uint(ca, u[i].key, u[i].min, u[i].max, &v, err, cap));
            *u[i].dst = (unsigned)v;
        }
        TRY(get_str(ca, "redis_prefix", c->redis_prefix, sizeof c->redis_prefix, err, cap));
    }
    json_t *hl = json_object_get(j, "http");
    if (hl != NULL) {
        static const char *const httpk[] = {"max_connections", "per_ip_connections", "reserve_connections",
                                            "request_timeout", "idle_timeout",       NULL};
        if (!json_is_object(hl))
            return cfail(err, cap, "http: must be an object");
        TRY(check_keys(hl, httpk, "http: ", err, cap));
        struct {
            const char *key;
            unsigned *dst;
            unsigned long long min, max;
        } u[] = {{"max_connections", &c->http.max_connections, 16, 100000},
                 {"per_ip_connections", &c->http.per_ip, 1, 100000},
                 {"reserve_connections", &c->http.reserve, 1, 50000},
                 {"request_timeout", &c->http.request_timeout, 1, 3600},
                 {"idle_timeout", &c->http.idle_timeout, 1, 3600}};
        for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
            v = *u[i].dst;
            TRY(get_uint(hl, u[i].key, u[i].min, u[i].max, &v, err, cap));
            *u[i].dst = (unsigned)v;
        }
        if (json_object_get(hl, "reserve_connections") == NULL)
            c->http.reserve = c->http.max_connections / 8; /* follows a changed max_connections */
        if (c->http.reserve >= c->http.max_connections)
            return cfail(err, cap, "http.reserve_connections: must be below max_connections (%u)",
                         c->http.max_connections);
    }
    json_t *rl = json_object_get(j, "rate_limit");
    if (rl != NULL) {
        if (!json_is_object(rl))
            return cfail(err, cap, "rate_limit: must be an object");
        TRY(check_keys(rl, ratek, "rate_limit: ", err, cap));
        v = c->rate_window;
        TRY(get_uint(rl, "window", 1, 86400, &v, err, cap));
        c->rate_window = (unsigned)v;
        v = c->rate_per_ip;
        TRY(get_uint(rl, "per_ip", 0, 100000000, &v, err, cap));
        c->rate_per_ip = (unsigned)v;
        v = c->rate_per_token;
        TRY(get_uint(rl, "per_token", 0, 100000000, &v, err, cap));
        c->rate_per_token = (unsigned)v;
    }
    TRY(parse_fleet(j, c, err, cap));
    return 0;
}

/* Every secret of the hub, by the object holding it ("" is the top level; a section that is
 * absent stays absent). Each may also be given as <key>_file, as the credential
 * <object>_<key> ("billing_yookassa_secret_key") or as VEIL_HUB_<OBJECT>_<KEY> (core/secret_file.h). */
static const struct {
    const char *where, *key;
} hub_secrets[] = {
    {"", "admin_token"},
    {"", "database"},
    {"", "redis_url"},
    {"billing.yookassa", "secret_key"},
    {"billing.robokassa", "password1"},
    {"billing.robokassa", "password2"},
    {"billing.cryptobot", "token"},
    {"bot", "token"},
    {"bot", "webhook_secret"},
};

static json_t *object_at(json_t *root, const char *where)
{
    char part[64];
    json_t *o = root;
    while (*where && o != NULL) {
        size_t n = strcspn(where, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, where);
        o = json_object_get(o, part);
        where += n + (where[n] == '.');
    }
    return json_is_object(o) ? o : NULL;
}

static int resolve_secrets(json_t *root, char *err, size_t cap)
{
    for (size_t i = 0; i < sizeof hub_secrets / sizeof hub_secrets[0]; i++) {
        json_t *o = object_at(root, hub_secrets[i].where);
        if (o == NULL)
            continue;
        char file_key[64], cred[96], env[112];
        snprintf(file_key, sizeof file_key, "%s_file", hub_secrets[i].key);
        int n = snprintf(cred, sizeof cred, "%s%s%s", hub_secrets[i].where, hub_secrets[i].where[0] ? "_" : "",
                         hub_secrets[i].key);
        for (int k = 0; k < n; k++)
            cred[k] = cred[k] == '.' ? '_' : cred[k];
        n = snprintf(env, sizeof env, "VEIL_HUB_%s", cred);
        for (int k = 0; k < n; k++)
            env[k] = (char)(env[k] >= 'a' && env[k] <= 'z' ? env[k] - 'a' + 'A' : env[k]);
        struct secret_src src = {.key = hub_secrets[i].key, .file_key = file_key, .cred = cred, .env = env};
        TRY(secret_src_resolve(o, &src, hub_secrets[i].where, err, cap));
    }
    return 0;
}

static int parse_doc(const char *json, size_t len, struct hub_cfg *cfg, json_t **doc, char *err, size_t errcap)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->listen, "127.0.0.1");
    cfg->port = 8080;
    cfg->threads = 4;
    cfg->db_pool = 8;
    cfg->sync_interval = 15;
    cfg->log_level = LOG_LEVEL_INFO;
    cfg->body_max = 64 * 1024;
    strcpy(cfg->sub_title, "Veil");
    cfg->sub_update_hours = 12;
    cfg->sched_enabled = true;
    cfg->sched_interval = 60;
    cfg->sub_ttl_ms = 5000;
    cfg->sync_ttl_ms = 30000;
    cfg->cache_mb = 64;
    cfg->redis_timeout_ms = 250;
    cfg->redis_pool = 8;
    strcpy(cfg->redis_prefix, "veil:");
    cfg->rate_window = 60;
    cfg->node_dead_after = HUB_NODE_DEAD_AFTER_DEFAULT;
    cfg->hot_cpu_percent = HUB_HOT_CPU_DEFAULT;
    cfg->probe_interval = 10;
    cfg->probe_failures = 3;
    cfg->probe_timeout_ms = 3000;
    cfg->http = api_conn_limits_effective(NULL);
    json_error_t je;
    json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (j == NULL)
        return cfail(err, errcap, "line %d: %s", je.line, je.text);
    int rc = json_is_object(j) ? resolve_secrets(j, err, errcap) : cfail(err, errcap, "must be a JSON object");
    if (rc == 0)
        rc = parse_obj(j, cfg, err, errcap);
    if (rc == 0 && doc != NULL) {
        json_object_del(j, "admin_token"); /* the document outlives the load; the token must not */
        *doc = j;
    } else
        json_decref(j);
    return rc;
}

int hubcfg_parse(const char *json, size_t len, struct hub_cfg *cfg, char *err, size_t errcap)
{
    return parse_doc(json, len, cfg, NULL, err, errcap);
}

int hubcfg_load(const char *path, struct hub_cfg *cfg, char *err, size_t errcap)
{
    return hubcfg_load_doc(path, cfg, NULL, err, errcap);
}

int hubcfg_load_doc(const char *path, struct hub_cfg *cfg, json_t **doc, char *err, size_t errcap)
{
    if (doc != NULL)
        *doc = NULL;
    struct buf text;
    buf_init(&text);
    int rc = file_read_all(path, ((size_t)1 << 20) - 1, &text);
    if (rc == ERR_TOO_LONG) {
        rc = cfail(err, errcap, "%s: larger than 1 MiB", path);
    } else if (rc < 0 && rc != ERR_NOMEM) {
        cfail(err, errcap, "cannot %s %s", rc == -EIO ? "read" : "open", path);
        rc = ERR_IO;
    } else if (rc == 0) {
        rc = parse_doc((const char *)buf_data(&text), buf_len(&text), cfg, doc, err, errcap);
    }
    buf_dispose(&text);
    return rc;
}

void hubcfg_take_live(struct hub_cfg *cur, const struct hub_cfg *next)
{
    cur->log_level = next->log_level;
    memcpy(cur->sub_title, next->sub_title, sizeof cur->sub_title);
    cur->sub_update_hours = next->sub_update_hours;
    memcpy(cur->support_url, next->support_url, sizeof cur->support_url);
    cur->rate_window = next->rate_window;
    cur->rate_per_ip = next->rate_per_ip;
    cur->rate_per_token = next->rate_per_token;
}

void hubcfg_diff_restart(const struct hub_cfg *a, const struct hub_cfg *b, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return;
    out[0] = '\0';
#define DIFF(cond, name)                                                                                               \
    do {                                                                                                               \
        if ((cond) && n + strlen(name) + 2 < cap) {                                                                    \
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", name);                                       \
        }                                                                                                              \
    } while (0)
    DIFF(strcmp(a->listen, b->listen) != 0, "listen");
    DIFF(a->port != b->port, "port");
    DIFF(a->threads != b->threads, "threads");
    DIFF(strcmp(a->database, b->database) != 0, "database");
    DIFF(a->db_pool != b->db_pool, "db_pool");
    DIFF(a->sync_interval != b->sync_interval, "sync_interval");
    DIFF(a->node_dead_after != b->node_dead_after || a->hot_cpu_percent != b->hot_cpu_percent ||
             a->hot_connections != b->hot_connections || a->probe_interval != b->probe_interval ||
             a->probe_failures != b->probe_failures || a->probe_timeout_ms != b->probe_timeout_ms,
         "fleet");
    DIFF(strcmp(a->redis_url, b->redis_url) != 0, "redis_url");
    DIFF(a->n_trusted_proxies != b->n_trusted_proxies ||
             memcmp(a->trusted_proxies, b->trusted_proxies, a->n_trusted_proxies * sizeof a->trusted_proxies[0]) != 0,
         "trusted_proxies");
    DIFF(a->body_max != b->body_max, "body_max");
    DIFF(strcmp(a->public_url, b->public_url) != 0, "subscription.public_url");
    DIFF(a->xray_json != b->xray_json, "subscription.xray_json");
    DIFF(strcmp(a->page_color, b->page_color) != 0, "subscription.page_color");
    DIFF(strcmp(a->page_logo_url, b->page_logo_url) != 0, "subscription.page_logo_url");
    DIFF(strcmp(a->renew_url, b->renew_url) != 0, "subscription.renew_url");
    DIFF(a->sched_enabled != b->sched_enabled || a->sched_interval != b->sched_interval, "scheduler");
    DIFF(a->sub_ttl_ms != b->sub_ttl_ms || a->sync_ttl_ms != b->sync_ttl_ms || a->cache_mb != b->cache_mb ||
             a->redis_timeout_ms != b->redis_timeout_ms || a->redis_pool != b->redis_pool ||
             strcmp(a->redis_prefix, b->redis_prefix) != 0,
         "cache");
    DIFF(memcmp(&a->http, &b->http, sizeof a->http) != 0, "http");
#undef DIFF
}
