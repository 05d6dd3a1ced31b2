/* Who sees what (issue 10 #6, #12): support tokens get user objects without the credentials
 * (uuid, sub_token, sub_url); the admin-only GET /users/{id}/secrets shows them and is audited;
 * a wrong but well-formed token is "unknown", not "malformed"; "prices": {} is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/api/api.h"
#include "hub/store/store.h"
#include "hub_test_db.h"
#include "hub_test_http.h"

#define ADMIN "access-test-admin-token-0123456789"
#define SUPPORT "access-test-support-token-0123456789"

struct env {
    struct store *st;
    struct api_server *srv;
    CURL *c;
    char base[64];
    int64_t admin_id;
};

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof *e);
    e->st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(e->st);
    char h[65];
    api_token_hash(ADMIN, strlen(ADMIN), h);
    assert_int_equal(store_token_add(e->st, "admin", h, HUB_ROLE_ADMIN, 0, &e->admin_id), 0);
    api_token_hash(SUPPORT, strlen(SUPPORT), h);
    assert_int_equal(store_token_add(e->st, "support", h, HUB_ROLE_SUPPORT, 0, NULL), 0);
    struct api_cfg cfg = {.port = 0, .threads = 2, .public_url = "https://vpn.example.com"};
    assert_int_equal(api_start(&cfg, e->st, &e->srv), 0);
    snprintf(e->base, sizeof e->base, "http://127.0.0.1:%u", (unsigned)api_port(e->srv));
    e->c = curl_easy_init();
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    curl_easy_cleanup(e->c);
    api_stop(e->srv);
    store_close(e->st);
    free(e);
    return 0;
}

static long call(struct env *e, const char *method, const char *path, const char *token, const char *body, json_t **out)
{
    return hub_test_http(e->c, e->base, method, path, token, body, NULL, out);
}

static const char *jstr(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* Asserts that user object u carries no credential of the user created as `made`. */
static void assert_redacted(json_t *u, json_t *made)
{
    assert_true(json_is_null(json_object_get(u, "uuid")));
    assert_true(json_is_null(json_object_get(u, "sub_token")));
    assert_null(json_object_get(u, "sub_url"));
    assert_true(json_is_true(json_object_get(u, "secrets_redacted")));
    char *text = json_dumps(u, JSON_COMPACT);
    assert_null(strstr(text, jstr(made, "uuid")));
    assert_null(strstr(text, jstr(made, "sub_token")));
    free(text);
    assert_string_equal(jstr(u, "username"), jstr(made, "username")); /* the rest is there */
}

static void test_support_sees_no_credentials(void **state)
{
    struct env *e = *state;
    json_t *made = NULL, *j = NULL;
    assert_int_equal(call(e, "POST", "/api/v1/users", ADMIN, "{\"username\":\"alice\"}", &made), 201);
    assert_true(strlen(jstr(made, "uuid")) == 36 && strlen(jstr(made, "sub_token")) > 16);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)json_integer_value(json_object_get(made, "id")));

    assert_int_equal(call(e, "GET", path, SUPPORT, NULL, &j), 200);
    assert_redacted(j, made);
    json_decref(j);
    assert_int_equal(call(e, "GET", "/api/v1/users?q=alice", SUPPORT, NULL, &j), 200);
    json_t *list = json_object_get(j, "users");
    assert_int_equal(json_array_size(list), 1);
    assert_redacted(json_array_get(list, 0), made);
    json_decref(j);

    /* Admin reads are unchanged. */
    assert_int_equal(call(e, "GET", path, ADMIN, NULL, &j), 200);
    assert_string_equal(jstr(j, "uuid"), jstr(made, "uuid"));
    assert_string_equal(jstr(j, "sub_token"), jstr(made, "sub_token"));
    assert_null(json_object_get(j, "secrets_redacted"));
    json_decref(j);

    /* The explicit read: admin only, audited with the admin's token as actor. */
    char spath[128];
    snprintf(spath, sizeof spath, "%s/secrets", path);
    assert_int_equal(call(e, "GET", spath, SUPPORT, NULL, &j), 403);
    json_decref(j);
    assert_int_equal(call(e, "GET", "/api/v1/users/987654/secrets", ADMIN, NULL, &j), 404);
    json_decref(j);
    assert_int_equal(call(e, "GET", spath, ADMIN, NULL, &j), 200);
    assert_string_equal(jstr(j, "uuid"), jstr(made, "uuid"));
    assert_string_equal(jstr(j, "sub_token"), jstr(made, "sub_token"));
    char url[256];
    snprintf(url, sizeof url, "https://vpn.example.com/sub/%s", jstr(made, "sub_token"));
    assert_string_equal(jstr(j, "sub_url"), url);
    json_decref(j);
    assert_int_equal(call(e, "GET", "/api/v1/audit", SUPPORT, NULL, &j), 200);
    size_t i, reads = 0;
    json_t *row;
    char actor[48], target[48];
    snprintf(actor, sizeof actor, "token:%lld", (long long)e->admin_id);
    snprintf(target, sizeof target, "user:%lld", (long long)json_integer_value(json_object_get(made, "id")));
    json_array_foreach(json_object_get(j, "entries"), i, row)
    {
        if (strcmp(jstr(row, "action"), "user.secrets_read") != 0)
            continue;
        reads++;
        assert_string_equal(jstr(row, "actor"), actor);
        assert_string_equal(jstr(row, "target"), target);
    }
    assert_int_equal(reads, 1); /* the 404 and the 403 wrote nothing */
    json_decref(j);
    json_decref(made);
}

static void expect_401(struct env *e, const char *token, const char *message)
{
    json_t *j = NULL;
    assert_int_equal(call(e, "GET", "/api/v1/users", token, NULL, &j), 401);
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (m == NULL || strcmp(m, message) != 0)
        fail_msg("token \"%s\": message \"%s\", want \"%s\"", token ? token : "(none)", m ? m : "(none)", message);
    json_decref(j);
}

static void test_token_messages(void **state)
{
    struct env *e = *state;
    expect_401(e, "wrong", "unknown token"); /* well-formed, short: was "missing or malformed" */
    expect_401(e, "wrong-but-long-enough-token-0123", "unknown token");
    expect_401(e, NULL, "missing or malformed bearer token");
    expect_401(e, "two words", "missing or malformed bearer token");
}

static void test_plan_prices_empty(void **state)
{
    struct env *e = *state;
    json_t *j = NULL;
    assert_int_equal(
        call(e, "POST", "/api/v1/plans", ADMIN, "{\"name\":\"Free\",\"duration_days\":30,\"prices\":{}}", &j), 422);
    assert_string_equal(jstr(json_object_get(j, "error"), "code"), "invalid_field");
    assert_non_null(strstr(jstr(json_object_get(j, "error"), "message"), "prices"));
    json_decref(j);
    assert_int_equal(call(e, "GET", "/api/v1/plans", ADMIN, NULL, &j), 200);
    assert_true(json_is_array(json_object_get(j, "plans")));
    assert_int_equal(json_array_size(json_object_get(j, "plans")), 0);
    json_decref(j);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_support_sees_no_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_prices_empty, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
