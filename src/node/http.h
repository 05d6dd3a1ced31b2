/* A minimal HTTP/1.1 server for the node's loopback endpoints (/metrics, the local admin API):
 * one request per connection (the response carries "Connection: close"), bodies by
 * Content-Length only, bounded sizes, 3 s between reads and 10 s for the whole exchange, 256
 * connections (64 per client address); a full pool sheds its oldest connection that has not
 * sent a complete request. Not for the Internet: bind it
 * to loopback (veil.metricsListen / veil.adminListen).
 *
 * The request parser is sans-IO (node_http_parse) and fuzzed; the server runs on a loop. */
#ifndef VEIL_NODE_HTTP_H
#define VEIL_NODE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/loop.h"
#include "net/sock.h"

#define NODE_HTTP_HEAD_MAX 8192
#define NODE_HTTP_BODY_MAX 65536
#define NODE_HTTP_PATH_MAX 1024
#define NODE_HTTP_AUTH_MAX 256

struct node_http_req {
    char method[16];
    char path[NODE_HTTP_PATH_MAX + 1];          /* request target as sent, query included */
    char authorization[NODE_HTTP_AUTH_MAX + 1]; /* "" when absent */
    const uint8_t *body;                        /* borrowed from the parser input */
    size_t body_len;
    size_t total_len; /* head + body bytes */
};

/* Parses one request from the start of p (everything received so far). Returns 0 when the head
 * and body are complete, ERR_NEED_MORE, ERR_MALFORMED (not HTTP/1.x, bad header line, bad or
 * repeated Content-Length), ERR_TOO_LONG (head, path or body over the limits) or
 * ERR_UNSUPPORTED (Transfer-Encoding, Expect). */
int node_http_parse(const uint8_t *p, size_t len, struct node_http_req *req);

/* The handler fills the status (default 200), content type (default "text/plain") and body. */
struct node_http_resp {
    int status;
    const char *content_type; /* static string */
    struct buf body;          /* growable, initialised empty by the server */
};
typedef void node_http_handler(void *arg, const struct node_http_req *req, struct node_http_resp *resp);

/* Appends a complete response (status line, Content-Type, Content-Length, Connection: close).
 * ERR_NOMEM. */
int node_http_write_response(struct buf *out, const struct node_http_resp *resp);
const char *node_http_reason(int status);

struct node_http_server;

/* Listens on addr and serves requests on `loop` with `h` (called on the loop thread).
 * NULL on failure with *err set to -errno or ERR_NOMEM. */
struct node_http_server *node_http_server_new(struct loop *loop, const struct sock_addr *addr, node_http_handler *h,
                                              void *arg, int *err);
/* Closes the listener and every connection. NULL is a no-op. Not from inside the handler. */
void node_http_server_free(struct node_http_server *s);
/* The bound address (port chosen by the kernel when 0 was asked). */
int node_http_server_addr(const struct node_http_server *s, struct sock_addr *a);

#endif
