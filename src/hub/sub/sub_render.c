/* Subscription renderer: resolves the user's state and nodes, picks the format, writes the
 * headers of spec/ecosystem.md §a.3 and calls the per-format writer. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/enc.h"
#include "core/err.h"
#include "ctl/vlink.h"
#include "hub/domain/rules.h"
#include "hub/sub/sub.h"
#include "hub/domain/rules.h"
#include "hub/sub/sub_int.h"

#define NIL_UUID "00000000-0000-0000-0000-000000000000"
#define NAME_MAX_BYTES 200

int sub__put(struct buf *out, const char *s)
{
    return buf_append(out, s, strlen(s));
}

const char *sub__state_text(enum sub_user_state s)
{
    switch (s) {
    case SUB_USER_ACTIVE:
        return NULL;
    case SUB_USER_DISABLED:
        return "Subscription disabled";
    case SUB_USER_LIMITED:
        return "Traffic limit reached";
    case SUB_USER_EXPIRED:
        return "Subscription expired";
    case SUB_USER_PENDING:
        return "Subscription not started yet";
    case SUB_USER__COUNT:
        break;
    }
    return "Subscription unavailable";
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Copies s as valid UTF-8 without control characters (invalid bytes and controls become '?'),
 * cut at a character boundary to at most max bytes. */
static char *clean_text(const char *s, size_t max)
{
    size_t len = strlen(s);
    char *o = malloc((len < max ? len : max) + 1);
    if (o == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq((const unsigned char *)s + i, len - i);
        if (k == 0 || (k == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))) {
            if (n + 1 > max)
                break;
            o[n++] = '?';
            i++;
            continue;
        }
        if (n + k > max)
            break;
        memcpy(o + n, s + i, k);
        n += k;
        i += k;
    }
    o[n] = '\0';
    return o;
}

/* Node fields end up in URLs, YAML and JSON: printable ASCII without spaces or quotes. */
static bool safe_token(const char *s, bool allow_empty)
{
    if (s == NULL)
        return allow_empty;
    if (*s == '\0')
        return allow_empty;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static const char *or_default(const char *s, const char *def)
{
    return s != NULL && *s != '\0' ? s : def;
}

void sub__ctx_dispose(struct sub__ctx *c)
{
    for (size_t i = 0; i < c->n_entries; i++)
        free(c->entries[i].name);
    free(c->entries);
    free(c->title);
    c->title = NULL;
    c->entries = NULL;
    c->n_entries = 0;
}

/* Group and built-in names of the YAML and JSON templates; a node may not take them. */
static const char *const reserved_names[] = {"Proxy", "Auto", "DIRECT", "REJECT", "REJECT-DROP", "PASS", "GLOBAL",
                                             "proxy", "auto", "direct", "block",  "dns-out",     ""};

static bool name_taken(const struct sub__ctx *c, size_t idx, const char *name)
{
    for (size_t j = 0; j < sizeof(reserved_names) / sizeof(reserved_names[0]); j++)
        if (strcmp(reserved_names[j], name) == 0)
            return true;
    for (size_t j = 0; j < idx; j++)
        if (strcmp(c->entries[j].name, name) == 0)
            return true;
    return false;
}

/* Appends " 2", " 3", ... until the name differs from every earlier entry and reserved name. */
static int make_unique(struct sub__ctx *c, size_t idx)
{
    char *base = c->entries[idx].name;
    for (unsigned k = 2;; k++) {
        if (!name_taken(c, idx, c->entries[idx].name))
            break;
        size_t bl = strlen(base);
        char *n = malloc(bl + 16);
        if (n == NULL) {
            if (c->entries[idx].name != base)
                free(base);
            return ERR_NOMEM;
        }
        snprintf(n, bl + 16, "%s %u", base, k);
        if (c->entries[idx].name != base)
            free(c->entries[idx].name);
        c->entries[idx].name = n;
    }
    if (c->entries[idx].name != base)
        free(base);
    return 0;
}

int sub__resolve(const struct sub_request *req, struct sub__ctx *c)
{
    const struct sub_user *u = req->user;
    memset(c, 0, sizeof(*c));
    c->req = req;
    if (u == NULL || !safe_token(u->uuid, false))
        return ERR_MALFORMED;
    c->state = u->state;
    if (c->state == SUB_USER_ACTIVE && u->expire != 0 && u->expire <= req->now)
        c->state = SUB_USER_EXPIRED;
    if (c->state == SUB_USER_ACTIVE && hub_quota_reached(u->upload, u->download, u->total))
        c->state = SUB_USER_LIMITED;
    c->title = clean_text(or_default(req->profile_title, "Veil"), 1024);
    if (c->title == NULL)
        return ERR_NOMEM;

    if (c->state != SUB_USER_ACTIVE) {
        c->uuid = NIL_UUID;
        c->entries = calloc(1, sizeof(*c->entries));
        if (c->entries == NULL)
            return ERR_NOMEM;
        c->n_entries = 1;
        struct sub__entry *e = &c->entries[0];
        e->name = clean_text(sub__state_text(c->state), NAME_MAX_BYTES);
        if (e->name == NULL)
            return ERR_NOMEM;
        e->address = "0.0.0.0";
        e->port = 1;
        e->flow = "";
        e->reality = false;
        return 0;
    }
    c->uuid = u->uuid;
    if (req->n_nodes == 0)
        return 0;
    c->entries = calloc(req->n_nodes, sizeof(*c->entries));
    if (c->entries == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < req->n_nodes; i++) {
        const struct sub_node *n = &req->nodes[i];
        if (!safe_token(n->address, false) || n->port == 0 || !safe_token(n->public_key, false) ||
            !safe_token(n->short_id, true) || !safe_token(n->server_name, true) || !safe_token(n->fingerprint, true) ||
            !safe_token(n->flow, true) || !safe_token(n->spider_x, true))
            return ERR_MALFORMED;
        struct sub__entry *e = &c->entries[i];
        c->n_entries = i + 1;
        e->name = clean_text(or_default(n->name, n->address), NAME_MAX_BYTES);
        if (e->name == NULL)
            return ERR_NOMEM;
        e->address = n->address;
        e->port = n->port;
        e->pbk = n->public_key;
        e->sid = n->short_id != NULL ? n->short_id : "";
        e->sni = or_default(n->server_name, n->address);
        e->fp = or_default(n->fingerprint, "chrome");
        e->flow = n->flow != NULL ? n->flow : "xtls-rprx-vision";
        e->spx = or_default(n->spider_x, "/");
        e->reality = true;
        TRY(make_unique(c, i));
    }
    return 0;
}

int sub__links(const struct sub__ctx *c, struct buf *out)
{
    for (size_t i = 0; i < c->n_entries; i++) {
        const struct sub__entry *e = &c->entries[i];
        struct vlink l;
        if (strlen(c->uuid) > VLINK_ID_MAX || strlen(e->address) > VLINK_HOST_MAX)
            return ERR_MALFORMED;
        if (e->reality) {
            vlink_init_reality(&l); /* zeroes l first */
            if (strlen(e->sni) > VLINK_HOST_MAX || strlen(e->pbk) > VLINK_PBK_MAX || strlen(e->sid) > VLINK_SID_MAX ||
                strlen(e->fp) > VLINK_SHORT_MAX || strlen(e->flow) > VLINK_FLOW_MAX || strlen(e->spx) > VLINK_PATH_MAX)
                return ERR_MALFORMED;
            strcpy(l.sni, e->sni);
            strcpy(l.pbk, e->pbk);
            strcpy(l.sid, e->sid);
            strcpy(l.fp, e->fp);
            strcpy(l.flow, e->flow);
            strcpy(l.spx, e->spx);
        } else {
            memset(&l, 0, sizeof(l));
            strcpy(l.encryption, "none");
            strcpy(l.security, "none");
            strcpy(l.type, "tcp");
            strcpy(l.header_type, "none");
        }
        strcpy(l.id, c->uuid);
        strcpy(l.host, e->address);
        l.port = e->port;
        /* As snprintf "%s" did (truncated to fit), without the printf machinery per link. */
        size_t rn = strnlen(e->name, sizeof(l.remark) - 1);
        memcpy(l.remark, e->name, rn);
        l.remark[rn] = '\0';
        if (i > 0)
            TRY(sub__put(out, "\n"));
        TRY(vlink_format(&l, out));
    }
    return 0;
}

/* ---- headers ---- */

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

int sub__add_header(struct sub_response *r, const char *name, char *value)
{
    if (value == NULL)
        return ERR_NOMEM;
    if (r->n_headers >= SUB_MAX_HEADERS) {
        free(value);
        return ERR_INTERNAL;
    }
    r->headers[r->n_headers].name = name;
    r->headers[r->n_headers].value = value;
    r->n_headers++;
    return 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* Plain when printable ASCII, else "base64:" + standard base64 of the (cleaned) UTF-8 text. */
static char *text_header(const char *s)
{
    if (printable_ascii(s))
        return dup_str(s);
    char *clean = clean_text(s, 4096);
    if (clean == NULL)
        return NULL;
    size_t n = strlen(clean);
    char *v = malloc(7 + b64_encoded_size(n, B64_STD));
    if (v != NULL) {
        memcpy(v, "base64:", 7);
        b64_encode(v + 7, (const uint8_t *)clean, n, B64_STD);
    }
    free(clean);
    return v;
}

static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fmt_alloc(const char *fmt, ...)
{
    /* Formatted once into the stack when it fits (the headers here always do), not measured first. */
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s == NULL)
        return NULL;
    if ((size_t)n < sizeof small) {
        memcpy(s, small, (size_t)n + 1);
        return s;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* attachment; filename="<ASCII fallback>"[; filename*=UTF-8''<pct-encoded UTF-8>] (RFC 6266). */
static char *content_disposition(const char *title)
{
    char *clean = clean_text(title, 200);
    if (clean == NULL)
        return NULL;
    struct buf b;
    buf_init(&b);
    bool ascii = printable_ascii(clean);
    int rc = sub__put(&b, "attachment; filename=\"");
    for (const char *p = clean; rc == 0 && *p; p++) {
        char ch = *p;
        if ((unsigned char)ch >= 0x80 && (unsigned char)ch < 0xc0)
            continue; /* UTF-8 continuation byte: one '_' per character */
        if ((unsigned char)ch >= 0x7f || ch == '"' || ch == '\\' || (unsigned char)ch < 0x20)
            ch = '_';
        rc = buf_append(&b, &ch, 1);
    }
    if (rc == 0)
        rc = sub__put(&b, "\"");
    if (rc == 0 && !ascii) {
        rc = sub__put(&b, "; filename*=UTF-8''");
        if (rc == 0)
            rc = vlink_pct_encode(&b, clean, strlen(clean));
    }
    if (rc == 0)
        rc = buf_append(&b, "", 1);
    free(clean);
    if (rc < 0) {
        buf_dispose(&b);
        return NULL;
    }
    char *v = dup_str((const char *)buf_data(&b));
    buf_dispose(&b);
    return v;
}

static int add_headers(const struct sub__ctx *c, struct sub_response *r)
{
    const struct sub_request *req = c->req;
    const struct sub_user *u = req->user;
    TRY(sub__add_header(r, "subscription-userinfo",
                        fmt_alloc("upload=%" PRIu64 "; download=%" PRIu64 "; total=%" PRIu64 "; expire=%" PRId64,
                                  u->upload, u->download, u->total, u->expire > 0 ? u->expire : (int64_t)0)));
    TRY(sub__add_header(r, "profile-title", text_header(c->title)));
    if (req->update_interval_hours > 0)
        TRY(sub__add_header(r, "profile-update-interval", fmt_alloc("%u", req->update_interval_hours)));
    if (req->support_url != NULL && req->support_url[0] != '\0' && printable_ascii(req->support_url))
        TRY(sub__add_header(r, "support-url", dup_str(req->support_url)));
    if (req->web_page_url != NULL && req->web_page_url[0] != '\0' && printable_ascii(req->web_page_url))
        TRY(sub__add_header(r, "profile-web-page-url", dup_str(req->web_page_url)));
    const char *announce = req->announce != NULL ? req->announce : sub__state_text(c->state);
    if (announce != NULL && announce[0] != '\0')
        TRY(sub__add_header(r, "announce", text_header(announce)));
    if (r->format != SUB_FMT_HTML)
        TRY(sub__add_header(r, "content-disposition", content_disposition(c->title)));
    if (r->format == SUB_FMT_HTML) {
        /* The page is this customer's alone: no shared cache keeps it, no Referer carries the
         * token to the app download sites, and nothing but its own inline code runs. */
        TRY(sub__add_header(r, "cache-control", dup_str("private, no-store")));
        TRY(sub__add_header(r, "referrer-policy", dup_str("no-referrer")));
        TRY(sub__add_header(r, "x-content-type-options", dup_str("nosniff")));
        TRY(sub__add_header(
            r, "content-security-policy",
            dup_str("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                    "img-src data: https: http:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")));
        return 0;
    }
    TRY(sub__add_header(r, "cache-control", dup_str("no-cache, no-store, must-revalidate")));
    return 0;
}

/* ---- entry point ---- */

static const char *content_type(enum sub_format f)
{
    switch (f) {
    case SUB_FMT_CLASH_META:
    case SUB_FMT_STASH:
    case SUB_FMT_CLASH_LEGACY:
        return "text/yaml; charset=utf-8";
    case SUB_FMT_SINGBOX:
    case SUB_FMT_XRAY_JSON:
        return "application/json; charset=utf-8";
    case SUB_FMT_HTML:
        return "text/html; charset=utf-8";
    case SUB_FMT_AUTO:
    case SUB_FMT_LINKS:
    case SUB_FMT_LINKS_PLAIN:
    case SUB_FMT__COUNT:
        break;
    }
    return "text/plain; charset=utf-8";
}

static int render_body(const struct sub__ctx *c, enum sub_format f, struct buf *out)
{
    switch (f) {
    case SUB_FMT_LINKS: {
        struct buf plain;
        buf_init(&plain);
        int rc = sub__links(c, &plain);
        if (rc == 0 && buf_len(&plain) > 0) { /* an empty buf has no base pointer */
            size_t need = b64_encoded_size(buf_len(&plain), B64_STD);
            rc = buf_reserve(out, need);
            if (rc == 0)
                buf_produce(out, b64_encode((char *)buf_tail(out), buf_data(&plain), buf_len(&plain), B64_STD));
        }
        buf_dispose(&plain);
        return rc;
    }
    case SUB_FMT_LINKS_PLAIN:
        return sub__links(c, out);
    case SUB_FMT_CLASH_META:
    case SUB_FMT_STASH:
        return sub__clash(c, false, out);
    case SUB_FMT_CLASH_LEGACY:
        return sub__clash(c, true, out);
    case SUB_FMT_SINGBOX:
        return sub__singbox(c, out);
    case SUB_FMT_XRAY_JSON:
        return sub__xray_json(c, out);
    case SUB_FMT_HTML:
        return sub__html(c, out);
    case SUB_FMT_AUTO:
    case SUB_FMT__COUNT:
        break;
    }
    return ERR_INTERNAL;
}

int sub_render(const struct sub_request *req, struct sub_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    struct sub__ctx c;
    struct buf body;
    buf_init(&body);
    int rc = sub__resolve(req, &c);
    if (rc < 0)
        goto out;
    enum sub_format f = req->format;
    if (f <= SUB_FMT_AUTO || f >= SUB_FMT__COUNT)
        f = sub_detect_format(req->user_agent, req->accept, req->xray_json);
    resp->status = 200;
    resp->format = f;
    resp->content_type = content_type(f);
    rc = render_body(&c, f, &body);
    if (rc == 0)
        rc = buf_append(&body, "", 1);
    if (rc == 0)
        rc = add_headers(&c, resp);
    if (rc < 0)
        goto out;
    resp->body_len = buf_len(&body) - 1;
    resp->body = malloc(buf_len(&body));
    if (resp->body == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    memcpy(resp->body, buf_data(&body), buf_len(&body));
out:
    sub__ctx_dispose(&c);
    buf_dispose(&body);
    if (rc < 0)
        sub_response_dispose(resp);
    return rc;
}

void sub_response_dispose(struct sub_response *resp)
{
    if (resp == NULL)
        return;
    for (size_t i = 0; i < resp->n_headers; i++)
        free(resp->headers[i].value);
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

const char *sub_response_header(const struct sub_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++)
        if (strcmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}
