/* Inside the API: the per-request call object and the helpers handlers share. */
#ifndef VEIL_HUB_API_INT_H
#define VEIL_HUB_API_INT_H

#include <jansson.h>

#include "hub/api/api.h"
#include "hub/api/api_valid.h"
#include "hub/store/store.h"

struct api_call {
    struct api_ctx *ctx;
    const struct api_req *req;
    struct api_resp *resp;
    int64_t id;           /* the {id} path segment, when the route has one */
    enum hub_role role;   /* admin routes: the token's role */
    int64_t token_id;     /* admin routes: the token's id */
    struct hub_node node; /* node routes: the authenticated node */
    char actor[48];       /* "token:12" / "node:3" */
    int64_t now;
};

/* Answers with a JSON document (takes the reference). */
void api__json(struct api_call *c, int status, json_t *doc);
/* Answers {"error":{"code":code,"message":msg}}. */
void api__error(struct api_call *c, int status, const char *code, const char *msg);
/* Maps a store error onto an HTTP answer (404, 409, 400, 503, 500). */
void api__store_error(struct api_call *c, int rc, const char *what);
void api__verr(struct api_call *c, const struct api_verr *e);
/* Adds a response header (value copied). */
void api__header(struct api_call *c, const char *name, const char *value);
/* The audit record for a change made by this call. */
struct store_audit api__audit(struct api_call *c, const char *action, const char *details);
const char *api__query(struct api_call *c, const char *key);

/* The body limit of a route (NULL: the server's default). */
size_t api__route_body_max(const struct api_ctx *ctx, const struct api_route *r);

/* Random bytes from the system CSPRNG; aborts the request with 500 on failure. */
int api__random(void *out, size_t n);
/* A new bearer token "<prefix><random>" (prefix "va_" admin, "vn_" node) and its hash as stored;
 * the random bytes are wiped, and the token too on failure. 0 or the CSPRNG's / hash's error. */
int api__token_new(const char *prefix, char tok[static HUB_TOKEN_MAX + 1], char hash[static 65]);

/* Metrics (api_metrics.c): set up with the context; one call per finished request. */
void api__metrics_init(struct api_ctx *ctx);
void api__metrics_dispose(struct api_ctx *ctx);
void api__metrics_request(struct api_ctx *ctx, const char *route, const char *method, int status, double seconds);
void api__metrics_sub(struct api_ctx *ctx, const char *format);
/* Cached answers: what ("sub", "sync") and result ("hit", "miss", "bypass"). */
void api__metrics_cache(struct api_ctx *ctx, const char *what, const char *result);
/* Failed authentications by reason, and lockouts by kind ("ip", "token"). */
void api__metrics_auth_failure(struct api_ctx *ctx, const char *reason);
void api__metrics_lockout(struct api_ctx *ctx, const char *kind);
/* Records the client address of a /sub fetch for the analysis (api_subfetch.c); user_id 0:
 * looked up from the token (cache hits). At most once a minute per (token, address). */
void api__sub_fetch_note(struct api_call *c, const char *token, int64_t user_id);
/* True when (token, ip) was noted in the last minute; else remembers it as noted at now. */
bool api__sub_fetch_seen_recently(const char *token, const char *ip, int64_t now);

/* The settings in force (api_ctx.c; never NULL; valid until the context is disposed). */
const struct api_settings *api__settings(struct api_ctx *ctx);

/* Drops the node cache after a node change. */
void api__nodes_invalidate(struct api_ctx *ctx);

/* Cached /sub answers (api_subcache.c): encode a finished answer; serve one (false when the
 * blob is not a valid entry); the "not cacheable" marker. */
int api__subcache_encode(const struct api_resp *r, char **blob, size_t *len);
bool api__subcache_serve(struct api_call *c, const char *blob, size_t len);
void api__subcache_nocache(const char **blob, size_t *len);
bool api__subcache_is_nocache(const char *blob, size_t len);

json_t *api__user_json(struct api_call *c, const struct hub_user *u);
json_t *api__sub_json(const struct hub_sub *s);

/* Handlers, one file per entity (a user's subscriptions, devices and payments live with the
 * entity): api_users.c, api_plans.c, api_subs.c, api_devices.c, api_payments.c, api_nodes.c,
 * api_tokens.c, api_stats.c, api_audit.c, api_sync.c (node sync), api_subpage.c (/sub),
 * api_metrics.c, api_router.c (/healthz); api_module.c registers them. */
api_handler_fn api__users_create, api__users_list, api__users_get, api__users_patch, api__users_delete,
    api__users_disable, api__users_enable, api__users_rotate_token, api__users_rotate_uuid, api__users_balance,
    api__users_secrets;
api_handler_fn api__plans_create, api__plans_list, api__plans_get, api__plans_patch, api__plans_delete;
api_handler_fn api__subs_grant, api__subs_get, api__subs_extend, api__subs_revoke, api__users_subs;
api_handler_fn api__users_devices, api__devices_delete;
api_handler_fn api__payments_create, api__users_payments;
api_handler_fn api__nodes_create, api__nodes_list, api__nodes_get, api__nodes_health, api__nodes_weight,
    api__nodes_patch, api__nodes_rotate_token, api__nodes_drain, api__nodes_delete;
api_handler_fn api__stats, api__audit_list, api__healthz, api__metrics;
api_handler_fn api__tokens_create, api__tokens_list, api__tokens_revoke;
api_handler_fn api__node_users, api__node_usage;
api_handler_fn api__sub_page;
/* Registers the TOTP routes (api_totp.c). */
void api__totp_routes(void);

#endif
