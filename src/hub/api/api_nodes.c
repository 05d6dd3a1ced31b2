/* /api/v1/nodes (register returns the node token once), stats and the audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "hub/api/api_int.h"
#include "hub/domain/rules.h"

static json_t *node_json(const struct hub_node *n)
{
    json_t *sids = json_array(), *sns = json_array();
    for (size_t i = 0; i < n->n_short_ids; i++)
        json_array_append_new(sids, json_string(n->short_ids[i]));
    for (size_t i = 0; i < n->n_server_names; i++)
        json_array_append_new(sns, json_string(n->server_names[i]));
    return json_pack("{s:I,s:s,s:s,s:i,s:s,s:s,s:o,s:o,s:I,s:I,s:s,s:b,s:I,s:I,s:I,s:I}", "id", (json_int_t)n->id,
                     "name", n->name, "address", n->address, "port", (int)n->port, "country", n->country, "public_key",
                     n->public_key, "short_ids", sids, "server_names", sns, "weight", (json_int_t)n->weight,
                     "usage_percent", (json_int_t)n->usage_percent, "health", hub_health_name(n->health), "draining",
                     n->draining, "last_seen", (json_int_t)n->last_seen, "traffic_up", (json_int_t)n->traffic_up,
                     "traffic_down", (json_int_t)n->traffic_down, "created_at", (json_int_t)n->created_at);
}

void api__nodes_create(struct api_call *c)
{
    struct hub_node n;
    struct api_verr e;
    if (api_parse_node(c->req->body, c->req->body_len, &n, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    uint8_t rnd[HUB_API_TOKEN_RAND];
    char tok[HUB_TOKEN_MAX + 1], hash[65];
    if (api__random(rnd, sizeof rnd) < 0) {
        api__error(c, 500, "internal", "random generator failed");
        return;
    }
    hub_api_token_format(tok, "vn_", rnd);
    secure_wipe(rnd, sizeof rnd);
    if (api_token_hash(tok, strlen(tok), hash) < 0) {
        api__error(c, 500, "internal", "hash failed");
        return;
    }
    json_t *d = json_pack("{s:s,s:s}", "name", n.name, "address", n.address);
    char *det = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    struct store_audit a = api__audit(c, "node.register", det);
    int rc = store_node_create(c->ctx->st, &n, hash, c->now, &a);
    free(det);
    api__nodes_invalidate(c->ctx);
    if (rc < 0) {
        secure_wipe(tok, sizeof tok);
        api__store_error(c, rc, "node (name)");
        return;
    }
    json_t *j = node_json(&n);
    /* The only time the token is ever shown: only its hash is stored. */
    json_object_set_new(j, "token", json_string(tok));
    secure_wipe(tok, sizeof tok);
    api__json(c, 201, j);
}

void api__nodes_patch(struct api_call *c)
{
    struct hub_node n;
    struct api_verr e;
    int rc = store_node_get(c->ctx->st, c->id, &n);
    if (rc < 0) {
        api__store_error(c, rc, "node");
        return;
    }
    if (api_parse_node_patch(c->req->body, c->req->body_len, &n, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char *det = strndup(c->req->body, c->req->body_len);
    struct store_audit a = api__audit(c, "node.update", det);
    rc = store_node_update(c->ctx->st, &n, c->now, &a);
    free(det);
    api__nodes_invalidate(c->ctx);
    if (rc == 0)
        rc = store_node_get(c->ctx->st, c->id, &n);
    if (rc < 0) {
        api__store_error(c, rc, "node (name)");
        return;
    }
    api__json(c, 200, node_json(&n));
}

void api__nodes_rotate_token(struct api_call *c)
{
    uint8_t rnd[HUB_API_TOKEN_RAND];
    char tok[HUB_TOKEN_MAX + 1], hash[65];
    if (api__random(rnd, sizeof rnd) < 0) {
        api__error(c, 500, "internal", "random generator failed");
        return;
    }
    hub_api_token_format(tok, "vn_", rnd);
    secure_wipe(rnd, sizeof rnd);
    if (api_token_hash(tok, strlen(tok), hash) < 0) {
        api__error(c, 500, "internal", "hash failed");
        return;
    }
    struct store_audit a = api__audit(c, "node.rotate_token", NULL);
    struct hub_node n;
    int rc = store_node_set_token(c->ctx->st, c->id, hash, c->now, &a);
    if (rc == 0)
        rc = store_node_get(c->ctx->st, c->id, &n);
    if (rc < 0) {
        secure_wipe(tok, sizeof tok);
        api__store_error(c, rc, "node");
        return;
    }
    json_t *j = node_json(&n);
    json_object_set_new(j, "token", json_string(tok)); /* shown this once */
    secure_wipe(tok, sizeof tok);
    api__json(c, 200, j);
}

void api__nodes_list(struct api_call *c)
{
    struct hub_node *list;
    size_t n;
    int rc = store_node_list(c->ctx->st, &list, &n);
    if (rc < 0) {
        api__store_error(c, rc, "nodes");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, node_json(&list[i]));
    free(list);
    api__json(c, 200, json_pack("{s:o}", "nodes", arr));
}

void api__nodes_get(struct api_call *c)
{
    struct hub_node n;
    int rc = store_node_get(c->ctx->st, c->id, &n);
    if (rc < 0) {
        api__store_error(c, rc, "node");
        return;
    }
    api__json(c, 200, node_json(&n));
}

static void node_set(struct api_call *c, const char *action, int64_t weight, int draining, int health, const char *det)
{
    struct store_audit a = api__audit(c, action, det);
    int rc = store_node_set(c->ctx->st, c->id, weight, draining, health, c->now, &a);
    api__nodes_invalidate(c->ctx);
    struct hub_node n;
    if (rc == 0)
        rc = store_node_get(c->ctx->st, c->id, &n);
    if (rc < 0) {
        api__store_error(c, rc, "node");
        return;
    }
    api__json(c, 200, node_json(&n));
}

void api__nodes_health(struct api_call *c)
{
    enum hub_health h;
    struct api_verr e;
    if (api_parse_health(c->req->body, c->req->body_len, &h, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char det[48];
    snprintf(det, sizeof det, "{\"health\":\"%s\"}", hub_health_name(h));
    node_set(c, "node.health", -1, -1, (int)h, det);
}

void api__nodes_weight(struct api_call *c)
{
    int64_t w;
    struct api_verr e;
    if (api_parse_weight(c->req->body, c->req->body_len, &w, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char det[48];
    snprintf(det, sizeof det, "{\"weight\":%lld}", (long long)w);
    node_set(c, "node.weight", w, -1, -1, det);
}

void api__nodes_drain(struct api_call *c)
{
    bool d;
    struct api_verr e;
    if (api_parse_drain(c->req->body, c->req->body_len, &d, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    node_set(c, "node.drain", -1, d ? 1 : 0, -1, d ? "{\"draining\":true}" : "{\"draining\":false}");
}

void api__nodes_delete(struct api_call *c)
{
    struct store_audit a = api__audit(c, "node.delete", NULL);
    int rc = store_node_delete(c->ctx->st, c->id, c->now, &a);
    api__nodes_invalidate(c->ctx);
    if (rc < 0) {
        api__store_error(c, rc, "node");
        return;
    }
    c->resp->status = 204;
    c->resp->content_type = "application/json";
    c->resp->body = strdup("");
}

void api__stats(struct api_call *c)
{
    struct store_stats s;
    int rc = store_stats_get(c->ctx->st, &s);
    if (rc < 0) {
        api__store_error(c, rc, "stats");
        return;
    }
    api__json(c, 200,
              json_pack("{s:{s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I},s:I,s:I}", "users", "total",
                        (json_int_t)s.users, "enabled", (json_int_t)s.users_enabled, "subscriptions", "active",
                        (json_int_t)s.subs_active, "limited", (json_int_t)s.subs_limited, "expired",
                        (json_int_t)s.subs_expired, "nodes", "total", (json_int_t)s.nodes, "up", (json_int_t)s.nodes_up,
                        "draining", (json_int_t)s.nodes_draining, "traffic", "up", (json_int_t)s.traffic_up, "down",
                        (json_int_t)s.traffic_down, "payments_succeeded", (json_int_t)s.payments_succeeded, "revision",
                        (json_int_t)s.revision));
}

void api__audit_list(struct api_call *c)
{
    int64_t limit = 100;
    const char *l = api__query(c, "limit");
    if (l != NULL && api_parse_uint_param(l, 1, 1000, &limit) < 0) {
        api__error(c, 400, "invalid_query", "limit must be 1..1000");
        return;
    }
    struct store_audit_row *rows;
    size_t n;
    int rc = store_audit_list(c->ctx->st, limit, &rows, &n);
    if (rc < 0) {
        api__store_error(c, rc, "audit log");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *det = NULL;
        if (rows[i].details != NULL)
            det = json_loads(rows[i].details, 0, NULL);
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:o}", "id", (json_int_t)rows[i].id, "actor",
                                             rows[i].actor, "action", rows[i].action, "target", rows[i].target, "at",
                                             (json_int_t)rows[i].at, "source_ip", rows[i].source_ip, "details",
                                             det ? det : json_null()));
    }
    store_audit_rows_free(rows, n);
    api__json(c, 200, json_pack("{s:o}", "entries", arr));
}

void api__tokens_create(struct api_call *c)
{
    char name[HUB_NAME_MAX + 1];
    enum hub_role role;
    struct api_verr e;
    if (api_parse_token(c->req->body, c->req->body_len, name, &role, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char tok[HUB_TOKEN_MAX + 1];
    int64_t id = 0;
    int rc = api_token_create_id(c->ctx->st, name, role, c->now, tok, &id);
    if (rc < 0) {
        api__store_error(c, rc, "token");
        return;
    }
    char det[128];
    snprintf(det, sizeof det, "{\"role\":\"%s\"}", hub_role_name(role));
    char target[32];
    snprintf(target, sizeof target, "token:%lld", (long long)id);
    struct store_audit a = api__audit(c, "token.create", det);
    a.target = target;
    (void)store_audit_add(c->ctx->st, &a, c->now);
    json_t *j = json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)id, "name", name, "role", hub_role_name(role), "token",
                          tok); /* shown this once */
    secure_wipe(tok, sizeof tok);
    api__json(c, 201, j);
}

void api__tokens_list(struct api_call *c)
{
    struct store_token *list;
    size_t n;
    int rc = store_token_list(c->ctx->st, &list, &n);
    if (rc < 0) {
        api__store_error(c, rc, "tokens");
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:I,s:s,s:s,s:I,s:b}", "id", (json_int_t)list[i].id, "name",
                                             list[i].name, "role", hub_role_name(list[i].role), "created_at",
                                             (json_int_t)list[i].created_at, "revoked", list[i].revoked));
    free(list);
    api__json(c, 200, json_pack("{s:o}", "tokens", arr));
}

void api__tokens_revoke(struct api_call *c)
{
    if (c->id == c->token_id) {
        api__error(c, 409, "invalid_state", "a token cannot revoke itself");
        return;
    }
    struct store_audit a = api__audit(c, "token.revoke", NULL);
    int rc = store_token_revoke(c->ctx->st, c->id, c->now, &a);
    if (rc < 0) {
        api__store_error(c, rc, "token");
        return;
    }
    c->resp->status = 204;
    c->resp->content_type = "application/json";
    c->resp->body = strdup("");
}
