/* Balance top-ups from the bot: Balance -> Top up -> an amount -> a provider -> billing's top-up
 * invoice (plan 0) -> a URL button to the provider's pay page. Billing credits the balance in the
 * settling transaction (ledger reason "topup"); the notices job then tells the customer, with
 * bot_topup_notice's text, once per payment like any other. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_kbd.h"

size_t bot_topup_provs(struct bot *b, const struct hub_user *hu, enum billing_prov out[static BILLING__COUNT])
{
    /* Not Stars: a Stars top-up would need its own sendInvoice path, and balances are not in XTR. */
    static const enum billing_prov order[] = {BILLING_YOOKASSA, BILLING_ROBOKASSA, BILLING_CRYPTOBOT};
    struct billing *bl = bot_billing(b);
    size_t n = 0;
    for (size_t i = 0; bl != NULL && i < sizeof order / sizeof order[0]; i++)
        if (billing_cfg_of(bl)->enabled[order[i]] &&
            strcmp(billing_prov_currency(bl, order[i], hu->currency), hu->currency) == 0)
            out[n++] = order[i]; /* billing tops a balance up only in its own currency */
    return n;
}

int bot_show_topup(struct bot *b, const struct bot_update *u, const struct hub_user *hu)
{
    enum bot_lang l = bot_lang_of(hu->language);
    enum billing_prov provs[BILLING__COUNT];
    if (bot_topup_provs(b, hu, provs) == 0)
        return bot_show(b, u, bot_cmsg(l, BOT_C_TOPUP_NONE), bot_kbd_balance(l, false));
    return bot_show(b, u, bot_cmsg(l, BOT_C_TOPUP_AMOUNT), bot_kbd_topup_amounts(l, hu->currency));
}

int bot_topup_providers(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t amount)
{
    enum bot_lang l = bot_lang_of(hu->language);
    if (!bot_topup_amount_ok(hu->currency, amount))
        return bot_show_topup(b, u, hu); /* an old keyboard (the currency changed): choose again */
    enum billing_prov provs[BILLING__COUNT];
    size_t n = bot_topup_provs(b, hu, provs);
    char money[48], msg[256];
    bot_money(amount, hu->currency, money);
    snprintf(msg, sizeof msg, "%s<b>%s</b>\n%s", bot_cmsg(l, BOT_C_TOPUP_PROVIDER), money,
             bot_msg(l, BOT_M_CHOOSE_PROVIDER));
    return bot_show(b, u, msg, bot_kbd_topup_pay(l, amount, provs, n));
}

int bot_topup_pay(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t amount,
                  enum billing_prov prov, int64_t now, const char **alert)
{
    enum bot_lang l = bot_lang_of(hu->language);
    enum billing_prov provs[BILLING__COUNT];
    size_t n = bot_topup_provs(b, hu, provs);
    bool offered = false;
    for (size_t i = 0; i < n; i++)
        offered = offered || provs[i] == prov;
    if (!offered || !bot_topup_amount_ok(hu->currency, amount)) {
        *alert = bot_cmsg(l, BOT_C_TOPUP_NONE);
        return 0;
    }
    struct billing_invoice_req in = {
        .user_id = hu->id, .plan_id = 0, .amount_minor = amount, .provider = prov, .actor = "bot", .source_ip = ""};
    struct hub_payment pay;
    struct billing_err e;
    if (billing_invoice_create(bot_billing(b), &in, now, &pay, &e) < 0) {
        log_warn("bot", 0, "topup_refused", LF_INT("user", hu->id), LF_STR("provider", billing_prov_name(prov)),
                 LF_STR("code", e.code));
        *alert = bot_msg(l, BOT_M_ERROR);
        return 0;
    }
    log_info("bot", 0, "topup_invoice", LF_INT("user", hu->id), LF_INT("payment", pay.id),
             LF_STR("provider", billing_prov_name(prov)), LF_INT("amount", pay.amount_minor));
    if (pay.pay_url[0] == '\0') {
        *alert = bot_msg(l, BOT_M_ERROR);
        return 0;
    }
    char money[48], msg[512];
    bot_money(pay.amount_minor, pay.currency, money);
    snprintf(msg, sizeof msg, "%s\n<b>%s</b>", bot_msg(l, BOT_M_PAY_LINK), money);
    return bot_show(b, u, msg, bot_kbd_pay_url(l, pay.pay_url));
}

int bot_topup_notice(struct bot *b, const struct hub_user *hu, const struct hub_payment *pay, char **html, json_t **kbd)
{
    enum bot_lang l = bot_lang_of(hu->language);
    struct hub_user now_user;
    TRY(store_user_get(b->st, hu->id, &now_user)); /* the balance after the credit */
    char *msg = malloc(512);
    if (msg == NULL)
        return ERR_NOMEM;
    char added[48], balance[48];
    bot_money(pay->amount_minor, pay->currency, added);
    bot_money(now_user.balance_minor, now_user.currency, balance);
    snprintf(msg, 512, "<b>%s%s</b>\n%s%s", bot_cmsg(l, BOT_C_TOPUP_DONE), added, bot_cmsg(l, BOT_C_TOPUP_BALANCE),
             balance);
    *html = msg;
    *kbd = bot_kbd_balance(l, true);
    return 0;
}
