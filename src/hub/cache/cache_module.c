/* The cache module: the shared-state layer (cache.h) as the first service, so the API and the
 * scheduler find it in env->cache. Its Redis generation watcher thread lives and dies with it. */
#include <stddef.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/cache/cache.h"
#include "hub/module.h"

static int cache_service_start(struct hub_env *env, void **state)
{
    const struct hub_cfg *cfg = env->cfg;
    struct hcache_cfg ccfg = {.redis_url = cfg->redis_url,
                              .timeout_ms = cfg->redis_timeout_ms,
                              .pool = cfg->redis_pool ? cfg->redis_pool : cfg->threads + 2,
                              .mem_max = (size_t)cfg->cache_mb << 20,
                              .prefix = cfg->redis_prefix,
                              .near_ms = cfg->sub_ttl_ms};
    char err[256];
    struct hcache *c = NULL;
    int rc = hcache_open(&ccfg, &c, err, sizeof err);
    if (rc < 0) {
        log_err("hub", 0, "cache_failed", LF_STR("err", rc == ERR_CONFIG ? err : err_str(rc)));
        return rc;
    }
    env->cache = c;
    *state = c;
    return 0;
}

static void cache_service_stop(struct hub_env *env, void *state)
{
    hcache_close(state);
    env->cache = NULL;
}

HUB_MODULE(cache) = {
    .name = "cache",
    .order = 10,
    .start = cache_service_start,
    .stop = cache_service_stop,
};
