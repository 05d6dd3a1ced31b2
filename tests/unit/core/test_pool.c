#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/container.h"
#include "core/pool.h"

static void test_default_block_size(void **state)
{
    struct pool *p = pool_new(0, 4);
    assert_non_null(p);
    assert_int_equal(pool_block_size(p), 16384 + 256);
    uint8_t *b = pool_get(p);
    assert_non_null(b);
    memset(b, 0xAB, pool_block_size(p)); /* whole block writable (ASan checks) */
    pool_put(p, b);
    pool_free(p);
}

static void test_reuse_and_stats(void **state)
{
    struct pool *p = pool_new(1024, 2);
    struct pool_stats st;
    void *a = pool_get(p), *b = pool_get(p), *c = pool_get(p);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    pool_get_stats(p, &st);
    assert_int_equal(st.in_use, 3);
    assert_int_equal(st.cached, 0);
    assert_int_equal(st.allocs, 3);

    pool_put(p, a);
    pool_put(p, b);
    pool_put(p, c); /* beyond the cache bound: freed */
    pool_get_stats(p, &st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.cached, 2);

    /* LIFO reuse: the most recently cached block comes back first, no new malloc. */
    void *d = pool_get(p);
    assert_ptr_equal(d, b);
    void *e = pool_get(p);
    assert_ptr_equal(e, a);
    pool_get_stats(p, &st);
    assert_int_equal(st.allocs, 3);
    assert_int_equal(st.gets, 5);
    assert_int_equal(st.in_use, 2);
    assert_int_equal(st.cached, 0);

    pool_put(p, d);
    pool_put(p, e);
    pool_put(p, NULL); /* no-op */
    pool_trim(p);
    pool_get_stats(p, &st);
    assert_int_equal(st.cached, 0);
    assert_int_equal(st.in_use, 0);
    pool_free(p);
    pool_free(NULL);
}

static void test_zero_cache(void **state)
{
    struct pool *p = pool_new(64, 0);
    for (int i = 0; i < 100; i++) {
        void *b = pool_get(p);
        assert_non_null(b);
        pool_put(p, b);
    }
    struct pool_stats st;
    pool_get_stats(p, &st);
    assert_int_equal(st.cached, 0);
    assert_int_equal(st.allocs, 100);
    pool_free(p);
}

static void test_tiny_block_rounded_up(void **state)
{
    struct pool *p = pool_new(1, 8);
    assert_true(pool_block_size(p) >= sizeof(void *));
    void *b = pool_get(p);
    pool_put(p, b);
    pool_free(p);
}

struct owner {
    int x;
    int member;
};

static void test_container_of(void **state)
{
    struct owner o = {0};
    int *m = &o.member;
    assert_ptr_equal(container_of(m, struct owner, member), &o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_block_size), cmocka_unit_test(test_reuse_and_stats),
        cmocka_unit_test(test_zero_cache),         cmocka_unit_test(test_tiny_block_rounded_up),
        cmocka_unit_test(test_container_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
