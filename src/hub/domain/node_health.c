/* The node liveness rule (node_health.h). */
#include "hub/domain/node_health.h"

enum hub_node_verdict hub_node_verdict(const struct hub_node *n, int64_t now, int64_t dead_after)
{
    if (n->weight <= 0 || n->draining)
        return HUB_NODE_EXCLUDED;
    if (n->health == HUB_HEALTH_DOWN)
        return HUB_NODE_DOWN;
    if (dead_after > 0) {
        if (n->last_seen <= 0)
            return HUB_NODE_UNSEEN;
        /* now - last_seen >= dead_after, written so that no input overflows. */
        if (n->last_seen < now && now - n->last_seen >= dead_after)
            return HUB_NODE_STALE;
    }
    return n->silent_since > 0 ? HUB_NODE_SILENT : HUB_NODE_SERVED;
}

bool hub_node_servable(const struct hub_node *n, int64_t now, int64_t dead_after)
{
    return hub_node_verdict(n, now, dead_after) == HUB_NODE_SERVED;
}

int64_t hub_node_fresh_for(const struct hub_node *n, int64_t now, int64_t dead_after)
{
    if (!hub_node_servable(n, now, dead_after))
        return 0;
    if (dead_after <= 0 || n->last_seen >= now)
        return dead_after <= 0 ? INT64_MAX : dead_after;
    return dead_after - (now - n->last_seen);
}

bool hub_probe_answer_is_tls(const uint8_t *b, size_t n)
{
    if (n < 5 || (b[0] != 22 && b[0] != 21) || b[1] != 3 || b[2] < 1 || b[2] > 4)
        return false;
    size_t len = (size_t)b[3] << 8 | b[4];
    return len >= 1 && len <= 16384 + 256;
}

bool hub_probe_record(struct hub_probe *p, bool ok, int threshold)
{
    bool was = p->down;
    if (ok) {
        p->fails = 0;
        p->down = false;
    } else {
        if (p->fails < 1000000)
            p->fails++;
        if (p->fails >= (threshold < 1 ? 1 : threshold))
            p->down = true;
    }
    return p->down != was;
}

const char *hub_node_verdict_name(enum hub_node_verdict v)
{
    static const char *const names[HUB_NODE__COUNT] = {"served", "excluded", "down", "unseen", "stale", "silent"};
    return (unsigned)v < HUB_NODE__COUNT ? names[v] : "?";
}
