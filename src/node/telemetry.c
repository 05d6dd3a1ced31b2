#include "node/telemetry.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/enc.h"
#include "core/err.h"
#include "core/metrics.h"
#include "core/version.h"
#include "node/bt_guard.h"
#include "node/limits.h"
#include "node/port_guard.h"
#include "node/probe_guard.h"
#include "node/usage.h"
#include "node/worker.h"
#include "reality/outcome.h"

static _Atomic uint64_t counters[NODE_TM__COUNT];
static _Atomic uint64_t hdr_rejects[VLESS_HR__COUNT];
static _Atomic uint64_t flow_rejects[VLESS_FR__COUNT];

void node_tm_add(enum node_tm_counter c, uint64_t n)
{
    if ((unsigned)c < NODE_TM__COUNT && n)
        atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

uint64_t node_tm_get(enum node_tm_counter c)
{
    return (unsigned)c < NODE_TM__COUNT ? atomic_load_explicit(&counters[c], memory_order_relaxed) : 0;
}

void node_tm_vless_reject(enum vless_hdr_reason r)
{
    if ((unsigned)r < VLESS_HR__COUNT)
        atomic_fetch_add_explicit(&hdr_rejects[r], 1, memory_order_relaxed);
}

void node_tm_flow_reject(enum vless_flow_reason r)
{
    if ((unsigned)r < VLESS_FR__COUNT)
        atomic_fetch_add_explicit(&flow_rejects[r], 1, memory_order_relaxed);
}

uint64_t node_tm_vless_rejects(enum vless_hdr_reason r)
{
    return (unsigned)r < VLESS_HR__COUNT ? atomic_load_explicit(&hdr_rejects[r], memory_order_relaxed) : 0;
}

uint64_t node_tm_flow_rejects(enum vless_flow_reason r)
{
    return (unsigned)r < VLESS_FR__COUNT ? atomic_load_explicit(&flow_rejects[r], memory_order_relaxed) : 0;
}

/* ---- probe log gate: a one-second window shared by every worker ---- */

static _Atomic uint64_t log_sec, log_count, log_suppressed;

bool node_tm_log_allow(uint64_t now_ms, uint64_t *suppressed)
{
    uint64_t sec = now_ms / 1000, cur = atomic_load_explicit(&log_sec, memory_order_relaxed);
    /* whoever moves the window resets the count; a race at the edge lets a few extra through */
    if (sec != cur && atomic_compare_exchange_strong(&log_sec, &cur, sec))
        atomic_store(&log_count, 0);
    if (atomic_fetch_add_explicit(&log_count, 1, memory_order_relaxed) < NODE_TM_LOG_PER_SEC) {
        *suppressed = atomic_exchange(&log_suppressed, 0);
        return true;
    }
    atomic_fetch_add_explicit(&log_suppressed, 1, memory_order_relaxed);
    node_tm_add(NODE_TM_LOG_SUPPRESSED, 1);
    *suppressed = 0;
    return false;
}

/* ---- /proc/self ---- */

static uint64_t boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return 0;
    char line[256];
    unsigned long long bt = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %llu", &bt) == 1)
            break;
    fclose(f);
    return bt;
}

void node_proc_stats(struct node_proc_stats *out)
{
    memset(out, 0, sizeof(*out));
    long page = sysconf(_SC_PAGESIZE), tck = sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        unsigned long long size, rss;
        if (fscanf(f, "%llu %llu", &size, &rss) == 2 && page > 0)
            out->rss_bytes = rss * (uint64_t)page;
        fclose(f);
    }
    f = fopen("/proc/self/stat", "r");
    if (f != NULL) {
        char line[1024];
        size_t n = fread(line, 1, sizeof(line) - 1, f);
        line[n] = '\0';
        fclose(f);
        /* fields after "(comm)", which may contain spaces: state is field 3 */
        const char *p = strrchr(line, ')');
        unsigned long long ut = 0, st = 0, start = 0;
        if (p != NULL && tck > 0 &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu", &ut,
                   &st, &start) == 3) {
            out->cpu_us = (ut + st) * 1000000ull / (uint64_t)tck;
            uint64_t bt = boot_time();
            out->start_unix = bt ? bt + start / (uint64_t)tck : 0;
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        uint64_t k = 0;
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            if (e->d_name[0] != '.')
                k++;
        closedir(d);
        out->open_fds = k ? k - 1 : 0; /* not the directory's own fd */
    }
}

/* ---- metrics ---- */

struct node_telemetry {
    struct node_runtime *rt;
    struct metrics_family *build, *rejects, *fallback, *udp, *udp_assocs, *udp_dropped, *dns_fail, *log_supp;
    struct metrics_family *mux_subs, *mux_stalls, *bittorrent, *ports;
    struct metrics_family *probe_fallbacks, *probe_flags, *probe_bans, *probe_refused, *probe_nets, *probe_ips;
    struct metrics_family *online, *known, *lost, *user_bytes, *user_conns;
    struct metrics_family *rss, *fds, *cpu, *start;
};

/* Metric labels (the vless module's strings are Xray's error texts). VLESS_HR_OK counts
 * requests refused as malformed without a reason. */
static const char *const hdr_labels[VLESS_HR__COUNT] = {
    "malformed", "short_first", "bad_version", "unknown_user", "bad_addons", "bad_command", "bad_address",
};
static const char *const flow_labels[VLESS_FR__COUNT] = {
    "ok",           "flow_vision_udp",  "flow_account_mismatch", "flow_empty_tcp", "flow_empty_mux",
    "flow_unknown", "flow_bad_command",
};

/* Counters are refreshed to a total kept elsewhere (never decreasing). */
static void set_total(struct metrics_family *f, const char *const *labels, uint64_t total)
{
    struct metrics_series *x = metrics_series(f, labels);
    if (x == NULL)
        return;
    uint64_t cur = metrics_counter_value(x);
    if (total > cur)
        metrics_add(x, total - cur);
}

static void set_gauge(struct metrics_family *f, const char *const *labels, int64_t v)
{
    struct metrics_series *x = metrics_series(f, labels);
    if (x)
        metrics_set(x, v);
}

/* The top-N users' labels: email when set, else the configured id (key hex when gone). */
static void collect_top(struct node_telemetry *t)
{
    struct node_runtime *rt = t->rt;
    metrics_family_clear(t->user_bytes);
    metrics_family_clear(t->user_conns);
    pthread_mutex_lock(&rt->lock);
    size_t n = rt->snap ? rt->snap->cfg->metrics_top_users : 0;
    pthread_mutex_unlock(&rt->lock);
    if (n == 0)
        return;
    struct node_usage_entry *top = calloc(n, sizeof(*top));
    char(*names)[256] = calloc(n, sizeof(*names));
    if (top == NULL || names == NULL) {
        free(top);
        free(names);
        return;
    }
    size_t k = node_usage_top(rt->usage, n, top);
    for (size_t i = 0; i < k; i++)
        uuid_format(names[i], top[i].key); /* a user no longer configured */
    pthread_mutex_lock(&rt->lock);
    const struct node_cfg *cfg = rt->snap->cfg;
    for (size_t ib = 0; ib < cfg->n_inbounds; ib++) {
        for (size_t j = 0; j < cfg->inbounds[ib].n_users; j++) {
            const struct node_user *u = &cfg->inbounds[ib].users[j];
            uint8_t key[NODE_USAGE_KEY_LEN];
            node_usage_key(u->id, key);
            for (size_t i = 0; i < k; i++)
                if (memcmp(key, top[i].key, sizeof(key)) == 0)
                    snprintf(names[i], sizeof(names[i]), "%s", u->email ? u->email : u->id_text);
        }
    }
    pthread_mutex_unlock(&rt->lock);
    for (size_t i = 0; i < k; i++) {
        set_total(t->user_bytes, (const char *const[]){names[i], "up"}, top[i].total_up);
        set_total(t->user_bytes, (const char *const[]){names[i], "down"}, top[i].total_down);
        set_gauge(t->user_conns, (const char *const[]){names[i]}, (int64_t)top[i].active);
    }
    free(top);
    free(names);
}

static void collect(struct metrics_family *f, void *arg)
{
    struct node_telemetry *t = arg;
    (void)f;
    set_gauge(t->build, (const char *const[]){VEIL_VERSION}, 1);
    for (int r = 0; r < VLESS_HR__COUNT; r++)
        set_total(t->rejects, (const char *const[]){hdr_labels[r]}, node_tm_vless_rejects((enum vless_hdr_reason)r));
    for (int r = 1; r < VLESS_FR__COUNT; r++)
        set_total(t->rejects, (const char *const[]){flow_labels[r]}, node_tm_flow_rejects((enum vless_flow_reason)r));
    set_total(t->fallback, (const char *const[]){"up"}, node_tm_get(NODE_TM_FALLBACK_UP));
    set_total(t->fallback, (const char *const[]){"down"}, node_tm_get(NODE_TM_FALLBACK_DOWN));
    set_total(t->udp, NULL, node_tm_get(NODE_TM_UDP_TUNNELS));
    set_total(t->udp_assocs, NULL, node_tm_get(NODE_TM_UDP_ASSOCS));
    set_total(t->udp_dropped, NULL, node_tm_get(NODE_TM_UDP_DROPPED));
    set_total(t->dns_fail, NULL, node_tm_get(NODE_TM_DNS_FAILURES));
    set_total(t->log_supp, NULL, node_tm_get(NODE_TM_LOG_SUPPRESSED));
    set_total(t->mux_subs, NULL, node_tm_get(NODE_TM_MUX_TCP_SUBS));
    set_total(t->mux_stalls, NULL, node_tm_get(NODE_TM_MUX_STALLS));
    for (int k = 1; k < NODE_BT__COUNT; k++)
        for (int b = 0; b < 2; b++) {
            uint64_t v = node_bt_total(b, (enum node_bt_kind)k);
            if (v) /* no empty series for a node that never saw BitTorrent */
                set_total(t->bittorrent, (const char *const[]){b ? "blocked" : "logged", node_bt_kind_str(k)}, v);
        }
    uint16_t ports[64];
    uint64_t counts[64];
    size_t np = node_port_refusals(ports, counts, 64);
    for (size_t i = 0; i < np; i++) {
        char port[8];
        snprintf(port, sizeof port, "%u", (unsigned)ports[i]);
        set_total(t->ports, (const char *const[]){port}, counts[i]);
    }
    struct node_probe_totals pt;
    node_probe_totals(node_limits_probe(t->rt->limits), clock_mono_ms(), &pt);
    set_total(t->probe_fallbacks, NULL, pt.fallbacks);
    set_total(t->probe_flags, NULL, pt.flags);
    set_total(t->probe_bans, NULL, pt.bans);
    for (int r = 0; r < NODE_PROBE__COUNT; r++)
        set_total(t->probe_refused, (const char *const[]){node_probe_refusal_str((enum node_probe_refusal)r)},
                  pt.refused[r]);
    set_gauge(t->probe_nets, NULL, (int64_t)pt.flagged_now);
    set_gauge(t->probe_ips, NULL, (int64_t)pt.banned_now);
    set_gauge(t->online, NULL, (int64_t)node_usage_online(t->rt->usage));
    set_gauge(t->known, NULL, (int64_t)node_usage_users(t->rt->usage));
    set_total(t->lost, NULL, node_usage_lost(t->rt->usage));
    collect_top(t);
    struct node_proc_stats ps;
    node_proc_stats(&ps);
    set_gauge(t->rss, NULL, (int64_t)ps.rss_bytes);
    set_gauge(t->fds, NULL, (int64_t)ps.open_fds);
    set_total(t->cpu, NULL, ps.cpu_us);
    set_gauge(t->start, NULL, (int64_t)ps.start_unix);
}

void node_telemetry_free(struct node_telemetry *t)
{
    free(t);
}

int node_telemetry_register(struct metrics_registry *r, struct node_runtime *rt, struct node_telemetry **out)
{
    *out = NULL;
    static const char *const version[] = {"version"};
    static const char *const reason[] = {"reason"};
    static const char *const direction[] = {"direction"};
    static const char *const user_dir[] = {"user", "direction"};
    static const char *const user[] = {"user"};
    int rc = reality_outcome_register_metrics(r); /* handshakes by REALITY outcome */
    if (rc < 0 && rc != ERR_EXISTS)
        return rc;
    struct node_telemetry *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return ERR_NOMEM;
    t->rt = rt;
    t->build =
        metrics_family_new(r, METRICS_GAUGE, "veil_build_info", "Build information (value 1).", version, 1, NULL, 0, 1);
    t->rejects = metrics_family_new(r, METRICS_COUNTER, "veil_node_vless_rejects_total",
                                    "Authenticated connections whose VLESS request was refused, by reason.", reason, 1,
                                    NULL, 0, 32);
    t->fallback = metrics_family_new(r, METRICS_COUNTER, "veil_node_fallback_bytes_total",
                                     "Bytes relayed between probes and the REALITY target (up = to the target).",
                                     direction, 1, NULL, 0, 2);
    t->udp = metrics_family_new(r, METRICS_COUNTER, "veil_node_udp_tunnels_total",
                                "UDP tunnels started (VLESS UDP and Mux/XUDP).", NULL, 0, NULL, 0, 1);
    t->udp_assocs =
        metrics_family_new(r, METRICS_COUNTER, "veil_node_udp_sessions_total",
                           "UDP sessions opened (one destination flow or one Mux session).", NULL, 0, NULL, 0, 1);
    t->udp_dropped =
        metrics_family_new(r, METRICS_COUNTER, "veil_node_udp_dropped_total",
                           "Datagrams dropped (full queues, refused or unresolved destinations).", NULL, 0, NULL, 0, 1);
    t->dns_fail = metrics_family_new(r, METRICS_COUNTER, "veil_node_dns_failures_total",
                                     "Destination names that did not resolve.", NULL, 0, NULL, 0, 1);
    t->log_supp = metrics_family_new(r, METRICS_COUNTER, "veil_node_log_suppressed_total",
                                     "Probe-driven log lines dropped by the log rate limit.", NULL, 0, NULL, 0, 1);
    t->mux_subs = metrics_family_new(r, METRICS_COUNTER, "veil_node_mux_tcp_sessions_total",
                                     "Mux TCP sub-connections opened.", NULL, 0, NULL, 0, 1);
    t->mux_stalls = metrics_family_new(r, METRICS_COUNTER, "veil_node_mux_stalls_total",
                                       "Times a Mux tunnel stopped reading: a TCP sub-connection's buffer was full.",
                                       NULL, 0, NULL, 0, 1);
    static const char *const action_kind[] = {"action", "kind"};
    t->bittorrent =
        metrics_family_new(r, METRICS_COUNTER, "veil_node_bittorrent_total",
                           "Tunnel flows recognised as BitTorrent (veil.blockBitTorrent), by action and kind.",
                           action_kind, 2, NULL, 0, 2 * NODE_BT__COUNT);
    static const char *const port[] = {"port"};
    t->ports = metrics_family_new(r, METRICS_COUNTER, "veil_node_port_refused_total",
                                  "Tunnel flows refused for their destination port (veil.blockedPorts), by port.", port,
                                  1, NULL, 0, 64);
    static const char *const why[] = {"why"};
    t->probe_fallbacks = metrics_family_new(r, METRICS_COUNTER, "veil_node_probe_fallbacks_total",
                                            "Connections relayed to the REALITY target because the client failed to "
                                            "authenticate (probing guard).",
                                            NULL, 0, NULL, 0, 1);
    t->probe_flags = metrics_family_new(r, METRICS_COUNTER, "veil_node_probe_networks_flagged_total",
                                        "Times a client network (/24, IPv6 /48) crossed the probing threshold.", NULL,
                                        0, NULL, 0, 1);
    t->probe_bans = metrics_family_new(r, METRICS_COUNTER, "veil_node_probe_bans_total",
                                       "Source addresses banned for probing.", NULL, 0, NULL, 0, 1);
    t->probe_refused = metrics_family_new(r, METRICS_COUNTER, "veil_node_probe_refused_total",
                                          "Connections refused by the probing guard, by why (banned source, or its "
                                          "flagged network over its dial rate).",
                                          why, 1, NULL, 0, NODE_PROBE__COUNT);
    t->probe_nets = metrics_family_new(r, METRICS_GAUGE, "veil_node_probe_networks",
                                       "Client networks flagged for probing now.", NULL, 0, NULL, 0, 1);
    t->probe_ips = metrics_family_new(r, METRICS_GAUGE, "veil_node_probe_banned",
                                      "Source addresses banned for probing now.", NULL, 0, NULL, 0, 1);
    t->online = metrics_family_new(r, METRICS_GAUGE, "veil_node_users_online", "Users with at least one open tunnel.",
                                   NULL, 0, NULL, 0, 1);
    t->known = metrics_family_new(r, METRICS_GAUGE, "veil_node_users_seen",
                                  "Users that opened a tunnel since the node started.", NULL, 0, NULL, 0, 1);
    t->lost = metrics_family_new(r, METRICS_COUNTER, "veil_node_usage_lost_bytes_total",
                                 "Bytes that could not be booked to a user (out of memory).", NULL, 0, NULL, 0, 1);
    t->user_bytes = metrics_family_new(r, METRICS_COUNTER, "veil_node_user_bytes_total",
                                       "Tunnel bytes of the top veil.metricsTopUsers users by total bytes.", user_dir,
                                       2, NULL, 0, 2000);
    t->user_conns = metrics_family_new(r, METRICS_GAUGE, "veil_node_user_connections",
                                       "Open tunnels of the top veil.metricsTopUsers users.", user, 1, NULL, 0, 1000);
    t->rss = metrics_family_new(r, METRICS_GAUGE, "process_resident_memory_bytes", "Resident memory size in bytes.",
                                NULL, 0, NULL, 0, 1);
    t->fds = metrics_family_new(r, METRICS_GAUGE, "process_open_fds", "Number of open file descriptors.", NULL, 0, NULL,
                                0, 1);
    t->cpu = metrics_family_new(r, METRICS_COUNTER, "process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.", NULL, 0, NULL, 0, 1);
    t->start = metrics_family_new(r, METRICS_GAUGE, "process_start_time_seconds",
                                  "Start time of the process since the unix epoch in seconds.", NULL, 0, NULL, 0, 1);
    if (!t->build || !t->rejects || !t->fallback || !t->udp || !t->udp_assocs || !t->udp_dropped || !t->dns_fail ||
        !t->log_supp || !t->online || !t->known || !t->lost || !t->user_bytes || !t->user_conns || !t->rss || !t->fds ||
        !t->cpu || !t->start || !t->mux_subs || !t->mux_stalls || !t->bittorrent || !t->ports || !t->probe_fallbacks ||
        !t->probe_flags || !t->probe_bans || !t->probe_refused || !t->probe_nets || !t->probe_ips) {
        free(t);
        return ERR_NOMEM;
    }
    metrics_family_set_scale(t->cpu, 1e-6);
    metrics_family_on_collect(t->build, collect, t);
    *out = t;
    return 0;
}
