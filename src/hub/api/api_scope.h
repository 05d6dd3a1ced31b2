/* Token scopes (docs/security.md §6): a token may carry a list of areas it is limited to, on
 * top of its role. Every admin-API route belongs to one area, which the module that adds the
 * route names (struct api_route's scope, api_route_add_scoped):
 *   users    /api/v1/users..., /subscriptions..., /devices...
 *   billing  /api/v1/plans..., /payments..., /invoices, /promo-codes, /stats/revenue, and a
 *            user's payments, balance and ledger
 *   nodes    /api/v1/nodes..., /targets...
 *   read     /api/v1/stats, /metrics (overview numbers, read only)
 *   admin    /api/v1/tokens..., /audit, /findings..., and any route that does not say (deny by
 *            default: API_SCOPE_ADMIN is 0)
 * A scope list allows a route when it names the route's area, when it has `read` and the route
 * is a GET outside the admin area, or when it has `admin`. No list (mask 0) allows every route
 * the role allows. Pure: no I/O; test_scope_table checks every route's area. */
#ifndef VEIL_HUB_API_SCOPE_H
#define VEIL_HUB_API_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum api_scope {
    API_SCOPE_ADMIN = 0, /* first: a route that names no area is admin-only */
    API_SCOPE_READ,
    API_SCOPE_USERS,
    API_SCOPE_BILLING,
    API_SCOPE_NODES,
    API_SCOPE__COUNT, /* sentinel */
};

#define API_SCOPES_TEXT_MAX 64 /* "read,users,billing,nodes,admin" and a NUL fit */

const char *api_scope_name(enum api_scope s);
/* Parses "users,read" (names separated by single commas, no spaces, each once) into a mask.
 * "" gives 0 (unrestricted). ERR_MALFORMED for anything else. */
int api_scopes_parse(const char *text, size_t len, uint32_t *mask);
/* Writes the mask as text, "read,users,billing,nodes,admin" order ("" for 0). */
void api_scopes_format(uint32_t mask, char out[static API_SCOPES_TEXT_MAX]);
/* Whether a token with this mask may call a route of this method and area. */
bool api_scope_allows(uint32_t mask, const char *method, enum api_scope area);

#endif
