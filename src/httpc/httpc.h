/* A small blocking HTTP(S) client over libcurl for calling web APIs (payment providers, the
 * Telegram Bot API, the hub from the node): one call per request, safe from any thread, every
 * request bounded in time and in response size. No redirects are followed and only http and
 * https are spoken; TLS peers are verified (system CAs, or ca_file).
 *
 *   struct httpc_resp r;
 *   const char *hdr[] = {"Crypto-Pay-API-Token: ...", NULL};
 *   int rc = httpc_post_json("https://pay.crypt.bot/api/createInvoice", hdr, "{...}", &r);
 *   if (rc == 0 && r.status == 200) ... r.body / r.body_len ...
 *   httpc_resp_dispose(&r);
 *
 * A status of 4xx/5xx is an answer, not an error: callers decide. Errors: ERR_TIMEOUT (no
 * complete answer in timeout_ms), ERR_AUTH (the server's key matches no pin), ERR_IO
 * (resolve/connect/TLS/transfer failure), ERR_TOO_LONG
 * (the answer exceeds max_response), ERR_MALFORMED (bad URL or arguments), ERR_CLOSED (cancel
 * said so), ERR_NOMEM. */
#ifndef VEIL_HTTPC_HTTPC_H
#define VEIL_HTTPC_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPC_TIMEOUT_MS_DEFAULT 10000u
#define HTTPC_CONNECT_TIMEOUT_MS_DEFAULT 5000u
#define HTTPC_MAX_RESPONSE_DEFAULT (1u << 20)
#define HTTPC_HEADERS_MAX 64 /* response headers kept; more are dropped */

struct httpc_req {
    const char *method;         /* NULL: POST when body != NULL, else GET */
    const char *url;            /* http:// or https:// */
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const void *body;           /* may be NULL */
    size_t body_len;
    const char *content_type;    /* of the body, e.g. "application/json"; NULL: none sent */
    unsigned timeout_ms;         /* whole request; 0 -> HTTPC_TIMEOUT_MS_DEFAULT */
    unsigned connect_timeout_ms; /* 0 -> HTTPC_CONNECT_TIMEOUT_MS_DEFAULT */
    size_t max_response;         /* body bytes; 0 -> HTTPC_MAX_RESPONSE_DEFAULT */
    const char *ca_file;         /* PEM bundle to trust instead of the system's; may be NULL */
    /* Public-key pins, "sha256//<base64 of the SHA-256 of the DER SubjectPublicKeyInfo>", several
     * joined by ';': the server's key must be one of them, else ERR_AUTH. With pins and no
     * ca_file the chain and name are not checked: the pin is the server's identity (a hub with
     * a self-made certificate). May be NULL. */
    const char *pin;
    const char *cert_file, *key_file; /* client certificate and key (PEM) for mutual TLS; may be NULL */
    const char *user_agent;           /* NULL: "veil/<version>" */
    /* Polled while the request runs (at least once a second): true aborts it with ERR_CLOSED,
     * so a stopping service need not wait out a long poll. May be NULL. */
    bool (*cancel)(void *arg);
    void *cancel_arg;
};

struct httpc_header {
    char *name, *value; /* as received, trimmed */
};

struct httpc_resp {
    long status;
    char *body; /* malloc'd, NUL-terminated (not counted in body_len); "" when empty */
    size_t body_len;
    struct httpc_header *headers; /* malloc'd */
    size_t n_headers;
    char error[256]; /* after an error: the transport's reason ("Couldn't connect to server", ...) */
};

/* Performs the request; on success (any HTTP status) fills *out, which the caller disposes.
 * On error *out is empty but for out->error (disposing it is harmless). Request header lines
 * are wiped from memory after use (they often carry tokens). */
int httpc_do(const struct httpc_req *req, struct httpc_resp *out);

/* Shorthands with the default limits. */
int httpc_get(const char *url, const char *const *headers, struct httpc_resp *out);
int httpc_post_json(const char *url, const char *const *headers, const char *json, struct httpc_resp *out);
/* kv: name, value, name, value, ..., NULL; sent as application/x-www-form-urlencoded. */
int httpc_post_form(const char *url, const char *const *headers, const char *const *kv, struct httpc_resp *out);

/* multipart/form-data (RFC 7578), for uploads such as the Bot API's sendPhoto. A part without
 * filename is a plain field; content_type NULL sends none (text/plain by default). Names and
 * filenames must not hold '"', CR or LF (ERR_MALFORMED). */
struct httpc_part {
    const char *name;
    const char *filename;     /* NULL: a field */
    const char *content_type; /* may be NULL */
    const void *data;
    size_t len;
};
/* Encodes parts into *body (malloc'd, *len bytes) with a boundary found in none of them;
 * content_type receives "multipart/form-data; boundary=...". */
int httpc_multipart_encode(const struct httpc_part *parts, size_t n, char **body, size_t *len,
                           char content_type[static 96]);
/* POSTs parts as multipart/form-data (timeout_ms 0: the default). */
int httpc_post_multipart(const char *url, const char *const *headers, const struct httpc_part *parts, size_t n,
                         unsigned timeout_ms, struct httpc_resp *out);

/* application/x-www-form-urlencoded encoding of kv (as above) into *out (malloc'd). */
int httpc_form_encode(const char *const *kv, char **out);

/* The first response header with this name (case-insensitive), or NULL. */
const char *httpc_resp_header(const struct httpc_resp *r, const char *name);
void httpc_resp_dispose(struct httpc_resp *r);

#endif
