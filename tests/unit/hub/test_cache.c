/* hub/cache without Redis: the in-process store (TTL, replacement, bound), rate-limit windows,
 * generation invalidation through the facade, the Redis URL parser, the fallback when the
 * configured Redis does not answer, and the cached /sub answer blob. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "hub/api/api_int.h"
#include "hub/cache/cache.h"
#include "hub/cache/cache_mem.h"
#include "hub/cache/cache_redis.h"
#include "hub/hubcfg.h"

#define T0 1764115200000LL /* ms */

static int64_t fake_now = T0;

static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now;
}

static void test_mem_ttl(void **state)
{
    (void)state;
    struct hcmem *m = hcmem_new(0);
    assert_non_null(m);
    char *v;
    size_t n;
    assert_int_equal(hcmem_get(m, "a", T0, &v, &n), ERR_NOT_FOUND);
    assert_null(v);
    assert_int_equal(hcmem_put(m, "a", "hello", 5, 1000, T0), 0);
    assert_int_equal(hcmem_get(m, "a", T0 + 999, &v, &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal(v, "hello");
    free(v);
    assert_int_equal(hcmem_get(m, "a", T0 + 1000, &v, &n), ERR_NOT_FOUND); /* expired at T0 + ttl */
    size_t bytes, entries;
    hcmem_usage(m, &bytes, &entries);
    assert_int_equal(entries, 0); /* the expired entry was dropped on access */
    assert_int_equal(hcmem_put(m, "a", "x", 1, 0, T0), ERR_RANGE);
    hcmem_free(m);
}

static void test_mem_replace_delete(void **state)
{
    (void)state;
    struct hcmem *m = hcmem_new(0);
    char *v;
    size_t n;
    assert_int_equal(hcmem_put(m, "k", "one", 3, 5000, T0), 0);
    assert_int_equal(hcmem_put(m, "k", "second", 6, 5000, T0), 0);
    assert_int_equal(hcmem_get(m, "k", T0, &v, &n), 0);
    assert_string_equal(v, "second");
    free(v);
    size_t bytes, entries;
    hcmem_usage(m, &bytes, &entries);
    assert_int_equal(entries, 1);
    /* Binary values with NULs survive. */
    assert_int_equal(hcmem_put(m, "bin", "a\0b", 3, 5000, T0), 0);
    assert_int_equal(hcmem_get(m, "bin", T0, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "a\0b", 3);
    free(v);
    hcmem_del(m, "k");
    hcmem_del(m, "absent");
    assert_int_equal(hcmem_get(m, "k", T0, &v, &n), ERR_NOT_FOUND);
    hcmem_free(m);
}

static void test_mem_bound(void **state)
{
    (void)state;
    /* 16 shards of 4 KiB: 2000 values of 100 bytes cannot all stay. */
    struct hcmem *m = hcmem_new(64 * 1024);
    char val[100], key[32];
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "key%d", i);
        assert_int_equal(hcmem_put(m, key, val, sizeof val, 60000, T0), 0);
    }
    size_t bytes, entries;
    hcmem_usage(m, &bytes, &entries);
    assert_true(bytes <= 64 * 1024);
    assert_true(entries > 100 && entries < 2000);
    /* The newest one is always kept. */
    char *v;
    size_t n;
    assert_int_equal(hcmem_get(m, "key1999", T0, &v, &n), 0);
    free(v);
    /* A value larger than a shard is refused, not stored. */
    char *big = calloc(1, 8192);
    assert_int_equal(hcmem_put(m, "big", big, 8192, 1000, T0), ERR_LIMIT);
    free(big);
    /* Expired entries make room first: after their TTL every put sweeps them. */
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "late%d", i);
        assert_int_equal(hcmem_put(m, key, val, 10, 1000, T0 + 120000), 0);
    }
    assert_int_equal(hcmem_get(m, "key1999", T0 + 120000, &v, &n), ERR_NOT_FOUND);
    hcmem_free(m);
}

static void test_mem_windows(void **state)
{
    (void)state;
    struct hcmem *m = hcmem_new(0);
    uint64_t count;
    int64_t left;
    int64_t w0 = T0 - T0 % 60000; /* window start */
    assert_int_equal(hcmem_hit(m, "ip", 60000, w0 + 1000, &count, &left), 0);
    assert_int_equal(count, 1);
    assert_int_equal(left, 59000);
    assert_int_equal(hcmem_hit(m, "ip", 60000, w0 + 59999, &count, &left), 0);
    assert_int_equal(count, 2);
    assert_int_equal(left, 1);
    assert_int_equal(hcmem_hit(m, "other", 60000, w0 + 59999, &count, &left), 0);
    assert_int_equal(count, 1);
    /* The next window starts from zero. */
    assert_int_equal(hcmem_hit(m, "ip", 60000, w0 + 60000, &count, &left), 0);
    assert_int_equal(count, 1);
    assert_int_equal(left, 60000);
    assert_int_equal(hcmem_hit(m, "ip", 0, w0, &count, &left), ERR_RANGE);
    hcmem_free(m);
}

static struct hcache *local_cache(void)
{
    struct hcache *c;
    struct hcache_cfg cfg = {.clock = fake_clock};
    char err[128];
    fake_now = T0;
    assert_int_equal(hcache_open(&cfg, &c, err, sizeof err), 0);
    return c;
}

static void test_generation(void **state)
{
    (void)state;
    struct hcache *c = local_cache();
    assert_false(hcache_shared(c));
    assert_string_equal(hcache_mode(c), "local");
    uint64_t g1, g2;
    char *v;
    size_t n;
    assert_int_equal(hcache_gen_get(c, "sub:x:links", &g1, &v, &n), 0);
    assert_null(v);
    hcache_gen_put(c, g1, "sub:x:links", "body", 4, 5000);
    assert_int_equal(hcache_gen_get(c, "sub:x:links", &g2, &v, &n), 0);
    assert_int_equal(g1, g2);
    assert_non_null(v);
    assert_string_equal(v, "body");
    free(v);
    /* A change anywhere: the old entry is unreachable at once. */
    hcache_gen_bump(c);
    assert_int_equal(hcache_gen_get(c, "sub:x:links", &g2, &v, &n), 0);
    assert_null(v);
    assert_int_not_equal(g1, g2);
    /* A render that started before the bump stores under the old generation: never served. */
    hcache_gen_put(c, g1, "sub:x:links", "stale", 5, 5000);
    assert_int_equal(hcache_gen_get(c, "sub:x:links", &g2, &v, &n), 0);
    assert_null(v);
    /* TTL: fresh under the new generation, gone after it. */
    hcache_gen_put(c, g2, "sub:x:links", "new", 3, 5000);
    fake_now += 4999;
    assert_int_equal(hcache_gen_get(c, "sub:x:links", &g2, &v, &n), 0);
    assert_non_null(v);
    free(v);
    fake_now += 1;
    assert_int_equal(hcache_gen_get(c, "sub:x:links", &g2, &v, &n), 0);
    assert_null(v);
    /* A zero TTL stores nothing. */
    hcache_gen_put(c, g2, "sub:y", "z", 1, 0);
    assert_int_equal(hcache_gen_get(c, "sub:y", &g2, &v, &n), 0);
    assert_null(v);
    hcache_close(c);
}

static void test_plain_values(void **state)
{
    (void)state;
    struct hcache *c = local_cache();
    char *v;
    size_t n;
    assert_int_equal(hcache_get(c, "sync:5:0", &v, &n), 0);
    assert_null(v);
    hcache_put(c, "sync:5:0", "{\"v\":1}", 7, 30000);
    hcache_gen_bump(c); /* plain values do not depend on the generation */
    assert_int_equal(hcache_get(c, "sync:5:0", &v, &n), 0);
    assert_non_null(v);
    assert_int_equal(n, 7);
    free(v);
    fake_now += 30000;
    assert_int_equal(hcache_get(c, "sync:5:0", &v, &n), 0);
    assert_null(v);
    hcache_close(c);
}

static void test_rate_limit(void **state)
{
    (void)state;
    struct hcache *c = local_cache();
    fake_now = T0 - T0 % 60000 + 15000; /* 15 s into a minute window */
    bool ok;
    unsigned retry;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hcache_rate(c, "ip:1.2.3.4", 3, 60, &ok, &retry), 0);
        assert_true(ok);
        assert_int_equal(retry, 0);
    }
    assert_int_equal(hcache_rate(c, "ip:1.2.3.4", 3, 60, &ok, &retry), 0);
    assert_false(ok);
    assert_int_equal(retry, 45); /* seconds left in the window */
    /* Other keys have their own budget. */
    assert_int_equal(hcache_rate(c, "ip:5.6.7.8", 3, 60, &ok, &retry), 0);
    assert_true(ok);
    fake_now += 44500;
    assert_int_equal(hcache_rate(c, "ip:1.2.3.4", 3, 60, &ok, &retry), 0);
    assert_false(ok);
    assert_int_equal(retry, 1); /* rounded up, never 0 */
    fake_now += 500;            /* the next window */
    assert_int_equal(hcache_rate(c, "ip:1.2.3.4", 3, 60, &ok, &retry), 0);
    assert_true(ok);
    /* limit 0: unlimited, nothing counted. */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(hcache_rate(c, "ip:9.9.9.9", 0, 60, &ok, &retry), 0);
        assert_true(ok);
    }
    /* A lock needs Redis: without it the caller uses its database lease. */
    bool held = true;
    assert_int_equal(hcache_lock(c, "scheduler", "me", 1000, &held), ERR_UNSUPPORTED);
    assert_false(held);
    hcache_unlock(c, "scheduler", "me");
    hcache_close(c);
}

/* The URL grammar itself is tested in core (test_core_redis_url); here only that the cache
 * refuses a URL the parser refuses. */
static void test_url_parse(void **state)
{
    (void)state;
    char err[128];
    struct hcache *c;
    struct hcache_cfg cfg = {.redis_url = "memcached://h"};
    assert_int_equal(hcache_open(&cfg, &c, err, sizeof err), ERR_CONFIG);
}

/* A configured Redis that refuses connections: every call still answers, from the local side. */
static void test_redis_down_fallback(void **state)
{
    (void)state;
    struct hcache *c;
    struct hcache_cfg cfg = {.redis_url = "redis://127.0.0.1:1", .timeout_ms = 100, .clock = fake_clock};
    char err[128];
    fake_now = T0 - T0 % 60000;
    assert_int_equal(hcache_open(&cfg, &c, err, sizeof err), 0);
    assert_true(hcache_shared(c));
    assert_false(hcache_redis_up(c));
    assert_string_equal(hcache_mode(c), "local-fallback");
    uint64_t g;
    char *v;
    size_t n;
    assert_int_equal(hcache_gen_get(c, "k", &g, &v, &n), 0);
    assert_null(v);
    hcache_gen_put(c, g, "k", "v", 1, 1000);
    assert_int_equal(hcache_gen_get(c, "k", &g, &v, &n), 0);
    assert_non_null(v);
    free(v);
    hcache_gen_bump(c);
    assert_int_equal(hcache_gen_get(c, "k", &g, &v, &n), 0);
    assert_null(v);
    bool ok;
    unsigned retry;
    assert_int_equal(hcache_rate(c, "ip:x", 1, 60, &ok, &retry), 0);
    assert_true(ok);
    assert_int_equal(hcache_rate(c, "ip:x", 1, 60, &ok, &retry), 0);
    assert_false(ok);
    bool held = true;
    assert_int_equal(hcache_lock(c, "scheduler", "me", 1000, &held), ERR_IO);
    assert_false(held);
    hcache_close(c);
}

/* The cached /sub answer: a round trip, and every truncation inside the head is refused. */
static void test_sub_blob(void **state)
{
    (void)state;
    struct api_resp r = {.status = 200, .content_type = "text/plain; charset=utf-8"};
    r.body = strdup("dmxlc3M6Ly8=");
    r.body_len = strlen(r.body);
    r.headers[0].name = "profile-title";
    r.headers[0].value = strdup("Veil");
    r.headers[1].name = "subscription-userinfo";
    r.headers[1].value = strdup("upload=0; download=0; total=0; expire=0");
    r.n_headers = 2;
    char *blob;
    size_t len;
    assert_int_equal(api__subcache_encode(&r, &blob, &len), 0);
    api_resp_dispose(&r);

    struct api_req req = {.method = "GET", .path = "/sub/x"};
    struct api_resp out;
    memset(&out, 0, sizeof out);
    struct api_call call = {.req = &req, .resp = &out};
    assert_true(api__subcache_serve(&call, blob, len));
    assert_int_equal(out.status, 200);
    assert_string_equal(out.content_type, "text/plain; charset=utf-8");
    assert_int_equal(out.n_headers, 2);
    assert_string_equal(out.headers[0].name, "profile-title");
    assert_string_equal(out.headers[1].value, "upload=0; download=0; total=0; expire=0");
    assert_int_equal(out.body_len, 12);
    assert_string_equal(out.body, "dmxlc3M6Ly8=");
    api_resp_dispose(&out);

    size_t head = len - 12;
    for (size_t cut = 0; cut < head; cut++) {
        memset(&out, 0, sizeof out);
        assert_false(api__subcache_serve(&call, blob, cut));
        api_resp_dispose(&out);
    }
    blob[0] = 'X';
    assert_false(api__subcache_serve(&call, blob, len));
    free(blob);

    const char *marker;
    size_t mlen;
    api__subcache_nocache(&marker, &mlen);
    assert_true(api__subcache_is_nocache(marker, mlen));
    assert_false(api__subcache_serve(&call, marker, mlen));
}

/* The config keys of this layer, their defaults and limits, and what SIGHUP cannot apply. */
static void test_config(void **state)
{
    (void)state;
    struct hub_cfg a, b;
    char err[256];
    const char *min = "{\"database\":\"sqlite:/tmp/x.db\"}";
    assert_int_equal(hubcfg_parse(min, strlen(min), &a, err, sizeof err), 0);
    assert_int_equal(a.sub_ttl_ms, 5000);
    assert_int_equal(a.sync_ttl_ms, 30000);
    assert_int_equal(a.rate_window, 60);
    assert_int_equal(a.rate_per_ip, 0);
    assert_int_equal(a.rate_per_token, 0);
    assert_string_equal(a.redis_prefix, "veil:");
    const char *full = "{\"database\":\"sqlite:/tmp/x.db\",\"redis_url\":\"redis://10.0.0.5:6380/1\","
                       "\"cache\":{\"sub_ttl_ms\":0,\"sync_ttl_ms\":1000,\"memory_mb\":8,\"redis_timeout_ms\":50,"
                       "\"redis_pool\":3,\"redis_prefix\":\"v2:\"},"
                       "\"rate_limit\":{\"window\":10,\"per_ip\":100,\"per_token\":20},"
                       "\"subscription\":{\"title\":\"New\"},\"threads\":8}";
    assert_int_equal(hubcfg_parse(full, strlen(full), &b, err, sizeof err), 0);
    assert_int_equal(b.sub_ttl_ms, 0);
    assert_int_equal(b.cache_mb, 8);
    assert_int_equal(b.redis_pool, 3);
    assert_string_equal(b.redis_prefix, "v2:");
    assert_int_equal(b.rate_window, 10);
    assert_int_equal(b.rate_per_ip, 100);
    assert_int_equal(b.rate_per_token, 20);
    char diff[256];
    hubcfg_diff_restart(&a, &b, diff, sizeof diff);
    assert_string_equal(diff, "threads,redis_url,cache"); /* title and rate limits apply live */
    hubcfg_diff_restart(&a, &a, diff, sizeof diff);
    assert_string_equal(diff, "");
    static const char *const bad[] = {
        "{\"database\":\"sqlite:x\",\"redis_url\":\"http://h\"}",
        "{\"database\":\"sqlite:x\",\"cache\":{\"ttl\":1}}",
        "{\"database\":\"sqlite:x\",\"cache\":{\"redis_pool\":0}}",
        "{\"database\":\"sqlite:x\",\"cache\":{\"redis_timeout_ms\":5}}",
        "{\"database\":\"sqlite:x\",\"cache\":[]}",
        "{\"database\":\"sqlite:x\",\"rate_limit\":{\"window\":0}}",
        "{\"database\":\"sqlite:x\",\"rate_limit\":{\"per_ip\":-1}}",
        "{\"database\":\"sqlite:x\",\"rate_limit\":{\"burst\":1}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (hubcfg_parse(bad[i], strlen(bad[i]), &a, err, sizeof err) != ERR_CONFIG)
            fail_msg("accepted %s", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_ttl),
        cmocka_unit_test(test_mem_replace_delete),
        cmocka_unit_test(test_mem_bound),
        cmocka_unit_test(test_mem_windows),
        cmocka_unit_test(test_generation),
        cmocka_unit_test(test_plain_values),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_redis_down_fallback),
        cmocka_unit_test(test_sub_blob),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
