/* The node's probing report in a push ("health.probes", docs/sync-protocol.md): the client
 * networks it flagged for bursts of failed REALITY authentications (node/probe_guard.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "ctl/sync_int.h"

bool sync_probe_net_valid(const char *s)
{
    size_t n = strnlen(s, SYNC_NET_MAX + 1);
    if (n < 4 || n > SYNC_NET_MAX)
        return false;
    char addr[SYNC_NET_MAX + 1];
    memcpy(addr, s, n - 3);
    addr[n - 3] = '\0';
    uint8_t raw[16];
    if (strcmp(s + n - 3, "/24") == 0)
        return inet_pton(AF_INET, addr, raw) == 1 && raw[3] == 0;
    if (strcmp(s + n - 3, "/48") == 0) {
        static const uint8_t zero[10];
        return inet_pton(AF_INET6, addr, raw) == 1 && memcmp(raw + 6, zero, 10) == 0;
    }
    return false;
}

json_t *sync__probes_to_json(const struct sync_health *h)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < h->n_probes; i++) {
        const struct sync_probe *p = &h->probes[i];
        if (!sync_probe_net_valid(p->net) || p->fallbacks > INT64_MAX || p->bans > INT64_MAX ||
            p->refused > INT64_MAX ||
            json_array_append_new(a,
                                  json_pack("{s:s,s:I,s:I,s:I}", "net", p->net, "fallbacks", (json_int_t)p->fallbacks,
                                            "bans", (json_int_t)p->bans, "refused", (json_int_t)p->refused)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int count(const json_t *o, size_t i, const char *key, uint64_t *out, struct sync_err *err)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (v == NULL)
        return 0;
    if (!json_is_integer(v))
        return sync__fail(err, ERR_MALFORMED, "health.probes[%zu].%s: expected an integer", i, key);
    if (json_integer_value(v) < 0)
        return sync__fail(err, ERR_RANGE, "health.probes[%zu].%s: out of range", i, key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int sync__probes_from_json(const json_t *health, struct sync_health *h, struct sync_err *err)
{
    h->n_probes = 0;
    json_t *a = json_object_get(health, "probes");
    if (a == NULL)
        return 0;
    if (!json_is_array(a))
        return sync__fail(err, ERR_MALFORMED, "health.probes: expected an array");
    if (json_array_size(a) > SYNC_PROBES_MAX)
        return sync__fail(err, ERR_LIMIT, "health.probes: more than %d networks", SYNC_PROBES_MAX);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *o = json_array_get(a, i);
        struct sync_probe *p = &h->probes[i];
        memset(p, 0, sizeof(*p));
        if (!json_is_object(o))
            return sync__fail(err, ERR_MALFORMED, "health.probes[%zu]: expected an object", i);
        json_t *net = json_object_get(o, "net");
        if (!json_is_string(net) || json_string_length(net) > SYNC_NET_MAX ||
            strlen(json_string_value(net)) != json_string_length(net) || !sync_probe_net_valid(json_string_value(net)))
            return sync__fail(err, ERR_MALFORMED, "health.probes[%zu].net: expected \"a.b.c.0/24\" or \"x:y:z::/48\"",
                              i);
        memcpy(p->net, json_string_value(net), json_string_length(net) + 1);
        TRY(count(o, i, "fallbacks", &p->fallbacks, err));
        TRY(count(o, i, "bans", &p->bans, err));
        TRY(count(o, i, "refused", &p->refused, err));
        h->n_probes = i + 1;
    }
    return 0;
}
