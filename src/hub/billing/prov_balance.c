/* Paying from the customer's balance: no provider to call; the invoice is recorded, debited and
 * granted in one transaction (store_payment_from_balance). A refund credits the balance back. */
#include "hub/billing/billing_int.h"

static const char *balance_currency(const struct billing_cfg *cfg)
{
    (void)cfg;
    return ""; /* the user's own currency, chosen by billing_invoice_create */
}

static int balance_refund(struct billing *b, const struct hub_payment *p)
{
    (void)b;
    (void)p;
    return 0; /* the store's refund step moves the money back in the ledger */
}

const struct billing_prov_ops billing__balance = {
    .id = BILLING_BALANCE,
    .currency = balance_currency,
    .refund = balance_refund,
};
