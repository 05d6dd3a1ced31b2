/* veil-hub: the control plane daemon.
 *   veil-hub -c hub.json                      run (SIGTERM/SIGINT: graceful stop)
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
#include "hub/domain/rules.h"
#include "hub/hubcfg.h"
#include "hub/scheduler/scheduler.h"
#include "hub/store/store.h"

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
        return 1;
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
    if (cfg.admin_token[0]) {
        char hash[65];
        rc = api_token_hash(cfg.admin_token, strlen(cfg.admin_token), hash);
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

    struct api_cfg acfg = {
        .listen_addr = cfg.listen,
        .port = cfg.port,
        .threads = cfg.threads,
        .body_max = cfg.body_max,
        .trust_forwarded = cfg.trust_forwarded,
        .profile_title = cfg.sub_title,
        .update_interval_hours = cfg.sub_update_hours,
        .support_url = cfg.support_url,
        .public_url = cfg.public_url,
        .xray_json = cfg.xray_json,
    };
    struct api_server *srv = NULL;
    if ((rc = api_start(&acfg, st, &srv)) < 0) {
        store_close(st);
        return 1;
    }
    /* A node that missed several sync rounds leaves subscriptions until it pushes again. */
    int64_t node_stale = (int64_t)cfg.sync_interval * 4 > 120 ? (int64_t)cfg.sync_interval * 4 : 120;
    struct sched *sched = cfg.sched_enabled ? sched_start(st, cfg.sched_interval, node_stale) : NULL;
    log_info("hub", 0, "listening", LF_STR("addr", cfg.listen), LF_UINT("port", api_port(srv)),
             LF_STR("database", dbshow), LF_BOOL("scheduler", sched != NULL));
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info("hub", 0, "sighup_ignored", LF_STR("why", "restart to apply a new config"));
            continue;
        }
        log_info("hub", 0, "stopping", LF_INT("signal", sig));
        break;
    }
    sched_stop(sched);
    api_stop(srv);
    store_close(st);
    log_info("hub", 0, "stopped");
    return 0;
}
