/* The fleet's scheduler jobs (lock holder only): the "unreachable from clients" rule over the
 * nodes, and BitTorrent holds (start after too many attempts, end when their time is over). */
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "hub/domain/node_health.h"
#include "hub/fleet/fleet_int.h"
#include "hub/store/store.h"
#include "hub/store/store_findings.h"

int fleet__silence_pass(struct store *st, const struct fleet_cfg *cfg, int64_t now, bool *changed)
{
    struct hub_node *all;
    size_t n;
    TRY(store_node_list(st, &all, &n));
    /* Judged among the nodes that are otherwise served: alive, enabled, not draining. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        enum hub_node_verdict v = hub_node_verdict(&all[i], now, cfg->dead_after);
        if (v == HUB_NODE_SERVED || v == HUB_NODE_SILENT)
            all[k++] = all[i];
    }
    int rc = 0;
    for (size_t i = 0; i < k && rc == 0; i++) {
        enum hub_silence_action act = hub_silence_decide(all, k, i, now, &cfg->silence);
        if (act == HUB_SILENCE_KEEP)
            continue;
        char details[160];
        int64_t quiet = all[i].handshake_at > 0 && all[i].handshake_at < now ? now - all[i].handshake_at : 0;
        snprintf(details, sizeof details, "{\"reason\":\"%s\",\"last_handshake\":%lld,\"quiet_sec\":%lld}",
                 hub_silence_action_name(act), (long long)all[i].handshake_at, (long long)quiet);
        bool did = false;
        rc = fleet__silence_set(st, all[i].id, act == HUB_SILENCE_MARK, act == HUB_SILENCE_RETRY,
                                hub_silence_action_name(act), details, now, &did);
        if (rc < 0 || !did)
            continue;
        *changed = true;
        if (act == HUB_SILENCE_MARK)
            log_warn("fleet", 0, "node_clients_silent", LF_INT("node", all[i].id), LF_STR("name", all[i].name),
                     LF_INT("quiet_sec", quiet));
        else
            log_info("fleet", 0, "node_clients_back", LF_INT("node", all[i].id), LF_STR("name", all[i].name),
                     LF_STR("reason", hub_silence_action_name(act)));
    }
    free(all);
    return rc;
}

int fleet__bt_pass(struct store *st, const struct fleet_bt_cfg *cfg, int64_t now, bool *changed)
{
    int released = 0;
    TRY(fleet__holds_release(st, now, &released));
    if (released > 0) {
        *changed = true;
        log_info("fleet", 0, "holds_ended", LF_INT("users", released));
    }
    if (cfg->disable_after <= 0)
        return 0;
    struct store_signal_count *c;
    size_t n;
    TRY(store_bittorrent_since(st, now - cfg->disable_window, &c, &n));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (c[i].count < cfg->disable_after)
            continue;
        /* Attempts from before the user's last hold ended were paid for already: count anew. */
        struct fleet_hold h;
        int64_t attempts = c[i].count;
        int hr = fleet__hold_get(st, c[i].user_id, &h);
        if (hr < 0 && hr != ERR_NOT_FOUND) {
            rc = hr;
            break;
        }
        if (hr == 0 && h.released_at == 0)
            continue; /* held now */
        if (hr == 0 && h.released_at > now - cfg->disable_window) {
            struct store_signal_count *since;
            size_t ns;
            attempts = 0;
            if ((rc = store_bittorrent_since(st, h.released_at + 1, &since, &ns)) < 0)
                break;
            for (size_t j = 0; j < ns; j++)
                if (since[j].user_id == c[i].user_id)
                    attempts = since[j].count;
            free(since);
            if (attempts < cfg->disable_after)
                continue;
        }
        bool held = false;
        rc = fleet__hold_start(st, c[i].user_id, "bittorrent", attempts, now + cfg->disable_sec, now, &held);
        if (rc == 0 && held) {
            *changed = true;
            log_warn("fleet", 0, "user_held", LF_INT("user", c[i].user_id), LF_STR("reason", "bittorrent"),
                     LF_INT("attempts", attempts), LF_INT("seconds", cfg->disable_sec));
        }
    }
    free(c);
    return rc;
}
