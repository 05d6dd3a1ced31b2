/* core/secmem: secret buffers are zeroed, excluded from core dumps (the kernel's "dd" VmFlag in
 * /proc/self/smaps) and locked when the limit allows; secmem_dontdump marks an arbitrary range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/secmem.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* The VmFlags line of the mapping holding p, from /proc/self/smaps ("" when not found). */
static void vmflags_of(const void *p, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL)
        return;
    char line[512];
    bool inside = false;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') == line + strspn(line, "0123456789abcdef")) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, cap, "%s", line);
            break;
        }
    }
    fclose(f);
}

static void test_alloc_zeroed_dontdump(void **state)
{
    (void)state;
    uint8_t *p = secmem_alloc(100);
    assert_non_null(p);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(p[i], 0);
    memset(p, 0xa5, 100);
    char flags[512];
    vmflags_of(p, flags, sizeof flags);
    if (flags[0] == '\0') {
        secmem_free(p, 100);
        skip(); /* no /proc here */
    }
    assert_non_null(strstr(flags, " dd"));
#ifndef UNDER_ASAN /* ASan replaces mlock with a no-op that reports success */
    if (secmem_locked(p))
        assert_non_null(strstr(flags, " lo"));
#endif
    secmem_free(p, 100);
    secmem_free(NULL, 0);
}

static void test_large_and_refused_sizes(void **state)
{
    (void)state;
    assert_null(secmem_alloc(0));
    assert_null(secmem_alloc(SIZE_MAX));
    uint8_t *p = secmem_alloc(3 * 4096 + 5); /* spans pages */
    assert_non_null(p);
    p[3 * 4096 + 4] = 1;
    secmem_free(p, 3 * 4096 + 5);
}

static void test_dontdump_range(void **state)
{
    (void)state;
    size_t n = 3 * 4096;
    uint8_t *heap = aligned_alloc(4096, n);
    assert_non_null(heap);
    assert_int_equal(secmem_dontdump(heap + 4096 + 10, 32), 0);
    char flags[512];
    vmflags_of(heap + 4096, flags, sizeof flags);
    if (flags[0] != '\0')
        assert_non_null(strstr(flags, " dd"));
    assert_int_equal(secmem_dontdump(heap, 0), 0);
    free(heap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_zeroed_dontdump),
        cmocka_unit_test(test_large_and_refused_sizes),
        cmocka_unit_test(test_dontdump_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
