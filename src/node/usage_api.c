#include "node/usage_api.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/version.h"
#include "node/hubsync.h"
#include "node/usage.h"
#include "node/worker.h"

#define USAGE_PATH "/api/v1/usage"

struct node_usage_api {
    struct node_runtime *rt;
    struct node_admin_api *api;
    struct node_hubsync *hub;
    struct timespec started; /* CLOCK_MONOTONIC */
};

struct node_usage_api *node_usage_api_new(struct node_runtime *rt, struct node_admin_api *api, struct node_hubsync *hub)
{
    struct node_usage_api *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return NULL;
    u->rt = rt;
    u->api = api;
    u->hub = hub;
    clock_gettime(CLOCK_MONOTONIC, &u->started);
    return u;
}

void node_usage_api_free(struct node_usage_api *u)
{
    free(u);
}

/* ---- responses ---- */

static void reply(struct node_http_resp *resp, int status, json_t *j)
{
    resp->status = status;
    resp->content_type = "application/json";
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL) {
        resp->status = 500;
        return;
    }
    buf_append(&resp->body, text, strlen(text));
    buf_append(&resp->body, "\n", 1);
    free(text);
}

static void reply_error(struct node_http_resp *resp, int status, const char *code, const char *msg)
{
    reply(resp, status, json_pack("{s:s, s:[s]}", "error", code, "messages", msg));
}

/* A user's identity in the running config, copied out of the snapshot. */
struct ident {
    uint8_t key[NODE_USAGE_KEY_LEN];
    char id[256];
    char email[256];
};

static json_t *usage_json(const struct ident *who, const struct node_usage_entry *e)
{
    char id[UUID_STR_LEN + 1];
    if (who == NULL)
        uuid_format(id, e->key); /* counted, then removed from the config */
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "id", who ? who->id : id, "uplink", (json_int_t)e->up,
                          "downlink", (json_int_t)e->down, "total_uplink", (json_int_t)e->total_up, "total_downlink",
                          (json_int_t)e->total_down, "connections", (json_int_t)e->active);
    if (j && who && who->email[0])
        json_object_set_new(j, "email", json_string(who->email));
    if (j && e->hub_id)
        json_object_set_new(j, "hub_id", json_integer((json_int_t)e->hub_id));
    if (j && e->bittorrent) /* since start, never reset (veil.blockBitTorrent) */
        json_object_set_new(j, "bittorrent", json_integer((json_int_t)e->bittorrent));
    if (j && e->smtp) /* since start, never reset (veil.blockedPorts) */
        json_object_set_new(j, "smtp", json_integer((json_int_t)e->smtp));
    return j;
}

static int key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, NODE_USAGE_KEY_LEN); /* both structs start with the key */
}

/* Every configured user, one per key (an id listed in two inbounds is one user), sorted by key.
 * ERR_NOMEM. */
static int config_users(struct node_runtime *rt, struct ident **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&rt->lock);
    const struct node_cfg *cfg = rt->snap->cfg;
    size_t total = 0;
    for (size_t i = 0; i < cfg->n_inbounds; i++)
        total += cfg->inbounds[i].n_users;
    struct ident *v = calloc(total ? total : 1, sizeof(*v));
    if (v == NULL) {
        pthread_mutex_unlock(&rt->lock);
        return ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < cfg->n_inbounds; i++) {
        for (size_t j = 0; j < cfg->inbounds[i].n_users; j++) {
            const struct node_user *u = &cfg->inbounds[i].users[j];
            node_usage_key(u->id, v[k].key);
            snprintf(v[k].id, sizeof(v[k].id), "%s", u->id_text);
            snprintf(v[k].email, sizeof(v[k].email), "%s", u->email ? u->email : "");
            k++;
        }
    }
    pthread_mutex_unlock(&rt->lock);
    qsort(v, k, sizeof(*v), key_cmp);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || memcmp(v[m - 1].key, v[i].key, NODE_USAGE_KEY_LEN) != 0)
            v[m++] = v[i];
    *out = v;
    *n = m;
    return 0;
}

/* GET /api/v1/usage and POST /api/v1/usage/reset */
static void list_usage(struct node_usage_api *ua, bool reset, struct node_http_resp *resp)
{
    struct ident *ids = NULL;
    size_t n_ids = 0;
    struct node_usage_entry *v = NULL;
    size_t n = 0;
    /* identities first: the reset comes last, so nothing can fail after it */
    if (config_users(ua->rt, &ids, &n_ids) < 0 || node_usage_list(ua->rt->usage, reset, &v, &n) < 0) {
        free(ids);
        reply_error(resp, 500, "nomem", "out of memory");
        return;
    }
    qsort(v, n, sizeof(*v), key_cmp);
    json_t *arr = json_array();
    size_t i = 0, j = 0;
    static const struct node_usage_entry zero;
    while (arr && (i < n_ids || j < n)) {
        int c = i == n_ids ? 1 : j == n ? -1 : memcmp(ids[i].key, v[j].key, NODE_USAGE_KEY_LEN);
        json_t *x;
        if (c < 0) { /* configured, never counted */
            struct node_usage_entry e = zero;
            memcpy(e.key, ids[i].key, NODE_USAGE_KEY_LEN);
            x = usage_json(&ids[i++], &e);
        } else if (c > 0) {
            x = usage_json(NULL, &v[j++]);
        } else {
            x = usage_json(&ids[i++], &v[j++]);
        }
        json_array_append_new(arr, x);
    }
    free(ids);
    free(v);
    reply(resp, 200,
          arr ? json_pack("{s:I, s:o}", "online", (json_int_t)node_usage_online(ua->rt->usage), "users", arr) : NULL);
}

/* Percent-decodes s[0..len) into out (cap bytes incl. NUL); NUL bytes and bad escapes fail. */
static int pct_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '%') {
            int hi = i + 1 < len ? hex_digit_value(s[i + 1]) : -1, lo = i + 2 < len ? hex_digit_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return ERR_MALFORMED;
            ch = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= cap)
            return ERR_TOO_LONG;
        out[o++] = ch;
    }
    out[o] = '\0';
    return o ? 0 : ERR_MALFORMED;
}

/* GET /api/v1/usage/<who> and POST /api/v1/usage/<who>/reset */
static void one_usage(struct node_usage_api *ua, const char *who_enc, size_t len, bool reset,
                      struct node_http_resp *resp)
{
    char who[256];
    if (pct_decode(who_enc, len, who, sizeof(who)) < 0) {
        reply_error(resp, 400, "invalid", "bad user name in the path");
        return;
    }
    struct ident id;
    memset(&id, 0, sizeof(id));
    bool configured = false;
    pthread_mutex_lock(&ua->rt->lock);
    const struct node_user *u = node_cfg_find_user(ua->rt->snap->cfg, who, NULL);
    if (u != NULL) {
        configured = true;
        node_usage_key(u->id, id.key);
        snprintf(id.id, sizeof(id.id), "%s", u->id_text);
        snprintf(id.email, sizeof(id.email), "%s", u->email ? u->email : "");
    }
    pthread_mutex_unlock(&ua->rt->lock);
    if (!configured) { /* a user removed from the config still has counters under its UUID */
        uint8_t raw[16];
        if (uuid_parse(raw, who, strlen(who)) < 0) {
            reply_error(resp, 404, "not_found", "no such user");
            return;
        }
        node_usage_key(raw, id.key);
    }
    struct node_usage_entry e;
    int rc = node_usage_get(ua->rt->usage, id.key, reset, &e);
    if (rc < 0 && !configured) {
        reply_error(resp, 404, "not_found", "no such user");
        return;
    }
    json_t *j = usage_json(configured ? &id : NULL, &e);
    reply(resp, 200, j ? json_pack("{s:o}", "user", j) : NULL);
}

/* ---- health ---- */

static json_t *attempt_json(int64_t at_ms, int64_t ok_ms, int rc)
{
    json_t *j = json_pack("{s:I, s:I, s:b}", "at_ms", (json_int_t)at_ms, "last_ok_ms", (json_int_t)ok_ms, "ok",
                          at_ms != 0 && rc == 0);
    if (j && rc < 0)
        json_object_set_new(j, "error", json_string(err_str(rc)));
    return j;
}

static void health(struct node_usage_api *ua, struct node_http_resp *resp)
{
    struct node_runtime *rt = ua->rt;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct node_worker_stats st;
    node_runtime_stats(rt, &st);
    size_t users = 0;
    pthread_mutex_lock(&rt->lock);
    for (size_t i = 0; i < rt->snap->cfg->n_inbounds; i++)
        users += rt->snap->cfg->inbounds[i].n_users;
    pthread_mutex_unlock(&rt->lock);
    json_t *hub;
    if (ua->hub != NULL) {
        struct node_hubsync_status hs;
        node_hubsync_status(ua->hub, &hs);
        hub = json_pack("{s:b, s:I, s:I, s:I, s:o, s:o}", "enabled", 1, "revision", (json_int_t)hs.revision, "pulls",
                        (json_int_t)hs.pulls, "pushes", (json_int_t)hs.pushes, "last_pull",
                        attempt_json(hs.last_pull_ms, hs.last_pull_ok_ms, hs.last_pull_rc), "last_push",
                        attempt_json(hs.last_push_ms, hs.last_push_ok_ms, hs.last_push_rc));
    } else {
        hub = json_pack("{s:b}", "enabled", 0);
    }
    reply(resp, 200,
          json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*}", "status", "ok", "version", VEIL_VERSION,
                    "uptime_sec", (json_int_t)(now.tv_sec - ua->started.tv_sec), "connections",
                    (json_int_t)atomic_load(&st.active), "accepted", (json_int_t)atomic_load(&st.accepted), "users",
                    (json_int_t)users, "users_online", (json_int_t)node_usage_online(rt->usage), "workers",
                    (json_int_t)rt->n_workers, "draining", (json_int_t)atomic_load(&rt->stopping), "hub", hub));
}

/* ---- routing ---- */

void node_usage_api_handle(void *arg, const struct node_http_req *req, struct node_http_resp *resp)
{
    struct node_usage_api *ua = arg;
    const char *path = req->path, *m = req->method;
    bool usage = strncmp(path, USAGE_PATH, sizeof(USAGE_PATH) - 1) == 0 &&
                 (path[sizeof(USAGE_PATH) - 1] == '\0' || path[sizeof(USAGE_PATH) - 1] == '/' ||
                  path[sizeof(USAGE_PATH) - 1] == '?');
    bool is_health = strcmp(path, "/api/v1/health") == 0;
    if (!usage && !is_health) {
        node_admin_api_handle(ua->api, req, resp);
        return;
    }
    if (!node_admin_api_authorized(ua->api, req)) {
        reply_error(resp, 401, "unauthorized", "missing or wrong bearer token");
        return;
    }
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    if (is_health) {
        if (get)
            health(ua, resp);
        else
            reply_error(resp, 405, "method_not_allowed", "see docs/node-config.md");
        return;
    }
    const char *rest = path + sizeof(USAGE_PATH) - 1; /* "", "?...", "/reset", "/<who>", "/<who>/reset" */
    const char *q = strchr(rest, '?');
    size_t len = q ? (size_t)(q - rest) : strlen(rest);
    if (len == 0 || (len == 1 && rest[0] == '/')) {
        if (get)
            list_usage(ua, false, resp);
        else
            reply_error(resp, 405, "method_not_allowed", "POST " USAGE_PATH "/reset resets");
        return;
    }
    if (len == 6 && strncmp(rest, "/reset", 6) == 0) {
        if (post)
            list_usage(ua, true, resp);
        else
            reply_error(resp, 405, "method_not_allowed", "reset with POST");
        return;
    }
    const char *who = rest + 1;
    size_t wl = len - 1;
    const char *slash = memchr(who, '/', wl);
    if (slash == NULL) {
        if (get)
            one_usage(ua, who, wl, false, resp);
        else
            reply_error(resp, 405, "method_not_allowed", "read with GET, reset with POST .../reset");
        return;
    }
    if ((size_t)(who + wl - slash) == 6 && strncmp(slash, "/reset", 6) == 0) {
        if (post)
            one_usage(ua, who, (size_t)(slash - who), true, resp);
        else
            reply_error(resp, 405, "method_not_allowed", "reset with POST");
        return;
    }
    reply_error(resp, 404, "not_found", "no such endpoint");
}
