/* node/config: a valid Xray-style server config and many broken variants, each with its exact
 * message; the real-capture setups rewritten as server configs; refcounting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/enc.h"
#include "nodecfg/config.h"
#include "test_util.h"

static const char base_cfg[] =
    "{\"log\": {\"loglevel\": \"info\", \"access\": \"none\"},"
    " \"inbounds\": [{"
    "  \"tag\": \"vless-reality\", \"listen\": \"0.0.0.0\", \"port\": 443, \"protocol\": \"vless\","
    "  \"settings\": {"
    "   \"clients\": ["
    "    {\"id\": \"b831381d-6324-4d53-ad4f-8cda48b30811\", \"flow\": \"xtls-rprx-vision\","
    "     \"email\": \"alice@example\", \"level\": 0},"
    "    {\"id\": \"hello\", \"email\": \"bob@example\"}"
    "   ],"
    "   \"decryption\": \"none\", \"fallbacks\": []},"
    "  \"streamSettings\": {"
    "   \"network\": \"raw\", \"security\": \"reality\","
    "   \"realitySettings\": {"
    "    \"show\": false, \"target\": \"www.example.com:443\", \"xver\": 0,"
    "    \"serverNames\": [\"www.example.com\"],"
    "    \"privateKey\": \"EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8\","
    "    \"minClientVer\": \"\", \"maxClientVer\": \"\", \"maxTimeDiff\": 0,"
    "    \"shortIds\": [\"\", \"0123456789abcdef\"], \"mldsa65Seed\": \"\","
    "    \"limitFallbackUpload\": {\"afterBytes\": 0, \"bytesPerSec\": 0, \"burstBytesPerSec\": 0},"
    "    \"limitFallbackDownload\": {\"afterBytes\": 1048576, \"bytesPerSec\": 65536, \"burstBytesPerSec\": 131072}"
    "   },"
    "   \"rawSettings\": {\"acceptProxyProtocol\": false}"
    "  }"
    " }],"
    " \"outbounds\": [{\"protocol\": \"freedom\", \"tag\": \"direct\"},"
    "               {\"protocol\": \"blackhole\", \"tag\": \"block\"}],"
    " \"routing\": {\"rules\": [{\"type\": \"field\", \"ip\": [\"geoip:private\"], \"outboundTag\": \"block\"}]}"
    "}";

/* Loads text; returns the config or NULL, leaving messages in *c (caller disposes). */
static struct node_cfg *load_text(struct cfg_ctx *c, const char *text)
{
    cfg_init(c, "node.json");
    return node_cfg_load(c, text, strlen(text));
}

/* Sets (or deletes when value is NULL) the member at a dotted path ("inbounds.0.port") of the
 * base config and returns the new text (caller frees). */
static char *patched_from(const char *base, const char *path, const char *value)
{
    json_t *root = json_loads(base, 0, NULL);
    assert_non_null(root);
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = root;
    char *save = NULL;
    char *tok = strtok_r(buf, ".", &save);
    for (;;) {
        char *next = strtok_r(NULL, ".", &save);
        if (next == NULL)
            break;
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(tok)) : json_object_get(cur, tok);
        assert_non_null(cur);
        tok = next;
    }
    if (value == NULL) {
        if (json_is_array(cur))
            json_array_remove(cur, (size_t)atoi(tok));
        else
            json_object_del(cur, tok);
    } else {
        json_error_t je;
        json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
        if (v == NULL)
            fail_msg("bad test value %s: %s", value, je.text);
        if (json_is_array(cur) && (size_t)atoi(tok) == json_array_size(cur))
            json_array_append_new(cur, v);
        else if (json_is_array(cur))
            json_array_set_new(cur, (size_t)atoi(tok), v);
        else
            json_object_set_new(cur, tok, v);
    }
    char *out = json_dumps(root, 0);
    json_decref(root);
    return out;
}

static char *patched(const char *path, const char *value)
{
    return patched_from(base_cfg, path, value);
}

static bool has_msg(const struct cfg_ctx *c, enum cfg_severity sev, const char *text)
{
    for (size_t i = 0; i < c->n_msgs; i++)
        if (c->msgs[i].sev == sev && strcmp(c->msgs[i].text, text) == 0)
            return true;
    return false;
}

static void dump_msgs(const struct cfg_ctx *c)
{
    for (size_t i = 0; i < c->n_msgs; i++)
        fprintf(stderr, "  [%s] %s\n", c->msgs[i].sev == CFG_SEV_ERROR ? "E" : "W", c->msgs[i].text);
}

/* Applies one patch and expects failure with exactly this error among the messages. */
static void expect_error(const char *path, const char *value, const char *msg)
{
    char *text = patched(path, value);
    struct cfg_ctx c;
    struct node_cfg *cfg = load_text(&c, text);
    if (cfg != NULL || !has_msg(&c, CFG_SEV_ERROR, msg)) {
        dump_msgs(&c);
        fail_msg("patch %s=%s: expected error \"%s\"", path, value ? value : "(deleted)", msg);
    }
    cfg_dispose(&c);
    free(text);
}

/* Applies one patch and expects success with this warning. */
static void expect_warning(const char *path, const char *value, const char *msg)
{
    char *text = patched(path, value);
    struct cfg_ctx c;
    struct node_cfg *cfg = load_text(&c, text);
    if (cfg == NULL || !has_msg(&c, CFG_SEV_WARNING, msg)) {
        dump_msgs(&c);
        fail_msg("patch %s=%s: expected warning \"%s\"", path, value ? value : "(deleted)", msg);
    }
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    free(text);
}

static struct node_cfg *expect_ok(const char *path, const char *value, struct cfg_ctx *c)
{
    char *text = patched(path, value);
    struct node_cfg *cfg = load_text(c, text);
    free(text);
    if (cfg == NULL) {
        dump_msgs(c);
        fail_msg("patch %s=%s: expected success", path, value ? value : "(deleted)");
    }
    return cfg;
}

#define IB "inbounds.0."
#define ST "inbounds.0.settings."
#define SS "inbounds.0.streamSettings."
#define RS "inbounds.0.streamSettings.realitySettings."
#define PFX "node.json: inbounds[0]."
#define RPFX "node.json: inbounds[0].streamSettings.realitySettings."

static void test_valid_base(void **state)
{
    struct cfg_ctx c;
    struct node_cfg *cfg = load_text(&c, base_cfg);
    if (cfg == NULL)
        dump_msgs(&c);
    assert_non_null(cfg);
    assert_int_equal(c.n_errors, 0);
    assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
    assert_null(cfg->access_log); /* "none" */
    assert_int_equal(cfg->n_inbounds, 1);
    const struct node_inbound *in = &cfg->inbounds[0];
    assert_string_equal(in->tag, "vless-reality");
    assert_string_equal(in->listen, "0.0.0.0");
    assert_int_equal(in->port, 443);
    assert_int_equal(in->n_users, 2);
    char u[UUID_STR_LEN + 1];
    uuid_format(u, in->users[0].id);
    assert_string_equal(u, "b831381d-6324-4d53-ad4f-8cda48b30811");
    assert_int_equal(in->users[0].flow, NODE_FLOW_VISION);
    assert_string_equal(in->users[0].email, "alice@example");
    uuid_format(u, in->users[1].id);
    assert_string_equal(u, "b7502f40-1152-59f2-ba10-69aeed522cdf");
    assert_string_equal(in->users[1].id_text, "hello");
    assert_int_equal(in->users[1].flow, NODE_FLOW_NONE);
    assert_int_equal(in->users[1].testseed[0], 900);
    assert_int_equal(in->users[1].testseed[3], 256);
    assert_string_equal(in->target_host, "www.example.com");
    assert_int_equal(in->target_port, 443);
    assert_int_equal(in->n_server_names, 1);
    assert_string_equal(in->server_names[0], "www.example.com");
    char pub[64];
    b64_encode(pub, in->public_key, 32, B64_RAW_URL);
    assert_string_equal(pub, "2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y");
    assert_int_equal(in->n_short_ids, 2);
    assert_memory_equal(in->short_ids[0], "\0\0\0\0\0\0\0\0", 8);
    assert_memory_equal(in->short_ids[1], "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    assert_false(in->has_min_client_ver);
    assert_int_equal(in->fallback_download.after_bytes, 1048576);
    assert_int_equal(in->fallback_download.bytes_per_sec, 65536);
    assert_int_equal(in->fallback_download.burst_bytes_per_sec, 131072);
    assert_false(cfg->allow_private_destinations);
    assert_int_equal(cfg->dial_order, NODE_DIAL_ORDER_IPV4_FIRST);
    assert_int_equal(cfg->handshake_timeout_ms, 4000);
    assert_int_equal(cfg->idle_timeout_sec, 300);

    const struct node_inbound *fin = NULL;
    assert_ptr_equal(node_cfg_find_user(cfg, "ALICE@example", &fin), &in->users[0]);
    assert_ptr_equal(fin, in);
    assert_ptr_equal(node_cfg_find_user(cfg, "b7502f40-1152-59f2-ba10-69aeed522cdf", NULL), &in->users[1]);
    assert_ptr_equal(node_cfg_find_user(cfg, "hello", NULL), &in->users[1]);
    assert_null(node_cfg_find_user(cfg, "carol", NULL));

    struct node_cfg *r = node_cfg_ref(cfg);
    node_cfg_unref(cfg);
    node_cfg_unref(r);
    node_cfg_unref(NULL);
    cfg_dispose(&c);
}

static void test_variants_ok(void **state)
{
    struct cfg_ctx c;
    struct node_cfg *cfg;

    cfg = expect_ok(RS "target", "8443", &c);
    assert_string_equal(cfg->inbounds[0].target_host, "localhost");
    assert_int_equal(cfg->inbounds[0].target_port, 8443);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    /* "dest" alias, IPv6 target, string port, "tcp" network, "users" alias */
    char *t1 = patched(RS "target", NULL);
    json_t *j = json_loads(t1, 0, NULL);
    free(t1);
    json_t *rs = json_object_get(json_object_get(json_array_get(json_object_get(j, "inbounds"), 0), "streamSettings"),
                                 "realitySettings");
    json_object_set_new(rs, "dest", json_string("[2001:db8::1]:443"));
    json_t *ib = json_array_get(json_object_get(j, "inbounds"), 0);
    json_object_set_new(ib, "port", json_string("443"));
    json_t *st = json_object_get(ib, "settings");
    json_object_set(st, "users", json_object_get(st, "clients"));
    json_object_del(st, "clients");
    json_object_set_new(json_object_get(ib, "streamSettings"), "network", json_string("tcp"));
    char *text = json_dumps(j, 0);
    json_decref(j);
    cfg = load_text(&c, text);
    free(text);
    if (cfg == NULL)
        dump_msgs(&c);
    assert_non_null(cfg);
    assert_string_equal(cfg->inbounds[0].target_host, "2001:db8::1");
    assert_int_equal(cfg->inbounds[0].n_users, 2);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    cfg = expect_ok(RS "minClientVer", "\"25.9\"", &c);
    assert_true(cfg->inbounds[0].has_min_client_ver);
    assert_int_equal(cfg->inbounds[0].min_client_ver, 25 << 16 | 9 << 8);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    cfg = expect_ok(ST "flow", "\"xtls-rprx-vision\"", &c);
    assert_int_equal(cfg->inbounds[0].users[1].flow, NODE_FLOW_VISION);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    cfg = expect_ok("veil",
                    "{\"workers\": 4, \"allowPrivateDestinations\": true, \"dialTimeoutMs\": 3000,"
                    "\"dnsServers\": [\"1.1.1.1\", \"[2606:4700::1111]:53\"], \"dialOrder\": \"ipv6First\","
                    "\"idleTimeoutSec\": 60, \"adminListen\": \"127.0.0.1:9090\","
                    "\"metricsListen\": \"[::1]:9100\","
                    "\"adminToken\": \"0123456789abcdef0123\","
                    "\"stateDir\": \"/var/lib/veil\"}",
                    &c);
    assert_int_equal(cfg->workers, 4);
    assert_true(cfg->allow_private_destinations);
    assert_int_equal(cfg->dial_timeout_ms, 3000);
    assert_int_equal(cfg->n_dns_servers, 2);
    assert_string_equal(cfg->dns_servers[1], "[2606:4700::1111]:53");
    assert_int_equal(cfg->dial_order, NODE_DIAL_ORDER_IPV6_FIRST);
    assert_int_equal(cfg->idle_timeout_sec, 60);
    assert_string_equal(cfg->admin_listen, "127.0.0.1:9090");
    assert_string_equal(cfg->metrics_listen, "[::1]:9100");
    assert_string_equal(cfg->state_dir, "/var/lib/veil");
    assert_string_equal(cfg->admin_token, "0123456789abcdef0123");
    assert_null(cfg->hub_url);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    cfg = expect_ok("policy",
                    "{\"levels\": {\"0\": {\"handshake\": 8, \"connIdle\": 120, \"uplinkOnly\": 2,"
                    "\"downlinkOnly\": 5, \"statsUserUplink\": true}},"
                    "\"system\": {\"statsInboundUplink\": true}}",
                    &c);
    assert_int_equal(cfg->handshake_timeout_ms, 8000);
    assert_int_equal(cfg->idle_timeout_sec, 120);
    assert_int_equal(cfg->uplink_only_sec, 2);
    assert_int_equal(cfg->downlink_only_sec, 5);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    cfg = expect_ok("outbounds.0.settings", "{\"domainStrategy\": \"UseIPv4\"}", &c);
    assert_int_equal(cfg->dial_order, NODE_DIAL_ORDER_IPV4_ONLY);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    cfg = expect_ok("dns", "{\"servers\": [\"8.8.8.8\"]}", &c);
    assert_int_equal(cfg->n_dns_servers, 1);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    /* a 3x-ui style sockopt with every option at its default */
    cfg = expect_ok(SS "sockopt",
                    "{\"acceptProxyProtocol\": true, \"tcpFastOpen\": false, \"mark\": 0, \"tproxy\": \"off\","
                    " \"tcpMptcp\": false, \"tcpNoDelay\": false, \"domainStrategy\": \"AsIs\", \"dialerProxy\": \"\","
                    " \"tcpKeepAliveInterval\": 0, \"tcpKeepAliveIdle\": 0, \"tcpUserTimeout\": 0,"
                    " \"tcpcongestion\": \"\", \"V6Only\": false, \"tcpWindowClamp\": 0, \"interface\": \"\","
                    " \"tcpMaxSeg\": 0, \"customSockopt\": []}",
                    &c);
    assert_true(cfg->inbounds[0].accept_proxy_protocol);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    /* no outbounds / routing at all */
    cfg = expect_ok(IB "allocate", "{\"strategy\": \"always\", \"refresh\": 5, \"concurrency\": 3}", &c);
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    cfg = expect_ok("routing", NULL, &c);
    node_cfg_unref(cfg);
    cfg_dispose(&c);
}

static void test_errors_inbound(void **state)
{
    expect_error("inbounds", "[]", "node.json: inbounds: at least one VLESS + REALITY inbound is required");
    expect_error("inbounds", NULL, "node.json: inbounds: at least one VLESS + REALITY inbound is required");
    expect_error("inbounds", "{}", "node.json: inbounds: expected an array, got an object");
    expect_error("inbounds.0", "3", "node.json: inbounds[0]: expected an object, got an integer");
    expect_error(IB "protocol", "\"vmess\"",
                 PFX "protocol: \"vmess\" is not supported: veil-node serves VLESS + REALITY only");
    expect_error(IB "protocol", NULL, PFX "protocol: is required (\"vless\")");
    expect_error(IB "port", "0", PFX "port: must be between 1 and 65535");
    expect_error(IB "port", "65536", PFX "port: must be between 1 and 65535");
    expect_error(IB "port", "\"1000-2000\"", PFX "port: port ranges and lists are not supported");
    expect_error(IB "port", "\"https\"", PFX "port: expected an integer, got \"https\"");
    expect_error(IB "port", "true", PFX "port: expected an integer, got a boolean");
    expect_error(IB "port", NULL, PFX "port: is required");
    expect_error(IB "listen", "\"/run/xray.sock\"",
                 PFX "listen: Unix socket listeners are not supported; use an IP address");
    expect_error(IB "listen", "\"example.com\"",
                 PFX "listen: must be an IP address or \"localhost\", got "
                     "\"example.com\"");
    expect_error(IB "allocate", "{\"strategy\": \"random\"}",
                 PFX "allocate.strategy: only \"always\" is supported (the port is fixed)");
    expect_error(IB "allocate", "{\"size\": 1}", PFX "allocate.size: unknown field");
    expect_error(IB "fallback", "{}", PFX "fallback: unknown field");
    expect_error(IB "settings", NULL, PFX "settings: is required (clients and \"decryption\": \"none\")");
    expect_error(IB "streamSettings", NULL,
                 PFX "streamSettings: is required (\"security\": \"reality\" with \"realitySettings\")");
}

static void test_errors_settings(void **state)
{
    expect_error(ST "decryption", NULL,
                 PFX "settings.decryption: is required: please add/set \"decryption\": \"none\"");
    expect_error(ST "decryption", "\"\"",
                 PFX "settings.decryption: is required: please add/set \"decryption\": \"none\"");
    expect_error(ST "decryption", "\"mlkem768x25519plus.native.0rtt.abc\"",
                 PFX "settings.decryption: VLESS Encryption is not supported; set \"none\"");
    expect_error(ST "fallbacks", "[{\"dest\": 80}]",
                 PFX "settings.fallbacks: VLESS fallbacks are not supported (REALITY already forwards "
                     "unauthenticated clients to \"target\")");
    expect_error(ST "flow", "\"xtls-rprx-direct\"",
                 PFX "settings.flow: must be \"\" or \"xtls-rprx-vision\", got \"xtls-rprx-direct\"");
    expect_error(ST "testseed", "[1,2,3]", PFX "settings.testseed: must hold exactly 4 numbers");
    expect_error(ST "testseed", "[900,500,900,255]",
                 PFX "settings.testseed: custom Vision padding is not supported yet; remove it or use [900, 500, 900, "
                     "256]");
    expect_error(ST "clients.0.testseed", "[1,2,3,4]",
                 PFX "settings.clients[0].testseed: custom Vision padding is not supported yet; remove it or use [900, "
                     "500, 900, 256]");
    expect_error(ST "testseed", "[1,2,3,-4]", PFX "settings.testseed[3]: expected an integer between 0 and 4294967295");
    expect_error(ST "clients.0.id", "5", PFX "settings.clients[0].id: expected a string, got an integer");
    expect_error(ST "clients.0.id", NULL, PFX "settings.clients[0].id: is required");
    expect_error(ST "clients.1.id", "\"0123456789012345678901234567890\"",
                 PFX "settings.clients[1].id: must be a UUID or a string of 1 to 30 bytes");
    expect_error(ST "clients.1.id", "\"\"", PFX "settings.clients[1].id: must be a UUID or a string of 1 to 30 bytes");
    expect_error(ST "clients.1.id", "\"zzzzzzzz-6324-4d53-ad4f-8cda48b30811\"",
                 PFX "settings.clients[1].id: must be a UUID or a string of 1 to 30 bytes");
    expect_error(ST "clients.0.flow", "\"xtls-rprx-vision-udp443\"",
                 PFX "settings.clients[0].flow: \"xtls-rprx-vision-udp443\" is a client-side flow; use "
                     "\"xtls-rprx-vision\"");
    expect_error(ST "clients.0.encryption", "\"none\"",
                 PFX "settings.clients[0].encryption: must not appear in an inbound user (it is a client-side "
                     "setting)");
    expect_error(ST "clients.0.limitIp", "2", PFX "settings.clients[0].limitIp: unknown field");
    expect_error(ST "clients.0.level", "-1", PFX "settings.clients[0].level: must be between 0 and 4294967295");
    expect_error(ST "clients.1.email", "\"ALICE@example\"",
                 PFX "settings.clients[1].email: duplicate of clients[0].email (emails are unique ignoring case)");
    /* same id except bytes 6-7 */
    expect_error(ST "clients.1.id", "\"b831381d-6324-ffff-ad4f-8cda48b30811\"",
                 PFX "settings.clients[1].id: duplicate of clients[0].id (ids differing only in bytes 6-7 are the "
                     "same user)");
    expect_error(ST "clients.1", "\"bob\"", PFX "settings.clients[1]: expected an object, got a string");
    expect_error(ST "users", "[]", PFX "settings.users: conflicts with \"clients\" (use one of them)");
    expect_warning(ST "clients", "[]",
                   PFX "settings.clients: is empty: every connection is forwarded to the "
                       "REALITY target");
}

static void test_errors_stream(void **state)
{
    expect_error(SS "security", "\"tls\"",
                 PFX "streamSettings.security: \"tls\" is not supported: veil-node serves REALITY only; set "
                     "\"reality\"");
    expect_error(SS "security", "\"none\"",
                 PFX "streamSettings.security: plain VLESS is not supported: set \"reality\"");
    expect_error(SS "security", NULL, PFX "streamSettings.security: plain VLESS is not supported: set \"reality\"");
    expect_error(SS "security", "\"xtls\"",
                 PFX "streamSettings.security: \"xtls\" was removed from Xray; use \"reality\" with flow "
                     "\"xtls-rprx-vision\"");
    expect_error(SS "network", "\"ws\"",
                 PFX "streamSettings.network: REALITY only supports RAW, XHTTP and gRPC (veil-node: \"raw\"/\"tcp\" "
                     "only)");
    expect_error(SS "network", "\"grpc\"",
                 PFX "streamSettings.network: REALITY over \"grpc\" is not supported by veil-node; use \"raw\" (or "
                     "\"tcp\")");
    expect_error(SS "realitySettings", NULL,
                 PFX "streamSettings.realitySettings: is required (Empty \"realitySettings\")");
    expect_error(SS "wsSettings", "{}", PFX "streamSettings.wsSettings: unknown field");
    expect_error(SS "rawSettings", "{\"header\": {\"type\": \"http\"}}",
                 PFX "streamSettings.rawSettings.header.type: only \"none\" is supported (HTTP header obfuscation "
                     "is not)");
    expect_error(SS "sockopt", "{\"tcpFastOpen\": true}",
                 PFX "streamSettings.sockopt.tcpFastOpen: is not supported by veil-node (only its default value is "
                     "accepted)");
    expect_error(SS "sockopt", "{\"tcpcongestion\": \"bbr\"}",
                 PFX "streamSettings.sockopt.tcpcongestion: is not supported by veil-node (only its default value is "
                     "accepted)");
    expect_error(SS "sockopt", "{\"bogus\": 0}", PFX "streamSettings.sockopt.bogus: unknown field");
}

static void test_errors_reality(void **state)
{
    expect_error(RS "target", NULL,
                 RPFX "target: is required (a server's realitySettings needs \"target\", e.g. "
                      "\"www.example.com:443\"; this looks like a client config)");
    expect_error(RS "target", "\"/dev/shm/nginx.sock\"",
                 RPFX "target: Unix socket targets are not supported; use \"host:port\"");
    expect_error(RS "target", "\"www.example.com\"",
                 RPFX "target: please fill in a valid value: \"host:port\", \"[ipv6]:port\" or a port number, got "
                      "\"www.example.com\"");
    expect_error(RS "target", "\"2001:db8::1:443\"",
                 RPFX "target: please fill in a valid value: \"host:port\", \"[ipv6]:port\" or a port number, got "
                      "\"2001:db8::1:443\"");
    expect_error(RS "target", "\"example.com:99999\"",
                 RPFX "target: please fill in a valid value: \"host:port\", \"[ipv6]:port\" or a port number, got "
                      "\"example.com:99999\"");
    expect_error(RS "target", "70000", RPFX "target: port must be between 1 and 65535");
    expect_error(RS "target", "[]", RPFX "target: expected \"host:port\" or a port number, got an array");
    expect_error(RS "type", "\"unix\"", RPFX "type: must be \"tcp\" (Unix socket targets are not supported)");
    expect_error(RS "xver", "3", RPFX "xver: must be between 0 and 2");
    expect_error(RS "serverNames", "[]", RPFX "serverNames: is required and must not be empty");
    expect_error(RS "serverNames", NULL, RPFX "serverNames: is required and must not be empty");
    expect_error(RS "serverNames", "[\"a.com\", 7]", RPFX "serverNames[1]: expected a string, got an integer");
    expect_error(RS "privateKey", NULL, RPFX "privateKey: is required (generate one with `veil x25519`)");
    expect_error(RS "privateKey", "\"abc\"",
                 RPFX "privateKey: must be 32 bytes in base64url without padding (43 characters)");
    expect_error(RS "shortIds", "[]",
                 RPFX "shortIds: is required and must not be empty (use [\"\"] to allow an empty shortId)");
    expect_error(RS "shortIds", "[\"abc\"]",
                 RPFX "shortIds[0]: must be an even number of hex digits (0-9, a-f), got \"abc\"");
    expect_error(RS "shortIds", "[\"\", \"zz\"]",
                 RPFX "shortIds[1]: must be an even number of hex digits (0-9, a-f), got \"zz\"");
    expect_error(RS "shortIds", "[\"0123456789abcdef01\"]", RPFX "shortIds[0]: must be at most 16 hex digits");
    expect_error(RS "minClientVer", "\"1.2.3.4\"",
                 RPFX "minClientVer: must be \"x\", \"x.y\" or \"x.y.z\" with each part between 0 and 255, got "
                      "\"1.2.3.4\"");
    char *t = patched(RS "minClientVer", "\"1.2\"");
    char *t2 = patched_from(t, RS "maxClientVer", "\"1.0\"");
    struct cfg_ctx c;
    assert_null(load_text(&c, t2));
    assert_true(has_msg(&c, CFG_SEV_ERROR, RPFX "maxClientVer: is lower than minClientVer"));
    cfg_dispose(&c);
    free(t);
    free(t2);
    expect_error(RS "maxTimeDiff", "-5", RPFX "maxTimeDiff: must be between 0 and 9223372036854775807");
    expect_error(RS "mldsa65Seed", "\"EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8\"",
                 RPFX "mldsa65Seed: ML-DSA-65 signatures are not supported yet; remove it");
    expect_error(RS "limitFallbackUpload", "{\"bytesPerSecond\": 5}",
                 RPFX "limitFallbackUpload.bytesPerSecond: unknown field");
    expect_error(RS "limitFallbackUpload", "{\"bytesPerSec\": \"5\"}",
                 RPFX "limitFallbackUpload.bytesPerSec: expected an integer, got a string");
    expect_error(RS "show", "1", RPFX "show: expected true or false, got an integer");
    expect_error(RS "publicKeys", "1", RPFX "publicKeys: unknown field");
    expect_error(RS "masterKeyLog", "\"/tmp/keys.log\"",
                 RPFX "masterKeyLog: writing TLS key logs is not supported by veil-node; remove it");
}

static void test_errors_top(void **state)
{
    expect_error("api", "{\"tag\": \"api\"}",
                 "node.json: api: the Xray gRPC API is not supported; use veil.adminListen");
    expect_error("transport", "{}",
                 "node.json: transport: global transport settings are not supported; use streamSettings");
    expect_error("foo", "1", "node.json: foo: unknown field");
    expect_error("log.loglevel", "\"loud\"",
                 "node.json: log.loglevel: must be one of \"debug\", \"info\", \"warning\", \"error\", \"none\"");
    expect_error("outbounds.0.protocol", "\"vless\"",
                 "node.json: outbounds[0].protocol: \"vless\" is not supported (only \"freedom\" and \"blackhole\")");
    expect_error("outbounds.0", "{\"protocol\": \"blackhole\"}",
                 "node.json: outbounds[0].settings: the first outbound receives all traffic: it must be \"freedom\"");
    expect_error("outbounds.0.settings", "{\"domainStrategy\": \"Nope\"}",
                 "node.json: outbounds[0].settings.domainStrategy: unknown strategy \"Nope\" (AsIs, UseIP, UseIPv4, "
                 "UseIPv6, UseIPv4v6, UseIPv6v4)");
    expect_error("outbounds.0.settings", "{\"redirect\": \"1.2.3.4:5\"}",
                 "node.json: outbounds[0].settings.redirect: unknown field");
    expect_error("outbounds.0.streamSettings", "{}", "node.json: outbounds[0].streamSettings: unknown field");
    expect_error("routing.rules.0.outboundTag", "\"direct\"",
                 "node.json: routing.rules[0]: routing rules are not supported except {\"ip\": "
                 "[\"geoip:private\"], \"outboundTag\": <a blackhole outbound>}; veil-node refuses private "
                 "destinations by itself (see veil.allowPrivateDestinations)");
    expect_error("routing.rules.0", "{\"protocol\": [\"bittorrent\"], \"outboundTag\": \"block\"}",
                 "node.json: routing.rules[0].protocol: unknown field");
    expect_error("policy", "{\"levels\": {\"1\": {}}}",
                 "node.json: policy.levels.1: only policy level \"0\" is supported");
    expect_error("policy", "{\"levels\": {\"0\": {\"connIdle\": 0}}}",
                 "node.json: policy.levels.0.connIdle: must be between 1 and 86400");
    expect_error("dns", "{\"servers\": [\"https://1.1.1.1/dns-query\"]}",
                 "node.json: dns.servers[0]: expected a DNS server IP address (\"1.1.1.1\", \"1.1.1.1:53\", "
                 "\"[2606:4700::1111]:53\"), got \"https://1.1.1.1/dns-query\"");
    expect_error("stats", "{\"x\": 1}", "node.json: stats: must be an empty object (veil-node always counts traffic)");
    expect_error("veil", "{\"workers\": -1}", "node.json: veil.workers: must be between 0 and 1024");
    expect_error("veil", "{\"Workers\": 2}", "node.json: veil.Workers: unknown field");
    expect_error("veil", "{\"maxConnections\": 2}", "node.json: veil.maxConnections: unknown field");
    expect_error("veil", "{\"hub\": {\"token\": \"0123456789abcdef\"}}",
                 "node.json: veil.hub.url: is required (\"https://hub.example.com\")");
    expect_error("veil", "{\"hub\": {\"url\": \"http://hub.example.com\", \"token\": \"0123456789abcdef\"}}",
                 "node.json: veil.hub.url: must be an https:// URL (http:// only to 127.0.0.1, localhost or [::1])");
    expect_error("veil", "{\"hub\": {\"url\": \"http://127.0.0.1.evil.com\", \"token\": \"0123456789abcdef\"}}",
                 "node.json: veil.hub.url: must be an https:// URL (http:// only to 127.0.0.1, localhost or [::1])");
    expect_error("veil", "{\"hub\": {\"url\": \"https://hub.example.com\", \"token\": \"short\"}}",
                 "node.json: veil.hub.token: must be 16 to 256 characters of A-Z a-z 0-9 . _ ~ + / = -");
    expect_error("veil", "{\"hub\": {\"url\": \"https://hub.example.com\"}}",
                 "node.json: veil.hub.token: is required (the node token the hub issued)");
    expect_error("veil", "{\"hub\": {\"url\": \"https://h\", \"token\": \"0123456789abcdef\", \"pollSec\": 1}}",
                 "node.json: veil.hub.pollSec: must be between 5 and 3600");
    expect_error("veil", "{\"hub\": {\"url\": \"https://h\", \"token\": \"0123456789abcdef\", \"caFile\": \"ca.pem\"}}",
                 "node.json: veil.hub.caFile: must be an absolute path");
    /* hub.pin (the hub's public-key pins) and mutual TLS files: malformed values. */
    static const char *const bad_pins[] = {
        "\"sha256/2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\"",   /* one slash */
        "\"sha1//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\"",    /* another hash */
        "\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI\"",   /* no padding */
        "\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4X==\"",  /* 31 bytes */
        "\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=;\"", /* joined by hand */
        "\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4X!=\"",  /* not base64 */
        "\"\"",
        "[]",
        "[\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\", 5]",
        ("[\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\",\"sha256//"
         "2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\","
         "\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\",\"sha256//"
         "2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\","
         "\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\"]"), /* five */
        "42",
        "{}",
    };
    for (size_t i = 0; i < sizeof bad_pins / sizeof bad_pins[0]; i++) {
        char doc[1024];
        snprintf(doc, sizeof doc, "{\"hub\": {\"url\": \"https://h\", \"token\": \"0123456789abcdef\", \"pin\": %s}}",
                 bad_pins[i]);
        expect_error(
            "veil", doc,
            "node.json: veil.hub.pin: must be \"sha256//<base64 of the SHA-256 of the hub's public key>\" or a "
            "list of 1 to 4 of them");
    }
    expect_error("veil",
                 "{\"hub\": {\"url\": \"http://127.0.0.1:1\", \"token\": \"0123456789abcdef\", \"pin\": "
                 "\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\"}}",
                 "node.json: veil.hub.pin: needs an https:// url");
    expect_error("veil",
                 "{\"hub\": {\"url\": \"https://h\", \"token\": \"0123456789abcdef\", \"certFile\": \"/n.crt\"}}",
                 "node.json: veil.hub.keyFile: certFile and keyFile go together (mutual TLS)");
    expect_error("veil",
                 "{\"hub\": {\"url\": \"https://h\", \"token\": \"0123456789abcdef\", \"certFile\": \"n.crt\", "
                 "\"keyFile\": \"/n.key\"}}",
                 "node.json: veil.hub.certFile: must be an absolute path");
    expect_error("veil", "{\"adminListen\": \"localhost:80\"}",
                 "node.json: veil.adminListen: expected \"ip:port\" (IPv6 as \"[::1]:port\"), got \"localhost:80\"");
    expect_error("veil", "{\"dialOrder\": \"v4\"}",
                 "node.json: veil.dialOrder: must be one of \"asResolved\", \"ipv4First\", \"ipv6First\", "
                 "\"ipv4Only\", \"ipv6Only\"");
    expect_error("veil", "{\"adminToken\": \"short\"}", "node.json: veil.adminToken: must be 16 to 200 characters");
    /* Issue 10 item 1: an admin API on TCP needs its token unless the operator opts out. */
    expect_error("veil", "{\"adminListen\": \"127.0.0.1:9551\"}",
                 "node.json: veil.adminToken: is required when adminListen is set (or set \"adminNoToken\": true to "
                 "serve the admin API without one)");
    expect_error("veil", "{\"adminListen\": \"127.0.0.1:9551\", \"adminToken\": \"REPLACE-WITH-a-token-here\"}",
                 "node.json: veil.adminToken: is the sample's placeholder: generate one (openssl rand -hex 16)");
    expect_error("veil", "{\"stateDir\": \"state\"}", "node.json: veil.stateDir: must be an absolute path");
    expect_error("veil", "{\"dialTimeoutMs\": 5}", "node.json: veil.dialTimeoutMs: must be between 100 and 300000");
}

/* Two pins (a key rotation) are joined as curl takes them; the TLS files are kept. */
static void test_hub_pins(void **state)
{
    (void)state;
    struct cfg_ctx c;
    struct node_cfg *cfg =
        expect_ok("veil",
                  "{\"hub\": {\"url\": \"https://hub.test\", \"token\": \"0123456789abcdef\", \"pin\": "
                  "[\"sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=\", "
                  "\"sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"], "
                  "\"certFile\": \"/etc/veil/node.crt\", \"keyFile\": \"/etc/veil/node.key\"}}",
                  &c);
    assert_string_equal(cfg->hub_pin, "sha256//2bwZVfBlnmwV3ogrwXZGTw10xzGCRYVQfkaJ7yhz4XI=;"
                                      "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_string_equal(cfg->hub_cert_file, "/etc/veil/node.crt");
    assert_string_equal(cfg->hub_key_file, "/etc/veil/node.key");
    node_cfg_unref(cfg);
    cfg_dispose(&c);
}

static void test_admin_no_token_opt_out(void **state)
{
    struct cfg_ctx c;
    struct node_cfg *cfg = expect_ok("veil", "{\"adminListen\": \"127.0.0.1:9551\", \"adminNoToken\": true}", &c);
    assert_null(cfg->admin_token);
    assert_string_equal(cfg->admin_listen, "127.0.0.1:9551");
    node_cfg_unref(cfg);
    cfg_dispose(&c);
}

static void test_warnings(void **state)
{
    expect_warning(IB "port", "8443",
                   PFX "port: REALITY is best served on port 443 (the port browsers use for the "
                       "target)");
    expect_warning(RS "minClientVer", "\"26.3.27\"",
                   RPFX "minClientVer: sing-box based apps (Hiddify, NekoBox, sing-box) report version 1.8.1 and will "
                        "silently see the target site instead of connecting");
    expect_warning(RS "serverNames", "[\"www.icloud.com\"]",
                   RPFX "serverNames[0]: \"www.icloud.com\": Apple/iCloud/Microsoft names are widely used and blocked "
                        "by address; choose another target");
    expect_warning(RS "serverNames", "[\"yandex.ru\"]",
                   RPFX "serverNames[0]: \"yandex.ru\": a .ru/.ir/.cn target is a poor choice (censors see it as "
                        "domestic traffic going abroad)");
    expect_warning(RS "target", "\"www.example.org:443\"",
                   RPFX "serverNames: none of them belongs to the target's domain \"example.org\": clients (and "
                        "probes) using these names get the target's certificate-mismatch behaviour");
    expect_warning(RS "fingerprint", "\"chrome\"",
                   RPFX "fingerprint: ignored: client-only field in a server realitySettings block");
    expect_warning(RS "privateKey", "\"EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm9\"",
                   RPFX "privateKey: is not in canonical base64url form (Xray may refuse it)");
    expect_warning(IB "sniffing", "{\"enabled\": true, \"destOverride\": [\"http\", \"tls\"]}",
                   PFX "sniffing: ignored: veil-node does not route by sniffed domain names");
    expect_warning(RS "show", "true",
                   RPFX "show: ignored: veil-node logs REALITY decisions at debug level (log.loglevel)");
    expect_warning("policy", "{\"levels\": {\"0\": {\"uplinkOnly\": 2}}}",
                   "node.json: policy.levels.0: uplinkOnly/downlinkOnly are ignored: after one direction ends, the "
                   "other one runs until it ends or connIdle passes");
    expect_warning("veil", "{\"hub\": {\"url\": \"https://hub.example.com\", \"token\": \"0123456789abcdef\"}}",
                   "node.json: veil.hub: without veil.stateDir the hub's users are not kept across restarts: the node "
                   "serves no hub users until its first successful pull");
    expect_warning("log.dnsLog", "false",
                   "node.json: log.dnsLog: ignored: veil-node never logs DNS queries or client addresses in full");
    expect_warning("outbounds.2", "{\"protocol\": \"freedom\", \"tag\": \"x\"}",
                   "node.json: outbounds[2].settings: only the first outbound carries traffic; this one is unused");
}

/* Many errors at once: all are reported, not only the first. */
static void test_collects_all(void **state)
{
    const char *text =
        "{\"inbounds\": [{\"protocol\": \"vless\", \"port\": 0, \"settings\": {\"clients\": [{\"id\": 1}]},"
        "\"streamSettings\": {\"security\": \"reality\", \"realitySettings\": {\"target\": 443}}}],"
        "\"bogus\": true}";
    struct cfg_ctx c;
    assert_null(load_text(&c, text));
    assert_true(has_msg(&c, CFG_SEV_ERROR, "node.json: bogus: unknown field"));
    assert_true(has_msg(&c, CFG_SEV_ERROR, PFX "port: must be between 1 and 65535"));
    assert_true(has_msg(&c, CFG_SEV_ERROR, PFX "settings.clients[0].id: expected a string, got an integer"));
    assert_true(
        has_msg(&c, CFG_SEV_ERROR, PFX "settings.decryption: is required: please add/set \"decryption\": \"none\""));
    assert_true(has_msg(&c, CFG_SEV_ERROR, RPFX "serverNames: is required and must not be empty"));
    assert_true(has_msg(&c, CFG_SEV_ERROR, RPFX "privateKey: is required (generate one with `veil x25519`)"));
    assert_true(has_msg(&c, CFG_SEV_ERROR,
                        RPFX "shortIds: is required and must not be empty (use [\"\"] to allow an "
                             "empty shortId)"));
    assert_int_equal(c.n_errors, 7);
    cfg_dispose(&c);

    assert_null(load_text(&c, "{\"inbounds\": [}"));
    assert_int_equal(c.n_errors, 1);
    assert_non_null(strstr(c.msgs[0].text, "node.json: line 1 column"));
    cfg_dispose(&c);

    assert_null(load_text(&c, "{\"inbounds\": [], \"inbounds\": []}"));
    assert_non_null(strstr(c.msgs[0].text, "duplicate"));
    cfg_dispose(&c);
}

/* Duplicate ports across inbounds; two inbounds otherwise fine. */
static void test_two_inbounds(void **state)
{
    json_t *j = json_loads(base_cfg, 0, NULL);
    json_t *arr = json_object_get(j, "inbounds");
    json_t *second = json_deep_copy(json_array_get(arr, 0));
    json_array_append_new(arr, second);
    char *text = json_dumps(j, 0);
    struct cfg_ctx c;
    assert_null(load_text(&c, text));
    assert_true(has_msg(&c, CFG_SEV_ERROR, "node.json: inbounds[1].port: 443 is already used by inbounds[0]"));
    cfg_dispose(&c);
    free(text);
    json_object_set_new(second, "port", json_integer(8443));
    text = json_dumps(j, 0);
    struct node_cfg *cfg = load_text(&c, text);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_inbounds, 2);
    assert_int_equal(cfg->inbounds[1].port, 8443);
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    free(text);
    json_decref(j);
}

/* The server configs behind the real captures (tests/testdata), rewritten per spec. */
static void test_capture_configs(void **state)
{
    /* reality-clienthello: the REALITY server the clients in client-*.json talked to. */
    const char *reality_server =
        "{\"log\": {\"loglevel\": \"debug\"},"
        " \"inbounds\": [{\"listen\": \"127.0.0.1\", \"port\": 40429, \"protocol\": \"vless\","
        "  \"settings\": {\"clients\": [{\"id\": \"642b2f0e-9061-4755-93b9-f824b3b875f6\", \"flow\": "
        "\"xtls-rprx-vision\"}], \"decryption\": \"none\"},"
        "  \"streamSettings\": {\"network\": \"tcp\", \"security\": \"reality\", \"realitySettings\": {"
        "   \"target\": \"127.0.0.1:28444\", \"serverNames\": [\"www.example.com\"],"
        "   \"privateKey\": \"KBwdlfIKkauP2EUH1TmdbHflk3Uz5hy_RK-fiIFTTFw\", \"shortIds\": [\"0123456789abcdef\"]}}}],"
        " \"outbounds\": [{\"protocol\": \"freedom\"}]}";
    struct cfg_ctx c;
    struct node_cfg *cfg = load_text(&c, reality_server);
    if (cfg == NULL)
        dump_msgs(&c);
    assert_non_null(cfg);
    char pub[64];
    b64_encode(pub, cfg->inbounds[0].public_key, 32, B64_RAW_URL);
    assert_string_equal(pub, "sajj7aIFA8IE5wHFlAS-Lsal68qGzesjc4CpCzlSGT0"); /* index.json server_public_key */
    node_cfg_unref(cfg);
    cfg_dispose(&c);

    /* vless-transcripts: the embedded Xray server_config uses "security": "tls", which veil-node refuses
     * clearly; the same users behind REALITY load. */
    size_t len;
    uint8_t *raw = tu_read_file(tu_testdata("vless-transcripts/s2-vision-http.json"), &len);
    assert_non_null(raw);
    json_t *doc = json_loadb((const char *)raw, len, 0, NULL);
    free(raw);
    assert_non_null(doc);
    json_t *server = json_object_get(doc, "server_config");
    char *text = json_dumps(server, 0);
    assert_null(load_text(&c, text));
    assert_true(has_msg(&c, CFG_SEV_ERROR,
                        "node.json: inbounds[0].streamSettings.security: \"tls\" is not supported: veil-node serves "
                        "REALITY only; set \"reality\""));
    assert_true(has_msg(&c, CFG_SEV_ERROR, "node.json: inbounds[0].streamSettings.tlsSettings: unknown field"));
    cfg_dispose(&c);
    free(text);

    json_t *ss = json_object_get(json_array_get(json_object_get(server, "inbounds"), 0), "streamSettings");
    json_object_set_new(ss, "security", json_string("reality"));
    json_object_del(ss, "tlsSettings");
    json_object_set_new(ss, "realitySettings",
                        json_pack("{s:s, s:[s], s:s, s:[s,s]}", "target", "127.0.0.1:28444", "serverNames", "localhost",
                                  "privateKey", "KBwdlfIKkauP2EUH1TmdbHflk3Uz5hy_RK-fiIFTTFw", "shortIds", "",
                                  "0123456789abcdef"));
    text = json_dumps(server, 0);
    cfg = load_text(&c, text);
    if (cfg == NULL)
        dump_msgs(&c);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_inbounds, 1);
    assert_int_equal(cfg->inbounds[0].n_users, 2);
    assert_int_equal(cfg->inbounds[0].users[0].flow, NODE_FLOW_VISION);
    assert_int_equal(cfg->inbounds[0].users[1].flow, NODE_FLOW_NONE);
    assert_string_equal(cfg->inbounds[0].users[1].email, "plain@test");
    assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
    assert_string_equal(cfg->access_log, "./s2-vision-http/server-access.log");
    node_cfg_unref(cfg);
    cfg_dispose(&c);
    free(text);
    json_decref(doc);
}

static void test_sample_deploy_config(void **state)
{
    char path[1024];
    const char *src = getenv("VEIL_SOURCE_DIR");
    assert_non_null(src);
    snprintf(path, sizeof(path), "%s/deploy/node.json", src);
    struct cfg_ctx c;
    cfg_init(&c, path);
    /* The sample's only problems are its placeholder key and admin token, so that nobody runs a
     * published secret. */
    assert_null(node_cfg_load_file(&c, path));
    if (c.n_errors != 2)
        dump_msgs(&c);
    assert_int_equal(c.n_errors, 2);
    assert_non_null(strstr(c.msgs[0].text, "realitySettings.privateKey: must be 32 bytes"));
    assert_non_null(strstr(c.msgs[1].text, "veil.adminToken: is the sample's placeholder"));
    cfg_dispose(&c);

    cfg_init(&c, "/nonexistent/node.json");
    assert_null(node_cfg_load_file(&c, "/nonexistent/node.json"));
    assert_true(has_msg(&c, CFG_SEV_ERROR, "/nonexistent/node.json: cannot open: No such file or directory"));
    cfg_dispose(&c);
}

/* Every truncation of the valid config fails cleanly (no crash, no leak, an error). */
static void test_truncations(void **state)
{
    size_t n = strlen(base_cfg);
    for (size_t i = 0; i < n; i++) {
        struct cfg_ctx c;
        cfg_init(&c, "t");
        struct node_cfg *cfg = node_cfg_load(&c, base_cfg, i);
        assert_null(cfg);
        assert_true(c.n_errors > 0);
        cfg_dispose(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_base),      cmocka_unit_test(test_variants_ok),
        cmocka_unit_test(test_errors_inbound),  cmocka_unit_test(test_errors_settings),
        cmocka_unit_test(test_errors_stream),   cmocka_unit_test(test_errors_reality),
        cmocka_unit_test(test_errors_top),      cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_collects_all),    cmocka_unit_test(test_two_inbounds),
        cmocka_unit_test(test_capture_configs), cmocka_unit_test(test_sample_deploy_config),
        cmocka_unit_test(test_truncations),     cmocka_unit_test(test_admin_no_token_opt_out),
        cmocka_unit_test(test_hub_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
