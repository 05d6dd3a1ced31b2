/* GET /sub/<token>[/<format>|/info]: the public subscription endpoint. Looks the user, their
 * current subscription and the usable nodes up, and lets hub/sub render the answer. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_int.h"
#include "hub/domain/rules.h"
#include "hub/sub/sub.h"

/* Healthy first, then by weight (heavier first), then by id. */
static int node_order(const void *x, const void *y)
{
    const struct hub_node *a = x, *b = y;
    int ha = a->health == HUB_HEALTH_UP ? 0 : 1, hb = b->health == HUB_HEALTH_UP ? 0 : 1;
    if (ha != hb)
        return ha - hb;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static enum sub_user_state user_state(const struct hub_user *u, const struct hub_sub *s, bool has_sub, int64_t now)
{
    if (!u->enabled || !has_sub || s->state == HUB_SUB_REVOKED)
        return SUB_USER_DISABLED;
    switch (hub_sub_evaluate(s, now)) {
    case HUB_SUB_ACTIVE:
        return SUB_USER_ACTIVE;
    case HUB_SUB_LIMITED:
        return SUB_USER_LIMITED;
    case HUB_SUB_EXPIRED:
        return SUB_USER_EXPIRED;
    case HUB_SUB_REVOKED:
    case HUB_SUB__COUNT:
        break;
    }
    return SUB_USER_DISABLED;
}

static const char *const state_names[SUB_USER__COUNT] = {"active", "disabled", "limited", "expired"};

void api__sub_page(struct api_call *c)
{
    struct sub_path sp;
    const char *path = c->req->path;
    if (sub_parse_path(path, strlen(path), "/sub/", &sp) < 0 || sp.token_len > HUB_TOKEN_MAX) {
        api__error(c, 404, "not_found", "no such subscription");
        return;
    }
    char token[HUB_TOKEN_MAX + 1];
    memcpy(token, sp.token, sp.token_len);
    token[sp.token_len] = '\0';
    struct hub_user u;
    int rc = store_user_by_token(c->ctx->st, token, &u);
    if (rc < 0) {
        if (rc == ERR_NOT_FOUND)
            api__error(c, 404, "not_found", "no such subscription");
        else
            api__store_error(c, rc, "subscription");
        return;
    }
    struct hub_sub s;
    memset(&s, 0, sizeof s);
    rc = store_sub_current(c->ctx->st, u.id, &s);
    if (rc < 0 && rc != ERR_NOT_FOUND) {
        api__store_error(c, rc, "subscription");
        return;
    }
    bool has_sub = rc == 0;
    struct sub_user su = {
        .uuid = u.uuid,
        .name = u.username,
        .upload = has_sub ? (uint64_t)s.used_up : 0,
        .download = has_sub ? (uint64_t)s.used_down : 0,
        .total = has_sub ? (uint64_t)s.quota_bytes : 0,
        .expire = has_sub ? s.ends_at : 0,
        .state = user_state(&u, &s, has_sub, c->now),
    };
    if (sp.info) {
        json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "username", u.username, "state", state_names[su.state],
                              "upload", (json_int_t)su.upload, "download", (json_int_t)su.download, "total",
                              (json_int_t)su.total, "expire", (json_int_t)su.expire);
        api__json(c, 200, j);
        return;
    }

    struct hub_node *nodes;
    size_t n_all;
    if ((rc = store_node_list(c->ctx->st, &nodes, &n_all)) < 0) {
        api__store_error(c, rc, "nodes");
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < n_all; i++)
        if (nodes[i].weight > 0 && !nodes[i].draining && nodes[i].health != HUB_HEALTH_DOWN)
            nodes[n++] = nodes[i];
    if (n > 1)
        qsort(nodes, n, sizeof *nodes, node_order);
    struct sub_node *sn = n ? calloc(n, sizeof *sn) : NULL;
    if (n && sn == NULL) {
        free(nodes);
        api__error(c, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sn[i] = (struct sub_node){
            .name = nodes[i].name,
            .address = nodes[i].address,
            .port = nodes[i].port,
            .public_key = nodes[i].public_key,
            .short_id = nodes[i].n_short_ids ? nodes[i].short_ids[0] : "",
            .server_name = nodes[i].n_server_names ? nodes[i].server_names[0] : NULL,
        };
    }
    const struct api_cfg *cfg = &c->ctx->cfg;
    struct sub_request req = {
        .format = sp.format,
        .user_agent = c->req->user_agent,
        .accept = c->req->accept,
        .xray_json = cfg->xray_json,
        .now = c->now,
        .user = &su,
        .nodes = sn,
        .n_nodes = n,
        .profile_title = cfg->profile_title,
        .update_interval_hours = cfg->update_interval_hours,
        .support_url = cfg->support_url,
    };
    struct sub_response out;
    rc = sub_render(&req, &out);
    free(sn);
    free(nodes);
    if (rc < 0) {
        api__error(c, 500, "internal", "subscription rendering failed");
        return;
    }
    struct api_resp *r = c->resp;
    free(r->body);
    r->status = out.status ? out.status : 200;
    r->content_type = out.content_type;
    r->body = out.body;
    r->body_len = out.body_len;
    out.body = NULL;
    for (size_t i = 0; i < out.n_headers; i++)
        api__header(c, out.headers[i].name, out.headers[i].value);
    sub_response_dispose(&out);
}
