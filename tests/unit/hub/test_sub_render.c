/* hub/sub: subscription rendering per format (spec/ecosystem.md §a.2–a.5). Golden files live in
 * tests/vectors/sub/; run with VEIL_UPDATE_GOLDEN=1 to rewrite them after an intended change.
 * Every output is also parsed back: links with ctl/vlink, JSON with jansson, YAML with a
 * line-structure check (tests/integration/test_sub_yaml.sh loads the YAML goldens with PyYAML). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "core/enc.h"
#include "core/err.h"
#include "ctl/vlink.h"
#include "hub/sub/sub.h"
#include "test_util.h"

#define UUID "b831381d-6324-4d53-ad4f-8cda48b30811"
#define PBK "2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y"
#define NOW 1790000000
#define DE_FLAG "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA"

static const struct sub_node fixture_nodes[] = {
    {.name = DE_FLAG " Frankfurt",
     .address = "203.0.113.10",
     .port = 443,
     .public_key = PBK,
     .short_id = "0123456789abcdef",
     .server_name = "www.example.com",
     .fingerprint = "chrome",
     .flow = "xtls-rprx-vision",
     .spider_x = "/"},
    {.name = "Helsinki", .address = "2001:db8::1", .port = 8443, .public_key = PBK}, /* all defaults */
    {.name = "Helsinki",
     .address = "hel2.example.net",
     .port = 443,
     .public_key = PBK,
     .short_id = "aa",
     .server_name = "cdn.example.org",
     .fingerprint = "firefox",
     .spider_x = "/path?x=1"},
};
#define N_NODES (sizeof(fixture_nodes) / sizeof(fixture_nodes[0]))

/* What each node must look like after defaults and name de-duplication. */
static const struct expect_node {
    const char *name, *address, *sni, *fp, *sid, *spx;
    uint16_t port;
} expect[] = {
    {DE_FLAG " Frankfurt", "203.0.113.10", "www.example.com", "chrome", "0123456789abcdef", "/", 443},
    {"Helsinki", "2001:db8::1", "2001:db8::1", "chrome", "", "/", 8443},
    {"Helsinki 2", "hel2.example.net", "cdn.example.org", "firefox", "aa", "/path?x=1", 443},
};

static struct sub_user fixture_user(void)
{
    return (struct sub_user){.uuid = UUID,
                             .name = "alice",
                             .upload = 1000,
                             .download = 5368709120ULL,
                             .total = 107374182400ULL,
                             .expire = NOW + 86400 * 30,
                             .state = SUB_USER_ACTIVE};
}

static struct sub_request fixture_req(const struct sub_user *u, enum sub_format f)
{
    return (struct sub_request){.format = f,
                                .user_agent = "test",
                                .now = NOW,
                                .user = u,
                                .nodes = fixture_nodes,
                                .n_nodes = N_NODES,
                                .profile_title = "Veil VPN",
                                .update_interval_hours = 12,
                                .support_url = "https://t.me/veil_support",
                                .web_page_url = "https://hub.example.com/sub/AbCdEfGhIjKlMnOp"};
}

static void render(const struct sub_request *req, struct sub_response *resp)
{
    int rc = sub_render(req, resp);
    if (rc != 0)
        fail_msg("sub_render: %s", err_str(rc));
    assert_int_equal(resp->status, 200);
    assert_non_null(resp->body);
    assert_int_equal(strlen(resp->body), resp->body_len);
}

/* Compares text with tests/vectors/sub/<name>, or rewrites the file under VEIL_UPDATE_GOLDEN. */
static void golden(const char *name, const char *text, size_t len)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "sub/%s", name);
    int rc = tu_golden(rel, text, len);
    if (rc < 0)
        fail_msg("golden file %s missing or unwritable (run with VEIL_UPDATE_GOLDEN=1)", tu_vectors(rel));
    if (rc > 0)
        fail_msg("%s differs from the rendered output:\n%.*s", tu_vectors(rel), (int)len, text);
}

static void golden_headers(const char *name, const struct sub_response *r)
{
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "content-type: %s\n", r->content_type);
    for (size_t i = 0; i < r->n_headers; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s: %s\n", r->headers[i].name, r->headers[i].value);
    assert_true(n < sizeof(buf));
    golden(name, buf, n);
}

/* ---- links ---- */

/* Splits the plain link list and parses every line with vlink; returns the count. */
static size_t parse_links(const char *text, struct vlink *out, size_t max)
{
    size_t n = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        assert_true(n < max);
        const char *why = NULL;
        if (vlink_parse(&out[n], p, len, &why) != 0)
            fail_msg("link %zu does not parse (%s): %.*s", n, why, (int)len, p);
        n++;
        p += len;
        if (*p == '\n')
            p++;
    }
    return n;
}

static void check_links(const char *plain)
{
    struct vlink l[8];
    size_t n = parse_links(plain, l, 8);
    assert_int_equal(n, N_NODES);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(l[i].id, UUID);
        assert_string_equal(l[i].host, expect[i].address);
        assert_int_equal(l[i].port, expect[i].port);
        assert_string_equal(l[i].security, "reality");
        assert_string_equal(l[i].encryption, "none");
        assert_string_equal(l[i].flow, "xtls-rprx-vision");
        assert_string_equal(l[i].sni, expect[i].sni);
        assert_string_equal(l[i].fp, expect[i].fp);
        assert_string_equal(l[i].pbk, PBK);
        assert_string_equal(l[i].sid, expect[i].sid);
        assert_string_equal(l[i].spx, expect[i].spx);
        assert_string_equal(l[i].type, "tcp");
        assert_string_equal(l[i].header_type, "none");
        assert_string_equal(l[i].remark, expect[i].name);
    }
}

static char *b64_to_text(const char *b64, size_t len)
{
    uint8_t *out = malloc(len + 1);
    assert_non_null(out);
    size_t n = 0;
    assert_int_equal(b64_decode(out, len + 1, &n, b64, len, B64_STD), 0);
    out[n] = '\0';
    return (char *)out;
}

static void test_links(void **state)
{
    (void)state;
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_LINKS);
    struct sub_response r;
    render(&req, &r);
    assert_int_equal(r.format, SUB_FMT_LINKS);
    assert_string_equal(r.content_type, "text/plain; charset=utf-8");
    golden("links_b64.txt", r.body, r.body_len);
    golden_headers("links_headers.txt", &r);
    char *plain = b64_to_text(r.body, r.body_len);
    check_links(plain);

    struct sub_response p;
    req.format = SUB_FMT_LINKS_PLAIN;
    render(&req, &p);
    assert_string_equal(p.body, plain);
    golden("links_plain.txt", p.body, p.body_len);
    assert_null(strchr(p.body, '\r'));
    free(plain);
    sub_response_dispose(&p);
    sub_response_dispose(&r);
    sub_response_dispose(&r); /* idempotent */
}

static void test_headers(void **state)
{
    (void)state;
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_LINKS);
    struct sub_response r;
    render(&req, &r);
    assert_string_equal(sub_response_header(&r, "subscription-userinfo"),
                        "upload=1000; download=5368709120; total=107374182400; expire=1792592000");
    assert_string_equal(sub_response_header(&r, "profile-title"), "Veil VPN");
    assert_string_equal(sub_response_header(&r, "profile-update-interval"), "12");
    assert_string_equal(sub_response_header(&r, "support-url"), "https://t.me/veil_support");
    assert_string_equal(sub_response_header(&r, "profile-web-page-url"),
                        "https://hub.example.com/sub/AbCdEfGhIjKlMnOp");
    assert_string_equal(sub_response_header(&r, "content-disposition"), "attachment; filename=\"Veil VPN\"");
    assert_string_equal(sub_response_header(&r, "cache-control"), "no-cache, no-store, must-revalidate");
    assert_null(sub_response_header(&r, "announce"));
    sub_response_dispose(&r);

    /* non-ASCII title: base64 form and RFC 5987 filename; unlimited, never expiring user;
     * optional headers omitted; announce passed through */
    u.total = 0;
    u.expire = 0;
    req.profile_title = "Вейл " DE_FLAG;
    req.update_interval_hours = 0;
    req.support_url = NULL;
    req.web_page_url = "";
    req.announce = "Maintenance tonight";
    render(&req, &r);
    assert_string_equal(sub_response_header(&r, "subscription-userinfo"),
                        "upload=1000; download=5368709120; total=0; expire=0");
    const char *t = sub_response_header(&r, "profile-title");
    assert_non_null(t);
    assert_memory_equal(t, "base64:", 7);
    char *dec = b64_to_text(t + 7, strlen(t + 7));
    assert_string_equal(dec, "Вейл " DE_FLAG);
    free(dec);
    assert_null(sub_response_header(&r, "profile-update-interval"));
    assert_null(sub_response_header(&r, "support-url"));
    assert_null(sub_response_header(&r, "profile-web-page-url"));
    assert_string_equal(sub_response_header(&r, "announce"), "Maintenance tonight");
    assert_string_equal(sub_response_header(&r, "content-disposition"),
                        "attachment; filename=\"____ __\"; "
                        "filename*=UTF-8''%D0%92%D0%B5%D0%B9%D0%BB%20%F0%9F%87%A9%F0%9F%87%AA");
    sub_response_dispose(&r);

    /* header injection: CR/LF in the title goes into base64, a URL with CR/LF is dropped */
    req.profile_title = "evil\r\nset-cookie: x=1";
    req.support_url = "https://x\r\nset-cookie: y";
    req.announce = "line1\nline2";
    render(&req, &r);
    for (size_t i = 0; i < r.n_headers; i++) {
        assert_null(strchr(r.headers[i].value, '\r'));
        assert_null(strchr(r.headers[i].value, '\n'));
    }
    assert_string_equal(sub_response_header(&r, "profile-title"), "evil??set-cookie: x=1");
    assert_memory_equal(sub_response_header(&r, "announce"), "base64:", 7);
    assert_null(sub_response_header(&r, "support-url"));
    sub_response_dispose(&r);
}

/* ---- YAML ---- */

/* Line-structure check of our mihomo YAML: top-level keys at column 0, list items "  - ",
 * proxy keys at 4 spaces, reality-opts children at 6; every data string is double-quoted; each
 * proxy has the keys a client needs. Returns the number of proxies. */
static size_t check_yaml_structure(const char *y, bool placeholder)
{
    static const char *const need[] = {"name",         "type", "server", "port",       "uuid",
                                       "network",      "udp",  "tls",    "servername", "client-fingerprint",
                                       "reality-opts", "flow"};
    size_t proxies = 0, keys_seen = 0, opts = 0;
    int section = 0; /* 1 proxies, 2 proxy-groups, 3 rules */
    char line[1024];
    const char *p = y;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends with '\n' */
        size_t len = (size_t)(nl - p);
        assert_true(len < sizeof(line));
        memcpy(line, p, len);
        line[len] = '\0';
        p = nl + 1;
        assert_null(strchr(line, '\t'));
        assert_true(len > 0);
        if (line[0] != ' ') {
            section = strncmp(line, "proxies:", 8) == 0         ? 1
                      : strncmp(line, "proxy-groups:", 13) == 0 ? 2
                      : strncmp(line, "rules:", 6) == 0         ? 3
                                                                : 0;
            assert_true(strstr(line, ": ") != NULL || line[len - 1] == ':'); /* "key: value" or "key:" */
            continue;
        }
        if (section != 1)
            continue;
        if (strncmp(line, "  - name: \"", 11) == 0) {
            if (proxies > 0 && !placeholder)
                assert_int_equal(keys_seen, sizeof(need) / sizeof(need[0]));
            proxies++;
            keys_seen = 1;
            opts = 0;
            continue;
        }
        if (strncmp(line, "      ", 6) == 0) {
            assert_true(strncmp(line + 6, "public-key: \"", 13) == 0 || strncmp(line + 6, "short-id: \"", 11) == 0);
            opts++;
            continue;
        }
        assert_true(strncmp(line, "    ", 4) == 0 && line[4] != ' ');
        for (size_t k = 1; k < sizeof(need) / sizeof(need[0]); k++) {
            size_t kl = strlen(need[k]);
            if (strncmp(line + 4, need[k], kl) == 0 && line[4 + kl] == ':')
                keys_seen++;
        }
        const char *v = strchr(line, ':');
        assert_non_null(v);
        v += 1;
        if (*v == '\0')
            continue; /* "reality-opts:" opens a mapping */
        assert_true(*v == ' ');
        v++;
        /* bare values are only our own literals */
        if (*v != '"')
            assert_true(strcmp(v, "vless") == 0 || strcmp(v, "tcp") == 0 || strcmp(v, "true") == 0 ||
                        strcmp(v, "false") == 0 || (v[0] >= '0' && v[0] <= '9'));
        else
            assert_int_equal(v[strlen(v) - 1], '"');
    }
    if (proxies > 0 && !placeholder) {
        assert_int_equal(keys_seen, sizeof(need) / sizeof(need[0]));
        assert_int_equal(opts, 2);
    }
    return proxies;
}

static void test_clash_meta(void **state)
{
    (void)state;
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_AUTO);
    req.user_agent = "mihomo/1.18.3";
    struct sub_response r;
    render(&req, &r);
    assert_int_equal(r.format, SUB_FMT_CLASH_META);
    assert_string_equal(r.content_type, "text/yaml; charset=utf-8");
    golden("clash_meta.yaml", r.body, r.body_len);
    golden_headers("clash_headers.txt", &r);
    assert_int_equal(check_yaml_structure(r.body, false), N_NODES);
    assert_non_null(strstr(r.body, "    server: \"2001:db8::1\"\n    port: 8443\n"));
    assert_non_null(strstr(r.body, "  - name: \"Helsinki 2\"\n"));
    assert_non_null(strstr(r.body, "      public-key: \"" PBK "\"\n      short-id: \"0123456789abcdef\"\n"));
    assert_non_null(strstr(r.body, "  - name: Auto\n    type: url-test\n"));
    assert_non_null(strstr(r.body, "  - MATCH,Proxy\n"));

    /* Stash gets the same document */
    struct sub_response s;
    req.user_agent = "Stash/2.4";
    render(&req, &s);
    assert_int_equal(s.format, SUB_FMT_STASH);
    assert_string_equal(s.body, r.body);
    sub_response_dispose(&s);
    sub_response_dispose(&r);

    /* legacy Clash cannot use VLESS: no proxies, DIRECT only */
    req.user_agent = "ClashForAndroid/2.5.12";
    render(&req, &r);
    assert_int_equal(r.format, SUB_FMT_CLASH_LEGACY);
    golden("clash_legacy.yaml", r.body, r.body_len);
    assert_int_equal(check_yaml_structure(r.body, false), 0);
    assert_non_null(strstr(r.body, "proxies: []\n"));
    assert_null(strstr(r.body, "vless"));
    sub_response_dispose(&r);
}

static void test_yaml_escaping(void **state)
{
    (void)state;
    struct sub_node n = fixture_nodes[0];
    n.name = "a\"b\\c\x01\x7f\xc2\x85\xe2\x80\xa8\xef\xbb\xbf\xff end";
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_CLASH_META);
    req.nodes = &n;
    req.n_nodes = 1;
    struct sub_response r;
    render(&req, &r);
    /* invalid UTF-8 and C0 controls were replaced while cleaning; the rest is escaped */
    assert_non_null(strstr(r.body, "  - name: \"a\\\"b\\\\c??\\x85\\L\\uFEFF? end\"\n"));
    assert_int_equal(check_yaml_structure(r.body, false), 1);
    sub_response_dispose(&r);

    /* the same name survives sing-box JSON */
    req.format = SUB_FMT_SINGBOX;
    render(&req, &r);
    json_error_t je;
    json_t *root = json_loads(r.body, 0, &je);
    assert_non_null(root);
    json_decref(root);
    sub_response_dispose(&r);
}

/* ---- sing-box ---- */

static json_t *find_tag(json_t *outbounds, const char *tag)
{
    size_t i;
    json_t *o;
    json_array_foreach(outbounds, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "tag")), tag) == 0)
            return o;
    }
    return NULL;
}

static const char *jstr(json_t *o, const char *path)
{
    json_t *v = o;
    char key[64];
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        memcpy(key, path, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        if (v == NULL)
            fail_msg("missing %s", key);
        path += n + (dot ? 1 : 0);
    }
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static bool jtrue(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(json_object_get(o, a), b);
    return json_is_true(v);
}

static void test_singbox(void **state)
{
    (void)state;
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_AUTO);
    req.user_agent = "SFA/1.11.4 (Android 14; sing-box 1.11.4)";
    struct sub_response r;
    render(&req, &r);
    assert_int_equal(r.format, SUB_FMT_SINGBOX);
    assert_string_equal(r.content_type, "application/json; charset=utf-8");
    golden("singbox.json", r.body, r.body_len);

    json_error_t je;
    json_t *root = json_loads(r.body, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        fail_msg("sing-box JSON: %s", je.text);
    json_t *outbounds = json_object_get(root, "outbounds");
    assert_true(json_is_array(outbounds));
    assert_int_equal(json_array_size(outbounds), 2 + N_NODES + 1);
    /* tags unique */
    for (size_t i = 0; i < json_array_size(outbounds); i++)
        for (size_t j = i + 1; j < json_array_size(outbounds); j++)
            assert_string_not_equal(jstr(json_array_get(outbounds, i), "tag"),
                                    jstr(json_array_get(outbounds, j), "tag"));
    json_t *sel = find_tag(outbounds, "proxy");
    assert_non_null(sel);
    assert_string_equal(jstr(sel, "type"), "selector");
    assert_string_equal(jstr(sel, "default"), "auto");
    assert_int_equal(json_array_size(json_object_get(sel, "outbounds")), N_NODES + 1);
    json_t *ut = find_tag(outbounds, "auto");
    assert_non_null(ut);
    assert_string_equal(jstr(ut, "type"), "urltest");
    assert_int_equal(json_array_size(json_object_get(ut, "outbounds")), N_NODES);
    for (size_t i = 0; i < N_NODES; i++) {
        json_t *o = find_tag(outbounds, expect[i].name);
        if (o == NULL)
            fail_msg("no outbound %s", expect[i].name);
        assert_string_equal(json_string_value(json_array_get(json_object_get(sel, "outbounds"), i + 1)),
                            expect[i].name);
        assert_string_equal(jstr(o, "type"), "vless");
        assert_string_equal(jstr(o, "server"), expect[i].address);
        assert_int_equal(json_integer_value(json_object_get(o, "server_port")), expect[i].port);
        assert_string_equal(jstr(o, "uuid"), UUID);
        assert_string_equal(jstr(o, "flow"), "xtls-rprx-vision");
        assert_string_equal(jstr(o, "packet_encoding"), "xudp");
        assert_null(json_object_get(o, "transport"));
        assert_null(json_object_get(o, "multiplex"));
        json_t *tls = json_object_get(o, "tls");
        assert_true(json_is_true(json_object_get(tls, "enabled")));
        assert_string_equal(jstr(tls, "server_name"), expect[i].sni);
        assert_true(jtrue(tls, "utls", "enabled"));
        assert_string_equal(jstr(tls, "utls.fingerprint"), expect[i].fp);
        assert_true(jtrue(tls, "reality", "enabled"));
        assert_string_equal(jstr(tls, "reality.public_key"), PBK);
        assert_string_equal(jstr(tls, "reality.short_id"), expect[i].sid);
    }
    assert_non_null(find_tag(outbounds, "direct"));
    json_t *route = json_object_get(root, "route");
    assert_string_equal(jstr(route, "final"), "proxy");
    json_t *inb = json_object_get(root, "inbounds");
    assert_string_equal(jstr(json_array_get(inb, 0), "type"), "tun");
    assert_string_equal(jstr(json_array_get(inb, 1), "type"), "mixed");
    json_decref(root);
    sub_response_dispose(&r);
}

static void test_xray_json(void **state)
{
    (void)state;
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_AUTO);
    req.user_agent = "v2rayN/6.45";
    req.xray_json = true;
    struct sub_response r;
    render(&req, &r);
    assert_int_equal(r.format, SUB_FMT_XRAY_JSON);
    golden("xray.json", r.body, r.body_len);
    json_error_t je;
    json_t *root = json_loads(r.body, JSON_REJECT_DUPLICATES, &je);
    assert_non_null(root);
    assert_int_equal(json_array_size(root), N_NODES);
    for (size_t i = 0; i < N_NODES; i++) {
        json_t *cfg = json_array_get(root, i);
        assert_string_equal(jstr(cfg, "remarks"), expect[i].name);
        json_t *ob = json_array_get(json_object_get(cfg, "outbounds"), 0);
        assert_string_equal(jstr(ob, "protocol"), "vless");
        assert_string_equal(jstr(ob, "tag"), "proxy");
        json_t *vnext = json_array_get(json_object_get(json_object_get(ob, "settings"), "vnext"), 0);
        assert_string_equal(jstr(vnext, "address"), expect[i].address);
        assert_int_equal(json_integer_value(json_object_get(vnext, "port")), expect[i].port);
        json_t *user = json_array_get(json_object_get(vnext, "users"), 0);
        assert_string_equal(jstr(user, "id"), UUID);
        assert_string_equal(jstr(user, "encryption"), "none");
        assert_string_equal(jstr(user, "flow"), "xtls-rprx-vision");
        json_t *ss = json_object_get(ob, "streamSettings");
        assert_string_equal(jstr(ss, "network"), "tcp");
        assert_string_equal(jstr(ss, "security"), "reality");
        assert_string_equal(jstr(ss, "realitySettings.serverName"), expect[i].sni);
        assert_string_equal(jstr(ss, "realitySettings.fingerprint"), expect[i].fp);
        assert_string_equal(jstr(ss, "realitySettings.publicKey"), PBK);
        assert_string_equal(jstr(ss, "realitySettings.shortId"), expect[i].sid);
        assert_string_equal(jstr(ss, "realitySettings.spiderX"), expect[i].spx);
    }
    json_decref(root);
    sub_response_dispose(&r);
}

/* ---- inactive users ---- */

static void check_placeholder_links(const struct sub_response *r, const char *reason)
{
    char *plain = b64_to_text(r->body, r->body_len);
    struct vlink l[2];
    assert_int_equal(parse_links(plain, l, 2), 1);
    assert_string_equal(l[0].host, "0.0.0.0");
    assert_int_equal(l[0].port, 1);
    assert_string_equal(l[0].id, "00000000-0000-0000-0000-000000000000");
    assert_string_equal(l[0].security, "none");
    assert_string_equal(l[0].remark, reason);
    assert_null(strstr(plain, UUID)); /* the real id is not handed out */
    free(plain);
    assert_string_equal(sub_response_header(r, "announce"), reason);
}

static void test_inactive(void **state)
{
    (void)state;
    struct sub_response r;
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_LINKS);

    u.expire = NOW; /* expire <= now */
    render(&req, &r);
    check_placeholder_links(&r, "Subscription expired");
    golden("expired_links_b64.txt", r.body, r.body_len);
    golden_headers("expired_headers.txt", &r);
    sub_response_dispose(&r);

    u = fixture_user();
    u.upload = u.total / 2;
    u.download = u.total - u.upload;
    render(&req, &r);
    check_placeholder_links(&r, "Traffic limit reached");
    sub_response_dispose(&r);

    u = fixture_user();
    u.upload = UINT64_MAX; /* no overflow in upload + download */
    u.download = UINT64_MAX;
    render(&req, &r);
    check_placeholder_links(&r, "Traffic limit reached");
    sub_response_dispose(&r);

    u = fixture_user();
    u.state = SUB_USER_DISABLED;
    render(&req, &r);
    check_placeholder_links(&r, "Subscription disabled");
    sub_response_dispose(&r);

    u = fixture_user();
    u.state = SUB_USER_EXPIRED;
    req.announce = "Renew in the bot: @veil_bot";
    render(&req, &r);
    assert_string_equal(sub_response_header(&r, "announce"), "Renew in the bot: @veil_bot");
    sub_response_dispose(&r);

    /* the placeholder in every structured format */
    req.announce = NULL;
    req.format = SUB_FMT_CLASH_META;
    render(&req, &r);
    golden("expired_clash.yaml", r.body, r.body_len);
    assert_int_equal(check_yaml_structure(r.body, true), 1);
    assert_non_null(strstr(r.body, "  - name: \"Subscription expired\"\n    type: vless\n    server: \"0.0.0.0\"\n"));
    assert_null(strstr(r.body, "url-test"));
    assert_null(strstr(r.body, UUID));
    sub_response_dispose(&r);

    req.format = SUB_FMT_SINGBOX;
    render(&req, &r);
    golden("expired_singbox.json", r.body, r.body_len);
    json_error_t je;
    json_t *root = json_loads(r.body, 0, &je);
    assert_non_null(root);
    json_t *ph = find_tag(json_object_get(root, "outbounds"), "Subscription expired");
    assert_non_null(ph);
    assert_string_equal(jstr(ph, "server"), "0.0.0.0");
    assert_null(json_object_get(ph, "tls"));
    assert_string_equal(jstr(find_tag(json_object_get(root, "outbounds"), "proxy"), "default"), "Subscription expired");
    json_decref(root);
    sub_response_dispose(&r);

    req.format = SUB_FMT_XRAY_JSON;
    render(&req, &r);
    root = json_loads(r.body, 0, &je);
    assert_non_null(root);
    assert_int_equal(json_array_size(root), 1);
    assert_string_equal(jstr(json_array_get(root, 0), "remarks"), "Subscription expired");
    json_decref(root);
    sub_response_dispose(&r);
}

static void test_no_nodes(void **state)
{
    (void)state;
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_LINKS);
    req.n_nodes = 0;
    req.nodes = NULL;
    struct sub_response r;
    render(&req, &r);
    assert_int_equal(r.body_len, 0);
    sub_response_dispose(&r);
    req.format = SUB_FMT_CLASH_META;
    render(&req, &r);
    assert_non_null(strstr(r.body, "proxies: []\n"));
    assert_non_null(strstr(r.body, "      - DIRECT\n"));
    sub_response_dispose(&r);
    req.format = SUB_FMT_SINGBOX;
    render(&req, &r);
    json_t *root = json_loads(r.body, 0, NULL);
    assert_non_null(root);
    assert_string_equal(jstr(find_tag(json_object_get(root, "outbounds"), "proxy"), "default"), "direct");
    json_decref(root);
    sub_response_dispose(&r);
}

static void test_render_errors(void **state)
{
    (void)state;
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(NULL, SUB_FMT_LINKS);
    struct sub_response r;
    assert_int_equal(sub_render(&req, &r), ERR_MALFORMED);
    assert_null(r.body);
    assert_int_equal(r.n_headers, 0);
    req.user = &u;
    u.uuid = NULL;
    assert_int_equal(sub_render(&req, &r), ERR_MALFORMED);
    u.uuid = "has space";
    assert_int_equal(sub_render(&req, &r), ERR_MALFORMED);
    u = fixture_user();
    struct sub_node bad[2] = {fixture_nodes[0], fixture_nodes[1]};
    req.nodes = bad;
    req.n_nodes = 2;
    bad[1].public_key = NULL;
    assert_int_equal(sub_render(&req, &r), ERR_MALFORMED);
    bad[1] = fixture_nodes[1];
    bad[1].port = 0;
    assert_int_equal(sub_render(&req, &r), ERR_MALFORMED);
    bad[1] = fixture_nodes[1];
    bad[1].server_name = "a\"b";
    assert_int_equal(sub_render(&req, &r), ERR_MALFORMED);
    bad[1] = fixture_nodes[1];
    bad[1].address = "";
    assert_int_equal(sub_render(&req, &r), ERR_MALFORMED);
    assert_null(r.body);
    /* an out-of-range format falls back to detection */
    bad[1] = fixture_nodes[1];
    req.format = (enum sub_format)99;
    req.user_agent = "mihomo";
    assert_int_equal(sub_render(&req, &r), 0);
    assert_int_equal(r.format, SUB_FMT_CLASH_META);
    sub_response_dispose(&r);
}

static void test_info(void **state)
{
    (void)state;
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_AUTO);
    req.profile_title = "T\xff";
    struct sub_response r;
    assert_int_equal(sub_render_info(&req, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json; charset=utf-8");
    json_t *j = json_loads(r.body, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    assert_string_equal(jstr(j, "title"), "T?");
    assert_string_equal(jstr(j, "status"), "active");
    assert_int_equal(json_integer_value(json_object_get(j, "download")), 5368709120LL);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 107374182400LL);
    assert_int_equal(json_integer_value(json_object_get(j, "expire")), NOW + 86400 * 30);
    json_t *links = json_object_get(j, "links");
    assert_int_equal(json_array_size(links), N_NODES);
    struct vlink l;
    const char *s0 = json_string_value(json_array_get(links, 2));
    assert_int_equal(vlink_parse(&l, s0, strlen(s0), NULL), 0);
    assert_string_equal(l.remark, "Helsinki 2");
    json_decref(j);
    sub_response_dispose(&r);

    u.state = SUB_USER_DISABLED;
    assert_int_equal(sub_render_info(&req, &r), 0);
    j = json_loads(r.body, 0, NULL);
    assert_string_equal(jstr(j, "status"), "disabled");
    assert_int_equal(json_array_size(json_object_get(j, "links")), 0);
    json_decref(j);
    sub_response_dispose(&r);

    req.user = NULL;
    assert_int_equal(sub_render_info(&req, &r), ERR_MALFORMED);
    assert_null(r.body);
}

/* Names that collide with template group names are renamed. */
static void test_reserved_names(void **state)
{
    (void)state;
    struct sub_node n[3] = {fixture_nodes[0], fixture_nodes[0], fixture_nodes[0]};
    n[0].name = "Proxy";
    n[1].name = "direct";
    n[2].name = NULL; /* falls back to the address */
    struct sub_user u = fixture_user();
    struct sub_request req = fixture_req(&u, SUB_FMT_SINGBOX);
    req.nodes = n;
    req.n_nodes = 3;
    struct sub_response r;
    render(&req, &r);
    json_t *root = json_loads(r.body, 0, NULL);
    json_t *ob = json_object_get(root, "outbounds");
    assert_non_null(find_tag(ob, "Proxy 2"));
    assert_non_null(find_tag(ob, "direct 2"));
    assert_non_null(find_tag(ob, "203.0.113.10"));
    json_decref(root);
    sub_response_dispose(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links),          cmocka_unit_test(test_headers),  cmocka_unit_test(test_clash_meta),
        cmocka_unit_test(test_yaml_escaping),  cmocka_unit_test(test_singbox),  cmocka_unit_test(test_xray_json),
        cmocka_unit_test(test_inactive),       cmocka_unit_test(test_no_nodes), cmocka_unit_test(test_render_errors),
        cmocka_unit_test(test_reserved_names), cmocka_unit_test(test_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
