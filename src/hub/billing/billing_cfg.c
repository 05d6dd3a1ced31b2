/* The "billing" section of hub.json. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/secret_file.h"
#include "hub/billing/billing_int.h"
#include "hub/domain/rules.h"

/* YooKassa's notification sources (spec/ecosystem.md §b.1). */
static const char *const yk_networks[] = {"185.71.76.0/27",  "185.71.77.0/27",  "77.75.153.0/25", "77.75.154.128/25",
                                          "77.75.156.11/32", "77.75.156.35/32", "2a02:5180::/32"};

static int bad(char *err, size_t cap, const char *where, const char *what)
{
    snprintf(err, cap, "billing.%s: %s", where, what);
    return ERR_CONFIG;
}

static int check_keys(const json_t *o, const char *const *keys, const char *where, char *err, size_t cap)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] != NULL && !known; i++)
            known = strcmp(keys[i], k) == 0;
        if (!known) {
            snprintf(err, cap, "billing.%s: unknown key \"%s\"", where, k);
            return ERR_CONFIG;
        }
        (void)v;
    }
    return 0;
}

static int str(const json_t *o, const char *key, bool required, char *out, size_t cap, const char *where, char *err,
               size_t errcap)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL) {
        if (!required)
            return 0;
        char w[96];
        snprintf(w, sizeof w, "%s.%s", where, key);
        return bad(err, errcap, w, "required");
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap) {
        char w[96];
        snprintf(w, sizeof w, "%s.%s", where, key);
        return bad(err, errcap, w, "must be a non-empty string of bounded length");
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* A secret: "<key>": "value", or "<key>_file": a file read by core/secret_file (mode 0600/0400,
 * one line). veil-hub resolves these into the document before the section reaches us
 * (hubcfg.c); this keeps billing_cfg_parse complete on its own (tests, tools). */
static int secret(const json_t *o, const char *key, char *out, size_t cap, const char *where, char *err, size_t errcap)
{
    char fkey[48], w[96];
    snprintf(fkey, sizeof fkey, "%s_file", key);
    snprintf(w, sizeof w, "%s.%s", where, key);
    const json_t *f = json_object_get(o, fkey);
    if (f == NULL)
        return str(o, key, true, out, cap, where, err, errcap);
    if (json_object_get(o, key) != NULL)
        return bad(err, errcap, w, "give the value or the _file, not both");
    if (!json_is_string(f) || json_string_length(f) == 0)
        return bad(err, errcap, w, "_file: a file path");
    struct secret sec = {0};
    char why[160] = "";
    int rc = secret_file_read(json_string_value(f), cap - 1, &sec, why, sizeof why);
    if (rc == 0 && (sec.s == NULL || sec.len == 0 || sec.len >= cap))
        rc = ERR_MALFORMED;
    if (rc == 0)
        memcpy(out, sec.s, sec.len + 1);
    secret_free(&sec);
    if (rc < 0) {
        snprintf(err, errcap, "billing.%s_file: %s", w, rc == ERR_MALFORMED && why[0] == '\0' ? "empty" : why);
        return ERR_CONFIG;
    }
    return 0;
}

static int num(const json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out, const char *where, char *err,
               size_t errcap)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char w[96], m[64];
        snprintf(w, sizeof w, "%s%s%s", where, where[0] ? "." : "", key);
        snprintf(m, sizeof m, "must be an integer %lld..%lld", (long long)lo, (long long)hi);
        return bad(err, errcap, w, m);
    }
    *out = json_integer_value(v);
    return 0;
}

static int nets(const json_t *o, struct client_ip_net *out, size_t *n, const char *where, char *err, size_t errcap)
{
    const json_t *a = json_object_get(o, "trusted_networks");
    if (a == NULL)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > BILLING_NETS_MAX)
        return bad(err, errcap, where, "trusted_networks: an array of at most 16 CIDR blocks");
    *n = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) || client_ip_net_parse(json_string_value(v), &out[*n]) < 0)
            return bad(err, errcap, where, "trusted_networks: each entry is a CIDR block like 185.71.76.0/27");
        (*n)++;
    }
    return 0;
}

static int enabled_flag(const json_t *o, const char *where, bool *on, char *err, size_t errcap)
{
    static const char *const keys[] = {"enabled", NULL};
    if (!json_is_object(o))
        return bad(err, errcap, where, "must be an object");
    TRY(check_keys(o, keys, where, err, errcap));
    const json_t *v = json_object_get(o, "enabled");
    if (v != NULL && !json_is_boolean(v))
        return bad(err, errcap, where, "enabled: true or false");
    *on = v == NULL || json_is_true(v);
    return 0;
}

static int yookassa(const json_t *o, struct billing_cfg *c, char *err, size_t cap)
{
    static const char *const keys[] = {"shop_id",  "secret_key", "secret_key_file",  "api_url", "return_url",
                                       "currency", "receipt",    "trusted_networks", NULL};
    static const char *const rkeys[] = {"tax_system_code", "vat_code", "payment_subject", "payment_mode", NULL};
    if (!json_is_object(o))
        return bad(err, cap, "yookassa", "must be an object");
    TRY(check_keys(o, keys, "yookassa", err, cap));
    TRY(str(o, "shop_id", true, c->yookassa.shop_id, sizeof c->yookassa.shop_id, "yookassa", err, cap));
    TRY(secret(o, "secret_key", c->yookassa.secret_key, sizeof c->yookassa.secret_key, "yookassa", err, cap));
    TRY(str(o, "api_url", false, c->yookassa.api_url, sizeof c->yookassa.api_url, "yookassa", err, cap));
    TRY(str(o, "return_url", true, c->yookassa.return_url, sizeof c->yookassa.return_url, "yookassa", err, cap));
    TRY(str(o, "currency", false, c->yookassa.currency, sizeof c->yookassa.currency, "yookassa", err, cap));
    if (!hub_currency_valid(c->yookassa.currency))
        return bad(err, cap, "yookassa.currency", "three uppercase letters");
    TRY(nets(o, c->yookassa.trusted, &c->yookassa.n_trusted, "yookassa", err, cap));
    const json_t *r = json_object_get(o, "receipt");
    if (r != NULL) {
        if (!json_is_object(r))
            return bad(err, cap, "yookassa.receipt", "must be an object");
        TRY(check_keys(r, rkeys, "yookassa.receipt", err, cap));
        int64_t tax = 0, vat = 1;
        TRY(num(r, "tax_system_code", 1, 6, &tax, "yookassa.receipt", err, cap));
        TRY(num(r, "vat_code", 1, 12, &vat, "yookassa.receipt", err, cap));
        c->yookassa.receipt = true;
        c->yookassa.tax_system_code = (int)tax;
        c->yookassa.vat_code = (int)vat;
        TRY(str(r, "payment_subject", false, c->yookassa.payment_subject, sizeof c->yookassa.payment_subject,
                "yookassa.receipt", err, cap));
        TRY(str(r, "payment_mode", false, c->yookassa.payment_mode, sizeof c->yookassa.payment_mode, "yookassa.receipt",
                err, cap));
    }
    c->enabled[BILLING_YOOKASSA] = true;
    return 0;
}

static int robokassa(const json_t *o, struct billing_cfg *c, char *err, size_t cap)
{
    static const char *const keys[] = {
        "merchant_login", "password1", "password1_file",   "password2", "password2_file", "hash", "test",
        "pay_url",        "currency",  "trusted_networks", NULL};
    if (!json_is_object(o))
        return bad(err, cap, "robokassa", "must be an object");
    TRY(check_keys(o, keys, "robokassa", err, cap));
    TRY(str(o, "merchant_login", true, c->robokassa.merchant_login, sizeof c->robokassa.merchant_login, "robokassa",
            err, cap));
    TRY(secret(o, "password1", c->robokassa.password1, sizeof c->robokassa.password1, "robokassa", err, cap));
    TRY(secret(o, "password2", c->robokassa.password2, sizeof c->robokassa.password2, "robokassa", err, cap));
    TRY(str(o, "pay_url", false, c->robokassa.pay_url, sizeof c->robokassa.pay_url, "robokassa", err, cap));
    TRY(str(o, "currency", false, c->robokassa.currency, sizeof c->robokassa.currency, "robokassa", err, cap));
    char hash[16] = "md5";
    TRY(str(o, "hash", false, hash, sizeof hash, "robokassa", err, cap));
    static const struct {
        const char *name;
        enum crypto_hash h;
    } hashes[] = {{"md5", CRYPTO_MD5},
                  {"sha1", CRYPTO_SHA1},
                  {"sha256", CRYPTO_SHA256},
                  {"sha384", CRYPTO_SHA384},
                  {"sha512", CRYPTO_SHA512}};
    bool found = false;
    for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
        if (strcmp(hash, hashes[i].name) == 0) {
            c->robokassa.hash = hashes[i].h;
            found = true;
        }
    if (!found)
        return bad(err, cap, "robokassa.hash", "md5, sha1, sha256, sha384 or sha512 (ripemd160 is not supported)");
    const json_t *t = json_object_get(o, "test");
    if (t != NULL && !json_is_boolean(t))
        return bad(err, cap, "robokassa.test", "true or false");
    c->robokassa.test = json_is_true(t);
    TRY(nets(o, c->robokassa.trusted, &c->robokassa.n_trusted, "robokassa", err, cap));
    c->enabled[BILLING_ROBOKASSA] = true;
    return 0;
}

static int cryptobot(const json_t *o, struct billing_cfg *c, char *err, size_t cap)
{
    static const char *const keys[] = {"token", "token_file", "api_url", "fiat", "accepted_assets", NULL};
    if (!json_is_object(o))
        return bad(err, cap, "cryptobot", "must be an object");
    TRY(check_keys(o, keys, "cryptobot", err, cap));
    TRY(secret(o, "token", c->cryptobot.token, sizeof c->cryptobot.token, "cryptobot", err, cap));
    TRY(str(o, "api_url", false, c->cryptobot.api_url, sizeof c->cryptobot.api_url, "cryptobot", err, cap));
    TRY(str(o, "fiat", false, c->cryptobot.fiat, sizeof c->cryptobot.fiat, "cryptobot", err, cap));
    if (!hub_currency_valid(c->cryptobot.fiat))
        return bad(err, cap, "cryptobot.fiat", "three uppercase letters");
    const json_t *a = json_object_get(o, "accepted_assets");
    if (a != NULL) {
        if (!json_is_array(a) || json_array_size(a) == 0)
            return bad(err, cap, "cryptobot.accepted_assets", "a non-empty array like [\"USDT\", \"TON\"]");
        size_t i, off = 0;
        const json_t *v;
        json_array_foreach(a, i, v)
        {
            const char *s = json_is_string(v) ? json_string_value(v) : "";
            size_t n = strlen(s);
            bool ok = n >= 2 && n <= 8;
            for (size_t k = 0; k < n && ok; k++)
                ok = s[k] >= 'A' && s[k] <= 'Z';
            if (!ok || off + n + 2 >= sizeof c->cryptobot.accepted_assets)
                return bad(err, cap, "cryptobot.accepted_assets", "asset codes like USDT (uppercase letters)");
            off += (size_t)snprintf(c->cryptobot.accepted_assets + off, sizeof c->cryptobot.accepted_assets - off,
                                    "%s%s", i ? "," : "", s);
        }
    }
    c->enabled[BILLING_CRYPTOBOT] = true;
    return 0;
}

int billing_cfg_parse(const json_t *section, struct billing_cfg *out, char *err, size_t errcap)
{
    static const char *const keys[] = {"referral_percent",
                                       "first_payment_bonus_percent",
                                       "invoice_ttl",
                                       "reconcile_after",
                                       "reconcile_interval",
                                       "yookassa",
                                       "robokassa",
                                       "cryptobot",
                                       "stars",
                                       "balance",
                                       NULL};
    struct billing_cfg *c = out;
    memset(c, 0, sizeof *c);
    c->invoice_ttl = 3600;
    c->reconcile_after = 60;
    c->reconcile_interval = 60;
    snprintf(c->yookassa.api_url, sizeof c->yookassa.api_url, "https://api.yookassa.ru/v3");
    snprintf(c->yookassa.currency, sizeof c->yookassa.currency, "RUB");
    snprintf(c->yookassa.payment_subject, sizeof c->yookassa.payment_subject, "service");
    snprintf(c->yookassa.payment_mode, sizeof c->yookassa.payment_mode, "full_payment");
    for (size_t i = 0; i < sizeof yk_networks / sizeof yk_networks[0]; i++)
        client_ip_net_parse(yk_networks[i], &c->yookassa.trusted[c->yookassa.n_trusted++]);
    snprintf(c->robokassa.pay_url, sizeof c->robokassa.pay_url, "https://auth.robokassa.ru/Merchant/Index.aspx");
    snprintf(c->robokassa.currency, sizeof c->robokassa.currency, "RUB");
    c->robokassa.hash = CRYPTO_MD5;
    snprintf(c->cryptobot.api_url, sizeof c->cryptobot.api_url, "https://pay.crypt.bot/api");
    snprintf(c->cryptobot.fiat, sizeof c->cryptobot.fiat, "RUB");
    c->enabled[BILLING_BALANCE] = true; /* paying from the balance needs no provider */
    if (section == NULL || json_is_null(section))
        return 0;
    if (!json_is_object(section))
        return bad(err, errcap, "", "must be an object");
    TRY(check_keys(section, keys, "", err, errcap));
    int64_t v = 0;
    TRY(num(section, "referral_percent", 0, 100, &v, "", err, errcap));
    c->referral_percent = (int)v;
    v = 0;
    TRY(num(section, "first_payment_bonus_percent", 0, 100, &v, "", err, errcap));
    c->first_bonus_percent = (int)v;
    TRY(num(section, "invoice_ttl", 60, 30 * 86400, &c->invoice_ttl, "", err, errcap));
    TRY(num(section, "reconcile_after", 1, 86400, &c->reconcile_after, "", err, errcap));
    TRY(num(section, "reconcile_interval", 1, 3600, &c->reconcile_interval, "", err, errcap));
    const json_t *o;
    if ((o = json_object_get(section, "yookassa")) != NULL)
        TRY(yookassa(o, c, err, errcap));
    if ((o = json_object_get(section, "robokassa")) != NULL)
        TRY(robokassa(o, c, err, errcap));
    if ((o = json_object_get(section, "cryptobot")) != NULL)
        TRY(cryptobot(o, c, err, errcap));
    if ((o = json_object_get(section, "stars")) != NULL)
        TRY(enabled_flag(o, "stars", &c->enabled[BILLING_STARS], err, errcap));
    if ((o = json_object_get(section, "balance")) != NULL)
        TRY(enabled_flag(o, "balance", &c->enabled[BILLING_BALANCE], err, errcap));
    return 0;
}
