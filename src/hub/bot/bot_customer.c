/* Dispatch of the customer screens' callbacks and commands (bot_customer.h). */
#include <string.h>

#include "core/err.h"
#include "hub/bot/bot_customer.h"

bool bot_customer_callback(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t now,
                           const char **alert, int *rc)
{
    int64_t a;
    enum billing_prov prov;
    switch (bot_ccb_parse(u->text, &a, &prov)) {
    case BOT_CCB_DEVICES:
        *rc = bot_show_devices(b, u, hu, NULL);
        return true;
    case BOT_CCB_DEV_FREE:
        *rc = bot_free_device(b, u, hu, a, now, alert);
        return true;
    case BOT_CCB_TOPUP:
        *rc = bot_show_topup(b, u, hu);
        return true;
    case BOT_CCB_TOPUP_AMOUNT:
        *rc = bot_topup_providers(b, u, hu, a);
        return true;
    case BOT_CCB_TOPUP_PAY:
        *rc = bot_topup_pay(b, u, hu, a, prov, now, alert);
        return true;
    case BOT_CCB_NONE:
    case BOT_CCB__COUNT:
        break;
    }
    return false;
}

bool bot_customer_command(struct bot *b, const struct bot_update *u, const struct hub_user *hu, const char *cmd,
                          int64_t now, int *rc)
{
    (void)now;
    if (strcmp(cmd, "devices") == 0) {
        *rc = bot_show_devices(b, u, hu, NULL);
        return true;
    }
    if (strcmp(cmd, "topup") == 0) {
        *rc = bot_show_topup(b, u, hu);
        return true;
    }
    return false;
}
