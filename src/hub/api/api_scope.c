/* Token scopes: scope lists and the scope check (api_scope.h). */
#include "hub/api/api_scope.h"

#include <string.h>

#include "core/err.h"

static const char *const names[API_SCOPE__COUNT] = {
    [API_SCOPE_READ] = "read",   [API_SCOPE_USERS] = "users", [API_SCOPE_BILLING] = "billing",
    [API_SCOPE_NODES] = "nodes", [API_SCOPE_ADMIN] = "admin",
};

/* Text order of api_scopes_format (stored in token rows, shown by the API). */
static const enum api_scope text_order[API_SCOPE__COUNT] = {API_SCOPE_READ, API_SCOPE_USERS, API_SCOPE_BILLING,
                                                            API_SCOPE_NODES, API_SCOPE_ADMIN};

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
    for (int i = 0; i < API_SCOPE__COUNT; i++) {
        enum api_scope s = text_order[i];
        if (!(mask & (1u << s)))
            continue;
        if (out[0])
            strcat(out, ",");
        strcat(out, names[s]);
    }
}

bool api_scope_allows(uint32_t mask, const char *method, enum api_scope area)
{
    if (mask == 0 || (mask & (1u << API_SCOPE_ADMIN)))
        return true;
    if (mask & (1u << area))
        return area != API_SCOPE_READ || strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    return get && (mask & (1u << API_SCOPE_READ)) && area != API_SCOPE_ADMIN;
}
