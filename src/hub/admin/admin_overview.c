/* The overview's charts over the last ADMIN_CHART_DAYS days (UTC), from the revenue analytics
 * (store_revenue_get, like GET /api/v1/stats/revenue): succeeded payments per day and revenue
 * per day in the currency that brought the most. Pure: data in, SVG out. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/html.h"
#include "hub/admin/admin_pages.h"
#include "hub/billing/billing.h"

int admin_overview_charts(struct buf *out, const struct store_revenue *rev, int64_t now)
{
    int64_t today = now / 86400, first = today - ADMIN_CHART_DAYS + 1;
    int64_t pays[ADMIN_CHART_DAYS] = {0}, money[ADMIN_CHART_DAYS] = {0};
    char lab[ADMIN_CHART_DAYS][8];
    const char *labels[ADMIN_CHART_DAYS];
    const char *cur = NULL;
    int64_t best = -1;
    for (size_t i = 0; i < rev->n_cur; i++)
        if (rev->cur[i].amount_minor > best) {
            best = rev->cur[i].amount_minor;
            cur = rev->cur[i].currency;
        }
    for (size_t i = 0; i < rev->n_days; i++) {
        const struct store_revenue_day *d = &rev->days[i];
        if (d->day < first || d->day > today)
            continue;
        pays[d->day - first] += d->payments;
        if (cur != NULL && strcmp(d->currency, cur) == 0)
            money[d->day - first] += d->amount_minor;
    }
    for (int i = 0; i < ADMIN_CHART_DAYS; i++) {
        time_t t = (time_t)((first + i) * 86400);
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL || strftime(lab[i], sizeof lab[i], "%m-%d", &tm) == 0)
            snprintf(lab[i], sizeof lab[i], "%d", i);
        labels[i] = lab[i];
    }
    TRY(admin_put(out, "<h2>Last 30 days</h2><div class=\"grid\" style=\"grid-template-columns:repeat(auto-fill,"
                       "minmax(320px,1fr))\">"));
    TRY(admin_chart(out, &(struct admin_series){.id = "chart-payments",
                                                .label = "Payments per day",
                                                .unit = "",
                                                .values = pays,
                                                .labels = labels,
                                                .n = ADMIN_CHART_DAYS}));
    if (cur != NULL) {
        /* Whole units on the chart (minor units would read as 100x). */
        int exp = billing_currency_exp(cur);
        int64_t div = 1;
        for (int i = 0; i < exp; i++)
            div *= 10;
        for (int i = 0; i < ADMIN_CHART_DAYS; i++)
            money[i] /= div;
        char label[48];
        snprintf(label, sizeof label, "Revenue per day, %s", cur);
        TRY(admin_chart(out, &(struct admin_series){.id = "chart-revenue",
                                                    .label = label,
                                                    .unit = cur,
                                                    .values = money,
                                                    .labels = labels,
                                                    .n = ADMIN_CHART_DAYS}));
    }
    return admin_put(out, "</div>\n");
}

/* One card: the sums of the days from `from` to today per currency, as money ("—" if none). */
static int revenue_card(struct buf *out, const char *id, const char *label, const struct store_revenue *rev,
                        int64_t from, int64_t today)
{
    TRY(admin_putf(out, "<div class=\"card\"><div class=\"num\" id=\"%s\">", id));
    bool any = false;
    for (size_t c = 0; c < rev->n_cur; c++) {
        int64_t sum = 0;
        bool seen = false;
        for (size_t i = 0; i < rev->n_days; i++) {
            const struct store_revenue_day *d = &rev->days[i];
            if (d->day >= from && d->day <= today && strcmp(d->currency, rev->cur[c].currency) == 0) {
                sum += d->amount_minor;
                seen = true;
            }
        }
        if (!seen)
            continue;
        if (any)
            TRY(admin_put(out, "<br>"));
        TRY(admin_money(out, sum, rev->cur[c].currency));
        any = true;
    }
    if (!any)
        TRY(admin_put(out, "—"));
    return admin_putf(out, "</div><div class=\"muted\">%s</div></div>\n", label);
}

int64_t admin_month_start_day(int64_t now)
{
    int64_t today = now / 86400;
    time_t t = (time_t)now;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return today;
    return today - (tm.tm_mday - 1);
}

int admin_overview_revenue(struct buf *out, const struct store_revenue *rev, int64_t now)
{
    int64_t today = now / 86400;
    TRY(revenue_card(out, "revenue-today", "revenue today (UTC)", rev, today, today));
    return revenue_card(out, "revenue-month", "revenue this month (UTC)", rev, admin_month_start_day(now), today);
}

int admin_overview_live(struct buf *out, const struct store_live *live, int64_t now)
{
    /* The nodes count open client connections, not people: one user's devices count apiece. */
    TRY(admin_putf(out,
                   "<div class=\"card\"><div class=\"num\" id=\"online-now\">%" PRId64
                   "</div><div class=\"muted\">online now: connections open on the %" PRId64
                   " nodes up, as of their last usage push</div></div>\n",
                   live->connections, live->nodes_reporting));
    /* usage_hourly keeps whole UTC hours: "this hour" is the finest it tells. */
    int64_t hour = now / 3600 % 24;
    TRY(admin_putf(out,
                   "<div class=\"card\"><div class=\"num\" id=\"users-this-hour\">%" PRId64
                   "</div><div class=\"muted\">users with traffic since %02" PRId64 ":00 UTC</div></div>\n",
                   live->users_this_hour, hour));
    TRY(admin_put(out, "<div class=\"card\"><div class=\"num\" id=\"traffic-today\">"));
    TRY(admin_bytes(out, live->bytes_today));
    return admin_put(out, "</div><div class=\"muted\">traffic today (since 00:00 UTC, all nodes)</div></div>\n");
}
