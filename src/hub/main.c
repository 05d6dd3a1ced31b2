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
 *                                             while hubs keep running, and exit
 *   veil-hub -c hub.json --rotate-key [--new-master-key-file PATH] [--keep-data-key]
 *                                             column encryption: a new data key (unless kept) and every
 *                                             row re-encrypted in batches while hubs keep running; with
 *                                             PATH, the keys re-wrapped under that master key */
#include <inttypes.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
#include "hub/seal/seal.h"
#include "hub/store/store.h"

static void usage(void)
{
    fprintf(stderr, "usage: veil-hub -c hub.json [--check] [--create-admin-token [--role admin|support] [--name NAME]]"
                    " [--migrate] [--verify-audit] [--export-audit [--after ID]] [--backup-now PATH]"
                    " [--rotate-key [--new-master-key-file PATH] [--keep-data-key]]\n");
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

/* Column encryption at start: the master key from master_key_file, else the systemd credential
 * "master_key" when there is one. Without a key a plaintext database runs with a warning (the
 * quick start), and one holding encrypted rows is refused. 0, or the exit code. */
static int seal_start(const struct hub_cfg *cfg, struct store *st)
{
    const char *file = cfg->master_key_file[0] ? cfg->master_key_file : NULL;
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    char cred[4096];
    if (file == NULL && dir != NULL && dir[0] != '\0') {
        snprintf(cred, sizeof cred, "%s/master_key", dir);
        if (access(cred, F_OK) == 0)
            file = "master_key";
    }
    char why[512];
    int rc;
    if (file == NULL) {
        bool keyed = false;
        if ((rc = store_seal_keyed(st, &keyed)) < 0) {
            fprintf(stderr, "veil-hub: cannot read the encryption keys table: %s\n", err_str(rc));
            return 1;
        }
        if (keyed) {
            fprintf(stderr, "veil-hub: the database's personal columns are encrypted, but no master key is "
                            "configured: set master_key_file (or the systemd credential master_key)\n");
            log_err("hub", 0, "encryption_key_missing");
            return 2;
        }
        log_warn("hub", 0, "encryption_disabled",
                 LF_STR("why", "no master_key_file: Telegram ids, usernames and payment details are stored in "
                               "plaintext (docs/security.md)"));
        return 0;
    }
    uint8_t key[SEAL_KEY_LEN];
    if (seal_master_load(file, key, why, sizeof why) < 0) {
        fprintf(stderr, "veil-hub: master_key_file: %s\n", why);
        log_err("hub", 0, "encryption_key_unusable", LF_STR("why", why));
        return 2;
    }
    int64_t sealed = 0;
    rc = store_seal_open(st, key, (int64_t)time(NULL), &sealed, why, sizeof why);
    secure_wipe(key, sizeof key);
    if (rc < 0) {
        fprintf(stderr, "veil-hub: column encryption: %s\n", why);
        log_err("hub", 0, "encryption_failed", LF_STR("why", why));
        return 1;
    }
    log_info("hub", 0, "encryption_enabled", LF_INT("sealed_rows", sealed));
    return 0;
}

/* --rotate-key: 0 when every row is under the new key, 1 otherwise. */
static int rotate_key(struct store *st, const char *new_master_file, bool new_data_key)
{
    uint8_t key[SEAL_KEY_LEN];
    char why[512];
    if (new_master_file != NULL && seal_master_load(new_master_file, key, why, sizeof why) < 0) {
        fprintf(stderr, "veil-hub: --new-master-key-file: %s\n", why);
        return 1;
    }
    struct store_rotation rot;
    int rc = store_seal_rotate(st, new_master_file ? key : NULL, new_data_key, 0, (int64_t)time(NULL), &rot, why,
                               sizeof why);
    secure_wipe(key, sizeof key);
    if (rc < 0) {
        fprintf(stderr, "veil-hub: --rotate-key: %s\n", why);
        return 1;
    }
    printf("rotated: data key %u; re-encrypted %" PRId64 " users, %" PRId64 " tombstones, %" PRId64
           " payments, %" PRId64 " TOTP secrets; %" PRId64 " old data keys deleted%s\n",
           (unsigned)rot.key_id, rot.users, rot.tombstones, rot.payments, rot.totp_secrets, rot.retired,
           rot.rewrapped ? "; keys now wrapped by the new master key: point master_key_file at it on every hub" : "");
    log_info("hub", 0, "key_rotated", LF_INT("data_key", rot.key_id), LF_INT("users", rot.users),
             LF_INT("payments", rot.payments), LF_BOOL("rewrapped", rot.rewrapped));
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
    const char *cfg_path = NULL, *role_name = "admin", *token_name = "cli", *backup_to = NULL, *new_master = NULL;
    bool create_token = false, migrate_only = false, verify = false, export = false, check_only = false, rotate = false,
         keep_data_key = false;
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
        } else if (strcmp(argv[i], "--rotate-key") == 0) {
            rotate = true;
        } else if (strcmp(argv[i], "--new-master-key-file") == 0 && i + 1 < argc) {
            new_master = argv[++i];
        } else if (strcmp(argv[i], "--keep-data-key") == 0) {
            keep_data_key = true;
        } else if (strcmp(argv[i], "--after") == 0 && i + 1 < argc && sscanf(argv[i + 1], "%lld", &after) == 1 &&
                   after >= 0) {
            i++;
        } else {
            usage();
            return 2;
        }
    }
    int role = hub_role_parse(role_name);
    if ((new_master != NULL || keep_data_key) && !rotate) {
        fprintf(stderr, "veil-hub: --new-master-key-file and --keep-data-key go with --rotate-key\n");
        return 2;
    }
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
    } else if ((exit_code = seal_start(&cfg, env.st)) != 0) {
        rc = 0; /* the reason is printed; exit_code says how it ended */
    } else {
        log_info("hub", 0, "database_ready", LF_STR("backend", store_backend(env.st)), LF_INT("schema", version));
        if (rotate) {
            exit_code = rotate_key(env.st, new_master, !keep_data_key);
        } else if (backup_to != NULL) {
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
