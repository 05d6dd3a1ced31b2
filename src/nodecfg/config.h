/* veil-node configuration: Xray-core JSON (the VLESS + REALITY inbound subset of
 * spec/config-and-links.md §1) plus our own top-level "veil" object (docs/node-config.md).
 * Loading is I/O-free: text in, a frozen refcounted struct node_cfg or a list of errors out.
 * Nothing unsupported is silently ignored: it is an error naming the field, or (for fields
 * that cannot change behaviour, e.g. "tag", "sniffing") a warning. */
#ifndef VEIL_NODECFG_CONFIG_H
#define VEIL_NODECFG_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "core/log.h"

enum node_flow {
    NODE_FLOW_NONE = 0,
    NODE_FLOW_VISION, /* "xtls-rprx-vision" */
    NODE_FLOW__COUNT, /* sentinel */
};

struct node_user {
    uint8_t id[16];      /* parsed (UUID or UUIDv5 of the string), spec/vless.md §3 */
    char *id_text;       /* as configured, for share links */
    char *email;         /* NULL when absent */
    enum node_flow flow; /* after inheriting settings.flow */
    uint32_t level;
    uint32_t testseed[4]; /* Vision padding parameters (own or inherited) */
    uint64_t hub_id;      /* the hub's id when the user came from hub sync (usage reports); 0 = local */
    /* clients[i].veil (hub users: from sync); 0 = unlimited (node/limits.h) */
    uint32_t device_limit;
    uint32_t max_conns;
    uint64_t speed_limit; /* bytes per second, each direction */
};

struct node_rate_limit {
    uint64_t after_bytes, bytes_per_sec, burst_bytes_per_sec; /* bytes_per_sec 0 = off */
};

#define NODE_SHORT_ID_LEN 8

struct node_inbound {
    char *tag;    /* NULL when absent */
    char *listen; /* IP literal or "localhost"; NULL = all addresses */
    uint16_t port;
    bool accept_proxy_protocol; /* rawSettings/sockopt acceptProxyProtocol */

    struct node_user *users;
    size_t n_users;

    /* realitySettings */
    char *target_host; /* "localhost" for the numeric form */
    uint16_t target_port;
    uint8_t xver; /* PROXY protocol version sent to the target: 0, 1, 2 */
    char **server_names;
    size_t n_server_names;
    uint8_t private_key[32];
    uint8_t public_key[32]; /* derived X25519(private, 9): the clients' "password"/pbk */
    uint8_t (*short_ids)[NODE_SHORT_ID_LEN];
    char **short_id_text; /* as configured (lowercased), for share links */
    size_t n_short_ids;
    uint32_t min_client_ver, max_client_ver; /* (x<<16)|(y<<8)|z; 0 = no bound */
    bool has_min_client_ver, has_max_client_ver;
    uint64_t max_time_diff_ms; /* 0 = no check */
    bool show;                 /* accepted with a warning: no effect */
    struct node_rate_limit fallback_upload, fallback_download;
};

enum node_dial_order {
    NODE_DIAL_ORDER_AS_RESOLVED = 0,
    NODE_DIAL_ORDER_IPV4_FIRST,
    NODE_DIAL_ORDER_IPV6_FIRST,
    NODE_DIAL_ORDER_IPV4_ONLY,
    NODE_DIAL_ORDER_IPV6_ONLY,
    NODE_DIAL_ORDER__COUNT, /* sentinel */
};

/* veil.blockBitTorrent (node/bt_detect.h) */
enum node_bt_mode {
    NODE_BT_MODE_OFF = 0, /* not inspected */
    NODE_BT_MODE_BLOCK,   /* refused / closed, counted */
    NODE_BT_MODE_LOG,     /* counted and logged, let through */
};

#define NODE_BLOCKED_PORTS_MAX 32 /* veil.blockedPorts entries */

struct node_cfg {
    atomic_uint refs;

    /* log */
    enum log_level log_level;
    char *access_log; /* access log file path; NULL = off (absent, "" or "none") */
    char *error_log;  /* NULL = stderr */

    struct node_inbound *inbounds;
    size_t n_inbounds;

    /* outbound "freedom" (the first outbound; Xray sends everything there without routing) */
    enum node_dial_order dial_order; /* freedom.settings.domainStrategy or veil.dialOrder */

    /* policy.levels["0"] (Xray) or veil.* */
    uint32_t handshake_timeout_ms; /* policy handshake, default 4 s */
    uint32_t idle_timeout_sec;     /* policy connIdle, default 300 */
    uint32_t uplink_only_sec;      /* policy uplinkOnly, default 1 (parsed; not applied yet: warning) */
    uint32_t downlink_only_sec;    /* policy downlinkOnly, default 1 (parsed; not applied yet: warning) */

    /* our "veil" object */
    uint32_t workers;                /* 0 = one per CPU */
    bool allow_private_destinations; /* default false: refuse loopback/private/... */
    uint32_t dial_timeout_ms;        /* default 10000 */
    uint32_t dns_timeout_ms;         /* default 5000 */
    uint32_t udp_idle_timeout_sec;   /* UDP association idle timeout, default 60 */
    uint32_t fallback_idle_sec;      /* unauthenticated relays to the target: idle limit, default 30 */
    uint32_t target_check_sec;       /* active check of each REALITY target every N s; 0 = off; default 60 */
    char **dns_servers;              /* "ip" or "ip:port"; empty = /etc/resolv.conf */
    size_t n_dns_servers;
    char *admin_listen;                             /* "127.0.0.1:9090"; NULL = off */
    char *admin_token;                              /* bearer token for the admin API; NULL = none (loopback trust) */
    char *metrics_listen;                           /* NULL = off */
    uint32_t metrics_top_users;                     /* per-user series on /metrics for the top N by bytes; 0 = none */
    uint32_t usage_report_sec;                      /* running tunnels report per-user bytes this often, default 5 */
    char *state_dir;                                /* NULL = none */
    enum node_bt_mode block_bittorrent;             /* default off */
    uint16_t blocked_ports[NODE_BLOCKED_PORTS_MAX]; /* destination ports refused in tunnels; default {25} */
    size_t n_blocked_ports;

    /* veil.hub: pull users from veil-hub, push health (node/hubsync.h); hub_url NULL = off */
    char *hub_url;         /* "https://hub.example.com" (http:// only to loopback) */
    char *hub_token;       /* node token issued by the hub */
    char *hub_ca_file;     /* CA bundle to verify the hub; NULL = system store */
    char *hub_pin;         /* "sha256//<b64>[;sha256//<b64>...]": the hub's key pins (curl form); NULL = none */
    char *hub_cert_file;   /* client certificate for mutual TLS with the hub; NULL = none */
    char *hub_key_file;    /* its private key */
    uint32_t hub_poll_sec; /* default 20 */
    uint32_t hub_push_sec; /* health/usage push interval, default 60 */

    /* veil.limits and veil.redis (node/limits.h) */
    uint32_t device_window_sec;         /* default 300 */
    uint32_t handshakes_per_sec_per_ip; /* 0 = off; default 50 */
    uint32_t handshake_burst;           /* 0 = same as the rate; default 200 (with the default rate) */
    uint32_t probe_fallbacks;           /* probing: fallbacks per network per window that flag it; 0 = off */
    uint32_t probe_window_sec;          /* default 60 */
    uint32_t probe_ban_sec;             /* an IP's ban, and how long its network stays flagged; default 600 */
    uint32_t probe_dials_per_sec;       /* target dials per second of a flagged network; default 2 */
    char *redis_url;                    /* NULL = device sets are per node */
    uint32_t redis_timeout_ms;          /* default 200 */
};

/* Parses and validates `len` bytes of JSON. On success returns a snapshot with one reference
 * (warnings, if any, are in c). On failure returns NULL with the errors in c. `c` names the file
 * for messages (cfg_init(c, "node.json")). Aborts only on out of memory. */
struct node_cfg *node_cfg_load(struct cfg_ctx *c, const char *text, size_t len);

/* Reads the file and loads it with the node's persisted state applied (nodecfg/state.h: users
 * changed through the admin API, the hub's last table); a read failure is an error in c. */
struct node_cfg *node_cfg_load_file(struct cfg_ctx *c, const char *path);

struct node_cfg *node_cfg_ref(struct node_cfg *cfg);
/* Drops a reference; frees (wiping the private keys) at zero. NULL is a no-op. */
void node_cfg_unref(struct node_cfg *cfg);

/* Finds a user across the inbounds by email (case-insensitive) or by id (UUID text or the
 * configured string). NULL when absent. *inbound receives its inbound. */
const struct node_user *node_cfg_find_user(const struct node_cfg *cfg, const char *who,
                                           const struct node_inbound **inbound);

const char *node_flow_name(enum node_flow f);

#endif
