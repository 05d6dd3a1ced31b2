#include "node/services.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/file.h"
#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "node/admin.h"
#include "node/admin_api.h"
#include "node/hubsync.h"
#include "node/load.h"
#include "nodecfg/overlay.h"
#include "node/scan_job.h"
#include "node/session.h"
#include "node/limits.h"
#include "node/target_health.h"
#include "nodecfg/state.h"
#include "reality/outcome.h"
#include "node/telemetry.h"
#include "node/usage.h"
#include "node/usage_api.h"

struct node_services {
    struct node_runtime *rt;
    struct node_hubsync *hub;
    struct node_admin_api *api;
    struct node_admin *admin;
    struct metrics_registry *reg;
    struct metrics_family *conns, *active, *bytes, *closed, *users, *dns;
    struct metrics_family *limit_hits;   /* node/limits.h refusals by kind */
    struct node_telemetry *tm;           /* the other /metrics families (node/telemetry.h) */
    struct node_usage_api *uapi;         /* usage and health routes (node/usage_api.h) */
    struct node_cfg *boot;               /* the config at start: what restart-only settings run with */
    struct node_load_meter load;         /* CPU and bytes/s between usage pushes (hub sync thread only) */
    struct node_target_checker *checker; /* active REALITY target checks (node/target_health.h) */
    struct node_scan_job *scan;          /* target scans the hub asks for (node/scan_job.h) */
};

/* ---- files ---- */

/* A config file larger than this is a mistake, not a config. */
#define CONFIG_FILE_MAX ((size_t)16 << 20)

/* The file, with its state (nodecfg/state.h) applied; o receives the admin overlay. */
static struct node_cfg *load_with_overlay(const char *path, struct buf *text, struct node_overlay *o, struct cfg_ctx *c)
{
    int rc = file_read_all(path, CONFIG_FILE_MAX, text);
    if (rc < 0) {
        cfg_error_global(c, "cannot open: %s", err_str(rc));
        return NULL;
    }
    return node_state_load_cfg((const char *)buf_data(text), buf_len(text), o, c);
}

struct node_cfg *node_services_load(const char *path, struct cfg_ctx *c)
{
    return node_cfg_load_file(c, path); /* it applies the state too */
}

/* ---- applying a config to the runtime ---- */

static int apply_cfg(void *arg, struct node_cfg *cfg, char *err, size_t errlen)
{
    struct node_services *s = arg;
    struct node_snapshot *snap = NULL;
    int rc = node_snapshot_new(cfg, &snap, err, errlen);
    if (rc < 0)
        return rc;
    node_runtime_reload(s->rt, snap);
    node_snapshot_unref(snap);
    return 0;
}

static int apply_hub_users(void *arg, const struct node_overlay_user *users, size_t n, char *err, size_t errlen)
{
    struct node_services *s = arg;
    return node_admin_api_set_hub_users(s->api, users, n, err, errlen);
}

static int apply_hub_reality(void *arg, const struct sync_reality *r, char *err, size_t errlen)
{
    struct node_services *s = arg;
    return node_admin_api_set_hub_reality(s->api, r, err, errlen);
}

/* Scan results go back through the hub sync's connection settings. */
static int post_scan(void *arg, const struct buf *body)
{
    struct node_services *s = arg;
    return node_hubsync_post(s->hub, "/api/v1/node/scan", body);
}

static void hub_scan(void *arg, const struct sync_scan *req)
{
    struct node_services *s = arg;
    node_scan_job_request(s->scan, req);
}

static void hub_health(void *arg, struct sync_health *h)
{
    struct node_services *s = arg;
    node_target_health_fill(s->rt, h);
    /* the client networks flagged for probing since the last push (node/probe_guard.h) */
    struct node_probe_net_report pr[SYNC_PROBES_MAX];
    size_t np = node_probe_report(node_limits_probe(s->rt->limits), pr, SYNC_PROBES_MAX);
    for (size_t i = 0; i < np; i++) {
        struct sync_probe *p = &h->probes[i];
        _Static_assert(sizeof(p->net) == sizeof(pr[i].net), "network text sizes differ");
        memcpy(p->net, pr[i].net, sizeof(p->net));
        p->fallbacks = pr[i].fallbacks;
        p->bans = pr[i].bans;
        p->refused = pr[i].refused;
    }
    h->n_probes = np;
    struct node_worker_stats st;
    node_runtime_stats(s->rt, &st);
    h->connections = atomic_load(&st.active);
    h->handshakes = node_load_handshakes(&s->load, reality_outcome_get(REALITY_OUTCOME_AUTHENTICATED));
    /* CPU of this process (the node's work) over all cores, and client bytes/s since the last push. */
    struct rusage ru;
    struct timespec ts;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (getrusage(RUSAGE_SELF, &ru) == 0 && clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
        uint64_t cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
                          (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
        uint64_t now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
        node_load_sample(&s->load, now_ms, cpu_us, atomic_load(&st.bytes_up) + atomic_load(&st.bytes_down),
                         ncpu > 0 ? (unsigned)ncpu : 0, &h->cpu, &h->bytes_per_sec);
    }
}

/* ---- metrics ---- */

static void set_counter(struct metrics_family *f, const char *label, uint64_t total)
{
    const char *const values[] = {label};
    struct metrics_series *x = metrics_series(f, label ? values : NULL);
    if (x == NULL)
        return;
    uint64_t cur = metrics_counter_value(x);
    if (total > cur)
        metrics_add(x, total - cur);
}

static void collect(struct metrics_family *f, void *arg)
{
    struct node_services *s = arg;
    if (f != s->conns)
        return; /* one refresh per scrape: every family is filled from the same stats */
    struct node_worker_stats st;
    node_runtime_stats(s->rt, &st);
    set_counter(s->conns, "accepted", atomic_load(&st.accepted));
    set_counter(s->conns, "authenticated", atomic_load(&st.authenticated));
    set_counter(s->conns, "fallback", atomic_load(&st.fallback));
    set_counter(s->bytes, "up", atomic_load(&st.bytes_up));
    set_counter(s->bytes, "down", atomic_load(&st.bytes_down));
    for (int r = 0; r < NODE_CR__COUNT; r++)
        set_counter(s->closed, node_close_reason_str((enum node_close_reason)r), atomic_load(&st.close_reasons[r]));
    struct metrics_series *a = metrics_series(s->active, NULL);
    if (a)
        metrics_set(a, (int64_t)atomic_load(&st.active));
    size_t users = 0;
    pthread_mutex_lock(&s->rt->lock);
    for (size_t i = 0; i < s->rt->snap->n_inbounds; i++)
        users += s->rt->snap->cfg->inbounds[i].n_users;
    pthread_mutex_unlock(&s->rt->lock);
    struct metrics_series *u = metrics_series(s->users, NULL);
    if (u)
        metrics_set(u, (int64_t)users);
    uint64_t hits = 0, queries = 0;
    for (size_t i = 0; i < s->rt->n_workers; i++) {
        if (s->rt->workers[i].dns) {
            hits += node_dns_cache_hits(s->rt->workers[i].dns);
            queries += node_dns_queries(s->rt->workers[i].dns);
        }
    }
    set_counter(s->dns, "cache_hit", hits);
    set_counter(s->dns, "query", queries);
    for (int k = 0; k < NODE_LIMIT__COUNT; k++)
        set_counter(s->limit_hits, node_limit_kind_str((enum node_limit_kind)k),
                    node_limits_hits(s->rt->limits, (enum node_limit_kind)k));
}

static int metrics_init(struct node_services *s)
{
    static const char *const result[] = {"result"};
    static const char *const direction[] = {"direction"};
    static const char *const reason[] = {"reason"};
    static const char *const source[] = {"source"};
    s->reg = metrics_registry_new();
    if (s->reg == NULL)
        return ERR_NOMEM;
    s->conns = metrics_family_new(s->reg, METRICS_COUNTER, "veil_node_connections_total",
                                  "Client connections by handshake result.", result, 1, NULL, 0, 8);
    s->active = metrics_family_new(s->reg, METRICS_GAUGE, "veil_node_active_connections", "Open client connections.",
                                   NULL, 0, NULL, 0, 1);
    s->bytes = metrics_family_new(s->reg, METRICS_COUNTER, "veil_node_bytes_total",
                                  "Tunnel payload bytes (up = client to destination).", direction, 1, NULL, 0, 4);
    s->closed = metrics_family_new(s->reg, METRICS_COUNTER, "veil_node_closed_total", "Closed connections by reason.",
                                   reason, 1, NULL, 0, 32);
    s->users = metrics_family_new(s->reg, METRICS_GAUGE, "veil_node_users", "Configured users (all inbounds).", NULL, 0,
                                  NULL, 0, 1);
    s->dns = metrics_family_new(s->reg, METRICS_COUNTER, "veil_node_dns_lookups_total",
                                "Destination name lookups by how they were answered.", source, 1, NULL, 0, 4);
    static const char *const kind[] = {"kind"};
    s->limit_hits = metrics_family_new(s->reg, METRICS_COUNTER, "veil_node_limit_refusals_total",
                                       "Connections refused by a limit (device, connections, handshake_rate).", kind, 1,
                                       NULL, 0, 4);
    if (!s->conns || !s->active || !s->bytes || !s->closed || !s->users || !s->dns || !s->limit_hits)
        return ERR_NOMEM;
    metrics_family_on_collect(s->conns, collect, s);
    TRY(node_target_metrics_register(s->reg, s->rt));
    return node_telemetry_register(s->reg, s->rt, &s->tm);
}

/* ---- lifecycle ---- */

int node_services_start(struct node_runtime *rt, const char *path, const struct node_cfg *cfg,
                        struct node_services **out)
{
    *out = NULL;
    struct node_services *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return ERR_NOMEM;
    s->rt = rt;
    s->boot = node_cfg_ref((struct node_cfg *)cfg);
    struct buf text;
    buf_init(&text);
    struct node_overlay o;
    node_overlay_init(&o);
    struct cfg_ctx c;
    cfg_init(&c, path);
    int rc = 0;
    /* The text the runtime's config came from, and the overlay on top of it. */
    struct node_cfg *check = load_with_overlay(path, &text, &o, &c);
    if (check == NULL) {
        for (size_t i = 0; i < c.n_msgs; i++)
            log_err("node", 0, "services_config_error", LF_STR("message", c.msgs[i].text));
        rc = ERR_CONFIG;
        goto fail;
    }
    node_cfg_unref(check);
    /* systemd's StateDirectory= usually creates it; make sure it exists either way */
    if (cfg->state_dir && mkdir(cfg->state_dir, 0700) == -1 && errno != EEXIST)
        log_warn("node", 0, "state_dir_unusable", LF_STR("path", cfg->state_dir), LF_STR("err", strerror(errno)));
    char sp[4096];
    bool persist = node_state_file(cfg, "users.json", sp, sizeof(sp)) == 0;
    s->api = node_admin_api_new((const char *)buf_data(&text), buf_len(&text), path, &o, persist ? sp : NULL,
                                cfg->admin_token, apply_cfg, s);
    rc = s->api ? metrics_init(s) : ERR_NOMEM;
    if (rc < 0)
        goto fail;
    if (cfg->hub_url) {
        struct node_overlay_user *hub = NULL;
        size_t n_hub = 0;
        char hp[4096];
        bool has_state = node_state_file(cfg, "hub-users.json", hp, sizeof(hp)) == 0;
        rc = node_state_hub_users(cfg, &hub, &n_hub);
        char err[256] = "";
        if (rc == 0 && n_hub)
            rc = node_admin_api_set_hub_users(s->api, hub, n_hub, err, sizeof(err));
        node_hubsync_users_free(hub, n_hub);
        struct sync_reality reality;
        node_state_hub_reality(cfg, &reality);
        if (rc == 0 && reality.rev)
            rc = node_admin_api_set_hub_reality(s->api, &reality, err, sizeof(err));
        struct node_hubsync_opts ho = {
            .url = cfg->hub_url,
            .token = cfg->hub_token,
            .ca_file = cfg->hub_ca_file,
            .pin = cfg->hub_pin,
            .cert_file = cfg->hub_cert_file,
            .key_file = cfg->hub_key_file,
            .poll_ms = cfg->hub_poll_sec * 1000,
            .push_ms = cfg->hub_push_sec * 1000,
            .save_ms = (cfg->usage_report_sec ? cfg->usage_report_sec : 5) * 1000,
            .state_path = has_state ? hp : NULL,
            .apply = apply_hub_users,
            .health = hub_health,
            .apply_reality = apply_hub_reality,
            .scan = hub_scan,
            .arg = s,
        };
        s->scan = node_scan_job_start(5, post_scan, s);
        if (s->scan == NULL)
            rc = ERR_NOMEM;
        if (rc == 0)
            rc = node_hubsync_start(&ho, &s->hub);
        if (rc < 0) {
            log_err("node", 0, "hub_sync_not_started", LF_STR("err", *err ? err : err_str(rc)));
            goto fail;
        }
        node_usage_set_hubsync(rt->usage, s->hub); /* hub users' bytes go to the hub */
        log_info("node", 0, "hub_sync_started", LF_STR("url", cfg->hub_url), LF_UINT("poll_sec", cfg->hub_poll_sec));
    }
    rc = node_target_checker_start(rt, cfg->target_check_sec, &s->checker);
    if (rc < 0)
        goto fail;
    s->uapi = node_usage_api_new(rt, s->api, s->hub);
    if (s->uapi == NULL) {
        rc = ERR_NOMEM;
        goto fail;
    }
    struct node_admin_opts ao = {cfg->metrics_listen, cfg->admin_listen, s->reg, node_usage_api_handle, s->uapi};
    rc = node_admin_start(&ao, &s->admin);
    if (rc < 0) {
        log_err("node", 0, "services_listen_failed", LF_STR("err", err_str(rc)));
        goto fail;
    }
    if (cfg->metrics_listen)
        log_info("node", 0, "metrics_listening", LF_STR("addr", cfg->metrics_listen));
    if (cfg->admin_listen)
        log_info("node", 0, "admin_listening", LF_STR("addr", cfg->admin_listen),
                 LF_BOOL("token", cfg->admin_token != NULL));
    cfg_dispose(&c);
    buf_dispose(&text);
    node_overlay_dispose(&o);
    *out = s;
    return 0;
fail:
    cfg_dispose(&c);
    buf_dispose(&text);
    node_overlay_dispose(&o);
    node_services_stop(s);
    return rc;
}

/* ---- reload ---- */

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

static void note(char *out, size_t cap, const char *name)
{
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s%s", n ? "," : "", name);
}

/* Names (comma-separated, into out) the settings of b that differ from the running a and only
 * apply at start: sockets, threads, files and connections opened once. Everything else (users,
 * REALITY settings, timeouts, limits, allowPrivateDestinations, dialing, adminToken, log level)
 * is applied by the reload. */
static void restart_only_changes(const struct node_cfg *a, const struct node_cfg *b, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < a->n_inbounds && i < b->n_inbounds; i++) {
        const struct node_inbound *x = &a->inbounds[i], *y = &b->inbounds[i];
        char name[48];
        if (str_differs(x->listen, y->listen)) {
            snprintf(name, sizeof(name), "inbounds[%zu].listen", i);
            note(out, cap, name);
        }
        if (x->port != y->port) {
            snprintf(name, sizeof(name), "inbounds[%zu].port", i);
            note(out, cap, name);
        }
    }
    if (a->n_inbounds != b->n_inbounds)
        note(out, cap, "inbounds");
    if (a->workers != b->workers)
        note(out, cap, "veil.workers");
    bool dns_same = a->n_dns_servers == b->n_dns_servers && a->dns_timeout_ms == b->dns_timeout_ms;
    for (size_t i = 0; dns_same && i < a->n_dns_servers; i++)
        dns_same = strcmp(a->dns_servers[i], b->dns_servers[i]) == 0;
    if (!dns_same)
        note(out, cap, "veil.dnsServers/dnsTimeoutMs");
    if (str_differs(a->admin_listen, b->admin_listen))
        note(out, cap, "veil.adminListen");
    if (str_differs(a->metrics_listen, b->metrics_listen))
        note(out, cap, "veil.metricsListen");
    if (str_differs(a->state_dir, b->state_dir))
        note(out, cap, "veil.stateDir");
    if (str_differs(a->hub_url, b->hub_url) || str_differs(a->hub_token, b->hub_token) ||
        str_differs(a->hub_ca_file, b->hub_ca_file) || str_differs(a->hub_pin, b->hub_pin) ||
        str_differs(a->hub_cert_file, b->hub_cert_file) || str_differs(a->hub_key_file, b->hub_key_file) ||
        a->hub_poll_sec != b->hub_poll_sec || a->hub_push_sec != b->hub_push_sec)
        note(out, cap, "veil.hub");
    if (str_differs(a->redis_url, b->redis_url) || a->redis_timeout_ms != b->redis_timeout_ms)
        note(out, cap, "veil.redis");
    if (str_differs(a->error_log, b->error_log))
        note(out, cap, "log.error");
    if (str_differs(a->access_log, b->access_log))
        note(out, cap, "log.access");
}

int node_services_reload(struct node_services *s, const char *path)
{
    struct buf text;
    buf_init(&text);
    int rc = file_read_all(path, CONFIG_FILE_MAX, &text);
    if (rc < 0) {
        log_err("node", 0, "reload_config_error", LF_STR("path", path), LF_STR("err", err_str(rc)));
        buf_dispose(&text);
        return rc;
    }
    struct cfg_ctx c;
    cfg_init(&c, path);
    struct node_cfg *cfg = node_admin_api_preview(s->api, (const char *)buf_data(&text), buf_len(&text), &c);
    char restart[512] = "";
    if (cfg) {
        restart_only_changes(s->boot, cfg, restart, sizeof(restart));
        if (s->boot->n_inbounds != cfg->n_inbounds) {
            /* Each worker's listener i serves inbound i: a new list needs new sockets. */
            log_warn("node", 0, "restart_needed", LF_STR("changed", restart),
                     LF_STR("why", "the list of inbounds changed; nothing was applied, restart the node"));
            node_cfg_unref(cfg);
            cfg_dispose(&c);
            buf_dispose(&text);
            return ERR_CONFIG;
        }
    }
    bool ok = cfg != NULL;
    char err[256] = "";
    rc = ok ? node_admin_api_rebase_apply(s->api, (const char *)buf_data(&text), buf_len(&text), &c, err, sizeof(err))
            : ERR_CONFIG;
    buf_dispose(&text);
    if (rc == ERR_CONFIG)
        for (size_t i = 0; i < c.n_msgs; i++)
            if (c.msgs[i].sev == CFG_SEV_ERROR)
                log_err("node", 0, "reload_config_error", LF_STR("message", c.msgs[i].text));
    if (rc < 0 && rc != ERR_CONFIG)
        log_err("node", 0, "reload_config_error", LF_STR("message", *err ? err : err_str(rc)));
    if (rc == 0) {
        /* The snapshot (users, REALITY, timeouts, limits, dialing) is installed; the rest here. */
        rc = node_admin_api_set_token(s->api, cfg->admin_token);
        log_set_level(cfg->log_level);
    }
    if (rc == 0) {
        log_info("node", 0, "reloaded", LF_STR("log_level", log_level_name(cfg->log_level)),
                 LF_BOOL("allow_private_destinations", cfg->allow_private_destinations),
                 LF_BOOL("admin_token", cfg->admin_token != NULL), LF_UINT("idle_timeout_sec", cfg->idle_timeout_sec),
                 LF_UINT("handshakes_per_sec_per_ip", cfg->handshakes_per_sec_per_ip));
        if (restart[0])
            log_warn("node", 0, "restart_needed", LF_STR("changed", restart),
                     LF_STR("why", "these settings apply at start only; running with the old values"));
    }
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    return rc;
}

void node_services_stop(struct node_services *s)
{
    if (s == NULL)
        return;
    node_usage_set_hubsync(s->rt->usage, NULL); /* no report enters hub sync from here on */
    node_admin_stop(s->admin);                  /* no request reads hub sync from here on */
    node_scan_job_stop(s->scan);                /* posts through the hub sync: stopped first */
    node_hubsync_stop(s->hub);                  /* before the api it installs through */
    node_target_checker_stop(s->checker);
    node_admin_api_free(s->api);
    node_usage_api_free(s->uapi);
    metrics_registry_free(s->reg);
    node_telemetry_free(s->tm);
    node_cfg_unref(s->boot);
    free(s);
}

struct node_hubsync *node_services_hubsync(struct node_services *s)
{
    return s ? s->hub : NULL;
}
