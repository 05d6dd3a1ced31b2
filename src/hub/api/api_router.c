/* The route table, path matching, authentication and the shared answer helpers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/log.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "ctl/sync.h"
#include "hub/api/api_int.h"
#include "hub/cache/cache.h"
#include "hub/domain/rules.h"

static const struct api_route routes[] = {
    {"GET", "/healthz", API_AUTH_NONE, api__healthz},
    {"POST", "/api/v1/users", API_AUTH_ADMIN, api__users_create},
    {"GET", "/api/v1/users", API_AUTH_READ, api__users_list},
    {"GET", "/api/v1/users/{id}", API_AUTH_READ, api__users_get},
    {"PATCH", "/api/v1/users/{id}", API_AUTH_ADMIN, api__users_patch},
    {"DELETE", "/api/v1/users/{id}", API_AUTH_ADMIN, api__users_delete},
    {"POST", "/api/v1/users/{id}/disable", API_AUTH_ADMIN, api__users_disable},
    {"POST", "/api/v1/users/{id}/enable", API_AUTH_ADMIN, api__users_enable},
    {"POST", "/api/v1/users/{id}/rotate-token", API_AUTH_ADMIN, api__users_rotate_token},
    {"POST", "/api/v1/users/{id}/rotate-uuid", API_AUTH_ADMIN, api__users_rotate_uuid},
    {"POST", "/api/v1/users/{id}/balance", API_AUTH_ADMIN, api__users_balance},
    {"GET", "/api/v1/users/{id}/subscriptions", API_AUTH_READ, api__users_subs},
    {"GET", "/api/v1/users/{id}/devices", API_AUTH_READ, api__users_devices},
    {"GET", "/api/v1/users/{id}/secrets", API_AUTH_ADMIN, api__users_secrets},
    {"DELETE", "/api/v1/devices/{id}", API_AUTH_ADMIN, api__devices_delete},
    {"POST", "/api/v1/plans", API_AUTH_ADMIN, api__plans_create},
    {"GET", "/api/v1/plans", API_AUTH_READ, api__plans_list},
    {"GET", "/api/v1/plans/{id}", API_AUTH_READ, api__plans_get},
    {"PATCH", "/api/v1/plans/{id}", API_AUTH_ADMIN, api__plans_patch},
    {"DELETE", "/api/v1/plans/{id}", API_AUTH_ADMIN, api__plans_delete},
    {"POST", "/api/v1/subscriptions", API_AUTH_ADMIN, api__subs_grant},
    {"GET", "/api/v1/subscriptions/{id}", API_AUTH_READ, api__subs_get},
    {"POST", "/api/v1/subscriptions/{id}/extend", API_AUTH_ADMIN, api__subs_extend},
    {"POST", "/api/v1/subscriptions/{id}/revoke", API_AUTH_ADMIN, api__subs_revoke},
    {"POST", "/api/v1/payments", API_AUTH_ADMIN, api__payments_create},
    {"GET", "/api/v1/users/{id}/payments", API_AUTH_READ, api__users_payments},
    {"POST", "/api/v1/nodes", API_AUTH_ADMIN, api__nodes_create},
    {"GET", "/api/v1/nodes", API_AUTH_READ, api__nodes_list},
    {"GET", "/api/v1/nodes/{id}", API_AUTH_READ, api__nodes_get},
    {"PATCH", "/api/v1/nodes/{id}", API_AUTH_ADMIN, api__nodes_patch},
    {"DELETE", "/api/v1/nodes/{id}", API_AUTH_ADMIN, api__nodes_delete},
    {"POST", "/api/v1/nodes/{id}/rotate-token", API_AUTH_ADMIN, api__nodes_rotate_token},
    {"POST", "/api/v1/nodes/{id}/health", API_AUTH_ADMIN, api__nodes_health},
    {"POST", "/api/v1/nodes/{id}/weight", API_AUTH_ADMIN, api__nodes_weight},
    {"POST", "/api/v1/nodes/{id}/drain", API_AUTH_ADMIN, api__nodes_drain},
    {"GET", "/api/v1/stats", API_AUTH_READ, api__stats},
    {"GET", "/metrics", API_AUTH_READ, api__metrics},
    {"GET", "/api/v1/audit", API_AUTH_READ, api__audit_list},
    {"POST", "/api/v1/tokens", API_AUTH_ADMIN, api__tokens_create},
    {"GET", "/api/v1/tokens", API_AUTH_ADMIN, api__tokens_list},
    {"DELETE", "/api/v1/tokens/{id}", API_AUTH_ADMIN, api__tokens_revoke},
    {"GET", "/api/v1/node/users", API_AUTH_NODE, api__node_users},
    {"POST", "/api/v1/node/usage", API_AUTH_NODE, api__node_usage},
    {"GET", "/sub/{token}", API_AUTH_NONE, api__sub_page},
    {"GET", "/sub/{token}/{format}", API_AUTH_NONE, api__sub_page},
};

const struct api_route *api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

/* Matches path against pattern; {id} must be a positive decimal integer. */
static bool match(const char *pattern, const char *path, int64_t *id)
{
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            size_t slen = se ? (size_t)(se - s) : strlen(s);
            if (slen == 0 || pe == NULL)
                return false;
            if (strncmp(p, "{id}", 4) == 0) {
                int64_t v = 0;
                if (slen > 18 || s[0] == '0')
                    return false;
                for (size_t i = 0; i < slen; i++) {
                    if (s[i] < '0' || s[i] > '9')
                        return false;
                    v = v * 10 + (s[i] - '0');
                }
                *id = v;
            }
            p = pe + 1;
            s += slen;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

int api_token_hash(const char *token, size_t len, char out[static 65])
{
    uint8_t h[32];
    TRY(crypto_hash(CRYPTO_SHA256, token, len, h));
    hex_encode(out, h, 32);
    return 0;
}

int api__random(void *out, size_t n)
{
    return crypto_random(out, n);
}

int api_token_create(struct store *st, const char *name, enum hub_role role, int64_t now,
                     char out[static HUB_TOKEN_MAX + 1])
{
    return api_token_create_id(st, name, role, now, out, NULL);
}

int api_token_create_id(struct store *st, const char *name, enum hub_role role, int64_t now,
                        char out[static HUB_TOKEN_MAX + 1], int64_t *id)
{
    uint8_t rnd[HUB_API_TOKEN_RAND];
    char hash[65];
    TRY(crypto_random(rnd, sizeof rnd));
    hub_api_token_format(out, "va_", rnd);
    secure_wipe(rnd, sizeof rnd);
    TRY(api_token_hash(out, strlen(out), hash));
    return store_token_add(st, name, hash, role, now, id);
}

static void resp_reset(struct api_resp *r)
{
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

void api__json(struct api_call *c, int status, json_t *doc)
{
    struct api_resp *r = c->resp;
    resp_reset(r);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        r->status = 500;
        r->body = strdup(oom);
        r->body_len = r->body ? strlen(oom) : 0;
    } else {
        r->status = status;
        r->body = text;
        r->body_len = strlen(text);
    }
    r->content_type = "application/json";
}

void api__error(struct api_call *c, int status, const char *code, const char *msg)
{
    api__json(c, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void api__verr(struct api_call *c, const struct api_verr *e)
{
    api__error(c, strcmp(e->code, "invalid_json") == 0 ? 400 : 422, e->code, e->msg);
}

void api__store_error(struct api_call *c, int rc, const char *what)
{
    char msg[160];
    switch (rc) {
    case ERR_NOT_FOUND:
        snprintf(msg, sizeof msg, "%s not found", what);
        api__error(c, 404, "not_found", msg);
        return;
    case ERR_EXISTS:
        snprintf(msg, sizeof msg, "%s conflicts with an existing one", what);
        api__error(c, 409, "conflict", msg);
        return;
    case ERR_BAD_STATE:
        snprintf(msg, sizeof msg, "%s: not allowed in its current state", what);
        api__error(c, 409, "invalid_state", msg);
        return;
    case ERR_RANGE:
        snprintf(msg, sizeof msg, "%s: value out of range", what);
        api__error(c, 422, "out_of_range", msg);
        return;
    case ERR_TIMEOUT:
        api__error(c, 503, "busy", "database busy, retry");
        return;
    default:
        log_err("api", 0, "store_error", LF_STR("what", what), LF_STR("err", err_str(rc)));
        api__error(c, 500, "internal", "internal error");
        return;
    }
}

void api__header(struct api_call *c, const char *name, const char *value)
{
    struct api_resp *r = c->resp;
    if (r->n_headers >= API_MAX_HEADERS)
        return;
    char *v = strdup(value);
    if (v == NULL)
        return;
    r->headers[r->n_headers].name = name;
    r->headers[r->n_headers].value = v;
    r->n_headers++;
}

struct store_audit api__audit(struct api_call *c, const char *action, const char *details)
{
    return (struct store_audit){.actor = c->actor, .action = action, .source_ip = c->req->ip, .details = details};
}

const char *api__query(struct api_call *c, const char *key)
{
    return c->req->query ? c->req->query(c->req->query_arg, key) : NULL;
}

void api_resp_dispose(struct api_resp *resp)
{
    free(resp->body);
    for (size_t i = 0; i < resp->n_headers; i++)
        free(resp->headers[i].value);
    free(resp->arena);
    memset(resp, 0, sizeof *resp);
}

/* Admin and node tokens: the hash is looked up, so no token text is ever compared. */
static bool authenticate(struct api_call *c, enum api_auth need)
{
    const char *tok;
    size_t len;
    char hash[65];
    if (sync_bearer_token(c->req->authorization, &tok, &len) < 0) {
        api__header(c, "WWW-Authenticate", "Bearer");
        api__error(c, 401, "unauthorized", "missing or malformed bearer token");
        return false;
    }
    if (api_token_hash(tok, len, hash) < 0) {
        api__error(c, 500, "internal", "internal error");
        return false;
    }
    int rc;
    if (need == API_AUTH_NODE) {
        rc = store_node_by_token(c->ctx->st, hash, &c->node);
        if (rc == 0) {
            snprintf(c->actor, sizeof c->actor, "node:%" PRId64, c->node.id);
            return true;
        }
    } else {
        rc = store_token_lookup(c->ctx->st, hash, &c->role, &c->token_id);
        if (rc == 0) {
            snprintf(c->actor, sizeof c->actor, "token:%" PRId64, c->token_id);
            if (need == API_AUTH_ADMIN && c->role != HUB_ROLE_ADMIN) {
                api__error(c, 403, "forbidden", "this token is read-only");
                return false;
            }
            return true;
        }
    }
    if (rc == ERR_NOT_FOUND) {
        api__header(c, "WWW-Authenticate", "Bearer");
        api__error(c, 401, "unauthorized", "unknown token");
    } else {
        api__store_error(c, rc, "token");
    }
    return false;
}

static int64_t now_of(const struct api_ctx *ctx)
{
    return ctx->cfg.clock ? ctx->cfg.clock(ctx->cfg.clock_arg) : (int64_t)time(NULL);
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void dispatch(struct api_ctx *ctx, const struct api_req *req, struct api_resp *resp, const char **route);

/* One limit check; false (and a 429 answer) when key is over its budget. */
static bool rate_check(struct api_call *c, const char *key, unsigned limit, unsigned window)
{
    bool allowed = true;
    unsigned retry = 0;
    if (hcache_rate(c->ctx->cfg.cache, key, limit, window, &allowed, &retry) < 0 || allowed)
        return true; /* a counter we cannot keep never blocks anyone */
    char ra[16];
    snprintf(ra, sizeof ra, "%u", retry);
    api__header(c, "Retry-After", ra);
    api__error(c, 429, "rate_limited", "too many requests, retry later");
    return false;
}

/* Per client IP, then per token (the /sub token or the bearer token, hashed). Health checks
 * are exempt: load balancers poll them. */
static bool rate_ok(struct api_call *c)
{
    const struct api_settings *set = api__settings(c->ctx);
    if (c->ctx->cfg.cache == NULL || (set->rate_per_ip == 0 && set->rate_per_token == 0) ||
        strcmp(c->req->path, "/healthz") == 0)
        return true;
    unsigned window = set->rate_window ? set->rate_window : 60;
    char key[128];
    if (set->rate_per_ip && c->req->ip && c->req->ip[0]) {
        snprintf(key, sizeof key, "ip:%.64s", c->req->ip);
        if (!rate_check(c, key, set->rate_per_ip, window))
            return false;
    }
    if (set->rate_per_token == 0)
        return true;
    const char *tok = NULL;
    size_t len = 0;
    if (strncmp(c->req->path, "/sub/", 5) == 0) {
        tok = c->req->path + 5;
        len = strcspn(tok, "/");
    } else if (c->req->authorization != NULL && sync_bearer_token(c->req->authorization, &tok, &len) < 0) {
        tok = NULL;
    }
    char hash[65];
    if (tok == NULL || len == 0 || api_token_hash(tok, len, hash) < 0)
        return true;
    snprintf(key, sizeof key, "tok:%.32s", hash);
    return rate_check(c, key, set->rate_per_token, window);
}

void api_dispatch(struct api_ctx *ctx, const struct api_req *req, struct api_resp *resp)
{
    const char *route = "unmatched";
    double t0 = mono_seconds();
    dispatch(ctx, req, resp, &route);
    double dt = mono_seconds() - t0;
    api__metrics_request(ctx, route, req->method, resp->status, dt);
    /* The route pattern, never the path: /sub paths carry the user's secret token. */
    log_debug("api", 0, "request", LF_STR("method", req->method), LF_STR("route", route),
              LF_INT("status", resp->status), LF_DBL("ms", dt * 1e3), LF_STR("ip", req->ip ? req->ip : ""));
}

static void dispatch(struct api_ctx *ctx, const struct api_req *req, struct api_resp *resp, const char **route)
{
    memset(resp, 0, sizeof *resp);
    struct api_call c = {.ctx = ctx, .req = req, .resp = resp};
    c.now = now_of(ctx);
    const struct api_route *hit = NULL;
    char allow[64] = "";
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        int64_t id = 0;
        if (!match(routes[i].pattern, req->path, &id))
            continue;
        if (strcmp(routes[i].method, req->method) == 0 ||
            (strcmp(req->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            hit = &routes[i];
            c.id = id;
            break;
        }
        if (strstr(allow, routes[i].method) == NULL && strlen(allow) + strlen(routes[i].method) + 3 < sizeof allow) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, routes[i].method);
        }
    }
    if (hit != NULL)
        *route = hit->pattern;
    if (!rate_ok(&c))
        return;
    if (hit == NULL) {
        if (allow[0]) {
            api__header(&c, "Allow", allow);
            api__error(&c, 405, "method_not_allowed", "method not allowed on this path");
        } else {
            api__error(&c, 404, "not_found", "no such route");
        }
        return;
    }
    if (hit->auth != API_AUTH_NONE && !authenticate(&c, hit->auth))
        return;
    hit->handler(&c);
    if (resp->body == NULL && resp->status == 0)
        api__error(&c, 500, "internal", "no answer");
    /* Every admin change may show in subscriptions: all hubs drop their cached answers. */
    if (hit->auth == API_AUTH_ADMIN && strcmp(hit->method, "GET") != 0 && resp->status < 400 &&
        ctx->cfg.cache != NULL)
        hcache_gen_bump(ctx->cfg.cache);
}

void api__healthz(struct api_call *c)
{
    struct hcache *hc = c->ctx->cfg.cache;
    api__json(c, 200,
              json_pack("{s:s,s:s,s:s}", "status", "ok", "backend", store_backend(c->ctx->st), "cache",
                        hc ? hcache_mode(hc) : "none"));
}
