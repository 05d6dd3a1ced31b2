/* Request-body validators and the hub config parser: accepted inputs, every truncation,
 * wrong types, unknown and duplicate keys, out-of-range values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/err.h"
#include "hub/api/api_valid.h"
#include "hub/domain/rules.h"
#include "hub/hubcfg.h"

/* Runs one parser by index over a body. */
static int run(int which, const char *b, size_t n, struct api_verr *e)
{
    struct hub_user u = {0};
    unsigned f;
    struct hub_plan p = {0};
    struct hub_node nd;
    int64_t a, c;
    bool d;
    enum hub_health h;
    switch (which) {
    case 0:
        return api_parse_user_create(b, n, &u, e);
    case 1:
        return api_parse_user_patch(b, n, &u, &f, e);
    case 2:
        return api_parse_plan(b, n, true, &p, e);
    case 3:
        return api_parse_plan(b, n, false, &p, e);
    case 4:
        return api_parse_grant(b, n, &a, &c, e);
    case 5:
        return api_parse_extend(b, n, &a, e);
    case 6:
        return api_parse_node(b, n, &nd, e);
    case 7:
        return api_parse_weight(b, n, &a, e);
    case 8:
        return api_parse_health(b, n, &h, e);
    case 9:
        return api_parse_drain(b, n, &d, e);
    case 10:
        return api_parse_balance(b, n, &a, e);
    case 11: {
        struct api_payment_in pi;
        return api_parse_payment(b, n, &pi, e);
    }
    case 12:
        nd.port = 443;
        return api_parse_node_patch(b, n, &nd, e);
    default: {
        char name[HUB_NAME_MAX + 1];
        enum hub_role role;
        return api_parse_token(b, n, name, &role, e);
    }
    }
}

static const char *const good[] = {
    "{\"username\":\"alice\",\"telegram_id\":12,\"language\":\"ru\",\"currency\":\"EUR\",\"enabled\":false}",
    "{\"language\":\"en\",\"telegram_id\":null}",
    "{\"name\":\"Month\",\"duration_days\":30,\"quota_bytes\":0,\"reset_strategy\":\"weekly\",\"prices\":{\"RUB\":1}}",
    "{\"enabled\":false}",
    "{\"user_id\":1,\"plan_id\":2}",
    "{\"days\":30}",
    ("{\"name\":\"n\",\"address\":\"a.example\",\"public_key\":\"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw\","
     "\"short_ids\":[\"\",\"ab\"],\"server_names\":[\"www.example.com\"],\"port\":8443,\"weight\":0}"),
    "{\"weight\":10}",
    "{\"health\":\"down\"}",
    "{\"draining\":false}",
    "{\"delta\":-5}",
    "{\"user_id\":3,\"amount_minor\":100,\"currency\":\"RUB\",\"idempotency_key\":\"abc-12345\",\"plan_id\":1}",
    "{\"port\":8443,\"usage_percent\":150}",
    "{\"name\":\"helpdesk\",\"role\":\"support\"}",
};

static void test_good_and_truncated(void **state)
{
    (void)state;
    for (int w = 0; w < 14; w++) {
        struct api_verr e = {0};
        size_t n = strlen(good[w]);
        assert_int_equal(run(w, good[w], n, &e), 0);
        /* Every strict prefix is rejected cleanly (the empty body is valid only for drain). */
        for (size_t k = 0; k < n; k++) {
            if (k == 0 && w == 9)
                continue;
            char *copy = malloc(k + 1); /* exact size so ASan sees any over-read */
            memcpy(copy, good[w], k);
            e.code = NULL;
            assert_int_equal(run(w, copy, k, &e), ERR_MALFORMED);
            assert_non_null(e.code);
            free(copy);
        }
    }
}

static void expect_bad(int w, const char *body, const char *code)
{
    struct api_verr e = {0};
    assert_int_equal(run(w, body, strlen(body), &e), ERR_MALFORMED);
    assert_string_equal(e.code, code);
    assert_true(strlen(e.msg) > 0);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    expect_bad(0, "[]", "invalid_json");
    expect_bad(0, "\"x\"", "invalid_json");
    expect_bad(0, "{\"username\":\"a\",\"username\":\"b\"}", "invalid_json");
    expect_bad(0, "{\"username\":1}", "invalid_field");
    expect_bad(0, "{\"username\":\"a\\u0000b\"}", "invalid_json"); /* NUL inside a string */
    expect_bad(0, "{\"username\":\"a\",\"x\":1}", "unknown_field");
    expect_bad(0, "{\"telegram_id\":5}", "missing_field");
    expect_bad(0, "{\"username\":\"a\",\"telegram_id\":0}", "invalid_field");
    expect_bad(0, "{\"username\":\"a\",\"telegram_id\":\"5\"}", "invalid_field");
    expect_bad(0, "{\"username\":\"a\",\"enabled\":1}", "invalid_field");
    expect_bad(0, "{\"username\":\"a\",\"balance_minor\":-1}", "invalid_field");
    expect_bad(0, "{\"username\":\"a\",\"currency\":\"usd\"}", "invalid_field");
    expect_bad(1, "{}", "invalid_field");
    expect_bad(2, "{\"name\":\"x\"}", "missing_field");
    expect_bad(2, "{\"name\":\"x\",\"duration_days\":30,\"prices\":[]}", "invalid_field");
    expect_bad(2, "{\"name\":\"x\",\"duration_days\":30,\"prices\":{}}", "invalid_field"); /* issue 10 #12 */
    expect_bad(3, "{\"prices\":{}}", "invalid_field");
    expect_bad(2, "{\"name\":\"x\",\"duration_days\":30,\"prices\":{\"RUB\":-1}}", "invalid_field");
    expect_bad(2, "{\"name\":\"x\",\"duration_days\":30,\"quota_bytes\":-1}", "invalid_field");
    expect_bad(2,
               "{\"name\":\"x\",\"duration_days\":30,\"prices\":{\"AAA\":1,\"BBB\":1,\"CCC\":1,\"DDD\":1,\"EEE\":1,"
               "\"FFF\":1,\"GGG\":1,\"HHH\":1,\"III\":1}}",
               "invalid_field");
    expect_bad(2, "{\"name\":\"\",\"duration_days\":30}", "invalid_field");
    expect_bad(3, "{}", "invalid_field");
    expect_bad(4, "{\"user_id\":1,\"plan_id\":0}", "invalid_field");
    expect_bad(5, "{\"days\":1e3}", "invalid_field");
    expect_bad(6,
               "{\"name\":\"n\",\"address\":\"a\",\"public_key\":\"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw\","
               "\"short_ids\":[1]}",
               "invalid_field");
    expect_bad(6,
               "{\"name\":\"n\",\"address\":\"a\",\"public_key\":\"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw\","
               "\"server_names\":[\"a,b\"]}",
               "invalid_field");
    expect_bad(6,
               "{\"name\":\"n\",\"address\":\"a\",\"public_key\":\"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw\","
               "\"short_ids\":[\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\"]}",
               "invalid_field");
    expect_bad(7, "{\"weight\":-1}", "invalid_field");
    expect_bad(8, "{}", "missing_field");
    expect_bad(8, "{\"health\":1}", "invalid_field");
    expect_bad(9, "{\"draining\":\"yes\"}", "invalid_field");
    expect_bad(10, "{\"delta\":0}", "invalid_field");
    expect_bad(10, "{\"delta\":9223372036854775807}", "invalid_field");
    expect_bad(11,
               "{\"user_id\":3,\"amount_minor\":100,\"currency\":\"RUB\",\"idempotency_key\":\"short\",\"plan_id\":1}",
               "invalid_field");
    expect_bad(11, "{\"user_id\":3,\"amount_minor\":100,\"currency\":\"RUB\",\"idempotency_key\":\"abc-12345\"}",
               "invalid_field");
    expect_bad(11, "{\"user_id\":3,\"amount_minor\":100,\"idempotency_key\":\"abc-12345\",\"plan_id\":1}",
               "missing_field");
    expect_bad(12, "{}", "invalid_field");
    expect_bad(12, "{\"usage_percent\":0}", "invalid_field");
    expect_bad(13, "{\"name\":\"x\"}", "missing_field");
    expect_bad(13, "{\"name\":\"x\",\"role\":\"Admin\"}", "invalid_field");
    int64_t v;
    assert_int_equal(api_parse_uint_param("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(api_parse_uint_param("101", 0, 100, &v), ERR_MALFORMED);
    assert_int_equal(api_parse_uint_param("-1", 0, 100, &v), ERR_MALFORMED);
    assert_int_equal(api_parse_uint_param("", 0, 100, &v), ERR_MALFORMED);
    assert_int_equal(api_parse_uint_param("1x", 0, 100, &v), ERR_MALFORMED);
    assert_int_equal(api_parse_uint_param("9999999999999999999999", 0, INT64_MAX, &v), ERR_MALFORMED);
}

static void test_hubcfg(void **state)
{
    (void)state;
    struct hub_cfg c;
    char err[256];
    const char *full = "{\"listen\":\"0.0.0.0\",\"port\":9000,\"database\":\"postgresql://u:p@db/veil\","
                       "\"admin_token\":\"0123456789abcdef0123\",\"log_level\":\"debug\",\"redis_url\":null,"
                       "\"subscription\":{\"title\":\"My VPN\",\"update_interval_hours\":6,\"xray_json\":true,"
                       "\"page_color\":\"#0f766E\",\"renew_url\":\"tg://resolve?domain=b\","
                       "\"page_logo_url\":\"https://x.test/l.png\"},"
                       "\"scheduler\":{\"enabled\":false,\"interval\":30}}";
    assert_int_equal(hubcfg_parse(full, strlen(full), &c, err, sizeof err), 0);
    assert_string_equal(c.listen, "0.0.0.0");
    assert_int_equal(c.port, 9000);
    assert_string_equal(c.sub_title, "My VPN");
    assert_int_equal(c.sub_update_hours, 6);
    assert_true(c.xray_json);
    assert_string_equal(c.page_color, "#0f766E");
    assert_string_equal(c.renew_url, "tg://resolve?domain=b");
    assert_string_equal(c.page_logo_url, "https://x.test/l.png");
    assert_false(c.sched_enabled);
    assert_int_equal(c.sched_interval, 30);
    const char *min = "{\"database\":\"sqlite::memory:\"}";
    assert_int_equal(hubcfg_parse(min, strlen(min), &c, err, sizeof err), 0);
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.body_max, 65536);
    assert_true(c.sched_enabled);
    assert_int_equal(c.n_trusted_proxies, 0);
    const char *px = "{\"database\":\"sqlite::memory:\",\"trusted_proxies\":[\"10.0.0.0/8\",\"::1\"]}";
    assert_int_equal(hubcfg_parse(px, strlen(px), &c, err, sizeof err), 0);
    assert_int_equal(c.n_trusted_proxies, 2);
    assert_true(client_ip_in_nets("10.200.0.1", c.trusted_proxies, c.n_trusted_proxies));
    assert_false(client_ip_in_nets("11.0.0.1", c.trusted_proxies, c.n_trusted_proxies));
    assert_int_equal(c.http.request_timeout, 30);
    const char *lim = "{\"database\":\"sqlite::memory:\",\"http\":{\"max_connections\":64,\"per_ip_connections\":8}}";
    assert_int_equal(hubcfg_parse(lim, strlen(lim), &c, err, sizeof err), 0);
    assert_int_equal(c.http.max_connections, 64);
    assert_int_equal(c.http.per_ip, 8);
    assert_int_equal(c.http.reserve, 8); /* follows max_connections */
    static const char *const bad[] = {
        "{}",
        "{\"database\":\"mysql://x\"}",
        "{\"database\":\"sqlite::memory:\",\"port\":70000}",
        "{\"database\":\"sqlite::memory:\",\"prot\":80}",
        "{\"database\":\"sqlite::memory:\",\"admin_token\":\"short\"}",
        "{\"database\":\"sqlite::memory:\",\"log_level\":\"loud\"}",
        "{\"database\":\"sqlite::memory:\",\"subscription\":{\"titel\":\"x\"}}",
        "{\"database\":\"sqlite::memory:\",\"scheduler\":[]}",
        /* the page colour goes into CSS: only #rrggbb */
        "{\"database\":\"sqlite::memory:\",\"subscription\":{\"page_color\":\"red\"}}",
        "{\"database\":\"sqlite::memory:\",\"subscription\":{\"page_color\":\"#12345g\"}}",
        "{\"database\":\"sqlite::memory:\",\"subscription\":{\"page_color\":\"#123}</style>\"}}",
        "{\"database\":\"sqlite::memory:\",\"subscription\":{\"renew_url\":\"javascript:alert(1)\"}}",
        "{\"database\":\"sqlite::memory:\",\"subscription\":{\"page_logo_url\":\"data:image/png;base64,AA\"}}",
        "{\"database\":\"sqlite::memory:\",\"threads\":0}",
        /* issue 10 #3: the forwarded header is read only from named proxies */
        "{\"database\":\"sqlite::memory:\",\"trust_forwarded\":true}",
        "{\"database\":\"sqlite::memory:\",\"trusted_proxies\":[\"10.0.0.1/8\"]}",
        "{\"database\":\"sqlite::memory:\",\"trusted_proxies\":[\"proxy.local\"]}",
        "{\"database\":\"sqlite::memory:\",\"trusted_proxies\":\"127.0.0.1\"}",
        /* issue 10 #4: connection limits */
        "{\"database\":\"sqlite::memory:\",\"http\":{\"max_connections\":64,\"reserve_connections\":64}}",
        "{\"database\":\"sqlite::memory:\",\"http\":{\"request_timeout\":0}}",
        "{\"database\":\"sqlite::memory:\",\"http\":{\"per_ip\":5}}",
        "[1]",
        "{\"database\":",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(hubcfg_parse(bad[i], strlen(bad[i]), &c, err, sizeof err), ERR_CONFIG);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(hubcfg_load("/nonexistent/hub.json", &c, err, sizeof err), ERR_IO);
    /* The shipped sample parses. */
    const char *src = getenv("VEIL_SOURCE_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/deploy/hub.json", src ? src : ".");
    assert_int_equal(hubcfg_load(path, &c, err, sizeof err), 0);
}

/* Issue 11 #6: one load reports every mistake, each with its path and reason (the old reader
 * stopped at the first). */
static void test_hubcfg_every_error(void **state)
{
    (void)state;
    static const char three[] = "{\"database\":\"sqlite::memory:\",\"port\":70000,"
                                "\"cache\":{\"redis_pool\":0},\"subscription\":{\"titel\":\"x\"}}";
    struct hub_cfg c;
    struct cfg_ctx cc;
    cfg_init(&cc, "hub.json");
    assert_int_equal(hubcfg_read(&cc, three, strlen(three), &c, NULL), ERR_CONFIG);
    assert_int_equal(cc.n_errors, 3);
    assert_int_equal(cc.n_msgs, 3);
    static const char *const want[] = {
        "hub.json: port: must be between 0 and 65535",
        "hub.json: subscription.titel: unknown field",
        "hub.json: cache.redis_pool: must be between 1 and 64",
    };
    for (size_t i = 0; i < 3; i++) {
        bool found = false;
        for (size_t k = 0; k < cc.n_msgs && !found; k++)
            found = strcmp(cc.msgs[k].text, want[i]) == 0;
        if (!found)
            fail_msg("missing \"%s\"", want[i]);
    }
    cfg_dispose(&cc);
    /* The string form carries all three too. */
    char err[512];
    assert_int_equal(hubcfg_parse(three, strlen(three), &c, err, sizeof err), ERR_CONFIG);
    for (size_t i = 0; i < 3; i++)
        assert_non_null(strstr(err, want[i]));
    /* A section of the wrong type is one error, and the rest is still read. */
    static const char two[] = "{\"database\":\"sqlite::memory:\",\"scheduler\":[],\"threads\":0}";
    cfg_init(&cc, "hub.json");
    assert_int_equal(hubcfg_read(&cc, two, strlen(two), &c, NULL), ERR_CONFIG);
    assert_int_equal(cc.n_errors, 2);
    cfg_dispose(&cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_and_truncated),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_hubcfg),
        cmocka_unit_test(test_hubcfg_every_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
