/* Money as providers write it ("199.00") and as we keep it (integer minor units). */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "hub/billing/billing_int.h"
#include "hub/domain/rules.h"

int billing_currency_exp(const char *currency)
{
    return currency != NULL && strcmp(currency, "XTR") == 0 ? 0 : 2;
}

int billing_decimal_to_minor(const char *s, size_t len, int exp, int64_t *out)
{
    if (s == NULL || len == 0 || len > 30 || exp < 0 || exp > 6)
        return ERR_MALFORMED;
    int64_t v = 0;
    size_t i = 0, int_digits = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, int_digits++) {
        if (v > HUB_MAX_MONEY)
            return ERR_RANGE;
        v = v * 10 + (s[i] - '0');
    }
    if (int_digits == 0)
        return ERR_MALFORMED;
    int frac = 0;
    if (i < len) {
        if (s[i] != '.' || i + 1 == len)
            return ERR_MALFORMED;
        for (i++; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return ERR_MALFORMED;
            if (frac < exp) {
                if (v > HUB_MAX_MONEY)
                    return ERR_RANGE;
                v = v * 10 + (s[i] - '0');
                frac++;
            } else if (s[i] != '0') {
                return ERR_RANGE; /* a fraction of a minor unit */
            }
        }
    }
    for (; frac < exp; frac++) {
        if (v > HUB_MAX_MONEY) /* before each multiply: 17 integer digits and exp 3 overflowed int64 */
            return ERR_RANGE;
        v *= 10;
    }
    if (v > HUB_MAX_MONEY)
        return ERR_RANGE;
    *out = v;
    return 0;
}

void billing_minor_to_decimal(int64_t minor, int exp, char out[static 32])
{
    if (minor < 0)
        minor = 0;
    if (minor > HUB_MAX_MONEY)
        minor = HUB_MAX_MONEY;
    if (exp <= 0 || exp > 6) {
        snprintf(out, 32, "%lld", (long long)minor);
        return;
    }
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%0*lld", exp + 1, (long long)minor); /* at least one integer digit */
    size_t ip = (size_t)n - (size_t)exp;
    memcpy(out, digits, ip);
    out[ip] = '.';
    memcpy(out + ip + 1, digits + ip, (size_t)exp + 1); /* fraction and NUL */
}

int billing_parse_id(const char *s, int64_t *out)
{
    if (s == NULL || s[0] == '\0' || s[0] == '0' || strlen(s) > 18)
        return ERR_MALFORMED;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return ERR_MALFORMED;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}
