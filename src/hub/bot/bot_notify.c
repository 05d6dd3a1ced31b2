/* Payment notices (bot_notify.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_notify.h"
#include "hub/bot/bot_store.h"
#include "hub/bot/bot_text.h"
#include "hub/store/store.h"

int bot_notify_paid(struct bot *b, const struct hub_user *hu, int64_t payment_id, int64_t now)
{
    if (hu->telegram_id <= 0)
        return 0;
    int rc = bot_store_notice_claim(b->st, "paid", payment_id, hu->telegram_id, now);
    if (rc == ERR_EXISTS)
        return 0;
    TRY(rc);
    bool blocked = false;
    if ((rc = bot_store_blocked_get(b->st, hu->telegram_id, &blocked)) < 0 || blocked) {
        /* A blocked chat is told once it is back (my_chat_member "member" or /start), within
         * BOT_NOTIFY_WINDOW of the payment. */
        (void)bot_store_notice_unclaim(b->st, "paid", payment_id);
        return rc;
    }
    struct hub_payment pay;
    char *html = NULL;
    json_t *kbd = NULL;
    if ((rc = store_payment_get(b->st, payment_id, &pay)) == 0)
        rc = pay.plan_id == 0
                 ? bot_topup_notice(b, hu, &pay, &html, &kbd)
                 : bot_sub_message(b, hu, now, bot_msg(bot_lang_of(hu->language), BOT_M_PAID), &html, &kbd);
    if (rc < 0) {
        (void)bot_store_notice_unclaim(b->st, "paid", payment_id);
        return rc;
    }
    rc = bot_send_text(b, hu->telegram_id, html, kbd);
    free(html);
    if (bot_err_transient(rc) || rc == ERR_CLOSED || rc == ERR_LIMIT || rc == ERR_AUTH) {
        /* The next drain tries again; after a 403, once the chat is back. */
        (void)bot_store_notice_unclaim(b->st, "paid", payment_id);
        return rc == ERR_AUTH ? 0 : rc;
    }
    log_info("bot", 0, "payment_notice", LF_INT("user", hu->id), LF_INT("payment", payment_id),
             LF_STR("result", rc == 0 ? "sent" : err_str(rc)));
    if (rc == 0 && pay.plan_id != 0)
        (void)bot_send_qr(b, hu); /* the link is in the text already: a lost photo is not retried */
    return 0;
}

int bot_notify_drain(struct bot *b, int64_t now, int *sent)
{
    int64_t since;
    TRY(bot_store_state_init(b->st, "paid_since", now, &since));
    if (since < now - BOT_NOTIFY_WINDOW)
        since = now - BOT_NOTIFY_WINDOW;
    struct bot_paid list[BOT_NOTIFY_BATCH];
    size_t n;
    TRY(bot_store_paid_unnoticed(b->st, since, list, BOT_NOTIFY_BATCH, &n));
    int count = 0, rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct hub_user hu;
        if ((rc = store_user_get(b->st, list[i].user_id, &hu)) < 0)
            break;
        if ((rc = bot_notify_paid(b, &hu, list[i].payment_id, now)) < 0)
            break;
        count++;
    }
    if (sent != NULL)
        *sent = count;
    return rc;
}

/* One reminder, claimed first (once per event); a passing failure gives the claim back. */
static int remind(struct bot *b, enum bot_remind k, const struct bot_due *d, int64_t now)
{
    char kind[40];
    bot_remind_kind(k, d->ends_at, kind);
    int rc = bot_store_notice_claim(b->st, kind, d->sub_id, d->telegram_id, now);
    if (rc == ERR_EXISTS)
        return 0;
    TRY(rc);
    struct hub_user hu;
    if ((rc = store_user_get(b->st, d->user_id, &hu)) < 0) {
        (void)bot_store_notice_unclaim(b->st, kind, d->sub_id);
        return rc;
    }
    enum bot_lang l = bot_lang_of(hu.language);
    char msg[512], date[32];
    if (k == BOT_REMIND_EXPIRED) {
        snprintf(msg, sizeof msg, "<b>%s</b>", bot_msg(l, BOT_M_REMIND_EXPIRED));
    } else {
        bot_fmt_date(d->ends_at, date);
        snprintf(msg, sizeof msg, "<b>%s%s</b> (%s%" PRId64 ").\n%s", bot_msg(l, BOT_M_REMIND_SOON), date,
                 bot_msg(l, BOT_M_SUB_DAYS_LEFT), (d->ends_at - now + 86399) / 86400, bot_msg(l, BOT_M_REMIND_RENEW));
    }
    rc = bot_send_text(b, d->telegram_id, msg, bot_kbd_main(l, false));
    if (bot_err_transient(rc) || rc == ERR_CLOSED || rc == ERR_LIMIT || rc == ERR_AUTH) {
        /* The next pass tries again; after a 403, once the chat is back (if still due). */
        (void)bot_store_notice_unclaim(b->st, kind, d->sub_id);
        return rc == ERR_AUTH ? 0 : rc;
    }
    log_info("bot", 0, "reminder", LF_INT("user", hu.id), LF_INT("subscription", d->sub_id), LF_STR("kind", kind),
             LF_STR("result", rc == 0 ? "sent" : err_str(rc)));
    return 0; /* 403 (now marked blocked) and 400 count as handled */
}

int bot_notify_reminders(struct bot *b, int64_t now, int *sent)
{
    int count = 0, rc = 0;
    for (int k = 0; k < BOT_REMIND__COUNT && rc == 0; k++) {
        struct bot_due due[BOT_NOTIFY_BATCH];
        size_t n;
        if ((rc = bot_store_reminders_due(b->st, (enum bot_remind)k, now, due, BOT_NOTIFY_BATCH, &n)) < 0)
            break;
        for (size_t i = 0; i < n && rc == 0; i++)
            if ((rc = remind(b, (enum bot_remind)k, &due[i], now)) == 0)
                count++;
    }
    if (sent != NULL)
        *sent = count;
    return rc;
}
