/* Token scopes: the route -> area table and the scope check (api_scope.h). */
#include "hub/api/api_scope.h"

#include <string.h>

#include "core/err.h"

static const char *const names[API_SCOPE__COUNT] = {
    [API_SCOPE_READ] = "read",   [API_SCOPE_USERS] = "users", [API_SCOPE_BILLING] = "billing",
    [API_SCOPE_NODES] = "nodes", [API_SCOPE_ADMIN] = "admin",
};

/* Most specific first: the first prefix that matches whole segments wins. */
static const struct {
    const char *prefix;
    enum api_scope area;
} areas[] = {
    {"/api/v1/users/{id}/payments", API_SCOPE_BILLING},
    {"/api/v1/users/{id}/balance", API_SCOPE_BILLING},
    {"/api/v1/users/{id}/ledger", API_SCOPE_BILLING},
    {"/api/v1/users", API_SCOPE_USERS},
    {"/api/v1/subscriptions", API_SCOPE_USERS},
    {"/api/v1/devices", API_SCOPE_USERS},
    {"/api/v1/plans", API_SCOPE_BILLING},
    {"/api/v1/payments", API_SCOPE_BILLING},
    {"/api/v1/invoices", API_SCOPE_BILLING},
    {"/api/v1/promo-codes", API_SCOPE_BILLING},
    {"/api/v1/stats/revenue", API_SCOPE_BILLING},
    {"/api/v1/nodes", API_SCOPE_NODES},
    {"/api/v1/targets", API_SCOPE_NODES},
    {"/api/v1/stats", API_SCOPE_READ},
    {"/metrics", API_SCOPE_READ},
};

const char *api_scope_name(enum api_scope s)
{
    return (unsigned)s < API_SCOPE__COUNT ? names[s] : "?";
}

int api_scopes_parse(const char *text, size_t len, uint32_t *mask)
{
    uint32_t m = 0;
    size_t i = 0;
    while (i < len) {
        size_t n = 0;
        while (i + n < len && text[i + n] != ',')
            n++;
        int hit = -1;
        for (int s = 0; s < API_SCOPE__COUNT; s++)
            if (strlen(names[s]) == n && memcmp(names[s], text + i, n) == 0)
                hit = s;
        if (hit < 0 || (m & (1u << hit)))
            return ERR_MALFORMED;
        m |= 1u << hit;
        i += n;
        if (i < len) { /* a comma: something must follow it */
            i++;
            if (i == len)
                return ERR_MALFORMED;
        }
    }
    *mask = m;
    return 0;
}

void api_scopes_format(uint32_t mask, char out[static API_SCOPES_TEXT_MAX])
{
    out[0] = '\0';
    for (int s = 0; s < API_SCOPE__COUNT; s++) {
        if (!(mask & (1u << s)))
            continue;
        if (out[0])
            strcat(out, ",");
        strcat(out, names[s]);
    }
}

enum api_scope api_route_area(const char *pattern)
{
    for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++) {
        size_t n = strlen(areas[i].prefix);
        if (strncmp(pattern, areas[i].prefix, n) == 0 && (pattern[n] == '\0' || pattern[n] == '/'))
            return areas[i].area;
    }
    return API_SCOPE_ADMIN;
}

bool api_scope_allows(uint32_t mask, const char *method, const char *pattern)
{
    if (mask == 0 || (mask & (1u << API_SCOPE_ADMIN)))
        return true;
    enum api_scope area = api_route_area(pattern);
    if (mask & (1u << area))
        return area != API_SCOPE_READ || strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    return get && (mask & (1u << API_SCOPE_READ)) && area != API_SCOPE_ADMIN;
}
