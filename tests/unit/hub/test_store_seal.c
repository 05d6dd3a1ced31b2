/* Column encryption at rest (store_seal.c), on SQLite (a file, so the bytes on disk and a backup
 * can be searched) and on PostgreSQL (VEIL_PG_URL, run by integration_test_hub_pg): the raw rows
 * hold no plaintext Telegram id, username or payment object; lookups by Telegram id, username and
 * token still work; plaintext rows are sealed at the first start with a key; a wrong master key
 * is refused with a clear reason; rotation (new data key, new master key) keeps every row
 * readable, also to a second store that opened before it and reloads the keys. */
#include <inttypes.h>
#include <pthread.h>

#include "hub_test_db.h"

#include "core/err.h"
#include "hub/backup/backup.h"
#include "hub/bot/bot_store.h"
#include "hub/seal/seal.h"

#define T0 1760000000

static const uint8_t master_a[32] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
                                     0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
                                     0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0};
static const uint8_t master_b[32] = {0x01, 0x12, 0x23, 0x34, 0x45, 0x56, 0x67, 0x78, 0x89, 0x9a, 0xab,
                                     0xbc, 0xcd, 0xde, 0xef, 0xf0, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a,
                                     0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0};

/* A distinctive Telegram id per user: its digits must not appear anywhere in the database. */
#define TG(i) (INT64_C(7730001000) + (i))

struct fx {
    char dir[64];
    char url[512];
    bool pg;
};

static int setup_sqlite(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/veil_seal_XXXXXX");
    if (f == NULL || mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->url, sizeof f->url, "sqlite:%s/hub.db", f->dir);
    *state = f;
    return 0;
}

static int setup_pg(void **state)
{
    const char *u = hub_test_pg_url();
    if (u == NULL) {
        *state = NULL;
        return 0;
    }
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->url, sizeof f->url, "%s", u);
    f->pg = true;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f != NULL && !f->pg) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            return -1;
    }
    free(f);
    return 0;
}

/* A fresh, migrated database for the test (the PostgreSQL schema is emptied first). */
static struct store *fresh(void **state)
{
    struct fx *f = *state;
    if (f == NULL)
        skip();
    if (!f->pg) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -f '%s'/hub.db*", f->dir);
        assert_int_equal(system(cmd), 0);
    }
    struct store *st = hub_test_store(f->url, 4);
    assert_non_null(st);
    return st;
}

static struct store *reopen(void **state)
{
    struct fx *f = *state;
    struct store *st = NULL;
    assert_int_equal(store_open(f->url, 4, &st), 0);
    assert_int_equal(store_migrate(st, NULL), 0);
    return st;
}

static void make_user(struct store *st, int i)
{
    struct hub_user u;
    char name[32];
    snprintf(name, sizeof name, "tg%" PRId64, TG(i));
    hub_test_user(&u, name, i);
    u.telegram_id = TG(i);
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
}

/* Every cell of every row of table, as text: none may contain needle. */
static void assert_table_lacks(struct store *st, const char *table, const char *needle)
{
    struct store_conn sc;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT * FROM %s", table);
    assert_int_equal(store__acquire(st, &sc), 0);
    struct store_res r;
    assert_int_equal(store__exec(&sc, sql, NULL, 0, &r), 0);
    store__release(&sc);
    for (size_t i = 0; i < r.nrows * r.ncols; i++)
        if (r.cells[i] != NULL && strstr(r.cells[i], needle) != NULL)
            fail_msg("%s holds plaintext \"%s\" in \"%s\"", table, needle, r.cells[i]);
    store__res_free(&r);
}

/* Whether the file (and its WAL) holds needle anywhere in its bytes. */
static bool file_holds(const char *path, const char *needle)
{
    bool hit = false;
    const char *sfx[] = {"", "-wal"};
    for (size_t k = 0; k < 2 && !hit; k++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", path, sfx[k]);
        FILE *fp = fopen(p, "rb");
        if (fp == NULL)
            continue;
        fseek(fp, 0, SEEK_END);
        long n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        char *b = malloc((size_t)n + 1);
        assert_non_null(b);
        assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
        fclose(fp);
        hit = memmem(b, (size_t)n, needle, strlen(needle)) != NULL;
        free(b);
    }
    return hit;
}

static void open_sealed(struct store *st, const uint8_t *master, int64_t *sealed)
{
    char why[256] = "";
    int rc = store_seal_open(st, master, T0, sealed, why, sizeof why);
    if (rc != 0)
        fail_msg("store_seal_open: %s (%s)", err_str(rc), why);
}

static void test_sealed_rows_and_lookups(void **state)
{
    struct store *st = fresh(state);
    open_sealed(st, master_a, NULL);
    assert_true(store_seal_enabled(st));
    for (int i = 1; i <= 5; i++)
        make_user(st, i);
    char tg3[24], name3[32];
    snprintf(tg3, sizeof tg3, "%" PRId64, TG(3));
    snprintf(name3, sizeof name3, "tg%" PRId64, TG(3));
    assert_table_lacks(st, "users", tg3);
    assert_table_lacks(st, "users", "773000100"); /* no user's id, nor a prefix of it */

    /* by Telegram id (the bot's lookup), by id, by token */
    struct hub_user u;
    assert_int_equal(store_user_by_telegram(st, TG(3), &u), 0);
    assert_string_equal(u.username, name3);
    assert_int_equal(u.telegram_id, TG(3));
    assert_int_equal(store_user_by_telegram(st, TG(9), &u), ERR_NOT_FOUND);
    struct hub_user g;
    assert_int_equal(store_user_get(st, u.id, &g), 0);
    assert_string_equal(g.username, name3);
    assert_int_equal(g.telegram_id, TG(3));
    struct hub_sub s;
    bool has;
    assert_int_equal(store_sub_view(st, u.sub_token, &g, &s, &has), 0);
    assert_string_equal(g.username, name3);

    /* search: exact username or Telegram id through the blind index */
    struct hub_user *list;
    size_t n;
    int64_t total;
    assert_int_equal(store_user_list(st, name3, 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, u.id);
    free(list);
    assert_int_equal(store_user_list(st, tg3, 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].username, name3);
    free(list);
    /* no substring of a sealed name (the index holds ciphertext); the referral code still is */
    assert_int_equal(store_user_list(st, "tg77300010", 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
    free(list);
    assert_int_equal(store_user_list(st, "c0000000", 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 5);
    assert_int_equal(total, 5);
    free(list);
    bool more = true; /* the dashboard's capped count: the same matches */
    assert_int_equal(store_user_list_capped(st, "c0000000", 0, 2, 3, &list, &n, &total, &more), 0);
    assert_int_equal(n, 2);
    assert_int_equal(total, 3);
    assert_true(more);
    free(list);
    assert_int_equal(store_user_list_capped(st, name3, 0, 10, 1000, &list, &n, &total, &more), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, u.id);
    assert_false(more);
    free(list);
    assert_int_equal(store_user_list_capped(st, "tg77300010", 0, 10, 1000, &list, &n, &total, &more), 0);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(store_user_list(st, NULL, 0, 10, &list, &n, &total), 0);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(strncmp(list[i].username, "tg77300010", 10), 0);
    free(list);

    /* uniqueness still holds on the sealed columns */
    struct hub_user d;
    hub_test_user(&d, "other", 50);
    d.telegram_id = TG(3);
    assert_int_equal(store_user_create(st, &d, T0, NULL), ERR_EXISTS);
    hub_test_user(&d, name3, 51);
    assert_int_equal(store_user_create(st, &d, T0, NULL), ERR_EXISTS);

    /* patch: the new values are found, the old ones are not, the other fields stay */
    struct hub_user v = {0}, out;
    v.telegram_id = TG(30);
    snprintf(v.username, sizeof v.username, "renamed3");
    strcpy(v.language, "en");
    assert_int_equal(store_user_patch(st, u.id, &v, HUB_USER_F_TELEGRAM_ID | HUB_USER_F_USERNAME | HUB_USER_F_LANGUAGE,
                                      T0 + 1, NULL, &out),
                     0);
    assert_string_equal(out.username, "renamed3");
    assert_int_equal(out.telegram_id, TG(30));
    assert_string_equal(out.language, "en");
    assert_int_equal(store_user_by_telegram(st, TG(3), &g), ERR_NOT_FOUND);
    assert_int_equal(store_user_by_telegram(st, TG(30), &g), 0);
    assert_string_equal(g.username, "renamed3");
    assert_table_lacks(st, "users", "renamed3");
    v.telegram_id = 0; /* only the language: the sealed columns stay as they are */
    strcpy(v.language, "ru");
    assert_int_equal(store_user_patch(st, u.id, &v, HUB_USER_F_LANGUAGE, T0 + 2, NULL, &out), 0);
    assert_string_equal(out.username, "renamed3");
    assert_int_equal(out.telegram_id, TG(30));

    /* a payment's provider object */
    struct hub_payment p = {0}, e;
    p.user_id = u.id;
    strcpy(p.provider, "yookassa");
    strcpy(p.external_id, "2d9a-01");
    strcpy(p.idempotency_key, "idem-1");
    p.amount_minor = 29900;
    strcpy(p.currency, "RUB");
    p.status = HUB_PAY_SUCCEEDED;
    assert_int_equal(store_payment_record(
                         st, &p, "{\"payment_method\":{\"card\":{\"last4\":\"4242\"},\"id\":\"pm-SAVED-77\"}}", T0, &e),
                     0);
    assert_table_lacks(st, "payments", "pm-SAVED-77");

    /* node sync sees the names, also of a deleted user (its tombstone stays sealed) */
    int64_t rev;
    assert_int_equal(store_user_delete(st, u.id, T0 + 3, NULL), 0);
    assert_table_lacks(st, "user_tombstones", "renamed3");
    struct store_sync_user *su;
    assert_int_equal(store_sync_users(st, 1, T0 + 3, &su, &n, &rev), 0);
    bool saw_tomb = false;
    for (size_t i = 0; i < n; i++)
        if (su[i].user_id == u.id) {
            saw_tomb = true;
            assert_false(su[i].active);
            assert_string_equal(su[i].username, "renamed3");
        }
    assert_true(saw_tomb);
    free(su);
    assert_int_equal(store_sync_users(st, 0, T0 + 3, &su, &n, &rev), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(strncmp(su[i].username, "tg77300010", 10), 0);
    free(su);
    store_close(st);
}

/* What a logical dump (pg_dump, pgBackRest's rows) would hold: every row of every table. */
static void assert_all_tables_lack(struct store *st, bool pg, const char *needle)
{
    struct store_conn sc;
    struct store_res r;
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(store__exec(&sc,
                                 pg ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                                    : "SELECT name FROM sqlite_master WHERE type = 'table'",
                                 NULL, 0, &r),
                     0);
    store__release(&sc);
    assert_true(r.nrows > 20);
    for (size_t i = 0; i < r.nrows; i++)
        assert_table_lacks(st, store__cell(&r, i, 0), needle);
    store__res_free(&r);
}

static void test_every_table(void **state)
{
    struct fx *f = *state;
    struct store *st = fresh(state);
    open_sealed(st, master_a, NULL);
    for (int i = 1; i <= 3; i++)
        make_user(st, i);
    struct hub_user u;
    assert_int_equal(store_user_by_telegram(st, TG(1), &u), 0);
    assert_int_equal(store_user_delete(st, u.id, T0, NULL), 0);
    for (int i = 1; i <= 3; i++) {
        char tg[24];
        snprintf(tg, sizeof tg, "%" PRId64, TG(i));
        assert_all_tables_lack(st, f->pg, tg);
    }
    store_close(st);
}

/* A succeeded payment of user_id, for the bot's "paid" notices. */
static void paid(struct store *st, int64_t user_id, int n)
{
    struct hub_payment p = {0}, e;
    p.user_id = user_id;
    strcpy(p.provider, "manual");
    snprintf(p.external_id, sizeof p.external_id, "ext-%d", n);
    snprintf(p.idempotency_key, sizeof p.idempotency_key, "idem-%d", n);
    p.amount_minor = 100;
    strcpy(p.currency, "RUB");
    p.status = HUB_PAY_SUCCEEDED;
    assert_int_equal(store_payment_record(st, &p, NULL, T0, &e), 0);
    struct store_conn sc;
    struct store_val v[] = {SV_I(T0), SV_I(p.id)};
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(store__exec(&sc, "UPDATE payments SET settled_at = $1 WHERE id = $2", v, 2, NULL), 0);
    store__release(&sc);
}

/* The bot's own tables (chats, notices, kept promo codes) name a user by the keyed ref, never the
 * Telegram id; rows written before the key are converted at the first start with it; the bot's
 * queries still find the users and skip blocked chats. */
static void test_bot_tables(void **state)
{
    struct fx *f = *state;
    struct store *st = fresh(state);
    for (int i = 1; i <= 3; i++)
        make_user(st, i);
    assert_int_equal(bot_store_blocked_set(st, TG(1), true, T0), 0); /* written in plaintext */
    assert_int_equal(bot_store_notice_claim(st, "test", 1, TG(1), T0), 0);
    store_close(st);
    st = reopen(state);
    open_sealed(st, master_a, NULL);
    assert_int_equal(bot_store_blocked_set(st, TG(2), false, T0), 0); /* written sealed */
    assert_int_equal(bot_store_notice_claim(st, "test", 2, TG(2), T0), 0);
    bool blocked = false;
    assert_int_equal(bot_store_blocked_get(st, TG(1), &blocked), 0);
    assert_true(blocked);
    assert_int_equal(bot_store_blocked_get(st, TG(2), &blocked), 0);
    assert_false(blocked);
    assert_int_equal(bot_store_notice_claim(st, "test", 1, TG(1), T0), ERR_EXISTS);
    struct hub_user u1, u3;
    assert_int_equal(store_user_by_telegram(st, TG(1), &u1), 0);
    assert_int_equal(store_user_by_telegram(st, TG(3), &u3), 0);
    paid(st, u1.id, 1);
    paid(st, u3.id, 3);
    struct bot_paid due[8];
    size_t n = 0;
    assert_int_equal(bot_store_paid_unnoticed(st, T0 - 1, due, 8, &n), 0);
    assert_int_equal(n, 1); /* user 1's chat is blocked */
    assert_int_equal(due[0].user_id, u3.id);
    assert_int_equal(due[0].telegram_id, TG(3));
    for (int i = 1; i <= 3; i++) {
        char tg[24];
        snprintf(tg, sizeof tg, "%" PRId64, TG(i));
        assert_all_tables_lack(st, f->pg, tg);
    }
    store_close(st);
}

/* How many of the user search's FTS5 index blocks hold needle (SQLite). */
static int64_t fts_blocks_holding(struct store *st, const char *needle)
{
    struct store_conn sc;
    struct store_val p[] = {SV_T(needle)};
    struct store_res r;
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(
        store__exec(&sc, "SELECT count(*) FROM users_search_data WHERE instr(block, CAST($1 AS BLOB)) > 0", p, 1, &r),
        0);
    store__release(&sc);
    int64_t n = store__cell_i64(&r, 0, 0);
    store__res_free(&r);
    return n;
}

/* The bytes of the database file, and of a backup taken with the backup module, hold none of
 * the plaintext (SQLite; PostgreSQL's pgBackRest copies the same rows). */
static void test_file_and_backup(void **state)
{
    struct fx *f = *state;
    struct store *st = fresh(state);
    open_sealed(st, master_a, NULL);
    for (int i = 1; i <= 20; i++)
        make_user(st, i);
    store_close(st);
    char db[600], bak[600], err[256], tg[24];
    snprintf(db, sizeof db, "%s/hub.db", f->dir);
    snprintf(bak, sizeof bak, "%s/backup.db", f->dir);
    assert_int_equal(hub_backup_sqlite(db, bak, err, sizeof err), 0);
    for (int i = 1; i <= 20; i++) {
        snprintf(tg, sizeof tg, "%" PRId64, TG(i));
        assert_false(file_holds(db, tg));
        assert_false(file_holds(bak, tg));
    }
    assert_false(file_holds(bak, "tg773000"));
    /* nor does the user search's trigram index (FTS5 segments, terms prefix-compressed): no fragment of a name */
    st = hub_test_store(f->url, 1);
    assert_non_null(st);
    assert_int_equal(fts_blocks_holding(st, "tg7"), 0);
    assert_int_equal(fts_blocks_holding(st, "g77"), 0);
    assert_true(fts_blocks_holding(st, "rc0") > 0); /* the check is real: referral codes are there */
    store_close(st);
    /* the check is real: the plaintext database holds them */
    st = fresh(state);
    make_user(st, 1);
    store_close(st);
    snprintf(tg, sizeof tg, "%" PRId64, TG(1));
    assert_true(file_holds(db, tg));
}

static void test_plaintext_rows_sealed_at_start(void **state)
{
    struct store *st = fresh(state);
    for (int i = 1; i <= 7; i++)
        make_user(st, i);
    struct hub_payment p = {0}, e;
    strcpy(p.provider, "manual");
    strcpy(p.external_id, "x1");
    strcpy(p.idempotency_key, "idem-x1");
    p.amount_minor = 100;
    strcpy(p.currency, "RUB");
    p.status = HUB_PAY_SUCCEEDED;
    assert_int_equal(store_payment_record(st, &p, "{\"email\":\"buyer@example.org\"}", T0, &e), 0);
    struct hub_user u;
    assert_int_equal(store_user_by_telegram(st, TG(2), &u), 0);
    assert_int_equal(store_user_delete(st, u.id, T0, NULL), 0);
    bool keyed = true;
    assert_int_equal(store_seal_keyed(st, &keyed), 0);
    assert_false(keyed);
    store_close(st);

    st = reopen(state);
    int64_t sealed = 0;
    open_sealed(st, master_a, &sealed);
    assert_int_equal(sealed, 6 + 1 + 1); /* users, the tombstone, the payment */
    assert_int_equal(store_seal_keyed(st, &keyed), 0);
    assert_true(keyed);
    for (int i = 1; i <= 7; i++) {
        char tg[24];
        snprintf(tg, sizeof tg, "%" PRId64, TG(i));
        assert_table_lacks(st, "users", tg);
        assert_table_lacks(st, "user_tombstones", tg);
        if (i != 2) {
            assert_int_equal(store_user_by_telegram(st, TG(i), &u), 0);
            assert_int_equal(u.telegram_id, TG(i));
        }
    }
    assert_table_lacks(st, "payments", "buyer@example.org");
    if (!((struct fx *)*state)->pg) { /* the search index was purged of the names it held */
        assert_int_equal(fts_blocks_holding(st, "tg7"), 0);
        assert_true(fts_blocks_holding(st, "rc0") > 0);
    }
    store_close(st);
    /* a second start seals nothing more */
    st = reopen(state);
    open_sealed(st, master_a, &sealed);
    assert_int_equal(sealed, 0);
    store_close(st);
}

static void test_wrong_master_key(void **state)
{
    struct store *st = fresh(state);
    open_sealed(st, master_a, NULL);
    make_user(st, 1);
    store_close(st);
    st = reopen(state);
    char why[256] = "";
    assert_int_equal(store_seal_open(st, master_b, T0, NULL, why, sizeof why), ERR_DECRYPT);
    assert_non_null(strstr(why, "not the key the database was encrypted with"));
    assert_false(store_seal_enabled(st));
    /* the rows stay sealed and nothing was written */
    bool keyed;
    assert_int_equal(store_seal_keyed(st, &keyed), 0);
    assert_true(keyed);
    store_close(st);
    st = reopen(state);
    open_sealed(st, master_a, NULL);
    struct hub_user u;
    assert_int_equal(store_user_by_telegram(st, TG(1), &u), 0);
    store_close(st);
}

struct reader {
    struct store *st;
    int n_users;
    volatile bool stop;
    int64_t reads, errors;
};

/* Reads users by Telegram id while the rotation runs: every read must succeed. */
static void *reader_main(void *arg)
{
    struct reader *r = arg;
    for (int i = 0; !r->stop; i = (i + 7) % r->n_users) {
        struct hub_user u;
        int rc = store_user_by_telegram(r->st, TG(i + 1), &u);
        if (rc != 0 || u.telegram_id != TG(i + 1))
            r->errors++;
        r->reads++;
    }
    return NULL;
}

static void test_rotation(void **state)
{
    enum { N = 1200 };
    struct store *st = fresh(state);
    open_sealed(st, master_a, NULL);
    for (int i = 1; i <= N; i++)
        make_user(st, i);
    struct hub_user u;
    assert_int_equal(store_user_by_telegram(st, TG(5), &u), 0);
    assert_int_equal(store_user_delete(st, u.id, T0, NULL), 0);
    /* another hub, running since before the rotation */
    struct store *other = reopen(state);
    open_sealed(other, master_a, NULL);
    struct reader rd = {.st = other, .n_users = 4};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, reader_main, &rd), 0);

    struct store_rotation rot;
    char why[256] = "";
    int rc = store_seal_rotate(st, NULL, true, 100, T0, &rot, why, sizeof why);
    if (rc != 0)
        fail_msg("rotate: %s (%s)", err_str(rc), why);
    assert_int_equal(rot.key_id, 2);
    assert_int_equal(rot.users, N - 1);
    assert_int_equal(rot.tombstones, 1);
    assert_int_equal(rot.retired, 1);
    assert_false(rot.rewrapped);
    rd.stop = true;
    pthread_join(th, NULL);
    assert_int_equal(rd.errors, 0);
    assert_true(rd.reads > 0);

    /* every row reads back, from both stores (the other reloads the new key on its first miss) */
    for (int i = 1; i <= N; i++) {
        if (i == 5)
            continue;
        assert_int_equal(store_user_by_telegram(st, TG(i), &u), 0);
        assert_int_equal(u.telegram_id, TG(i));
        if (i % 97 == 0) {
            assert_int_equal(store_user_by_telegram(other, TG(i), &u), 0);
            char name[32];
            snprintf(name, sizeof name, "tg%" PRId64, TG(i));
            assert_string_equal(u.username, name);
        }
    }
    store_close(other);

    /* a new master key: the keys are re-wrapped, the rows stay as they are */
    rc = store_seal_rotate(st, master_b, false, 0, T0, &rot, why, sizeof why);
    if (rc != 0)
        fail_msg("rotate master: %s (%s)", err_str(rc), why);
    assert_true(rot.rewrapped);
    assert_int_equal(rot.users, 0);
    store_close(st);
    st = reopen(state);
    assert_int_equal(store_seal_open(st, master_a, T0, NULL, why, sizeof why), ERR_DECRYPT);
    store_close(st);
    st = reopen(state);
    open_sealed(st, master_b, NULL);
    assert_int_equal(store_user_by_telegram(st, TG(N), &u), 0);
    struct store_sync_user *su;
    size_t n;
    int64_t rev;
    assert_int_equal(store_sync_users(st, 0, T0, &su, &n, &rev), 0);
    assert_int_equal(n, N - 1);
    free(su);
    store_close(st);
}

/* The raw totp_secret cell of token id. */
static char *raw_totp(struct store *st, int64_t id)
{
    struct store_conn sc;
    struct store_res r;
    struct store_val p[] = {SV_I(id)};
    assert_int_equal(store__acquire(st, &sc), 0);
    assert_int_equal(store__exec(&sc, "SELECT totp_secret FROM api_tokens WHERE id = $1", p, 1, &r), 0);
    store__release(&sc);
    assert_int_equal(r.nrows, 1);
    char *v = strdup(store__cell(&r, 0, 0));
    store__res_free(&r);
    return v;
}

static void assert_totp(struct store *st, int64_t id, const char *want_hex, int64_t want_step)
{
    char hex[129];
    int64_t step = -1;
    assert_int_equal(store_token_totp_get(st, id, hex, sizeof hex, &step), 0);
    assert_string_equal(hex, want_hex);
    assert_int_equal(step, want_step);
}

/* TOTP secrets: a plaintext (hex) one is sealed at the first start with a key, keeping its
 * replay guard; new ones are sealed; rotation re-encrypts them under the new data key and a new
 * master key; the raw column never holds the hex. Recovery codes are stored hashed (unkeyed
 * before the key, keyed after) and each is spent once. */
static void test_totp_secret_sealed(void **state)
{
#define SECRET_A "5eca1d5eca1d5eca1d5eca1d5eca1d5eca1d5eca"
#define SECRET_B "b0b0c0ffeeb0b0c0ffeeb0b0c0ffeeb0b0c0ffee"
    struct store *st = fresh(state);
    int64_t id, other;
    assert_int_equal(store_token_add(st, "ops", "hash-ops-0000000000000000000000000000000000000000000000000000000",
                                     HUB_ROLE_ADMIN, T0, &id),
                     0);
    assert_int_equal(store_token_add(st, "ci", "hash-ci-00000000000000000000000000000000000000000000000000000000",
                                     HUB_ROLE_ADMIN, T0, &other),
                     0);
    assert_int_equal(store_token_totp_set(st, id, SECRET_A, T0, NULL), 0);
    assert_int_equal(store_token_totp_accept(st, id, 1234), 0);
    const char *codes[] = {"aaaabbbbccccdddd", "eeeeffffgggghhhh"};
    assert_int_equal(store_token_recovery_set(st, id, codes, 2, T0, NULL), 0);
    assert_int_equal(store_token_recovery_set(st, other, codes, 2, T0, NULL), ERR_BAD_STATE); /* no factor */
    char *raw = raw_totp(st, id);
    assert_string_equal(raw, SECRET_A); /* no key yet: hex, as before */
    free(raw);
    store_close(st);

    st = reopen(state);
    int64_t sealed = 0;
    open_sealed(st, master_a, &sealed);
    assert_int_equal(sealed, 1);
    assert_table_lacks(st, "api_tokens", SECRET_A);
    raw = raw_totp(st, id);
    uint8_t kid = 0;
    assert_int_equal(seal_key_id(raw, &kid), 0);
    assert_int_equal(kid, 1);
    free(raw);
    assert_totp(st, id, SECRET_A, 1234);
    assert_table_lacks(st, "api_token_recovery", "aaaabbbbccccdddd");
    /* a code stored before the key (unkeyed hash) still works, once */
    int64_t left = -1;
    assert_int_equal(store_token_recovery_use(st, id, "aaaabbbbccccdddd", T0, NULL, &left), 0);
    assert_int_equal(left, 1);
    assert_int_equal(store_token_recovery_use(st, id, "aaaabbbbccccdddd", T0, NULL, &left), ERR_AUTH);
    assert_int_equal(store_token_recovery_use(st, id, "zzzzbbbbccccdddd", T0, NULL, &left), ERR_AUTH);
    /* a code of this token does not open another */
    assert_int_equal(store_token_totp_set(st, other, SECRET_B, T0, NULL), 0);
    assert_int_equal(store_token_recovery_use(st, other, "eeeeffffgggghhhh", T0, NULL, &left), ERR_AUTH);

    /* new factor under the key: sealed, its old codes gone, new codes keyed */
    assert_int_equal(store_token_totp_set(st, id, SECRET_B, T0, NULL), 0);
    assert_int_equal(store_token_recovery_left(st, id, &left), 0);
    assert_int_equal(left, 0);
    assert_table_lacks(st, "api_tokens", SECRET_B);
    assert_totp(st, id, SECRET_B, 0);
    assert_int_equal(store_token_recovery_set(st, id, codes, 2, T0, NULL), 0);
    assert_table_lacks(st, "api_token_recovery", "s:");

    /* rotation: both secrets under data key 2, key 1 retired; then a new master key */
    struct store_rotation rot;
    char why[256] = "";
    int rc = store_seal_rotate(st, NULL, true, 0, T0, &rot, why, sizeof why);
    if (rc != 0)
        fail_msg("rotate: %s (%s)", err_str(rc), why);
    assert_int_equal(rot.totp_secrets, 2);
    assert_int_equal(rot.retired, 1);
    raw = raw_totp(st, id);
    assert_int_equal(seal_key_id(raw, &kid), 0);
    assert_int_equal(kid, 2);
    free(raw);
    assert_totp(st, id, SECRET_B, 0);
    assert_int_equal(store_token_totp_accept(st, id, 99), 0);
    rc = store_seal_rotate(st, master_b, true, 0, T0, &rot, why, sizeof why);
    if (rc != 0)
        fail_msg("rotate master: %s (%s)", err_str(rc), why);
    store_close(st);
    st = reopen(state);
    open_sealed(st, master_b, NULL);
    assert_totp(st, id, SECRET_B, 99);
    assert_totp(st, other, SECRET_B, 0);
    assert_table_lacks(st, "api_tokens", SECRET_B);
    assert_int_equal(store_token_recovery_use(st, id, "eeeeffffgggghhhh", T0, NULL, &left), 0); /* keyed, after both */
    assert_int_equal(left, 1);
    /* a sealed secret moved to another row does not open there */
    struct store_conn sc;
    assert_int_equal(store__acquire(st, &sc), 0);
    struct store_val p[] = {SV_I(other), SV_I(id)};
    assert_int_equal(
        store__exec(&sc,
                    "UPDATE api_tokens SET totp_secret = (SELECT totp_secret FROM api_tokens WHERE id = $2)"
                    " WHERE id = $1",
                    p, 2, NULL),
        0);
    store__release(&sc);
    char hex[129];
    int64_t step;
    assert_int_equal(store_token_totp_get(st, other, hex, sizeof hex, &step), ERR_DECRYPT);
    store_close(st);
#undef SECRET_A
#undef SECRET_B
}

struct opener {
    struct store *st;
    int rc;
};

static void *opener_main(void *arg)
{
    struct opener *o = arg;
    char why[256];
    o->rc = store_seal_open(o->st, master_a, T0, NULL, why, sizeof why);
    return NULL;
}

/* Two hubs start with the key on a database without keys at the same moment: one makes the
 * keys, the other reads them (a unique-key conflict is retried), both then seal and read alike. */
static void test_concurrent_first_start(void **state)
{
    struct store *st = fresh(state);
    make_user(st, 1);
    store_close(st);
    struct opener o[2] = {{.st = reopen(state)}, {.st = reopen(state)}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, opener_main, &o[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(o[i].rc, 0);
        struct hub_user u;
        assert_int_equal(store_user_by_telegram(o[i].st, TG(1), &u), 0);
    }
    make_user(o[0].st, 2);
    struct hub_user u;
    assert_int_equal(store_user_by_telegram(o[1].st, TG(2), &u), 0);
    store_close(o[0].st);
    store_close(o[1].st);
}

static void test_rotate_without_key(void **state)
{
    struct store *st = fresh(state);
    struct store_rotation rot;
    char why[128];
    assert_int_equal(store_seal_rotate(st, NULL, true, 0, T0, &rot, why, sizeof why), ERR_BAD_STATE);
    assert_non_null(strstr(why, "no master key"));
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_rows_and_lookups),
        cmocka_unit_test(test_every_table),
        cmocka_unit_test(test_bot_tables),
        cmocka_unit_test(test_plaintext_rows_sealed_at_start),
        cmocka_unit_test(test_wrong_master_key),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_rotate_without_key),
        cmocka_unit_test(test_concurrent_first_start),
        cmocka_unit_test(test_totp_secret_sealed),
    };
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test(test_file_and_backup),
    };
    int rc = cmocka_run_group_tests_name("sqlite", tests, setup_sqlite, teardown);
    rc |= cmocka_run_group_tests_name("sqlite file", sqlite_only, setup_sqlite, teardown);
    if (hub_test_pg_url() != NULL)
        rc |= cmocka_run_group_tests_name("postgresql", tests, setup_pg, teardown);
    else
        printf("postgresql: not run here (no VEIL_PG_URL); integration_test_hub_pg runs it\n");
    return rc;
}
