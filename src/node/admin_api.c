#include "node/admin_api.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/secure.h"
#include "core/version.h"
#include "nodecfg/links.h"

#define USERS_PATH "/api/v1/users"

struct node_admin_api {
    pthread_mutex_t lock;
    char *base;
    size_t base_len;
    char *name;
    struct node_overlay overlay;
    struct node_overlay hub;     /* hub-managed users, in hub.add (node/hubsync.h) */
    struct sync_reality reality; /* the hub's REALITY target assignment (rev 0: none) */
    char *state_path;
    char *token;
    node_admin_apply_cb *apply;
    void *arg;
};

static char *xstrdup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

struct node_admin_api *node_admin_api_new(const char *base, size_t len, const char *name, struct node_overlay *overlay,
                                          const char *state_path, const char *token, node_admin_apply_cb *apply,
                                          void *arg)
{
    struct node_admin_api *api = calloc(1, sizeof(*api));
    if (api == NULL)
        return NULL;
    pthread_mutex_init(&api->lock, NULL);
    api->base = malloc(len ? len : 1);
    api->name = strdup(name ? name : "config");
    api->state_path = xstrdup_or_null(state_path);
    api->token = xstrdup_or_null(token);
    if (api->base == NULL || api->name == NULL || (state_path && *state_path && api->state_path == NULL) ||
        (token && *token && api->token == NULL)) {
        node_admin_api_free(api);
        return NULL;
    }
    memcpy(api->base, base, len);
    api->base_len = len;
    api->overlay = *overlay;
    node_overlay_init(overlay);
    api->apply = apply;
    api->arg = arg;
    return api;
}

void node_admin_api_free(struct node_admin_api *api)
{
    if (api == NULL)
        return;
    pthread_mutex_destroy(&api->lock);
    free(api->base);
    free(api->name);
    free(api->state_path);
    if (api->token)
        secure_wipe(api->token, strlen(api->token));
    free(api->token);
    node_overlay_dispose(&api->overlay);
    for (size_t i = 0; i < api->hub.n_add; i++) {
        free(api->hub.add[i].id);
        free(api->hub.add[i].email);
    }
    free(api->hub.add);
    free(api);
}

/* ---- responses ---- */

static void reply_json(struct node_http_resp *resp, int status, json_t *j)
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

static void reply_error(struct node_http_resp *resp, int status, const char *code, const struct cfg_ctx *c)
{
    json_t *j = json_pack("{s:s}", "error", code);
    if (j && c && c->n_msgs) {
        json_t *msgs = json_array();
        for (size_t i = 0; i < c->n_msgs; i++)
            if (c->msgs[i].sev == CFG_SEV_ERROR)
                json_array_append_new(msgs, json_string(c->msgs[i].text));
        json_object_set_new(j, "messages", msgs);
    }
    reply_json(resp, status, j);
}

static void reply_message(struct node_http_resp *resp, int status, const char *code, const char *msg)
{
    reply_json(resp, status, json_pack("{s:s, s:[s]}", "error", code, "messages", msg));
}

static json_t *user_json(const struct node_inbound *in, const struct node_user *u)
{
    json_t *j = json_pack("{s:s, s:s}", "id", u->id_text, "flow", node_flow_name(u->flow));
    if (j && in->tag)
        json_object_set_new(j, "inbound", json_string(in->tag));
    if (j && u->email)
        json_object_set_new(j, "email", json_string(u->email));
    return j;
}

/* ---- the effective config ---- */

/* base + overlay, validated. Lock held. */
static struct node_cfg *effective(struct node_admin_api *api, struct cfg_ctx *c)
{
    cfg_init(c, api->name);
    return node_overlay_load_cfg_full(api->base, api->base_len, &api->overlay, api->hub.add, api->hub.n_add,
                                      &api->reality, c);
}

/* Installs the overlay's result and persists it; on failure restores `saved`. Lock held. */
static int commit(struct node_admin_api *api, struct node_overlay *saved, struct node_http_resp *resp)
{
    struct cfg_ctx c;
    struct node_cfg *cfg = effective(api, &c);
    if (cfg == NULL) {
        reply_error(resp, 400, "invalid", &c);
        cfg_dispose(&c);
        goto rollback;
    }
    cfg_dispose(&c);
    char err[256] = "";
    int rc = api->apply ? api->apply(api->arg, cfg, err, sizeof(err)) : 0;
    node_cfg_unref(cfg);
    if (rc < 0) {
        reply_message(resp, 500, "apply_failed", *err ? err : err_str(rc));
        goto rollback;
    }
    if (api->state_path) {
        rc = node_overlay_save_file(&api->overlay, api->state_path);
        if (rc < 0) /* in effect but not persisted: say so loudly, keep serving */
            log_err("node", 0, "state_save_failed", LF_STR("path", api->state_path), LF_STR("err", err_str(rc)));
    }
    node_overlay_dispose(saved);
    return 0;
rollback:
    node_overlay_dispose(&api->overlay);
    api->overlay = *saved;
    node_overlay_init(saved);
    return ERR_CONFIG;
}

/* Deep copy for rollback. */
static int overlay_copy(struct node_overlay *dst, const struct node_overlay *src)
{
    node_overlay_init(dst);
    for (size_t i = 0; i < src->n_add; i++)
        if (node_overlay_add(dst, &src->add[i]) < 0)
            return ERR_NOMEM;
    for (size_t i = 0; i < src->n_remove; i++)
        if (node_overlay_remove(dst, src->remove[i]) < 0)
            return ERR_NOMEM;
    return 0;
}

/* ---- handlers (lock held) ---- */

static void list_users(struct node_admin_api *api, struct node_http_resp *resp)
{
    struct cfg_ctx c;
    struct node_cfg *cfg = effective(api, &c);
    if (cfg == NULL) {
        reply_error(resp, 500, "invalid_state", &c);
        cfg_dispose(&c);
        return;
    }
    cfg_dispose(&c);
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < cfg->n_inbounds; i++)
        for (size_t u = 0; u < cfg->inbounds[i].n_users; u++)
            json_array_append_new(arr, user_json(&cfg->inbounds[i], &cfg->inbounds[i].users[u]));
    node_cfg_unref(cfg);
    reply_json(resp, 200, arr ? json_pack("{s:o}", "users", arr) : NULL);
}

static void status(struct node_admin_api *api, struct node_http_resp *resp)
{
    struct cfg_ctx c;
    struct node_cfg *cfg = effective(api, &c);
    cfg_dispose(&c);
    size_t users = 0, inbounds = cfg ? cfg->n_inbounds : 0;
    for (size_t i = 0; i < inbounds; i++)
        users += cfg->inbounds[i].n_users;
    node_cfg_unref(cfg);
    reply_json(resp, 200,
               json_pack("{s:s, s:I, s:I, s:I, s:I}", "version", VEIL_VERSION, "users", (json_int_t)users, "inbounds",
                         (json_int_t)inbounds, "added", (json_int_t)api->overlay.n_add, "removed",
                         (json_int_t)api->overlay.n_remove));
}

static void add_user(struct node_admin_api *api, const struct node_http_req *req, struct node_http_resp *resp)
{
    /* The body is an overlay entry: reuse the overlay parser for its checks and messages. */
    struct cfg_ctx c;
    cfg_init(&c, "request");
    json_error_t je;
    json_t *body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(body)) {
        json_decref(body);
        reply_message(resp, 400, "invalid", "the body must be a JSON object");
        cfg_dispose(&c);
        return;
    }
    json_t *doc = json_pack("{s:[o]}", "add", body);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    struct node_overlay one;
    node_overlay_init(&one);
    int rc = text ? node_overlay_parse(&one, text, strlen(text), &c) : ERR_NOMEM;
    free(text);
    if (rc < 0 || one.n_add != 1) {
        reply_error(resp, 400, "invalid", &c);
        goto out;
    }
    const struct node_overlay_user *u = &one.add[0];
    struct node_cfg *cur = effective(api, &c);
    bool exists = false;
    for (size_t i = 0; cur && i < cur->n_inbounds; i++)
        for (size_t k = 0; k < cur->inbounds[i].n_users; k++) {
            const struct node_user *x = &cur->inbounds[i].users[k];
            exists |= node_overlay_matches(u->id, x->id_text, NULL) ||
                      (u->email && node_overlay_matches(u->email, NULL, x->email));
        }
    node_cfg_unref(cur);
    if (exists) {
        reply_message(resp, 409, "exists", "a user with this id or email exists");
        goto out;
    }
    struct node_overlay saved;
    if (overlay_copy(&saved, &api->overlay) < 0 || node_overlay_add(&api->overlay, u) < 0) {
        node_overlay_dispose(&saved);
        reply_message(resp, 500, "nomem", "out of memory");
        goto out;
    }
    if (commit(api, &saved, resp) == 0) {
        json_t *j = json_pack("{s:s, s:s}", "id", u->id, "flow", node_flow_name(u->flow));
        if (j && u->email)
            json_object_set_new(j, "email", json_string(u->email));
        if (j && u->inbound)
            json_object_set_new(j, "inbound", json_string(u->inbound));
        reply_json(resp, 201, j ? json_pack("{s:o}", "user", j) : NULL);
        log_info("node", 0, "admin_user_added", LF_STR("email", u->email ? u->email : ""));
    }
out:
    node_overlay_dispose(&one);
    cfg_dispose(&c);
}

/* Percent-decodes s into out (cap bytes incl. NUL); NUL bytes and bad escapes fail. */
static int pct_decode(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s; s++) {
        char ch = *s;
        if (ch == '%') {
            int hi = s[1] ? hex_digit_value(s[1]) : -1, lo = hi >= 0 && s[2] ? hex_digit_value(s[2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return ERR_MALFORMED;
            ch = (char)(hi << 4 | lo);
            s += 2;
        }
        if (o + 1 >= cap)
            return ERR_TOO_LONG;
        out[o++] = ch;
    }
    out[o] = '\0';
    return o ? 0 : ERR_MALFORMED;
}

static void delete_user(struct node_admin_api *api, const char *who_enc, struct node_http_resp *resp)
{
    char who[256];
    if (pct_decode(who_enc, who, sizeof(who)) < 0) {
        reply_message(resp, 400, "invalid", "bad user name in the path");
        return;
    }
    struct cfg_ctx c;
    struct node_cfg *cur = effective(api, &c);
    cfg_dispose(&c);
    bool found = false;
    for (size_t i = 0; cur && i < cur->n_inbounds; i++)
        for (size_t k = 0; k < cur->inbounds[i].n_users; k++)
            found |= node_overlay_matches(who, cur->inbounds[i].users[k].id_text, cur->inbounds[i].users[k].email);
    node_cfg_unref(cur);
    if (!found) {
        reply_message(resp, 404, "not_found", "no such user");
        return;
    }
    struct node_overlay saved;
    if (overlay_copy(&saved, &api->overlay) < 0 || node_overlay_remove(&api->overlay, who) < 0) {
        node_overlay_dispose(&saved);
        reply_message(resp, 500, "nomem", "out of memory");
        return;
    }
    if (commit(api, &saved, resp) == 0) {
        resp->status = 204;
        resp->content_type = "application/json";
        log_info("node", 0, "admin_user_removed");
    }
}

/* Finds query parameter `key` in q ("a=1&b=2") and percent-decodes it into out. */
static int query_param(const char *q, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > klen && strncmp(q, key, klen) == 0 && q[klen] == '=') {
            char enc[512];
            size_t vlen = len - klen - 1;
            if (vlen >= sizeof(enc))
                return ERR_TOO_LONG;
            memcpy(enc, q + klen + 1, vlen);
            enc[vlen] = '\0';
            return pct_decode(enc, out, cap);
        }
        q = amp ? amp + 1 : NULL;
    }
    return ERR_NOT_FOUND;
}

/* GET /api/v1/users/<who>/link?address=HOST[&name=][&sni=][&sid=] */
static void user_link(struct node_admin_api *api, const char *rest, struct node_http_resp *resp)
{
    char who_enc[256], who[256];
    const char *slash = strchr(rest, '/');
    size_t wl = (size_t)(slash - rest);
    if (wl == 0 || wl >= sizeof(who_enc)) {
        reply_message(resp, 400, "invalid", "bad user name in the path");
        return;
    }
    memcpy(who_enc, rest, wl);
    who_enc[wl] = '\0';
    if (pct_decode(who_enc, who, sizeof(who)) < 0) {
        reply_message(resp, 400, "invalid", "bad user name in the path");
        return;
    }
    const char *q = strchr(slash, '?');
    char address[256] = "", name[256] = "", sni[256] = "", sid[64] = "";
    int ra = query_param(q ? q + 1 : NULL, "address", address, sizeof(address));
    int rn = query_param(q ? q + 1 : NULL, "name", name, sizeof(name));
    int rs = query_param(q ? q + 1 : NULL, "sni", sni, sizeof(sni));
    int ri = query_param(q ? q + 1 : NULL, "sid", sid, sizeof(sid));
    if ((ra < 0 && ra != ERR_NOT_FOUND) || (rn < 0 && rn != ERR_NOT_FOUND) || (rs < 0 && rs != ERR_NOT_FOUND) ||
        (ri < 0 && ri != ERR_NOT_FOUND)) {
        reply_message(resp, 400, "invalid", "bad query parameter");
        return;
    }
    struct cfg_ctx c;
    struct node_cfg *cfg = effective(api, &c);
    cfg_dispose(&c);
    if (cfg == NULL) {
        reply_message(resp, 500, "invalid_state", "the effective config does not load");
        return;
    }
    struct node_link_opts o = {
        who, ra == 0 ? address : NULL, rn == 0 ? name : NULL, rs == 0 ? sni : NULL, ri == 0 ? sid : NULL, NULL};
    struct vlink *l = malloc(sizeof(*l));
    char err[256] = "";
    int rc = l ? node_link_build(cfg, &o, l, err, sizeof(err)) : ERR_NOMEM;
    node_cfg_unref(cfg);
    char *text = rc == 0 ? vlink_format_str(l) : NULL;
    free(l);
    if (rc == ERR_NOT_FOUND)
        reply_message(resp, 404, "not_found", err);
    else if (rc < 0)
        reply_message(resp, rc == ERR_NOMEM ? 500 : 400, "invalid", *err ? err : err_str(rc));
    else if (text == NULL)
        reply_message(resp, 500, "invalid", "cannot format the link");
    else
        reply_json(resp, 200, json_pack("{s:s}", "link", text));
    free(text);
}

/* The token may change on SIGHUP (node_admin_api_set_token), hence the lock. */
static bool authorized(struct node_admin_api *api, const struct node_http_req *req)
{
    pthread_mutex_lock(&api->lock);
    bool ok = api->token == NULL;
    const char *h = req->authorization;
    if (!ok && strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        size_t n = strlen(h), t = strlen(api->token);
        ok = n == t && secure_memcmp(h, api->token, t) == 0;
    }
    pthread_mutex_unlock(&api->lock);
    return ok;
}

bool node_admin_api_authorized(struct node_admin_api *api, const struct node_http_req *req)
{
    return authorized(api, req);
}

int node_admin_api_set_token(struct node_admin_api *api, const char *token)
{
    char *t = xstrdup_or_null(token);
    if (token && *token && t == NULL)
        return ERR_NOMEM;
    pthread_mutex_lock(&api->lock);
    char *old = api->token;
    api->token = t;
    pthread_mutex_unlock(&api->lock);
    if (old)
        secure_wipe(old, strlen(old));
    free(old);
    return 0;
}

void node_admin_api_handle(void *arg, const struct node_http_req *req, struct node_http_resp *resp)
{
    struct node_admin_api *api = arg;
    const char *path = req->path;
    const char *m = req->method;
    if (strcmp(path, "/healthz") == 0) {
        buf_append(&resp->body, "ok\n", 3);
        return;
    }
    if (!authorized(api, req)) {
        reply_message(resp, 401, "unauthorized", "missing or wrong bearer token");
        return;
    }
    pthread_mutex_lock(&api->lock);
    if (strcmp(path, USERS_PATH) == 0 && strcmp(m, "GET") == 0)
        list_users(api, resp);
    else if (strcmp(path, USERS_PATH) == 0 && strcmp(m, "POST") == 0)
        add_user(api, req, resp);
    else if (strncmp(path, USERS_PATH "/", sizeof(USERS_PATH)) == 0 && strcmp(m, "GET") == 0 &&
             strchr(path + sizeof(USERS_PATH), '/') &&
             strncmp(strchr(path + sizeof(USERS_PATH), '/'), "/link", 5) == 0 &&
             (strchr(path + sizeof(USERS_PATH), '/')[5] == '\0' || strchr(path + sizeof(USERS_PATH), '/')[5] == '?'))
        user_link(api, path + sizeof(USERS_PATH), resp);
    else if (strncmp(path, USERS_PATH "/", sizeof(USERS_PATH)) == 0 && strcmp(m, "DELETE") == 0)
        delete_user(api, path + sizeof(USERS_PATH), resp);
    else if (strcmp(path, "/api/v1/status") == 0 && strcmp(m, "GET") == 0)
        status(api, resp);
    else if (strcmp(path, USERS_PATH) == 0 || strncmp(path, USERS_PATH "/", sizeof(USERS_PATH)) == 0)
        reply_message(resp, 405, "method_not_allowed", "see docs/node-config.md");
    else
        reply_message(resp, 404, "not_found", "no such endpoint");
    pthread_mutex_unlock(&api->lock);
}

struct node_cfg *node_admin_api_preview(struct node_admin_api *api, const char *base, size_t len, struct cfg_ctx *c)
{
    pthread_mutex_lock(&api->lock);
    struct node_cfg *cfg =
        node_overlay_load_cfg_full(base, len, &api->overlay, api->hub.add, api->hub.n_add, &api->reality, c);
    pthread_mutex_unlock(&api->lock);
    return cfg;
}

struct node_cfg *node_admin_api_rebase(struct node_admin_api *api, const char *base, size_t len, struct cfg_ctx *c)
{
    pthread_mutex_lock(&api->lock);
    struct node_cfg *cfg =
        node_overlay_load_cfg_full(base, len, &api->overlay, api->hub.add, api->hub.n_add, &api->reality, c);
    if (cfg) {
        char *copy = malloc(len ? len : 1);
        if (copy == NULL) {
            node_cfg_unref(cfg);
            cfg = NULL;
        } else {
            memcpy(copy, base, len);
            free(api->base);
            api->base = copy;
            api->base_len = len;
        }
    }
    pthread_mutex_unlock(&api->lock);
    return cfg;
}

int node_admin_api_set_hub_users(struct node_admin_api *api, const struct node_overlay_user *users, size_t n, char *err,
                                 size_t errlen)
{
    struct node_overlay_user *copy = calloc(n ? n : 1, sizeof(*copy));
    if (copy == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        copy[i].id = strdup(users[i].id);
        copy[i].email = users[i].email ? strdup(users[i].email) : NULL;
        copy[i].flow = users[i].flow;
        copy[i].hub_id = users[i].hub_id;
        copy[i].device_limit = users[i].device_limit;
        copy[i].max_conns = users[i].max_conns;
        copy[i].speed_limit = users[i].speed_limit;
        if (copy[i].id == NULL || (users[i].email && copy[i].email == NULL))
            abort(); /* state handling: OOM is fatal */
    }
    pthread_mutex_lock(&api->lock);
    struct node_overlay old = api->hub;
    api->hub = (struct node_overlay){.add = copy, .n_add = n};
    struct cfg_ctx c;
    struct node_cfg *cfg = effective(api, &c);
    int rc = 0;
    if (cfg == NULL) {
        snprintf(err, errlen, "%s", c.n_msgs ? c.msgs[0].text : "invalid config");
        rc = ERR_CONFIG;
    } else if (api->apply) {
        rc = api->apply(api->arg, cfg, err, errlen);
    }
    cfg_dispose(&c);
    node_cfg_unref(cfg);
    struct node_overlay drop = rc < 0 ? api->hub : old;
    if (rc < 0)
        api->hub = old;
    pthread_mutex_unlock(&api->lock);
    for (size_t i = 0; i < drop.n_add; i++) {
        free(drop.add[i].id);
        free(drop.add[i].email);
    }
    free(drop.add);
    return rc;
}

int node_admin_api_set_hub_reality(struct node_admin_api *api, const struct sync_reality *r, char *err, size_t errlen)
{
    pthread_mutex_lock(&api->lock);
    struct sync_reality old = api->reality;
    api->reality = *r;
    struct cfg_ctx c;
    struct node_cfg *cfg = effective(api, &c);
    int rc = 0;
    if (cfg == NULL) {
        snprintf(err, errlen, "%s", c.n_msgs ? c.msgs[0].text : "invalid config");
        rc = ERR_CONFIG;
    } else if (api->apply) {
        rc = api->apply(api->arg, cfg, err, errlen);
    }
    if (rc < 0)
        api->reality = old;
    cfg_dispose(&c);
    node_cfg_unref(cfg);
    pthread_mutex_unlock(&api->lock);
    return rc;
}

int node_admin_api_rebase_apply(struct node_admin_api *api, const char *base, size_t len, struct cfg_ctx *c, char *err,
                                size_t errlen)
{
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return ERR_NOMEM;
    memcpy(copy, base, len);
    pthread_mutex_lock(&api->lock);
    /* under the lock, so an admin change or a hub pull cannot interleave with this install */
    struct node_cfg *cfg =
        node_overlay_load_cfg_full(base, len, &api->overlay, api->hub.add, api->hub.n_add, &api->reality, c);
    int rc = cfg ? 0 : ERR_CONFIG;
    if (rc == 0 && api->apply)
        rc = api->apply(api->arg, cfg, err, errlen);
    if (rc == 0) {
        free(api->base);
        api->base = copy;
        api->base_len = len;
        copy = NULL;
    }
    pthread_mutex_unlock(&api->lock);
    node_cfg_unref(cfg);
    free(copy);
    return rc;
}
