/* The admin commands' hub client (cli/hubapi.h): settings, requests through httpc, JSON
 * bodies, and the API's error objects printed as "veil: <code>: <message>". */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/hubapi.h"
#include "core/err.h"
#include "core/secure.h"
#include "core/version.h"
#include "httpc/httpc.h"

struct hubapi {
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

int hubapi_refuse_opt(const char *tool, int c, char **argv, void (*usage)(FILE *))
{
    if (c != '?') {
        /* "--user 3": getopt left optarg on the value's own word; name the option before it. */
        const char *opt =
            optind >= 2 && optarg != NULL && optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
        fprintf(stderr, "veil %s %s: option %s does not apply here\n", tool, argv[0], opt);
    }
    usage(stderr);
    return CLI_EXIT_USAGE;
}

int hubapi_parse_verb(const char *tool, int argc, char **argv, const struct option *lo, const int *allowed,
                      struct hubapi_opts *hub, void (*usage)(FILE *), bool (*take)(void *ctx, int c, const char *arg),
                      void *ctx)
{
    hubapi_opts_init(hub);
    optind = 1;
    int c, code = 0;
    while ((c = hubapi_next_opt(argc, argv, lo, hub, usage, &code)) != -1) {
        if (c == HUBAPI_OPT_EXIT)
            return code;
        bool ok = false;
        for (const int *a = allowed; c != '?' && a != NULL && *a != 0 && !ok; a++)
            ok = *a == c;
        if (!ok)
            return hubapi_refuse_opt(tool, c, argv, usage);
        if (!take(ctx, c, optarg))
            return CLI_EXIT_USAGE;
    }
    return -1;
}

int hubapi_run_verb(const char *tool, int argc, char **argv, const struct hubapi_verb *verbs, void (*usage)(FILE *))
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (const struct hubapi_verb *v = verbs; v->name != NULL; v++)
        if (strcmp(verb, v->name) == 0)
            return v->run(argc - 1, argv + 1);
    fprintf(stderr, "veil %s: unknown action \"%s\"\n", tool, verb);
    usage(stderr);
    return CLI_EXIT_USAGE;
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
    struct hubapi *api = calloc(1, sizeof(*api));
    if (api == NULL)
        return ERR_NOMEM;
    api->base = strdup(url);
    api->token = strdup(token);
    api->cacert = o->cacert ? strdup(o->cacert) : NULL;
    api->timeout_s = o->timeout_s > 0 ? o->timeout_s : HUBAPI_TIMEOUT_S;
    if (api->base == NULL || api->token == NULL || (o->cacert && api->cacert == NULL)) {
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
    free(api->base);
    free(api->cacert);
    free(api);
}

/* One request; *status is 0 on a transport error (already printed). */
static int perform(struct hubapi *api, const char *method, const char *path, const char *auth_hdr,
                   const char *user_agent, const char *body, struct buf *resp, long *status)
{
    *status = 0;
    size_t ulen = strlen(api->base) + strlen(path) + 1;
    char *url = malloc(ulen);
    if (url == NULL)
        return ERR_NOMEM;
    snprintf(url, ulen, "%s%s", api->base, path);
    /* The public /sub endpoints pick their format from Accept and User-Agent: leave Accept out. */
    const char *hdrs[] = {auth_hdr, auth_hdr ? "Accept: application/json" : NULL, NULL};
    bool get = strcmp(method, "GET") == 0;
    struct httpc_req req = {
        .method = method,
        .url = url,
        .headers = auth_hdr ? hdrs : NULL,
        .body = get ? NULL : (body ? body : ""),
        .body_len = get || body == NULL ? 0 : strlen(body),
        .content_type = body ? "application/json; charset=utf-8" : NULL,
        .timeout_ms = (unsigned)api->timeout_s * 1000u,
        .connect_timeout_ms = (unsigned)(api->timeout_s < 10 ? api->timeout_s : 10L) * 1000u,
        .max_response = HUBAPI_BODY_MAX,
        .ca_file = api->cacert,
        .user_agent = user_agent,
    };
    struct httpc_resp r;
    int rc = httpc_do(&req, &r);
    if (rc == 0 && buf_append(resp, r.body, r.body_len) < 0)
        rc = ERR_NOMEM;
    if (rc == 0) {
        *status = r.status;
    } else if (rc != ERR_NOMEM) {
        fprintf(stderr, "veil: cannot reach the hub at %s: %s\n", api->base, r.error[0] ? r.error : err_str(rc));
        rc = ERR_IO;
    }
    httpc_resp_dispose(&r);
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
