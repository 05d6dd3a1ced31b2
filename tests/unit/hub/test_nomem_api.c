/* Allocation failures in the hub API (issue 11 #10): admin requests through the router
 * (authentication, body checks, handler, store on SQLite in memory, the JSON answer) and a
 * node's sync pull, with each of our allocations failing in turn. A request whose allocation
 * failed answers 500 (or 503) with a JSON error, never a wrong success or a crash, and frees
 * what it took (tests/support/nomem tracks every block allocated during the run); the store
 * reports ERR_NOMEM for it (test_hub_nomem sweeps the store alone). SQLite's and jansson's
 * own allocations are theirs and are not failed here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/err.h"
#include "failalloc.h"
#include "hub/api/api.h"
#include "hub/module.h"
#include "hub/store/store.h"
#include "hub_test_db.h"

#define ADMIN "Bearer test-admin-token-0123456789"

static struct store *st;
static struct api_ctx ctx;
static unsigned serial;

static const char *content_json(void *arg, const char *name)
{
    (void)arg;
    return strcasecmp(name, "Content-Type") == 0 ? "application/json" : NULL;
}

/* The node pulls what changed since its last pull: a pull since 0 would grow with the rows
 * that failed runs leave behind, and the sweep would never reach its end. */
static char last_rev[24] = "0";

static const char *since_last(void *arg, const char *key)
{
    (void)arg;
    return strcmp(key, "since") == 0 ? last_rev : NULL;
}

/* One request; 0 when it answered `want`, ERR_NOMEM when it answered 5xx (an allocation
 * failed), ERR_INTERNAL for any other answer. *doc gets the parsed answer when asked. */
static int call(const char *method, const char *path, const char *auth, const char *body, int want, json_t **doc)
{
    struct api_req q = {.method = method,
                        .path = path,
                        .authorization = auth,
                        .ip = "127.0.0.1",
                        .user_agent = "test",
                        .body = body ? body : "",
                        .body_len = body ? strlen(body) : 0,
                        .header = content_json,
                        .query = since_last};
    struct api_resp r;
    api_dispatch(&ctx, &q, &r);
    int rc = 0;
    if (r.status >= 500 && r.status <= 503) {
        rc = ERR_NOMEM;
        if (r.body == NULL || strstr(r.body, "\"error\"") == NULL)
            rc = ERR_INTERNAL; /* the failure must still be a well-formed JSON error */
    } else if (r.status != want) {
        fprintf(stderr, "%s %s: %d %.*s\n", method, path, r.status, (int)r.body_len, r.body ? r.body : "");
        rc = ERR_INTERNAL;
    } else if (doc != NULL) {
        failalloc_pause(); /* the test's own parse is not the API's */
        *doc = json_loadb(r.body, r.body_len, 0, NULL);
        failalloc_resume();
        rc = *doc != NULL ? 0 : ERR_INTERNAL;
    }
    api_resp_dispose(&r);
    return rc;
}

static int64_t id_of(json_t *doc, const char *key)
{
    json_t *v = key ? json_object_get(doc, key) : doc;
    return (int64_t)json_integer_value(json_object_get(v, "id"));
}

static int admin_day(void)
{
    unsigned n = ++serial;
    char body[256], path[96];
    json_t *user = NULL, *plan = NULL, *node = NULL, *pull = NULL;
    int rc;
    /* A node registered, then its sync pull with the token it was given. */
    snprintf(body, sizeof body, "{\"name\":\"node-%u\",\"address\":\"n%u.example.com\",\"public_key\":\"%s\"}", n, n,
             "2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y");
    if ((rc = call("POST", "/api/v1/nodes", ADMIN, body, 201, &node)) < 0)
        goto out;
    const char *tok = json_string_value(json_object_get(node, "token"));
    char auth[320];
    snprintf(auth, sizeof auth, "Bearer %s", tok ? tok : "");
    if ((rc = call("GET", "/api/v1/node/users", auth, NULL, 200, &pull)) < 0)
        goto out;
    snprintf(last_rev, sizeof last_rev, "%lld", (long long)json_integer_value(json_object_get(pull, "revision")));
    snprintf(body, sizeof body, "{\"username\":\"nomem-%u\",\"language\":\"ru\"}", n);
    if ((rc = call("POST", "/api/v1/users", ADMIN, body, 201, &user)) < 0)
        goto out;
    snprintf(body, sizeof body, "{\"name\":\"plan-%u\",\"duration_days\":30,\"prices\":{\"RUB\":29900}}", n);
    if ((rc = call("POST", "/api/v1/plans", ADMIN, body, 201, &plan)) < 0)
        goto out;
    int64_t uid = id_of(user, NULL), pid = id_of(plan, NULL);
    snprintf(body, sizeof body, "{\"user_id\":%lld,\"plan_id\":%lld}", (long long)uid, (long long)pid);
    if ((rc = call("POST", "/api/v1/subscriptions", ADMIN, body, 201, NULL)) < 0)
        goto out;
    snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)uid);
    if ((rc = call("GET", path, ADMIN, NULL, 200, NULL)) < 0)
        goto out;
    snprintf(path, sizeof path, "/api/v1/users/%lld/subscriptions", (long long)uid);
    if ((rc = call("GET", path, ADMIN, NULL, 200, NULL)) < 0)
        goto out;
    snprintf(path, sizeof path, "/api/v1/nodes/%lld", (long long)id_of(node, NULL));
    if ((rc = call("DELETE", path, ADMIN, NULL, 204, NULL)) < 0)
        goto out;
    snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)id_of(user, NULL));
    rc = call("DELETE", path, ADMIN, NULL, 204, NULL);
out:
    failalloc_pause();
    json_decref(user);
    json_decref(plan);
    json_decref(node);
    json_decref(pull);
    failalloc_resume();
    return rc;
}

static int is_nomem(int rc)
{
    return rc == ERR_NOMEM;
}

static void test_api_nomem(void **state)
{
    (void)state;
    hub_modules_register();
    st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(st);
    char h[65];
    assert_int_equal(api_token_hash(&ADMIN[7], strlen(&ADMIN[7]), h), 0);
    assert_int_equal(store_token_add(st, "admin", h, HUB_ROLE_ADMIN, 0, NULL), 0);
    struct api_cfg cfg = {.profile_title = "T", .public_url = "https://vpn.example.com"};
    api_ctx_init(&ctx, st, &cfg);
    /* Statements prepared and cached, metrics series made, the token's address noted. */
    assert_int_equal(admin_day(), 0);
    FAILALLOC_SWEEP("hub api", is_nomem, admin_day());
    api_ctx_dispose(&ctx);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_api_nomem)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
