/* VLESS request and response headers (spec/vless.md §2, §4, §6, §8).
 *
 * Server: call vless_request_parse() with everything received so far (from the start of
 * the VLESS stream) until it stops returning ERR_NEED_MORE. The result says what to do:
 *   ACCEPT     header complete; req->header_len bytes belong to it, the rest is body
 *   NEED_MORE  wait for more bytes (under the handshake timeout)
 *   FALLBACK   bad version / unknown user / short first chunk, fallbacks configured:
 *              hand ALL bytes received so far to the fallback
 *   CLOSE      close without a response (no fallback)
 * Client: vless_request_encode(), then vless_response_parse() on the downlink. */
#ifndef VEIL_VLESS_HEADER_H
#define VEIL_VLESS_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "vless/addr.h"
#include "vless/users.h"
#include "vless/vless.h"

/* Smallest first chunk upstream checks before falling back "directly" (1 + 16 + 1). */
#define VLESS_MIN_FIRST_CHUNK 18
/* Longest possible request header: 1 + 16 + 1 + 255 + 1 + 2 + 1 + 1 + 255. */
#define VLESS_REQUEST_MAX 533

enum vless_action {
    VLESS_ACT_ACCEPT = 0,
    VLESS_ACT_NEED_MORE,
    VLESS_ACT_FALLBACK,
    VLESS_ACT_CLOSE,
    VLESS_ACT__COUNT, /* sentinel */
};

/* Why a header was refused; also the metric label. */
enum vless_hdr_reason {
    VLESS_HR_OK = 0,
    VLESS_HR_SHORT_FIRST,  /* first chunk < 18 bytes with fallbacks ("fallback directly") */
    VLESS_HR_BAD_VERSION,  /* "invalid request version" */
    VLESS_HR_UNKNOWN_USER, /* "invalid request user id" */
    VLESS_HR_BAD_ADDONS,   /* "failed to decode request header addons" */
    VLESS_HR_BAD_COMMAND,  /* unknown command byte or Rvs ("invalid request address") */
    VLESS_HR_BAD_ADDRESS,  /* bad address type / domain ("invalid request address") */
    VLESS_HR__COUNT,       /* sentinel */
};

struct vless_addons {
    enum vless_flow flow;
    uint8_t flow_len;  /* raw length of the Flow string (for logs of unknown flows) */
    char flow_str[64]; /* first 63 bytes of the Flow string, NUL-terminated */
    bool has_seed;     /* field 2 present (ignored) */
};

struct vless_request {
    uint8_t version;
    uint8_t id[VLESS_ID_LEN];      /* exactly as sent: Vision's UUID prefix uses these bytes */
    const struct vless_user *user; /* borrowed from the snapshot passed to parse */
    struct vless_addons addons;
    enum vless_cmd cmd;
    struct vless_addr dest; /* type NONE for Mux */
    size_t header_len;
    enum vless_action action;
    enum vless_hdr_reason reason;
};

/* Parses a request header from the start of `p` (all bytes received so far).
 * `first_len` is the size of the first chunk read from the secured stream and
 * `fallbacks` says whether the inbound has fallbacks; together they implement the
 * "first chunk shorter than 18 bytes -> fallback" rule. The decision is in req->action
 * and req->reason. Returns 0 (ACCEPT), ERR_NEED_MORE, ERR_AUTH (bad version / user /
 * short first chunk: fallback-eligible) or ERR_MALFORMED (after auth: close). */
int vless_request_parse(struct vless_request *req, const uint8_t *p, size_t len, size_t first_len,
                        const struct vless_users *users, bool fallbacks);

/* Decodes an Addons protobuf (ALen bytes). Strict proto3: field 1 (Flow, valid UTF-8) and
 * field 2 (Seed) must be length-delimited; other fields are skipped by wire type
 * (varint, 64-bit, length-delimited, 32-bit); groups, field 0, overlong varints and
 * truncation are ERR_MALFORMED. */
int vless_addons_decode(struct vless_addons *a, const uint8_t *p, size_t len);

/* Client: appends a request header. flow VISION or VISION_UDP443 emits the Vision addon;
 * anything else ALen 0. dest is ignored for MUX. ERR_RANGE (bad cmd / address), ERR_NOMEM. */
int vless_request_encode(struct buf *out, const uint8_t id[static VLESS_ID_LEN], enum vless_flow flow,
                         enum vless_cmd cmd, const struct vless_addr *dest);

/* Server: appends the response header (version, ALen 0): 2 bytes. */
int vless_response_encode(struct buf *out, uint8_t version);
/* Client: parses a response header. 0 with *consumed set, ERR_NEED_MORE, ERR_MALFORMED
 * (version differs from `version`, or bad addons). *flow gets the addon flow (NULL ok). */
int vless_response_parse(const uint8_t *p, size_t len, uint8_t version, size_t *consumed, enum vless_flow *flow);

const char *vless_action_str(enum vless_action a);
const char *vless_hdr_reason_str(enum vless_hdr_reason r);

#endif
