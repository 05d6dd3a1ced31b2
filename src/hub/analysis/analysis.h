/* Suspicious-activity analysis: detectors that run as a scheduler job over data the hub
 * already has (/sub fetch addresses, payments, audit rows) and record findings
 * (hub/store/store_findings.h), one row per (kind, subject) while the activity persists.
 *
 *   kind              subject        fires when (defaults)
 *   account_sharing   user:<id>      /sub fetched from more /24 (IPv6 /48) networks than
 *                                    per_device (2) x the plan's device limit in 6 h, or, with a
 *                                    GeoIP database (country_db), from more countries than the
 *                                    device limit (and at least `countries`, 2), or, with its
                                    location coordinates, a one-device plan from two places
                                    > 1000 km apart within 30 min ("distance"; reason "distant")
 *   leaked_link       user:<id>      /sub fetched from >= 10 addresses or >= 6 user agents in 15 min;
 *                                    with "action": "rotate" a new finding also replaces the user's
 *                                    subscription token (audited user.rotate_token, actor "analysis")
 *   payment_trouble   user:<id>      >= 5 failed, refunded or flagged payments in 24 h
 *   webhook_forgery   ip:<addr>      >= 3 rejected webhooks from one address in 1 h
 *   token_new_ip      token:<id>     an API or node token used from an address it never used
 *                                    (after its first) in the last 24 h
 *   bittorrent        user:<id>      >= 1 BitTorrent flow recognised by nodes (usage push "bt",
 *                                    audit rows node.bittorrent) in 24 h
 *   smtp              user:<id>      >= 10 flows to port 25 refused by nodes (usage push "smtp",
 *                                    audit rows node.smtp) in 1 h: spam through the tunnel
 *   probing           net:<cidr>     a /24 (IPv6 /48) a node flagged for bursts of failed REALITY
 *                                    authentications (usage push health.probes, audit rows
 *                                    node.probing) in 1 h
 *   traffic_spike     user:<id>      the current clock hour's bytes (usage pushes, real bytes) are
 *                                    >= floor_mb (2048 MiB) and > factor (10) x the user's average
 *                                    hour over the window (7 d); needs 24 h of history */
#ifndef VEIL_HUB_ANALYSIS_H
#define VEIL_HUB_ANALYSIS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct analysis_geoip;

/* Every kind a detector raises, NULL-terminated (the metric shows each, 0 when none is open). */
extern const char *const analysis_kinds[];

struct analysis_cfg {
    int64_t interval;  /* seconds between passes */
    int64_t retention; /* /sub fetch rows older than this are forgotten */
    struct {
        int64_t window, per_device, countries;
    } sharing;
    /* "distance": {"window": s, "km": n}: one user's /sub fetched from two places more than km
     * apart within window seconds is account_sharing (reason "distant"); needs a country_db with
     * location coordinates (a City database). */
    struct {
        int64_t window, km;
    } distance;
    char country_db[512]; /* "country_db": a MaxMind DB file with country.iso_code; "" = none */
    /* The opened country_db, set by the module (analysis_module.c); NULL: no country checks. */
    const struct analysis_geoip *geoip;
    struct {
        int64_t window, ips, clients;
        bool rotate; /* "action": "rotate" (default "none") */
    } leaked;
    struct {
        int64_t window, failures;
    } payments;
    struct {
        int64_t window, rejected;
    } webhooks;
    struct {
        int64_t window;
    } tokens;
    struct {
        int64_t window, attempts;
    } bittorrent;
    struct {
        int64_t window, attempts;
    } smtp;
    struct {
        int64_t window, fallbacks;
    } probing;
    struct {
        int64_t window, factor, floor_mb;
    } spike;
};

/* Parses the "analysis" section (NULL: every default). 0, or ERR_CONFIG with err filled. */
int analysis_cfg_parse(const json_t *section, struct analysis_cfg *out, char *err, size_t errcap);

struct analysis_stats {
    int raised;  /* findings seen this pass */
    int created; /* of which new (or re-opened) */
    int rotated; /* subscription tokens replaced (leaked_link action) */
};

/* One pass of every detector at `now`. A detector that fails is logged and the others run;
 * the first error is returned. */
int analysis_run(struct store *st, const struct analysis_cfg *cfg, int64_t now, struct analysis_stats *out);

#endif
