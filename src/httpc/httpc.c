#include "httpc/httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/secure.h"
#include "core/version.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;

static void init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    struct httpc_resp *r;
    size_t max;
    size_t cap;
    bool too_long, nomem, cancelled;
    const struct httpc_req *req;
};

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    struct sink *s = arg;
    if (s->req->cancel(s->req->cancel_arg)) {
        s->cancelled = true;
        return 1;
    }
    return 0;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t k = sz * n;
    if (k > s->max - s->r->body_len) {
        s->too_long = true;
        return 0; /* aborts the transfer */
    }
    if (s->r->body_len + k + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->r->body_len + k + 1)
            cap *= 2;
        char *b = realloc(s->r->body, cap);
        if (b == NULL) {
            s->nomem = true;
            return 0;
        }
        s->r->body = b;
        s->cap = cap;
    }
    memcpy(s->r->body + s->r->body_len, p, k);
    s->r->body_len += k;
    s->r->body[s->r->body_len] = '\0';
    return k;
}

static char *trimmed(const char *p, size_t n)
{
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    return strndup(p, n);
}

/* Header lines of the final answer only: a new status line (after 100 Continue) starts over. */
static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct sink *s = arg;
    struct httpc_resp *r = s->r;
    size_t k = sz * n;
    if (k >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        for (size_t i = 0; i < r->n_headers; i++) {
            free(r->headers[i].name);
            free(r->headers[i].value);
        }
        r->n_headers = 0;
        return k;
    }
    const char *colon = memchr(p, ':', k);
    if (colon == NULL || r->n_headers >= HTTPC_HEADERS_MAX)
        return k;
    if (r->headers == NULL && (r->headers = calloc(HTTPC_HEADERS_MAX, sizeof *r->headers)) == NULL) {
        s->nomem = true;
        return 0;
    }
    char *name = trimmed(p, (size_t)(colon - p)), *value = trimmed(colon + 1, k - (size_t)(colon - p) - 1);
    if (name == NULL || value == NULL) {
        free(name);
        free(value);
        s->nomem = true;
        return 0;
    }
    r->headers[r->n_headers++] = (struct httpc_header){name, value};
    return k;
}

static bool url_ok(const char *url)
{
    return url != NULL && (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0);
}

static int map_curl(CURLcode cc, const struct sink *s)
{
    if (s->nomem)
        return ERR_NOMEM;
    if (s->cancelled)
        return ERR_CLOSED;
    if (s->too_long)
        return ERR_TOO_LONG;
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return ERR_TIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        return ERR_NOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return ERR_MALFORMED;
    case CURLE_FILESIZE_EXCEEDED:
        return ERR_TOO_LONG;
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        return ERR_AUTH;
    default:
        return ERR_IO;
    }
}

int httpc_do(const struct httpc_req *req, struct httpc_resp *out)
{
    memset(out, 0, sizeof *out);
    if (req == NULL || !url_ok(req->url) || (req->body == NULL && req->body_len > 0))
        return ERR_MALFORMED;
    pthread_once(&init_once, init);
    if (init_rc != CURLE_OK)
        return ERR_IO;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return ERR_NOMEM;
    struct curl_slist *hdrs = NULL;
    int rc = 0;
    char line[256];
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL && rc == 0; i++) {
        struct curl_slist *t = curl_slist_append(hdrs, req->headers[i]);
        if (t == NULL)
            rc = ERR_NOMEM;
        hdrs = t ? t : hdrs;
    }
    if (rc == 0 && req->content_type != NULL) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        struct curl_slist *t = curl_slist_append(hdrs, line);
        rc = t ? 0 : ERR_NOMEM;
        hdrs = t ? t : hdrs;
    }
    if (rc == 0) {
        /* No "Expect: 100-continue" round trip for bodies over 1 KiB. */
        struct curl_slist *t = curl_slist_append(hdrs, "Expect:");
        rc = t ? 0 : ERR_NOMEM;
        hdrs = t ? t : hdrs;
    }
    if (rc < 0) {
        for (struct curl_slist *h = hdrs; h != NULL; h = h->next)
            secure_wipe(h->data, strlen(h->data));
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        return rc;
    }
    struct sink s = {.r = out, .max = req->max_response ? req->max_response : HTTPC_MAX_RESPONSE_DEFAULT, .req = req};
    const char *method = req->method ? req->method : (req->body ? "POST" : "GET");
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms ? req->timeout_ms : HTTPC_TIMEOUT_MS_DEFAULT));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(req->connect_timeout_ms ? req->connect_timeout_ms : HTTPC_CONNECT_TIMEOUT_MS_DEFAULT));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s.max);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, req->user_agent ? req->user_agent : "veil/" VEIL_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    if (req->cancel != NULL) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s);
    }
    if (req->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
    if (req->pin != NULL) {
        curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, req->pin);
        if (req->ca_file == NULL) { /* checked even so: curl compares the key before any byte is sent */
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }
    if (req->cert_file != NULL)
        curl_easy_setopt(c, CURLOPT_SSLCERT, req->cert_file);
    if (req->key_file != NULL)
        curl_easy_setopt(c, CURLOPT_SSLKEY, req->key_file);
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (req->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK && !s.nomem && !s.too_long && !s.cancelled) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        if (out->body == NULL && (out->body = calloc(1, 1)) == NULL)
            rc = ERR_NOMEM;
    } else {
        rc = map_curl(cc, &s);
    }
    for (struct curl_slist *h = hdrs; h != NULL; h = h->next)
        secure_wipe(h->data, strlen(h->data));
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    if (rc < 0) {
        httpc_resp_dispose(out);
        if (rc == ERR_TOO_LONG)
            snprintf(out->error, sizeof out->error, "response larger than %zu bytes", s.max);
        else if (s.cancelled)
            snprintf(out->error, sizeof out->error, "cancelled");
        else
            snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    return rc;
}

int httpc_get(const char *url, const char *const *headers, struct httpc_resp *out)
{
    return httpc_do(&(struct httpc_req){.url = url, .headers = headers}, out);
}

int httpc_post_json(const char *url, const char *const *headers, const char *json, struct httpc_resp *out)
{
    if (json == NULL) {
        memset(out, 0, sizeof *out);
        return ERR_MALFORMED;
    }
    return httpc_do(&(struct httpc_req){.method = "POST",
                                        .url = url,
                                        .headers = headers,
                                        .body = json,
                                        .body_len = strlen(json),
                                        .content_type = "application/json"},
                    out);
}

int httpc_post_form(const char *url, const char *const *headers, const char *const *kv, struct httpc_resp *out)
{
    char *form = NULL;
    memset(out, 0, sizeof *out);
    TRY(httpc_form_encode(kv, &form));
    int rc = httpc_do(&(struct httpc_req){.method = "POST",
                                          .url = url,
                                          .headers = headers,
                                          .body = form,
                                          .body_len = strlen(form),
                                          .content_type = "application/x-www-form-urlencoded"},
                      out);
    free(form);
    return rc;
}

/* Unreserved characters stay, space is '+', everything else %XX (WHATWG urlencoded). */
static size_t encode(const char *s, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '.' || *p == '_' || *p == '*') {
            if (out)
                out[n] = (char)*p;
            n++;
        } else if (*p == ' ') {
            if (out)
                out[n] = '+';
            n++;
        } else {
            if (out) {
                out[n] = '%';
                out[n + 1] = hex[*p >> 4];
                out[n + 2] = hex[*p & 15];
            }
            n += 3;
        }
    }
    return n;
}

int httpc_form_encode(const char *const *kv, char **out)
{
    *out = NULL;
    if (kv == NULL)
        return ERR_MALFORMED;
    size_t len = 0, i = 0;
    for (; kv[i] != NULL; i += 2) {
        if (kv[i + 1] == NULL)
            return ERR_MALFORMED; /* a name without a value */
        len += encode(kv[i], NULL) + encode(kv[i + 1], NULL) + 2;
    }
    char *s = malloc(len + 1);
    if (s == NULL)
        return ERR_NOMEM;
    size_t n = 0;
    for (size_t j = 0; j < i; j += 2) {
        if (j > 0)
            s[n++] = '&';
        n += encode(kv[j], s + n);
        s[n++] = '=';
        n += encode(kv[j + 1], s + n);
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

const char *httpc_resp_header(const struct httpc_resp *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void httpc_resp_dispose(struct httpc_resp *r)
{
    free(r->body);
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    memset(r, 0, sizeof *r);
}
