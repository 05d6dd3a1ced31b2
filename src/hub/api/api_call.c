/* What a handler reads from its call and how it answers (api_route.h, api_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"
#include "hub/cache/cache.h"

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
    case ERR_CLOSED: /* the database connection was lost (failover): a write in flight may or may not have committed */
        api__header(c, "Retry-After", "1");
        api__error(c, 503, "unavailable", "database unavailable, retry");
        return;
    default:
        log_err("api", 0, "store_error", LF_STR("what", what), LF_STR("err", err_str(rc)));
        api__error(c, 500, "internal", "internal error");
        return;
    }
}

void api__header(struct api_call *c, const char *name, const char *value)
{
    (void)api_reply_header(c, name, value); /* a header that does not fit is dropped */
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

void api_reply(struct api_call *c, int status, const char *content_type, const void *body, size_t len)
{
    struct api_resp *r = c->resp;
    resp_reset(r);
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        api__error(c, 500, "internal", "out of memory");
        return;
    }
    if (len > 0)
        memcpy(copy, body, len);
    copy[len] = '\0';
    r->status = status;
    r->body = copy;
    r->body_len = len;
    r->content_type = content_type;
}

void api_reply_json(struct api_call *c, int status, json_t *doc)
{
    api__json(c, status, doc);
}

void api_reply_error(struct api_call *c, int status, const char *code, const char *msg)
{
    api__error(c, status, code, msg);
}

int api_reply_header(struct api_call *c, const char *name, const char *value)
{
    struct api_resp *r = c->resp;
    if (r->n_headers >= API_MAX_HEADERS)
        return ERR_RANGE;
    char *v = strdup(value);
    if (v == NULL)
        return ERR_NOMEM;
    r->headers[r->n_headers].name = name;
    r->headers[r->n_headers].value = v;
    r->n_headers++;
    return 0;
}

/* The fields api_http.c always fills are answered from them, so a request built without a
 * header getter (tests, the fuzzer) still has them. */
const char *api_call_header(const struct api_call *c, const char *name)
{
    const struct api_req *q = c->req;
    if (q->header != NULL)
        return q->header(q->header_arg, name);
    if (strcasecmp(name, "Authorization") == 0)
        return q->authorization;
    if (strcasecmp(name, "User-Agent") == 0)
        return q->user_agent;
    if (strcasecmp(name, "Accept") == 0)
        return q->accept;
    if (strcasecmp(name, "x-hwid") == 0)
        return q->hwid;
    return NULL;
}

const char *api_call_query(const struct api_call *c, const char *key)
{
    return api__query((struct api_call *)c, key);
}

const void *api_call_body(const struct api_call *c, size_t *len)
{
    *len = c->req->body_len;
    return c->req->body ? c->req->body : "";
}

const char *api_call_ip(const struct api_call *c)
{
    return c->req->ip ? c->req->ip : "";
}

const char *api_call_actor(const struct api_call *c)
{
    return c->actor;
}

const char *api_call_path(const struct api_call *c)
{
    return c->req->path;
}

int64_t api_call_id(const struct api_call *c)
{
    return c->id;
}

int64_t api_call_now(const struct api_call *c)
{
    return c->now;
}

int64_t api_call_node_id(const struct api_call *c)
{
    return c->node.id;
}

struct store *api_call_store(const struct api_call *c)
{
    return c->ctx->st;
}

struct hcache *api_call_cache(const struct api_call *c)
{
    return c->ctx->cfg.cache;
}

void api_call_changed(struct api_call *c, bool nodes_too)
{
    if (nodes_too)
        api__nodes_invalidate(c->ctx);
    if (c->ctx->cfg.cache != NULL)
        hcache_gen_bump(c->ctx->cfg.cache);
}
