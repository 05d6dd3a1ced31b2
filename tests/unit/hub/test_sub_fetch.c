/* The table of (token, address) pairs whose /sub fetch was recorded in the last minute
 * (api_subfetch.c): a pair already noted costs no database write, so the table must keep every
 * pair of a busy minute, not just a few thousand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "hub/api/api_int.h"

#define PAIRS 10000

static void token_for(size_t i, char out[33])
{
    snprintf(out, 33, "tok%029zu", i);
}

/* 10,000 tokens fetched from one address within a minute are all remembered (a direct-mapped
 * table of 4096 slots forgot most of them, and each forgotten one cost a write per hit). */
static void test_busy_minute_remembered(void **state)
{
    (void)state;
    int64_t t0 = 1800000000;
    char tok[33];
    for (size_t i = 0; i < PAIRS; i++) {
        token_for(i, tok);
        assert_false(api__sub_fetch_seen_recently(tok, "198.51.100.7", t0));
    }
    size_t forgotten = 0;
    for (size_t i = 0; i < PAIRS; i++) {
        token_for(i, tok);
        if (!api__sub_fetch_seen_recently(tok, "198.51.100.7", t0 + 30))
            forgotten++;
    }
    /* Four ways per set: a few sets may overflow, nearly every pair must survive. */
    assert_true(forgotten < PAIRS / 100);
}

/* Another address, or the same pair a minute later, is news. */
static void test_new_address_and_expiry(void **state)
{
    (void)state;
    int64_t t0 = 1900000000;
    assert_false(api__sub_fetch_seen_recently("tokenA-0123456789", "203.0.113.1", t0));
    assert_true(api__sub_fetch_seen_recently("tokenA-0123456789", "203.0.113.1", t0 + 59));
    assert_false(api__sub_fetch_seen_recently("tokenA-0123456789", "203.0.113.2", t0 + 59));
    assert_false(api__sub_fetch_seen_recently("tokenA-0123456789", "203.0.113.1", t0 + 120));
    assert_true(api__sub_fetch_seen_recently("tokenA-0123456789", "203.0.113.1", t0 + 121));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_minute_remembered),
        cmocka_unit_test(test_new_address_and_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
