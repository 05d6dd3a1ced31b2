/* The node liveness rule (node_health.h). */
#include "hub/domain/node_health.h"

enum hub_node_verdict hub_node_verdict(const struct hub_node *n, int64_t now, int64_t dead_after)
{
    if (n->weight <= 0 || n->draining)
        return HUB_NODE_EXCLUDED;
    if (n->health == HUB_HEALTH_DOWN)
        return HUB_NODE_DOWN;
    if (dead_after <= 0)
        return HUB_NODE_SERVED;
    if (n->last_seen <= 0)
        return HUB_NODE_UNSEEN;
    /* now - last_seen >= dead_after, written so that no input overflows. */
    if (n->last_seen < now && now - n->last_seen >= dead_after)
        return HUB_NODE_STALE;
    return HUB_NODE_SERVED;
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

const char *hub_node_verdict_name(enum hub_node_verdict v)
{
    static const char *const names[HUB_NODE__COUNT] = {"served", "excluded", "down", "unseen", "stale"};
    return (unsigned)v < HUB_NODE__COUNT ? names[v] : "?";
}
