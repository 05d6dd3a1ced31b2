/* GET /sub/<token>[/<format>] through the running API, byte for byte: the status, every header
 * but Date and the body of each format, for users whose node order depends on their plan's
 * node groups and on the user's or the plan's country, with the answer cache off and on (miss
 * and hit). The goldens in tests/vectors/sub/page_*.txt were written by the code before the
 * /sub path read the plan and the countries with the user (store_sub_view_ex); run with
 * VEIL_UPDATE_GOLDEN=1 to rewrite them after an intended change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/api/api.h"
#include "hub/cache/cache.h"
#include "hub/fleet/fleet_int.h"
#include "hub/store/store.h"
#include "hub_test_db.h"
#include "hub_test_http.h"
#include "test_util.h"

#define NOW 1764115200
#define PUBKEY "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw"

static int64_t clock_fn(void *arg)
{
    (void)arg;
    return NOW;
}

struct env {
    struct store *st;
    struct hcache *hc;
    struct api_server *srv;
    char base[64];
    CURL *curl;
};

static void add_node(struct store *st, int i, const char *group, const char *country, int64_t weight)
{
    struct hub_node n = {.port = 443 + i, .weight = weight};
    snprintf(n.name, sizeof n.name, "node-%d", i);
    snprintf(n.address, sizeof n.address, "n%d.vpn.example.com", i);
    snprintf(n.group, sizeof n.group, "%s", group);
    snprintf(n.country, sizeof n.country, "%s", country);
    strcpy(n.public_key, PUBKEY);
    n.n_short_ids = 1;
    snprintf(n.short_ids[0], sizeof n.short_ids[0], "6ba85179e30d4f%02d", i);
    n.n_server_names = 1;
    strcpy(n.server_names[0], "www.microsoft.com");
    char hash[65];
    snprintf(hash, sizeof hash, "page-node-%d", i);
    assert_int_equal(store_node_create(st, &n, hash, NOW - 3600, NULL), 0);
}

/* Users (token tok...N): 1 on a plan limited to group "eu" with their own country; 2 on an
 * unrestricted plan preferring "US"; 3 whose subscription ran out; 4 without any. */
static void seed(struct store *st)
{
    struct hub_plan eu = {.duration_days = 30, .quota_bytes = 50LL << 30, .enabled = true};
    strcpy(eu.name, "Europe");
    strcpy(eu.node_groups, "eu");
    assert_int_equal(store_plan_create(st, &eu, NOW - 86400, NULL), 0);
    struct hub_plan any = {.duration_days = 30, .enabled = true};
    strcpy(any.name, "World");
    assert_int_equal(store_plan_create(st, &any, NOW - 86400, NULL), 0);
    assert_int_equal(fleet__country_set(st, "plans", any.id, "US", NULL, NOW - 86400), 0);
    add_node(st, 1, "eu", "DE", 100);
    add_node(st, 2, "eu", "NL", 200);
    add_node(st, 3, "us", "US", 100);
    add_node(st, 4, "", "FI", 50);
    add_node(st, 5, "eu", "FR", 100);
    const int64_t plans[] = {eu.id, any.id, any.id, 0};
    for (int i = 1; i <= 4; i++) {
        struct hub_user u;
        char name[16];
        snprintf(name, sizeof name, "page-user-%d", i);
        hub_test_user(&u, name, i);
        assert_int_equal(store_user_create(st, &u, NOW - 86400 * 40, NULL), 0);
        if (i == 1)
            assert_int_equal(fleet__country_set(st, "users", u.id, "NL", NULL, NOW - 86400), 0);
        /* User 3's 30 days were granted 40 days ago: expired now. */
        if (plans[i - 1] != 0)
            assert_int_equal(
                store_sub_grant(st, u.id, plans[i - 1], i == 3 ? NOW - 86400 * 40 : NOW - 86400, NULL, NULL), 0);
    }
}

static int env_open(void **state, unsigned sub_cache_ms)
{
    struct env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->st = hub_test_store("sqlite::memory:", 1);
    assert_non_null(e->st);
    seed(e->st);
    if (sub_cache_ms) {
        char err[128];
        struct hcache_cfg hcfg = {.clock = clock_fn};
        assert_int_equal(hcache_open(&hcfg, &e->hc, err, sizeof err), 0);
    }
    struct api_cfg cfg = {.port = 0,
                          .threads = 2,
                          .profile_title = "Test VPN",
                          .update_interval_hours = 12,
                          .public_url = "https://vpn.example.com/",
                          .clock = clock_fn,
                          .cache = e->hc,
                          .sub_cache_ms = sub_cache_ms};
    assert_int_equal(api_start(&cfg, e->st, &e->srv), 0);
    snprintf(e->base, sizeof e->base, "http://127.0.0.1:%u", (unsigned)api_port(e->srv));
    e->curl = curl_easy_init();
    assert_non_null(e->curl);
    *state = e;
    return 0;
}

static int setup_nocache(void **state)
{
    return env_open(state, 0);
}

static int setup_cache(void **state)
{
    return env_open(state, 5000);
}

static int teardown(void **state)
{
    struct env *e = *state;
    curl_easy_cleanup(e->curl);
    api_stop(e->srv);
    hcache_close(e->hc);
    store_close(e->st);
    free(e);
    return 0;
}

/* The answer as one text: the status line, the header lines but Date (in order), a blank line,
 * the body. */
static struct hub_test_body fetch(struct env *e, const char *path, const char *ua, const char *accept)
{
    char url[256], uah[160], ach[160];
    struct hub_test_body head = {0}, body = {0};
    struct curl_slist *h = NULL;
    snprintf(url, sizeof url, "%s%s", e->base, path);
    snprintf(uah, sizeof uah, "User-Agent: %s", ua);
    h = curl_slist_append(h, uah);
    if (accept != NULL) {
        snprintf(ach, sizeof ach, "Accept: %s", accept);
        h = curl_slist_append(h, ach);
    }
    curl_easy_reset(e->curl);
    curl_easy_setopt(e->curl, CURLOPT_URL, url);
    curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e->curl, CURLOPT_HEADERFUNCTION, hub_test_on_body);
    curl_easy_setopt(e->curl, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, hub_test_on_body);
    curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e->curl, CURLOPT_TIMEOUT, 30L);
    assert_int_equal(curl_easy_perform(e->curl), CURLE_OK);
    curl_slist_free_all(h);
    struct hub_test_body out = {0};
    for (char *line = head.p; line != NULL && *line;) {
        char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 0 && strncasecmp(line, "Date:", 5) != 0) {
            hub_test_on_body(line, 1, len, &out);
            hub_test_on_body("\n", 1, 1, &out);
        }
        line = end ? end + 2 : line + len;
    }
    hub_test_on_body("\n", 1, 1, &out);
    if (body.n)
        hub_test_on_body(body.p, 1, body.n, &out);
    free(head.p);
    free(body.p);
    return out;
}

/* Compares text with tests/vectors/sub/<name>, or rewrites the file under VEIL_UPDATE_GOLDEN. */
static void golden(const char *name, const struct hub_test_body *t)
{
    char rel[128];
    snprintf(rel, sizeof rel, "sub/%s", name);
    int rc = tu_golden(rel, t->p, t->n);
    if (rc < 0)
        fail_msg("golden file %s missing or unwritable (run with VEIL_UPDATE_GOLDEN=1)", tu_vectors(rel));
    if (rc > 0)
        fail_msg("%s differs from the answer:\n%.*s", tu_vectors(rel), (int)t->n, t->p);
}

static const struct {
    const char *suffix, *name, *ua, *accept;
} FORMATS[] = {
    {"", "auto", "v2rayNG/1.8.5", NULL},
    {"/plain", "plain", "curl/8", NULL},
    {"/clash-meta", "clash-meta", "curl/8", NULL},
    {"/stash", "stash", "curl/8", NULL},
    {"/clash-legacy", "clash-legacy", "curl/8", NULL},
    {"/sing-box", "sing-box", "curl/8", NULL},
    {"/xray-json", "xray-json", "curl/8", NULL},
    {"/info", "info", "curl/8", NULL},
    {"", "html", "Mozilla/5.0", "text/html"},
};

/* Every user, every format; with the cache on each is fetched twice (miss, then hit). */
static void check_all(void **state, int fetches)
{
    struct env *e = *state;
    for (int user = 1; user <= 4; user++) {
        for (size_t f = 0; f < sizeof FORMATS / sizeof FORMATS[0]; f++) {
            char path[128], name[96];
            snprintf(path, sizeof path, "/sub/tok%020d%s", user, FORMATS[f].suffix);
            snprintf(name, sizeof name, "page_user%d_%s.txt", user, FORMATS[f].name);
            for (int k = 0; k < fetches; k++) {
                struct hub_test_body t = fetch(e, path, FORMATS[f].ua, FORMATS[f].accept);
                golden(name, &t);
                free(t.p);
            }
        }
    }
}

static void test_pages_nocache(void **state)
{
    check_all(state, 1);
}

static void test_pages_cached(void **state)
{
    if (getenv("VEIL_UPDATE_GOLDEN") != NULL)
        skip(); /* the goldens come from the uncached answers */
    check_all(state, 2);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pages_nocache, setup_nocache, teardown),
        cmocka_unit_test_setup_teardown(test_pages_cached, setup_cache, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
