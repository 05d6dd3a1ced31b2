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
/* ---- the HTML page (sub_html.c and its helpers) ---- */

/* Appends an SVG image of the QR code of text; label_html is the (already escaped) accessible
 * name. ERR_MALFORMED when text does not fit a QR code, ERR_NOMEM. */
int sub__qr_svg(struct buf *out, const char *text, const char *label_html);

enum sub__platform_id {
    SUB_PLATFORM_ANDROID = 0,
    SUB_PLATFORM_IOS,
    SUB_PLATFORM_WINDOWS,
    SUB_PLATFORM_MACOS,
    SUB_PLATFORM_LINUX,
    SUB_PLATFORM__COUNT, /* sentinel */
};
struct sub__app;
struct sub__platform {
    const char *id;                     /* "android", ... (HTML ids, test hooks) */
    const char *label;                  /* "Android", ... */
    const struct sub__app *const *apps; /* NULL-terminated, most recommended first */
};
const struct sub__platform *sub__platform(enum sub__platform_id id);
/* The platform a browser's User-Agent runs on; Android when unknown. */
enum sub__platform_id sub__platform_of(const char *user_agent);
const char *sub__app_name(const struct sub__app *a);
/* The app's download page, NULL when none is known. */
const char *sub__app_download(const struct sub__app *a);
/* Appends the app's "add subscription" deep link for url, named name (not HTML-escaped). */
int sub__app_link(const struct sub__app *a, const char *url, const char *name, struct buf *out);

enum sub_word {
    SUB_W_STATE_ACTIVE = 0,
    SUB_W_STATE_EXPIRING,
    SUB_W_STATE_EXPIRED,
    SUB_W_STATE_LIMITED,
    SUB_W_STATE_PENDING,
    SUB_W_STATE_DISABLED,
    SUB_W_STATUS,
    SUB_W_NO_EXPIRY,
    SUB_W_ENDS_ON,
    SUB_W_ENDED_ON,
    SUB_W_TRAFFIC,
    SUB_W_OF,
    SUB_W_UNLIMITED,
    SUB_W_RESETS_ON,
    SUB_W_TRAFFIC_USED,
    SUB_W_ADD_TITLE,
    SUB_W_ADD_HINT,
    SUB_W_QR_LABEL,
    SUB_W_LINK_LABEL,
    SUB_W_COPY,
    SUB_W_COPIED,
    SUB_W_APPS,
    SUB_W_ADD_TO,
    SUB_W_DOWNLOAD,
    SUB_W_SERVERS,
    SUB_W_SERVER_QR,
    SUB_W_NO_SERVERS,
    SUB_W_SUPPORT,
    SUB_W_NO_LINK,
    SUB_W_LANGUAGE,
    SUB_W_USER,
    SUB_W_RENEW,
    SUB_W_DEVICES,
    SUB_W_DEVICES_FULL,
    SUB_W__COUNT, /* sentinel */
};
/* The page's text for a word in a language (UTF-8, HTML-safe). */
const char *sub__word(enum sub_lang l, enum sub_word w);
/* "12 days left" / "Осталось 12 дней". */
void sub__days_left(char *dst, size_t cap, enum sub_lang l, int64_t days);
/* A UTC date: "6 Dec 2026" / "06.12.2026". */
void sub__date(char *dst, size_t cap, enum sub_lang l, int64_t t);

/* Reason text for an inactive state ("Subscription expired", ...); NULL for active. */
const char *sub__state_text(enum sub_user_state s);

#endif
