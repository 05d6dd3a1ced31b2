/* The route registry: modules add routes once (hub_modules_register); lookups read the table
 * without a lock afterwards. */
#include "hub/api/api_route.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "hub/module.h"

static struct api_route routes[API_ROUTES_MAX];
/* Each route's first path segment ("sub" of "/sub/{token}"), to skip most routes with one
 * length compare: a lookup runs twice per request over every route. */
static struct {
    const char *seg;
    size_t len;
    uint64_t head; /* its first 8 bytes, zero-padded: one compare instead of a memcmp call */
    bool param;    /* "{...}": matches any first segment */
} first_seg[API_ROUTES_MAX];
static size_t n_routes;

static size_t seg_len(const char *s)
{
    return strcspn(s, "/");
}

static uint64_t seg_head(const char *s, size_t len)
{
    uint64_t h = 0;
    memcpy(&h, s, len < sizeof h ? len : sizeof h);
    return h;
}

static _Noreturn void route_bug(const struct api_route *r, const char *why)
{
    log_err("api", 0, "route_rejected", LF_STR("method", r->method ? r->method : ""),
            LF_STR("pattern", r->pattern ? r->pattern : ""), LF_STR("why", why));
    abort();
}

/* "/a/{x}/b": starts with '/', no empty segment, braces only around a whole segment. */
static bool pattern_ok(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *s = p + 1;;) {
        size_t len = strcspn(s, "/");
        if (memchr(s, '{', len) != NULL || memchr(s, '}', len) != NULL) {
            if (len < 3 || s[0] != '{' || s[len - 1] != '}' || memchr(s + 1, '{', len - 2) ||
                memchr(s + 1, '}', len - 2))
                return false;
        }
        if (s[len] == '\0')
            return len > 0 || s == p + 1; /* "/" alone is fine, a trailing "/" is not */
        if (len == 0)
            return false;
        s += len + 1;
    }
}

void api_route_add_ex(const struct api_route *r)
{
    if (r->method == NULL || r->pattern == NULL || r->handler == NULL || r->auth >= API_AUTH__COUNT ||
        (unsigned)r->scope >= API_SCOPE__COUNT)
        route_bug(r, "method, pattern and handler are required, auth and scope known");
    if (!pattern_ok(r->pattern))
        route_bug(r, "malformed pattern");
    for (size_t i = 0; i < n_routes; i++)
        if (strcmp(routes[i].method, r->method) == 0 && strcmp(routes[i].pattern, r->pattern) == 0)
            route_bug(r, "added twice");
    if (n_routes == API_ROUTES_MAX)
        route_bug(r, "route table full (API_ROUTES_MAX)");
    first_seg[n_routes].seg = r->pattern + 1;
    first_seg[n_routes].len = seg_len(r->pattern + 1);
    first_seg[n_routes].head = seg_head(first_seg[n_routes].seg, first_seg[n_routes].len);
    first_seg[n_routes].param = r->pattern[1] == '{';
    routes[n_routes++] = *r;
}

void api_route_add(const char *method, const char *pattern, enum api_auth auth, api_handler_fn *handler)
{
    api_route_add_ex(&(struct api_route){.method = method, .pattern = pattern, .auth = auth, .handler = handler});
}

void api_route_add_scoped(const char *method, const char *pattern, enum api_auth auth, enum api_scope scope,
                          api_handler_fn *handler)
{
    api_route_add_ex(
        &(struct api_route){.method = method, .pattern = pattern, .auth = auth, .scope = scope, .handler = handler});
}

const struct api_route *api_routes(size_t *n)
{
    hub_modules_register();
    *n = n_routes;
    return routes;
}

/* Matches path against pattern; {id} must be a positive decimal integer. *literal counts the
 * literal segments (more is a better match). */
static bool match(const char *pattern, const char *path, int64_t *id, int *literal)
{
    const char *p = pattern, *s = path;
    *literal = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            const char *se = strchr(s, '/');
            size_t slen = se ? (size_t)(se - s) : strlen(s);
            if (slen == 0 || pe == NULL)
                return false;
            if (strncmp(p, "{id}", 4) == 0) {
                int64_t v = 0;
                if (slen > 18 || s[0] == '0')
                    return false;
                for (size_t i = 0; i < slen; i++) {
                    if (s[i] < '0' || s[i] > '9')
                        return false;
                    v = v * 10 + (s[i] - '0');
                }
                *id = v;
            }
            p = pe + 1;
            s += slen;
            continue;
        }
        if (*p != *s)
            return false;
        if (*p == '/' && p[1] != '{')
            (*literal)++;
        p++;
        s++;
    }
    return *p == '\0' && *s == '\0';
}

static bool method_fits(const char *route, const char *req)
{
    return strcmp(route, req) == 0 || (strcmp(req, "HEAD") == 0 && strcmp(route, "GET") == 0);
}

const struct api_route *api__route_find(const char *method, const char *path, int64_t *id, char *allow,
                                        size_t allow_cap)
{
    hub_modules_register();
    const struct api_route *best = NULL;
    int best_literal = -1;
    if (allow != NULL && allow_cap > 0)
        allow[0] = '\0';
    const char *seg = path[0] == '/' ? path + 1 : path;
    size_t len = seg_len(seg);
    uint64_t head = seg_head(seg, len);
    for (size_t i = 0; i < n_routes; i++) {
        int64_t v = 0;
        int literal;
        if (!first_seg[i].param && (first_seg[i].len != len || first_seg[i].head != head ||
                                    (len > sizeof head && memcmp(first_seg[i].seg, seg, len) != 0)))
            continue; /* match() would fail within the first segment */
        if (!match(routes[i].pattern, path, &v, &literal))
            continue;
        if (method_fits(routes[i].method, method)) {
            if (literal > best_literal) {
                best = &routes[i];
                best_literal = literal;
                *id = v;
            }
            continue;
        }
        if (allow != NULL && strstr(allow, routes[i].method) == NULL &&
            strlen(allow) + strlen(routes[i].method) + 3 < allow_cap) {
            if (allow[0])
                strcat(allow, ", ");
            strcat(allow, routes[i].method);
        }
    }
    return best;
}
