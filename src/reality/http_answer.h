/* The answer of a REALITY target to `GET /` over the check's established TLS (reality/check.h),
 * sans-IO: HTTP/1.1, or HTTP/2 when the target selected h2 (RFC 9113 frames, RFC 7541 HPACK with
 * its Huffman code). Only the status and the Location header are kept: the check wants to know
 * whether the site sends visitors to another domain, which a censor's prober would notice. */
#ifndef VEIL_REALITY_HTTP_ANSWER_H
#define VEIL_REALITY_HTTP_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define REALITY_HTTP_LOCATION_MAX 1024
#define REALITY_HTTP_HEAD_MAX 16384  /* an HTTP/1 head, or an HTTP/2 header block */
#define REALITY_HPACK_TABLE_MAX 4096 /* SETTINGS_HEADER_TABLE_SIZE we leave at its default */

struct reality_hpack_entry {
    char *name, *value;
    size_t size; /* RFC 7541 §4.1: name + value + 32 */
};

struct reality_http_answer {
    bool h2;
    bool done; /* the final status (and Location) are known */
    int status;
    bool has_location;
    char location[REALITY_HTTP_LOCATION_MAX + 1];
    struct buf in;    /* bytes not parsed yet */
    struct buf block; /* HTTP/2: header block fragments of stream 1 */
    bool in_block;    /* HTTP/2: HEADERS seen, END_HEADERS not yet */
    /* HTTP/2: the HPACK dynamic table, newest first */
    struct reality_hpack_entry dyn[REALITY_HPACK_TABLE_MAX / 32];
    size_t n_dyn, dyn_size, dyn_max;
};

void reality_http_answer_init(struct reality_http_answer *a, bool h2);
void reality_http_answer_dispose(struct reality_http_answer *a);

/* Appends the request: HTTP/1.1 `GET / ` with Host, or the HTTP/2 preface, SETTINGS (push off)
 * and a HEADERS frame for GET https://authority/ on stream 1. 0, ERR_RANGE (authority empty or
 * over 253 bytes), ERR_NOMEM. */
int reality_http_request(struct buf *out, bool h2, const char *authority);

/* Feeds decrypted bytes from the target. 0 once the final status is known (then nothing more is
 * read), ERR_NEED_MORE, or ERR_MALFORMED / ERR_TOO_LONG / ERR_UNSUPPORTED / ERR_CLOSED (GOAWAY,
 * a reset stream 1). Frames the client owes (an HTTP/2 SETTINGS ack) are appended to out. */
int reality_http_answer_feed(struct reality_http_answer *a, const uint8_t *p, size_t n, struct buf *out);

/* RFC 7541 §5.2 Huffman decoding: appends the text to out. 0, ERR_MALFORMED (EOS, padding
 * longer than 7 bits or not all ones), ERR_NOMEM. */
int reality_hpack_huffman_decode(const uint8_t *p, size_t n, struct buf *out);

/* true when `location` keeps the visitor on the SNI's site: relative, or a host whose registrable
 * domain (the last two labels, three under a two-letter country code's co/com/net/org/gov/edu/ac/
 * or/ne/go: an approximation of the Public Suffix List) equals the SNI's. */
bool reality_http_same_site(const char *sni, const char *location);

#endif
