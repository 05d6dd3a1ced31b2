/* The API context: shared state of one server (store, cache, metrics, node list) and the
 * settings SIGHUP may replace while requests run. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_int.h"
#include "hub/cache/cache.h"

static struct api_settings *settings_from_cfg(const struct api_cfg *cfg)
{
    struct api_settings *set = calloc(1, sizeof *set);
    if (set == NULL)
        return NULL;
    snprintf(set->profile_title, sizeof set->profile_title, "%s", cfg->profile_title ? cfg->profile_title : "");
    set->update_interval_hours = cfg->update_interval_hours;
    snprintf(set->support_url, sizeof set->support_url, "%s", cfg->support_url ? cfg->support_url : "");
    set->rate_window = cfg->rate_window;
    set->rate_per_ip = cfg->rate_per_ip;
    set->rate_per_token = cfg->rate_per_token;
    return set;
}

void api_ctx_init(struct api_ctx *ctx, struct store *st, const struct api_cfg *cfg)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->st = st;
    ctx->cfg = *cfg;
    pthread_mutex_init(&ctx->node_mu, NULL);
    atomic_store(&ctx->settings, settings_from_cfg(cfg));
    api__metrics_init(ctx);
}

void api_ctx_dispose(struct api_ctx *ctx)
{
    free(ctx->nodes);
    ctx->nodes = NULL;
    pthread_mutex_destroy(&ctx->node_mu);
    struct api_settings *set = atomic_exchange(&ctx->settings, NULL);
    while (set != NULL) {
        struct api_settings *prev = set->prev;
        free(set);
        set = prev;
    }
    api__metrics_dispose(ctx);
}

const struct api_settings *api__settings(struct api_ctx *ctx)
{
    static const struct api_settings fallback = {.profile_title = "Veil"};
    const struct api_settings *set = atomic_load(&ctx->settings);
    return set ? set : &fallback;
}

int api_ctx_reconfigure(struct api_ctx *ctx, const struct api_settings *set)
{
    struct api_settings *n = malloc(sizeof *n);
    if (n == NULL)
        return ERR_NOMEM;
    *n = *set;
    /* Replaced versions stay allocated: a request may still be reading one. SIGHUPs are rare. */
    pthread_mutex_lock(&ctx->node_mu);
    n->prev = atomic_load(&ctx->settings);
    atomic_store(&ctx->settings, n);
    pthread_mutex_unlock(&ctx->node_mu);
    if (ctx->cfg.cache != NULL)
        hcache_gen_bump(ctx->cfg.cache);
    return 0;
}
