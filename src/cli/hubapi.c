/* The admin commands' hub client (cli/hubapi.h): settings, one reused libcurl easy handle,
 * JSON bodies, and the API's error objects printed as "veil: <code>: <message>". */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "cli/hubapi.h"
#include "core/err.h"
#include "core/secure.h"
#include "core/version.h"

struct hubapi {
    CURL *h;
    char *base;  /* hub URL without trailing slashes */
    char *token; /* secret; wiped on close */
    char *cacert;
    long timeout_s;
};

void hubapi_opts_init(struct hubapi_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->timeout_s = HUBAPI_TIMEOUT_S;
}

int hubapi_opts_handle(struct hubapi_opts *o, int opt, const char *arg)
{
    uint64_t v;
    switch (opt) {
    case HUBAPI_OPT_HUB:
        o->url = arg;
        return 1;
    case HUBAPI_OPT_TOKEN:
        o->token = arg;
        return 1;
    case HUBAPI_OPT_CACERT:
        o->cacert = arg;
        return 1;
    case HUBAPI_OPT_TIMEOUT:
        if (hubapi_parse_uint(arg, 3600, &v) < 0 || v == 0) {
            fprintf(stderr, "veil: --timeout: expected 1..3600 seconds\n");
            return -1;
        }
        o->timeout_s = (long)v;
        return 1;
    case HUBAPI_OPT_INSECURE_HTTP:
        o->insecure_http = true;
        return 1;
    case HUBAPI_OPT_JSON:
        o->json = true;
        return 1;
    default:
        return 0;
    }
}

int hubapi_next_opt(int argc, char **argv, const struct option *lo, struct hubapi_opts *o, void (*usage)(FILE *),
                    int *exit_code)
{
    for (;;) {
        int c = getopt_long(argc, argv, "h", lo, NULL);
        if (c == -1)
            return -1;
        int r = hubapi_opts_handle(o, c, optarg);
        if (r > 0)
            continue;
        if (r < 0) {
            *exit_code = CLI_EXIT_USAGE;
            return HUBAPI_OPT_EXIT;
        }
        if (c == 'h') {
            usage(stdout);
            *exit_code = CLI_EXIT_OK;
            return HUBAPI_OPT_EXIT;
        }
        return c;
    }
}

int hubapi_open(struct hubapi **out, const struct hubapi_opts *o)
{
    *out = NULL;
    const char *url = o->url ? o->url : getenv("VEIL_HUB_URL");
    const char *token = o->token ? o->token : getenv("VEIL_HUB_TOKEN");
    if (url == NULL || *url == '\0') {
        fprintf(stderr, "veil: no hub URL: pass --hub URL or set VEIL_HUB_URL\n");
        return ERR_CONFIG;
    }
    if (token == NULL || *token == '\0') {
        fprintf(stderr, "veil: no admin token: set VEIL_HUB_TOKEN (or pass --token)\n");
        return ERR_CONFIG;
    }
    /* A header injection through the token would be ours to prevent, not curl's. */
    for (const char *p = token; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            fprintf(stderr, "veil: the admin token contains spaces or control characters\n");
            return ERR_CONFIG;
        }
    const char *why;
    int rc = hubapi_check_url(url, o->insecure_http, &why);
    if (rc < 0) {
        fprintf(stderr, "veil: hub URL: %s\n", why);
        return rc;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ERR_NOMEM;
    struct hubapi *api = calloc(1, sizeof(*api));
    if (api == NULL)
        return ERR_NOMEM;
    api->h = curl_easy_init();
    api->base = strdup(url);
    api->token = strdup(token);
    api->cacert = o->cacert ? strdup(o->cacert) : NULL;
    api->timeout_s = o->timeout_s > 0 ? o->timeout_s : HUBAPI_TIMEOUT_S;
    if (api->h == NULL || api->base == NULL || api->token == NULL || (o->cacert && api->cacert == NULL)) {
        hubapi_close(api);
        return ERR_NOMEM;
    }
    size_t n = strlen(api->base);
    while (n > 0 && api->base[n - 1] == '/')
        api->base[--n] = '\0';
    *out = api;
    return 0;
}

void hubapi_close(struct hubapi *api)
{
    if (api == NULL)
        return;
    if (api->token) {
        secure_wipe(api->token, strlen(api->token));
        free(api->token);
    }
    if (api->h)
        curl_easy_cleanup(api->h);
    free(api->base);
    free(api->cacert);
    free(api);
    curl_global_cleanup();
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t len = size * n;
    if (buf_len(b) + len > HUBAPI_BODY_MAX || buf_append(b, p, len) < 0)
        return 0; /* aborts the transfer */
    return len;
}

/* One request on the shared handle; *status is 0 on a transport error (already printed). */
static int perform(struct hubapi *api, const char *method, const char *path, const char *auth_hdr,
                   const char *user_agent, const char *body, struct buf *resp, long *status)
{
    *status = 0;
    size_t ulen = strlen(api->base) + strlen(path) + 1;
    char *url = malloc(ulen);
    if (url == NULL)
        return ERR_NOMEM;
    snprintf(url, ulen, "%s%s", api->base, path);

    struct curl_slist *hdrs = NULL, *tmp;
    int rc = ERR_NOMEM;
    if (auth_hdr && (tmp = curl_slist_append(hdrs, auth_hdr)) == NULL)
        goto out;
    hdrs = auth_hdr ? tmp : hdrs;
    if (body && (tmp = curl_slist_append(hdrs, "Content-Type: application/json; charset=utf-8")) == NULL)
        goto out;
    hdrs = body ? tmp : hdrs;
    /* The public /sub endpoints pick their format from Accept and User-Agent: leave Accept out. */
    if (auth_hdr && (tmp = curl_slist_append(hdrs, "Accept: application/json")) == NULL)
        goto out;
    hdrs = auth_hdr ? tmp : hdrs;

    CURL *h = api->h;
    curl_easy_reset(h); /* keeps the connection cache, drops the previous request's options */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, api->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, api->timeout_s < 10 ? api->timeout_s : 10L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* the token never follows a redirect */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    if (api->cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, api->cacert);
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        fprintf(stderr, "veil: cannot reach the hub at %s: %s\n", api->base, curl_easy_strerror(cc));
        rc = ERR_IO;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        rc = 0;
    }
out:
    for (struct curl_slist *s = hdrs; s; s = s->next)
        secure_wipe(s->data, strlen(s->data));
    curl_slist_free_all(hdrs);
    free(url);
    return rc;
}

/* Prints the API's error object, or the bare status when the body is not one. */
static void print_api_error(long status, const struct buf *resp)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)buf_data(resp), buf_len(resp), 0, &jerr);
    json_t *e = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code != NULL) {
        char c[64], m[512];
        hubapi_sanitize(code, c, sizeof(c));
        hubapi_sanitize(msg ? msg : "", m, sizeof(m));
        fprintf(stderr, "veil: %s: %s\n", c, m);
    } else {
        fprintf(stderr, "veil: the hub answered HTTP %ld\n", status);
    }
    json_decref(j);
}

int hubapi_call(struct hubapi *api, const char *method, const char *path, json_t *body, json_t **resp)
{
    *resp = NULL;
    char *text = NULL;
    if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
        return ERR_NOMEM;
    size_t alen = strlen(api->token) + 32;
    char *auth = malloc(alen);
    if (auth == NULL) {
        free(text);
        return ERR_NOMEM;
    }
    snprintf(auth, alen, "Authorization: Bearer %s", api->token);
    char ua[64];
    snprintf(ua, sizeof(ua), "veil-cli/%s", VEIL_VERSION);
    struct buf out;
    buf_init(&out);
    long status;
    int rc = perform(api, method, path, auth, ua, text, &out, &status);
    secure_wipe(auth, strlen(auth));
    free(auth);
    free(text);
    if (rc < 0)
        goto done;
    if (status < 200 || status > 299) {
        print_api_error(status, &out);
        rc = status == 404 ? ERR_NOT_FOUND : ERR_BAD_STATE;
        goto done;
    }
    if (buf_len(&out) > 0) {
        json_error_t jerr;
        *resp = json_loadb((const char *)buf_data(&out), buf_len(&out), 0, &jerr);
        if (*resp == NULL) {
            fprintf(stderr, "veil: the hub sent invalid JSON (HTTP %ld)\n", status);
            rc = ERR_MALFORMED;
        }
    }
done:
    buf_dispose(&out);
    return rc;
}

int hubapi_get_public(struct hubapi *api, const char *path, const char *user_agent, struct buf *out, long *status)
{
    return perform(api, "GET", path, NULL, user_agent, NULL, out, status);
}

void hubapi_print_json(const json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
}

int hubapi_exit_code(int rc)
{
    if (rc == 0)
        return 0;
    return rc == ERR_CONFIG ? 2 : 1;
}

int hubapi_parse_id(const char *s, const char *what, int64_t *id)
{
    uint64_t v;
    if (hubapi_parse_uint(s, (UINT64_C(1) << 53) - 1, &v) < 0 || v == 0) {
        fprintf(stderr, "veil: %s: expected a positive integer id, got \"%s\"\n", what, s);
        return ERR_MALFORMED;
    }
    *id = (int64_t)v;
    return 0;
}

int64_t hubapi_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

const char *hubapi_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}
