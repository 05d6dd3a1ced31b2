/* The overview's figures (counts over every user, subscription and payment, and the 30 days of
 * charts) cost tens of milliseconds with 100k users, so each hub process renders them at most
 * once per ADMIN_SNAPSHOT_TTL seconds and serves that HTML, stamped with its time, meanwhile.
 * A "fresh" request (the page's Refresh link) renders them again at once. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "hub/admin/admin_pages.h"

static pthread_mutex_t snap_mu = PTHREAD_MUTEX_INITIALIZER;
static char *snap_html;
static size_t snap_len;
static int64_t snap_at;

/* Renders the figures from the store into out (owned by the caller). */
static int render(struct store *st, int64_t now, struct buf *out)
{
    struct store_stats stats;
    TRY(store_stats_get(st, &stats));
    /* The charts' days and this month's (the revenue cards); without them (a busy database)
     * the other numbers still show. */
    struct store_revenue rev;
    int64_t first = now / 86400 - ADMIN_CHART_DAYS + 1, month = admin_month_start_day(now);
    bool charts = store_revenue_daily(st, (month < first ? month : first) * 86400, now + 1, &rev) == 0;
    /* Likewise the "now" cards. */
    struct store_live live;
    bool have_live = store_live_get(st, now, &live) == 0;
    int rc = admin_overview_figures(out, &stats, have_live ? &live : NULL, charts ? &rev : NULL, now);
    if (charts)
        store_revenue_free(&rev);
    return rc;
}

int admin_snapshot_get(struct store *st, int64_t now, bool fresh, char **html, size_t *len, int64_t *taken_at)
{
    int rc = 0;
    *html = NULL;
    /* One renderer at a time: concurrent loads of an expired overview wait for it, not add to it. */
    pthread_mutex_lock(&snap_mu);
    if (fresh || snap_html == NULL || now - snap_at >= ADMIN_SNAPSHOT_TTL || now < snap_at) {
        struct buf b;
        buf_init(&b);
        rc = render(st, now, &b);
        if (rc == 0) {
            char *copy = malloc(buf_len(&b) + 1);
            if (copy == NULL) {
                rc = ERR_NOMEM;
            } else {
                memcpy(copy, buf_data(&b), buf_len(&b));
                copy[buf_len(&b)] = '\0';
                free(snap_html);
                snap_html = copy;
                snap_len = buf_len(&b);
                snap_at = now;
            }
        }
        buf_dispose(&b);
    }
    if (rc == 0) {
        *html = malloc(snap_len + 1);
        if (*html == NULL)
            rc = ERR_NOMEM;
        else {
            memcpy(*html, snap_html, snap_len + 1);
            *len = snap_len;
            *taken_at = snap_at;
        }
    }
    pthread_mutex_unlock(&snap_mu);
    return rc;
}

void admin_snapshot_reset(void)
{
    pthread_mutex_lock(&snap_mu);
    free(snap_html);
    snap_html = NULL;
    snap_len = 0;
    snap_at = 0;
    pthread_mutex_unlock(&snap_mu);
}
