/* veil-hub: the control plane daemon.
 *   veil-hub -c hub.json                      run (SIGTERM/SIGINT: graceful stop; SIGHUP: re-read
 *                                             what can change live, log what needs a restart)
 *   veil-hub -c hub.json --create-admin-token [--role admin|support] [--name NAME]
 *                                             print a new API token (stored hashed) and exit
 *   veil-hub -c hub.json --migrate            apply database migrations and exit */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "core/secure.h"
#include "hub/api/api.h"
#include "hub/cache/cache.h"
#include "hub/domain/rules.h"
#include "hub/hubcfg.h"
#include "hub/scheduler/scheduler.h"
#include "hub/store/store.h"

/* SIGHUP: applies log level, subscription title / interval / support URL and rate limits from
 * the file; names the rest that changed (those need a restart). The running config is kept
 * when the file does not parse. */
static void reload(const char *path, struct hub_cfg *cur, const char *boot_hash, struct api_server *srv)
{
    struct hub_cfg n;
    char err[256];
    if (hubcfg_load(path, &n, err, sizeof err) < 0) {
        log_err("hub", 0, "reload_failed", LF_STR("err", err), LF_STR("kept", "running configuration"));
        return;
    }
    char restart[512];
    hubcfg_diff_restart(cur, &n, restart, sizeof restart);
    char h[65] = "";
    if (n.admin_token[0])
        api_token_hash(n.admin_token, strlen(n.admin_token), h);
    secure_wipe(n.admin_token, sizeof n.admin_token);
    if (strcmp(h, boot_hash) != 0 && strlen(restart) + 13 < sizeof restart)
        strcat(strcat(restart, restart[0] ? "," : ""), "admin_token");
    struct api_settings set = {.update_interval_hours = n.sub_update_hours,
                               .rate_window = n.rate_window,
                               .rate_per_ip = n.rate_per_ip,
                               .rate_per_token = n.rate_per_token};
    snprintf(set.profile_title, sizeof set.profile_title, "%s", n.sub_title);
    snprintf(set.support_url, sizeof set.support_url, "%s", n.support_url);
    if (api_reconfigure(srv, &set) < 0) {
        log_err("hub", 0, "reload_failed", LF_STR("err", "out of memory"));
        return;
    }
    /* log__min_level is atomic; still only written when it changes. */
    if (n.log_level != cur->log_level)
        log_setup((enum log_level)n.log_level, 2);
    /* Keep what was applied; the rest stays as running until a restart. */
    cur->log_level = n.log_level;
    memcpy(cur->sub_title, n.sub_title, sizeof cur->sub_title);
    cur->sub_update_hours = n.sub_update_hours;
    memcpy(cur->support_url, n.support_url, sizeof cur->support_url);
    cur->rate_window = n.rate_window;
    cur->rate_per_ip = n.rate_per_ip;
    cur->rate_per_token = n.rate_per_token;
    log_info("hub", 0, "reloaded", LF_STR("log_level", log_level_name((enum log_level)n.log_level)),
             LF_STR("title", n.sub_title), LF_UINT("update_interval_hours", n.sub_update_hours),
             LF_UINT("rate_window", n.rate_window), LF_UINT("rate_per_ip", n.rate_per_ip),
             LF_UINT("rate_per_token", n.rate_per_token));
    if (restart[0])
        log_warn("hub", 0, "restart_needed", LF_STR("changed", restart),
                 LF_STR("why", "these settings apply at start only; running with the old values"));
}

static void usage(void)
{
    fprintf(stderr, "usage: veil-hub -c hub.json [--create-admin-token [--role admin|support] [--name NAME]]"
                    " [--migrate]\n");
}

/* The URL without credentials, for logs. */
static void redact_url(const char *url, char *out, size_t cap)
{
    const char *at = strchr(url, '@'), *scheme = strstr(url, "://");
    int n; /* using the result tells gcc that truncation is expected (long URLs are cut) */
    if (at != NULL && scheme != NULL && scheme < at)
        n = snprintf(out, cap, "%.*s***%s", (int)(scheme + 3 - url), url, at);
    else
        n = snprintf(out, cap, "%s", url);
    if (n < 0 && cap > 0)
        out[0] = '\0';
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL, *role_name = "admin", *token_name = "cli";
    bool create_token = false, migrate_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (strcmp(argv[i], "--create-admin-token") == 0) {
            create_token = true;
        } else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            role_name = argv[++i];
        } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
            token_name = argv[++i];
        } else if (strcmp(argv[i], "--migrate") == 0) {
            migrate_only = true;
        } else {
            usage();
            return 2;
        }
    }
    if (cfg_path == NULL) {
        usage();
        return 2;
    }
    struct hub_cfg cfg;
    char err[256];
    if (hubcfg_load(cfg_path, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "veil-hub: %s: %s\n", cfg_path, err);
        return 2; /* usage/config errors exit 2, like veil-node */
    }
    log_setup((enum log_level)cfg.log_level, 2);
    int role = hub_role_parse(role_name);
    if (role < 0) {
        fprintf(stderr, "veil-hub: --role must be admin or support\n");
        return 2;
    }

    char dbshow[256];
    redact_url(cfg.database, dbshow, sizeof dbshow);
    struct store *st = NULL;
    int rc = store_open(cfg.database, cfg.db_pool, &st);
    int version = 0;
    if (rc == 0)
        rc = store_migrate(st, &version);
    if (rc < 0) {
        log_err("hub", 0, "database_failed", LF_STR("database", dbshow), LF_STR("err", err_str(rc)));
        store_close(st);
        return 1;
    }
    log_info("hub", 0, "database_ready", LF_STR("backend", store_backend(st)), LF_INT("schema", version));
    if (migrate_only) {
        store_close(st);
        return 0;
    }
    int64_t now = (int64_t)time(NULL);
    if (create_token) {
        char tok[HUB_TOKEN_MAX + 1];
        rc = api_token_create(st, token_name, (enum hub_role)role, now, tok);
        if (rc == 0)
            printf("%s\n", tok);
        secure_wipe(tok, sizeof tok);
        store_close(st);
        return rc == 0 ? 0 : 1;
    }
    char boot_hash[65] = "";
    if (cfg.admin_token[0]) {
        char hash[65];
        rc = api_token_hash(cfg.admin_token, strlen(cfg.admin_token), hash);
        memcpy(boot_hash, hash, sizeof boot_hash);
        if (rc == 0)
            rc = store_token_ensure(st, "bootstrap", hash, HUB_ROLE_ADMIN, now);
        secure_wipe(cfg.admin_token, sizeof cfg.admin_token);
        if (rc < 0) {
            log_err("hub", 0, "bootstrap_token_failed", LF_STR("err", err_str(rc)));
            store_close(st);
            return 1;
        }
    }

    /* Signals are taken synchronously by this thread; workers inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct hcache *cache = NULL;
    struct hcache_cfg ccfg = {.redis_url = cfg.redis_url,
                              .timeout_ms = cfg.redis_timeout_ms,
                              .pool = cfg.redis_pool ? cfg.redis_pool : cfg.threads + 2,
                              .mem_max = (size_t)cfg.cache_mb << 20,
                              .prefix = cfg.redis_prefix,
                              .near_ms = cfg.sub_ttl_ms};
    if ((rc = hcache_open(&ccfg, &cache, err, sizeof err)) < 0) {
        log_err("hub", 0, "cache_failed", LF_STR("err", rc == ERR_CONFIG ? err : err_str(rc)));
        store_close(st);
        return 1;
    }
    char redis_show[256] = "";
    redact_url(cfg.redis_url, redis_show, sizeof redis_show);
    struct api_cfg acfg = {
        .listen_addr = cfg.listen,
        .port = cfg.port,
        .threads = cfg.threads,
        .body_max = cfg.body_max,
        .trusted_proxies = cfg.trusted_proxies,
        .n_trusted_proxies = cfg.n_trusted_proxies,
        .profile_title = cfg.sub_title,
        .update_interval_hours = cfg.sub_update_hours,
        .support_url = cfg.support_url,
        .public_url = cfg.public_url,
        .xray_json = cfg.xray_json,
        .cache = cache,
        .sub_cache_ms = cfg.sub_ttl_ms,
        .sync_cache_ms = cfg.sync_ttl_ms,
        .rate_window = cfg.rate_window,
        .rate_per_ip = cfg.rate_per_ip,
        .rate_per_token = cfg.rate_per_token,
    };
    struct api_server *srv = NULL;
    if ((rc = api_start(&acfg, st, &srv)) < 0) {
        hcache_close(cache);
        store_close(st);
        return 1;
    }
    /* A node that missed several sync rounds leaves subscriptions until it pushes again. */
    int64_t node_stale = (int64_t)cfg.sync_interval * 4 > 120 ? (int64_t)cfg.sync_interval * 4 : 120;
    struct sched *sched = cfg.sched_enabled ? sched_start_cached(st, cache, cfg.sched_interval, node_stale) : NULL;
    log_info("hub", 0, "listening", LF_STR("addr", cfg.listen), LF_UINT("port", api_port(srv)),
             LF_STR("database", dbshow), LF_BOOL("scheduler", sched != NULL), LF_STR("cache", hcache_mode(cache)),
             LF_STR("redis", redis_show));
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(cfg_path, &cfg, boot_hash, srv);
            continue;
        }
        log_info("hub", 0, "stopping", LF_INT("signal", sig));
        break;
    }
    sched_stop(sched);
    api_stop(srv);
    hcache_close(cache);
    store_close(st);
    log_info("hub", 0, "stopped");
    return 0;
}
