/* Parsing Telegram updates and Bot API answers (bot_update.h). */
#include <string.h>

#include "core/err.h"
#include "hub/bot/bot_update.h"

#define TG_ID_MAX ((int64_t)1 << 53) /* Telegram ids fit in 52 bits; JSON doubles beyond are lossy */

static const json_t *obj(const json_t *j, const char *key)
{
    const json_t *v = json_object_get(j, key);
    return json_is_object(v) ? v : NULL;
}

/* An integer field within (lo, hi]; ERR_MALFORMED otherwise. */
static int int_in(const json_t *j, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_integer(v))
        return ERR_MALFORMED;
    json_int_t x = json_integer_value(v);
    if (x <= lo || x > hi)
        return ERR_MALFORMED;
    *out = (int64_t)x;
    return 0;
}

/* Copies a string field of at most cap-1 bytes; ERR_MALFORMED when absent, not a string or longer. */
static int str_req(const json_t *j, const char *key, char *out, size_t cap)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_string(v) || json_string_length(v) >= cap)
        return ERR_MALFORMED;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* Copies a string cut to fit cap at a UTF-8 character boundary ("" when absent). */
static void str_cut(const json_t *j, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    const json_t *v = json_object_get(j, key);
    if (!json_is_string(v))
        return;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

/* A short token of [A-Za-z0-9_-] (username, language code), else "". */
static void token_opt(const json_t *j, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    const json_t *v = json_object_get(j, key);
    if (!json_is_string(v) || json_string_length(v) >= cap)
        return;
    const char *s = json_string_value(v);
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return;
    }
    memcpy(out, s, json_string_length(v) + 1);
}

static int from_user(const json_t *u, struct bot_update *out)
{
    if (u == NULL)
        return ERR_MALFORMED;
    TRY(int_in(u, "id", 0, TG_ID_MAX, &out->from_id));
    token_opt(u, "username", out->username, sizeof out->username);
    token_opt(u, "language_code", out->lang, sizeof out->lang);
    return 0;
}

static int chat_of(const json_t *m, int64_t *chat_id)
{
    const json_t *c = obj(m, "chat");
    if (c == NULL)
        return ERR_MALFORMED;
    return int_in(c, "id", -TG_ID_MAX, TG_ID_MAX, chat_id);
}

static int message(const json_t *m, struct bot_update *out)
{
    TRY(from_user(obj(m, "from"), out));
    TRY(chat_of(m, &out->chat_id));
    if (out->chat_id == 0)
        return ERR_MALFORMED;
    str_cut(m, "text", out->text, sizeof out->text);
    const json_t *sp = obj(m, "successful_payment");
    if (sp != NULL) {
        TRY(str_req(sp, "currency", out->currency, sizeof out->currency));
        TRY(int_in(sp, "total_amount", 0, TG_ID_MAX, &out->total_amount));
        TRY(str_req(sp, "invoice_payload", out->payload, sizeof out->payload));
        TRY(str_req(sp, "telegram_payment_charge_id", out->charge_id, sizeof out->charge_id));
        if (out->charge_id[0] == '\0')
            return ERR_MALFORMED;
        out->paid = true;
    }
    out->kind = BOT_UPD_MESSAGE;
    return 0;
}

static int callback(const json_t *q, struct bot_update *out)
{
    TRY(from_user(obj(q, "from"), out));
    TRY(str_req(q, "id", out->query_id, sizeof out->query_id));
    if (out->query_id[0] == '\0')
        return ERR_MALFORMED;
    /* Data past the Bot API's 64 bytes is not ours: kept empty, the query is still answered. */
    const json_t *d = json_object_get(q, "data");
    if (json_is_string(d) && json_string_length(d) <= BOT_CALLBACK_MAX)
        memcpy(out->text, json_string_value(d), json_string_length(d) + 1);
    const json_t *m = obj(q, "message");
    if (m != NULL) {
        if (chat_of(m, &out->chat_id) < 0 || int_in(m, "message_id", 0, TG_ID_MAX, &out->message_id) < 0) {
            out->chat_id = 0;
            out->message_id = 0;
        }
    }
    if (out->chat_id == 0)
        out->chat_id = out->from_id; /* the private chat with the user */
    out->kind = BOT_UPD_CALLBACK;
    return 0;
}

static int precheckout(const json_t *q, struct bot_update *out)
{
    TRY(from_user(obj(q, "from"), out));
    TRY(str_req(q, "id", out->query_id, sizeof out->query_id));
    if (out->query_id[0] == '\0')
        return ERR_MALFORMED;
    TRY(str_req(q, "currency", out->currency, sizeof out->currency));
    TRY(int_in(q, "total_amount", 0, TG_ID_MAX, &out->total_amount));
    TRY(str_req(q, "invoice_payload", out->payload, sizeof out->payload));
    out->chat_id = out->from_id;
    out->kind = BOT_UPD_PRECHECKOUT;
    return 0;
}

static int member(const json_t *m, struct bot_update *out)
{
    TRY(from_user(obj(m, "from"), out));
    TRY(chat_of(m, &out->chat_id));
    const json_t *n = obj(m, "new_chat_member");
    if (n == NULL)
        return ERR_MALFORMED;
    TRY(str_req(n, "status", out->status, sizeof out->status));
    out->kind = BOT_UPD_MEMBER;
    return 0;
}

int bot_update_from_json(const json_t *j, struct bot_update *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j))
        return ERR_MALFORMED;
    out->update_id = -1;
    const json_t *id = json_object_get(j, "update_id");
    if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= TG_ID_MAX)
        return ERR_MALFORMED;
    out->update_id = (int64_t)json_integer_value(id);
    const json_t *v;
    int rc = 0;
    if ((v = obj(j, "message")) != NULL)
        rc = message(v, out);
    else if ((v = obj(j, "callback_query")) != NULL)
        rc = callback(v, out);
    else if ((v = obj(j, "pre_checkout_query")) != NULL)
        rc = precheckout(v, out);
    else if ((v = obj(j, "my_chat_member")) != NULL)
        rc = member(v, out);
    else
        out->kind = BOT_UPD_OTHER;
    if (rc < 0) {
        int64_t keep = out->update_id;
        memset(out, 0, sizeof *out);
        out->update_id = keep; /* the caller may still skip past it */
        return ERR_MALFORMED;
    }
    return 0;
}

int bot_update_parse(const char *buf, size_t len, struct bot_update *out)
{
    memset(out, 0, sizeof *out);
    out->update_id = -1;
    if (len > BOT_UPDATE_MAX)
        return ERR_TOO_LONG;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
    if (j == NULL)
        return ERR_MALFORMED;
    int rc = bot_update_from_json(j, out);
    json_decref(j);
    return rc;
}

int bot_reply_parse(const char *buf, size_t len, struct bot_reply *out)
{
    memset(out, 0, sizeof *out);
    if (len > 8u * BOT_UPDATE_MAX)
        return ERR_TOO_LONG;
    json_t *j = json_loadb(buf, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return ERR_MALFORMED;
    }
    const json_t *ok = json_object_get(j, "ok");
    if (!json_is_boolean(ok)) {
        json_decref(j);
        return ERR_MALFORMED;
    }
    out->ok = json_is_true(ok);
    const json_t *v = json_object_get(j, "error_code");
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 1000)
        out->error_code = (int64_t)json_integer_value(v);
    str_cut(j, "description", out->description, sizeof out->description);
    const json_t *p = obj(j, "parameters");
    v = p ? json_object_get(p, "retry_after") : NULL;
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 86400)
        out->retry_after = (int64_t)json_integer_value(v);
    if (out->ok) {
        out->result = json_object_get(j, "result");
        json_incref(out->result);
    }
    json_decref(j);
    return 0;
}

void bot_reply_dispose(struct bot_reply *r)
{
    json_decref(r->result);
    r->result = NULL;
}
