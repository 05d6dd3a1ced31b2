/* Devices: the HWIDs the hub recorded when the customer's apps fetched the subscription
 * (store_device_seen, x-hwid header; a new one is refused past the plan's device limit), listed
 * with their app and last use, and a slot freed through store_device_delete, as the admin API
 * does (DELETE /api/v1/devices/{id}). Only the customer's own devices can be freed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/bot/bot_customer.h"
#include "hub/bot/bot_kbd.h"

#define DEV_MSG_MAX 4096

static void put(char *msg, const char *s)
{
    size_t n = strlen(msg);
    snprintf(msg + n, DEV_MSG_MAX - n, "%s", s);
}

static void put_esc(char *msg, const char *text)
{
    char esc[512];
    (void)bot_html_escape(text, esc, sizeof esc);
    put(msg, esc);
}

int bot_show_devices(struct bot *b, const struct bot_update *u, const struct hub_user *hu, const char *lead)
{
    enum bot_lang l = bot_lang_of(hu->language);
    struct hub_sub s;
    int rc = store_sub_current(b->st, hu->id, &s);
    if (rc < 0 && rc != ERR_NOT_FOUND)
        return rc;
    if (rc == ERR_NOT_FOUND || s.device_limit <= 0)
        return bot_show(b, u, bot_cmsg(l, BOT_C_DEV_NO_LIMIT), bot_kbd_back(l));
    struct store_device *devs;
    size_t n;
    TRY(store_device_list(b->st, hu->id, &devs, &n));
    char *msg = calloc(1, DEV_MSG_MAX);
    if (msg == NULL) {
        free(devs);
        return ERR_NOMEM;
    }
    char num[48], date[32];
    if (lead != NULL) {
        put(msg, lead);
        put(msg, "\n\n");
    }
    snprintf(num, sizeof num, "%zu / %" PRId64, n, s.device_limit);
    put(msg, "<b>");
    put(msg, bot_cmsg(l, BOT_C_DEV_HEAD));
    put(msg, num);
    put(msg, "</b>");
    if (n == 0) {
        put(msg, "\n");
        put(msg, bot_cmsg(l, BOT_C_DEV_NONE));
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(num, sizeof num, "\n%zu. ", i + 1);
        put(msg, num);
        put_esc(msg, devs[i].user_agent[0] ? devs[i].user_agent : devs[i].hwid);
        bot_fmt_date(devs[i].last_seen, date);
        put(msg, " · ");
        put(msg, bot_cmsg(l, BOT_C_DEV_SEEN));
        put(msg, date);
    }
    if (n > 0 && (int64_t)n >= s.device_limit) {
        put(msg, "\n\n");
        put(msg, bot_cmsg(l, BOT_C_DEV_HINT));
    }
    rc = bot_show(b, u, msg, bot_kbd_devices(l, devs, n));
    free(msg);
    free(devs);
    return rc;
}

int bot_free_device(struct bot *b, const struct bot_update *u, const struct hub_user *hu, int64_t device_id,
                    int64_t now, const char **alert)
{
    enum bot_lang l = bot_lang_of(hu->language);
    struct store_device *devs;
    size_t n;
    TRY(store_device_list(b->st, hu->id, &devs, &n));
    bool mine = false;
    for (size_t i = 0; i < n; i++)
        mine = mine || devs[i].id == device_id;
    free(devs);
    if (!mine) { /* freed already, or someone else's id */
        *alert = bot_cmsg(l, BOT_C_DEV_GONE);
        return bot_show_devices(b, u, hu, NULL);
    }
    char target[48];
    snprintf(target, sizeof target, "device:%" PRId64, device_id);
    struct store_audit au = {.actor = "bot", .action = "device.delete", .target = target, .source_ip = ""};
    int rc = store_device_delete(b->st, device_id, now, &au);
    if (rc == ERR_NOT_FOUND) {
        *alert = bot_cmsg(l, BOT_C_DEV_GONE);
        return bot_show_devices(b, u, hu, NULL);
    }
    TRY(rc);
    log_info("bot", 0, "device_freed", LF_INT("user", hu->id), LF_INT("device", device_id));
    return bot_show_devices(b, u, hu, bot_cmsg(l, BOT_C_DEV_FREED));
}
