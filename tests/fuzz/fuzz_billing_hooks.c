/* Fuzzes every parser of provider bytes in billing: the first byte picks the parser (YooKassa
 * payment object / notification, Robokassa ResultURL form, Crypto Pay update, decimal amounts),
 * the rest is the body. Accepted input must yield values inside their documented ranges. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/billing/billing_int.h"
#include "hub/domain/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_remote(const struct billing_remote *rm)
{
    if (rm->amount_minor < 0 || rm->amount_minor > HUB_MAX_MONEY || !hub_currency_valid(rm->currency) ||
        rm->external_id[0] == '\0' || rm->our_id < 0 || (unsigned)rm->status >= HUB_PAY__COUNT)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] % 5;
    char *body = malloc(size - 1 ? size - 1 : 1); /* exact size: over-reads are caught */
    if (body == NULL)
        return 0;
    memcpy(body, data + 1, size - 1);
    size_t n = size - 1;
    struct billing_remote rm;
    switch (which) {
    case 0:
        if (billing_yk_parse_payment(body, n, &rm) == 0)
            check_remote(&rm);
        break;
    case 1: {
        char event[64], id[129];
        if (billing_yk_parse_notification(body, n, event, id) == 0 && (id[0] == '\0' || strlen(event) >= 64))
            abort();
        break;
    }
    case 2: {
        struct billing_robo_result r;
        if (billing_robo_parse_form(body, n, &r) == 0 &&
            (r.out_sum[0] == '\0' || r.inv_id[0] == '\0' || r.signature[0] == '\0' || r.n_shp > BILLING_SHP_MAX))
            abort();
        break;
    }
    case 3:
        if (billing_cb_parse_update(body, n, &rm) == 0)
            check_remote(&rm);
        break;
    default: {
        int64_t v;
        if (billing_decimal_to_minor(body, n, 2, &v) == 0 && (v < 0 || v > HUB_MAX_MONEY))
            abort();
        break;
    }
    }
    free(body);
    return 0;
}
