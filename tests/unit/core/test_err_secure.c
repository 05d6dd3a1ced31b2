/* core/err and core/secure: every code has a distinct text, errno passes through, constant-time
 * compare and wipe behave. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/err.h"
#include "core/secure.h"

static int try_twice(int a, int b)
{
    TRY(a);
    TRY(b);
    return 7;
}

static void test_err_codes(void **state)
{
    (void)state;
    const int codes[] = {ERR_NEED_MORE,   ERR_MALFORMED, ERR_TOO_LONG, ERR_NOMEM,   ERR_RANGE,  ERR_BAD_STATE,
                         ERR_UNSUPPORTED, ERR_CONFIG,    ERR_AUTH,     ERR_DECRYPT, ERR_CRYPTO, ERR_NOT_FOUND,
                         ERR_EXISTS,      ERR_CLOSED,    ERR_TIMEOUT,  ERR_LIMIT,   ERR_IO,     ERR_INTERNAL};
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] < -4096); /* never collides with -errno */
        assert_string_not_equal(err_str(codes[i]), "unknown error");
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(err_str(codes[i]), err_str(codes[j]));
        }
    }
    assert_string_equal(err_str(0), "ok");
    assert_string_equal(err_str(-ECONNREFUSED), strerror(ECONNREFUSED));
    assert_string_equal(err_str(-5000000), "unknown error");
    assert_string_equal(err_str(ERR_INTERNAL - 1), "unknown error");
    assert_int_equal(try_twice(0, 0), 7);
    assert_int_equal(try_twice(ERR_AUTH, 0), ERR_AUTH);
    assert_int_equal(try_twice(1, ERR_LIMIT), ERR_LIMIT); /* positive values are not errors */
}

static void test_secure(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_int_equal(secure_memcmp(a, b, sizeof(a)), 0);
    for (size_t i = 0; i < sizeof(a); i++) { /* a difference anywhere is seen */
        b[i] ^= 0x01;
        assert_int_not_equal(secure_memcmp(a, b, sizeof(a)), 0);
        b[i] ^= 0x01;
    }
    assert_int_equal(secure_memcmp(a, b, 0), 0);
    secure_wipe(a, sizeof(a));
    for (size_t i = 0; i < sizeof(a); i++)
        assert_int_equal(a[i], 0);
    secure_wipe(NULL, 0); /* zero length is a no-op */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_codes),
        cmocka_unit_test(test_secure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
