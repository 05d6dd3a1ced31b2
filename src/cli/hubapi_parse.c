/* Pure parsers and formatters of the admin commands (cli/hubapi.h): URL policy, strict
 * numbers and prices, subscription bodies, and the text of tables. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "cli/hubapi.h"
#include "core/enc.h"
#include "core/err.h"

int hubapi_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s == '\0')
        return ERR_MALFORMED;
    if (s[0] == '0' && s[1] != '\0')
        return ERR_MALFORMED; /* leading zeros read like octal to some people; refuse them */
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return ERR_MALFORMED;
        unsigned d = (unsigned)(*p - '0');
        if (d > max || v > (max - d) / 10)
            return ERR_RANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int hubapi_parse_price(const char *s, char cur[static 4], int64_t *minor)
{
    if (s == NULL)
        return ERR_MALFORMED;
    for (int i = 0; i < 3; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return ERR_MALFORMED;
    if (s[3] != ':')
        return ERR_MALFORMED;
    uint64_t v;
    int rc = hubapi_parse_uint(s + 4, HUBAPI_PRICE_MAX, &v);
    if (rc < 0)
        return rc;
    memcpy(cur, s, 3);
    cur[3] = '\0';
    *minor = (int64_t)v;
    return 0;
}

bool hubapi_short_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > 16 || n % 2 != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

/* 127.0.0.0/8 in curl's normalized dotted-quad form. */
static bool ipv4_loopback(const char *h)
{
    unsigned a, b, c, d;
    char tail;
    if (sscanf(h, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4)
        return false;
    return a == 127 && b <= 255 && c <= 255 && d <= 255;
}

static bool loopback_host(const char *h)
{
    return strcasecmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0 || ipv4_loopback(h);
}

/* Uses libcurl's own URL parser so that the host we judge is the host curl will connect to. */
int hubapi_check_url(const char *url, bool allow_http, const char **why)
{
    *why = NULL;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL, *query = NULL, *frag = NULL;
    int rc = ERR_CONFIG;
    if (u == NULL) {
        *why = "out of memory";
        return ERR_NOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        *why = "not a valid URL (expected https://HOST[:PORT][/PREFIX])";
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
        *why = "the URL has no host";
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        *why = "credentials do not belong in the URL (use --token or VEIL_HUB_TOKEN)";
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
        *why = "the hub URL must not have a query or fragment";
        goto out;
    }
    if (strcmp(scheme, "https") == 0) {
        rc = 0;
    } else if (strcmp(scheme, "http") == 0) {
        if (allow_http || loopback_host(host))
            rc = 0;
        else
            *why = "refusing to send the token over plain http:// to a non-loopback host (use https:// or "
                   "--insecure-http)";
    } else {
        *why = "the hub URL must be https:// (or http:// on loopback)";
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(pass);
    curl_free(query);
    curl_free(frag);
    curl_url_cleanup(u);
    return rc;
}

static bool b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int hubapi_sub_links(const char *body, size_t len, struct buf *out, size_t *n)
{
    *n = 0;
    /* Keep the alphabet, map the URL-safe variant onto it, drop whitespace and padding, then
     * re-pad: servers differ in line breaks and padding, not in content. */
    char *clean = malloc(len + 4);
    uint8_t *raw = malloc(len / 4 * 3 + 3);
    int rc = ERR_NOMEM;
    if (clean == NULL || raw == NULL)
        goto out;
    size_t m = 0;
    bool pad_seen = false;
    rc = ERR_MALFORMED;
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (c == ' ' || c == '\r' || c == '\n' || c == '\t')
            continue;
        if (c == '=') {
            pad_seen = true;
            continue;
        }
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        if (!b64_char(c) || pad_seen)
            goto out;
        clean[m++] = c;
    }
    if (m % 4 == 1)
        goto out;
    while (m % 4 != 0)
        clean[m++] = '=';
    size_t rawlen;
    if (b64_decode(raw, len / 4 * 3 + 3, &rawlen, clean, m, B64_STD) < 0)
        goto out;
    rc = 0;
    size_t start = 0;
    for (size_t i = 0; i <= rawlen && rc == 0; i++) {
        if (i < rawlen && raw[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && raw[end - 1] == '\r')
            end--;
        const char *line = (const char *)raw + start;
        size_t ll = end - start;
        start = i + 1;
        if (ll < 8 || strncasecmp(line, "vless://", 8) != 0 || memchr(line, '\0', ll) != NULL)
            continue;
        rc = buf_append(out, line, ll);
        if (rc == 0)
            rc = buf_append(out, "", 1);
        if (rc == 0)
            (*n)++;
    }
out:
    free(clean);
    free(raw);
    return rc;
}

void hubapi_format_bytes(uint64_t n, char *out, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (n < 1024) {
        snprintf(out, cap, "%" PRIu64 " B", n);
        return;
    }
    size_t u = 0;
    uint64_t whole = n;
    while (whole >= 1024 * 1024 && u + 2 < sizeof(units) / sizeof(units[0])) {
        whole /= 1024;
        u++;
    }
    /* whole is now in [1024, 1024^2) of units[u]; show it in units[u+1] with two decimals,
     * computed in integers (rounded down) so 1.999 GiB never prints as 2.00. */
    uint64_t hundredths = whole * 100 / 1024;
    snprintf(out, cap, "%" PRIu64 ".%02" PRIu64 " %s", hundredths / 100, hundredths % 100, units[u + 1]);
}

void hubapi_format_age(int64_t now, int64_t t, char *out, size_t cap)
{
    if (t <= 0) {
        snprintf(out, cap, "never");
        return;
    }
    if (t >= now) {
        snprintf(out, cap, "just now");
        return;
    }
    int64_t d = now - t;
    if (d < 60)
        snprintf(out, cap, "%" PRId64 "s ago", d);
    else if (d < 3600)
        snprintf(out, cap, "%" PRId64 "m ago", d / 60);
    else if (d < 86400)
        snprintf(out, cap, "%" PRId64 "h ago", d / 3600);
    else
        snprintf(out, cap, "%" PRId64 "d ago", d / 86400);
}

void hubapi_format_date(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d", &tm) == 0)
        snprintf(out, cap, "?");
}

void hubapi_sanitize(const char *s, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < cap; p++) {
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            out[o++] = '?'; /* U+0080..U+009F: C1 controls in UTF-8 (CSI is U+009B) */
            p++;
            continue;
        }
        out[o++] = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;
    }
    out[o] = '\0';
}
