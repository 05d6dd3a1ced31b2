#include "node/port_guard.h"

#include <pthread.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "core/log.h"
#include "node/dial.h"
#include "node/telemetry.h"
#include "node/usage.h"

#define PORT_SLOTS 64 /* distinct ports counted; blockedPorts holds at most 32 */

static struct {
    pthread_mutex_t mu; /* adding a port; counts are atomic */
    _Atomic size_t n;   /* ports[0..n) are set and never change */
    uint16_t port[PORT_SLOTS];
    _Atomic uint64_t count[PORT_SLOTS];
} refused = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void count(uint16_t port)
{
    size_t n = atomic_load_explicit(&refused.n, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (refused.port[i] == port) {
            atomic_fetch_add_explicit(&refused.count[i], 1, memory_order_relaxed);
            return;
        }
    pthread_mutex_lock(&refused.mu);
    size_t i = 0, have = atomic_load(&refused.n);
    while (i < have && refused.port[i] != port)
        i++;
    if (i == have && i < PORT_SLOTS) {
        refused.port[i] = port;
        atomic_store_explicit(&refused.n, i + 1, memory_order_release);
    }
    if (i < PORT_SLOTS)
        atomic_fetch_add_explicit(&refused.count[i], 1, memory_order_relaxed);
    pthread_mutex_unlock(&refused.mu);
}

bool node_port_guard(const struct node_dialer *d, const struct node_port_flow *f, uint16_t port)
{
    if (!node_dial_port_blocked(d, port))
        return false;
    count(port);
    if (port == NODE_PORT_SMTP && f->user_key != NULL)
        node_usage_smtp(f->usage, f->user_key, f->hub_id);
    uint64_t sup;
    if (node_tm_log_allow(clock_mono_ms(), &sup))
        log_warn("node", f->conn_id, "port_blocked", LF_UINT("port", port), LF_STR("network", f->network),
                 LF_UINT("hub_user", f->hub_id), LF_UINT("suppressed", sup));
    return true;
}

size_t node_port_refusals(uint16_t *ports, uint64_t *counts, size_t cap)
{
    pthread_mutex_lock(&refused.mu);
    size_t have = atomic_load(&refused.n), n = have < cap ? have : cap;
    for (size_t i = 0; i < n; i++) {
        ports[i] = refused.port[i];
        counts[i] = atomic_load_explicit(&refused.count[i], memory_order_relaxed);
    }
    pthread_mutex_unlock(&refused.mu);
    return n;
}
