#include "node/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/err.h"
#include "core/log.h"
#include "node/worker.h"

/* Same listeners? A reload may change users and REALITY settings, not sockets. */
static int same_listeners(const struct node_cfg *a, const struct node_cfg *b)
{
    if (a->n_inbounds != b->n_inbounds)
        return 0;
    for (size_t i = 0; i < a->n_inbounds; i++) {
        const struct node_inbound *x = &a->inbounds[i], *y = &b->inbounds[i];
        if (x->port != y->port || (x->listen == NULL) != (y->listen == NULL) ||
            (x->listen && strcmp(x->listen, y->listen) != 0))
            return 0;
    }
    return 1;
}

static void reload(struct node_runtime *rt, const char *path)
{
    struct cfg_ctx c;
    cfg_init(&c, path);
    struct node_cfg *cfg = node_cfg_load_file(&c, path);
    if (cfg == NULL) {
        /* Keep serving with the old config; say exactly what is wrong. */
        for (size_t i = 0; i < c.n_msgs; i++)
            log_err("node", 0, "reload_config_error", LF_STR("message", c.msgs[i].text));
        cfg_dispose(&c);
        return;
    }
    cfg_dispose(&c);
    if (!same_listeners(rt->snap->cfg, cfg)) {
        log_warn("node", 0, "reload_refused", LF_STR("why", "listen addresses changed: restart the node"));
        node_cfg_unref(cfg);
        return;
    }
    char err[256] = "";
    struct node_snapshot *snap = NULL;
    int rc = node_snapshot_new(cfg, &snap, err, sizeof(err));
    node_cfg_unref(cfg);
    if (rc < 0) {
        log_err("node", 0, "reload_config_error", LF_STR("message", err));
        return;
    }
    node_runtime_reload(rt, snap);
    size_t users = 0;
    for (size_t i = 0; i < snap->n_inbounds; i++)
        users += snap->cfg->inbounds[i].n_users;
    log_info("node", 0, "reloaded", LF_UINT("users", users));
    node_snapshot_unref(snap);
}

int node_daemon_run(const char *config_path, struct node_cfg *cfg, uint64_t drain_ms)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked before the workers exist, so only sigwait() below ever sees these. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[256] = "";
    struct node_snapshot *snap = NULL;
    int rc = node_snapshot_new(cfg, &snap, err, sizeof(err));
    if (rc < 0) {
        log_err("node", 0, "config_error", LF_STR("message", err));
        return rc;
    }
    struct node_runtime rt;
    rc = node_runtime_start(&rt, snap, cfg->workers);
    node_snapshot_unref(snap);
    if (rc < 0) {
        log_err("node", 0, "start_failed", LF_STR("err", err_str(rc)));
        return rc;
    }
    for (size_t i = 0; i < cfg->n_inbounds; i++)
        log_info("node", 0, "listening", LF_STR("listen", cfg->inbounds[i].listen ? cfg->inbounds[i].listen : "::"),
                 LF_UINT("port", cfg->inbounds[i].port), LF_UINT("users", cfg->inbounds[i].n_users),
                 LF_UINT("workers", rt.n_workers));
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(&rt, config_path);
            continue;
        }
        log_info("node", 0, "stopping", LF_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"),
                 LF_UINT("drain_ms", drain_ms));
        break;
    }
    struct node_worker_stats st;
    node_runtime_stats(&rt, &st);
    node_runtime_stop(&rt, drain_ms);
    log_info("node", 0, "stopped", LF_UINT("connections", atomic_load(&st.accepted)),
             LF_UINT("authenticated", atomic_load(&st.authenticated)), LF_UINT("fallback", atomic_load(&st.fallback)));
    return 0;
}
