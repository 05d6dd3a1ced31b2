/* Per-user flood control (bot_flood.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_admin.h"
#include "hub/bot/bot_flood.h"
#include "hub/bot/bot_text.h"

#define MILLI 1000 /* tokens are kept in thousandths */

struct bucket {
    int64_t user; /* 0: free */
    int64_t tokens_milli;
    long long last_ms;
};

struct bot_flood {
    pthread_mutex_t mu;
    struct bucket b[BOT_FLOOD_USERS];
};

static atomic_uint_fast64_t dropped;

struct bot_flood *bot_flood_new(void)
{
    struct bot_flood *f = calloc(1, sizeof *f);
    if (f != NULL)
        pthread_mutex_init(&f->mu, NULL);
    return f;
}

void bot_flood_free(struct bot_flood *f)
{
    if (f == NULL)
        return;
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static size_t slot_of(int64_t user)
{
    uint64_t h = (uint64_t)user * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing spreads sequential ids */
    return (size_t)(h >> 32) % BOT_FLOOD_USERS;
}

bool bot_flood_allow(struct bot_flood *f, int64_t user, long long now_ms)
{
    pthread_mutex_lock(&f->mu);
    size_t home = slot_of(user), pick = home;
    struct bucket *e = NULL;
    for (size_t i = 0; i < BOT_FLOOD_PROBE && e == NULL; i++) {
        struct bucket *c = &f->b[(home + i) % BOT_FLOOD_USERS];
        if (c->user == user)
            e = c;
        else if (c->user == 0 || c->last_ms < f->b[pick].last_ms)
            pick = (home + i) % BOT_FLOOD_USERS;
        if (e == NULL && c->user == 0)
            break;
    }
    if (e == NULL) { /* a new user (or one forgotten): a full bucket */
        e = &f->b[pick];
        e->user = user;
        e->tokens_milli = (int64_t)BOT_FLOOD_BURST * MILLI;
        e->last_ms = now_ms;
    }
    if (now_ms > e->last_ms) {
        int64_t add = (int64_t)(now_ms - e->last_ms) * BOT_FLOOD_PER_S;
        e->tokens_milli = add > (int64_t)BOT_FLOOD_BURST * MILLI - e->tokens_milli ? (int64_t)BOT_FLOOD_BURST * MILLI
                                                                                   : e->tokens_milli + add;
        e->last_ms = now_ms;
    }
    bool ok = e->tokens_milli >= MILLI;
    if (ok)
        e->tokens_milli -= MILLI;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

bool bot_flood_gate(struct bot_flood *f, struct bot *b, const struct bot_update *u, long long now_ms)
{
    bool limited = (u->kind == BOT_UPD_MESSAGE && !u->paid) || u->kind == BOT_UPD_CALLBACK;
    if (f == NULL || !limited || u->from_id <= 0 || bot_admin_is(&b->cfg, u->from_id) ||
        bot_flood_allow(f, u->from_id, now_ms))
        return true;
    if (atomic_fetch_add(&dropped, 1) % 100 == 0) /* one line per hundred drops is enough */
        log_warn("bot", 0, "flood_dropped", LF_INT("user", u->from_id), LF_INT("update", u->update_id));
    if (u->kind == BOT_UPD_CALLBACK) {
        json_t *p = json_pack("{s:s,s:s,s:b}", "callback_query_id", u->query_id, "text",
                              bot_lang_of(u->lang) == BOT_LANG_RU ? "Слишком быстро, подождите секунду."
                                                                  : "Too fast, please wait a second.",
                              "show_alert", 1);
        if (p != NULL)
            (void)bot_api_call(&b->api, "answerCallbackQuery", p, 0, NULL);
        json_decref(p);
    }
    return false;
}

uint64_t bot_flood_dropped_total(void)
{
    return atomic_load(&dropped);
}
