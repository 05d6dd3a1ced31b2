/* Lockout after failed authentications (api_access.h): fixed-window failure counters and lock
 * entries in the hub cache (hcache_rate / hcache_put), so hubs sharing Redis share them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/api/api_access.h"
#include "hub/api/api_int.h"
#include "hub/cache/cache.h"

static void lock_key(char *out, size_t cap, const char *ip, int64_t token_id)
{
    if (token_id != 0)
        snprintf(out, cap, "lockout:lock:tok:%" PRId64, token_id);
    else
        snprintf(out, cap, "lockout:lock:ip:%.64s", ip);
}

/* Seconds left on a lock (0: none). The entry holds the unlock time; it also expires itself. */
static int64_t locked_for(struct api_call *c, const char *ip, int64_t token_id)
{
    char key[96], *val = NULL;
    size_t len = 0;
    lock_key(key, sizeof key, ip, token_id);
    if (hcache_get(c->ctx->cfg.cache, key, &val, &len) < 0 || val == NULL)
        return 0;
    int64_t until = strtoll(val, NULL, 10);
    free(val);
    return until > c->now ? until - c->now : 0;
}

bool api_lockout_refuse(struct api_call *c, int64_t token_id)
{
    const struct api_access_cfg *a = &c->ctx->cfg.access;
    if (a->lock_failures == 0 || c->ctx->cfg.cache == NULL)
        return false;
    const char *ip = c->req->ip ? c->req->ip : "";
    int64_t left = ip[0] ? locked_for(c, ip, 0) : 0;
    if (left == 0 && token_id != 0)
        left = locked_for(c, ip, token_id);
    if (left == 0)
        return false;
    char ra[24];
    snprintf(ra, sizeof ra, "%" PRId64, left);
    api__header(c, "Retry-After", ra);
    api__error(c, 429, "locked_out", "too many failed attempts: locked for a while");
    return true;
}

/* Counts one failure for the subject; at the limit, locks it (once), audits and counts. */
static void count(struct api_call *c, const char *reason, const char *ip, int64_t token_id)
{
    const struct api_access_cfg *a = &c->ctx->cfg.access;
    char key[96];
    bool allowed = true;
    unsigned retry = 0;
    if (token_id != 0)
        snprintf(key, sizeof key, "lockout:fail:tok:%" PRId64, token_id);
    else
        snprintf(key, sizeof key, "lockout:fail:ip:%.64s", ip);
    /* hcache_rate answers "not allowed" from the (limit+1)-th count on: limit failures-1 makes
     * the failures-th failure the one that locks. */
    if (a->lock_failures > 1 &&
        (hcache_rate(c->ctx->cfg.cache, key, a->lock_failures - 1, a->lock_window, &allowed, &retry) < 0 || allowed))
        return;
    if (locked_for(c, ip, token_id) > 0)
        return; /* already locked: the lock is not extended by further tries */
    char until[24];
    int n = snprintf(until, sizeof until, "%" PRId64, c->now + (int64_t)a->lock_duration);
    lock_key(key, sizeof key, ip, token_id);
    hcache_put(c->ctx->cfg.cache, key, until, (size_t)n, (int64_t)a->lock_duration * 1000);
    char actor[48], det[160];
    if (token_id != 0)
        snprintf(actor, sizeof actor, "token:%" PRId64, token_id);
    else
        snprintf(actor, sizeof actor, "ip:%.40s", ip);
    snprintf(det, sizeof det, "{\"reason\":\"%s\",\"failures\":%u,\"window\":%u,\"duration\":%u}", reason,
             a->lock_failures, a->lock_window, a->lock_duration);
    struct store_audit row = {
        .actor = actor, .action = "auth.lockout", .target = actor, .source_ip = ip, .details = det};
    if (store_audit_add(c->ctx->st, &row, c->now) < 0)
        log_warn("api", 0, "lockout_not_audited", LF_STR("subject", actor));
    log_warn("api", 0, "auth_lockout", LF_STR("subject", actor), LF_STR("reason", reason),
             LF_UINT("duration", a->lock_duration));
    api__metrics_lockout(c->ctx, token_id != 0 ? "token" : "ip");
}

void api_lockout_fail(struct api_call *c, const char *reason, int64_t token_id)
{
    api__metrics_auth_failure(c->ctx, reason);
    const struct api_access_cfg *a = &c->ctx->cfg.access;
    if (a->lock_failures == 0 || c->ctx->cfg.cache == NULL)
        return;
    const char *ip = c->req->ip ? c->req->ip : "";
    if (ip[0])
        count(c, reason, ip, 0);
    if (token_id != 0)
        count(c, reason, ip, token_id);
}

bool api_access_ip_allowed(const struct api_call *c)
{
    const struct api_access_cfg *a = &c->ctx->cfg.access;
    if (a->n_allow == 0)
        return true;
    return c->req->ip != NULL && client_ip_in_nets(c->req->ip, a->allow, a->n_allow);
}
