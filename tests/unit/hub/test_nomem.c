/* Allocation failures in the hub store (SQLite): a customer's life — created, a plan, a
 * subscription, listed, synced to nodes — with each of our allocations failing in turn.
 * Every failed step must report ERR_NOMEM and free what it took (tests/support/nomem);
 * SQLite's own allocations are its business and are not failed here. */
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
static const struct store_audit AUD = {.actor = "test", .action = "nomem", .source_ip = "127.0.0.1"};
static struct store *st;
static unsigned serial;

static int customer_life(void)
{
    unsigned n = ++serial % 100000000u; /* fits every %0Nu below */
    struct hub_plan p = {0};
    snprintf(p.name, sizeof p.name, "plan-%u", n);
    p.duration_days = 30;
    p.device_limit = 3;
    p.enabled = true;
    p.n_prices = 1;
    strcpy(p.prices[0].currency, "RUB");
    p.prices[0].amount_minor = 29900;
    int rc = store_plan_create(st, &p, T0, &AUD);
    if (rc < 0)
        return rc;
    struct hub_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "user-%u", n);
    strcpy(u.language, "ru");
    strcpy(u.currency, "RUB");
    snprintf(u.uuid, sizeof u.uuid, "00000000-0000-4000-8000-%012u", n);
    snprintf(u.sub_token, sizeof u.sub_token, "tok%020u", n);
    snprintf(u.referral_code, sizeof u.referral_code, "RC%08u", n);
    u.enabled = true;
    if ((rc = store_user_create(st, &u, T0, &AUD)) < 0)
        return rc;
    struct hub_sub s;
    if ((rc = store_sub_grant(st, u.id, p.id, T0, &s, &AUD)) < 0)
        return rc;
    struct hub_user *list = NULL;
    size_t n_list = 0;
    int64_t total = 0;
    /* Queries whose answers do not grow with the rows that failed runs leave behind, so
     * that the sweep ends. */
    if ((rc = store_user_list(st, u.username, 0, 50, &list, &n_list, &total)) < 0)
        return rc;
    free(list);
    struct hub_sub *subs = NULL;
    size_t n_subs = 0;
    if ((rc = store_sub_list(st, u.id, &subs, &n_subs)) < 0)
        return rc;
    free(subs);
    if (n_list != 1 || n_subs != 1)
        return ERR_INTERNAL;
    if ((rc = store_sub_revoke(st, s.id, T0 + 1, &s, &AUD)) < 0)
        return rc;
    return store_user_delete(st, u.id, T0 + 2, &AUD);
}

static int is_nomem(int rc)
{
    return rc == ERR_NOMEM;
}

static void test_store_nomem(void **state)
{
    (void)state;
    st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    assert_int_equal(customer_life(), 0); /* statements prepared and cached before counting */
    FAILALLOC_SWEEP("hub store", is_nomem, customer_life());
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_store_nomem)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
