/* SQLite online backups (hub/backup/backup.h): copies taken while two threads write are whole
 * databases as of one commit (every user has its audit row, the audit chain verifies), a copy
 * put back in place of the database file brings its rows back, copies are 0600, retention keeps
 * the newest `keep`, and the section of hub.json is checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "hub/backup/backup.h"
#include "hub/module.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define T0 1764115200 /* 2025-11-26T00:00:00Z */
#define PER_WRITER 150

struct writer {
    struct store *st;
    int base;
    atomic_int *done;
    int failures;
};

static void mk_user(struct hub_user *u, int n)
{
    char name[24];
    snprintf(name, sizeof name, "user%d", n);
    hub_test_user(u, name, n);
}

static void *write_users(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < PER_WRITER; i++) {
        struct hub_user u;
        mk_user(&u, w->base + i);
        char target[32];
        snprintf(target, sizeof target, "user:%d", w->base + i);
        struct store_audit a = {.actor = "test", .action = "user.create", .target = target};
        if (store_user_create(w->st, &u, T0, &a) != 0)
            w->failures++;
    }
    atomic_fetch_add(w->done, 1);
    return NULL;
}

static int64_t count_users(struct store *st)
{
    struct store_stats s;
    assert_int_equal(store_stats_get(st, &s), 0);
    return s.users;
}

/* The copy at path opens as a hub database, every user has its audit row and the chain holds. */
static int64_t check_copy(const char *path)
{
    char url[600];
    snprintf(url, sizeof url, "sqlite:%s", path);
    struct store *st = NULL;
    assert_int_equal(store_open(url, 1, &st), 0);
    int64_t users = count_users(st);
    struct store_audit_verify v;
    assert_int_equal(store_audit_verify(st, &v), 0);
    assert_true(v.ok);
    assert_int_equal(v.rows, users); /* one commit: no user without its audit row, no row without its user */
    store_close(st);
    return users;
}

static void test_backup_while_writing_then_restore(void **state)
{
    (void)state;
    char dir[] = "/tmp/veil-backup-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[256], url[300];
    snprintf(db, sizeof db, "%s/hub.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", db);
    struct store *st = NULL;
    assert_int_equal(store_open(url, 4, &st), 0);
    int version;
    assert_int_equal(store_migrate(st, &version), 0);

    atomic_int done = 0;
    struct writer w[2] = {{.st = st, .base = 1000, .done = &done}, {.st = st, .base = 5000, .done = &done}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, write_users, &w[i]), 0);
    /* Copies while the writers run: each is a snapshot between two commits. */
    char copy[300], err[512];
    int copies = 0;
    int64_t last_copy_users = 0, prev = 0;
    while (atomic_load(&done) < 2 || copies < 2) {
        snprintf(copy, sizeof copy, "%s/copy-%d.db", dir, copies);
        int64_t before = count_users(st);
        assert_int_equal(hub_backup_sqlite(db, copy, err, sizeof err), 0);
        int64_t after = count_users(st);
        struct stat sb;
        assert_int_equal(stat(copy, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        int64_t got = check_copy(copy);
        assert_true(got >= before && got <= after);
        assert_true(got >= prev);
        prev = last_copy_users = got;
        copies++;
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(count_users(st), 2 * PER_WRITER);
    /* An existing destination is never overwritten. */
    assert_int_equal(hub_backup_sqlite(db, copy, err, sizeof err), ERR_EXISTS);

    /* A final copy, then more writes that the restore must take away. */
    char final_copy[300];
    snprintf(final_copy, sizeof final_copy, "%s/final.db", dir);
    assert_int_equal(hub_backup_sqlite(db, final_copy, err, sizeof err), 0);
    struct hub_user late;
    mk_user(&late, 9999);
    assert_int_equal(store_user_create(st, &late, T0, NULL), 0);
    store_close(st);

    /* Restore: stop the hub, copy the backup over the file (dropping the old WAL), start again. */
    char side[300];
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", final_copy, db);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(store_open(url, 2, &st), 0);
    assert_int_equal(store_migrate(st, &version), 0);
    assert_int_equal(count_users(st), 2 * PER_WRITER);
    struct hub_user got;
    assert_int_equal(store_user_by_token(st, "tok00000000000000001000", &got), 0);
    assert_int_equal(store_user_by_token(st, "tok00000000000000005149", &got), 0);
    assert_int_equal(store_user_by_token(st, late.sub_token, &got), ERR_NOT_FOUND);
    store_close(st);
    printf("copies taken while writing: %d (last one had %lld users)\n", copies, (long long)last_copy_users);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_retention_and_names(void **state)
{
    (void)state;
    char dir[] = "/tmp/veil-backup-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[256], url[300], name[512];
    snprintf(db, sizeof db, "%s/hub.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", db);
    struct store *st = NULL;
    assert_int_equal(store_open(url, 1, &st), 0);
    int version;
    assert_int_equal(store_migrate(st, &version), 0);

    assert_int_equal(hub_backup_name(dir, T0 + 3661, name, sizeof name), 0);
    char want[512];
    snprintf(want, sizeof want, "%s/hub-20251126T010101Z.db", dir);
    assert_string_equal(name, want);

    /* A file that is not one of ours stays, whatever keep says. */
    char other[512];
    snprintf(other, sizeof other, "%s/hub-notes.db", dir);
    FILE *f = fopen(other, "w");
    assert_non_null(f);
    fclose(f);

    assert_int_equal(hub_backup_last_success(), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(hub_backup_run(db, dir, 3, T0 + 86400 * i), 0);
    assert_int_equal(hub_backup_last_success(), T0 + 86400 * 4);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(hub_backup_name(dir, T0 + 86400 * i, name, sizeof name), 0);
        assert_int_equal(access(name, F_OK) == 0, i >= 2); /* the newest 3 */
    }
    assert_int_equal(access(other, F_OK), 0);
    /* Same second twice: the second copy fails and the first stays, the success time does not move. */
    assert_int_equal(hub_backup_run(db, dir, 3, T0 + 86400 * 4), ERR_EXISTS);
    assert_int_equal(hub_backup_last_success(), T0 + 86400 * 4);
    /* A directory that does not exist fails with a log line, not a crash. */
    assert_true(hub_backup_run(db, "/nonexistent/veil-backup", 3, T0 + 86400 * 9) < 0);
    store_close(st);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_settings(void **state)
{
    (void)state;
    const struct hub_module *m = hub_module_for_section("backup");
    assert_non_null(m);
    const char *good[] = {"{\"dir\": \"/var/backups/veil\", \"interval_sec\": 3600, \"keep\": 24}"};
    const char *bad[] = {
        "[]",
        "{\"dir\": \"relative\", \"interval_sec\": 3600, \"keep\": 24}",
        "{\"interval_sec\": 3600, \"keep\": 24}",
        "{\"dir\": \"/b\", \"interval_sec\": 0, \"keep\": 24}",
        "{\"dir\": \"/b\", \"interval_sec\": \"1h\", \"keep\": 24}",
        "{\"dir\": \"/b\", \"interval_sec\": 60, \"keep\": 0}",
        "{\"dir\": \"/b\", \"interval_sec\": 60}",
        "{\"dir\": \"/b\", \"interval_sec\": 60, \"keep\": 2, \"extra\": 1}",
    };
    char err[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        json_t *j = json_loads(good[i], 0, NULL);
        assert_int_equal(m->settings_check(j, err, sizeof err), 0);
        json_decref(j);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        err[0] = '\0';
        assert_int_equal(m->settings_check(j, err, sizeof err), ERR_CONFIG);
        assert_true(err[0] != '\0');
        json_decref(j);
    }
    assert_int_equal(m->settings_check(NULL, err, sizeof err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_while_writing_then_restore),
        cmocka_unit_test(test_retention_and_names),
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
