/* Subscription renderer internals shared by the per-format writers. */
#ifndef VEIL_HUB_SUB_SUB_INT_H
#define VEIL_HUB_SUB_SUB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "hub/sub/sub.h"

/* A node with every default applied and a display name that is unique within the response and
 * valid UTF-8. The placeholder shown to inactive users has reality = false. */
struct sub__entry {
    char *name; /* malloc'd */
    const char *address;
    uint16_t port;
    const char *pbk, *sid, *sni, *fp, *flow, *spx;
    bool reality;
};

struct sub__ctx {
    const struct sub_request *req;
    enum sub_user_state state; /* after applying expire/total against now */
    const char *uuid;          /* the user's id, or the all-zero UUID for the placeholder */
    struct sub__entry *entries;
    size_t n_entries;
    char *title; /* profile title, cleaned to valid UTF-8 without controls; malloc'd */
};

/* Fills c from the request (state, defaults, unique names). On failure c holds nothing to free
 * beyond what sub__ctx_dispose releases. ERR_MALFORMED, ERR_NOMEM. */
int sub__resolve(const struct sub_request *req, struct sub__ctx *c);
void sub__ctx_dispose(struct sub__ctx *c);
/* Appends a header whose value is malloc'd (taken over; NULL means out of memory). */
int sub__add_header(struct sub_response *r, const char *name, char *value);

/* vless:// links joined by '\n' (no trailing newline). */
int sub__links(const struct sub__ctx *c, struct buf *out);
/* mihomo YAML; legacy = old Clash core, which cannot use VLESS: no proxies are listed. */
int sub__clash(const struct sub__ctx *c, bool legacy, struct buf *out);
int sub__singbox(const struct sub__ctx *c, struct buf *out);
int sub__xray_json(const struct sub__ctx *c, struct buf *out);
int sub__html(const struct sub__ctx *c, struct buf *out);

/* Appends s as a YAML double-quoted scalar. s must be valid UTF-8. */
int sub__yaml_str(struct buf *out, const char *s);
/* Appends the NUL-terminated string s. */
int sub__put(struct buf *out, const char *s);
/* Reason text for an inactive state ("Subscription expired", ...); NULL for active. */
const char *sub__state_text(enum sub_user_state s);

#endif
