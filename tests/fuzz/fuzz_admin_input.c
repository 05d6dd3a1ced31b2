/* Fuzz target: what operators type into the dashboard's forms (hub/admin/admin_input.c): a price
 * list, a quota in GiB, a UTC day. Parsed prices are valid currencies with amounts in range; a
 * parsed quota is within the limit and prints back to text that parses again; a day is a UTC
 * midnight. Input: the text of the field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/admin/admin.h"
#include "hub/domain/rules.h"
#include "fuzz_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = fuzz_cstr(data, size);
    if (s == NULL)
        abort();
    struct hub_price pr[HUB_PLAN_PRICES_MAX];
    size_t n = 0;
    if (admin_prices_parse(s, pr, HUB_PLAN_PRICES_MAX, &n) == 0) {
        if (n == 0 || n > HUB_PLAN_PRICES_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if (!hub_currency_valid(pr[i].currency) || pr[i].amount_minor < 0 || pr[i].amount_minor > HUB_MAX_MONEY)
                abort();
    }
    int64_t b, again;
    if (admin_gib_parse(s, &b) == 0) {
        if (b < 0 || b > HUB_MAX_QUOTA)
            abort();
        char t[32];
        admin_gib_text(b, t);
        if (admin_gib_parse(t, &again) != 0 || again > b)
            abort();
    }
    int64_t day;
    if (admin_day_parse(s, &day) && (day < 0 || day % 86400 != 0))
        abort();
    free(s);
    return 0;
}
