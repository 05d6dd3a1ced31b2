/* The "Authorization: Bearer <token>" header (RFC 6750 §2.1), as the hub reads it for every
 * authenticated route: admin API tokens and node-sync tokens alike. Pure string parsing, no
 * lookup: the caller hashes the token and looks the hash up. */
#ifndef VEIL_CORE_HTTP_AUTH_H
#define VEIL_CORE_HTTP_AUTH_H

#include <stddef.h>

#define HTTP_BEARER_MAX 256 /* longest token accepted */

/* Extracts the token from an Authorization header value: "Bearer <token>" (scheme
 * case-insensitive, one or more spaces), token of 1..HTTP_BEARER_MAX characters from
 * [A-Za-z0-9._~+/=-] (RFC 6750's b64token), nothing after it. *tok points into hdr.
 * 0, or ERR_AUTH when hdr is NULL, another scheme or malformed (*tok NULL, *tok_len 0).
 * Any well-formed token is accepted, so a wrong one is reported as unknown, not malformed. */
int http_bearer_token(const char *hdr, const char **tok, size_t *tok_len);

#endif
