/* What the suspicious-activity analysis reads: /sub fetch addresses (recorded here), failed
 * payments, audit rows. Read-only aggregations except the fetch record and its pruning. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/store/store_findings.h"
#include "hub/store/store_int.h"

struct fetch_arg {
    int64_t user_id, now;
    const char *ip, *ua;
};

static int fetch_body(struct store_conn *sc, void *arg)
{
    struct fetch_arg *a = arg;
    struct store_val p[] = {SV_TN(a->ua), SV_I(a->now), SV_I(a->user_id), SV_T(a->ip)};
    int64_t changed = 0;
    TRY(store__exec_changes(sc,
                            "UPDATE sub_fetch_ips SET user_agent = $1, last_seen = $2, fetches = fetches + 1"
                            " WHERE user_id = $3 AND ip = $4",
                            p, 4, &changed));
    if (changed == 1)
        return 0;
    struct store_val pi[] = {SV_I(a->user_id), SV_T(a->ip), SV_TN(a->ua), SV_I(a->now)};
    /* Two first fetches from one address at once: the second insert does nothing. */
    return store__exec(sc,
                       "INSERT INTO sub_fetch_ips (user_id, ip, user_agent, first_seen, last_seen, fetches)"
                       " VALUES ($1, $2, $3, $4, $4, 1) ON CONFLICT (user_id, ip) DO NOTHING",
                       pi, 4, NULL);
}

int store_sub_fetch_seen(struct store *st, int64_t user_id, const char *ip, const char *user_agent, int64_t now)
{
    if (ip == NULL || ip[0] == '\0')
        return 0;
    char ua[129];
    snprintf(ua, sizeof ua, "%s", user_agent ? user_agent : "");
    struct fetch_arg a = {user_id, now, ip, ua};
    return store__tx(st, fetch_body, &a);
}

static int prune_body(struct store_conn *sc, void *arg)
{
    struct store_val p[] = {SV_I(*(int64_t *)arg)};
    return store__exec(sc, "DELETE FROM sub_fetch_ips WHERE last_seen < $1", p, 1, NULL);
}

int store_sub_fetch_prune(struct store *st, int64_t before)
{
    return store__tx(st, prune_body, &before);
}

struct fetches_arg {
    int64_t since;
    struct store_fetch_ip *list;
    size_t n;
};

static int fetches_body(struct store_conn *sc, void *arg)
{
    struct fetches_arg *a = arg;
    struct store_val p[] = {SV_I(a->since)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT f.user_id, f.ip, f.user_agent, f.last_seen, f.fetches,"
                    " (SELECT max(s.device_limit) FROM subscriptions s WHERE s.user_id = f.user_id"
                    "  AND s.state = 'active') FROM sub_fetch_ips f WHERE f.last_seen >= $1"
                    " ORDER BY f.user_id, f.ip",
                    p, 1, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct store_fetch_ip *x = &a->list[i];
        x->user_id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, x->ip, sizeof x->ip);
        store__cell_str(&r, i, 2, x->user_agent, sizeof x->user_agent);
        x->last_seen = store__cell_i64(&r, i, 3);
        x->fetches = store__cell_i64(&r, i, 4);
        x->device_limit = store__cell_i64(&r, i, 5);
    }
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_sub_fetches_since(struct store *st, int64_t since, struct store_fetch_ip **out, size_t *n)
{
    struct fetches_arg a = {.since = since};
    int rc = store__ro(st, fetches_body, &a);
    if (rc < 0) {
        free(a.list);
        a.list = NULL;
        a.n = 0;
    }
    *out = a.list;
    *n = a.n;
    return rc;
}

/* Runs a query whose rows are (user_id or NULL, key or NULL, count) into a count list. */
struct counts_arg {
    const char *sql;
    struct store_val p[2];
    size_t np;
    struct store_signal_count *list;
    size_t n;
    bool details; /* a 4th column {"attempts": N} gives the count */
};

static int counts_body(struct store_conn *sc, void *arg)
{
    struct counts_arg *a = arg;
    struct store_res r;
    TRY(store__exec(sc, a->sql, a->p, a->np, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        a->list[i].user_id = store__cell_i64(&r, i, 0);
        store__cell_str(&r, i, 1, a->list[i].key, sizeof a->list[i].key);
        a->list[i].count = store__cell_i64(&r, i, 2);
        if (a->details) {
            char d[128];
            long long v = 0;
            store__cell_str(&r, i, 3, d, sizeof d);
            a->list[i].count = sscanf(d, "{\"attempts\":%lld}", &v) == 1 && v > 0 ? v : 0;
        }
    }
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

static int counts_run(struct store *st, struct counts_arg *a, struct store_signal_count **out, size_t *n)
{
    int rc = store__ro(st, counts_body, a);
    if (rc < 0) {
        free(a->list);
        a->list = NULL;
        a->n = 0;
    }
    *out = a->list;
    *n = a->n;
    return rc;
}

int store_payment_trouble_since(struct store *st, int64_t since, struct store_signal_count **out, size_t *n)
{
    struct counts_arg a = {.sql = "SELECT user_id, NULL, count(*) FROM payments WHERE user_id IS NOT NULL"
                                  " AND updated_at >= $1 AND (status IN ('failed', 'refunded') OR flag IS NOT NULL)"
                                  " GROUP BY user_id ORDER BY user_id",
                           .p = {SV_I(since)},
                           .np = 1};
    return counts_run(st, &a, out, n);
}

int store_audit_action_by_ip(struct store *st, const char *action, int64_t since, struct store_signal_count **out,
                             size_t *n)
{
    struct counts_arg a = {.sql = "SELECT 0, coalesce(source_ip, ''), count(*) FROM audit_log"
                                  " WHERE action = $1 AND at >= $2 GROUP BY coalesce(source_ip, '')"
                                  " ORDER BY coalesce(source_ip, '')",
                           .p = {SV_T(action), SV_I(since)},
                           .np = 2};
    return counts_run(st, &a, out, n);
}

int store_token_new_ip_since(struct store *st, int64_t since, struct store_signal_count **out, size_t *n)
{
    struct counts_arg a = {.sql = "SELECT 0, a.actor, count(*) FROM audit_log a WHERE a.action = 'token.new_ip'"
                                  " AND a.at >= $1 AND EXISTS (SELECT 1 FROM token_ips t WHERE t.actor = a.actor"
                                  " AND t.ip <> coalesce(a.source_ip, '') AND t.first_seen < a.at)"
                                  " GROUP BY a.actor ORDER BY a.actor",
                           .p = {SV_I(since)},
                           .np = 1};
    return counts_run(st, &a, out, n);
}

/* The attempts sit in the rows' details ({"attempts": N}); summed per target here rather than in
 * SQL, where SQLite and PostgreSQL read JSON differently. */
int store_attempts_since(struct store *st, const char *action, int64_t since, struct store_signal_count **out,
                         size_t *n)
{
    struct counts_arg a = {.sql = "SELECT 0, target, 0, details FROM audit_log WHERE action = $1"
                                  " AND at >= $2 ORDER BY target",
                           .p = {SV_T(action), SV_I(since)},
                           .np = 2,
                           .details = true};
    TRY(counts_run(st, &a, out, n));
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        struct store_signal_count *x = &(*out)[i];
        long long id = 0;
        if (x->key[0] == '\0' || x->count <= 0)
            continue;
        if (k > 0 && strcmp((*out)[k - 1].key, x->key) == 0) {
            (*out)[k - 1].count += x->count;
            continue;
        }
        (*out)[k] = *x;
        (*out)[k].user_id = sscanf(x->key, "user:%lld", &id) == 1 && id > 0 ? id : 0;
        k++;
    }
    *n = k;
    return 0;
}

/* Per user: targets other than "user:<id>" are dropped. */
static int user_attempts_since(struct store *st, const char *action, int64_t since, struct store_signal_count **out,
                               size_t *n)
{
    TRY(store_attempts_since(st, action, since, out, n));
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if ((*out)[i].user_id > 0)
            (*out)[k++] = (*out)[i];
    *n = k;
    return 0;
}

int store_bittorrent_since(struct store *st, int64_t since, struct store_signal_count **out, size_t *n)
{
    return user_attempts_since(st, "node.bittorrent", since, out, n);
}

int store_smtp_since(struct store *st, int64_t since, struct store_signal_count **out, size_t *n)
{
    return user_attempts_since(st, "node.smtp", since, out, n);
}
struct windows_arg {
    int64_t since, recent_from;
    struct store_usage_window *list;
    size_t n;
};

static int windows_body(struct store_conn *sc, void *arg)
{
    struct windows_arg *a = arg;
    struct store_val p[] = {SV_I(a->since), SV_I(a->recent_from)};
    struct store_res r;
    TRY(store__exec(sc,
                    "SELECT user_id, sum(CASE WHEN hour >= $2 THEN bytes ELSE 0 END),"
                    " sum(CASE WHEN hour < $2 THEN bytes ELSE 0 END), min(hour) FROM usage_hourly"
                    " WHERE hour >= $1 GROUP BY user_id ORDER BY user_id",
                    p, 2, &r));
    if (r.nrows > 0 && (a->list = calloc(r.nrows, sizeof *a->list)) == NULL) {
        store__res_free(&r);
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        a->list[i].user_id = store__cell_i64(&r, i, 0);
        a->list[i].recent = store__cell_i64(&r, i, 1);
        a->list[i].before = store__cell_i64(&r, i, 2);
        a->list[i].first_hour = store__cell_i64(&r, i, 3);
    }
    a->n = r.nrows;
    store__res_free(&r);
    return 0;
}

int store_usage_windows(struct store *st, int64_t since, int64_t recent_from, struct store_usage_window **out,
                        size_t *n)
{
    struct windows_arg a = {.since = since, .recent_from = recent_from};
    int rc = store__ro(st, windows_body, &a);
    if (rc < 0) {
        free(a.list);
        a.list = NULL;
        a.n = 0;
    }
    *out = a.list;
    *n = a.n;
    return rc;
}

static int hourly_prune_body(struct store_conn *sc, void *arg)
{
    struct store_val p[] = {SV_I(*(int64_t *)arg)};
    return store__exec(sc, "DELETE FROM usage_hourly WHERE hour < $1", p, 1, NULL);
}

int store_usage_hourly_prune(struct store *st, int64_t before)
{
    return store__tx(st, hourly_prune_body, &before);
}
