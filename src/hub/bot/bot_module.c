/* The bot module: the "bot" section of hub.json, the webhook route, and the long-polling
 * thread. No section: nothing runs and the webhook answers 404. Polling is done by one replica
 * at a time (a database lease "bot_poll"); the offset is stored after each update is handled,
 * so a restart neither loses nor repeats updates. Settings apply at start (SIGHUP: restart). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "hub/api/api_route.h"
#include "hub/bot/bot_broadcast.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_flood.h"
#include "hub/bot/bot_flow.h"
#include "hub/bot/bot_notify.h"
#include "hub/bot/bot_store.h"
#include "hub/module.h"
#include "hub/scheduler/scheduler.h"
#include "hub/store/store.h"

struct bot_service {
    struct bot bot;
    pthread_t poller;
    bool polling;
    atomic_bool stopping;
    char holder[96];
    struct bot_retry retry; /* the poller's transient failures */
    struct bot_flood *flood;
    struct bot_bc_sender *broadcasts;
};

/* The running service for the webhook route; the lock keeps stop from freeing it under a request. */
static pthread_rwlock_t current_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct bot_service *current;

static const char *const allowed_updates[] = {"message", "callback_query", "pre_checkout_query", "my_chat_member"};

static json_t *allowed_updates_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < sizeof allowed_updates / sizeof allowed_updates[0]; i++)
        json_array_append_new(a, json_string(allowed_updates[i]));
    return a;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static bool stopping(void *arg)
{
    struct bot_service *s = arg;
    return atomic_load(&s->stopping);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Handles one update from either transport (past the flood gate). */
static int handle(struct bot_service *s, const struct bot_update *u)
{
    struct bot *b = &s->bot;
    if (!bot_flood_gate(s->flood, b, u, mono_ms()))
        return 0;
    int rc = bot_handle(b, u, now_s());
    if (rc < 0)
        log_warn("bot", 0, "update_failed", LF_INT("update", u->update_id), LF_INT("kind", u->kind),
                 LF_STR("err", err_str(rc)));
    return rc;
}

/* One getUpdates round: handles what came and stores the next offset after each update. */
static int poll_once(struct bot_service *s)
{
    struct bot *b = &s->bot;
    int64_t offset;
    TRY(bot_store_offset_get(b->st, &offset));
    json_t *p = json_pack("{s:I,s:I,s:o}", "offset", (json_int_t)offset, "timeout", (json_int_t)b->cfg.poll_timeout,
                          "allowed_updates", allowed_updates_json());
    if (p == NULL)
        return ERR_NOMEM;
    json_t *res = NULL;
    int rc = bot_api_call(&b->api, "getUpdates", p, (unsigned)b->cfg.poll_timeout + 10, &res);
    json_decref(p);
    TRY(rc);
    if (!json_is_array(res)) {
        json_decref(res);
        log_warn("bot", 0, "bad_updates", LF_STR("why", "result is not an array"));
        return ERR_MALFORMED;
    }
    size_t i;
    json_t *j;
    json_array_foreach(res, i, j)
    {
        if (atomic_load(&s->stopping))
            break;
        struct bot_update *u = malloc(sizeof *u);
        if (u == NULL) {
            rc = ERR_NOMEM;
            break;
        }
        int hr = 0;
        if (bot_update_from_json(j, u) < 0)
            log_warn("bot", 0, "bad_update", LF_INT("update", u->update_id));
        else
            hr = handle(s, u);
        int64_t next = u->update_id >= 0 ? u->update_id + 1 : 0;
        if (!bot_update_done(&s->retry, u->update_id, hr)) {
            free(u);
            rc = hr; /* the same update again after the poller's backoff */
            break;
        }
        free(u);
        if (next > offset && (rc = bot_store_offset_set(b->st, next)) < 0)
            break;
        if (next > offset)
            offset = next;
    }
    json_decref(res);
    return rc;
}

static void *poller(void *arg)
{
    struct bot_service *s = arg;
    struct bot *b = &s->bot;
    json_t *p = json_object();
    if (p != NULL && bot_api_call(&b->api, "deleteWebhook", p, 0, NULL) < 0)
        log_warn("bot", 0, "delete_webhook_failed");
    json_decref(p);
    long long backoff = 0;
    bool held_before = false;
    while (!atomic_load(&s->stopping)) {
        bool held = false;
        if (store_lock_try(b->st, "bot_poll", s->holder, b->cfg.poll_timeout + 30, now_s(), &held) < 0)
            held = false;
        if (held != held_before)
            log_info("bot", 0, held ? "polling" : "polling_elsewhere");
        held_before = held;
        if (!held) {
            bot_api_sleep(&b->api, 2000);
            continue;
        }
        int rc = poll_once(s);
        if (rc < 0 && rc != ERR_CLOSED) {
            backoff = backoff == 0 ? 1000 : (backoff * 2 > 30000 ? 30000 : backoff * 2);
            log_warn("bot", 0, "poll_failed", LF_STR("err", err_str(rc)), LF_INT("retry_ms", backoff));
            bot_api_sleep(&b->api, backoff);
        } else {
            backoff = 0;
        }
    }
    if (held_before)
        (void)bot_store_lease_release(b->st, "bot_poll", s->holder);
    return NULL;
}

/* The scheduler job (lock holder only): payments settled by webhooks or reconciliation are
 * announced to their Telegram users, expiry reminders go out, and admins hear of new findings. */
static int job_notices(struct sched_pass *p, void *ctx)
{
    struct bot_service *s = ctx;
    int sent = 0, reminded = 0;
    int rc = bot_notify_drain(&s->bot, p->now, &sent);
    if (rc < 0)
        log_warn("bot", 0, "notices_failed", LF_STR("err", err_str(rc)), LF_INT("sent", sent));
    int rr = bot_notify_reminders(&s->bot, p->now, &reminded);
    if (rr < 0)
        log_warn("bot", 0, "reminders_failed", LF_STR("err", err_str(rr)), LF_INT("sent", reminded));
    int alerted = 0, rf = bot_notify_findings(&s->bot, p->now, &alerted);
    if (rf < 0)
        log_warn("bot", 0, "finding_notices_failed", LF_STR("err", err_str(rf)), LF_INT("sent", alerted));
    int quota = 0, rq = bot_notify_quota(&s->bot, p->now, &quota);
    if (rq < 0)
        log_warn("bot", 0, "quota_notices_failed", LF_STR("err", err_str(rq)), LF_INT("sent", quota));
    int rewards = 0, rw = bot_notify_rewards(&s->bot, p->now, &rewards);
    if (rw < 0)
        log_warn("bot", 0, "reward_notices_failed", LF_STR("err", err_str(rw)), LF_INT("sent", rewards));
    int held = 0, rh = bot_notify_holds(&s->bot, p->now, &held);
    if (rh < 0)
        log_warn("bot", 0, "hold_notices_failed", LF_STR("err", err_str(rh)), LF_INT("sent", held));
    return rc < 0 ? rc : rr < 0 ? rr : rf < 0 ? rf : rq < 0 ? rq : rw < 0 ? rw : rh;
}

static int check(const json_t *section, char *err, size_t errcap)
{
    struct bot_cfg c;
    int rc = bot_cfg_parse(section, &c, err, errcap);
    bot_cfg_wipe(&c);
    return rc;
}

static bool secret_ok(const char *want, const char *got)
{
    if (got == NULL)
        return false;
    uint8_t hw[32], hg[32];
    if (crypto_hash(CRYPTO_SHA256, want, strlen(want), hw) < 0 || crypto_hash(CRYPTO_SHA256, got, strlen(got), hg) < 0)
        return false;
    return secure_memcmp(hw, hg, sizeof hw) == 0; /* equal digests: equal secrets, in constant time */
}

static void on_webhook(struct api_call *c)
{
    pthread_rwlock_rdlock(&current_lock);
    struct bot_service *s = current;
    if (s == NULL || !s->bot.cfg.webhook) {
        pthread_rwlock_unlock(&current_lock);
        api_reply_error(c, 404, "not_found", "the bot does not take webhooks");
        return;
    }
    if (!secret_ok(s->bot.cfg.webhook_secret, api_call_header(c, "X-Telegram-Bot-Api-Secret-Token"))) {
        pthread_rwlock_unlock(&current_lock);
        log_warn("bot", 0, "webhook_rejected", LF_STR("ip", api_call_ip(c)));
        api_reply_error(c, 401, "unauthorized", "bad or missing X-Telegram-Bot-Api-Secret-Token");
        return;
    }
    size_t n;
    const char *body = api_call_body(c, &n);
    struct bot_update *u = malloc(sizeof *u);
    int rc = u == NULL ? ERR_NOMEM : bot_update_parse(body, n, u);
    if (rc < 0) {
        pthread_rwlock_unlock(&current_lock);
        free(u);
        if (rc == ERR_NOMEM)
            api_reply_error(c, 503, "unavailable", "try again");
        else
            api_reply_error(c, 400, "bad_update", "not a Telegram update");
        return;
    }
    rc = handle(s, u);
    pthread_rwlock_unlock(&current_lock);
    free(u);
    /* Database trouble: Telegram delivers again later. Everything else is done with. */
    if (bot_err_transient(rc))
        api_reply_error(c, 503, "unavailable", "try again");
    else
        api_reply(c, 200, "application/json", "{}", 2);
}

static void reg(void)
{
    api_route_add_ex(&(struct api_route){.method = "POST",
                                         .pattern = "/webhooks/telegram",
                                         .auth = API_AUTH_NONE,
                                         .handler = on_webhook,
                                         .body_max = BOT_UPDATE_MAX,
                                         .flags = API_ROUTE_ANY_BODY});
    bot_addapp_reg();
}

static void set_webhook(struct bot *b)
{
    json_t *p = json_pack("{s:s,s:s,s:o}", "url", b->cfg.webhook_url, "secret_token", b->cfg.webhook_secret,
                          "allowed_updates", allowed_updates_json());
    if (p == NULL || bot_api_call(&b->api, "setWebhook", p, 0, NULL) < 0)
        log_warn("bot", 0, "set_webhook_failed");
    json_decref(p);
}

static int start(struct hub_env *env, void **state)
{
    const json_t *section = hub_env_section(env, "bot");
    *state = NULL;
    if (section == NULL)
        return 0;
    struct bot_service *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    char err[256];
    int rc = bot_cfg_parse(section, &s->bot.cfg, err, sizeof err);
    if (rc < 0) {
        log_err("bot", 0, "config", LF_STR("err", err));
        free(s);
        return rc;
    }
    s->bot.st = env->st;
    s->bot.cache = env->cache;
    snprintf(s->bot.public_url, sizeof s->bot.public_url, "%s", env->cfg->public_url);
    bot_addapp_set(env->cfg->public_url, env->cfg->sub_title);
    if ((rc = bot_api_init(&s->bot.api, s->bot.cfg.api_url, s->bot.cfg.token)) < 0) {
        log_err("bot", 0, "start_failed", LF_STR("err", err_str(rc)));
        bot_cfg_wipe(&s->bot.cfg);
        bot_api_wipe(&s->bot.api);
        free(s);
        return rc;
    }
    s->retry.update_id = -1;
    if ((s->flood = bot_flood_new()) == NULL) {
        bot_cfg_wipe(&s->bot.cfg);
        bot_api_wipe(&s->bot.api);
        free(s);
        return ERR_NOMEM;
    }
    s->bot.api.cancel = stopping;
    s->bot.api.cancel_arg = s;
    char host[64] = "host";
    (void)gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(s->holder, sizeof s->holder, "%s:%ld", host, (long)getpid());
    if (s->bot.cfg.webhook) {
        if (s->bot.cfg.webhook_url[0])
            set_webhook(&s->bot);
    } else {
        if (pthread_create(&s->poller, NULL, poller, s) != 0) {
            bot_cfg_wipe(&s->bot.cfg);
            bot_api_wipe(&s->bot.api);
            bot_flood_free(s->flood);
            free(s);
            return ERR_INTERNAL;
        }
        s->polling = true;
    }
    pthread_rwlock_wrlock(&current_lock);
    current = s;
    pthread_rwlock_unlock(&current_lock);
    if ((rc = bot_broadcast_start(&s->bot, &s->stopping, s->holder, &s->broadcasts)) < 0)
        log_warn("bot", 0, "no_broadcasts", LF_STR("err", err_str(rc)));
    if ((rc = sched_job_add("bot_notices", 0, job_notices, s, true)) < 0)
        log_warn("bot", 0, "no_notices_job", LF_STR("err", err_str(rc)));
    log_info("bot", 0, "started", LF_STR("mode", s->bot.cfg.webhook ? "webhook" : "polling"));
    *state = s;
    return 0;
}

static void stop(struct hub_env *env, void *state)
{
    (void)env;
    struct bot_service *s = state;
    if (s == NULL)
        return;
    atomic_store(&s->stopping, true);      /* cuts a notice's Bot API wait short */
    (void)sched_job_remove("bot_notices"); /* waits for a running pass that may use s */
    if (s->polling)
        pthread_join(s->poller, NULL);
    bot_broadcast_stop(s->broadcasts);
    pthread_rwlock_wrlock(&current_lock);
    current = NULL;
    pthread_rwlock_unlock(&current_lock);
    bot_addapp_set("", "");
    bot_cfg_wipe(&s->bot.cfg);
    bot_api_wipe(&s->bot.api);
    bot_flood_free(s->flood);
    free(s);
}

HUB_MODULE(bot) = {
    .name = "bot",
    .order = 60,
    .reg = reg,
    .section = "bot",
    .settings_check = check,
    .start = start,
    .stop = stop,
};
