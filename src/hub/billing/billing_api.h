/* Glue between billing and the hub's HTTP API and module system (billing_api.c,
 * billing_module.c). */
#ifndef VEIL_HUB_BILLING_API_H
#define VEIL_HUB_BILLING_API_H

#include <jansson.h>

#include "hub/billing/billing.h"

/* Adds the billing routes (from the module's .reg). */
void billing_api_register(void);
/* Adds the admin views: promo codes, the balance ledger, revenue analytics (billing_admin.c). */
void billing_admin_register(void);
/* The running instance, or NULL when billing is not started. Valid until the module stops. */
struct billing *billing_module_current(void);
/* A payment as the API shows it. */
json_t *billing_payment_json(const struct hub_payment *p);

#endif
