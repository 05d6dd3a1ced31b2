/* Admin commands (bot_admin.h). */
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/billing/billing_api.h"
#include "hub/bot/bot_admin.h"
#include "hub/bot/bot_admin_store.h"
#include "hub/bot/bot_broadcast.h"
#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_text.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"

#define MSG_MAX 4096
#define FIND_PAYMENTS 5
#define BROADCAST_WAIT 600 /* seconds a bare /broadcast waits for its text */

static const struct {
    const char *name;
    enum bot_admin_kind kind;
} commands[] = {
    {"stats", BOT_ADM_STATS},   {"find", BOT_ADM_FIND},           {"grant", BOT_ADM_GRANT},
    {"refund", BOT_ADM_REFUND}, {"broadcast", BOT_ADM_BROADCAST},
};

/* A whole decimal number in 1..max, nothing else (no sign, spaces or overflow). */
static bool parse_count(const char *s, size_t len, int64_t max, int64_t *out)
{
    if (len == 0 || len > 19)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        int d = s[i] - '0';
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < 1)
        return false;
    *out = v;
    return true;
}

/* The next space-separated word of *p: its start and length; *p moves past it. */
static size_t word(const char **p, const char **start)
{
    while (**p == ' ')
        (*p)++;
    *start = *p;
    while (**p != '\0' && **p != ' ' && **p != '\n')
        (*p)++;
    return (size_t)(*p - *start);
}

enum bot_admin_kind bot_admin_parse(const char *text, struct bot_admin_cmd *out)
{
    memset(out, 0, sizeof *out);
    out->text = "";
    if (text[0] != '/')
        return BOT_ADM_NONE;
    size_t n = 1;
    while (text[n] != '\0' && text[n] != ' ' && text[n] != '@' && text[n] != '\n')
        n++;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strlen(commands[i].name) == n - 1 && memcmp(text + 1, commands[i].name, n - 1) == 0)
            out->kind = commands[i].kind;
    if (out->kind == BOT_ADM_NONE)
        return BOT_ADM_NONE;
    const char *p = text + n, *w;
    while (*p != '\0' && *p != ' ' && *p != '\n') /* "@veil_bot" */
        p++;
    size_t len;
    switch (out->kind) {
    case BOT_ADM_STATS:
        break;
    case BOT_ADM_FIND:
    case BOT_ADM_GRANT:
        len = word(&p, &w);
        if (len == 0 || len > BOT_ADMIN_WHO_MAX) {
            snprintf(out->error, sizeof out->error, "Usage: /%s <user id | tg:<Telegram id> | @username | uuid>%s",
                     out->kind == BOT_ADM_FIND ? "find" : "grant", out->kind == BOT_ADM_GRANT ? " <days>" : "");
            break;
        }
        memcpy(out->who, w, len);
        out->who[len] = '\0';
        if (out->kind == BOT_ADM_FIND)
            break;
        len = word(&p, &w);
        if (!parse_count(w, len, HUB_MAX_DURATION_DAYS, &out->days))
            snprintf(out->error, sizeof out->error, "Days must be a whole number from 1 to %d.",
                     (int)HUB_MAX_DURATION_DAYS);
        break;
    case BOT_ADM_REFUND:
        len = word(&p, &w);
        if (!parse_count(w, len, INT64_MAX, &out->payment_id))
            snprintf(out->error, sizeof out->error, "Usage: /refund <payment id> (a whole number).");
        break;
    case BOT_ADM_BROADCAST:
        while (*p == ' ' || *p == '\n')
            p++;
        out->text = p;
        return out->kind;
    case BOT_ADM_NONE:
    case BOT_ADM__COUNT:
        break;
    }
    if (out->error[0] == '\0' && out->kind != BOT_ADM_BROADCAST) {
        (void)word(&p, &w);
        if (*w != '\0')
            snprintf(out->error, sizeof out->error, "Too many arguments.");
    }
    return out->kind;
}

bool bot_admin_is(const struct bot_cfg *c, int64_t telegram_id)
{
    for (size_t i = 0; i < c->n_admins; i++)
        if (c->admins[i] == telegram_id && telegram_id > 0)
            return true;
    return false;
}

/* Admins who sent a bare /broadcast and whose next message is its text (kept in memory: after
 * a restart they send /broadcast again). */
static pthread_mutex_t waiting_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int64_t admin, since;
} waiting[BOT_ADMINS_MAX];

static bool waiting_take(int64_t admin, int64_t now, bool take)
{
    bool found = false;
    pthread_mutex_lock(&waiting_lock);
    for (size_t i = 0; i < BOT_ADMINS_MAX; i++)
        if (waiting[i].admin == admin) {
            found = now - waiting[i].since <= BROADCAST_WAIT;
            if (take)
                waiting[i].admin = 0;
        }
    pthread_mutex_unlock(&waiting_lock);
    return found;
}

static void waiting_set(int64_t admin, int64_t now)
{
    pthread_mutex_lock(&waiting_lock);
    size_t slot = BOT_ADMINS_MAX;
    for (size_t i = 0; i < BOT_ADMINS_MAX; i++)
        if (waiting[i].admin == admin || (slot == BOT_ADMINS_MAX && waiting[i].admin == 0))
            slot = i;
    if (slot < BOT_ADMINS_MAX) {
        waiting[slot].admin = admin;
        waiting[slot].since = now;
    }
    pthread_mutex_unlock(&waiting_lock);
}

bool bot_admin_wants(struct bot *b, const struct bot_update *u)
{
    if (u->kind != BOT_UPD_MESSAGE || u->paid || !bot_admin_is(&b->cfg, u->from_id))
        return false;
    struct bot_admin_cmd c;
    if (bot_admin_parse(u->text, &c) != BOT_ADM_NONE)
        return true;
    /* Any other command cancels a waiting /broadcast; plain text is its text. */
    return waiting_take(u->from_id, (int64_t)time(NULL), u->text[0] == '/') && u->text[0] != '/';
}

static void put(char *msg, const char *s)
{
    size_t n = strlen(msg);
    snprintf(msg + n, MSG_MAX - n, "%s", s);
}

static void putf_esc(char *msg, const char *s)
{
    char esc[512];
    (void)bot_html_escape(s, esc, sizeof esc);
    put(msg, esc);
}

static int reply(struct bot *b, const struct bot_update *u, const char *html)
{
    (void)bot_send_text(b, u->chat_id, html, NULL); /* the action is done; a lost reply is logged by the send */
    return 0;
}

static int reply_esc(struct bot *b, const struct bot_update *u, const char *text)
{
    char msg[MSG_MAX] = "";
    putf_esc(msg, text);
    return reply(b, u, msg);
}

static void actor_of(const struct bot_update *u, char out[static 32])
{
    snprintf(out, 32, "tg:%" PRId64, u->from_id);
}

/* An audit row of its own for actions whose change is audited elsewhere (or is only a read). */
static void audit(struct bot *b, const struct bot_update *u, const char *action, const char *target,
                  const char *details, int64_t now)
{
    char actor[32];
    actor_of(u, actor);
    struct store_audit a = {.actor = actor, .action = action, .target = target, .details = details};
    int rc = store_audit_add(b->st, &a, now);
    if (rc < 0)
        log_err("bot", 0, "admin_audit_failed", LF_STR("action", action), LF_STR("err", err_str(rc)));
}

static bool is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

int bot_admin_find_user(struct store *st, const char *who, struct hub_user *out)
{
    int64_t id;
    if (strncmp(who, "tg:", 3) == 0) {
        if (!parse_count(who + 3, strlen(who + 3), INT64_MAX, &id))
            return ERR_MALFORMED;
        return store_user_by_telegram(st, id, out);
    }
    if (parse_count(who, strlen(who), INT64_MAX, &id)) {
        int rc = store_user_get(st, id, out);
        return rc == ERR_NOT_FOUND ? store_user_by_telegram(st, id, out) : rc;
    }
    if (is_uuid(who)) {
        char lower[37];
        for (size_t i = 0; i < 37; i++)
            lower[i] = (char)tolower((unsigned char)who[i]);
        TRY(bot_admin_store_user_by_uuid(st, lower, &id));
        return store_user_get(st, id, out);
    }
    if (who[0] != '@' || who[1] == '\0' || strlen(who + 1) > HUB_NAME_MAX)
        return ERR_MALFORMED;
    struct hub_user *list;
    size_t n;
    int64_t total;
    TRY(store_user_list(st, who + 1, 0, 100, &list, &n, &total));
    int rc = ERR_NOT_FOUND;
    for (size_t i = 0; i < n && rc != 0; i++)
        if (strcasecmp(list[i].username, who + 1) == 0) {
            *out = list[i];
            rc = 0;
        }
    free(list);
    return rc;
}

/* Resolves cmd->who, replying when it names nobody. 1: found, 0: replied, < 0: store error. */
static int user_arg(struct bot *b, const struct bot_update *u, const char *who, struct hub_user *hu)
{
    int rc = bot_admin_find_user(b->st, who, hu);
    if (rc == ERR_MALFORMED) {
        reply_esc(b, u, "Name the user by id, tg:<Telegram id>, @username or UUID.");
        return 0;
    }
    if (rc == ERR_NOT_FOUND) {
        char msg[MSG_MAX] = "No user ";
        putf_esc(msg, who);
        put(msg, ".");
        reply(b, u, msg);
        return 0;
    }
    return rc < 0 ? rc : 1;
}

static void money_list(char *msg, const struct store_revenue *r)
{
    char money[48];
    if (r->n_cur == 0)
        put(msg, "none");
    for (size_t i = 0; i < r->n_cur; i++) {
        bot_money(r->cur[i].amount_minor, r->cur[i].currency, money);
        put(msg, i > 0 ? ", " : "");
        putf_esc(msg, money);
    }
}

static int do_stats(struct bot *b, const struct bot_update *u, int64_t now)
{
    int64_t day = now / 86400, y;
    unsigned m, d;
    hub_civil_from_days(day, &y, &m, &d);
    int64_t month_start = hub_days_from_civil(y, m, 1) * 86400;
    struct store_stats s;
    struct store_revenue today, month;
    TRY(store_stats_get(b->st, &s));
    TRY(store_revenue_get(b->st, day * 86400, now + 1, &today));
    int rc = store_revenue_get(b->st, month_start, now + 1, &month);
    if (rc < 0) {
        store_revenue_free(&today);
        return rc;
    }
    char msg[MSG_MAX] = "<b>Stats</b>\n", line[160];
    snprintf(line, sizeof line, "Users: %" PRId64 " (paying: %" PRId64 ")\nRevenue today: ", month.users,
             month.paying_users);
    put(msg, line);
    money_list(msg, &today);
    put(msg, "\nRevenue this month: ");
    money_list(msg, &month);
    snprintf(line, sizeof line, "\nNodes: %" PRId64 " up, %" PRId64 " down (of %" PRId64 ")", s.nodes_up,
             s.nodes - s.nodes_up, s.nodes);
    put(msg, line);
    store_revenue_free(&today);
    store_revenue_free(&month);
    audit(b, u, "bot.stats", NULL, NULL, now);
    return reply(b, u, msg);
}

static void fmt_bytes(int64_t n, char out[static 32])
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    size_t i = 0;
    double v = (double)n;
    while (v >= 1024 && i + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        i++;
    }
    snprintf(out, 32, i == 0 ? "%.0f %s" : "%.2f %s", v, units[i]);
}

static int do_find(struct bot *b, const struct bot_update *u, const struct bot_admin_cmd *c, int64_t now)
{
    struct hub_user hu;
    int rc = user_arg(b, u, c->who, &hu);
    if (rc <= 0)
        return rc;
    struct hub_sub s;
    rc = store_sub_current(b->st, hu.id, &s);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    bool has_sub = rc == 0;
    struct hub_payment *pays;
    size_t n_pays;
    TRY(store_payment_list(b->st, hu.id, &pays, &n_pays));
    char *msg = calloc(1, MSG_MAX);
    if (msg == NULL) {
        free(pays);
        return ERR_NOMEM;
    }
    char line[256], money[48], date[32], used[32], quota[32];
    snprintf(line, sizeof line, "<b>User %" PRId64 "</b> ", hu.id);
    put(msg, line);
    putf_esc(msg, hu.username);
    /* Not the UUID or the link: credentials are read through the admin API's audited secrets call. */
    snprintf(line, sizeof line, "\nTelegram: %" PRId64 "\nEnabled: %s · language: ", hu.telegram_id,
             hu.enabled ? "yes" : "no");
    put(msg, line);
    putf_esc(msg, hu.language);
    bot_money(hu.balance_minor, hu.currency, money);
    put(msg, " · balance: ");
    putf_esc(msg, money);
    if (has_sub) {
        bot_fmt_date(s.ends_at, date);
        fmt_bytes(s.used_up + s.used_down, used);
        if (s.quota_bytes > 0)
            fmt_bytes(s.quota_bytes, quota);
        snprintf(line, sizeof line,
                 "\nSubscription %" PRId64 ": %s until %s (%" PRId64 " days left)\nTraffic: %s of %s", s.id,
                 hub_sub_state_name(s.state), date, s.ends_at > now ? (s.ends_at - now + 86399) / 86400 : 0, used,
                 s.quota_bytes > 0 ? quota : "unlimited");
        put(msg, line);
    } else {
        put(msg, "\nSubscription: none");
    }
    put(msg, n_pays == 0 ? "\nPayments: none" : "\nLast payments:");
    for (size_t i = 0; i < n_pays && i < FIND_PAYMENTS; i++) {
        bot_money(pays[i].amount_minor, pays[i].currency, money);
        bot_fmt_date(pays[i].created_at, date);
        snprintf(line, sizeof line, "\n#%" PRId64 " · ", pays[i].id);
        put(msg, line);
        putf_esc(msg, pays[i].provider);
        put(msg, " · ");
        putf_esc(msg, money);
        snprintf(line, sizeof line, " · %s · %s", hub_pay_status_name(pays[i].status), date);
        put(msg, line);
    }
    free(pays);
    char target[40];
    snprintf(target, sizeof target, "user:%" PRId64, hu.id);
    audit(b, u, "bot.find", target, NULL, now);
    rc = reply(b, u, msg);
    free(msg);
    return rc;
}

static int do_grant(struct bot *b, const struct bot_update *u, const struct bot_admin_cmd *c, int64_t now)
{
    struct hub_user hu;
    int rc = user_arg(b, u, c->who, &hu);
    if (rc <= 0)
        return rc;
    int64_t gift;
    TRY(bot_admin_store_gift_plan(b->st, now, &gift));
    char actor[32];
    actor_of(u, actor);
    struct hub_sub s;
    bool created;
    rc = bot_admin_store_grant(b->st, hu.id, c->days, gift, now, actor, &s, &created);
    if (rc == ERR_RANGE)
        return reply_esc(b, u, "That many days would take the subscription past the supported range.");
    TRY(rc);
    log_info("bot", 0, "admin_grant", LF_INT("admin", u->from_id), LF_INT("user", hu.id), LF_INT("days", c->days));
    char msg[MSG_MAX], date[32];
    bot_fmt_date(s.ends_at, date);
    snprintf(msg, sizeof msg, "%s subscription %" PRId64 " of user %" PRId64 " by %" PRId64 " days: %s until %s.",
             created ? "Granted" : "Extended", s.id, hu.id, c->days, hub_sub_state_name(s.state), date);
    return reply_esc(b, u, msg);
}

static struct billing *billing_of(struct bot *b)
{
    return b->billing != NULL ? b->billing : billing_module_current();
}

/* Stars refunds: Telegram gives the Stars back (refundStarPayment), then billing marks the
 * payment refunded and undoes what it granted. */
static int do_refund(struct bot *b, const struct bot_update *u, const struct bot_admin_cmd *c, int64_t now)
{
    char target[40], details[160], msg[MSG_MAX];
    snprintf(target, sizeof target, "payment:%" PRId64, c->payment_id);
    struct hub_payment p;
    int rc = store_payment_get(b->st, c->payment_id, &p);
    if (rc == ERR_NOT_FOUND)
        return reply_esc(b, u, "No such payment.");
    TRY(rc);
    struct hub_user hu;
    const char *refusal = NULL;
    if (strcmp(p.provider, "stars") != 0)
        refusal = "Only Telegram Stars payments are refunded here; use the admin API for the others.";
    else if (p.status != HUB_PAY_SUCCEEDED)
        refusal = "Only a succeeded payment can be refunded.";
    else if (p.charge_id[0] == '\0')
        refusal = "The payment has no Telegram charge id.";
    else if ((rc = store_user_get(b->st, p.user_id, &hu)) < 0 && rc != ERR_NOT_FOUND)
        return rc;
    else if (rc == ERR_NOT_FOUND || hu.telegram_id <= 0)
        refusal = "The payment's customer has no Telegram account.";
    if (refusal != NULL) {
        snprintf(msg, sizeof msg, "Payment %" PRId64 " (%s, %s): %s", p.id, p.provider, hub_pay_status_name(p.status),
                 refusal);
        return reply_esc(b, u, msg);
    }
    struct billing *bl = billing_of(b);
    if (bl == NULL)
        return reply_esc(b, u, "Billing is not running.");
    json_t *params =
        json_pack("{s:I,s:s}", "user_id", (json_int_t)hu.telegram_id, "telegram_payment_charge_id", p.charge_id);
    if (params == NULL)
        return ERR_NOMEM;
    rc = bot_api_call(&b->api, "refundStarPayment", params, 0, NULL);
    json_decref(params);
    if (rc < 0) {
        snprintf(details, sizeof details, "{\"result\":\"telegram_refused\",\"err\":\"%s\"}", err_str(rc));
        audit(b, u, "bot.refund", target, details, now);
        snprintf(msg, sizeof msg, "Telegram did not refund payment %" PRId64 " (%s); nothing was changed.", p.id,
                 err_str(rc));
        return reply_esc(b, u, msg);
    }
    struct store_pay_result res;
    rc = billing_stars_refunded(bl, p.id, now, &res);
    snprintf(details, sizeof details, "{\"result\":\"%s\",\"amount_minor\":%" PRId64 ",\"currency\":\"%s\"}",
             rc < 0 ? "refunded_not_recorded" : "refunded", p.amount_minor, p.currency);
    audit(b, u, "bot.refund", target, details, now);
    log_info("bot", 0, "admin_refund", LF_INT("admin", u->from_id), LF_INT("payment", p.id),
             LF_STR("err", rc < 0 ? err_str(rc) : "none"));
    char money[48];
    bot_money(p.amount_minor, p.currency, money);
    if (rc < 0)
        snprintf(msg, sizeof msg,
                 "Telegram refunded payment %" PRId64 " (%s), but recording it failed (%s): mark it with the admin "
                 "API.",
                 p.id, money, err_str(rc));
    else
        snprintf(msg, sizeof msg, "Refunded payment %" PRId64 ": %s to Telegram user %" PRId64 ".", p.id, money,
                 hu.telegram_id);
    return reply_esc(b, u, msg);
}

static int do_broadcast(struct bot *b, const struct bot_update *u, const char *text, int64_t now)
{
    int64_t id, n;
    int rc = bot_broadcast_create(b->st, u->from_id, text, now, &id, &n);
    if (rc == ERR_TOO_LONG || rc == ERR_RANGE)
        return reply_esc(b, u, rc == ERR_RANGE ? "The broadcast text is empty." : "The broadcast text is too long.");
    TRY(rc);
    bot_broadcast_kick();
    log_info("bot", 0, "broadcast_queued", LF_INT("admin", u->from_id), LF_INT("broadcast", id),
             LF_INT("recipients", n));
    char msg[160];
    snprintf(msg, sizeof msg,
             "Broadcast %" PRId64 " queued for %" PRId64 " users. You will get a report when it is done.", id, n);
    return reply_esc(b, u, msg);
}

int bot_admin_on_message(struct bot *b, const struct bot_update *u, int64_t now)
{
    struct bot_admin_cmd c;
    enum bot_admin_kind k = bot_admin_parse(u->text, &c);
    if (k == BOT_ADM_NONE) { /* the text a bare /broadcast asked for */
        if (!waiting_take(u->from_id, now, true))
            return 0;
        return do_broadcast(b, u, u->text, now);
    }
    (void)waiting_take(u->from_id, now, true); /* any command cancels a waiting /broadcast */
    if (c.error[0] != '\0')
        return reply_esc(b, u, c.error);
    switch (k) {
    case BOT_ADM_STATS:
        return do_stats(b, u, now);
    case BOT_ADM_FIND:
        return do_find(b, u, &c, now);
    case BOT_ADM_GRANT:
        return do_grant(b, u, &c, now);
    case BOT_ADM_REFUND:
        return do_refund(b, u, &c, now);
    case BOT_ADM_BROADCAST:
        if (c.text[0] != '\0')
            return do_broadcast(b, u, c.text, now);
        waiting_set(u->from_id, now);
        return reply_esc(b, u, "Send the broadcast text as your next message (or any command to cancel).");
    case BOT_ADM_NONE:
    case BOT_ADM__COUNT:
        break;
    }
    return 0;
}
