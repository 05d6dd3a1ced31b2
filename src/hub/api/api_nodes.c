/* /api/v1/nodes: register (the node token is returned once), read, change, drain, delete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secure.h"
#include "hub/api/api_int.h"
#include "hub/api/api_route.h"
#include "hub/domain/rules.h"

static json_t *node_json(const struct hub_node *n)
{
    json_t *sids = json_array(), *sns = json_array();
    for (size_t i = 0; i < n->n_short_ids; i++)
        json_array_append_new(sids, json_string(n->short_ids[i]));
    for (size_t i = 0; i < n->n_server_names; i++)
        json_array_append_new(sns, json_string(n->server_names[i]));
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:i,s:s,s:s,s:o,s:o,s:I,s:I,s:s,s:b,s:I,s:I,s:I,s:I,s:s,s:{s:I,s:I,s:I}}", "id",
        (json_int_t)n->id, "name", n->name, "address", n->address, "port", (int)n->port, "country", n->country,
        "public_key", n->public_key, "short_ids", sids, "server_names", sns, "weight", (json_int_t)n->weight,
        "usage_percent", (json_int_t)n->usage_percent, "health", hub_health_name(n->health), "draining", n->draining,
        "last_seen", (json_int_t)n->last_seen, "traffic_up", (json_int_t)n->traffic_up, "traffic_down",
        (json_int_t)n->traffic_down, "created_at", (json_int_t)n->created_at, "group", n->group, "load", "connections",
        (json_int_t)n->load_connections, "cpu", (json_int_t)n->load_cpu, "bps", (json_int_t)n->load_bps);
    /* Fleet signals (hub/fleet/fleet.h): the hot mark and the clients' handshakes. */
    if (o != NULL) {
        json_object_set_new(json_object_get(o, "load"), "hot", json_boolean(n->hot));
        json_object_set_new(o, "clients",
                            json_pack("{s:I,s:I}", "handshake_at", (json_int_t)n->handshake_at, "silent_since",
                                      (json_int_t)n->silent_since));
    }
    return o;
}

void api__nodes_create(struct api_call *c)
{
    struct hub_node n;
    struct api_verr e;
    if (api_parse_node(c->req->body, c->req->body_len, &n, &e) < 0) {
        api__verr(c, &e);
        return;
    }
    char tok[HUB_TOKEN_MAX + 1], hash[65];
    if (api__token_new("vn_", tok, hash) < 0) {
        api__error(c, 500, "internal", "token generation failed");
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
    char tok[HUB_TOKEN_MAX + 1], hash[65];
    if (api__token_new("vn_", tok, hash) < 0) {
        api__error(c, 500, "internal", "token generation failed");
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
    api_reply(c, 204, "application/json", "", 0);
}
