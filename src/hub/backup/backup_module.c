/* The backup module (hub/backup/backup.h): {"backup": {"dir", "interval_sec", "keep"}} in
 * hub.json makes a hub on SQLite copy its database every interval_sec seconds into dir and keep
 * the newest keep copies. On PostgreSQL the section is ignored (logged): use pgBackRest
 * (docs/deploy.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/backup/backup.h"
#include "hub/module.h"
#include "hub/scheduler/scheduler.h"

#define BACKUP_INTERVAL_MIN 1
#define BACKUP_INTERVAL_MAX (7 * 86400)
#define BACKUP_KEEP_MAX 10000

struct backup_job {
    char db_path[1024];
    char dir[1024];
    unsigned interval;
    unsigned keep;
};

/* Checks the section and fills j's dir, interval and keep. */
static int parse(const json_t *section, struct backup_job *j, char *err, size_t errcap)
{
    const char *key;
    const json_t *v;
    if (!json_is_object(section)) {
        snprintf(err, errcap, "must be an object {\"dir\", \"interval_sec\", \"keep\"}");
        return ERR_CONFIG;
    }
    json_object_foreach((json_t *)section, key, v)
    {
        if (strcmp(key, "dir") != 0 && strcmp(key, "interval_sec") != 0 && strcmp(key, "keep") != 0) {
            snprintf(err, errcap, "unknown key \"%.64s\"", key);
            return ERR_CONFIG;
        }
    }
    v = json_object_get(section, "dir");
    if (!json_is_string(v) || json_string_value(v)[0] != '/' || strlen(json_string_value(v)) >= sizeof j->dir - 64) {
        snprintf(err, errcap, "dir: an absolute directory path for the copies is required");
        return ERR_CONFIG;
    }
    snprintf(j->dir, sizeof j->dir, "%s", json_string_value(v));
    v = json_object_get(section, "interval_sec");
    if (!json_is_integer(v) || json_integer_value(v) < BACKUP_INTERVAL_MIN ||
        json_integer_value(v) > BACKUP_INTERVAL_MAX) {
        snprintf(err, errcap, "interval_sec: seconds between copies, %d to %d, is required", BACKUP_INTERVAL_MIN,
                 BACKUP_INTERVAL_MAX);
        return ERR_CONFIG;
    }
    j->interval = (unsigned)json_integer_value(v);
    v = json_object_get(section, "keep");
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > BACKUP_KEEP_MAX) {
        snprintf(err, errcap, "keep: how many copies to keep, 1 to %d, is required", BACKUP_KEEP_MAX);
        return ERR_CONFIG;
    }
    j->keep = (unsigned)json_integer_value(v);
    return 0;
}

static int check(const json_t *section, char *err, size_t errcap)
{
    struct backup_job j;
    if (section == NULL || json_is_null(section))
        return 0;
    return parse(section, &j, err, errcap);
}

/* Every replica copies its own file: a SQLite hub is one process on one machine. */
static int job_backup(struct sched_pass *p, void *ctx)
{
    const struct backup_job *j = ctx;
    return hub_backup_run(j->db_path, j->dir, j->keep, p->now);
}

static int start(struct hub_env *env, void **state)
{
    const json_t *section = hub_env_section(env, "backup");
    if (section == NULL || json_is_null(section))
        return 0;
    struct backup_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return ERR_NOMEM;
    char err[256] = "";
    int rc = parse(section, j, err, sizeof err);
    const char *db = env->cfg->database;
    if (rc == 0 && (strncmp(db, "sqlite:", 7) != 0 || strstr(db, ":memory:") != NULL)) {
        log_warn("backup", 0, "backup_section_ignored",
                 LF_STR("why", "the backup section copies a SQLite database file; on PostgreSQL use pgBackRest"));
        free(j);
        return 0;
    }
    if (rc == 0) {
        snprintf(j->db_path, sizeof j->db_path, "%s", db + 7);
        if (!env->cfg->sched_enabled)
            log_warn("backup", 0, "backup_not_scheduled", LF_STR("why", "scheduler.enabled is false"));
        rc = sched_job_add("sqlite_backup", j->interval, job_backup, j, false);
    }
    if (rc < 0) {
        log_err("backup", 0, "backup_setup_failed", LF_STR("err", err_str(rc)), LF_STR("why", err));
        free(j);
        return rc;
    }
    log_info("backup", 0, "backup_scheduled", LF_STR("dir", j->dir), LF_UINT("interval_sec", j->interval),
             LF_UINT("keep", j->keep));
    *state = j;
    return 0;
}

static void stop(struct hub_env *env, void *state)
{
    (void)env;
    if (state == NULL)
        return;
    sched_job_remove("sqlite_backup");
    free(state);
}

HUB_MODULE(backup) = {
    .name = "backup",
    .order = 46,
    .section = "backup",
    .settings_check = check,
    .start = start,
    .stop = stop,
};
