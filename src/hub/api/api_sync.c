/* Node sync endpoints (docs/sync-protocol.md) on the ctl/sync codecs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "ctl/sync.h"
#include "hub/api/api_int.h"
#include "hub/cache/cache.h"
#include "hub/domain/node_health.h"
#include "hub/domain/placement.h"
#include "hub/domain/rules.h"
#include "hub/fleet/fleet.h"
#include "hub/targets/targets.h"

#define FLOW_VISION "xtls-rprx-vision"

/* A 400 in the sync protocol's own shape (docs/sync-protocol.md "Errors"):
 * {"v":1,"error":"<message>"}; the admin API's {"error":{...}} object is not used here. */
static void sync_error(struct api_call *c, const char *msg)
{
    api__json(c, 400, json_pack("{s:i,s:s}", "v", 1, "error", msg));
}

/* Moves an encoded buffer into the response. */
static void answer_buf(struct api_call *c, struct buf *b)
{
    struct api_resp *r = c->resp;
    char *body = malloc(buf_len(b) + 1);
    if (body == NULL) {
        buf_dispose(b);
        api__error(c, 500, "internal", "out of memory");
        return;
    }
    memcpy(body, buf_data(b), buf_len(b));
    body[buf_len(b)] = '\0';
    free(r->body);
    r->status = 200;
    r->content_type = "application/json";
    r->body = body;
    r->body_len = buf_len(b);
    buf_dispose(b);
}

/* After a node's pull or push was taken: a node coming back (first contact, or after silence or
 * a down mark) is served again at once; every hub drops its node list and cached answers instead
 * of waiting for their TTLs. */
static void node_checked_in(struct api_call *c, bool hot_flipped)
{
    enum hub_node_verdict was = hub_node_verdict(&c->node, c->now, c->ctx->cfg.node_dead_after);
    /* So does a node turning hot or cool: new customers stop (or start) being placed on it. */
    bool returned = was == HUB_NODE_UNSEEN || was == HUB_NODE_STALE || was == HUB_NODE_DOWN;
    /* Time away does not count as time without client handshakes (hub/domain/client_silence.h). */
    if (returned && fleet_node_returned(c->ctx->st, &c->node, c->now) < 0)
        log_warn("api", 0, "node_return_record_failed", LF_INT("node", c->node.id));
    if (hot_flipped || returned) {
        api__nodes_invalidate(c->ctx);
        if (c->ctx->cfg.cache != NULL)
            hcache_gen_bump(c->ctx->cfg.cache);
    }
}

void api__node_users(struct api_call *c)
{
    uint64_t since = 0;
    if (sync_parse_since(api__query(c, "since"), &since) < 0) {
        sync_error(c, "since: must be a decimal revision");
        return;
    }
    /* A pull is a check-in: nodes pull more often than they push (20 s and 60 s by default), and
     * /sub serves only nodes heard from within fleet.dead_after. */
    int rc = store_node_touch(c->ctx->st, c->node.id, c->now);
    if (rc < 0) {
        api__store_error(c, rc, "node");
        return;
    }
    node_checked_in(c, false);
    int64_t cur;
    rc = store_revision(c->ctx->st, &cur);
    if (rc < 0) {
        api__store_error(c, rc, "revision");
        return;
    }
    /* A node ahead of the hub (restored from a backup) must drop what it has: full answer. */
    bool full = since == 0 || since > (uint64_t)cur;
    /* The node's REALITY target assignment (hub/targets/targets.h) is its own: an answer that
     * carries one is not shared through the cache. */
    struct sync_reality reality;
    rc = targets_reality_for_node(c->ctx->st, c->node.id, c->now, &reality);
    if (rc < 0) {
        api__store_error(c, rc, "targets");
        return;
    }
    /* A target scan the operator asked this node to run (hub/fleet/fleet.h): also its own. */
    struct sync_scan scan;
    rc = fleet_scan_for_node(c->ctx->st, c->node.id, c->now, &scan);
    if (rc < 0) {
        api__store_error(c, rc, "scan");
        return;
    }
    /* Snapshots are cached per (revision, since): every node asking at one revision shares one. */
    struct hcache *hc = c->ctx->cfg.sync_cache_ms && reality.rev == 0 && scan.id == 0 ? c->ctx->cfg.cache : NULL;
    char key[64];
    if (hc != NULL) {
        char *val;
        size_t len;
        snprintf(key, sizeof key, "sync:%lld:%llu", (long long)cur, full ? 0ull : (unsigned long long)since);
        if (hcache_get(hc, key, &val, &len) == 0 && val != NULL) {
            api__metrics_cache(c->ctx, "sync", "hit");
            free(c->resp->body);
            c->resp->status = 200;
            c->resp->content_type = "application/json";
            c->resp->body = val;
            c->resp->body_len = len;
            return;
        }
        api__metrics_cache(c->ctx, "sync", "miss");
    }
    struct store_sync_user *list;
    size_t n;
    int64_t rev;
    rc = store_sync_users(c->ctx->st, full ? 0 : (int64_t)since, c->now, &list, &n, &rev);
    if (rc < 0) {
        api__store_error(c, rc, "users");
        return;
    }
    struct sync_users_resp m = {.revision = (uint64_t)rev, .full = full, .reality = reality, .scan = scan};
    m.users = n ? calloc(n, sizeof *m.users) : NULL;
    m.removed = n && !full ? calloc(n, sizeof *m.removed) : NULL;
    if (n && (m.users == NULL || (!full && m.removed == NULL))) {
        free(list);
        free(m.users);
        free(m.removed);
        api__error(c, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct store_sync_user *u = &list[i];
        if (!u->active) {
            if (!full)
                m.removed[m.n_removed++] = (uint64_t)u->user_id;
            continue;
        }
        struct sync_user *s = &m.users[m.n_users++];
        s->id = (uint64_t)u->user_id;
        snprintf(s->uuid, sizeof s->uuid, "%s", u->uuid);
        snprintf(s->email, sizeof s->email, "%s", u->username);
        snprintf(s->flow, sizeof s->flow, "%s", FLOW_VISION);
        s->device_limit = u->device_limit > 0 && u->device_limit < UINT32_MAX ? (uint32_t)u->device_limit : 0;
    }
    free(list);
    struct buf b;
    buf_init(&b);
    rc = sync_users_resp_encode(&m, &b);
    free(m.users);
    free(m.removed);
    if (rc < 0) {
        buf_dispose(&b);
        api__error(c, 500, "internal", "encode failed");
        return;
    }
    if (hc != NULL) {
        snprintf(key, sizeof key, "sync:%lld:%llu", (long long)rev, full ? 0ull : (unsigned long long)since);
        hcache_put(hc, key, buf_data(&b), buf_len(&b), c->ctx->cfg.sync_cache_ms);
    }
    answer_buf(c, &b);
}

/* One audit row per subject and push with {"attempts": n}, which the analysis rules read
 * (hub/analysis/analysis.h). */
static void audit_attempts(struct api_call *c, const char *action, const char *target, uint64_t n)
{
    char details[48];
    snprintf(details, sizeof details, "{\"attempts\":%" PRIu64 "}", n);
    struct store_audit a = {.actor = c->actor, .action = action, .target = target, .details = details};
    int rc = store_audit_add(c->ctx->st, &a, c->now);
    if (rc < 0)
        log_warn("api", 0, "node_audit_failed", LF_STR("action", action), LF_INT("rc", rc));
}

/* What the node refused per user (docs/node-config.md "BitTorrent", "Blocked ports"): rule
 * "bittorrent" reads node.bittorrent rows, rule "smtp" node.smtp rows. */
static void audit_user_attempts(struct api_call *c, const struct sync_usage_req *m)
{
    for (size_t i = 0; i < m->n_entries; i++) {
        const struct sync_usage_entry *e = &m->entries[i];
        char target[40];
        snprintf(target, sizeof target, "user:%" PRIu64, e->id);
        if (e->bt)
            audit_attempts(c, "node.bittorrent", target, e->bt);
        if (e->smtp)
            audit_attempts(c, "node.smtp", target, e->smtp);
    }
    /* the client networks it flagged for probing: rule "probing" reads node.probing rows */
    for (size_t i = 0; i < m->health.n_probes; i++) {
        char target[8 + SYNC_NET_MAX];
        snprintf(target, sizeof target, "net:%s", m->health.probes[i].net);
        audit_attempts(c, "node.probing", target, m->health.probes[i].fallbacks);
    }
}

void api__node_usage(struct api_call *c)
{
    struct sync_usage_req m;
    struct sync_err se;
    if (sync_usage_req_decode(&m, c->req->body, c->req->body_len, &se) < 0) {
        sync_error(c, se.msg);
        return;
    }
    struct store_usage *u = m.n_entries ? calloc(m.n_entries, sizeof *u) : NULL;
    if (m.n_entries && u == NULL) {
        sync_usage_req_dispose(&m);
        api__error(c, 500, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < m.n_entries; i++) {
        const struct sync_usage_entry *e = &m.entries[i];
        if (e->id > INT64_MAX || e->up > (uint64_t)HUB_MAX_QUOTA || e->down > (uint64_t)HUB_MAX_QUOTA) {
            free(u);
            sync_usage_req_dispose(&m);
            sync_error(c, "usage: value out of range");
            return;
        }
        u[i] = (struct store_usage){(int64_t)e->id, (int64_t)e->up, (int64_t)e->down};
    }
    bool dup = false;
    int64_t rev = 0;
    int rc = store_usage_push(c->ctx->st, c->node.id, m.push_id, u, m.n_entries, c->now, &dup, &rev);
    free(u);
    /* The load it reports orders customers' subscriptions (hub/domain/placement.h). */
    const struct sync_health *h = &m.health;
    struct hub_node now_load = c->node;
    now_load.load_connections = (int64_t)h->connections;
    now_load.load_cpu = (int64_t)h->cpu;
    now_load.load_bps = (int64_t)h->bytes_per_sec;
    /* Hot with hysteresis: a node at the limit does not flap between hot and cool. */
    bool hot = hub_node_hot_next(c->node.hot, &now_load, &c->ctx->cfg.place);
    bool hot_flipped = hot != c->node.hot;
    if (rc == 0 && !dup)
        audit_user_attempts(c, &m);
    if (rc == 0 && !dup)
        rc = store_node_set_load(c->ctx->st, c->node.id, now_load.load_connections, now_load.load_cpu,
                                 now_load.load_bps, hot);
    /* Customers still complete handshakes here: the node is reachable from their side. */
    bool heard_back = false;
    if (rc == 0 && !dup && h->handshakes > 0)
        rc = fleet_heard(c->ctx->st, &c->node, c->now, &heard_back);
    if (heard_back)
        log_info("api", 0, "node_clients_back", LF_INT("node", c->node.id), LF_STR("name", c->node.name),
                 LF_UINT("handshakes", h->handshakes));
    /* What it saw of its REALITY target: the rotation rule's input (hub/targets/targets.h). */
    if (rc == 0 && !dup)
        rc = targets_record_health(c->ctx->st, c->node.id, h, c->now);
    sync_usage_req_dispose(&m);
    if (rc < 0) {
        api__store_error(c, rc, "usage");
        return;
    }
    if (!dup)
        node_checked_in(c, hot_flipped || heard_back);
    struct sync_usage_resp r = {.duplicate = dup, .revision = (uint64_t)rev};
    struct buf b;
    buf_init(&b);
    if (sync_usage_resp_encode(&r, &b) < 0) {
        buf_dispose(&b);
        api__error(c, 500, "internal", "encode failed");
        return;
    }
    answer_buf(c, &b);
}
