/* Customers told that their access is paused (a temporary hold: hub/fleet/fleet.h, BitTorrent
 * auto-disable), once per hold (bot_notices kind "hold:<since>", ref the user), from the notices
 * job. Holds that started more than a day ago or have ended are not announced any more. */
#include <inttypes.h>
#include <stdio.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_notify.h"
#include "hub/bot/bot_text.h"
#include "hub/store/store_sql.h"

struct hold_due {
    int64_t user_id, telegram_id, since, until;
    char language[16], reason[24];
};

struct due_arg {
    int64_t now;
    struct hold_due list[BOT_NOTIFY_BATCH];
    size_t n;
};

static int due_body(struct store_conn *sc, void *arg)
{
    struct due_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT u.id, u.telegram_id, u.telegram_enc, h.since, h.until, u.language, h.reason"
                    " FROM user_holds h JOIN users u ON u.id = h.user_id"
                    " WHERE h.released_at = 0 AND h.until > $1 AND h.since >= $2"
                    " AND (u.telegram_id IS NOT NULL OR u.telegram_enc IS NOT NULL) ORDER BY h.since LIMIT $3",
                    (struct store_val[]){SV_I(a->now), SV_I(a->now - BOT_NOTIFY_WINDOW), SV_I(BOT_NOTIFY_BATCH)}, 3,
                    &r));
    int rc = 0;
    for (size_t i = 0; i < r.nrows && rc == 0 && a->n < BOT_NOTIFY_BATCH; i++) {
        struct hold_due *d = &a->list[a->n];
        bool blocked = false;
        rc = bot__telegram_of(sc, &r, i, 0, 1, 2, &d->telegram_id, &blocked);
        if (rc < 0 || blocked || d->telegram_id <= 0)
            continue;
        d->user_id = store__cell_i64(&r, i, 0);
        d->since = store__cell_i64(&r, i, 3);
        d->until = store__cell_i64(&r, i, 4);
        store__cell_str(&r, i, 5, d->language, sizeof d->language);
        store__cell_str(&r, i, 6, d->reason, sizeof d->reason);
        a->n++;
    }
    store__res_free(&r);
    return rc;
}

/* The notice in the customer's language: why, and for how long (the hold ends by itself). */
static void hold_text(const struct hold_due *d, int64_t now, char *out, size_t cap)
{
    int64_t minutes = d->until > now ? (d->until - now + 59) / 60 : 1;
    if (bot_lang_of(d->language) == BOT_LANG_RU)
        snprintf(out, cap,
                 "\u26d4 <b>Доступ приостановлен</b> примерно на %" PRId64 " мин.: BitTorrent на этом сервисе "
                 "запрещён. Доступ вернётся сам; пожалуйста, не используйте торренты через VPN.",
                 minutes);
    else
        snprintf(out, cap,
                 "\u26d4 <b>Access paused</b> for about %" PRId64 " min: BitTorrent is not allowed on this "
                 "service. It comes back by itself; please do not use torrents through the VPN.",
                 minutes);
}

int bot_notify_holds(struct bot *b, int64_t now, int *sent)
{
    if (sent != NULL)
        *sent = 0;
    struct due_arg a = {.now = now};
    TRY(store__ro(b->st, due_body, &a));
    int count = 0, rc = 0;
    for (size_t i = 0; i < a.n && rc >= 0; i++) {
        char kind[40], html[512];
        snprintf(kind, sizeof kind, "hold:%" PRId64, a.list[i].since);
        hold_text(&a.list[i], now, html, sizeof html);
        rc = bot_notice_send(b, kind, a.list[i].user_id, a.list[i].telegram_id, html, NULL, now);
        if (rc > 0) {
            count++;
            log_info("bot", 0, "hold_notice", LF_INT("user", a.list[i].user_id), LF_STR("reason", a.list[i].reason));
        }
    }
    if (sent != NULL)
        *sent = count;
    return rc < 0 ? rc : 0;
}
