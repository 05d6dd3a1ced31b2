/* veil-hub: the control plane daemon.
 *   veil-hub -c hub.json                      run (SIGTERM/SIGINT: graceful stop; SIGHUP: re-read
 *                                             what can change live, log what needs a restart)
 *   veil-hub -c hub.json --create-admin-token [--role admin|support] [--name NAME]
 *                                             print a new API token (stored hashed) and exit
 *   veil-hub -c hub.json --check              validate the configuration (every mistake printed,
 *                                             exit 2), print "config OK" and exit 0
 *   veil-hub -c hub.json --migrate            apply database migrations and exit
 *   veil-hub -c hub.json --verify-audit       walk the audit log's hash chain: exit 0 when it holds,
 *                                             3 with the first broken link printed when it does not
 *   veil-hub -c hub.json --export-audit [--after ID]
 *                                             the audit rows (after id ID) as JSON lines on stdout
 *   veil-hub -c hub.json --backup-now PATH    copy the SQLite database to PATH (0600, must not exist)
 *                                             while hubs keep running, and exit */
#include <inttypes.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cfg.h"
#include "core/err.h"
#include "core/log.h"
#include "core/secret_file.h"
#include "core/secure.h"
#include "hub/api/api.h"
#include "hub/backup/backup.h"
#include "hub/cache/cache.h"
#include "hub/domain/rules.h"
#include "hub/hubcfg.h"
#include "hub/module.h"
#include "hub/store/store.h"

static void usage(void)
{
    fprintf(stderr, "usage: veil-hub -c hub.json [--check] [--create-admin-token [--role admin|support] [--name NAME]]"
                    " [--migrate] [--verify-audit] [--export-audit [--after ID]] [--backup-now PATH]\n");
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

/* The admin token from the file, stored hashed (its hash also tells SIGHUP whether it changed). */
static int bootstrap_token(struct store *st, struct hub_cfg *cfg, int64_t now, char boot_hash[static 65])
{
    boot_hash[0] = '\0';
    if (cfg->admin_token[0] == '\0')
        return 0;
    int rc = api_token_hash(cfg->admin_token, strlen(cfg->admin_token), boot_hash);
    secure_wipe(cfg->admin_token, sizeof cfg->admin_token);
    if (rc == 0)
        rc = store_token_ensure(st, "bootstrap", boot_hash, HUB_ROLE_ADMIN, now);
    if (rc < 0)
        log_err("hub", 0, "bootstrap_token_failed", LF_STR("err", err_str(rc)));
    return rc;
}

/* --verify-audit: 0 when the chain holds, 3 when a link is broken, 1 when it cannot be read. */
static int verify_audit(struct store *st)
{
    struct store_audit_verify v;
    int rc = store_audit_verify(st, &v);
    if (rc < 0) {
        fprintf(stderr, "veil-hub: cannot read the audit log: %s\n", err_str(rc));
        return 1;
    }
    if (!v.ok) {
        printf("audit log BROKEN at row %" PRId64 ": %s\n(%" PRId64 " rows verified before it)\n", v.broken_id, v.why,
               v.rows);
        return 3;
    }
    printf("audit log intact: %" PRId64 " rows, head row %" PRId64 " hash %s\n", v.rows, v.last_id, v.head);
    return 0;
}

/* --backup-now PATH: 0 when the copy is complete, 1 when it failed. */
static int backup_now(const struct hub_cfg *cfg, const char *dest)
{
    if (strncmp(cfg->database, "sqlite:", 7) != 0 || strstr(cfg->database, ":memory:") != NULL) {
        fprintf(stderr, "veil-hub: --backup-now copies a SQLite database file; on PostgreSQL use pgBackRest "
                        "(docs/deploy.md)\n");
        return 1;
    }
    char err[512];
    int rc = hub_backup_sqlite(cfg->database + 7, dest, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "veil-hub: backup failed: %s (%s)\n", err_str(rc), err);
        return 1;
    }
    printf("backup written to %s\n", dest);
    return 0;
}

/* One audit row as a JSON line: details embedded as JSON when they parse, else as a string. */
static int export_line(void *arg, const struct store_audit_cells *c)
{
    (void)arg;
    char when[32];
    time_t t = (time_t)c->at;
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    json_t *details = c->details ? json_loads(c->details, JSON_DECODE_ANY, NULL) : json_null();
    if (details == NULL)
        details = json_string(c->details);
    json_t *o =
        json_pack("{s:I, s:I, s:s, s:s?, s:s?, s:s?, s:s?, s:o?, s:s?, s:s?}", "id", (json_int_t)c->id, "at",
                  (json_int_t)c->at, "time", when, "actor", c->actor, "action", c->action, "target", c->target,
                  "source_ip", c->source_ip, "details", details, "prev_hash", c->prev_hash, "hash", c->row_hash);
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (line == NULL)
        return ERR_NOMEM;
    int rc = puts(line) < 0 ? -EIO : 0;
    free(line);
    return rc;
}

/* Runs the services until SIGTERM/SIGINT; SIGHUP reloads. */
static int serve(struct hub_env *env, struct hub_cfg *cfg, const char *dbshow)
{
    char boot_hash[65];
    if (bootstrap_token(env->st, cfg, (int64_t)time(NULL), boot_hash) < 0)
        return 1;
    /* Signals are taken synchronously by this thread; workers inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (hub_services_start(env) < 0)
        return 1;
    char redis_show[256];
    redact_url(cfg->redis_url, redis_show, sizeof redis_show);
    log_info("hub", 0, "listening", LF_STR("addr", cfg->listen), LF_UINT("port", env->api ? api_port(env->api) : 0),
             LF_STR("database", dbshow), LF_BOOL("scheduler", cfg->sched_enabled),
             LF_STR("cache", hcache_mode(env->cache)), LF_STR("redis", redis_show));
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            hub_services_reload(env, cfg, boot_hash);
            continue;
        }
        log_info("hub", 0, "stopping", LF_INT("signal", sig));
        break;
    }
    hub_services_stop(env);
    log_info("hub", 0, "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    secret_json_wipe_on_free(); /* the configuration document holds resolved secrets */
    const char *cfg_path = NULL, *role_name = "admin", *token_name = "cli", *backup_to = NULL;
    bool create_token = false, migrate_only = false, verify = false, export = false, check_only = false;
    long long after = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (strcmp(argv[i], "--create-admin-token") == 0) {
            create_token = true;
        } else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            role_name = argv[++i];
        } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
            token_name = argv[++i];
        } else if (strcmp(argv[i], "--backup-now") == 0 && i + 1 < argc) {
            backup_to = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0 || strcmp(argv[i], "-t") == 0) {
            check_only = true;
        } else if (strcmp(argv[i], "--migrate") == 0) {
            migrate_only = true;
        } else if (strcmp(argv[i], "--verify-audit") == 0) {
            verify = true;
        } else if (strcmp(argv[i], "--export-audit") == 0) {
            export = true;
        } else if (strcmp(argv[i], "--after") == 0 && i + 1 < argc && sscanf(argv[i + 1], "%lld", &after) == 1 &&
                   after >= 0) {
            i++;
        } else {
            usage();
            return 2;
        }
    }
    int role = hub_role_parse(role_name);
    if (cfg_path == NULL || role < 0) {
        if (role < 0)
            fprintf(stderr, "veil-hub: --role must be admin or support\n");
        else
            usage();
        return 2;
    }
    struct hub_cfg cfg;
    struct hub_env env = {.cfg = &cfg, .cfg_path = cfg_path};
    struct cfg_ctx cc;
    cfg_init(&cc, cfg_path);
    int loaded = hubcfg_read_file(&cc, cfg_path, &cfg, &env.doc);
    cfg_print(&cc, stderr); /* every mistake, each with its path */
    cfg_dispose(&cc);
    if (loaded < 0) {
        if (loaded == ERR_NOMEM)
            fprintf(stderr, "veil-hub: %s: out of memory\n", cfg_path);
        return 2; /* usage/config errors exit 2, like veil-node */
    }
    if (check_only) { /* like veil-node --check: validate and stop before the database */
        secure_wipe(cfg.admin_token, sizeof cfg.admin_token);
        json_decref(env.doc);
        printf("config OK\n");
        return 0;
    }
    log_setup((enum log_level)cfg.log_level, 2);

    char dbshow[256];
    redact_url(cfg.database, dbshow, sizeof dbshow);
    int version = 0, exit_code = 0, rc = store_open(cfg.database, cfg.db_pool, &env.st);
    if (rc == 0)
        rc = store_migrate(env.st, &version);
    if (rc < 0) {
        log_err("hub", 0, "database_failed", LF_STR("database", dbshow), LF_STR("err", err_str(rc)));
    } else {
        log_info("hub", 0, "database_ready", LF_STR("backend", store_backend(env.st)), LF_INT("schema", version));
        if (backup_to != NULL) {
            exit_code = backup_now(&cfg, backup_to);
        } else if (verify) {
            exit_code = verify_audit(env.st);
        } else if (export) {
            rc = store_audit_export(env.st, (int64_t)after, export_line, NULL);
            if (rc == 0 && fflush(stdout) != 0)
                rc = -EIO;
            if (rc < 0)
                fprintf(stderr, "veil-hub: audit export failed: %s\n", err_str(rc));
        } else if (create_token) {
            char tok[HUB_TOKEN_MAX + 1];
            int64_t now = (int64_t)time(NULL), id = 0;
            rc = api_token_create_id(env.st, token_name, (enum hub_role)role, now, tok, &id);
            if (rc == 0) {
                /* An admin change like any other: audited, by whoever runs the hub's binary. */
                char det[64], target[32];
                snprintf(det, sizeof det, "{\"role\":\"%s\"}", hub_role_name((enum hub_role)role));
                snprintf(target, sizeof target, "token:%lld", (long long)id);
                struct store_audit a = {.actor = "cli", .action = "token.create", .target = target, .details = det};
                rc = store_audit_add(env.st, &a, now);
            }
            if (rc == 0)
                printf("%s\n", tok);
            secure_wipe(tok, sizeof tok);
        } else if (!migrate_only) {
            rc = serve(&env, &cfg, dbshow) == 0 ? 0 : -1;
        }
    }
    secure_wipe(cfg.admin_token, sizeof cfg.admin_token);
    store_close(env.st);
    json_decref(env.doc);
    return rc != 0 ? 1 : exit_code;
}
