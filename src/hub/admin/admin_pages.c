/* The dashboard's markup: one layout (header, navigation, log-out form with the CSRF token),
 * the login form, the overview numbers and the users table. Everything from data is escaped;
 * inline CSS only, no script: the pages work as plain forms and links. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/html.h"
#include "hub/admin/admin_pages.h"

int admin_put(struct buf *out, const char *s)
{
    return buf_append(out, s, strlen(s));
}

int admin_putf(struct buf *out, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return ERR_RANGE;
    return buf_append(out, line, (size_t)n);
}

int admin_notice(struct buf *out, const char *notice, bool error)
{
    if (notice == NULL || notice[0] == '\0')
        return 0;
    TRY(admin_put(out, error ? "<p class=\"err\" role=\"alert\" id=\"notice\">" : "<p role=\"status\" id=\"notice\">"));
    TRY(html_escape_str(out, notice));
    return admin_put(out, "</p>\n");
}

int admin_csrf_input(struct buf *out, const struct admin_session *s)
{
    TRY(admin_put(out, "<input type=\"hidden\" name=\"csrf\" value=\""));
    TRY(admin_put(out, s->csrf)); /* base64url: HTML-safe */
    return admin_put(out, "\">");
}

int admin_time(struct buf *out, int64_t t)
{
    if (t <= 0)
        return admin_put(out, "—");
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];
    if (gmtime_r(&tt, &tm) == NULL || strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm) == 0)
        return admin_putf(out, "%" PRId64, t);
    return admin_put(out, s);
}

int admin_bytes(struct buf *out, int64_t b)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    int64_t whole = b < 0 ? 0 : b, frac = 0;
    while (whole >= 1024 && u < 5) {
        frac = (whole % 1024) * 10 / 1024;
        whole /= 1024;
        u++;
    }
    return u == 0 ? admin_putf(out, "%" PRId64 " B", whole)
                  : admin_putf(out, "%" PRId64 ".%" PRId64 " %s", whole, frac, unit[u]);
}

static const char style[] =
    ":root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--fg:#111827;--muted:#4b5563;--line:#d1d5db;"
    "--accent:#1d4ed8;--bad:#b91c1c}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0b1220;--card:#172033;--fg:#f1f5f9;--muted:#cbd5e1;"
    "--line:#334155;--bad:#fca5a5}}"
    "*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);"
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    "header{display:flex;gap:16px;align-items:center;flex-wrap:wrap;padding:10px 16px;background:var(--card);"
    "border-bottom:1px solid var(--line)}header strong{font-size:1.1rem;margin-right:auto}"
    "header a{color:inherit}main{max-width:1100px;margin:0 auto;padding:16px}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px;margin:0 0 16px}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}"
    ".num{font-size:1.6rem;font-weight:700}.muted{color:var(--muted)}"
    "label{display:block;font-weight:600;margin:0 0 6px}"
    "input[type=search],input[type=password]{width:100%;max-width:420px;padding:9px;border:1px solid var(--line);"
    "border-radius:8px;background:var(--bg);color:var(--fg);font:inherit}"
    "button{padding:8px 14px;border:0;border-radius:8px;background:var(--accent);color:#fff;font:inherit;"
    "font-weight:600;cursor:pointer}button.danger{background:#b91c1c}"
    "table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:8px;border-bottom:1px solid var(--line)}"
    ".err{color:var(--bad);font-weight:600}.pager{display:flex;gap:12px;align-items:center;margin-top:12px}"
    ".pager a{color:inherit}form.inline{display:inline}a{color:var(--accent)}"
    "@media (prefers-color-scheme:dark){a{color:#93c5fd}}"
    "input,select,textarea{padding:7px;border:1px solid var(--line);border-radius:8px;background:var(--bg);"
    "color:var(--fg);font:inherit}.row{display:flex;gap:10px;flex-wrap:wrap;align-items:end}"
    ".row label{font-weight:600;margin:0}.row div{display:flex;flex-direction:column;gap:4px}"
    "pre{white-space:pre-wrap;word-break:break-all;background:var(--bg);padding:8px;border-radius:8px}"
    "svg.chart{width:100%;height:auto}svg.chart text{fill:var(--muted);font-size:11px}"
    "svg.chart .bar{fill:var(--accent)}svg.chart .axis{stroke:var(--line)}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}dt{font-weight:600}dd{margin:0}"
    ".tag{padding:1px 8px;border-radius:9px;border:1px solid var(--line)}";

static int head(struct buf *out, const char *title)
{
    TRY(admin_put(out,
                  "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                  "<meta name=\"color-scheme\" content=\"light dark\"><link rel=\"icon\" href=\"data:,\"><title>"));
    TRY(html_escape_str(out, title));
    TRY(admin_put(out, " · Veil admin</title><style>"));
    TRY(admin_put(out, style));
    return admin_put(out, "</style></head>\n<body>\n");
}

int admin_layout_top(struct buf *out, const char *title, const struct admin_session *s)
{
    TRY(head(out, title));
    TRY(admin_put(
        out, "<header><strong>Veil admin</strong><nav aria-label=\"Sections\">"
             "<a href=\"/admin\">Overview</a> · <a href=\"/admin/users\">Users</a> · <a href=\"/admin/plans\">Plans</a>"
             " · <a href=\"/admin/nodes\">Nodes</a> · <a href=\"/admin/payments\">Payments</a> · <a "
             "href=\"/admin/audit\">Audit</a> · <a href=\"/admin/settings\">Settings</a></nav><span class=\"muted\" "
             "id=\"role\">"));
    TRY(admin_put(out, s->role == HUB_ROLE_ADMIN ? "admin" : "support (read-only)"));
    TRY(admin_put(out, "</span><form class=\"inline\" method=\"post\" action=\"/admin/logout\">"
                       "<input type=\"hidden\" name=\"csrf\" value=\""));
    TRY(admin_put(out, s->csrf)); /* base64url: HTML-safe */
    TRY(admin_put(out, "\"><button type=\"submit\">Log out</button></form></header>\n<main>\n<h1>"));
    TRY(html_escape_str(out, title));
    return admin_put(out, "</h1>\n");
}

int admin_layout_end(struct buf *out)
{
    return admin_put(out, "</main>\n</body></html>\n");
}

int admin_page_login(struct buf *out, const char *error)
{
    TRY(head(out, "Log in"));
    TRY(admin_put(out, "<main><div class=\"card\"><h1>Veil admin</h1>\n"));
    if (error != NULL) {
        TRY(admin_put(out, "<p class=\"err\" id=\"error\" role=\"alert\">"));
        TRY(html_escape_str(out, error));
        TRY(admin_put(out, "</p>\n"));
    }
    TRY(admin_put(out, "<form method=\"post\" action=\"/admin/login\"><label for=\"token\">API token (admin or "
                       "support)</label><input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" "
                       "required><label for=\"code\">Code from your authenticator app (if the token has one)</label>"
                       "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" "
                       "autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" maxlength=\"6\"> <button "
                       "type=\"submit\">Log in</button></form>\n<p class=\"muted\">Create one with "
                       "<code>veil-hub --create-admin-token</code> or <code>veil token create</code>.</p></div>\n"));
    return admin_layout_end(out);
}

static int stat_box(struct buf *out, const char *id, const char *label, int64_t v)
{
    char line[256];
    snprintf(line, sizeof line,
             "<div class=\"card\"><div class=\"num\" id=\"%s\">%" PRId64 "</div><div class=\"muted\">%s</div></div>\n",
             id, v, label);
    return admin_put(out, line);
}

int admin_overview_figures(struct buf *out, const struct store_stats *st, const struct store_live *live,
                           const struct store_revenue *rev, int64_t now)
{
    TRY(admin_put(out, "<section class=\"grid\" aria-label=\"Numbers\">\n"));
    TRY(stat_box(out, "users", "users", st->users));
    TRY(stat_box(out, "users-enabled", "users enabled", st->users_enabled));
    TRY(stat_box(out, "subs-active", "active subscriptions", st->subs_active));
    TRY(stat_box(out, "subs-limited", "over quota", st->subs_limited));
    TRY(stat_box(out, "subs-expired", "expired", st->subs_expired));
    TRY(stat_box(out, "nodes-up", "nodes up", st->nodes_up));
    TRY(stat_box(out, "nodes", "nodes", st->nodes));
    if (live != NULL)
        TRY(admin_overview_live(out, live, now));
    TRY(stat_box(out, "payments", "payments succeeded", st->payments_succeeded));
    /* bytes as GiB with two decimals: integers only */
    int64_t t = st->traffic_up + st->traffic_down;
    char line[256];
    snprintf(line, sizeof line,
             "<div class=\"card\"><div class=\"num\" id=\"traffic\">%" PRId64 ".%02" PRId64
             " GiB</div><div class=\"muted\">traffic, all time</div></div>\n",
             t >> 30, ((t & (((int64_t)1 << 30) - 1)) * 100) >> 30);
    TRY(admin_put(out, line));
    if (rev != NULL)
        TRY(admin_overview_revenue(out, rev, now));
    TRY(admin_put(out, "</section>\n"));
    if (rev != NULL)
        TRY(admin_overview_charts(out, rev, now));
    return 0;
}

int admin_page_overview(struct buf *out, const struct admin_session *s, const char *figures, size_t len,
                        int64_t taken_at, int64_t now)
{
    TRY(admin_layout_top(out, "Overview", s));
    time_t t = (time_t)taken_at;
    struct tm tm;
    char at[16] = "?";
    if (gmtime_r(&t, &tm) != NULL)
        strftime(at, sizeof at, "%H:%M:%S", &tm);
    TRY(admin_putf(out,
                   "<p class=\"muted\" id=\"as-of\">Figures as of %s UTC (%" PRId64 " s ago; kept up to %d s)."
                   " <a href=\"/admin?fresh=1\">Refresh now</a></p>\n",
                   at, now > taken_at ? now - taken_at : 0, ADMIN_SNAPSHOT_TTL));
    TRY(buf_append(out, figures, len));
    return admin_layout_end(out);
}

static int user_row(struct buf *out, const struct admin_session *s, const struct hub_user *u, const char *q)
{
    char line[256];
    snprintf(line, sizeof line, "<tr id=\"user-%" PRId64 "\"><td>%" PRId64 "</td><td>", u->id, u->id);
    TRY(admin_put(out, line));
    TRY(admin_putf(out, "<a href=\"/admin/users/%" PRId64 "\">", u->id));
    TRY(html_escape_str(out, u->username));
    TRY(admin_put(out, "</a></td><td>"));
    if (u->telegram_id != 0) {
        snprintf(line, sizeof line, "%" PRId64, u->telegram_id);
        TRY(admin_put(out, line));
    }
    TRY(admin_put(out, "</td><td><code>"));
    TRY(html_escape_str(out, u->uuid));
    TRY(admin_put(out, "</code></td><td class=\"state\">"));
    TRY(admin_put(out, u->enabled ? "enabled" : "disabled"));
    TRY(admin_put(out, "</td><td>"));
    if (s->role == HUB_ROLE_ADMIN) {
        const char *act = u->enabled ? "disable" : "enable", *label = u->enabled ? "Disable" : "Enable";
        snprintf(line, sizeof line,
                 "<form class=\"inline\" method=\"post\" action=\"/admin/users/%" PRId64
                 "/%s\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">",
                 u->id, act, s->csrf);
        TRY(admin_put(out, line));
        /* the search goes along, so the answer comes back to the same list */
        TRY(admin_put(out, "<input type=\"hidden\" name=\"q\" value=\""));
        TRY(html_escape_str(out, q));
        snprintf(line, sizeof line,
                 "\"><button class=\"%s\" type=\"submit\" aria-label=\"%s user %" PRId64 "\">%s</button></form>",
                 u->enabled ? "danger" : "", label, u->id, label);
        TRY(admin_put(out, line));
    }
    return admin_put(out, "</td></tr>\n");
}

static int page_link(struct buf *out, const char *q, int64_t page, const char *rel, const char *text)
{
    char line[64];
    TRY(admin_put(out, "<a rel=\""));
    TRY(admin_put(out, rel));
    TRY(admin_put(out, "\" href=\"/admin/users?q="));
    TRY(admin_url_encode(out, q));
    snprintf(line, sizeof line, "&amp;page=%" PRId64 "\">", page);
    TRY(admin_put(out, line));
    TRY(admin_put(out, text));
    return admin_put(out, "</a>");
}

int admin_page_users(struct buf *out, const struct admin_session *s, const struct hub_user *users, size_t n,
                     int64_t total, bool more, const char *q, int64_t page, const char *notice)
{
    TRY(admin_layout_top(out, "Users", s));
    if (notice != NULL) {
        TRY(admin_put(out, "<p role=\"status\" id=\"notice\">"));
        TRY(html_escape_str(out, notice));
        TRY(admin_put(out, "</p>\n"));
    }
    TRY(admin_put(out, "<form class=\"card\" method=\"get\" action=\"/admin/users\" role=\"search\">"
                       "<label for=\"q\">Search by name, referral code, Telegram id or UUID</label>"
                       "<input type=\"search\" id=\"q\" name=\"q\" value=\""));
    TRY(html_escape_str(out, q));
    TRY(admin_put(out, "\"> <button type=\"submit\">Search</button>"));
    size_t qchars = 0;
    for (const char *c = q; *c; c++)
        qchars += ((unsigned char)*c & 0xC0) != 0x80;
    if (qchars > 0 && qchars < 3) /* store_user_list_capped */
        TRY(admin_put(out, "<p class=\"muted\" id=\"short-query\">A part of a name needs 3 characters or more: "
                           "this search matched whole names and Telegram ids only.</p>"));
    TRY(admin_put(out, "</form>\n"));
    if (s->role == HUB_ROLE_ADMIN) { /* admin_user_create.c */
        TRY(admin_put(out, "<details class=\"card\"><summary>New user</summary><form method=\"post\" "
                           "action=\"/admin/users\" id=\"new-user\">"));
        TRY(admin_csrf_input(out, s));
        TRY(admin_put(out, "<label for=\"nu-name\">Username</label><input id=\"nu-name\" name=\"username\" "
                           "required maxlength=\"64\"> <label for=\"nu-tg\">Telegram id (optional)</label><input "
                           "id=\"nu-tg\" name=\"telegram_id\" inputmode=\"numeric\"> <label for=\"nu-lang\">Language"
                           "</label><select id=\"nu-lang\" name=\"language\"><option value=\"en\">English</option>"
                           "<option value=\"ru\">Русский</option></select> <button type=\"submit\">Create</button>"
                           "</form></details>\n"));
    }
    TRY(admin_put(out, "<div class=\"card\"><table><caption class=\"muted\" id=\"count\">"));
    char line[160];
    int64_t pages = total > 0 ? (total + ADMIN_PAGE_SIZE - 1) / ADMIN_PAGE_SIZE : 1;
    snprintf(line, sizeof line, "%" PRId64 "%s users · page %" PRId64 " of %" PRId64 "%s", total, more ? "+" : "", page,
             pages, more ? "+" : "");
    TRY(admin_put(out, line));
    TRY(admin_put(out,
                  "</caption>\n<thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Name</th><th scope=\"col\">"
                  "Telegram</th><th scope=\"col\">UUID</th><th scope=\"col\">State</th><th scope=\"col\">Actions</th>"
                  "</tr></thead>\n<tbody>\n"));
    for (size_t i = 0; i < n; i++)
        TRY(user_row(out, s, &users[i], q));
    TRY(admin_put(out, "</tbody></table>\n<nav class=\"pager\" aria-label=\"Pages\">"));
    if (page > 1)
        TRY(page_link(out, q, page - 1, "prev", "← Previous"));
    if (page < pages)
        TRY(page_link(out, q, page + 1, "next", "Next →"));
    TRY(admin_put(out, "</nav></div>\n"));
    return admin_layout_end(out);
}
