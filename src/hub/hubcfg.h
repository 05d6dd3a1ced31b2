/* veil-hub configuration: a JSON file parsed and validated into an immutable struct.
 *
 *   {"listen": "127.0.0.1", "port": 8080, "threads": 4, "database": "sqlite:/var/lib/veil/hub.db",
 *    "db_pool": 8, "admin_token": "<bootstrap admin token>", "sync_interval": 15,
 *    "redis_url": null, "log_level": "info", "trusted_proxies": ["127.0.0.1/32"], "body_max": 65536,
 *    "subscription": {"title": "Veil", "update_interval_hours": 12, "support_url": "",
 *                     "public_url": "https://vpn.example.com", "xray_json": false,
 *                     "page_color": "#2563eb", "page_logo_url": "https://vpn.example.com/logo.png",
 *                     "renew_url": "https://t.me/my_vpn_bot"},
 *    "scheduler": {"enabled": true, "interval": 60},
 *    "cache": {"sub_ttl_ms": 5000, "sync_ttl_ms": 30000, "memory_mb": 64, "redis_timeout_ms": 250,
 *              "redis_pool": 8, "redis_prefix": "veil:"},
 *    "rate_limit": {"window": 60, "per_ip": 0, "per_token": 0}, "fleet": {"dead_after": 30, "hot_cpu_percent": 85,
 * "hot_connections": 0, "probe_interval": 10, "probe_failures": 3, "probe_timeout_ms": 3000}, "http":
 * {"max_connections": 1024, "per_ip_connections": 256, "reserve_connections": 128, "request_timeout": 30,
 * "idle_timeout": 15}}
 *
 * http bounds what slow clients can hold (hub/api/api_guard.h): connections per client address
 * (trusted proxies exempt), a deadline for a whole request (headers and body) and slots kept
 * free for quick requests such as /healthz and node sync.
 *
 * fleet.dead_after: a node that has not checked in (user pull or usage push) for this many
 * seconds, or never has, is left out of every /sub answer until it does (hub/domain/node_health.h);
 * must exceed sync_interval (the nodes' pollSec should too). 0 serves nodes whatever their last
 * check-in (old behaviour). fleet.hot_cpu_percent / hot_connections: a node whose last push
 * reports at least this much load is hot and goes to the end of every subscription
 * (hub/domain/placement.h); 0 turns a criterion off. fleet.probe_*: every probe_interval seconds
 * the hub sends a TLS ClientHello to each node's public address (hub/probe/probe.h); probe_failures
 * failures in a row leave the node out of /sub until one succeeds; probe_interval 0 turns it off.
 * fleet.cool_cpu_percent / cool_connections: a hot node turns cool only below these (hysteresis;
 * 0: 80 % of the hot threshold). fleet.client_silence (600 s) / client_retry (3600 s) /
 * client_check (10 s): a node without client handshakes for client_silence seconds while other
 * nodes have them leaves /sub until handshakes resume or client_retry passes
 * (hub/domain/client_silence.h); the rule runs every client_check seconds (lock holder).
 * fleet.bittorrent_disable_after (0 = off) / bittorrent_window (3600) / bittorrent_disable_sec
 * (3600): a user with that many BitTorrent attempts reported by nodes within the window is
 * disabled for disable_sec, then enabled again (hub/fleet/fleet.h).
 *
 * trusted_proxies lists the CIDR blocks of our own reverse proxies: X-Forwarded-For is read only
 * from them (hub/api/client_ip.h). The old "trust_forwarded": true without it is an error.
 *
 * redis_url ("redis://[[user]:password@]host[:port][/db]" or "unix:/path") makes several hubs
 * share caches, rate limits and the scheduler lock (hub/cache/cache.h). Rate limits of 0 are off.
 * SIGHUP re-reads log_level, subscription title / update_interval_hours / support_url and
 * rate_limit; everything else needs a restart (hubcfg_diff_restart names what changed).
 *
 * Secrets (admin_token, database, redis_url, the billing keys, bot.token, bot.webhook_secret) may
 * instead come from <key>_file, $CREDENTIALS_DIRECTORY/<name> or VEIL_HUB_<NAME>: they are put
 * into the document before it is parsed (core/secret_file.h, docs/hub.md).
 *
 * Only "database" is required. Unknown keys are errors (typos must not pass silently), except a
 * top-level key that a hub module owns (hub/module.h: .section), which that module validates. */
#ifndef VEIL_HUB_HUBCFG_H
#define VEIL_HUB_HUBCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/cfg.h"
#include "hub/api/api_guard.h"
#include "hub/api/client_ip.h"

#define HUBCFG_PROXIES_MAX 32

struct hub_cfg {
    char listen[64];
    uint16_t port;
    unsigned threads;
    char database[1024];
    unsigned db_pool;
    char admin_token[257];  /* "" when not set */
    unsigned sync_interval; /* seconds nodes are told to poll at */
    char redis_url[512];
    /* The master key of column encryption (store_seal_open): a file name, absolute or relative
     * to $CREDENTIALS_DIRECTORY; "" = the credential "master_key" if present, else plaintext. */
    char master_key_file[1024];
    int log_level;
    struct client_ip_net trusted_proxies[HUBCFG_PROXIES_MAX];
    size_t n_trusted_proxies;
    size_t body_max;
    char sub_title[128];
    unsigned sub_update_hours;
    char support_url[512];
    char public_url[512];
    char page_color[8];      /* "#rrggbb" accent of the subscription web page; "" -> its default */
    char page_logo_url[512]; /* http(s) image shown on the page; "" -> none */
    char renew_url[512];     /* the page's Renew button: the bot or the pay page (http(s)/tg); "" -> none */
    bool xray_json;
    bool sched_enabled;
    unsigned sched_interval;
    unsigned sub_ttl_ms, sync_ttl_ms, cache_mb, redis_timeout_ms, redis_pool;
    char redis_prefix[48];
    unsigned rate_window, rate_per_ip, rate_per_token;
    struct api_conn_limits http;
    unsigned node_dead_after;  /* fleet.dead_after: seconds without a check-in before a node leaves /sub; 0 off */
    unsigned hot_cpu_percent;  /* fleet.hot_cpu_percent: a node at or above is hot (placement); 0 off */
    unsigned hot_connections;  /* fleet.hot_connections: ... or with this many open connections; 0 off */
    unsigned probe_interval;   /* fleet.probe_interval: seconds between active probes of each node; 0 off */
    unsigned probe_failures;   /* fleet.probe_failures: failed probes in a row that take a node out */
    unsigned probe_timeout_ms; /* fleet.probe_timeout_ms: connect + ClientHello + answer */
    unsigned cool_cpu_percent; /* fleet.cool_cpu_percent: a hot node turns cool below (0: 80 % of hot) */
    unsigned cool_connections; /* fleet.cool_connections: the same for connections (0: 80 % of hot) */
    unsigned client_silence;   /* fleet.client_silence: s without client handshakes -> out of /sub; 0 off */
    unsigned client_retry;     /* fleet.client_retry: a silent node is served again after this; 0 never */
    unsigned client_check;     /* fleet.client_check: seconds between passes of the silence rule */
    unsigned bt_disable_after; /* fleet.bittorrent_disable_after: attempts that disable a user; 0 off */
    unsigned bt_window;        /* fleet.bittorrent_window: ... counted over this many seconds (3600) */
    unsigned bt_disable_sec;   /* fleet.bittorrent_disable_sec: for this long (3600) */
};

/* Parses len bytes of JSON into *cfg (defaults for absent keys), recording every mistake in c,
 * each with its path ("hub.json: cache.redis_pool: must be between 1 and 64"), so one run reports
 * them all. When doc is not NULL and the configuration is valid, *doc gets the parsed document
 * (the caller's reference, admin_token removed): modules read their own sections from it
 * (hub/module.h). 0, or ERR_CONFIG when c holds an error (*doc NULL). */
int hubcfg_read(struct cfg_ctx *c, const char *json, size_t len, struct hub_cfg *cfg, json_t **doc);
/* The same from a file (at most 1 MiB); ERR_IO when it cannot be read. */
int hubcfg_read_file(struct cfg_ctx *c, const char *path, struct hub_cfg *cfg, json_t **doc);

/* The same with every message joined into err (errcap bytes; cfg_join). */
int hubcfg_parse(const char *json, size_t len, struct hub_cfg *cfg, char *err, size_t errcap);
int hubcfg_load(const char *path, struct hub_cfg *cfg, char *err, size_t errcap);
int hubcfg_load_doc(const char *path, struct hub_cfg *cfg, json_t **doc, char *err, size_t errcap);

/* Copies the settings SIGHUP applies (log level, subscription title / interval / support URL,
 * rate limits) from next into cur; the rest stays as running until a restart. */
void hubcfg_take_live(struct hub_cfg *cur, const struct hub_cfg *next);

/* Names of the settings that differ between a and b and need a restart to apply, comma
 * separated into out ("" when none). admin_token is compared by the caller (it is wiped). */
void hubcfg_diff_restart(const struct hub_cfg *a, const struct hub_cfg *b, char *out, size_t cap);

#endif
