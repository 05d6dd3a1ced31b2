/* veil-hub configuration: a JSON file parsed and validated into an immutable struct.
 *
 *   {"listen": "127.0.0.1", "port": 8080, "threads": 4, "database": "sqlite:/var/lib/veil/hub.db",
 *    "db_pool": 8, "admin_token": "<bootstrap admin token>", "sync_interval": 15,
 *    "redis_url": null, "log_level": "info", "trust_forwarded": false, "body_max": 65536,
 *    "subscription": {"title": "Veil", "update_interval_hours": 12, "support_url": "",
 *                     "public_url": "https://vpn.example.com", "xray_json": false},
 *    "scheduler": {"enabled": true, "interval": 60}}
 *
 * Only "database" is required. Unknown keys are errors (typos must not pass silently). */
#ifndef VEIL_HUB_HUBCFG_H
#define VEIL_HUB_HUBCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hub_cfg {
    char listen[64];
    uint16_t port;
    unsigned threads;
    char database[1024];
    unsigned db_pool;
    char admin_token[257];  /* "" when not set */
    unsigned sync_interval; /* seconds nodes are told to poll at */
    char redis_url[512];
    int log_level;
    bool trust_forwarded;
    size_t body_max;
    char sub_title[128];
    unsigned sub_update_hours;
    char support_url[512];
    char public_url[512];
    bool xray_json;
    bool sched_enabled;
    unsigned sched_interval;
};

/* Parses len bytes of JSON into *cfg (defaults for absent keys). On failure returns
 * ERR_CONFIG and writes a reason into err (errcap bytes). */
int hubcfg_parse(const char *json, size_t len, struct hub_cfg *cfg, char *err, size_t errcap);
/* Reads and parses a file. ERR_IO when unreadable. */
int hubcfg_load(const char *path, struct hub_cfg *cfg, char *err, size_t errcap);

#endif
