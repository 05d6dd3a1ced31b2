/* Promo codes from a /start promo_<code> link: billing checks the code, the bot keeps it for the
 * customer's next purchase (bot_state "promo:u<user id>" = the promo's id) and passes it to
 * every invoice until billing refuses it for good (used by this customer, expired, used up). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_kbd.h"
#include "hub/store/store_sql.h"

struct kept_arg {
    char name[40];
    int64_t promo_id;
    char code[HUB_PROMO_CODE_MAX + 1];
};

static void kept_name(int64_t user_id, char out[static 40])
{
    snprintf(out, 40, "promo:u%" PRId64, user_id);
}

static int keep_body(struct store_conn *sc, void *arg)
{
    struct kept_arg *x = arg;
    struct store_val p[] = {SV_T(x->name), SV_I(x->promo_id)};
    return store__exec(sc,
                       "INSERT INTO bot_state (name, value) VALUES ($1, $2)"
                       " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                       p, 2, NULL);
}

static int forget_body(struct store_conn *sc, void *arg)
{
    struct kept_arg *x = arg;
    struct store_val p[] = {SV_T(x->name)};
    return store__exec(sc, "DELETE FROM bot_state WHERE name = $1", p, 1, NULL);
}

static int kept_body(struct store_conn *sc, void *arg)
{
    struct kept_arg *x = arg;
    struct store_val p[] = {SV_T(x->name)};
    struct store_res r;
    TRY(store__exec(sc, "SELECT c.code FROM bot_state s JOIN promo_codes c ON c.id = s.value WHERE s.name = $1", p, 1,
                    &r));
    x->code[0] = '\0';
    if (r.nrows == 1)
        store__cell_str(&r, 0, 0, x->code, sizeof x->code);
    store__res_free(&r);
    return 0;
}

int bot_promo_store_get(struct store *st, int64_t user_id, char code[static HUB_PROMO_CODE_MAX + 1])
{
    struct kept_arg x = {.promo_id = 0};
    kept_name(user_id, x.name);
    code[0] = '\0';
    TRY(store__ro(st, kept_body, &x));
    snprintf(code, HUB_PROMO_CODE_MAX + 1, "%s", x.code);
    return 0;
}

int bot_promo_store_set(struct store *st, int64_t user_id, int64_t promo_id)
{
    struct kept_arg x = {.promo_id = promo_id};
    kept_name(user_id, x.name);
    return store__tx(st, promo_id > 0 ? keep_body : forget_body, &x);
}

int bot_promo_kept(struct bot *b, const struct hub_user *hu, char code[static HUB_PROMO_CODE_MAX + 1])
{
    return bot_promo_store_get(b->st, hu->id, code);
}

static void forget(struct bot *b, const struct hub_user *hu)
{
    if (bot_promo_store_set(b->st, hu->id, 0) < 0)
        log_warn("bot", 0, "promo_forget_failed", LF_INT("user", hu->id));
}

/* What the promo gives, escaped: "10 % off", "7 extra days", "100.00 RUB off". */
static void describe(enum bot_lang l, const struct hub_promo *p, char out[static 128])
{
    char money[48];
    switch (p->kind) {
    case HUB_PROMO_PERCENT:
        snprintf(out, 128, "%" PRId64 "%s", p->value, bot_cmsg(l, BOT_C_PROMO_PERCENT));
        return;
    case HUB_PROMO_DAYS:
        snprintf(out, 128, "+%" PRId64 "%s", p->value, bot_cmsg(l, BOT_C_PROMO_DAYS));
        return;
    case HUB_PROMO_MONEY:
    case HUB_PROMO__COUNT:
    default:
        bot_money(p->value, p->currency, money);
        snprintf(out, 128, "%s%s", money, bot_cmsg(l, BOT_C_PROMO_MONEY));
        return;
    }
}

static bool code_chars_ok(const char *code)
{
    size_t n = strlen(code);
    if (n == 0 || n > HUB_PROMO_CODE_MAX)
        return false;
    for (const char *p = code; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

int bot_promo_start(struct bot *b, int64_t chat_id, const struct hub_user *hu, const char *code, int64_t now)
{
    enum bot_lang l = bot_lang_of(hu->language);
    struct billing *bl = bot_billing(b);
    if (bl == NULL)
        return bot_send_text(b, chat_id, bot_msg(l, BOT_M_UNAVAILABLE), NULL);
    struct hub_promo promo;
    struct billing_err e = {0};
    int rc = code_chars_ok(code) ? billing_promo_check(bl, code, hu->id, now, &promo, &e) : ERR_NOT_FOUND;
    if (rc < 0 && strcmp(e.code, "busy") == 0)
        return rc; /* the database: the update is handled again */
    if (rc < 0) {
        log_info("bot", 0, "promo_refused", LF_INT("user", hu->id), LF_STR("code", e.code[0] ? e.code : "unknown"));
        enum bot_cmsg why = rc == ERR_NOT_FOUND                 ? BOT_C_PROMO_UNKNOWN
                            : strcmp(e.code, "promo_used") == 0 ? BOT_C_PROMO_USED
                                                                : BOT_C_PROMO_EXPIRED;
        return bot_send_text(b, chat_id, bot_cmsg(l, why), NULL);
    }
    TRY(bot_promo_store_set(b->st, hu->id, promo.id));
    log_info("bot", 0, "promo_kept", LF_INT("user", hu->id), LF_INT("promo", promo.id));
    char what[128], esc_code[HUB_PROMO_CODE_MAX * 6 + 1], esc_what[256], msg[768];
    describe(l, &promo, what);
    (void)bot_html_escape(promo.code, esc_code, sizeof esc_code);
    (void)bot_html_escape(what, esc_what, sizeof esc_what);
    snprintf(msg, sizeof msg, "%s<b>%s</b> (%s)\n%s", bot_cmsg(l, BOT_C_PROMO_OK), esc_code, esc_what,
             bot_cmsg(l, BOT_C_PROMO_TAIL));
    return bot_send_text(b, chat_id, msg, bot_kbd_main(l, b->cfg.trial_days > 0));
}

int bot_invoice_create(struct bot *b, struct billing *bl, struct billing_invoice_req *in, int64_t now,
                       struct hub_payment *out, struct billing_err *e)
{
    struct hub_user hu;
    char code[HUB_PROMO_CODE_MAX + 1] = "";
    if (in->plan_id > 0 && in->promo_code == NULL && store_user_get(b->st, in->user_id, &hu) == 0 &&
        bot_promo_kept(b, &hu, code) == 0 && code[0] != '\0')
        in->promo_code = code;
    int rc = billing_invoice_create(bl, in, now, out, e);
    if (rc < 0 && in->promo_code == code && strncmp(e->code, "promo_", 6) == 0) {
        /* Refused for the code: used, expired or used up (forgotten), or not for this currency
         * (kept for another provider). The customer buys at the full price. */
        log_info("bot", 0, "promo_not_applied", LF_INT("user", in->user_id), LF_STR("code", e->code));
        if (strcmp(e->code, "promo_currency") != 0)
            forget(b, &hu);
        in->promo_code = NULL;
        rc = billing_invoice_create(bl, in, now, out, e);
    } else if (rc == 0 && in->promo_code == code && out->status == HUB_PAY_SUCCEEDED) {
        forget(b, &hu); /* used */
    }
    if (in->promo_code == code)
        in->promo_code = NULL; /* code is ours: not to outlive this call */
    return rc;
}
