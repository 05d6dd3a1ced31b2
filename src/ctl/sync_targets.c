/* The REALITY parts of the sync messages (ctl/sync.h): the hub's target assignment in a pull
 * answer ("reality") and the node's target health in a push ("health.targets"). */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "ctl/sync_int.h"

/* A DNS name as REALITY serverNames take it: 1..253 bytes of letters, digits, '-', '.'. */
static bool name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SYNC_SNI_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '.'))
            return false;
    return true;
}

bool sync_target_valid(const char *s)
{
    size_t n = strlen(s);
    const char *colon = strrchr(s, ':');
    if (n < 3 || n > SYNC_HOSTPORT_MAX || colon == NULL || colon == s || colon[1] == '\0')
        return false;
    unsigned long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9' || (port = port * 10 + (unsigned long)(*p - '0')) > 65535)
            return false;
    }
    if (port == 0)
        return false;
    if (s[0] == '[') { /* [v6]:port */
        if (colon[-1] != ']')
            return false;
        for (const char *p = s + 1; p < colon - 1; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == ':' ||
                  *p == '.'))
                return false;
        return colon - 1 > s + 1;
    }
    for (const char *p = s; p < colon; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '.'))
            return false;
    return true;
}

static int get_str(const json_t *o, const char *where, const char *key, char *dst, size_t cap, bool optional,
                   struct sync_err *err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL) {
        dst[0] = '\0';
        return optional ? 0 : sync__fail(err, ERR_MALFORMED, "%s%s: missing", where, key);
    }
    if (!json_is_string(v))
        return sync__fail(err, ERR_MALFORMED, "%s%s: expected a string", where, key);
    size_t n = json_string_length(v);
    if (n >= cap)
        return sync__fail(err, ERR_RANGE, "%s%s: longer than %zu bytes", where, key, cap - 1);
    memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    return 0;
}

static int get_uint(const json_t *o, const char *where, const char *key, uint64_t *out, struct sync_err *err)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (v == NULL)
        return 0; /* every number here is optional */
    if (!json_is_integer(v))
        return sync__fail(err, ERR_MALFORMED, "%s%s: expected an integer", where, key);
    json_int_t x = json_integer_value(v);
    if (x < 0)
        return sync__fail(err, ERR_RANGE, "%s%s: out of range", where, key);
    *out = (uint64_t)x;
    return 0;
}

static int get_flag(const json_t *o, const char *where, const char *key, bool *out, struct sync_err *err)
{
    json_t *v = json_object_get(o, key);
    *out = false;
    if (v == NULL)
        return 0;
    if (!json_is_boolean(v))
        return sync__fail(err, ERR_MALFORMED, "%s%s: expected true or false", where, key);
    *out = json_is_true(v);
    return 0;
}

json_t *sync__reality_to_json(const struct sync_reality *r)
{
    if (r->rev == 0 || r->rev > INT64_MAX || !sync_target_valid(r->target) || r->n_names == 0 ||
        r->n_names > SYNC_NAMES_MAX)
        return NULL;
    json_t *names = json_array();
    for (size_t i = 0; names != NULL && i < r->n_names; i++)
        if (!name_valid(r->names[i]) || json_array_append_new(names, json_string(r->names[i])) < 0) {
            json_decref(names);
            names = NULL;
        }
    if (names == NULL)
        return NULL;
    return json_pack("{s:I,s:s,s:o}", "rev", (json_int_t)r->rev, "target", r->target, "server_names", names);
}

int sync__reality_from_json(const json_t *root, struct sync_reality *r, struct sync_err *err)
{
    memset(r, 0, sizeof(*r));
    json_t *o = json_object_get(root, "reality");
    if (o == NULL || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return sync__fail(err, ERR_MALFORMED, "reality: expected an object");
    TRY(get_uint(o, "reality.", "rev", &r->rev, err));
    if (r->rev == 0 || r->rev > INT64_MAX)
        return sync__fail(err, ERR_RANGE, "reality.rev: must be 1..2^63-1");
    TRY(get_str(o, "reality.", "target", r->target, sizeof(r->target), false, err));
    if (!sync_target_valid(r->target))
        return sync__fail(err, ERR_MALFORMED, "reality.target: expected host:port");
    json_t *names = json_object_get(o, "server_names");
    if (!json_is_array(names) || json_array_size(names) == 0)
        return sync__fail(err, ERR_MALFORMED, "reality.server_names: expected a non-empty array");
    if (json_array_size(names) > SYNC_NAMES_MAX)
        return sync__fail(err, ERR_LIMIT, "reality.server_names: more than %d names", SYNC_NAMES_MAX);
    for (size_t i = 0; i < json_array_size(names); i++) {
        json_t *n = json_array_get(names, i);
        if (!json_is_string(n) || json_string_length(n) > SYNC_SNI_MAX || !name_valid(json_string_value(n)))
            return sync__fail(err, ERR_MALFORMED, "reality.server_names[%zu]: expected a DNS name", i);
        memcpy(r->names[i], json_string_value(n), json_string_length(n) + 1);
        r->n_names = i + 1;
    }
    return 0;
}

json_t *sync__targets_to_json(const struct sync_health *h)
{
    if (h->n_targets > SYNC_TARGETS_MAX)
        return NULL;
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < h->n_targets; i++) {
        const struct sync_target_health *t = &h->targets[i];
        json_t *o = NULL;
        if (strnlen(t->target, sizeof(t->target)) < sizeof(t->target) &&
            strnlen(t->sni, sizeof(t->sni)) < sizeof(t->sni) &&
            strnlen(t->group, sizeof(t->group)) < sizeof(t->group) &&
            strnlen(t->verdict, sizeof(t->verdict)) < sizeof(t->verdict) && t->dial_ok <= INT64_MAX &&
            t->dial_failed <= INT64_MAX && t->checks_ok <= INT64_MAX && t->checks_failed <= INT64_MAX &&
            t->rtt_ms <= INT64_MAX && t->cert_not_after <= INT64_MAX && t->layout_changes <= INT64_MAX &&
            t->checked_at <= INT64_MAX)
            o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:b,s:s,s:I,s:b,s:I,s:s,s:I}", "target", t->target, "sni",
                          t->sni, "dial_ok", (json_int_t)t->dial_ok, "dial_failed", (json_int_t)t->dial_failed,
                          "checks_ok", (json_int_t)t->checks_ok, "checks_failed", (json_int_t)t->checks_failed,
                          "rtt_ms", (json_int_t)t->rtt_ms, "tls13", t->tls13, "group", t->group, "cert_not_after",
                          (json_int_t)t->cert_not_after, "cert_names_sni", t->cert_names_sni, "layout_changes",
                          (json_int_t)t->layout_changes, "verdict", t->verdict, "checked_at",
                          (json_int_t)t->checked_at);
        if (o == NULL || json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

int sync__targets_from_json(const json_t *health, struct sync_health *h, struct sync_err *err)
{
    h->n_targets = 0;
    json_t *a = json_object_get(health, "targets");
    if (a == NULL)
        return 0;
    if (!json_is_array(a))
        return sync__fail(err, ERR_MALFORMED, "health.targets: expected an array");
    if (json_array_size(a) > SYNC_TARGETS_MAX)
        return sync__fail(err, ERR_LIMIT, "health.targets: more than %d targets", SYNC_TARGETS_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *o = json_array_get(a, i);
        struct sync_target_health *t = &h->targets[i];
        memset(t, 0, sizeof(*t));
        char where[48];
        snprintf(where, sizeof(where), "health.targets[%zu].", i);
        if (!json_is_object(o))
            return sync__fail(err, ERR_MALFORMED, "health.targets[%zu]: expected an object", i);
        TRY(get_str(o, where, "target", t->target, sizeof(t->target), false, err));
        TRY(get_str(o, where, "sni", t->sni, sizeof(t->sni), true, err));
        TRY(get_uint(o, where, "dial_ok", &t->dial_ok, err));
        TRY(get_uint(o, where, "dial_failed", &t->dial_failed, err));
        TRY(get_uint(o, where, "checks_ok", &t->checks_ok, err));
        TRY(get_uint(o, where, "checks_failed", &t->checks_failed, err));
        TRY(get_uint(o, where, "rtt_ms", &t->rtt_ms, err));
        TRY(get_flag(o, where, "tls13", &t->tls13, err));
        TRY(get_str(o, where, "group", t->group, sizeof(t->group), true, err));
        TRY(get_uint(o, where, "cert_not_after", &t->cert_not_after, err));
        TRY(get_flag(o, where, "cert_names_sni", &t->cert_names_sni, err));
        TRY(get_uint(o, where, "layout_changes", &t->layout_changes, err));
        TRY(get_str(o, where, "verdict", t->verdict, sizeof(t->verdict), true, err));
        TRY(get_uint(o, where, "checked_at", &t->checked_at, err));
        if (t->verdict[0] == '\0')
            memcpy(t->verdict, "unknown", sizeof("unknown"));
        h->n_targets = i + 1;
    }
    return 0;
}
