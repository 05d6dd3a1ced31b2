/* What an invoice charges: the plan's price in the provider's currency, minus a promo. */
#include <string.h>

#include "core/err.h"
#include "hub/billing/billing_int.h"
#include "hub/domain/rules.h"

int billing_price_for(const struct hub_plan *plan, const char *currency, int64_t *amount)
{
    for (size_t i = 0; i < plan->n_prices && i < HUB_PLAN_PRICES_MAX; i++)
        if (strcmp(plan->prices[i].currency, currency) == 0) {
            *amount = plan->prices[i].amount_minor;
            return 0;
        }
    return ERR_NOT_FOUND;
}

int billing_promo_apply(const struct hub_promo *p, int64_t now, const char *currency, int64_t price, int64_t *amount,
                        int64_t *discount, int64_t *bonus_days)
{
    if (price < 0 || price > HUB_MAX_MONEY)
        return ERR_RANGE;
    if (!p->enabled || (p->valid_from != 0 && now < p->valid_from) || (p->valid_until != 0 && now >= p->valid_until) ||
        (p->max_uses > 0 && p->used >= p->max_uses) || p->value <= 0)
        return ERR_BAD_STATE;
    int64_t off = 0, days = 0;
    switch (p->kind) {
    case HUB_PROMO_MONEY:
        if (strcmp(p->currency, currency) != 0)
            return ERR_UNSUPPORTED;
        off = p->value < price ? p->value : price;
        break;
    case HUB_PROMO_PERCENT:
        if (p->value > 100)
            return ERR_RANGE;
        off = price * p->value / 100; /* price < 2^50, value <= 100: no overflow */
        break;
    case HUB_PROMO_DAYS:
        if (p->value > HUB_MAX_DURATION_DAYS)
            return ERR_RANGE;
        days = p->value;
        break;
    case HUB_PROMO__COUNT:
    default:
        return ERR_RANGE;
    }
    *amount = price - off;
    *discount = off;
    *bonus_days = days;
    return 0;
}
