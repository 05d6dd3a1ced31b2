/* Allocation failures with column encryption on (store_seal.c, hub/seal): a Telegram customer
 * created, found by Telegram id and by name, renamed, synced to nodes and deleted, and an admin
 * token's sealed TOTP secret and hashed recovery codes (store_tokens.c, store_recovery.c), with each
 * allocation (ours and libcrypto's) failing in turn. Every failed step must report an error
 * (ERR_NOMEM, or ERR_CRYPTO when libcrypto's own allocation failed) and leave nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "failalloc.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define T0 1764115200
static struct store *st;
static unsigned serial;

static int sealed_life(void)
{
    unsigned n = ++serial % 100000000u;
    struct hub_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "tg%u", 700000000u + n);
    strcpy(u.language, "ru");
    strcpy(u.currency, "RUB");
    snprintf(u.uuid, sizeof u.uuid, "00000000-0000-4000-8000-%012u", n);
    snprintf(u.sub_token, sizeof u.sub_token, "tok%020u", n);
    snprintf(u.referral_code, sizeof u.referral_code, "RC%08u", n);
    u.telegram_id = 700000000 + (int64_t)n;
    u.enabled = true;
    int rc = store_user_create(st, &u, T0, NULL);
    if (rc < 0)
        return rc;
    struct hub_user g;
    if ((rc = store_user_by_telegram(st, u.telegram_id, &g)) < 0)
        return rc;
    if (strcmp(g.username, u.username) != 0)
        return ERR_INTERNAL;
    struct hub_user *list = NULL;
    size_t n_list = 0;
    int64_t total = 0;
    if ((rc = store_user_list(st, u.username, 0, 50, &list, &n_list, &total)) < 0)
        return rc;
    free(list);
    if (n_list != 1)
        return ERR_INTERNAL;
    struct hub_user v = {0};
    snprintf(v.username, sizeof v.username, "renamed%u", n);
    if ((rc = store_user_patch(st, u.id, &v, HUB_USER_F_USERNAME, T0 + 1, NULL, NULL)) < 0)
        return rc;
    struct store_sync_user *su = NULL;
    size_t n_su = 0;
    int64_t rev;
    if ((rc = store_sync_users(st, g.revision, T0 + 1, &su, &n_su, &rev)) < 0)
        return rc;
    free(su);
    int64_t ref;
    if ((rc = store_telegram_ref(st, u.telegram_id, &ref)) < 0)
        return rc;
    return store_user_delete(st, u.id, T0 + 2, NULL);
}

/* An admin token's second factor under sealing: the TOTP secret sealed and opened, recovery
 * codes stored hashed and one spent, the token's liveness and its lookup by hash. */
static int factor_life(void)
{
    unsigned n = ++serial % 100000000u;
    char hash[65], name[32];
    snprintf(hash, sizeof hash, "%064u", n);
    snprintf(name, sizeof name, "ops%u", n);
    int64_t id = 0;
    int rc = store_token_add(st, name, hash, HUB_ROLE_ADMIN, T0, &id);
    if (rc < 0)
        return rc;
    if ((rc = store_token_totp_set(st, id, "3132333435363738393031323334353637383930", T0, NULL)) < 0)
        return rc;
    char hex[129];
    int64_t step, left;
    if ((rc = store_token_totp_get(st, id, hex, sizeof hex, &step)) < 0)
        return rc;
    if (strcmp(hex, "3132333435363738393031323334353637383930") != 0)
        return ERR_INTERNAL;
    const char *codes[] = {"aaaabbbbccccdddd", "eeeeffffgggghhhh"};
    if ((rc = store_token_recovery_set(st, id, codes, 2, T0, NULL)) < 0)
        return rc;
    if ((rc = store_token_recovery_use(st, id, codes[1], T0, NULL, &left)) < 0)
        return rc;
    if (left != 1 || (rc = store_token_live(st, id, T0)) < 0)
        return left != 1 ? ERR_INTERNAL : rc;
    struct store_token_auth a; /* not the whole list: it grows with every run of the sweep */
    if ((rc = store_token_auth(st, hash, &a)) < 0)
        return rc;
    if (!a.totp)
        return ERR_INTERNAL;
    return store_token_revoke(st, id, T0, NULL);
}

static int is_nomem(int rc)
{
    return rc == ERR_NOMEM || rc == ERR_CRYPTO;
}

static void test_sealed_nomem(void **state)
{
    (void)state;
    st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    static const uint8_t master[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                       7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    char why[256];
    assert_int_equal(store_seal_open(st, master, T0, NULL, why, sizeof why), 0);
    assert_int_equal(sealed_life(), 0); /* statements prepared and cached before counting */
    FAILALLOC_SWEEP("sealed store", is_nomem, sealed_life());
    assert_int_equal(factor_life(), 0);
    FAILALLOC_SWEEP("second factor", is_nomem, factor_life());
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sealed_nomem)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
