/* Test helper for hub API suites that need only a plain client: one request over libcurl on a
 * reusable handle (keep-alive), the status and the parsed JSON answer back. */
#ifndef VEIL_TEST_HUB_HTTP_H
#define VEIL_TEST_HUB_HTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hub_test_body {
    char *p;
    size_t n;
};

static inline size_t hub_test_on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct hub_test_body *b = arg;
    size_t k = sz * n;
    char *q = realloc(b->p, b->n + k + 1);
    if (q == NULL)
        return 0;
    memcpy(q + b->n, p, k);
    b->p = q;
    b->n += k;
    b->p[b->n] = '\0';
    return k;
}

/* METHOD base+path with an optional bearer token, JSON body and one extra header line. Returns
 * the HTTP status (0 when the request failed); *out (when not NULL) gets the parsed answer or
 * NULL. c is a handle from curl_easy_init, reused between calls. */
static inline long hub_test_http(CURL *c, const char *base, const char *method, const char *path, const char *token,
                                 const char *body, const char *extra, json_t **out)
{
    char url[512], auth[320];
    struct hub_test_body b = {0};
    struct curl_slist *h = NULL;
    snprintf(url, sizeof url, "%s%s", base, path);
    if (token != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    if (extra != NULL)
        h = curl_slist_append(h, extra);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hub_test_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    if (out != NULL)
        *out = b.n ? json_loadb(b.p, b.n, 0, NULL) : NULL;
    free(b.p);
    return status;
}

#endif
