/* GET /sub/<token>[/<format>|/info]: the public subscription endpoint. Looks the user, their
 * current subscription and the usable nodes up, and lets hub/sub render the answer. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "hub/api/api_int.h"
#include "hub/cache/cache.h"
#include "hub/domain/node_health.h"
#include "hub/domain/placement.h"
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

/* What /sub shows is what nodes enforce: hub_user_access decides both. */
static enum sub_user_state user_state(const struct hub_user *u, const struct hub_sub *s, bool has_sub, int64_t now)
{
    switch (hub_user_access(u, has_sub ? s : NULL, now)) {
    case HUB_ACCESS_OK:
        return SUB_USER_ACTIVE;
    case HUB_ACCESS_LIMITED:
        return SUB_USER_LIMITED;
    case HUB_ACCESS_EXPIRED:
        return SUB_USER_EXPIRED;
    case HUB_ACCESS_NOT_STARTED:
        return SUB_USER_PENDING;
    case HUB_ACCESS_DISABLED:
    case HUB_ACCESS_REVOKED:
    case HUB_ACCESS__COUNT:
        break;
    }
    return SUB_USER_DISABLED;
}

/* Remnawave's accepted x-hwid syntax: [A-Za-z0-9=-]{10,64}. */
static bool hwid_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 10 || n > STORE_HWID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '=' ||
              ch == '-'))
            return false;
    }
    return true;
}

void api_ctx_node_reachable(struct api_ctx *ctx, int64_t node_id, bool reachable)
{
    bool changed = false;
    pthread_mutex_lock(&ctx->node_mu);
    size_t i = 0;
    while (i < ctx->n_unreachable && ctx->unreachable[i] != node_id)
        i++;
    if (!reachable && i == ctx->n_unreachable && i < API_UNREACHABLE_MAX) {
        ctx->unreachable[ctx->n_unreachable++] = node_id;
        changed = true;
    } else if (reachable && i < ctx->n_unreachable) {
        ctx->unreachable[i] = ctx->unreachable[--ctx->n_unreachable];
        changed = true;
    }
    pthread_mutex_unlock(&ctx->node_mu);
    if (changed && ctx->cfg.cache != NULL)
        hcache_gen_bump(ctx->cfg.cache);
}

static bool unreachable_locked(const struct api_ctx *ctx, int64_t node_id)
{
    for (size_t i = 0; i < ctx->n_unreachable; i++)
        if (ctx->unreachable[i] == node_id)
            return true;
    return false;
}

void api__nodes_invalidate(struct api_ctx *ctx)
{
    pthread_mutex_lock(&ctx->node_mu);
    ctx->nodes_until_ms = 0;
    pthread_mutex_unlock(&ctx->node_mu);
}

/* A private copy of the nodes served at `now` in subscription order, from the cache or, when
 * stale, from the store. The cached list holds every node the operator and stored health allow;
 * liveness (last_seen) is judged here, per request, so a node that stops pushing leaves the
 * answer the second it goes stale whatever the caches hold. *fresh_for is how many seconds the
 * answer stays true (the least of the nodes' hub_node_fresh_for; INT64_MAX without nodes). */
static int usable_nodes(struct api_ctx *ctx, uint64_t gen, int64_t now, struct hub_node **out, size_t *n,
                        int64_t *fresh_for)
{
    *out = NULL;
    *n = 0;
    *fresh_for = INT64_MAX;
    int64_t mono = (int64_t)clock_mono_ms();
    int64_t dead_after = ctx->cfg.node_dead_after;
    pthread_mutex_lock(&ctx->node_mu);
    /* A new cache generation (any hub changed something) reloads the list at once. */
    if (mono >= ctx->nodes_until_ms || gen != ctx->nodes_gen) {
        struct hub_node *all;
        size_t n_all, k = 0;
        int rc = store_node_list(ctx->st, &all, &n_all);
        if (rc < 0) {
            pthread_mutex_unlock(&ctx->node_mu);
            return rc;
        }
        for (size_t i = 0; i < n_all; i++)
            if (hub_node_verdict(&all[i], 0, 0) == HUB_NODE_SERVED)
                all[k++] = all[i];
        if (k > 1)
            qsort(all, k, sizeof *all, node_order);
        free(ctx->nodes);
        ctx->nodes = all;
        ctx->n_nodes = k;
        ctx->nodes_until_ms = mono + API_NODE_CACHE_MS;
        ctx->nodes_gen = gen;
    }
    int rc = 0;
    if (ctx->n_nodes > 0) {
        *out = malloc(ctx->n_nodes * sizeof **out);
        if (*out == NULL)
            rc = ERR_NOMEM;
        else {
            for (size_t i = 0; i < ctx->n_nodes; i++) {
                int64_t left = hub_node_fresh_for(&ctx->nodes[i], now, dead_after);
                if (left <= 0 || unreachable_locked(ctx, ctx->nodes[i].id))
                    continue;
                (*out)[(*n)++] = ctx->nodes[i];
                if (left < *fresh_for)
                    *fresh_for = left;
            }
        }
    }
    pthread_mutex_unlock(&ctx->node_mu);
    return rc;
}

/* How long a rendered answer may be cached: the configured TTL, cut so that it never outlives
 * the first of its nodes going stale. */
static unsigned answer_ttl_ms(unsigned ttl_ms, int64_t fresh_for)
{
    if (fresh_for <= 0)
        return 0;
    if (fresh_for > (int64_t)(ttl_ms / 1000))
        return ttl_ms;
    return (unsigned)fresh_for * 1000u; /* fresh_for <= ttl_ms / 1000: no overflow */
}

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
    const struct api_cfg *cfg = &c->ctx->cfg;
    const struct api_settings *set = api__settings(c->ctx);
    /* The web page speaks the visitor's language: ?lang= first, then Accept-Language. */
    const struct api_req *rq = c->req;
    enum sub_lang lang = sub_pick_lang(rq->query ? rq->query(rq->query_arg, "lang") : NULL,
                                       rq->header ? rq->header(rq->header_arg, "accept-language") : NULL);
    /* The answer depends on the token and the format (detected from the headers when the path
     * has none); the cache key carries a hash of the token, never the token. The web page is
     * not cached: people open it, not polling apps, and it varies with language and platform. */
    enum sub_format f =
        sp.format != SUB_FMT_AUTO ? sp.format : sub_detect_format(c->req->user_agent, c->req->accept, cfg->xray_json);
    struct hcache *hc = cfg->sub_cache_ms ? cfg->cache : NULL;
    uint64_t gen = 0;
    char key[96] = "";
    bool cacheable = hc != NULL && (sp.info || f != SUB_FMT_HTML); /* never stored: the lookup gives gen */
    if (hc != NULL) {
        char th[65];
        char *val = NULL;
        size_t len = 0;
        if (api_token_hash(token, sp.token_len, th) == 0) {
            snprintf(key, sizeof key, "sub:%.32s:%s", th, sp.info ? "info" : sub_format_name(f));
            (void)hcache_gen_get(hc, key, &gen, &val, &len);
        } else {
            cacheable = false;
        }
        if (val != NULL && api__subcache_is_nocache(val, len)) {
            cacheable = false;
            api__metrics_cache(c->ctx, "sub", "bypass");
        } else if (val != NULL && api__subcache_serve(c, val, len)) {
            free(val);
            api__sub_fetch_note(c, token, 0);
            api__metrics_cache(c->ctx, "sub", "hit");
            api__metrics_sub(c->ctx, sp.info ? "info" : sub_format_name(f));
            return;
        } else {
            api__metrics_cache(c->ctx, "sub", "miss");
        }
        free(val);
    }
    struct hub_user u;
    struct hub_sub s;
    bool has_sub = false;
    struct store_sub_place place;
    int rc = store_sub_view_ex(c->ctx->st, token, &u, &s, &has_sub, &place);
    if (rc < 0) {
        if (rc == ERR_NOT_FOUND)
            api__error(c, 404, "not_found", "no such subscription");
        else
            api__store_error(c, rc, "subscription");
        return;
    }
    /* Where the link is used from, for the analysis (hub/analysis/: sharing, leaked links). */
    api__sub_fetch_note(c, token, u.id);
    struct sub_user su = {
        .uuid = u.uuid,
        .name = u.username,
        .upload = has_sub ? (uint64_t)s.used_up : 0,
        .download = has_sub ? (uint64_t)s.used_down : 0,
        .total = has_sub ? (uint64_t)s.quota_bytes : 0,
        .expire = has_sub ? s.ends_at : 0,
        .state = user_state(&u, &s, has_sub, c->now),
        .traffic_reset_at = has_sub && s.quota_bytes > 0 ? hub_reset_next(s.reset, c->now) : 0,
    };
    /* Device limit (spec/ecosystem.md §d.1): only HWID-aware clients can be counted; others are
     * served and told so. A new device past the limit gets the info entry instead of servers. */
    const char *announce = NULL;
    char announce_buf[128];
    if (!sp.info && su.state == SUB_USER_ACTIVE && s.device_limit > 0) {
        /* Counted on every fetch: this user's answers are never served from the cache. */
        if (cacheable) {
            const char *marker;
            size_t mlen;
            api__subcache_nocache(&marker, &mlen);
            hcache_gen_put(hc, gen, key, marker, mlen, cfg->sub_cache_ms);
            cacheable = false;
        }
        char limit_txt[24];
        snprintf(limit_txt, sizeof limit_txt, "%lld", (long long)s.device_limit);
        if (!hwid_valid(c->req->hwid)) {
            api__header(c, "x-hwid-not-supported", "true");
        } else {
            char ua[129];
            snprintf(ua, sizeof ua, "%s", c->req->user_agent ? c->req->user_agent : "");
            bool allowed = true;
            rc = store_device_seen(c->ctx->st, u.id, c->req->hwid, ua, c->req->ip, c->now, s.device_limit, &allowed);
            if (rc < 0) {
                api__store_error(c, rc, "device");
                return;
            }
            api__header(c, "x-hwid-active", "true");
            api__header(c, "x-hwid-limit", "true");
            if (!allowed) {
                api__header(c, "x-hwid-max-devices-reached", "true");
                su.state = SUB_USER_DISABLED;
                snprintf(announce_buf, sizeof announce_buf,
                         "Device limit reached (%s). Remove a device to use this one.", limit_txt);
                announce = announce_buf;
            }
        }
    }

    /* The web page tells how many device slots are taken. */
    if (!sp.info && f == SUB_FMT_HTML && has_sub && s.device_limit > 0) {
        struct store_device *devs = NULL;
        size_t nd = 0;
        if (store_device_list(c->ctx->st, u.id, &devs, &nd) == 0) {
            su.devices = nd > UINT32_MAX ? UINT32_MAX : (uint32_t)nd;
            su.device_limit = s.device_limit > UINT32_MAX ? UINT32_MAX : (uint32_t)s.device_limit;
        }
        free(devs);
    }
    struct hub_node *nodes;
    size_t n;
    int64_t fresh_for;
    if ((rc = usable_nodes(c->ctx, gen, c->now, &nodes, &n, &fresh_for)) < 0) {
        api__store_error(c, rc, "nodes");
        return;
    }
    /* This customer's own order (hub/domain/placement.h): sticky and weighted, hot nodes last,
     * within the node groups of their plan (a deleted plan restricts nothing), the user's
     * preferred country (else their plan's) first (hub/fleet/fleet.h); all read with the user
     * in store_sub_view_ex, not in two more queries. */
    const char *groups = has_sub && n > 0 ? place.plan_node_groups : "";
    const char *country = "";
    if (n > 1)
        country = place.user_country[0] != '\0' || !has_sub ? place.user_country : place.plan_country;
    n = hub_place_order_pref(u.id, groups, country, &cfg->place, nodes, n);
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
    /* The browser view of this same subscription, for the client's "open web page" button. */
    char web[600] = "";
    if (cfg->public_url != NULL && cfg->public_url[0]) {
        size_t bl = strlen(cfg->public_url);
        snprintf(web, sizeof web, "%.*s/sub/%s", (int)(cfg->public_url[bl - 1] == '/' ? bl - 1 : bl), cfg->public_url,
                 token);
    }
    struct sub_request req = {
        .format = sp.format,
        .user_agent = c->req->user_agent,
        .accept = c->req->accept,
        .xray_json = cfg->xray_json,
        .now = c->now,
        .user = &su,
        .nodes = sn,
        .n_nodes = n,
        .profile_title = set->profile_title[0] ? set->profile_title : NULL,
        .update_interval_hours = set->update_interval_hours,
        .support_url = set->support_url,
        .web_page_url = web,
        .announce = announce,
        .lang = lang,
        .accent_color = cfg->page_color,
        .logo_url = cfg->page_logo_url,
        .renew_url = cfg->renew_url,
    };
    struct sub_response out;
    rc = sp.info ? sub_render_info(&req, &out) : sub_render(&req, &out);
    free(sn);
    free(nodes);
    if (rc < 0) {
        api__error(c, 500, "internal", "subscription rendering failed");
        return;
    }
    api__metrics_sub(c->ctx, sp.info ? "info" : sub_format_name(out.format));
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
    char *blob;
    size_t blen;
    unsigned ttl_ms = cacheable ? answer_ttl_ms(cfg->sub_cache_ms, fresh_for) : 0;
    if (ttl_ms > 0 && api__subcache_encode(r, &blob, &blen) == 0) {
        hcache_gen_put(hc, gen, key, blob, blen, ttl_ms);
        free(blob);
    }
}
