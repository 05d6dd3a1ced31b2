/* What the bot keeps beside the hub's tables: the getUpdates offset, which Telegram users took
 * their trial, which chats blocked the bot, and which notices were sent (tables bot_state,
 * bot_trials, bot_chats: schema migration 4; bot_notices: 6). */
#ifndef VEIL_HUB_BOT_STORE_H
#define VEIL_HUB_BOT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "hub/domain/model.h"

struct store;

/* The next getUpdates offset (0 when none was stored). */
int bot_store_offset_get(struct store *st, int64_t *offset);
/* Stores the offset unless a larger one is stored already. */
int bot_store_offset_set(struct store *st, int64_t offset);

/* Grants the trial: once per Telegram user, in one transaction with the subscription of plan
 * (an active or limited one must not exist). ERR_EXISTS: trial already taken; ERR_BAD_STATE:
 * the user has a running subscription. */
int bot_store_trial(struct store *st, int64_t telegram_id, int64_t user_id, int64_t plan_id, int64_t now,
                    struct hub_sub *out);

/* The plan trials are granted on: "Trial <days>d", enabled, without prices (so never offered for
 * sale); created when missing. */
int bot_store_trial_plan(struct store *st, int64_t days, int64_t now, int64_t *plan_id);

/* Blocked chats: set by a 403 or my_chat_member "kicked", cleared by "member" or a new /start. */
int bot_store_blocked_set(struct store *st, int64_t telegram_id, bool blocked, int64_t now);
int bot_store_blocked_get(struct store *st, int64_t telegram_id, bool *blocked);

/* A named value in bot_state: *value is the stored one, or def (then stored) when none is. */
int bot_store_state_init(struct store *st, const char *name, int64_t def, int64_t *value);

/* Notices are sent once per (kind, ref_id): claim before sending. ERR_EXISTS: claimed already
 * (sent, or being sent by another thread). unclaim gives a claim back after a send that failed
 * for a passing reason, so the next drain tries again. */
int bot_store_notice_claim(struct store *st, const char *kind, int64_t ref_id, int64_t telegram_id, int64_t now);
int bot_store_notice_unclaim(struct store *st, const char *kind, int64_t ref_id);

/* Succeeded payments settled at or after since, of Telegram users, without a "paid" notice;
 * oldest first, at most cap. */
struct bot_paid {
    int64_t payment_id, user_id, telegram_id;
};
int bot_store_paid_unnoticed(struct store *st, int64_t since, struct bot_paid *out, size_t cap, size_t *n);

/* Expiry reminders: which subscriptions of reachable Telegram users (not blocked, enabled) are
 * due one, each its user's last-ending running subscription:
 *   BOT_REMIND_3D: active or limited, ending in (1 day, 3 days];
 *   BOT_REMIND_1D: active or limited, ending in (0, 1 day];
 *   BOT_REMIND_EXPIRED: ended in the last BOT_REMIND_EXPIRED_WINDOW seconds.
 * The event is (kind, subscription, ends_at) — bot_remind_kind names it — so an extended
 * subscription is reminded again for its new end; those with a bot_notices row are left out. */
enum bot_remind {
    BOT_REMIND_3D = 0,
    BOT_REMIND_1D,
    BOT_REMIND_EXPIRED,
    BOT_REMIND__COUNT, /* sentinel */
};
#define BOT_REMIND_EXPIRED_WINDOW (7 * 86400)
struct bot_due {
    int64_t sub_id, user_id, telegram_id, ends_at;
};
/* "exp3@<ends_at>", "exp1@<ends_at>", "expired@<ends_at>". */
void bot_remind_kind(enum bot_remind k, int64_t ends_at, char out[static 40]);
int bot_store_reminders_due(struct store *st, enum bot_remind k, int64_t now, struct bot_due *out, size_t cap,
                            size_t *n);

/* A referrer's numbers: users who came through their link, and the referral rewards billing
 * booked for them (referral_rewards), summed per currency. */
#define BOT_REF_CURRENCIES 8
struct bot_ref_stats {
    int64_t invited;
    size_t n_earned;
    struct {
        char currency[HUB_CURRENCY_LEN + 1];
        int64_t amount_minor;
    } earned[BOT_REF_CURRENCIES];
};
int bot_store_ref_stats(struct store *st, int64_t user_id, struct bot_ref_stats *out);

/* Gives up a lease taken with store_lock_try (a stopping poller), so another replica or the
 * restarted hub need not wait for it to run out. */
int bot_store_lease_release(struct store *st, const char *name, const char *holder);

#endif
