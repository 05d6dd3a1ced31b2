/* Pure domain rules: names and codes, money, periods, subscription state, resets, formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "hub/domain/rules.h"

#define T0 1764115200 /* 2025-11-26 00:00:00 UTC, a Wednesday */

static void test_enum_names(void **state)
{
    (void)state;
    for (int i = 0; i < HUB_RESET__COUNT; i++)
        assert_int_equal(hub_reset_parse(hub_reset_name((enum hub_reset)i)), i);
    for (int i = 0; i < HUB_SUB__COUNT; i++)
        assert_int_equal(hub_sub_state_parse(hub_sub_state_name((enum hub_sub_state)i)), i);
    for (int i = 0; i < HUB_ROLE__COUNT; i++)
        assert_int_equal(hub_role_parse(hub_role_name((enum hub_role)i)), i);
    for (int i = 0; i < HUB_HEALTH__COUNT; i++)
        assert_int_equal(hub_health_parse(hub_health_name((enum hub_health)i)), i);
    for (int i = 0; i < HUB_PAY__COUNT; i++)
        assert_int_equal(hub_pay_status_parse(hub_pay_status_name((enum hub_pay_status)i)), i);
    assert_int_equal(hub_reset_parse("yearly"), -1);
    assert_int_equal(hub_reset_parse(NULL), -1);
    assert_int_equal(hub_role_parse("Admin"), -1);
    assert_string_equal(hub_reset_name((enum hub_reset)99), "?");
}

static void test_validation(void **state)
{
    (void)state;
    assert_true(hub_username_valid("alice"));
    assert_true(hub_username_valid("a.b-c_9"));
    assert_false(hub_username_valid(""));
    assert_false(hub_username_valid("_alice"));
    assert_false(hub_username_valid("al ice"));
    assert_false(hub_username_valid("алиса"));
    char long_name[70];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    assert_false(hub_username_valid(long_name));
    long_name[64] = '\0';
    assert_true(hub_username_valid(long_name));

    assert_true(hub_name_valid("Месяц 🚀"));
    assert_false(hub_name_valid(""));
    assert_false(hub_name_valid("tab\there"));
    assert_false(hub_name_valid("\xc0\xaf"));         /* overlong */
    assert_false(hub_name_valid("\xed\xa0\x80"));     /* surrogate */
    assert_false(hub_name_valid("\xe2\x82"));         /* truncated */
    assert_false(hub_name_valid("\xf4\x90\x80\x80")); /* > U+10FFFF */
    assert_false(hub_name_valid("a\xc2\x85"));        /* C1 control */

    assert_true(hub_language_valid("en"));
    assert_true(hub_language_valid("pt-br"));
    assert_true(hub_language_valid("fil"));
    assert_false(hub_language_valid("e"));
    assert_false(hub_language_valid("EN"));
    assert_false(hub_language_valid("en-"));
    assert_false(hub_language_valid("en-b"));
    assert_false(hub_language_valid("en-toolong"));

    assert_true(hub_currency_valid("RUB"));
    assert_true(hub_currency_valid("XTR"));
    assert_false(hub_currency_valid("rub"));
    assert_false(hub_currency_valid("RU"));
    assert_false(hub_currency_valid("RUBL"));
    assert_true(hub_country_valid(""));
    assert_true(hub_country_valid("DE"));
    assert_false(hub_country_valid("de"));
    assert_false(hub_country_valid("DEU"));

    assert_true(hub_host_valid("de1.example.com"));
    assert_true(hub_host_valid("203.0.113.7"));
    assert_true(hub_host_valid("2001:db8::1"));
    assert_false(hub_host_valid(""));
    assert_false(hub_host_valid("-bad.example"));
    assert_false(hub_host_valid("bad-.example"));
    assert_false(hub_host_valid("a..b"));
    assert_false(hub_host_valid("a b"));
    assert_false(hub_host_valid("[2001:db8::1]"));
    assert_false(hub_host_valid("a:b"));

    assert_true(hub_short_id_valid(""));
    assert_true(hub_short_id_valid("6ba85179e30d4fc2"));
    assert_false(hub_short_id_valid("abc"));
    assert_false(hub_short_id_valid("6ba85179e30d4fc2aa"));
    assert_false(hub_short_id_valid("zz"));

    assert_true(hub_public_key_valid("Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw"));
    assert_false(hub_public_key_valid("Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnA"));
    assert_false(hub_public_key_valid("Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnA="));
    assert_false(hub_public_key_valid("Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnA+"));

    assert_true(hub_sub_token_valid("abcdefghijklmnop"));
    assert_false(hub_sub_token_valid("short"));
    assert_false(hub_sub_token_valid("abcdefghijklmnop/"));
}

static void test_money(void **state)
{
    (void)state;
    int64_t r;
    assert_int_equal(hub_money_add(100, -30, &r), 0);
    assert_int_equal(r, 70);
    assert_int_equal(hub_money_add(HUB_MAX_MONEY, 1, &r), ERR_RANGE);
    assert_int_equal(hub_money_add(INT64_MAX, 0, &r), ERR_RANGE);
    assert_int_equal(hub_money_add(-HUB_MAX_MONEY, -1, &r), ERR_RANGE);
    assert_int_equal(hub_referral_reward(29900, 10, &r), 0);
    assert_int_equal(r, 2990);
    assert_int_equal(hub_referral_reward(99, 10, &r), 0);
    assert_int_equal(r, 9); /* floor: never pay out more than earned */
    assert_int_equal(hub_referral_reward(100, 101, &r), ERR_RANGE);
    assert_int_equal(hub_referral_reward(-1, 10, &r), ERR_RANGE);
}

static void test_periods_and_state(void **state)
{
    (void)state;
    int64_t end;
    assert_int_equal(hub_period_end(T0, 30, &end), 0);
    assert_int_equal(end, T0 + 30 * HUB_DAY);
    assert_int_equal(hub_period_end(T0, 0, &end), ERR_RANGE);
    assert_int_equal(hub_period_end(T0, HUB_MAX_DURATION_DAYS + 1, &end), ERR_RANGE);
    assert_int_equal(hub_period_end(INT64_MAX, 1, &end), ERR_RANGE);

    struct hub_sub s = {.id = 1, .user_id = 7, .starts_at = T0, .ends_at = T0 + 10 * HUB_DAY, .quota_bytes = 1000};
    assert_int_equal(hub_sub_evaluate(&s, T0), HUB_SUB_ACTIVE);
    assert_int_equal(hub_sub_evaluate(&s, T0 + 10 * HUB_DAY), HUB_SUB_EXPIRED);
    assert_int_equal(hub_sub_add_usage(&s, 600, 400), 0);
    assert_int_equal(hub_sub_evaluate(&s, T0), HUB_SUB_LIMITED);
    assert_int_equal(hub_sub_add_usage(&s, -1, 0), ERR_RANGE);
    assert_int_equal(hub_sub_add_usage(&s, HUB_MAX_QUOTA, HUB_MAX_QUOTA), 0);
    assert_int_equal(s.used_up, HUB_MAX_QUOTA); /* saturates */

    /* Extension: from the end while running, from now once expired. */
    struct hub_sub t = {.starts_at = T0, .ends_at = T0 + 5 * HUB_DAY, .state = HUB_SUB_ACTIVE};
    assert_int_equal(hub_sub_extend(&t, 10, T0 + HUB_DAY), 0);
    assert_int_equal(t.ends_at, T0 + 15 * HUB_DAY);
    t.state = HUB_SUB_EXPIRED;
    assert_int_equal(hub_sub_extend(&t, 3, T0 + 20 * HUB_DAY), 0);
    assert_int_equal(t.ends_at, T0 + 23 * HUB_DAY);
    assert_int_equal(t.state, HUB_SUB_ACTIVE);
    t.state = HUB_SUB_REVOKED;
    assert_int_equal(hub_sub_extend(&t, 3, T0), ERR_BAD_STATE);
    assert_int_equal(hub_sub_evaluate(&t, T0), HUB_SUB_REVOKED);
    assert_int_equal(hub_sub_extend(&(struct hub_sub){.ends_at = T0}, 0, T0), ERR_RANGE);

    struct hub_user u = {.id = 7, .enabled = true};
    struct hub_sub a = {.user_id = 7, .starts_at = T0, .ends_at = T0 + HUB_DAY};
    assert_true(hub_user_can_connect(&u, &a, T0));
    assert_false(hub_user_can_connect(&u, &a, T0 - 1)); /* not started */
    assert_false(hub_user_can_connect(&u, &a, T0 + HUB_DAY));
    assert_false(hub_user_can_connect(&u, NULL, T0));
    u.enabled = false;
    assert_false(hub_user_can_connect(&u, &a, T0));
    u.enabled = true;
    a.user_id = 8;
    assert_false(hub_user_can_connect(&u, &a, T0));
}

static void test_usage_scale(void **state)
{
    (void)state;
    assert_int_equal(hub_usage_scale(1000, 100), 1000);
    assert_int_equal(hub_usage_scale(1000, 150), 1500);
    assert_int_equal(hub_usage_scale(999, 50), 499); /* floor */
    assert_int_equal(hub_usage_scale(123456789, 1), 1234567);
    assert_int_equal(hub_usage_scale(-5, 100), 0);
    assert_int_equal(hub_usage_scale(1000, -1), 1000); /* bad percent counts as 1x */
    assert_int_equal(hub_usage_scale(1000, 5000), 1000);
    assert_int_equal(hub_usage_scale(HUB_MAX_QUOTA, 1000), HUB_MAX_QUOTA); /* saturates */
    assert_int_equal(hub_usage_scale(INT64_MAX, 100), HUB_MAX_QUOTA);
}

static void test_resets(void **state)
{
    (void)state;
    /* Civil date round trips, including leap days and far dates. */
    assert_int_equal(hub_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(hub_days_from_civil(2000, 3, 1), 11017);
    int64_t y;
    unsigned m, d;
    for (int64_t z = -800000; z < 800000; z += 997) {
        hub_civil_from_days(z, &y, &m, &d);
        assert_int_equal(hub_days_from_civil(y, m, d), z);
    }
    hub_civil_from_days(hub_days_from_civil(2024, 2, 29), &y, &m, &d);
    assert_true(y == 2024 && m == 2 && d == 29);

    int64_t mid = T0 + 13 * 3600; /* Wednesday 13:00 */
    assert_int_equal(hub_reset_next(HUB_RESET_DAILY, mid), T0 + HUB_DAY);
    assert_int_equal(hub_reset_next(HUB_RESET_DAILY, T0), T0 + HUB_DAY);       /* strictly after */
    assert_int_equal(hub_reset_next(HUB_RESET_WEEKLY, mid), T0 + 5 * HUB_DAY); /* Monday Dec 1 */
    assert_int_equal(hub_reset_next(HUB_RESET_MONTHLY, mid), hub_days_from_civil(2025, 12, 1) * HUB_DAY);
    int64_t dec31 = hub_days_from_civil(2025, 12, 31) * HUB_DAY + 100;
    assert_int_equal(hub_reset_next(HUB_RESET_MONTHLY, dec31), hub_days_from_civil(2026, 1, 1) * HUB_DAY);
    assert_int_equal(hub_reset_next(HUB_RESET_NONE, mid), 0);
    assert_true(hub_reset_due(HUB_RESET_DAILY, mid, T0 + HUB_DAY));
    assert_false(hub_reset_due(HUB_RESET_DAILY, mid, T0 + HUB_DAY - 1));
    assert_false(hub_reset_due(HUB_RESET_NONE, 0, mid));
    assert_false(hub_reset_due((enum hub_reset)42, 0, mid));
}

static void test_formats(void **state)
{
    (void)state;
    uint8_t rnd[64];
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (uint8_t)(i * 37 + 11);
    char tok[HUB_TOKEN_MAX + 1];
    hub_sub_token_format(tok, rnd);
    assert_int_equal(strlen(tok), 32);
    assert_true(hub_sub_token_valid(tok));
    hub_api_token_format(tok, "va_", rnd);
    assert_int_equal(strlen(tok), 3 + 43);
    assert_memory_equal(tok, "va_", 3);
    char code[HUB_REFCODE_LEN + 1];
    hub_refcode_format(code, rnd);
    assert_int_equal(strlen(code), HUB_REFCODE_LEN);
    assert_null(strpbrk(code, "01OIL"));
    char uuid[37];
    hub_uuid_v4_format(uuid, rnd);
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(uuid[14], '4');           /* version */
    assert_non_null(strchr("89ab", uuid[19])); /* variant */
}

/* What a paid plan grants: the same plan still running is extended, any other running plan is
 * replaced, nothing running gets a new subscription; expired or revoked ones never extend. */
static void test_plan_grant(void **state)
{
    (void)state;
    const int64_t now = 1764115200;
    struct hub_sub cur = {
        .id = 5, .plan_id = 7, .state = HUB_SUB_ACTIVE, .starts_at = now - 86400, .ends_at = now + 86400};
    assert_int_equal(hub_plan_grant_for(NULL, 7, now), HUB_GRANT_NEW);
    assert_int_equal(hub_plan_grant_for(&cur, 7, now), HUB_GRANT_EXTEND_CURRENT);
    assert_int_equal(hub_plan_grant_for(&cur, 8, now), HUB_GRANT_REPLACE);
    cur.state = HUB_SUB_LIMITED; /* over quota but paid up: still the same plan to extend */
    assert_int_equal(hub_plan_grant_for(&cur, 7, now), HUB_GRANT_EXTEND_CURRENT);
    cur.ends_at = now; /* ended this second: a new period from now, the old one closed */
    assert_int_equal(hub_plan_grant_for(&cur, 7, now), HUB_GRANT_REPLACE);
    cur.state = HUB_SUB_EXPIRED;
    assert_int_equal(hub_plan_grant_for(&cur, 7, now), HUB_GRANT_NEW);
    cur.state = HUB_SUB_REVOKED;
    cur.ends_at = now + 86400;
    assert_int_equal(hub_plan_grant_for(&cur, 7, now), HUB_GRANT_NEW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enum_names),        cmocka_unit_test(test_validation),  cmocka_unit_test(test_money),
        cmocka_unit_test(test_periods_and_state), cmocka_unit_test(test_usage_scale), cmocka_unit_test(test_resets),
        cmocka_unit_test(test_formats),           cmocka_unit_test(test_plan_grant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
