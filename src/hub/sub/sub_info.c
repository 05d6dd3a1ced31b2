/* GET /sub/<token>/info: the subscription's state as JSON, for the web page and bots
 * (spec/ecosystem.md §a.1, like Marzban's and Remnawave's /info). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "hub/sub/sub_int.h"

static const char *status_name(enum sub_user_state s)
{
    switch (s) {
    case SUB_USER_ACTIVE:
        return "active";
    case SUB_USER_DISABLED:
        return "disabled";
    case SUB_USER_LIMITED:
        return "limited";
    case SUB_USER_EXPIRED:
        return "expired";
    case SUB_USER_PENDING:
        return "pending";
    case SUB_USER__COUNT:
        break;
    }
    return "unknown";
}

/* JSON integers are signed 64-bit: clamp byte counters (never near that in practice). */
static json_t *jcount(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *info_doc(const struct sub__ctx *c, const char *links, size_t links_len)
{
    const struct sub_user *u = c->req->user;
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (const char *p = links, *end = links + links_len; ok && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        ok = json_array_append_new(arr, json_stringn(p, (size_t)(le - p))) == 0;
        p = le + 1;
    }
    json_t *doc = NULL;
    if (ok)
        doc = json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:O}", "title", c->title, "status", status_name(c->state),
                        "upload", jcount(u->upload), "download", jcount(u->download), "total", jcount(u->total),
                        "expire", (json_int_t)(u->expire > 0 ? u->expire : 0), "links", arr);
    json_decref(arr);
    return doc;
}

int sub_render_info(const struct sub_request *req, struct sub_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    struct sub__ctx c;
    struct buf links;
    buf_init(&links);
    char *body = NULL;
    int rc = sub__resolve(req, &c);
    if (rc == 0 && c.state == SUB_USER_ACTIVE)
        rc = sub__links(&c, &links);
    if (rc == 0) {
        json_t *doc = info_doc(&c, buf_len(&links) ? (const char *)buf_data(&links) : "", buf_len(&links));
        body = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(doc);
        if (body == NULL)
            rc = ERR_MALFORMED;
    }
    if (rc == 0) {
        resp->status = 200;
        resp->format = SUB_FMT__COUNT; /* not a client format */
        resp->content_type = "application/json; charset=utf-8";
        resp->body_len = strlen(body);
        resp->body = malloc(resp->body_len + 1);
        if (resp->body == NULL)
            rc = ERR_NOMEM;
        else
            memcpy(resp->body, body, resp->body_len + 1);
    }
    if (rc == 0) {
        char *v = malloc(sizeof("no-cache, no-store, must-revalidate"));
        if (v != NULL)
            strcpy(v, "no-cache, no-store, must-revalidate");
        rc = sub__add_header(resp, "cache-control", v);
    }
    free(body);
    buf_dispose(&links);
    sub__ctx_dispose(&c);
    if (rc < 0)
        sub_response_dispose(resp);
    return rc;
}
