/* The browser view of a subscription (Accept: text/html, spec/ecosystem.md §a.1): state in
 * plain words, days left, traffic bar, the QR code and copy button of the subscription link,
 * per-platform "add to app" buttons, the servers with their links and QR codes; English or
 * Russian, light or dark by the browser's preference, usable at 360 px. Self-contained: inline
 * CSS, one small inline script, SVG QR codes; nothing is loaded from elsewhere. Every string
 * that comes from data is HTML-escaped. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/html.h"
#include "hub/sub/sub_int.h"

#define EXPIRING_DAYS 3 /* an active subscription ending within this many days "expires soon" */
#define DEFAULT_ACCENT "#2563eb"
#define QR_TEXT_MAX 3000 /* above the byte capacity of the largest QR code (2953) */

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

static bool is_hex_color(const char *s)
{
    if (s == NULL || strlen(s) != 7 || s[0] != '#')
        return false;
    for (int i = 1; i < 7; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

static bool safe_link(const char *u)
{
    return u != NULL &&
           (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0 || strncmp(u, "tg://", 5) == 0);
}

/* What the customer sees as the state: "expiring" is an active subscription about to end. */
struct view_state {
    const char *id; /* data-state: active, expiring, expired, limited, pending, disabled */
    enum sub_word word;
    int64_t days_left; /* -1: not shown */
};

static struct view_state view_state(const struct sub__ctx *c)
{
    const struct sub_user *u = c->req->user;
    int64_t now = c->req->now;
    int64_t days = u->expire > now ? (u->expire - now + 86399) / 86400 : -1;
    switch (c->state) {
    case SUB_USER_ACTIVE:
        if (days >= 0 && days <= EXPIRING_DAYS)
            return (struct view_state){"expiring", SUB_W_STATE_EXPIRING, days};
        return (struct view_state){"active", SUB_W_STATE_ACTIVE, days};
    case SUB_USER_LIMITED:
        return (struct view_state){"limited", SUB_W_STATE_LIMITED, days};
    case SUB_USER_EXPIRED:
        return (struct view_state){"expired", SUB_W_STATE_EXPIRED, -1};
    case SUB_USER_PENDING:
        return (struct view_state){"pending", SUB_W_STATE_PENDING, -1};
    case SUB_USER_DISABLED:
    case SUB_USER__COUNT:
        break;
    }
    return (struct view_state){"disabled", SUB_W_STATE_DISABLED, -1};
}

static const char style[] =
    ":root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--fg:#111827;--muted:#4b5563;--line:#d1d5db}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0b1220;--card:#172033;--fg:#f1f5f9;--muted:#cbd5e1;"
    "--line:#334155}}"
    "*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);"
    "font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    "main{max-width:640px;margin:0 auto;padding:12px}"
    "header{display:flex;justify-content:space-between;align-items:center;gap:8px;flex-wrap:wrap}"
    "h1{font-size:1.5rem;margin:8px 0}h2{font-size:1.2rem;margin:0 0 8px}h3{font-size:1rem;margin:12px 0 6px}"
    "a{color:inherit}nav a{padding:4px 8px;border:1px solid var(--line);border-radius:6px;text-decoration:none}"
    "nav a[aria-current]{background:var(--accent);border-color:var(--accent);color:#fff}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px;margin:12px 0}"
    ".state{font-size:1.3rem;font-weight:700;margin:0 0 4px;display:flex;align-items:center;gap:8px}"
    ".dot{width:14px;height:14px;border-radius:50%;flex:none;background:#16a34a}"
    "[data-state=expiring] .dot{background:#d97706}[data-state=pending] .dot{background:#6b7280}"
    "[data-state=expired] .dot,[data-state=limited] .dot,[data-state=disabled] .dot{background:#dc2626}"
    ".muted{color:var(--muted);margin:4px 0}"
    ".bar{height:12px;border-radius:6px;background:var(--line);overflow:hidden;margin:8px 0 4px}"
    ".bar span{display:block;height:100%;background:var(--accent)}"
    ".qr{display:block;width:100%;max-width:260px;margin:8px auto;border-radius:8px}"
    ".copy{display:flex;gap:8px;flex-wrap:wrap;align-items:center}.copy label{width:100%;font-weight:600}"
    ".copy input{flex:1 1 200px;min-width:0;padding:10px;border:1px solid var(--line);border-radius:8px;"
    "background:var(--bg);color:var(--fg);font:inherit;font-size:.9rem}"
    ".btn{display:inline-block;padding:10px 14px;border:0;border-radius:8px;background:var(--accent);color:#fff;"
    "font:inherit;font-weight:600;text-decoration:none;cursor:pointer}"
    "details{border-top:1px solid var(--line);padding:6px 0}summary{cursor:pointer;font-weight:600;padding:6px 0}"
    ".apps{list-style:none;padding:0;margin:6px 0;display:grid;gap:8px}"
    ".apps li{display:flex;gap:12px;align-items:center;flex-wrap:wrap}"
    ".servers{list-style:none;padding:0;margin:0}.servers li{border-top:1px solid var(--line);padding:8px 0}"
    "code{display:block;overflow-wrap:anywhere;font-size:.8rem;color:var(--muted)}"
    "footer{margin:16px 0;text-align:center}"
    "h1{display:flex;align-items:center;gap:10px}.logo{height:40px;width:auto;border-radius:8px}"
    "#renew{margin-top:10px}.warn{border-left:4px solid #d97706;padding-left:8px}";

/* Copies the link; navigator.clipboard needs a secure context, older browsers use execCommand. */
static const char script[] =
    "document.getElementById('copy').addEventListener('click',function(){"
    "var b=this,i=document.getElementById('sub-url');"
    "function ok(){b.textContent=b.getAttribute('data-done');}"
    "function old(){i.select();document.execCommand('copy');ok();}"
    "if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(i.value).then(ok,old);}"
    "else{old();}});";

static int head(const struct sub__ctx *c, enum sub_lang l, struct buf *out)
{
    const char *accent = is_hex_color(c->req->accent_color) ? c->req->accent_color : DEFAULT_ACCENT;
    TRY(sub__put(out, "<!DOCTYPE html>\n<html lang=\""));
    TRY(sub__put(out, sub_lang_code(l)));
    TRY(sub__put(out,
                 "\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<meta name=\"color-scheme\" content=\"light dark\"><meta name=\"referrer\" content=\"no-referrer\">"
                 "<meta name=\"robots\" content=\"noindex\"><link rel=\"icon\" href=\"data:,\"><title>"));
    TRY(html_escape_str(out, c->title));
    TRY(sub__put(out, "</title>\n<style>:root{--accent:"));
    TRY(sub__put(out, accent));
    TRY(sub__put(out, "}"));
    TRY(sub__put(out, style));
    TRY(sub__put(out, "</style></head>\n<body><main>\n<header><h1>"));
    const char *logo = c->req->logo_url;
    if (logo != NULL && (strncmp(logo, "https://", 8) == 0 || strncmp(logo, "http://", 7) == 0)) {
        TRY(sub__put(out, "<img class=\"logo\" alt=\"\" src=\""));
        TRY(html_escape_str(out, logo));
        TRY(sub__put(out, "\">"));
    }
    TRY(html_escape_str(out, c->title));
    TRY(sub__put(out, "</h1><nav aria-label=\""));
    TRY(sub__put(out, sub__word(l, SUB_W_LANGUAGE)));
    TRY(sub__put(out, "\">"));
    static const char *const names[SUB_LANG__COUNT] = {"English", "Русский"};
    for (int i = 0; i < SUB_LANG__COUNT; i++) {
        const char *code = sub_lang_code((enum sub_lang)i);
        char a[200];
        snprintf(a, sizeof a, " <a href=\"?lang=%s\" hreflang=\"%s\" lang=\"%s\"%s>%s</a>", code, code, code,
                 (int)l == i ? " aria-current=\"true\"" : "", names[i]);
        TRY(sub__put(out, a));
    }
    return sub__put(out, "</nav></header>\n");
}

static int status_card(const struct sub__ctx *c, enum sub_lang l, struct buf *out)
{
    const struct sub_user *u = c->req->user;
    struct view_state vs = view_state(c);
    char line[256], a[48], b[48];
    TRY(sub__put(out, "<section class=\"card\" aria-label=\""));
    TRY(sub__put(out, sub__word(l, SUB_W_STATUS)));
    TRY(sub__put(out, "\">\n"));
    if (u->name != NULL && u->name[0] != '\0') {
        TRY(sub__put(out, "<p class=\"muted\" id=\"user\">"));
        TRY(sub__put(out, sub__word(l, SUB_W_USER)));
        TRY(sub__put(out, " <strong>"));
        TRY(html_escape_str(out, u->name));
        TRY(sub__put(out, "</strong></p>\n"));
    }
    snprintf(line, sizeof line, "<p class=\"state\" id=\"state\" data-state=\"%s\"><span class=\"dot\"></span>%s</p>\n",
             vs.id, sub__word(l, vs.word));
    TRY(sub__put(out, line));
    if (c->req->announce != NULL && c->req->announce[0] != '\0') {
        TRY(sub__put(out, "<p id=\"announce\">"));
        TRY(html_escape_str(out, c->req->announce));
        TRY(sub__put(out, "</p>\n"));
    }
    TRY(sub__put(out, "<p class=\"muted\" id=\"expiry\">"));
    if (u->expire <= 0) {
        TRY(sub__put(out, sub__word(l, SUB_W_NO_EXPIRY)));
    } else {
        sub__date(b, sizeof b, l, u->expire);
        if (vs.days_left >= 0) {
            sub__days_left(a, sizeof a, l, vs.days_left);
            snprintf(line, sizeof line, "<strong id=\"days\">%s</strong> · %s %s", a, sub__word(l, SUB_W_ENDS_ON), b);
        } else {
            snprintf(line, sizeof line, "%s %s",
                     sub__word(l, u->expire <= c->req->now ? SUB_W_ENDED_ON : SUB_W_ENDS_ON), b);
        }
        TRY(sub__put(out, line));
    }
    TRY(sub__put(out, "</p>\n<h2>"));
    TRY(sub__put(out, sub__word(l, SUB_W_TRAFFIC)));
    TRY(sub__put(out, "</h2>\n"));
    uint64_t used = u->upload > UINT64_MAX - u->download ? UINT64_MAX : u->upload + u->download;
    human_bytes(a, sizeof a, used);
    if (u->total != 0) {
        unsigned pct = used >= u->total ? 100 : (unsigned)((long double)used * 100.0L / (long double)u->total);
        snprintf(line, sizeof line,
                 "<div class=\"bar\" role=\"progressbar\" aria-label=\"%s\" aria-valuemin=\"0\" aria-valuemax=\"100\" "
                 "aria-valuenow=\"%u\"><span style=\"width:%u%%\"></span></div>\n",
                 sub__word(l, SUB_W_TRAFFIC_USED), pct, pct);
        TRY(sub__put(out, line));
        human_bytes(b, sizeof b, u->total);
        snprintf(line, sizeof line, "<p id=\"traffic\">%s %s %s</p>\n", a, sub__word(l, SUB_W_OF), b);
    } else {
        snprintf(line, sizeof line, "<p id=\"traffic\">%s · %s</p>\n", a, sub__word(l, SUB_W_UNLIMITED));
    }
    TRY(sub__put(out, line));
    if (u->traffic_reset_at > 0) {
        sub__date(b, sizeof b, l, u->traffic_reset_at);
        snprintf(line, sizeof line, "<p class=\"muted\" id=\"reset\">%s %s</p>\n", sub__word(l, SUB_W_RESETS_ON), b);
        TRY(sub__put(out, line));
    }
    if (u->device_limit > 0) {
        snprintf(line, sizeof line, "<p class=\"muted\" id=\"devices\">%s: %u %s %u</p>\n", sub__word(l, SUB_W_DEVICES),
                 (unsigned)u->devices, sub__word(l, SUB_W_OF), (unsigned)u->device_limit);
        TRY(sub__put(out, line));
        if (u->devices >= u->device_limit) {
            TRY(sub__put(out, "<p class=\"warn\" id=\"devices-full\" role=\"status\">"));
            TRY(sub__put(out, sub__word(l, SUB_W_DEVICES_FULL)));
            TRY(sub__put(out, "</p>\n"));
        }
    }
    if (safe_link(c->req->renew_url)) {
        TRY(sub__put(out, "<a class=\"btn\" id=\"renew\" href=\""));
        TRY(html_escape_str(out, c->req->renew_url));
        TRY(sub__put(out, "\" rel=\"noopener noreferrer\">"));
        TRY(sub__put(out, sub__word(l, SUB_W_RENEW)));
        TRY(sub__put(out, "</a>\n"));
    }
    return sub__put(out, "</section>\n");
}

static int app_buttons(const struct sub__ctx *c, enum sub_lang l, const char *url, struct buf *out)
{
    enum sub__platform_id mine = sub__platform_of(c->req->user_agent);
    TRY(sub__put(out, "<h3>"));
    TRY(sub__put(out, sub__word(l, SUB_W_APPS)));
    TRY(sub__put(out, "</h3>\n"));
    struct buf link;
    buf_init(&link);
    int rc = 0;
    /* The visitor's own platform first and open: two taps from the page to the app. */
    for (int k = 0; rc == 0 && k < SUB_PLATFORM__COUNT; k++) {
        enum sub__platform_id id = k == 0 ? mine : (enum sub__platform_id)(k <= (int)mine ? k - 1 : k);
        const struct sub__platform *p = sub__platform(id);
        char line[160];
        snprintf(line, sizeof line, "<details id=\"apps-%s\"%s><summary>%s</summary><ul class=\"apps\">\n", p->id,
                 k == 0 ? " open" : "", p->label);
        rc = sub__put(out, line);
        for (const struct sub__app *const *a = p->apps; rc == 0 && *a != NULL; a++) {
            buf_reset(&link);
            rc = sub__app_link(*a, url, c->title, &link);
            if (rc == 0)
                rc = sub__put(out, "<li><a class=\"btn\" data-app=\"");
            if (rc == 0)
                rc = html_escape_str(out, sub__app_name(*a));
            if (rc == 0)
                rc = sub__put(out, "\" href=\"");
            if (rc == 0)
                rc = html_escape(out, (const char *)buf_data(&link), buf_len(&link));
            if (rc == 0) {
                snprintf(line, sizeof line, "\">%s %s</a>", sub__word(l, SUB_W_ADD_TO), sub__app_name(*a));
                rc = sub__put(out, line);
            }
            const char *dl = sub__app_download(*a);
            if (rc == 0 && dl != NULL) {
                snprintf(line, sizeof line, " <a href=\"%s\" rel=\"noopener noreferrer\">%s %s</a>", dl,
                         sub__word(l, SUB_W_DOWNLOAD), sub__app_name(*a));
                rc = sub__put(out, line);
            }
            if (rc == 0)
                rc = sub__put(out, "</li>\n");
        }
        if (rc == 0)
            rc = sub__put(out, "</ul></details>\n");
    }
    buf_dispose(&link);
    return rc;
}

static int add_card(const struct sub__ctx *c, enum sub_lang l, struct buf *out)
{
    const char *url = c->req->web_page_url;
    TRY(sub__put(out, "<section class=\"card\" aria-labelledby=\"add-title\">\n<h2 id=\"add-title\">"));
    TRY(sub__put(out, sub__word(l, SUB_W_ADD_TITLE)));
    TRY(sub__put(out, "</h2>\n"));
    if (url == NULL || url[0] == '\0') {
        TRY(sub__put(out, "<p id=\"no-link\">"));
        TRY(sub__put(out, sub__word(l, SUB_W_NO_LINK)));
        return sub__put(out, "</p>\n</section>\n");
    }
    TRY(sub__put(out, "<p class=\"muted\">"));
    TRY(sub__put(out, sub__word(l, SUB_W_ADD_HINT)));
    TRY(sub__put(out, "</p>\n"));
    int rc = sub__qr_svg(out, url, sub__word(l, SUB_W_QR_LABEL));
    if (rc == ERR_NOMEM)
        return rc; /* a URL too long for a QR code still gets the link and the buttons */
    TRY(sub__put(out, "\n<div class=\"copy\"><label for=\"sub-url\">"));
    TRY(sub__put(out, sub__word(l, SUB_W_LINK_LABEL)));
    TRY(sub__put(out, "</label><input id=\"sub-url\" readonly value=\""));
    TRY(html_escape_str(out, url));
    TRY(sub__put(out, "\"><button class=\"btn\" id=\"copy\" type=\"button\" data-done=\""));
    TRY(sub__put(out, sub__word(l, SUB_W_COPIED)));
    TRY(sub__put(out, "\">"));
    TRY(sub__put(out, sub__word(l, SUB_W_COPY)));
    TRY(sub__put(out, "</button></div>\n"));
    TRY(app_buttons(c, l, url, out));
    return sub__put(out, "</section>\n");
}

static int server_item(const struct sub__ctx *c, enum sub_lang l, size_t i, const char *link, size_t len,
                       struct buf *out)
{
    char ln[QR_TEXT_MAX];
    TRY(sub__put(out, "<li><strong>"));
    TRY(html_escape_str(out, c->entries[i].name));
    TRY(sub__put(out, "</strong><code>"));
    TRY(html_escape(out, link, len));
    TRY(sub__put(out, "</code><details><summary>"));
    TRY(sub__put(out, sub__word(l, SUB_W_SERVER_QR)));
    TRY(sub__put(out, "</summary>"));
    if (len < sizeof ln) { /* longer than any QR code can hold anyway */
        memcpy(ln, link, len);
        ln[len] = '\0';
        struct buf label;
        buf_init(&label);
        int rc = html_escape_str(&label, c->entries[i].name);
        if (rc == 0)
            rc = buf_append(&label, "", 1);
        if (rc == 0)
            rc = sub__qr_svg(out, ln, (const char *)buf_data(&label));
        buf_dispose(&label);
        if (rc == ERR_NOMEM)
            return rc;
    }
    return sub__put(out, "</details></li>\n");
}

static int servers_card(const struct sub__ctx *c, enum sub_lang l, struct buf *out)
{
    TRY(sub__put(out, "<section class=\"card\" aria-labelledby=\"servers-title\">\n<h2 id=\"servers-title\">"));
    TRY(sub__put(out, sub__word(l, SUB_W_SERVERS)));
    TRY(sub__put(out, "</h2>\n"));
    if (c->state != SUB_USER_ACTIVE || c->n_entries == 0) {
        TRY(sub__put(out, "<p class=\"muted\" id=\"no-servers\">"));
        TRY(sub__put(out, sub__word(l, SUB_W_NO_SERVERS)));
        return sub__put(out, "</p>\n</section>\n");
    }
    struct buf links;
    buf_init(&links);
    int rc = sub__links(c, &links);
    if (rc == 0)
        rc = sub__put(out, "<ul class=\"servers\">\n");
    const char *p = (const char *)buf_data(&links), *end = p + buf_len(&links);
    for (size_t i = 0; rc == 0 && p < end && i < c->n_entries; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        rc = server_item(c, l, i, p, (size_t)(le - p), out);
        p = le + 1;
    }
    if (rc == 0)
        rc = sub__put(out, "</ul>\n</section>\n");
    buf_dispose(&links);
    return rc;
}

int sub__html(const struct sub__ctx *c, struct buf *out)
{
    enum sub_lang l = c->req->lang < SUB_LANG__COUNT ? c->req->lang : SUB_LANG_EN;
    TRY(head(c, l, out));
    TRY(status_card(c, l, out));
    TRY(add_card(c, l, out));
    TRY(servers_card(c, l, out));
    const char *su = c->req->support_url;
    if (safe_link(su)) {
        TRY(sub__put(out, "<footer><a class=\"btn\" id=\"support\" href=\""));
        TRY(html_escape_str(out, su));
        TRY(sub__put(out, "\" rel=\"noopener noreferrer\">"));
        TRY(sub__put(out, sub__word(l, SUB_W_SUPPORT)));
        TRY(sub__put(out, "</a></footer>\n"));
    }
    TRY(sub__put(out, "</main>\n"));
    if (c->req->web_page_url != NULL && c->req->web_page_url[0] != '\0') {
        TRY(sub__put(out, "<script>"));
        TRY(sub__put(out, script));
        TRY(sub__put(out, "</script>"));
    }
    return sub__put(out, "</body></html>\n");
}
