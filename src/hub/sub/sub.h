/* Subscription renderer (spec/ecosystem.md §a): turns one user and the nodes they may use into
 * the HTTP answer for GET /sub/<token>[/<format>]. Pure: no I/O, no clock (now is passed in).
 *
 * Formats (§a.4, first match wins on the User-Agent, case-insensitive prefix):
 *   Accept contains text/html                     -> SUB_FMT_HTML          text/html (web page:
 *                                                    docs/subscription.md, cache-control private)
 *   mihomo, clash-verge, clash.meta, clash-meta, clashx meta, clash-nyanpasu, flclash, flowvy,
 *   koala-clash, prizrak-box, murge               -> SUB_FMT_CLASH_META    text/yaml
 *   stash                                         -> SUB_FMT_STASH         text/yaml (same YAML)
 *   clash (legacy core)                           -> SUB_FMT_CLASH_LEGACY  text/yaml (no VLESS: empty proxies)
 *   sfa, sfi, sfm, sft, karing, singbox, sing-box -> SUB_FMT_SINGBOX       application/json
 *   v2rayN >= 6.40, v2rayNG >= 1.8.29, Happ >= 1.63.1, only when xray_json is enabled
 *                                                 -> SUB_FMT_XRAY_JSON     application/json
 *   anything else (v2rayN/NG, Hiddify, Streisand, Happ, Shadowrocket, ...) -> SUB_FMT_LINKS text/plain
 *
 * Users who are not active (disabled, quota reached, expired) get a normal 200 answer in their
 * format whose only server is an information entry (vless://...@0.0.0.0:1#<reason>, or the
 * same placeholder proxy/outbound in YAML/JSON) plus an `announce` header, so clients show the
 * reason instead of an error. Headers (§a.3): subscription-userinfo, profile-title (plain when
 * printable ASCII, else "base64:<std base64 of UTF-8>"), profile-update-interval, support-url,
 * profile-web-page-url, announce, content-disposition (attachment; filename="..." plus
 * filename*=UTF-8''... for non-ASCII), cache-control: no-cache, no-store, must-revalidate. */
#ifndef VEIL_HUB_SUB_SUB_H
#define VEIL_HUB_SUB_SUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sub_format {
    SUB_FMT_AUTO = 0,     /* request only: detect from User-Agent / Accept */
    SUB_FMT_LINKS,        /* base64 of vless:// links joined by '\n' */
    SUB_FMT_LINKS_PLAIN,  /* the same links, not base64 (path override "plain") */
    SUB_FMT_CLASH_META,   /* mihomo YAML */
    SUB_FMT_STASH,        /* Stash: the mihomo YAML */
    SUB_FMT_CLASH_LEGACY, /* legacy Clash YAML: VLESS unsupported, proxies dropped */
    SUB_FMT_SINGBOX,      /* sing-box JSON (>= 1.11 schema) */
    SUB_FMT_XRAY_JSON,    /* array of Xray client configs */
    SUB_FMT_HTML,         /* browser info page */
    SUB_FMT__COUNT,       /* sentinel */
};

enum sub_user_state {
    SUB_USER_ACTIVE = 0,
    SUB_USER_DISABLED, /* by an admin or revoked */
    SUB_USER_LIMITED,  /* traffic quota reached */
    SUB_USER_EXPIRED,
    SUB_USER_PENDING, /* the subscription starts later */
    SUB_USER__COUNT,  /* sentinel */
};

/* One node as the user should see it. All strings are borrowed and NUL-terminated; NULL or ""
 * takes the default noted. */
struct sub_node {
    const char *name;    /* remark shown in clients; NULL/"" -> address */
    const char *address; /* host name or IP literal (IPv6 without brackets) */
    uint16_t port;
    const char *public_key;  /* REALITY X25519 public key, base64url (43 chars) */
    const char *short_id;    /* hex, 0..16 chars; NULL -> "" */
    const char *server_name; /* SNI; NULL/"" -> address */
    const char *fingerprint; /* uTLS name; NULL/"" -> "chrome" */
    const char *flow;        /* NULL -> "xtls-rprx-vision"; "" -> no flow */
    const char *spider_x;    /* NULL/"" -> "/" */
};

struct sub_user {
    const char *uuid;  /* VLESS id text */
    const char *name;  /* shown on the HTML page; may be NULL */
    uint64_t upload;   /* bytes */
    uint64_t download; /* bytes */
    uint64_t total;    /* quota in bytes; 0 = unlimited */
    int64_t expire;    /* unix seconds; 0 = never */
    enum sub_user_state state;
    int64_t traffic_reset_at; /* next traffic reset, unix seconds; 0 = none (HTML page only) */
    uint32_t devices;         /* HTML page only: devices counted so far ... */
    uint32_t device_limit;    /* ... out of this many; 0 = no limit (nothing shown) */
};

/* Language of the HTML page. */
enum sub_lang {
    SUB_LANG_EN = 0,
    SUB_LANG_RU,
    SUB_LANG__COUNT, /* sentinel */
};

struct sub_request {
    enum sub_format format; /* SUB_FMT_AUTO or a forced format (path override) */
    const char *user_agent; /* may be NULL */
    const char *accept;     /* Accept header; may be NULL */
    bool xray_json;         /* allow SUB_FMT_XRAY_JSON for new-enough v2rayN/v2rayNG/Happ */
    int64_t now;            /* unix seconds; expire <= now makes an active user expired */
    const struct sub_user *user;
    const struct sub_node *nodes;
    size_t n_nodes;
    const char *profile_title;      /* UTF-8; NULL -> "Veil" */
    unsigned update_interval_hours; /* 0 -> header omitted */
    const char *support_url;        /* NULL/"" -> header omitted */
    const char *web_page_url;       /* NULL/"" -> header omitted */
    const char *announce;           /* UTF-8 banner; NULL -> a reason text for inactive users only */
    /* HTML page only. */
    enum sub_lang lang;       /* see sub_pick_lang() */
    const char *accent_color; /* "#rrggbb"; anything else -> the default blue */
    const char *logo_url;     /* http(s) image next to the title; NULL/"" -> none */
    const char *renew_url;    /* Renew button (bot or pay page, http(s)/tg); NULL/"" -> none */
};

#define SUB_MAX_HEADERS 12

struct sub_header {
    const char *name; /* static, lower case */
    char *value;      /* malloc'd, no CR/LF */
};

struct sub_response {
    int status;               /* 200 */
    enum sub_format format;   /* what was rendered */
    const char *content_type; /* static, e.g. "text/plain; charset=utf-8" */
    struct sub_header headers[SUB_MAX_HEADERS];
    size_t n_headers;
    char *body; /* malloc'd, NUL-terminated (the NUL is not counted) */
    size_t body_len;
};

/* Picks the format for a request: Accept / User-Agent rules above. NULL strings are allowed. */
enum sub_format sub_detect_format(const char *user_agent, const char *accept, bool xray_json);

/* Path-override names: "links"/"v2ray"/"base64" (LINKS), "plain", "clash-meta"/"mihomo"/"clash"
 * (CLASH_META; our nodes need Meta), "stash", "sing-box"/"singbox", "xray-json"/"v2ray-json"/"json",
 * "html". ERR_NOT_FOUND for anything else. Case-sensitive. */
int sub_format_from_name(const char *name, size_t len, enum sub_format *out);

/* Stable lower-case name of a format ("links", "clash-meta", ...), for logs and metrics. */
const char *sub_format_name(enum sub_format f);

/* Renders the answer. On success the response owns malloc'd memory: release it with
 * sub_response_dispose(). ERR_MALFORMED when req->user or its uuid is missing or a node lacks
 * address/port/public_key; ERR_NOMEM. On failure *resp is empty. */
int sub_render(const struct sub_request *req, struct sub_response *resp);

/* Renders GET /sub/<token>/info: 200, application/json, cache-control header and
 *   {"title":..., "status":"active|disabled|limited|expired", "upload":N, "download":N,
 *    "total":N, "expire":N, "links":["vless://...", ...]}
 * (links empty for inactive users). Same errors and ownership as sub_render(). */
int sub_render_info(const struct sub_request *req, struct sub_response *resp);

/* The page language: `choice` ("ru"/"en", from ?lang=) wins when valid, else the highest-q
 * supported tag of an Accept-Language header, else English. NULL strings are allowed. */
enum sub_lang sub_pick_lang(const char *choice, const char *accept_language);
/* "en" / "ru". */
const char *sub_lang_code(enum sub_lang l);

/* Frees headers and body; NULL-safe, idempotent. */
void sub_response_dispose(struct sub_response *resp);

/* Looks a header up by (lower-case) name; NULL when absent. */
const char *sub_response_header(const struct sub_response *resp, const char *name);

/* Splits a request path "/sub/<token>", "/sub/<token>/<format>" or "/sub/<token>/info"
 * (one optional trailing '/') under `prefix` (e.g. "/sub/"). The token is 16..128 characters
 * of [A-Za-z0-9_-]. On success token/format point into path. `info` is set for ".../info";
 * *format is SUB_FMT_AUTO when no format segment is given. ERR_NOT_FOUND for any other path,
 * including unknown format names. */
struct sub_path {
    const char *token;
    size_t token_len;
    enum sub_format format;
    bool info;
};
int sub_parse_path(const char *path, size_t len, const char *prefix, struct sub_path *out);

/* "Add subscription" deep links (spec/ecosystem.md §a.6) by the app's slug: "happ", "v2rayng",
 * "hiddify", "streisand", "shadowrocket", "clashmeta", "stash", "flclashx", "koala-clash",
 * "prizrak-box". Appends the link for url, named name, to out (not HTML-escaped). ERR_NOT_FOUND
 * for an unknown slug. sub_app_slug(i) lists them (NULL past the last); sub_app_title names one. */
struct buf;
int sub_app_deeplink(const char *slug, const char *url, const char *name, struct buf *out);
const char *sub_app_slug(size_t i);
const char *sub_app_title(const char *slug);

#endif
