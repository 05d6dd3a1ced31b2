/* core/html: every special character becomes its entity, other bytes pass, lengths and bounds hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/html.h"

static void expect(struct buf *b, const char *want, size_t len)
{
    assert_int_equal(buf_len(b), len);
    assert_memory_equal(buf_data(b), want, len);
}

static void test_escapes_specials(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(html_escape_str(&b, "<a href=\"x\">Tom & Jerry's</a>"), 0);
    const char want[] = "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;";
    expect(&b, want, sizeof(want) - 1);
    buf_dispose(&b);
}

/* The length form stops at len and passes NUL and UTF-8 bytes through unchanged. */
static void test_length_form(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b);
    assert_int_equal(html_escape(&b, "\xd0\xaf<\0&zz", 5), 0);
    const char want[] = "\xd0\xaf&lt;\0&amp;";
    expect(&b, want, sizeof(want) - 1);
    assert_int_equal(html_escape_str(&b, ""), 0);
    expect(&b, want, sizeof(want) - 1);
    buf_dispose(&b);
}

static void test_full_buffer_fails(void **state)
{
    (void)state;
    char mem[4];
    struct buf b;
    buf_init_fixed(&b, mem, sizeof(mem));
    assert_int_equal(html_escape_str(&b, "&"), ERR_TOO_LONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_specials),
        cmocka_unit_test(test_length_form),
        cmocka_unit_test(test_full_buffer_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
