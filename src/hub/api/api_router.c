/* Request checks, routing (api_route.c's registry), authentication and rate limits. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/http_auth.h"
#include "core/log.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"
#include "hub/api/api_scope.h"
#include "hub/cache/cache.h"
#include "hub/domain/rules.h"

/* The first use of a token from an address is audited (token.new_ip); a failure to record it
 * is logged and does not fail the request. */
static void note_token_ip(struct api_call *c)
{
    int rc = store_audit_token_ip(c->ctx->st, c->actor, c->req->ip, c->now);
    if (rc < 0)
        log_warn("api", 0, "token_ip_not_recorded", LF_STR("actor", c->actor), LF_STR("err", err_str(rc)));
}

/* A refused use of a real token (expired, out of scope) is audited, at most once a minute per
 * token and action so a misconfigured client cannot fill the audit log. */
static void audit_refusal(struct api_call *c, const char *action, const char *route)
{
    char key[96], det[160];
    bool first = true;
    unsigned retry = 0;
    snprintf(key, sizeof key, "audit-refusal:%s:%" PRId64, action, c->token_id);
    if (c->ctx->cfg.cache != NULL && hcache_rate(c->ctx->cfg.cache, key, 1, 60, &first, &retry) == 0 && !first)
        return;
    snprintf(det, sizeof det, "{\"route\":\"%.100s\"}", route);
    struct store_audit a = api__audit(c, action, det);
    a.target = c->actor;
    if (store_audit_add(c->ctx->st, &a, c->now) < 0)
        log_warn("api", 0, "refusal_not_audited", LF_STR("actor", c->actor), LF_STR("action", action));
}

/* Admin tokens: expiry, second factor, role, then scope (api_scope.h). */
static bool admin_token_ok(struct api_call *c, const struct api_route *r, const struct store_token_auth *t)
{
    c->role = t->role;
    c->token_id = t->id;
    snprintf(c->actor, sizeof c->actor, "token:%" PRId64, c->token_id);
    if (t->expires_at != 0 && t->expires_at <= c->now) {
        audit_refusal(c, "token.expired", r->pattern);
        api__metrics_auth_failure(c->ctx, "expired");
        api__header(c, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        api__error(c, 401, "token_expired", "this token has expired");
        return false;
    }
    if (t->totp) {
        api__metrics_auth_failure(c->ctx, "totp_required");
        api__error(c, 401, "totp_required",
                   "this token has a second factor: trade it and a code for a session at POST /api/v1/auth/totp");
        return false;
    }
    note_token_ip(c);
    if (r->auth == API_AUTH_ADMIN && c->role != HUB_ROLE_ADMIN) {
        api__error(c, 403, "forbidden", "this token is read-only");
        return false;
    }
    uint32_t mask = 0;
    bool known = api_scopes_parse(t->scopes, strlen(t->scopes), &mask) == 0;
    if (!known || !api_scope_allows(mask, r->method, r->scope)) {
        audit_refusal(c, "token.out_of_scope", r->pattern);
        api__metrics_auth_failure(c->ctx, "out_of_scope");
        api__error(c, 403, "out_of_scope", "this token's scopes do not include this route");
        return false;
    }
    return true;
}

/* Admin and node tokens: the hash is looked up, so no token text is ever compared. */
static bool authenticate(struct api_call *c, const struct api_route *r)
{
    const char *tok;
    size_t len;
    char hash[65];
    bool admin = r->auth != API_AUTH_NODE;
    if (admin && api_lockout_refuse(c, 0))
        return false;
    if (http_bearer_token(c->req->authorization, &tok, &len) < 0) {
        api__header(c, "WWW-Authenticate", "Bearer");
        api__error(c, 401, "unauthorized", "missing or malformed bearer token");
        return false;
    }
    if (api_token_hash(tok, len, hash) < 0) {
        api__error(c, 500, "internal", "internal error");
        return false;
    }
    int rc;
    if (!admin) {
        rc = store_node_by_token(c->ctx->st, hash, &c->node);
        if (rc == 0) {
            snprintf(c->actor, sizeof c->actor, "node:%" PRId64, c->node.id);
            note_token_ip(c);
            return true;
        }
    } else {
        struct store_token_auth t;
        rc = store_token_auth(c->ctx->st, hash, &t);
        if (rc == 0)
            return admin_token_ok(c, r, &t);
    }
    if (rc == ERR_NOT_FOUND) {
        if (admin)
            api_lockout_fail(c, "unknown_token", 0);
        api__header(c, "WWW-Authenticate", "Bearer");
        api__error(c, 401, "unauthorized", "unknown token");
    } else {
        api__store_error(c, rc, "token");
    }
    return false;
}

/* The admin surface the allowlist guards: admin/support routes, the TOTP exchange and the
 * dashboard. Node sync, /sub, webhooks and /healthz stay reachable from anywhere. */
static bool admin_surface(const struct api_route *r)
{
    return r->auth == API_AUTH_READ || r->auth == API_AUTH_ADMIN || strncmp(r->pattern, "/api/v1/auth/", 13) == 0 ||
           strcmp(r->pattern, "/admin") == 0 || strncmp(r->pattern, "/admin/", 7) == 0;
}

static int64_t now_of(const struct api_ctx *ctx)
{
    return ctx->cfg.clock ? ctx->cfg.clock(ctx->cfg.clock_arg) : (int64_t)time(NULL);
}

static void dispatch(struct api_ctx *ctx, const struct api_req *req, struct api_resp *resp, const char **route);

/* GET "/admin/" when only "/admin" exists: 308 to the path without the slash (people type
 * it; routes never end in '/'). Only plain paths are redirected, so Location needs no encoding. */
static bool slash_redirect(struct api_call *c, const struct api_req *req)
{
    size_t n = strlen(req->path);
    char to[256];
    if ((strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) || n < 2 || n > sizeof to ||
        req->path[n - 1] != '/' || req->path[n - 2] == '/')
        return false;
    for (size_t i = 0; i + 1 < n; i++) {
        char ch = req->path[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '/' ||
              ch == '-' || ch == '_' || ch == '.'))
            return false;
    }
    memcpy(to, req->path, n - 1);
    to[n - 1] = '\0';
    int64_t id;
    char allow[64];
    if (api__route_find("GET", to, &id, allow, sizeof allow) == NULL)
        return false;
    api_reply(c, 308, "text/plain; charset=utf-8", "", 0);
    api_reply_header(c, "location", to);
    return true;
}

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
    } else if (c->req->authorization != NULL && http_bearer_token(c->req->authorization, &tok, &len) < 0) {
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
    uint64_t t0 = clock_mono_ns();
    dispatch(ctx, req, resp, &route);
    double dt = (double)(clock_mono_ns() - t0) / 1e9;
    api__metrics_request(ctx, route, req->method, resp->status, dt);
    /* The route pattern, never the path: /sub paths carry the user's secret token. */
    log_debug("api", 0, "request", LF_STR("method", req->method), LF_STR("route", route),
              LF_INT("status", resp->status), LF_DBL("ms", dt * 1e3), LF_STR("ip", req->ip ? req->ip : ""));
}

size_t api__route_body_max(const struct api_ctx *ctx, const struct api_route *r)
{
    if (r != NULL && r->auth == API_AUTH_NODE && ctx->cfg.node_body_max)
        return ctx->cfg.node_body_max;
    if (r != NULL && r->body_max)
        return r->body_max;
    return ctx->cfg.body_max ? ctx->cfg.body_max : API_BODY_MAX_DEFAULT;
}

/* An encoded '/' would let "users%2f1" reach /users/1 and an encoded NUL cuts the decoded path
 * short (as a raw NUL cuts a header), so both are refused before routing, as are control bytes
 * in the decoded path. */
static bool path_ok(const struct api_req *req)
{
    for (const char *p = req->raw_path; p != NULL && *p != '\0' && *p != '?'; p++)
        if (p[0] == '%' && ((p[1] == '2' && (p[2] == 'f' || p[2] == 'F')) || (p[1] == '0' && p[2] == '0')))
            return false;
    for (const unsigned char *p = (const unsigned char *)req->path; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return req->path[0] == '/';
}

/* A JSON route's body must say application/json (parameters such as charset allowed). */
static bool media_type_ok(struct api_call *c, const struct api_route *r)
{
    if (c->req->body_len == 0 || (r->flags & API_ROUTE_ANY_BODY))
        return true;
    const char *ct = api_call_header(c, "Content-Type");
    if (ct == NULL)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

static void dispatch(struct api_ctx *ctx, const struct api_req *req, struct api_resp *resp, const char **route)
{
    memset(resp, 0, sizeof *resp);
    struct api_call c = {.ctx = ctx, .req = req, .resp = resp};
    c.now = now_of(ctx);
    if (req->header_nul) {
        api__error(&c, 400, "bad_request", "a header value holds a NUL byte");
        return;
    }
    if (!path_ok(req)) {
        api__error(&c, 400, "bad_path", "encoded '/' or NUL, or control bytes, in the path");
        return;
    }
    char allow[64] = "";
    const struct api_route *hit = api__route_find(req->method, req->path, &c.id, allow, sizeof allow);
    if (hit != NULL)
        *route = hit->pattern;
    if (!rate_ok(&c))
        return;
    if (hit == NULL) {
        if (allow[0]) {
            api__header(&c, "Allow", allow);
            api__error(&c, 405, "method_not_allowed", "method not allowed on this path");
        } else if (!slash_redirect(&c, req)) {
            api__error(&c, 404, "not_found", "no such route");
        }
        return;
    }
    if (req->body_len > api__route_body_max(ctx, hit)) {
        api__error(&c, 413, "body_too_large", "request body too large");
        return;
    }
    if (!media_type_ok(&c, hit)) {
        api__error(&c, 415, "unsupported_media_type", "the body must be Content-Type: application/json");
        return;
    }
    if (admin_surface(hit) && !api_access_ip_allowed(&c)) {
        api__metrics_auth_failure(ctx, "ip_not_allowed");
        api__error(&c, 403, "ip_not_allowed", "the admin API is not reachable from this address");
        return;
    }
    if (hit->auth == API_AUTH_NODE && ctx->cfg.access.tls_client_ca[0] != '\0' && !req->client_cert) {
        api__error(&c, 403, "client_certificate_required", "node sync needs a client certificate (mutual TLS)");
        return;
    }
    if (hit->auth != API_AUTH_NONE && !authenticate(&c, hit))
        return;
    hit->handler(&c);
    if (resp->body == NULL && resp->status == 0)
        api__error(&c, 500, "internal", "no answer");
    /* Every admin change may show in subscriptions: all hubs drop their cached answers. */
    if (hit->auth == API_AUTH_ADMIN && strcmp(hit->method, "GET") != 0 && resp->status < 400 && ctx->cfg.cache != NULL)
        hcache_gen_bump(ctx->cfg.cache);
}

void api__healthz(struct api_call *c)
{
    struct hcache *hc = c->ctx->cfg.cache;
    api__json(c, 200,
              json_pack("{s:s,s:s,s:s}", "status", "ok", "backend", store_backend(c->ctx->st), "cache",
                        hc ? hcache_mode(hc) : "none"));
}
