/* vless:// share links (spec/config-and-links.md §5): build and parse.
 *
 *   vless://<id>@<host>:<port>?<query>#<remark>
 *
 * Writer: the id, query values and remark are percent-encoded with the RFC 3986 rule (everything
 * except ALPHA / DIGIT / "-" / "." / "_" / "~" becomes %XX, upper-case hex), which is what v2rayN
 * writes and what every encodeURIComponent reader accepts. IPv6 hosts get brackets. Parameters
 * are written in this order, empty ones omitted except where noted:
 *   encryption (always), flow, security (always), sni, fp, pbk, sid, spx, pqv, type (always),
 *   headerType (only for type tcp/raw), host, path, alpn
 * Example (spec §5.2):
 *   vless://b831381d-...@203.0.113.10:443?encryption=none&flow=xtls-rprx-vision&security=reality
 *   &sni=www.example.com&fp=chrome&pbk=2J47...&sid=0123456789abcdef&spx=%2F&type=tcp&headerType=none#Node%201
 *
 * Parser (§5.3): scheme case-insensitive; id percent-decoded; brackets stripped from IPv6;
 * port required (1..65535, digits only); query split on '&', each k=v percent-decoded ('+' stays
 * '+'); keys case-sensitive, a repeated known key is an error, unknown keys are ignored; the
 * fragment is percent-decoded ('+' is kept literally too). Defaults: encryption "none",
 * security "none", type "tcp", fp "" (readers treat empty as chrome). security=reality needs
 * pbk (43 base64url characters) and, if present, sid must be even-length hex of at most 16;
 * empty sni becomes the host. flow "xtls-rprx-vision-udp443" is read as "xtls-rprx-vision" with
 * udp443 = true. Strings are NUL-terminated copies in fixed buffers; no allocation. */
#ifndef VEIL_CTL_VLINK_H
#define VEIL_CTL_VLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define VLINK_ID_MAX 64    /* UUID text (36) or a 1..30-byte Xray id; generous */
#define VLINK_HOST_MAX 253 /* DNS name limit; IPv6 text fits */
#define VLINK_SHORT_MAX 32 /* encryption, security, type, headerType, fp */
#define VLINK_FLOW_MAX 32
#define VLINK_PBK_MAX 64 /* 43 expected */
#define VLINK_SID_MAX 16
#define VLINK_PATH_MAX 512   /* spx, path, host, alpn */
#define VLINK_PQV_MAX 2700   /* base64url of a 1952-byte ML-DSA-65 key is 2603 */
#define VLINK_REMARK_MAX 256 /* bytes of UTF-8 */
#define VLINK_TEXT_MAX 8192  /* longest link accepted by vlink_parse */

struct vlink {
    char id[VLINK_ID_MAX + 1];
    char host[VLINK_HOST_MAX + 1]; /* without brackets */
    uint16_t port;
    char encryption[VLINK_SHORT_MAX + 1]; /* "none" */
    char flow[VLINK_FLOW_MAX + 1];        /* "" or "xtls-rprx-vision" (never the -udp443 form) */
    bool udp443;                          /* link said xtls-rprx-vision-udp443 (local-only option) */
    char security[VLINK_SHORT_MAX + 1];   /* "reality", "tls" or "none" */
    char sni[VLINK_HOST_MAX + 1];
    char fp[VLINK_SHORT_MAX + 1];          /* uTLS fingerprint, e.g. "chrome" */
    char pbk[VLINK_PBK_MAX + 1];           /* REALITY public key, base64url */
    char sid[VLINK_SID_MAX + 1];           /* REALITY shortId, hex */
    char spx[VLINK_PATH_MAX + 1];          /* REALITY spiderX, e.g. "/" */
    char pqv[VLINK_PQV_MAX + 1];           /* ML-DSA-65 verify key, usually empty */
    char type[VLINK_SHORT_MAX + 1];        /* "tcp" or "raw" (both RAW), others kept as given */
    char header_type[VLINK_SHORT_MAX + 1]; /* "none" for RAW */
    char host_header[VLINK_PATH_MAX + 1];  /* query key "host" */
    char path[VLINK_PATH_MAX + 1];         /* query key "path" */
    char alpn[VLINK_PATH_MAX + 1];         /* comma-separated, TLS only */
    char remark[VLINK_REMARK_MAX + 1];
};

/* Zeroes the link and sets the writer defaults for a Vision + REALITY node: encryption "none",
 * flow "xtls-rprx-vision", security "reality", fp "chrome", spx "/", type "tcp",
 * headerType "none". The caller fills id, host, port, sni, pbk, sid and remark. */
void vlink_init_reality(struct vlink *l);

/* true when host is a domain name (dot-separated labels of letters, digits, '-' and '_', each
 * 1-63 bytes not starting or ending with '-', at most 253 in all, an optional final dot) or an IPv4/IPv6 literal (no
 * brackets). */
bool vlink_host_valid(const char *host);

/* Appends the link text (no NUL) to out. Fails with ERR_MALFORMED when id is empty, host is not
 * vlink_host_valid() or port is 0, ERR_NOMEM / ERR_TOO_LONG from the buffer (out is then left as it was). */
int vlink_format(const struct vlink *l, struct buf *out);

/* Same, as a malloc'd NUL-terminated string (NULL on failure). Caller frees. */
char *vlink_format_str(const struct vlink *l);

/* Parses len bytes of s into *l (fully overwritten). Returns 0, or:
 *   ERR_MALFORMED  syntax: not vless://, bad percent escape, NUL byte, missing '@' / port,
 *                  bad brackets, empty id or host, bad sid or pbk, repeated key
 *   ERR_RANGE      port 0 or > 65535
 *   ERR_TOO_LONG   the text or one field exceeds its VLINK_*_MAX
 *   ERR_UNSUPPORTED unknown flow or security value
 * When `why` is not NULL it receives a static English reason ("port out of range", ...). */
int vlink_parse(struct vlink *l, const char *s, size_t len, const char **why);

/* true when type names the RAW transport ("tcp" or "raw"). */
bool vlink_is_raw(const struct vlink *l);

/* Percent-encodes len bytes of s (RFC 3986 unreserved kept) and appends them to out. Exposed
 * for the subscription renderer and the CLI. ERR_NOMEM / ERR_TOO_LONG. */
int vlink_pct_encode(struct buf *out, const char *s, size_t len);

#endif
