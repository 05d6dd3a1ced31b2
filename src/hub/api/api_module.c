/* The api module: the admin API, node sync, /sub and operations routes, and the HTTP server as
 * a service (started after the cache, before the scheduler). */
#include <stdio.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"
#include "hub/module.h"

#define API_BODY_MAX_USAGE (16u << 20) /* a node's usage push carries every user it served */

static const struct api_route routes[] = {
    {"GET", "/healthz", API_AUTH_NONE, api__healthz, 0, 0, API_SCOPE_ADMIN},
    {"POST", "/api/v1/users", API_AUTH_ADMIN, api__users_create, 0, 0, API_SCOPE_USERS},
    {"GET", "/api/v1/users", API_AUTH_READ, api__users_list, 0, 0, API_SCOPE_USERS},
    {"GET", "/api/v1/users/{id}", API_AUTH_READ, api__users_get, 0, 0, API_SCOPE_USERS},
    {"PATCH", "/api/v1/users/{id}", API_AUTH_ADMIN, api__users_patch, 0, 0, API_SCOPE_USERS},
    {"DELETE", "/api/v1/users/{id}", API_AUTH_ADMIN, api__users_delete, 0, 0, API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/disable", API_AUTH_ADMIN, api__users_disable, 0, 0, API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/enable", API_AUTH_ADMIN, api__users_enable, 0, 0, API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/rotate-token", API_AUTH_ADMIN, api__users_rotate_token, 0, 0, API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/rotate-uuid", API_AUTH_ADMIN, api__users_rotate_uuid, 0, 0, API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/balance", API_AUTH_ADMIN, api__users_balance, 0, 0, API_SCOPE_BILLING},
    {"GET", "/api/v1/users/{id}/subscriptions", API_AUTH_READ, api__users_subs, 0, 0, API_SCOPE_USERS},
    {"GET", "/api/v1/users/{id}/devices", API_AUTH_READ, api__users_devices, 0, 0, API_SCOPE_USERS},
    {"GET", "/api/v1/users/{id}/secrets", API_AUTH_ADMIN, api__users_secrets, 0, 0, API_SCOPE_USERS},
    {"DELETE", "/api/v1/devices/{id}", API_AUTH_ADMIN, api__devices_delete, 0, 0, API_SCOPE_USERS},
    {"POST", "/api/v1/plans", API_AUTH_ADMIN, api__plans_create, 0, 0, API_SCOPE_BILLING},
    {"GET", "/api/v1/plans", API_AUTH_READ, api__plans_list, 0, 0, API_SCOPE_BILLING},
    {"GET", "/api/v1/plans/{id}", API_AUTH_READ, api__plans_get, 0, 0, API_SCOPE_BILLING},
    {"PATCH", "/api/v1/plans/{id}", API_AUTH_ADMIN, api__plans_patch, 0, 0, API_SCOPE_BILLING},
    {"DELETE", "/api/v1/plans/{id}", API_AUTH_ADMIN, api__plans_delete, 0, 0, API_SCOPE_BILLING},
    {"POST", "/api/v1/subscriptions", API_AUTH_ADMIN, api__subs_grant, 0, 0, API_SCOPE_USERS},
    {"GET", "/api/v1/subscriptions/{id}", API_AUTH_READ, api__subs_get, 0, 0, API_SCOPE_USERS},
    {"POST", "/api/v1/subscriptions/{id}/extend", API_AUTH_ADMIN, api__subs_extend, 0, 0, API_SCOPE_USERS},
    {"POST", "/api/v1/subscriptions/{id}/revoke", API_AUTH_ADMIN, api__subs_revoke, 0, 0, API_SCOPE_USERS},
    {"POST", "/api/v1/payments", API_AUTH_ADMIN, api__payments_create, 0, 0, API_SCOPE_BILLING},
    {"GET", "/api/v1/users/{id}/payments", API_AUTH_READ, api__users_payments, 0, 0, API_SCOPE_BILLING},
    {"POST", "/api/v1/nodes", API_AUTH_ADMIN, api__nodes_create, 0, 0, API_SCOPE_NODES},
    {"GET", "/api/v1/nodes", API_AUTH_READ, api__nodes_list, 0, 0, API_SCOPE_NODES},
    {"GET", "/api/v1/nodes/{id}", API_AUTH_READ, api__nodes_get, 0, 0, API_SCOPE_NODES},
    {"PATCH", "/api/v1/nodes/{id}", API_AUTH_ADMIN, api__nodes_patch, 0, 0, API_SCOPE_NODES},
    {"DELETE", "/api/v1/nodes/{id}", API_AUTH_ADMIN, api__nodes_delete, 0, 0, API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/rotate-token", API_AUTH_ADMIN, api__nodes_rotate_token, 0, 0, API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/health", API_AUTH_ADMIN, api__nodes_health, 0, 0, API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/weight", API_AUTH_ADMIN, api__nodes_weight, 0, 0, API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/drain", API_AUTH_ADMIN, api__nodes_drain, 0, 0, API_SCOPE_NODES},
    {"GET", "/api/v1/stats", API_AUTH_READ, api__stats, 0, 0, API_SCOPE_READ},
    {"GET", "/metrics", API_AUTH_READ, api__metrics, 0, 0, API_SCOPE_READ},
    {"GET", "/api/v1/audit", API_AUTH_READ, api__audit_list, 0, 0, API_SCOPE_ADMIN},
    {"POST", "/api/v1/tokens", API_AUTH_ADMIN, api__tokens_create, 0, 0, API_SCOPE_ADMIN},
    {"GET", "/api/v1/tokens", API_AUTH_ADMIN, api__tokens_list, 0, 0, API_SCOPE_ADMIN},
    {"DELETE", "/api/v1/tokens/{id}", API_AUTH_ADMIN, api__tokens_revoke, 0, 0, API_SCOPE_ADMIN},
    {"GET", "/api/v1/node/users", API_AUTH_NODE, api__node_users, 0, 0, API_SCOPE_ADMIN},
    {"POST", "/api/v1/node/usage", API_AUTH_NODE, api__node_usage, API_BODY_MAX_USAGE, 0, API_SCOPE_ADMIN},
    {"GET", "/sub/{token}", API_AUTH_NONE, api__sub_page, 0, 0, API_SCOPE_ADMIN},
    {"GET", "/sub/{token}/{format}", API_AUTH_NONE, api__sub_page, 0, 0, API_SCOPE_ADMIN},
};

static void api_reg(void)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        api_route_add_ex(&routes[i]);
    api__totp_routes();
}

/* The "api" section: admin allowlist, lockout, TOTP (api_access.h). */
static int api_settings_check(const json_t *section, char *err, size_t errcap)
{
    struct api_access_cfg c;
    return api_access_cfg_parse(section, &c, err, errcap);
}

static int api_service_start(struct hub_env *env, void **state)
{
    const struct hub_cfg *cfg = env->cfg;
    struct api_cfg acfg = {
        .listen_addr = cfg->listen,
        .port = cfg->port,
        .threads = cfg->threads,
        .body_max = cfg->body_max,
        .trusted_proxies = cfg->trusted_proxies,
        .n_trusted_proxies = cfg->n_trusted_proxies,
        .limits = cfg->http,
        .profile_title = cfg->sub_title,
        .update_interval_hours = cfg->sub_update_hours,
        .support_url = cfg->support_url,
        .public_url = cfg->public_url,
        .page_color = cfg->page_color,
        .page_logo_url = cfg->page_logo_url,
        .renew_url = cfg->renew_url,
        .xray_json = cfg->xray_json,
        .cache = env->cache,
        .sub_cache_ms = cfg->sub_ttl_ms,
        .sync_cache_ms = cfg->sync_ttl_ms,
        .node_dead_after = cfg->node_dead_after,
        .place = {.hot_cpu_percent = cfg->hot_cpu_percent,
                  .hot_connections = cfg->hot_connections,
                  .cool_cpu_percent = cfg->cool_cpu_percent,
                  .cool_connections = cfg->cool_connections},
        .rate_window = cfg->rate_window,
        .rate_per_ip = cfg->rate_per_ip,
        .rate_per_token = cfg->rate_per_token,
    };
    char err[256];
    if (api_access_cfg_parse(hub_env_section(env, "api"), &acfg.access, err, sizeof err) < 0) {
        log_err("hub", 0, "config_invalid", LF_STR("err", err));
        return ERR_CONFIG;
    }
    struct api_server *srv = NULL;
    TRY(api_start(&acfg, env->st, &srv));
    env->api = srv;
    *state = srv;
    return 0;
}

/* Subscription title / interval / support URL and rate limits apply live. */
static void api_service_reload(struct hub_env *env, void *state, const struct hub_cfg *n)
{
    (void)env;
    struct api_settings set = {.update_interval_hours = n->sub_update_hours,
                               .rate_window = n->rate_window,
                               .rate_per_ip = n->rate_per_ip,
                               .rate_per_token = n->rate_per_token};
    snprintf(set.profile_title, sizeof set.profile_title, "%s", n->sub_title);
    snprintf(set.support_url, sizeof set.support_url, "%s", n->support_url);
    if (api_reconfigure(state, &set) < 0)
        log_err("hub", 0, "reload_failed", LF_STR("service", "api"), LF_STR("err", "out of memory"));
}

static void api_service_stop(struct hub_env *env, void *state)
{
    api_stop(state);
    env->api = NULL;
}

HUB_MODULE(api) = {
    .name = "api",
    .order = 30,
    .reg = api_reg,
    .section = "api",
    .settings_check = api_settings_check,
    .start = api_service_start,
    .reload = api_service_reload,
    .stop = api_service_stop,
};
