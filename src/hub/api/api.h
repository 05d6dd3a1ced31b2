/* The hub's HTTP surface: the admin REST API under /api/v1 (Bearer tokens, roles admin and
 * support), the node sync endpoints (/api/v1/node/..., per-node tokens, docs/sync-protocol.md)
 * and the public subscription endpoint /sub/<token>. docs/hub-api.json describes every route.
 *
 * Errors are {"error":{"code":"<stable_code>","message":"..."}}: bad input is 400/404/409/413/422,
 * never 5xx; unknown routes 404 (not_found); known path, other method 405 (method_not_allowed). */
#ifndef VEIL_HUB_API_API_H
#define VEIL_HUB_API_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/api/api_access.h"
#include "hub/api/api_guard.h"
#include "hub/api/api_scope.h"
#include "hub/domain/placement.h"
#include "hub/api/client_ip.h"
#include "hub/domain/model.h"

struct store;
struct hcache;
struct api_server;
struct metrics_registry;
struct metrics_family;

#define API_BODY_MAX_DEFAULT (64u * 1024)

typedef int64_t api_clock_fn(void *arg);

struct api_cfg {
    const char *listen_addr; /* IPv4/IPv6 literal; NULL -> 127.0.0.1 */
    uint16_t port;           /* 0: an ephemeral port (see api_port) */
    unsigned threads;        /* MHD thread pool size; 0 -> 4 */
    size_t body_max;         /* request body limit; 0 -> API_BODY_MAX_DEFAULT; larger -> 413 */
    size_t node_body_max;    /* overrides the limit of node-token routes; 0: each route's own (usage: 16 MiB) */
    /* Our reverse proxies: X-Forwarded-For is read only from these peers (client_ip.h). */
    const struct client_ip_net *trusted_proxies;
    size_t n_trusted_proxies;
    /* Connection caps and deadlines against slow clients (api_guard.h); zeros -> defaults. */
    struct api_conn_limits limits;
    /* Subscription answers (spec/ecosystem.md §a.3). */
    const char *profile_title;
    unsigned update_interval_hours;
    const char *support_url;
    const char *public_url;    /* e.g. https://vpn.example.com: links printed in user objects */
    const char *page_color;    /* "#rrggbb" accent of the subscription web page; NULL/"" -> default */
    const char *page_logo_url; /* the page's logo; NULL/"" -> none */
    const char *renew_url;     /* the page's Renew button; NULL/"" -> none */
    bool xray_json;
    /* Clock (UTC unix seconds); NULL -> time(). Tests inject a fake one. */
    api_clock_fn *clock;
    void *clock_arg;
    /* Shared state (hub/cache/cache.h): rendered /sub answers per (token, format) for
     * sub_cache_ms, node sync snapshots per revision for sync_cache_ms, rate limits; every
     * successful admin change starts a new cache generation. NULL: none of these. */
    struct hcache *cache;
    unsigned sub_cache_ms;  /* 0: /sub answers are not cached */
    unsigned sync_cache_ms; /* 0: sync snapshots are not cached */
    /* Seconds without a check-in (pull or push) after which a node leaves /sub; a node that never
     * checked in is not served (hub/domain/node_health.h). 0: only stored health counts. */
    int64_t node_dead_after;
    /* When a node counts as hot for placement (0 thresholds: load is ignored). */
    struct hub_place_cfg place;
    unsigned rate_window;    /* seconds; 0 -> 60 */
    unsigned rate_per_ip;    /* requests per window per client IP (all but /healthz); 0: unlimited */
    unsigned rate_per_token; /* per /sub token or bearer token; 0: unlimited */
    /* Admin allowlist, lockout, TOTP (api_access.h); all zero: no allowlist, no lockout. */
    struct api_access_cfg access;
};

/* What SIGHUP may change while the server runs (api_reconfigure). */
struct api_settings {
    char profile_title[128];
    unsigned update_interval_hours;
    char support_url[512];
    unsigned rate_window, rate_per_ip, rate_per_token;
    struct api_settings *prev; /* internal: replaced versions, freed with the context */
};

/* Who may call a route. */
enum api_auth {
    API_AUTH_NONE = 0, /* public: the handler authenticates (webhook signature, /sub token) */
    API_AUTH_READ,     /* admin or support token */
    API_AUTH_ADMIN,    /* admin token */
    API_AUTH_NODE,     /* per-node token */
    API_AUTH__COUNT,   /* sentinel */
};

struct api_call;
typedef void api_handler_fn(struct api_call *c);

/* API_ROUTE_ANY_BODY: the body may have any Content-Type (form posts, signed webhook bytes);
 * without it a non-empty body must be application/json (else 415). */
#define API_ROUTE_ANY_BODY 0x1u

/* One route, added by its module (hub/api/api_route.h: api_route_add). */
struct api_route {
    const char *method;  /* "GET", "POST", "PATCH", "DELETE" */
    const char *pattern; /* "/api/v1/users/{id}": {id} is a positive integer, other {x} any segment */
    enum api_auth auth;
    api_handler_fn *handler;
    size_t body_max;      /* request body limit; 0: the server's body_max; larger -> 413 */
    unsigned flags;       /* API_ROUTE_* */
    enum api_scope scope; /* the area a scoped token needs (api_scope.h); unset: admin */
};

/* Every registered route (registers the modules' routes first), for the OpenAPI check. */
const struct api_route *api_routes(size_t *n);

/* A request as the router sees it (no MHD types), so that tests and the fuzzer can drive it. */
struct api_req {
    const char *method;
    const char *path;                                 /* percent-decoded */
    const char *(*query)(void *arg, const char *key); /* may be NULL */
    void *query_arg;
    const char *authorization, *user_agent, *accept;
    const char *hwid; /* x-hwid: device id sent by HWID-aware clients; may be NULL */
    const char *ip;
    const char *body; /* the raw bytes as received, with a NUL after them */
    size_t body_len;
    /* Any header by name (case-insensitive); NULL getter: only the fields above are known. */
    const char *(*header)(void *arg, const char *name);
    void *header_arg;
    const char *raw_path; /* the path as sent, before percent-decoding (NULL: not known) */
    bool header_nul;      /* a header value holds a NUL byte (it would be cut there): 400 */
    bool client_cert;     /* mutual TLS: a client certificate signed by api.tls.client_ca_file */
};

#define API_MAX_HEADERS 16

struct api_resp {
    int status;
    const char *content_type; /* static */
    char *body;               /* malloc'd */
    size_t body_len;
    size_t n_headers;
    struct {
        const char *name; /* static */
        char *value;      /* malloc'd */
    } headers[API_MAX_HEADERS];
    char *arena; /* malloc'd; content_type and header names may point into it (cached answers) */
};

/* Node list cache for /sub: nodes change rarely and every subscription fetch needs them. Changes
 * made through this API invalidate it at once; other replicas' changes show within the TTL. */
#define API_NODE_CACHE_MS 2000
#define API_UNREACHABLE_MAX 256 /* nodes marked unreachable at once; more are served */

struct api_ctx {
    struct store *st;
    struct api_cfg cfg;
    pthread_mutex_t node_mu;
    struct hub_node *nodes; /* usable for subscriptions, in subscription order */
    size_t n_nodes;
    int64_t nodes_until_ms; /* monotonic; 0 = stale */
    uint64_t nodes_gen;     /* cache generation the list was loaded under */
    /* Nodes this hub's probe (hub/probe) cannot reach: left out of /sub (under node_mu). */
    int64_t unreachable[API_UNREACHABLE_MAX];
    size_t n_unreachable;
    /* The reloadable settings; readers load the pointer once per request. */
    struct api_settings *_Atomic settings;
    /* Prometheus metrics served at GET /metrics (NULL when the registry could not be made). */
    struct metrics_registry *metrics;
    struct metrics_family *m_requests, *m_latency, *m_sub, *m_objects, *m_pool, *m_cache, *m_cache_mode;
    struct metrics_family *m_auth_fail, *m_lockouts;
};

/* Sets up / releases the shared state of a context (api_start does this for its own). */
void api_ctx_init(struct api_ctx *ctx, struct store *st, const struct api_cfg *cfg);
void api_ctx_dispose(struct api_ctx *ctx);

/* Replaces the reloadable settings (SIGHUP): requests that started keep the old ones. A new
 * title or interval starts a new cache generation. */
int api_ctx_reconfigure(struct api_ctx *ctx, const struct api_settings *set);
int api_reconfigure(struct api_server *s, const struct api_settings *set);

/* The hub's active probe (hub/probe) found a node unreachable (left out of every /sub answer at
 * once) or reachable again (served again once it is also alive, hub/domain/node_health.h).
 * Starts a new cache generation when the set changes. */
void api_ctx_node_reachable(struct api_ctx *ctx, int64_t node_id, bool reachable);
void api_node_reachable(struct api_server *s, int64_t node_id, bool reachable);

/* Routes one request and fills resp (always: errors become JSON error answers). */
void api_dispatch(struct api_ctx *ctx, const struct api_req *req, struct api_resp *resp);
void api_resp_dispose(struct api_resp *resp);

struct api_server;
/* Starts the HTTP server (libmicrohttpd, internal thread pool). The store and the strings in
 * cfg must outlive the server. ERR_IO when the address cannot be bound. */
int api_start(const struct api_cfg *cfg, struct store *st, struct api_server **out);
uint16_t api_port(const struct api_server *s);
/* Stops accepting, finishes running requests, frees. NULL-safe. */
void api_stop(struct api_server *s);

/* SHA-256 hex of a token, as stored in the database. out holds 65 bytes. */
int api_token_hash(const char *token, size_t len, char out[static 65]);
/* Generates an admin API token ("va_..."), stores its hash with role and name, and returns the
 * token text (shown once). */
int api_token_create(struct store *st, const char *name, enum hub_role role, int64_t now,
                     char out[static HUB_TOKEN_MAX + 1]);
/* The same, also returning the token's id (id may be NULL). */
int api_token_create_id(struct store *st, const char *name, enum hub_role role, int64_t now,
                        char out[static HUB_TOKEN_MAX + 1], int64_t *id);

#endif
