/* UDP through veil-node: an authenticated connection whose VLESS request is UDP (command 2,
 * spec/vless.md §9) or Mux (command 3 carrying XUDP, spec/mux-xudp.md) is handed over here
 * after the header. The tunnel side stays the tunnel transport (TLS, Vision framing for Mux);
 * the destination side is NAT-style: one unconnected UDP socket per association (the single
 * destination of command 2, or one Mux session), full cone, replies labelled with their source
 * (Mux Keep frames; a domain destination's replies carry the domain).
 *
 * Same destination policy as TCP (node_dial_allowed on every address, before any datagram
 * leaves), names resolved through node_dns. Bounded queues everywhere: datagrams are dropped
 * rather than buffered without bound. Associations idle for udp_idle_ms are closed (Mux: an End
 * frame), and the tunnel ends once it has had no association for that long (command 2: when its
 * only association goes idle). A draining node ends its UDP tunnels at the next tick.
 *
 * XUDP GlobalID (spec/mux-xudp.md §6), keyed by (user, GlobalID) per worker: a New whose GlobalID
 * names a live association moves it here (quietly detached from its old connection); one that
 * names an association kept after its session ended (End, connection loss: kept 60 s) takes it
 * back. Either way the client keeps its NAT port toward the destinations.
 *
 * Mux TCP sub-connections: a Vision user's TCP New closes the connection (spec/mux-xudp.md §4);
 * anyone else's are served by node/mux.h on this tunnel (same destination policy as plain TCP,
 * bytes booked to the user with the datagrams). */
#ifndef VEIL_NODE_UDP_H
#define VEIL_NODE_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/relay.h"
#include "node/session.h"
#include "nodecfg/config.h"
#include "tls13/tls13.h"
#include "vless/addr.h"
#include "vless/vless.h"

struct node_udp;
struct node_worker;

/* Called once when the tunnel ends by itself (never after node_udp_free, never from inside
 * node_udp_start). The owner calls node_udp_free (from here is fine). */
typedef void node_udp_done_cb(void *arg, enum node_close_reason why, int err);

struct node_udp_params {
    struct node_worker *w;
    uint64_t conn_id;
    int fd;                 /* the client socket: borrowed, the owner closes it after node_udp_free */
    struct tls13_conn *tls; /* established; borrowed */
    bool vision;
    bool mux_udp_only;             /* Vision user on Mux: a TCP New closes the connection */
    const uint8_t *uuid;           /* 16 bytes, as the client sent it (Vision frames) */
    const uint8_t *user_key;       /* 16 bytes: the user's lookup key (GlobalID associations are per user) */
    uint64_t hub_id;               /* the user's id at the hub (usage reports); 0 = a local user */
    enum vless_cmd cmd;            /* VLESS_CMD_UDP or VLESS_CMD_MUX */
    const struct vless_addr *dest; /* command 2: the destination */
    uint8_t version;               /* for the response header */
    const uint8_t *cin_left;       /* ciphertext read but not processed */
    size_t cin_len;
    const uint8_t *plain_left; /* plaintext after the VLESS header */
    size_t plain_len;
    const uint8_t *out_left; /* bytes already due to the client (e.g. a KeyUpdate answer) */
    size_t out_len;
    uint32_t idle_ms;     /* 0 = 60000 */
    uint32_t tcp_idle_ms; /* Mux TCP sub-connections (connIdle); 0 = 300000 */
    uint32_t report_ms;   /* book the bytes at least this often (veil.usageReportSec); 0 = by idle_ms */
    struct relay_shared_rate rate[RELAY_DIR__COUNT]; /* the user's speed limit for Mux TCP; take NULL: none */
    const char *access_user;   /* access log on: the user's email, logged per Mux session; NULL = off */
    enum node_bt_mode bt_mode; /* veil.blockBitTorrent (node/bt_guard.h) */
    node_udp_done_cb *on_done;
    void *arg;
};

/* Starts relaying on p->w's loop. 0, or ERR_NOMEM / -errno (nothing left registered; the
 * callback is not called). */
int node_udp_start(const struct node_udp_params *p, struct node_udp **out);
/* Stops everything (watchers, lookups) at once; the memory goes at the end of the loop
 * iteration. XUDP associations with a GlobalID stay with the worker for a minute, so the client's
 * next connection reuses their NAT socket (spec/mux-xudp.md §6); others are closed. Adds the byte
 * counters to the worker's stats. NULL is a no-op. */
void node_udp_free(struct node_udp *u);
/* Closes the worker's kept XUDP associations (node stopping, after every session closed). */
void node_udp_worker_close(struct node_worker *w);

#endif
