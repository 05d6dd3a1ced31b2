#include "hub/hubcfg.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/err.h"
#include "core/file.h"
#include "core/log.h"
#include "core/redis_url.h"
#include "core/secret_file.h"
#include "hub/domain/node_health.h"
#include "hub/domain/client_silence.h"
#include "hub/domain/placement.h"
#include "hub/module.h"

/* The settings, one row each: where the key lives, its kind, the field it fills and its range.
 * The reader walks this table, so the allowed keys of every object, the type and range checks and
 * their messages come from one place. A row's `then` runs after its value was stored (a further
 * check, e.g. the database scheme); for HS_CUSTOM it is the whole reader of the key. Errors go to
 * the cfg_ctx (core/cfg.h), so one load reports every mistake with its path. */
enum hub_setting_kind {
    HS_STR = 0, /* char array; size is its capacity */
    HS_UINT,    /* unsigned integer field of size 2, 4 or 8 in [min, max] */
    HS_BOOL,
    HS_CUSTOM, /* then() reads the key itself */
    HS__COUNT, /* sentinel */
};

struct hub_setting {
    const char *section; /* NULL at the top level */
    const char *key;
    enum hub_setting_kind kind;
    size_t off, size;
    uint64_t min, max;
    int (*then)(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg);
};

static char *field(struct hub_cfg *cfg, const struct hub_setting *s)
{
    return (char *)cfg + s->off;
}

static int need_url(struct cfg_ctx *c, const char *key, const char *v, const char *const *schemes, const char *what)
{
    if (v[0] == '\0')
        return 0;
    for (size_t i = 0; schemes[i]; i++)
        if (strncmp(v, schemes[i], strlen(schemes[i])) == 0)
            return 0;
    return cfg_error(c, key, "%s", what);
}

static int then_database(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg)
{
    (void)obj;
    static const char *const schemes[] = {"sqlite:", "postgresql://", "postgres://", NULL};
    if (cfg->database[0] == '\0')
        return cfg_error(c, key, "required (\"sqlite:/path\" or \"postgresql://...\")");
    return need_url(c, key, cfg->database, schemes, "must start with sqlite:, postgresql:// or postgres://");
}

static int then_admin_token(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg)
{
    (void)obj;
    if (cfg->admin_token[0] && strlen(cfg->admin_token) < 16)
        return cfg_error(c, key, "at least 16 characters");
    return 0;
}

/* The one parser the cache and the node use (core/redis_url.h). */
static int then_redis_url(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg)
{
    (void)obj;
    struct redis_url ru;
    char why[160];
    if (cfg->redis_url[0] && redis_url_parse(cfg->redis_url, &ru, why, sizeof why) < 0)
        return cfg_error(c, key, "%s", why);
    return 0;
}

static int read_log_level(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg)
{
    const char *v = NULL;
    int rc = cfg_get_str(c, obj, key, &v);
    if (rc <= 0)
        return rc;
    int l = log_level_parse(v);
    if (l < 0)
        return cfg_error(c, key, "one of debug, info, warning, error, none");
    cfg->log_level = l;
    return 0;
}

/* "trusted_proxies": ["10.0.0.0/8", "::1"]. */
static int read_proxies(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg)
{
    json_t *a = NULL;
    int rc = cfg_get_arr(c, obj, key, &a);
    if (rc <= 0)
        return rc;
    if (json_array_size(a) > HUBCFG_PROXIES_MAX)
        return cfg_error(c, key, "at most %d CIDR blocks", HUBCFG_PROXIES_MAX);
    size_t mark = cfg_push_key(c, key), i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) || client_ip_net_parse(json_string_value(v), &cfg->trusted_proxies[i]) < 0) {
            size_t m = cfg_push_index(c, i);
            cfg_error(c, NULL, "must be an address or CIDR block such as \"10.0.0.0/8\"");
            cfg_pop(c, m);
        }
    }
    cfg_pop(c, mark);
    cfg->n_trusted_proxies = json_array_size(a);
    return 0;
}

/* The legacy "trust_forwarded": true trusted any peer's header, so it is refused unless the
 * proxies are named (its row comes after trusted_proxies). */
static int read_trust_forwarded(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg)
{
    bool legacy = false;
    int rc = cfg_get_bool(c, obj, key, &legacy);
    if (rc <= 0)
        return rc;
    if (legacy && cfg->n_trusted_proxies == 0)
        return cfg_error(c, key,
                         "set trusted_proxies to your proxies' addresses instead (X-Forwarded-For is honoured only "
                         "from them)");
    return 0;
}

/* The page's accent goes into its CSS: only "#rrggbb" is accepted. */
static int read_page_color(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg)
{
    const char *v = NULL;
    int rc = cfg_get_str(c, obj, key, &v);
    if (rc <= 0 || v[0] == '\0')
        return rc;
    bool ok = strlen(v) == 7 && v[0] == '#';
    for (size_t i = 1; ok && i < 7; i++)
        ok = isxdigit((unsigned char)v[i]) != 0;
    if (!ok)
        return cfg_error(c, key, "a colour as #rrggbb");
    memcpy(cfg->page_color, v, 8);
    return 0;
}

static int then_logo_url(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg)
{
    (void)obj;
    static const char *const schemes[] = {"https://", "http://", NULL};
    return need_url(c, key, cfg->page_logo_url, schemes, "an http(s):// address");
}

static int then_renew_url(struct cfg_ctx *c, const json_t *obj, const char *key, struct hub_cfg *cfg)
{
    (void)obj;
    static const char *const schemes[] = {"https://", "http://", "tg://", NULL};
    return need_url(c, key, cfg->renew_url, schemes, "an http(s):// or tg:// address");
}

#define HS_FIELD(f) offsetof(struct hub_cfg, f), sizeof(((struct hub_cfg *)0)->f)
#define HS_S(sec, k, f, then)                                                                                          \
    {                                                                                                                  \
        sec, k, HS_STR, HS_FIELD(f), 0, 0, then                                                                        \
    }
#define HS_U(sec, k, f, lo, hi)                                                                                        \
    {                                                                                                                  \
        sec, k, HS_UINT, HS_FIELD(f), lo, hi, NULL                                                                     \
    }
#define HS_B(sec, k, f)                                                                                                \
    {                                                                                                                  \
        sec, k, HS_BOOL, HS_FIELD(f), 0, 0, NULL                                                                       \
    }
#define HS_C(sec, k, fn)                                                                                               \
    {                                                                                                                  \
        sec, k, HS_CUSTOM, 0, 0, 0, 0, fn                                                                              \
    }

static const struct hub_setting hub_settings[] = {
    HS_S(NULL, "listen", listen, NULL),
    HS_U(NULL, "port", port, 0, 65535),
    HS_U(NULL, "threads", threads, 1, 256),
    HS_S(NULL, "database", database, then_database),
    HS_U(NULL, "db_pool", db_pool, 1, 64),
    HS_S(NULL, "admin_token", admin_token, then_admin_token),
    HS_U(NULL, "sync_interval", sync_interval, 1, 3600),
    HS_S(NULL, "redis_url", redis_url, then_redis_url),
    HS_S(NULL, "master_key_file", master_key_file, NULL),
    HS_C(NULL, "log_level", read_log_level),
    HS_C(NULL, "trusted_proxies", read_proxies),
    HS_C(NULL, "trust_forwarded", read_trust_forwarded),
    HS_U(NULL, "body_max", body_max, 1024, 16u << 20),
    HS_S("subscription", "title", sub_title, NULL),
    HS_U("subscription", "update_interval_hours", sub_update_hours, 0, 168),
    HS_S("subscription", "support_url", support_url, NULL),
    HS_S("subscription", "public_url", public_url, NULL),
    HS_B("subscription", "xray_json", xray_json),
    HS_C("subscription", "page_color", read_page_color),
    HS_S("subscription", "page_logo_url", page_logo_url, then_logo_url),
    HS_S("subscription", "renew_url", renew_url, then_renew_url),
    HS_B("scheduler", "enabled", sched_enabled),
    HS_U("scheduler", "interval", sched_interval, 1, 86400),
    HS_U("cache", "sub_ttl_ms", sub_ttl_ms, 0, 3600000),
    HS_U("cache", "sync_ttl_ms", sync_ttl_ms, 0, 3600000),
    HS_U("cache", "memory_mb", cache_mb, 1, 65536),
    HS_U("cache", "redis_timeout_ms", redis_timeout_ms, 10, 10000),
    HS_U("cache", "redis_pool", redis_pool, 1, 64),
    HS_S("cache", "redis_prefix", redis_prefix, NULL),
    HS_U("http", "max_connections", http.max_connections, 16, 100000),
    HS_U("http", "per_ip_connections", http.per_ip, 1, 100000),
    HS_U("http", "reserve_connections", http.reserve, 1, 50000),
    HS_U("http", "request_timeout", http.request_timeout, 1, 3600),
    HS_U("http", "idle_timeout", http.idle_timeout, 1, 3600),
    HS_U("rate_limit", "window", rate_window, 1, 86400),
    HS_U("rate_limit", "per_ip", rate_per_ip, 0, 100000000),
    HS_U("rate_limit", "per_token", rate_per_token, 0, 100000000),
    HS_U("fleet", "dead_after", node_dead_after, 0, 86400),
    HS_U("fleet", "hot_cpu_percent", hot_cpu_percent, 0, 100),
    HS_U("fleet", "hot_connections", hot_connections, 0, 10000000),
    HS_U("fleet", "probe_interval", probe_interval, 0, 3600),
    HS_U("fleet", "probe_failures", probe_failures, 1, 100),
    HS_U("fleet", "probe_timeout_ms", probe_timeout_ms, 100, 60000),
    HS_U("fleet", "cool_cpu_percent", cool_cpu_percent, 0, 100),
    HS_U("fleet", "cool_connections", cool_connections, 0, 10000000),
    HS_U("fleet", "client_silence", client_silence, 0, 7 * 86400),
    HS_U("fleet", "client_retry", client_retry, 0, 30 * 86400),
    HS_U("fleet", "client_check", client_check, 1, 3600),
    HS_U("fleet", "bittorrent_disable_after", bt_disable_after, 0, 1000000),
    HS_U("fleet", "bittorrent_window", bt_window, 1, 30 * 86400),
    HS_U("fleet", "bittorrent_disable_sec", bt_disable_sec, 1, 30 * 86400),
};

#define HS_COUNT (sizeof hub_settings / sizeof hub_settings[0])

static const char *const hub_sections[] = {"subscription", "scheduler", "cache", "http", "rate_limit", "fleet", NULL};

static bool same_section(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool is_setting(const char *section, const char *key)
{
    for (size_t i = 0; i < HS_COUNT; i++)
        if (same_section(hub_settings[i].section, section) && strcmp(hub_settings[i].key, key) == 0)
            return true;
    if (section == NULL)
        for (size_t i = 0; hub_sections[i]; i++)
            if (strcmp(hub_sections[i], key) == 0)
                return true;
    return false;
}

/* Unknown keys are errors (typos must not pass silently); at the top level a key a module owns
 * is checked by that module instead. The current path is the object's. */
static void check_keys(struct cfg_ctx *c, const json_t *obj, const char *section)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (is_setting(section, key))
            continue;
        const struct hub_module *m = section == NULL ? hub_module_for_section(key) : NULL;
        if (m == NULL) {
            cfg_error(c, key, "unknown field");
        } else if (m->settings_check != NULL) {
            char why[200] = "";
            if (m->settings_check(v, why, sizeof why) < 0)
                cfg_error(c, key, "%s", why);
        }
    }
}

static int read_setting(struct cfg_ctx *c, const json_t *obj, const struct hub_setting *s, struct hub_cfg *cfg)
{
    char *dst = field(cfg, s);
    int rc = 0;
    switch (s->kind) {
    case HS_STR: {
        const char *v = NULL;
        rc = cfg_get_str(c, obj, s->key, &v);
        if (rc == 1 && strlen(v) >= s->size)
            return cfg_error(c, s->key, "must be a string of at most %zu bytes", s->size - 1);
        if (rc == 1)
            memcpy(dst, v, strlen(v) + 1);
        break;
    }
    case HS_UINT: {
        int64_t v = 0;
        rc = cfg_get_int(c, obj, s->key, (int64_t)s->min, (int64_t)s->max, &v);
        if (rc == 1 && s->size == sizeof(uint16_t))
            *(uint16_t *)(void *)dst = (uint16_t)v;
        else if (rc == 1 && s->size == sizeof(unsigned))
            *(unsigned *)(void *)dst = (unsigned)v;
        else if (rc == 1)
            *(uint64_t *)(void *)dst = (uint64_t)v;
        break;
    }
    case HS_BOOL:
        rc = cfg_get_bool(c, obj, s->key, (bool *)(void *)dst);
        break;
    case HS_CUSTOM:
        return s->then(c, obj, s->key, cfg);
    case HS__COUNT:
        break;
    }
    if (rc == 1 && s->then != NULL)
        return s->then(c, obj, s->key, cfg);
    return rc < 0 ? rc : 0;
}

/* Every row of one object (section NULL: the top level). */
static void read_object(struct cfg_ctx *c, const json_t *obj, const char *section, struct hub_cfg *cfg)
{
    check_keys(c, obj, section);
    for (size_t i = 0; i < HS_COUNT; i++)
        if (same_section(hub_settings[i].section, section))
            (void)read_setting(c, obj, &hub_settings[i], cfg);
}

/* Rules between settings, after every value is in. */
static void check_relations(struct cfg_ctx *c, const json_t *root, struct hub_cfg *cfg)
{
    if (json_object_get(root, "database") == NULL || json_is_null(json_object_get(root, "database")))
        cfg_error(c, "database", "required (\"sqlite:/path\" or \"postgresql://...\")");
    const json_t *http = json_object_get(root, "http");
    if (!json_is_object(http) || json_object_get(http, "reserve_connections") == NULL)
        cfg->http.reserve = cfg->http.max_connections / 8; /* follows a changed max_connections */
    if (cfg->http.reserve >= cfg->http.max_connections)
        cfg_error(c, "http.reserve_connections", "must be below max_connections (%u)", cfg->http.max_connections);
    /* Unset: 30 s, or two push rounds when nodes are told to sync more slowly than that. */
    const json_t *fleet = json_object_get(root, "fleet");
    if ((!json_is_object(fleet) || json_object_get(fleet, "dead_after") == NULL) &&
        cfg->sync_interval * 2 > cfg->node_dead_after)
        cfg->node_dead_after = cfg->sync_interval * 2;
    /* A node pushing every sync_interval must not look dead between two pushes. */
    if (cfg->node_dead_after != 0 && cfg->node_dead_after <= cfg->sync_interval)
        cfg_error(c, "fleet.dead_after",
                  "must exceed sync_interval (%u s), or be 0 to serve nodes however long they have been silent",
                  cfg->sync_interval);
}

static void read_all(struct cfg_ctx *c, const json_t *root, struct hub_cfg *cfg)
{
    read_object(c, root, NULL, cfg);
    for (size_t i = 0; hub_sections[i]; i++) {
        json_t *sec = NULL;
        if (cfg_get_obj(c, root, hub_sections[i], &sec) != 1)
            continue;
        size_t mark = cfg_push_key(c, hub_sections[i]);
        read_object(c, sec, hub_sections[i], cfg);
        cfg_pop(c, mark);
    }
    check_relations(c, root, cfg);
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

/* Each secret that cannot be resolved is one error; the others are still resolved. */
static void resolve_secrets(struct cfg_ctx *c, json_t *root)
{
    for (size_t i = 0; i < sizeof hub_secrets / sizeof hub_secrets[0]; i++) {
        json_t *o = object_at(root, hub_secrets[i].where);
        if (o == NULL)
            continue;
        char file_key[64], cred[96], env[112], why[512];
        snprintf(file_key, sizeof file_key, "%s_file", hub_secrets[i].key);
        int n = snprintf(cred, sizeof cred, "%s%s%s", hub_secrets[i].where, hub_secrets[i].where[0] ? "_" : "",
                         hub_secrets[i].key);
        for (int k = 0; k < n; k++)
            cred[k] = cred[k] == '.' ? '_' : cred[k];
        n = snprintf(env, sizeof env, "VEIL_HUB_%s", cred);
        for (int k = 0; k < n; k++)
            env[k] = (char)(env[k] >= 'a' && env[k] <= 'z' ? env[k] - 'a' + 'A' : env[k]);
        struct secret_src src = {.key = hub_secrets[i].key, .file_key = file_key, .cred = cred, .env = env};
        if (secret_src_resolve(o, &src, hub_secrets[i].where, why, sizeof why) < 0)
            cfg_error_global(c, "%s", why);
    }
}

static void set_defaults(struct hub_cfg *cfg)
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
    cfg->client_silence = HUB_SILENCE_DEFAULT_SEC;
    cfg->client_retry = HUB_SILENCE_RETRY_SEC;
    cfg->client_check = HUB_SILENCE_CHECK_SEC;
    cfg->bt_window = 3600;
    cfg->bt_disable_sec = 3600;
    cfg->http = api_conn_limits_effective(NULL);
}

int hubcfg_read(struct cfg_ctx *c, const char *json, size_t len, struct hub_cfg *cfg, json_t **doc)
{
    if (doc != NULL)
        *doc = NULL;
    set_defaults(cfg);
    json_t *j = cfg_parse(c, json, len);
    if (j == NULL)
        return ERR_CONFIG;
    resolve_secrets(c, j);
    read_all(c, j, cfg);
    if (cfg_ok(c) && doc != NULL) {
        json_object_del(j, "admin_token"); /* the document outlives the load; the token must not */
        *doc = j;
    } else {
        json_decref(j);
    }
    return cfg_ok(c) ? 0 : ERR_CONFIG;
}

int hubcfg_read_file(struct cfg_ctx *c, const char *path, struct hub_cfg *cfg, json_t **doc)
{
    if (doc != NULL)
        *doc = NULL;
    struct buf text;
    buf_init(&text);
    int rc = file_read_all(path, ((size_t)1 << 20) - 1, &text);
    if (rc == ERR_TOO_LONG) {
        rc = cfg_error_global(c, "larger than 1 MiB");
    } else if (rc < 0 && rc != ERR_NOMEM) {
        cfg_error_global(c, "cannot %s the file: %s", rc == -EIO ? "read" : "open", err_str(rc));
        rc = ERR_IO;
    } else if (rc == 0) {
        rc = hubcfg_read(c, (const char *)buf_data(&text), buf_len(&text), cfg, doc);
    }
    buf_dispose(&text);
    return rc;
}

/* The string forms: every message, joined, into err. */
int hubcfg_parse(const char *json, size_t len, struct hub_cfg *cfg, char *err, size_t errcap)
{
    struct cfg_ctx c;
    cfg_init(&c, "hub.json");
    int rc = hubcfg_read(&c, json, len, cfg, NULL);
    cfg_join(&c, err, errcap);
    cfg_dispose(&c);
    return rc;
}

int hubcfg_load(const char *path, struct hub_cfg *cfg, char *err, size_t errcap)
{
    return hubcfg_load_doc(path, cfg, NULL, err, errcap);
}

int hubcfg_load_doc(const char *path, struct hub_cfg *cfg, json_t **doc, char *err, size_t errcap)
{
    struct cfg_ctx c;
    cfg_init(&c, path);
    int rc = hubcfg_read_file(&c, path, cfg, doc);
    cfg_join(&c, err, errcap);
    cfg_dispose(&c);
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
             a->probe_failures != b->probe_failures || a->probe_timeout_ms != b->probe_timeout_ms ||
             a->cool_cpu_percent != b->cool_cpu_percent || a->cool_connections != b->cool_connections ||
             a->client_silence != b->client_silence || a->client_retry != b->client_retry ||
             a->client_check != b->client_check || a->bt_disable_after != b->bt_disable_after ||
             a->bt_window != b->bt_window || a->bt_disable_sec != b->bt_disable_sec,
         "fleet");
    DIFF(strcmp(a->redis_url, b->redis_url) != 0, "redis_url");
    DIFF(strcmp(a->master_key_file, b->master_key_file) != 0, "master_key_file");
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
