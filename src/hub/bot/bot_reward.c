/* Referral reward notices: the referrer is told of each reward billing booked for them
 * (referral_rewards, one row per paying referee's payment), once per row (bot_notices kind
 * "reward"). Rewards booked before the bot first looked (bot_state "rewards_since") are not
 * announced, so a new bot does not replay history. */
#include <stdio.h>

#include "core/err.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_kbd.h"
#include "hub/bot/bot_notify.h"
#include "hub/bot/bot_store.h"
#include "hub/store/store_sql.h"

struct reward_arg {
    int64_t since;
    struct bot_reward_due *out;
    size_t cap, n;
};

static int due_body(struct store_conn *sc, void *arg)
{
    struct reward_arg *x = arg;
    struct store_val p[] = {SV_I(x->since), SV_I((int64_t)x->cap)};
    struct store_res r;
    TRY(store__exec(
        sc,
        "SELECT rr.id, rr.referrer_id, u.telegram_id, rr.amount_minor, rr.currency, u.telegram_enc"
        " FROM referral_rewards rr JOIN users u ON u.id = rr.referrer_id"
        " WHERE rr.created_at >= $1 AND (u.telegram_id IS NOT NULL OR u.telegram_enc IS NOT NULL)"
        " AND u.enabled = 1"
        " AND NOT EXISTS (SELECT 1 FROM bot_chats c WHERE c.telegram_id = COALESCE(u.telegram_ref, u.telegram_id)"
        " AND c.blocked <> 0)"
        " AND NOT EXISTS (SELECT 1 FROM bot_notices n WHERE n.kind = 'reward' AND n.ref_id = rr.id)"
        " ORDER BY rr.id LIMIT $2",
        p, 2, &r));
    x->n = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r.nrows && x->n < x->cap; i++) {
        struct bot_reward_due *d = &x->out[x->n];
        d->reward_id = store__cell_i64(&r, i, 0);
        d->referrer_id = store__cell_i64(&r, i, 1);
        d->amount_minor = store__cell_i64(&r, i, 3);
        store__cell_str(&r, i, 4, d->currency, sizeof d->currency);
        bool held = false;
        if ((rc = bot__telegram_of(sc, &r, i, 1, 2, 5, &d->telegram_id, &held)) == 0 && !held)
            x->n++;
    }
    store__res_free(&r);
    return rc;
}

int bot_reward_due(struct store *st, int64_t since, struct bot_reward_due *out, size_t cap, size_t *n)
{
    struct reward_arg x = {.since = since, .out = out, .cap = cap};
    TRY(store__ro(st, due_body, &x));
    *n = x.n;
    return 0;
}

static int tell(struct bot *b, const struct bot_reward_due *d, int64_t now)
{
    struct hub_user hu;
    TRY(store_user_get(b->st, d->referrer_id, &hu));
    enum bot_lang l = bot_lang_of(hu.language);
    char money[48], esc[96], msg[768];
    bot_money(d->amount_minor, d->currency, money);
    (void)bot_html_escape(money, esc, sizeof esc);
    snprintf(msg, sizeof msg, "<b>%s%s</b>\n%s", bot_cmsg(l, BOT_C_REWARD), esc, bot_cmsg(l, BOT_C_REWARD_TAIL));
    return bot_notice_send(b, "reward", d->reward_id, d->telegram_id, msg, bot_kbd_main(l, false), now);
}

int bot_notify_rewards(struct bot *b, int64_t now, int *sent)
{
    int64_t since;
    TRY(bot_store_state_init(b->st, "rewards_since", now, &since));
    struct bot_reward_due due[BOT_NOTIFY_BATCH];
    size_t n;
    TRY(bot_reward_due(b->st, since, due, BOT_NOTIFY_BATCH, &n));
    int count = 0, rc = 0;
    for (size_t i = 0; i < n && rc >= 0; i++)
        if ((rc = tell(b, &due[i], now)) > 0)
            count++;
    if (sent != NULL)
        *sent = count;
    return rc < 0 ? rc : 0;
}
