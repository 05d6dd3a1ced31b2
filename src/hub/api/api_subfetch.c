/* Notes where a /sub link is fetched from (store_sub_fetch_seen, read by hub/analysis/), on
 * cache hits too: a leaked link is fetched by many clients within the cache's lifetime. A
 * process-wide table remembers the (token, address) pairs noted in the last minute, so a client
 * polling from one address costs nothing and only a new address reaches the database. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/log.h"
#include "hub/api/api_int.h"
#include "hub/store/store_findings.h"

/* 8192 sets of 4 pairs (512 KiB): a direct-mapped table of 4096 lost most pairs as soon as more
 * than a few thousand tokens were polled in a minute from one address (a NAT, a benchmark), and
 * every lost pair cost a token lookup and a write transaction on a cache hit. */
#define SETS 8192
#define WAYS 4
#define RECENT_SECONDS 60

static struct {
    uint64_t fingerprint;
    int64_t at;
} recent[SETS][WAYS];
static pthread_mutex_t recent_mu = PTHREAD_MUTEX_INITIALIZER;

/* FNV-1a over token, a separator and ip: a set index and a fingerprint, not a secret. */
static uint64_t pair_hash(const char *token, const char *ip)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *s = token; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    h = (h ^ 0xffu) * 1099511628211ull;
    for (const char *s = ip; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h | 1; /* 0 marks an empty slot */
}

bool api__sub_fetch_seen_recently(const char *token, const char *ip, int64_t now)
{
    uint64_t fp = pair_hash(token, ip);
    pthread_mutex_lock(&recent_mu);
    /* The high bits pick the set: FNV-1a's low bits mix the last bytes least. */
    size_t set = (size_t)((fp >> 32) % SETS), victim = 0;
    bool seen = false;
    for (size_t w = 0; w < WAYS; w++) {
        if (recent[set][w].fingerprint == fp) {
            seen = recent[set][w].at > now - RECENT_SECONDS && recent[set][w].at <= now;
            victim = w;
            break;
        }
        if (recent[set][w].at < recent[set][victim].at)
            victim = w; /* else the oldest (an empty slot has at 0) */
    }
    if (!seen) {
        recent[set][victim].fingerprint = fp;
        recent[set][victim].at = now;
    }
    pthread_mutex_unlock(&recent_mu);
    return seen;
}

void api__sub_fetch_note(struct api_call *c, const char *token, int64_t user_id)
{
    const char *ip = c->req->ip;
    if (ip == NULL || ip[0] == '\0' || api__sub_fetch_seen_recently(token, ip, c->now))
        return;
    if (user_id == 0) {
        struct hub_user u;
        if (store_user_by_token(c->ctx->st, token, &u) < 0)
            return; /* a cached answer for a token just rotated or deleted */
        user_id = u.id;
    }
    if (store_sub_fetch_seen(c->ctx->st, user_id, ip, c->req->user_agent, c->now) < 0)
        log_warn("api", 0, "sub_fetch_record_failed", LF_INT("user", user_id));
}
