/* Probing of the node (docs/security.md §5 "Probing", docs/node-config.md "Probing"): bursts of
 * failed REALITY authentications from one client network (/24 for IPv4, /48 for IPv6).
 *
 * Every connection that ends in the fallback relay because its client failed (bad or no
 * authentication, a malformed or slow hello) is noted against its network. A network whose
 * fallbacks within `window_sec` (a sliding estimate over two fixed windows) reach `fallbacks`
 * is flagged for `ban_sec`; from then on every address of it that fails again is banned for
 * `ban_sec` (the address whose fallback crossed the threshold first), and while it stays flagged
 * its new connections pass at most `dials_per_sec` a second (each of them dials the target).
 * Below the threshold nothing changes: a probe keeps seeing the target's real answer.
 *
 * node/limits.c consults node_probe_admit() before any REALITY work or target dial and closes
 * what it refuses the way every limit of the node does (docs/security.md says why that close).
 * Counters feed /metrics; node_probe_report() hands the flagged networks to the hub push.
 *
 * Thread-safe: striped tables with a mutex each, fixed size (no allocation after start); a
 * prober cannot grow them. Pure: the caller passes the monotonic clock. */
#ifndef VEIL_NODE_PROBE_GUARD_H
#define VEIL_NODE_PROBE_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/sock.h"

struct node_probe_cfg {
    uint32_t fallbacks;     /* per network within window_sec that flag it; 0 = the guard is off */
    uint32_t window_sec;    /* 0 = 60 */
    uint32_t ban_sec;       /* an address's ban and a network's flag; 0 = 600 */
    uint32_t dials_per_sec; /* new connections a second from a flagged network; 0 = not limited */
};

enum node_probe_refusal {
    NODE_PROBE_BANNED = 0, /* the source address is banned */
    NODE_PROBE_NET_RATE,   /* its network is flagged and over dials_per_sec */
    NODE_PROBE__COUNT,     /* sentinel */
};

#define NODE_PROBE_NET_TEXT 52 /* an IPv6 address text (45), "/48" and the NUL fit */

/* What the hub push carries for one flagged network since the previous report. */
struct node_probe_net_report {
    char net[NODE_PROBE_NET_TEXT]; /* "198.51.100.0/24", "2001:db8:1::/48" */
    uint64_t fallbacks;            /* failed authentications */
    uint64_t bans;                 /* addresses banned */
    uint64_t refused;              /* connections refused (banned or over the network's rate) */
};

struct node_probe_totals {
    uint64_t fallbacks; /* noted since start */
    uint64_t flags;     /* times a network was flagged */
    uint64_t bans;      /* addresses banned */
    uint64_t refused[NODE_PROBE__COUNT];
    uint64_t flagged_now, banned_now; /* networks flagged and addresses banned at `now` */
};

struct node_probe_guard;

/* NULL on OOM. */
struct node_probe_guard *node_probe_new(const struct node_probe_cfg *cfg);
/* Reload: thresholds for what happens from now on (bans in force keep their end). */
void node_probe_set_cfg(struct node_probe_guard *g, const struct node_probe_cfg *cfg);
/* NULL is a no-op. */
void node_probe_free(struct node_probe_guard *g);

/* A new connection from ip: false (with *why) when it must be refused; counted. Cheap (no lock)
 * while nothing is flagged or banned. g NULL: always true. */
bool node_probe_admit(struct node_probe_guard *g, const struct sock_addr *ip, uint64_t now_ms,
                      enum node_probe_refusal *why);
/* A connection from ip ended in the fallback relay because its client failed. Returns true when
 * this fallback banned ip (the caller may log it). */
bool node_probe_note_fallback(struct node_probe_guard *g, const struct sock_addr *ip, uint64_t now_ms);

/* The networks flagged at some time since the previous call, most fallbacks first, at most cap;
 * their report counters restart. Returns how many were written. */
size_t node_probe_report(struct node_probe_guard *g, struct node_probe_net_report *out, size_t cap);
void node_probe_totals(struct node_probe_guard *g, uint64_t now_ms, struct node_probe_totals *out);

/* The network of an address as text (tests, logs). */
void node_probe_net_text(const struct sock_addr *ip, char out[NODE_PROBE_NET_TEXT]);
const char *node_probe_refusal_str(enum node_probe_refusal why);

#endif
