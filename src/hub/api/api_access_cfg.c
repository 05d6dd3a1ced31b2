/* The "api" section of hub.json (api_access.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_access.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return ERR_CONFIG;
}

void api_access_cfg_default(struct api_access_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->lock_failures = 10;
    c->lock_window = 300;
    c->lock_duration = 900;
    strcpy(c->totp_issuer, "Veil");
    c->session_ttl = 3600;
}

static int only_keys(const json_t *o, const char *const *keys, const char *where, char *err, size_t cap)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i] != NULL; i++)
            known |= strcmp(keys[i], k) == 0;
        if (!known)
            return fail(err, cap, "api: %sunknown key \"%s\"", where, k);
    }
    return 0;
}

static int get_uint(const json_t *o, const char *key, const char *where, unsigned min, unsigned max, unsigned *out,
                    char *err, size_t cap)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min || json_integer_value(v) > (json_int_t)max)
        return fail(err, cap, "api: %s%s: an integer from %u to %u", where, key, min, max);
    *out = (unsigned)json_integer_value(v);
    return 0;
}

static int parse_allow(const json_t *a, struct api_access_cfg *c, char *err, size_t cap)
{
    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > API_ALLOW_MAX)
        return fail(err, cap, "api: admin_allow: an array of at most %d addresses or CIDR blocks", API_ALLOW_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v) || client_ip_net_parse(json_string_value(v), &c->allow[i]) < 0)
            return fail(err, cap, "api: admin_allow[%zu]: an address or CIDR block such as \"10.0.0.0/8\"", i);
    }
    c->n_allow = json_array_size(a);
    return 0;
}

static int get_path(const json_t *o, const char *key, char *out, size_t cap, char *err, size_t errcap)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 0;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s == NULL || s[0] != '/' || strlen(s) >= cap)
        return fail(err, errcap, "api: tls: %s: an absolute path", key);
    strcpy(out, s);
    return 0;
}

static int parse_tls(const json_t *t, struct api_access_cfg *c, char *err, size_t errcap)
{
    static const char *const tlsk[] = {"cert_file", "key_file", "client_ca_file", NULL};
    if (t == NULL)
        return 0;
    if (!json_is_object(t))
        return fail(err, errcap, "api: tls: must be an object");
    if (only_keys(t, tlsk, "tls: ", err, errcap) < 0 ||
        get_path(t, "cert_file", c->tls_cert, sizeof c->tls_cert, err, errcap) < 0 ||
        get_path(t, "key_file", c->tls_key, sizeof c->tls_key, err, errcap) < 0 ||
        get_path(t, "client_ca_file", c->tls_client_ca, sizeof c->tls_client_ca, err, errcap) < 0)
        return ERR_CONFIG;
    if (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0')
        return fail(err, errcap, "api: tls: cert_file and key_file are both required");
    return 0;
}

int api_access_cfg_parse(const json_t *section, struct api_access_cfg *out, char *err, size_t errcap)
{
    static const char *const top[] = {"admin_allow", "lockout", "totp", "tls", NULL};
    static const char *const lockk[] = {"failures", "window", "duration", NULL};
    static const char *const totpk[] = {"issuer", "session_ttl", NULL};
    struct api_access_cfg c;
    api_access_cfg_default(&c);
    if (section == NULL) {
        *out = c;
        return 0;
    }
    if (!json_is_object(section))
        return fail(err, errcap, "api: must be an object");
    if (only_keys(section, top, "", err, errcap) < 0 ||
        parse_allow(json_object_get(section, "admin_allow"), &c, err, errcap) < 0)
        return ERR_CONFIG;
    const json_t *l = json_object_get(section, "lockout");
    if (l != NULL) {
        if (!json_is_object(l))
            return fail(err, errcap, "api: lockout: must be an object");
        if (only_keys(l, lockk, "lockout: ", err, errcap) < 0 ||
            get_uint(l, "failures", "lockout: ", 0, 1000, &c.lock_failures, err, errcap) < 0 ||
            get_uint(l, "window", "lockout: ", 1, 86400, &c.lock_window, err, errcap) < 0 ||
            get_uint(l, "duration", "lockout: ", 1, 7 * 86400, &c.lock_duration, err, errcap) < 0)
            return ERR_CONFIG;
    }
    const json_t *t = json_object_get(section, "totp");
    if (t != NULL) {
        if (!json_is_object(t))
            return fail(err, errcap, "api: totp: must be an object");
        if (only_keys(t, totpk, "totp: ", err, errcap) < 0 ||
            get_uint(t, "session_ttl", "totp: ", 60, 86400, &c.session_ttl, err, errcap) < 0)
            return ERR_CONFIG;
        const json_t *is = json_object_get(t, "issuer");
        if (is != NULL) {
            const char *s = json_is_string(is) ? json_string_value(is) : NULL;
            bool ok = s != NULL && s[0] != '\0' && strlen(s) < sizeof c.totp_issuer;
            for (const char *p = s; ok && *p; p++)
                ok = (unsigned char)*p >= 0x20 && *p != ':' && *p != 0x7f;
            if (!ok)
                return fail(err, errcap, "api: totp: issuer: 1..63 printable characters, no ':'");
            strcpy(c.totp_issuer, s);
        }
    }
    if (parse_tls(json_object_get(section, "tls"), &c, err, errcap) < 0)
        return ERR_CONFIG;
    *out = c;
    return 0;
}
