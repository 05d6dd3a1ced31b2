/* Payment notices (bot_notify.h). */
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
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
        if (rc < 0)
            (void)bot_store_notice_unclaim(b->st, "paid", payment_id);
        return rc;
    }
    char *html;
    json_t *kbd;
    if ((rc = bot_sub_message(b, hu, now, bot_msg(bot_lang_of(hu->language), BOT_M_PAID), &html, &kbd)) < 0) {
        (void)bot_store_notice_unclaim(b->st, "paid", payment_id);
        return rc;
    }
    rc = bot_send_text(b, hu->telegram_id, html, kbd);
    free(html);
    if (bot_err_transient(rc) || rc == ERR_CLOSED || rc == ERR_LIMIT) {
        (void)bot_store_notice_unclaim(b->st, "paid", payment_id); /* the next drain tries again */
        return rc;
    }
    log_info("bot", 0, "payment_notice", LF_INT("user", hu->id), LF_INT("payment", payment_id),
             LF_STR("result", rc == 0 ? "sent" : err_str(rc)));
    if (rc == 0)
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
