/* What the node does with a tunnel flow whose first bytes are BitTorrent (node/bt_detect.h,
 * config veil.blockBitTorrent): counts it by action and kind for /metrics, books an attempt to
 * the user (sent to the hub in the usage push, node/usage.h), logs it (rate-limited) and says
 * whether the flow must be refused. */
#ifndef VEIL_NODE_BT_GUARD_H
#define VEIL_NODE_BT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/bt_detect.h"
#include "nodecfg/config.h"

struct node_usage;

/* The flow's owner, as the tunnel knows it. */
struct node_bt_flow {
    enum node_bt_mode mode;
    struct node_usage *usage; /* NULL: no per-user booking */
    const uint8_t *user_key;  /* 16-byte accounting key (node/usage.h) */
    uint64_t hub_id;          /* 0: not a hub user */
    uint64_t conn_id;
};

/* Judges one flow: TCP (tcp = true: first client bytes) or one UDP datagram. Returns true when
 * the flow must be refused (mode block and BitTorrent recognised). Mode off: never inspects. */
bool node_bt_guard(const struct node_bt_flow *f, bool tcp, const uint8_t *p, size_t n);

/* Flows recognised since start, by action (blocked or only logged) and kind. */
uint64_t node_bt_total(bool blocked, enum node_bt_kind k);

#endif
