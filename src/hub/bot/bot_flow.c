/* The customer flow (bot_flow.h). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "hub/billing/billing_api.h"
#include "hub/bot/bot_admin.h"
#include "hub/bot/bot_api.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_flow.h"
#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_notify.h"
#include "hub/bot/bot_qr.h"
#include "hub/bot/bot_store.h"
#include "hub/bot/bot_text.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"

#define MSG_MAX 4096

static struct billing *billing_of(struct bot *b)
{
    return b->billing != NULL ? b->billing : billing_module_current();
}

struct billing *bot_billing(struct bot *b)
{
    return billing_of(b);
}

/* One call; a 403 marks the chat as blocked (sending stops mattering until it is back). */
static int call(struct bot *b, int64_t chat_id, const char *method, json_t *params, json_t **result)
{
    if (params == NULL)
        return ERR_NOMEM;
    int rc = bot_api_call(&b->api, method, params, 0, result);
    json_decref(params);
    if (rc == ERR_AUTH && chat_id > 0) {
        log_info("bot", 0, "chat_blocked", LF_INT("chat", chat_id), LF_STR("method", method));
        (void)bot_store_blocked_set(b->st, chat_id, true, 0);
    } else if (rc < 0) {
        log_warn("bot", 0, "send_failed", LF_STR("method", method), LF_STR("err", err_str(rc)));
    }
    return rc;
}

int bot_send_text(struct bot *b, int64_t chat_id, const char *html, json_t *kbd)
{
    json_t *p = json_pack("{s:I,s:s,s:s,s:{s:b}}", "chat_id", (json_int_t)chat_id, "text", html, "parse_mode", "HTML",
                          "link_preview_options", "is_disabled", 1);
    if (p != NULL && kbd != NULL)
        json_object_set(p, "reply_markup", kbd);
    json_decref(kbd);
    return call(b, chat_id, "sendMessage", p, NULL);
}

/* Replaces the menu message in place; a new message when there is none or it cannot be edited. */
static int show(struct bot *b, const struct bot_update *u, const char *html, json_t *kbd)
{
    if (u->kind == BOT_UPD_CALLBACK && u->message_id > 0) {
        json_t *p = json_pack("{s:I,s:I,s:s,s:s}", "chat_id", (json_int_t)u->chat_id, "message_id",
                              (json_int_t)u->message_id, "text", html, "parse_mode", "HTML");
        if (p != NULL && kbd != NULL)
            json_object_set(p, "reply_markup", kbd);
        int rc = call(b, u->chat_id, "editMessageText", p, NULL);
        if (rc != ERR_MALFORMED) {
            json_decref(kbd);
            return rc;
        }
    }
    return bot_send_text(b, u->chat_id, html, kbd);
}

int bot_show(struct bot *b, const struct bot_update *u, const char *html, json_t *kbd)
{
    return show(b, u, html, kbd);
}

static int answer_callback(struct bot *b, const struct bot_update *u, const char *alert)
{
    json_t *p = json_pack("{s:s}", "callback_query_id", u->query_id);
    if (p != NULL && alert != NULL) {
        json_object_set_new(p, "text", json_string(alert));
        json_object_set_new(p, "show_alert", json_true());
    }
    return call(b, 0, "answerCallbackQuery", p, NULL);
}

/* The referrer named by a /start payload "ref_<code>", or 0. */
static int64_t referrer_of(struct bot *b, const char *payload)
{
    if (strncmp(payload, "ref_", 4) != 0 || strlen(payload + 4) != HUB_REFCODE_LEN)
        return 0;
    struct hub_user *list;
    size_t n;
    int64_t total;
    if (store_user_list(b->st, payload + 4, 0, 20, &list, &n, &total) < 0)
        return 0;
    int64_t id = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].referral_code, payload + 4) == 0)
            id = list[i].id;
    free(list);
    return id;
}

/* The hub user of this Telegram user, registered on first sight. */
static int user_of(struct bot *b, const struct bot_update *u, const char *start_payload, int64_t now,
                   struct hub_user *out)
{
    int rc = store_user_by_telegram(b->st, u->from_id, out);
    if (rc != ERR_NOT_FOUND)
        return rc;
    struct hub_user nu;
    memset(&nu, 0, sizeof nu);
    nu.telegram_id = u->from_id;
    snprintf(nu.username, sizeof nu.username, "tg%" PRId64, u->from_id);
    snprintf(nu.language, sizeof nu.language, "%s", bot_lang_code(bot_lang_of(u->lang)));
    snprintf(nu.currency, sizeof nu.currency, "RUB");
    nu.enabled = true;
    nu.referrer_id = start_payload != NULL ? referrer_of(b, start_payload) : 0;
    uint8_t rnd[16 + HUB_SUB_TOKEN_RAND + HUB_REFCODE_LEN];
    TRY(crypto_random(rnd, sizeof rnd));
    hub_uuid_v4_format(nu.uuid, rnd);
    hub_sub_token_format(nu.sub_token, rnd + 16);
    hub_refcode_format(nu.referral_code, rnd + 16 + HUB_SUB_TOKEN_RAND);
    struct store_audit au = {.actor = "bot", .action = "user.create"};
    rc = store_user_create(b->st, &nu, now, &au);
    if (rc == ERR_EXISTS) /* the same user's other update won the race */
        return store_user_by_telegram(b->st, u->from_id, out);
    TRY(rc);
    log_info("bot", 0, "user_registered", LF_INT("user", nu.id), LF_INT("referrer", nu.referrer_id));
    *out = nu;
    return 0;
}

static enum bot_lang lang_of(const struct hub_user *hu)
{
    return bot_lang_of(hu->language);
}

static int sub_url(struct bot *b, const struct hub_user *hu, char *out, size_t cap)
{
    if (b->public_url[0] == '\0')
        return ERR_NOT_FOUND;
    size_t bl = strlen(b->public_url);
    int n = snprintf(out, cap, "%.*s/sub/%s", (int)(b->public_url[bl - 1] == '/' ? bl - 1 : bl), b->public_url,
                     hu->sub_token);
    return n > 0 && (size_t)n < cap ? 0 : ERR_TOO_LONG;
}

void bot_fmt_date(int64_t t, char out[static 32])
{
    int64_t y;
    unsigned m, d;
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    hub_civil_from_days(days, &y, &m, &d);
    int64_t sec = t - days * 86400;
    snprintf(out, 32, "%04" PRId64 "-%02u-%02u %02d:%02d UTC", y, m, d, (int)(sec / 3600), (int)(sec / 60 % 60));
}

/* Appends escaped text to a message buffer (cut when full). */
static void put(char *msg, const char *raw_html)
{
    size_t n = strlen(msg);
    snprintf(msg + n, MSG_MAX - n, "%s", raw_html);
}

static void put_esc(char *msg, const char *text)
{
    char esc[1024];
    (void)bot_html_escape(text, esc, sizeof esc);
    put(msg, esc);
}

int bot_sub_message(struct bot *b, const struct hub_user *hu, int64_t now, const char *lead, char **html, json_t **kbd)
{
    enum bot_lang l = lang_of(hu);
    struct hub_sub s;
    int rc = store_sub_current(b->st, hu->id, &s);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    char *msg = calloc(1, MSG_MAX);
    if (msg == NULL)
        return ERR_NOMEM;
    if (lead != NULL) {
        put(msg, lead);
        put(msg, "\n\n");
    }
    if (rc == ERR_NOT_FOUND) {
        put(msg, bot_msg(l, BOT_M_NO_SUB));
        *html = msg;
        *kbd = bot_kbd_main(l, b->cfg.trial_days > 0);
        return 0;
    }
    char url[640], date[32], num[24];
    put(msg, "<b>");
    put(msg, bot_msg(l, BOT_M_SUB_HEAD));
    put_esc(msg, hub_sub_state_name(s.state));
    put(msg, "</b>\n");
    put(msg, bot_msg(l, BOT_M_SUB_UNTIL));
    bot_fmt_date(s.ends_at, date);
    put(msg, date);
    put(msg, "\n");
    put(msg, bot_msg(l, BOT_M_SUB_DAYS_LEFT));
    snprintf(num, sizeof num, "%" PRId64, s.ends_at > now ? (s.ends_at - now + 86399) / 86400 : 0);
    put(msg, num);
    char used[32], quota[32]; /* traffic used in this period, of the quota */
    bot_fmt_bytes(s.used_up + s.used_down, used);
    bot_fmt_bytes(s.quota_bytes, quota);
    put(msg, "\n");
    put(msg, bot_cmsg(l, BOT_C_TRAFFIC));
    put(msg, used);
    put(msg, " / ");
    put(msg, s.quota_bytes > 0 ? quota : bot_cmsg(l, BOT_C_UNLIMITED));
    if (sub_url(b, hu, url, sizeof url) == 0) {
        put(msg, "\n\n");
        put(msg, bot_msg(l, BOT_M_SUB_LINK));
        put(msg, "\n<code>");
        put_esc(msg, url);
        put(msg, "</code>");
        *kbd = bot_kbd_sub(l, url);
        if (*kbd != NULL && bot_kbd_sub_more(*kbd, l, b->public_url, hu->sub_token, s.device_limit > 0) < 0) {
            json_decref(*kbd);
            *kbd = NULL;
        }
    } else {
        *kbd = bot_kbd_back(l);
    }
    *html = msg;
    return 0;
}

/* "My subscription": state, end, days left, the link with copy/open buttons. */
static int show_sub(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t now, const char *lead)
{
    char *msg;
    json_t *kbd;
    TRY(bot_sub_message(b, hu, now, lead, &msg, &kbd));
    int rc = show(b, u, msg, kbd);
    free(msg);
    return rc;
}

static int show_menu(struct bot *b, const struct bot_update *u, const struct hub_user *hu, bool welcome)
{
    enum bot_lang l = lang_of(hu);
    char msg[512] = "";
    if (welcome) {
        snprintf(msg, sizeof msg, "%s\n\n", bot_msg(l, BOT_M_WELCOME));
    }
    put(msg, bot_msg(l, BOT_M_MENU));
    return show(b, u, msg, bot_kbd_main(l, b->cfg.trial_days > 0));
}

static int do_trial(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t now,
                    const char **alert)
{
    enum bot_lang l = lang_of(hu);
    if (b->cfg.trial_days <= 0) {
        *alert = bot_msg(l, BOT_M_TRIAL_OFF);
        return u->kind == BOT_UPD_CALLBACK ? 0 : bot_send_text(b, u->chat_id, *alert, NULL);
    }
    int64_t plan;
    TRY(bot_store_trial_plan(b->st, b->cfg.trial_days, now, &plan));
    int rc = bot_store_trial(b->st, u->from_id, hu->id, plan, now, NULL);
    if (rc == ERR_EXISTS || rc == ERR_BAD_STATE) {
        *alert = bot_msg(l, rc == ERR_EXISTS ? BOT_M_TRIAL_TAKEN : BOT_M_TRIAL_HAS_SUB);
        return u->kind == BOT_UPD_CALLBACK ? 0 : bot_send_text(b, u->chat_id, *alert, NULL);
    }
    TRY(rc);
    log_info("bot", 0, "trial_granted", LF_INT("user", hu->id), LF_INT("days", b->cfg.trial_days));
    return show_sub(b, u, hu, now, bot_msg(l, BOT_M_TRIAL_OK));
}

/* The ways to pay billing has configured, in button order. */
static size_t pay_opts(struct bot *b, const struct hub_user *hu, struct bot_pay_opt opts[static BILLING__COUNT])
{
    static const enum billing_prov order[] = {BILLING_STARS, BILLING_YOOKASSA, BILLING_ROBOKASSA, BILLING_CRYPTOBOT,
                                              BILLING_BALANCE};
    struct billing *bl = billing_of(b);
    size_t n = 0;
    for (size_t i = 0; bl != NULL && i < sizeof order / sizeof order[0]; i++) {
        if (!billing_cfg_of(bl)->enabled[order[i]])
            continue;
        opts[n].prov = order[i];
        snprintf(opts[n].currency, sizeof opts[n].currency, "%s", billing_prov_currency(bl, order[i], hu->currency));
        n++;
    }
    return n;
}

static int show_plans(struct bot *b, const struct bot_update *u, const struct hub_user *hu)
{
    enum bot_lang l = lang_of(hu);
    struct bot_pay_opt opts[BILLING__COUNT];
    size_t n_opts = pay_opts(b, hu, opts);
    struct hub_plan *plans;
    size_t n;
    TRY(store_plan_list(b->st, &plans, &n));
    size_t sale = 0;
    for (size_t i = 0; i < n; i++)
        sale += bot_plan_for_sale(&plans[i], opts, n_opts);
    int rc;
    if (sale == 0)
        rc = show(b, u, bot_msg(l, BOT_M_NO_PLANS), bot_kbd_back(l));
    else
        rc = show(b, u, bot_msg(l, BOT_M_PLANS), bot_kbd_plans(l, plans, n, opts, n_opts));
    free(plans);
    return rc;
}

static int show_providers(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t plan_id)
{
    enum bot_lang l = lang_of(hu);
    struct hub_plan p;
    int rc = store_plan_get(b->st, plan_id, &p);
    if (rc == ERR_NOT_FOUND || (rc == 0 && !p.enabled))
        return show_plans(b, u, hu);
    TRY(rc);
    struct bot_pay_opt opts[BILLING__COUNT];
    size_t n_opts = pay_opts(b, hu, opts);
    bool sale = bot_plan_for_sale(&p, opts, n_opts);
    char msg[512] = "<b>";
    put_esc(msg, p.name);
    put(msg, "</b>\n");
    put(msg, bot_msg(l, sale ? BOT_M_CHOOSE_PROVIDER : BOT_M_UNAVAILABLE));
    char code[HUB_PROMO_CODE_MAX + 1];
    if (sale && bot_promo_kept(b, hu, code) == 0 && code[0] != '\0') { /* billing applies it to the invoice */
        put(msg, "\n");
        put(msg, bot_cmsg(l, BOT_C_PROMO_PENDING));
        put(msg, "<b>");
        put_esc(msg, code);
        put(msg, "</b>");
    }
    return show(b, u, msg, bot_kbd_pay(l, &p, opts, n_opts));
}

/* Title: at most 32 characters (not bytes) of the plan name. */
static void cut_chars(const char *in, size_t max_chars, char *out, size_t cap)
{
    size_t o = 0, chars = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < cap;) {
        size_t n = 1;
        while (p[n] != '\0' && (p[n] & 0xc0) == 0x80 && n < 4)
            n++;
        if (chars == max_chars || o + n >= cap)
            break;
        memcpy(out + o, p, n);
        o += n;
        p += n;
        chars++;
    }
    out[o] = '\0';
}

static int send_invoice(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t plan_id,
                        int64_t now, const char **alert)
{
    enum bot_lang l = lang_of(hu);
    struct billing *bl = billing_of(b);
    if (bl == NULL || !billing_cfg_of(bl)->enabled[BILLING_STARS]) {
        *alert = bot_msg(l, BOT_M_UNAVAILABLE);
        return 0;
    }
    struct hub_plan plan;
    TRY(store_plan_get(b->st, plan_id, &plan));
    struct billing_invoice_req in = {
        .user_id = hu->id, .plan_id = plan_id, .provider = BILLING_STARS, .actor = "bot", .source_ip = ""};
    struct hub_payment pay;
    struct billing_err e;
    int rc = bot_invoice_create(b, bl, &in, now, &pay, &e);
    if (rc < 0) {
        log_warn("bot", 0, "invoice_refused", LF_INT("user", hu->id), LF_STR("code", e.code));
        *alert = bot_msg(l, BOT_M_ERROR);
        return 0;
    }
    if (pay.status == HUB_PAY_SUCCEEDED) /* a promo made it free */
        return bot_notify_paid(b, hu, pay.id, now);
    char title[160], desc[300], payload[24];
    cut_chars(plan.name, 32, title, sizeof title);
    snprintf(desc, sizeof desc, "%s%s, %" PRId64 "%s", bot_msg(l, BOT_M_INVOICE_DESC), title, plan.duration_days,
             bot_msg(l, BOT_M_PLAN_DAYS));
    char desc_cut[300];
    cut_chars(desc, 255, desc_cut, sizeof desc_cut);
    snprintf(payload, sizeof payload, "%" PRId64, pay.id);
    json_t *p = json_pack("{s:I,s:s,s:s,s:s,s:s,s:[{s:s,s:I}]}", "chat_id", (json_int_t)u->chat_id, "title", title,
                          "description", desc_cut, "payload", payload, "currency", "XTR", "prices", "label", title,
                          "amount", (json_int_t)pay.amount_minor);
    log_info("bot", 0, "invoice_sent", LF_INT("user", hu->id), LF_INT("payment", pay.id),
             LF_INT("amount", pay.amount_minor));
    return call(b, u->chat_id, "sendInvoice", p, NULL);
}

/* YooKassa, Robokassa, Crypto Pay: the invoice through billing and a URL button to its pay
 * page (the customer is told when the payment settles: bot_notify.c). The balance pays at once. */
static int pay_other(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t plan_id,
                     enum billing_prov prov, int64_t now, const char **alert)
{
    enum bot_lang l = lang_of(hu);
    struct billing *bl = billing_of(b);
    if (bl == NULL || !billing_cfg_of(bl)->enabled[prov]) {
        *alert = bot_msg(l, BOT_M_UNAVAILABLE);
        return 0;
    }
    struct billing_invoice_req in = {
        .user_id = hu->id, .plan_id = plan_id, .provider = prov, .actor = "bot", .source_ip = ""};
    struct hub_payment pay;
    struct billing_err e;
    if (bot_invoice_create(b, bl, &in, now, &pay, &e) < 0) {
        log_warn("bot", 0, "invoice_refused", LF_INT("user", hu->id), LF_STR("provider", billing_prov_name(prov)),
                 LF_STR("code", e.code));
        *alert = bot_msg(l, strcmp(e.code, "insufficient_balance") == 0 ? BOT_M_NO_FUNDS
                            : strcmp(e.code, "no_price") == 0           ? BOT_M_UNAVAILABLE
                                                                        : BOT_M_ERROR);
        return 0;
    }
    log_info("bot", 0, "invoice_created", LF_INT("user", hu->id), LF_INT("payment", pay.id),
             LF_STR("provider", billing_prov_name(prov)), LF_INT("amount", pay.amount_minor));
    if (pay.status == HUB_PAY_SUCCEEDED) /* the balance, or a promo that made it free */
        return bot_notify_paid(b, hu, pay.id, now);
    if (pay.pay_url[0] == '\0') {
        *alert = bot_msg(l, BOT_M_ERROR);
        return 0;
    }
    char msg[512] = "", money[48];
    put(msg, bot_msg(l, BOT_M_PAY_LINK));
    put(msg, "\n<b>");
    bot_money(pay.amount_minor, pay.currency, money);
    put_esc(msg, money);
    put(msg, "</b>");
    return show(b, u, msg, bot_kbd_pay_url(l, pay.pay_url));
}

static int on_precheckout(struct bot *b, const struct bot_update *u, int64_t now)
{
    bool ok = false;
    char reason[128] = "";
    struct billing *bl = billing_of(b);
    if (bl == NULL)
        snprintf(reason, sizeof reason, "Payments are not available right now.");
    else if (billing_stars_precheckout(bl, u->payload, u->currency, u->total_amount, now, &ok, reason) < 0)
        snprintf(reason, sizeof reason, "Please try again in a minute.");
    if (ok) {
        /* Only the customer who was sent the invoice may pay it. */
        struct hub_user hu;
        struct hub_payment p;
        int64_t pid;
        if (store_user_by_telegram(b->st, u->from_id, &hu) < 0 || sscanf(u->payload, "%" SCNd64, &pid) != 1 ||
            store_payment_get(b->st, pid, &p) < 0 || p.user_id != hu.id) {
            ok = false;
            snprintf(reason, sizeof reason, "This invoice is not known. Please request a new one.");
        }
    }
    json_t *p = json_pack("{s:s,s:b}", "pre_checkout_query_id", u->query_id, "ok", ok);
    if (p != NULL && !ok)
        json_object_set_new(p, "error_message", json_string(reason));
    log_info("bot", 0, "pre_checkout", LF_STR("payload", u->payload), LF_BOOL("ok", ok));
    return call(b, 0, "answerPreCheckoutQuery", p, NULL);
}

static int on_paid(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t now)
{
    struct billing *bl = billing_of(b);
    if (bl == NULL)
        return ERR_IO; /* not settled: delivered again (a retry, or Telegram's webhook redelivery) */
    struct store_pay_result res;
    int rc = billing_stars_paid(bl, u->payload, u->currency, u->total_amount, u->charge_id, now, &res);
    if (rc < 0) {
        log_err("bot", 0, "payment_not_settled", LF_STR("payload", u->payload), LF_STR("err", err_str(rc)));
        return rc == ERR_MALFORMED || rc == ERR_NOT_FOUND ? 0 : rc;
    }
    log_info("bot", 0, "payment_settled", LF_INT("payment", res.pay.id), LF_BOOL("applied", res.applied),
             LF_BOOL("duplicate", res.duplicate), LF_BOOL("flagged", res.flagged));
    if (!res.applied)
        return 0; /* a repeated delivery: the customer was told the first time */
    return bot_notify_paid(b, hu, res.pay.id, now);
}

int bot_send_qr(struct bot *b, const struct hub_user *hu)
{
    char url[640];
    TRY(sub_url(b, hu, url, sizeof url));
    unsigned char *png;
    size_t len;
    TRY(bot_qr_png(url, BOT_QR_SCALE, &png, &len));
    json_t *p = json_pack("{s:I,s:s}", "chat_id", (json_int_t)hu->telegram_id, "caption",
                          bot_msg(lang_of(hu), BOT_M_QR_CAPTION));
    int rc = p == NULL
                 ? ERR_NOMEM
                 : bot_api_upload(&b->api, "sendPhoto", p, "photo", "subscription-qr.png", "image/png", png, len, NULL);
    json_decref(p);
    free(png);
    if (rc == ERR_AUTH) {
        log_info("bot", 0, "chat_blocked", LF_INT("chat", hu->telegram_id), LF_STR("method", "sendPhoto"));
        (void)bot_store_blocked_set(b->st, hu->telegram_id, true, 0);
    } else if (rc < 0) {
        log_warn("bot", 0, "send_failed", LF_STR("method", "sendPhoto"), LF_STR("err", err_str(rc)));
    }
    return rc;
}

static pthread_mutex_t username_lock = PTHREAD_MUTEX_INITIALIZER;

/* The bot's username (getMe), cached after the first answer. */
static int bot_username(struct bot *b, char out[static 65])
{
    pthread_mutex_lock(&username_lock);
    int rc = 0;
    if (b->username[0] == '\0') {
        json_t *me = NULL;
        rc = call(b, 0, "getMe", json_object(), &me);
        const char *name = json_string_value(json_object_get(me, "username"));
        if (rc == 0 && (name == NULL || name[0] == '\0' || strlen(name) >= sizeof b->username))
            rc = ERR_MALFORMED;
        if (rc == 0)
            snprintf(b->username, sizeof b->username, "%s", name);
        json_decref(me);
    }
    snprintf(out, 65, "%s", b->username);
    pthread_mutex_unlock(&username_lock);
    return rc;
}

/* Referrals: the personal t.me link, how many came through it, what it earned. */
static int show_ref(struct bot *b, const struct bot_update *u, const struct hub_user *hu)
{
    enum bot_lang l = lang_of(hu);
    char name[65], link[160], num[24], money[48];
    TRY(bot_username(b, name));
    struct bot_ref_stats rs;
    TRY(bot_store_ref_stats(b->st, hu->id, &rs));
    snprintf(link, sizeof link, "https://t.me/%s?start=ref_%s", name, hu->referral_code);
    char msg[1024] = "";
    put(msg, bot_msg(l, BOT_M_REF_HEAD));
    put(msg, "\n<code>");
    put_esc(msg, link);
    put(msg, "</code>\n\n");
    put(msg, bot_msg(l, BOT_M_REF_INVITED));
    snprintf(num, sizeof num, "%" PRId64, rs.invited);
    put(msg, num);
    put(msg, "\n");
    put(msg, bot_msg(l, BOT_M_REF_EARNED));
    if (rs.n_earned == 0)
        put(msg, bot_msg(l, BOT_M_REF_NOTHING));
    for (size_t i = 0; i < rs.n_earned; i++) {
        bot_money(rs.earned[i].amount_minor, rs.earned[i].currency, money);
        put(msg, i > 0 ? ", " : "");
        put_esc(msg, money);
    }
    return show(b, u, msg, bot_kbd_ref(l, link));
}

static const char *reason_text(enum bot_lang l, const char *reason)
{
    static const char *const names[] = {"topup", "purchase", "referral", "referral_bonus", "refund", "admin"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(reason, names[i]) == 0)
            return bot_msg(l, (enum bot_msg)(BOT_M_R_TOPUP + i));
    return reason;
}

#define BOT_HISTORY_ROWS 10

/* Balance: the amount and the last operations of the ledger. */
static int show_balance(struct bot *b, const struct bot_update *u, const struct hub_user *hu)
{
    enum bot_lang l = lang_of(hu);
    struct store_ledger_row *rows;
    size_t n;
    TRY(store_ledger_list(b->st, hu->id, BOT_HISTORY_ROWS, &rows, &n));
    char *msg = calloc(1, MSG_MAX);
    if (msg == NULL) {
        free(rows);
        return ERR_NOMEM;
    }
    char money[48], date[32];
    put(msg, "<b>");
    put(msg, bot_msg(l, BOT_M_BAL_HEAD));
    bot_money(hu->balance_minor, hu->currency, money);
    put_esc(msg, money);
    put(msg, "</b>\n\n");
    put(msg, bot_msg(l, n == 0 ? BOT_M_BAL_EMPTY : BOT_M_BAL_HISTORY));
    for (size_t i = 0; i < n; i++) {
        bot_fmt_date(rows[i].created_at, date);
        bot_money(rows[i].delta_minor < 0 ? -rows[i].delta_minor : rows[i].delta_minor, rows[i].currency, money);
        put(msg, "\n");
        put(msg, date);
        put(msg, rows[i].delta_minor < 0 ? " · −" : " · +");
        put_esc(msg, money);
        put(msg, " · ");
        put_esc(msg, reason_text(l, rows[i].reason));
    }
    free(rows);
    enum billing_prov provs[BILLING__COUNT];
    int rc = show(b, u, msg, bot_kbd_balance(l, bot_topup_provs(b, hu, provs) > 0));
    free(msg);
    return rc;
}

/* Stores the language and shows the menu in it. */
static int set_lang(struct bot *b, const struct bot_update *u, struct hub_user *hu, enum bot_lang l, int64_t now)
{
    struct hub_user v = *hu;
    snprintf(v.language, sizeof v.language, "%s", bot_lang_code(l));
    struct store_audit au = {.actor = "bot", .action = "user.language"};
    TRY(store_user_patch(b->st, hu->id, &v, HUB_USER_F_LANGUAGE, now, &au, hu));
    char msg[256] = "";
    put(msg, bot_msg(l, BOT_M_LANG_SET));
    put(msg, "\n\n");
    put(msg, bot_msg(l, BOT_M_MENU));
    return show(b, u, msg, bot_kbd_main(l, b->cfg.trial_days > 0));
}

static int show_lang(struct bot *b, const struct bot_update *u, const struct hub_user *hu)
{
    enum bot_lang l = lang_of(hu);
    return show(b, u, bot_msg(l, BOT_M_LANG_CHOOSE), bot_kbd_lang(l));
}

static int show_help(struct bot *b, const struct bot_update *u, const struct hub_user *hu)
{
    enum bot_lang l = lang_of(hu);
    char msg[1024] = "";
    put(msg, bot_msg(l, BOT_M_HELP));
    if (b->cfg.support[0]) {
        put(msg, "\n");
        put(msg, bot_msg(l, BOT_M_SUPPORT));
        put_esc(msg, b->cfg.support);
    }
    return show(b, u, msg, bot_kbd_back(l));
}

/* "/start@veil_bot ref_x" -> command "start", arg "ref_x". */
static void split_command(const char *text, char cmd[static 33], char arg[static 65])
{
    cmd[0] = arg[0] = '\0';
    if (text[0] != '/')
        return;
    size_t i = 1, o = 0;
    while (text[i] && text[i] != ' ' && text[i] != '@' && o < 32)
        cmd[o++] = text[i++];
    cmd[o] = '\0';
    while (text[i] && text[i] != ' ')
        i++;
    while (text[i] == ' ')
        i++;
    o = 0;
    while (text[i] && text[i] != ' ' && o < 64)
        arg[o++] = text[i++];
    arg[o] = '\0';
}

static int on_message(struct bot *b, const struct bot_update *u, int64_t now)
{
    if (u->chat_id != u->from_id)
        return 0; /* groups and channels: not a storefront */
    if (bot_admin_wants(b, u))
        return bot_admin_on_message(b, u, now);
    char cmd[33], arg[65];
    split_command(u->text, cmd, arg);
    struct hub_user hu;
    TRY(user_of(b, u, strcmp(cmd, "start") == 0 ? arg : NULL, now, &hu));
    if (u->paid)
        return on_paid(b, u, &hu, now);
    const char *alert = NULL;
    if (strcmp(cmd, "start") == 0) {
        (void)bot_store_blocked_set(b->st, u->from_id, false, now);
        int rc = show_menu(b, u, &hu, true);
        if (rc >= 0 && strncmp(arg, "promo_", 6) == 0)
            rc = bot_promo_start(b, u->chat_id, &hu, arg + 6, now);
        return rc;
    }
    int crc;
    if (bot_customer_command(b, u, &hu, cmd, now, &crc))
        return crc;
    if (strcmp(cmd, "buy") == 0)
        return show_plans(b, u, &hu);
    if (strcmp(cmd, "trial") == 0)
        return do_trial(b, u, &hu, now, &alert);
    if (strcmp(cmd, "sub") == 0)
        return show_sub(b, u, &hu, now, NULL);
    if (strcmp(cmd, "help") == 0)
        return show_help(b, u, &hu);
    if (strcmp(cmd, "ref") == 0)
        return show_ref(b, u, &hu);
    if (strcmp(cmd, "balance") == 0)
        return show_balance(b, u, &hu);
    if (strcmp(cmd, "lang") == 0) {
        if (strcmp(arg, "en") == 0 || strcmp(arg, "ru") == 0)
            return set_lang(b, u, &hu, bot_lang_of(arg), now);
        return show_lang(b, u, &hu);
    }
    return show_menu(b, u, &hu, false);
}

static int on_callback(struct bot *b, const struct bot_update *u, int64_t now)
{
    struct hub_user hu;
    const char *alert = NULL;
    int rc;
    if (bot_findings_callback(b, u, now, &alert, &rc)) { /* an admin's button: no customer registered */
        (void)answer_callback(b, u, alert);
        return rc;
    }
    rc = user_of(b, u, NULL, now, &hu);
    if (rc == 0 && !bot_customer_callback(b, u, &hu, now, &alert, &rc)) {
        int64_t id;
        enum billing_prov prov;
        switch (bot_cb_parse(u->text, &id, &prov)) {
        case BOT_CB_MENU:
            rc = show_menu(b, u, &hu, false);
            break;
        case BOT_CB_TRIAL:
            rc = do_trial(b, u, &hu, now, &alert);
            break;
        case BOT_CB_SUB:
            rc = show_sub(b, u, &hu, now, NULL);
            break;
        case BOT_CB_BUY:
            rc = show_plans(b, u, &hu);
            break;
        case BOT_CB_HELP:
            rc = show_help(b, u, &hu);
            break;
        case BOT_CB_PLAN:
            rc = show_providers(b, u, &hu, id);
            break;
        case BOT_CB_QR:
            rc = bot_send_qr(b, &hu);
            if (rc == ERR_NOT_FOUND)
                alert = bot_msg(lang_of(&hu), BOT_M_ERROR);
            break;
        case BOT_CB_REF:
            rc = show_ref(b, u, &hu);
            break;
        case BOT_CB_BALANCE:
            rc = show_balance(b, u, &hu);
            break;
        case BOT_CB_LANG:
            rc = show_lang(b, u, &hu);
            break;
        case BOT_CB_LANG_EN:
        case BOT_CB_LANG_RU:
            rc = set_lang(b, u, &hu, bot_cb_parse(u->text, &id, &prov) == BOT_CB_LANG_RU ? BOT_LANG_RU : BOT_LANG_EN,
                          now);
            break;
        case BOT_CB_PAY:
            rc = prov == BILLING_STARS ? send_invoice(b, u, &hu, id, now, &alert)
                                       : pay_other(b, u, &hu, id, prov, now, &alert);
            break;
        case BOT_CB_UNKNOWN:
        case BOT_CB__COUNT:
            rc = show_menu(b, u, &hu, false); /* an old keyboard: back to the menu */
            break;
        }
    }
    if (rc < 0 && alert == NULL)
        alert = bot_msg(bot_lang_of(u->lang), BOT_M_ERROR);
    /* Always answered, or the customer's button keeps spinning. */
    (void)answer_callback(b, u, alert);
    return rc;
}

static int on_member(struct bot *b, const struct bot_update *u, int64_t now)
{
    if (u->chat_id != u->from_id)
        return 0;
    bool blocked = strcmp(u->status, "kicked") == 0;
    if (!blocked && strcmp(u->status, "member") != 0)
        return 0;
    log_info("bot", 0, blocked ? "chat_blocked" : "chat_unblocked", LF_INT("chat", u->chat_id));
    return bot_store_blocked_set(b->st, u->from_id, blocked, now);
}

int bot_handle(struct bot *b, const struct bot_update *u, int64_t now)
{
    switch (u->kind) {
    case BOT_UPD_MESSAGE:
        return on_message(b, u, now);
    case BOT_UPD_CALLBACK:
        return on_callback(b, u, now);
    case BOT_UPD_PRECHECKOUT:
        return on_precheckout(b, u, now);
    case BOT_UPD_MEMBER:
        return on_member(b, u, now);
    case BOT_UPD_OTHER:
    case BOT_UPD__COUNT:
        break;
    }
    return 0;
}

bool bot_err_transient(int rc)
{
    /* ERR_CLOSED: the store lost its database connection (failover) or the call was cancelled. */
    return rc == ERR_IO || rc == ERR_TIMEOUT || rc == ERR_NOMEM || rc == ERR_CLOSED;
}

bool bot_update_done(struct bot_retry *r, int64_t update_id, int rc)
{
    if (!bot_err_transient(rc)) {
        r->update_id = -1;
        r->tries = 0;
        return true;
    }
    if (r->update_id != update_id) {
        r->update_id = update_id;
        r->tries = 0;
    }
    if (++r->tries < BOT_UPDATE_TRIES)
        return false;
    log_err("bot", 0, "update_dropped", LF_INT("update", update_id), LF_INT("tries", r->tries),
            LF_STR("err", err_str(rc)));
    r->update_id = -1;
    r->tries = 0;
    return true;
}
