/* Admin access hardening (docs/security.md §6), driven through api_dispatch with a fake clock:
 * the scope table and scope lists, the "api" section (CIDR list and the rest, malformed input),
 * the admin allowlist, token expiry (401) and scopes (403) with their audit rows, TOTP enrolment,
 * the session exchange (wrong code, replay, parent revoked) and lockout counting per address
 * and per token, unlocked after the period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base32.h"
#include "core/err.h"
#include "crypto/totp.h"
#include "hub/api/api.h"
#include "hub/api/api_access.h"
#include "hub/api/api_route.h"
#include "hub/api/api_scope.h"
#include "hub/cache/cache.h"
#include "hub/module.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define ADMIN "access-hardening-admin-token-0123456789"
#define T0 1800000000

struct env {
    struct store *st;
    struct hcache *hc;
    struct api_ctx ctx;
    int64_t now; /* seconds; the cache sees the same clock */
    int64_t admin_id;
};

static int64_t api_clock(void *arg)
{
    return ((struct env *)arg)->now;
}

static int64_t cache_clock(void *arg)
{
    return ((struct env *)arg)->now * 1000;
}

static struct env *env_new(const char *section_json)
{
    struct env *e = calloc(1, sizeof *e);
    e->now = T0;
    e->st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(e->st);
    char h[65], err[256];
    api_token_hash(ADMIN, strlen(ADMIN), h);
    assert_int_equal(store_token_add(e->st, "admin", h, HUB_ROLE_ADMIN, 0, &e->admin_id), 0);
    struct hcache_cfg hcfg = {.clock = cache_clock, .clock_arg = e};
    assert_int_equal(hcache_open(&hcfg, &e->hc, err, sizeof err), 0);
    struct api_cfg cfg = {.clock = api_clock, .clock_arg = e, .cache = e->hc};
    json_error_t je;
    json_t *sec = section_json ? json_loads(section_json, 0, &je) : NULL;
    assert_int_equal(api_access_cfg_parse(sec, &cfg.access, err, sizeof err), 0);
    json_decref(sec);
    api_ctx_init(&e->ctx, e->st, &cfg);
    return e;
}

static void env_free(struct env *e)
{
    api_ctx_dispose(&e->ctx);
    hcache_close(e->hc);
    store_close(e->st);
    free(e);
}

static const char *json_ct(void *arg, const char *name)
{
    (void)arg;
    return strcasecmp(name, "Content-Type") == 0 ? "application/json" : NULL;
}

/* One request; *out (may be NULL) gets the parsed JSON answer. Returns the status. */
static int call(struct env *e, const char *ip, const char *method, const char *path, const char *token,
                const char *body, json_t **out)
{
    char auth[160] = "";
    if (token != NULL)
        snprintf(auth, sizeof auth, "Bearer %s", token);
    struct api_req req = {.method = method,
                          .path = path,
                          .raw_path = path,
                          .authorization = token ? auth : NULL,
                          .ip = ip,
                          .body = body ? body : "",
                          .body_len = body ? strlen(body) : 0,
                          .header = json_ct};
    struct api_resp r;
    api_dispatch(&e->ctx, &req, &r);
    if (out != NULL) {
        json_error_t je;
        *out = r.body ? json_loadb(r.body, r.body_len, 0, &je) : NULL;
    }
    int st = r.status;
    api_resp_dispose(&r);
    return st;
}

static const char *err_code(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* ---- scopes ---- */

/* Every authenticated route and the area it had when the scope moved onto the route: a route
 * that changes area, or a new one that does not say (admin by default), fails here until this
 * list says so. */
static const struct {
    const char *method, *pattern;
    enum api_scope area;
} route_areas[] = {
    {"POST", "/api/v1/users", API_SCOPE_USERS},
    {"GET", "/api/v1/users", API_SCOPE_USERS},
    {"GET", "/api/v1/users/{id}", API_SCOPE_USERS},
    {"PATCH", "/api/v1/users/{id}", API_SCOPE_USERS},
    {"DELETE", "/api/v1/users/{id}", API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/disable", API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/enable", API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/rotate-token", API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/rotate-uuid", API_SCOPE_USERS},
    {"GET", "/api/v1/users/{id}/subscriptions", API_SCOPE_USERS},
    {"GET", "/api/v1/users/{id}/devices", API_SCOPE_USERS},
    {"GET", "/api/v1/users/{id}/secrets", API_SCOPE_USERS},
    {"DELETE", "/api/v1/devices/{id}", API_SCOPE_USERS},
    {"POST", "/api/v1/subscriptions", API_SCOPE_USERS},
    {"GET", "/api/v1/subscriptions/{id}", API_SCOPE_USERS},
    {"POST", "/api/v1/subscriptions/{id}/extend", API_SCOPE_USERS},
    {"POST", "/api/v1/subscriptions/{id}/revoke", API_SCOPE_USERS},
    {"POST", "/api/v1/users/{id}/balance", API_SCOPE_BILLING},
    {"GET", "/api/v1/users/{id}/country", API_SCOPE_USERS},
    {"PUT", "/api/v1/users/{id}/country", API_SCOPE_USERS},
    {"GET", "/api/v1/users/{id}/hold", API_SCOPE_USERS},
    {"GET", "/api/v1/plans/{id}/country", API_SCOPE_BILLING},
    {"PUT", "/api/v1/plans/{id}/country", API_SCOPE_BILLING},
    {"GET", "/api/v1/users/{id}/payments", API_SCOPE_BILLING},
    {"GET", "/api/v1/users/{id}/ledger", API_SCOPE_BILLING},
    {"POST", "/api/v1/plans", API_SCOPE_BILLING},
    {"GET", "/api/v1/plans", API_SCOPE_BILLING},
    {"GET", "/api/v1/plans/{id}", API_SCOPE_BILLING},
    {"PATCH", "/api/v1/plans/{id}", API_SCOPE_BILLING},
    {"DELETE", "/api/v1/plans/{id}", API_SCOPE_BILLING},
    {"POST", "/api/v1/payments", API_SCOPE_BILLING},
    {"GET", "/api/v1/payments", API_SCOPE_BILLING},
    {"GET", "/api/v1/payments/{id}", API_SCOPE_BILLING},
    {"POST", "/api/v1/payments/{id}/refund", API_SCOPE_BILLING},
    {"POST", "/api/v1/invoices", API_SCOPE_BILLING},
    {"POST", "/api/v1/promo-codes", API_SCOPE_BILLING},
    {"GET", "/api/v1/promo-codes", API_SCOPE_BILLING},
    {"GET", "/api/v1/stats/revenue", API_SCOPE_BILLING},
    {"POST", "/api/v1/nodes", API_SCOPE_NODES},
    {"GET", "/api/v1/nodes", API_SCOPE_NODES},
    {"GET", "/api/v1/nodes/{id}", API_SCOPE_NODES},
    {"PATCH", "/api/v1/nodes/{id}", API_SCOPE_NODES},
    {"DELETE", "/api/v1/nodes/{id}", API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/rotate-token", API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/health", API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/weight", API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/drain", API_SCOPE_NODES},
    {"GET", "/api/v1/nodes/{id}/target", API_SCOPE_NODES},
    {"PATCH", "/api/v1/nodes/{id}/target", API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/rotate-target", API_SCOPE_NODES},
    {"POST", "/api/v1/nodes/{id}/scan", API_SCOPE_NODES},
    {"GET", "/api/v1/nodes/{id}/scan", API_SCOPE_NODES},
    {"GET", "/api/v1/targets", API_SCOPE_NODES},
    {"POST", "/api/v1/targets", API_SCOPE_NODES},
    {"DELETE", "/api/v1/targets/{id}", API_SCOPE_NODES},
    {"GET", "/api/v1/stats", API_SCOPE_READ},
    {"GET", "/metrics", API_SCOPE_READ},
    {"GET", "/api/v1/audit", API_SCOPE_ADMIN},
    {"POST", "/api/v1/tokens", API_SCOPE_ADMIN},
    {"GET", "/api/v1/tokens", API_SCOPE_ADMIN},
    {"DELETE", "/api/v1/tokens/{id}", API_SCOPE_ADMIN},
    {"POST", "/api/v1/tokens/{id}/totp", API_SCOPE_ADMIN},
    {"DELETE", "/api/v1/tokens/{id}/totp", API_SCOPE_ADMIN},
    {"POST", "/api/v1/tokens/{id}/totp/recovery", API_SCOPE_ADMIN},
    {"GET", "/api/v1/findings", API_SCOPE_ADMIN},
    {"POST", "/api/v1/findings/{id}/ack", API_SCOPE_ADMIN},
};

static void test_scope_table(void **state)
{
    (void)state;
    hub_modules_register();
    /* A route that does not name its area is admin-only. */
    assert_int_equal((struct api_route){.method = "GET"}.scope, API_SCOPE_ADMIN);
    /* Every authenticated route is in route_areas with the same area, and every entry is
     * registered. An admin-scoped token may call each, a users-only token exactly the users
     * area, a read-only token exactly the GETs outside the admin area. */
    size_t n, seen = 0;
    const struct api_route *r = api_routes(&n);
    uint32_t users = 1u << API_SCOPE_USERS, read = 1u << API_SCOPE_READ, admin = 1u << API_SCOPE_ADMIN;
    for (size_t i = 0; i < n; i++) {
        if (r[i].auth != API_AUTH_READ && r[i].auth != API_AUTH_ADMIN)
            continue;
        size_t k = 0;
        while (k < sizeof route_areas / sizeof route_areas[0] &&
               (strcmp(route_areas[k].method, r[i].method) != 0 || strcmp(route_areas[k].pattern, r[i].pattern) != 0))
            k++;
        if (k == sizeof route_areas / sizeof route_areas[0])
            fail_msg("%s %s is not in route_areas: add it with its scope", r[i].method, r[i].pattern);
        enum api_scope scope = r[i].scope;
        if (scope != route_areas[k].area)
            fail_msg("%s %s: scope %s, expected %s", r[i].method, r[i].pattern, api_scope_name(scope),
                     api_scope_name(route_areas[k].area));
        seen++;
        bool get = strcmp(r[i].method, "GET") == 0;
        assert_true(api_scope_allows(0, r[i].method, scope));
        assert_true(api_scope_allows(admin, r[i].method, scope));
        assert_int_equal(api_scope_allows(users, r[i].method, scope), scope == API_SCOPE_USERS);
        assert_int_equal(api_scope_allows(read, r[i].method, scope), get && scope != API_SCOPE_ADMIN);
    }
    assert_int_equal(seen, sizeof route_areas / sizeof route_areas[0]);
}

static void test_scope_parse(void **state)
{
    (void)state;
    uint32_t m = 99;
    char out[API_SCOPES_TEXT_MAX];
    assert_int_equal(api_scopes_parse("", 0, &m), 0);
    assert_int_equal(m, 0);
    assert_int_equal(api_scopes_parse("users,read", 10, &m), 0);
    api_scopes_format(m, out);
    assert_string_equal(out, "read,users");
    assert_int_equal(api_scopes_parse("read,users,billing,nodes,admin", 30, &m), 0);
    api_scopes_format(m, out);
    assert_string_equal(out, "read,users,billing,nodes,admin");
    static const char *const bad[] = {"read,",      ",read", "read,,users", "read,read", "Read",
                                      "read users", "foo",   ",",           "users\n",   "adminx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(api_scopes_parse(bad[i], strlen(bad[i]), &m), ERR_MALFORMED);
    assert_int_equal(api_scopes_parse("read\0users", 10, &m), ERR_MALFORMED);
}

/* ---- the "api" section ---- */

static int parse_section(const char *text, struct api_access_cfg *c, char *err, size_t cap)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    assert_non_null(j);
    int rc = api_access_cfg_parse(j, c, err, cap);
    json_decref(j);
    return rc;
}

static void test_access_cfg(void **state)
{
    (void)state;
    struct api_access_cfg c;
    char err[256];
    assert_int_equal(api_access_cfg_parse(NULL, &c, err, sizeof err), 0);
    assert_int_equal(c.n_allow, 0);
    assert_int_equal(c.lock_failures, 10);
    assert_int_equal(parse_section("{\"admin_allow\":[\"10.0.0.0/8\",\"2001:db8::/32\",\"127.0.0.1\"],"
                                   "\"lockout\":{\"failures\":3,\"window\":60,\"duration\":5},"
                                   "\"totp\":{\"issuer\":\"My VPN\",\"session_ttl\":600}}",
                                   &c, err, sizeof err),
                     0);
    assert_int_equal(c.n_allow, 3);
    assert_int_equal(c.lock_failures, 3);
    assert_int_equal(c.lock_duration, 5);
    assert_string_equal(c.totp_issuer, "My VPN");
    assert_true(client_ip_in_nets("10.200.0.1", c.allow, c.n_allow));
    assert_true(client_ip_in_nets("::ffff:10.0.0.1", c.allow, c.n_allow));
    assert_true(client_ip_in_nets("2001:db8:1::5", c.allow, c.n_allow));
    assert_true(client_ip_in_nets("127.0.0.1", c.allow, c.n_allow));
    assert_false(client_ip_in_nets("127.0.0.2", c.allow, c.n_allow));
    assert_false(client_ip_in_nets("11.0.0.1", c.allow, c.n_allow));
    assert_false(client_ip_in_nets("2001:db9::1", c.allow, c.n_allow));
    assert_false(client_ip_in_nets("", c.allow, c.n_allow));
    assert_false(client_ip_in_nets("10.0.0.1:80", c.allow, c.n_allow));
    static const struct {
        const char *json, *mentions;
    } bad[] = {
        {"{\"admin_allow\":[\"10.0.0.0/33\"]}", "admin_allow[0]"},
        {"{\"admin_allow\":[\"10.0.0.1/8\"]}", "admin_allow[0]"}, /* host bits set */
        {"{\"admin_allow\":[\"127.0.0.1\",\"example.com\"]}", "admin_allow[1]"},
        {"{\"admin_allow\":[\" 10.0.0.0/8\"]}", "admin_allow[0]"},
        {"{\"admin_allow\":[\"10.0.0.0/8 \"]}", "admin_allow[0]"},
        {"{\"admin_allow\":[\"10.0.0.0/\"]}", "admin_allow[0]"},
        {"{\"admin_allow\":[\"/8\"]}", "admin_allow[0]"},
        {"{\"admin_allow\":[\"10.0.0.0/-1\"]}", "admin_allow[0]"},
        {"{\"admin_allow\":[\"::/129\"]}", "admin_allow[0]"},
        {"{\"admin_allow\":[\"\"]}", "admin_allow[0]"},
        {"{\"admin_allow\":[8]}", "admin_allow[0]"},
        {"{\"admin_allow\":\"10.0.0.0/8\"}", "admin_allow"},
        {"{\"admin_allow\":{}}", "admin_allow"},
        {"{\"allow\":[]}", "unknown key"},
        {"{\"lockout\":{\"failures\":-1}}", "failures"},
        {"{\"lockout\":{\"window\":0}}", "window"},
        {"{\"lockout\":{\"duration\":\"5\"}}", "duration"},
        {"{\"lockout\":{\"tries\":5}}", "unknown key"},
        {"{\"lockout\":[]}", "lockout"},
        {"{\"totp\":{\"issuer\":\"a:b\"}}", "issuer"},
        {"{\"totp\":{\"issuer\":\"\"}}", "issuer"},
        {"{\"totp\":{\"issuer\":\"a\\nb\"}}", "issuer"},
        {"{\"totp\":{\"session_ttl\":5}}", "session_ttl"},
        {"[]", "object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(parse_section(bad[i].json, &c, err, sizeof err), ERR_CONFIG);
        if (strstr(err, bad[i].mentions) == NULL)
            fail_msg("%s: error \"%s\" does not mention %s", bad[i].json, err, bad[i].mentions);
    }
    /* 65 entries: over API_ALLOW_MAX. */
    char big[4096] = "{\"admin_allow\":[";
    for (int i = 0; i <= API_ALLOW_MAX; i++) {
        char one[32];
        snprintf(one, sizeof one, "%s\"10.0.%d.0/24\"", i ? "," : "", i);
        strcat(big, one);
    }
    strcat(big, "]}");
    assert_int_equal(parse_section(big, &c, err, sizeof err), ERR_CONFIG);
}

/* ---- allowlist ---- */

static void test_allowlist(void **state)
{
    (void)state;
    struct env *e = env_new("{\"admin_allow\":[\"10.0.0.0/8\",\"2001:db8::/32\"]}");
    json_t *j = NULL;
    assert_int_equal(call(e, "10.1.2.3", "GET", "/api/v1/users", ADMIN, NULL, NULL), 200);
    assert_int_equal(call(e, "2001:db8::7", "GET", "/api/v1/users", ADMIN, NULL, NULL), 200);
    assert_int_equal(call(e, "192.168.1.1", "GET", "/api/v1/users", ADMIN, NULL, &j), 403);
    assert_string_equal(err_code(j), "ip_not_allowed");
    json_decref(j);
    assert_int_equal(call(e, "11.0.0.1", "POST", "/api/v1/auth/totp", ADMIN, "{\"code\":\"123456\"}", NULL), 403);
    assert_int_equal(call(e, "11.0.0.1", "GET", "/admin", NULL, NULL, NULL), 403); /* the dashboard */
    assert_int_equal(call(e, "", "GET", "/api/v1/users", ADMIN, NULL, NULL), 403); /* unknown address */
    /* Not the admin surface: health, node sync (401: no node token, but not refused by address), /sub. */
    assert_int_equal(call(e, "192.168.1.1", "GET", "/healthz", NULL, NULL, NULL), 200);
    assert_int_equal(call(e, "192.168.1.1", "GET", "/api/v1/node/users", "nope", NULL, &j), 401);
    assert_string_equal(err_code(j), "unauthorized");
    json_decref(j);
    assert_int_equal(call(e, "192.168.1.1", "GET", "/sub/AAAAAAAAAAAAAAAAAAAAAA", NULL, NULL, NULL), 404);
    env_free(e);
}

/* ---- expiry and scopes ---- */

static char *create_token(struct env *e, const char *body, int64_t *id)
{
    json_t *j = NULL;
    assert_int_equal(call(e, "10.0.0.1", "POST", "/api/v1/tokens", ADMIN, body, &j), 201);
    char *tok = strdup(json_string_value(json_object_get(j, "token")));
    if (id != NULL)
        *id = json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return tok;
}

static void test_expiry_and_scopes(void **state)
{
    (void)state;
    struct env *e = env_new(NULL);
    json_t *j = NULL;
    int64_t id;
    char *tok = create_token(e, "{\"name\":\"crm\",\"role\":\"admin\",\"scopes\":[\"users\"],\"ttl\":120}", &id);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", tok, NULL, NULL), 200);
    assert_int_equal(call(e, "10.0.0.1", "POST", "/api/v1/users", tok, "{\"username\":\"bob\"}", NULL), 201);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/nodes", tok, NULL, &j), 403);
    assert_string_equal(err_code(j), "out_of_scope");
    json_decref(j);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/tokens", tok, NULL, NULL), 403);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/plans", tok, NULL, NULL), 403);
    char actor[32];
    snprintf(actor, sizeof actor, "token:%lld", (long long)id);
    assert_int_equal(hub_test_audit_count(e->st, actor, "token.out_of_scope"), 1); /* once a minute */
    /* The list shows the limits. */
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/tokens", ADMIN, NULL, &j), 200);
    json_t *t = json_array_get(json_object_get(j, "tokens"), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "scopes"), 0)), "users");
    assert_int_equal(json_integer_value(json_object_get(t, "expires_at")), T0 + 120);
    json_decref(j);
    /* Expired: 401 with its own code, audited. */
    e->now = T0 + 119;
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", tok, NULL, NULL), 200);
    e->now = T0 + 120;
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", tok, NULL, &j), 401);
    assert_string_equal(err_code(j), "token_expired");
    json_decref(j);
    assert_int_equal(hub_test_audit_count(e->st, actor, "token.expired"), 1);
    free(tok);
    /* read: GETs outside the admin area only. */
    tok = create_token(e, "{\"name\":\"grafana\",\"role\":\"support\",\"scopes\":[\"read\"]}", NULL);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/nodes", tok, NULL, NULL), 200);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/stats", tok, NULL, NULL), 200);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/audit", tok, NULL, NULL), 403);
    free(tok);
    /* Malformed limits are refused when the token is made. */
    static const char *const bad[] = {
        "{\"name\":\"x\",\"role\":\"admin\",\"scopes\":[\"root\"]}",
        "{\"name\":\"x\",\"role\":\"admin\",\"scopes\":[\"users\",\"users\"]}",
        "{\"name\":\"x\",\"role\":\"admin\",\"scopes\":\"users\"}",
        "{\"name\":\"x\",\"role\":\"admin\",\"scopes\":[1]}",
        "{\"name\":\"x\",\"role\":\"admin\",\"scopes\":[\"users,read\"]}",
        "{\"name\":\"x\",\"role\":\"admin\",\"ttl\":5}",
        "{\"name\":\"x\",\"role\":\"admin\",\"expires_at\":1}",
        "{\"name\":\"x\",\"role\":\"admin\",\"expires_at\":1900000000,\"ttl\":600}",
        "{\"name\":\"x\",\"role\":\"admin\",\"ttl\":\"600\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = call(e, "10.0.0.1", "POST", "/api/v1/tokens", ADMIN, bad[i], NULL);
        if (st != 400 && st != 422)
            fail_msg("%s: %d", bad[i], st);
    }
    env_free(e);
}

/* ---- TOTP ---- */

/* The secret from an enrolment answer, checked against its otpauth URI. */
static size_t enrol(struct env *e, int64_t id, uint8_t key[static 32])
{
    char path[64];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/api/v1/tokens/%lld/totp", (long long)id);
    assert_int_equal(call(e, "10.0.0.1", "POST", path, ADMIN, NULL, &j), 201);
    const char *b32 = json_string_value(json_object_get(j, "secret"));
    const char *uri = json_string_value(json_object_get(j, "otpauth"));
    assert_non_null(b32);
    assert_int_equal(strlen(b32), 32); /* 20 bytes */
    assert_int_equal(strncmp(uri, "otpauth://totp/Veil:", 20), 0);
    char want[96];
    snprintf(want, sizeof want, "?secret=%s&issuer=Veil&algorithm=SHA1&digits=6&period=30", b32);
    assert_non_null(strstr(uri, want));
    size_t n = 0;
    assert_int_equal(base32_decode(key, 32, &n, b32, strlen(b32)), 0);
    json_decref(j);
    return n;
}

static void code_at(const uint8_t *key, size_t n, int64_t t, char out[static 7])
{
    uint32_t c;
    assert_int_equal(totp_hotp(CRYPTO_SHA1, key, n, (uint64_t)(t / 30), 6, &c), 0);
    snprintf(out, 7, "%06u", c);
}

static int exchange(struct env *e, const char *ip, const char *tok, const char *code, json_t **out)
{
    char body[64];
    snprintf(body, sizeof body, "{\"code\":\"%s\"}", code);
    return call(e, ip, "POST", "/api/v1/auth/totp", tok, body, out);
}

static void test_totp_session(void **state)
{
    (void)state;
    struct env *e = env_new(NULL);
    json_t *j = NULL;
    int64_t id;
    char *tok = create_token(e, "{\"name\":\"ops laptop\",\"role\":\"admin\",\"scopes\":[\"users\",\"nodes\"]}", &id);
    assert_int_equal(exchange(e, "10.0.0.1", tok, "123456", &j), 409); /* no second factor yet */
    json_decref(j);
    uint8_t key[32];
    size_t kn = enrol(e, id, key);
    char actor[32];
    snprintf(actor, sizeof actor, "token:%lld", (long long)e->admin_id);
    assert_int_equal(hub_test_audit_count(e->st, actor, "token.totp_enable"), 1);
    /* The bare token no longer opens the API. */
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", tok, NULL, &j), 401);
    assert_string_equal(err_code(j), "totp_required");
    json_decref(j);
    char code[7], wrong[7];
    code_at(key, kn, e->now, code);
    snprintf(wrong, sizeof wrong, "%06u", (unsigned)((strtoul(code, NULL, 10) + 1) % 1000000));
    assert_int_equal(exchange(e, "10.0.0.1", tok, wrong, &j), 401);
    assert_string_equal(err_code(j), "totp_invalid");
    json_decref(j);
    static const char *const malformed[] = {"12345", "1234567", "12a456", " 12345", "", "１２３４５６"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(exchange(e, "10.0.0.1", tok, malformed[i], NULL), 400);
    assert_int_equal(call(e, "10.0.0.1", "POST", "/api/v1/auth/totp", tok, "{\"code\":123456}", NULL), 400);
    assert_int_equal(call(e, "10.0.0.1", "POST", "/api/v1/auth/totp", tok, "{\"code\":\"1\",\"x\":1}", NULL), 400);
    assert_int_equal(call(e, "10.0.0.1", "POST", "/api/v1/auth/totp", tok, "not json", NULL), 400);
    /* The right code: a session with the parent's role and scopes. */
    assert_int_equal(exchange(e, "10.0.0.1", tok, code, &j), 201);
    char *session = strdup(json_string_value(json_object_get(j, "token")));
    assert_int_equal(json_integer_value(json_object_get(j, "expires_at")), T0 + 3600);
    json_decref(j);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", session, NULL, NULL), 200);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/plans", session, NULL, NULL), 403); /* scopes kept */
    /* Replay of the same code, also 20 s later in the same step, and the previous step's code. */
    assert_int_equal(exchange(e, "10.0.0.1", tok, code, &j), 401);
    assert_string_equal(err_code(j), "totp_invalid");
    json_decref(j);
    char prev[7];
    code_at(key, kn, e->now - 30, prev);
    if (strcmp(prev, code) != 0)
        assert_int_equal(exchange(e, "10.0.0.1", tok, prev, NULL), 401);
    /* Next step's code (clock drift +1) works once. */
    char next[7];
    code_at(key, kn, e->now + 30, next);
    assert_int_equal(exchange(e, "10.0.0.1", tok, next, NULL), 201);
    /* Sessions end with the session_ttl... */
    e->now = T0 + 3600;
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", session, NULL, NULL), 401);
    /* ... and when the parent is revoked. */
    code_at(key, kn, e->now, code);
    assert_int_equal(exchange(e, "10.0.0.1", tok, code, &j), 201);
    free(session);
    session = strdup(json_string_value(json_object_get(j, "token")));
    json_decref(j);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", session, NULL, NULL), 200);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/tokens/%lld", (long long)id);
    assert_int_equal(call(e, "10.0.0.1", "DELETE", path, ADMIN, NULL, NULL), 204);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", session, NULL, NULL), 401);
    free(session);
    free(tok);
    /* Removing the factor makes the token a plain one again. */
    tok = create_token(e, "{\"name\":\"second\",\"role\":\"admin\"}", &id);
    enrol(e, id, key);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", tok, NULL, NULL), 401);
    snprintf(path, sizeof path, "/api/v1/tokens/%lld/totp", (long long)id);
    assert_int_equal(call(e, "10.0.0.1", "DELETE", path, ADMIN, NULL, NULL), 204);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", tok, NULL, NULL), 200);
    free(tok);
    env_free(e);
}

/* The recovery codes of an enrolment or regeneration answer (out: 10 strdup'd strings). */
static void recovery_codes_of(json_t *j, char *out[static 10])
{
    json_t *arr = json_object_get(j, "recovery_codes");
    assert_int_equal(json_array_size(arr), 10);
    for (size_t i = 0; i < 10; i++) {
        const char *v = json_string_value(json_array_get(arr, i));
        assert_non_null(v);
        assert_int_equal(strlen(v), 19); /* abcd-efgh-ijkl-mnop */
        for (size_t k = 0; k < 19; k++)
            assert_true(k % 5 == 4 ? v[k] == '-' : ((v[k] >= 'a' && v[k] <= 'z') || (v[k] >= '2' && v[k] <= '7')));
        for (size_t m = 0; m < i; m++)
            assert_string_not_equal(out[m], v);
        out[i] = strdup(v);
    }
}

static int64_t recovery_left(struct env *e, int64_t id)
{
    json_t *j = NULL;
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/tokens", ADMIN, NULL, &j), 200);
    int64_t left = -1;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(j, "tokens"), i, t)
    {
        json_t *v = json_object_get(t, "recovery_left"); /* absent without a second factor */
        if (json_integer_value(json_object_get(t, "id")) == id && v != NULL)
            left = json_integer_value(v);
    }
    json_decref(j);
    return left;
}

/* Recovery codes: made at enrolment, each accepted once instead of a code (any case, with or
 * without dashes), audited, counted in the token list; regeneration voids the old ones, a code
 * of one token opens no other, and removing the factor removes them. */
static void test_recovery_codes(void **state)
{
    (void)state;
    struct env *e = env_new(NULL);
    int64_t id, id2;
    char *tok = create_token(e, "{\"name\":\"laptop\",\"role\":\"admin\"}", &id);
    char *tok2 = create_token(e, "{\"name\":\"phone\",\"role\":\"admin\"}", &id2);
    char path[80];
    json_t *j = NULL;
    char *codes[10], *codes2[10], *fresh[10];
    snprintf(path, sizeof path, "/api/v1/tokens/%lld/totp", (long long)id);
    assert_int_equal(call(e, "10.0.0.1", "POST", path, ADMIN, NULL, &j), 201);
    recovery_codes_of(j, codes);
    json_decref(j);
    snprintf(path, sizeof path, "/api/v1/tokens/%lld/totp", (long long)id2);
    assert_int_equal(call(e, "10.0.0.1", "POST", path, ADMIN, NULL, &j), 201);
    recovery_codes_of(j, codes2);
    json_decref(j);
    assert_int_equal(recovery_left(e, id), 10);
    /* A code of the other token is wrong here; a made-up one too. */
    assert_int_equal(exchange(e, "10.0.0.1", tok, codes2[0], &j), 401);
    assert_string_equal(err_code(j), "totp_invalid");
    json_decref(j);
    assert_int_equal(exchange(e, "10.0.0.1", tok, "aaaa-bbbb-cccc-dddd", NULL), 401);
    assert_int_equal(exchange(e, "10.0.0.1", tok, "aaaa-bbbb-cccc-ddd", NULL), 400);  /* 15 characters */
    assert_int_equal(exchange(e, "10.0.0.1", tok, "aaaa-bbbb-cccc-ddd1", NULL), 400); /* not base32 */
    /* The right one: a session; typed in upper case without dashes works as well. */
    assert_int_equal(exchange(e, "10.0.0.1", tok, codes[3], &j), 201);
    char *session = strdup(json_string_value(json_object_get(j, "token")));
    json_decref(j);
    assert_int_equal(call(e, "10.0.0.1", "GET", "/api/v1/users", session, NULL, NULL), 200);
    free(session);
    char typed[20] = "";
    for (size_t k = 0, o = 0; codes[4][k]; k++)
        if (codes[4][k] != '-')
            typed[o++] = (char)(codes[4][k] >= 'a' ? codes[4][k] - 'a' + 'A' : codes[4][k]);
    assert_int_equal(exchange(e, "10.0.0.1", tok, typed, NULL), 201);
    /* Each works once. */
    assert_int_equal(exchange(e, "10.0.0.1", tok, codes[3], &j), 401);
    assert_string_equal(err_code(j), "totp_invalid");
    json_decref(j);
    assert_int_equal(recovery_left(e, id), 8);
    char actor[32];
    snprintf(actor, sizeof actor, "token:%lld", (long long)id);
    assert_int_equal(hub_test_audit_count(e->st, actor, "auth.recovery_code"), 2);
    /* Regeneration: the old codes stop working, the new ones work. */
    snprintf(path, sizeof path, "/api/v1/tokens/%lld/totp/recovery", (long long)id);
    assert_int_equal(call(e, "10.0.0.1", "POST", path, tok2, NULL, NULL), 401); /* a TOTP token alone opens nothing */
    assert_int_equal(call(e, "10.0.0.1", "POST", path, ADMIN, NULL, &j), 201);
    recovery_codes_of(j, fresh);
    json_decref(j);
    snprintf(actor, sizeof actor, "token:%lld", (long long)e->admin_id);
    assert_int_equal(hub_test_audit_count(e->st, actor, "token.recovery_codes"), 3);
    assert_int_equal(recovery_left(e, id), 10);
    assert_int_equal(exchange(e, "10.0.0.1", tok, codes[5], NULL), 401);
    assert_int_equal(exchange(e, "10.0.0.1", tok, fresh[9], NULL), 201);
    /* Without a factor there is nothing to regenerate; removing it removes the codes. */
    int64_t plain;
    char *tok3 = create_token(e, "{\"name\":\"plain\",\"role\":\"admin\"}", &plain);
    snprintf(path, sizeof path, "/api/v1/tokens/%lld/totp/recovery", (long long)plain);
    assert_int_equal(call(e, "10.0.0.1", "POST", path, ADMIN, NULL, NULL), 409);
    snprintf(path, sizeof path, "/api/v1/tokens/%lld/totp", (long long)id2);
    assert_int_equal(call(e, "10.0.0.1", "DELETE", path, ADMIN, NULL, NULL), 204);
    assert_int_equal(recovery_left(e, id2), -1);
    assert_int_equal(call(e, "10.0.0.1", "POST", path, ADMIN, NULL, &j), 201); /* enrolled again */
    json_decref(j);
    assert_int_equal(exchange(e, "10.0.0.1", tok2, codes2[1], NULL), 401);
    for (size_t i = 0; i < 10; i++) {
        free(codes[i]);
        free(codes2[i]);
        free(fresh[i]);
    }
    free(tok);
    free(tok2);
    free(tok3);
    env_free(e);
}

/* ---- lockout ---- */

static void test_lockout_by_address(void **state)
{
    (void)state;
    struct env *e = env_new("{\"lockout\":{\"failures\":3,\"window\":60,\"duration\":120}}");
    json_t *j = NULL;
    assert_int_equal(call(e, "10.9.9.9", "GET", "/api/v1/users", "wrong-token-1", NULL, NULL), 401);
    assert_int_equal(call(e, "10.9.9.9", "GET", "/api/v1/users", "wrong-token-2", NULL, NULL), 401);
    assert_int_equal(call(e, "10.9.9.9", "GET", "/api/v1/users", ADMIN, NULL, NULL), 200); /* not yet */
    assert_int_equal(call(e, "10.9.9.9", "GET", "/api/v1/users", "wrong-token-3", NULL, NULL), 401);
    /* Locked: even the right token, from that address only. */
    assert_int_equal(call(e, "10.9.9.9", "GET", "/api/v1/users", ADMIN, NULL, &j), 429);
    assert_string_equal(err_code(j), "locked_out");
    json_decref(j);
    assert_int_equal(call(e, "10.8.8.8", "GET", "/api/v1/users", ADMIN, NULL, NULL), 200);
    assert_int_equal(hub_test_audit_count(e->st, "ip:10.9.9.9", "auth.lockout"), 1);
    /* More tries while locked neither extend the lock nor audit again. */
    e->now += 60;
    assert_int_equal(call(e, "10.9.9.9", "GET", "/api/v1/users", "wrong-token-4", NULL, NULL), 429);
    e->now = T0 + 119;
    assert_int_equal(call(e, "10.9.9.9", "GET", "/api/v1/users", ADMIN, NULL, NULL), 429);
    e->now = T0 + 121;
    assert_int_equal(call(e, "10.9.9.9", "GET", "/api/v1/users", ADMIN, NULL, NULL), 200);
    assert_int_equal(hub_test_audit_count(e->st, "ip:10.9.9.9", "auth.lockout"), 1);
    /* Failures spread wider than the window do not add up. */
    e->now = T0 + 1000;
    assert_int_equal(call(e, "10.7.7.7", "GET", "/api/v1/users", "wrong", NULL, NULL), 401);
    assert_int_equal(call(e, "10.7.7.7", "GET", "/api/v1/users", "wrong", NULL, NULL), 401);
    e->now += 61;
    assert_int_equal(call(e, "10.7.7.7", "GET", "/api/v1/users", "wrong", NULL, NULL), 401);
    assert_int_equal(call(e, "10.7.7.7", "GET", "/api/v1/users", ADMIN, NULL, NULL), 200);
    env_free(e);
}

/* Wrong codes for one token from three addresses lock the token's second factor. */
static void test_lockout_by_token(void **state)
{
    (void)state;
    struct env *e = env_new("{\"lockout\":{\"failures\":3,\"window\":300,\"duration\":600}}");
    int64_t id;
    char *tok = create_token(e, "{\"name\":\"phone\",\"role\":\"admin\"}", &id);
    uint8_t key[32];
    size_t kn = enrol(e, id, key);
    char code[7], wrong[7];
    code_at(key, kn, e->now, code);
    snprintf(wrong, sizeof wrong, "%06u", (unsigned)((strtoul(code, NULL, 10) + 7) % 1000000));
    assert_int_equal(exchange(e, "10.0.0.1", tok, wrong, NULL), 401);
    assert_int_equal(exchange(e, "10.0.0.2", tok, wrong, NULL), 401);
    assert_int_equal(exchange(e, "10.0.0.3", tok, wrong, NULL), 401);
    json_t *j = NULL;
    assert_int_equal(exchange(e, "10.0.0.4", tok, code, &j), 429); /* right code, locked token */
    assert_string_equal(err_code(j), "locked_out");
    json_decref(j);
    char actor[32];
    snprintf(actor, sizeof actor, "token:%lld", (long long)id);
    assert_int_equal(hub_test_audit_count(e->st, actor, "auth.lockout"), 1);
    e->now += 601;
    code_at(key, kn, e->now, code);
    assert_int_equal(exchange(e, "10.0.0.4", tok, code, NULL), 201);
    free(tok);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_table),        cmocka_unit_test(test_scope_parse),
        cmocka_unit_test(test_access_cfg),         cmocka_unit_test(test_allowlist),
        cmocka_unit_test(test_expiry_and_scopes),  cmocka_unit_test(test_totp_session),
        cmocka_unit_test(test_lockout_by_address), cmocka_unit_test(test_lockout_by_token),
        cmocka_unit_test(test_recovery_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
