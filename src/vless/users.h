/* User table: an immutable, refcounted snapshot keyed by the 16-byte id with bytes 6 and 7
 * zeroed (spec/vless.md §3). Built once by a builder (config load, admin API, hub sync),
 * then shared read-only by all worker threads; a reload builds a new snapshot and swaps it,
 * while connections keep the old one through their reference.
 *
 * Also: the server-side flow rules of spec/vless.md §7 (vless_flow_decide). */
#ifndef VEIL_VLESS_USERS_H
#define VEIL_VLESS_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vless/vless.h"

struct vless_user {
    uint8_t id[VLESS_ID_LEN];  /* as configured */
    uint8_t key[VLESS_ID_LEN]; /* id with bytes 6, 7 zeroed: the lookup key */
    enum vless_flow flow;      /* NONE or VISION (inbound default already applied) */
    char *email;               /* NULL when absent; unique case-insensitively */
    uint64_t tag;              /* opaque to vless: the node's accounting id / index */
};

struct vless_users;         /* frozen snapshot */
struct vless_users_builder; /* mutable, single-threaded */

/* New builder. `seed` keys the hash (pass random bytes; tests pass a constant). NULL on OOM. */
struct vless_users_builder *vless_users_builder_new(uint64_t seed);
void vless_users_builder_free(struct vless_users_builder *b);
/* Adds a user (copies id and email). flow must be NONE or VISION (else ERR_CONFIG).
 * An id equal to an earlier one up to bytes 6-7 replaces it at freeze (the later one wins).
 * ERR_NOMEM. */
int vless_users_builder_add(struct vless_users_builder *b, const uint8_t id[static VLESS_ID_LEN], enum vless_flow flow,
                            const char *email, uint64_t tag);
/* Freezes into a snapshot with refcount 1 and frees the builder (also on error).
 * ERR_EXISTS when two surviving users share an email (case-insensitive), ERR_NOMEM. */
int vless_users_freeze(struct vless_users_builder *b, struct vless_users **out);

/* Reference counting (atomic; any thread). unref frees at zero; NULL is a no-op. */
struct vless_users *vless_users_ref(struct vless_users *u);
void vless_users_unref(struct vless_users *u);

size_t vless_users_count(const struct vless_users *u);
/* i-th surviving user, in insertion order (for listing/accounting). */
const struct vless_user *vless_users_at(const struct vless_users *u, size_t i);
/* Looks up an id as sent by a client (bytes 6-7 ignored). The final key comparison is
 * constant-time. NULL when unknown. Borrowed from the snapshot. */
const struct vless_user *vless_users_lookup(const struct vless_users *u, const uint8_t id[static VLESS_ID_LEN]);
/* The 16-bit "VLESS route" a client put into bytes 6-7. */
static inline uint16_t vless_id_route(const uint8_t id[static VLESS_ID_LEN])
{
    return (uint16_t)((uint16_t)id[6] << 8 | id[7]);
}

/* ---- Flow rules (spec/vless.md §7) ---- */

enum vless_flow_reason {
    VLESS_FR_OK = 0,
    VLESS_FR_VISION_UDP,     /* "xtls-rprx-vision doesn't support UDP" */
    VLESS_FR_ACCOUNT_FLOW,   /* request asks Vision, account is not Vision */
    VLESS_FR_EMPTY_FLOW_TCP, /* Vision account, empty request flow, TCP (TLS in TLS) */
    VLESS_FR_EMPTY_FLOW_MUX, /* Vision account, empty request flow, Mux not XUDP */
    VLESS_FR_UNKNOWN_FLOW,   /* request flow is neither "" nor Vision */
    VLESS_FR_BAD_COMMAND,    /* Rvs or invalid command */
    VLESS_FR__COUNT,         /* sentinel */
};

struct vless_flow_decision {
    bool allow;        /* false: close without response, no fallback */
    bool vision;       /* wrap both directions in Vision reader/writer */
    bool direct_ok;    /* Vision may switch to direct copy (TCP only; never Mux) */
    bool mux_udp_only; /* Mux: a TCP sub-connection must close the whole connection */
    enum vless_flow_reason reason;
};

/* Decides what a valid header may do. `account` is the user's flow, `req` the request's
 * flow addon, `body`/`body_len` the payload bytes that arrived in the same first chunk as
 * the header (used only for the XUDP test of a Mux request). Pure. */
struct vless_flow_decision vless_flow_decide(enum vless_flow account, enum vless_flow req, enum vless_cmd cmd,
                                             const uint8_t *body, size_t body_len);
const char *vless_flow_reason_str(enum vless_flow_reason r);

/* Client side: Xray's Vision client refuses UDP to port 443 unless the flow is
 * xtls-rprx-vision-udp443 (so QUIC falls back to TCP). True when allowed. */
bool vless_client_udp_allowed(enum vless_flow configured, uint16_t port);

#endif
