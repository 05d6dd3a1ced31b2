/* Billing storage contract on both backends (SQLite :memory: always, PostgreSQL when
 * VEIL_PG_URL is set): invoices, exactly-once transitions, the balance ledger and its bound
 * (issue 10 item 9), promo uses, referral commission and first-payment bonus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define T0 1764115200 /* 2025-11-26 00:00:00 UTC */

static const struct store_audit AUD = {.actor = "test", .action = "payment.webhook", .source_ip = "127.0.0.1"};
static const struct store_billing_rules RULES = {.referral_percent = 10, .first_bonus_percent = 5};

static int64_t mk_user(struct store *st, const char *name, int n, const char *currency, int64_t referrer)
{
    struct hub_user u;
    hub_test_user(&u, name, n);
    snprintf(u.currency, sizeof u.currency, "%s", currency);
    u.referrer_id = referrer;
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    return u.id;
}

static int64_t mk_plan(struct store *st, const char *name, int64_t days)
{
    struct hub_plan p = {0};
    snprintf(p.name, sizeof p.name, "%s", name);
    p.duration_days = days;
    p.enabled = true;
    p.n_prices = 1;
    strcpy(p.prices[0].currency, "RUB");
    p.prices[0].amount_minor = 29900;
    assert_int_equal(store_plan_create(st, &p, T0, NULL), 0);
    return p.id;
}

static int64_t balance(struct store *st, int64_t user)
{
    struct hub_user u;
    assert_int_equal(store_user_get(st, user, &u), 0);
    return u.balance_minor;
}

static int64_t invoice(struct store *st, int64_t user, int64_t plan, const char *provider, int64_t amount,
                       const char *currency, int n)
{
    struct hub_payment p;
    memset(&p, 0, sizeof p);
    p.user_id = user;
    p.plan_id = plan;
    snprintf(p.provider, sizeof p.provider, "%s", provider);
    snprintf(p.idempotency_key, sizeof p.idempotency_key, "inv-%d-%lld", n, (long long)user);
    p.amount_minor = amount;
    snprintf(p.currency, sizeof p.currency, "%s", currency);
    assert_int_equal(store_invoice_create(st, &p, T0, NULL), 0);
    assert_true(p.id > 0);
    assert_int_equal(p.status, HUB_PAY_PENDING);
    return p.id;
}

static int paid(struct store *st, int64_t id, int64_t amount, const char *currency, struct store_pay_result *res)
{
    struct store_pay_event ev = {
        .payment_id = id, .status = HUB_PAY_SUCCEEDED, .amount_minor = amount, .currency = currency, .raw = "{}"};
    return store_payment_transition(st, &ev, &RULES, T0 + 60, &AUD, res);
}

/* Issue 10 item 9: a USD payment credited a RUB balance as 500, and repeated 2^50 top-ups
 * pushed SQLite's integer into REAL. Now: other currencies are refused, the balance is bounded. */
static void test_balance_currency_and_bound(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t u = mk_user(st, "rub", 1, "RUB", 0);
    struct hub_payment p = {.user_id = u, .amount_minor = 500, .status = HUB_PAY_SUCCEEDED};
    strcpy(p.provider, "manual");
    strcpy(p.currency, "USD");
    strcpy(p.idempotency_key, "usd-topup-1");
    strcpy(p.external_id, "usd-topup-1");
    struct store_settle topup = {.credit_balance = true};
    struct store_settle_result res;
    assert_int_equal(store_payment_settle(st, &p, NULL, &topup, T0, NULL, &res), ERR_UNSUPPORTED);
    assert_int_equal(balance(st, u), 0);

    for (int i = 0; i < 3; i++) {
        struct hub_payment q = {.user_id = u, .amount_minor = HUB_MAX_MONEY, .status = HUB_PAY_SUCCEEDED};
        strcpy(q.provider, "manual");
        strcpy(q.currency, "RUB");
        snprintf(q.idempotency_key, sizeof q.idempotency_key, "big-topup-%d", i);
        snprintf(q.external_id, sizeof q.external_id, "big-topup-%d", i);
        assert_int_equal(store_payment_settle(st, &q, NULL, &topup, T0, NULL, &res), i == 0 ? 0 : ERR_RANGE);
    }
    assert_int_equal(balance(st, u), HUB_MAX_MONEY);
    int64_t after = 0;
    assert_int_equal(store_user_add_balance(st, u, 1, T0, &after, NULL), ERR_RANGE);
    assert_int_equal(store_user_add_balance(st, u, -HUB_MAX_MONEY, T0, &after, NULL), 0);
    assert_int_equal(after, 0);
    assert_int_equal(store_user_add_balance(st, u, -1, T0, &after, NULL), ERR_RANGE);
    assert_int_equal(store_user_add_balance(st, u, HUB_MAX_MONEY + 1, T0, &after, NULL), ERR_RANGE);

    /* The stored value is still an exact integer and the ledger sums to it. */
    struct store_conn sc;
    struct store_res r;
    store__acquire(st, &sc);
    struct store_val pu[] = {SV_I(u)};
    assert_int_equal(
        store__exec(&sc, "SELECT CAST(COALESCE(SUM(delta_minor), 0) AS TEXT) FROM balance_ledger WHERE user_id = $1",
                    pu, 1, &r),
        0);
    assert_string_equal(store__cell(&r, 0, 0), "0");
    store__res_free(&r);
    store__release(&sc);
    struct store_ledger_row *rows;
    size_t n;
    assert_int_equal(store_ledger_list(st, u, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].delta_minor, -HUB_MAX_MONEY);
    assert_int_equal(rows[1].balance_after, HUB_MAX_MONEY);
    assert_string_equal(rows[1].reason, "topup");
    free(rows);
}

struct race {
    struct store *st;
    int64_t id;
    int applied, failures;
    pthread_mutex_t mu;
};

static void *race_worker(void *arg)
{
    struct race *r = arg;
    struct store_pay_result res;
    int rc = paid(r->st, r->id, 29900, "RUB", &res);
    pthread_mutex_lock(&r->mu);
    if (rc < 0)
        r->failures++;
    else if (res.applied)
        r->applied++;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void test_invoice_exactly_once(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t plan = mk_plan(st, "Month", 30);
    int64_t ref = mk_user(st, "referrer", 1, "RUB", 0);
    int64_t u = mk_user(st, "buyer", 2, "RUB", ref);
    int64_t id = invoice(st, u, plan, "yookassa", 29900, "RUB", 1);
    assert_int_equal(store_payment_set_provider(st, id, "2d5c-yk", "https://pay/x", T0), 0);
    struct hub_payment got;
    assert_int_equal(store_payment_by_external(st, "yookassa", "2d5c-yk", &got), 0);
    assert_int_equal(got.id, id);
    assert_string_equal(got.pay_url, "https://pay/x");
    assert_int_equal(got.plan_id, plan);

    /* A pending notification, then the same success 10 times at once and 10 more in a row. */
    struct store_pay_event pend = {.payment_id = id, .status = HUB_PAY_PENDING};
    struct store_pay_result res;
    assert_int_equal(store_payment_transition(st, &pend, &RULES, T0, &AUD, &res), 0);
    assert_true(res.duplicate);
    struct race r = {.st = st, .id = id};
    pthread_mutex_init(&r.mu, NULL);
    pthread_t th[10];
    for (int i = 0; i < 10; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_worker, &r), 0);
    for (int i = 0; i < 10; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 10; i++)
        race_worker(&r);
    pthread_mutex_destroy(&r.mu);
    assert_int_equal(r.failures, 0);
    assert_int_equal(r.applied, 1);

    struct hub_sub s;
    assert_int_equal(store_sub_current(st, u, &s), 0);
    assert_int_equal(s.ends_at, T0 + 60 + 30 * HUB_DAY);
    /* Commission 10% to the referrer, first-payment bonus 5% to the buyer, each once. */
    assert_int_equal(balance(st, ref), 2990);
    assert_int_equal(balance(st, u), 1495);
    assert_int_equal(store_payment_get(st, id, &got), 0);
    assert_int_equal(got.status, HUB_PAY_SUCCEEDED);
    assert_int_equal(got.settled_at, T0 + 60);

    /* Succeeded before pending (reordered): the late pending and a cancel change nothing. */
    assert_int_equal(store_payment_transition(st, &pend, &RULES, T0, &AUD, &res), 0);
    struct store_pay_event cancel = {.payment_id = id, .status = HUB_PAY_CANCELED};
    assert_int_equal(store_payment_transition(st, &cancel, &RULES, T0, &AUD, &res), 0);
    assert_true(res.duplicate);
    assert_int_equal(store_payment_get(st, id, &got), 0);
    assert_int_equal(got.status, HUB_PAY_SUCCEEDED);

    /* A second payment of the same customer extends again; no second first-payment bonus. */
    int64_t id2 = invoice(st, u, plan, "cryptobot", 29900, "RUB", 2);
    assert_int_equal(paid(st, id2, 29900, "RUB", &res), 0);
    assert_true(res.applied);
    assert_int_equal(res.bonus_minor, 0);
    assert_int_equal(res.sub.ends_at, T0 + 60 + 60 * HUB_DAY);
    assert_int_equal(balance(st, u), 1495);
    assert_int_equal(balance(st, ref), 5980);
    assert_int_equal(
        store_payment_transition(st, &(struct store_pay_event){.payment_id = 999999}, &RULES, T0, &AUD, &res),
        ERR_NOT_FOUND);
}

static void test_mismatch_and_flags(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t plan = mk_plan(st, "Month", 30);
    int64_t u = mk_user(st, "buyer", 1, "RUB", 0);
    struct store_pay_result res;

    /* Wrong amount or currency: flagged, audited, not credited; the right one later still works. */
    int64_t id = invoice(st, u, plan, "robokassa", 29900, "RUB", 1);
    assert_int_equal(paid(st, id, 100, "RUB", &res), 0);
    assert_true(res.flagged);
    assert_string_equal(res.flag, "amount_mismatch");
    assert_int_equal(paid(st, id, 29900, "USD", &res), 0);
    assert_true(res.flagged);
    assert_int_equal(hub_test_audit_count(st, NULL, "payment.flagged"), 2);
    struct hub_sub s;
    assert_int_equal(store_sub_current(st, u, &s), ERR_NOT_FOUND);
    assert_int_equal(paid(st, id, 29900, "RUB", &res), 0);
    assert_true(res.applied);

    /* Canceled, then paid anyway: recorded for a human, nothing granted. */
    int64_t id2 = invoice(st, u, plan, "yookassa", 29900, "RUB", 2);
    struct store_pay_event cancel = {.payment_id = id2, .status = HUB_PAY_CANCELED};
    assert_int_equal(store_payment_transition(st, &cancel, &RULES, T0, &AUD, &res), 0);
    assert_true(res.applied);
    assert_int_equal(paid(st, id2, 29900, "RUB", &res), 0);
    assert_true(res.flagged);
    assert_string_equal(res.flag, "paid_after_close");

    /* Expired, then paid late: the money arrived, the plan is granted. */
    int64_t id3 = invoice(st, u, plan, "cryptobot", 29900, "RUB", 3);
    struct store_pay_event exp = {.payment_id = id3, .status = HUB_PAY_EXPIRED};
    assert_int_equal(store_payment_transition(st, &exp, &RULES, T0, &AUD, &res), 0);
    assert_int_equal(paid(st, id3, 29900, "RUB", &res), 0);
    assert_true(res.applied);

    /* A top-up in a currency that is not the balance's: succeeded (money is real) but flagged. */
    int64_t id4 = invoice(st, u, 0, "cryptobot", 500, "USD", 4);
    assert_int_equal(paid(st, id4, 500, "USD", &res), 0);
    assert_true(res.flagged);
    assert_string_equal(res.flag, "currency_mismatch");
    assert_int_equal(res.pay.status, HUB_PAY_SUCCEEDED);
    assert_int_equal(balance(st, u), 0);
    assert_int_equal(paid(st, id4, 500, "USD", &res), 0);
    assert_true(res.duplicate);
}

static void test_topup_refund_and_balance_purchase(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t plan = mk_plan(st, "Month", 30);
    int64_t u = mk_user(st, "buyer", 1, "RUB", 0);
    struct store_pay_result res;
    int64_t id = invoice(st, u, 0, "yookassa", 50000, "RUB", 1);
    assert_int_equal(paid(st, id, 50000, "RUB", &res), 0);
    assert_int_equal(balance(st, u), 50000);

    /* Buying from balance: short balance refused with nothing written. */
    struct hub_payment p = {.user_id = u, .plan_id = plan, .amount_minor = 60000};
    strcpy(p.currency, "RUB");
    strcpy(p.idempotency_key, "bal-1");
    assert_int_equal(store_payment_from_balance(st, &p, &RULES, T0, &AUD, &res), ERR_RANGE);
    assert_int_equal(balance(st, u), 50000);
    p.amount_minor = 29900;
    assert_int_equal(store_payment_from_balance(st, &p, &RULES, T0, &AUD, &res), 0);
    assert_true(res.applied);
    assert_int_equal(res.pay.status, HUB_PAY_SUCCEEDED);
    assert_string_equal(res.pay.provider, "balance");
    assert_int_equal(balance(st, u), 20100);
    struct hub_sub s;
    assert_int_equal(store_sub_current(st, u, &s), 0);
    assert_int_equal(s.plan_id, plan);

    /* The top-up can no longer be refunded in full (spent): refused, state unchanged. */
    struct store_pay_event rf = {.payment_id = id, .status = HUB_PAY_REFUNDED};
    assert_int_equal(store_payment_transition(st, &rf, &RULES, T0, &AUD, &res), ERR_RANGE);
    int64_t id2 = invoice(st, u, 0, "yookassa", 10000, "RUB", 2);
    assert_int_equal(paid(st, id2, 10000, "RUB", &res), 0);
    assert_int_equal(store_payment_transition(st,
                                              &(struct store_pay_event){.payment_id = id2, .status = HUB_PAY_REFUNDED},
                                              &RULES, T0, &AUD, &res),
                     0);
    assert_true(res.applied);
    assert_int_equal(res.pay.status, HUB_PAY_REFUNDED);
    assert_int_equal(balance(st, u), 20100);

    struct store_pay_filter f = {.status = "succeeded"};
    struct hub_payment *list;
    size_t n;
    assert_int_equal(store_payment_query(st, &f, &list, &n), 0);
    assert_int_equal(n, 2);
    free(list);
    f = (struct store_pay_filter){.provider = "balance"};
    assert_int_equal(store_payment_query(st, &f, &list, &n), 0);
    assert_int_equal(n, 1);
    free(list);
    f = (struct store_pay_filter){.since = T0 + 1};
    assert_int_equal(store_payment_query(st, &f, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
}

static void test_promo(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t plan = mk_plan(st, "Month", 30);
    int64_t u = mk_user(st, "buyer", 1, "RUB", 0);
    struct hub_promo pr = {.kind = HUB_PROMO_DAYS, .value = 7, .max_uses = 10, .enabled = true};
    strcpy(pr.code, "WEEK7");
    assert_int_equal(store_promo_create(st, &pr, T0, NULL), 0);
    assert_int_equal(store_promo_create(st, &pr, T0, NULL), ERR_EXISTS);
    struct hub_promo got;
    assert_int_equal(store_promo_get(st, "WEEK7", &got), 0);
    assert_int_equal(got.kind, HUB_PROMO_DAYS);
    assert_int_equal(store_promo_get(st, "NOPE", &got), ERR_NOT_FOUND);

    struct hub_payment p = {.user_id = u, .plan_id = plan, .amount_minor = 29900, .bonus_days = 7, .promo_id = pr.id};
    strcpy(p.provider, "yookassa");
    strcpy(p.currency, "RUB");
    strcpy(p.idempotency_key, "promo-1");
    assert_int_equal(store_invoice_create(st, &p, T0, NULL), 0);
    struct store_pay_result res;
    assert_int_equal(paid(st, p.id, 29900, "RUB", &res), 0);
    assert_int_equal(res.sub.ends_at, T0 + 60 + 37 * HUB_DAY);
    assert_int_equal(paid(st, p.id, 29900, "RUB", &res), 0);
    bool used = false;
    assert_int_equal(store_promo_used_by(st, pr.id, u, &used), 0);
    assert_true(used);
    assert_int_equal(store_promo_get(st, "WEEK7", &got), 0);
    assert_int_equal(got.used, 1);
}

static void test_revenue(void **state)
{
    struct store *st = hub_test_get(state);
    int64_t plan = mk_plan(st, "Month", 30);
    int64_t ref = mk_user(st, "referrer", 1, "RUB", 0);
    int64_t u = mk_user(st, "buyer", 2, "RUB", ref);
    mk_user(st, "browser", 3, "RUB", 0);
    struct store_pay_result res;
    int64_t a = invoice(st, u, plan, "yookassa", 29900, "RUB", 1);
    assert_int_equal(paid(st, a, 29900, "RUB", &res), 0); /* settled at T0 + 60 */
    int64_t b = invoice(st, u, plan, "cryptobot", 29900, "RUB", 2);
    assert_int_equal(paid(st, b, 100, "RUB", &res), 0); /* flagged, not revenue */
    struct hub_payment p = {.user_id = u, .plan_id = plan, .amount_minor = 1000};
    strcpy(p.currency, "RUB");
    strcpy(p.idempotency_key, "bal-rev");
    assert_int_equal(store_payment_from_balance(st, &p, &RULES, T0 + 70, NULL, &res), 0); /* not revenue */

    struct store_revenue r;
    assert_int_equal(store_revenue_get(st, T0, T0 + HUB_DAY, &r), 0);
    assert_int_equal(r.n_days, 1);
    assert_int_equal(r.days[0].day, T0 / HUB_DAY);
    assert_string_equal(r.days[0].provider, "yookassa");
    assert_int_equal(r.days[0].amount_minor, 29900);
    assert_int_equal(r.n_cur, 1);
    assert_int_equal(r.cur[0].amount_minor, 29900);
    assert_int_equal(r.cur[0].payers, 1);
    assert_int_equal(r.cur[0].referral_minor, 2990);
    assert_int_equal(r.cur[0].bonus_minor, 1495);
    assert_int_equal(r.users, 3);
    assert_int_equal(r.paying_users, 1);
    assert_int_equal(r.flagged, 1);
    store_revenue_free(&r);
    /* Churn: the buyer's subscription ends at T0 + 60 + 60 days; seen as churned 7 days later. */
    assert_int_equal(store_revenue_get(st, T0, T0 + 60 + 60 * HUB_DAY + 7 * HUB_DAY, &r), 0);
    assert_int_equal(r.expired, 0);
    store_revenue_free(&r);
    assert_int_equal(store_revenue_get(st, T0, T0 + 61 + 67 * HUB_DAY, &r), 0);
    assert_int_equal(r.expired, 1);
    assert_int_equal(r.churned, 1);
    store_revenue_free(&r);
    assert_int_equal(store_revenue_get(st, T0, T0, &r), ERR_RANGE);

    struct store_pay_count *counts;
    size_t nc, seen = 0;
    assert_int_equal(store_payment_counts(st, &counts, &nc), 0);
    for (size_t i = 0; i < nc; i++) {
        if (strcmp(counts[i].provider, "yookassa") == 0 && strcmp(counts[i].outcome, "succeeded") == 0)
            seen += counts[i].n == 1;
        if (strcmp(counts[i].provider, "cryptobot") == 0 && strcmp(counts[i].outcome, "flagged") == 0)
            seen += counts[i].n == 1;
        if (strcmp(counts[i].provider, "cryptobot") == 0 && strcmp(counts[i].outcome, "pending") == 0)
            seen += counts[i].n == 1;
    }
    free(counts);
    assert_int_equal(seen, 3);

    struct hub_promo pr = {.kind = HUB_PROMO_PERCENT, .value = 10, .enabled = true};
    strcpy(pr.code, "TEN");
    assert_int_equal(store_promo_create(st, &pr, T0, NULL), 0);
    struct hub_promo *list;
    size_t n;
    assert_int_equal(store_promo_list(st, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].code, "TEN");
    free(list);
}

static int64_t ledger_sum(struct store *st, int64_t user)
{
    struct store_ledger_row *rows;
    size_t n;
    assert_int_equal(store_ledger_list(st, user, 1000, &rows, &n), 0);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += rows[i].delta_minor;
    free(rows);
    return sum;
}

/* The balance is the sum of its ledger rows whichever way it changes: opening balance, admin
 * delta, admin set (PATCH), top-up; and its currency cannot change under a non-zero balance. */
static void test_ledger_is_the_balance(void **state)
{
    struct store *st = hub_test_get(state);
    struct hub_user u;
    memset(&u, 0, sizeof u);
    strcpy(u.username, "opening");
    strcpy(u.language, "en");
    strcpy(u.currency, "RUB");
    strcpy(u.uuid, "00000000-0000-4000-8000-000000000009");
    strcpy(u.sub_token, "tok00000000000000000009");
    strcpy(u.referral_code, "RC00000009");
    u.enabled = true;
    u.balance_minor = 1000;
    assert_int_equal(store_user_create(st, &u, T0, NULL), 0);
    assert_int_equal(store_user_add_balance(st, u.id, 500, T0, NULL, NULL), 0);
    struct hub_user patch = {.balance_minor = 200};
    assert_int_equal(store_user_patch(st, u.id, &patch, HUB_USER_F_BALANCE, T0, NULL, NULL), 0);
    int64_t id = invoice(st, u.id, 0, "yookassa", 300, "RUB", 1);
    struct store_pay_result res;
    assert_int_equal(paid(st, id, 300, "RUB", &res), 0);
    assert_int_equal(balance(st, u.id), 500);
    assert_int_equal(ledger_sum(st, u.id), 500);

    strcpy(patch.currency, "USD");
    assert_int_equal(store_user_patch(st, u.id, &patch, HUB_USER_F_CURRENCY, T0, NULL, NULL), ERR_BAD_STATE);
    assert_int_equal(balance(st, u.id), 500);
    patch.balance_minor = 0;
    assert_int_equal(store_user_patch(st, u.id, &patch, HUB_USER_F_CURRENCY | HUB_USER_F_BALANCE, T0, NULL, NULL), 0);
    assert_int_equal(ledger_sum(st, u.id), 0);
    struct hub_user got;
    assert_int_equal(store_user_get(st, u.id, &got), 0);
    assert_string_equal(got.currency, "USD");
}

#define CONTRACT(setup)                                                                                                \
    cmocka_unit_test_setup_teardown(test_balance_currency_and_bound, setup, hub_test_teardown),                        \
        cmocka_unit_test_setup_teardown(test_invoice_exactly_once, setup, hub_test_teardown),                          \
        cmocka_unit_test_setup_teardown(test_mismatch_and_flags, setup, hub_test_teardown),                            \
        cmocka_unit_test_setup_teardown(test_topup_refund_and_balance_purchase, setup, hub_test_teardown),             \
        cmocka_unit_test_setup_teardown(test_promo, setup, hub_test_teardown),                                         \
        cmocka_unit_test_setup_teardown(test_revenue, setup, hub_test_teardown),                                       \
        cmocka_unit_test_setup_teardown(test_ledger_is_the_balance, setup, hub_test_teardown)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {CONTRACT(hub_test_setup_sqlite)};
    const struct CMUnitTest pg_tests[] = {CONTRACT(hub_test_setup_pg)};
    int rc = cmocka_run_group_tests_name("billing_store_sqlite", sqlite_tests, NULL, NULL);
    rc |= HUB_TEST_RUN_PG_GROUP("billing_store_pg", pg_tests);
    return rc;
}
