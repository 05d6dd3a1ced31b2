/* Loads Xray-style JSON into a frozen struct node_cfg. Each section has one function that
 * checks its keys, reads its values and keeps going after an error, so a single run reports
 * every problem. Field names and rules: spec/config-and-links.md §1; our extensions and the
 * list of accepted/ignored/refused fields: docs/node-config.md. */
#include "nodecfg/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/file.h"
#include "core/redis_url.h"
#include "core/secret_file.h"
#include "core/secmem.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "crypto/uuid5.h"
#include "nodecfg/state.h"

static const uint32_t default_testseed[4] = {900, 500, 900, 256};

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        abort(); /* config load: OOM is fatal (STYLE.md §3) */
    return d;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        abort();
    return p;
}

/* ---- small value parsers ---- */

/* "host:port", "[v6]:port" (or a bare port when allow_port_only). host must fit hcap. */
static int split_host_port(const char *s, char *host, size_t hcap, uint16_t *port, bool allow_port_only)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (*s == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':')
            return ERR_MALFORMED;
        h = s + 1;
        hlen = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL) {
            if (!allow_port_only)
                return ERR_MALFORMED;
            colon = s - 1;
            h = "localhost";
            hlen = strlen(h);
        } else {
            if (memchr(s, ':', (size_t)(colon - s)))
                return ERR_MALFORMED; /* bare IPv6 without brackets */
            hlen = (size_t)(colon - s);
        }
    }
    const char *p = colon + 1;
    if (*p == '\0' || strlen(p) > 5)
        return ERR_MALFORMED;
    unsigned long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return ERR_MALFORMED;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535 || hlen == 0 || hlen >= hcap)
        return ERR_MALFORMED;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)v;
    return 0;
}

static bool is_ip_literal(const char *s)
{
    uint8_t b[16];
    return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* A listen address for our own sockets ("127.0.0.1:9090", "[::1]:9090"); stored normalised as given. */
static void get_listen_addr(struct cfg_ctx *c, const json_t *obj, const char *key, char **out)
{
    const char *s;
    if (cfg_get_str(c, obj, key, &s) != 1 || *s == '\0')
        return;
    char host[64];
    uint16_t port;
    if (split_host_port(s, host, sizeof(host), &port, false) < 0 || !is_ip_literal(host)) {
        cfg_error(c, key, "expected \"ip:port\" (IPv6 as \"[::1]:port\"), got \"%.64s\"", s);
        return;
    }
    *out = xstrdup(s);
}

static void get_u32_field(struct cfg_ctx *c, const json_t *obj, const char *key, int64_t min, int64_t max,
                          uint32_t *out)
{
    int64_t x;
    if (cfg_get_int(c, obj, key, min, max, &x) == 1)
        *out = (uint32_t)x;
}

/* ---- log ---- */

static void parse_log(struct cfg_ctx *c, const json_t *log, struct node_cfg *cfg)
{
    static const char *const keys[] = {"loglevel", "access", "error", NULL};
    static const char *const ignored[] = {"dnsLog", "maskAddress", NULL};
    cfg_check_keys(c, log, keys, ignored, "veil-node never logs DNS queries or client addresses in full");
    const char *s;
    if (cfg_get_str(c, log, "loglevel", &s) == 1) {
        int lvl = log_level_parse(s);
        if (lvl < 0)
            cfg_error(c, "loglevel", "must be one of \"debug\", \"info\", \"warning\", \"error\", \"none\"");
        else
            cfg->log_level = (enum log_level)lvl;
    }
    /* Off unless a path is given: customers' destinations are not logged by default
     * (ARCHITECTURE.md §5), unlike Xray whose empty "access" means stdout. */
    if (cfg_get_str(c, log, "access", &s) == 1 && *s && strcmp(s, "none") != 0)
        cfg->access_log = xstrdup(s);
    if (cfg_get_str(c, log, "error", &s) == 1 && *s)
        cfg->error_log = xstrdup(s);
}

/* ---- inbound: users ---- */

static int parse_flow(struct cfg_ctx *c, const char *key, const char *s, enum node_flow *out)
{
    if (*s == '\0')
        *out = NODE_FLOW_NONE;
    else if (strcmp(s, "xtls-rprx-vision") == 0)
        *out = NODE_FLOW_VISION;
    else if (strcmp(s, "xtls-rprx-vision-udp443") == 0)
        return cfg_error(c, key, "\"xtls-rprx-vision-udp443\" is a client-side flow; use \"xtls-rprx-vision\"");
    else
        return cfg_error(c, key, "must be \"\" or \"xtls-rprx-vision\", got \"%.64s\"", s);
    return 0;
}

static void parse_testseed(struct cfg_ctx *c, const json_t *obj, uint32_t out[4])
{
    json_t *arr;
    if (cfg_get_arr(c, obj, "testseed", &arr) != 1)
        return;
    size_t mark = cfg_push_key(c, "testseed");
    if (json_array_size(arr) != 4) {
        cfg_error(c, NULL, "must hold exactly 4 numbers");
    } else {
        for (size_t i = 0; i < 4; i++) {
            json_t *v = json_array_get(arr, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX) {
                size_t m2 = cfg_push_index(c, i);
                cfg_error(c, NULL, "expected an integer between 0 and 4294967295");
                cfg_pop(c, m2);
                continue;
            }
            out[i] = (uint32_t)json_integer_value(v);
        }
        if (memcmp(out, default_testseed, sizeof(default_testseed)) != 0)
            cfg_error(c, NULL, "custom Vision padding is not supported yet; remove it or use [900, 500, 900, 256]");
    }
    cfg_pop(c, mark);
}

/* clients[i].veil: our per-user limits (docs/node-config.md "Limits"). */
static void parse_user_limits(struct cfg_ctx *c, const json_t *v, struct node_user *user)
{
    static const char *const keys[] = {"deviceLimit", "maxConnections", "speedLimit", NULL};
    cfg_check_keys(c, v, keys, NULL, NULL);
    get_u32_field(c, v, "deviceLimit", 0, 100000, &user->device_limit);
    get_u32_field(c, v, "maxConnections", 0, 1000000, &user->max_conns);
    uint64_t bps;
    if (cfg_get_u64(c, v, "speedLimit", &bps) == 1) {
        if (bps != 0 && bps < 1024)
            cfg_error(c, "speedLimit", "must be 0 (unlimited) or at least 1024 bytes per second");
        else
            user->speed_limit = bps;
    }
}

static void parse_user(struct cfg_ctx *c, const json_t *u, struct node_user *user, enum node_flow default_flow,
                       const uint32_t seed[4])
{
    /* "encryption" and "reverse" pass the key check: they get their own errors below. */
    static const char *const keys[] = {"id",         "flow",    "email", "level", "testseed",
                                       "encryption", "reverse", "veil",  NULL};
    if (cfg_expect_obj(c, NULL, u) < 0)
        return;
    cfg_check_keys(c, u, keys, NULL, NULL);
    if (json_object_get(u, "encryption"))
        cfg_error(c, "encryption", "must not appear in an inbound user (it is a client-side setting)");
    if (json_object_get(u, "reverse"))
        cfg_error(c, "reverse", "reverse proxy users are not supported");

    const char *s;
    int rc = cfg_get_str(c, u, "id", &s);
    if (rc == 0) {
        cfg_error(c, "id", "is required");
    } else if (rc == 1) {
        if (uuid_from_string(user->id, s, strlen(s)) < 0)
            cfg_error(c, "id", "must be a UUID or a string of 1 to 30 bytes");
        else
            user->id_text = xstrdup(s);
    }
    user->flow = default_flow;
    if (cfg_get_str(c, u, "flow", &s) == 1 && *s)
        parse_flow(c, "flow", s, &user->flow);
    if (cfg_get_str(c, u, "email", &s) == 1 && *s)
        user->email = xstrdup(s);
    get_u32_field(c, u, "level", 0, UINT32_MAX, &user->level);
    memcpy(user->testseed, seed, sizeof(user->testseed));
    parse_testseed(c, u, user->testseed);
    json_t *v;
    if (cfg_get_obj(c, u, "veil", &v) == 1) {
        size_t mark = cfg_push_key(c, "veil");
        parse_user_limits(c, v, user);
        cfg_pop(c, mark);
    }
}

/* Users collide when ids differ only in bytes 6-7 (spec/vless.md §3) or emails match ignoring case. */
/* Sorting users to find duplicates in O(n log n): hub-synced tables can be large. */
struct dup_ctx {
    const struct node_user *users;
    bool by_email;
};

static int user_key_cmp(const struct node_user *a, const struct node_user *b, bool by_email)
{
    if (by_email)
        return strcasecmp(a->email, b->email);
    /* bytes 6-7 are not part of a user's identity (spec/vless.md §3) */
    int r = memcmp(a->id, b->id, 6);
    return r ? r : memcmp(a->id + 8, b->id + 8, 8);
}

static int dup_cmp(const void *x, const void *y, void *arg)
{
    const struct dup_ctx *d = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int r = user_key_cmp(&d->users[i], &d->users[j], d->by_email);
    return r ? r : (i > j) - (i < j);
}

static int pair_cmp(const void *x, const void *y)
{
    const size_t *a = x, *b = y;
    return (a[0] > b[0]) - (a[0] < b[0]);
}

/* Reports every user whose id (or email) equals an earlier user's, against the first one. */
static void report_duplicates(struct cfg_ctx *c, const struct node_inbound *in, const char *clients_key, bool by_email)
{
    size_t *idx = xcalloc(in->n_users, sizeof(*idx));
    size_t n = 0;
    for (size_t i = 0; i < in->n_users; i++)
        if (by_email ? in->users[i].email != NULL : in->users[i].id_text != NULL)
            idx[n++] = i;
    struct dup_ctx d = {in->users, by_email};
    qsort_r(idx, n, sizeof(*idx), dup_cmp, &d);
    size_t *pairs = xcalloc(n, 2 * sizeof(*pairs)); /* {duplicate, first} */
    size_t np = 0;
    for (size_t k = 1, first = 0; k < n; k++) {
        if (user_key_cmp(&in->users[idx[k]], &in->users[idx[first]], by_email) != 0) {
            first = k;
            continue;
        }
        pairs[2 * np] = idx[k];
        pairs[2 * np + 1] = idx[first];
        np++;
    }
    qsort(pairs, np, 2 * sizeof(*pairs), pair_cmp);
    for (size_t k = 0; k < np; k++) {
        size_t mark = cfg_push_key(c, clients_key);
        size_t m2 = cfg_push_index(c, pairs[2 * k]);
        if (by_email)
            cfg_error(c, "email", "duplicate of %s[%zu].email (emails are unique ignoring case)", clients_key,
                      pairs[2 * k + 1]);
        else
            cfg_error(c, "id", "duplicate of %s[%zu].id (ids differing only in bytes 6-7 are the same user)",
                      clients_key, pairs[2 * k + 1]);
        cfg_pop(c, m2);
        cfg_pop(c, mark);
    }
    free(pairs);
    free(idx);
}

static void check_user_duplicates(struct cfg_ctx *c, const struct node_inbound *in, const char *clients_key)
{
    report_duplicates(c, in, clients_key, false);
    report_duplicates(c, in, clients_key, true);
}

struct users_arg {
    struct node_inbound *in;
    enum node_flow default_flow;
    const uint32_t *seed;
};

static void user_at(struct cfg_ctx *c, size_t i, const json_t *v, void *arg)
{
    const struct users_arg *a = arg;
    parse_user(c, v, &a->in->users[i], a->default_flow, a->seed);
}

static void parse_vless_settings(struct cfg_ctx *c, const json_t *st, struct node_inbound *in)
{
    static const char *const keys[] = {"clients", "users", "decryption", "fallbacks", "flow", "testseed", NULL};
    cfg_check_keys(c, st, keys, NULL, NULL);

    const char *s;
    int rc = cfg_get_str(c, st, "decryption", &s);
    if (rc == 0 || (rc == 1 && *s == '\0'))
        cfg_error(c, "decryption", "is required: please add/set \"decryption\": \"none\"");
    else if (rc == 1 && strcmp(s, "none") != 0)
        cfg_error(c, "decryption", "VLESS Encryption is not supported; set \"none\"");

    json_t *fb;
    if (cfg_get_arr(c, st, "fallbacks", &fb) == 1 && json_array_size(fb) > 0)
        cfg_error(c, "fallbacks",
                  "VLESS fallbacks are not supported (REALITY already forwards unauthenticated "
                  "clients to \"target\")");

    enum node_flow default_flow = NODE_FLOW_NONE;
    if (cfg_get_str(c, st, "flow", &s) == 1)
        parse_flow(c, "flow", s, &default_flow);
    uint32_t seed[4];
    memcpy(seed, default_testseed, sizeof(seed));
    parse_testseed(c, st, seed);

    const char *ckey = json_object_get(st, "clients") ? "clients" : "users";
    if (json_object_get(st, "clients") && json_object_get(st, "users"))
        cfg_error(c, "users", "conflicts with \"clients\" (use one of them)");
    json_t *arr;
    rc = cfg_get_arr(c, st, ckey, &arr);
    if (rc == 0 || (rc == 1 && json_array_size(arr) == 0)) {
        if (rc == 0)
            cfg_warn(c, "clients", "no users configured: every connection is forwarded to the REALITY target");
        else
            cfg_warn(c, ckey, "is empty: every connection is forwarded to the REALITY target");
        return;
    }
    if (rc < 0)
        return;
    in->n_users = json_array_size(arr);
    in->users = xcalloc(in->n_users, sizeof(*in->users));
    struct users_arg ua = {in, default_flow, seed};
    cfg_each(c, ckey, arr, user_at, &ua);
    check_user_duplicates(c, in, ckey);
}

/* ---- inbound: realitySettings ---- */

static void parse_rate_limit(struct cfg_ctx *c, const json_t *obj, const char *key, struct node_rate_limit *out)
{
    json_t *o;
    if (cfg_get_obj(c, obj, key, &o) != 1)
        return;
    static const char *const keys[] = {"afterBytes", "bytesPerSec", "burstBytesPerSec", NULL};
    size_t mark = cfg_push_key(c, key);
    cfg_check_keys(c, o, keys, NULL, NULL);
    cfg_get_u64(c, o, "afterBytes", &out->after_bytes);
    cfg_get_u64(c, o, "bytesPerSec", &out->bytes_per_sec);
    cfg_get_u64(c, o, "burstBytesPerSec", &out->burst_bytes_per_sec);
    cfg_pop(c, mark);
}

static void parse_target(struct cfg_ctx *c, const json_t *rs, struct node_inbound *in)
{
    static const char *const aliases[] = {"target", "dest", NULL};
    const char *key = cfg_pick_alias(rs, aliases);
    if (key == NULL) {
        cfg_error(c, "target",
                  "is required (a server's realitySettings needs \"target\", e.g. "
                  "\"www.example.com:443\"; this looks like a client config)");
        return;
    }
    json_t *v = json_object_get(rs, key);
    char host[256];
    uint16_t port = 0;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 1 || n > 65535) {
            cfg_error(c, key, "port must be between 1 and 65535");
            return;
        }
        strcpy(host, "localhost");
        port = (uint16_t)n;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (*s == '/' || *s == '@') {
            cfg_error(c, key, "Unix socket targets are not supported; use \"host:port\"");
            return;
        }
        if (split_host_port(s, host, sizeof(host), &port, true) < 0) {
            cfg_error(c, key,
                      "please fill in a valid value: \"host:port\", \"[ipv6]:port\" or a port number, "
                      "got \"%.64s\"",
                      s);
            return;
        }
    } else {
        cfg_error(c, key, "expected \"host:port\" or a port number, got %s", cfg_type_name(v));
        return;
    }
    in->target_host = xstrdup(host);
    in->target_port = port;
    const char *type;
    if (cfg_get_str(c, rs, "type", &type) == 1 && *type && strcmp(type, "tcp") != 0)
        cfg_error(c, "type", "must be \"tcp\" (Unix socket targets are not supported)");
}

static void warn_server_name(struct cfg_ctx *c, const char *name)
{
    size_t n = strlen(name);
    if (n >= 3 &&
        (!strcasecmp(name + n - 3, ".ru") || !strcasecmp(name + n - 3, ".ir") || !strcasecmp(name + n - 3, ".cn")))
        cfg_warn(c, NULL,
                 "\"%.64s\": a .ru/.ir/.cn target is a poor choice (censors see it as domestic traffic "
                 "going abroad)",
                 name);
    if (strcasestr(name, "apple") || strcasestr(name, "icloud") || strcasestr(name, "microsoft"))
        cfg_warn(c, NULL,
                 "\"%.64s\": Apple/iCloud/Microsoft names are widely used and blocked by address; "
                 "choose another target",
                 name);
    if (strchr(name, '*'))
        cfg_warn(c, NULL, "\"%.64s\": wildcards are not supported, names match exactly", name);
}

/* obj[key] as a non-empty array, or NULL after recording "<key>: <why>" (absent or empty) or a
 * type error. */
static json_t *required_arr(struct cfg_ctx *c, const json_t *obj, const char *key, const char *why)
{
    json_t *arr = NULL;
    int rc = cfg_get_arr(c, obj, key, &arr);
    if (rc == 0 || (rc == 1 && json_array_size(arr) == 0)) {
        cfg_error(c, key, "%s", why);
        return NULL;
    }
    return rc == 1 ? arr : NULL;
}

static void server_name_at(struct cfg_ctx *c, size_t i, const char *s, void *arg)
{
    struct node_inbound *in = arg;
    if (strlen(s) > 253)
        cfg_error(c, NULL, "is longer than 253 characters");
    in->server_names[i] = xstrdup(s);
    warn_server_name(c, s);
}

static void parse_server_names(struct cfg_ctx *c, const json_t *rs, struct node_inbound *in)
{
    json_t *arr = required_arr(c, rs, "serverNames", "is required and must not be empty");
    if (arr == NULL)
        return;
    in->n_server_names = json_array_size(arr);
    in->server_names = xcalloc(in->n_server_names, sizeof(char *));
    cfg_each_str(c, "serverNames", arr, server_name_at, in);
}

static void short_id_at(struct cfg_ctx *c, size_t i, const char *s, void *arg)
{
    struct node_inbound *in = arg;
    int r = cfg_decode_short_id(s, in->short_ids[i]);
    if (r == ERR_TOO_LONG)
        cfg_error(c, NULL, "must be at most 16 hex digits");
    else if (r < 0)
        cfg_error(c, NULL, "must be an even number of hex digits (0-9, a-f), got \"%.32s\"", s);
    char *t = xstrdup(s);
    for (char *p = t; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
    in->short_id_text[i] = t;
}

static void parse_short_ids(struct cfg_ctx *c, const json_t *rs, struct node_inbound *in)
{
    json_t *arr =
        required_arr(c, rs, "shortIds", "is required and must not be empty (use [\"\"] to allow an empty shortId)");
    if (arr == NULL)
        return;
    in->n_short_ids = json_array_size(arr);
    in->short_ids = xcalloc(in->n_short_ids, NODE_SHORT_ID_LEN);
    in->short_id_text = xcalloc(in->n_short_ids, sizeof(char *));
    cfg_each_str(c, "shortIds", arr, short_id_at, in);
}

static void parse_client_version(struct cfg_ctx *c, const json_t *rs, const char *key, uint32_t *out, bool *has)
{
    const char *s;
    if (cfg_get_str(c, rs, key, &s) != 1 || *s == '\0')
        return;
    if (cfg_decode_version(s, out) < 0) {
        cfg_error(c, key, "must be \"x\", \"x.y\" or \"x.y.z\" with each part between 0 and 255, got \"%.32s\"", s);
        return;
    }
    *has = true;
}

/* The last two labels of a DNS name ("www.example.com" -> "example.com"); the name itself
 * when shorter. A heuristic: enough to tell "example.com" from "google.com". */
static const char *base_domain(const char *name)
{
    const char *last = strrchr(name, '.');
    if (last == NULL)
        return name;
    for (const char *p = last - 1; p >= name; p--)
        if (*p == '.')
            return p + 1;
    return name;
}

/* spec §6: serverNames should be names the target's certificate covers. Without I/O we can only
 * compare names: warn when the target is a DNS name and no server name shares its domain. */
static void warn_target_names(struct cfg_ctx *c, const struct node_inbound *in)
{
    if (in->target_host == NULL || in->n_server_names == 0 || is_ip_literal(in->target_host) ||
        strcmp(in->target_host, "localhost") == 0)
        return;
    const char *want = base_domain(in->target_host);
    for (size_t i = 0; i < in->n_server_names; i++)
        if (in->server_names[i] && strcasecmp(base_domain(in->server_names[i]), want) == 0)
            return;
    cfg_warn(c, "serverNames",
             "none of them belongs to the target's domain \"%.64s\": clients (and probes) "
             "using these names get the target's certificate-mismatch behaviour",
             want);
}

static void parse_reality(struct cfg_ctx *c, const json_t *rs, struct node_inbound *in)
{
    static const char *const keys[] = {"target",
                                       "dest",
                                       "type",
                                       "xver",
                                       "serverNames",
                                       "privateKey",
                                       "minClientVer",
                                       "maxClientVer",
                                       "maxTimeDiff",
                                       "shortIds",
                                       "mldsa65Seed",
                                       "limitFallbackUpload",
                                       "limitFallbackDownload",
                                       "show",
                                       "masterKeyLog",
                                       NULL};
    static const char *const client_only[] = {"serverName", "fingerprint",   "password", "publicKey",
                                              "shortId",    "mldsa65Verify", "spiderX",  NULL};
    cfg_check_keys(c, rs, keys, client_only, "client-only field in a server realitySettings block");

    parse_target(c, rs, in);
    int64_t x;
    if (cfg_get_int(c, rs, "xver", 0, 2, &x) == 1)
        in->xver = (uint8_t)x;
    parse_server_names(c, rs, in);
    warn_target_names(c, in);

    const char *s;
    int rc = cfg_get_str(c, rs, "privateKey", &s);
    if (rc == 0 || (rc == 1 && *s == '\0')) {
        cfg_error(c, "privateKey", "is required (generate one with `veil x25519`)");
    } else if (rc == 1) {
        int r = cfg_decode_key32(s, in->private_key);
        (void)secmem_dontdump(in->private_key, sizeof(in->private_key)); /* best effort: not in core dumps */
        if (r < 0)
            cfg_error(c, "privateKey", "must be 32 bytes in base64url without padding (43 characters)");
        else if (crypto_x25519_public(in->private_key, in->public_key) < 0)
            cfg_error(c, "privateKey", "cannot derive the public key");
        else if (r == 1)
            cfg_warn(c, "privateKey", "is not in canonical base64url form (Xray may refuse it)");
    }
    parse_client_version(c, rs, "minClientVer", &in->min_client_ver, &in->has_min_client_ver);
    parse_client_version(c, rs, "maxClientVer", &in->max_client_ver, &in->has_max_client_ver);
    if (in->has_min_client_ver)
        cfg_warn(c, "minClientVer",
                 "sing-box based apps (Hiddify, NekoBox, sing-box) report version 1.8.1 and "
                 "will silently see the target site instead of connecting");
    if (in->has_min_client_ver && in->has_max_client_ver && in->min_client_ver > in->max_client_ver)
        cfg_error(c, "maxClientVer", "is lower than minClientVer");
    cfg_get_u64(c, rs, "maxTimeDiff", &in->max_time_diff_ms);
    parse_short_ids(c, rs, in);
    if (cfg_get_str(c, rs, "mldsa65Seed", &s) == 1 && *s)
        cfg_error(c, "mldsa65Seed", "ML-DSA-65 signatures are not supported yet; remove it");
    parse_rate_limit(c, rs, "limitFallbackUpload", &in->fallback_upload);
    parse_rate_limit(c, rs, "limitFallbackDownload", &in->fallback_download);
    cfg_get_bool(c, rs, "show", &in->show);
    if (cfg_get_str(c, rs, "masterKeyLog", &s) == 1 && *s && strcmp(s, "none") != 0)
        cfg_error(c, "masterKeyLog", "writing TLS key logs is not supported by veil-node; remove it");
    if (in->show)
        cfg_warn(c, "show", "ignored: veil-node logs REALITY decisions at debug level (log.loglevel)");
}

/* ---- inbound: streamSettings ---- */

static void parse_raw_settings(struct cfg_ctx *c, const json_t *raw, struct node_inbound *in)
{
    static const char *const keys[] = {"acceptProxyProtocol", "header", NULL};
    cfg_check_keys(c, raw, keys, NULL, NULL);
    cfg_get_bool(c, raw, "acceptProxyProtocol", &in->accept_proxy_protocol);
    json_t *h;
    if (cfg_get_obj(c, raw, "header", &h) == 1) {
        const char *t = "none";
        size_t mark = cfg_push_key(c, "header");
        static const char *const hkeys[] = {"type", NULL};
        cfg_check_keys(c, h, hkeys, NULL, NULL);
        cfg_get_str(c, h, "type", &t);
        if (strcmp(t, "none") != 0)
            cfg_error(c, "type", "only \"none\" is supported (HTTP header obfuscation is not)");
        cfg_pop(c, mark);
    }
}

/* A JSON value that asks for nothing: false, 0, "", "off", "AsIs", [], {} (panels such as 3x-ui
 * write every socket option with such defaults). */
static bool is_noop_value(const json_t *v)
{
    if (json_is_false(v) || json_is_null(v))
        return true;
    if (json_is_integer(v))
        return json_integer_value(v) == 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return *s == '\0' || !strcasecmp(s, "off") || !strcasecmp(s, "AsIs");
    }
    if (json_is_array(v))
        return json_array_size(v) == 0;
    if (json_is_object(v))
        return json_object_size(v) == 0;
    return false;
}

/* Only acceptProxyProtocol does something here. Other Xray socket options are accepted when
 * they are at their no-op defaults and refused otherwise: we do not silently drop a request. */
static void parse_sockopt(struct cfg_ctx *c, const json_t *so, struct node_inbound *in)
{
    static const char *const known[] = {"tcpFastOpen",
                                        "mark",
                                        "tproxy",
                                        "tcpMptcp",
                                        "tcpNoDelay",
                                        "domainStrategy",
                                        "dialerProxy",
                                        "tcpKeepAliveInterval",
                                        "tcpKeepAliveIdle",
                                        "tcpUserTimeout",
                                        "tcpcongestion",
                                        "V6Only",
                                        "tcpWindowClamp",
                                        "interface",
                                        "tcpMaxSeg",
                                        "customSockopt",
                                        "penetrate",
                                        "happyEyeballs",
                                        "addressPortStrategy",
                                        NULL};
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)so, key, v)
    {
        if (strcmp(key, "acceptProxyProtocol") == 0) {
            bool app = false;
            if (cfg_get_bool(c, so, key, &app) == 1 && app)
                in->accept_proxy_protocol = true;
            continue;
        }
        bool is_known = false;
        for (size_t i = 0; known[i] && !is_known; i++)
            is_known = strcmp(known[i], key) == 0;
        if (!is_known)
            cfg_error(c, key, "unknown field");
        else if (!is_noop_value(v))
            cfg_error(c, key, "is not supported by veil-node (only its default value is accepted)");
    }
}

static void parse_stream(struct cfg_ctx *c, const json_t *ss, struct node_inbound *in)
{
    static const char *const keys[] = {"network",     "method",      "security", "realitySettings",
                                       "rawSettings", "tcpSettings", "sockopt",  NULL};
    cfg_check_keys(c, ss, keys, NULL, NULL);

    static const char *const net_alias[] = {"network", "method", NULL};
    const char *nkey = cfg_pick_alias(ss, net_alias);
    const char *s = "tcp";
    if (nkey && cfg_get_str(c, ss, nkey, &s) == 1) {
        if (!strcasecmp(s, "xhttp") || !strcasecmp(s, "splithttp") || !strcasecmp(s, "grpc"))
            cfg_error(c, nkey, "REALITY over \"%s\" is not supported by veil-node; use \"raw\" (or \"tcp\")", s);
        else if (strcasecmp(s, "tcp") != 0 && strcasecmp(s, "raw") != 0)
            cfg_error(c, nkey, "REALITY only supports RAW, XHTTP and gRPC (veil-node: \"raw\"/\"tcp\" only)");
    }

    const char *sec = "";
    cfg_get_str(c, ss, "security", &sec);
    if (!strcasecmp(sec, "tls"))
        cfg_error(c, "security", "\"tls\" is not supported: veil-node serves REALITY only; set \"reality\"");
    else if (!strcasecmp(sec, "xtls"))
        cfg_error(c, "security", "\"xtls\" was removed from Xray; use \"reality\" with flow \"xtls-rprx-vision\"");
    else if (*sec == '\0' || !strcasecmp(sec, "none"))
        cfg_error(c, "security", "plain VLESS is not supported: set \"reality\"");
    else if (strcasecmp(sec, "reality") != 0)
        cfg_error(c, "security", "unknown security \"%.32s\"; set \"reality\"", sec);

    json_t *rs;
    int rc = cfg_get_obj(c, ss, "realitySettings", &rs);
    if (rc == 0) {
        cfg_error(c, "realitySettings", "is required (Empty \"realitySettings\")");
    } else if (rc == 1) {
        size_t mark = cfg_push_key(c, "realitySettings");
        parse_reality(c, rs, in);
        cfg_pop(c, mark);
    }

    static const char *const raw_alias[] = {"rawSettings", "tcpSettings", NULL};
    const char *rkey = cfg_pick_alias(ss, raw_alias);
    json_t *raw;
    if (rkey && cfg_get_obj(c, ss, rkey, &raw) == 1) {
        size_t mark = cfg_push_key(c, rkey);
        parse_raw_settings(c, raw, in);
        cfg_pop(c, mark);
    }
    json_t *so;
    if (cfg_get_obj(c, ss, "sockopt", &so) == 1) {
        size_t mark = cfg_push_key(c, "sockopt");
        parse_sockopt(c, so, in);
        cfg_pop(c, mark);
    }
}

/* ---- inbound ---- */

static void parse_inbound(struct cfg_ctx *c, const json_t *ib, struct node_inbound *in)
{
    static const char *const keys[] = {"listen", "port",     "protocol", "settings", "streamSettings",
                                       "tag",    "sniffing", "allocate", NULL};
    if (cfg_expect_obj(c, NULL, ib) < 0)
        return;
    cfg_check_keys(c, ib, keys, NULL, NULL);

    const char *s;
    int rc = cfg_get_str(c, ib, "protocol", &s);
    if (rc == 0)
        cfg_error(c, "protocol", "is required (\"vless\")");
    else if (rc == 1 && strcmp(s, "vless") != 0)
        cfg_error(c, "protocol", "\"%.32s\" is not supported: veil-node serves VLESS + REALITY only", s);

    if (cfg_get_str(c, ib, "tag", &s) == 1)
        in->tag = xstrdup(s);

    if (cfg_get_str(c, ib, "listen", &s) == 1 && *s) {
        if (*s == '/' || *s == '@')
            cfg_error(c, "listen", "Unix socket listeners are not supported; use an IP address");
        else if (strcmp(s, "localhost") != 0 && !is_ip_literal(s))
            cfg_error(c, "listen", "must be an IP address or \"localhost\", got \"%.64s\"", s);
        else
            in->listen = xstrdup(s);
    }

    json_t *pv = json_object_get(ib, "port");
    if (json_is_string(pv) && strpbrk(json_string_value(pv), "-,"))
        cfg_error(c, "port", "port ranges and lists are not supported");
    else {
        int64_t port;
        rc = cfg_get_int_or_str(c, ib, "port", 1, 65535, &port);
        if (rc == 0)
            cfg_error(c, "port", "is required");
        else if (rc == 1) {
            in->port = (uint16_t)port;
            if (port != 443)
                cfg_warn(c, "port", "REALITY is best served on port 443 (the port browsers use for the target)");
        }
    }

    json_t *alloc;
    if (cfg_get_obj(c, ib, "allocate", &alloc) == 1) {
        const char *strategy = "always";
        size_t mark = cfg_push_key(c, "allocate");
        static const char *const akeys[] = {"strategy", "refresh", "concurrency", NULL};
        cfg_check_keys(c, alloc, akeys, NULL, NULL);
        if (cfg_get_str(c, alloc, "strategy", &strategy) == 1 && strcmp(strategy, "always") != 0)
            cfg_error(c, "strategy", "only \"always\" is supported (the port is fixed)");
        cfg_pop(c, mark);
    }

    json_t *sniff;
    if (cfg_get_obj(c, ib, "sniffing", &sniff) == 1) {
        bool on = false;
        size_t mark = cfg_push_key(c, "sniffing");
        if (cfg_get_bool(c, sniff, "enabled", &on) == 1 && on)
            cfg_warn(c, NULL, "ignored: veil-node does not route by sniffed domain names");
        cfg_pop(c, mark);
    }

    json_t *st;
    rc = cfg_get_obj(c, ib, "settings", &st);
    if (rc == 0) {
        cfg_error(c, "settings", "is required (clients and \"decryption\": \"none\")");
    } else if (rc == 1) {
        size_t mark = cfg_push_key(c, "settings");
        parse_vless_settings(c, st, in);
        cfg_pop(c, mark);
    }

    json_t *ss;
    rc = cfg_get_obj(c, ib, "streamSettings", &ss);
    if (rc == 0) {
        cfg_error(c, "streamSettings", "is required (\"security\": \"reality\" with \"realitySettings\")");
    } else if (rc == 1) {
        size_t mark = cfg_push_key(c, "streamSettings");
        parse_stream(c, ss, in);
        cfg_pop(c, mark);
    }
}

static void check_inbound_duplicates(struct cfg_ctx *c, const struct node_cfg *cfg)
{
    for (size_t i = 0; i < cfg->n_inbounds; i++) {
        for (size_t j = 0; j < i; j++) {
            const struct node_inbound *a = &cfg->inbounds[i], *b = &cfg->inbounds[j];
            if (a->port && a->port == b->port) {
                size_t mark = cfg_push_key(c, "inbounds");
                size_t m2 = cfg_push_index(c, i);
                cfg_error(c, "port", "%u is already used by inbounds[%zu]", a->port, j);
                cfg_pop(c, m2);
                cfg_pop(c, mark);
            }
        }
    }
}

/* ---- outbounds and routing ---- */

struct outbound_info {
    const char *tag;
    bool blackhole;
};

static void parse_freedom(struct cfg_ctx *c, const json_t *st, struct node_cfg *cfg, bool first)
{
    static const char *const keys[] = {"domainStrategy", NULL};
    static const char *const ignored[] = {"userLevel", NULL};
    cfg_check_keys(c, st, keys, ignored, "policy levels other than 0 are not supported");
    const char *s;
    if (cfg_get_str(c, st, "domainStrategy", &s) != 1 || !first)
        return;
    static const struct {
        const char *name;
        enum node_dial_order order;
    } map[] = {
        {"AsIs", NODE_DIAL_ORDER_IPV4_FIRST},        {"UseIP", NODE_DIAL_ORDER_AS_RESOLVED},
        {"UseIPv4", NODE_DIAL_ORDER_IPV4_ONLY},      {"UseIPv6", NODE_DIAL_ORDER_IPV6_ONLY},
        {"UseIPv4v6", NODE_DIAL_ORDER_IPV4_FIRST},   {"UseIPv6v4", NODE_DIAL_ORDER_IPV6_FIRST},
        {"ForceIP", NODE_DIAL_ORDER_AS_RESOLVED},    {"ForceIPv4", NODE_DIAL_ORDER_IPV4_ONLY},
        {"ForceIPv6", NODE_DIAL_ORDER_IPV6_ONLY},    {"ForceIPv4v6", NODE_DIAL_ORDER_IPV4_FIRST},
        {"ForceIPv6v4", NODE_DIAL_ORDER_IPV6_FIRST},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (!strcasecmp(s, map[i].name)) {
            cfg->dial_order = map[i].order;
            return;
        }
    }
    cfg_error(c, "domainStrategy",
              "unknown strategy \"%.32s\" (AsIs, UseIP, UseIPv4, UseIPv6, UseIPv4v6, "
              "UseIPv6v4)",
              s);
}

static void parse_outbounds(struct cfg_ctx *c, const json_t *arr, struct node_cfg *cfg, struct outbound_info *info,
                            size_t n)
{
    size_t i;
    json_t *ob;
    json_array_foreach(arr, i, ob)
    {
        size_t mark = cfg_push_index(c, i);
        if (cfg_expect_obj(c, NULL, ob) < 0) {
            cfg_pop(c, mark);
            continue;
        }
        static const char *const keys[] = {"protocol", "tag", "settings", NULL};
        cfg_check_keys(c, ob, keys, NULL, NULL);
        const char *proto = "";
        if (cfg_get_str(c, ob, "protocol", &proto) == 0)
            cfg_error(c, "protocol", "is required (\"freedom\" or \"blackhole\")");
        const char *tag = NULL;
        cfg_get_str(c, ob, "tag", &tag);
        if (i < n)
            info[i].tag = tag;
        json_t *st = NULL;
        cfg_get_obj(c, ob, "settings", &st);
        size_t m2 = cfg_push_key(c, "settings");
        if (strcmp(proto, "freedom") == 0) {
            if (i > 0)
                cfg_warn(c, NULL, "only the first outbound carries traffic; this one is unused");
            if (st)
                parse_freedom(c, st, cfg, i == 0);
        } else if (strcmp(proto, "blackhole") == 0) {
            if (i < n)
                info[i].blackhole = true;
            if (i == 0)
                cfg_error(c, NULL, "the first outbound receives all traffic: it must be \"freedom\"");
            if (st) {
                static const char *const bkeys[] = {"response", NULL};
                cfg_check_keys(c, st, bkeys, NULL, NULL);
            }
        } else if (*proto) {
            cfg_pop(c, m2);
            cfg_error(c, "protocol", "\"%.32s\" is not supported (only \"freedom\" and \"blackhole\")", proto);
            m2 = c->path_len;
        }
        cfg_pop(c, m2);
        cfg_pop(c, mark);
    }
}

/* Only the ubiquitous "geoip:private -> blackhole" rule is accepted: it is what veil-node does
 * anyway unless veil.allowPrivateDestinations is set. Anything else would change routing. */
static void parse_routing(struct cfg_ctx *c, const json_t *rt, const struct outbound_info *info, size_t n,
                          struct node_cfg *cfg)
{
    static const char *const keys[] = {"domainStrategy", "domainMatcher", "rules", NULL};
    cfg_check_keys(c, rt, keys, NULL, NULL);
    const char *s;
    cfg_get_str(c, rt, "domainStrategy", &s);
    cfg_get_str(c, rt, "domainMatcher", &s);
    json_t *rules;
    if (cfg_get_arr(c, rt, "rules", &rules) != 1)
        return;
    size_t mark = cfg_push_key(c, "rules");
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        size_t m2 = cfg_push_index(c, i);
        static const char *const rkeys[] = {"type", "ip", "outboundTag", "ruleTag", NULL};
        bool ok = json_is_object(r) && cfg_check_keys(c, r, rkeys, NULL, NULL) == 0;
        json_t *ip = json_object_get(r, "ip");
        const char *tag = json_string_value(json_object_get(r, "outboundTag"));
        ok = ok && json_is_array(ip) && json_array_size(ip) == 1 && json_is_string(json_array_get(ip, 0)) &&
             strcmp(json_string_value(json_array_get(ip, 0)), "geoip:private") == 0 && tag != NULL;
        bool to_blackhole = false;
        for (size_t k = 0; ok && k < n; k++)
            if (info[k].tag && strcmp(info[k].tag, tag) == 0)
                to_blackhole = info[k].blackhole;
        if (!ok || !to_blackhole)
            cfg_error(c, NULL,
                      "routing rules are not supported except {\"ip\": [\"geoip:private\"], "
                      "\"outboundTag\": <a blackhole outbound>}; veil-node refuses private destinations "
                      "by itself (see veil.allowPrivateDestinations)");
        cfg_pop(c, m2);
    }
    cfg_pop(c, mark);
    (void)cfg;
}

/* ---- policy, dns, veil ---- */

static void parse_policy(struct cfg_ctx *c, const json_t *pol, struct node_cfg *cfg)
{
    static const char *const keys[] = {"levels", "system", NULL};
    cfg_check_keys(c, pol, keys, NULL, NULL);
    json_t *levels;
    if (cfg_get_obj(c, pol, "levels", &levels) == 1) {
        size_t mark = cfg_push_key(c, "levels");
        const char *k;
        json_t *lv;
        json_object_foreach(levels, k, lv)
        {
            if (strcmp(k, "0") != 0) {
                cfg_error(c, k, "only policy level \"0\" is supported");
                continue;
            }
            if (cfg_expect_obj(c, k, lv) < 0)
                continue;
            size_t m2 = cfg_push_key(c, k);
            static const char *const lkeys[] = {
                "handshake",       "connIdle",          "uplinkOnly",      "downlinkOnly",
                "statsUserUplink", "statsUserDownlink", "statsUserOnline", NULL};
            static const char *const lignored[] = {"bufferSize", NULL};
            cfg_check_keys(c, lv, lkeys, lignored, "veil-node uses fixed per-connection buffers");
            uint32_t hs_sec = cfg->handshake_timeout_ms / 1000;
            get_u32_field(c, lv, "handshake", 1, 3600, &hs_sec);
            cfg->handshake_timeout_ms = hs_sec * 1000;
            get_u32_field(c, lv, "connIdle", 1, 86400, &cfg->idle_timeout_sec);
            get_u32_field(c, lv, "uplinkOnly", 0, 86400, &cfg->uplink_only_sec);
            get_u32_field(c, lv, "downlinkOnly", 0, 86400, &cfg->downlink_only_sec);
            if (json_object_get(lv, "uplinkOnly") || json_object_get(lv, "downlinkOnly"))
                cfg_warn(c, NULL,
                         "uplinkOnly/downlinkOnly are ignored: after one direction ends, the other one "
                         "runs until it ends or connIdle passes");
            bool b;
            cfg_get_bool(c, lv, "statsUserUplink", &b);
            cfg_get_bool(c, lv, "statsUserDownlink", &b);
            cfg_get_bool(c, lv, "statsUserOnline", &b);
            cfg_pop(c, m2);
        }
        cfg_pop(c, mark);
    }
    json_t *sys;
    if (cfg_get_obj(c, pol, "system", &sys) == 1) {
        /* Stats switches: veil-node always counts, so they change nothing. */
        static const char *const skeys[] = {"statsInboundUplink", "statsInboundDownlink", "statsOutboundUplink",
                                            "statsOutboundDownlink", NULL};
        size_t mark = cfg_push_key(c, "system");
        cfg_check_keys(c, sys, skeys, NULL, NULL);
        bool b;
        for (size_t i = 0; skeys[i]; i++)
            cfg_get_bool(c, sys, skeys[i], &b);
        cfg_pop(c, mark);
    }
}

/* "ip" or "ip:port" / "[v6]:port". */
static bool valid_dns_server(const char *s)
{
    if (is_ip_literal(s))
        return true;
    char host[64];
    uint16_t port;
    return split_host_port(s, host, sizeof(host), &port, false) == 0 && is_ip_literal(host);
}

static void dns_server_at(struct cfg_ctx *c, size_t i, const char *s, void *arg)
{
    (void)i;
    struct node_cfg *cfg = arg;
    if (!valid_dns_server(s))
        cfg_error(c, NULL,
                  "expected a DNS server IP address (\"1.1.1.1\", \"1.1.1.1:53\", "
                  "\"[2606:4700::1111]:53\"), got \"%.64s\"",
                  s);
    else
        cfg->dns_servers[cfg->n_dns_servers++] = xstrdup(s);
}

static void parse_dns_servers(struct cfg_ctx *c, const json_t *arr, struct node_cfg *cfg)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return;
    for (size_t i = 0; i < cfg->n_dns_servers; i++)
        free(cfg->dns_servers[i]);
    free(cfg->dns_servers);
    cfg->dns_servers = xcalloc(n, sizeof(char *));
    cfg->n_dns_servers = 0;
    cfg_each_str(c, NULL, arr, dns_server_at, cfg);
}

static void parse_dns(struct cfg_ctx *c, const json_t *dns, struct node_cfg *cfg)
{
    static const char *const keys[] = {"servers", NULL};
    static const char *const ignored[] = {"tag", NULL};
    cfg_check_keys(c, dns, keys, ignored, "has no effect without routing");
    json_t *arr;
    if (cfg_get_arr(c, dns, "servers", &arr) == 1) {
        size_t mark = cfg_push_key(c, "servers");
        parse_dns_servers(c, arr, cfg);
        cfg_pop(c, mark);
    }
}

/* http:// is allowed only to a loopback hub (tests, a hub on the same host). */
static bool hub_url_ok(const char *u)
{
    if (strncmp(u, "https://", 8) == 0)
        return u[8] != '\0' && u[8] != '/';
    static const char *const local[] = {"http://127.0.0.1", "http://localhost", "http://[::1]", NULL};
    for (size_t i = 0; local[i]; i++) {
        size_t n = strlen(local[i]);
        if (strncmp(u, local[i], n) == 0 && (u[n] == '\0' || u[n] == ':' || u[n] == '/'))
            return true;
    }
    return false;
}

static bool hub_token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n < 16 || n > 256)
        return false;
    for (; *t; t++)
        if (!((*t >= 'A' && *t <= 'Z') || (*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9') ||
              strchr("._~+/=-", *t)))
            return false;
    return true;
}

#define HUB_PINS_MAX 4

/* One pin as curl and HPKP write it: "sha256//" and the standard base64 of a SHA-256 digest. */
static bool hub_pin_ok(const char *s)
{
    uint8_t d[33];
    size_t n = 0;
    return strncmp(s, "sha256//", 8) == 0 && strlen(s) == 8 + 44 &&
           b64_decode(d, sizeof d, &n, s + 8, 44, B64_STD) == 0 && n == 32;
}

/* "pin": one pin or a list of up to HUB_PINS_MAX (the next key during a rotation), joined by ';'. */
static void parse_hub_pin(struct cfg_ctx *c, const json_t *h, struct node_cfg *cfg)
{
    const json_t *v = json_object_get(h, "pin");
    if (v == NULL || json_is_null(v))
        return;
    char joined[HUB_PINS_MAX * 53 + 1] = "";
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    bool ok = (json_is_string(v) || json_is_array(v)) && n >= 1 && n <= HUB_PINS_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        ok = json_is_string(e) && hub_pin_ok(json_string_value(e));
        if (ok) {
            if (i)
                strcat(joined, ";");
            strcat(joined, json_string_value(e));
        }
    }
    if (!ok) {
        cfg_error(c, "pin",
                  "must be \"sha256//<base64 of the SHA-256 of the hub's public key>\" or a list of 1 to %d of them",
                  HUB_PINS_MAX);
        return;
    }
    cfg->hub_pin = xstrdup(joined);
}

static void parse_hub(struct cfg_ctx *c, const json_t *h, struct node_cfg *cfg)
{
    static const char *const keys[] = {"url",     "token",   "caFile",  "pin", "certFile",
                                       "keyFile", "pollSec", "pushSec", NULL};
    cfg_check_keys(c, h, keys, NULL, NULL);
    const char *s;
    int rc = cfg_get_str(c, h, "url", &s);
    if (rc == 0)
        cfg_error(c, "url", "is required (\"https://hub.example.com\")");
    else if (rc == 1 && (!hub_url_ok(s) || strlen(s) > 512))
        cfg_error(c, "url", "must be an https:// URL (http:// only to 127.0.0.1, localhost or [::1])");
    else if (rc == 1)
        cfg->hub_url = xstrdup(s);
    rc = cfg_get_str(c, h, "token", &s);
    if (rc == 0)
        cfg_error(c, "token", "is required (the node token the hub issued)");
    else if (rc == 1 && !hub_token_ok(s))
        cfg_error(c, "token", "must be 16 to 256 characters of A-Z a-z 0-9 . _ ~ + / = -");
    else if (rc == 1)
        cfg->hub_token = xstrdup(s);
    if (cfg_get_str(c, h, "caFile", &s) == 1 && *s) {
        if (*s != '/')
            cfg_error(c, "caFile", "must be an absolute path");
        else
            cfg->hub_ca_file = xstrdup(s);
    }
    parse_hub_pin(c, h, cfg);
    if (cfg->hub_pin != NULL && cfg->hub_url != NULL && strncmp(cfg->hub_url, "https://", 8) != 0)
        cfg_error(c, "pin", "needs an https:// url");
    static const char *const files[] = {"certFile", "keyFile"};
    char **dst[] = {&cfg->hub_cert_file, &cfg->hub_key_file};
    for (size_t i = 0; i < 2; i++) {
        if (cfg_get_str(c, h, files[i], &s) == 1 && *s) {
            if (*s != '/')
                cfg_error(c, files[i], "must be an absolute path");
            else
                *dst[i] = xstrdup(s);
        }
    }
    if ((cfg->hub_cert_file == NULL) != (cfg->hub_key_file == NULL))
        cfg_error(c, cfg->hub_cert_file ? "keyFile" : "certFile", "certFile and keyFile go together (mutual TLS)");
    get_u32_field(c, h, "pollSec", 5, 3600, &cfg->hub_poll_sec);
    get_u32_field(c, h, "pushSec", 10, 3600, &cfg->hub_push_sec);
}

/* veil.limits: node-wide settings of node/limits.h. */
static void parse_limits(struct cfg_ctx *c, const json_t *v, struct node_cfg *cfg)
{
    static const char *const keys[] = {"deviceWindowSec", "handshakesPerSecPerIp", "handshakeBurst",   "probeFallbacks",
                                       "probeWindowSec",  "probeBanSec",           "probeDialsPerSec", NULL};
    cfg_check_keys(c, v, keys, NULL, NULL);
    /* probing of the node (node/probe_guard.h) */
    get_u32_field(c, v, "probeFallbacks", 0, 1000000, &cfg->probe_fallbacks);
    get_u32_field(c, v, "probeWindowSec", 1, 86400, &cfg->probe_window_sec);
    get_u32_field(c, v, "probeBanSec", 1, 86400, &cfg->probe_ban_sec);
    get_u32_field(c, v, "probeDialsPerSec", 0, 1000000, &cfg->probe_dials_per_sec);
    get_u32_field(c, v, "deviceWindowSec", 10, 86400, &cfg->device_window_sec);
    /* A rate given without a burst gets a burst of the same size, as before the default existed. */
    if (json_object_get(v, "handshakesPerSecPerIp") != NULL)
        cfg->handshake_burst = 0;
    get_u32_field(c, v, "handshakesPerSecPerIp", 0, 1000000, &cfg->handshakes_per_sec_per_ip);
    get_u32_field(c, v, "handshakeBurst", 0, 1000000, &cfg->handshake_burst);
}

/* veil.redis: {"url": "redis://host:port/db", "timeoutMs": 200} shares device sets between nodes. */
static void parse_redis(struct cfg_ctx *c, const json_t *v, struct node_cfg *cfg)
{
    static const char *const keys[] = {"url", "timeoutMs", NULL};
    cfg_check_keys(c, v, keys, NULL, NULL);
    const char *s;
    if (cfg_get_str(c, v, "url", &s) == 1 && *s) {
        char err[128];
        struct redis_url url;
        if (redis_url_parse(s, &url, err, sizeof(err)) < 0)
            cfg_error(c, "url", "%s", err);
        else
            cfg->redis_url = xstrdup(s);
    }
    get_u32_field(c, v, "timeoutMs", 10, 10000, &cfg->redis_timeout_ms);
}

/* veil.blockedPorts: destination ports no tunnel may reach (node/port_guard.h); [] = none. */
static void parse_blocked_ports(struct cfg_ctx *c, const json_t *arr, struct node_cfg *cfg)
{
    size_t mark = cfg_push_key(c, "blockedPorts");
    cfg->n_blocked_ports = 0;
    if (json_array_size(arr) > NODE_BLOCKED_PORTS_MAX)
        cfg_error(c, NULL, "at most %d ports", NODE_BLOCKED_PORTS_MAX);
    for (size_t i = 0; i < json_array_size(arr) && i < NODE_BLOCKED_PORTS_MAX; i++) {
        size_t m = cfg_push_index(c, i);
        int64_t port;
        if (cfg_value_int(json_array_get(arr, i), 1, 65535, &port) < 0) {
            cfg_error(c, NULL, "must be a port number, 1 to 65535");
        } else {
            bool dup = false;
            for (size_t k = 0; k < cfg->n_blocked_ports; k++)
                dup = dup || cfg->blocked_ports[k] == port;
            if (dup)
                cfg_error(c, NULL, "port %d is listed twice", (int)port);
            else
                cfg->blocked_ports[cfg->n_blocked_ports++] = (uint16_t)port;
        }
        cfg_pop(c, m);
    }
    cfg_pop(c, mark);
}

static void parse_veil(struct cfg_ctx *c, const json_t *v, struct node_cfg *cfg)
{
    static const char *const keys[] = {"workers",
                                       "allowPrivateDestinations",
                                       "dialTimeoutMs",
                                       "dnsTimeoutMs",
                                       "dnsServers",
                                       "dialOrder",
                                       "handshakeTimeoutMs",
                                       "idleTimeoutSec",
                                       "udpIdleTimeoutSec",
                                       "fallbackIdleSec",
                                       "targetCheckSec",
                                       "adminListen",
                                       "adminToken",
                                       "adminNoToken",
                                       "metricsListen",
                                       "metricsTopUsers",
                                       "usageReportSec",
                                       "stateDir",
                                       "hub",
                                       "limits",
                                       "redis",
                                       "blockBitTorrent",
                                       "blockedPorts",
                                       NULL};
    cfg_check_keys(c, v, keys, NULL, NULL);
    get_u32_field(c, v, "workers", 0, 1024, &cfg->workers);
    cfg_get_bool(c, v, "allowPrivateDestinations", &cfg->allow_private_destinations);
    get_u32_field(c, v, "dialTimeoutMs", 100, 300000, &cfg->dial_timeout_ms);
    get_u32_field(c, v, "dnsTimeoutMs", 100, 60000, &cfg->dns_timeout_ms);
    get_u32_field(c, v, "handshakeTimeoutMs", 100, 3600000, &cfg->handshake_timeout_ms);
    get_u32_field(c, v, "idleTimeoutSec", 1, 86400, &cfg->idle_timeout_sec);
    get_u32_field(c, v, "udpIdleTimeoutSec", 1, 86400, &cfg->udp_idle_timeout_sec);
    get_u32_field(c, v, "fallbackIdleSec", 1, 86400, &cfg->fallback_idle_sec);
    get_u32_field(c, v, "targetCheckSec", 0, 86400, &cfg->target_check_sec);
    json_t *arr;
    if (cfg_get_arr(c, v, "dnsServers", &arr) == 1) {
        size_t mark = cfg_push_key(c, "dnsServers");
        parse_dns_servers(c, arr, cfg);
        cfg_pop(c, mark);
    }
    const char *s;
    if (cfg_get_str(c, v, "dialOrder", &s) == 1) {
        static const char *const names[NODE_DIAL_ORDER__COUNT] = {"asResolved", "ipv4First", "ipv6First", "ipv4Only",
                                                                  "ipv6Only"};
        size_t i = 0;
        while (i < NODE_DIAL_ORDER__COUNT && strcmp(names[i], s) != 0)
            i++;
        if (i == NODE_DIAL_ORDER__COUNT)
            cfg_error(c, "dialOrder",
                      "must be one of \"asResolved\", \"ipv4First\", \"ipv6First\", "
                      "\"ipv4Only\", \"ipv6Only\"");
        else
            cfg->dial_order = (enum node_dial_order)i;
    }
    if (cfg_get_str(c, v, "blockBitTorrent", &s) == 1) {
        if (strcmp(s, "off") == 0)
            cfg->block_bittorrent = NODE_BT_MODE_OFF;
        else if (strcmp(s, "block") == 0)
            cfg->block_bittorrent = NODE_BT_MODE_BLOCK;
        else if (strcmp(s, "log") == 0)
            cfg->block_bittorrent = NODE_BT_MODE_LOG;
        else
            cfg_error(c, "blockBitTorrent", "must be one of \"off\", \"block\", \"log\"");
    }
    json_t *ports;
    if (cfg_get_arr(c, v, "blockedPorts", &ports) == 1)
        parse_blocked_ports(c, ports, cfg);
    get_listen_addr(c, v, "adminListen", &cfg->admin_listen);
    bool token_given = false;
    if (cfg_get_str(c, v, "adminToken", &s) == 1 && *s) {
        token_given = true;
        if (strlen(s) < 16 || strlen(s) > 200)
            cfg_error(c, "adminToken", "must be 16 to 200 characters");
        else if (strncmp(s, "REPLACE-WITH", 12) == 0)
            cfg_error(c, "adminToken", "is the sample's placeholder: generate one (openssl rand -hex 16)");
        else
            cfg->admin_token = xstrdup(s);
    }
    bool no_token = false;
    cfg_get_bool(c, v, "adminNoToken", &no_token);
    /* Anything that reaches the port may change users, so the token is the default. */
    if (cfg->admin_listen && cfg->admin_token == NULL && !no_token && !token_given)
        cfg_error(c, "adminToken",
                  "is required when adminListen is set (or set \"adminNoToken\": true to serve the admin API "
                  "without one)");
    get_listen_addr(c, v, "metricsListen", &cfg->metrics_listen);
    get_u32_field(c, v, "metricsTopUsers", 0, 1000, &cfg->metrics_top_users);
    get_u32_field(c, v, "usageReportSec", 1, 3600, &cfg->usage_report_sec);
    json_t *hub;
    if (cfg_get_obj(c, v, "hub", &hub) == 1) {
        size_t mark = cfg_push_key(c, "hub");
        parse_hub(c, hub, cfg);
        cfg_pop(c, mark);
    }
    if (cfg_get_str(c, v, "stateDir", &s) == 1 && *s) {
        if (*s != '/')
            cfg_error(c, "stateDir", "must be an absolute path");
        else
            cfg->state_dir = xstrdup(s);
    }
    json_t *lim;
    if (cfg_get_obj(c, v, "limits", &lim) == 1) {
        size_t mark = cfg_push_key(c, "limits");
        parse_limits(c, lim, cfg);
        cfg_pop(c, mark);
    }
    json_t *redis;
    if (cfg_get_obj(c, v, "redis", &redis) == 1) {
        size_t mark = cfg_push_key(c, "redis");
        parse_redis(c, redis, cfg);
        cfg_pop(c, mark);
    }
    if (cfg->hub_url && cfg->state_dir == NULL)
        cfg_warn(c, "hub",
                 "without veil.stateDir the hub's users are not kept across restarts: the node serves no "
                 "hub users until its first successful pull");
}

/* ---- top level ---- */

static void parse_top(struct cfg_ctx *c, const json_t *root, struct node_cfg *cfg)
{
    static const char *const keys[] = {"log", "inbounds", "outbounds", "routing", "policy",
                                       "dns", "stats",    "veil",      NULL};
    static const struct {
        const char *key, *why;
    } refused[] = {
        {"api", "the Xray gRPC API is not supported; use veil.adminListen"},
        {"metrics", "Xray metrics are not supported; use veil.metricsListen (Prometheus)"},
        {"reverse", "reverse proxy is not supported"},
        {"fakedns", "FakeDNS is not supported"},
        {"observatory", "observatory is not supported"},
        {"burstObservatory", "observatory is not supported"},
        {"transport", "global transport settings are not supported; use streamSettings"},
    };
    json_t *copy = json_copy((json_t *)root);
    if (copy == NULL)
        abort();
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (json_object_get(copy, refused[i].key)) {
            cfg_error(c, refused[i].key, "%s", refused[i].why);
            json_object_del(copy, refused[i].key);
        }
    }
    cfg_check_keys(c, copy, keys, NULL, NULL);
    json_decref(copy);

    json_t *o;
    if (cfg_get_obj(c, root, "log", &o) == 1) {
        size_t mark = cfg_push_key(c, "log");
        parse_log(c, o, cfg);
        cfg_pop(c, mark);
    }

    json_t *arr;
    int rc = cfg_get_arr(c, root, "inbounds", &arr);
    if (rc == 0 || (rc == 1 && json_array_size(arr) == 0)) {
        cfg_error(c, "inbounds", "at least one VLESS + REALITY inbound is required");
    } else if (rc == 1) {
        cfg->n_inbounds = json_array_size(arr);
        cfg->inbounds = xcalloc(cfg->n_inbounds, sizeof(*cfg->inbounds));
        size_t mark = cfg_push_key(c, "inbounds");
        size_t i;
        json_t *ib;
        json_array_foreach(arr, i, ib)
        {
            size_t m2 = cfg_push_index(c, i);
            parse_inbound(c, ib, &cfg->inbounds[i]);
            cfg_pop(c, m2);
        }
        cfg_pop(c, mark);
        check_inbound_duplicates(c, cfg);
    }

    struct outbound_info info[16] = {{0}};
    size_t n_info = 0;
    if (cfg_get_arr(c, root, "outbounds", &arr) == 1) {
        n_info = json_array_size(arr) < 16 ? json_array_size(arr) : 16;
        size_t mark = cfg_push_key(c, "outbounds");
        parse_outbounds(c, arr, cfg, info, n_info);
        cfg_pop(c, mark);
    }
    if (cfg_get_obj(c, root, "routing", &o) == 1) {
        size_t mark = cfg_push_key(c, "routing");
        parse_routing(c, o, info, n_info, cfg);
        cfg_pop(c, mark);
    }
    if (cfg_get_obj(c, root, "policy", &o) == 1) {
        size_t mark = cfg_push_key(c, "policy");
        parse_policy(c, o, cfg);
        cfg_pop(c, mark);
    }
    if (cfg_get_obj(c, root, "dns", &o) == 1) {
        size_t mark = cfg_push_key(c, "dns");
        parse_dns(c, o, cfg);
        cfg_pop(c, mark);
    }
    if (cfg_get_obj(c, root, "stats", &o) == 1 && json_object_size(o) != 0)
        cfg_error(c, "stats", "must be an empty object (veil-node always counts traffic)");
    /* "veil" last: our own settings override the Xray equivalents. */
    if (cfg_get_obj(c, root, "veil", &o) == 1) {
        size_t mark = cfg_push_key(c, "veil");
        parse_veil(c, o, cfg);
        cfg_pop(c, mark);
    }
}

static struct node_cfg *cfg_new_defaults(void)
{
    struct node_cfg *cfg = xcalloc(1, sizeof(*cfg));
    atomic_init(&cfg->refs, 1);
    cfg->log_level = LOG_LEVEL_WARN; /* Xray's default loglevel is "warning" */
    cfg->dial_order = NODE_DIAL_ORDER_IPV4_FIRST;
    cfg->handshake_timeout_ms = 4000;
    cfg->idle_timeout_sec = 300;
    cfg->uplink_only_sec = 1;
    cfg->downlink_only_sec = 1;
    cfg->dial_timeout_ms = 10000;
    cfg->dns_timeout_ms = 5000;
    cfg->hub_poll_sec = 20;
    cfg->hub_push_sec = 60;
    cfg->udp_idle_timeout_sec = 60;
    cfg->fallback_idle_sec = 30; /* a probe or browser on the cover site; not a customer */
    cfg->target_check_sec = 60;  /* active REALITY target check (node/target_health.h) */
    /* A flood from one address cannot fill the fd table; a browser's burst of tunnels fits. */
    cfg->handshakes_per_sec_per_ip = 50;
    cfg->handshake_burst = 200;
    /* Probing: well above a hub's liveness probe (one fallback a second at the shortest
     * fleet.probe_interval), far below a scan or a replay burst. */
    cfg->probe_fallbacks = 100;
    cfg->probe_window_sec = 60;
    cfg->probe_ban_sec = 600;
    cfg->probe_dials_per_sec = 2;
    /* SMTP spam through customers' tunnels gets the node's address blocklisted. */
    cfg->blocked_ports[0] = 25;
    cfg->n_blocked_ports = 1;
    cfg->usage_report_sec = 5;
    cfg->device_window_sec = 300;
    cfg->redis_timeout_ms = 200;
    return cfg;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void cfg_free(struct node_cfg *cfg)
{
    for (size_t i = 0; i < cfg->n_inbounds; i++) {
        struct node_inbound *in = &cfg->inbounds[i];
        for (size_t u = 0; u < in->n_users; u++) {
            secure_wipe(in->users[u].id, sizeof(in->users[u].id));
            free(in->users[u].id_text);
            free(in->users[u].email);
        }
        free(in->users);
        free(in->tag);
        free(in->listen);
        free(in->target_host);
        free_strv(in->server_names, in->n_server_names);
        free(in->short_ids);
        free_strv(in->short_id_text, in->n_short_ids);
        secure_wipe(in->private_key, sizeof(in->private_key));
    }
    free(cfg->inbounds);
    free(cfg->access_log);
    free(cfg->error_log);
    free_strv(cfg->dns_servers, cfg->n_dns_servers);
    free(cfg->admin_listen);
    if (cfg->admin_token)
        secure_wipe(cfg->admin_token, strlen(cfg->admin_token));
    free(cfg->admin_token);
    free(cfg->metrics_listen);
    free(cfg->state_dir);
    free(cfg->hub_url);
    if (cfg->hub_token)
        secure_wipe(cfg->hub_token, strlen(cfg->hub_token));
    free(cfg->hub_token);
    free(cfg->hub_ca_file);
    free(cfg->hub_pin);
    free(cfg->hub_cert_file);
    free(cfg->hub_key_file);
    free(cfg->redis_url);
    free(cfg);
}

static bool resolve_one(struct cfg_ctx *c, json_t *obj, const struct secret_src *src, const char *where)
{
    char why[600];
    if (!json_is_object(obj) || secret_src_resolve(obj, src, where, why, sizeof why) == 0)
        return true;
    cfg_error_global(c, "%s", why);
    return false;
}

/* The node's secrets may each come from a file (<key>File), a systemd credential or the
 * environment instead of the JSON (core/secret_file.h); they are put into the document before it
 * is parsed. A REALITY key from a credential or the environment goes to every REALITY inbound
 * that names none. Returns false after recording an error. */
static bool resolve_secrets(struct cfg_ctx *c, json_t *root)
{
    static const struct secret_src admin = {"adminToken", "adminTokenFile", "admin_token", "VEIL_NODE_ADMIN_TOKEN"},
                                   hub = {"token", "tokenFile", "hub_token", "VEIL_NODE_HUB_TOKEN"},
                                   redis = {"url", "urlFile", "redis_url", "VEIL_NODE_REDIS_URL"},
                                   reality = {"privateKey", "privateKeyFile", "reality_private_key",
                                              "VEIL_NODE_REALITY_PRIVATE_KEY"};
    bool ok = true;
    json_t *veil = json_object_get(root, "veil");
    if (json_is_object(veil)) {
        ok = resolve_one(c, veil, &admin, "veil") && ok;
        ok = resolve_one(c, json_object_get(veil, "hub"), &hub, "veil.hub") && ok;
        ok = resolve_one(c, json_object_get(veil, "redis"), &redis, "veil.redis") && ok;
    }
    json_t *ibs = json_object_get(root, "inbounds");
    size_t i;
    json_t *ib;
    json_array_foreach(ibs, i, ib)
    {
        char where[64];
        snprintf(where, sizeof where, "inbounds[%zu].streamSettings.realitySettings", i);
        json_t *rs = json_object_get(json_object_get(ib, "streamSettings"), "realitySettings");
        ok = resolve_one(c, rs, &reality, where) && ok;
    }
    return ok;
}

struct node_cfg *node_cfg_load(struct cfg_ctx *c, const char *text, size_t len)
{
    json_t *root = cfg_parse(c, text, len);
    if (root == NULL)
        return NULL;
    if (!resolve_secrets(c, root)) {
        json_decref(root);
        return NULL;
    }
    struct node_cfg *cfg = cfg_new_defaults();
    parse_top(c, root, cfg);
    json_decref(root);
    if (!cfg_ok(c)) {
        cfg_free(cfg);
        return NULL;
    }
    return cfg;
}

struct node_cfg *node_cfg_load_file(struct cfg_ctx *c, const char *path)
{
    struct buf text;
    buf_init(&text);
    int rc = file_read_all(path, (size_t)16 << 20, &text);
    if (rc == ERR_NOMEM)
        abort(); /* as every other allocation of the loader (xmalloc) */
    struct node_cfg *cfg = NULL;
    if (rc == ERR_TOO_LONG)
        cfg_error_global(c, "file is larger than 16 MiB");
    else if (rc == -EIO)
        cfg_error_global(c, "read error");
    else if (rc < 0)
        cfg_error_global(c, "cannot open: %s", strerror(-rc));
    else /* + stateDir users (nodecfg/state.h) */
        cfg = node_state_load_cfg((const char *)buf_data(&text), buf_len(&text), NULL, c);
    buf_dispose(&text);
    return cfg;
}

struct node_cfg *node_cfg_ref(struct node_cfg *cfg)
{
    atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
    return cfg;
}

void node_cfg_unref(struct node_cfg *cfg)
{
    if (cfg == NULL)
        return;
    if (atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) == 1)
        cfg_free(cfg);
}

const struct node_user *node_cfg_find_user(const struct node_cfg *cfg, const char *who,
                                           const struct node_inbound **inbound)
{
    uint8_t id[16];
    bool have_id = uuid_from_string(id, who, strlen(who)) == 0;
    for (size_t i = 0; i < cfg->n_inbounds; i++) {
        const struct node_inbound *in = &cfg->inbounds[i];
        for (size_t u = 0; u < in->n_users; u++) {
            const struct node_user *user = &in->users[u];
            bool hit = (user->email && strcasecmp(user->email, who) == 0) ||
                       (user->id_text && strcmp(user->id_text, who) == 0) || (have_id && memcmp(user->id, id, 16) == 0);
            if (hit) {
                if (inbound)
                    *inbound = in;
                return user;
            }
        }
    }
    return NULL;
}

const char *node_flow_name(enum node_flow f)
{
    return f == NODE_FLOW_VISION ? "xtls-rprx-vision" : "";
}
