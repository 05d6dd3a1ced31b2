/* One customer connection through veil-node, from accept to close (STYLE.md §7):
 *
 *   PROXY_HEADER -> PEEK_HELLO -> {TARGET_FLIGHT -> TLS_HANDSHAKE -> VLESS_HEADER -> DIALING
 *                                  -> RELAY | FALLBACK_RELAY} -> closed
 *
 * PEEK_HELLO mirrors every client byte to the REALITY target while the ClientHello arrives
 * (spec/reality.md §4.1). Unauthenticated connections become a transparent relay to the
 * target; authenticated ones get a TLS 1.3 flight shaped like the target's, then VLESS (+ Vision)
 * to the requested destination. The connection state lives in the session; the protocol state
 * lives in the sans-IO engines (reality, tls13, vless). */
#ifndef VEIL_NODE_SESSION_H
#define VEIL_NODE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/sock.h"

struct node_worker;

enum node_session_state {
    NODE_SS_PROXY_HEADER = 0, /* waiting for HAProxy's PROXY header (acceptProxyProtocol) */
    NODE_SS_PEEK_HELLO,       /* mirroring to the target, reading the ClientHello */
    NODE_SS_WAIT_TARGET,      /* [transient] decision taken, target connection not up yet */
    NODE_SS_TARGET_FLIGHT,    /* authenticated: learning the target's server flight */
    NODE_SS_TLS_HANDSHAKE,    /* our flight sent, waiting for the client's Finished */
    NODE_SS_VLESS_HEADER,     /* reading the VLESS request */
    NODE_SS_DIALING,          /* connecting to the destination */
    NODE_SS_RELAY,            /* tunnel up */
    NODE_SS_FALLBACK_RELAY,   /* transparent relay to the target */
    NODE_SS_CLOSED,
    NODE_SS__COUNT, /* sentinel */
};

/* Why a session ended; a metric label and a log field. */
enum node_close_reason {
    NODE_CR_DONE = 0,      /* relay finished normally */
    NODE_CR_FALLBACK_DONE, /* fallback relay finished */
    NODE_CR_TARGET_DIAL,   /* could not reach the REALITY target */
    NODE_CR_TARGET_FLIGHT, /* target's flight unusable after its ServerHello was accepted */
    NODE_CR_TLS,           /* TLS handshake failed */
    NODE_CR_VLESS,         /* bad VLESS request (unknown user, malformed) */
    NODE_CR_FLOW,          /* flow / command not allowed for the user */
    NODE_CR_DIAL,          /* destination unreachable or refused by policy */
    NODE_CR_TIMEOUT,       /* handshake deadline */
    NODE_CR_PROXY_HEADER,  /* bad PROXY protocol header */
    NODE_CR_IO,            /* socket error, peer reset */
    NODE_CR_NOMEM,
    NODE_CR_SHUTDOWN,      /* node stopping */
    NODE_CR_LIMIT,         /* refused by a limit (node/limits.h) */
    NODE_CR_FD_RESERVE,    /* unauthenticated, shed to keep file descriptors for tunnels */
    NODE_CR_CLIENT_CLOSED, /* the client closed cleanly (EOF) before its tunnel was up */
    NODE_CR_BITTORRENT,    /* a BitTorrent flow refused (veil.blockBitTorrent, node/bt_guard.h) */
    NODE_CR_PORT_BLOCKED,  /* destination port refused (veil.blockedPorts, node/port_guard.h) */
    NODE_CR__COUNT,        /* sentinel */
};

const char *node_session_state_str(enum node_session_state s);
const char *node_close_reason_str(enum node_close_reason r);

/* Takes ownership of an accepted, nonblocking client socket of inbound number `inbound`.
 * 0, or a negative error (the session is already closed and the fd with it). */
int node_session_start(struct node_worker *w, size_t inbound, int fd, const struct sock_addr *peer);

/* File descriptors are short (node/worker.c): closes the worker's oldest session that has not
 * authenticated, a fallback relay to the target if there is one, else one still in its
 * handshake. false when every session is an authenticated tunnel. */
bool node_session_shed_unauthenticated(struct node_worker *w);

/* Idle tunnels of the worker that moved no byte for `quiet_ms` give their AES-GCM contexts
 * back (rebuilt on their next record); the worker calls it every second. */
void node_session_park_quiet(struct node_worker *w, uint64_t quiet_ms);

/* Closes every live session of the worker (node stopping). */
void node_session_close_all(struct node_worker *w);

#endif
