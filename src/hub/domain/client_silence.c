/* The "unreachable from clients" rule (client_silence.h). */
#include "hub/domain/client_silence.h"

/* Whether a node had a handshake within the last `silence` seconds. */
static bool heard_recently(const struct hub_node *n, int64_t now, int64_t silence)
{
    return n->handshake_at > 0 && (n->handshake_at >= now || now - n->handshake_at < silence);
}

enum hub_silence_action hub_silence_decide(const struct hub_node *nodes, size_t n, size_t i, int64_t now,
                                           const struct hub_silence_cfg *cfg)
{
    const struct hub_node *me = &nodes[i];
    if (cfg->silence <= 0)
        return me->silent_since > 0 ? HUB_SILENCE_CLEAR_OFF : HUB_SILENCE_KEEP;
    bool others_heard = false;
    for (size_t j = 0; j < n && !others_heard; j++)
        others_heard = j != i && heard_recently(&nodes[j], now, cfg->silence);
    if (me->silent_since > 0) {
        if (!others_heard)
            return HUB_SILENCE_CLEAR_FLEET;
        if (cfg->retry > 0 && me->silent_since < now && now - me->silent_since >= cfg->retry)
            return HUB_SILENCE_RETRY;
        return HUB_SILENCE_KEEP;
    }
    if (me->handshake_at <= 0 || heard_recently(me, now, cfg->silence))
        return HUB_SILENCE_KEEP;
    return others_heard ? HUB_SILENCE_MARK : HUB_SILENCE_KEEP;
}

const char *hub_silence_action_name(enum hub_silence_action a)
{
    static const char *const names[HUB_SILENCE__COUNT] = {"keep", "mark", "fleet_silent", "rule_off", "retry"};
    return (unsigned)a < HUB_SILENCE__COUNT ? names[a] : "?";
}
