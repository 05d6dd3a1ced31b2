/* cli/blake3: official BLAKE3 test vectors (input i % 251) for one-chunk lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/blake3.h"
#include "core/enc.h"
#include "core/err.h"

static void check(size_t len, const char *hex)
{
    uint8_t in[BLAKE3_CHUNK_LEN + 1], out[32];
    char got[65];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i % 251);
    assert_int_equal(blake3_hash_short(in, len, out), 0);
    hex_encode(got, out, 32);
    assert_string_equal(got, hex);
}

static void test_vectors(void **state)
{
    check(0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    check(1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213");
    check(2, "7b7015bb92cf0b318037702a6cdd81dee41224f734684c2c122cd6359cb1ee63");
    check(63, "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b");
    check(64, "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98");
    check(65, "de1e5fa0be70df6d2be8fffd0e99ceaa8eb6e8c93a63f2d8d1c30ecb6b263dee");
    check(1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11");
    check(1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7");
}

static void test_too_long(void **state)
{
    uint8_t in[BLAKE3_CHUNK_LEN + 1] = {0}, out[32];
    assert_int_equal(blake3_hash_short(in, sizeof(in), out), ERR_TOO_LONG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_vectors), cmocka_unit_test(test_too_long)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
