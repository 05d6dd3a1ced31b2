/* Online backups of a SQLite hub database (the "backup" section of hub.json, veil-hub
 * --backup-now). A copy is taken with SQLite's backup API from a connection of its own, in one
 * step under one read transaction: with WAL, writers go on and the copy is the database as of
 * one commit. Copies are written 0600 (they hold every customer's credentials), under a temporary
 * name first and renamed, so a file named hub-*.db is always complete. */
#ifndef VEIL_HUB_BACKUP_H
#define VEIL_HUB_BACKUP_H

#include <stddef.h>
#include <stdint.h>

/* Copies the SQLite database file db_path to dest (which must not exist) with mode 0600.
 * ERR_EXISTS when dest exists, ERR_IO (with the reason in err) on a SQLite or file error. */
int hub_backup_sqlite(const char *db_path, const char *dest, char *err, size_t errcap);

/* The name of the copy taken at now (UTC seconds) in dir: dir/hub-YYYYMMDDTHHMMSSZ.db. */
int hub_backup_name(const char *dir, int64_t now, char *out, size_t cap);

/* Deletes the oldest hub-*.db copies in dir so that at most keep remain; *removed gets how
 * many went. Other files are left alone. */
int hub_backup_prune(const char *dir, unsigned keep, unsigned *removed);

/* One scheduled backup: copy to dir, prune to keep, log, record the success time. */
int hub_backup_run(const char *db_path, const char *dir, unsigned keep, int64_t now);

/* UTC seconds of the last successful backup of this process, 0 for none yet. */
int64_t hub_backup_last_success(void);

#endif
