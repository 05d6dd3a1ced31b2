/* The "bot" section of hub.json: strict keys, bounded values. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "hub/bot/bot_cfg.h"

static int bad(char *err, size_t cap, const char *key, const char *what)
{
    snprintf(err, cap, "bot.%s: %s", key, what);
    return ERR_CONFIG;
}

static bool token_chars(const char *s, bool colon_ok)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (colon_ok && c == ':')))
            return false;
    }
    return true;
}

/* Telegram's bot token shape: digits, ':', then URL-safe characters (it goes into the path). */
static bool bot_token_valid(const char *s)
{
    const char *colon = strchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0' || strchr(colon + 1, ':') != NULL)
        return false;
    for (const char *p = s; p < colon; p++)
        if (*p < '0' || *p > '9')
            return false;
    return token_chars(colon + 1, false);
}

static int str(const json_t *o, const char *key, char *out, size_t cap, char *err, size_t errcap)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap ||
        strlen(json_string_value(v)) != json_string_length(v))
        return bad(err, errcap, key, "must be a non-empty string of bounded length");
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int num(const json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out, char *err, size_t errcap)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char what[64];
        snprintf(what, sizeof what, "must be an integer %lld..%lld", (long long)lo, (long long)hi);
        return bad(err, errcap, key, what);
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static bool http_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

int bot_cfg_parse(const json_t *section, struct bot_cfg *c, char *err, size_t errcap)
{
    memset(c, 0, sizeof *c);
    snprintf(c->api_url, sizeof c->api_url, "https://api.telegram.org");
    c->poll_timeout = 25;
    if (section == NULL)
        return 0;
    if (!json_is_object(section))
        return bad(err, errcap, "", "must be an object");
    static const char *const keys[] = {"token",  "api_url", "mode",       "webhook_secret", "webhook_url",
                                       "admins", "support", "trial_days", "poll_timeout",   NULL};
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)section, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] != NULL && !known; i++)
            known = strcmp(keys[i], k) == 0;
        if (!known) {
            snprintf(err, errcap, "bot: unknown key \"%s\"", k);
            return ERR_CONFIG;
        }
    }
    TRY(str(section, "token", c->token, sizeof c->token, err, errcap));
    if (!bot_token_valid(c->token))
        return bad(err, errcap, "token", "required, as given by @BotFather (<digits>:<letters, digits, _ ->)");
    TRY(str(section, "api_url", c->api_url, sizeof c->api_url, err, errcap));
    if (!http_url(c->api_url))
        return bad(err, errcap, "api_url", "must be an http(s) URL");
    size_t ul = strlen(c->api_url);
    if (c->api_url[ul - 1] == '/')
        c->api_url[ul - 1] = '\0';
    char mode[16] = "polling";
    TRY(str(section, "mode", mode, sizeof mode, err, errcap));
    if (strcmp(mode, "webhook") == 0)
        c->webhook = true;
    else if (strcmp(mode, "polling") != 0)
        return bad(err, errcap, "mode", "must be \"polling\" or \"webhook\"");
    TRY(str(section, "webhook_secret", c->webhook_secret, sizeof c->webhook_secret, err, errcap));
    if (!token_chars(c->webhook_secret, false))
        return bad(err, errcap, "webhook_secret", "1-256 characters of A-Z a-z 0-9 _ -");
    if (c->webhook && c->webhook_secret[0] == '\0')
        return bad(err, errcap, "webhook_secret", "required in webhook mode");
    TRY(str(section, "webhook_url", c->webhook_url, sizeof c->webhook_url, err, errcap));
    if (c->webhook_url[0] && strncmp(c->webhook_url, "https://", 8) != 0 && strncmp(c->webhook_url, "http://", 7) != 0)
        return bad(err, errcap, "webhook_url", "must be an http(s) URL");
    const json_t *a = json_object_get(section, "admins");
    if (a != NULL) {
        if (!json_is_array(a) || json_array_size(a) > BOT_ADMINS_MAX)
            return bad(err, errcap, "admins", "must be an array of at most 32 Telegram user ids");
        size_t i;
        json_array_foreach(a, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return bad(err, errcap, "admins", "must hold positive Telegram user ids");
            c->admins[c->n_admins++] = (int64_t)json_integer_value(v);
        }
    }
    TRY(str(section, "support", c->support, sizeof c->support, err, errcap));
    if (c->support[0] && (c->support[0] != '@' || !token_chars(c->support + 1, false) || c->support[1] == '\0'))
        return bad(err, errcap, "support", "must be a Telegram handle such as \"@veil_support\"");
    TRY(num(section, "trial_days", 0, 365, &c->trial_days, err, errcap));
    TRY(num(section, "poll_timeout", 0, 50, &c->poll_timeout, err, errcap));
    return 0;
}

void bot_cfg_wipe(struct bot_cfg *c)
{
    secure_wipe(c->token, sizeof c->token);
    secure_wipe(c->webhook_secret, sizeof c->webhook_secret);
}
