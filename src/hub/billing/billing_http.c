/* The default transport to providers: one blocking libcurl exchange with short timeouts (the
 * callers are API handlers and the reconciliation job, never the event loop). */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/billing/billing_int.h"

#define HTTP_RESP_MAX (1u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    char *p;
    size_t n;
    bool overflow;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (s->n + n > HTTP_RESP_MAX) {
        s->overflow = true;
        return 0;
    }
    char *q = realloc(s->p, s->n + n + 1);
    if (q == NULL)
        return 0;
    memcpy(q + s->n, data, n);
    s->p = q;
    s->n += n;
    s->p[s->n] = '\0';
    return n;
}

static int curl_exchange(const struct billing_http_req *req, struct billing_http_resp *resp)
{
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return ERR_NOMEM;
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
        hdrs = curl_slist_append(hdrs, req->headers[i]);
    struct sink s = {0};
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (req->userpwd != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, req->userpwd);
    }
    if (req->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK || s.overflow) {
        free(s.p);
        return cc == CURLE_OPERATION_TIMEDOUT ? ERR_TIMEOUT : ERR_IO;
    }
    resp->status = (int)status;
    resp->body = s.p;
    resp->body_len = s.n;
    return 0;
}

int billing__http(struct billing *b, const struct billing_http_req *req, struct billing_http_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    int rc = b->http != NULL ? b->http(b->http_arg, req, resp) : curl_exchange(req, resp);
    if (rc == 0 && resp->body == NULL) {
        resp->body = calloc(1, 1);
        if (resp->body == NULL)
            return ERR_NOMEM;
    }
    return rc;
}
