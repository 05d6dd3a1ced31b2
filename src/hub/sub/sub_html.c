/* The browser view of a subscription (Accept: text/html, spec/ecosystem.md §a.1): status,
 * usage, expiry and the share links. Everything from data is HTML-escaped. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "hub/sub/sub_int.h"

static int esc(struct buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        const char *r = NULL;
        switch (s[i]) {
        case '&':
            r = "&amp;";
            break;
        case '<':
            r = "&lt;";
            break;
        case '>':
            r = "&gt;";
            break;
        case '"':
            r = "&quot;";
            break;
        case '\'':
            r = "&#39;";
            break;
        default:
            break;
        }
        TRY(r ? sub__put(out, r) : buf_append(out, &s[i], 1));
    }
    return 0;
}

static int esc_str(struct buf *out, const char *s)
{
    return esc(out, s, strlen(s));
}

/* "1.50 GiB" style, binary units. */
static void human_bytes(char *dst, size_t cap, uint64_t v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    size_t u = 0;
    uint64_t whole = v, frac = 0;
    while (whole >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        frac = (whole % 1024) * 100 / 1024;
        whole /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(dst, cap, "%" PRIu64 " B", v);
    else
        snprintf(dst, cap, "%" PRIu64 ".%02" PRIu64 " %s", whole, frac, units[u]);
}

static const char *state_label(enum sub_user_state s)
{
    const char *t = sub__state_text(s);
    return t != NULL ? t : "Active";
}

int sub__html(const struct sub__ctx *c, struct buf *out)
{
    const struct sub_user *u = c->req->user;
    char line[160], used[32], total[32];
    TRY(sub__put(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>"));
    TRY(esc_str(out, c->title));
    TRY(sub__put(out, "</title></head>\n<body>\n<h1>"));
    TRY(esc_str(out, c->title));
    TRY(sub__put(out, "</h1>\n"));
    if (u->name != NULL && u->name[0] != '\0') {
        TRY(sub__put(out, "<p>User: "));
        TRY(esc_str(out, u->name));
        TRY(sub__put(out, "</p>\n"));
    }
    TRY(sub__put(out, "<p>Status: "));
    TRY(sub__put(out, state_label(c->state)));
    TRY(sub__put(out, "</p>\n"));
    uint64_t sum = u->upload > UINT64_MAX - u->download ? UINT64_MAX : u->upload + u->download;
    human_bytes(used, sizeof(used), sum);
    if (u->total != 0) {
        human_bytes(total, sizeof(total), u->total);
        snprintf(line, sizeof(line), "<p>Traffic: %s of %s</p>\n", used, total);
    } else {
        snprintf(line, sizeof(line), "<p>Traffic: %s (unlimited)</p>\n", used);
    }
    TRY(sub__put(out, line));
    if (u->expire > 0) {
        time_t t = (time_t)u->expire;
        struct tm tm;
        char date[40];
        if (gmtime_r(&t, &tm) != NULL && strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm) > 0)
            snprintf(line, sizeof(line), "<p>Expires: %s</p>\n", date);
        else
            snprintf(line, sizeof(line), "<p>Expires: %" PRId64 "</p>\n", u->expire);
    } else {
        snprintf(line, sizeof(line), "<p>Expires: never</p>\n");
    }
    TRY(sub__put(out, line));
    if (c->state == SUB_USER_ACTIVE && c->n_entries > 0) {
        struct buf links;
        buf_init(&links);
        int rc = sub__links(c, &links);
        if (rc == 0)
            rc = sub__put(out, "<h2>Servers</h2>\n<ul>\n");
        const char *p = (const char *)buf_data(&links), *end = p + buf_len(&links);
        while (rc == 0 && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            rc = sub__put(out, "<li><code>");
            if (rc == 0)
                rc = esc(out, p, (size_t)(le - p));
            if (rc == 0)
                rc = sub__put(out, "</code></li>\n");
            p = le + 1;
        }
        if (rc == 0)
            rc = sub__put(out, "</ul>\n");
        buf_dispose(&links);
        TRY(rc);
    }
    const char *su = c->req->support_url;
    if (su != NULL &&
        (strncmp(su, "https://", 8) == 0 || strncmp(su, "http://", 7) == 0 || strncmp(su, "tg://", 5) == 0)) {
        TRY(sub__put(out, "<p><a href=\""));
        TRY(esc_str(out, su));
        TRY(sub__put(out, "\">Support</a></p>\n"));
    }
    return sub__put(out, "</body></html>\n");
}
