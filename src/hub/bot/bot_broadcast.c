/* Broadcasts (bot_broadcast.h): queued by /broadcast, sent by one thread per hub. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_broadcast.h"
#include "hub/bot/bot_broadcast_store.h"
#include "hub/bot/bot_store.h"
#include "hub/bot/bot_text.h"
#include "hub/store/store.h"

#define BATCH 100
#define LEASE "bot_broadcast"
#define LEASE_TTL 10 /* short: a hub killed mid-broadcast is replaced within seconds */
#define LEASE_RENEW_MS 3000
#define IDLE_MS 1000
#define CHAT_GAP_MS 1000 /* per chat: at most one message a second */

int bot_broadcast_create(struct store *st, int64_t admin_id, const char *text, int64_t now, int64_t *id,
                         int64_t *recipients)
{
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\n'))
        len--;
    if (len == 0)
        return ERR_RANGE;
    char *raw = strndup(text, len), *html = malloc(BOT_BROADCAST_HTML_MAX + 1);
    int rc = raw == NULL || html == NULL ? ERR_NOMEM : bot_html_escape(raw, html, BOT_BROADCAST_HTML_MAX + 1);
    if (rc == 0) {
        char actor[32];
        snprintf(actor, sizeof actor, "tg:%" PRId64, admin_id);
        rc = bot_bc_store_create(st, admin_id, html, now, actor, id, recipients);
    }
    free(raw);
    free(html);
    return rc;
}

int bot_broadcast_report(struct store *st, int64_t id, struct bot_bc_report *out)
{
    return bot_bc_store_report(st, id, out);
}

struct bot_bc_sender {
    struct bot *b;
    atomic_bool *stopping;
    char holder[96];
    pthread_t thread;
    long long next_ms;    /* earliest start of the next send (monotonic ms) */
    long long renewed_ms; /* when the lease was last renewed */
};

static pthread_mutex_t kick_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick_cv = PTHREAD_COND_INITIALIZER;
static bool kicked;

void bot_broadcast_kick(void)
{
    pthread_mutex_lock(&kick_lock);
    kicked = true;
    pthread_cond_broadcast(&kick_cv);
    pthread_mutex_unlock(&kick_lock);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits up to ms for a kick or the stop. */
static void idle(struct bot_bc_sender *s, long long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&kick_lock);
    while (!kicked && !atomic_load(s->stopping))
        if (pthread_cond_timedwait(&kick_cv, &kick_lock, &until) != 0)
            break;
    kicked = false;
    pthread_mutex_unlock(&kick_lock);
}

static bool lease(struct bot_bc_sender *s)
{
    bool held = false;
    if (store_lock_try(s->b->st, LEASE, s->holder, LEASE_TTL, (int64_t)time(NULL), &held) < 0)
        held = false;
    if (held)
        s->renewed_ms = mono_ms();
    return held;
}

/* One recipient (a user id): claimed, sent, and its outcome stored. false when the sender
 * should stop this round (stopping, the lease or the database is gone). */
static bool send_one(struct bot_bc_sender *s, int64_t id, const char *html, int64_t user_id)
{
    struct bot *b = s->b;
    long long wait = s->next_ms - mono_ms();
    if (wait > 0 && !bot_api_sleep(&b->api, wait))
        return false;
    if (mono_ms() - s->renewed_ms > LEASE_RENEW_MS && !lease(s))
        return false;
    /* The Telegram id now (opened when sealed); gone or blocked since: decided without a send. */
    struct hub_user hu;
    bool blocked = false;
    int rc = store_user_get(b->st, user_id, &hu);
    if (rc == 0 && hu.telegram_id > 0)
        rc = bot_store_blocked_get(b->st, hu.telegram_id, &blocked);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return false;
    if (rc == ERR_NOT_FOUND || hu.telegram_id <= 0 || !hu.enabled || blocked) {
        (void)bot_bc_store_mark(b->st, id, user_id, BOT_BC_PENDING, blocked ? BOT_BC_BLOCKED : BOT_BC_FAILED,
                                (int64_t)time(NULL));
        return true;
    }
    int64_t tg = hu.telegram_id;
    rc = bot_bc_store_mark(b->st, id, user_id, BOT_BC_PENDING, BOT_BC_SENDING, (int64_t)time(NULL));
    if (rc == ERR_BAD_STATE)
        return true; /* no longer pending: someone else decided it */
    if (rc < 0)
        return false;
    /* Spaced from this send's start, so a late send never makes the next one early. */
    s->next_ms = mono_ms() + 1000 / BOT_BROADCAST_RATE + 1;
    rc = bot_send_text(b, tg, html, NULL);
    enum bot_bc_state to = rc == 0            ? BOT_BC_DELIVERED
                           : rc == ERR_AUTH   ? BOT_BC_BLOCKED
                           : rc == ERR_LIMIT  ? BOT_BC_PENDING /* 429 throughout: not sent */
                           : rc == ERR_CLOSED ? BOT_BC_UNKNOWN
                                              : BOT_BC_FAILED;
    if (to == BOT_BC_UNKNOWN)
        return false; /* stopping mid-call: left "sending", recovered as unknown */
    if (bot_bc_store_mark(b->st, id, user_id, BOT_BC_SENDING, to, (int64_t)time(NULL)) < 0)
        log_warn("bot", 0, "broadcast_mark_failed", LF_INT("broadcast", id), LF_INT("user", user_id));
    return true;
}

static void report(struct bot_bc_sender *s, int64_t id, int64_t admin_id)
{
    struct bot_bc_report r;
    if (bot_bc_store_report(s->b->st, id, &r) < 0)
        return;
    log_info("bot", 0, "broadcast_done", LF_INT("broadcast", id), LF_INT("delivered", r.delivered),
             LF_INT("blocked", r.blocked), LF_INT("failed", r.failed), LF_INT("unknown", r.unknown));
    char msg[320];
    snprintf(msg, sizeof msg,
             "Broadcast %" PRId64 " finished: %" PRId64 " delivered, %" PRId64 " blocked, %" PRId64 " failed (%" PRId64
             " of them interrupted by a restart and not resent), of %" PRId64 ".",
             id, r.delivered, r.blocked, r.failed, r.unknown, r.recipients);
    (void)bot_send_text(s->b, admin_id, msg, NULL);
}

/* One round on the lease: the current broadcast's next batch, or its end. true: more to do now. */
static bool round_once(struct bot_bc_sender *s)
{
    struct bot *b = s->b;
    int64_t id, admin_id;
    char *html;
    if (bot_bc_store_current(b->st, &id, &admin_id, &html) < 0)
        return false;
    int64_t batch[BATCH];
    size_t n = 0;
    bool more = bot_bc_store_pending(b->st, id, batch, BATCH, &n) == 0;
    for (size_t i = 0; more && i < n && !atomic_load(s->stopping); i++)
        more = send_one(s, id, html, batch[i]);
    free(html);
    if (!more || atomic_load(s->stopping))
        return false;
    if (n == 0) {
        bool finished = false;
        if (bot_bc_store_finish(b->st, id, (int64_t)time(NULL), &finished) == 0 && finished) {
            report(s, id, admin_id);
            /* The next broadcast may go to the same chats: one message a second per chat. */
            s->next_ms = mono_ms() + CHAT_GAP_MS;
        }
    }
    return true;
}

static void *sender(void *arg)
{
    struct bot_bc_sender *s = arg;
    bool held_before = false;
    while (!atomic_load(s->stopping)) {
        bool held = lease(s);
        if (held && !held_before) {
            int64_t n = 0;
            if (bot_bc_store_recover(s->b->st, (int64_t)time(NULL), &n) < 0) {
                held = false; /* recover first, or a half-sent message could be sent again */
            } else if (n > 0) {
                log_warn("bot", 0, "broadcast_interrupted", LF_INT("unknown", n));
            }
        }
        held_before = held;
        if (!held || !round_once(s))
            idle(s, held ? IDLE_MS : 2 * IDLE_MS);
    }
    if (held_before)
        (void)bot_store_lease_release(s->b->st, LEASE, s->holder);
    return NULL;
}

int bot_broadcast_start(struct bot *b, atomic_bool *stopping, const char *holder, struct bot_bc_sender **out)
{
    struct bot_bc_sender *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    s->b = b;
    s->stopping = stopping;
    snprintf(s->holder, sizeof s->holder, "%s", holder);
    if (pthread_create(&s->thread, NULL, sender, s) != 0) {
        free(s);
        return ERR_INTERNAL;
    }
    *out = s;
    return 0;
}

void bot_broadcast_stop(struct bot_bc_sender *s)
{
    if (s == NULL)
        return;
    bot_broadcast_kick();
    pthread_join(s->thread, NULL);
    free(s);
}
