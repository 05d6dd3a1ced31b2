/* Prometheus metrics of the hub's HTTP surface (GET /metrics, text format 0.0.4): requests by
 * route pattern, method and status; latency per route; subscription fetches by format; object
 * counts from the database and the connection pool, refreshed at scrape time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/metrics.h"
#include "hub/api/api_int.h"
#include "hub/analysis/analysis.h"
#include "hub/audit/audit.h"
#include "hub/targets/targets.h"
#include "hub/backup/backup.h"
#include "hub/bot/bot_flood.h"
#include "hub/cache/cache.h"
#include "hub/domain/node_health.h"
#include "hub/store/store_findings.h"

static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

static void collect_objects(struct metrics_family *f, void *arg)
{
    struct api_ctx *ctx = arg;
    struct store_stats s;
    if (store_stats_get(ctx->st, &s) < 0)
        return;
    const struct {
        const char *kind;
        int64_t v;
    } rows[] = {{"users", s.users},
                {"users_enabled", s.users_enabled},
                {"subscriptions_active", s.subs_active},
                {"subscriptions_limited", s.subs_limited},
                {"subscriptions_expired", s.subs_expired},
                {"nodes", s.nodes},
                {"nodes_up", s.nodes_up},
                {"nodes_draining", s.nodes_draining},
                {"payments_succeeded", s.payments_succeeded},
                {"sync_revision", s.revision}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *v[] = {rows[i].kind};
        struct metrics_series *ser = metrics_series(f, v);
        if (ser != NULL)
            metrics_set(ser, rows[i].v);
    }
}

/* Payments by provider and outcome, from the database (the same figures on every replica). */
static void collect_payments(struct metrics_family *f, void *arg)
{
    struct api_ctx *ctx = arg;
    struct store_pay_count *rows;
    size_t n;
    if (store_payment_counts(ctx->st, &rows, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        const char *v[] = {rows[i].provider, rows[i].outcome};
        struct metrics_series *ser = metrics_series(f, v);
        if (ser != NULL)
            metrics_set(ser, rows[i].n);
    }
    free(rows);
}

static void collect_pool(struct metrics_family *f, void *arg)
{
    struct api_ctx *ctx = arg;
    size_t size, busy;
    store_pool_stats(ctx->st, &size, &busy);
    const char *vs[] = {"size"}, *vb[] = {"busy"};
    struct metrics_series *s = metrics_series(f, vs), *b = metrics_series(f, vb);
    if (s != NULL)
        metrics_set(s, (int64_t)size);
    if (b != NULL)
        metrics_set(b, (int64_t)busy);
}

/* 1 for the mode in use (redis, local, local-fallback), 0 for the others. */
static void collect_cache_mode(struct metrics_family *f, void *arg)
{
    struct api_ctx *ctx = arg;
    static const char *const modes[] = {"redis", "local", "local-fallback"};
    const char *cur = ctx->cfg.cache ? hcache_mode(ctx->cfg.cache) : "";
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        const char *v[] = {modes[i]};
        struct metrics_series *s = metrics_series(f, v);
        if (s != NULL)
            metrics_set(s, strcmp(cur, modes[i]) == 0);
    }
}

/* REALITY target rotations in this process (hub/targets/targets.h). */
static void collect_rotations(struct metrics_family *f, void *arg)
{
    (void)arg;
    struct targets_stats st;
    targets_stats_get(&st);
    for (int i = TARGETS_R_FAILURES; i < TARGETS_R__COUNT; i++) {
        const char *v[] = {targets_reason_str((enum targets_reason)i)};
        struct metrics_series *x = metrics_series(f, v);
        if (x != NULL && st.rotations[i] > metrics_counter_value(x))
            metrics_add(x, st.rotations[i] - metrics_counter_value(x));
    }
    const char *v[] = {"no_candidate"};
    struct metrics_series *x = metrics_series(f, v);
    if (x != NULL && st.no_candidate > metrics_counter_value(x))
        metrics_add(x, st.no_candidate - metrics_counter_value(x));
}

/* The last check of the audit chain in this process (hub/audit/audit.h): 1 intact, 0 broken;
 * no series before the first check. */
/* 1 when the personal columns are encrypted (a master key is configured), 0 when in plaintext. */
static void collect_encryption(struct metrics_family *f, void *arg)
{
    struct api_ctx *ctx = arg;
    struct metrics_series *s = metrics_series(f, NULL);
    if (s != NULL)
        metrics_set(s, store_seal_enabled(ctx->st) ? 1 : 0);
}

static void collect_audit(struct metrics_family *f, void *arg)
{
    (void)arg;
    struct audit_status a;
    audit_status_get(&a);
    struct metrics_series *s = a.checked ? metrics_series(f, NULL) : NULL;
    if (s != NULL)
        metrics_set(s, a.ok);
}

/* Telegram updates the bot's per-user flood control dropped (hub/bot/bot_flood.h). */
static void collect_bot_dropped(struct metrics_family *f, void *arg)
{
    (void)arg;
    struct metrics_series *s = metrics_series(f, NULL);
    uint64_t total = bot_flood_dropped_total();
    if (s != NULL && total > metrics_counter_value(s))
        metrics_add(s, total - metrics_counter_value(s));
}

/* Open suspicious-activity findings by kind (hub/analysis/), 0 for kinds with none, so an
 * alert on > 0 fires as soon as one is raised. */
static void collect_findings(struct metrics_family *f, void *arg)
{
    struct api_ctx *ctx = arg;
    char kinds[16][33];
    int64_t counts[16];
    size_t n;
    if (store_finding_open_counts(ctx->st, kinds, counts, 16, &n) < 0)
        return;
    for (size_t k = 0; analysis_kinds[k] != NULL; k++) {
        const char *label[] = {analysis_kinds[k]};
        int64_t v = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(kinds[i], analysis_kinds[k]) == 0)
                v = counts[i];
        struct metrics_series *s = metrics_series(f, label);
        if (s != NULL)
            metrics_set(s, v);
    }
}

/* The last successful SQLite backup of this process (hub/backup/backup.h); no series before it. */
static void collect_backup(struct metrics_family *f, void *arg)
{
    (void)arg;
    int64_t at = hub_backup_last_success();
    struct metrics_series *s = at > 0 ? metrics_series(f, NULL) : NULL;
    if (s != NULL)
        metrics_set(s, at);
}

/* Nodes by what /sub makes of them now (hub/domain/node_health.h), plus "unreachable": alive
 * but failing this hub's probe. */
static void collect_nodes(struct metrics_family *f, void *arg)
{
    struct api_ctx *ctx = arg;
    struct hub_node *all;
    size_t n;
    if (store_node_list(ctx->st, &all, &n) < 0)
        return;
    int64_t now = ctx->cfg.clock ? ctx->cfg.clock(ctx->cfg.clock_arg) : (int64_t)time(NULL);
    int64_t count[HUB_NODE__COUNT + 1] = {0};
    pthread_mutex_lock(&ctx->node_mu);
    for (size_t i = 0; i < n; i++) {
        enum hub_node_verdict v = hub_node_verdict(&all[i], now, ctx->cfg.node_dead_after);
        bool unreachable = false;
        for (size_t j = 0; v == HUB_NODE_SERVED && j < ctx->n_unreachable; j++)
            unreachable = unreachable || ctx->unreachable[j] == all[i].id;
        count[unreachable ? HUB_NODE__COUNT : v]++;
    }
    pthread_mutex_unlock(&ctx->node_mu);
    free(all);
    for (int v = 0; v <= HUB_NODE__COUNT; v++) {
        const char *label[] = {v == HUB_NODE__COUNT ? "unreachable" : hub_node_verdict_name((enum hub_node_verdict)v)};
        struct metrics_series *s = metrics_series(f, label);
        if (s != NULL)
            metrics_set(s, count[v]);
    }
}

/* A family whose values collect(f, arg) reads at each scrape; NULL when it cannot be made. */
static struct metrics_family *collected(struct metrics_registry *r, enum metrics_type type, const char *name,
                                        const char *help, const char *const *labels, size_t n_labels, size_t max_series,
                                        metrics_collect_cb *collect, void *arg)
{
    struct metrics_family *f = metrics_family_new(r, type, name, help, labels, n_labels, NULL, 0, max_series);
    if (f != NULL)
        metrics_family_on_collect(f, collect, arg);
    return f;
}

void api__metrics_init(struct api_ctx *ctx)
{
    static const char *const req_labels[] = {"route", "method", "code"};
    static const char *const route_label[] = {"route"};
    static const char *const fmt_label[] = {"format"};
    static const char *const kind_label[] = {"kind"};
    static const char *const state_label[] = {"state"};
    struct metrics_registry *r = metrics_registry_new();
    if (r == NULL)
        return;
    ctx->m_requests =
        metrics_family_new(r, METRICS_COUNTER, "veil_hub_http_requests_total",
                           "HTTP requests by route pattern, method and status code", req_labels, 3, NULL, 0, 2000);
    ctx->m_latency = metrics_family_new(r, METRICS_HISTOGRAM, "veil_hub_http_request_duration_seconds",
                                        "Time to answer a request, by route pattern", route_label, 1, latency_buckets,
                                        sizeof latency_buckets / sizeof latency_buckets[0], 100);
    ctx->m_sub = metrics_family_new(r, METRICS_COUNTER, "veil_hub_subscription_fetches_total",
                                    "Subscription answers rendered, by format", fmt_label, 1, NULL, 0, 32);
    ctx->m_objects = collected(r, METRICS_GAUGE, "veil_hub_objects", "Rows in the database, by kind", kind_label, 1, 32,
                               collect_objects, ctx);
    ctx->m_pool = collected(r, METRICS_GAUGE, "veil_hub_db_pool_connections",
                            "Database connections in the pool and checked out", state_label, 1, 4, collect_pool, ctx);
    static const char *const cache_labels[] = {"what", "result"};
    static const char *const mode_label[] = {"mode"};
    ctx->m_cache = metrics_family_new(r, METRICS_COUNTER, "veil_hub_cache_lookups_total",
                                      "Cached answers looked up, by kind and result", cache_labels, 2, NULL, 0, 16);
    ctx->m_cache_mode =
        ctx->cfg.cache ? collected(r, METRICS_GAUGE, "veil_hub_cache_mode", "Where cached state lives now (1 = in use)",
                                   mode_label, 1, 4, collect_cache_mode, ctx)
                       : NULL;
    static const char *const reason_label[] = {"reason"};
    ctx->m_auth_fail = metrics_family_new(r, METRICS_COUNTER, "veil_hub_auth_failures_total",
                                          "Failed admin authentications, by reason", reason_label, 1, NULL, 0, 16);
    ctx->m_lockouts =
        metrics_family_new(r, METRICS_COUNTER, "veil_hub_auth_lockouts_total",
                           "Lockouts after repeated failures, by what was locked", kind_label, 1, NULL, 0, 4);
    static const char *const pay_labels[] = {"provider", "outcome"};
    collected(r, METRICS_GAUGE, "veil_hub_payments",
              "Payments by provider and outcome (status, or flagged: not credited, see the audit log)", pay_labels, 2,
              64, collect_payments, ctx);
    collected(r, METRICS_GAUGE, "veil_hub_audit_chain_ok",
              "1 when the audit log's hash chain held at the last check, 0 when a row was changed or "
              "deleted (veil-hub --verify-audit names it)",
              NULL, 0, 1, collect_audit, NULL);
    collected(r, METRICS_GAUGE, "veil_hub_encryption_enabled",
              "1 when personal columns are encrypted at rest (master_key_file set), 0 when stored in plaintext", NULL,
              0, 1, collect_encryption, ctx);
    collected(r, METRICS_GAUGE, "veil_hub_backup_last_success_timestamp_seconds",
              "UTC time of this hub's last successful SQLite backup (the backup section of hub.json)", NULL, 0, 1,
              collect_backup, NULL);
    collected(r, METRICS_GAUGE, "veil_hub_findings_open",
              "Open suspicious-activity findings by kind (GET /api/v1/findings lists them)", kind_label, 1, 16,
              collect_findings, ctx);
    collected(r, METRICS_COUNTER, "veil_hub_bot_updates_dropped_total",
              "Telegram messages and button presses dropped by the bot's per-user flood control", NULL, 0, 1,
              collect_bot_dropped, NULL);
    collected(r, METRICS_COUNTER, "veil_hub_target_rotations_total",
              "REALITY target rotations by reason (failures, verdict, manual); no_candidate: a rotation was due but no "
              "vetted target was left for the node",
              reason_label, 1, 8, collect_rotations, NULL);
    static const char *const node_labels[] = {"state"};
    collected(r, METRICS_GAUGE, "veil_hub_nodes",
              "Nodes by what subscriptions make of them now: served, excluded (weight 0 or draining), down, unseen "
              "(never checked in), stale (silent for fleet.dead_after), unreachable (failing this hub's probe)",
              node_labels, 1, 8, collect_nodes, ctx);
    ctx->metrics = r;
}

void api__metrics_dispose(struct api_ctx *ctx)
{
    metrics_registry_free(ctx->metrics);
    ctx->metrics = NULL;
}

void api__metrics_request(struct api_ctx *ctx, const char *route, const char *method, int status, double seconds)
{
    if (ctx->metrics == NULL)
        return;
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    /* Methods outside the API's own set share one label value: clients choose them. */
    static const char *const known[] = {"GET", "POST", "PATCH", "DELETE", "HEAD", "PUT"};
    const char *m = "other";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(method, known[i]) == 0)
            m = known[i];
    const char *rv[] = {route, m, code};
    struct metrics_series *s = ctx->m_requests ? metrics_series(ctx->m_requests, rv) : NULL;
    if (s != NULL)
        metrics_add(s, 1);
    const char *lv[] = {route};
    struct metrics_series *l = ctx->m_latency ? metrics_series(ctx->m_latency, lv) : NULL;
    if (l != NULL)
        metrics_observe(l, seconds);
}

void api__metrics_sub(struct api_ctx *ctx, const char *format)
{
    const char *v[] = {format};
    struct metrics_series *s = ctx->m_sub ? metrics_series(ctx->m_sub, v) : NULL;
    if (s != NULL)
        metrics_add(s, 1);
}

void api__metrics_cache(struct api_ctx *ctx, const char *what, const char *result)
{
    const char *v[] = {what, result};
    struct metrics_series *s = ctx->m_cache ? metrics_series(ctx->m_cache, v) : NULL;
    if (s != NULL)
        metrics_add(s, 1);
}

static void count_one(struct metrics_family *f, const char *label)
{
    const char *v[] = {label};
    struct metrics_series *s = f ? metrics_series(f, v) : NULL;
    if (s != NULL)
        metrics_add(s, 1);
}

void api__metrics_auth_failure(struct api_ctx *ctx, const char *reason)
{
    count_one(ctx->m_auth_fail, reason);
}

void api__metrics_lockout(struct api_ctx *ctx, const char *kind)
{
    count_one(ctx->m_lockouts, kind);
}

void api__metrics(struct api_call *c)
{
    struct buf b;
    buf_init(&b);
    if (c->ctx->metrics == NULL || metrics_render(c->ctx->metrics, &b) < 0) {
        buf_dispose(&b);
        api__error(c, 500, "internal", "metrics unavailable");
        return;
    }
    struct api_resp *r = c->resp;
    char *body = malloc(buf_len(&b) + 1);
    if (body == NULL) {
        buf_dispose(&b);
        api__error(c, 500, "internal", "out of memory");
        return;
    }
    memcpy(body, buf_data(&b), buf_len(&b));
    body[buf_len(&b)] = '\0';
    free(r->body);
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = body;
    r->body_len = buf_len(&b);
    buf_dispose(&b);
}
