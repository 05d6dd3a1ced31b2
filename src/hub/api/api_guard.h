/* Connection guard of the hub's HTTP server: keeps slow or idle clients from taking every
 * connection slot (slowloris). Three rules, enforced around libmicrohttpd:
 *   - per-IP cap: a client address may hold at most per_ip open connections (refused at
 *     accept); trusted proxies are exempt (all their clients share their address);
 *   - whole-request deadline: a request must arrive complete (request line, headers and body)
 *     within request_timeout seconds of its first byte being awaited, however steadily it
 *     trickles; the idle time before a keep-alive request counts too;
 *   - reserve: when fewer than `reserve` slots are free, the oldest unfinished requests are
 *     closed at once, so a health check or a node sync, which complete in milliseconds, always
 *     finds a slot (keep-alive connections waiting for their next request count as unfinished).
 * Closing is shutdown(2) of the socket; libmicrohttpd then sees EOF and frees the connection. */
#ifndef VEIL_HUB_API_GUARD_H
#define VEIL_HUB_API_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "hub/api/client_ip.h"

struct api_conn_limits {
    unsigned max_connections; /* 0 -> 1024 */
    unsigned per_ip;          /* 0 -> 256 */
    unsigned reserve;         /* 0 -> max_connections / 8 */
    unsigned request_timeout; /* seconds; 0 -> 30 */
    unsigned idle_timeout;    /* seconds without any byte either way; 0 -> 15 */
};

/* The limits with defaults filled in. */
struct api_conn_limits api_conn_limits_effective(const struct api_conn_limits *in);

struct api_guard;
struct MHD_Connection;

/* Starts the guard (and its watchdog thread). trusted (n blocks) must outlive it. */
int api_guard_start(const struct api_conn_limits *lim, const struct client_ip_net *trusted, size_t n,
                    struct api_guard **out);
/* Stops the watchdog and frees; call after the HTTP server stopped. NULL-safe. */
void api_guard_stop(struct api_guard *g);

/* Accept policy: false when addr already holds its share of connections. */
bool api_guard_accept(struct api_guard *g, const struct sockaddr *addr, socklen_t len);
/* Connection life: opened (state in *socket_context), the current request fully received (its
 * deadline stops), the request answered (the next one's deadline starts), closed. */
void api_guard_opened(struct api_guard *g, struct MHD_Connection *conn, void **socket_context);
void api_guard_request_received(struct api_guard *g, struct MHD_Connection *conn);
void api_guard_request_finished(struct api_guard *g, struct MHD_Connection *conn);
void api_guard_closed(struct api_guard *g, void **socket_context);

#endif
