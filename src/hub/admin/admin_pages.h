/* HTML of the dashboard pages (admin_pages.c). Pure: data in, markup appended to a buf. */
#ifndef VEIL_HUB_ADMIN_ADMIN_PAGES_H
#define VEIL_HUB_ADMIN_ADMIN_PAGES_H

#include "core/buf.h"
#include "hub/admin/admin.h"
#include "hub/store/store.h"

#define ADMIN_PAGE_SIZE 50 /* users per page */

/* error: NULL, or a message shown above the form (plain text, escaped here). */
int admin_page_login(struct buf *out, const char *error);
int admin_page_overview(struct buf *out, const struct admin_session *s, const struct store_stats *st);
/* One page of users (page counts from 1) out of total matches of q ("" for all); notice: NULL
 * or a line shown on top. */
int admin_page_users(struct buf *out, const struct admin_session *s, const struct hub_user *users, size_t n,
                     int64_t total, const char *q, int64_t page, const char *notice);

#endif
