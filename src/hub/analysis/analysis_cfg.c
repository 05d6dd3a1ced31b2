/* The "analysis" section of hub.json: detector windows and thresholds. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "hub/analysis/analysis.h"

static int bad(char *err, size_t cap, const char *path, const char *why)
{
    snprintf(err, cap, "analysis%s: %s", path, why);
    return ERR_CONFIG;
}

/* Reads obj.key into *v when present: an integer in lo..hi. */
static int num(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *v, const char *where, char *err,
               size_t cap)
{
    const json_t *x = json_object_get(obj, key);
    if (x == NULL)
        return 0;
    char path[96];
    snprintf(path, sizeof path, "%s.%s", where, key);
    if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi) {
        char why[96];
        snprintf(why, sizeof why, "must be an integer %lld..%lld", (long long)lo, (long long)hi);
        return bad(err, cap, path, why);
    }
    *v = json_integer_value(x);
    return 0;
}

static int only_keys(const json_t *obj, const char *const *keys, const char *where, char *err, size_t cap)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] != NULL && !known; i++)
            known = strcmp(keys[i], k) == 0;
        if (!known) {
            char path[96];
            snprintf(path, sizeof path, "%s.%s", where, k);
            return bad(err, cap, path, "unknown key");
        }
    }
    return 0;
}

/* A sub-object {"window": s, <a>: n, <b>: n, "action": ...}; a and b may be NULL; "action" is
 * accepted only when rotate is not NULL ("none" or "rotate"). */
static int rule(const json_t *section, const char *name, int64_t *window, const char *a, int64_t *av, const char *b,
                int64_t *bv, bool *rotate, char *err, size_t cap)
{
    const json_t *o = json_object_get(section, name);
    if (o == NULL)
        return 0;
    char where[48];
    snprintf(where, sizeof where, ".%s", name);
    if (!json_is_object(o))
        return bad(err, cap, where, "must be an object");
    const char *keys[5] = {"window"};
    size_t k = 1;
    if (a != NULL)
        keys[k++] = a;
    if (b != NULL)
        keys[k++] = b;
    if (rotate != NULL)
        keys[k++] = "action";
    TRY(only_keys(o, keys, where, err, cap));
    TRY(num(o, "window", 60, 30 * 86400, window, where, err, cap));
    if (a != NULL)
        TRY(num(o, a, 1, 100000, av, where, err, cap));
    if (b != NULL)
        TRY(num(o, b, 1, 100000, bv, where, err, cap));
    const json_t *act = rotate != NULL ? json_object_get(o, "action") : NULL;
    if (act != NULL) {
        const char *v = json_string_value(act);
        if (v == NULL || (strcmp(v, "none") != 0 && strcmp(v, "rotate") != 0))
            return bad(err, cap, ".leaked_link.action", "must be \"none\" or \"rotate\"");
        *rotate = strcmp(v, "rotate") == 0;
    }
    return 0;
}

int analysis_cfg_parse(const json_t *section, struct analysis_cfg *out, char *err, size_t errcap)
{
    struct analysis_cfg *c = out;
    memset(c, 0, sizeof *c);
    c->interval = 60;
    c->retention = 7 * 86400;
    c->sharing.window = 6 * 3600;
    c->sharing.per_device = 2; /* a phone moving between Wi-Fi and mobile data is two networks */
    c->sharing.countries = 2;
    c->distance.window = 1800;
    c->distance.km = 1000; /* no train or car covers it in half an hour */
    c->leaked.window = 900;
    c->leaked.ips = 10;
    c->leaked.clients = 6;
    c->payments.window = 86400;
    c->payments.failures = 5;
    c->webhooks.window = 3600;
    c->webhooks.rejected = 3;
    c->tokens.window = 86400;
    c->bittorrent.window = 86400;
    c->bittorrent.attempts = 1;
    c->smtp.window = 3600;
    c->smtp.attempts = 10; /* a mail client retrying once is not a spammer */
    c->probing.window = 3600;
    c->probing.fallbacks = 1; /* nodes report only networks that crossed their own threshold */
    c->spike.window = 7 * 86400;
    c->spike.factor = 10;
    c->spike.floor_mb = 2048; /* 2 GiB in an hour: below it no spike is worth a look */
    if (section == NULL || json_is_null(section))
        return 0;
    if (!json_is_object(section))
        return bad(err, errcap, "", "must be an object");
    static const char *const keys[] = {"interval",      "retention",  "sharing",    "leaked_link", "payments",
                                       "webhooks",      "tokens",     "bittorrent", "smtp",        "probing",
                                       "traffic_spike", "country_db", "distance",   NULL};
    TRY(only_keys(section, keys, "", err, errcap));
    TRY(num(section, "interval", 10, 86400, &c->interval, "", err, errcap));
    TRY(num(section, "retention", 3600, 365 * 86400, &c->retention, "", err, errcap));
    TRY(rule(section, "sharing", &c->sharing.window, "per_device", &c->sharing.per_device, "countries",
             &c->sharing.countries, NULL, err, errcap));
    TRY(rule(section, "distance", &c->distance.window, "km", &c->distance.km, NULL, NULL, NULL, err, errcap));
    const json_t *db = json_object_get(section, "country_db");
    if (db != NULL) {
        const char *v = json_string_value(db);
        if (v == NULL || v[0] != '/' || strlen(v) >= sizeof c->country_db)
            return bad(err, errcap, ".country_db", "must be an absolute path to a MaxMind DB (.mmdb) file");
        memcpy(c->country_db, v, strlen(v) + 1);
    }
    TRY(rule(section, "leaked_link", &c->leaked.window, "ips", &c->leaked.ips, "clients", &c->leaked.clients,
             &c->leaked.rotate, err, errcap));
    TRY(rule(section, "payments", &c->payments.window, "failures", &c->payments.failures, NULL, NULL, NULL, err,
             errcap));
    TRY(rule(section, "webhooks", &c->webhooks.window, "rejected", &c->webhooks.rejected, NULL, NULL, NULL, err,
             errcap));
    TRY(rule(section, "tokens", &c->tokens.window, NULL, NULL, NULL, NULL, NULL, err, errcap));
    TRY(rule(section, "bittorrent", &c->bittorrent.window, "attempts", &c->bittorrent.attempts, NULL, NULL, NULL, err,
             errcap));
    TRY(rule(section, "smtp", &c->smtp.window, "attempts", &c->smtp.attempts, NULL, NULL, NULL, err, errcap));
    TRY(rule(section, "probing", &c->probing.window, "fallbacks", &c->probing.fallbacks, NULL, NULL, NULL, err,
             errcap));
    TRY(rule(section, "traffic_spike", &c->spike.window, "factor", &c->spike.factor, "floor_mb", &c->spike.floor_mb,
             NULL, err, errcap));
    if (c->spike.window < 2 * 86400)
        return bad(err, errcap, ".traffic_spike.window", "must be at least 172800 (two days of history)");
    int64_t longest = c->sharing.window > c->leaked.window ? c->sharing.window : c->leaked.window;
    if (c->retention < longest)
        return bad(err, errcap, ".retention", "must cover the sharing and leaked_link windows");
    return 0;
}
