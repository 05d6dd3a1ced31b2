/* What operators type into the dashboard's forms, beyond plain numbers: prices as money per
 * currency ("RUB 199.00, XTR 150"), quotas in GiB with up to three decimals, and UTC days
 * ("2026-12-06"). Pure functions: fuzzed (tests/fuzz/fuzz_admin_input.c) and unit-tested. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "hub/admin/admin.h"
#include "hub/billing/billing.h"
#include "hub/domain/rules.h"

#define GIB ((int64_t)1 << 30)

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int admin_prices_parse(const char *text, struct hub_price *out, size_t cap, size_t *n)
{
    *n = 0;
    const char *p = text;
    for (;;) {
        while (is_space(*p))
            p++;
        if (*p == '\0')
            break;
        /* one item: CODE spaces AMOUNT, then a comma or the end */
        const char *cur = p;
        while (*p >= 'A' && *p <= 'Z')
            p++;
        if (p - cur != HUB_CURRENCY_LEN || !is_space(*p))
            return ERR_MALFORMED;
        while (is_space(*p))
            p++;
        const char *amt = p;
        while ((*p >= '0' && *p <= '9') || *p == '.')
            p++;
        size_t alen = (size_t)(p - amt);
        while (is_space(*p))
            p++;
        if (*p != ',' && *p != '\0')
            return ERR_MALFORMED;
        if (*n == cap)
            return ERR_RANGE;
        struct hub_price *x = &out[*n];
        memcpy(x->currency, cur, HUB_CURRENCY_LEN);
        x->currency[HUB_CURRENCY_LEN] = '\0';
        TRY(billing_decimal_to_minor(amt, alen, billing_currency_exp(x->currency), &x->amount_minor));
        for (size_t i = 0; i < *n; i++)
            if (strcmp(out[i].currency, x->currency) == 0)
                return ERR_EXISTS; /* the same currency twice */
        (*n)++;
        if (*p == ',')
            p++;
    }
    return *n > 0 ? 0 : ERR_MALFORMED;
}

int admin_gib_parse(const char *s, int64_t *bytes)
{
    int64_t milli;
    TRY(billing_decimal_to_minor(s, strlen(s), 3, &milli));
    if (milli / 1000 > HUB_MAX_QUOTA / GIB)
        return ERR_RANGE;
    *bytes = milli / 1000 * GIB + milli % 1000 * GIB / 1000;
    return *bytes <= HUB_MAX_QUOTA ? 0 : ERR_RANGE;
}

void admin_gib_text(int64_t bytes, char out[static 32])
{
    if (bytes < 0)
        bytes = 0;
    int64_t milli = bytes / GIB * 1000 + (bytes % GIB) * 1000 / GIB;
    if (milli % 1000 == 0)
        snprintf(out, 32, "%lld", (long long)(milli / 1000));
    else
        snprintf(out, 32, "%lld.%03lld", (long long)(milli / 1000), (long long)(milli % 1000));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool admin_day_parse(const char *s, int64_t *out)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
        return false;
    *out = days_from_civil(y, m, d) * 86400;
    return true;
}
