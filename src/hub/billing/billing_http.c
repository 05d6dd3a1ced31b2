/* The default transport to providers: the hub's outbound HTTP client (httpc), blocking with
 * short timeouts (callers are API handlers and the reconciliation job, never an event loop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/enc.h"
#include "core/err.h"
#include "core/secure.h"
#include "httpc/httpc.h"
#include "hub/billing/billing_int.h"

#define HDRS_MAX 8

static int httpc_exchange(const struct billing_http_req *req, struct billing_http_resp *resp)
{
    const char *hdrs[HDRS_MAX + 2];
    size_t n = 0;
    for (; req->headers != NULL && req->headers[n] != NULL && n < HDRS_MAX; n++)
        hdrs[n] = req->headers[n];
    char auth[512];
    if (req->userpwd != NULL) {
        size_t len = strlen(req->userpwd);
        if (b64_encoded_size(len, B64_STD) + 24 > sizeof auth)
            return ERR_TOO_LONG;
        size_t o = (size_t)snprintf(auth, sizeof auth, "Authorization: Basic ");
        o += b64_encode(auth + o, (const uint8_t *)req->userpwd, len, B64_STD);
        auth[o] = '\0';
        hdrs[n++] = auth;
    }
    hdrs[n] = NULL;
    struct httpc_req hr = {.method = req->method,
                           .url = req->url,
                           .headers = hdrs,
                           .body = req->body,
                           .body_len = req->body_len,
                           .timeout_ms = 15000};
    struct httpc_resp r;
    int rc = httpc_do(&hr, &r);
    secure_wipe(auth, sizeof auth);
    if (rc < 0) {
        httpc_resp_dispose(&r);
        return rc;
    }
    resp->status = (int)r.status;
    resp->body = r.body;
    resp->body_len = r.body_len;
    r.body = NULL;
    httpc_resp_dispose(&r);
    return 0;
}

int billing__http(struct billing *b, const struct billing_http_req *req, struct billing_http_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    int rc = b->http != NULL ? b->http(b->http_arg, req, resp) : httpc_exchange(req, resp);
    if (rc == 0 && resp->body == NULL) {
        resp->body = calloc(1, 1);
        if (resp->body == NULL)
            return ERR_NOMEM;
    }
    return rc;
}
