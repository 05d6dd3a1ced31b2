#include "node/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/err.h"
#include "core/log.h"
#include "node/services.h"
#include "node/worker.h"

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
    struct node_services *svc = NULL;
    rc = node_services_start(&rt, config_path, cfg, &svc);
    if (rc < 0) {
        log_err("node", 0, "start_failed", LF_STR("what", "admin API, /metrics or hub sync"),
                LF_STR("err", err_str(rc)));
        node_runtime_stop(&rt, 0);
        return rc;
    }
    atomic_store(&rt.hubsync, node_services_hubsync(svc));
    for (size_t i = 0; i < cfg->n_inbounds; i++)
        log_info("node", 0, "listening", LF_STR("listen", cfg->inbounds[i].listen ? cfg->inbounds[i].listen : "::"),
                 LF_UINT("port", cfg->inbounds[i].port), LF_UINT("users", cfg->inbounds[i].n_users),
                 LF_UINT("workers", rt.n_workers));
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            (void)node_services_reload(svc, config_path); /* errors keep the old config, and are logged */
            continue;
        }
        log_info("node", 0, "stopping", LF_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"),
                 LF_UINT("drain_ms", drain_ms));
        break;
    }
    struct node_worker_stats st;
    node_runtime_stats(&rt, &st);
    /* Drain first so the last tunnels' bytes are counted, then let hub sync push them. */
    node_runtime_drain(&rt, drain_ms);
    node_services_stop(svc);
    node_runtime_stop(&rt, 0);
    log_info("node", 0, "stopped", LF_UINT("connections", atomic_load(&st.accepted)),
             LF_UINT("authenticated", atomic_load(&st.authenticated)), LF_UINT("fallback", atomic_load(&st.fallback)));
    return 0;
}
