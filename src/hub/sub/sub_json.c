/* sing-box JSON and Xray JSON ("v2ray-json") subscriptions (spec/ecosystem.md §a.5). The
 * sing-box template uses the 1.11+ schema (rule actions, tun "address"), and leaves out "dns"
 * so the client's defaults apply across the 1.11 -> 1.12 DNS rewrite. */
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "hub/sub/sub_int.h"

#define TEST_URL "https://www.gstatic.com/generate_204"

/* Appends the serialisation of root to out and releases root (NULL means a build failure). */
static int dump(json_t *root, struct buf *out)
{
    if (root == NULL)
        return ERR_NOMEM;
    const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER;
    size_t n = json_dumpb(root, NULL, 0, flags);
    int rc = ERR_NOMEM;
    if (n > 0 && buf_reserve(out, n + 1) == 0 && json_dumpb(root, (char *)buf_tail(out), n, flags) == n) {
        buf_produce(out, n);
        rc = buf_append(out, "\n", 1);
    }
    json_decref(root);
    return rc;
}

static json_t *singbox_vless(const struct sub__ctx *c, const struct sub__entry *e)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "type", "vless", "tag", e->name, "server", e->address,
                          "server_port", (int)e->port, "uuid", c->uuid);
    if (o == NULL || !e->reality)
        return o;
    json_t *tls =
        json_pack("{s:b, s:s, s:{s:b, s:s}, s:{s:b, s:s, s:s}}", "enabled", 1, "server_name", e->sni, "utls", "enabled",
                  1, "fingerprint", e->fp, "reality", "enabled", 1, "public_key", e->pbk, "short_id", e->sid);
    bool ok = tls != NULL;
    if (ok && e->flow[0] != '\0')
        ok = json_object_set_new(o, "flow", json_string(e->flow)) == 0;
    ok = ok && json_object_set_new(o, "packet_encoding", json_string("xudp")) == 0;
    if (ok) {
        ok = json_object_set_new(o, "tls", tls) == 0;
        tls = NULL;
    }
    json_decref(tls);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *singbox_doc(const struct sub__ctx *c)
{
    bool autotest = c->n_entries > 0 && c->state == SUB_USER_ACTIVE;
    json_t *outbounds = json_array(), *sel = json_array(), *auto_list = json_array();
    bool ok = outbounds != NULL && sel != NULL && auto_list != NULL;
    if (ok && autotest)
        ok = json_array_append_new(sel, json_string("auto")) == 0;
    for (size_t i = 0; ok && i < c->n_entries; i++) {
        ok = json_array_append_new(sel, json_string(c->entries[i].name)) == 0 &&
             json_array_append_new(auto_list, json_string(c->entries[i].name)) == 0;
    }
    if (ok && c->n_entries == 0)
        ok = json_array_append_new(sel, json_string("direct")) == 0;
    json_t *selector = NULL;
    if (ok) {
        selector = json_pack("{s:s, s:s, s:O}", "type", "selector", "tag", "proxy", "outbounds", sel);
        ok = selector != NULL;
        const char *def = autotest ? "auto" : c->n_entries > 0 ? c->entries[0].name : "direct";
        ok = ok && json_object_set_new(selector, "default", json_string(def)) == 0;
        ok = ok && json_array_append(outbounds, selector) == 0;
    }
    if (ok && autotest) {
        json_t *ut = json_pack("{s:s, s:s, s:O, s:s, s:s, s:i}", "type", "urltest", "tag", "auto", "outbounds",
                               auto_list, "url", TEST_URL, "interval", "3m", "tolerance", 50);
        ok = ut != NULL && json_array_append_new(outbounds, ut) == 0;
    }
    for (size_t i = 0; ok && i < c->n_entries; i++)
        ok = json_array_append_new(outbounds, singbox_vless(c, &c->entries[i])) == 0;
    ok = ok && json_array_append_new(outbounds, json_pack("{s:s, s:s}", "type", "direct", "tag", "direct")) == 0;
    json_t *root = NULL;
    if (ok) {
        root = json_pack("{s:{s:s, s:b}, s:[{s:s, s:s, s:[s, s], s:b, s:b, s:s}, {s:s, s:s, s:s, s:i}], s:O, "
                         "s:{s:[{s:s}, {s:s, s:s}, {s:b, s:s}], s:s, s:b}}",
                         "log", "level", "warn", "timestamp", 1,                                         /* */
                         "inbounds", "type", "tun", "tag", "tun-in", "address", "172.19.0.1/30",         /* */
                         "fdfe:dcba:9876::1/126", "auto_route", 1, "strict_route", 1, "stack", "mixed",  /* */
                         "type", "mixed", "tag", "mixed-in", "listen", "127.0.0.1", "listen_port", 2080, /* */
                         "outbounds", outbounds,                                                         /* */
                         "route", "rules", "action", "sniff", "protocol", "dns", "action", "hijack-dns", /* */
                         "ip_is_private", 1, "outbound", "direct", "final", "proxy", "auto_detect_interface", 1);
    }
    json_decref(selector);
    json_decref(sel);
    json_decref(auto_list);
    json_decref(outbounds);
    return root;
}

int sub__singbox(const struct sub__ctx *c, struct buf *out)
{
    return dump(singbox_doc(c), out);
}

static json_t *xray_config(const struct sub__ctx *c, const struct sub__entry *e)
{
    json_t *stream;
    if (e->reality)
        stream = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "network", "tcp", "security", "reality",
                           "realitySettings", "serverName", e->sni, "fingerprint", e->fp, "publicKey", e->pbk,
                           "shortId", e->sid, "spiderX", e->spx);
    else
        stream = json_pack("{s:s, s:s}", "network", "tcp", "security", "none");
    json_t *user = json_pack("{s:s, s:s}", "id", c->uuid, "encryption", "none");
    if (user != NULL && e->flow[0] != '\0' && json_object_set_new(user, "flow", json_string(e->flow)) != 0) {
        json_decref(user);
        user = NULL;
    }
    if (stream == NULL || user == NULL) {
        json_decref(stream);
        json_decref(user);
        return NULL;
    }
    json_t *cfg = json_pack(
        "{s:s, s:{s:s}, "
        "s:[{s:s, s:i, s:s, s:s, s:{s:b, s:s}, s:{s:b, s:[s, s, s], s:b}}, {s:s, s:i, s:s, s:s}], "
        "s:[{s:s, s:s, s:{s:[{s:s, s:i, s:[O]}]}, s:O}, {s:s, s:s}, {s:s, s:s}], "
        "s:{s:s, s:[{s:s, s:[s], s:s}]}}",
        "remarks", e->name, "log", "loglevel", "warning",                                                /* */
        "inbounds", "tag", "socks", "port", 10808, "listen", "127.0.0.1", "protocol", "socks",           /* */
        "settings", "udp", 1, "auth", "noauth", "sniffing", "enabled", 1, "destOverride", "http", "tls", /* */
        "quic", "routeOnly", 1, "tag", "http", "port", 10809, "listen", "127.0.0.1", "protocol", "http", /* */
        "outbounds", "tag", "proxy", "protocol", "vless", "settings", "vnext", "address", e->address, "port",
        (int)e->port, "users", user, "streamSettings", stream, "tag", "direct", "protocol", "freedom", "tag", "block",
        "protocol", "blackhole", /* */
        "routing", "domainStrategy", "AsIs", "rules", "type", "field", "ip", "geoip:private", "outboundTag", "direct");
    json_decref(user);
    json_decref(stream);
    return cfg;
}

int sub__xray_json(const struct sub__ctx *c, struct buf *out)
{
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < c->n_entries; i++)
        ok = json_array_append_new(arr, xray_config(c, &c->entries[i])) == 0;
    if (!ok) {
        json_decref(arr);
        return ERR_NOMEM;
    }
    return dump(arr, out);
}
