/* Fuzz target: the hub's request router (api_dispatch) as the HTTP layer hands requests over:
 * "<method>\n<raw path>\n<Content-Type>\n<Authorization>\n<body>". The path is percent-decoded
 * the way libmicrohttpd does (a %00 ends it). Every request must get exactly one well-formed
 * answer (status 200..599, a body, a content type), encoded '/' or NUL in the path must never
 * be routed, and nothing may leak. The store is SQLite :memory:, opened once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "hub/api/api.h"
#include "hub/store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static struct api_ctx ctx;
static const char *content_type;

static const char *header(void *arg, const char *name)
{
    (void)arg;
    return strcasecmp(name, "Content-Type") == 0 ? content_type : NULL;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* %XX decoding in place; a decoded NUL ends the string, as it does in C consumers. */
static void decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (r[0] == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
            *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static char *field(char **p)
{
    char *s = *p, *nl = strchr(s, '\n');
    if (nl != NULL) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    if (st == NULL) {
        log_setup(LOG_LEVEL_NONE, 2);
        int version;
        if (store_open("sqlite::memory:", 1, &st) < 0 || store_migrate(st, &version) < 0)
            abort();
        struct api_cfg cfg = {.profile_title = "Fuzz"};
        api_ctx_init(&ctx, st, &cfg);
    }
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    size_t body_len = size; /* the body keeps any NUL bytes after the fields */
    char *p = buf;
    char *method = field(&p), *raw = field(&p), *ct = field(&p), *auth = field(&p);
    body_len -= (size_t)(p - buf);
    char *path = strdup(raw);
    if (path == NULL) {
        free(buf);
        return 0;
    }
    decode(path);
    content_type = ct[0] ? ct : NULL;
    struct api_req req = {.method = method,
                          .path = path,
                          .raw_path = raw,
                          .authorization = auth[0] ? auth : NULL,
                          .ip = "192.0.2.1",
                          .body = p,
                          .body_len = body_len,
                          .header = header};
    struct api_resp resp;
    api_dispatch(&ctx, &req, &resp);
    if (resp.status < 200 || resp.status > 599 || resp.body == NULL || resp.content_type == NULL)
        abort();
    if ((strstr(raw, "%2f") || strstr(raw, "%2F") || strstr(raw, "%00")) && resp.status != 400 &&
        strchr(raw, '?') == NULL)
        abort(); /* an encoded '/' or NUL in the path was routed */
    api_resp_dispose(&resp);
    free(path);
    free(buf);
    return 0;
}
