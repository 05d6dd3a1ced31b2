/* Quota notices: a Telegram user's running subscription with a traffic quota is told once when it
 * has used 80 % of it and once when it is used up, per reset period: the event is
 * (q80|q100@<last_reset_at>, subscription), so a reset (which moves last_reset_at) starts over. */
#include <inttypes.h>
#include <stdio.h>

#include "core/err.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_notify.h"
#include "hub/store/store_sql.h"

struct quota_arg {
    bool full; /* 100 % (else 80 % but not yet 100 %) */
    int64_t now;
    struct bot_quota_due *out;
    size_t cap, n;
};

static int due_body(struct store_conn *sc, void *arg)
{
    struct quota_arg *x = arg;
    /* used >= quota - quota/5 is used >= 80 % without a multiplication that could overflow. */
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT s.id, s.user_id, u.telegram_id, s.last_reset_at, s.used_up + s.used_down, s.quota_bytes,"
             " u.telegram_enc FROM subscriptions s JOIN users u ON u.id = s.user_id"
             " WHERE s.state IN ('active', 'limited') AND s.ends_at > $1 AND s.quota_bytes > 0"
             " AND %s AND (u.telegram_id IS NOT NULL OR u.telegram_enc IS NOT NULL) AND u.enabled = 1"
             " AND NOT EXISTS (SELECT 1 FROM bot_chats c WHERE c.telegram_id = COALESCE(u.telegram_ref, u.telegram_id)"
             " AND c.blocked <> 0)"
             " AND NOT EXISTS (SELECT 1 FROM bot_notices n WHERE n.ref_id = s.id"
             " AND n.kind = CAST($2 AS TEXT) || CAST(s.last_reset_at AS TEXT))"
             " ORDER BY s.id LIMIT $3",
             x->full ? "s.used_up + s.used_down >= s.quota_bytes"
                     : "s.used_up + s.used_down >= s.quota_bytes - s.quota_bytes / 5"
                       " AND s.used_up + s.used_down < s.quota_bytes");
    struct store_val p[] = {SV_I(x->now), SV_T(x->full ? "q100@" : "q80@"), SV_I((int64_t)x->cap)};
    struct store_res r;
    TRY(store__exec(sc, sql, p, 3, &r));
    x->n = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r.nrows && x->n < x->cap; i++) {
        struct bot_quota_due *d = &x->out[x->n];
        d->sub_id = store__cell_i64(&r, i, 0);
        d->user_id = store__cell_i64(&r, i, 1);
        d->last_reset_at = store__cell_i64(&r, i, 3);
        d->used = store__cell_i64(&r, i, 4);
        d->quota = store__cell_i64(&r, i, 5);
        bool held = false;
        if ((rc = bot__telegram_of(sc, &r, i, 1, 2, 6, &d->telegram_id, &held)) == 0 && !held)
            x->n++;
    }
    store__res_free(&r);
    return rc;
}

void bot_fmt_bytes(int64_t v, char out[static 32])
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    size_t u = 0;
    double d = (double)v;
    while (d >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, 32, "%" PRId64 " B", v);
    else
        snprintf(out, 32, "%.2f %s", d, units[u]);
}

int bot_quota_due(struct store *st, bool full, int64_t now, struct bot_quota_due *out, size_t cap, size_t *n)
{
    struct quota_arg x = {.full = full, .now = now, .out = out, .cap = cap};
    TRY(store__ro(st, due_body, &x));
    *n = x.n;
    return 0;
}

static int tell(struct bot *b, bool full, const struct bot_quota_due *d, int64_t now)
{
    struct hub_user hu;
    TRY(store_user_get(b->st, d->user_id, &hu));
    enum bot_lang l = bot_lang_of(hu.language);
    char kind[40], used[32], quota[32], msg[768];
    snprintf(kind, sizeof kind, "%s%" PRId64, full ? "q100@" : "q80@", d->last_reset_at);
    bot_fmt_bytes(d->used, used);
    bot_fmt_bytes(d->quota, quota);
    snprintf(msg, sizeof msg, "<b>%s</b>\n%s%s / %s\n%s", bot_cmsg(l, full ? BOT_C_QUOTA_100 : BOT_C_QUOTA_80),
             bot_cmsg(l, BOT_C_QUOTA_USED), used, quota, bot_msg(l, BOT_M_REMIND_RENEW));
    return bot_notice_send(b, kind, d->sub_id, d->telegram_id, msg, bot_kbd_main(l, false), now);
}

int bot_notify_quota(struct bot *b, int64_t now, int *sent)
{
    int count = 0, rc = 0;
    for (int full = 1; full >= 0 && rc >= 0; full--) { /* 100 % first: it says more */
        struct bot_quota_due due[BOT_NOTIFY_BATCH];
        size_t n;
        if ((rc = bot_quota_due(b->st, full, now, due, BOT_NOTIFY_BATCH, &n)) < 0)
            break;
        for (size_t i = 0; i < n && rc >= 0; i++)
            if ((rc = tell(b, full, &due[i], now)) > 0)
                count++;
    }
    if (sent != NULL)
        *sent = count;
    return rc < 0 ? rc : 0;
}
