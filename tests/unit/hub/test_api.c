/* The admin API, node sync endpoints and /sub over real HTTP: the MHD server runs in-process on
 * an ephemeral port and libcurl drives it. Runs on SQLite :memory: and, with VEIL_PG_URL, on
 * PostgreSQL. Also checks that docs/hub-api.json documents exactly the routes the server has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub/store/store_findings.h"
#include "hub/api/api.h"
#include "hub/domain/rules.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define ADMIN "test-admin-token-0123456789"
#define SUPPORT "test-support-token-0123456789"
#define PUBKEY "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw"

static _Atomic int64_t fake_now = 1764115200;
static const char *extra_header; /* one more request header for the next calls, or NULL */
static int64_t env_dead_after;   /* api_cfg.node_dead_after of the next env_open */

static int64_t clock_fn(void *arg)
{
    (void)arg;
    return atomic_load(&fake_now);
}

struct env {
    struct store *st;
    struct api_server *srv;
    char base[64];
};

static int env_open(void **state, const char *url, size_t pool)
{
    struct env *e = calloc(1, sizeof *e);
    e->st = hub_test_store(url, pool);
    if (e->st == NULL) {
        free(e);
        return -1;
    }
    char h[65];
    api_token_hash(ADMIN, strlen(ADMIN), h);
    assert_int_equal(store_token_add(e->st, "admin", h, HUB_ROLE_ADMIN, 0, NULL), 0);
    api_token_hash(SUPPORT, strlen(SUPPORT), h);
    assert_int_equal(store_token_add(e->st, "support", h, HUB_ROLE_SUPPORT, 0, NULL), 0);
    struct api_cfg cfg = {.port = 0,
                          .threads = 4,
                          .profile_title = "Test VPN",
                          .update_interval_hours = 12,
                          .public_url = "https://vpn.example.com/",
                          .clock = clock_fn,
                          .node_dead_after = env_dead_after,
                          .place = {.hot_cpu_percent = env_dead_after ? 85 : 0}};
    if (api_start(&cfg, e->st, &e->srv) < 0) {
        store_close(e->st);
        free(e);
        return -1;
    }
    snprintf(e->base, sizeof e->base, "http://127.0.0.1:%u", (unsigned)api_port(e->srv));
    *state = e;
    return 0;
}

static int setup_sqlite(void **state)
{
    return env_open(state, "sqlite::memory:", 1);
}

/* The daemon's liveness rule on (fleet.dead_after 30 s), hot at 85 % CPU. */
static int setup_sqlite_fleet(void **state)
{
    env_dead_after = 30;
    int rc = env_open(state, "sqlite::memory:", 1);
    env_dead_after = 0;
    return rc;
}

static int setup_pg(void **state)
{
    const char *url = hub_test_pg_url();
    if (url == NULL) {
        *state = NULL;
        return 0;
    }
    return env_open(state, url, 8);
}

static int teardown(void **state)
{
    struct env *e = *state;
    if (e != NULL) {
        api_stop(e->srv);
        store_close(e->st);
        free(e);
    }
    return 0;
}

static struct env *get(void **state)
{
    if (*state == NULL)
        skip();
    return *state;
}

struct resp {
    long status;
    char *body;
    size_t len;
    char headers[4096];
    size_t hlen;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t k = sz * n;
    r->body = realloc(r->body, r->len + k + 1);
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = '\0';
    return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t k = sz * n;
    if (r->hlen + k < sizeof r->headers) {
        memcpy(r->headers + r->hlen, p, k);
        r->hlen += k;
        r->headers[r->hlen] = '\0';
    }
    return k;
}

/* Performs one request; returns the status and (when JSON) the parsed body in *out. */
static long http(struct env *e, const char *method, const char *path, const char *token, const char *body,
                 const char *ua, json_t **out, struct resp *raw)
{
    CURL *c = curl_easy_init();
    char url[512], auth[300];
    struct resp r = {0};
    snprintf(url, sizeof url, "%s%s", e->base, path);
    struct curl_slist *h = NULL;
    if (token != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    if (extra_header != NULL)
        h = curl_slist_append(h, extra_header);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (ua != NULL)
        curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out != NULL)
        *out = r.len ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    if (raw != NULL)
        *raw = r;
    else
        free(r.body);
    return status;
}

static const char *jstr(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static int64_t jint(json_t *j, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(j, key));
}

static const char *err_code(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* Asserts status and error code, then frees the body. */
static void expect_err(struct env *e, const char *method, const char *path, const char *token, const char *body,
                       long status, const char *code)
{
    json_t *j = NULL;
    long s = http(e, method, path, token, body, NULL, &j, NULL);
    if (s != status)
        fprintf(stderr, "%s %s -> %ld (want %ld)\n", method, path, s, status);
    assert_int_equal(s, status);
    assert_non_null(j);
    assert_string_equal(err_code(j), code);
    json_decref(j);
}

struct chunked_src {
    size_t left;
};

static size_t read_spaces(char *buf, size_t sz, size_t n, void *arg)
{
    struct chunked_src *src = arg;
    size_t k = sz * n < src->left ? sz * n : src->left;
    memset(buf, ' ', k);
    src->left -= k;
    return k;
}

/* A chunked upload has no Content-Length: the limit must hold while reading. */
static long post_chunked(struct env *e, const char *path, size_t bytes)
{
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "%s%s", e->base, path);
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " ADMIN);
    h = curl_slist_append(h, "Transfer-Encoding: chunked");
    h = curl_slist_append(h, "Content-Type: application/json"); /* else 415 before the body is parsed */
    struct chunked_src src = {bytes};
    struct resp r = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_spaces);
    curl_easy_setopt(c, CURLOPT_READDATA, &src);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(r.body);
    return status;
}

/* Node sync errors use the protocol's shape: {"v":1,"error":"<message>"}. */
static void expect_sync_err(struct env *e, const char *method, const char *path, const char *token, const char *body)
{
    json_t *j = NULL;
    assert_int_equal(http(e, method, path, token, body, NULL, &j, NULL), 400);
    assert_non_null(j);
    assert_int_equal(jint(j, "v"), 1);
    assert_true(json_is_string(json_object_get(j, "error")));
    assert_true(strlen(jstr(j, "error")) > 0);
    json_decref(j);
}

static int64_t create_user(struct env *e, const char *name)
{
    char body[128];
    json_t *j;
    snprintf(body, sizeof body, "{\"username\":\"%s\"}", name);
    assert_int_equal(http(e, "POST", "/api/v1/users", ADMIN, body, NULL, &j, NULL), 201);
    int64_t id = jint(j, "id");
    json_decref(j);
    return id;
}

static void test_users(void **state)
{
    struct env *e = get(state);
    json_t *j;
    assert_int_equal(http(e, "POST", "/api/v1/users", ADMIN,
                          "{\"username\":\"alice\",\"telegram_id\":42,\"language\":\"ru\",\"currency\":\"USD\"}", NULL,
                          &j, NULL),
                     201);
    int64_t id = jint(j, "id");
    assert_true(id > 0);
    assert_string_equal(jstr(j, "username"), "alice");
    assert_string_equal(jstr(j, "language"), "ru");
    assert_int_equal(strlen(jstr(j, "uuid")), 36);
    assert_true(strlen(jstr(j, "sub_token")) >= 32);
    assert_int_equal(strlen(jstr(j, "referral_code")), HUB_REFCODE_LEN);
    assert_non_null(strstr(jstr(j, "sub_url"), "https://vpn.example.com/sub/"));
    char old_token[80];
    snprintf(old_token, sizeof old_token, "%s", jstr(j, "sub_token"));
    char old_uuid[40];
    snprintf(old_uuid, sizeof old_uuid, "%s", jstr(j, "uuid"));
    json_decref(j);

    /* Validation: 400 for bad JSON, 422 for bad fields, 409 for conflicts. */
    expect_err(e, "POST", "/api/v1/users", ADMIN, "{\"username\":", 400, "invalid_json");
    expect_err(e, "POST", "/api/v1/users", ADMIN, "[1]", 400, "invalid_json");
    expect_err(e, "POST", "/api/v1/users", ADMIN, "{}", 422, "missing_field");
    expect_err(e, "POST", "/api/v1/users", ADMIN, "{\"username\":\"bad name\"}", 422, "invalid_field");
    expect_err(e, "POST", "/api/v1/users", ADMIN, "{\"username\":\"x\",\"role\":1}", 422, "unknown_field");
    expect_err(e, "POST", "/api/v1/users", ADMIN, "{\"username\":\"x\",\"telegram_id\":-5}", 422, "invalid_field");
    expect_err(e, "POST", "/api/v1/users", ADMIN, "{\"username\":\"x\",\"username\":\"y\"}", 400, "invalid_json");
    expect_err(e, "POST", "/api/v1/users", ADMIN, "{\"username\":\"alice\"}", 409, "conflict");
    expect_err(e, "POST", "/api/v1/users", ADMIN, "{\"username\":\"x\",\"referrer_id\":9999}", 404, "not_found");
    expect_err(e, "POST", "/api/v1/users", ADMIN, "{\"username\":\"x\",\"telegram_id\":42}", 409, "conflict");

    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof name, "user%02d", i);
        create_user(e, name);
    }
    assert_int_equal(http(e, "GET", "/api/v1/users?limit=5&offset=2", SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "users")), 5);
    assert_int_equal(jint(j, "total"), 13);
    json_decref(j);
    assert_int_equal(http(e, "GET", "/api/v1/users?q=USER1", ADMIN, NULL, NULL, &j, NULL), 200);
    assert_int_equal(jint(j, "total"), 2); /* user10, user11 */
    json_decref(j);
    expect_err(e, "GET", "/api/v1/users?limit=0", ADMIN, NULL, 400, "invalid_query");
    expect_err(e, "GET", "/api/v1/users?offset=-1", ADMIN, NULL, 400, "invalid_query");

    char path[64];
    snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)id);
    assert_int_equal(http(e, "GET", path, SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_int_equal(jint(j, "telegram_id"), 42);
    assert_true(json_is_null(json_object_get(j, "subscription")));
    json_decref(j);
    assert_int_equal(http(e, "PATCH", path, ADMIN, "{\"language\":\"en\",\"telegram_id\":null}", NULL, &j, NULL), 200);
    assert_string_equal(jstr(j, "language"), "en");
    assert_true(json_is_null(json_object_get(j, "telegram_id")));
    json_decref(j);
    expect_err(e, "PATCH", path, ADMIN, "{}", 422, "invalid_field");
    expect_err(e, "PATCH", path, ADMIN, "{\"username\":\"user01\"}", 409, "conflict");
    expect_err(e, "PATCH", "/api/v1/users/99999", ADMIN, "{\"language\":\"en\"}", 404, "not_found");
    expect_err(e, "GET", "/api/v1/users/0", ADMIN, NULL, 404, "not_found");
    expect_err(e, "GET", "/api/v1/users/abc", ADMIN, NULL, 404, "not_found");

    char sub[128], p2[160];
    snprintf(p2, sizeof p2, "%s/disable", path);
    assert_int_equal(http(e, "POST", p2, ADMIN, NULL, NULL, &j, NULL), 200);
    assert_false(json_is_true(json_object_get(j, "enabled")));
    json_decref(j);
    snprintf(p2, sizeof p2, "%s/enable", path);
    assert_int_equal(http(e, "POST", p2, ADMIN, NULL, NULL, &j, NULL), 200);
    assert_true(json_is_true(json_object_get(j, "enabled")));
    json_decref(j);

    /* Token rotation revokes the old link. */
    snprintf(sub, sizeof sub, "/sub/%s", old_token);
    assert_int_equal(http(e, "GET", sub, NULL, NULL, NULL, NULL, NULL), 200);
    snprintf(p2, sizeof p2, "%s/rotate-token", path);
    assert_int_equal(http(e, "POST", p2, ADMIN, NULL, NULL, &j, NULL), 200);
    assert_string_not_equal(jstr(j, "sub_token"), old_token);
    json_decref(j);
    expect_err(e, "GET", sub, NULL, NULL, 404, "not_found");
    snprintf(p2, sizeof p2, "%s/rotate-uuid", path);
    assert_int_equal(http(e, "POST", p2, ADMIN, NULL, NULL, &j, NULL), 200);
    assert_string_not_equal(jstr(j, "uuid"), old_uuid);
    json_decref(j);

    snprintf(p2, sizeof p2, "%s/balance", path);
    assert_int_equal(http(e, "POST", p2, ADMIN, "{\"delta\":1500}", NULL, &j, NULL), 200);
    assert_int_equal(jint(j, "balance_minor"), 1500);
    json_decref(j);
    expect_err(e, "POST", p2, ADMIN, "{\"delta\":-1501}", 422, "out_of_range");
    expect_err(e, "POST", p2, ADMIN, "{\"delta\":0}", 422, "invalid_field");
    expect_err(e, "POST", p2, ADMIN, "{\"delta\":1.5}", 422, "invalid_field");

    assert_int_equal(http(e, "DELETE", path, ADMIN, NULL, NULL, NULL, NULL), 204);
    expect_err(e, "GET", path, ADMIN, NULL, 404, "not_found");
    expect_err(e, "DELETE", path, ADMIN, NULL, 404, "not_found");
}

static void test_auth_and_routing(void **state)
{
    struct env *e = get(state);
    expect_err(e, "GET", "/api/v1/users", NULL, NULL, 401, "unauthorized");
    expect_err(e, "GET", "/api/v1/users", "wrong-token-0123456789", NULL, 401, "unauthorized");
    expect_err(e, "GET", "/api/v1/users", "short", NULL, 401, "unauthorized");
    /* Support is read-only. */
    assert_int_equal(http(e, "GET", "/api/v1/stats", SUPPORT, NULL, NULL, NULL, NULL), 200);
    expect_err(e, "POST", "/api/v1/users", SUPPORT, "{\"username\":\"s\"}", 403, "forbidden");
    expect_err(e, "POST", "/api/v1/plans", SUPPORT, "{}", 403, "forbidden");
    expect_err(e, "DELETE", "/api/v1/nodes/1", SUPPORT, NULL, 403, "forbidden");
    /* Admin tokens do not work on node routes. */
    expect_err(e, "GET", "/api/v1/node/users", ADMIN, NULL, 401, "unauthorized");
    /* Unknown route, wrong method. */
    expect_err(e, "GET", "/api/v1/nope", ADMIN, NULL, 404, "not_found");
    expect_err(e, "GET", "/", NULL, NULL, 404, "not_found");
    struct resp r;
    assert_int_equal(http(e, "PUT", "/api/v1/users", ADMIN, "{}", NULL, NULL, &r), 405);
    assert_non_null(strstr(r.headers, "Allow: POST, GET"));
    free(r.body);
    expect_err(e, "DELETE", "/api/v1/stats", ADMIN, NULL, 405, "method_not_allowed");
    assert_int_equal(http(e, "GET", "/healthz", NULL, NULL, NULL, NULL, NULL), 200);

    /* Body limit: 64 KiB. */
    size_t big = 70 * 1024;
    char *body = malloc(big + 1);
    memset(body, ' ', big);
    body[big] = '\0';
    body[0] = '{';
    body[big - 1] = '}';
    expect_err(e, "POST", "/api/v1/users", ADMIN, body, 413, "body_too_large");
    free(body);
    assert_int_equal(post_chunked(e, "/api/v1/users", 200 * 1024), 413);
    assert_int_equal(post_chunked(e, "/api/v1/users", 100), 400);                    /* small: parsed, not JSON */
    assert_int_equal(http(e, "GET", "/healthz", NULL, NULL, NULL, NULL, NULL), 200); /* still serving */
}

static int64_t create_plan(struct env *e, const char *name, int64_t quota)
{
    char body[256];
    json_t *j;
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"duration_days\":30,\"quota_bytes\":%lld,\"device_limit\":2,"
             "\"reset_strategy\":\"monthly\",\"prices\":{\"RUB\":29900,\"USD\":399}}",
             name, (long long)quota);
    assert_int_equal(http(e, "POST", "/api/v1/plans", ADMIN, body, NULL, &j, NULL), 201);
    int64_t id = jint(j, "id");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "prices"), "USD")), 399);
    json_decref(j);
    return id;
}

static void test_plans_and_subscriptions(void **state)
{
    struct env *e = get(state);
    json_t *j;
    int64_t plan = create_plan(e, "Month", 1000);
    expect_err(e, "POST", "/api/v1/plans", ADMIN, "{\"name\":\"Month\",\"duration_days\":30}", 409, "conflict");
    expect_err(e, "POST", "/api/v1/plans", ADMIN, "{\"name\":\"X\",\"duration_days\":0}", 422, "invalid_field");
    expect_err(e, "POST", "/api/v1/plans", ADMIN, "{\"name\":\"X\",\"duration_days\":3,\"prices\":{\"rub\":1}}", 422,
               "invalid_field");
    expect_err(e, "POST", "/api/v1/plans", ADMIN, "{\"name\":\"X\",\"duration_days\":3,\"prices\":{\"RUB\":1.5}}", 422,
               "invalid_field");
    expect_err(e, "POST", "/api/v1/plans", ADMIN, "{\"name\":\"X\",\"duration_days\":3,\"reset_strategy\":\"hourly\"}",
               422, "invalid_field");
    char path[64];
    snprintf(path, sizeof path, "/api/v1/plans/%lld", (long long)plan);
    assert_int_equal(http(e, "PATCH", path, ADMIN, "{\"prices\":{\"EUR\":350}}", NULL, &j, NULL), 200);
    assert_int_equal(json_object_size(json_object_get(j, "prices")), 1);
    json_decref(j);
    assert_int_equal(http(e, "GET", path, SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_string_equal(jstr(j, "reset_strategy"), "monthly");
    json_decref(j);
    assert_int_equal(http(e, "GET", "/api/v1/plans", SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "plans")), 1);
    json_decref(j);

    int64_t user = create_user(e, "bob");
    char body[128];
    snprintf(body, sizeof body, "{\"user_id\":%lld,\"plan_id\":%lld}", (long long)user, (long long)plan);
    assert_int_equal(http(e, "POST", "/api/v1/subscriptions", ADMIN, body, NULL, &j, NULL), 201);
    int64_t sid = jint(j, "id");
    int64_t ends = jint(j, "ends_at");
    assert_string_equal(jstr(j, "state"), "active");
    assert_int_equal(jint(j, "device_limit"), 2);
    json_decref(j);
    expect_err(e, "POST", "/api/v1/subscriptions", ADMIN, body, 409, "conflict");
    expect_err(e, "POST", "/api/v1/subscriptions", ADMIN, "{\"user_id\":99999,\"plan_id\":1}", 404, "not_found");
    expect_err(e, "POST", "/api/v1/subscriptions", ADMIN, "{\"user_id\":1}", 422, "missing_field");
    expect_err(e, "DELETE", path, ADMIN, NULL, 409, "invalid_state"); /* plan in use */

    char sp[96];
    snprintf(sp, sizeof sp, "/api/v1/subscriptions/%lld/extend", (long long)sid);
    assert_int_equal(http(e, "POST", sp, ADMIN, "{\"days\":10}", NULL, &j, NULL), 200);
    assert_int_equal(jint(j, "ends_at"), ends + 10 * HUB_DAY);
    json_decref(j);
    expect_err(e, "POST", sp, ADMIN, "{\"days\":0}", 422, "invalid_field");
    expect_err(e, "POST", sp, ADMIN, "{\"days\":100000}", 422, "invalid_field");
    snprintf(sp, sizeof sp, "/api/v1/subscriptions/%lld", (long long)sid);
    assert_int_equal(http(e, "GET", sp, SUPPORT, NULL, NULL, NULL, NULL), 200);
    snprintf(sp, sizeof sp, "/api/v1/users/%lld/subscriptions", (long long)user);
    assert_int_equal(http(e, "GET", sp, SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "subscriptions")), 1);
    json_decref(j);
    snprintf(sp, sizeof sp, "/api/v1/subscriptions/%lld/revoke", (long long)sid);
    assert_int_equal(http(e, "POST", sp, ADMIN, NULL, NULL, &j, NULL), 200);
    assert_string_equal(jstr(j, "state"), "revoked");
    json_decref(j);
    expect_err(e, "POST", sp, ADMIN, NULL, 409, "invalid_state");
    expect_err(e, "POST", "/api/v1/subscriptions/99999/revoke", ADMIN, NULL, 404, "not_found");

    /* A manual payment renews through the same exactly-once path as provider webhooks. */
    char pay[256];
    snprintf(pay, sizeof pay,
             "{\"user_id\":%lld,\"amount_minor\":29900,\"currency\":\"RUB\",\"plan_id\":%lld,"
             "\"idempotency_key\":\"cash-2025-0001\"}",
             (long long)user, (long long)plan);
    assert_int_equal(http(e, "POST", "/api/v1/payments", ADMIN, pay, NULL, &j, NULL), 201);
    assert_true(json_is_true(json_object_get(j, "applied")));
    assert_string_equal(jstr(json_object_get(j, "subscription"), "state"), "active");
    json_decref(j);
    assert_int_equal(http(e, "POST", "/api/v1/payments", ADMIN, pay, NULL, &j, NULL), 200);
    assert_true(json_is_true(json_object_get(j, "duplicate")));
    assert_false(json_is_true(json_object_get(j, "applied")));
    json_decref(j);
    expect_err(e, "POST", "/api/v1/payments", SUPPORT, pay, 403, "forbidden");
    expect_err(e, "POST", "/api/v1/payments", ADMIN,
               "{\"user_id\":1,\"amount_minor\":1,\"currency\":\"RUB\",\"idempotency_key\":\"k-12345678\"}", 422,
               "invalid_field");
    expect_err(e, "POST", "/api/v1/payments", ADMIN,
               "{\"user_id\":99999,\"amount_minor\":1,\"currency\":\"RUB\",\"credit_balance\":true,"
               "\"idempotency_key\":\"k-12345678\"}",
               404, "not_found");
    snprintf(sp, sizeof sp, "/api/v1/users/%lld/payments", (long long)user);
    assert_int_equal(http(e, "GET", sp, SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "payments")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "payments"), 0), "provider"), "manual");
    json_decref(j);

    int64_t p2 = create_plan(e, "Spare", 0);
    snprintf(path, sizeof path, "/api/v1/plans/%lld", (long long)p2);
    assert_int_equal(http(e, "DELETE", path, ADMIN, NULL, NULL, NULL, NULL), 204);
    expect_err(e, "GET", path, ADMIN, NULL, 404, "not_found");
}

static char *register_node(struct env *e, const char *name, int64_t *id)
{
    char body[512];
    json_t *j;
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"address\":\"%s.example.com\",\"port\":443,\"country\":\"NL\","
             "\"public_key\":\"" PUBKEY
             "\",\"short_ids\":[\"6ba85179e30d4fc2\"],\"server_names\":[\"www.microsoft.com\"]}",
             name, name);
    assert_int_equal(http(e, "POST", "/api/v1/nodes", ADMIN, body, NULL, &j, NULL), 201);
    *id = jint(j, "id");
    char *tok = strdup(jstr(j, "token"));
    json_decref(j);
    return tok;
}

static void test_nodes_and_sync(void **state)
{
    struct env *e = get(state);
    json_t *j;
    int64_t nid;
    char *ntok = register_node(e, "nl-1", &nid);
    assert_true(strncmp(ntok, "vn_", 3) == 0);
    expect_err(e, "POST", "/api/v1/nodes", ADMIN,
               "{\"name\":\"nl-1\",\"address\":\"x.example.com\",\"public_key\":\"" PUBKEY "\"}", 409, "conflict");
    expect_err(e, "POST", "/api/v1/nodes", ADMIN,
               "{\"name\":\"n2\",\"address\":\"x.example.com\",\"public_key\":\"abc\"}", 422, "invalid_field");
    expect_err(e, "POST", "/api/v1/nodes", ADMIN,
               "{\"name\":\"n2\",\"address\":\"bad host!\",\"public_key\":\"" PUBKEY "\"}", 422, "invalid_field");
    expect_err(e, "POST", "/api/v1/nodes", ADMIN,
               "{\"name\":\"n2\",\"address\":\"a.b\",\"public_key\":\"" PUBKEY "\",\"port\":70000}", 422,
               "invalid_field");
    expect_err(e, "POST", "/api/v1/nodes", ADMIN,
               "{\"name\":\"n2\",\"address\":\"a.b\",\"public_key\":\"" PUBKEY "\",\"short_ids\":[\"xyz\"]}", 422,
               "invalid_field");
    expect_err(e, "POST", "/api/v1/nodes", ADMIN,
               "{\"name\":\"n2\",\"address\":\"a.b\",\"public_key\":\"" PUBKEY "\",\"usage_percent\":0}", 422,
               "invalid_field");
    assert_int_equal(http(e, "GET", "/api/v1/nodes", SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "nodes")), 1);
    assert_int_equal(jint(json_array_get(json_object_get(j, "nodes"), 0), "usage_percent"), 100);
    assert_null(json_object_get(json_array_get(json_object_get(j, "nodes"), 0), "token")); /* shown once only */
    json_decref(j);
    char p[96];
    snprintf(p, sizeof p, "/api/v1/nodes/%lld/weight", (long long)nid);
    assert_int_equal(http(e, "POST", p, ADMIN, "{\"weight\":250}", NULL, &j, NULL), 200);
    assert_int_equal(jint(j, "weight"), 250);
    json_decref(j);
    expect_err(e, "POST", p, ADMIN, "{\"weight\":5000}", 422, "invalid_field");
    snprintf(p, sizeof p, "/api/v1/nodes/%lld/health", (long long)nid);
    assert_int_equal(http(e, "POST", p, ADMIN, "{\"health\":\"up\"}", NULL, &j, NULL), 200);
    assert_string_equal(jstr(j, "health"), "up");
    json_decref(j);
    expect_err(e, "POST", p, ADMIN, "{\"health\":\"great\"}", 422, "invalid_field");
    snprintf(p, sizeof p, "/api/v1/nodes/%lld/drain", (long long)nid);
    assert_int_equal(http(e, "POST", p, ADMIN, NULL, NULL, &j, NULL), 200);
    assert_true(json_is_true(json_object_get(j, "draining")));
    json_decref(j);
    assert_int_equal(http(e, "POST", p, ADMIN, "{\"draining\":false}", NULL, &j, NULL), 200);
    assert_false(json_is_true(json_object_get(j, "draining")));
    json_decref(j);
    expect_err(e, "POST", "/api/v1/nodes/99999/drain", ADMIN, NULL, 404, "not_found");
    /* Re-keying a node: PATCH the public key; nothing else changes. */
    snprintf(p, sizeof p, "/api/v1/nodes/%lld", (long long)nid);
    assert_int_equal(http(e, "PATCH", p, ADMIN,
                          "{\"public_key\":\"SGVsbG9Xb3JsZEhlbGxvV29ybGRIZWxsb1dvcmxkISE\",\"short_ids\":[\"aa\"]}",
                          NULL, &j, NULL),
                     200);
    assert_string_equal(jstr(j, "public_key"), "SGVsbG9Xb3JsZEhlbGxvV29ybGRIZWxsb1dvcmxkISE");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "short_ids"), 0)), "aa");
    assert_int_equal(jint(j, "weight"), 250);
    assert_string_equal(jstr(j, "address"), "nl-1.example.com");
    json_decref(j);
    expect_err(e, "PATCH", p, ADMIN, "{}", 422, "invalid_field");
    expect_err(e, "PATCH", p, ADMIN, "{\"public_key\":\"short\"}", 422, "invalid_field");
    expect_err(e, "PATCH", "/api/v1/nodes/99999", ADMIN, "{\"weight\":1}", 404, "not_found");
    expect_err(e, "PATCH", p, SUPPORT, "{\"weight\":1}", 403, "forbidden");

    /* Node sync: a user with a subscription appears; usage is applied once. */
    int64_t plan = create_plan(e, "Tiny", 5000);
    int64_t user = create_user(e, "carol");
    int64_t idle = create_user(e, "dave");
    char body[256];
    snprintf(body, sizeof body, "{\"user_id\":%lld,\"plan_id\":%lld}", (long long)user, (long long)plan);
    assert_int_equal(http(e, "POST", "/api/v1/subscriptions", ADMIN, body, NULL, NULL, NULL), 201);
    assert_int_equal(http(e, "GET", "/api/v1/node/users", ntok, NULL, NULL, &j, NULL), 200);
    assert_true(json_is_true(json_object_get(j, "full")));
    json_t *users = json_object_get(j, "users");
    assert_int_equal(json_array_size(users), 1);
    assert_int_equal(jint(json_array_get(users, 0), "id"), user);
    assert_string_equal(jstr(json_array_get(users, 0), "flow"), "xtls-rprx-vision");
    int64_t rev = jint(j, "revision");
    json_decref(j);
    expect_sync_err(e, "GET", "/api/v1/node/users?since=abc", ntok, NULL);
    expect_err(e, "GET", "/api/v1/node/users", "vn_wrongwrongwrongwrong", NULL, 401, "unauthorized");
    expect_err(e, "GET", "/api/v1/users", ntok, NULL, 401, "unauthorized"); /* node token is not an API token */

    snprintf(body, sizeof body,
             "{\"v\":1,\"push_id\":\"nl1-00000001\",\"usage\":[{\"id\":%lld,\"up\":2000,\"down\":3000},"
             "{\"id\":%lld,\"up\":1,\"down\":1},{\"id\":777777,\"up\":5,\"down\":5}],"
             "\"health\":{\"connections\":3,\"uptime\":60,\"revision\":%lld,\"version\":\"veil-node 0.1\"}}",
             (long long)user, (long long)idle, (long long)rev);
    assert_int_equal(http(e, "POST", "/api/v1/node/usage", ntok, body, NULL, &j, NULL), 200);
    assert_false(json_is_true(json_object_get(j, "duplicate")));
    assert_true(jint(j, "revision") > rev); /* carol hit her quota */
    json_decref(j);
    assert_int_equal(http(e, "POST", "/api/v1/node/usage", ntok, body, NULL, &j, NULL), 200);
    assert_true(json_is_true(json_object_get(j, "duplicate")));
    json_decref(j);
    /* BitTorrent attempts ("bt") become one audit row per user, once per push_id. */
    snprintf(body, sizeof body,
             "{\"v\":1,\"push_id\":\"nl1-0000000b\",\"usage\":[{\"id\":%lld,\"up\":0,\"down\":0,\"bt\":4,\"smtp\":12}],"
             "\"health\":{\"connections\":0,\"uptime\":61,\"revision\":%lld,\"version\":\"veil-node 0.1\","
             "\"probes\":[{\"net\":\"198.51.100.0/24\",\"fallbacks\":150,\"bans\":2}]}}",
             (long long)idle, (long long)rev);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(http(e, "POST", "/api/v1/node/usage", ntok, body, NULL, &j, NULL), 200);
        json_decref(j);
    }
    struct store_signal_count *btc;
    size_t nbt;
    assert_int_equal(store_bittorrent_since(e->st, 0, &btc, &nbt), 0);
    assert_int_equal(nbt, 1);
    assert_int_equal(btc[0].user_id, idle);
    assert_int_equal(btc[0].count, 4);
    free(btc);
    /* Refused port-25 flows ("smtp") likewise. */
    assert_int_equal(store_smtp_since(e->st, 0, &btc, &nbt), 0);
    assert_int_equal(nbt, 1);
    assert_int_equal(btc[0].user_id, idle);
    assert_int_equal(btc[0].count, 12);
    free(btc);
    /* A network the node flagged for probing: one node.probing row per push. */
    assert_int_equal(store_attempts_since(e->st, "node.probing", 0, &btc, &nbt), 0);
    assert_int_equal(nbt, 1);
    assert_string_equal(btc[0].key, "net:198.51.100.0/24");
    assert_int_equal(btc[0].count, 150);
    free(btc);
    expect_sync_err(e, "POST", "/api/v1/node/usage", ntok, "{\"v\":1}");
    expect_sync_err(e, "POST", "/api/v1/node/usage", ntok, "not json");
    expect_sync_err(e, "POST", "/api/v1/node/usage", ntok,
                    "{\"v\":1,\"push_id\":\"nl1-00000002\",\"usage\":[{\"id\":1,\"up\":-1,\"down\":0}],"
                    "\"health\":{\"connections\":0,\"uptime\":0,\"revision\":0,\"version\":\"\"}}");

    char q[64];
    snprintf(q, sizeof q, "/api/v1/node/users?since=%lld", (long long)rev);
    assert_int_equal(http(e, "GET", q, ntok, NULL, NULL, &j, NULL), 200);
    assert_false(json_is_true(json_object_get(j, "full")));
    assert_int_equal(json_array_size(json_object_get(j, "users")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "removed")), 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "removed"), 0)), user);
    json_decref(j);
    /* A node ahead of the hub gets a full table. */
    assert_int_equal(http(e, "GET", "/api/v1/node/users?since=999999", ntok, NULL, NULL, &j, NULL), 200);
    assert_true(json_is_true(json_object_get(j, "full")));
    json_decref(j);

    snprintf(p, sizeof p, "/api/v1/nodes/%lld", (long long)nid);
    assert_int_equal(http(e, "GET", p, SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_int_equal(jint(j, "traffic_up"), 2006);
    assert_int_equal(jint(j, "traffic_down"), 3006);
    json_decref(j);
    assert_int_equal(http(e, "GET", "/api/v1/stats", SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "subscriptions"), "limited")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "traffic"), "down")), 3006);
    json_decref(j);

    /* A leaked node token is replaced: the old one stops working at once. */
    char rp[96];
    snprintf(rp, sizeof rp, "/api/v1/nodes/%lld/rotate-token", (long long)nid);
    assert_int_equal(http(e, "POST", rp, ADMIN, NULL, NULL, &j, NULL), 200);
    char *ntok2 = strdup(jstr(j, "token"));
    json_decref(j);
    expect_err(e, "GET", "/api/v1/node/users", ntok, NULL, 401, "unauthorized");
    assert_int_equal(http(e, "GET", "/api/v1/node/users", ntok2, NULL, NULL, NULL, NULL), 200);
    assert_int_equal(http(e, "DELETE", p, ADMIN, NULL, NULL, NULL, NULL), 204);
    expect_err(e, "GET", "/api/v1/node/users", ntok2, NULL, 401, "unauthorized"); /* token died with the node */
    free(ntok);
    free(ntok2);
}

static void test_sub_endpoint(void **state)
{
    struct env *e = get(state);
    json_t *j;
    int64_t nid;
    free(register_node(e, "de-1", &nid));
    int64_t plan = create_plan(e, "Month", 0);
    int64_t user = create_user(e, "erin");
    char body[128], path[128];
    snprintf(body, sizeof body, "{\"user_id\":%lld,\"plan_id\":%lld}", (long long)user, (long long)plan);
    assert_int_equal(http(e, "POST", "/api/v1/subscriptions", ADMIN, body, NULL, NULL, NULL), 201);
    snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)user);
    assert_int_equal(http(e, "GET", path, ADMIN, NULL, NULL, &j, NULL), 200);
    char sub[128];
    snprintf(sub, sizeof sub, "/sub/%s", jstr(j, "sub_token"));
    assert_string_equal(jstr(json_object_get(j, "subscription"), "state"), "active");
    json_decref(j);

    struct resp r;
    assert_int_equal(http(e, "GET", sub, NULL, NULL, "v2rayNG/1.8.5", NULL, &r), 200);
    assert_non_null(strstr(r.headers, "subscription-userinfo: upload=0; download=0; total=0; expire="));
    assert_non_null(strstr(r.headers, "profile-update-interval: 12"));
    assert_non_null(strstr(r.headers, "profile-web-page-url: https://vpn.example.com/sub/"));
    assert_true(r.len > 0);
    free(r.body);
    char p2[160];
    snprintf(p2, sizeof p2, "%s/sing-box", sub);
    assert_int_equal(http(e, "GET", p2, NULL, NULL, NULL, &j, NULL), 200);
    assert_non_null(j);
    json_decref(j);
    snprintf(p2, sizeof p2, "%s/info", sub);
    assert_int_equal(http(e, "GET", p2, NULL, NULL, NULL, &j, NULL), 200);
    assert_string_equal(jstr(j, "status"), "active");
    assert_int_equal(json_array_size(json_object_get(j, "links")), 1);
    json_decref(j);
    /* Node changes reach /sub at once (the node cache is dropped on every change). */
    snprintf(p2, sizeof p2, "%s/plain", sub);
    assert_int_equal(http(e, "GET", p2, NULL, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "de-1.example.com"));
    free(r.body);
    char np[96];
    snprintf(np, sizeof np, "/api/v1/nodes/%lld/drain", (long long)nid);
    assert_int_equal(http(e, "POST", np, ADMIN, NULL, NULL, NULL, NULL), 200);
    assert_int_equal(http(e, "GET", p2, NULL, NULL, NULL, NULL, &r), 200);
    assert_null(r.body ? strstr(r.body, "de-1.example.com") : NULL);
    free(r.body);
    assert_int_equal(http(e, "POST", np, ADMIN, "{\"draining\":false}", NULL, NULL, NULL), 200);
    /* The web page: language from Accept-Language, ?lang= overrides; never kept by shared caches. */
    snprintf(p2, sizeof p2, "%s/html", sub);
    extra_header = "Accept-Language: ru-RU,ru;q=0.9,en;q=0.5";
    assert_int_equal(http(e, "GET", p2, NULL, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "<html lang=\"ru\">"));
    assert_non_null(strstr(r.body, "data-state=\"active\""));
    assert_non_null(strstr(r.body, "<svg class=\"qr\""));
    assert_non_null(strstr(r.headers, "cache-control: private, no-store"));
    free(r.body);
    snprintf(p2, sizeof p2, "%s/html?lang=en", sub);
    assert_int_equal(http(e, "GET", p2, NULL, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "<html lang=\"en\">"));
    free(r.body);
    extra_header = NULL;
    snprintf(p2, sizeof p2, "%s/bogus-format", sub);
    expect_err(e, "GET", p2, NULL, NULL, 404, "not_found");
    expect_err(e, "GET", "/sub/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, NULL, 404, "not_found");
    expect_err(e, "GET", "/sub/short", NULL, NULL, 404, "not_found");
    expect_err(e, "POST", sub, NULL, NULL, 405, "method_not_allowed");
    /* A disabled user still gets an answer, marked as such. */
    snprintf(p2, sizeof p2, "%s/disable", path);
    assert_int_equal(http(e, "POST", p2, ADMIN, NULL, NULL, NULL, NULL), 200);
    snprintf(p2, sizeof p2, "%s/info", sub);
    assert_int_equal(http(e, "GET", p2, NULL, NULL, NULL, &j, NULL), 200);
    assert_string_equal(jstr(j, "status"), "disabled");
    assert_int_equal(json_array_size(json_object_get(j, "links")), 0);
    json_decref(j);
}

/* Issue 15 item 4: a registered node that never checked in is not served; its first pull brings
 * it in; dead_after seconds of silence take it out; the next check-in brings it back. */
static void test_sub_node_liveness(void **state)
{
    struct env *e = get(state);
    json_t *j;
    int64_t nid;
    char *ntok = register_node(e, "lv-1", &nid);
    int64_t plan = create_plan(e, "Month", 0);
    int64_t user = create_user(e, "liv");
    char body[128], path[64], sub[128];
    snprintf(body, sizeof body, "{\"user_id\":%lld,\"plan_id\":%lld}", (long long)user, (long long)plan);
    assert_int_equal(http(e, "POST", "/api/v1/subscriptions", ADMIN, body, NULL, NULL, NULL), 201);
    snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)user);
    assert_int_equal(http(e, "GET", path, ADMIN, NULL, NULL, &j, NULL), 200);
    snprintf(sub, sizeof sub, "/sub/%s/plain", jstr(j, "sub_token"));
    json_decref(j);
    struct resp r;
    assert_int_equal(http(e, "GET", sub, NULL, NULL, NULL, NULL, &r), 200);
    assert_null(r.body ? strstr(r.body, "lv-1.example.com") : NULL); /* never seen: not served */
    free(r.body);
    assert_int_equal(http(e, "GET", "/metrics", SUPPORT, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "veil_hub_nodes{state=\"unseen\"} 1\n"));
    assert_non_null(strstr(r.body, "veil_hub_nodes{state=\"served\"} 0\n"));
    free(r.body);
    int64_t t0 = atomic_load(&fake_now);
    assert_int_equal(http(e, "GET", "/api/v1/node/users", ntok, NULL, NULL, NULL, NULL), 200);
    assert_int_equal(http(e, "GET", sub, NULL, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "lv-1.example.com")); /* checked in: served at once */
    free(r.body);
    atomic_store(&fake_now, t0 + 29);
    assert_int_equal(http(e, "GET", sub, NULL, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "lv-1.example.com"));
    free(r.body);
    atomic_store(&fake_now, t0 + 30); /* silent for dead_after: out, though stored health is up */
    assert_int_equal(http(e, "GET", sub, NULL, NULL, NULL, NULL, &r), 200);
    assert_null(r.body ? strstr(r.body, "lv-1.example.com") : NULL);
    free(r.body);
    assert_int_equal(http(e, "GET", "/metrics", SUPPORT, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "veil_hub_nodes{state=\"stale\"} 1\n"));
    free(r.body);
    assert_int_equal(http(e, "GET", "/api/v1/node/users", ntok, NULL, NULL, NULL, NULL), 200);
    assert_int_equal(http(e, "GET", sub, NULL, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(r.body, "lv-1.example.com")); /* back with its next check-in */
    free(r.body);
    atomic_store(&fake_now, t0);
    free(ntok);
}

/* The hosts of the vless:// links of a plain /sub answer, in order, joined by ' '. */
static void sub_hosts(struct env *e, const char *sub, char *out, size_t cap)
{
    struct resp r;
    assert_int_equal(http(e, "GET", sub, NULL, NULL, NULL, NULL, &r), 200);
    out[0] = '\0';
    for (const char *p = r.body; p && (p = strchr(p, '@')) != NULL;) {
        const char *end = strchr(++p, ':');
        assert_non_null(end);
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%.*s", len ? " " : "", (int)(end - p), p);
        p = end;
    }
    free(r.body);
}

/* Issue 15 item 5 through the API: node groups on nodes and plans, load from usage pushes, a
 * customer's order stable across fetches, a hot node last. */
static void test_sub_placement(void **state)
{
    struct env *e = get(state);
    json_t *j;
    int64_t id[3];
    char *tok[3];
    static const char *const names[3] = {"pa", "pb", "pc"};
    for (int i = 0; i < 3; i++) {
        tok[i] = register_node(e, names[i], &id[i]);
        assert_int_equal(http(e, "GET", "/api/v1/node/users", tok[i], NULL, NULL, NULL, NULL), 200); /* check in */
    }
    char p[96];
    for (int i = 1; i < 3; i++) {
        snprintf(p, sizeof p, "/api/v1/nodes/%lld", (long long)id[i]);
        assert_int_equal(http(e, "PATCH", p, ADMIN, "{\"group\":\"premium\"}", NULL, &j, NULL), 200);
        assert_string_equal(jstr(j, "group"), "premium");
        json_decref(j);
    }
    snprintf(p, sizeof p, "/api/v1/nodes/%lld", (long long)id[0]);
    expect_err(e, "PATCH", p, ADMIN, "{\"group\":\"Premium!\"}", 422, "invalid_field");
    int64_t basic = create_plan(e, "Basic", 0);
    assert_int_equal(http(e, "POST", "/api/v1/plans", ADMIN,
                          "{\"name\":\"Premium\",\"duration_days\":30,\"prices\":{\"RUB\":100},"
                          "\"node_groups\":[\"premium\"]}",
                          NULL, &j, NULL),
                     201);
    int64_t premium = jint(j, "id");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "node_groups"), 0)), "premium");
    json_decref(j);
    expect_err(e, "POST", "/api/v1/plans", ADMIN,
               "{\"name\":\"Dup\",\"duration_days\":30,\"prices\":{\"RUB\":1},\"node_groups\":[\"a\",\"a\"]}", 422,
               "invalid_field");
    char sub[2][128];
    int64_t plans[2] = {basic, premium};
    static const char *const users[2] = {"pl-basic", "pl-prem"};
    for (int i = 0; i < 2; i++) {
        int64_t user = create_user(e, users[i]);
        char body[128], path[64];
        snprintf(body, sizeof body, "{\"user_id\":%lld,\"plan_id\":%lld}", (long long)user, (long long)plans[i]);
        assert_int_equal(http(e, "POST", "/api/v1/subscriptions", ADMIN, body, NULL, NULL, NULL), 201);
        snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)user);
        assert_int_equal(http(e, "GET", path, ADMIN, NULL, NULL, &j, NULL), 200);
        snprintf(sub[i], sizeof sub[i], "/sub/%s/plain", jstr(j, "sub_token"));
        json_decref(j);
    }
    char hosts[256], again[256];
    /* The premium plan sees only premium nodes. */
    sub_hosts(e, sub[1], hosts, sizeof hosts);
    assert_null(strstr(hosts, "pa.example.com"));
    assert_non_null(strstr(hosts, "pb.example.com"));
    assert_non_null(strstr(hosts, "pc.example.com"));
    /* The basic plan sees all three, in the same order on every fetch. */
    sub_hosts(e, sub[0], hosts, sizeof hosts);
    assert_non_null(strstr(hosts, "pa.example.com"));
    assert_non_null(strstr(hosts, "pb.example.com"));
    for (int k = 0; k < 3; k++) {
        sub_hosts(e, sub[0], again, sizeof again);
        assert_string_equal(hosts, again);
    }
    /* The customer's first node reports 95 % CPU: it goes last. */
    int first = -1;
    for (int i = 0; i < 3; i++) {
        char h[32];
        snprintf(h, sizeof h, "%s.example.com", names[i]);
        if (strncmp(hosts, h, strlen(h)) == 0)
            first = i;
    }
    assert_true(first >= 0);
    assert_int_equal(http(e, "POST", "/api/v1/node/usage", tok[first],
                          "{\"v\":1,\"push_id\":\"placement-1\",\"usage\":[],\"health\":{\"connections\":40,"
                          "\"uptime\":9,\"revision\":1,\"version\":\"t\",\"cpu\":95,\"bps\":1000}}",
                          NULL, NULL, NULL),
                     200);
    snprintf(p, sizeof p, "/api/v1/nodes/%lld", (long long)id[first]);
    assert_int_equal(http(e, "GET", p, SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_int_equal(jint(json_object_get(j, "load"), "cpu"), 95);
    assert_int_equal(jint(json_object_get(j, "load"), "connections"), 40);
    assert_int_equal(jint(json_object_get(j, "load"), "bps"), 1000);
    json_decref(j);
    sub_hosts(e, sub[0], again, sizeof again);
    char h[32];
    snprintf(h, sizeof h, "%s.example.com", names[first]);
    assert_string_equal(again + strlen(again) - strlen(h), h);
    assert_true(strncmp(again, h, strlen(h)) != 0);
    for (int i = 0; i < 3; i++)
        free(tok[i]);
}

static void test_device_limit(void **state)
{
    struct env *e = get(state);
    json_t *j;
    int64_t nid;
    free(register_node(e, "fi-1", &nid));
    int64_t plan = create_plan(e, "Two devices", 0); /* device_limit 2 */
    int64_t user = create_user(e, "hana");
    char body[128], path[64], sub[128];
    snprintf(body, sizeof body, "{\"user_id\":%lld,\"plan_id\":%lld}", (long long)user, (long long)plan);
    assert_int_equal(http(e, "POST", "/api/v1/subscriptions", ADMIN, body, NULL, NULL, NULL), 201);
    snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)user);
    assert_int_equal(http(e, "GET", path, ADMIN, NULL, NULL, &j, NULL), 200);
    snprintf(sub, sizeof sub, "/sub/%s/plain", jstr(j, "sub_token"));
    json_decref(j);
    struct resp r;
    /* A client without x-hwid is served and told the limit cannot be checked. */
    assert_int_equal(http(e, "GET", sub, NULL, NULL, "v2rayNG/1.8.5", NULL, &r), 200);
    assert_non_null(strstr(r.headers, "x-hwid-not-supported: true"));
    assert_non_null(strstr(r.body, "fi-1.example.com"));
    free(r.body);
    static const char *const ids[] = {"x-hwid: device-one-0001", "x-hwid: device-two-0002", "x-hwid: device-three-03"};
    for (int i = 0; i < 3; i++) {
        extra_header = ids[i];
        assert_int_equal(http(e, "GET", sub, NULL, NULL, "Happ/1.63.1", NULL, &r), 200);
        assert_non_null(strstr(r.headers, "x-hwid-active: true"));
        if (i < 2) {
            assert_non_null(strstr(r.body, "fi-1.example.com"));
            assert_null(strstr(r.headers, "x-hwid-max-devices-reached"));
        } else {
            assert_null(strstr(r.body, "fi-1.example.com")); /* info entry only */
            assert_non_null(strstr(r.headers, "x-hwid-max-devices-reached: true"));
            assert_non_null(strstr(r.headers, "announce:"));
        }
        free(r.body);
    }
    extra_header = NULL;
    char dp[96];
    snprintf(dp, sizeof dp, "%s/devices", path);
    assert_int_equal(http(e, "GET", dp, SUPPORT, NULL, NULL, &j, NULL), 200);
    json_t *devs = json_object_get(j, "devices");
    assert_int_equal(json_array_size(devs), 2);
    assert_string_equal(jstr(json_array_get(devs, 0), "user_agent"), "Happ/1.63.1");
    int64_t first = jint(json_array_get(devs, 0), "id");
    json_decref(j);
    snprintf(dp, sizeof dp, "/api/v1/devices/%lld", (long long)first);
    expect_err(e, "DELETE", dp, SUPPORT, NULL, 403, "forbidden");
    assert_int_equal(http(e, "DELETE", dp, ADMIN, NULL, NULL, NULL, NULL), 204);
    expect_err(e, "DELETE", dp, ADMIN, NULL, 404, "not_found");
    extra_header = ids[2];
    assert_int_equal(http(e, "GET", sub, NULL, NULL, "Happ/1.63.1", NULL, &r), 200);
    assert_non_null(strstr(r.body, "fi-1.example.com")); /* the freed slot is taken */
    free(r.body);
    extra_header = NULL;
}

static void test_audit(void **state)
{
    struct env *e = get(state);
    json_t *j;
    create_user(e, "frank");
    assert_int_equal(http(e, "GET", "/api/v1/audit?limit=5", SUPPORT, NULL, NULL, &j, NULL), 200);
    /* The support token's first use from this address is audited before the listing runs. */
    json_t *newest = json_array_get(json_object_get(j, "entries"), 0);
    assert_string_equal(jstr(newest, "action"), "token.new_ip");
    assert_string_equal(jstr(newest, "source_ip"), "127.0.0.1");
    assert_string_equal(jstr(newest, "actor"), jstr(newest, "target"));
    json_t *first = json_array_get(json_object_get(j, "entries"), 1);
    assert_string_equal(jstr(first, "action"), "user.create");
    assert_string_equal(jstr(first, "source_ip"), "127.0.0.1");
    assert_non_null(strstr(jstr(first, "actor"), "token:"));
    assert_string_equal(jstr(json_object_get(first, "details"), "username"), "frank");
    assert_int_equal(jint(first, "at"), atomic_load(&fake_now));
    json_decref(j);
    /* A second use from the same address adds nothing. */
    assert_int_equal(http(e, "GET", "/api/v1/audit?limit=5", SUPPORT, NULL, NULL, &j, NULL), 200);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "entries"), 0), "action"), "token.new_ip");
    assert_string_equal(jstr(json_array_get(json_object_get(j, "entries"), 1), "action"), "user.create");
    json_decref(j);
    expect_err(e, "GET", "/api/v1/audit?limit=0", SUPPORT, NULL, 400, "invalid_query");

    /* API tokens: issued once, listed without values, revoked at once. */
    assert_int_equal(
        http(e, "POST", "/api/v1/tokens", ADMIN, "{\"name\":\"helpdesk\",\"role\":\"support\"}", NULL, &j, NULL), 201);
    char *tok = strdup(jstr(j, "token"));
    int64_t tid = jint(j, "id");
    json_decref(j);
    assert_int_equal(http(e, "GET", "/api/v1/stats", tok, NULL, NULL, NULL, NULL), 200);
    expect_err(e, "POST", "/api/v1/users", tok, "{\"username\":\"z\"}", 403, "forbidden");
    expect_err(e, "GET", "/api/v1/tokens", SUPPORT, NULL, 403, "forbidden");
    expect_err(e, "POST", "/api/v1/tokens", ADMIN, "{\"name\":\"x\",\"role\":\"root\"}", 422, "invalid_field");
    assert_int_equal(http(e, "GET", "/api/v1/tokens", ADMIN, NULL, NULL, &j, NULL), 200);
    assert_int_equal(json_array_size(json_object_get(j, "tokens")), 3);
    char *text = json_dumps(j, 0);
    assert_null(strstr(text, tok)); /* values never listed */
    free(text);
    json_decref(j);
    char tp[64];
    snprintf(tp, sizeof tp, "/api/v1/tokens/%lld", (long long)tid);
    assert_int_equal(http(e, "DELETE", tp, ADMIN, NULL, NULL, NULL, NULL), 204);
    expect_err(e, "GET", "/api/v1/stats", tok, NULL, 401, "unauthorized");
    expect_err(e, "DELETE", tp, ADMIN, NULL, 409, "invalid_state");
    expect_err(e, "DELETE", "/api/v1/tokens/1", ADMIN, NULL, 409, "invalid_state"); /* itself */
    free(tok);

    /* Metrics: counted per route pattern (never per id), database rows refreshed on scrape. */
    expect_err(e, "GET", "/metrics", NULL, NULL, 401, "unauthorized");
    struct resp r;
    assert_int_equal(http(e, "GET", "/metrics", SUPPORT, NULL, NULL, NULL, &r), 200);
    assert_non_null(
        strstr(r.body, "veil_hub_http_requests_total{route=\"/api/v1/users\",method=\"POST\",code=\"201\"} 1"));
    assert_non_null(
        strstr(r.body, "veil_hub_http_requests_total{route=\"/api/v1/audit\",method=\"GET\",code=\"400\"} 1"));
    assert_non_null(strstr(r.body, "veil_hub_objects{kind=\"users\"} 1"));
    assert_non_null(strstr(r.body, "veil_hub_db_pool_connections{state=\"size\"}"));
    assert_non_null(
        strstr(r.body, "veil_hub_http_request_duration_seconds_bucket{route=\"/api/v1/users\",le=\"+Inf\"}"));
    assert_null(strstr(r.body, "/api/v1/users/1")); /* ids never become labels */
    free(r.body);
}

/* 50 clients creating users and pushing usage: no 5xx, no lost update. A few seconds in the unit
 * run; tests/integration/test_hub_pg.sh runs it for 30 s on both backends (VEIL_HUB_LOAD_SECONDS). */
#define CLIENTS 50

struct worker {
    struct env *e;
    char *ntok;
    int64_t user;
    int idx;
    double until;
    int created, pushed, bad;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; mono() < w->until; i++) {
        char body[512];
        long s;
        if (i % 2 == 0) {
            snprintf(body, sizeof body, "{\"username\":\"w%02d_%05d\"}", w->idx, i);
            s = http(w->e, "POST", "/api/v1/users", ADMIN, body, NULL, NULL, NULL);
            if (s == 201)
                w->created++;
            else
                w->bad++;
        } else {
            snprintf(body, sizeof body,
                     "{\"v\":1,\"push_id\":\"w%02d-%08d\",\"usage\":[{\"id\":%lld,\"up\":7,\"down\":11}],"
                     "\"health\":{\"connections\":1,\"uptime\":1,\"revision\":0,\"version\":\"t\"}}",
                     w->idx, i, (long long)w->user);
            s = http(w->e, "POST", "/api/v1/node/usage", w->ntok, body, NULL, NULL, NULL);
            if (s == 200)
                w->pushed++;
            else
                w->bad++;
        }
        if (s >= 500 || s == 0)
            fprintf(stderr, "worker %d: status %ld\n", w->idx, s);
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    struct env *e = get(state);
    int64_t nid;
    char *ntok = register_node(e, "load-1", &nid);
    int64_t plan = create_plan(e, "Unlimited", 0);
    int64_t user = create_user(e, "heavy");
    char body[128];
    snprintf(body, sizeof body, "{\"user_id\":%lld,\"plan_id\":%lld}", (long long)user, (long long)plan);
    assert_int_equal(http(e, "POST", "/api/v1/subscriptions", ADMIN, body, NULL, NULL, NULL), 201);
    pthread_t th[CLIENTS];
    struct worker ws[CLIENTS];
    const char *secs_env = getenv("VEIL_HUB_LOAD_SECONDS");
    double secs = secs_env != NULL && atof(secs_env) > 0 ? atof(secs_env) : 3.0;
    double until = mono() + secs;
    for (int i = 0; i < CLIENTS; i++) {
        ws[i] = (struct worker){.e = e, .ntok = ntok, .user = user, .idx = i, .until = until};
        assert_int_equal(pthread_create(&th[i], NULL, work, &ws[i]), 0);
    }
    int created = 0, pushed = 0, bad = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(th[i], NULL);
        created += ws[i].created;
        pushed += ws[i].pushed;
        bad += ws[i].bad;
    }
    fprintf(stderr, "concurrency: %d clients, %d users created, %d pushes in %.0f s, %d failures\n", CLIENTS, created,
            pushed, secs, bad);
    assert_int_equal(bad, 0);
    assert_true(pushed > 0 && created > 0);
    json_t *j;
    char path[64];
    snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)user);
    assert_int_equal(http(e, "GET", path, ADMIN, NULL, NULL, &j, NULL), 200);
    json_t *s = json_object_get(j, "subscription");
    assert_int_equal(jint(s, "used_up"), 7LL * pushed);
    assert_int_equal(jint(s, "used_down"), 11LL * pushed);
    json_decref(j);
    assert_int_equal(http(e, "GET", "/api/v1/stats", ADMIN, NULL, NULL, &j, NULL), 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "users"), "total")), created + 1);
    json_decref(j);
    free(ntok);
}

/* Every route of the server is in docs/hub-api.json and every documented operation exists. */
static void test_openapi_matches_routes(void **state)
{
    (void)state;
    const char *src = getenv("VEIL_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/hub-api.json", src ? src : ".");
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        fprintf(stderr, "%s: %s (line %d)\n", path, je.text, je.line);
    assert_non_null(doc);
    assert_non_null(strstr(jstr(doc, "openapi"), "3."));
    json_t *paths = json_object_get(doc, "paths");
    assert_true(json_is_object(paths));
    size_t n;
    const struct api_route *r = api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        char m[16];
        size_t k = 0;
        for (; r[i].method[k] && k < sizeof m - 1; k++)
            m[k] = (char)(r[i].method[k] | 0x20);
        m[k] = '\0';
        json_t *op = json_object_get(json_object_get(paths, r[i].pattern), m);
        if (op == NULL)
            fprintf(stderr, "undocumented route: %s %s\n", r[i].method, r[i].pattern);
        assert_non_null(op);
        /* Authenticated routes must say so. */
        json_t *sec = json_object_get(op, "security");
        if (r[i].auth == API_AUTH_NONE)
            assert_true(sec != NULL && json_array_size(sec) == 0);
        else
            assert_true(sec == NULL || json_array_size(sec) > 0);
    }
    size_t documented = 0;
    const char *p;
    json_t *item;
    json_object_foreach(paths, p, item)
    {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op)
        {
            if (strcmp(m, "parameters") == 0)
                continue;
            documented++;
            bool found = false;
            for (size_t i = 0; i < n && !found; i++)
                found = strcmp(r[i].pattern, p) == 0 && strcasecmp(r[i].method, m) == 0;
            if (!found)
                fprintf(stderr, "documented but not served: %s %s\n", m, p);
            assert_true(found);
            assert_non_null(json_object_get(op, "responses"));
        }
    }
    assert_int_equal(documented, n);
    json_decref(doc);
}

#define SUITE(setup)                                                                                                   \
    cmocka_unit_test_setup_teardown(test_users, setup, teardown),                                                      \
        cmocka_unit_test_setup_teardown(test_auth_and_routing, setup, teardown),                                       \
        cmocka_unit_test_setup_teardown(test_plans_and_subscriptions, setup, teardown),                                \
        cmocka_unit_test_setup_teardown(test_nodes_and_sync, setup, teardown),                                         \
        cmocka_unit_test_setup_teardown(test_sub_endpoint, setup, teardown),                                           \
        cmocka_unit_test_setup_teardown(test_device_limit, setup, teardown),                                           \
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),                                                  \
        cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown)

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest sqlite_tests[] = {
        SUITE(setup_sqlite), cmocka_unit_test(test_openapi_matches_routes),
        cmocka_unit_test_setup_teardown(test_sub_node_liveness, setup_sqlite_fleet, teardown),
        cmocka_unit_test_setup_teardown(test_sub_placement, setup_sqlite_fleet, teardown)};
    const struct CMUnitTest pg_tests[] = {SUITE(setup_pg)};
    if (getenv("VEIL_HUB_LOAD_ONLY") != NULL) { /* the long load run of test_hub_pg.sh, both backends */
        const struct CMUnitTest load_sqlite[] = {
            cmocka_unit_test_setup_teardown(test_concurrency, setup_sqlite, teardown)};
        const struct CMUnitTest load_pg[] = {cmocka_unit_test_setup_teardown(test_concurrency, setup_pg, teardown)};
        int rc = cmocka_run_group_tests_name("load_sqlite", load_sqlite, NULL, NULL);
        rc |= cmocka_run_group_tests_name("load_pg", load_pg, NULL, NULL);
        curl_global_cleanup();
        return rc;
    }
    int rc = cmocka_run_group_tests_name("api_sqlite", sqlite_tests, NULL, NULL);
    rc |= HUB_TEST_RUN_PG_GROUP("api_pg", pg_tests);
    curl_global_cleanup();
    return rc;
}
