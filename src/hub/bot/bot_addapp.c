/* GET /add/{app}/{token}: the "add to app" buttons of the bot's subscription screen. Telegram's
 * inline URL buttons take only http(s) links, so the button opens this page, which answers 302
 * into the app's own scheme (spec/ecosystem.md §a.6, built by hub/sub: sub_app_deeplink) carrying
 * the customer's subscription URL; the body links there too, for browsers that do not follow a
 * redirect to a custom scheme. An unknown app or token is 404; the token is checked like /sub's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "hub/api/api_route.h"
#include "hub/bot/bot_customer.h"
#include "hub/sub/sub.h"

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static char base_url[512], sub_title[128];

void bot_addapp_set(const char *public_url, const char *title)
{
    pthread_mutex_lock(&cfg_lock);
    snprintf(base_url, sizeof base_url, "%s", public_url != NULL ? public_url : "");
    snprintf(sub_title, sizeof sub_title, "%s", title != NULL && title[0] ? title : "VPN");
    pthread_mutex_unlock(&cfg_lock);
}

bool bot_addapp_parse_path(const char *path, char app[static 33], char token[static HUB_TOKEN_MAX + 1])
{
    if (strncmp(path, "/add/", 5) != 0)
        return false;
    const char *a = path + 5, *slash = strchr(a, '/');
    if (slash == NULL || slash == a || (size_t)(slash - a) > 32)
        return false;
    const char *t = slash + 1;
    size_t tn = strlen(t);
    if (tn > 0 && t[tn - 1] == '/')
        tn--;
    if (tn < 16 || tn > HUB_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < tn; i++) {
        char ch = t[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-'))
            return false;
    }
    memcpy(app, a, (size_t)(slash - a));
    app[slash - a] = '\0';
    memcpy(token, t, tn);
    token[tn] = '\0';
    return true;
}

static void on_add(struct api_call *c)
{
    char app[33], token[HUB_TOKEN_MAX + 1], base[512], title[128];
    pthread_mutex_lock(&cfg_lock);
    snprintf(base, sizeof base, "%s", base_url);
    snprintf(title, sizeof title, "%s", sub_title);
    pthread_mutex_unlock(&cfg_lock);
    if (base[0] == '\0' || !bot_addapp_parse_path(api_call_path(c), app, token) || sub_app_title(app) == NULL) {
        api_reply_error(c, 404, "not_found", "no such app or subscription");
        return;
    }
    struct hub_user u;
    struct hub_sub s;
    bool has_sub;
    int rc = store_sub_view(api_call_store(c), token, &u, &s, &has_sub);
    if (rc == ERR_NOT_FOUND) {
        api_reply_error(c, 404, "not_found", "no such app or subscription");
        return;
    }
    if (rc < 0) {
        api_reply_error(c, 503, "unavailable", "try again");
        return;
    }
    size_t bl = strlen(base);
    char url[700];
    snprintf(url, sizeof url, "%.*s/sub/%s", (int)(base[bl - 1] == '/' ? bl - 1 : bl), base, token);
    struct buf link, page;
    buf_init(&link);
    buf_init(&page);
    rc = sub_app_deeplink(app, url, title, &link);
    if (rc == 0)
        rc = buf_append(&link, "", 1);
    enum bot_lang l = sub_pick_lang(api_call_query(c, "lang"), api_call_header(c, "Accept-Language")) == SUB_LANG_RU
                          ? BOT_LANG_RU
                          : BOT_LANG_EN;
    char *esc = NULL, app_esc[200];
    size_t cap = rc == 0 ? link.wpos * 6 + 1 : 0;
    if (rc == 0 && (esc = malloc(cap)) == NULL)
        rc = ERR_NOMEM;
    if (rc == 0)
        rc = bot_html_escape((const char *)link.base, esc, cap);
    (void)bot_html_escape(sub_app_title(app), app_esc, sizeof app_esc);
    char head[1024];
    if (rc == 0) {
        snprintf(head, sizeof head,
                 "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<meta name=\"referrer\" content=\"no-referrer\"><title>%s%s</title></head>\n<body "
                 "style=\"font-family:sans-serif;text-align:center;margin-top:3em\"><p>%s%s\u2026</p><p><a href=\"",
                 bot_lang_code(l), bot_cmsg(l, BOT_C_ADD_PAGE), app_esc, bot_cmsg(l, BOT_C_ADD_PAGE), app_esc);
        rc = buf_append(&page, head, strlen(head));
    }
    if (rc == 0)
        rc = buf_append(&page, esc, strlen(esc));
    if (rc == 0) {
        snprintf(head, sizeof head, "\">%s</a></p></body></html>\n", bot_cmsg(l, BOT_C_ADD_TAP));
        rc = buf_append(&page, head, strlen(head));
    }
    if (rc == 0)
        rc = api_reply_header(c, "Location", (const char *)link.base);
    if (rc == 0)
        rc = api_reply_header(c, "Cache-Control", "no-store");
    if (rc == 0)
        rc = api_reply_header(c, "Referrer-Policy", "no-referrer");
    if (rc == 0)
        api_reply(c, 302, "text/html; charset=utf-8", page.base, page.wpos);
    else
        api_reply_error(c, 500, "internal", "cannot build the link");
    free(esc);
    buf_dispose(&link);
    buf_dispose(&page);
}

void bot_addapp_reg(void)
{
    api_route_add("GET", "/add/{app}/{token}", API_AUTH_NONE, on_add);
}
