/* The detectors: each reads one signal from the store and raises findings. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/secure.h"
#include "crypto/crypto.h"
#include "core/log.h"
#include "hub/analysis/analysis.h"
#include "hub/analysis/analysis_geoip.h"
#include "hub/domain/rules.h"
#include "hub/store/store_findings.h"

const char *const analysis_kinds[] = {
    "account_sharing", "leaked_link", "payment_trouble", "webhook_forgery", "token_new_ip",
    "bittorrent",      "smtp",        "probing",         "traffic_spike",   NULL};

/* Re-open an acknowledged finding only when the activity stopped for a day and came back. */
#define REOPEN_AFTER 86400

static int raise(struct store *st, const char *kind, const char *subject, const char *severity, json_t *details,
                 int64_t now, struct analysis_stats *s)
{
    char *text = details ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(details);
    bool is_new = false;
    int rc = store_finding_raise(st, kind, subject, severity, text, now, REOPEN_AFTER, &is_new);
    if (rc == 0) {
        s->raised++;
        if (is_new) {
            s->created++;
            log_warn("analysis", 0, "finding", LF_STR("kind", kind), LF_STR("subject", subject),
                     LF_STR("severity", severity));
        }
    }
    free(text);
    return rc;
}

/* The network an address belongs to for sharing: IPv4 /24, IPv6 /48 (one home or one
 * mobile operator's pool), as text. Unparseable addresses count as themselves. */
static void network_of(const char *ip, char *out, size_t cap)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, ip, b) == 1)
        snprintf(out, cap, "%u.%u.%u.0/24", b[0], b[1], b[2]);
    else if (inet_pton(AF_INET6, ip, b) == 1)
        snprintf(out, cap, "%02x%02x:%02x%02x:%02x%02x::/48", b[0], b[1], b[2], b[3], b[4], b[5]);
    else
        snprintf(out, cap, "%s", ip);
}

static bool seen_before(char (*set)[64], size_t n, const char *v)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], v) == 0)
            return true;
    return false;
}

/* The leaked_link action: a new subscription token, so the link that went around stops
 * working; the customer gets the new one from the bot or support. */
static int rotate_token(struct store *st, int64_t user_id, json_t *evidence, struct analysis_stats *s)
{
    uint8_t rnd[HUB_SUB_TOKEN_RAND];
    char tok[HUB_TOKEN_MAX + 1];
    TRY(crypto_random(rnd, sizeof rnd));
    hub_sub_token_format(tok, rnd);
    secure_wipe(rnd, sizeof rnd);
    char *details = json_dumps(evidence, JSON_COMPACT | JSON_SORT_KEYS);
    char target[40];
    snprintf(target, sizeof target, "user:%" PRId64, user_id);
    struct store_audit a = {.actor = "analysis", .action = "user.rotate_token", .target = target, .details = details};
    int rc = store_user_set_token(st, user_id, tok, &a);
    secure_wipe(tok, sizeof tok);
    free(details);
    if (rc == 0) {
        s->rotated++;
        log_warn("analysis", 0, "sub_token_rotated", LF_INT("user", user_id), LF_STR("finding", "leaked_link"));
    }
    return rc;
}

/* Great-circle distance in km (haversine, mean Earth radius). */
static double km_between(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = 3.14159265358979323846 / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * 6371.0 * asin(sqrt(a > 1 ? 1 : a));
}

/* Two of the user's recent fetch addresses more than distance.km apart and seen within
 * distance.window of each other: one person cannot be in both places. Up to 64 located rows are
 * compared (a user with more is already over any device limit). Returns the pair's distance in
 * km (0: none) and its two addresses. */
static int64_t distant_pair(const struct analysis_cfg *cfg, const struct store_fetch_ip *f, size_t count, int64_t now,
                            const char **ip_a, const char **ip_b)
{
    enum { CAP = 64 };
    double lat[CAP], lon[CAP];
    size_t row[CAP], n = 0;
    for (size_t i = 0; i < count && n < CAP; i++)
        if (f[i].last_seen >= now - cfg->sharing.window &&
            analysis_geoip_location(cfg->geoip, f[i].ip, &lat[n], &lon[n]))
            row[n++] = i;
    double best = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int64_t dt = f[row[i]].last_seen - f[row[j]].last_seen;
            if ((dt < 0 ? -dt : dt) > cfg->distance.window)
                continue;
            double km = km_between(lat[i], lon[i], lat[j], lon[j]);
            if (km > (double)cfg->distance.km && km > best) {
                best = km;
                *ip_a = f[row[i]].ip;
                *ip_b = f[row[j]].ip;
            }
        }
    return (int64_t)best;
}

/* One user's fetch rows [from, to) judged by both fetch detectors. */
static int judge_user(struct store *st, const struct analysis_cfg *cfg, const struct store_fetch_ip *f, size_t count,
                      int64_t now, struct analysis_stats *s)
{
    char(*nets)[64] = calloc(count, sizeof *nets);
    char(*agents)[64] = calloc(count, sizeof *agents);
    char(*ccs)[64] = calloc(count, sizeof *ccs);
    if (nets == NULL || agents == NULL || ccs == NULL) {
        free(nets);
        free(agents);
        free(ccs);
        return ERR_NOMEM;
    }
    size_t n_nets = 0, n_recent_ips = 0, n_agents = 0, n_ccs = 0;
    json_t *recent = json_array(), *networks = json_array(), *countries = json_array();
    for (size_t i = 0; i < count; i++) {
        if (f[i].last_seen >= now - cfg->sharing.window) {
            char net[64], cc[3];
            network_of(f[i].ip, net, sizeof net);
            if (!seen_before(nets, n_nets, net)) {
                snprintf(nets[n_nets++], sizeof nets[0], "%s", net);
                json_array_append_new(networks, json_string(net));
            }
            if (cfg->geoip != NULL && analysis_geoip_country(cfg->geoip, f[i].ip, cc) && !seen_before(ccs, n_ccs, cc)) {
                snprintf(ccs[n_ccs++], sizeof ccs[0], "%s", cc);
                json_array_append_new(countries, json_string(cc));
            }
        }
        if (f[i].last_seen >= now - cfg->leaked.window) {
            n_recent_ips++;
            if (json_array_size(recent) < 20)
                json_array_append_new(recent, json_string(f[i].ip));
            char ua[64];
            snprintf(ua, sizeof ua, "%.63s", f[i].user_agent);
            if (!seen_before(agents, n_agents, ua))
                snprintf(agents[n_agents++], sizeof agents[0], "%s", ua);
        }
    }
    char subject[40];
    snprintf(subject, sizeof subject, "user:%" PRId64, f[0].user_id);
    int rc = 0;
    int64_t limit = f[0].device_limit;
    /* Countries: a plan's devices are not in more countries at once than there are devices. */
    bool by_country = limit > 0 && (int64_t)n_ccs > limit && (int64_t)n_ccs >= cfg->sharing.countries;
    if (limit > 0 && ((int64_t)n_nets > limit * cfg->sharing.per_device || by_country)) {
        json_t *d = json_pack("{s:I,s:I,s:I,s:O}", "networks", (json_int_t)n_nets, "device_limit", (json_int_t)limit,
                              "window", (json_int_t)cfg->sharing.window, "seen", networks);
        if (d != NULL && cfg->geoip != NULL)
            json_object_set(d, "countries", countries);
        rc = raise(st, "account_sharing", subject, "warning", d, now, s);
    } else if (limit == 1 && cfg->geoip != NULL) { /* two places are two people only on a one-device plan */
        const char *a = NULL, *b = NULL;
        int64_t km = distant_pair(cfg, f, count, now, &a, &b);
        if (km > 0) {
            json_t *d = json_pack("{s:s,s:I,s:I,s:[s,s]}", "reason", "distant", "km", (json_int_t)km, "window",
                                  (json_int_t)cfg->distance.window, "seen", a, b);
            rc = raise(st, "account_sharing", subject, "warning", d, now, s);
        }
    }
    if (rc == 0 && ((int64_t)n_recent_ips >= cfg->leaked.ips || (int64_t)n_agents >= cfg->leaked.clients)) {
        json_t *d = json_pack("{s:I,s:I,s:I,s:O}", "addresses", (json_int_t)n_recent_ips, "clients",
                              (json_int_t)n_agents, "window", (json_int_t)cfg->leaked.window, "seen", recent);
        int created = s->created;
        rc = raise(st, "leaked_link", subject, "critical", d, now, s);
        /* Once per finding: the rows of the old link keep it alive until they age out. */
        if (rc == 0 && cfg->leaked.rotate && s->created > created) {
            json_t *why = json_pack("{s:s,s:I}", "finding", "leaked_link", "addresses", (json_int_t)n_recent_ips);
            rc = rotate_token(st, f[0].user_id, why, s);
            json_decref(why);
        }
    }
    json_decref(recent);
    json_decref(networks);
    json_decref(countries);
    free(nets);
    free(agents);
    free(ccs);
    return rc;
}

static int detect_fetches(struct store *st, const struct analysis_cfg *cfg, int64_t now, struct analysis_stats *s)
{
    int64_t window = cfg->sharing.window > cfg->leaked.window ? cfg->sharing.window : cfg->leaked.window;
    struct store_fetch_ip *f;
    size_t n;
    TRY(store_sub_fetches_since(st, now - window, &f, &n));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i;
        while (j < n && f[j].user_id == f[i].user_id)
            j++;
        rc = judge_user(st, cfg, f + i, j - i, now, s);
        i = j;
    }
    free(f);
    return rc;
}

static int detect_payments(struct store *st, const struct analysis_cfg *cfg, int64_t now, struct analysis_stats *s)
{
    struct store_signal_count *c;
    size_t n;
    TRY(store_payment_trouble_since(st, now - cfg->payments.window, &c, &n));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (c[i].count < cfg->payments.failures)
            continue;
        char subject[40];
        snprintf(subject, sizeof subject, "user:%" PRId64, c[i].user_id);
        rc = raise(
            st, "payment_trouble", subject, "warning",
            json_pack("{s:I,s:I}", "payments", (json_int_t)c[i].count, "window", (json_int_t)cfg->payments.window), now,
            s);
    }
    free(c);
    return rc;
}

static int detect_webhooks(struct store *st, const struct analysis_cfg *cfg, int64_t now, struct analysis_stats *s)
{
    struct store_signal_count *c;
    size_t n;
    TRY(store_audit_action_by_ip(st, "webhook_rejected", now - cfg->webhooks.window, &c, &n));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (c[i].count < cfg->webhooks.rejected)
            continue;
        char subject[97];
        snprintf(subject, sizeof subject, "ip:%.64s", c[i].key[0] ? c[i].key : "unknown");
        rc = raise(
            st, "webhook_forgery", subject, "critical",
            json_pack("{s:I,s:I}", "rejected", (json_int_t)c[i].count, "window", (json_int_t)cfg->webhooks.window), now,
            s);
    }
    free(c);
    return rc;
}

static int detect_tokens(struct store *st, const struct analysis_cfg *cfg, int64_t now, struct analysis_stats *s)
{
    struct store_signal_count *c;
    size_t n;
    TRY(store_token_new_ip_since(st, now - cfg->tokens.window, &c, &n));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = raise(
            st, "token_new_ip", c[i].key, "info",
            json_pack("{s:I,s:I}", "new_addresses", (json_int_t)c[i].count, "window", (json_int_t)cfg->tokens.window),
            now, s);
    free(c);
    return rc;
}

/* The detectors of what nodes report (audit rows `action`, `what` summed per subject over the
 * window): a subject at or over the threshold raises `kind`. Subjects are users ("user:<id>",
 * parsed by store_attempts_since) or networks ("net:<cidr>"); window and threshold are offsets
 * of int64_t settings in struct analysis_cfg. */
static const struct attempts_detector {
    const char *kind, *action, *what;
    bool of_users; /* else networks */
    size_t window, threshold;
} attempts_detectors[] = {
    {"bittorrent", "node.bittorrent", "attempts", true, offsetof(struct analysis_cfg, bittorrent.window),
     offsetof(struct analysis_cfg, bittorrent.attempts)},
    /* abuse: many destinations on port 25 (spam through customers' tunnels) */
    {"smtp", "node.smtp", "attempts", true, offsetof(struct analysis_cfg, smtp.window),
     offsetof(struct analysis_cfg, smtp.attempts)},
    /* probing of a node: networks the nodes flagged (summed over nodes) */
    {"probing", "node.probing", "fallbacks", false, offsetof(struct analysis_cfg, probing.window),
     offsetof(struct analysis_cfg, probing.fallbacks)},
};

static int64_t setting(const struct analysis_cfg *cfg, size_t offset)
{
    int64_t v;
    memcpy(&v, (const char *)cfg + offset, sizeof v);
    return v;
}

static int detect_attempts(struct store *st, const struct attempts_detector *d, const struct analysis_cfg *cfg,
                           int64_t now, struct analysis_stats *s)
{
    int64_t window = setting(cfg, d->window), threshold = setting(cfg, d->threshold);
    struct store_signal_count *c;
    size_t n;
    TRY(store_attempts_since(st, d->action, now - window, &c, &n));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool subject = d->of_users ? c[i].user_id > 0 : strncmp(c[i].key, "net:", 4) == 0;
        if (!subject || c[i].count < threshold)
            continue;
        rc = raise(st, d->kind, c[i].key, "warning",
                   json_pack("{s:I,s:I}", d->what, (json_int_t)c[i].count, "window", (json_int_t)window), now, s);
    }
    free(c);
    return rc;
}

/* A user's history must span this long before an hour can stand out from it. */
#define SPIKE_MIN_HISTORY 86400

static int detect_spikes(struct store *st, const struct analysis_cfg *cfg, int64_t now, struct analysis_stats *s)
{
    int64_t hour = now - now % 3600;
    struct store_usage_window *w;
    size_t n;
    TRY(store_usage_windows(st, now - cfg->spike.window, hour, &w, &n));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int64_t start = w[i].first_hour > now - cfg->spike.window ? w[i].first_hour : now - cfg->spike.window;
        int64_t history = hour - start;
        if (history < SPIKE_MIN_HISTORY || w[i].recent < cfg->spike.floor_mb * 1048576)
            continue;
        /* Hours without a push count as idle: the average of a user who is usually quiet stays low. */
        int64_t average = w[i].before / (history / 3600);
        if (w[i].recent / cfg->spike.factor <= average)
            continue;
        char subject[40];
        snprintf(subject, sizeof subject, "user:%" PRId64, w[i].user_id);
        rc = raise(st, "traffic_spike", subject, "warning",
                   json_pack("{s:I,s:I,s:I,s:I}", "bytes_this_hour", (json_int_t)w[i].recent, "average_hour",
                             (json_int_t)average, "factor", (json_int_t)cfg->spike.factor, "history_hours",
                             (json_int_t)(history / 3600)),
                   now, s);
    }
    free(w);
    return rc;
}

/* A detector that failed is logged and the others still run; the first error is kept. */
static void detector_done(const char *name, int rc, int *first)
{
    if (rc < 0) {
        log_err("analysis", 0, "detector_failed", LF_STR("detector", name), LF_INT("rc", rc));
        if (*first == 0)
            *first = rc;
    }
}

int analysis_run(struct store *st, const struct analysis_cfg *cfg, int64_t now, struct analysis_stats *out)
{
    static const struct {
        const char *name;
        int (*fn)(struct store *, const struct analysis_cfg *, int64_t, struct analysis_stats *);
    } detectors[] = {
        {"fetches", detect_fetches}, {"payments", detect_payments},    {"webhooks", detect_webhooks},
        {"tokens", detect_tokens},   {"traffic_spike", detect_spikes},
    };
    struct analysis_stats s = {0};
    int first = 0;
    for (size_t i = 0; i < sizeof detectors / sizeof detectors[0]; i++)
        detector_done(detectors[i].name, detectors[i].fn(st, cfg, now, &s), &first);
    for (size_t i = 0; i < sizeof attempts_detectors / sizeof attempts_detectors[0]; i++)
        detector_done(attempts_detectors[i].kind, detect_attempts(st, &attempts_detectors[i], cfg, now, &s), &first);
    int64_t longest = cfg->sharing.window > cfg->leaked.window ? cfg->sharing.window : cfg->leaked.window;
    int64_t keep = cfg->retention > longest ? cfg->retention : longest;
    int rc = store_sub_fetch_prune(st, now - keep);
    if (rc < 0 && first == 0)
        first = rc;
    rc = store_usage_hourly_prune(st, now - cfg->spike.window - 3600);
    if (rc < 0 && first == 0)
        first = rc;
    if (out != NULL)
        *out = s;
    return first;
}
