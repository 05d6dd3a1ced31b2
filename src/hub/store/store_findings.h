/* Findings of the suspicious-activity analysis (hub/analysis/) and the signals it reads.
 * A finding is one row per (kind, subject), updated while the activity persists, so a
 * detector that fires every pass never floods the table. */
#ifndef VEIL_HUB_STORE_FINDINGS_H
#define VEIL_HUB_STORE_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/store/store.h"

struct store_finding {
    int64_t id;
    char kind[33];     /* "account_sharing", "leaked_link", ... */
    char subject[97];  /* "user:42", "ip:203.0.113.9", "token:3" */
    char severity[17]; /* "info", "warning", "critical" */
    char state[17];    /* "open", "acknowledged" */
    char *details;     /* malloc'd JSON object text or NULL */
    int64_t first_seen, last_seen, count;
};

/* Records that (kind, subject) was seen at now: a new open row, or the existing row's
 * last_seen, count (+1), severity and details updated. An acknowledged row whose last_seen is
 * older than now - reopen_after is opened again (the activity came back). *is_new (optional)
 * tells whether the row was created or re-opened. */
int store_finding_raise(struct store *st, const char *kind, const char *subject, const char *severity,
                        const char *details, int64_t now, int64_t reopen_after, bool *is_new);

struct store_finding_filter {
    const char *kind;    /* NULL: any */
    const char *state;   /* NULL: any */
    const char *subject; /* NULL: any */
    int64_t limit;       /* 1..1000 */
};
/* Newest last_seen first. */
int store_finding_list(struct store *st, const struct store_finding_filter *f, struct store_finding **out, size_t *n);
void store_findings_free(struct store_finding *f, size_t n);
/* Marks a finding acknowledged and writes a "finding.ack" audit row. ERR_NOT_FOUND. */
int store_finding_ack(struct store *st, int64_t id, int64_t now, const struct store_audit *audit);

/* Open findings per kind (for the metric): parallel arrays of up to cap entries. */
int store_finding_open_counts(struct store *st, char (*kinds)[33], int64_t *counts, size_t cap, size_t *n);

/* ---- signals ---- */

/* A subscription fetch reached the hub from ip (with user_agent, may be NULL): one row per
 * (user, address) with first/last seen and a fetch count. */
int store_sub_fetch_seen(struct store *st, int64_t user_id, const char *ip, const char *user_agent, int64_t now);
/* Forgets fetch rows last seen before `before`. */
int store_sub_fetch_prune(struct store *st, int64_t before);

/* Addresses each user fetched /sub from since `since`, ordered by user, with the device limit
 * of the user's active subscription (0: none or unlimited). */
struct store_fetch_ip {
    int64_t user_id, device_limit, last_seen, fetches;
    char ip[65];
    char user_agent[129];
};
int store_sub_fetches_since(struct store *st, int64_t since, struct store_fetch_ip **out, size_t *n);

/* Per user with usage hours since `since`: the bytes of hours >= recent_from, the bytes of the
 * hours before it, and the user's first hour on record since `since`; ordered by user. */
struct store_usage_window {
    int64_t user_id, recent, before, first_hour;
};
int store_usage_windows(struct store *st, int64_t since, int64_t recent_from, struct store_usage_window **out,
                        size_t *n);
/* Forgets usage hours before `before`. */
int store_usage_hourly_prune(struct store *st, int64_t before);

/* A count per subject (a user id or a text key) over a window. */
struct store_signal_count {
    int64_t user_id;
    char key[97];
    int64_t count;
};
/* Payments of each user updated since `since` that failed, were refunded or flagged. */
int store_payment_trouble_since(struct store *st, int64_t since, struct store_signal_count **out, size_t *n);
/* Audit rows with `action` since `since`, counted per source address (key; "" unknown). */
int store_audit_action_by_ip(struct store *st, const char *action, int64_t since, struct store_signal_count **out,
                             size_t *n);
/* BitTorrent attempts per user (count) from the nodes' "node.bittorrent" audit rows since `since`. */
int store_bittorrent_since(struct store *st, int64_t since, struct store_signal_count **out, size_t *n);
/* Refused port-25 flows per user from the nodes' "node.smtp" audit rows since `since`. */
int store_smtp_since(struct store *st, int64_t since, struct store_signal_count **out, size_t *n);
/* Audit rows `action` since `since` whose details are {"attempts": N}: N summed per target
 * (key), user_id parsed from a "user:<id>" target (else 0); sorted by target. */
int store_attempts_since(struct store *st, const char *action, int64_t since, struct store_signal_count **out,
                         size_t *n);
/* "token.new_ip" rows since `since` of tokens that had been used from another address before
 * (a token's very first address is not news): key = actor, count = new addresses. */
int store_token_new_ip_since(struct store *st, int64_t since, struct store_signal_count **out, size_t *n);

#endif
