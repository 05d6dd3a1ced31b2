/* veil-node's process-wide event counters that are not per worker (fallback volume, VLESS
 * rejects, UDP tunnels, DNS failures), the rate limit on probe-driven debug logs, and the
 * /metrics families built from them, from node/usage.h and from /proc/self (process metrics,
 * build info, users online, per-user series for the top-N users only).
 *
 * Counters are relaxed atomics: any worker bumps them, the metrics thread reads them. */
#ifndef VEIL_NODE_TELEMETRY_H
#define VEIL_NODE_TELEMETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "vless/header.h"
#include "vless/users.h"

enum node_tm_counter {
    NODE_TM_FALLBACK_UP = 0, /* bytes relayed for probes: client -> REALITY target */
    NODE_TM_FALLBACK_DOWN,   /* target -> client */
    NODE_TM_UDP_TUNNELS,     /* UDP / Mux tunnels started */
    NODE_TM_UDP_ASSOCS,      /* UDP associations (NAT flows, Mux sessions) opened */
    NODE_TM_UDP_DROPPED,     /* datagrams dropped (queues full, refused destinations) */
    NODE_TM_DNS_FAILURES,    /* destination names that did not resolve (TCP and UDP) */
    NODE_TM_LOG_SUPPRESSED,  /* probe log lines dropped by the rate limit */
    NODE_TM_MUX_TCP_SUBS,    /* Mux TCP sub-connections opened (node/mux.h) */
    NODE_TM_MUX_STALLS,      /* a Mux tunnel stopped reading: a TCP sub-connection's buffer was full */
    NODE_TM__COUNT,          /* sentinel */
};

void node_tm_add(enum node_tm_counter c, uint64_t n);
uint64_t node_tm_get(enum node_tm_counter c);
/* A VLESS request refused: header reason (unknown user, bad version, ...) or flow rule. */
void node_tm_vless_reject(enum vless_hdr_reason r);
void node_tm_flow_reject(enum vless_flow_reason r);
uint64_t node_tm_vless_rejects(enum vless_hdr_reason r);
uint64_t node_tm_flow_rejects(enum vless_flow_reason r);

/* Probe-driven log lines (REALITY fallbacks, failed handshakes, VLESS rejects: volume an
 * attacker controls) pass through this gate: at most NODE_TM_LOG_PER_SEC lines per second for
 * the whole process. True: log the line, with *suppressed = lines dropped since the last one
 * that passed (0 usually). False: drop it (counted). Cheap when debug logging is off: callers
 * check log_enabled() first. */
#define NODE_TM_LOG_PER_SEC 20
bool node_tm_log_allow(uint64_t now_ms, uint64_t *suppressed);

struct metrics_registry;
struct node_runtime;
struct node_telemetry;
/* Registers the families described above in r (reading rt at every render; the top-N size is
 * the running config's veil.metricsTopUsers). 0 with *out set (free it with
 * node_telemetry_free after the last render), or ERR_NOMEM. */
int node_telemetry_register(struct metrics_registry *r, struct node_runtime *rt, struct node_telemetry **out);
void node_telemetry_free(struct node_telemetry *t);

/* Process figures from /proc/self (0 when unreadable). */
struct node_proc_stats {
    uint64_t rss_bytes;
    uint64_t open_fds;
    uint64_t cpu_us;     /* user + system */
    uint64_t start_unix; /* process start, unix seconds */
};
void node_proc_stats(struct node_proc_stats *out);

#endif
