/* Destination ports no tunnel may reach (config veil.blockedPorts, default 25: SMTP spam sent
 * through customers' tunnels gets the node's address on mail blocklists). Judged before the
 * node dials a destination: a TCP request, a Mux TCP sub-connection, a UDP / XUDP datagram.
 * A refusal is counted by port for /metrics, logged (rate-limited: the client chooses how often)
 * and, for port 25, booked as an SMTP attempt of the user (sent to the hub in the usage push,
 * node/usage.h; the hub's analysis rule "smtp" reads it). */
#ifndef VEIL_NODE_PORT_GUARD_H
#define VEIL_NODE_PORT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct node_dialer;
struct node_usage;

#define NODE_PORT_SMTP 25

/* The flow's owner, as the tunnel knows it. */
struct node_port_flow {
    struct node_usage *usage; /* NULL: no per-user booking */
    const uint8_t *user_key;  /* 16-byte accounting key (node/usage.h) */
    uint64_t hub_id;          /* 0: not a hub user */
    uint64_t conn_id;
    const char *network; /* "tcp", "mux" or "udp", for the log line */
};

/* true when `port` is blocked on dialer d (node_dial_port_blocked): the caller refuses the
 * flow; the refusal is already counted, booked and logged. */
bool node_port_guard(const struct node_dialer *d, const struct node_port_flow *f, uint16_t port);

/* Refusals since start, by port: fills up to cap (port, count) pairs, returns how many. */
size_t node_port_refusals(uint16_t *ports, uint64_t *counts, size_t cap);

#endif
