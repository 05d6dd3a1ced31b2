/* SQLite online backup, file naming and retention (hub/backup/backup.h). */
#include "hub/backup/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"

#define BACKUP_BUSY_MS 10000

static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_success;

static int sqlite_fail(sqlite3 *db, const char *what, char *err, size_t errcap)
{
    snprintf(err, errcap, "%s: %s", what, db ? sqlite3_errmsg(db) : "cannot allocate");
    return ERR_IO;
}

/* The copy itself, into tmp (already created empty, 0600). */
static int copy_into(const char *db_path, const char *tmp, char *err, size_t errcap)
{
    sqlite3 *src = NULL, *dst = NULL;
    int rc = 0;
    if (sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        rc = sqlite_fail(src, db_path, err, errcap);
        goto out;
    }
    sqlite3_busy_timeout(src, BACKUP_BUSY_MS);
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = sqlite_fail(dst, tmp, err, errcap);
        goto out;
    }
    sqlite3_busy_timeout(dst, BACKUP_BUSY_MS);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (b == NULL) {
        rc = sqlite_fail(dst, "backup_init", err, errcap);
        goto out;
    }
    /* -1: every page in one step, under one read transaction of src: one consistent snapshot. */
    int step = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (step != SQLITE_DONE) {
        snprintf(err, errcap, "backup_step: %s", sqlite3_errstr(step));
        rc = ERR_IO;
    }
out:
    sqlite3_close(dst);
    sqlite3_close(src);
    return rc;
}

int hub_backup_sqlite(const char *db_path, const char *dest, char *err, size_t errcap)
{
    char tmp[4096];
    err[0] = '\0';
    if (access(dest, F_OK) == 0) {
        snprintf(err, errcap, "%s exists", dest);
        return ERR_EXISTS;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", dest) >= (int)sizeof tmp) {
        snprintf(err, errcap, "path too long");
        return ERR_TOO_LONG;
    }
    unlink(tmp); /* a leftover of an interrupted run */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
        return ERR_IO;
    }
    close(fd);
    int rc = copy_into(db_path, tmp, err, errcap);
    if (rc == 0 && chmod(tmp, 0600) != 0) { /* SQLite keeps the mode, but be explicit */
        snprintf(err, errcap, "chmod %s: %s", tmp, strerror(errno));
        rc = ERR_IO;
    }
    /* link() refuses an existing name, so a copy made meanwhile under dest is never replaced. */
    if (rc == 0 && link(tmp, dest) != 0) {
        rc = errno == EEXIST ? ERR_EXISTS : ERR_IO;
        snprintf(err, errcap, "%s: %s", dest, strerror(errno));
    }
    unlink(tmp);
    return rc;
}

int hub_backup_name(const char *dir, int64_t now, char *out, size_t cap)
{
    time_t t = (time_t)now;
    struct tm tm;
    char stamp[32];
    if (gmtime_r(&t, &tm) == NULL || strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0)
        return ERR_RANGE;
    int n = snprintf(out, cap, "%s/hub-%s.db", dir, stamp);
    return n < 0 || (size_t)n >= cap ? ERR_TOO_LONG : 0;
}

/* hub-YYYYMMDDTHHMMSSZ.db: the names this module writes (so sorting names sorts by time). */
static bool is_backup_name(const char *s)
{
    static const char pat[] = "hub-########T######Z.db";
    if (strlen(s) != sizeof pat - 1)
        return false;
    for (size_t i = 0; pat[i] != '\0'; i++)
        if (pat[i] == '#' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
            return false;
    return true;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int hub_backup_prune(const char *dir, unsigned keep, unsigned *removed)
{
    *removed = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_backup_name(e->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (nn == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            names = nn;
            cap = ncap;
        }
        if ((names[n] = strdup(e->d_name)) == NULL) {
            rc = ERR_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0 && n > keep) {
        qsort(names, n, sizeof *names, cmp_names);
        for (size_t i = 0; i < n - keep; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            if (unlink(path) == 0)
                (*removed)++;
            else
                rc = -errno;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int hub_backup_run(const char *db_path, const char *dir, unsigned keep, int64_t now)
{
    char dest[4096], err[512];
    struct timespec t0, t1;
    int rc = hub_backup_name(dir, now, dest, sizeof dest);
    if (rc < 0) {
        log_warn("backup", 0, "backup_failed", LF_STR("dir", dir), LF_STR("err", err_str(rc)));
        return rc;
    }
    /* The directory holds every customer's credentials: made 0700 when missing (not its parents). */
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        log_warn("backup", 0, "backup_mkdir_failed", LF_STR("dir", dir), LF_STR("err", strerror(errno)));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = hub_backup_sqlite(db_path, dest, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) {
        log_warn("backup", 0, "backup_failed", LF_STR("file", dest), LF_STR("err", err_str(rc)), LF_STR("why", err));
        return rc;
    }
    struct stat sb;
    int64_t bytes = stat(dest, &sb) == 0 ? (int64_t)sb.st_size : -1;
    unsigned removed = 0;
    int prc = hub_backup_prune(dir, keep, &removed);
    pthread_mutex_lock(&last_mu);
    last_success = now;
    pthread_mutex_unlock(&last_mu);
    log_info("backup", 0, "backup_done", LF_STR("file", dest), LF_INT("bytes", bytes),
             LF_DBL("seconds", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9),
             LF_UINT("pruned", removed));
    if (prc < 0)
        log_warn("backup", 0, "backup_prune_failed", LF_STR("dir", dir), LF_STR("err", err_str(prc)));
    return 0;
}

int64_t hub_backup_last_success(void)
{
    pthread_mutex_lock(&last_mu);
    int64_t v = last_success;
    pthread_mutex_unlock(&last_mu);
    return v;
}
