#include "node/bt_guard.h"

#include <stdatomic.h>

#include "core/clock.h"
#include "core/log.h"
#include "node/telemetry.h"
#include "node/usage.h"

static _Atomic uint64_t totals[2][NODE_BT__COUNT];

bool node_bt_guard(const struct node_bt_flow *f, bool tcp, const uint8_t *p, size_t n)
{
    if (f->mode == NODE_BT_MODE_OFF || n == 0)
        return false;
    enum node_bt_kind k = tcp ? node_bt_detect_tcp(p, n) : node_bt_detect_udp(p, n);
    if (k == NODE_BT_NONE)
        return false;
    bool block = f->mode == NODE_BT_MODE_BLOCK;
    atomic_fetch_add_explicit(&totals[block][k], 1, memory_order_relaxed);
    if (f->user_key != NULL)
        node_usage_bittorrent(f->usage, f->user_key, f->hub_id);
    uint64_t sup; /* the client chooses how often this happens: rate-limited like probe logs */
    if (node_tm_log_allow(clock_mono_ms(), &sup))
        log_warn("node", f->conn_id, "bittorrent", LF_STR("kind", node_bt_kind_str(k)),
                 LF_STR("action", block ? "blocked" : "logged"), LF_UINT("hub_user", f->hub_id),
                 LF_UINT("suppressed", sup));
    return block;
}

uint64_t node_bt_total(bool blocked, enum node_bt_kind k)
{
    return (unsigned)k < NODE_BT__COUNT ? atomic_load_explicit(&totals[blocked ? 1 : 0][k], memory_order_relaxed) : 0;
}
