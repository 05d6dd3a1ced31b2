/* Bot API calls with the 429 rule (bot_api.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "core/secure.h"
#include "httpc/httpc.h"
#include "hub/bot/bot_api.h"
#include "hub/bot/bot_update.h"

int bot_api_init(struct bot_api *a, const char *api_url, const char *token)
{
    memset(a, 0, sizeof *a);
    int n = snprintf(a->base, sizeof a->base, "%s/bot%s/", api_url, token);
    return n > 0 && (size_t)n < sizeof a->base ? 0 : ERR_TOO_LONG;
}

void bot_api_wipe(struct bot_api *a)
{
    secure_wipe(a->base, sizeof a->base);
}

bool bot_api_sleep(struct bot_api *a, long long ms)
{
    while (ms > 0) {
        if (a->cancel != NULL && a->cancel(a->cancel_arg))
            return false;
        long long step = ms < 100 ? ms : 100;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return a->cancel == NULL || !a->cancel(a->cancel_arg);
}

/* The request body as sent: JSON, or multipart/form-data for uploads. */
struct api_body {
    const char *data;
    size_t len;
    const char *content_type;
};

static int exchange(struct bot_api *a, const char *method, const struct api_body *body, unsigned timeout_s,
                    struct httpc_resp *resp)
{
    char url[640];
    int n = snprintf(url, sizeof url, "%s%s", a->base, method);
    if (n < 0 || (size_t)n >= sizeof url)
        return ERR_TOO_LONG;
    struct httpc_req req = {.method = "POST",
                            .url = url,
                            .body = body->data,
                            .body_len = body->len,
                            .content_type = body->content_type,
                            .timeout_ms = (timeout_s ? timeout_s : 10) * 1000u,
                            .max_response = 8u << 20,
                            .cancel = a->cancel,
                            .cancel_arg = a->cancel_arg};
    int rc = httpc_do(&req, resp);
    secure_wipe(url, sizeof url);
    return rc;
}

/* One call with the envelope rules (bot_api.h), body sent as is on every attempt. */
static int call_body(struct bot_api *a, const char *method, const struct api_body *body, unsigned timeout_s,
                     json_t **result)
{
    if (result != NULL)
        *result = NULL;
    int rc = ERR_LIMIT;
    for (int attempt = 0; attempt <= BOT_API_RETRIES_429; attempt++) {
        struct httpc_resp resp;
        int hr = exchange(a, method, body, timeout_s, &resp);
        if (hr < 0) {
            rc = hr == ERR_CLOSED ? ERR_CLOSED : ERR_IO;
            httpc_resp_dispose(&resp);
            break;
        }
        struct bot_reply r;
        int pr = bot_reply_parse(resp.body, resp.body_len, &r);
        long status = resp.status;
        httpc_resp_dispose(&resp);
        if (pr < 0) {
            log_warn("bot", 0, "api_bad_answer", LF_STR("method", method), LF_INT("status", status));
            rc = ERR_IO;
            break;
        }
        if (r.ok && status == 200) {
            if (result != NULL) {
                *result = r.result;
                r.result = NULL;
            }
            bot_reply_dispose(&r);
            rc = 0;
            break;
        }
        int64_t code = r.error_code ? r.error_code : status;
        bot_reply_dispose(&r);
        if (code == 429) {
            /* Telegram says how long: wait exactly that, then the same call again. */
            int64_t wait = r.retry_after > 0 ? r.retry_after : 1;
            log_warn("bot", 0, "api_rate_limited", LF_STR("method", method), LF_INT("retry_after", wait));
            if (!bot_api_sleep(a, wait * 1000)) {
                rc = ERR_CLOSED;
                break;
            }
            rc = ERR_LIMIT;
            continue;
        }
        if (code == 403) {
            rc = ERR_AUTH;
        } else if (code == 400) {
            log_warn("bot", 0, "api_refused", LF_STR("method", method), LF_STR("reason", r.description));
            rc = ERR_MALFORMED;
        } else {
            log_warn("bot", 0, "api_failed", LF_STR("method", method), LF_INT("code", code),
                     LF_STR("reason", r.description));
            rc = ERR_IO;
        }
        break;
    }
    return rc;
}

int bot_api_call(struct bot_api *a, const char *method, const json_t *params, unsigned timeout_s, json_t **result)
{
    if (result != NULL)
        *result = NULL;
    char *json = json_dumps(params, JSON_COMPACT);
    if (json == NULL)
        return ERR_NOMEM;
    struct api_body body = {.data = json, .len = strlen(json), .content_type = "application/json"};
    int rc = call_body(a, method, &body, timeout_s, result);
    free(json);
    return rc;
}

int bot_api_upload(struct bot_api *a, const char *method, const json_t *params, const char *file_field,
                   const char *filename, const char *content_type, const void *data, size_t len, json_t **result)
{
    if (result != NULL)
        *result = NULL;
    if (!json_is_object(params))
        return ERR_MALFORMED;
    struct httpc_part parts[BOT_UPLOAD_FIELDS_MAX + 1];
    char *texts[BOT_UPLOAD_FIELDS_MAX] = {0};
    size_t n = 0;
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v)
    {
        if (n == BOT_UPLOAD_FIELDS_MAX) {
            rc = ERR_TOO_LONG;
            break;
        }
        /* Strings as they are; numbers, booleans and objects (reply_markup) as JSON text. */
        texts[n] = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (texts[n] == NULL) {
            rc = ERR_NOMEM;
            break;
        }
        parts[n] = (struct httpc_part){.name = key, .data = texts[n], .len = strlen(texts[n])};
        n++;
    }
    char *body = NULL;
    size_t blen = 0;
    char ctype[96];
    if (rc == 0) {
        parts[n++] = (struct httpc_part){
            .name = file_field, .filename = filename, .content_type = content_type, .data = data, .len = len};
        rc = httpc_multipart_encode(parts, n, &body, &blen, ctype);
    }
    if (rc == 0) {
        struct api_body b = {.data = body, .len = blen, .content_type = ctype};
        rc = call_body(a, method, &b, 30, result);
    }
    free(body);
    for (size_t i = 0; i < BOT_UPLOAD_FIELDS_MAX; i++)
        free(texts[i]);
    return rc;
}
