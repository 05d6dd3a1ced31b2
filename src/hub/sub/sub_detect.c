/* Subscription format selection: User-Agent / Accept rules (spec/ecosystem.md §a.4), format
 * names for the path override, and splitting of /sub/<token>[/<format>|/info] paths. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "hub/sub/sub.h"

struct ua_rule {
    const char *prefix; /* lower case */
    bool word;          /* the prefix must be followed by a non-letter (or the end) */
    enum sub_format format;
};

/* Order matters: first match wins, Meta clients before the legacy "clash" prefix. */
static const struct ua_rule ua_rules[] = {
    {"mihomo", false, SUB_FMT_CLASH_META},
    {"clash-verge", false, SUB_FMT_CLASH_META},
    {"clash.meta", false, SUB_FMT_CLASH_META},
    {"clash-meta", false, SUB_FMT_CLASH_META},
    {"clashmeta", false, SUB_FMT_CLASH_META}, /* ClashMetaForAndroid/2.x */
    {"clashx meta", false, SUB_FMT_CLASH_META},
    {"clash-nyanpasu", false, SUB_FMT_CLASH_META},
    {"flclash", false, SUB_FMT_CLASH_META},
    {"flowvy", false, SUB_FMT_CLASH_META},
    {"koala-clash", false, SUB_FMT_CLASH_META},
    {"prizrak-box", false, SUB_FMT_CLASH_META},
    {"murge", false, SUB_FMT_CLASH_META},
    {"stash", false, SUB_FMT_STASH},
    {"clash", false, SUB_FMT_CLASH_LEGACY},
    {"sfa", true, SUB_FMT_SINGBOX},
    {"sfi", true, SUB_FMT_SINGBOX},
    {"sfm", true, SUB_FMT_SINGBOX},
    {"sft", true, SUB_FMT_SINGBOX},
    {"karing", false, SUB_FMT_SINGBOX},
    {"singbox", false, SUB_FMT_SINGBOX},
    {"sing-box", false, SUB_FMT_SINGBOX},
};

/* Xray-JSON capable clients and the first version that reads it (Marzban's thresholds). */
struct xray_rule {
    const char *prefix; /* lower case, including the '/' */
    unsigned min[3];
};

static const struct xray_rule xray_rules[] = {
    {"v2rayn/", {6, 40, 0}},
    {"v2rayng/", {1, 8, 29}},
    {"happ/", {1, 63, 1}},
};

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Parses up to three dot-separated numbers ("6.45", "1.8.29-beta"); missing parts are 0.
 * false when no leading number is present. */
static bool parse_version(const char *s, unsigned v[3])
{
    v[0] = v[1] = v[2] = 0;
    if (*s == 'v' || *s == 'V')
        s++;
    for (int i = 0; i < 3; i++) {
        if (*s < '0' || *s > '9')
            return i > 0;
        unsigned x = 0;
        while (*s >= '0' && *s <= '9') {
            if (x < 100000)
                x = x * 10 + (unsigned)(*s - '0');
            s++;
        }
        v[i] = x;
        if (*s != '.')
            return true;
        s++;
    }
    return true;
}

static bool version_at_least(const unsigned v[3], const unsigned min[3])
{
    for (int i = 0; i < 3; i++) {
        if (v[i] != min[i])
            return v[i] > min[i];
    }
    return true;
}

static bool accepts_html(const char *accept)
{
    if (accept == NULL)
        return false;
    static const char needle[] = "text/html";
    size_t n = sizeof(needle) - 1;
    for (const char *p = accept; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return false;
}

enum sub_format sub_detect_format(const char *user_agent, const char *accept, bool xray_json)
{
    if (accepts_html(accept))
        return SUB_FMT_HTML;
    if (user_agent == NULL)
        return SUB_FMT_LINKS;
    const char *ua = user_agent;
    while (*ua == ' ' || *ua == '\t')
        ua++;
    for (size_t i = 0; i < sizeof(ua_rules) / sizeof(ua_rules[0]); i++) {
        const struct ua_rule *r = &ua_rules[i];
        size_t n = strlen(r->prefix);
        if (strncasecmp(ua, r->prefix, n) != 0)
            continue;
        if (r->word && is_alpha(ua[n]))
            continue;
        return r->format;
    }
    if (xray_json) {
        for (size_t i = 0; i < sizeof(xray_rules) / sizeof(xray_rules[0]); i++) {
            const struct xray_rule *r = &xray_rules[i];
            size_t n = strlen(r->prefix);
            unsigned v[3];
            if (strncasecmp(ua, r->prefix, n) == 0 && parse_version(ua + n, v) && version_at_least(v, r->min))
                return SUB_FMT_XRAY_JSON;
        }
    }
    return SUB_FMT_LINKS;
}

struct fmt_name {
    const char *name;
    enum sub_format format;
};

static const struct fmt_name fmt_names[] = {
    {"links", SUB_FMT_LINKS},           {"v2ray", SUB_FMT_LINKS},
    {"base64", SUB_FMT_LINKS},          {"plain", SUB_FMT_LINKS_PLAIN},
    {"clash-meta", SUB_FMT_CLASH_META}, {"mihomo", SUB_FMT_CLASH_META},
    {"clash", SUB_FMT_CLASH_META},      {"stash", SUB_FMT_STASH},
    {"sing-box", SUB_FMT_SINGBOX},      {"singbox", SUB_FMT_SINGBOX},
    {"xray-json", SUB_FMT_XRAY_JSON},   {"v2ray-json", SUB_FMT_XRAY_JSON},
    {"json", SUB_FMT_XRAY_JSON},        {"html", SUB_FMT_HTML},
};

int sub_format_from_name(const char *name, size_t len, enum sub_format *out)
{
    for (size_t i = 0; i < sizeof(fmt_names) / sizeof(fmt_names[0]); i++) {
        if (strlen(fmt_names[i].name) == len && memcmp(fmt_names[i].name, name, len) == 0) {
            *out = fmt_names[i].format;
            return 0;
        }
    }
    return ERR_NOT_FOUND;
}

const char *sub_format_name(enum sub_format f)
{
    switch (f) {
    case SUB_FMT_AUTO:
        return "auto";
    case SUB_FMT_LINKS:
        return "links";
    case SUB_FMT_LINKS_PLAIN:
        return "plain";
    case SUB_FMT_CLASH_META:
        return "clash-meta";
    case SUB_FMT_STASH:
        return "stash";
    case SUB_FMT_CLASH_LEGACY:
        return "clash-legacy";
    case SUB_FMT_SINGBOX:
        return "sing-box";
    case SUB_FMT_XRAY_JSON:
        return "xray-json";
    case SUB_FMT_HTML:
        return "html";
    case SUB_FMT__COUNT:
        break;
    }
    return "unknown";
}

static bool token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int sub_parse_path(const char *path, size_t len, const char *prefix, struct sub_path *out)
{
    memset(out, 0, sizeof(*out));
    size_t pl = strlen(prefix);
    if (len < pl || memcmp(path, prefix, pl) != 0)
        return ERR_NOT_FOUND;
    const char *p = path + pl, *end = path + len;
    if (end > p && end[-1] == '/')
        end--; /* one trailing slash */
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *tend = slash ? slash : end;
    size_t tl = (size_t)(tend - p);
    if (tl < 16 || tl > 128)
        return ERR_NOT_FOUND;
    for (size_t i = 0; i < tl; i++)
        if (!token_char(p[i]))
            return ERR_NOT_FOUND;
    out->token = p;
    out->token_len = tl;
    out->format = SUB_FMT_AUTO;
    if (slash == NULL)
        return 0;
    const char *seg = slash + 1;
    size_t sl = (size_t)(end - seg);
    if (sl == 0 || memchr(seg, '/', sl) != NULL) {
        memset(out, 0, sizeof(*out));
        return ERR_NOT_FOUND;
    }
    if (sl == 4 && memcmp(seg, "info", 4) == 0) {
        out->info = true;
        return 0;
    }
    if (sub_format_from_name(seg, sl, &out->format) < 0) {
        memset(out, 0, sizeof(*out));
        return ERR_NOT_FOUND;
    }
    return 0;
}
