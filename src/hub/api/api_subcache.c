/* Rendered /sub answers as cache entries (hub/cache): status, content type, headers and body in
 * one blob. Layout (big-endian): "VS1" u16 status, u16 ctype_len ctype, u8 n_headers
 * { u16 name_len name u16 value_len value }, body (the rest). A marker "VSN" means "do not
 * cache this subscription" (device-limited users are counted on every fetch). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_int.h"

static const char MAGIC[3] = {'V', 'S', '1'};
static const char NOCACHE[3] = {'V', 'S', 'N'};

static void put16(char **p, size_t v)
{
    (*p)[0] = (char)(uint8_t)(v >> 8);
    (*p)[1] = (char)(uint8_t)v;
    *p += 2;
}

static void put_str(char **p, const char *s, size_t n)
{
    put16(p, n);
    memcpy(*p, s, n);
    *p += n;
}

int api__subcache_encode(const struct api_resp *r, char **blob, size_t *len)
{
    *blob = NULL;
    *len = 0;
    size_t ct = r->content_type ? strlen(r->content_type) : 0;
    size_t need = sizeof MAGIC + 2 + 2 + ct + 1 + r->body_len;
    if (ct > 0xffff || r->n_headers > 0xff)
        return ERR_TOO_LONG;
    for (size_t i = 0; i < r->n_headers; i++) {
        size_t nl = strlen(r->headers[i].name), vl = strlen(r->headers[i].value);
        if (nl > 0xffff || vl > 0xffff)
            return ERR_TOO_LONG;
        need += 4 + nl + vl;
    }
    char *b = malloc(need), *p = b;
    if (b == NULL)
        return ERR_NOMEM;
    memcpy(p, MAGIC, sizeof MAGIC);
    p += sizeof MAGIC;
    put16(&p, (size_t)r->status);
    put_str(&p, r->content_type ? r->content_type : "", ct);
    *p++ = (char)(uint8_t)r->n_headers;
    for (size_t i = 0; i < r->n_headers; i++) {
        put_str(&p, r->headers[i].name, strlen(r->headers[i].name));
        put_str(&p, r->headers[i].value, strlen(r->headers[i].value));
    }
    if (r->body_len)
        memcpy(p, r->body, r->body_len);
    *blob = b;
    *len = need;
    return 0;
}

void api__subcache_nocache(const char **blob, size_t *len)
{
    *blob = NOCACHE;
    *len = sizeof NOCACHE;
}

bool api__subcache_is_nocache(const char *blob, size_t len)
{
    return len == sizeof NOCACHE && memcmp(blob, NOCACHE, sizeof NOCACHE) == 0;
}

/* Bounds-checked reader over the blob. */
struct rd {
    const char *p;
    size_t left;
};

static bool get16(struct rd *r, size_t *v)
{
    if (r->left < 2)
        return false;
    *v = (size_t)(uint8_t)r->p[0] << 8 | (uint8_t)r->p[1];
    r->p += 2;
    r->left -= 2;
    return true;
}

static bool get_str(struct rd *r, const char **s, size_t *n)
{
    if (!get16(r, n) || r->left < *n)
        return false;
    *s = r->p;
    r->p += *n;
    r->left -= *n;
    return true;
}

bool api__subcache_serve(struct api_call *c, const char *blob, size_t len)
{
    struct rd r = {blob, len};
    size_t status, ctl, nh;
    const char *ct;
    if (len < sizeof MAGIC || memcmp(blob, MAGIC, sizeof MAGIC) != 0)
        return false;
    r.p += sizeof MAGIC;
    r.left -= sizeof MAGIC;
    if (!get16(&r, &status) || status < 100 || status > 599 || !get_str(&r, &ct, &ctl) || r.left < 1)
        return false;
    nh = (uint8_t)*r.p;
    r.p++;
    r.left--;
    if (nh > API_MAX_HEADERS)
        return false;
    /* One arena holds the content type and the header names (the response wants them static). */
    struct {
        const char *name, *value;
        size_t nl, vl;
    } h[API_MAX_HEADERS];
    size_t arena_len = ctl + 1;
    for (size_t i = 0; i < nh; i++) {
        if (!get_str(&r, &h[i].name, &h[i].nl) || !get_str(&r, &h[i].value, &h[i].vl))
            return false;
        arena_len += h[i].nl + 1;
    }
    struct api_resp *resp = c->resp;
    char *arena = malloc(arena_len), *body = malloc(r.left + 1);
    if (arena == NULL || body == NULL) {
        free(arena);
        free(body);
        return false;
    }
    memcpy(body, r.p, r.left);
    body[r.left] = '\0';
    free(resp->body);
    free(resp->arena);
    resp->arena = arena;
    resp->status = (int)status;
    resp->body = body;
    resp->body_len = r.left;
    memcpy(arena, ct, ctl);
    arena[ctl] = '\0';
    resp->content_type = arena;
    char *q = arena + ctl + 1;
    for (size_t i = 0; i < nh; i++) {
        char *v = malloc(h[i].vl + 1);
        if (v == NULL)
            break;
        memcpy(v, h[i].value, h[i].vl);
        v[h[i].vl] = '\0';
        memcpy(q, h[i].name, h[i].nl);
        q[h[i].nl] = '\0';
        resp->headers[resp->n_headers].name = q;
        resp->headers[resp->n_headers].value = v;
        resp->n_headers++;
        q += h[i].nl + 1;
    }
    return true;
}
