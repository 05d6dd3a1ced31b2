/* Mux.Cool TCP sub-connections of one Mux tunnel (VLESS command 3, spec/mux-xudp.md §4).
 *
 * node/udp.c owns the tunnel (transport, frame parser, the downlink frame queue and the UDP/XUDP
 * sessions) and hands every frame of a TCP sub-connection here: New (network TCP) dials the
 * destination through the worker's dialer, so each sub-connection gets exactly the destination
 * policy of a plain VLESS TCP request; Keep carries client bytes to it; End from the client ends
 * it. Destination bytes go back as Keep frames (option 0x01, at most 8 KiB of data each, as Xray
 * writes them); the end of a sub-connection is an End frame, with the error bit when it failed
 * (dial refused or failed, reset, idle).
 *
 * Only for users whose flow may open TCP sub-connections: a Vision user's TCP New closes the
 * whole connection (spec/vless.md §7), decided by node/udp.c before anything reaches this file.
 *
 * Backpressure, matching Xray's observable behaviour: Xray's Mux server copies each frame into
 * the sub-connection's bounded pipe and blocks reading the tunnel while that pipe is full, so a
 * slow destination stalls the other sub-connections' uplinks once its buffer is full, never
 * before. Here each sub-connection buffers at most NODE_MUX_SUB_BUF client bytes (plus the
 * frame that crossed it) not yet taken by its destination; while one is over (or all together
 * hold more than NODE_MUX_TUNNEL_BUF) node_mux_blocked() is true and the tunnel stops reading.
 * Downlinks are independent: a sub-connection's destination is read only while the tunnel's
 * downlink queue is under NODE_MUX_OUT_HIGH, one read per readiness event (round robin over the
 * loop), so a busy download cannot starve the others nor grow the queue without bound.
 *
 * Limits: at most NODE_MUX_SUBS live TCP sub-connections per tunnel (the top of Xray's documented
 * `mux.concurrency` range; a New beyond gets End with the error bit). Each sub-connection closes
 * after idle_ms without a byte either way (End with the error bit). The user's speed limit (the
 * tunnel's shared limiter) applies to every sub-connection, as to a plain TCP tunnel. Bytes each
 * way (application bytes: to and from the destinations) are added to the tunnel's counters, which
 * node/udp.c books to the user. */
#ifndef VEIL_NODE_MUX_H
#define VEIL_NODE_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/loop.h"
#include "net/relay.h"
#include "vless/mux.h"

#define NODE_MUX_SUBS 1024                /* live TCP sub-connections per tunnel */
#define NODE_MUX_SUB_BUF (512 * 1024)     /* Xray's default per-connection buffer (bufferSize 512 kB) */
#define NODE_MUX_TUNNEL_BUF (2048 * 1024) /* client bytes held for all sub-connections together */
#define NODE_MUX_OUT_HIGH (128 * 1024)    /* downlink queue above which destinations are not read */
#define NODE_MUX_OUT_LOW (32 * 1024)      /* ... and below which they are read again */
#define NODE_MUX_CHUNK 8192               /* data per downlink Keep frame (Xray's writer) */

struct node_dialer;
struct node_mux;

struct node_mux_cfg {
    struct loop *loop;
    struct node_dialer *dialer;                      /* dials with NODE_DIAL_DEFAULT: the destination policy */
    struct buf *out;                                 /* the tunnel's downlink plaintext: frames are appended here */
    uint64_t idle_ms;                                /* per sub-connection; 0 = 300000 (Xray's connIdle) */
    struct relay_shared_rate rate[RELAY_DIR__COUNT]; /* the user's speed limit; take == NULL: none */
    uint64_t *up, *down;                             /* the tunnel's byte counters (application bytes) */
    uint64_t conn_id;                                /* for log lines */
    const char *access_user;                         /* access log on: the user's email; NULL = off */
    const bool *refuse_new; /* while *refuse_new (node draining), a New gets End+error; may be NULL */
    /* Frames were appended to `out` outside node_mux_frame(): push them to the client. Runs from
     * a loop task, never from inside a node_mux_* call. */
    void (*on_output)(void *arg);
    /* node_mux_blocked() went from true to false: read the tunnel again. From a loop task. */
    void (*on_unblock)(void *arg);
    /* The first client bytes of a sub-connection (veil.blockBitTorrent): true refuses it with
     * End + error. May be NULL. Called from inside node_mux_frame(). */
    bool (*refuse_first)(void *arg, const uint8_t *p, size_t n);
    /* A New's destination port (veil.blockedPorts, node/port_guard.h): true refuses it with End
     * + error before any dial. May be NULL. Called from inside node_mux_frame(). */
    bool (*refuse_port)(void *arg, uint16_t port);
    void *arg;
};

/* A new engine (nothing registered until the first New). 0 or ERR_NOMEM. */
int node_mux_new(const struct node_mux_cfg *cfg, struct node_mux **out);
/* Closes every sub-connection at once (no frames), cancels dials and tasks; the memory goes at
 * the end of the loop iteration, so it may be called from any callback. NULL is a no-op. */
void node_mux_free(struct node_mux *m);

/* One frame from the client. Takes New with network TCP; Keep and End for the id of a live TCP
 * sub-connection. A New of another network for such an id ends that sub-connection quietly (the
 * id is reused) and is left to the caller. Returns 1 when the frame was handled here, 0 when it
 * is the caller's (UDP session, unknown id, KeepAlive), or a negative error that ends the
 * tunnel (ERR_NOMEM). Frames it answers (End) are appended to cfg.out: the caller pushes them. */
int node_mux_frame(struct node_mux *m, const struct vless_mux_frame *f);

/* True while the tunnel must not be read (a sub-connection's buffer is full, or the user's
 * speed limit holds the uplink). */
bool node_mux_blocked(const struct node_mux *m);
/* The caller pushed downlink frames out: call when buf_len(cfg.out) <= NODE_MUX_OUT_LOW, so
 * destinations paused by a full queue are read again. Cheap when none is paused. */
void node_mux_out_drained(struct node_mux *m);
/* TCP sub-connections still holding resources (live, or flushing their last client bytes). */
size_t node_mux_count(const struct node_mux *m);

#endif
