/* core/enc: hex, base64 (std and raw URL), UUID text; results, malformed input, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/enc.h"
#include "core/err.h"

static void test_hex(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0xab, 0xff, 0x10};
    char out[9];
    hex_encode(out, in, sizeof(in));
    assert_string_equal(out, "00abff10");
    uint8_t back[4];
    size_t n;
    assert_int_equal(hex_decode(back, sizeof(back), &n, "00ABff10", 8), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(back, in, 4);
    assert_int_equal(hex_decode(back, sizeof(back), &n, "abc", 3), ERR_MALFORMED);
    assert_int_equal(hex_decode(back, sizeof(back), &n, "zz", 2), ERR_MALFORMED);
    assert_int_equal(hex_decode(back, sizeof(back), &n, "0000000000", 10), ERR_TOO_LONG);
    assert_int_equal(hex_decode(back, sizeof(back), &n, "", 0), 0);
    assert_int_equal(n, 0);
}

/* The one digit decoder vlink's percent escapes use too: both cases, nothing else. */
static void test_hex_digit_value(void **state)
{
    (void)state;
    assert_int_equal(hex_digit_value('0'), 0);
    assert_int_equal(hex_digit_value('9'), 9);
    assert_int_equal(hex_digit_value('a'), 10);
    assert_int_equal(hex_digit_value('F'), 15);
    assert_int_equal(hex_digit_value('g'), -1);
    assert_int_equal(hex_digit_value('/'), -1);
    assert_int_equal(hex_digit_value('\0'), -1);
}

/* RFC 4648 §10 vectors, both variants. */
static void test_base64_rfc4648(void **state)
{
    (void)state;
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    const char *raw[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        size_t len = strlen(plain[i]);
        char out[16];
        assert_int_equal(b64_encoded_size(len, B64_STD), strlen(std[i]) + 1);
        assert_int_equal(b64_encoded_size(len, B64_RAW_URL), strlen(raw[i]) + 1);
        assert_int_equal(b64_encode(out, (const uint8_t *)plain[i], len, B64_STD), strlen(std[i]));
        assert_string_equal(out, std[i]);
        assert_int_equal(b64_encode(out, (const uint8_t *)plain[i], len, B64_RAW_URL), strlen(raw[i]));
        assert_string_equal(out, raw[i]);
        uint8_t back[16];
        size_t n = 99;
        assert_int_equal(b64_decode(back, sizeof(back), &n, std[i], strlen(std[i]), B64_STD), 0);
        assert_int_equal(n, len);
        assert_memory_equal(back, plain[i], len);
        assert_int_equal(b64_decode(back, sizeof(back), &n, raw[i], strlen(raw[i]), B64_RAW_URL), 0);
        assert_int_equal(n, len);
        assert_memory_equal(back, plain[i], len);
    }
}

static void test_base64_alphabets_and_errors(void **state)
{
    (void)state;
    const uint8_t in[] = {0xfb, 0xff, 0xbf};
    char out[8];
    b64_encode(out, in, 3, B64_STD);
    assert_string_equal(out, "+/+/");
    b64_encode(out, in, 3, B64_RAW_URL);
    assert_string_equal(out, "-_-_");
    uint8_t back[32];
    size_t n;
    assert_int_equal(b64_decode(back, sizeof(back), &n, "-_-_", 4, B64_STD), ERR_MALFORMED);
    assert_int_equal(b64_decode(back, sizeof(back), &n, "+/+/", 4, B64_RAW_URL), ERR_MALFORMED);
    assert_int_equal(b64_decode(back, sizeof(back), &n, "Zg=", 3, B64_STD), ERR_MALFORMED);      /* bad length */
    assert_int_equal(b64_decode(back, sizeof(back), &n, "Zg==", 4, B64_RAW_URL), ERR_MALFORMED); /* padding */
    assert_int_equal(b64_decode(back, sizeof(back), &n, "Z===", 4, B64_STD), ERR_MALFORMED);
    assert_int_equal(b64_decode(back, sizeof(back), &n, "Zh==", 4, B64_STD), ERR_MALFORMED); /* non-canonical */
    assert_int_equal(b64_decode(back, sizeof(back), &n, "Z", 1, B64_RAW_URL), ERR_MALFORMED);
    assert_int_equal(b64_decode(back, sizeof(back), &n, "Zm=v", 4, B64_STD), ERR_MALFORMED);
    assert_int_equal(b64_decode(back, 2, &n, "Zm9v", 4, B64_STD), ERR_TOO_LONG);
    /* a 32-byte REALITY key in raw URL form is 43 characters */
    uint8_t key[32];
    memset(key, 0xa5, sizeof(key));
    char k[64];
    assert_int_equal(b64_encode(k, key, 32, B64_RAW_URL), 43);
    assert_int_equal(b64_decode(back, sizeof(back), &n, k, 43, B64_RAW_URL), 0);
    assert_int_equal(n, 32);
    assert_memory_equal(back, key, 32);
}

static void test_uuid(void **state)
{
    (void)state;
    uint8_t id[16];
    char s[UUID_STR_LEN + 1];
    const char *canon = "b831381d-6324-4d53-ad4f-8cda48b30811";
    assert_int_equal(uuid_parse(id, canon, 36), 0);
    uuid_format(s, id);
    assert_string_equal(s, canon);
    /* no dashes, upper case */
    assert_int_equal(uuid_parse(id, "B831381D63244D53AD4F8CDA48B30811", 32), 0);
    uuid_format(s, id);
    assert_string_equal(s, canon);
    /* Xray quirk: characters past the 32 hex digits are ignored */
    assert_int_equal(uuid_parse(id, "b831381d63244d53ad4f8cda48b30811xyz", 35), 0);
    uuid_format(s, id);
    assert_string_equal(s, canon);
    assert_int_equal(uuid_parse(id, "b831381d-6324-4d53-ad4f-8cda48b3081", 35), ERR_MALFORMED);
    assert_int_equal(uuid_parse(id, "b831381d--6324-4d53-ad4f-8cda48b30811", 37), ERR_MALFORMED);
    assert_int_equal(uuid_parse(id, "g831381d-6324-4d53-ad4f-8cda48b30811", 36), ERR_MALFORMED);
    assert_int_equal(uuid_parse(id, "short", 5), ERR_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_hex_digit_value),
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_base64_alphabets_and_errors),
        cmocka_unit_test(test_uuid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
