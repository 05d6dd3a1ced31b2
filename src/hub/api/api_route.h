/* Routes that hub modules add from their own folders, and what a handler may read and answer.
 * A module's .reg (hub/module.h) calls api_route_add; the HTTP server, the router and the
 * OpenAPI check (tests/unit/hub/test_api.c, against docs/hub-api.json) all see the result.
 *
 *   static void on_invoice(struct api_call *c) {
 *       size_t n; const void *raw = api_call_body(c, &n);          // the bytes as sent
 *       const char *sig = api_call_header(c, "Crypto-Pay-API-Signature");
 *       ... api_reply(c, 200, "text/plain; charset=utf-8", "OK42", 4); }
 *   static void billing_reg(void) {
 *       api_route_add_ex(&(struct api_route){.method = "POST", .pattern = "/pay/cryptobot",
 *                        .auth = API_AUTH_NONE, .handler = on_invoice, .body_max = 64 << 10,
 *                        .flags = API_ROUTE_ANY_BODY}); }
 *
 * Public routes (API_AUTH_NONE) do their own authentication (a webhook's signature, a /sub
 * token). Bodies of other routes must be JSON (Content-Type application/json, else 415) unless
 * the route says API_ROUTE_ANY_BODY. */
#ifndef VEIL_HUB_API_ROUTE_H
#define VEIL_HUB_API_ROUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/api/api.h"

#define API_ROUTES_MAX 256

/* Adds a route; only from a module's .reg (routes are read without a lock afterwards). A
 * pattern is literal segments and {name} segments; {id} matches a positive decimal integer
 * (api_call_id), any other {x} one non-empty segment. When several routes match a path the one
 * with the most literal segments wins, so /api/v1/users/me beats /api/v1/users/{id}. A
 * duplicate (method, pattern), a malformed pattern or a full table is a programming error:
 * logged, and the process aborts (every test run would show it). */
void api_route_add(const char *method, const char *pattern, enum api_auth auth, api_handler_fn *handler);
/* The same, for a route in a token scope area other than admin (api_scope.h). */
void api_route_add_scoped(const char *method, const char *pattern, enum api_auth auth, enum api_scope scope,
                          api_handler_fn *handler);
void api_route_add_ex(const struct api_route *r);

/* The matching route for (method, path) or NULL; *allow (may be NULL) gets the methods the path
 * has when only the method is wrong ("GET, POST"); HEAD matches GET. *id: the {id} segment. */
const struct api_route *api__route_find(const char *method, const char *path, int64_t *id, char *allow,
                                        size_t allow_cap);

/* The request, for handlers in any folder. Strings live until the handler returns. */
const char *api_call_header(const struct api_call *c, const char *name); /* any header, NULL if absent */
const char *api_call_query(const struct api_call *c, const char *key);   /* decoded query value or NULL */
const void *api_call_body(const struct api_call *c, size_t *len);        /* raw bytes (+ a NUL after them) */
const char *api_call_ip(const struct api_call *c);                       /* client address ("" unknown) */
const char *api_call_path(const struct api_call *c);
const char *api_call_actor(const struct api_call *c); /* "token:12" for audit rows; "" on public routes */
int64_t api_call_id(const struct api_call *c);        /* the {id} segment */
int64_t api_call_now(const struct api_call *c);       /* UTC seconds (tests inject) */
int64_t api_call_node_id(const struct api_call *c);   /* node routes (API_AUTH_NODE): the authenticated node */
struct store *api_call_store(const struct api_call *c);
struct hcache *api_call_cache(const struct api_call *c); /* may be NULL */
/* A public route (the dashboard) changed what subscriptions show: every hub drops its cached
 * /sub answers, as after an admin API change; nodes_too also drops this hub's node list. */
void api_call_changed(struct api_call *c, bool nodes_too);

/* Answers. content_type and header names must outlive the response (string literals); bodies
 * and header values are copied. A later answer replaces an earlier one. api_reply_header
 * returns ERR_RANGE past API_MAX_HEADERS, ERR_NOMEM. */
void api_reply(struct api_call *c, int status, const char *content_type, const void *body, size_t len);
void api_reply_json(struct api_call *c, int status, json_t *doc); /* takes the reference */
void api_reply_error(struct api_call *c, int status, const char *code, const char *msg);
int api_reply_header(struct api_call *c, const char *name, const char *value);

#endif
