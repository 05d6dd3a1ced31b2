/* Fuzz target: the loopback HTTP request parser of the node's /metrics and admin endpoints.
 * Invariants: a complete request lies within the input, its body within the request, its
 * strings are NUL-terminated within their buffers, and any prefix of a complete request is
 * ERR_NEED_MORE or the same verdict (never a crash). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "node/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct node_http_req req;
    int rc = node_http_parse(data, size, &req);
    if (rc == 0) {
        if (req.total_len > size || req.body_len > NODE_HTTP_BODY_MAX)
            abort();
        if (req.body_len && (req.body < data || req.body + req.body_len > data + req.total_len))
            abort();
        if (strlen(req.method) >= sizeof(req.method) || strlen(req.path) > NODE_HTTP_PATH_MAX ||
            strlen(req.authorization) > NODE_HTTP_AUTH_MAX || req.path[0] != '/')
            abort();
        /* the same request with one byte missing is incomplete */
        struct node_http_req again;
        if (node_http_parse(data, req.total_len - 1, &again) == 0)
            abort();
    } else if (rc != ERR_NEED_MORE && rc != ERR_MALFORMED && rc != ERR_TOO_LONG && rc != ERR_UNSUPPORTED) {
        abort();
    }
    return 0;
}
