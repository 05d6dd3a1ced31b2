/* HTML of the dashboard pages (admin_pages.c). Pure: data in, markup appended to a buf. */
#ifndef VEIL_HUB_ADMIN_ADMIN_PAGES_H
#define VEIL_HUB_ADMIN_ADMIN_PAGES_H

#include "core/buf.h"
#include "hub/admin/admin.h"
#include "hub/store/store.h"

#define ADMIN_PAGE_SIZE 50 /* users per page */

/* Building blocks every page uses (admin_pages.c). All return 0 or a negative error. */
int admin_put(struct buf *out, const char *s);
int admin_putf(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Head, header with navigation and log-out form, and the page's <h1>; and the closing tags. */
int admin_layout_top(struct buf *out, const char *title, const struct admin_session *s);
int admin_layout_end(struct buf *out);
/* A status line (or an alert when error) on top of a page; nothing when notice is NULL/"". */
int admin_notice(struct buf *out, const char *notice, bool error);
/* The hidden csrf field every changing form carries. */
int admin_csrf_input(struct buf *out, const struct admin_session *s);
/* UTC "YYYY-MM-DD HH:MM" ("—" for 0); bytes as "1.5 GiB". */
int admin_time(struct buf *out, int64_t t);
int admin_bytes(struct buf *out, int64_t b);
/* An amount in minor units as its currency writes it: "199.00 RUB", "50 XTR" (admin_chart.c). */
int admin_money(struct buf *out, int64_t minor, const char *currency);

/* A bar chart as inline SVG (admin_chart.c): one bar per value, labels[i] under every few bars,
 * the largest value on the axis; id names the figure, label describes it for screen readers. */
struct admin_series {
    const char *id, *label, *unit; /* unit: "" or a suffix for the maximum ("B" renders bytes) */
    const int64_t *values;
    const char *const *labels;
    size_t n;
};
int admin_chart(struct buf *out, const struct admin_series *s);

/* error: NULL, or a message shown above the form (plain text, escaped here). */
int admin_page_login(struct buf *out, const char *error);
/* The overview's numbers and charts; live: the "now" cards (online, traffic today), or NULL
 * (left out); rev: the last ADMIN_CHART_DAYS days of revenue analytics for the charts, or NULL
 * (no charts). */
int admin_overview_figures(struct buf *out, const struct store_stats *st, const struct store_live *live,
                           const struct store_revenue *rev, int64_t now);
/* The "now" cards (admin_overview.c): connections open, users with traffic this hour, traffic today. */
int admin_overview_live(struct buf *out, const struct store_live *live, int64_t now);
/* The overview page around figures (admin_overview_figures' HTML) rendered at taken_at. */
int admin_page_overview(struct buf *out, const struct admin_session *s, const char *figures, size_t len,
                        int64_t taken_at, int64_t now);
/* The overview's figures as of at most ADMIN_SNAPSHOT_TTL seconds ago (admin_snapshot.c): a copy
 * in *html (free it), its length and when it was rendered; fresh renders them now. */
#define ADMIN_SNAPSHOT_TTL 30
int admin_snapshot_get(struct store *st, int64_t now, bool fresh, char **html, size_t *len, int64_t *taken_at);
/* Forgets the snapshot (tests). */
void admin_snapshot_reset(void);
#define ADMIN_CHART_DAYS 30
/* The overview's charts (admin_overview.c). */
int admin_overview_charts(struct buf *out, const struct store_revenue *rev, int64_t now);
/* Revenue today and this calendar month (UTC) per currency, as two number cards; rev must
 * reach back to admin_month_start_day(now) (a unix day number). */
int admin_overview_revenue(struct buf *out, const struct store_revenue *rev, int64_t now);
int64_t admin_month_start_day(int64_t now);
/* One page of users (page counts from 1) out of total matches of q ("" for all; more: total is
 * a lower bound, the count stopped at its cap); notice: NULL or a line shown on top. */
int admin_page_users(struct buf *out, const struct admin_session *s, const struct hub_user *users, size_t n,
                     int64_t total, bool more, const char *q, int64_t page, const char *notice);
/* A search's matches are counted up to this many past the page (store_user_list_capped). */
#define ADMIN_SEARCH_COUNT_CAP 1000

#endif
