/* The audit log, /admin/audit: every change with who, what, on what, from where, newest first,
 * 50 rows a page, paged by id (?before=<id>) so an old page costs what the first one does. */
#include <inttypes.h>
#include <string.h>

#include "core/err.h"
#include "core/html.h"
#include "hub/admin/admin_http.h"
#include "hub/admin/admin_pages.h"
#include "hub/admin/admin_routes.h"
#include "hub/api/api_valid.h"
#include "hub/store/store.h"

#define ROWS 50
#define DETAILS_SHOWN 300 /* bytes of the details JSON shown per row */

static int audit_row(struct buf *out, const struct store_audit_row *r)
{
    TRY(admin_putf(out, "<tr id=\"audit-%" PRId64 "\"><td>%" PRId64 "</td><td>", r->id, r->id));
    TRY(admin_time(out, r->at));
    TRY(admin_put(out, "</td><td>"));
    TRY(html_escape_str(out, r->actor));
    TRY(admin_put(out, "</td><td class=\"action\">"));
    TRY(html_escape_str(out, r->action));
    TRY(admin_put(out, "</td><td class=\"target\">"));
    TRY(html_escape_str(out, r->target));
    TRY(admin_put(out, "</td><td>"));
    TRY(html_escape_str(out, r->source_ip));
    TRY(admin_put(out, "</td><td><code>"));
    if (r->details != NULL) {
        size_t n = strlen(r->details);
        TRY(html_escape(out, r->details, n > DETAILS_SHOWN ? DETAILS_SHOWN : n));
        if (n > DETAILS_SHOWN)
            TRY(admin_put(out, "…"));
    }
    return admin_put(out, "</code></td></tr>\n");
}

static void on_audit(struct api_call *c)
{
    struct admin_session s;
    if (!admin_viewer(c, &s))
        return;
    const char *bs = api_call_query(c, "before");
    int64_t before = 0;
    if (bs != NULL && bs[0] != '\0' && api_parse_uint_param(bs, 1, INT64_MAX, &before) < 0) {
        api_reply_error(c, 400, "bad_request", "before: a row id");
        return;
    }
    struct store_audit_row *rows = NULL;
    size_t n = 0;
    int rc = store_audit_page(api_call_store(c), before, ROWS, &rows, &n);
    if (rc < 0) {
        admin_store_error(c, rc, "audit log");
        return;
    }
    struct buf b;
    buf_init(&b);
    rc = admin_layout_top(&b, "Audit log", &s);
    if (rc == 0)
        rc = admin_put(&b, "<div class=\"card\"><table><caption class=\"muted\">Newest first</caption><thead><tr>"
                           "<th scope=\"col\">Id</th><th scope=\"col\">When (UTC)</th><th scope=\"col\">Actor</th>"
                           "<th scope=\"col\">Action</th><th scope=\"col\">Target</th><th scope=\"col\">Address</th>"
                           "<th scope=\"col\">Details</th></tr></thead><tbody>\n");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = audit_row(&b, &rows[i]);
    if (rc == 0)
        rc = admin_put(&b, "</tbody></table><nav class=\"pager\" aria-label=\"Pages\">");
    if (rc == 0 && before > 0)
        rc = admin_put(&b, "<a rel=\"first\" href=\"/admin/audit\">Newest</a>");
    if (rc == 0 && n == ROWS)
        rc = admin_putf(&b, "<a rel=\"next\" href=\"/admin/audit?before=%" PRId64 "\">Older →</a>", rows[n - 1].id);
    if (rc == 0)
        rc = admin_put(&b, "</nav></div>\n");
    if (rc == 0)
        rc = admin_layout_end(&b);
    store_audit_rows_free(rows, n);
    admin_send_page(c, 200, &b, rc);
}

void admin_audit_routes(void)
{
    api_route_add("GET", "/admin/audit", API_AUTH_NONE, on_audit);
}
