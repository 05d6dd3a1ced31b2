/* Settings, /admin/settings: what this hub runs with, read-only. The admin module copies a list
 * of harmless fields out of the configuration at start and on every reload (admin_view_set);
 * secrets never enter the copy: the admin token, the Redis URL and a PostgreSQL URL (which may
 * carry a password) show only whether they are set, billing only which providers are on. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/html.h"
#include "core/log.h"
#include "hub/admin/admin_http.h"
#include "hub/admin/admin_pages.h"
#include "hub/admin/admin_routes.h"
#include "hub/billing/billing_api.h"
#include "hub/hubcfg.h"

struct view {
    bool set;
    char listen[64], database[ADMIN_URL_MAX], public_url[ADMIN_URL_MAX], support_url[ADMIN_URL_MAX],
        renew_url[ADMIN_URL_MAX], sub_title[128];
    unsigned port, threads, db_pool, sync_interval, sub_update_hours, sched_interval, sub_ttl_ms, sync_ttl_ms, cache_mb,
        rate_window, rate_per_ip, rate_per_token, node_dead_after, hot_cpu_percent, hot_connections, probe_interval;
    bool admin_token, redis, sched_enabled, xray_json;
    int log_level;
    size_t n_trusted_proxies;
};

static struct view view;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* "sqlite:/path" stays as it is; anything else (PostgreSQL) is named without its text. */
static void database_text(const char *url, char *out, size_t cap)
{
    if (strncmp(url, "sqlite:", 7) == 0 && strlen(url) < cap)
        memcpy(out, url, strlen(url) + 1);
    else if (strncmp(url, "sqlite:", 7) == 0)
        snprintf(out, cap, "SQLite (path too long to show)");
    else
        snprintf(out, cap, "PostgreSQL (connection string hidden)");
}

void admin_view_set(const struct hub_cfg *cfg)
{
    struct view v = {.set = true,
                     .port = cfg->port,
                     .threads = cfg->threads,
                     .db_pool = cfg->db_pool,
                     .sync_interval = cfg->sync_interval,
                     .sub_update_hours = cfg->sub_update_hours,
                     .sched_interval = cfg->sched_interval,
                     .sub_ttl_ms = cfg->sub_ttl_ms,
                     .sync_ttl_ms = cfg->sync_ttl_ms,
                     .cache_mb = cfg->cache_mb,
                     .rate_window = cfg->rate_window,
                     .rate_per_ip = cfg->rate_per_ip,
                     .rate_per_token = cfg->rate_per_token,
                     .node_dead_after = cfg->node_dead_after,
                     .hot_cpu_percent = cfg->hot_cpu_percent,
                     .hot_connections = cfg->hot_connections,
                     .probe_interval = cfg->probe_interval,
                     .admin_token = cfg->admin_token[0] != '\0',
                     .redis = cfg->redis_url[0] != '\0',
                     .sched_enabled = cfg->sched_enabled,
                     .xray_json = cfg->xray_json,
                     .log_level = cfg->log_level,
                     .n_trusted_proxies = cfg->n_trusted_proxies};
    snprintf(v.listen, sizeof v.listen, "%s", cfg->listen);
    database_text(cfg->database, v.database, sizeof v.database);
    snprintf(v.public_url, sizeof v.public_url, "%s", cfg->public_url);
    snprintf(v.support_url, sizeof v.support_url, "%s", cfg->support_url);
    snprintf(v.renew_url, sizeof v.renew_url, "%s", cfg->renew_url);
    snprintf(v.sub_title, sizeof v.sub_title, "%s", cfg->sub_title);
    pthread_mutex_lock(&mu);
    view = v;
    pthread_mutex_unlock(&mu);
}

void admin_view_public_url(struct api_call *c, char *out, size_t cap)
{
    pthread_mutex_lock(&mu);
    snprintf(out, cap, "%s", view.public_url);
    pthread_mutex_unlock(&mu);
    if (out[0] != '\0')
        return;
    /* No public_url configured: the address the operator reached this hub at. */
    const char *host = api_call_header(c, "host");
    snprintf(out, cap, "http://%s", host && host[0] && strlen(host) < 200 ? host : "HUB-ADDRESS");
}

static int row_str(struct buf *out, const char *key, const char *value)
{
    TRY(admin_putf(out, "<dt>%s</dt><dd>", key));
    TRY(value[0] ? html_escape_str(out, value) : admin_put(out, "—"));
    return admin_put(out, "</dd>");
}

static int row_uint(struct buf *out, const char *key, unsigned v, const char *unit)
{
    return admin_putf(out, "<dt>%s</dt><dd>%u%s</dd>", key, v, unit);
}

static int billing_rows(struct buf *out)
{
    struct billing *b = billing_module_current();
    if (b == NULL)
        return row_str(out, "billing", "off");
    const struct billing_cfg *bc = billing_cfg_of(b);
    char on[128] = "";
    for (int p = 0; p < BILLING__COUNT; p++)
        if (bc->enabled[p])
            snprintf(on + strlen(on), sizeof on - strlen(on), "%s%s", on[0] ? ", " : "",
                     billing_prov_name((enum billing_prov)p));
    TRY(row_str(out, "billing providers", on[0] ? on : "none"));
    TRY(row_uint(out, "referral commission", (unsigned)bc->referral_percent, " %"));
    TRY(row_uint(out, "first payment bonus", (unsigned)bc->first_bonus_percent, " %"));
    return row_uint(out, "invoice lifetime", (unsigned)bc->invoice_ttl, " s");
}

static int settings_html(struct buf *out, const struct view *v)
{
    TRY(admin_put(out, "<p class=\"muted\">Read-only: edit hub.json and send SIGHUP (or restart, for the settings "
                       "the log names). Secrets are never shown.</p><section class=\"card\" aria-labelledby=\"h-srv\">"
                       "<h2 id=\"h-srv\">Server</h2><dl id=\"settings\">"));
    TRY(row_str(out, "listen", v->listen));
    TRY(row_uint(out, "port", v->port, ""));
    TRY(row_uint(out, "threads", v->threads, ""));
    TRY(admin_putf(out, "<dt>trusted proxies</dt><dd>%zu</dd>", v->n_trusted_proxies));
    TRY(row_str(out, "database", v->database));
    TRY(row_uint(out, "database pool", v->db_pool, ""));
    TRY(row_str(out, "redis", v->redis ? "configured (URL hidden)" : "off: in-process cache"));
    TRY(row_str(out, "admin token in config", v->admin_token ? "set (hidden)" : "not set"));
    TRY(row_str(out, "log level", log_level_name((enum log_level)v->log_level)));
    TRY(admin_put(out, "</dl></section><section class=\"card\" aria-labelledby=\"h-sub\"><h2 id=\"h-sub\">"
                       "Subscriptions and nodes</h2><dl>"));
    TRY(row_str(out, "public URL", v->public_url));
    TRY(row_str(out, "title", v->sub_title));
    TRY(row_uint(out, "update interval", v->sub_update_hours, " h"));
    TRY(row_str(out, "support URL", v->support_url));
    TRY(row_str(out, "renew URL", v->renew_url));
    TRY(row_str(out, "Xray JSON format", v->xray_json ? "on" : "off"));
    TRY(row_uint(out, "node sync interval", v->sync_interval, " s"));
    TRY(row_uint(out, "node dead after", v->node_dead_after, " s"));
    TRY(row_uint(out, "hot CPU", v->hot_cpu_percent, " %"));
    TRY(row_uint(out, "hot connections", v->hot_connections, ""));
    TRY(row_uint(out, "probe interval", v->probe_interval, " s"));
    TRY(admin_put(out, "</dl></section><section class=\"card\" aria-labelledby=\"h-ops\"><h2 id=\"h-ops\">"
                       "Scheduler, cache, limits, billing</h2><dl>"));
    TRY(row_str(out, "scheduler", v->sched_enabled ? "on" : "off"));
    TRY(row_uint(out, "scheduler interval", v->sched_interval, " s"));
    TRY(row_uint(out, "/sub cache", v->sub_ttl_ms, " ms"));
    TRY(row_uint(out, "sync cache", v->sync_ttl_ms, " ms"));
    TRY(row_uint(out, "memory cache", v->cache_mb, " MB"));
    TRY(row_uint(out, "rate window", v->rate_window, " s"));
    TRY(row_uint(out, "requests per address", v->rate_per_ip, ""));
    TRY(row_uint(out, "requests per token", v->rate_per_token, ""));
    TRY(billing_rows(out));
    return admin_put(out, "</dl></section>\n");
}

static void on_settings(struct api_call *c)
{
    struct admin_session s;
    if (!admin_viewer(c, &s))
        return;
    pthread_mutex_lock(&mu);
    struct view v = view;
    pthread_mutex_unlock(&mu);
    struct buf b;
    buf_init(&b);
    int rc = admin_layout_top(&b, "Settings", &s);
    if (rc == 0)
        rc = v.set ? settings_html(&b, &v) : admin_put(&b, "<p>This hub has not published its settings.</p>");
    if (rc == 0)
        rc = admin_layout_end(&b);
    admin_send_page(c, 200, &b, rc);
}

void admin_settings_routes(void)
{
    api_route_add("GET", "/admin/settings", API_AUTH_NONE, on_settings);
}
