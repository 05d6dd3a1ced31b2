/* Node <-> hub sync messages (docs/sync-protocol.md): JSON bodies over HTTPS, authenticated with
 * "Authorization: Bearer <node token>" (read by the hub with core/http_auth.h, like admin tokens).
 *
 *   GET  /api/v1/node/users?since=N   -> struct sync_users_resp  (users added/changed/removed)
 *   POST /api/v1/node/usage           <- struct sync_usage_req   (per-user byte deltas + health)
 *                                     -> struct sync_usage_resp
 *
 * Codecs only (sans-IO): encode appends compact JSON to a struct buf; decode is strict about
 * types and ranges, ignores unknown keys (forward compatibility), requires "v": 1 and fills a
 * human-readable reason ("users[3].uuid: expected a string") into struct sync_err. Integers
 * are 0..INT64_MAX (jansson's range); negative, fractional or larger values are ERR_RANGE /
 * ERR_MALFORMED. Decoded arrays are malloc'd and freed by the *_dispose functions. */
#ifndef VEIL_CTL_SYNC_H
#define VEIL_CTL_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "ctl/sync_scan.h"

#define SYNC_VERSION 1
#define SYNC_UUID_MAX 64    /* VLESS id text: UUID (36) or a 1..30-byte Xray id string */
#define SYNC_EMAIL_MAX 128  /* user label used in node logs and stats ("email" in Xray) */
#define SYNC_FLOW_MAX 32    /* "" or "xtls-rprx-vision" */
#define SYNC_PUSH_ID_MAX 64 /* idempotency key of a usage push: [A-Za-z0-9_-]{8,64} */
#define SYNC_VERSION_STR_MAX 64
#define SYNC_MAX_USERS 1000000 /* per message; decode fails with ERR_LIMIT beyond */
#define SYNC_MAX_REMOVED 1000000
#define SYNC_MAX_ENTRIES 1000000
#define SYNC_BODY_MAX (256u << 20) /* decoders refuse bodies larger than this (ERR_TOO_LONG) */

#define SYNC_HOSTPORT_MAX 262 /* "host:port" or "[v6]:port" of a REALITY target */
#define SYNC_SNI_MAX 253      /* a DNS name */
#define SYNC_NAMES_MAX 8      /* serverNames the hub hands a node (current + names in grace) */
#define SYNC_TARGETS_MAX 8    /* REALITY targets a node reports (one per inbound) */
#define SYNC_VERDICT_MAX 32
#define SYNC_NET_MAX 51    /* a client network "a.b.c.0/24" or "x:y:z::/48" */
#define SYNC_PROBES_MAX 16 /* flagged networks a node reports per push */

/* A decoding failure, for logs and the 400 response body. */
struct sync_err {
    char msg[160];
};

/* One user a node must accept. `id` is the hub's stable numeric id for the subscription; usage
 * is reported against it. Limits use 0 for "unlimited". */
struct sync_user {
    uint64_t id;
    char uuid[SYNC_UUID_MAX + 1];
    char email[SYNC_EMAIL_MAX + 1];
    char flow[SYNC_FLOW_MAX + 1];
    uint32_t device_limit; /* distinct client IPs at once */
    uint64_t speed_limit;  /* bytes per second, each direction */
    uint32_t max_conns;    /* concurrent connections */
};

/* The REALITY target the hub assigns to this node (target rotation, docs/hub.md "REALITY
 * targets"): every inbound's realitySettings.target and serverNames are replaced. rev = 0: the
 * hub manages no target for this node (absent on the wire); the node keeps its file's. */
struct sync_reality {
    uint64_t rev; /* the node's target revision at the hub; a change means "apply" */
    char target[SYNC_HOSTPORT_MAX + 1];
    size_t n_names;
    char names[SYNC_NAMES_MAX][SYNC_SNI_MAX + 1]; /* the new SNI first, then names still in grace */
};

/* Response to GET /api/v1/node/users?since=N.
 *   full = true:  `users` is the complete set; the node replaces its table; removed is empty.
 *   full = false: `users` were added or changed after revision `since`, `removed` lists ids to drop.
 * The node stores `revision` and sends it as the next `since`. */
struct sync_users_resp {
    uint64_t revision;
    bool full;
    struct sync_user *users;
    size_t n_users;
    uint64_t *removed;
    size_t n_removed;
    struct sync_reality reality; /* optional "reality" object (per node, not part of the revision) */
    struct sync_scan scan;       /* optional "scan" request (ctl/sync_scan.h; id 0: none) */
};

/* Per-user byte deltas since the node's previous accepted push. */
struct sync_usage_entry {
    uint64_t id;
    uint64_t up;   /* client -> node */
    uint64_t down; /* node -> client */
    uint64_t bt;   /* BitTorrent flows recognised (optional "bt": absent = 0, sent only when non-zero) */
    uint64_t smtp; /* flows to port 25 refused (optional "smtp", like "bt") */
};

/* What a node saw of one REALITY target since its previous push (node/target_health.h). */
struct sync_target_health {
    char target[SYNC_HOSTPORT_MAX + 1]; /* "host:port" as configured */
    char sni[SYNC_SNI_MAX + 1];         /* the first serverName, what the active check sends */
    uint64_t dial_ok, dial_failed;      /* client connections' target dials, since the previous push */
    uint64_t checks_ok, checks_failed;  /* active checks suitable / not, since the previous push */
    uint64_t rtt_ms;                    /* mean dial-to-ServerHello time of authenticated clients (0: none) */
    bool tls13;                         /* the last check saw a TLS 1.3 ServerHello */
    char group[16];                     /* "X25519", "X25519MLKEM768", "other", "" unknown */
    uint64_t cert_not_after;            /* Unix s, the leaf seen by the last check (0: not seen) */
    bool cert_names_sni;                /* that leaf names sni */
    uint64_t layout_changes;            /* times the flight's record layout changed since start */
    char verdict[SYNC_VERDICT_MAX + 1]; /* reality_verdict_code() of the last check, or "unknown" */
    uint64_t checked_at;                /* Unix s of the last check (0: none yet) */
};

/* A client network the node flagged for probing since its previous push (node/probe_guard.h). */
struct sync_probe {
    char net[SYNC_NET_MAX + 1]; /* "198.51.100.0/24" or "2001:db8:1::/48" */
    uint64_t fallbacks;         /* failed REALITY authentications from it */
    uint64_t bans;              /* addresses of it banned */
    uint64_t refused;           /* its connections refused (banned, or over the network's rate) */
};

struct sync_health {
    uint64_t connections;                   /* open client connections now */
    uint64_t uptime;                        /* seconds since the node process started */
    uint64_t revision;                      /* user-table revision the node runs */
    char version[SYNC_VERSION_STR_MAX + 1]; /* node software version */
    /* Live load for placement; optional on the wire (absent = 0, from nodes that predate it). */
    uint64_t cpu;           /* CPU use since the previous push, percent of all cores, 0..100 */
    uint64_t bytes_per_sec; /* client bytes through the node since the previous push, both ways */
    /* Client handshakes completed (REALITY authenticated) since the previous push; optional
     * ("handshakes", absent = 0): the hub's "unreachable from clients" signal. */
    uint64_t handshakes;
    /* REALITY target health; optional ("targets", absent = none). */
    size_t n_targets;
    struct sync_target_health targets[SYNC_TARGETS_MAX];
    /* Probing: networks flagged since the previous push; optional ("probes", absent = none). */
    size_t n_probes;
    struct sync_probe probes[SYNC_PROBES_MAX];
};

/* Body of POST /api/v1/node/usage. push_id is unique per push and reused verbatim on retry;
 * the hub applies a push_id once per node. */
struct sync_usage_req {
    char push_id[SYNC_PUSH_ID_MAX + 1];
    struct sync_usage_entry *entries;
    size_t n_entries;
    struct sync_health health;
};

/* Reply to a usage push. duplicate = the push_id was already applied (success, nothing changed).
 * revision = hub's current user revision, so the node knows whether to pull. */
struct sync_usage_resp {
    bool duplicate;
    uint64_t revision;
};

/* Encoders append compact JSON (no NUL) to out. ERR_RANGE when an integer exceeds INT64_MAX or
 * a string is too long / not valid UTF-8 or push_id is malformed; ERR_NOMEM. out is left as it
 * was on failure. */
int sync_users_resp_encode(const struct sync_users_resp *m, struct buf *out);
int sync_usage_req_encode(const struct sync_usage_req *m, struct buf *out);
int sync_usage_resp_encode(const struct sync_usage_resp *m, struct buf *out);

/* Decoders parse len bytes of JSON into *m (overwritten). On failure *m is empty (nothing to
 * dispose, though disposing is harmless) and err (optional) says why. Returns 0, ERR_MALFORMED
 * (not JSON, wrong type, missing key, bad string), ERR_RANGE (number out of range),
 * ERR_UNSUPPORTED ("v" is not 1), ERR_LIMIT (too many elements), ERR_TOO_LONG, ERR_NOMEM.
 * sync_users_resp_decode also refuses (ERR_MALFORMED) an id listed twice (in users and/or
 * removed) and two users with the same uuid. */
int sync_users_resp_decode(struct sync_users_resp *m, const char *json, size_t len, struct sync_err *err);
int sync_usage_req_decode(struct sync_usage_req *m, const char *json, size_t len, struct sync_err *err);
int sync_usage_resp_decode(struct sync_usage_resp *m, const char *json, size_t len, struct sync_err *err);

/* Free decoded arrays and reset to empty. NULL-safe. */
void sync_users_resp_dispose(struct sync_users_resp *m);
void sync_usage_req_dispose(struct sync_usage_req *m);

/* Parses the "since" query value: decimal digits only, no sign, 0..INT64_MAX.
 * A missing parameter (s == NULL) means 0 (full sync). ERR_MALFORMED / ERR_RANGE. */
int sync_parse_since(const char *s, uint64_t *since);

/* true when s is a REALITY target "host:port" or "[v6]:port" (name or IP, port 1..65535). */
bool sync_target_valid(const char *s);

/* true when s is a client network as probing reports give it: an IPv4 /24 ("a.b.c.0/24") or an
 * IPv6 /48 with its host bits zero. */
bool sync_probe_net_valid(const char *s);

/* true when push_id matches [A-Za-z0-9_-]{8,64}. */
bool sync_push_id_valid(const char *s, size_t len);

#endif
