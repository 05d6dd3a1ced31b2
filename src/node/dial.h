/* Outbound TCP dialing for the node: resolve (node/dns.h), apply the destination policy,
 * order the addresses, then nonblocking connects one address after another until one succeeds,
 * all within one overall deadline.
 *
 * Destination policy (unless allow_private): refuse every address that is not public
 * (loopback, private, CGNAT, link-local, unspecified, multicast, reserved: net/sock.h
 * classes) and the node's own interface addresses (node_local_addrs), so clients cannot reach
 * the operator's network or the node's own services (SSRF). Refused addresses are never
 * connected to; if all are refused the dial fails with NODE_DIAL_REFUSED. Dials to the
 * operator-configured REALITY target pass NODE_DIAL_TRUSTED and skip the policy.
 *
 * The node's own listeners (inbounds, adminListen, metricsListen, a local hub) are refused
 * whatever allow_private says: an address that reaches this host (loopback, unspecified, one
 * of `own`, or their v4-mapped forms) on one of `own_ports` is never dialed. The check runs on
 * the resolved address, so every spelling of the host (names, ::ffff:, 0.0.0.0, 127.x, numeric
 * forms a resolver accepts) is covered. */
#ifndef VEIL_NODE_DIAL_H
#define VEIL_NODE_DIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/loop.h"
#include "net/sock.h"
#include "nodecfg/config.h"
#include "node/dns.h"

struct node_dialer;
struct node_dial;

struct node_dialer_opts {
    bool allow_private;
    uint32_t timeout_ms;         /* whole dial: DNS + connects; 0 = 10000 */
    enum node_dial_order order;  /* node_cfg.dial_order */
    const struct sock_addr *own; /* the node's own addresses (copied); may be NULL */
    size_t n_own;
    const uint16_t *own_ports; /* ports of the node's own listeners (copied); may be NULL */
    size_t n_own_ports;
    const uint16_t *blocked_ports; /* veil.blockedPorts (copied, at most NODE_BLOCKED_PORTS_MAX) */
    size_t n_blocked_ports;
};

/* The TCP ports the node itself listens on for cfg (inbounds, adminListen, metricsListen, the
 * hub URL's port): at most cap, returns how many. */
size_t node_dial_own_ports(const struct node_cfg *cfg, uint16_t *out, size_t cap);

enum node_dial_result {
    NODE_DIAL_OK = 0,
    NODE_DIAL_DNS_FAILED,     /* err: ERR_NOT_FOUND, ERR_TIMEOUT, ERR_IO, ... */
    NODE_DIAL_REFUSED,        /* every address is forbidden by the policy; err = ERR_AUTH */
    NODE_DIAL_CONNECT_FAILED, /* every address failed; err: -errno of the last attempt */
    NODE_DIAL_TIMEOUT,        /* the overall deadline passed; err = ERR_TIMEOUT */
    NODE_DIAL__COUNT,         /* sentinel */
};

enum node_dial_flags {
    NODE_DIAL_DEFAULT = 0,
    NODE_DIAL_TRUSTED = 1u << 0, /* operator-configured destination: no policy check */
};

/* Called exactly once per dial that was not cancelled, on the loop thread, never from inside
 * node_dial_start(). On NODE_DIAL_OK `fd` is a connected nonblocking socket now owned by the
 * callee, and `peer` the address it is connected to; otherwise fd is -1 and peer is the last
 * address tried (or NULL). The dial handle is gone when this runs. */
typedef void node_dial_cb(void *arg, enum node_dial_result res, int err, int fd, const struct sock_addr *peer);

struct node_dialer *node_dialer_new(struct loop *loop, struct node_dns *dns, const struct node_dialer_opts *o);
/* Cancels pending dials (no callbacks, fds closed). NULL is a no-op. Not from a dial callback. */
void node_dialer_free(struct node_dialer *d);

/* Starts dialing host (name or IP literal) on port (1..65535). *out (may be NULL) receives a
 * handle valid until the callback or node_dial_cancel(). 0, ERR_MALFORMED (empty host, port
 * 0), ERR_AUTH (a blocked port, veil.blockedPorts, unless NODE_DIAL_TRUSTED), ERR_NOMEM. */
int node_dial_start(struct node_dialer *d, const char *host, uint16_t port, unsigned flags, node_dial_cb *cb, void *arg,
                    struct node_dial **out);
/* Stops a pending dial: no callback, any socket in progress is closed. */
void node_dial_cancel(struct node_dial *dl);

/* The policy decision for one address (ignores the port). *cls receives its class. */
bool node_dial_allowed(const struct node_dialer *d, const struct sock_addr *a, enum sock_addr_class *cls);
/* true when a (with its port) is one of the node's own listeners (see above). */
bool node_dial_is_own_listener(const struct node_dialer *d, const struct sock_addr *a);
/* Reload: new allowPrivateDestinations, dial timeout (0 = 10000) and order for dials started
 * from now on. Loop thread. */
void node_dialer_set_policy(struct node_dialer *d, bool allow_private, uint32_t timeout_ms, enum node_dial_order order);

/* veil.blockedPorts: destination ports no tunnel may reach (TCP dials, and UDP destinations
 * checked by node/udp.c). Reload: for dials started from now on. Loop thread. */
void node_dialer_set_blocked_ports(struct node_dialer *d, const uint16_t *ports, size_t n);
bool node_dial_port_blocked(const struct node_dialer *d, uint16_t port);

/* The host's interface addresses (getifaddrs), malloc'd; caller frees *out. 0 or -errno. */
int node_local_addrs(struct sock_addr **out, size_t *n);

const char *node_dial_result_str(enum node_dial_result r);

/* Dials in flight (tests, metrics). */
size_t node_dialer_pending(const struct node_dialer *d);

#endif
